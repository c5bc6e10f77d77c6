/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The staff table (src/store/staff.c): insert an account, look one up by
 * e-mail (login), update an account or only its password hash (re-hash after
 * login).  The caller passes an already normalised, lower-case e-mail and an
 * argon2id hash; the table's CHECK constraints reject anything else with
 * BP_ECONSTRAINT.  Same threading as every store call: the connection's
 * thread only.  Times are milliseconds since the epoch.
 */
#ifndef BP_STORE_STAFF_H
#define BP_STORE_STAFF_H

#include <stdbool.h>
#include <stdint.h>

#include "bp/store.h"

struct bp_store_staff {
    int64_t id;
    char *email;              /* owned; freed by bp_store_staff_clear */
    char *display_name;
    char *role;
    char *password_hash;      /* NULL: no password (cannot log in) */
    bool active;
    int64_t created_at;
    int64_t updated_at;
};

/* Inserts a row; *id_out (may be NULL) gets its id.  BP_EDUPLICATE when the
 * e-mail exists, BP_ECONSTRAINT for a value the schema rejects. */
BP_WUR int bp_store_staff_insert(struct bp_store *s, const char *email,
                                 const char *display_name, const char *role,
                                 const char *password_hash, int64_t now_ms,
                                 int64_t *id_out);
/* Fills *out (strings new: bp_store_staff_clear) or returns BP_ENOTFOUND. */
BP_WUR int bp_store_staff_get_by_email(struct bp_store *s, const char *email,
                                       struct bp_store_staff *out);
void bp_store_staff_clear(struct bp_store_staff *st);
/* Updates role, display name (NULL: unchanged) and hash (NULL: unchanged)
 * of row id.  BP_ENOTFOUND when there is no such row. */
BP_WUR int bp_store_staff_update(struct bp_store *s, int64_t id,
                                 const char *role, const char *display_name,
                                 const char *password_hash, int64_t now_ms);

#endif
