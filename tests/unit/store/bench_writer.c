/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Store writer throughput (a benchmark: prints figures, never pass/fail on
 * time).  Closed loop: INFLIGHT requests are always outstanding, like that
 * many webhook connections waiting for their commit; each done() submits
 * the next.  Each request inserts one ~200-byte inbound message row with a
 * unique provider id (the real ingest shape: UNIQUE index, FK-free row).
 *
 *   bench_store_writer [seconds] [inflight] [full|normal] [batch_max] [row]
 *
 * row: "message" (default, the ingest row), "simple" (one INTEGER column:
 * SQLite's floor) or "noop" (no SQL in the request: the writer's own cost,
 * queue + savepoint + completion).
 *
 * Prints: requests/s, commits/s, mean batch, mean latency.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "bp_test.h"
#include "store_test.h"

struct breq {
    struct bp_store_wreq w;
    long long n;
};

static struct bp_store_writer *g_w;
static long long g_next, g_done, g_fail;
static uint64_t g_end_ns;
static bool g_stopping, g_stopped;
static int g_inflight_left;

static const char SQL_INS[] =
    "INSERT INTO message (direction, channel, body, provider, provider_msg_id,"
    " from_address, to_address, created_at)"
    " VALUES ('in', 'sms', ?1, 'twilio', ?2, '+15551230000', '+15559870000', ?3)";

static const char SQL_SIMPLE[] = "INSERT INTO bench_simple (n) VALUES (?1)";

static int fn_noop(struct bp_store *s, void *arg)
{
    (void)s;
    (void)arg;
    return 0;
}

static int fn_simple(struct bp_store *s, void *arg)
{
    struct breq *r = arg;
    sqlite3_stmt *st = bp__store_stmt(s, SQL_SIMPLE);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, r->n);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static int fn_insert(struct bp_store *s, void *arg)
{
    static const char BODY[] =
        "Hi, this is Maria's mom. She has a dentist appointment tomorrow at "
        "10 and will be late for school. Sorry for the short notice, thank "
        "you! Can you let her teacher know please? Gracias.";
    struct breq *r = arg;
    sqlite3_stmt *st = bp__store_stmt(s, SQL_INS);
    char id[40];
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    snprintf(id, sizeof id, "SM%032lld", r->n);
    sqlite3_bind_text(st, 1, BODY, sizeof BODY - 1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, 1700000000000LL + r->n);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static void on_stopped(void *arg)
{
    (void)arg;
    g_stopped = true;
}

static void on_done(struct bp_store_wreq *w, int status)
{
    struct breq *r = BP_CONTAINER_OF(w, struct breq, w);

    g_done++;
    g_fail += status < 0;
    if (!g_stopping && uv_hrtime() < g_end_ns) {
        r->n = g_next++;
        bp_store_writer_submit(g_w, &r->w);
        return;
    }
    if (--g_inflight_left == 0) {
        g_stopping = true;
        bp_store_writer_stop(g_w, on_stopped, NULL);
    }
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    int inflight = argc > 2 ? atoi(argv[2]) : 512;
    bool full = argc > 3 ? strcmp(argv[3], "normal") != 0 : true;
    int batch_max = argc > 4 ? atoi(argv[4]) : 1024;
    const char *row = argc > 5 ? argv[5] : "message";
    bp_store_write_fn fn = strcmp(row, "noop") == 0     ? fn_noop
                           : strcmp(row, "simple") == 0 ? fn_simple
                                                        : fn_insert;
    struct bp_store_writer_opts o = {{0}, 0};
    struct bp_store_writer_stats stats;
    struct bp_errbuf eb = {{0}, {0}};
    struct breq *reqs = calloc((size_t)inflight, sizeof *reqs);
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, true);
    uv_loop_t loop;
    uint64_t t0, t1;

    /* Only the harness's temp-dir helper is used here, not its asserts. */
    (void)bp_test__n;
    (void)bp_test__failed_total;
    (void)bp_test__cur_failed;
    if (s == NULL || reqs == NULL ||
        st_exec(s, "CREATE TABLE bench_simple (n INTEGER)") != SQLITE_OK)
        return 1;
    bp_store_close(s);
    uv_loop_init(&loop);
    o.store.path = path;
    o.store.sync_full = full;
    o.batch_max = batch_max;
    if (bp_store_writer_start(&loop, &o, &g_w, &eb) < 0) {
        fprintf(stderr, "start: %s\n", eb.msg);
        return 1;
    }
    g_inflight_left = inflight;
    t0 = uv_hrtime();
    g_end_ns = t0 + (uint64_t)(secs * 1e9);
    for (int i = 0; i < inflight; i++) {
        reqs[i].w.fn = fn;
        reqs[i].w.arg = &reqs[i];
        reqs[i].w.done = on_done;
        reqs[i].n = g_next++;
        bp_store_writer_submit(g_w, &reqs[i].w);
    }
    /* The writer is freed when its stop completes: read the stats after
     * the last done() (which calls stop) and before that. */
    while (!g_stopping)
        uv_run(&loop, UV_RUN_ONCE);
    t1 = uv_hrtime();
    bp_store_writer_get_stats(g_w, &stats);
    while (!g_stopped)
        uv_run(&loop, UV_RUN_ONCE);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "loop not closed clean\n");
    {
        double el = (double)(t1 - t0) / 1e9;
        printf("store writer: row=%s synchronous=%s inflight=%d "
               "batch_max=%d\n", row, full ? "FULL" : "NORMAL", inflight,
               batch_max);
        printf("  %lld requests in %.2f s = %.0f durable inserts/s"
               " (%lld failed)\n", g_done, el, (double)g_done / el, g_fail);
        printf("  %llu commits = %.0f commits/s, mean batch %.1f, biggest %llu\n",
               (unsigned long long)stats.commits, (double)stats.commits / el,
               stats.commits ? (double)stats.requests / (double)stats.commits
                             : 0.0,
               (unsigned long long)stats.batch_max_seen);
        printf("  mean latency submit->done %.3f ms\n",
               stats.requests ? stats.latency_sum_s * 1e3 /
                                (double)stats.requests : 0.0);
    }
    free(reqs);
    return g_fail ? 1 : 0;
}
