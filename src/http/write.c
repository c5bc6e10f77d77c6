/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The response side of a connection.  Responses are serialised into their
 * request's out buffer as soon as the handler answers, but go on the wire
 * strictly in request order: flush() takes the run of ready responses at
 * the head of the queue (up to 16), tries uv_try_write on all of them at
 * once, and hands whatever is left to one uv_write.  The buffers belong to
 * the requests, which stay queued until write_cb (STYLE.md C4.3).
 *
 * A response marked close_after (errors, Connection: close, HTTP/1.0
 * without keep-alive, draining server) ends the connection: we shut down
 * our side, keep reading and discarding for up to BP__HTTP_LINGER_MS so the
 * client is not hit by a reset before it reads the response, then close.
 */
#include <string.h>

#include "http_int.h"

#define FLUSH_MAX 16

static void on_write(uv_write_t *w, int status);

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    struct bp__http_conn *c = BP_CONTAINER_OF(sr, struct bp__http_conn, sreq);

    if (status < 0 && !c->closing)
        bp__http_conn_close(c);
}

static void on_linger_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct bp__http_conn *c = BP_CONTAINER_OF(st, struct bp__http_conn, tcp);

    (void)b;
    if (nread < 0 && !c->closing)
        bp__http_conn_close(c);
}

static void on_linger_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct bp__http_conn *c = BP_CONTAINER_OF(h, struct bp__http_conn, tcp);

    (void)suggested;
    if (c->rbuf == NULL)
        c->rbuf = bp_xmalloc(BP__HTTP_RBUF);
    buf->base = c->rbuf;
    buf->len = BP__HTTP_RBUF;
}

static void on_linger_timer(uv_timer_t *t)
{
    struct bp__http_conn *c = BP_CONTAINER_OF(t, struct bp__http_conn, timer);

    if (!c->closing)
        bp__http_conn_close(c);
}

/* Last response written: half-close and linger. */
static void finish(struct bp__http_conn *c)
{
    c->shut = true;
    c->failed = true;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        bp__http_conn_close(c);
        return;
    }
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    uv_read_start((uv_stream_t *)&c->tcp, on_linger_alloc, on_linger_read);
    c->reading = true;
    uv_timer_start(&c->timer, on_linger_timer, BP__HTTP_LINGER_MS, 0);
}

/* Removes the head request (written).  Returns true if it asked for the
 * connection to end. */
static bool pop(struct bp__http_conn *c)
{
    struct bp_http_req *r = c->qhead;
    bool close_after = r->close_after;

    c->qhead = r->next;
    if (c->qhead == NULL)
        c->qtail = NULL;
    c->nqueued--;
    bp__http_req_put(c, r);
    return close_after;
}

static void after_queue_change(struct bp__http_conn *c)
{
    if (c->qhead == NULL && c->drain) {
        bp__http_conn_close(c);
        return;
    }
    bp__http_conn_arm_timer(c);
    bp__http_conn_resume(c);
}

void bp__http_flush(struct bp__http_conn *c)
{
    uv_buf_t bufs[FLUSH_MAX];
    struct bp_http_req *r;
    unsigned n, popped;
    size_t left;
    int w;

again:
    if (c->in_parse || c->writing || c->closing || c->shut)
        return;
    n = 0;
    for (r = c->qhead; r != NULL && r->state == BP__REQ_READY && n < FLUSH_MAX;
         r = r->next) {
        bufs[n++] = uv_buf_init(r->out.data, (unsigned)r->out.len);
        if (r->close_after)
            break;
    }
    if (n == 0) {
        after_queue_change(c);
        return;
    }
    w = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
    if (w < 0 && w != UV_EAGAIN) {
        bp__http_conn_close(c);
        return;
    }
    left = w < 0 ? 0 : (size_t)w;
    for (popped = 0; popped < n && left >= c->qhead->out.len; popped++) {
        left -= c->qhead->out.len;
        if (pop(c)) {
            finish(c);
            return;
        }
    }
    if (popped == n)
        goto again;
    /* Partial: the rest goes through uv_write; buffers stay with their
     * requests until on_write. */
    bufs[popped].base += left;
    bufs[popped].len -= (unsigned)left;
    r = c->qhead;
    for (unsigned i = popped; i < n; i++, r = r->next)
        r->state = BP__REQ_WRITING;
    c->nwriting = n - popped;
    c->writing = true;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs + popped, n - popped,
                 on_write) < 0) {
        c->writing = false;
        bp__http_conn_close(c);
    }
}

static void on_write(uv_write_t *w, int status)
{
    struct bp__http_conn *c = BP_CONTAINER_OF(w, struct bp__http_conn, wreq);
    unsigned n = c->nwriting;

    c->writing = false;
    c->nwriting = 0;
    if (c->closing)
        return;                         /* requests already released */
    if (status < 0) {
        bp__http_conn_close(c);
        return;
    }
    while (n-- > 0) {
        if (pop(c)) {
            finish(c);
            return;
        }
    }
    bp__http_flush(c);
}

static const char *error_text(int status, size_t *len)
{
    const char *t;

    switch (status) {
    case 400: t = "bad request\n"; break;
    case 404: t = "not found\n"; break;
    case 405: t = "method not allowed\n"; break;
    case 408: t = "request timeout\n"; break;
    case 413: t = "request body too large\n"; break;
    case 417: t = "expectation failed\n"; break;
    case 431: t = "request header fields too large\n"; break;
    case 505: t = "HTTP version not supported\n"; break;
    default: t = "error\n"; break;
    }
    *len = strlen(t);
    return t;
}

void bp__http_fail(struct bp__http_conn *c, struct bp_http_req *r, int status)
{
    const char *text;
    size_t len;

    if (c->closing)
        return;
    c->failed = true;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (r == NULL) {
        r = bp__http_req_get(c);
        if (c->qtail != NULL)
            c->qtail->next = r;
        else
            c->qhead = r;
        c->qtail = r;
        c->nqueued++;
    }
    if (r == c->cur)
        c->cur = NULL;
    r->close_after = true;
    r->head_only = false;
    text = error_text(status, &len);
    bp__http_serialise(r, status, "text/plain", text, len);
    bp__http_flush(c);
}
