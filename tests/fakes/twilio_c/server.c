/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * twilio_fake_c: a C imitation of Twilio's Messages API (create) for the
 * outbound benchmark, where the Node imitation (tests/fakes/twilio) costs
 * more CPU per send than two cores can spare.  One libuv loop, HTTP/1.1 on
 * loopback with Debian's http_parser (keep-alive, pipelining; answers go
 * out in request order), the resource in messages.c, and a small control
 * API:
 *   GET    /_fake/stats    counters (requests, by_status, sends, replays,
 *                          tokens{distinct,with_send,max_requests})
 *   POST   /_fake/fail?status=429&count=3[&retry_after=1][&code=20429]
 *                          the next `count` creates (-1: all) answer that
 *   DELETE /_fake/fail     clears the forced failures
 *   GET    /_fake/health
 *
 *   twilio_fake_c --port 0 --account-sid AC<32 hex> --auth-token T
 *                 [--fail STATUS:COUNT[:RETRY_AFTER]]...
 *
 * Prints {"ready":true,"port":N,"pid":P,"base_url":...,"account_sid":...}
 * when listening; on SIGTERM/SIGINT prints the stats line and exits 0.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <http_parser.h>
#include <uv.h>

#include "fake.h"

#define MAX_BODY (64 * 1024)

struct conn {
    uv_tcp_t tcp;
    http_parser parser;
    struct fk_buf url, body, out;
    char field[48];
    size_t field_len;
    bool in_value, too_big, closing;
    int which;                   /* header being read: 0 none, 1 auth, 2 ctype, 3 token */
    struct fk_buf hv[4];
};

struct wreq {
    uv_write_t req;
    char data[];
};

static uv_loop_t *loop;
static uint64_t started_ms;
static http_parser_settings settings;
static char rbuf[64 * 1024];

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

static int codeforstatus(int status)
{
    switch (status) {
    case 401: return 20003;
    case 404: return 20404;
    case 429: return 20429;
    case 503: return 20503;
    default: return 20500;
    }
}

/* ---- control API ------------------------------------------------------- */

static long qparam(const char *q, const char *name, long dflt)
{
    size_t n = strlen(name);
    for (const char *p = q; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == '=')
            return strtol(p + n + 1, NULL, 10);
    return dflt;
}

static bool add_fault(int status, long count, int retry_after, int code)
{
    if (fk_nfaults == sizeof fk_faults / sizeof fk_faults[0] || status < 400 ||
        status > 599 || count == 0)
        return false;
    fk_faults[fk_nfaults++] = (struct fk_fault){.status = status,
        .code = code ? code : codeforstatus(status), .retry_after = retry_after,
        .remaining = count};
    return true;
}

static void control(int method, const char *path, const char *query, struct fk_resp *r)
{
    r->status = 200;
    if (method == HTTP_GET && !strcmp(path, "/_fake/stats")) {
        fk_stats_json(&r->body, uv_now(loop) - started_ms);
    } else if (method == HTTP_GET && !strcmp(path, "/_fake/health")) {
        fk_puts(&r->body, "{\"ok\":true}");
    } else if (method == HTTP_POST && !strcmp(path, "/_fake/fail")) {
        if (add_fault((int)qparam(query, "status", 500), qparam(query, "count", 1),
                      (int)qparam(query, "retry_after", -1), (int)qparam(query, "code", 0)))
            fk_printf(&r->body, "{\"scripts_pending\":%zu}", fk_nfaults);
        else {
            r->status = 400;
            fk_puts(&r->body, "{\"error\":\"status 400..599, count != 0, at most 16\"}");
        }
    } else if (method == HTTP_DELETE && !strcmp(path, "/_fake/fail")) {
        fk_nfaults = 0;
        fk_puts(&r->body, "{\"scripts_pending\":0}");
    } else {
        r->status = 404;
        fk_puts(&r->body, "{\"error\":\"no such control endpoint\"}");
    }
}

/* ---- one request --------------------------------------------------------- */

/* twilio: an answer of the Messages API (with a Twilio-Request-Id). */
static void answer(struct conn *c, struct fk_resp *r, bool keep, bool twilio)
{
    static uint64_t rq;
    fk_printf(&c->out, "HTTP/1.1 %d %s\r\n", r->status, reason(r->status));
    if (twilio)
        fk_printf(&c->out, "Twilio-Request-Id: RQ%016llx%016llx\r\n",
                  (unsigned long long)started_ms, (unsigned long long)++rq);
    fk_puts(&c->out, "Content-Type: application/json; charset=utf-8\r\n");
    if (r->headers.len)
        fk_put(&c->out, r->headers.p, r->headers.len);
    fk_printf(&c->out, "Content-Length: %zu\r\n%s\r\n", r->body.len,
              keep ? "" : "Connection: close\r\n");
    if (r->body.len)
        fk_put(&c->out, r->body.p, r->body.len);
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = p->data;
    struct fk_resp r = {0};
    bool keep = http_should_keep_alive(p) != 0, twilio = false;
    char *url = c->url.p ? c->url.p : (char *)"";
    char *q = strchr(url, '?');
    if (q)
        *q++ = '\0';
    if (c->too_big) {
        r.status = 413;
        fk_puts(&r.body, "{\"error\":\"body too large\"}");
        keep = false;
    } else if (!strncmp(url, "/_fake/", 7)) {
        control(p->method, url, q ? q : "", &r);
    } else {
        struct fk_req req = {.method = p->method, .path = url, .path_len = strlen(url),
            .auth = c->hv[1].p, .ctype = c->hv[2].p, .token = c->hv[3].p,
            .body = c->body.p, .body_len = c->body.len};
        twilio = fk_messages_handle(&req, &r) != 0;
        if (!twilio)
            fk_error(&r, 404, 20404, url);
    }
    answer(c, &r, keep, twilio);
    free(r.headers.p);
    free(r.body.p);
    c->url.len = c->body.len = 0;
    for (int i = 0; i < 4; i++) {
        free(c->hv[i].p);
        memset(&c->hv[i], 0, sizeof c->hv[i]);
    }
    c->too_big = false;
    if (!keep)
        c->closing = true;
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct conn *c = p->data;
    c->url.len = c->body.len = 0;
    c->field_len = 0;
    c->in_value = false;
    c->which = 0;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    fk_put(&((struct conn *)p->data)->url, at, n);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    if (c->in_value) {
        c->in_value = false;
        c->field_len = 0;
    }
    if (c->field_len + n < sizeof c->field) {
        memcpy(c->field + c->field_len, at, n);
        c->field_len += n;
    } else {
        c->field_len = sizeof c->field;    /* too long: none of ours */
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    if (!c->in_value) {
        static const char *const names[4] = {"", "authorization", "content-type",
                                             "i-twilio-idempotency-token"};
        c->in_value = true;
        c->which = 0;
        for (int i = 1; i < 4; i++)
            if (c->field_len == strlen(names[i]) &&
                !strncasecmp(c->field, names[i], c->field_len))
                c->which = i;
        if (c->which)
            c->hv[c->which].len = 0;
    }
    if (c->which && c->hv[c->which].len + n < 4096)
        fk_put(&c->hv[c->which], at, n);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    if (c->body.len + n > MAX_BODY)
        c->too_big = true;
    else
        fk_put(&c->body, at, n);
    return 0;
}

/* ---- connections --------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    free(c->url.p);
    free(c->body.p);
    free(c->out.p);
    for (int i = 0; i < 4; i++)
        free(c->hv[i].p);
    free(c);
}

static void conn_close(struct conn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
    struct conn *c = req->handle->data;
    free(req);
    if (status < 0 || c->closing)
        conn_close(c);
}

/* Sends c->out: uv_try_write first, the rest (if any) through a uv_write. */
static void flush(struct conn *c)
{
    size_t off = 0;
    if (c->out.len == 0) {
        if (c->closing)
            conn_close(c);
        return;
    }
    uv_buf_t b = uv_buf_init(c->out.p, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n > 0)
        off = (size_t)n;
    if (off == c->out.len) {
        c->out.len = 0;
        if (c->closing)
            conn_close(c);
        return;
    }
    struct wreq *w = malloc(sizeof *w + c->out.len - off);
    if (!w)
        abort();
    memcpy(w->data, c->out.p + off, c->out.len - off);
    b = uv_buf_init(w->data, (unsigned)(c->out.len - off));
    c->out.len = 0;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w);
        conn_close(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)h;
    (void)hint;
    *b = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct conn *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (c->closing || n == 0)
        return;
    size_t done = http_parser_execute(&c->parser, &settings, b->base, (size_t)n);
    if (c->parser.http_errno != HPE_OK || done != (size_t)n) {
        if (!c->closing)
            fk_puts(&c->out, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n");
        c->closing = true;
    }
    if (c->closing)
        uv_read_stop(s);
    flush(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- process ------------------------------------------------------------- */

static void on_signal(uv_signal_t *h, int sig)
{
    struct fk_buf b = {0};
    (void)h;
    (void)sig;
    fk_stats_json(&b, uv_now(loop) - started_ms);
    printf("%s\n", b.p);
    fflush(stdout);
    free(b.p);
    exit(0);
}

static int usage(const char *why)
{
    fprintf(stderr, "twilio_fake_c: %s\nusage: twilio_fake_c --port N --account-sid AC<32 hex>"
            " --auth-token T [--fail STATUS:COUNT[:RETRY_AFTER]]...\n", why);
    return 2;
}

static bool valid_sid(const char *s)
{
    if (strlen(s) != 34 || s[0] != 'A' || s[1] != 'C')
        return false;
    return strspn(s + 2, "0123456789abcdefABCDEF") == 32;
}

int main(int argc, char **argv)
{
    const char *sid = NULL, *token = NULL;
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--account-sid")) sid = argv[i + 1];
        else if (!strcmp(argv[i], "--auth-token")) token = argv[i + 1];
        else if (!strcmp(argv[i], "--fail")) {
            int st = 0, ra = -1;
            long count = 0;
            if (sscanf(argv[i + 1], "%d:%ld:%d", &st, &count, &ra) < 2 ||
                !add_fault(st, count, ra, 0))
                return usage("bad --fail (STATUS:COUNT[:RETRY_AFTER], status 400..599)");
        } else
            return usage("unknown argument");
    }
    if (argc % 2 == 0)
        return usage("an option lacks its value");
    if (!sid || !valid_sid(sid) || !token || !*token)
        return usage("--account-sid (AC + 32 hex) and --auth-token are required");
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    started_ms = uv_now(loop);
    fk_messages_init(sid, token);
    settings.on_message_begin = on_message_begin;
    settings.on_url = on_url;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;

    uv_tcp_t server;
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof got;
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", port, &addr);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&server, 1024, on_connection) != 0)
        return usage("cannot listen on 127.0.0.1 at that port");
    uv_tcp_getsockname(&server, (struct sockaddr *)&got, &len);
    port = ntohs(((struct sockaddr_in *)&got)->sin_port);

    uv_signal_t sigterm, sigint;
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    printf("{\"ready\":true,\"port\":%d,\"pid\":%d,\"base_url\":\"http://127.0.0.1:%d\","
           "\"account_sid\":\"%s\"}\n", port, (int)getpid(), port, sid);
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
