/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * HTTP API of the custom templates (JSON, admin token):
 *
 *   GET    /api/templates          catalogue keys and custom templates
 *   GET    /api/templates/<key>    one template with every locale variant
 *   PUT    /api/templates/<key>    {"description": "...",
 *                                   "variants": {"en": {"subject": "...",
 *                                                       "pattern": "..."}, ...}}
 *   DELETE /api/templates/<key>    custom templates only
 *
 * PUT validates everything before writing: the key ([a-z][a-z0-9_.]*, not
 * a catalogue key: 409), each pattern (ICU syntax, named arguments:
 * 422 with the locale and the code-point position), each locale tag, the
 * presence of the source-locale variant ([school] default_locale) and that
 * every variant uses exactly the source variant's arguments (422 naming
 * both sets).  Missing CLDR plural categories are returned as warnings
 * (ICU would fall back to "other"; the save still succeeds).  The write
 * request stores the template AND builds the next live-catalogue snapshot
 * in the same transaction; the snapshot is swapped in only after COMMIT
 * (in the done callback), so an announcement created after the 200/201
 * can use the template, and a failed commit changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "bp/log.h"
#include "bp/store_template.h"
#include "tmpl_api_int.h"

#define PREFIX "/api/templates/"

void bp__tmpl_api_respond(struct bp_http_req *req, int status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

    if (s == NULL)
        bp_http_respond(req, 500, "application/json", "{\"error\":\"internal\"}", 20);
    else
        bp_http_respond(req, status, "application/json", s, strlen(s));
    free(s);
    json_decref(o);
}

static void respond_err(struct bp_http_req *req, int status, const char *msg)
{
    bp__tmpl_api_respond(req, status, json_pack("{s:s}", "error", msg));
}

int bp_tmpl_api_authorize(struct bp_http_req *req, const struct bp_conf *conf)
{
    const char *auth = bp_http_req_header(req, "Authorization");
    const char *want = conf->server_admin_token;
    unsigned char a[32], b[32];

    if (want == NULL || want[0] == '\0') {
        respond_err(req, 403, "the admin API is disabled (no admin_token)");
        return BP_EAUTH;
    }
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
        if (bp_http_add_header(req, "WWW-Authenticate", "Bearer") < 0)
            bp_log_warn("tmpl_api", "header_failed", "name=WWW-Authenticate");
        respond_err(req, 401, "bearer token required");
        return BP_EAUTH;
    }
    crypto_generichash(a, sizeof a, (const unsigned char *)auth + 7, strlen(auth + 7),
                       NULL, 0);
    crypto_generichash(b, sizeof b, (const unsigned char *)want, strlen(want), NULL, 0);
    if (sodium_memcmp(a, b, sizeof a) != 0) {
        respond_err(req, 403, "wrong token");
        return BP_EAUTH;
    }
    return 0;
}

static void call_free(struct bp__tmpl_api_call *c)
{
    json_decref(c->doc);
    json_decref(c->warnings);
    free(c->vars);
    if (c->snap != NULL)
        bp__tmpl_api_snap_free(c->snap);
    free(c);
}

/* ---- GET ----------------------------------------------------------------- */

static json_t *catalogue_locales(const struct bp_tmpl_catalog *cat, const char *key)
{
    json_t *a = json_array();
    const char *loc;

    for (size_t i = 0; (loc = bp_tmpl_catalog_locale(cat, i)) != NULL; i++)
        if (bp_tmpl_catalog_has(cat, loc, key))
            json_array_append_new(a, json_string(loc));
    return a;
}

static void get_list(struct bp__tmpl_api_srv *api, struct bp_http_req *req)
{
    const struct bp_tmpl_snap *snap = bp_tmpl_api_acquire(api->live);
    json_t *list = json_array(), *v;
    const char *k;

    json_object_foreach(api->live->file_keys, k, v) {
        json_array_append_new(list, json_pack("{s:s,s:s,s:O,s:o}", "key", k,
            "source", "catalogue", "description", v,
            "locales", catalogue_locales(snap->cat, k)));
    }
    for (size_t i = 0; i < snap->ncustom; i++) {
        const struct bp__tmpl_api_custom *c = &snap->custom[i];
        json_t *locs = json_array();
        for (size_t j = 0; j < c->nv; j++)
            json_array_append_new(locs, json_string(c->v[j].locale));
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:o,s:I}", "key", c->key,
            "source", "custom", "description", c->description, "locales", locs,
            "updated_at", (json_int_t)c->updated_at));
    }
    bp_tmpl_api_release(api->live, snap);
    bp__tmpl_api_respond(req, 200, json_pack("{s:o}", "templates", list));
}

static void get_one(struct bp__tmpl_api_srv *api, struct bp_http_req *req, const char *key)
{
    const struct bp_tmpl_snap *snap = bp_tmpl_api_acquire(api->live);
    const struct bp__tmpl_api_custom *c = bp__tmpl_api_custom_find(snap, key);
    json_t *desc = json_object_get(api->live->file_keys, key);
    json_t *vars = json_object(), *o = NULL;
    const char *loc;

    if (c != NULL) {
        for (size_t j = 0; j < c->nv; j++) {
            json_t *v = json_pack("{s:s}", "pattern", c->v[j].pattern);
            if (c->v[j].subject != NULL)
                json_object_set_new(v, "subject", json_string(c->v[j].subject));
            json_object_set_new(vars, c->v[j].locale, v);
        }
        o = json_pack("{s:s,s:s,s:s,s:I,s:o}", "key", key, "source", "custom",
                      "description", c->description, "updated_at",
                      (json_int_t)c->updated_at, "variants", vars);
    } else if (desc != NULL) {
        for (size_t i = 0; (loc = bp_tmpl_catalog_locale(snap->cat, i)) != NULL; i++) {
            const char *p = bp_tmpl_catalog_pattern(snap->cat, loc, key);
            if (p != NULL)
                json_object_set_new(vars, loc, json_pack("{s:s}", "pattern", p));
        }
        o = json_pack("{s:s,s:s,s:O,s:o}", "key", key, "source", "catalogue",
                      "description", desc, "variants", vars);
    } else {
        json_decref(vars);
    }
    bp_tmpl_api_release(api->live, snap);
    if (o == NULL)
        return respond_err(req, 404, "no such template");
    bp__tmpl_api_respond(req, 200, o);
}

/* ---- PUT and DELETE -------------------------------------------------------- */

static int put_fn(struct bp_store *s, void *arg)
{
    struct bp__tmpl_api_call *c = arg;
    int rc = bp_store_template_put(s, &c->t);

    if (rc < 0)
        return rc;
    return bp__tmpl_api_snap_build(s, c->api->live->dir, &c->snap, &c->eb);
}

static int del_fn(struct bp_store *s, void *arg)
{
    struct bp__tmpl_api_call *c = arg;
    int rc = bp_store_template_delete(s, &c->del);

    if (rc < 0)
        return rc;
    return bp__tmpl_api_snap_build(s, c->api->live->dir, &c->snap, &c->eb);
}

static void on_written(struct bp_store_wreq *w, int status)
{
    struct bp__tmpl_api_call *c = BP_CONTAINER_OF(w, struct bp__tmpl_api_call, w);
    bool del = c->del.key != NULL;

    if (status == 0 && c->snap != NULL) {
        bp__tmpl_api_swap(c->api->live, c->snap);
        c->snap = NULL;
        bp_log_info("tmpl_api", del ? "template_deleted" : "template_saved",
                    "key=%s variants=%zu", c->key, c->t.nvariants);
        if (del)
            bp__tmpl_api_respond(c->req, 200, json_pack("{s:s}", "deleted", c->key));
        else
            bp__tmpl_api_respond(c->req, c->t.created ? 201 : 200,
                         json_pack("{s:s,s:b,s:I,s:O}", "key", c->key, "created",
                                   c->t.created, "id", (json_int_t)c->t.id,
                                   "warnings", c->warnings));
    } else if (status == BP_ENOTFOUND) {
        respond_err(c->req, 404, "no such custom template");
    } else {
        bp_log_error("tmpl_api", "write_failed", "key=%s err=%s msg=\"%s\"", c->key,
                     bp_err_name(status), c->eb.msg);
        respond_err(c->req, 500, "could not save the template");
    }
    call_free(c);
}

static void submit(struct bp__tmpl_api_call *c, bp_store_write_fn fn)
{
    c->w.fn = fn;
    c->w.arg = c;
    c->w.done = on_written;
    bp_store_writer_submit(c->api->writer, &c->w);
}

static bool key_ok(const char *k)
{
    size_t n = strlen(k);

    if (n == 0 || n > 120 || k[0] < 'a' || k[0] > 'z')
        return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '.'))
            return false;
    return true;
}

static void del_one(struct bp__tmpl_api_srv *api, struct bp_http_req *req, const char *key)
{
    struct bp__tmpl_api_call *c;

    if (json_object_get(api->live->file_keys, key) != NULL)
        return respond_err(req, 409, "catalogue templates cannot be deleted");
    c = bp_xcalloc(1, sizeof *c);
    c->api = api;
    c->req = req;
    snprintf(c->key, sizeof c->key, "%s", key);
    c->del = (struct bp_store_template_del){.key = c->key, .actor = "api"};
    submit(c, del_fn);
}

static void put_one(struct bp__tmpl_api_srv *api, struct bp_http_req *req, const char *key)
{
    struct bp__tmpl_api_call *c;
    const char *body;
    size_t len;
    int status;
    json_t *err;

    if (json_object_get(api->live->file_keys, key) != NULL)
        return respond_err(req, 409, "a catalogue template has this key: choose another");
    c = bp_xcalloc(1, sizeof *c);
    c->api = api;
    c->req = req;
    snprintf(c->key, sizeof c->key, "%s", key);
    body = bp_http_req_body(req, &len);
    if (bp__tmpl_api_parse_put(c, body, len, &status, &err) < 0) {
        bp__tmpl_api_respond(req, status, err);
        call_free(c);
        return;
    }
    submit(c, put_fn);
}

static void on_request(struct bp_http_req *req, void *arg)
{
    struct bp__tmpl_api_srv *api = arg;
    const char *path = bp_http_req_path(req);
    unsigned m = bp_http_req_method_bit(req);
    const char *key;

    if (bp_tmpl_api_authorize(req, api->conf) < 0)
        return;
    if (strcmp(path, "/api/templates") == 0)
        return get_list(api, req);
    key = path + strlen(PREFIX);
    if (!key_ok(key))
        return respond_err(req, 400, "bad template key (want [a-z][a-z0-9_.]*)");
    if (m == BP_HTTP_GET || m == BP_HTTP_HEAD)
        return get_one(api, req, key);
    if (m == BP_HTTP_DELETE)
        return del_one(api, req, key);
    put_one(api, req, key);
}

int bp_tmpl_api_register(struct bp_http_server *http, struct bp_store_writer *writer,
                         const struct bp_conf *conf, struct bp_tmpl_live *live)
{
    static struct bp__tmpl_api_srv api;     /* one daemon, one set of routes */
    int rc;

    api = (struct bp__tmpl_api_srv){writer, conf, live};
    rc = bp_http_route(http, "api_templates", BP_HTTP_GET | BP_HTTP_HEAD,
                       "/api/templates", on_request, &api);
    if (rc == 0)
        rc = bp_http_route(http, "api_template", BP_HTTP_GET | BP_HTTP_HEAD |
                           BP_HTTP_PUT | BP_HTTP_DELETE, PREFIX "*", on_request, &api);
    return rc;
}
