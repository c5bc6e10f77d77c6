/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Message templates: ICU MessageFormat patterns with NAMED arguments,
 * grouped in a catalogue of (key, locale) entries, rendered in a family's
 * locale and time zone; plus locale negotiation (guardian locale -> the best
 * catalogue locale, or the school default as a reported fallback).
 *
 * Catalogue files: locales/<bcp47>.json, one flat object key -> pattern,
 * with "@@"-prefixed metadata keys and "@key" descriptions (ARB style); see
 * docs/locales.md.
 *
 * Lifetime and threading: a catalogue is built (load/add) by one thread,
 * then shared read-only.  After the last add, every const function below
 * may be called concurrently from any thread (the store writer thread and
 * the loop thread both render): each compiled pattern keeps a small pool of
 * private MessageFormat clones handed out under a mutex, because ICU's
 * MessageFormat::format is const but lazily creates sub-formatters inside
 * the object (not safe to share between threads).
 *
 * Validation happens at load / add time (bp_tmpl_validate for a template
 * being saved); rendering a loaded entry only fails for bad arguments
 * (missing argument, unknown time zone, bad currency code) or a full
 * output buffer.
 */
#ifndef BP_TMPL_H
#define BP_TMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp/base.h"
#include "bp/err.h"

struct bp_tmpl_catalog;

enum bp_tmpl_arg_type {
    BP_TMPL_STR = 1,     /* v.str, UTF-8 (borrowed) */
    BP_TMPL_INT,         /* v.i64: counts, plural selectors */
    BP_TMPL_DOUBLE,      /* v.num */
    BP_TMPL_DATE,        /* v.epoch_ms: an instant, shown in the render's zone */
    BP_TMPL_MONEY,       /* v.money: amount + ISO 4217 currency ("USD") */
};

struct bp_tmpl_arg {
    const char *name;    /* argument name as written in the pattern */
    enum bp_tmpl_arg_type type;
    union {
        const char *str;
        int64_t i64;
        double num;
        int64_t epoch_ms;
        struct { double amount; char currency[4]; } money;
    } v;
};

/* Convenience initialisers: struct bp_tmpl_arg a[] = {BP_TMPL_ARG_STR("student", s)}. */
#define BP_TMPL_ARG_STR(n, s)  {.name = (n), .type = BP_TMPL_STR, .v.str = (s)}
#define BP_TMPL_ARG_INT(n, i)  {.name = (n), .type = BP_TMPL_INT, .v.i64 = (i)}
#define BP_TMPL_ARG_DBL(n, d)  {.name = (n), .type = BP_TMPL_DOUBLE, .v.num = (d)}
#define BP_TMPL_ARG_DATE(n, m) {.name = (n), .type = BP_TMPL_DATE, .v.epoch_ms = (m)}
#define BP_TMPL_ARG_MONEY(n, a, cur) \
    {.name = (n), .type = BP_TMPL_MONEY, .v.money = {(a), cur}}

/* ---- catalogue ---------------------------------------------------------- */

/* Returns a new empty catalogue (caller frees with bp_tmpl_catalog_free). */
struct bp_tmpl_catalog *bp_tmpl_catalog_new(void);
void bp_tmpl_catalog_free(struct bp_tmpl_catalog *cat);

/*
 * Loads every locales/<tag>.json of dir (sorted by name), each with
 * bp_tmpl_catalog_load_file.  Stops at the first invalid file: eb->where
 * says "file.json: key" and eb->msg the reason (with the offset in the
 * pattern for a syntax error).  Returns 0, BP_EIO, BP_EINVAL_INPUT.
 */
BP_WUR int bp_tmpl_catalog_load_dir(struct bp_tmpl_catalog *cat,
                                    const char *dir, struct bp_errbuf *eb);
/* Loads one catalogue file; the locale is the file name without ".json". */
BP_WUR int bp_tmpl_catalog_load_file(struct bp_tmpl_catalog *cat,
                                     const char *path, struct bp_errbuf *eb);

/*
 * Declares a locale (BCP 47 tag, e.g. "zh-Hant").  icu_locale (may be NULL)
 * is the ICU locale used for formatting, e.g. "ar@numbers=latn"; NULL uses
 * the tag.  rtl marks a right-to-left script.  Adding an existing tag
 * updates nothing and returns 0.  BP_EINVAL_INPUT for a malformed tag.
 */
BP_WUR int bp_tmpl_catalog_add_locale(struct bp_tmpl_catalog *cat,
                                      const char *tag, const char *icu_locale,
                                      bool rtl, struct bp_errbuf *eb);
/*
 * Compiles and adds pattern as (key, locale); the locale is declared on the
 * fly if needed.  Invalid pattern -> BP_EINVAL_INPUT with the position;
 * (key, locale) already present -> BP_EDUPLICATE.  Strings are copied.
 */
BP_WUR int bp_tmpl_catalog_add(struct bp_tmpl_catalog *cat, const char *locale,
                               const char *key, const char *pattern,
                               struct bp_errbuf *eb);

bool bp_tmpl_catalog_has(const struct bp_tmpl_catalog *cat,
                         const char *locale, const char *key);
size_t bp_tmpl_catalog_locale_count(const struct bp_tmpl_catalog *cat);
/* i-th declared locale tag (valid while the catalogue lives), NULL past end. */
const char *bp_tmpl_catalog_locale(const struct bp_tmpl_catalog *cat, size_t i);
bool bp_tmpl_catalog_locale_rtl(const struct bp_tmpl_catalog *cat,
                                const char *locale);
/*
 * The pattern text of (key, locale), or NULL (valid while the catalogue
 * lives).
 */
const char *bp_tmpl_catalog_pattern(const struct bp_tmpl_catalog *cat,
                                    const char *locale, const char *key);

/*
 * The catalogue directory to load: configured (the [school] locales_dir
 * value) when non-empty, else the installed locales directory, else the
 * source tree's (running from a build directory).  Returns configured or a
 * static string.  Any thread.
 */
const char *bp_tmpl_locales_dir(const char *configured);

/* ---- validation and rendering ------------------------------------------ */

/*
 * Checks pattern as it would be compiled for locale (save-time validation
 * of custom templates).  Rules beyond ICU's syntax: arguments must be named
 * (no {0}); a date/time argument must not sit inside a plural/select branch
 * (its time zone could not be set).  On error eb->msg names the character
 * offset ("at offset 17 near '...'").  Any thread.
 */
BP_WUR int bp_tmpl_validate(const char *locale, const char *pattern,
                            struct bp_errbuf *eb);

/*
 * Checks that every plural/selectordinal block of (key, locale) has a
 * branch for each CLDR category of the locale (ar: zero one two few many
 * other; ru: one few many other; es/pt/fr: one many other...).  A missing
 * category is not a syntax error (ICU falls back to "other"), so this is a
 * separate check: the catalogue test enforces it, the template editor can
 * show it as a warning.  Returns 0, BP_ENOTFOUND, BP_EINVAL_INPUT (eb names
 * the category and the offset).  Any thread.
 */
BP_WUR int bp_tmpl_check_plurals(const struct bp_tmpl_catalog *cat,
                                 const char *locale, const char *key,
                                 struct bp_errbuf *eb);

/*
 * Renders (key, locale) with args into out (appended, UTF-8, NUL
 * terminated).  tz is an IANA zone name ("America/Chicago") used for date
 * and time arguments; NULL means UTC.  Every argument the pattern uses must
 * be given (extra ones are ignored).  Returns 0; BP_ENOTFOUND for no such
 * entry; BP_EINVAL_INPUT for a missing argument, unknown zone or currency;
 * BP_ETOOBIG when out's cap is reached (out is then unchanged).
 * Any thread, concurrently (see top of file).  args are borrowed.
 */
BP_WUR int bp_tmpl_render(const struct bp_tmpl_catalog *cat, const char *key,
                          const char *locale, const struct bp_tmpl_arg *args,
                          size_t nargs, const char *tz, struct bp_buf *out,
                          struct bp_errbuf *eb);

/*
 * Same for a pattern that is not in a catalogue (preview of a template being
 * edited): compiled, rendered, thrown away.  icu_locale may be an ICU id
 * ("ar@numbers=latn") or a BCP 47 tag.
 */
BP_WUR int bp_tmpl_render_pattern(const char *icu_locale, const char *pattern,
                                  const struct bp_tmpl_arg *args, size_t nargs,
                                  const char *tz, struct bp_buf *out,
                                  struct bp_errbuf *eb);

/* ---- locale negotiation ------------------------------------------------- */

enum bp_tmpl_match {
    BP_TMPL_MATCH_NONE = 0,
    BP_TMPL_MATCH_EXACT,      /* the guardian's own tag (case-insensitive) */
    BP_TMPL_MATCH_LANGUAGE,   /* same language and script: es-MX -> es,
                                 zh-TW -> zh-Hant (still the guardian's language) */
    BP_TMPL_MATCH_DEFAULT,    /* school default: NOT the guardian's language */
};

/*
 * Picks the catalogue locale to use for a guardian whose locale is
 * requested (BCP 47 from the roster; NULL, "" or "und" = unknown).  When
 * key is non-NULL only locales that have that key count.  Chain: exact tag
 * -> same language+script+region -> same language+script with no region
 * (scripts inferred with ICU's likely subtags: zh-TW is Hant, zh and zh-CN
 * are Hans, sr-RS is Cyrl) -> default_locale (negotiated the same way) with
 * *match = BP_TMPL_MATCH_DEFAULT.  The caller decides: hold the delivery
 * (no_translation) or, for a legally required system message, send it in
 * the default.  Writes the chosen catalogue tag into out.  Returns 0, or
 * BP_ENOTFOUND when even the default has no entry (out = "", *match NONE).
 * Any thread.
 */
BP_WUR int bp_tmpl_negotiate(const struct bp_tmpl_catalog *cat,
                             const char *requested, const char *key,
                             const char *default_locale, char *out, size_t n,
                             enum bp_tmpl_match *match);

const char *bp_tmpl_match_name(enum bp_tmpl_match m);   /* "exact"... */

#endif
