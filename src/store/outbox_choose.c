/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Choosing an announcement's contacts on a second connection, in parallel
 * with the messages (src/store/outbox_int.h says when that is sound).
 *
 * An announcement has two halves that do not depend on each other until
 * the deliveries: the messages (one per student: the announcement's
 * students, their conversations, the message rows) and the choice (per
 * guardian its links, then one chosen contact per contact, and the
 * guardians left out with their reason).  Both are SQLite work on one
 * core each.  Here a thread opens the database read-only, runs the choice
 * (bp__store_aud_choose, the same statements the caller's connection runs
 * when it chooses itself) into ITS temp tables and reads the results into
 * memory; the caller meanwhile writes the messages, then copies the chosen
 * rows into its own bp_aud_c and writes the delivery_skip rows.  At
 * 100,000 families the choice is ~0.7 s and the messages ~0.6 s of a ~2.7 s
 * announcement; the copy costs ~0.1 s.
 *
 * Threads: like the store writer (src/store/writer.c), a documented
 * exception to STYLE.md C6: one thread per announcement, joined before
 * bp_store_announce returns; each connection is used by one thread only
 * (SQLITE_OPEN_NOMUTEX) and the announcement's inputs are only read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "bp/base.h"
#include "outbox_int.h"
#include "store_int.h"

/* One chosen contact; loc and tz index the interned strings (-1: NULL). */
struct chosen {
    int64_t contact, guardian, student;
    int32_t loc, tz;
    bool email;
};

struct skip {
    int64_t guardian;
    int reason;               /* enum bp_skip_reason */
};

#define NBUCKET 256

struct bp__aud_par {
    uv_thread_t thread;
    char *path;
    struct bp_store_announce a;   /* a copy: inputs, and errmsg */
    uv_sem_t rows_ready;          /* posted once rows_rc (and rows) are set */
    int rows_rc;
    int rc;
    struct chosen *rows;
    size_t nrows, caprows;
    struct skip *skips;
    size_t nskips, capskips;
    char **strs;                  /* interned locales and zones */
    int32_t *next;                /* hash chain per string */
    int32_t bucket[NBUCKET];
    size_t nstrs, capstrs;
};

static const char SQL_ROWS[] =
    "SELECT contact_id, guardian_id, student_id, channel = 'email', locale, tz"
    "  FROM temp.bp_aud_c";
static const char SQL_SKIP_ROWS[] = BP__AUD_SKIPS;
static const char SQL_C_ADD[] =
    "INSERT INTO temp.bp_aud_c (contact_id, guardian_id, channel, student_id, locale, tz)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_SKIP_ADD[] =
    "INSERT INTO delivery_skip (announcement_id, guardian_id, reason, created_at)"
    " VALUES (?1, ?2, ?3, ?4)";

static int32_t intern(struct bp__aud_par *p, const unsigned char *v)
{
    uint32_t h;
    int32_t i;

    if (v == NULL)
        return -1;
    h = bp_str_hash((const char *)v);
    for (i = p->bucket[h % NBUCKET]; i >= 0; i = p->next[i])
        if (strcmp(p->strs[i], (const char *)v) == 0)
            return i;
    if (p->nstrs == p->capstrs) {
        p->capstrs = p->capstrs ? p->capstrs * 2 : 32;
        p->strs = bp_xrealloc(p->strs, p->capstrs * sizeof *p->strs);
        p->next = bp_xrealloc(p->next, p->capstrs * sizeof *p->next);
    }
    i = (int32_t)p->nstrs++;
    p->strs[i] = bp_xstrdup((const char *)v);
    p->next[i] = p->bucket[h % NBUCKET];
    p->bucket[h % NBUCKET] = i;
    return i;
}

static int read_rows(struct bp__aud_par *p, struct bp_store *r)
{
    sqlite3_stmt *st = bp__store_stmt(r, SQL_ROWS);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct chosen *c;
        if (p->nrows == p->caprows) {
            p->caprows = p->caprows ? p->caprows * 2 : 1024;
            p->rows = bp_xrealloc(p->rows, p->caprows * sizeof *p->rows);
        }
        c = &p->rows[p->nrows++];
        c->contact = sqlite3_column_int64(st, 0);
        c->guardian = sqlite3_column_int64(st, 1);
        c->student = sqlite3_column_int64(st, 2);
        c->email = sqlite3_column_int(st, 3) != 0;
        c->loc = intern(p, sqlite3_column_text(st, 4));
        c->tz = intern(p, sqlite3_column_text(st, 5));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static int read_skips(struct bp__aud_par *p, struct bp_store *r)
{
    sqlite3_stmt *st = bp__store_stmt(r, SQL_SKIP_ROWS);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *w = (const char *)sqlite3_column_text(st, 1);
        int reason = -1;
        for (int i = 0; i < BP_SKIP__COUNT && w != NULL; i++)
            if (bp_str_eq(w, bp_skip_reason_name((enum bp_skip_reason)i)))
                reason = i;
        if (reason < 0) {
            rc = SQLITE_INTERNAL;
            break;
        }
        if (p->nskips == p->capskips) {
            p->capskips = p->capskips ? p->capskips * 2 : 256;
            p->skips = bp_xrealloc(p->skips, p->capskips * sizeof *p->skips);
        }
        p->skips[p->nskips++] = (struct skip){sqlite3_column_int64(st, 0), reason};
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

/* One read transaction: one snapshot for every statement.  The cache is
 * sized for the roster pages the choice reads (~20 MB at 100,000 families).
 * The chosen rows are handed over as soon as they are read: the skipped
 * guardians' reasons (~0.15 s at 100,000 families) are worked out while
 * the caller writes the deliveries. */
static int choose(struct bp__aud_par *p, struct bp_store *r)
{
    int rc = bp__store_exec(r, "PRAGMA cache_size = -65536; BEGIN", NULL);

    if (rc == 0 && (rc = bp__store_aud_tables(r)) == 0 &&
        (rc = bp__store_aud_choose(r, &p->a)) == 0)
        rc = read_rows(p, r);
    p->rows_rc = rc;
    uv_sem_post(&p->rows_ready);
    if (rc == 0)
        rc = read_skips(p, r);
    (void)bp__store_exec(r, "ROLLBACK", NULL);
    return rc;
}

static void par_main(void *arg)
{
    struct bp__aud_par *p = arg;
    struct bp_store_opts o = {.path = p->path, .readonly = true, .busy_timeout_ms = 5000};
    struct bp_store *r;

    if (bp_store_open(&o, &r, NULL) < 0) {
        p->rc = p->rows_rc = BP_ESTORE;
        uv_sem_post(&p->rows_ready);
        return;
    }
    p->rc = choose(p, r);
    bp_store_close(r);
}

int bp__aud_par_start(struct bp_store *s, const struct bp_store_announce *a,
                      struct bp__aud_par **out)
{
    const char *path = sqlite3_db_filename(s->db, "main");
    struct bp__aud_par *p;

    *out = NULL;
    if (a->serial || path == NULL || path[0] == '\0')
        return BP_EINVAL_INPUT;
    p = bp_xcalloc(1, sizeof *p);
    p->path = bp_xstrdup(path);
    p->a = *a;
    p->a.errmsg[0] = '\0';
    for (int i = 0; i < NBUCKET; i++)
        p->bucket[i] = -1;
    if (uv_sem_init(&p->rows_ready, 0) != 0) {
        free(p->path);
        free(p);
        return BP_ESTORE;
    }
    if (uv_thread_create(&p->thread, par_main, p) != 0) {
        uv_sem_destroy(&p->rows_ready);
        free(p->path);
        free(p);
        return BP_ESTORE;
    }
    *out = p;
    return 0;
}

static const char *str_of(const struct bp__aud_par *p, int32_t i)
{
    return i < 0 ? NULL : p->strs[i];
}

int bp__aud_par_rows(struct bp__aud_par *p, struct bp_store *s, struct bp_store_announce *a)
{
    sqlite3_stmt *st;
    int rc = SQLITE_DONE;

    uv_sem_wait(&p->rows_ready);
    if (p->rows_rc < 0) {
        memcpy(a->errmsg, p->a.errmsg, sizeof a->errmsg);
        return p->rows_rc;
    }
    if ((st = bp__store_stmt(s, SQL_C_ADD)) == NULL)
        return BP_ESTORE;
    for (size_t i = 0; i < p->nrows && rc == SQLITE_DONE; i++) {
        const struct chosen *c = &p->rows[i];
        sqlite3_bind_int64(st, 1, c->contact);
        sqlite3_bind_int64(st, 2, c->guardian);
        sqlite3_bind_text(st, 3, c->email ? "email" : "sms", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, c->student);
        bp__store_bind_text_or_null(st, 5, str_of(p, c->loc));
        bp__store_bind_text_or_null(st, 6, str_of(p, c->tz));
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static int write_skips(struct bp__aud_par *p, struct bp_store *s,
                       const struct bp_store_announce *a)
{
    sqlite3_stmt *st;
    int rc = SQLITE_DONE;

    if ((st = bp__store_stmt(s, SQL_SKIP_ADD)) == NULL)
        return BP_ESTORE;
    for (size_t i = 0; i < p->nskips && rc == SQLITE_DONE; i++) {
        sqlite3_bind_int64(st, 1, a->announcement_id);
        sqlite3_bind_int64(st, 2, p->skips[i].guardian);
        sqlite3_bind_text(st, 3, bp_skip_reason_name((enum bp_skip_reason)p->skips[i].reason),
                          -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, a->now_ms);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

int bp__aud_par_finish(struct bp__aud_par *p, struct bp_store *s,
                       struct bp_store_announce *a, bool write)
{
    int rc;

    uv_thread_join(&p->thread);
    uv_sem_destroy(&p->rows_ready);
    rc = p->rc;
    if (rc < 0 && write)
        memcpy(a->errmsg, p->a.errmsg, sizeof a->errmsg);
    else if (write)
        rc = write_skips(p, s, a);
    for (size_t i = 0; i < p->nstrs; i++)
        free(p->strs[i]);
    free(p->strs);
    free(p->next);
    free(p->rows);
    free(p->skips);
    free(p->path);
    free(p);
    return rc;
}
