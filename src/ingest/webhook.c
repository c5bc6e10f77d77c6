/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Webhook handlers for inbound SMS and delivery-status callbacks (see
 * include/bp/ingest_http.h).  Each request gets one context allocation that
 * owns the decoded form; the store request points into it, and the context
 * is freed in the writer's completion callback, after the answer is sent.
 * Layer: ingest (uses http and store; knows providers only through the
 * adapter table).
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bp/base.h"
#include "bp/ingest_http.h"
#include "bp/ingest_prov.h"
#include "bp/log.h"

#define MAX_FORM_FIELDS 256
#define TWIML_EMPTY "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"

/* R_KEPT: a status callback for a sid no delivery has yet, kept until the
 * send's result records it (src/store/status.c). */
enum result { R_STORED, R_DUPLICATE, R_BAD_REQUEST, R_FORBIDDEN, R_ERROR, R_KEPT, R_N };
static const char *const result_names[R_N] = {
    "stored", "duplicate", "bad_request", "forbidden", "error", "kept",
};

struct bp_ingest {
    struct bp_store_writer *writer;
    const struct bp_ingest_provider *prov;
    char *public_url, *account_sid, *auth_token;
    int64_t window_ms;
    bp_store_render_fn render;
    void *render_ctx;
    bp_ingest_event_fn listener;
    void *listener_arg;
    uint64_t counts[2][R_N];       /* [0] inbound, [1] status */
};

struct hook_ctx {
    struct bp_store_wreq wreq;
    struct bp_ingest *ing;
    struct bp_http_req *req;
    struct bp_form form;
    char *media_json;
    bool status_cb;
    union {
        struct bp_store_inbound in;
        struct bp_store_status_update st;
    } u;
};

static void count(struct bp_ingest *ing, bool status_cb, enum result r)
{
    ing->counts[status_cb ? 1 : 0][r]++;
}

/* reason is a log token (snake_case); the client gets a short text. */
static void reject(struct bp_ingest *ing, struct bp_http_req *req, bool status_cb,
                   int code, const char *reason, const char *detail)
{
    char q[200], text[64];
    int n;

    count(ing, status_cb, code == 403 ? R_FORBIDDEN : R_BAD_REQUEST);
    bp_log_warn("ingest", "webhook_rejected", "kind=%s status=%d reason=%s detail=%s",
                status_cb ? "status" : "inbound", code, reason,
                bp_log_quote(detail ? detail : "", q, sizeof q));
    n = snprintf(text, sizeof text, "%s\n", reason);
    for (int i = 0; i < n; i++)
        if (text[i] == '_')
            text[i] = ' ';
    bp_http_respond(req, code, "text/plain; charset=utf-8", text, (size_t)n);
}

static void free_ctx(struct hook_ctx *c)
{
    bp_form_free(&c->form);
    free(c->media_json);
    free(c);
}

static char *media_json(const struct bp_sms_inbound *in)
{
    json_t *arr;
    char *s;

    if (in->num_media == 0)
        return NULL;
    arr = json_array();
    for (int i = 0; i < in->num_media; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s}", "url", in->media_url[i],
                                             "content_type", in->media_type[i]));
    s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return s;
}

static void on_inbound_done(struct bp_store_wreq *w, int status)
{
    struct hook_ctx *c = BP_CONTAINER_OF(w, struct hook_ctx, wreq);
    struct bp_store_inbound *in = &c->u.in;
    struct bp_ingest *ing = c->ing;

    if (status < 0) {
        count(ing, false, R_ERROR);
        bp_log_error("ingest", "sms_store_failed", "sid=%s err=%s",
                     in->provider_msg_id, bp_err_name(status));
        bp_http_respond(c->req, 500, "text/plain", "store failed", 12);
        free_ctx(c);
        return;
    }
    count(ing, false, in->duplicate ? R_DUPLICATE : R_STORED);
    /* One line per message only at debug (the counters are in /metrics);
     * a carrier keyword (a consent change, a reply) is worth one at info. */
    bp_log(in->keyword != BP_STORE_KW_NONE && !in->duplicate ? BP_LOG_INFO : BP_LOG_DEBUG,
           "ingest", "sms_received", "sid=%s msg=%lld convo=%lld rule=%s dup=%d reply=%d",
           in->provider_msg_id, (long long)in->message_id, (long long)in->conversation_id,
           in->duplicate ? "-" : in->match_rule, in->duplicate, (int)in->reply);
    bp_http_respond(c->req, 200, "text/xml", TWIML_EMPTY, strlen(TWIML_EMPTY));
    if (!in->duplicate && ing->listener != NULL) {
        struct bp_ingest_event ev = {in->message_id, in->conversation_id, "sms_in"};
        ing->listener(ing->listener_arg, &ev);
    }
    free_ctx(c);
}

static void on_status_done(struct bp_store_wreq *w, int status)
{
    struct hook_ctx *c = BP_CONTAINER_OF(w, struct hook_ctx, wreq);
    struct bp_store_status_update *u = &c->u.st;

    if (status < 0) {
        count(c->ing, true, R_ERROR);
        bp_log_error("ingest", "status_store_failed", "sid=%s err=%s",
                     u->provider_msg_id, bp_err_name(status));
        bp_http_respond(c->req, 500, "text/plain", "store failed", 12);
    } else {
        count(c->ing, true, u->kept ? R_KEPT : R_STORED);
        if (u->kept)        /* usual when the provider calls back at once */
            bp_log_debug("ingest", "status_kept", "sid=%s status=%s",
                         u->provider_msg_id, u->status);
        else    /* per callback: debug, unless the contact changed */
            bp_log(u->contact_change ? BP_LOG_INFO : BP_LOG_DEBUG, "ingest", "delivery_status",
                   "sid=%s status=%s from=%s to=%s applied=%d error=%s contact=%s",
                   u->provider_msg_id, u->status, u->old_state, u->new_state,
                   u->applied, u->error_code ? u->error_code : "-",
                   u->contact_change ? u->contact_change : "-");
        bp_http_respond(c->req, 200, "text/xml", TWIML_EMPTY, strlen(TWIML_EMPTY));
    }
    free_ctx(c);
}

static enum bp_store_kw store_keyword(const char *body, bool *revocation)
{
    struct bp_keyword_result k;

    bp_ingest_keyword_classify(body, &k);
    *revocation = k.possible_revocation;
    switch (k.keyword) {
    case BP_KEYWORD_STOP:
        return BP_STORE_KW_STOP;
    case BP_KEYWORD_START:
        return k.weak ? BP_STORE_KW_START_WEAK : BP_STORE_KW_START;
    case BP_KEYWORD_HELP:
        return BP_STORE_KW_HELP;
    default:
        return BP_STORE_KW_NONE;
    }
}

static void submit_inbound(struct hook_ctx *c)
{
    struct bp_ingest *ing = c->ing;
    struct bp_sms_inbound msg;
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store_inbound *in = &c->u.in;

    if (ing->prov->parse_inbound(&c->form, &msg, &eb) < 0) {
        reject(ing, c->req, false, 400, "missing_fields", eb.msg);
        free_ctx(c);
        return;
    }
    if (!bp_str_eq(msg.account_id, ing->account_sid)) {
        reject(ing, c->req, false, 403, "unknown_account", NULL);
        free_ctx(c);
        return;
    }
    c->media_json = media_json(&msg);
    in->provider = ing->prov->name;
    in->provider_msg_id = msg.provider_msg_id;
    in->from = msg.from;
    in->to = msg.to;
    in->body = msg.body;
    in->media_json = c->media_json;
    in->keyword = store_keyword(msg.body, &in->possible_revocation);
    in->now_ms = bp_clock_now_ms();
    in->recent_window_ms = ing->window_ms;
    in->render = ing->render;
    in->render_ctx = ing->render_ctx;
    c->wreq.fn = bp_store_inbound_sms;
    c->wreq.replayable = true;      /* bp/store_inbound.h */
    c->wreq.arg = in;
    c->wreq.done = on_inbound_done;
    bp_store_writer_submit(ing->writer, &c->wreq);
}

static void submit_status(struct hook_ctx *c)
{
    struct bp_ingest *ing = c->ing;
    struct bp_sms_status msg;
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store_status_update *u = &c->u.st;

    if (ing->prov->parse_status(&c->form, &msg, &eb) < 0) {
        reject(ing, c->req, true, 400, "missing_fields", eb.msg);
        free_ctx(c);
        return;
    }
    if (!bp_str_eq(msg.account_id, ing->account_sid)) {
        reject(ing, c->req, true, 403, "unknown_account", NULL);
        free_ctx(c);
        return;
    }
    u->provider = ing->prov->name;
    u->provider_msg_id = msg.provider_msg_id;
    u->status = msg.status;
    u->error_code = msg.error_code;
    u->now_ms = bp_clock_now_ms();
    c->wreq.fn = bp_store_delivery_status;
    c->wreq.replayable = true;      /* bp/store_status.h */
    c->wreq.arg = u;
    c->wreq.done = on_status_done;
    bp_store_writer_submit(ing->writer, &c->wreq);
}

/* The URL the provider signed: public base URL + path + query string. */
static bool signed_url(const struct bp_ingest *ing, struct bp_http_req *req,
                       char *out, size_t n)
{
    const char *query = bp_http_req_query(req);
    int w = snprintf(out, n, "%s%s%s%s", ing->public_url, bp_http_req_path(req),
                     query[0] ? "?" : "", query);
    return w > 0 && (size_t)w < n;
}

static void on_webhook(struct bp_http_req *req, void *arg)
{
    struct bp_ingest *ing = arg;
    const char *path = bp_http_req_path(req), *rest, *ctype, *body;
    char url[4096];
    struct bp_errbuf eb = {{0}, {0}};
    struct hook_ctx *c;
    size_t len, plen = strlen(ing->prov->name);
    bool status_cb;

    rest = path + strlen("/webhooks/sms/");
    if (strncmp(rest, ing->prov->name, plen) != 0 ||
        (rest[plen] != '\0' && strcmp(rest + plen, "/status") != 0)) {
        bp_http_respond(req, 404, "text/plain", "not found", 9);
        return;
    }
    status_cb = rest[plen] != '\0';
    ctype = bp_http_req_header(req, "Content-Type");
    if (ctype == NULL ||
        strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0) {
        count(ing, status_cb, R_BAD_REQUEST);
        bp_log_warn("ingest", "webhook_rejected", "kind=%s status=415 reason=content_type",
                    status_cb ? "status" : "inbound");
        bp_http_respond(req, 415, "text/plain", "expected a form body", 20);
        return;
    }
    c = bp_xcalloc(1, sizeof *c);
    c->ing = ing;
    c->req = req;
    c->status_cb = status_cb;
    body = bp_http_req_body(req, &len);
    if (bp_form_parse(body, len, MAX_FORM_FIELDS, &c->form, &eb) < 0) {
        reject(ing, req, status_cb, 400, "malformed_form", eb.msg);
        free_ctx(c);
        return;
    }
    if (!signed_url(ing, req, url, sizeof url) ||
        !ing->prov->verify(ing->auth_token, url, &c->form,
                           bp_http_req_header(req, ing->prov->signature_header))) {
        reject(ing, req, status_cb, 403,
               bp_http_req_header(req, ing->prov->signature_header)
                   ? "invalid_signature" : "missing_signature", NULL);
        free_ctx(c);
        return;
    }
    if (status_cb)
        submit_status(c);
    else
        submit_inbound(c);
}

int bp_ingest_new(struct bp_store_writer *w, const struct bp_ingest_opts *o,
                  struct bp_ingest **out, struct bp_errbuf *eb)
{
    const struct bp_ingest_provider *p = bp_ingest_provider_find(o->provider);
    struct bp_ingest *ing;
    size_t ul;

    *out = NULL;
    if (p == NULL) {
        bp_errbuf_set(eb, "sms.provider", "unknown SMS provider %s", o->provider);
        return BP_ECONFIG;
    }
    if (o->public_url == NULL || o->public_url[0] == '\0' || o->account_sid == NULL ||
        o->account_sid[0] == '\0' || o->auth_token == NULL || o->auth_token[0] == '\0') {
        bp_errbuf_set(eb, "sms", "server.public_url, sms.account_sid and "
                      "sms.auth_token are required to receive SMS");
        return BP_ECONFIG;
    }
    ing = bp_xcalloc(1, sizeof *ing);
    ing->writer = w;
    ing->prov = p;
    ing->public_url = bp_xstrdup(o->public_url);
    ul = strlen(ing->public_url);
    while (ul > 0 && ing->public_url[ul - 1] == '/')   /* base URL, no slash */
        ing->public_url[--ul] = '\0';
    ing->account_sid = bp_xstrdup(o->account_sid);
    ing->auth_token = bp_xstrdup(o->auth_token);
    ing->window_ms = o->thread_window_ms;
    ing->render = o->render;
    ing->render_ctx = o->render_ctx;
    *out = ing;
    return 0;
}

int bp_ingest_register(struct bp_ingest *ing, struct bp_http_server *srv)
{
    return bp_http_route(srv, "sms_webhook", BP_HTTP_POST, "/webhooks/sms/*",
                         on_webhook, ing);
}

void bp_ingest_listen(struct bp_ingest *ing, bp_ingest_event_fn fn, void *arg)
{
    ing->listener = fn;
    ing->listener_arg = arg;
}

int bp_ingest_metrics_write(const struct bp_ingest *ing, struct bp_buf *out)
{
    int rc = bp_buf_appends(out,
        "# HELP backpack_sms_webhooks_total SMS webhooks by kind and result.\n"
        "# TYPE backpack_sms_webhooks_total counter\n");
    for (int k = 0; k < 2 && rc == 0; k++)
        for (int r = 0; r < R_N && rc == 0; r++)
            rc = bp_buf_printf(out,
                               "backpack_sms_webhooks_total{kind=\"%s\",result=\"%s\"} %llu\n",
                               k ? "status" : "inbound", result_names[r],
                               (unsigned long long)ing->counts[k][r]);
    return rc;
}

void bp_ingest_free(struct bp_ingest *ing)
{
    if (ing == NULL)
        return;
    free(ing->public_url);
    free(ing->account_sid);
    OPENSSL_cleanse(ing->auth_token, strlen(ing->auth_token));
    free(ing->auth_token);
    free(ing);
}
