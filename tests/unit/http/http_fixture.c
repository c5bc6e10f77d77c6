/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Server-in-a-thread fixture and blocking loopback client for the HTTP unit
 * tests (see http_fixture.h).  Routes:
 *   GET  /hello            200 "hello"
 *   POST /echo             200, body = request body; X-Query = query,
 *                          X-Test = the request's X-Test header
 *   GET  /late             200 "late" from a 10 ms timer
 *   GET  /hold             answered only when the test says so
 *   POST /webhooks/sms/x   200, body = path (prefix route)
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http_fixture.h"

static void h_hello(struct bp_http_req *req, void *arg)
{
    bp_http_respond(req, 200, "text/plain", "hello", 5);
}

static void h_echo(struct bp_http_req *req, void *arg)
{
    size_t len;
    const char *body = bp_http_req_body(req, &len);
    const char *t = bp_http_req_header(req, "x-TEST");

    if (bp_http_add_header(req, "X-Query", bp_http_req_query(req)) < 0 ||
        bp_http_add_header(req, "X-Test", t ? t : "-") < 0 ||
        bp_http_add_header(req, "X-Bad", "a\r\nb") == 0) {
        bp_http_respond(req, 500, NULL, NULL, 0);
        return;
    }
    bp_http_respond(req, 200, "application/octet-stream", body, len);
}

struct late {
    uv_timer_t t;
    struct bp_http_req *req;
};

static void on_late_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_late(uv_timer_t *t)
{
    struct late *l = t->data;
    bp_http_respond(l->req, 200, "text/plain", "late", 4);
    uv_close((uv_handle_t *)t, on_late_closed);
}

static void h_late(struct bp_http_req *req, void *arg)
{
    struct fx *f = arg;
    struct late *l = calloc(1, sizeof *l);
    l->req = req;
    l->t.data = l;
    uv_timer_init(&f->loop, &l->t);
    uv_timer_start(&l->t, on_late, 10, 0);
}

static void h_hold(struct bp_http_req *req, void *arg)
{
    struct fx *f = arg;
    f->held = req;
    uv_sem_post(&f->held_sem);
}

static void h_sms(struct bp_http_req *req, void *arg)
{
    const char *p = bp_http_req_path(req);
    bp_http_respond(req, 200, "text/plain", p, strlen(p));
}

static void on_poll_closed(uv_handle_t *h)
{
}

static void on_poll(uv_timer_t *t)
{
    struct fx *f = t->data;

    if (f->held == NULL || !bp_http_req_orphaned(f->held))
        return;                          /* polls again in 1 ms */
    bp_http_respond(f->held, 200, "text/plain", "too late", 8);
    f->held = NULL;
    uv_timer_stop(t);
    uv_sem_post(&f->sem);
}

static void on_server_closed(void *arg)
{
    struct fx *f = arg;
    /* A handler that still held a request answers now: the response is
     * dropped and the server memory released. */
    if (f->held != NULL) {
        bp_http_respond(f->held, 200, "text/plain", "bye", 3);
        f->held = NULL;
    }
}

static void on_drained(void *arg)
{
    struct fx *f = arg;
    f->drained++;
    uv_sem_post(&f->drained_sem);
}

static void on_async(uv_async_t *a)
{
    struct fx *f = a->data;
    int cmd = atomic_exchange(&f->cmd, 0);
    struct bp_buf b;

    switch (cmd) {
    case FX_CMD_METRICS:
        bp_buf_init(&b, sizeof f->metrics - 1);
        if (bp_http_metrics_write(f->srv, &b) == 0)
            memcpy(f->metrics, b.data, b.len + 1);
        else
            strcpy(f->metrics, "(too big)");
        bp_buf_free(&b);
        uv_sem_post(&f->sem);
        break;
    case FX_CMD_RESPOND_WHEN_ORPHAN:
        uv_timer_start(&f->poll, on_poll, 1, 1);
        break;
    case FX_CMD_RESPOND_HELD:
        bp_http_respond(f->held, 200, "text/plain", "held", 4);
        f->held = NULL;
        uv_sem_post(&f->sem);
        break;
    case FX_CMD_DRAIN:
        bp_http_server_drain(f->srv, 5000, on_drained, f);
        uv_sem_post(&f->sem);
        break;
    case FX_CMD_STOP:
        bp_http_server_close(f->srv, on_server_closed, f);
        uv_close((uv_handle_t *)&f->async, NULL);
        uv_close((uv_handle_t *)&f->poll, on_poll_closed);
        break;
    default:
        break;
    }
}

static void server_thread(void *arg)
{
    struct fx *f = arg;

    uv_run(&f->loop, UV_RUN_DEFAULT);
    f->loop_close_rc = uv_loop_close(&f->loop);
}

void fx_default_limits(struct bp_http_limits *lim)
{
    lim->max_header_bytes = 4096;
    lim->max_body_bytes = 1024;
    lim->header_timeout_ms = 5000;
    lim->request_timeout_ms = 5000;
    lim->idle_timeout_ms = 5000;
    lim->max_connections = 64;
}

int fx_start(struct fx *f, const struct bp_http_limits *lim)
{
    memset(f, 0, sizeof *f);
    f->lim = *lim;
    if (uv_loop_init(&f->loop) < 0 || uv_sem_init(&f->sem, 0) < 0 ||
        uv_sem_init(&f->held_sem, 0) < 0 || uv_sem_init(&f->drained_sem, 0) < 0)
        return -1;
    uv_async_init(&f->loop, &f->async, on_async);
    f->async.data = f;
    uv_timer_init(&f->loop, &f->poll);
    f->poll.data = f;
    if (bp_http_server_new(&f->loop, lim, &f->srv) < 0)
        return -1;
    if (bp_http_route(f->srv, "hello", BP_HTTP_GET, "/hello", h_hello, f) < 0 ||
        bp_http_route(f->srv, "echo", BP_HTTP_POST, "/echo", h_echo, f) < 0 ||
        bp_http_route(f->srv, "late", BP_HTTP_GET, "/late", h_late, f) < 0 ||
        bp_http_route(f->srv, "hold", BP_HTTP_GET, "/hold", h_hold, f) < 0 ||
        bp_http_route(f->srv, "sms", BP_HTTP_POST, "/webhooks/sms/*", h_sms,
                      f) < 0)
        return -1;
    if (bp_http_listen(f->srv, "127.0.0.1:0", NULL) < 0)
        return -1;
    f->port = bp_http_bound_port(f->srv);
    if (f->port <= 0)
        return -1;
    return uv_thread_create(&f->thread, server_thread, f);
}

void fx_cmd(struct fx *f, int cmd)
{
    atomic_store(&f->cmd, cmd);
    uv_async_send(&f->async);
    if (cmd != FX_CMD_STOP)
        uv_sem_wait(&f->sem);
}

int fx_stop(struct fx *f)
{
    fx_cmd(f, FX_CMD_STOP);
    uv_thread_join(&f->thread);
    uv_sem_destroy(&f->sem);
    uv_sem_destroy(&f->held_sem);
    uv_sem_destroy(&f->drained_sem);
    return f->loop_close_rc;
}

/* ---- client -------------------------------------------------------- */

int cli_connect(struct client *c, int port)
{
    struct sockaddr_in a;
    struct timeval tv = {5, 0};
    int one = 1;

    c->len = 0;
    c->no_body = false;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(c->fd, (struct sockaddr *)&a, sizeof a);
}

int cli_send(struct client *c, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int cli_sends(struct client *c, const char *s)
{
    return cli_send(c, s, strlen(s));
}

static int fill(struct client *c)
{
    ssize_t n;
    if (c->len >= sizeof c->buf)
        return -1;
    n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    return 0;
}

const char *resp_header(const struct resp *r, const char *name)
{
    static char val[1024];
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");

    while (p != NULL && p[2] != '\0') {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(val, sizeof val, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
            return val;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

int cli_read(struct client *c, struct resp *r)
{
    char *end;
    size_t hlen, blen = 0;
    const char *cl;

    memset(r, 0, sizeof *r);
    for (;;) {
        c->buf[c->len < sizeof c->buf ? c->len : sizeof c->buf - 1] = '\0';
        end = c->len > 0 ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end != NULL)
            break;
        if (fill(c) < 0)
            return -1;
    }
    hlen = (size_t)(end - c->buf) + 4;
    if (hlen >= sizeof r->head)
        return -1;
    memcpy(r->head, c->buf, hlen);
    r->head[hlen] = '\0';
    if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
        return -1;
    cl = resp_header(r, "Content-Length");
    if (cl != NULL && r->status >= 200 && !c->no_body)
        blen = (size_t)strtoul(cl, NULL, 10);
    if (blen >= sizeof r->body)
        return -1;
    while (c->len < hlen + blen)
        if (fill(c) < 0)
            return -1;
    memcpy(r->body, c->buf + hlen, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    c->no_body = false;
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    return 0;
}

bool cli_eof(struct client *c)
{
    char b[256];
    ssize_t n;

    if (c->len > 0)
        return false;
    n = recv(c->fd, b, sizeof b, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

void cli_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
