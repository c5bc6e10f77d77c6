/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Reading an announcement before it is sent:
 *  - bp_store_announce_locales: the guardian locales the announcement would
 *    reach (the outbox translates free text once per language before it
 *    creates the deliveries);
 *  - bp_store_announce_preview: the reach preview (POST
 *    /api/messages/preview, `backpack send --dry-run`), read from the rows
 *    bp_store_announce has just written in a transaction the caller then
 *    rolls back -- so the preview is computed by exactly the code that
 *    sends, and its numbers are what a real send creates.
 */
#include <stdlib.h>
#include <string.h>

#include "outbox_int.h"
#include "store_int.h"

static const char SQL_AUD_LOCALES[] =
    "SELECT DISTINCT coalesce(locale, '') FROM temp.bp_aud_c";
/* The announcement's deliveries are the ids above a->delivery_floor (one
 * writer, in its transaction): a range of the table, no join. */
static const char SQL_GROUPS[] =
    "SELECT coalesce(d.locale, ''), d.channel, d.state = 'held',"
    "       d.state <> 'held' AND d.next_attempt_at > ?2, count(*),"
    "       sum(coalesce(d.segments, 0))"
    "  FROM delivery d WHERE d.id > ?1 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4";
static const char SQL_TEXTS[] =
    "SELECT coalesce(rlocale, locale, ''), body, held, max(coalesce(mt, 0))"
    "  FROM temp.bp_aud_loc WHERE body IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
static const char SQL_LATER[] =
    "SELECT d.next_attempt_at, count(*),"
    "       (SELECT min(l.tz) FROM temp.bp_aud_loc l WHERE l.due = d.next_attempt_at)"
    "  FROM delivery d"
    " WHERE d.id > ?1 AND d.state = 'queued' AND d.next_attempt_at > ?2"
    " GROUP BY 1 ORDER BY 1";

int bp_store_announce_locales(struct bp_store *s, struct bp_store_announce *a,
                              char ***out, size_t *n)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    a->errmsg[0] = '\0';
    if ((rc = bp__store_aud_choose(s, a)) < 0)
        return rc;
    if ((st = bp__store_stmt(s, SQL_AUD_LOCALES)) == NULL)
        return BP_ESTORE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = bp_xrealloc(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = bp_xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static int walk_groups(struct bp_store *s, const struct bp_store_announce *a,
                       const struct bp_store_preview *p)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_GROUPS);
    int rc, crc = 0;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, a->delivery_floor);
    sqlite3_bind_int64(st, 2, a->now_ms);
    while (crc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        crc = p->group(p->arg, (const char *)sqlite3_column_text(st, 0),
                       (const char *)sqlite3_column_text(st, 1),
                       sqlite3_column_int(st, 2) != 0, sqlite3_column_int(st, 3) != 0,
                       sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5));
    sqlite3_reset(st);
    if (crc < 0)
        return crc;
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static int walk_texts(struct bp_store *s, const struct bp_store_preview *p)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_TEXTS);
    int rc, crc = 0;

    if (st == NULL)
        return BP_ESTORE;
    while (crc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        crc = p->text(p->arg, (const char *)sqlite3_column_text(st, 0),
                      (const char *)sqlite3_column_text(st, 1),
                      sqlite3_column_int(st, 2) != 0, sqlite3_column_int(st, 3) != 0);
    sqlite3_reset(st);
    if (crc < 0)
        return crc;
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static int walk_later(struct bp_store *s, const struct bp_store_announce *a,
                      const struct bp_store_preview *p)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_LATER);
    int rc, crc = 0;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, a->delivery_floor);
    sqlite3_bind_int64(st, 2, a->now_ms);
    while (crc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *tz = (const char *)sqlite3_column_text(st, 2);
        crc = p->later(p->arg, tz ? tz : a->default_tz, sqlite3_column_int64(st, 0),
                       sqlite3_column_int64(st, 1));
    }
    sqlite3_reset(st);
    if (crc < 0)
        return crc;
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

int bp_store_announce_preview(struct bp_store *s, const struct bp_store_announce *a,
                              const struct bp_store_preview *p)
{
    int rc;

    if ((rc = walk_groups(s, a, p)) < 0 || (rc = walk_texts(s, p)) < 0)
        return rc;
    return walk_later(s, a, p);
}
