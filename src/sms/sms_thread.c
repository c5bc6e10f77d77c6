/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The SMS sender on threads of its own: bp_sms_sender_new (sms.c) on one
 * or more further libuv loops, each run by one thread, behind the same
 * struct bp_sender seam.  submit, in_flight, close and every done callback
 * stay on the owner's loop thread; libcurl, the sockets and the JSON replies
 * are the sender threads'.
 *
 * Why (a departure from DESIGN.md §2, which puts the libcurl multi handle on
 * the loop thread): draining an announcement, the loop thread was 83-88 %
 * busy at ~8,000 SMS/s, four fifths of it libcurl, jansson and the kernel's
 * loopback TCP for the requests, while the second core had the store writer
 * and the provider.  Everything else the loop does (inbound webhooks, the
 * dashboard, the outbox's own work) waited behind the requests.  On a thread
 * of its own the requests use the second core, and the loop keeps the rest.
 * Without a rate limit the requests can use two threads (each with half the
 * connections); with one, a single thread keeps the sender number's token
 * bucket whole.
 *
 * Queues under one mutex carry the traffic, each with a uv_async_t that
 * coalesces wake-ups (one wake-up takes every item queued):
 *   in   owner -> a worker   jobs to submit (and the request to close);
 *   out  workers -> owner    results, then the end of each worker.
 * A job goes to the worker with the fewest jobs in hand.  The job stays the
 * outbox's (bp/send.h): a worker only reads it, from submit until its result
 * is queued back; the owner calls the done callback after that, so two
 * threads never use a job at once.  Close: the owner refuses new jobs and
 * asks every worker to close its sender (which completes what it holds as
 * "canceled"); a worker's loop then has no handle left and returns; once
 * every worker has, the owner delivers the last results, joins the threads
 * and calls the close callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "bp/base.h"
#include "bp/sms.h"

/* Two: this machine has two cores, and one of the two threads measured
 * ~52 % busy at ~12,000 SMS/s with the other core's share taken by the
 * store writer and the provider (docs/senders.md). */
#define ST_MAX_WORKERS 2

struct st_worker;

struct st_item {
    struct st_item *next;
    struct bp_send_job *job;
    bp_send_done_fn cb;
    void *arg;
    struct st_worker *w;
    struct bp_send_result res;
};

struct st_queue {
    struct st_item *head, *tail;
};

struct bp_sms_thread;

struct st_worker {
    struct bp_sms_thread *t;
    unsigned held;                 /* owner: jobs given to it, not yet back */
    struct st_queue in;            /* under t->mu */
    bool started;                  /* owner: its thread runs */
    /* the worker's thread */
    uv_thread_t tid;
    uv_loop_t loop;
    uv_async_t wake;               /* jobs (or stop) are in `in` */
    struct bp_sender inner;
    bool inner_closing;
};

struct bp_sms_thread {
    /* owner's loop thread */
    uv_async_t back;               /* results (or an end) are in `out` */
    unsigned jobs;                 /* submitted, callback not yet called */
    bool closing, joined;
    void (*close_cb)(void *);
    void *close_arg;
    unsigned nworkers;
    /* shared, under mu */
    uv_mutex_t mu;
    struct st_queue out;
    bool stop;                     /* the owner asked for the close */
    unsigned ended;                /* workers whose loop returned */
    struct st_worker w[ST_MAX_WORKERS];
};

static void push(struct st_queue *q, struct st_item *it)
{
    it->next = NULL;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
}

static struct st_item *take_all(struct st_queue *q)
{
    struct st_item *list = q->head;
    q->head = q->tail = NULL;
    return list;
}

/* ---- worker threads ------------------------------------------------------ */

static void post_back(struct bp_sms_thread *t, struct st_item *it)
{
    uv_mutex_lock(&t->mu);
    push(&t->out, it);
    uv_mutex_unlock(&t->mu);
    uv_async_send(&t->back);
}

static void on_inner_done(struct bp_send_job *job, const struct bp_send_result *r, void *arg)
{
    struct st_item *it = arg;
    (void)job;
    it->res = *r;
    post_back(it->w->t, it);
}

static void cancel(struct bp_sms_thread *t, struct st_item *it)
{
    memset(&it->res, 0, sizeof it->res);
    it->res.cls = BP_SEND_TRANSIENT;
    snprintf(it->res.error_code, sizeof it->res.error_code, "canceled");
    snprintf(it->res.error_detail, sizeof it->res.error_detail, "sender closed");
    post_back(t, it);
}

static void on_inner_closed(void *arg)
{
    struct st_worker *w = arg;
    uv_close((uv_handle_t *)&w->wake, NULL);   /* the loop's last handle */
}

static void on_wake(uv_async_t *h)
{
    struct st_worker *w = h->data;
    struct bp_sms_thread *t = w->t;
    uv_mutex_lock(&t->mu);
    struct st_item *list = take_all(&w->in);
    bool stop = t->stop;
    uv_mutex_unlock(&t->mu);
    while (list) {
        struct st_item *it = list;
        list = it->next;
        if (w->inner_closing ||
            w->inner.submit(w->inner.self, it->job, on_inner_done, it) != 0)
            cancel(t, it);
    }
    if (stop && !w->inner_closing) {
        w->inner_closing = true;
        w->inner.close(w->inner.self, on_inner_closed, w);
    }
}

static void worker_main(void *arg)
{
    struct st_worker *w = arg;
    struct bp_sms_thread *t = w->t;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_mutex_lock(&t->mu);
    t->ended++;
    uv_mutex_unlock(&t->mu);
    uv_async_send(&t->back);
}

/* ---- owner's loop thread ------------------------------------------------- */

static void on_back_closed(uv_handle_t *h)
{
    struct bp_sms_thread *t = h->data;
    void (*cb)(void *) = t->close_cb;
    void *arg = t->close_arg;
    uv_mutex_destroy(&t->mu);
    free(t);
    if (cb)
        cb(arg);
}

static void on_back(uv_async_t *h)
{
    struct bp_sms_thread *t = h->data;
    uv_mutex_lock(&t->mu);
    struct st_item *list = take_all(&t->out);
    bool ended = t->ended == t->nworkers;
    uv_mutex_unlock(&t->mu);
    while (list) {
        struct st_item *it = list;
        list = it->next;
        t->jobs--;
        it->w->held--;
        it->cb(it->job, &it->res, it->arg);
        free(it);
    }
    if (ended && !t->joined) {
        t->joined = true;
        for (unsigned i = 0; i < t->nworkers; i++) {
            uv_thread_join(&t->w[i].tid);
            (void)uv_loop_close(&t->w[i].loop);
        }
        uv_close((uv_handle_t *)&t->back, on_back_closed);
    }
}

static int st_submit(void *self, struct bp_send_job *job, bp_send_done_fn cb, void *arg)
{
    struct bp_sms_thread *t = self;
    if (t->closing)
        return BP_ECLOSED;
    struct st_worker *w = &t->w[0];
    for (unsigned i = 1; i < t->nworkers; i++)
        if (t->w[i].held < w->held)
            w = &t->w[i];
    struct st_item *it = bp_xcalloc(1, sizeof *it);
    it->job = job;
    it->cb = cb;
    it->arg = arg;
    it->w = w;
    uv_mutex_lock(&t->mu);
    push(&w->in, it);
    uv_mutex_unlock(&t->mu);
    t->jobs++;
    w->held++;
    uv_async_send(&w->wake);
    return 0;
}

static unsigned st_in_flight(void *self)
{
    return ((struct bp_sms_thread *)self)->jobs;
}

static void st_close(void *self, void (*cb)(void *arg), void *arg)
{
    struct bp_sms_thread *t = self;
    if (t->closing)
        return;
    t->closing = true;
    t->close_cb = cb;
    t->close_arg = arg;
    uv_mutex_lock(&t->mu);
    t->stop = true;
    uv_mutex_unlock(&t->mu);
    for (unsigned i = 0; i < t->nworkers; i++)
        uv_async_send(&t->w[i].wake);
}

/* ---- creation ------------------------------------------------------------ */

/* Makes worker i's loop, sender and wake-up (its thread not yet). */
static int worker_init(struct bp_sms_thread *t, unsigned i, const struct bp_sms_opts *o,
                       struct bp_errbuf *eb)
{
    struct st_worker *w = &t->w[i];
    int rc;
    w->t = t;
    if ((rc = uv_loop_init(&w->loop)) < 0) {
        bp_errbuf_set(eb, "sms", "uv_loop_init: %s", uv_strerror(rc));
        return rc;
    }
    if ((rc = bp_sms_sender_new(&w->loop, o, &w->inner, eb)) != 0) {
        (void)uv_loop_close(&w->loop);
        return rc;
    }
    w->wake.data = w;
    if ((rc = uv_async_init(&w->loop, &w->wake, on_wake)) < 0) {
        bp_errbuf_set(eb, "sms", "uv_async_init: %s", uv_strerror(rc));
        w->inner.close(w->inner.self, NULL, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&w->loop);
        return rc;
    }
    return 0;
}

/* Creation failed: workers [0, n) have their loop, sender and wake-up, and
 * those with a thread are asked to stop and joined; the rest are closed on
 * this thread, whose loop has not run them.  Then t is freed, through the
 * owner's loop when `back` was made. */
static void undo(struct bp_sms_thread *t, unsigned n, bool back)
{
    uv_mutex_lock(&t->mu);
    t->stop = true;
    uv_mutex_unlock(&t->mu);
    for (unsigned i = 0; i < n; i++) {
        struct st_worker *w = &t->w[i];
        if (w->started) {
            uv_async_send(&w->wake);
            uv_thread_join(&w->tid);
        } else {
            w->inner.close(w->inner.self, NULL, NULL);
            uv_close((uv_handle_t *)&w->wake, NULL);
            uv_run(&w->loop, UV_RUN_DEFAULT);
        }
        (void)uv_loop_close(&w->loop);
    }
    t->close_cb = NULL;
    if (back) {
        uv_close((uv_handle_t *)&t->back, on_back_closed);
    } else {
        uv_mutex_destroy(&t->mu);
        free(t);
    }
}

int bp_sms_sender_new_threaded(uv_loop_t *loop, const struct bp_sms_opts *o,
                               struct bp_sender *out, struct bp_errbuf *eb)
{
    struct bp_sms_thread *t = bp_xcalloc(1, sizeof *t);
    struct bp_sms_opts wo = *o;
    unsigned n = o->rate_per_second == 0 && o->max_in_flight >= ST_MAX_WORKERS
                     ? ST_MAX_WORKERS : 1;
    int rc;

    if (uv_mutex_init(&t->mu) != 0)
        abort();
    for (t->nworkers = 0; t->nworkers < n; t->nworkers++) {
        /* max_in_flight shared out: the total stays what was asked */
        wo.max_in_flight = o->max_in_flight / n + (t->nworkers < o->max_in_flight % n);
        if ((rc = worker_init(t, t->nworkers, &wo, eb)) != 0) {
            undo(t, t->nworkers, false);
            return rc;
        }
    }
    t->back.data = t;
    if ((rc = uv_async_init(loop, &t->back, on_back)) < 0) {
        bp_errbuf_set(eb, "sms", "uv_async_init: %s", uv_strerror(rc));
        undo(t, n, false);
        return rc;
    }
    for (unsigned i = 0; i < n; i++) {
        if ((rc = uv_thread_create(&t->w[i].tid, worker_main, &t->w[i])) != 0) {
            bp_errbuf_set(eb, "sms", "cannot start a sender thread: %s", uv_strerror(rc));
            undo(t, n, true);
            return rc;
        }
        t->w[i].started = true;
    }
    out->self = t;
    out->submit = st_submit;
    out->in_flight = st_in_flight;
    out->close = st_close;
    return 0;
}
