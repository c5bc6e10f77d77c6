/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The live catalogue (include/bp/tmpl_api.h): immutable snapshots of
 * "catalogue files + custom templates from the database", reference
 * counted, with the current one swapped under a mutex when a save
 * rebuilds it.  Readers never wait for a build, and a snapshot a renderer
 * holds never changes under it; the last release of a retired snapshot
 * frees it on whatever thread that happens.
 *
 * A stored variant that does not compile any more (an ICU upgrade changed
 * a rule) is logged and left out rather than stopping the daemon: it was
 * validated when saved, and the other templates must keep working.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "bp/log.h"
#include "bp/store_template.h"
#include "tmpl_api_int.h"

struct build_ctx {
    struct bp_tmpl_catalog *cat;
    struct bp__tmpl_api_custom *custom;
    size_t n, cap;
};

static int on_row(void *arg, const struct bp_store_template_row *r)
{
    struct build_ctx *b = arg;
    struct bp__tmpl_api_custom *c;
    struct bp_errbuf eb = {{0}, {0}};
    int rc;

    rc = bp_tmpl_catalog_add(b->cat, r->locale, r->key, r->pattern, &eb);
    if (rc < 0) {
        bp_log_warn("tmpl_api", "variant_skipped", "key=%s locale=%s err=%s msg=\"%s\"",
                    r->key, r->locale, bp_err_name(rc), eb.msg);
        return 0;
    }
    if (b->n == 0 || strcmp(b->custom[b->n - 1].key, r->key) != 0) {
        if (b->n == b->cap) {
            b->cap = b->cap ? b->cap * 2 : 16;
            b->custom = bp_xrealloc(b->custom, b->cap * sizeof *b->custom);
        }
        c = &b->custom[b->n++];
        memset(c, 0, sizeof *c);
        c->key = bp_xstrdup(r->key);
        c->description = bp_xstrdup(r->description ? r->description : "");
    }
    c = &b->custom[b->n - 1];
    if (r->updated_at > c->updated_at)
        c->updated_at = r->updated_at;
    c->v = bp_xrealloc(c->v, (c->nv + 1) * sizeof *c->v);
    c->v[c->nv++] = (struct bp__tmpl_api_variant){
        bp_xstrdup(r->locale), r->subject ? bp_xstrdup(r->subject) : NULL,
        bp_xstrdup(r->pattern)};
    return 0;
}

int bp_tmpl_api_load(struct bp_store *s, const char *dir,
                     struct bp_tmpl_catalog **out, struct bp_errbuf *eb)
{
    struct bp_tmpl_snap *snap;
    int rc = bp__tmpl_api_snap_build(s, dir, &snap, eb);

    if (rc < 0)
        return rc;
    *out = snap->cat;
    snap->cat = NULL;
    bp__tmpl_api_snap_free(snap);
    return 0;
}

int bp__tmpl_api_snap_build(struct bp_store *s, const char *dir,
                            struct bp_tmpl_snap **out, struct bp_errbuf *eb)
{
    struct build_ctx b = {.cat = bp_tmpl_catalog_new()};
    struct bp_tmpl_snap *snap;
    int rc;

    *out = NULL;
    rc = bp_tmpl_catalog_load_dir(b.cat, dir, eb);
    if (rc == 0 && (rc = bp_store_template_list(s, on_row, &b)) < 0)
        bp_errbuf_set(eb, "template", "cannot read the custom templates");
    snap = bp_xcalloc(1, sizeof *snap);
    snap->cat = b.cat;
    snap->custom = b.custom;
    snap->ncustom = b.n;
    if (rc < 0) {
        bp__tmpl_api_snap_free(snap);
        return rc;
    }
    *out = snap;
    return 0;
}

void bp__tmpl_api_snap_free(struct bp_tmpl_snap *snap)
{
    if (snap == NULL)
        return;
    bp_tmpl_catalog_free(snap->cat);
    for (size_t i = 0; i < snap->ncustom; i++) {
        struct bp__tmpl_api_custom *c = &snap->custom[i];
        for (size_t j = 0; j < c->nv; j++) {
            free(c->v[j].locale);
            free(c->v[j].subject);
            free(c->v[j].pattern);
        }
        free(c->v);
        free(c->key);
        free(c->description);
    }
    free(snap->custom);
    free(snap);
}

const struct bp__tmpl_api_custom *bp__tmpl_api_custom_find(
    const struct bp_tmpl_snap *snap, const char *key)
{
    size_t lo = 0, hi = snap->ncustom;

    while (lo < hi) {        /* rows came ORDER BY key: sorted */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(snap->custom[mid].key, key);
        if (c == 0)
            return &snap->custom[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* key -> description of the catalogue's messages, from <dir>/en.json (the
 * lint guarantees every locale file has the same keys). */
static json_t *file_keys(const char *dir)
{
    char path[4096];
    json_t *doc, *v, *keys = json_object();
    const char *k;

    snprintf(path, sizeof path, "%s/en.json", dir);
    doc = json_load_file(path, 0, NULL);
    json_object_foreach(doc, k, v) {
        if (k[0] == '@')
            continue;
        char at[256];
        snprintf(at, sizeof at, "@%s", k);
        const char *d = json_string_value(json_object_get(json_object_get(doc, at),
                                                          "description"));
        json_object_set_new(keys, k, json_string(d ? d : ""));
    }
    json_decref(doc);
    return keys;
}

int bp_tmpl_api_live_new(struct bp_store *s, const char *dir,
                         const char *source_locale, struct bp_tmpl_live **out,
                         struct bp_errbuf *eb)
{
    struct bp_tmpl_live *live;
    struct bp_tmpl_snap *snap;
    int rc;

    *out = NULL;
    if ((rc = bp__tmpl_api_snap_build(s, dir, &snap, eb)) < 0)
        return rc;
    live = bp_xcalloc(1, sizeof *live);
    pthread_mutex_init(&live->mu, NULL);
    live->dir = bp_xstrdup(dir);
    live->file_keys = file_keys(dir);
    snprintf(live->source_locale, sizeof live->source_locale, "%s",
             source_locale ? source_locale : "en");
    snap->refs = 1;
    live->cur = snap;
    *out = live;
    return 0;
}

void bp_tmpl_api_live_free(struct bp_tmpl_live *live)
{
    if (live == NULL)
        return;
    bp_tmpl_api_release(live, live->cur);
    pthread_mutex_destroy(&live->mu);
    json_decref(live->file_keys);
    free(live->dir);
    free(live);
}

const struct bp_tmpl_snap *bp_tmpl_api_acquire(struct bp_tmpl_live *live)
{
    struct bp_tmpl_snap *snap;

    pthread_mutex_lock(&live->mu);
    snap = live->cur;
    snap->refs++;
    pthread_mutex_unlock(&live->mu);
    return snap;
}

void bp_tmpl_api_release(struct bp_tmpl_live *live, const struct bp_tmpl_snap *snap)
{
    struct bp_tmpl_snap *sp = (struct bp_tmpl_snap *)snap;
    bool last;

    if (sp == NULL)
        return;
    pthread_mutex_lock(&live->mu);
    last = --sp->refs == 0;
    pthread_mutex_unlock(&live->mu);
    if (last)
        bp__tmpl_api_snap_free(sp);
}

int bp_tmpl_api_reload(struct bp_tmpl_live *live, struct bp_store *s,
                       struct bp_errbuf *eb)
{
    struct bp_tmpl_snap *snap;
    int rc = bp__tmpl_api_snap_build(s, live->dir, &snap, eb);

    if (rc < 0)
        return rc;
    bp__tmpl_api_swap(live, snap);
    return 0;
}

void bp__tmpl_api_swap(struct bp_tmpl_live *live, struct bp_tmpl_snap *snap)
{
    struct bp_tmpl_snap *old;

    snap->refs = 1;
    pthread_mutex_lock(&live->mu);
    old = live->cur;
    live->cur = snap;
    pthread_mutex_unlock(&live->mu);
    bp_tmpl_api_release(live, old);      /* the holder's reference */
}

const struct bp_tmpl_catalog *bp_tmpl_api_catalog(const struct bp_tmpl_snap *snap)
{
    return snap->cat;
}

const char *bp_tmpl_api_subject(const struct bp_tmpl_snap *snap, const char *key,
                                const char *locale)
{
    const struct bp__tmpl_api_custom *c = bp__tmpl_api_custom_find(snap, key);

    for (size_t i = 0; c != NULL && i < c->nv; i++)
        if (strcasecmp(c->v[i].locale, locale) == 0)
            return c->v[i].subject;
    return NULL;
}

bool bp_tmpl_api_is_custom(const struct bp_tmpl_snap *snap, const char *key)
{
    return bp__tmpl_api_custom_find(snap, key) != NULL;
}
