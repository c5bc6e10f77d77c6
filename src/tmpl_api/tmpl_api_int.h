/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by the files of src/tmpl_api/ (never included elsewhere).
 */
#ifndef BP_TMPL_API_INT_H
#define BP_TMPL_API_INT_H

#include <pthread.h>

#include <jansson.h>

#include "bp/store_template.h"
#include "bp/tmpl_api.h"

struct bp__tmpl_api_variant {
    char *locale, *subject, *pattern;
};

struct bp__tmpl_api_custom {
    char *key, *description;
    int64_t updated_at;
    struct bp__tmpl_api_variant *v;
    size_t nv;
};

/* An immutable snapshot: the merged catalogue plus what the API shows of
 * the custom templates.  refs is guarded by the holder's mutex. */
struct bp_tmpl_snap {
    struct bp_tmpl_catalog *cat;
    struct bp__tmpl_api_custom *custom;      /* sorted by key */
    size_t ncustom;
    unsigned refs;
};

struct bp_tmpl_live {
    pthread_mutex_t mu;
    struct bp_tmpl_snap *cur;               /* the holder owns one reference */
    char *dir;
    char source_locale[36];
    /* catalogue keys -> description, from <dir>/en.json (loop thread only;
     * the API's listing and the "is a catalogue key" check) */
    struct json_t *file_keys;
};

/* Builds a snapshot from dir + the templates in s (thread owning s). */
int bp__tmpl_api_snap_build(struct bp_store *s, const char *dir,
                            struct bp_tmpl_snap **out, struct bp_errbuf *eb);
void bp__tmpl_api_snap_free(struct bp_tmpl_snap *snap);
/* Makes snap (new, refs 0) current; drops the holder's reference on the
 * old one.  Any thread. */
void bp__tmpl_api_swap(struct bp_tmpl_live *live, struct bp_tmpl_snap *snap);
const struct bp__tmpl_api_custom *bp__tmpl_api_custom_find(
    const struct bp_tmpl_snap *snap, const char *key);

struct bp__tmpl_api_srv {
    struct bp_store_writer *writer;
    const struct bp_conf *conf;
    struct bp_tmpl_live *live;
};

struct bp__tmpl_api_call {
    struct bp_store_wreq w;
    struct bp__tmpl_api_srv *api;
    struct bp_http_req *req;
    json_t *doc, *warnings;
    struct bp_store_template t;
    struct bp_store_template_del del;
    struct bp_store_template_variant *vars;
    struct bp_tmpl_snap *snap;             /* built on the writer thread */
    struct bp_errbuf eb;
    char key[128];
};

/* Answers req with the JSON object o (reference stolen). */
void bp__tmpl_api_respond(struct bp_http_req *req, int status, json_t *o);
/*
 * Validates a PUT body for c->key and fills c->t, c->vars, c->warnings
 * (c->doc owns the strings).  On error returns BP_EINVAL_INPUT with the
 * HTTP status and a JSON error object (new) in *status / *err.
 */
int bp__tmpl_api_parse_put(struct bp__tmpl_api_call *c, const char *body, size_t len,
                           int *status, json_t **err);

#endif
