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
 * writer, in its transaction): a range of the table, no join.  Grouped in
 * C (walk_groups): a GROUP BY here sorted every delivery, a tenth of a
 * 100,000-family dry run, for a few dozen groups. */
static const char SQL_RANGE[] =
    "SELECT coalesce(locale, ''), channel, state = 'held',"
    "       state <> 'held' AND next_attempt_at > ?2, coalesce(segments, 0)"
    "  FROM delivery WHERE id > ?1";
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
    if ((rc = bp__store_aud_tables(s)) < 0 || (rc = bp__store_aud_choose(s, a)) < 0)
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

/* One line of the reach: deliveries by (locale, channel, held, later). */
struct group {
    char *locale, *channel;
    bool held, later;
    int64_t n, segments;
};

/* The order SQL's ORDER BY gave (BINARY collation: byte order). */
static int group_cmp(const void *x, const void *y)
{
    const struct group *a = x, *b = y;
    int c = strcmp(a->locale, b->locale);

    if (c == 0)
        c = strcmp(a->channel, b->channel);
    if (c == 0)
        c = (int)a->held - (int)b->held;
    if (c == 0)
        c = (int)a->later - (int)b->later;
    return c;
}

static struct group *group_find(struct group **gs, size_t *n, size_t *cap,
                                const char *locale, const char *channel, bool held,
                                bool later)
{
    struct group *g;

    for (size_t i = 0; i < *n; i++) {
        g = &(*gs)[i];
        if (g->held == held && g->later == later && strcmp(g->channel, channel) == 0 &&
            strcmp(g->locale, locale) == 0)
            return g;
    }
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *gs = bp_xrealloc(*gs, *cap * sizeof **gs);
    }
    g = &(*gs)[(*n)++];
    *g = (struct group){.locale = bp_xstrdup(locale), .channel = bp_xstrdup(channel),
                        .held = held, .later = later};
    return g;
}

static int walk_groups(struct bp_store *s, const struct bp_store_announce *a,
                       const struct bp_store_preview *p)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_RANGE);
    struct group *gs = NULL, *last = NULL;
    size_t n = 0, cap = 0;
    int rc, crc = 0;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, a->delivery_floor);
    sqlite3_bind_int64(st, 2, a->now_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *loc = (const char *)sqlite3_column_text(st, 0);
        const char *ch = (const char *)sqlite3_column_text(st, 1);
        bool held = sqlite3_column_int(st, 2) != 0, later = sqlite3_column_int(st, 3) != 0;

        if (loc == NULL || ch == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        /* consecutive deliveries often share their group */
        if (last == NULL || last->held != held || last->later != later ||
            strcmp(last->channel, ch) != 0 || strcmp(last->locale, loc) != 0)
            last = group_find(&gs, &n, &cap, loc, ch, held, later);
        last->n++;
        last->segments += sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    rc = rc == SQLITE_DONE ? 0 : bp__store_err(rc);
    if (n > 1)
        qsort(gs, n, sizeof *gs, group_cmp);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && crc == 0)
            crc = p->group(p->arg, gs[i].locale, gs[i].channel, gs[i].held, gs[i].later,
                           gs[i].n, gs[i].segments);
        free(gs[i].locale);
        free(gs[i].channel);
    }
    free(gs);
    if (crc < 0)
        return crc;
    return rc;
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
