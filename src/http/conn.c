/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * One HTTP connection: reading, parsing (http_parser callbacks), the
 * per-connection timer and closing.
 *
 * Requests are queued on the connection in arrival order (pipelining); a
 * request joins the queue at its first byte and leaves it once its response
 * is written (write.c).  Handlers run at message completion.  When
 * BP__HTTP_PIPELINE_MAX requests are queued, the parser is paused and reads
 * stop; the unparsed bytes stay in the connection's read buffer until the
 * queue drains.
 *
 * Timer (one per connection, re-armed only when the phase changes, so a
 * client dripping bytes cannot extend its deadline):
 *   accept / first byte of a request  -> head deadline   (408 on expiry)
 *   head complete with a body to come -> request deadline (408), counted
 *                                        from the request's first byte
 *   waiting for handlers              -> none
 *   queue empty                       -> idle deadline   (silent close)
 * An EOF or read error closes the connection at once: requests still held
 * by handlers become orphans (their responses are dropped).
 */
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

static int on_message_begin(http_parser *p);
static int on_url(http_parser *p, const char *at, size_t len);
static int on_header_field(http_parser *p, const char *at, size_t len);
static int on_header_value(http_parser *p, const char *at, size_t len);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t len);
static int on_message_complete(http_parser *p);

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void on_timer(uv_timer_t *t);

static void set_deadline(struct bp__http_conn *c, uint64_t deadline,
                         bool is_408)
{
    uint64_t now = uv_now(c->srv->loop);

    c->deadline_ms = deadline;
    c->deadline_is_408 = is_408;
    if (deadline == 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer,
                       deadline > now ? deadline - now : 0, 0);
}

void bp__http_conn_arm_timer(struct bp__http_conn *c)
{
    if (c->closing || c->shut || c->cur != NULL)
        return;                         /* a partial request keeps its own */
    if (c->qhead == NULL)
        set_deadline(c, uv_now(c->srv->loop) + c->srv->lim.idle_timeout_ms,
                     false);
    else
        set_deadline(c, 0, false);      /* waiting for handlers */
}

static void on_timer(uv_timer_t *t)
{
    struct bp__http_conn *c = BP_CONTAINER_OF(t, struct bp__http_conn, timer);

    if (c->closing)
        return;
    if (c->shut || !c->deadline_is_408) {
        bp__http_conn_close(c);         /* idle or lingering: silent */
        return;
    }
    if (c->failed) {
        bp__http_conn_close(c);
        return;
    }
    bp_log_debug("http", "timeout", "peer=%s", c->peer);
    bp__http_fail(c, c->cur, 408);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct bp__http_conn *c = BP_CONTAINER_OF(h, struct bp__http_conn, tcp);

    (void)suggested;
    if (c->rbuf == NULL)
        c->rbuf = bp_xmalloc(BP__HTTP_RBUF);
    buf->base = c->rbuf;
    buf->len = BP__HTTP_RBUF;
}

static int error_status(struct bp__http_conn *c, enum http_errno e)
{
    if (c->err_status != 0)
        return c->err_status;
    if (e == HPE_HEADER_OVERFLOW)
        return 431;
    return 400;
}

/* Runs the parser over data (inside c->rbuf).  Handles pause (pipeline
 * full), errors and the end of the connection's last request. */
static void parse(struct bp__http_conn *c, const char *data, size_t len)
{
    size_t n;
    enum http_errno e;

    c->in_parse = true;
    n = http_parser_execute(&c->parser, &settings, data, len);
    c->in_parse = false;
    if (c->closing)
        return;
    e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->failed) {
        /* last request seen (error, Connection: close, upgrade) */
    } else if (e == HPE_PAUSED) {
        c->paused = true;
        c->rpos = (size_t)(data - c->rbuf) + n;
        c->rlen = (size_t)(data - c->rbuf) + len;
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
    } else if (e != HPE_OK) {
        bp_log_debug("http", "bad_request", "peer=%s err=%s", c->peer,
                     http_errno_name(e));
        bp__http_fail(c, c->cur, error_status(c, e));
    } else if (c->parser.upgrade) {
        /* Upgrade/CONNECT: not supported.  The request was answered (or
         * will be) normally; nothing after it is read. */
        c->failed = true;
        if (c->qtail != NULL)
            c->qtail->close_after = true;
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
    }
    bp__http_flush(c);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct bp__http_conn *c = BP_CONTAINER_OF(st, struct bp__http_conn, tcp);

    (void)buf;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        bp__http_conn_close(c);
        return;
    }
    if (c->shut || c->failed)
        return;                         /* lingering: discard */
    parse(c, c->rbuf, (size_t)nread);
}

void bp__http_conn_resume(struct bp__http_conn *c)
{
    if (c->closing || !c->paused || c->nqueued >= BP__HTTP_PIPELINE_MAX / 2)
        return;
    c->paused = false;
    http_parser_pause(&c->parser, 0);
    if (!c->failed && !c->shut) {
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        c->reading = true;
    }
    if (c->rlen > c->rpos) {
        size_t pos = c->rpos, len = c->rlen;
        c->rpos = c->rlen = 0;
        parse(c, c->rbuf + pos, len - pos);
    }
}

void bp__http_conn_start(struct bp__http_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;

    c->peer[0] = '\0';
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        char host[INET6_ADDRSTRLEN] = "";
        int port = 0;
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof host);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof host);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
        snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
        bp__http_conn_close(c);
        return;
    }
    c->reading = true;
    set_deadline(c, uv_now(c->srv->loop) + c->srv->lim.header_timeout_ms,
                 true);
}

/* ---- closing ------------------------------------------------------- */

void bp__http_conn_maybe_free(struct bp__http_conn *c)
{
    struct bp_http_server *s = c->srv;
    struct bp_http_req *r, *next;

    if (c->handles_open > 0 || c->refs > 0)
        return;
    for (r = c->free_reqs; r != NULL; r = next) {
        next = r->next;
        bp__http_req_free(r);
    }
    free(c->rbuf);
    free(c);
    s->nstructs--;
    bp__http_server_maybe_free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct bp__http_conn *c = h->data;

    c->handles_open--;
    c->srv->handles_open--;
    if (c->handles_open > 0)
        return;
    if (c->refs > 0)
        bp__http_server_maybe_free(c->srv);  /* struct kept for orphans */
    else
        bp__http_conn_maybe_free(c);
}

void bp__http_conn_close(struct bp__http_conn *c)
{
    struct bp_http_server *s = c->srv;
    struct bp_http_req *r, *next;

    if (c->closing)
        return;
    c->closing = true;
    for (r = c->qhead; r != NULL; r = next) {
        next = r->next;
        r->next = NULL;
        if (r->state == BP__REQ_HANDLER)
            r->orphan = true;           /* the handler still owns it */
        else
            bp__http_req_free(r);
    }
    c->qhead = c->qtail = c->cur = NULL;
    c->nqueued = 0;
    c->tcp.data = c;
    c->timer.data = c;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    if (c->listed) {
        c->listed = false;
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
        bp__http_server_conn_gone(s);
    }
}

/* ---- parser callbacks --------------------------------------------- */

static int on_message_begin(http_parser *p)
{
    struct bp__http_conn *c = p->data;
    struct bp_http_req *r;

    if (c->closing || c->failed)
        return -1;
    r = bp__http_req_get(c);
    if (c->qtail != NULL)
        c->qtail->next = r;
    else
        c->qhead = r;
    c->qtail = r;
    c->nqueued++;
    c->cur = r;
    r->started_ms = uv_now(c->srv->loop);
    if (c->deadline_ms == 0 || !c->deadline_is_408)
        set_deadline(c, r->started_ms + c->srv->lim.header_timeout_ms, true);
    return 0;
}

static int head_append(struct bp__http_conn *c, struct bp_http_req *r,
                       const char *at, size_t len)
{
    if (bp_buf_append(&r->head, at, len) < 0 ||
        r->head.len + 4 * r->nhdrs > c->srv->lim.max_header_bytes) {
        c->err_status = 431;
        return -1;
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct bp__http_conn *c = p->data;
    struct bp_http_req *r = c->cur;

    if (memchr(at, '\0', len) != NULL)
        return -1;
    if (head_append(c, r, at, len) < 0)
        return -1;
    r->url_len = (uint32_t)r->head.len;
    return 0;
}

/* RFC 9110 tchar: Debian builds http_parser non-strict, which lets spaces
 * and other separators into header names; we refuse them. */
static bool is_token(const char *at, size_t len)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";

    for (size_t i = 0; i < len; i++) {
        char ch = at[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') ||
              (ch != '\0' && memchr(extra, ch, sizeof extra - 1) != NULL)))
            return false;
    }
    return true;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct bp__http_conn *c = p->data;
    struct bp_http_req *r = c->cur;

    if (!is_token(at, len))
        return -1;

    if (r->nhdrs == 0 || r->last_was_value) {
        if (r->nhdrs == BP_HTTP_MAX_HEADERS) {
            c->err_status = 431;
            return -1;
        }
        if (head_append(c, r, "", 1) < 0)     /* ends the URL or a value */
            return -1;
        r->hdrs[r->nhdrs].name_off = (uint32_t)r->head.len;
        r->hdrs[r->nhdrs].val_off = 0;
        r->nhdrs++;
        r->last_was_value = false;
    }
    return head_append(c, r, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct bp__http_conn *c = p->data;
    struct bp_http_req *r = c->cur;

    if (memchr(at, '\0', len) != NULL)
        return -1;
    if (!r->last_was_value) {
        if (head_append(c, r, "", 1) < 0)     /* ends the name */
            return -1;
        r->hdrs[r->nhdrs - 1].val_off = (uint32_t)r->head.len;
        r->last_was_value = true;
    }
    return head_append(c, r, at, len);
}

/* Ends the head: terminates the last string, trims header values, splits
 * the URL into path and query.  Returns 0 or -1 (400). */
static int finish_head(struct bp__http_conn *c, struct bp_http_req *r)
{
    char *url, *q;

    if (head_append(c, r, "", 1) < 0)
        return -1;
    for (unsigned i = 0; i < r->nhdrs; i++) {
        struct bp__http_hdr *h = &r->hdrs[i];
        char *v;
        size_t l;
        if (h->val_off == 0)
            h->val_off = h->name_off + (uint32_t)strlen(r->head.data +
                                                        h->name_off);
        v = r->head.data + h->val_off;
        l = strlen(v);
        while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t'))
            v[--l] = '\0';
    }
    if (r->url_len == 0)
        return -1;
    url = r->head.data;
    r->query_off = r->url_len;          /* the URL's NUL: "" */
    if (url[0] == '/') {
        r->path_off = 0;
    } else {
        struct http_parser_url u;
        http_parser_url_init(&u);
        if (http_parser_parse_url(url, r->url_len, 0, &u) != 0 ||
            !(u.field_set & (1u << UF_PATH)))
            return -1;
        r->path_off = u.field_data[UF_PATH].off;
    }
    q = strpbrk(url + r->path_off, "?#");
    if (q != NULL) {
        bool has_query = *q == '?';
        *q = '\0';
        if (has_query) {
            r->query_off = (uint32_t)(q + 1 - url);
            q = strchr(q + 1, '#');
            if (q != NULL)
                *q = '\0';
        }
    }
    return 0;
}

static void send_continue(struct bp__http_conn *c, struct bp_http_req *r)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)msg, sizeof msg - 1);

    /* Only when nothing is before it on the wire; otherwise the client's
     * own expect timeout makes it send the body anyway. */
    if (r == c->qhead && !c->writing && r->http_minor >= 1)
        (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
}

static int on_headers_complete(http_parser *p)
{
    struct bp__http_conn *c = p->data;
    struct bp_http_req *r = c->cur;
    struct bp_http_server *s = c->srv;
    const char *expect;

    if (finish_head(c, r) < 0)
        return -1;
    if (p->http_major != 1) {
        c->err_status = 505;
        return -1;
    }
    r->method = p->method;
    r->http_major = p->http_major;
    r->http_minor = p->http_minor;
    r->head_only = p->method == HTTP_HEAD;
    r->route = bp__http_route_find(s, r->head.data + r->path_off,
                                   bp__http_method_bit(p->method), &r->allow);
    if ((p->flags & F_CONTENTLENGTH) &&
        p->content_length > s->lim.max_body_bytes) {
        c->err_status = 413;
        return -1;
    }
    expect = bp_http_req_header(r, "expect");
    if (expect != NULL) {
        if (!bp_str_case_eq(expect, "100-continue")) {
            c->err_status = 417;
            return -1;
        }
        if (r->route == NULL) {
            c->err_status = r->allow != 0 ? 405 : 404;
            return -1;
        }
        send_continue(c, r);
    }
    if ((p->flags & F_CHUNKED) || p->content_length > 0)
        set_deadline(c, r->started_ms + s->lim.request_timeout_ms, true);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct bp__http_conn *c = p->data;
    struct bp_http_req *r = c->cur;

    if (bp_buf_append(&r->body, at, len) < 0) {
        c->err_status = 413;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct bp__http_conn *c = p->data;
    struct bp_http_req *r = c->cur;
    struct bp_http_server *s = c->srv;

    c->cur = NULL;
    r->close_after = !http_should_keep_alive(p) || c->drain;
    if (r->close_after) {
        c->failed = true;               /* nothing after this one */
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
    }
    bp__http_conn_arm_timer(c);
    if (r->route == NULL) {
        if (r->allow != 0)
            bp__http_serialise(r, 405, "text/plain", "method not allowed\n", 19);
        else
            bp__http_serialise(r, 404, "text/plain", "not found\n", 10);
    } else {
        r->state = BP__REQ_HANDLER;
        c->refs++;
        s->pending++;
        r->route->fn(r, r->route->arg);  /* may respond at once */
    }
    if (c->closing)
        return -1;
    if (c->nqueued >= BP__HTTP_PIPELINE_MAX && !c->failed)
        http_parser_pause(p, 1);
    return c->failed ? -1 : 0;
}
