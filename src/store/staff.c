/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Staff statements (include/bp/store_staff.h): the accounts `backpack staff
 * add` creates and the future dashboard login reads.  One cached prepared
 * statement each; the UNIQUE(email) violation is reported as BP_EDUPLICATE
 * so the caller can say "exists, use --update".
 */
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "bp/store_staff.h"
#include "store_int.h"

static const char SQL_STAFF_INSERT[] =
    "INSERT INTO staff (email, display_name, role, password_hash, active,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)";
static const char SQL_STAFF_BY_EMAIL[] =
    "SELECT id, email, display_name, role, password_hash, active, created_at,"
    " updated_at FROM staff WHERE email = ?1";
static const char SQL_STAFF_UPDATE[] =
    "UPDATE staff SET role = coalesce(?2, role),"
    " display_name = coalesce(?3, display_name),"
    " password_hash = coalesce(?4, password_hash), updated_at = ?5"
    " WHERE id = ?1";

int bp_store_staff_insert(struct bp_store *s, const char *email,
                          const char *display_name, const char *role,
                          const char *password_hash, int64_t now_ms,
                          int64_t *id_out)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_STAFF_INSERT);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, display_name ? display_name : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
    if (password_hash)
        sqlite3_bind_text(st, 4, password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);      /* do not keep pointers to the hash */
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return BP_EDUPLICATE;
    if (rc != SQLITE_DONE)
        return bp__store_err(rc);
    if (id_out)
        *id_out = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t ? bp_xstrdup((const char *)t) : NULL;
}

int bp_store_staff_get_by_email(struct bp_store *s, const char *email,
                                struct bp_store_staff *out)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_STAFF_BY_EMAIL);
    int rc;

    memset(out, 0, sizeof *out);
    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        out->email = col_dup(st, 1);
        out->display_name = col_dup(st, 2);
        out->role = col_dup(st, 3);
        out->password_hash = col_dup(st, 4);
        out->active = sqlite3_column_int(st, 5) != 0;
        out->created_at = sqlite3_column_int64(st, 6);
        out->updated_at = sqlite3_column_int64(st, 7);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? BP_ENOTFOUND : bp__store_err(rc);
}

void bp_store_staff_clear(struct bp_store_staff *st)
{
    if (st == NULL)
        return;
    free(st->email);
    free(st->display_name);
    free(st->role);
    if (st->password_hash)
        memset(st->password_hash, 0, strlen(st->password_hash));
    free(st->password_hash);
    memset(st, 0, sizeof *st);
}

int bp_store_staff_update(struct bp_store *s, int64_t id, const char *role,
                          const char *display_name, const char *password_hash,
                          int64_t now_ms)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_STAFF_UPDATE);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    if (role)
        sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
    if (display_name)
        sqlite3_bind_text(st, 3, display_name, -1, SQLITE_STATIC);
    if (password_hash)
        sqlite3_bind_text(st, 4, password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return bp__store_err(rc);
    return sqlite3_changes(s->db) == 1 ? 0 : BP_ENOTFOUND;
}
