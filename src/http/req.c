/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Request objects: allocation and recycling, the accessors handlers use,
 * bp_http_respond and the serialisation of a response.
 *
 * A connection keeps up to BP__HTTP_FREE_REQS answered requests for reuse,
 * with their buffers (unless one grew past 64 KiB), so a keep-alive client
 * costs no allocation per request once warm.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_int.h"

#define KEEP_BUF_BYTES 65536

struct bp_http_req *bp__http_req_get(struct bp__http_conn *c)
{
    const struct bp_http_limits *lim = &c->srv->lim;
    struct bp_http_req *r = c->free_reqs;

    if (r != NULL) {
        c->free_reqs = r->next;
        c->nfree--;
    } else {
        r = bp_xcalloc(1, sizeof *r);
        bp_buf_init(&r->head, lim->max_header_bytes + 1);
        bp_buf_init(&r->body, lim->max_body_bytes);
        bp_buf_init(&r->extra, 16384);
        bp_buf_init(&r->out, BP__HTTP_OUT_CAP);
    }
    r->conn = c;
    r->next = NULL;
    r->state = BP__REQ_PARSING;
    r->orphan = r->close_after = r->head_only = r->last_was_value = false;
    r->allow = 0;
    r->method = 0;
    r->http_major = 1;
    r->http_minor = 1;
    r->route = NULL;
    r->url_len = r->path_off = r->query_off = 0;
    r->nhdrs = 0;
    r->started_ms = 0;
    return r;
}

static void reset_buf(struct bp_buf *b)
{
    if (b->alloc > KEEP_BUF_BYTES)
        bp_buf_free(b);
    else
        bp_buf_reset(b);
}

void bp__http_req_free(struct bp_http_req *r)
{
    if (r == NULL)
        return;
    bp_buf_free(&r->head);
    bp_buf_free(&r->body);
    bp_buf_free(&r->extra);
    bp_buf_free(&r->out);
    free(r);
}

void bp__http_req_put(struct bp__http_conn *c, struct bp_http_req *r)
{
    if (c->nfree >= BP__HTTP_FREE_REQS) {
        bp__http_req_free(r);
        return;
    }
    reset_buf(&r->head);
    reset_buf(&r->body);
    reset_buf(&r->extra);
    reset_buf(&r->out);
    r->next = c->free_reqs;
    c->free_reqs = r;
    c->nfree++;
}

/* ---- accessors ----------------------------------------------------- */

const char *bp_http_req_method(const struct bp_http_req *r)
{
    return http_method_str((enum http_method)r->method);
}

unsigned bp_http_req_method_bit(const struct bp_http_req *r)
{
    return bp__http_method_bit(r->method);
}

const char *bp_http_req_path(const struct bp_http_req *r)
{
    return r->head.data + r->path_off;
}

const char *bp_http_req_query(const struct bp_http_req *r)
{
    return r->head.data + r->query_off;
}

const char *bp_http_req_header(const struct bp_http_req *r, const char *name)
{
    for (unsigned i = 0; i < r->nhdrs; i++)
        if (bp_str_case_eq(r->head.data + r->hdrs[i].name_off, name))
            return r->head.data + r->hdrs[i].val_off;
    return NULL;
}

size_t bp_http_req_header_count(const struct bp_http_req *r)
{
    return r->nhdrs;
}

int bp_http_req_header_at(const struct bp_http_req *r, size_t i,
                          const char **name, const char **value)
{
    if (i >= r->nhdrs)
        return BP_ENOTFOUND;
    *name = r->head.data + r->hdrs[i].name_off;
    *value = r->head.data + r->hdrs[i].val_off;
    return 0;
}

const char *bp_http_req_body(const struct bp_http_req *r, size_t *len)
{
    if (len != NULL)
        *len = r->body.len;
    return r->body.data != NULL && r->body.len > 0 ? r->body.data : "";
}

const char *bp_http_req_peer(const struct bp_http_req *r)
{
    return r->conn->peer;
}

bool bp_http_req_orphaned(const struct bp_http_req *r)
{
    return r->orphan;
}

/* ---- responses ----------------------------------------------------- */

const char *bp_http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static bool token_ok(const char *s, bool value)
{
    if (!value && (s == NULL || s[0] == '\0'))
        return false;
    for (; *s; s++)
        if (*s == '\r' || *s == '\n' || (!value && (*s == ':' || *s == ' ')))
            return false;
    return true;
}

int bp_http_add_header(struct bp_http_req *r, const char *name,
                       const char *value)
{
    if (!token_ok(name, false) || value == NULL || !token_ok(value, true))
        return BP_EINVAL_INPUT;
    return bp_buf_printf(&r->extra, "%s: %s\r\n", name, value);
}

static const char *date_header(struct bp_http_server *s)
{
    time_t now = time(NULL);
    struct tm tm;

    if ((int64_t)now != s->date_sec) {
        s->date_sec = (int64_t)now;
        gmtime_r(&now, &tm);
        strftime(s->date, sizeof s->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n",
                 &tm);
    }
    return s->date;
}

static void allow_header(struct bp_http_req *r)
{
    static const struct { unsigned bit; const char *name; } m[] = {
        {BP_HTTP_GET, "GET"}, {BP_HTTP_HEAD, "HEAD"}, {BP_HTTP_POST, "POST"},
        {BP_HTTP_PUT, "PUT"}, {BP_HTTP_DELETE, "DELETE"},
        {BP_HTTP_PATCH, "PATCH"}, {BP_HTTP_OPTIONS, "OPTIONS"},
    };
    const char *sep = "";
    int rc = bp_buf_appends(&r->extra, "Allow: ");

    for (size_t i = 0; i < BP_ARRAY_LEN(m) && rc == 0; i++) {
        if (r->allow & m[i].bit) {
            rc = bp_buf_printf(&r->extra, "%s%s", sep, m[i].name);
            sep = ", ";
        }
    }
    if (rc == 0)
        rc = bp_buf_appends(&r->extra, "\r\n");
    if (rc < 0)
        bp_buf_reset(&r->extra);   /* 16 KiB of handler headers: drop them */
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put_uint(char *p, size_t v)
{
    char tmp[24];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* Hand-rolled rather than printf: this runs for every response. */
static int build(struct bp_http_req *r, int status, const char *ctype,
                 const void *body, size_t len)
{
    struct bp_buf *o = &r->out;
    const char *conn_hdr = "", *reason = bp_http_status_text(status);
    const char *date = date_header(r->conn->srv);
    size_t ctlen = ctype != NULL ? strlen(ctype) : 0, blen, need;
    char *p;
    int rc;

    if (r->close_after)
        conn_hdr = "Connection: close\r\n";
    else if (r->http_major == 1 && r->http_minor == 0)
        conn_hdr = "Connection: keep-alive\r\n";
    if (ctlen > 256 || strpbrk(ctype != NULL ? ctype : "", "\r\n") != NULL)
        return BP_EINVAL_INPUT;
    blen = r->head_only ? 0 : len;
    need = 64 + strlen(reason) + strlen(date) + ctlen + 40 + strlen(conn_hdr) +
           r->extra.len;
    bp_buf_reset(o);
    /* reserve head + body in one go, then write the head in place */
    rc = bp_buf_append(o, NULL, 0);
    if (rc == 0 && (need > o->cap || blen > o->cap - need))
        rc = BP_ETOOBIG;
    if (rc == 0 && o->alloc < need + blen + 1) {
        char *d = realloc(o->data, need + blen + 1);
        if (d == NULL)
            return BP_ENOMEM;
        o->data = d;
        o->alloc = need + blen + 1;
    }
    if (rc < 0)
        return rc;
    p = o->data;
    p = put(p, "HTTP/1.1 ", 9);
    p = put_uint(p, (size_t)status);
    *p++ = ' ';
    p = put(p, reason, strlen(reason));
    p = put(p, "\r\n", 2);
    p = put(p, date, strlen(date));
    if (ctype != NULL) {
        p = put(p, "Content-Type: ", 14);
        p = put(p, ctype, ctlen);
        p = put(p, "\r\n", 2);
    }
    p = put(p, "Content-Length: ", 16);
    p = put_uint(p, len);
    p = put(p, "\r\n", 2);
    p = put(p, conn_hdr, strlen(conn_hdr));
    if (r->extra.len > 0)
        p = put(p, r->extra.data, r->extra.len);
    p = put(p, "\r\n", 2);
    if (blen > 0)
        p = put(p, body, blen);
    *p = '\0';
    o->len = (size_t)(p - o->data);
    return 0;
}

int bp__http_serialise(struct bp_http_req *r, int status, const char *ctype,
                       const void *body, size_t len)
{
    int rc;

    if (status == 405 && r->allow != 0)
        allow_header(r);
    rc = build(r, status, ctype, body, len);
    if (rc < 0) {
        bp_log_warn("http", "response_too_big", "status=%d len=%zu", status,
                    len);
        bp_buf_reset(&r->extra);
        status = 500;
        rc = build(r, status, "text/plain", "internal error\n", 15);
    }
    bp__http_count(r->conn->srv, r->route, status);
    r->state = BP__REQ_READY;
    return rc;
}

void bp_http_respond(struct bp_http_req *r, int status,
                     const char *content_type, const void *body, size_t len)
{
    struct bp__http_conn *c = r->conn;
    struct bp_http_server *s = c->srv;

    assert(r->state == BP__REQ_HANDLER);
    if (status < 200 || status > 599)
        status = 500;
    c->refs--;
    s->pending--;
    if (r->orphan) {
        bp__http_count(s, r->route, status);
        bp__http_req_free(r);
        bp__http_conn_maybe_free(c);
        return;
    }
    if (c->drain)
        r->close_after = true;
    (void)bp__http_serialise(r, status, content_type, body, len);
    bp__http_flush(c);
}
