/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals of the tmpl module shared between its C files and the C++
 * MessageFormat wrapper (fmt.cc).
 */
#ifndef BP_TMPL_INT_H
#define BP_TMPL_INT_H

#ifdef __cplusplus
extern "C" {
#endif

#include "bp/tmpl.h"

/* A declared locale; subtags come from ICU's likely-subtags maximisation. */
struct bp__tmpl_locale {
    char tag[36];              /* BCP 47 as declared ("zh-Hant") */
    char icu_id[96];           /* ICU id used for formatting */
    char lang[12], script[8], region[8];
    bool has_region;           /* region written in the tag itself */
    bool rtl;
};

struct bp__tmpl_entry {
    char *key;
    size_t loc;                /* index into locales */
    char *pattern;
    struct bp__tmpl_fmt *fmt;
};

struct bp_tmpl_catalog {
    struct bp__tmpl_locale *locales;
    size_t nlocales, alocales;
    struct bp__tmpl_entry *entries;    /* sorted by (key, loc) */
    size_t nentries, aentries;
};

/*
 * Parses a BCP 47 tag (underscores accepted) into maximised subtags with
 * language aliases folded (fil -> tl, iw -> he, cmn -> zh, yue -> zh).
 * Returns 0, or BP_EINVAL_INPUT for a malformed or undetermined ("und")
 * tag.
 */
int bp__tmpl_locale_parse(const char *tag, struct bp__tmpl_locale *out);
/* Index of the locale whose tag equals tag (ASCII case-insensitive), or -1. */
long bp__tmpl_locale_find(const struct bp_tmpl_catalog *cat, const char *tag);

/* A compiled pattern: immutable prototype plus a pool of clones. */
struct bp__tmpl_fmt;

/*
 * Compiles pattern for ICU locale id icu_locale.  *out is new (free with
 * bp__tmpl_fmt_free).  BP_EINVAL_INPUT with position in eb; BP_ENOMEM.
 */
int bp__tmpl_fmt_compile(const char *icu_locale, const char *pattern,
                         struct bp__tmpl_fmt **out, struct bp_errbuf *eb);
void bp__tmpl_fmt_free(struct bp__tmpl_fmt *f);
/* Renders (thread-safe) into out; see bp_tmpl_render for return codes. */
int bp__tmpl_fmt_format(struct bp__tmpl_fmt *f, const struct bp_tmpl_arg *args,
                        size_t nargs, const char *tz, struct bp_buf *out,
                        struct bp_errbuf *eb);
/*
 * BP_EINVAL_INPUT (with the plural's position and the missing category in
 * eb) when a plural/selectordinal block lacks a CLDR category of the locale.
 */
int bp__tmpl_plural_check(const char *icu_locale, const char *pattern,
                          struct bp_errbuf *eb);

#ifdef __cplusplus
}
#endif

#endif
