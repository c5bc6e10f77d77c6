/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The store writer: one thread that owns the read-write SQLite connection
 * and commits write requests in groups (DESIGN.md section 2).
 *
 *   loop thread                      writer thread
 *   -----------                      -------------
 *   submit(req) --[in queue]-------> take up to batch_max requests
 *                                    BEGIN IMMEDIATE
 *                                    for each: SAVEPOINT r; fn(); RELEASE r
 *                                              (ROLLBACK TO r; RELEASE r
 *                                               when fn fails or returns
 *                                               BP__STORE_UNDO)
 *                                    (a run of replayable requests: one
 *                                     SAVEPOINT g for the run, see run_group)
 *                                    COMMIT
 *   on_async: done(req, status) <--[out queue]-- one uv_async_send a batch
 *
 * A bulk request (req->bulk: an announcement's set-based inserts) runs in a
 * transaction of its own in bulk mode (foreign-key enforcement off, a large
 * page cache: bp_store_set_bulk), left before the next batch; a batch never
 * mixes it with other requests.
 *
 * Under load the in queue fills while a commit is running, so batches grow
 * by themselves; at idle a request waits for exactly one commit.  The hot
 * path allocates nothing (requests are caller-owned and linked through their
 * private _next field), the transaction statements are prepared once, and
 * the only system call per batch is the uv_async_send (the condition
 * variable is signalled only when the queue was empty, i.e. when the writer
 * may be asleep).
 *
 * Threads: this file is one of the documented exceptions to STYLE.md C6
 * ("only work/ uses OS threads"; the others: checkpoint.c, the WAL
 * checkpointer this writer starts and stops, and outbox_choose.c, the
 * thread an announcement chooses its contacts on, joined before it
 * returns): the writer thread and its mutex/condvar (libuv's
 * portable uv_thread/uv_mutex/uv_cond wrappers) live here because the
 * read-write connection must belong to exactly one thread.  The writer
 * thread touches only: the connection, the two queues and the counters
 * under the mutex, and uv_async_send (documented thread-safe).
 *
 * Shutdown: bp_store_writer_stop marks the writer closed.  Requests already
 * queued are still committed; requests submitted later are kept on a loop-
 * only list and completed with BP_ECLOSED from a callback (never inside
 * submit, STYLE.md C5.2), after every accepted request, so completion order
 * is submission order.  When the thread has drained the queue it says so and
 * exits; the loop joins it, closes the connection, closes the uv_async
 * handle, and the close callback calls the user's stop callback.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "store_int.h"

const double bp_store_latency_bounds[BP_STORE_LAT_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,   0.25,   0.5,   1.0,  INFINITY,
};

struct wqueue {
    struct bp_store_wreq *head, *tail;
};

struct bp_store_writer {
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    struct bp_store *store;   /* the writer thread's, until it is joined */
    int batch_max;
    bool bulk_on;             /* writer thread: still in bulk mode (bp_store_set_bulk) */
    struct bp__ckpt *ckpt;    /* copies the WAL into the file (NULL: SQLite's
                                 automatic checkpoint, on this thread) */

    /* Shared, under mu. */
    struct wqueue in;         /* submitted, not yet taken by the writer */
    struct wqueue out;        /* finished, to complete on the loop */
    bool stopping;            /* no more requests: drain and exit */
    bool thread_done;         /* the thread has left its loop */
    uint64_t commits;
    uint64_t batch_max_seen;

    /* Loop thread only. */
    struct wqueue rejected;   /* submitted after stop: BP_ECLOSED */
    bool stop_called;
    bool joined;
    bool closing;             /* uv_close(async) was called */
    void (*stop_cb)(void *arg);
    void *stop_arg;
    uint64_t requests;
    uint64_t failures;
    double latency_sum_s;
    uint64_t lat_count[BP_STORE_LAT_BUCKETS]; /* per bucket, not cumulative */
};

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_SAVEPOINT[] = "SAVEPOINT r";
static const char SQL_RELEASE[] = "RELEASE r";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO r";
static const char SQL_GROUP[] = "SAVEPOINT g";
static const char SQL_GROUP_RELEASE[] = "RELEASE g";
static const char SQL_GROUP_ROLLBACK_TO[] = "ROLLBACK TO g";

static void wqueue_push(struct wqueue *q, struct bp_store_wreq *r)
{
    r->_next = NULL;
    if (q->tail != NULL)
        q->tail->_next = r;
    else
        q->head = r;
    q->tail = r;
}

/* Runs one cached, parameterless statement to completion. */
static int run_stmt(struct bp_store *s, const char *sql)
{
    sqlite3_stmt *st = bp__store_stmt(s, sql);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static void fail_all(struct bp_store_wreq *head, struct bp_store_wreq *end,
                     int status)
{
    for (struct bp_store_wreq *r = head; r != end; r = r->_next)
        r->_status = status;
}

/*
 * Runs one request inside its own savepoint.  Returns 0 when the enclosing
 * transaction is still usable, or -1 when it was lost (SQLite rolled it back
 * by itself, or the savepoint could not be rolled back).
 */
static int run_one(struct bp_store *s, struct bp_store_wreq *r)
{
    int rc = run_stmt(s, SQL_SAVEPOINT);

    if (rc < 0) {
        r->_status = rc;
        return sqlite3_get_autocommit(s->db) ? -1 : 0;
    }
    rc = r->fn(s, r->arg);
    r->_status = rc < 0 ? rc : 0;
    if (sqlite3_get_autocommit(s->db))
        return -1;      /* e.g. SQLITE_FULL: the whole transaction is gone */
    if (rc >= 0 && rc != BP__STORE_UNDO) {
        rc = run_stmt(s, SQL_RELEASE);
        if (rc == 0)
            return 0;
        r->_status = rc;
    }
    if (run_stmt(s, SQL_ROLLBACK_TO) < 0 || run_stmt(s, SQL_RELEASE) < 0)
        return -1;
    return 0;
}

/*
 * Runs the replayable requests [first, end) under one savepoint.  A
 * savepoint copies each page into its sub-journal the first time the page
 * changes under it, and requests next to each other change the same pages
 * (the table's last page, the index pages): with one savepoint per request,
 * 24 allocations and ~6 page copies a stored webhook, 14 % of the writer's
 * instructions (callgrind, tests/bench/webhook_callgrind.sh).  Should one
 * request fail or ask for BP__STORE_UNDO, the whole run is rolled back and
 * run again one savepoint a request (run_one), so each request's outcome is
 * what it would have been alone; replayable (bp/store.h) is what makes the
 * second run safe.  Returns 0, or -1 when the transaction was lost, with
 * *lost the request it was lost at.
 */
static int run_group(struct bp_store *s, struct bp_store_wreq *first,
                     struct bp_store_wreq *end, struct bp_store_wreq **lost)
{
    struct bp_store_wreq *r;
    bool have_g = run_stmt(s, SQL_GROUP) == 0;
    bool clean = have_g;

    *lost = first;
    if (!have_g && sqlite3_get_autocommit(s->db))
        return -1;
    for (r = first; clean && r != end; r = r->_next) {
        int rc = r->fn(s, r->arg);
        r->_status = rc < 0 ? rc : 0;
        if (sqlite3_get_autocommit(s->db)) {
            *lost = r;
            return -1;   /* e.g. SQLITE_FULL: the whole transaction is gone */
        }
        if (rc < 0 || rc == BP__STORE_UNDO)
            clean = false;
    }
    if (clean && run_stmt(s, SQL_GROUP_RELEASE) == 0)
        return 0;
    if (have_g &&   /* undo the run, then one savepoint a request */
        (run_stmt(s, SQL_GROUP_ROLLBACK_TO) < 0 || run_stmt(s, SQL_GROUP_RELEASE) < 0))
        return -1;
    for (r = first; r != end; r = r->_next) {
        if (run_one(s, r) < 0) {
            *lost = r;
            return -1;
        }
    }
    return 0;
}

/*
 * Commits one batch (a detached list).  Sets every request's _status.
 * Returns true when a transaction was committed.
 */
static bool run_batch(struct bp_store *s, struct bp_store_wreq *head)
{
    struct bp_store_wreq *start = head;

    while (start != NULL) {
        struct bp_store_wreq *r;

        if (run_stmt(s, SQL_BEGIN) < 0) {
            fail_all(start, NULL, BP_ESTORE);
            return false;
        }
        for (r = start; r != NULL;) {
            struct bp_store_wreq *end = r->_next, *lost;

            if (r->replayable && end != NULL && end->replayable) {
                while (end != NULL && end->replayable)
                    end = end->_next;
                if (run_group(s, r, end, &lost) < 0) {
                    r = lost;
                    break;
                }
            } else if (run_one(s, r) < 0) {
                break;
            }
            r = end;
        }
        if (r != NULL) {
            /* The transaction was lost while running r: everything before
             * r in this transaction is gone too.  r keeps its own status;
             * continue with a fresh transaction after it. */
            int keep = r->_status < 0 ? r->_status : BP_ESTORE;
            fail_all(start, r, BP_ESTORE);
            r->_status = keep;
            bp_store_rollback(s);
            start = r->_next;
            continue;
        }
        if (run_stmt(s, SQL_COMMIT) < 0) {
            bp_store_rollback(s);
            fail_all(start, NULL, BP_ESTORE);
            return false;
        }
        return true;
    }
    return false;
}

/* A bulk request alone, in bulk mode (foreign keys off, a large page
 * cache: bp_store_set_bulk); a normal batch only once foreign keys are back
 * on (else it fails whole, as if BEGIN had failed). */
static bool run_batch_fk(struct bp_store_writer *w, struct bp_store_wreq *head)
{
    bool committed;

    if (head->bulk && bp_store_set_bulk(w->store, true) == 0)
        w->bulk_on = true;
    if (!head->bulk && w->bulk_on) {
        if (bp_store_set_bulk(w->store, false) < 0) {
            fail_all(head, NULL, BP_ESTORE);
            return false;
        }
        w->bulk_on = false;
    }
    committed = run_batch(w->store, head);
    if (w->bulk_on && bp_store_set_bulk(w->store, false) == 0)
        w->bulk_on = false;
    return committed;
}

static void writer_main(void *arg)
{
    struct bp_store_writer *w = arg;

    for (;;) {
        struct bp_store_wreq *head, *last;
        uint64_t n = 1;
        bool committed;

        uv_mutex_lock(&w->mu);
        while (w->in.head == NULL && !w->stopping)
            uv_cond_wait(&w->cond, &w->mu);
        if (w->in.head == NULL) {
            w->thread_done = true;
            uv_mutex_unlock(&w->mu);
            break;
        }
        head = last = w->in.head;
        while (!head->bulk && last->_next != NULL && !last->_next->bulk &&
               n < (uint64_t)w->batch_max) {
            last = last->_next;
            n++;
        }
        w->in.head = last->_next;
        if (w->in.head == NULL)
            w->in.tail = NULL;
        last->_next = NULL;
        uv_mutex_unlock(&w->mu);

        committed = run_batch_fk(w, head);

        uv_mutex_lock(&w->mu);
        if (committed)
            w->commits++;
        if (n > w->batch_max_seen)
            w->batch_max_seen = n;
        if (w->out.tail != NULL)
            w->out.tail->_next = head;
        else
            w->out.head = head;
        w->out.tail = last;
        uv_mutex_unlock(&w->mu);
        uv_async_send(&w->async);
    }
    uv_async_send(&w->async);
}

static void complete(struct bp_store_writer *w, struct bp_store_wreq *r,
                     int status)
{
    double lat = (double)(uv_hrtime() - r->_submitted_ns) / 1e9;
    int b = 0;

    while (b < BP_STORE_LAT_BUCKETS - 1 && lat > bp_store_latency_bounds[b])
        b++;
    w->lat_count[b]++;
    w->latency_sum_s += lat;
    w->requests++;
    if (status < 0)
        w->failures++;
    r->done(r, status);
}

/* Completes a detached list; done() may submit more (they queue anew). */
static void complete_list(struct bp_store_writer *w, struct bp_store_wreq *r,
                          int forced_status)
{
    while (r != NULL) {
        struct bp_store_wreq *next = r->_next;
        complete(w, r, forced_status ? forced_status : r->_status);
        r = next;
    }
}

static void on_async_closed(uv_handle_t *h)
{
    struct bp_store_writer *w = BP_CONTAINER_OF(h, struct bp_store_writer,
                                                async);
    void (*cb)(void *) = w->stop_cb;
    void *arg = w->stop_arg;

    /* Requests submitted after the handle started closing. */
    while (w->rejected.head != NULL) {
        struct bp_store_wreq *r = w->rejected.head;
        w->rejected.head = w->rejected.tail = NULL;
        complete_list(w, r, BP_ECLOSED);
    }
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->mu);
    free(w);
    if (cb != NULL)
        cb(arg);
}

static void on_async(uv_async_t *h)
{
    struct bp_store_writer *w = BP_CONTAINER_OF(h, struct bp_store_writer,
                                                async);
    struct bp_store_wreq *done;
    bool thread_done;

    uv_mutex_lock(&w->mu);
    done = w->out.head;
    w->out.head = w->out.tail = NULL;
    thread_done = w->thread_done;
    uv_mutex_unlock(&w->mu);

    complete_list(w, done, 0);
    if (!thread_done || w->closing)
        return;
    /* Every accepted request is complete: now the late ones, in order. */
    while (w->rejected.head != NULL) {
        struct bp_store_wreq *r = w->rejected.head;
        w->rejected.head = w->rejected.tail = NULL;
        complete_list(w, r, BP_ECLOSED);
    }
    if (!w->joined) {
        uv_thread_join(&w->thread);  /* the thread has left its loop */
        w->joined = true;
        bp__ckpt_stop(w->ckpt);   /* before the last connection closes */
        w->ckpt = NULL;
        bp_store_close(w->store);
        w->store = NULL;
    }
    w->closing = true;
    uv_close((uv_handle_t *)&w->async, on_async_closed);
}

/* After each commit of the writer's connection (instead of SQLite's
 * automatic checkpoint): hands the copy to the checkpointer thread. */
static int on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct bp_store_writer *w = arg;

    (void)db;
    (void)name;
    if (frames >= BP__CKPT_FRAMES && w->ckpt != NULL)
        bp__ckpt_kick(w->ckpt);
    return SQLITE_OK;
}

int bp_store_writer_start(uv_loop_t *loop, const struct bp_store_writer_opts *o,
                          struct bp_store_writer **out, struct bp_errbuf *eb)
{
    struct bp_store_writer *w = NULL;
    struct bp_store *s = NULL;
    int rc;

    *out = NULL;
    if (o->store.readonly) {
        bp_errbuf_set(eb, o->store.path, "the store writer needs a "
                      "read-write connection");
        return BP_EINVAL_INPUT;
    }
    rc = bp_store_open(&o->store, &s, eb);
    if (rc < 0)
        return rc;
    w = bp_xcalloc(1, sizeof *w);
    w->loop = loop;
    w->store = s;
    if (bp__ckpt_start(&o->store, &w->ckpt) == 0)
        sqlite3_wal_hook(s->db, on_wal, w);
    w->batch_max = o->batch_max > 0 ? o->batch_max : 1024;
    rc = uv_mutex_init(&w->mu);
    if (rc < 0) {
        bp_errbuf_set(eb, "", "uv_mutex_init: %s", uv_strerror(rc));
        bp__ckpt_stop(w->ckpt);   /* before the last connection closes */
        w->ckpt = NULL;
        bp_store_close(s);
        free(w);
        return rc;
    }
    rc = uv_cond_init(&w->cond);
    if (rc < 0) {
        bp_errbuf_set(eb, "", "uv_cond_init: %s", uv_strerror(rc));
        uv_mutex_destroy(&w->mu);
        bp__ckpt_stop(w->ckpt);   /* before the last connection closes */
        w->ckpt = NULL;
        bp_store_close(s);
        free(w);
        return rc;
    }
    rc = uv_async_init(loop, &w->async, on_async);
    if (rc < 0) {
        bp_errbuf_set(eb, "", "uv_async_init: %s", uv_strerror(rc));
        goto fail;
    }
    rc = uv_thread_create(&w->thread, writer_main, w);
    if (rc < 0) {
        bp_errbuf_set(eb, "", "cannot start the store writer thread: %s",
                      uv_strerror(rc));
        /* The handle is initialised: it must be closed through the loop. */
        w->thread_done = w->joined = true;
        bp__ckpt_stop(w->ckpt);   /* before the last connection closes */
        w->ckpt = NULL;
        bp_store_close(w->store);
        w->store = NULL;
        w->stop_called = w->closing = true;
        uv_close((uv_handle_t *)&w->async, on_async_closed);
        return rc;
    }
    *out = w;
    return 0;
fail:
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->mu);
    bp__ckpt_stop(w->ckpt);   /* before the last connection closes */
    w->ckpt = NULL;
    bp_store_close(s);
    free(w);
    return rc;
}

void bp_store_writer_submit(struct bp_store_writer *w, struct bp_store_wreq *req)
{
    bool was_empty;

    req->_status = 0;
    req->_submitted_ns = uv_hrtime();
    if (w->stop_called) {
        wqueue_push(&w->rejected, req);
        if (!w->closing)
            uv_async_send(&w->async);
        return;
    }
    req->_next = NULL;
    uv_mutex_lock(&w->mu);
    was_empty = w->in.head == NULL;
    if (w->in.tail != NULL)
        w->in.tail->_next = req;
    else
        w->in.head = req;
    w->in.tail = req;
    uv_mutex_unlock(&w->mu);
    /* The writer sleeps only on an empty queue. */
    if (was_empty)
        uv_cond_signal(&w->cond);
}

void bp_store_writer_stop(struct bp_store_writer *w, void (*cb)(void *arg),
                          void *arg)
{
    if (w->stop_called)
        return;   /* the first caller's callback wins */
    w->stop_called = true;
    w->stop_cb = cb;
    w->stop_arg = arg;
    uv_mutex_lock(&w->mu);
    w->stopping = true;
    uv_mutex_unlock(&w->mu);
    uv_cond_signal(&w->cond);
}

void bp_store_writer_get_stats(struct bp_store_writer *w,
                               struct bp_store_writer_stats *out)
{
    uint64_t cum = 0;

    memset(out, 0, sizeof *out);
    uv_mutex_lock(&w->mu);
    out->commits = w->commits;
    out->batch_max_seen = w->batch_max_seen;
    uv_mutex_unlock(&w->mu);
    out->requests = w->requests;
    out->failures = w->failures;
    out->checkpoints = w->ckpt != NULL ? bp__ckpt_runs(w->ckpt) : 0;
    out->latency_sum_s = w->latency_sum_s;
    for (int i = 0; i < BP_STORE_LAT_BUCKETS; i++) {
        cum += w->lat_count[i];
        out->latency_bucket[i] = cum;
    }
}
