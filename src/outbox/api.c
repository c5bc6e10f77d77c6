/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /api/messages: create an announcement over HTTP (JSON).
 *
 *   Authorization: Bearer <[server] admin_token>
 *   {"student": "S1"} | {"section": "SEC1"} | {"school": true} |
 *   {"guardians": ["G1", "G2"]},
 *   "text": "..." | "template": "key", "args": {"name": "string" | number |
 *                                          "RFC 3339 time" | "12.50 USD"},
 *   "urgent": false, "send_at": "RFC 3339", "allow_fallback": false,
 *   "dry_run": false
 *
 * POST /api/messages/preview: the same body; 200 with the reach preview
 * (bp_outbox_preview_fn: computed by creating everything in a transaction
 * that is rolled back).
 *
 * Free text with [translate] enabled: the audience's languages are read
 * first (a write request touching temp tables only), the text is
 * translated once per language on libuv's worker pool (bp_mt_translate_
 * async, all in parallel), then the announcement is created.
 *
 * 202 {"announcement_id": N, "messages": ..., "deliveries": {...}, ...}
 * once the announcement and its deliveries are committed (the scheduler is
 * woken at once).  400 bad JSON or fields, 401 no bearer token, 403 wrong
 * token or the API disabled (empty admin_token), 404 unknown audience.
 * The token is compared in constant time (hashes of both sides with
 * libsodium, then sodium_memcmp), so neither its content nor its length
 * leaks through timing.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "bp/log.h"
#include "outbox_int.h"

struct api_call {
    struct bp_store_wreq wreq;
    struct bp_outbox_create create;
    struct bp_outbox_preview preview;  /* POST /api/messages/preview */
    bool is_preview;
    char **locs;                       /* audience languages (translation) */
    size_t nlocs;
    struct bp_mt_job *jobs;            /* one per target language */
    size_t jobs_left;
    struct bp_outbox_req req;
    struct bp_outbox_policy pol;
    struct bp_outbox *ob;
    struct bp_http_req *http;
    json_t *doc;                       /* owns the strings req borrows */
    const char **guardians;
    char *args_json;                   /* "args" re-serialised */
    const struct bp_tmpl_snap *snap;   /* live catalogue snapshot, held until freed */
};

static void respond_json(struct bp_http_req *req, int status, const char *body)
{
    bp_http_respond(req, status, "application/json", body, strlen(body));
}

static void respond_err(struct bp_http_req *req, int status, const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    respond_json(req, status, s ? s : "{\"error\":\"internal\"}");
    free(s);
    json_decref(o);
}

static bool token_ok(const char *given, const char *want)
{
    unsigned char a[32], b[32];

    crypto_generichash(a, sizeof a, (const unsigned char *)given, strlen(given),
                       NULL, 0);
    crypto_generichash(b, sizeof b, (const unsigned char *)want, strlen(want),
                       NULL, 0);
    return sodium_memcmp(a, b, sizeof a) == 0;
}

static void call_free(struct api_call *c)
{
    bp_outbox_policy_release(&c->pol);
    for (size_t i = 0; i < c->nlocs; i++)
        free(c->locs[i]);
    free(c->locs);
    free(c->jobs);
    bp_buf_free(&c->preview.json);
    if (c->snap != NULL)
        bp_tmpl_api_release(c->ob->env.templates, c->snap);
    json_decref(c->doc);
    free(c->guardians);
    free(c->args_json);
    free(c);
}

static void on_created(struct bp_store_wreq *w, int status)
{
    struct api_call *c = BP_CONTAINER_OF(w, struct api_call, wreq);
    struct bp_store_announce *a = &c->create.a;
    struct bp_buf out;

    if (status == BP_ECANCELED && c->create.dry_run)
        status = 0;
    if (status == BP_ENOTFOUND) {
        respond_err(c->http, 404, a->errmsg);
    } else if (status < 0) {
        bp_log_error("outbox", "create_failed", "err=%s", bp_err_name(status));
        respond_err(c->http, 500, "could not create the announcement");
    } else {
        bp_buf_init(&out, 4096);
        if (bp_outbox_summary_json(a, c->create.dry_run, &out) < 0)
            respond_err(c->http, 500, "summary");
        else
            respond_json(c->http, 202, out.data);
        bp_buf_free(&out);
        if (!c->create.dry_run) {
            bp_log_info("outbox", "announcement", "id=%lld via=api sms=%lld email=%lld held=%lld",
                        (long long)a->announcement_id, (long long)a->deliveries[0],
                        (long long)a->deliveries[1], (long long)a->held);
            bp_outbox_kick(c->ob);
        }
    }
    call_free(c);
}

/* Fills c->req from the JSON document; returns an error message or NULL. */
static const char *parse_body(struct api_call *c)
{
    json_t *d = c->doc, *v;
    struct bp_outbox_req *r = &c->req;
    int n = 0;

    if (!json_is_object(d))
        return "the body must be a JSON object";
    if ((v = json_object_get(d, "student")) != NULL) {
        r->audience_kind = "student";
        r->audience_ref = json_string_value(v);
        n++;
    }
    if ((v = json_object_get(d, "section")) != NULL) {
        r->audience_kind = "section";
        r->audience_ref = json_string_value(v);
        n++;
    }
    if ((v = json_object_get(d, "school")) != NULL && json_is_true(v)) {
        r->audience_kind = "school";
        n++;
    }
    if ((v = json_object_get(d, "guardians")) != NULL) {
        size_t i;
        json_t *g;
        if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 10000)
            return "guardians must be a non-empty array of sourced ids";
        c->guardians = bp_xcalloc(json_array_size(v), sizeof *c->guardians);
        json_array_foreach(v, i, g) {
            if ((c->guardians[i] = json_string_value(g)) == NULL)
                return "guardians must be strings";
        }
        r->audience_kind = "custom";
        r->guardians = c->guardians;
        r->nguardians = json_array_size(v);
        n++;
    }
    if (n != 1)
        return "give exactly one of student, section, school, guardians";
    if ((v = json_object_get(d, "text")) != NULL && (r->text = json_string_value(v)) == NULL)
        return "text must be a string";
    if ((v = json_object_get(d, "template")) != NULL &&
        (r->template_key = json_string_value(v)) == NULL)
        return "template must be a string";
    if ((v = json_object_get(d, "args")) != NULL) {
        if (!json_is_object(v) || r->template_key == NULL)
            return "args must be an object, with a template";
        if ((c->args_json = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
            return "args";
        r->template_args = c->args_json;
    }
    r->urgent = json_is_true(json_object_get(d, "urgent"));
    r->allow_fallback = json_is_true(json_object_get(d, "allow_fallback"));
    r->dry_run = json_is_true(json_object_get(d, "dry_run"));
    if ((v = json_object_get(d, "send_at")) != NULL &&
        (!json_is_string(v) || bp_outbox_parse_rfc3339(json_string_value(v), &r->send_at) < 0))
        return "send_at must be an RFC 3339 time";
    return NULL;
}

static void on_previewed(struct bp_store_wreq *w, int status)
{
    struct api_call *c = BP_CONTAINER_OF(w, struct api_call, wreq);

    if (status == BP_ECANCELED)
        respond_json(c->http, 200, c->preview.json.data ? c->preview.json.data : "{}");
    else if (status == BP_ENOTFOUND)
        respond_err(c->http, 404, c->preview.a.errmsg);
    else {
        bp_log_error("outbox", "preview_failed", "err=%s", bp_err_name(status));
        respond_err(c->http, 500, "could not compute the preview");
    }
    call_free(c);
}

/* The announcement itself (or its preview), once any translation is in:
 * a bulk write (bp_store_announce takes every reference from a join). */
static void submit_create(struct api_call *c)
{
    c->wreq.bulk = true;
    if (c->is_preview) {
        c->preview.a = c->create.a;
        c->preview.conf = c->ob->conf;
        c->wreq.fn = bp_outbox_preview_fn;
        c->wreq.arg = &c->preview;
        c->wreq.done = on_previewed;
    } else {
        c->wreq.fn = bp_outbox_create_fn;
        c->wreq.arg = &c->create;
        c->wreq.done = on_created;
    }
    bp_store_writer_submit(c->ob->env.writer, &c->wreq);
}

/* bp_store_write_fn: the audience's guardian locales (temp tables only). */
static int locales_fn(struct bp_store *s, void *arg)
{
    struct api_call *c = arg;

    return bp_store_announce_locales(s, &c->create.a, &c->locs, &c->nlocs);
}

static void on_translated(struct bp_mt_job *job)
{
    struct api_call *c = job->data;
    size_t i = (size_t)(job - c->jobs);

    if (bp_outbox_mt_result(&c->pol, i, job->rc, job->out.data ? job->out.data : "",
                            job->out.len) < 0 || job->rc < 0)
        bp_log_warn("outbox", "mt_held", "locale=%s err=%s", c->pol.mt[i].locale,
                    bp_err_name(job->rc));
    bp_buf_free(&job->out);
    if (--c->jobs_left == 0)
        submit_create(c);
}

/* The languages are known: one translation per language, all at once on
 * the worker pool; the announcement is created when the last one is in (a
 * failed language is held no_translation by the render callback). */
static void on_locales(struct bp_store_wreq *w, int status)
{
    struct api_call *c = BP_CONTAINER_OF(w, struct api_call, wreq);
    struct bp_outbox_policy *p = &c->pol;

    if (status < 0) {
        if (status == BP_ENOTFOUND)
            respond_err(c->http, 404, c->create.a.errmsg);
        else
            respond_err(c->http, 500, "could not read the audience");
        call_free(c);
        return;
    }
    bp_outbox_mt_targets(p, c->locs, c->nlocs);
    if (p->nmt == 0)
        return submit_create(c);
    c->jobs = bp_xcalloc(p->nmt, sizeof *c->jobs);
    c->jobs_left = p->nmt;
    for (size_t i = 0; i < p->nmt; i++) {
        struct bp_mt_job *j = &c->jobs[i];
        j->text = p->text;
        j->source = p->default_locale;
        j->target = p->mt[i].locale;
        j->cb = on_translated;
        j->data = c;
        if (bp_mt_translate_async(c->ob->env.mt, c->ob->env.loop, j) < 0) {
            bp_log_warn("outbox", "mt_queue_failed", "locale=%s", p->mt[i].locale);
            if (--c->jobs_left == 0)
                submit_create(c);
        }
    }
}

static void on_post(struct bp_http_req *req, struct bp_outbox *ob, bool is_preview);

static void on_post_messages(struct bp_http_req *req, void *arg)
{
    on_post(req, arg, false);
}

static void on_post_preview(struct bp_http_req *req, void *arg)
{
    on_post(req, arg, true);
}

static void on_post(struct bp_http_req *req, struct bp_outbox *ob, bool is_preview)
{
    const char *auth = bp_http_req_header(req, "Authorization");
    struct bp_errbuf eb = {{0}, {0}};
    struct api_call *c;
    const char *err, *body;
    json_error_t jerr;
    size_t len;

    if (ob->conf->server_admin_token == NULL || ob->conf->server_admin_token[0] == '\0')
        return respond_err(req, 403, "the admin API is disabled (no admin_token)");
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
        if (bp_http_add_header(req, "WWW-Authenticate", "Bearer") < 0)
            bp_log_warn("outbox", "header_failed", "name=WWW-Authenticate");
        return respond_err(req, 401, "bearer token required");
    }
    if (!token_ok(auth + 7, ob->conf->server_admin_token))
        return respond_err(req, 403, "wrong token");
    c = bp_xcalloc(1, sizeof *c);
    c->ob = ob;
    c->http = req;
    c->is_preview = is_preview;
    bp_buf_init(&c->preview.json, 16 * 1024 * 1024);
    body = bp_http_req_body(req, &len);
    c->doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (c->doc == NULL) {
        call_free(c);
        return respond_err(req, 400, "invalid JSON");
    }
    if (ob->env.templates != NULL) {
        /* The render callback runs on the writer thread with this snapshot:
         * it is released in call_free, after the write request completed. */
        c->snap = bp_tmpl_api_acquire(ob->env.templates);
        c->req.catalog = bp_tmpl_api_catalog(c->snap);
    }
    if ((err = parse_body(c)) != NULL ||
        bp_outbox_prepare(ob->conf, &c->req, &c->pol, &c->create.a, &eb) < 0) {
        respond_err(req, 400, err ? err : eb.msg);
        call_free(c);
        return;
    }
    c->create.dry_run = c->req.dry_run;
    if (c->pol.text != NULL && ob->env.mt != NULL) {
        c->wreq.fn = locales_fn;           /* then translate, then create */
        c->wreq.bulk = false;
        c->wreq.arg = c;
        c->wreq.done = on_locales;
        bp_store_writer_submit(ob->env.writer, &c->wreq);
        return;
    }
    submit_create(c);
}

int bp__outbox_api_register(struct bp_outbox *ob)
{
    int rc = bp_http_route(ob->env.http, "api_messages", BP_HTTP_POST,
                           "/api/messages", on_post_messages, ob);

    if (rc == 0)
        rc = bp_http_route(ob->env.http, "api_messages_preview", BP_HTTP_POST,
                           "/api/messages/preview", on_post_preview, ob);
    return rc;
}
