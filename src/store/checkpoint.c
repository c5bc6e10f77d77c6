/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The WAL checkpointer: a thread with a connection of its own that copies
 * the WAL into the database file (PASSIVE checkpoints), so that the store
 * writer's commits never do.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL
 * past 1,000 pages: the committing thread copies those pages into the
 * database file and syncs it.  For the store writer that meant a pause of
 * its queue every ~1,000 pages -- under a webhook flood every few tenths of
 * a second, each time holding back every acknowledgement of the next batch
 * (tests/bench/webhook_ingest.sh: 12,400 webhooks/s with it on the writer,
 * 16,100/s without, p99 23.8 -> 16.2 ms, same machine, same minute).  A
 * PASSIVE checkpoint from another connection runs beside the writer: it
 * copies the frames committed when it starts and takes no lock a writer
 * waits for; once the WAL is wholly copied, the writer's next transaction
 * starts it again from the beginning, so it does not grow.
 *
 * The writer's WAL hook (after each commit, with the WAL's size) kicks the
 * thread once the WAL has BP__CKPT_FRAMES pages or more; kicks while a
 * checkpoint runs make one more run afterwards.  If the thread cannot start,
 * the writer keeps SQLite's automatic checkpoint.
 *
 * Threads: a documented exception to STYLE.md C6 like the writer itself
 * (src/store/writer.c): its own connection, used by this thread only; the
 * flag and the counter are shared under the mutex.
 */
#include <stdlib.h>

#include <uv.h>

#include "bp/base.h"
#include "store_int.h"

struct bp__ckpt {
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    struct bp_store *store;   /* the thread's connection */
    bool pending, stop;       /* under mu */
    uint64_t runs;            /* under mu: checkpoints completed */
};

static void ckpt_main(void *arg)
{
    struct bp__ckpt *c = arg;

    for (;;) {
        uv_mutex_lock(&c->mu);
        while (!c->pending && !c->stop)
            uv_cond_wait(&c->cond, &c->mu);
        if (c->stop) {
            uv_mutex_unlock(&c->mu);
            return;
        }
        c->pending = false;
        uv_mutex_unlock(&c->mu);
        /* SQLITE_BUSY only when another checkpoint runs: the next kick retries */
        (void)sqlite3_wal_checkpoint_v2(c->store->db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                        NULL, NULL);
        uv_mutex_lock(&c->mu);
        c->runs++;
        uv_mutex_unlock(&c->mu);
    }
}

int bp__ckpt_start(const struct bp_store_opts *o, struct bp__ckpt **out)
{
    struct bp__ckpt *c = bp_xcalloc(1, sizeof *c);
    struct bp_store_opts co = *o;

    *out = NULL;
    co.readonly = false;
    if (bp_store_open(&co, &c->store, NULL) < 0) {
        free(c);
        return BP_ESTORE;
    }
    /* its own checkpoints only, and none when it closes (the writer's
     * connection closes last and checkpoints then) */
    bp_store_leave_checkpoints(c->store);
    if (uv_mutex_init(&c->mu) < 0)
        goto fail_mu;
    if (uv_cond_init(&c->cond) < 0)
        goto fail_cond;
    if (uv_thread_create(&c->thread, ckpt_main, c) < 0)
        goto fail_thread;
    *out = c;
    return 0;
fail_thread:
    uv_cond_destroy(&c->cond);
fail_cond:
    uv_mutex_destroy(&c->mu);
fail_mu:
    bp_store_close(c->store);
    free(c);
    return BP_ESTORE;
}

void bp__ckpt_kick(struct bp__ckpt *c)
{
    uv_mutex_lock(&c->mu);
    if (!c->pending) {
        c->pending = true;
        uv_cond_signal(&c->cond);
    }
    uv_mutex_unlock(&c->mu);
}

uint64_t bp__ckpt_runs(struct bp__ckpt *c)
{
    uint64_t n;

    uv_mutex_lock(&c->mu);
    n = c->runs;
    uv_mutex_unlock(&c->mu);
    return n;
}

void bp__ckpt_stop(struct bp__ckpt *c)
{
    if (c == NULL)
        return;
    uv_mutex_lock(&c->mu);
    c->stop = true;
    uv_cond_signal(&c->cond);
    uv_mutex_unlock(&c->mu);
    uv_thread_join(&c->thread);
    bp_store_close(c->store);
    uv_cond_destroy(&c->cond);
    uv_mutex_destroy(&c->mu);
    free(c);
}
