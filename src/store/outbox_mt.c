/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Machine translation of a parent's reply for the teacher (issue 6, item
 * 7): read the stored inbound message with the sender guardian's language,
 * and, once translated, keep the parent's text as the original
 * (original_body / original_locale) and show the translation as the body
 * (machine_translated = 1).  The update is a compare-and-set on the body
 * that was read, so a translation never overwrites anything else.
 */
#include <stdlib.h>
#include <string.h>

#include "bp/store_outbox.h"
#include "store_int.h"

static const char SQL_GET[] =
    "SELECT m.body, coalesce((SELECT g.locale FROM guardian g WHERE g.id = m.guardian_id),"
    "        (SELECT g.locale FROM guardian_contact gc JOIN guardian g ON g.id = gc.guardian_id"
    "          WHERE gc.contact_id = m.contact_id ORDER BY gc.guardian_id LIMIT 1), '')"
    "  FROM message m"
    " WHERE m.id = ?1 AND m.direction = 'in' AND m.kind = 'normal'"
    "   AND m.machine_translated = 0";
static const char SQL_SET[] =
    "UPDATE message SET original_body = body, original_locale = ?3, body = ?2,"
    "       machine_translated = 1"
    " WHERE id = ?1 AND direction = 'in' AND machine_translated = 0 AND body = ?4";

int bp_store_mt_inbound_get(struct bp_store *s, struct bp_store_mt_inbound *m)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_GET);
    int rc;

    m->body = NULL;
    m->locale[0] = '\0';
    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, m->message_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *loc = (const char *)sqlite3_column_text(st, 1);
        m->body = bp_xstrdup((const char *)sqlite3_column_text(st, 0));
        snprintf(m->locale, sizeof m->locale, "%s", loc ? loc : "");
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? BP_ENOTFOUND : bp__store_err(rc);
}

int bp_store_mt_inbound_set(struct bp_store *s, void *arg)
{
    struct bp_store_mt_inbound *m = arg;
    sqlite3_stmt *st = bp__store_stmt(s, SQL_SET);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, m->message_id);
    sqlite3_bind_text(st, 2, m->translation, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, m->locale, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, m->body, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return bp__store_err(rc);
    return sqlite3_changes(s->db) == 1 ? 0 : BP_ENOTFOUND;
}
