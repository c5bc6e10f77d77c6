/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * E-mail sender, loop side: submit puts a job on the workers' queue
 * (mutex + condvar), workers (smtp_worker.c) send batches over libesmtp
 * sessions and hand results back through a done list and a uv_async_t,
 * whose callback calls each job's callback on the loop thread, exactly once
 * and never from inside submit.
 *
 * Close: queued jobs are completed as BP_SEND_TRANSIENT "canceled" (from
 * the async callback), workers finish the session they are in (their real
 * results are delivered), exit, and are joined when the last one has said
 * so (no blocking join on the loop); then the async handle is closed and
 * the close callback runs from its close_cb.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <auth-client.h>
#include <openssl/ssl.h>          /* before libesmtp.h: smtp_starttls_set_ctx */
#include <libesmtp.h>

#include "bp/base.h"
#include "bp/log.h"
#include "smtp_int.h"

void bp__smtp_list_push(struct smtp_list *l, struct smtp_job *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

struct smtp_job *bp__smtp_list_pop(struct smtp_list *l)
{
    struct smtp_job *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
        j->next = NULL;
    }
    return j;
}

static void on_closed(uv_handle_t *h)
{
    struct bp_smtp *s = BP_CONTAINER_OF(h, struct bp_smtp, async);
    void (*cb)(void *) = s->close_cb;
    void *arg = s->close_arg;
    uv_mutex_destroy(&s->mu);
    uv_cond_destroy(&s->cv);
    free(s->threads);
    SSL_CTX_free(s->tls);
    free(s->server);
    free(s->username);
    free(s->password);
    free(s->from_address);
    free(s->from_name);
    free(s);
    if (cb)
        cb(arg);
}

static void deliver(struct bp_smtp *s, struct smtp_list *l)
{
    struct smtp_job *j;
    while ((j = bp__smtp_list_pop(l)) != NULL) {
        struct bp_send_job *job = j->job;
        bp_send_done_fn cb = j->cb;
        void *arg = j->arg;
        struct bp_send_result res = j->res;
        free(j);
        s->jobs--;
        cb(job, &res, arg);
    }
}

static void on_async(uv_async_t *h)
{
    struct bp_smtp *s = BP_CONTAINER_OF(h, struct bp_smtp, async);
    struct smtp_list got;
    uv_mutex_lock(&s->mu);
    got = s->done;
    s->done.head = s->done.tail = NULL;
    bool all_exited = s->closing && s->workers_left == 0;
    uv_mutex_unlock(&s->mu);
    deliver(s, &got);
    if (all_exited && !s->joined) {
        s->joined = true;
        for (unsigned i = 0; i < s->nthreads; i++)
            uv_thread_join(&s->threads[i]);     /* they have returned already */
        uv_close((uv_handle_t *)&s->async, on_closed);
    }
}

static int smtp_submit(void *self, struct bp_send_job *job, bp_send_done_fn cb, void *arg)
{
    struct bp_smtp *s = self;
    if (s->closing)
        return BP_ECLOSED;
    struct smtp_job *j = bp_xcalloc(1, sizeof *j);
    j->job = job;
    j->cb = cb;
    j->arg = arg;
    s->jobs++;
    uv_mutex_lock(&s->mu);
    bp__smtp_list_push(&s->q, j);
    uv_cond_signal(&s->cv);
    uv_mutex_unlock(&s->mu);
    return 0;
}

static unsigned smtp_in_flight(void *self)
{
    return ((struct bp_smtp *)self)->jobs;
}

static void smtp_close(void *self, void (*cb)(void *arg), void *arg)
{
    struct bp_smtp *s = self;
    struct smtp_job *j;
    if (s->closing)
        return;
    s->close_cb = cb;
    s->close_arg = arg;
    uv_mutex_lock(&s->mu);
    s->closing = true;
    while ((j = bp__smtp_list_pop(&s->q)) != NULL) {
        memset(&j->res, 0, sizeof j->res);
        j->res.cls = BP_SEND_TRANSIENT;
        snprintf(j->res.error_code, sizeof j->res.error_code, "canceled");
        snprintf(j->res.error_detail, sizeof j->res.error_detail, "sender closed");
        bp__smtp_list_push(&s->done, j);
    }
    uv_cond_broadcast(&s->cv);
    uv_mutex_unlock(&s->mu);
    uv_async_send(&s->async);
}

static void global_init(void)
{
    auth_client_init();
}

static char *dup_or_null(const char *v)
{
    return v && *v ? bp_xstrdup(v) : NULL;
}

static int check_opts(const struct bp_smtp_opts *o, struct bp_errbuf *eb)
{
    if (!o->host || !*o->host || !o->port || o->port > 65535) {
        bp_errbuf_set(eb, "smtp", "host and port are required");
        return BP_ECONFIG;
    }
    if (!o->from_address || !strchr(o->from_address, '@')) {
        bp_errbuf_set(eb, "smtp", "from_address must be an e-mail address");
        return BP_ECONFIG;
    }
    if (o->workers < 1 || o->workers > 16 || o->timeout_ms < 1000) {
        bp_errbuf_set(eb, "smtp", "workers must be 1..16 and timeout at least 1 s");
        return BP_EINVAL_INPUT;
    }
    return 0;
}

int bp_smtp_sender_new(uv_loop_t *loop, const struct bp_smtp_opts *o,
                       struct bp_sender *out, struct bp_errbuf *eb)
{
    static uv_once_t once = UV_ONCE_INIT;
    int rc = check_opts(o, eb);
    if (rc)
        return rc;
    uv_once(&once, global_init);
    SSL_CTX *tls = NULL;
    if (o->starttls != BP_SMTP_TLS_NO &&
        (tls = bp__smtp_tls_ctx(o->host, o->ca_file, eb)) == NULL)
        return BP_ECONFIG;
    struct bp_smtp *s = bp_xcalloc(1, sizeof *s);
    s->tls = tls;
    s->loop = loop;
    size_t n = strlen(o->host) + 16;
    s->server = bp_xmalloc(n);
    snprintf(s->server, n, strchr(o->host, ':') ? "[%s]:%u" : "%s:%u", o->host, o->port);
    s->username = dup_or_null(o->username);
    s->password = bp_xstrdup(o->password ? o->password : "");
    s->from_address = bp_xstrdup(o->from_address);
    s->from_name = dup_or_null(o->from_name);
    s->starttls = o->starttls;
    s->timeout_ms = (long)o->timeout_ms;
    s->batch_max = o->batch_max ? o->batch_max : 100;
    uv_mutex_init(&s->mu);
    uv_cond_init(&s->cv);
    uv_async_init(loop, &s->async, on_async);
    s->threads = bp_xcalloc(o->workers, sizeof *s->threads);
    s->workers_left = o->workers;
    for (unsigned i = 0; i < o->workers; i++) {
        if (uv_thread_create(&s->threads[i], bp__smtp_worker_main, s) != 0) {
            bp_log_error("smtp", "thread_failed", "started=%u", i);
            abort();
        }
        s->nthreads++;
    }
    out->self = s;
    out->submit = smtp_submit;
    out->in_flight = smtp_in_flight;
    out->close = smtp_close;
    return 0;
}
