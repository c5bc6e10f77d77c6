/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The SMS sender on a thread of its own: bp_sms_sender_new (sms.c) on a
 * second libuv loop, run by one thread, behind the same struct bp_sender
 * seam.  submit, in_flight, close and every done callback stay on the
 * owner's loop thread; libcurl, the sockets and the JSON replies are the
 * sender thread's.
 *
 * Why (a departure from DESIGN.md §2, which puts the libcurl multi handle on
 * the loop thread): draining an announcement, the loop thread was 83-88 %
 * busy at ~8,000 SMS/s, four fifths of it libcurl, jansson and the kernel's
 * loopback TCP for the requests, while the second core had the store writer
 * and the provider.  Everything else the loop does (inbound webhooks, the
 * dashboard, the outbox's own work) waited behind the requests.  On its own
 * thread the requests use the second core, and the loop keeps the rest.
 *
 * Two queues under one mutex carry the traffic, each with a uv_async_t that
 * coalesces wake-ups (one wake-up takes every item queued):
 *   in   owner -> thread   jobs to submit (and the request to close);
 *   out  thread -> owner   results, then the end of the thread.
 * The job stays the outbox's (bp/send.h): the sender thread only reads it,
 * from submit until its result is queued back; the owner calls the done
 * callback after that, so the two threads never use a job at once.
 * Close: the owner refuses new jobs and asks the thread to close its sender
 * (which completes what it holds as "canceled"); the thread's loop then has
 * no handle left and returns; the owner delivers the last results, joins
 * the thread and calls the close callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "bp/base.h"
#include "bp/sms.h"

struct st_item {
    struct st_item *next;
    struct bp_send_job *job;
    bp_send_done_fn cb;
    void *arg;
    struct bp_sms_thread *t;
    struct bp_send_result res;
};

struct st_queue {
    struct st_item *head, *tail;
};

struct bp_sms_thread {
    /* owner's loop thread */
    uv_async_t back;               /* results (or the end) are in `out` */
    unsigned jobs;                 /* submitted, callback not yet called */
    bool closing, joined;
    void (*close_cb)(void *);
    void *close_arg;
    /* both, under mu */
    uv_mutex_t mu;
    struct st_queue in, out;
    bool stop;                     /* the owner asked for the close */
    bool ended;                    /* the sender thread's loop returned */
    /* sender thread */
    uv_thread_t tid;
    uv_loop_t loop;
    uv_async_t wake;               /* jobs (or stop) are in `in` */
    struct bp_sender inner;
    bool inner_closing;
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

/* ---- sender thread ------------------------------------------------------- */

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
    post_back(it->t, it);
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
    struct bp_sms_thread *t = arg;
    uv_close((uv_handle_t *)&t->wake, NULL);   /* the loop's last handle */
}

static void on_wake(uv_async_t *h)
{
    struct bp_sms_thread *t = h->data;
    uv_mutex_lock(&t->mu);
    struct st_item *list = take_all(&t->in);
    bool stop = t->stop;
    uv_mutex_unlock(&t->mu);
    while (list) {
        struct st_item *it = list;
        list = it->next;
        if (t->inner_closing ||
            t->inner.submit(t->inner.self, it->job, on_inner_done, it) != 0)
            cancel(t, it);
    }
    if (stop && !t->inner_closing) {
        t->inner_closing = true;
        t->inner.close(t->inner.self, on_inner_closed, t);
    }
}

static void thread_main(void *arg)
{
    struct bp_sms_thread *t = arg;
    uv_run(&t->loop, UV_RUN_DEFAULT);
    uv_mutex_lock(&t->mu);
    t->ended = true;
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
    bool ended = t->ended;
    uv_mutex_unlock(&t->mu);
    while (list) {
        struct st_item *it = list;
        list = it->next;
        t->jobs--;
        it->cb(it->job, &it->res, it->arg);
        free(it);
    }
    if (ended && !t->joined) {
        t->joined = true;
        uv_thread_join(&t->tid);
        (void)uv_loop_close(&t->loop);
        uv_close((uv_handle_t *)&t->back, on_back_closed);
    }
}

static int st_submit(void *self, struct bp_send_job *job, bp_send_done_fn cb, void *arg)
{
    struct bp_sms_thread *t = self;
    if (t->closing)
        return BP_ECLOSED;
    struct st_item *it = bp_xcalloc(1, sizeof *it);
    it->job = job;
    it->cb = cb;
    it->arg = arg;
    it->t = t;
    uv_mutex_lock(&t->mu);
    push(&t->in, it);
    uv_mutex_unlock(&t->mu);
    t->jobs++;
    uv_async_send(&t->wake);
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
    uv_async_send(&t->wake);
}

/* Creation failed after the sender was made: its handles (and `wake` when
 * made) are closed on this thread, whose loop has not run yet; then t is
 * freed, through the owner's loop when `back` was made. */
static void undo(struct bp_sms_thread *t, bool wake, bool back)
{
    t->inner.close(t->inner.self, NULL, NULL);
    if (wake)
        uv_close((uv_handle_t *)&t->wake, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&t->loop);
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
    int rc = uv_loop_init(&t->loop);
    if (rc < 0) {
        bp_errbuf_set(eb, "sms", "uv_loop_init: %s", uv_strerror(rc));
        free(t);
        return rc;
    }
    if ((rc = bp_sms_sender_new(&t->loop, o, &t->inner, eb)) != 0) {
        (void)uv_loop_close(&t->loop);
        free(t);
        return rc;
    }
    if (uv_mutex_init(&t->mu) != 0)
        abort();
    t->wake.data = t->back.data = t;
    if ((rc = uv_async_init(&t->loop, &t->wake, on_wake)) < 0) {
        bp_errbuf_set(eb, "sms", "uv_async_init: %s", uv_strerror(rc));
        undo(t, false, false);
        return rc;
    }
    if ((rc = uv_async_init(loop, &t->back, on_back)) < 0) {
        bp_errbuf_set(eb, "sms", "uv_async_init: %s", uv_strerror(rc));
        undo(t, true, false);
        return rc;
    }
    if ((rc = uv_thread_create(&t->tid, thread_main, t)) != 0) {
        bp_errbuf_set(eb, "sms", "cannot start the sender thread: %s", uv_strerror(rc));
        undo(t, true, true);
        return rc;
    }
    out->self = t;
    out->submit = st_submit;
    out->in_flight = st_in_flight;
    out->close = st_close;
    return 0;
}
