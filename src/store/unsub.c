/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unsubscribe by List-Unsubscribe token (include/bp/store_unsub.h): the
 * token is looked up through delivery's UNIQUE idempotency_key index, so an
 * unknown token costs one index probe and no scan.  The opt-out itself is
 * one UPDATE of the contact plus a consent_event and an audit row, written
 * inside the store writer's transaction so the answer to the family is
 * sent only after all three have committed.
 */
#include <stdio.h>
#include <string.h>

#include "bp/base.h"
#include "bp/store_unsub.h"
#include "store_int.h"

static const char SQL_FIND[] =
    "SELECT d.id, d.message_id, c.id, c.address, c.status,"
    "       coalesce((SELECT g.locale FROM guardian g WHERE g.id = m.guardian_id),"
    "                (SELECT g.locale FROM guardian_contact gc"
    "                   JOIN guardian g ON g.id = gc.guardian_id"
    "                  WHERE gc.contact_id = c.id ORDER BY gc.guardian_id LIMIT 1),"
    "                d.locale, '')"
    "  FROM delivery d"
    "  JOIN contact c ON c.id = d.contact_id"
    "  JOIN message m ON m.id = d.message_id"
    " WHERE d.idempotency_key = ?1 AND d.channel = 'email' AND c.kind = 'email'";
static const char SQL_OPT_OUT[] =
    "UPDATE contact SET status = 'opted_out', consent_source = 'email',"
    "       consent_at = ?2, updated_at = ?2"
    " WHERE id = ?1 AND status <> 'opted_out'";
static const char SQL_CONSENT[] =
    "INSERT INTO consent_event (contact_id, kind, source, message_id, detail, created_at)"
    " VALUES (?1, 'opt_out', 'email', ?2, ?3, ?4)";

static void copy_col(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const unsigned char *v = sqlite3_column_text(st, i);

    snprintf(out, n, "%s", v ? (const char *)v : "");
}

int bp_store_unsub_find(struct bp_store *s, const char *token,
                        struct bp_store_unsub_info *out)
{
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    if (token == NULL || token[0] == '\0')
        return 0;
    if ((st = bp__store_stmt(s, SQL_FIND)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, token, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->delivery_id = sqlite3_column_int64(st, 0);
        out->message_id = sqlite3_column_int64(st, 1);
        out->contact_id = sqlite3_column_int64(st, 2);
        copy_col(st, 3, out->address, sizeof out->address);
        out->opted_out = bp_str_eq((const char *)sqlite3_column_text(st, 4),
                                   "opted_out");
        copy_col(st, 5, out->locale, sizeof out->locale);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

int bp_store_unsub_apply(struct bp_store *s, void *arg)
{
    struct bp_store_unsub *u = arg;
    char detail[160];
    sqlite3_stmt *st;
    int rc;

    u->found = u->changed = false;
    if ((rc = bp_store_unsub_find(s, u->token, &u->info)) <= 0)
        return rc;
    u->found = true;
    if (u->info.opted_out)
        return 0;
    if ((st = bp__store_stmt(s, SQL_OPT_OUT)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, u->info.contact_id);
    sqlite3_bind_int64(st, 2, u->now_ms);
    if ((rc = bp__store_run(s, st, NULL)) < 0)
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return 0;                       /* cannot happen: the row was read above */
    if ((st = bp__store_stmt(s, SQL_CONSENT)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, u->info.contact_id);
    sqlite3_bind_int64(st, 2, u->info.message_id);
    sqlite3_bind_text(st, 3, u->one_click ? "list_unsubscribe_one_click"
                                          : "list_unsubscribe_page", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, u->now_ms);
    if ((rc = bp__store_run(s, st, NULL)) < 0)
        return rc;
    snprintf(detail, sizeof detail,
             "{\"source\":\"email\",\"via\":\"list_unsubscribe\",\"delivery\":%lld,"
             "\"one_click\":%s}", (long long)u->info.delivery_id,
             u->one_click ? "true" : "false");
    if ((rc = bp_store_audit_append(s, 0, "family", "contact.opt_out", "contact",
                                    u->info.contact_id, detail)) < 0)
        return rc;
    u->changed = true;
    u->info.opted_out = true;
    return 0;
}
