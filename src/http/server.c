/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The HTTP server object: listener, accept with the connection cap, drain
 * (graceful stop on SIGTERM) and close.
 *
 * Life cycle:
 *   new -> route... -> listen -> [drain] -> close
 * close() closes the listener, the drain timer and every connection; the
 * close callback runs once all those libuv handles are closed.  The struct
 * itself lives on while a handler still holds an orphaned request (its
 * connection struct points back here) and is freed by the last one
 * (bp__http_server_maybe_free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

int bp_http_server_new(uv_loop_t *loop, const struct bp_http_limits *lim,
                       struct bp_http_server **out)
{
    struct bp_http_server *s = bp_xcalloc(1, sizeof *s);
    int rc;

    s->loop = loop;
    s->lim = *lim;
    if (s->lim.max_connections == 0)
        s->lim.max_connections = 1;
    rc = uv_tcp_init(loop, &s->listener);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->listener_open = true;
    rc = uv_timer_init(loop, &s->drain_timer);
    if (rc < 0) {
        /* cannot happen on Linux; the listener is closed by the caller's
         * bp_http_server_close path otherwise, so keep it simple */
        abort();
    }
    s->drain_timer_open = true;
    /* http_parser's own header limit is process-wide; keep it above ours
     * so that our count decides (431), with its check as a backstop. */
    http_parser_set_max_header_size((uint32_t)(lim->max_header_bytes + 8192));
    *out = s;
    return 0;
}

static void on_accept(uv_stream_t *ls, int status)
{
    struct bp_http_server *s = BP_CONTAINER_OF(ls, struct bp_http_server,
                                               listener);
    struct bp__http_conn *c;

    if (status < 0) {
        bp_log_warn("http", "accept_failed", "err=%s", uv_err_name(status));
        return;
    }
    c = bp_xcalloc(1, sizeof *c);
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->handles_open = 2;
    s->handles_open += 2;
    s->nstructs++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0 || s->draining ||
        s->nconns >= s->lim.max_connections) {
        if (s->nconns >= s->lim.max_connections)
            s->rejected++;
        c->failed = true;
        bp__http_conn_close(c);
        return;
    }
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    c->listed = true;
    s->nconns++;
    bp__http_conn_start(c);
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hlen;
    long port;
    char *end;

    if (colon == NULL)
        return UV_EINVAL;
    hlen = (size_t)(colon - addr);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof host)
        return UV_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535 || end == colon + 1)
        return UV_EINVAL;
    if (strchr(host, ':') != NULL)
        return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss);
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss);
}

int bp_http_listen(struct bp_http_server *s, const char *addr,
                   struct bp_errbuf *eb)
{
    struct sockaddr_storage ss;
    int rc;

    memset(&ss, 0, sizeof ss);
    rc = parse_addr(addr, &ss);
    if (rc < 0) {
        bp_errbuf_set(eb, addr, "bad listen address (want HOST:PORT)");
        return rc;
    }
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 511, on_accept);
    if (rc < 0) {
        bp_errbuf_set(eb, addr, "cannot listen: %s", uv_strerror(rc));
        return rc;
    }
    uv_tcp_nodelay(&s->listener, 1);
    s->listening = true;
    return bp_http_bound_addr(s, s->addr, sizeof s->addr);
}

int bp_http_bound_addr(struct bp_http_server *s, char *out, size_t n)
{
    struct sockaddr_storage ss;
    int len = sizeof ss, rc;
    char host[INET6_ADDRSTRLEN];

    rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
    if (rc < 0)
        return rc;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, host, sizeof host);
        s->port = ntohs(a->sin6_port);
        snprintf(out, n, "[%s]:%d", host, s->port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a, host, sizeof host);
        s->port = ntohs(a->sin_port);
        snprintf(out, n, "%s:%d", host, s->port);
    }
    return 0;
}

int bp_http_bound_port(struct bp_http_server *s)
{
    return s->listening ? s->port : 0;
}

unsigned bp_http_server_conns(const struct bp_http_server *s)
{
    return s->nconns;
}

unsigned bp_http_server_pending(const struct bp_http_server *s)
{
    return s->pending;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct bp_http_server *s = BP_CONTAINER_OF(h, struct bp_http_server,
                                               listener);
    s->listener_open = false;
    bp__http_server_maybe_free(s);
}

static void on_drain_timer_closed(uv_handle_t *h)
{
    struct bp_http_server *s = BP_CONTAINER_OF(h, struct bp_http_server,
                                               drain_timer);
    s->drain_timer_open = false;
    bp__http_server_maybe_free(s);
}

static void stop_listening(struct bp_http_server *s)
{
    if (s->listener_open && !uv_is_closing((uv_handle_t *)&s->listener))
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    s->listening = false;
}

static void drain_done(struct bp_http_server *s)
{
    void (*cb)(void *) = s->drain_cb;

    if (cb == NULL)
        return;
    s->drain_cb = NULL;
    uv_timer_stop(&s->drain_timer);
    cb(s->drain_arg);
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct bp_http_server *s = BP_CONTAINER_OF(t, struct bp_http_server,
                                               drain_timer);
    if (s->nconns > 0)
        bp_log_notice("http", "drain_timeout", "conns=%u pending=%u",
                      s->nconns, s->pending);
    drain_done(s);
}

void bp__http_server_check_drained(struct bp_http_server *s)
{
    if (s->draining && s->nconns == 0 && s->drain_cb != NULL)
        uv_timer_start(&s->drain_timer, on_drain_timeout, 0, 0);
}

void bp_http_server_drain(struct bp_http_server *s, uint64_t timeout_ms,
                          void (*cb)(void *arg), void *arg)
{
    struct bp__http_conn *c, *next;

    s->draining = true;
    s->drain_cb = cb;
    s->drain_arg = arg;
    stop_listening(s);
    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        c->drain = true;
        if (c->qhead == NULL)
            bp__http_conn_close(c);     /* idle: nothing in flight */
    }
    /* Runs the callback from the timer even when nothing is left, so it
     * never fires inside this call (STYLE.md C5.2). */
    uv_timer_start(&s->drain_timer, on_drain_timeout,
                   s->nconns == 0 ? 0 : timeout_ms, 0);
}

void bp__http_server_conn_gone(struct bp_http_server *s)
{
    s->nconns--;
    bp__http_server_check_drained(s);
}

void bp__http_server_maybe_free(struct bp_http_server *s)
{
    void (*cb)(void *);

    if (!s->closed || s->listener_open || s->drain_timer_open ||
        s->handles_open > 0 || s->in_close_cb)
        return;
    cb = s->close_cb;
    if (cb != NULL) {
        /* The callback may answer orphaned requests, which comes back
         * here; the flag keeps that nested call from freeing s. */
        s->close_cb = NULL;
        s->in_close_cb = true;
        cb(s->close_arg);
        s->in_close_cb = false;
    }
    if (s->nstructs > 0)
        return;                 /* orphaned requests still held */
    bp__http_routes_free(s);
    free(s);
}

void bp_http_server_close(struct bp_http_server *s, void (*cb)(void *arg),
                          void *arg)
{
    struct bp__http_conn *c, *next;

    s->closed = true;
    s->close_cb = cb;
    s->close_arg = arg;
    s->drain_cb = NULL;
    stop_listening(s);
    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        bp__http_conn_close(c);
    }
    if (s->drain_timer_open && !uv_is_closing((uv_handle_t *)&s->drain_timer))
        uv_close((uv_handle_t *)&s->drain_timer, on_drain_timer_closed);
}
