/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Store writer (src/store/writer.c): group commit on a real WAL file.
 * Checks that every request completes exactly once, in submission order,
 * only after its commit (a second connection sees the row inside done()),
 * that a failing request rolls back alone (also inside a run of replayable
 * requests sharing one savepoint), that a failing COMMIT fails the
 * whole batch, that batches form under load, that stop completes later
 * submits with BP_ECLOSED asynchronously, that the stats add up, and that
 * the loop closes clean.
 *
 * Determinism: a "gate" request, once the writer runs it (alone in its
 * batch: the test waits for it to start), blocks the writer thread on a
 * semaphore until the test has queued everything else, so the composition
 * of the following batches is exact, not a matter of timing.
 */
#include <math.h>
#include <sys/stat.h>

#include "bp_test.h"
#include "store_test.h"

#define NREQ 1000

struct ctx;

struct treq {
    struct bp_store_wreq w;     /* first: done() gets &w */
    struct ctx *c;
    int idx;
    int mode;                   /* MODE_* */
    int calls;
    int runs;                   /* times fn ran (writer thread) */
    int status;
    int fk;                     /* PRAGMA foreign_keys as fn saw it */
    int cache;                  /* PRAGMA cache_size as fn saw it */
};

enum { MODE_INSERT, MODE_FAIL, MODE_GATE, MODE_ORPHAN, MODE_PAGE, MODE_UNDO };

struct ctx {
    uv_loop_t loop;
    struct bp_store_writer *w;
    struct bp_store *reader;    /* second connection, loop thread */
    uv_sem_t gate;              /* the test lets the gate request go */
    uv_sem_t entered;           /* the gate request is running */
    int ndone;
    int ntotal;
    int next_expected;
    int order_errors;
    int invisible;              /* committed rows the reader did not see */
    int sync_calls;             /* done() called inside submit */
    bool in_submit;
    bool all_done;
    bool stopped;
    int stop_calls;
    struct bp_store_writer_stats stats_at_end;
};

static int fn_write(struct bp_store *s, void *arg)
{
    struct treq *r = arg;
    sqlite3_stmt *st;
    int rc;

    r->runs++;
    if (r->mode == MODE_GATE) {
        uv_sem_post(&r->c->entered);
        uv_sem_wait(&r->c->gate);
        return 0;
    }
    r->fk = st_int(s, "PRAGMA foreign_keys");
    r->cache = st_int(s, "PRAGMA cache_size");
    if (sqlite3_prepare_v2(s->db, r->mode == MODE_ORPHAN
                               ? "INSERT INTO child (id, parent) VALUES (?1, 999)"
                               : r->mode == MODE_PAGE
                               ? "INSERT INTO wb (id, b) VALUES (?1, zeroblob(4000))"
                               : "INSERT INTO wt (id) VALUES (?1)",
                           -1, &st, NULL) != SQLITE_OK)
        return BP_ESTORE;
    sqlite3_bind_int(st, 1, r->idx);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE && r->mode == MODE_FAIL) {
        /* The row is written; now fail, so the savepoint must undo it. */
        sqlite3_reset(st);
        rc = sqlite3_step(st);      /* duplicate primary key */
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE && r->mode == MODE_UNDO)
        return BP__STORE_UNDO;      /* written, to be undone: a retry */
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static bool row_visible(struct bp_store *reader, int idx)
{
    sqlite3_stmt *st;
    bool seen = false;

    if (sqlite3_prepare_v2(reader->db, "SELECT 1 FROM wt WHERE id = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int(st, 1, idx);
    seen = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return seen;
}

static void on_done(struct bp_store_wreq *w, int status)
{
    struct treq *r = BP_CONTAINER_OF(w, struct treq, w);
    struct ctx *c = r->c;

    if (c->in_submit)
        c->sync_calls++;
    r->calls++;
    r->status = status;
    if (r->idx != c->next_expected)
        c->order_errors++;
    c->next_expected = r->idx + 1;
    if (status == 0 && r->mode == MODE_INSERT && c->reader != NULL &&
        !row_visible(c->reader, r->idx))
        c->invisible++;
    if (++c->ndone == c->ntotal) {
        bp_store_writer_get_stats(c->w, &c->stats_at_end);
        c->all_done = true;
    }
}

static void on_stopped(void *arg)
{
    struct ctx *c = arg;
    c->stop_calls++;
    c->stopped = true;
}

/* Fresh database with the test tables; starts a writer on it. */
static bool setup(struct ctx *c, char *path, size_t n, int batch_max)
{
    struct bp_store_writer_opts o = {{0}, 0};
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store *s = st_open_new(path, n, true);

    memset(c, 0, sizeof *c);
    if (s == NULL)
        return false;
    if (st_exec(s, "CREATE TABLE wt (id INTEGER PRIMARY KEY);"
                   "CREATE TABLE wb (id INTEGER PRIMARY KEY, b BLOB);"
                   "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                   "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER"
                   " REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);")
        != SQLITE_OK) {
        bp_store_close(s);
        return false;
    }
    bp_store_close(s);
    uv_loop_init(&c->loop);
    uv_sem_init(&c->gate, 0);
    uv_sem_init(&c->entered, 0);
    o.store.path = path;
    o.store.sync_full = true;
    o.batch_max = batch_max;
    if (bp_store_writer_start(&c->loop, &o, &c->w, &eb) < 0) {
        printf("# writer start: %s\n", eb.msg);
        return false;
    }
    c->reader = st_open_path(path, true);
    return c->reader != NULL;
}

static void submit(struct ctx *c, struct treq *r, int idx, int mode)
{
    r->c = c;
    r->idx = idx;
    r->mode = mode;
    r->calls = 0;
    r->runs = 0;
    r->status = 1;
    r->w.replayable = false;
    r->w.fn = fn_write;
    r->w.arg = r;
    r->w.done = on_done;
    c->ntotal++;
    c->in_submit = true;
    bp_store_writer_submit(c->w, &r->w);
    c->in_submit = false;
}

/* setup, then the gate as request 0: the writer runs it alone and waits
 * in it until the test posts c->gate. */
static bool setup_gated(struct ctx *c, char *path, size_t n, int batch_max,
                        struct treq *gate)
{
    if (!setup(c, path, n, batch_max))
        return false;
    submit(c, gate, 0, MODE_GATE);
    uv_sem_wait(&c->entered);
    return true;
}

/* Stops the writer, waits for its callback, closes the loop. */
static int teardown(struct ctx *c)
{
    bp_store_close(c->reader);
    c->reader = NULL;
    bp_store_writer_stop(c->w, on_stopped, c);
    if (!st_run_until(&c->loop, &c->stopped, 10000))
        return -1;
    uv_sem_destroy(&c->gate);
    uv_sem_destroy(&c->entered);
    return uv_loop_close(&c->loop);
}

static void test_complete_once_in_order_after_commit(void)
{
    static struct treq r[NREQ];
    char path[512];
    struct ctx c;

    ASSERT_TRUE(setup(&c, path, sizeof path, 64));
    for (int i = 0; i < NREQ; i++)
        submit(&c, &r[i], i, MODE_INSERT);
    ASSERT_EQ(c.ndone, 0);            /* never synchronous */
    ASSERT_TRUE(st_run_until(&c.loop, &c.all_done, 20000));
    ASSERT_EQ(c.sync_calls, 0);
    ASSERT_EQ(c.order_errors, 0);
    ASSERT_EQ(c.invisible, 0);
    for (int i = 0; i < NREQ; i++) {
        ASSERT_EQ(r[i].calls, 1);
        ASSERT_EQ(r[i].status, 0);
    }
    ASSERT_EQ(c.stats_at_end.requests, NREQ);
    ASSERT_EQ(c.stats_at_end.failures, 0);
    ASSERT_TRUE(c.stats_at_end.batch_max_seen <= 64);
    ASSERT_TRUE(c.stats_at_end.commits >= NREQ / 64);
    ASSERT_OK(teardown(&c));
    ASSERT_EQ(c.stop_calls, 1);
    {
        struct bp_store *s = st_open_path(path, true);
        ASSERT_TRUE(s != NULL);
        ASSERT_EQ(st_int(s, "SELECT count(*) FROM wt"), NREQ);
        bp_store_close(s);
    }
}

static void test_failing_request_rolls_back_alone(void)
{
    static struct treq r[11];
    char path[512];
    struct ctx c;

    ASSERT_TRUE(setup_gated(&c, path, sizeof path, 1024, &r[0]));
    for (int i = 1; i <= 10; i++)
        submit(&c, &r[i], i, i == 5 ? MODE_FAIL : MODE_INSERT);
    uv_sem_post(&c.gate);
    ASSERT_TRUE(st_run_until(&c.loop, &c.all_done, 10000));
    ASSERT_EQ(c.order_errors, 0);
    ASSERT_EQ(c.invisible, 0);
    for (int i = 0; i <= 10; i++) {
        ASSERT_EQ(r[i].calls, 1);
        ASSERT_EQ(r[i].status, i == 5 ? BP_ECONSTRAINT : 0);
    }
    /* The gate alone, then the ten together: one batch held the failure. */
    ASSERT_EQ(c.stats_at_end.commits, 2);
    ASSERT_EQ(c.stats_at_end.batch_max_seen, 10);
    ASSERT_EQ(c.stats_at_end.failures, 1);
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM wt"), 9);
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM wt WHERE id = 5"), 0);
    ASSERT_OK(teardown(&c));
}

/* Requests marked replayable next to each other share one savepoint; when
 * one of them fails or asks for an undo, the run is rolled back and run
 * again one savepoint a request, so every outcome is what it would have been
 * alone.  runs shows which path each took. */
static void test_replayable_run_replays_on_failure(void)
{
    static struct treq r[10];
    static const int mode[10] = {MODE_GATE, MODE_INSERT, MODE_INSERT, MODE_INSERT,
                                 MODE_INSERT, MODE_FAIL, MODE_UNDO, MODE_INSERT,
                                 MODE_INSERT, MODE_INSERT};
    /* 1-6 one run (5 fails: 1-5 ran twice, 6 only in the replay), 7 not
     * replayable, 8-9 a run that succeeds at once. */
    static const int runs[10] = {1, 2, 2, 2, 2, 2, 1, 1, 1, 1};
    char path[512];
    struct ctx c;

    ASSERT_TRUE(setup_gated(&c, path, sizeof path, 1024, &r[0]));
    for (int i = 1; i < 10; i++) {
        submit(&c, &r[i], i, mode[i]);
        r[i].w.replayable = i != 7;
    }
    uv_sem_post(&c.gate);
    ASSERT_TRUE(st_run_until(&c.loop, &c.all_done, 10000));
    ASSERT_EQ(c.order_errors, 0);
    ASSERT_EQ(c.invisible, 0);
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ(r[i].calls, 1);
        ASSERT_EQ(r[i].status, i == 5 ? BP_ECONSTRAINT : 0);
        ASSERT_EQ(r[i].runs, runs[i]);
    }
    ASSERT_EQ(c.stats_at_end.commits, 2);
    ASSERT_EQ(c.stats_at_end.failures, 1);
    /* 1-4, 7, 8, 9: not the failed 5 nor the undone 6 */
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM wt"), 7);
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM wt WHERE id IN (5, 6)"), 0);
    ASSERT_OK(teardown(&c));
}

static void test_commit_failure_fails_whole_batch(void)
{
    static struct treq r[4];
    char path[512];
    struct ctx c;

    ASSERT_TRUE(setup_gated(&c, path, sizeof path, 1024, &r[0]));
    submit(&c, &r[1], 1, MODE_INSERT);
    submit(&c, &r[2], 2, MODE_ORPHAN);   /* deferred FK: COMMIT fails */
    submit(&c, &r[3], 3, MODE_INSERT);
    uv_sem_post(&c.gate);
    ASSERT_TRUE(st_run_until(&c.loop, &c.all_done, 10000));
    ASSERT_EQ(r[0].status, 0);
    for (int i = 1; i < 4; i++) {
        ASSERT_EQ(r[i].calls, 1);
        ASSERT_EQ(r[i].status, BP_ESTORE);
    }
    ASSERT_EQ(c.stats_at_end.commits, 1);
    ASSERT_EQ(c.stats_at_end.failures, 3);
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM wt"), 0);
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM child"), 0);
    ASSERT_OK(teardown(&c));
}

/* A bulk request runs alone, with foreign keys off (its orphan commits)
 * and a 256 MB page cache; the requests around it run in batches of their
 * own with them on (the same orphan after it fails the batch it is in at
 * COMMIT) and at most 64 MB of cache. */
static void test_bulk_request_alone_without_foreign_keys(void)
{
    static struct treq r[7];
    char path[512];
    struct ctx c;

    ASSERT_TRUE(setup_gated(&c, path, sizeof path, 1024, &r[0]));
    submit(&c, &r[1], 1, MODE_INSERT);
    submit(&c, &r[2], 2, MODE_INSERT);
    r[3].w.bulk = true;
    submit(&c, &r[3], 3, MODE_ORPHAN);
    submit(&c, &r[4], 4, MODE_INSERT);
    submit(&c, &r[5], 5, MODE_ORPHAN);
    r[6].w.bulk = true;
    submit(&c, &r[6], 6, MODE_INSERT);
    uv_sem_post(&c.gate);
    ASSERT_TRUE(st_run_until(&c.loop, &c.all_done, 10000));
    ASSERT_EQ(c.order_errors, 0);
    ASSERT_EQ(r[1].fk, 1);
    ASSERT_EQ(r[2].fk, 1);
    ASSERT_EQ(r[3].fk, 0);
    ASSERT_EQ(r[4].fk, 1);
    ASSERT_EQ(r[5].fk, 1);
    ASSERT_EQ(r[6].fk, 0);
    ASSERT_EQ(r[3].cache, -262144);
    ASSERT_EQ(r[6].cache, -262144);
    ASSERT_EQ(r[2].cache, r[1].cache);        /* before any bulk request */
    ASSERT_EQ(r[4].cache, -65536);
    ASSERT_EQ(r[5].cache, -65536);
    ASSERT_EQ(r[3].status, 0);
    ASSERT_EQ(r[4].status, BP_ESTORE);   /* in r[5]'s batch: deferred FK */
    ASSERT_EQ(r[5].status, BP_ESTORE);
    ASSERT_EQ(r[6].status, 0);
    /* gate, {1, 2}, {3}, {4, 5} (failed), {6} */
    ASSERT_EQ(c.stats_at_end.commits, 4);
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM wt"), 3);       /* 1, 2, 6 */
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM child WHERE id = 3"), 1);
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM child"), 1);
    ASSERT_OK(teardown(&c));
}

/* The writer's commits never copy the WAL into the database file: a
 * checkpointer thread with a connection of its own does, once the WAL has
 * 1,000 pages (src/store/checkpoint.c).  1,500 one-page commits: the
 * checkpointer has run and the rows are in the database file itself. */
static void test_checkpoints_beside_the_writer(void)
{
    static struct treq r[1500];
    char path[512];
    struct bp_store_writer_stats st;
    struct stat sb;
    struct ctx c;
    int waited = 0;

    ASSERT_TRUE(setup(&c, path, sizeof path, 1));
    for (int i = 0; i < 1500; i++)
        submit(&c, &r[i], i, MODE_PAGE);
    ASSERT_TRUE(st_run_until(&c.loop, &c.all_done, 30000));
    do {
        bp_store_writer_get_stats(c.w, &st);
        if (st.checkpoints > 0)
            break;
        uv_sleep(10);
    } while (++waited < 1000);
    ASSERT_TRUE(st.checkpoints > 0);
    ASSERT_EQ(stat(path, &sb), 0);
    ASSERT_TRUE(sb.st_size > 1000LL * 4096);
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM wb"), 1500);
    ASSERT_OK(teardown(&c));
}

static void test_batches_form_under_load(void)
{
    static struct treq r[NREQ + 1];
    char path[512];
    struct ctx c;

    /* One loop turn: the gate holds the writer while 1000 requests queue. */
    ASSERT_TRUE(setup_gated(&c, path, sizeof path, 400, &r[0]));
    for (int i = 1; i <= NREQ; i++)
        submit(&c, &r[i], i, MODE_INSERT);
    uv_sem_post(&c.gate);
    ASSERT_TRUE(st_run_until(&c.loop, &c.all_done, 20000));
    ASSERT_EQ(c.order_errors, 0);
    ASSERT_TRUE(c.stats_at_end.commits < c.stats_at_end.requests);
    /* gate + ceil(1000 / 400) batches, exactly. */
    ASSERT_EQ(c.stats_at_end.commits, 1 + 3);
    ASSERT_EQ(c.stats_at_end.batch_max_seen, 400);
    ASSERT_EQ(c.stats_at_end.requests, NREQ + 1);
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM wt"), NREQ);
    ASSERT_OK(teardown(&c));
}

static void test_stats_add_up(void)
{
    static struct treq r[50];
    struct bp_store_writer_stats *st;
    char path[512];
    struct ctx c;
    uint64_t prev = 0;

    ASSERT_TRUE(setup(&c, path, sizeof path, 1024));
    for (int i = 0; i < 50; i++)
        submit(&c, &r[i], i, i % 10 == 3 ? MODE_FAIL : MODE_INSERT);
    ASSERT_TRUE(st_run_until(&c.loop, &c.all_done, 10000));
    st = &c.stats_at_end;
    ASSERT_EQ(st->requests, 50);
    ASSERT_EQ(st->failures, 5);
    ASSERT_TRUE(st->commits >= 1 && st->commits <= 50);
    ASSERT_TRUE(st->batch_max_seen >= 1 && st->batch_max_seen <= 50);
    ASSERT_TRUE(st->latency_sum_s > 0.0);
    for (int i = 0; i < BP_STORE_LAT_BUCKETS; i++) {
        ASSERT_TRUE(st->latency_bucket[i] >= prev);  /* cumulative */
        prev = st->latency_bucket[i];
    }
    ASSERT_EQ(st->latency_bucket[BP_STORE_LAT_BUCKETS - 1], 50);
    ASSERT_TRUE(isinf(bp_store_latency_bounds[BP_STORE_LAT_BUCKETS - 1]));
    for (int i = 1; i < BP_STORE_LAT_BUCKETS; i++)
        ASSERT_TRUE(bp_store_latency_bounds[i] > bp_store_latency_bounds[i - 1]);
    ASSERT_EQ(st_int(c.reader, "SELECT count(*) FROM wt"), 45);
    ASSERT_OK(teardown(&c));
}

static void test_stop_then_submit_is_closed_async(void)
{
    static struct treq r[3];
    char path[512];
    struct ctx c;

    ASSERT_TRUE(setup(&c, path, sizeof path, 1024));
    submit(&c, &r[0], 0, MODE_INSERT);
    bp_store_close(c.reader);
    c.reader = NULL;
    bp_store_writer_stop(c.w, on_stopped, &c);
    submit(&c, &r[1], 1, MODE_INSERT);
    submit(&c, &r[2], 2, MODE_INSERT);
    ASSERT_EQ(r[1].calls, 0);          /* not inside submit */
    ASSERT_EQ(c.ndone, 0);
    ASSERT_TRUE(st_run_until(&c.loop, &c.stopped, 10000));
    ASSERT_EQ(c.sync_calls, 0);
    ASSERT_EQ(c.order_errors, 0);      /* accepted first, then the late ones */
    ASSERT_EQ(r[0].calls, 1);
    ASSERT_EQ(r[0].status, 0);          /* queued before stop: committed */
    ASSERT_EQ(r[1].calls, 1);
    ASSERT_EQ(r[1].status, BP_ECLOSED);
    ASSERT_EQ(r[2].calls, 1);
    ASSERT_EQ(r[2].status, BP_ECLOSED);
    ASSERT_EQ(c.stop_calls, 1);
    uv_sem_destroy(&c.gate);
    uv_sem_destroy(&c.entered);
    ASSERT_EQ(uv_loop_close(&c.loop), 0);
    {
        struct bp_store *s = st_open_path(path, true);
        ASSERT_TRUE(s != NULL);
        ASSERT_EQ(st_int(s, "SELECT count(*) FROM wt"), 1);
        bp_store_close(s);
    }
}

static void test_stop_idle_closes_clean(void)
{
    char path[512];
    struct ctx c;

    ASSERT_TRUE(setup(&c, path, sizeof path, 8));
    ASSERT_OK(teardown(&c));
    ASSERT_EQ(c.stop_calls, 1);
}

static void test_start_refuses_readonly(void)
{
    struct bp_store_writer_opts o = {{0}, 0};
    struct bp_store_writer *w = (struct bp_store_writer *)&o;
    uv_loop_t loop;

    uv_loop_init(&loop);
    o.store.path = "/nonexistent/x.db";
    o.store.readonly = true;
    ASSERT_EQ(bp_store_writer_start(&loop, &o, &w, NULL), BP_EINVAL_INPUT);
    ASSERT_TRUE(w == NULL);
    o.store.readonly = false;
    ASSERT_TRUE(bp_store_writer_start(&loop, &o, &w, NULL) < 0);
    ASSERT_TRUE(w == NULL);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

int main(void)
{
    BP_TEST(test_complete_once_in_order_after_commit);
    BP_TEST(test_failing_request_rolls_back_alone);
    BP_TEST(test_replayable_run_replays_on_failure);
    BP_TEST(test_commit_failure_fails_whole_batch);
    BP_TEST(test_bulk_request_alone_without_foreign_keys);
    BP_TEST(test_batches_form_under_load);
    BP_TEST(test_checkpoints_beside_the_writer);
    BP_TEST(test_stats_add_up);
    BP_TEST(test_stop_then_submit_is_closed_async);
    BP_TEST(test_stop_idle_closes_clean);
    BP_TEST(test_start_refuses_readonly);
    return bp_test_done();
}
