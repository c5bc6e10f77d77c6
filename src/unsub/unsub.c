/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Routes GET/HEAD/POST /unsubscribe/<token> (include/bp/unsub.h).  GET reads
 * through the loop thread's read-only store (one indexed lookup) and never
 * writes; POST goes through the store writer and answers from the
 * completion, i.e. after the commit.  Every answer is an HTML page with a
 * strict Content-Security-Policy, no caching and no referrer, so the token
 * in the URL leaks nowhere.  Logs carry ids only (no address).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/log.h"
#include "bp/store_unsub.h"
#include "bp/unsub.h"

#define PREFIX "/unsubscribe/"
#define TOKEN_MAX 128
#define PAGE_CAP (64 * 1024)

enum result { R_PAGE, R_DONE, R_ALREADY, R_UNKNOWN, R_ERROR, R_N };
static const char *const result_names[R_N] = {
    "page", "unsubscribed", "already", "unknown", "error",
};

struct bp_unsub {
    struct bp_store_writer *writer;
    struct bp_store *ro;
    const struct bp_tmpl_catalog *catalog;
    char *school, *default_locale;
    uint64_t counts[R_N];
};

struct post_ctx {
    struct bp_store_wreq wreq;
    struct bp_unsub *u;
    struct bp_http_req *req;
    struct bp_store_unsub op;
    char token[TOKEN_MAX + 1];
};

static const char *const SECURITY_HEADERS[][2] = {
    {"Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"Cache-Control", "no-store"},
    {"X-Frame-Options", "DENY"},
};

static void respond(struct bp_http_req *req, int status, const char *ctype,
                    const char *body, size_t len)
{
    for (size_t i = 0; i < BP_ARRAY_LEN(SECURITY_HEADERS); i++)
        if (bp_http_add_header(req, SECURITY_HEADERS[i][0], SECURITY_HEADERS[i][1]) < 0)
            bp_log_error("unsub", "header_not_added", "name=%s", SECURITY_HEADERS[i][0]);
    bp_http_respond(req, status, ctype, body, len);
}

static void respond_error(struct bp_unsub *u, struct bp_http_req *req, int status)
{
    static const char msg[] = "The service is temporarily unavailable. Please try again later.\n";

    u->counts[R_ERROR]++;
    respond(req, status, "text/plain; charset=utf-8", msg, sizeof msg - 1);
}

/* Renders and sends one page; a render failure becomes a 500. */
static void respond_page(struct bp_unsub *u, struct bp_http_req *req, int status,
                         enum bp_unsub_page kind, const char *locale,
                         const char *address)
{
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_buf page;
    int rc;

    bp_buf_init(&page, PAGE_CAP);
    rc = bp_unsub_page_render(u->catalog, kind, locale, u->default_locale, u->school,
                              address, &page, &eb);
    if (rc < 0) {
        bp_log_error("unsub", "page_not_rendered", "kind=%d err=%s where=%s msg=\"%s\"",
                     (int)kind, bp_err_name(rc), eb.where, eb.msg);
        respond_error(u, req, 500);
    } else {
        respond(req, status, "text/html; charset=utf-8", page.data, page.len);
    }
    bp_buf_free(&page);
}

static void respond_unknown(struct bp_unsub *u, struct bp_http_req *req)
{
    u->counts[R_UNKNOWN]++;
    respond_page(u, req, 404, BP_UNSUB_PAGE_UNKNOWN, NULL, NULL);
}

/* Tokens are idempotency keys: [A-Za-z0-9_-], at most TOKEN_MAX bytes.
 * Anything else (percent escapes, slashes, empty) is treated as unknown. */
static bool token_ok(const char *t)
{
    size_t n = 0;

    for (; t[n]; n++) {
        char c = t[n];
        if (n >= TOKEN_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return n > 0;
}

/* RFC 8058: the body of a one-click POST is List-Unsubscribe=One-Click
 * (form-encoded, possibly among other fields). */
static bool body_is_one_click(const char *body, size_t len)
{
    static const char F[] = "List-Unsubscribe=One-Click";
    const size_t fl = sizeof F - 1;

    for (size_t i = 0; i + fl <= len; i++) {
        if ((i == 0 || body[i - 1] == '&') && memcmp(body + i, F, fl) == 0 &&
            (i + fl == len || body[i + fl] == '&' || body[i + fl] == '\r' ||
             body[i + fl] == '\n'))
            return true;
    }
    return false;
}

static void on_get(struct bp_unsub *u, struct bp_http_req *req, const char *token)
{
    struct bp_store_unsub_info info;
    int rc = bp_store_unsub_find(u->ro, token, &info);

    if (rc < 0) {
        bp_log_error("unsub", "lookup_failed", "err=%s", bp_err_name(rc));
        respond_error(u, req, 503);
        return;
    }
    if (rc == 0) {
        respond_unknown(u, req);
        return;
    }
    u->counts[info.opted_out ? R_ALREADY : R_PAGE]++;
    respond_page(u, req, 200, info.opted_out ? BP_UNSUB_PAGE_DONE : BP_UNSUB_PAGE_CONFIRM,
                 info.locale, info.address);
}

static void on_post_done(struct bp_store_wreq *w, int status)
{
    struct post_ctx *c = BP_CONTAINER_OF(w, struct post_ctx, wreq);
    struct bp_store_unsub *op = &c->op;
    struct bp_unsub *u = c->u;

    if (status < 0) {
        bp_log_error("unsub", "unsubscribe_failed", "err=%s", bp_err_name(status));
        respond_error(u, c->req, 503);
    } else if (!op->found) {
        respond_unknown(u, c->req);
    } else {
        u->counts[op->changed ? R_DONE : R_ALREADY]++;
        bp_log_info("unsub", "email_unsubscribed",
                    "delivery=%lld contact=%lld changed=%d one_click=%d",
                    (long long)op->info.delivery_id, (long long)op->info.contact_id,
                    (int)op->changed, (int)op->one_click);
        respond_page(u, c->req, 200, BP_UNSUB_PAGE_DONE, op->info.locale,
                     op->info.address);
    }
    free(c);
}

static void on_post(struct bp_unsub *u, struct bp_http_req *req, const char *token)
{
    struct post_ctx *c = bp_xcalloc(1, sizeof *c);
    size_t len;
    const char *body = bp_http_req_body(req, &len);

    c->u = u;
    c->req = req;
    snprintf(c->token, sizeof c->token, "%s", token);
    c->op.token = c->token;
    c->op.now_ms = bp_clock_now_ms();
    c->op.one_click = body_is_one_click(body, len);
    c->wreq.fn = bp_store_unsub_apply;
    c->wreq.arg = &c->op;
    c->wreq.done = on_post_done;
    bp_store_writer_submit(u->writer, &c->wreq);
}

static void on_request(struct bp_http_req *req, void *arg)
{
    struct bp_unsub *u = arg;
    const char *path = bp_http_req_path(req);
    const char *token = path + strlen(PREFIX);

    if (!bp_str_starts_with(path, PREFIX) || !token_ok(token)) {
        respond_unknown(u, req);
        return;
    }
    if (bp_http_req_method_bit(req) == BP_HTTP_POST)
        on_post(u, req, token);
    else
        on_get(u, req, token);
}

int bp_unsub_new(struct bp_store_writer *writer, struct bp_store *ro,
                 const struct bp_unsub_opts *o, struct bp_unsub **out,
                 struct bp_errbuf *eb)
{
    struct bp_unsub *u;

    *out = NULL;
    if (writer == NULL || ro == NULL || o == NULL || o->catalog == NULL) {
        bp_errbuf_set(eb, "unsub", "the unsubscribe routes need the store and the catalogue");
        return BP_EINVAL_INPUT;
    }
    u = bp_xcalloc(1, sizeof *u);
    u->writer = writer;
    u->ro = ro;
    u->catalog = o->catalog;
    u->school = bp_xstrdup(o->school_name ? o->school_name : "");
    u->default_locale = bp_xstrdup(o->default_locale && o->default_locale[0]
                                       ? o->default_locale : "en");
    *out = u;
    return 0;
}

int bp_unsub_register(struct bp_unsub *u, struct bp_http_server *srv)
{
    int rc = bp_http_route(srv, "unsubscribe", BP_HTTP_GET | BP_HTTP_POST,
                           PREFIX "*", on_request, u);

    /* "/unsubscribe/" itself (an empty token): the same 404 page. */
    if (rc == 0)
        rc = bp_http_route(srv, "unsubscribe", BP_HTTP_GET | BP_HTTP_POST, PREFIX,
                           on_request, u);
    return rc;
}

int bp_unsub_metrics_write(const struct bp_unsub *u, struct bp_buf *out)
{
    int rc = bp_buf_appends(out,
        "# HELP backpack_unsubscribe_requests_total Unsubscribe link requests by result.\n"
        "# TYPE backpack_unsubscribe_requests_total counter\n");

    for (int r = 0; r < R_N && rc == 0; r++)
        rc = bp_buf_printf(out, "backpack_unsubscribe_requests_total{result=\"%s\"} %llu\n",
                           result_names[r], (unsigned long long)u->counts[r]);
    return rc;
}

void bp_unsub_free(struct bp_unsub *u)
{
    if (u == NULL)
        return;
    free(u->school);
    free(u->default_locale);
    free(u);
}
