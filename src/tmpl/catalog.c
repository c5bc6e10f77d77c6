/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The template catalogue: (key, locale) -> compiled ICU MessageFormat.
 *
 * Sources: locales/<bcp47>.json files (jansson; one flat object, ARB-like:
 * "@@locale", "@@icu_locale", "@@direction" metadata, "@key" description
 * objects, every other member a message key -> pattern string), and later
 * the DB's template_variant rows through bp_tmpl_catalog_add.  Every pattern
 * is compiled when it is added, so a broken translation fails the load with
 * the file, key and offset, never a send.
 *
 * Entries are kept sorted by (key, locale index) and found by binary
 * search; locales are few (a dozen) and found by a linear scan.  Nothing is
 * mutated after loading, which is what makes rendering thread-safe (the
 * per-pattern clone pools in fmt.cc have their own mutex).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "tmpl_int.h"

struct bp_tmpl_catalog *bp_tmpl_catalog_new(void)
{
    return bp_xcalloc(1, sizeof(struct bp_tmpl_catalog));
}

void bp_tmpl_catalog_free(struct bp_tmpl_catalog *cat)
{
    if (cat == NULL)
        return;
    for (size_t i = 0; i < cat->nentries; i++) {
        free(cat->entries[i].key);
        free(cat->entries[i].pattern);
        bp__tmpl_fmt_free(cat->entries[i].fmt);
    }
    free(cat->entries);
    free(cat->locales);
    free(cat);
}

int bp_tmpl_catalog_add_locale(struct bp_tmpl_catalog *cat, const char *tag,
                               const char *icu_locale, bool rtl,
                               struct bp_errbuf *eb)
{
    struct bp__tmpl_locale l;
    if (bp__tmpl_locale_find(cat, tag) >= 0)
        return 0;
    if (bp__tmpl_locale_parse(tag, &l) < 0) {
        bp_errbuf_set(eb, tag, "not a usable BCP 47 language tag");
        return BP_EINVAL_INPUT;
    }
    if (icu_locale != NULL)
        snprintf(l.icu_id, sizeof l.icu_id, "%s", icu_locale);
    l.rtl = rtl;
    if (cat->nlocales == cat->alocales) {
        cat->alocales = cat->alocales ? cat->alocales * 2 : 16;
        cat->locales = bp_xrealloc(cat->locales,
                                   cat->alocales * sizeof *cat->locales);
    }
    cat->locales[cat->nlocales++] = l;
    return 0;
}

/* Position of (key, loc) or of where it would be inserted; *hit if found. */
static size_t search(const struct bp_tmpl_catalog *cat, const char *key,
                     size_t loc, bool *hit)
{
    size_t lo = 0, hi = cat->nentries;
    *hit = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct bp__tmpl_entry *e = &cat->entries[mid];
        int c = strcmp(e->key, key);
        if (c == 0)
            c = e->loc < loc ? -1 : e->loc > loc ? 1 : 0;
        if (c == 0) {
            *hit = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool key_ok(const char *k)
{
    if (k[0] < 'a' || k[0] > 'z' || strlen(k) > 120)
        return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.'))
            return false;
    return true;
}

int bp_tmpl_catalog_add(struct bp_tmpl_catalog *cat, const char *locale,
                        const char *key, const char *pattern,
                        struct bp_errbuf *eb)
{
    struct bp__tmpl_fmt *fmt = NULL;
    bool hit;
    int rc;

    if (!key_ok(key)) {
        bp_errbuf_set(eb, key, "bad key (want [a-z][a-z0-9_.]*)");
        return BP_EINVAL_INPUT;
    }
    if ((rc = bp_tmpl_catalog_add_locale(cat, locale, NULL, false, eb)) < 0)
        return rc;
    size_t loc = (size_t)bp__tmpl_locale_find(cat, locale);
    size_t pos = search(cat, key, loc, &hit);
    if (hit) {
        bp_errbuf_set(eb, key, "duplicate key for locale %s", locale);
        return BP_EDUPLICATE;
    }
    rc = bp__tmpl_fmt_compile(cat->locales[loc].icu_id, pattern, &fmt, eb);
    if (rc < 0) {
        if (eb != NULL)
            snprintf(eb->where, sizeof eb->where, "%s: %s", locale, key);
        return rc;
    }
    if (cat->nentries == cat->aentries) {
        cat->aentries = cat->aentries ? cat->aentries * 2 : 64;
        cat->entries = bp_xrealloc(cat->entries,
                                   cat->aentries * sizeof *cat->entries);
    }
    memmove(&cat->entries[pos + 1], &cat->entries[pos],
            (cat->nentries - pos) * sizeof *cat->entries);
    cat->entries[pos] = (struct bp__tmpl_entry){
        bp_xstrdup(key), loc, bp_xstrdup(pattern), fmt};
    cat->nentries++;
    return 0;
}

static const struct bp__tmpl_entry *lookup(const struct bp_tmpl_catalog *cat,
                                           const char *locale, const char *key)
{
    long loc = bp__tmpl_locale_find(cat, locale);
    bool hit;
    if (loc < 0 || key == NULL)
        return NULL;
    size_t pos = search(cat, key, (size_t)loc, &hit);
    return hit ? &cat->entries[pos] : NULL;
}

bool bp_tmpl_catalog_has(const struct bp_tmpl_catalog *cat, const char *locale,
                         const char *key)
{
    return lookup(cat, locale, key) != NULL;
}

const char *bp_tmpl_catalog_pattern(const struct bp_tmpl_catalog *cat,
                                    const char *locale, const char *key)
{
    const struct bp__tmpl_entry *e = lookup(cat, locale, key);
    return e ? e->pattern : NULL;
}

size_t bp_tmpl_catalog_locale_count(const struct bp_tmpl_catalog *cat)
{
    return cat->nlocales;
}

const char *bp_tmpl_catalog_locale(const struct bp_tmpl_catalog *cat, size_t i)
{
    return i < cat->nlocales ? cat->locales[i].tag : NULL;
}

bool bp_tmpl_catalog_locale_rtl(const struct bp_tmpl_catalog *cat,
                                const char *locale)
{
    long i = bp__tmpl_locale_find(cat, locale);
    return i >= 0 && cat->locales[i].rtl;
}

int bp_tmpl_render(const struct bp_tmpl_catalog *cat, const char *key,
                   const char *locale, const struct bp_tmpl_arg *args,
                   size_t nargs, const char *tz, struct bp_buf *out,
                   struct bp_errbuf *eb)
{
    const struct bp__tmpl_entry *e = lookup(cat, locale, key);
    if (e == NULL) {
        bp_errbuf_set(eb, key, "no template for locale %s", locale);
        return BP_ENOTFOUND;
    }
    return bp__tmpl_fmt_format(e->fmt, args, nargs, tz, out, eb);
}

int bp_tmpl_render_pattern(const char *icu_locale, const char *pattern,
                           const struct bp_tmpl_arg *args, size_t nargs,
                           const char *tz, struct bp_buf *out,
                           struct bp_errbuf *eb)
{
    struct bp__tmpl_fmt *f = NULL;
    char id[96];
    struct bp__tmpl_locale l;
    /* A BCP 47 tag is turned into an ICU id; an ICU id is used as is. */
    if (strchr(icu_locale, '@') == NULL && bp__tmpl_locale_parse(icu_locale, &l) == 0)
        snprintf(id, sizeof id, "%s", l.icu_id);
    else
        snprintf(id, sizeof id, "%s", icu_locale);
    int rc = bp__tmpl_fmt_compile(id, pattern, &f, eb);
    if (rc == 0)
        rc = bp__tmpl_fmt_format(f, args, nargs, tz, out, eb);
    bp__tmpl_fmt_free(f);
    return rc;
}

int bp_tmpl_validate(const char *locale, const char *pattern,
                     struct bp_errbuf *eb)
{
    struct bp__tmpl_fmt *f = NULL;
    struct bp__tmpl_locale l;
    if (bp__tmpl_locale_parse(locale, &l) < 0) {
        bp_errbuf_set(eb, locale, "not a usable BCP 47 language tag");
        return BP_EINVAL_INPUT;
    }
    int rc = bp__tmpl_fmt_compile(l.icu_id, pattern, &f, eb);
    bp__tmpl_fmt_free(f);
    return rc;
}

int bp_tmpl_check_plurals(const struct bp_tmpl_catalog *cat, const char *locale,
                          const char *key, struct bp_errbuf *eb)
{
    const struct bp__tmpl_entry *e = lookup(cat, locale, key);
    if (e == NULL) {
        bp_errbuf_set(eb, key, "no template for locale %s", locale);
        return BP_ENOTFOUND;
    }
    return bp__tmpl_plural_check(cat->locales[e->loc].icu_id, e->pattern, eb);
}

/* ---- catalogue files ---------------------------------------------------- */

static int load_meta(struct bp_tmpl_catalog *cat, const char *tag, json_t *root,
                     struct bp_errbuf *eb)
{
    json_t *loc = json_object_get(root, "@@locale");
    json_t *icu = json_object_get(root, "@@icu_locale");
    json_t *dir = json_object_get(root, "@@direction");
    if (loc != NULL && !bp_str_eq(json_string_value(loc), tag)) {
        bp_errbuf_set(eb, "@@locale", "says %s but the file is %s.json",
                      json_string_value(loc) ? json_string_value(loc) : "?", tag);
        return BP_EINVAL_INPUT;
    }
    if ((icu != NULL && !json_is_string(icu)) ||
        (dir != NULL && !bp_str_eq(json_string_value(dir), "ltr") &&
         !bp_str_eq(json_string_value(dir), "rtl"))) {
        bp_errbuf_set(eb, "@@", "bad @@icu_locale or @@direction");
        return BP_EINVAL_INPUT;
    }
    return bp_tmpl_catalog_add_locale(cat, tag, json_string_value(icu),
                                      bp_str_eq(json_string_value(dir), "rtl"), eb);
}

static int load_messages(struct bp_tmpl_catalog *cat, const char *tag,
                         json_t *root, struct bp_errbuf *eb)
{
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (k[0] == '@')
            continue;                    /* metadata and descriptions */
        if (!json_is_string(v)) {
            bp_errbuf_set(eb, k, "value must be a string");
            return BP_EINVAL_INPUT;
        }
        int rc = bp_tmpl_catalog_add(cat, tag, k, json_string_value(v), eb);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int bp_tmpl_catalog_load_file(struct bp_tmpl_catalog *cat, const char *path,
                              struct bp_errbuf *eb)
{
    json_error_t jerr;
    char tag[40];
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n < 6 || n - 5 >= sizeof tag || strcmp(base + n - 5, ".json") != 0) {
        bp_errbuf_set(eb, path, "catalogue files are named <bcp47>.json");
        return BP_EINVAL_INPUT;
    }
    snprintf(tag, sizeof tag, "%.*s", (int)(n - 5), base);
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        bp_errbuf_set(eb, path, "line %d: %s", jerr.line,
                      root ? "top level must be an object" : jerr.text);
        json_decref(root);
        return root ? BP_EINVAL_INPUT : BP_EIO;
    }
    int rc = load_meta(cat, tag, root, eb);
    if (rc == 0)
        rc = load_messages(cat, tag, root, eb);
    json_decref(root);
    if (rc < 0 && eb != NULL) {
        char where[sizeof eb->where];
        snprintf(where, sizeof where, "%s", eb->where);
        snprintf(eb->where, sizeof eb->where, "%.40s: %.200s", base, where);
    }
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int bp_tmpl_catalog_load_dir(struct bp_tmpl_catalog *cat, const char *dir,
                             struct bp_errbuf *eb)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    if (d == NULL) {
        bp_errbuf_set(eb, dir, "cannot open catalogue folder");
        return BP_EIO;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json"))
            continue;
        names = bp_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = bp_xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        rc = bp_tmpl_catalog_load_file(cat, path, eb);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == 0 && n == 0) {
        bp_errbuf_set(eb, dir, "no <locale>.json catalogue files");
        rc = BP_ENOTFOUND;
    }
    return rc;
}
