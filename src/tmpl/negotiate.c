/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Locale negotiation: which catalogue locale a guardian gets.
 *
 * Tags are compared by (language, script, region) after ICU's likely-subtags
 * maximisation (uloc_addLikelySubtags), because structural truncation
 * (uloc_getParent) is wrong for Chinese: zh-TW must reach zh-Hant, and zh
 * or zh-CN must reach zh-Hans (DEPENDENCY-NOTES §5).  Order of preference:
 *   1. the catalogue has the guardian's tag itself          -> EXACT
 *   2. same language + script + region (zh-Hant-TW = zh-TW)   -> LANGUAGE
 *   3. same language + script, catalogue entry without region
 *      (es-MX -> es, pt-BR -> pt, zh-HK -> zh-Hant)           -> LANGUAGE
 *   4. the school default, negotiated the same way            -> DEFAULT
 * A few language aliases are folded after maximisation: fil = tl (the
 * roster may say either for Tagalog/Filipino), legacy iw/in/mo/ji codes,
 * cmn = zh, and yue (Cantonese) = zh: in US districts "Cantonese" is the
 * spoken home language of families who read Traditional Chinese, and yue
 * maximises to Hant, so yue-HK reaches zh-Hant, never zh-Hans.
 * "und", "" and private-use-only tags are unknown: straight to the default.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unicode/uloc.h>

#include "tmpl_int.h"

static const char *const lang_alias[][2] = {
    {"fil", "tl"}, {"iw", "he"}, {"in", "id"}, {"mo", "ro"}, {"ji", "yi"},
    {"cmn", "zh"}, {"yue", "zh"},
};

static void fold_alias(char *lang, size_t n)
{
    for (size_t i = 0; i < BP_ARRAY_LEN(lang_alias); i++)
        if (strcmp(lang, lang_alias[i][0]) == 0) {
            snprintf(lang, n, "%s", lang_alias[i][1]);
            return;
        }
}

static int subtags(const char *id, struct bp__tmpl_locale *out)
{
    char max[ULOC_FULLNAME_CAPACITY];
    UErrorCode st = U_ZERO_ERROR;
    uloc_addLikelySubtags(id, max, sizeof max, &st);
    if (U_FAILURE(st))
        return BP_EINVAL_INPUT;
    uloc_getLanguage(max, out->lang, sizeof out->lang, &st);
    uloc_getScript(max, out->script, sizeof out->script, &st);
    uloc_getCountry(max, out->region, sizeof out->region, &st);
    if (U_FAILURE(st) || out->lang[0] == '\0')
        return BP_EINVAL_INPUT;
    return 0;
}

int bp__tmpl_locale_parse(const char *tag, struct bp__tmpl_locale *out)
{
    char buf[64], id[96], reg[8];
    int32_t parsed = 0;
    UErrorCode st = U_ZERO_ERROR;

    memset(out, 0, sizeof *out);
    if (tag == NULL || tag[0] == '\0' || strlen(tag) >= sizeof out->tag)
        return BP_EINVAL_INPUT;
    snprintf(buf, sizeof buf, "%s", tag);
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = '-';
    uloc_forLanguageTag(buf, id, sizeof id, &parsed, &st);
    if (U_FAILURE(st) || (size_t)parsed != strlen(buf))
        return BP_EINVAL_INPUT;
    uloc_getLanguage(id, out->lang, sizeof out->lang, &st);
    uloc_getCountry(id, reg, sizeof reg, &st);
    if (U_FAILURE(st) || out->lang[0] == '\0')
        return BP_EINVAL_INPUT;                /* und, x-private */
    out->has_region = reg[0] != '\0';
    snprintf(out->tag, sizeof out->tag, "%s", tag);
    snprintf(out->icu_id, sizeof out->icu_id, "%s", id);
    if (subtags(id, out) < 0)
        return BP_EINVAL_INPUT;
    char before[sizeof out->lang];
    snprintf(before, sizeof before, "%s", out->lang);
    fold_alias(out->lang, sizeof out->lang);
    if (out->script[0] == '\0' && strcmp(before, out->lang) != 0) {
        /* cmn has no likely subtags of its own: ask again as zh */
        char again[64];
        snprintf(again, sizeof again, "%s%s%s", out->lang, reg[0] ? "_" : "", reg);
        if (subtags(again, out) < 0)
            return BP_EINVAL_INPUT;
    }
    return 0;
}

long bp__tmpl_locale_find(const struct bp_tmpl_catalog *cat, const char *tag)
{
    for (size_t i = 0; tag != NULL && i < cat->nlocales; i++)
        if (strcasecmp(cat->locales[i].tag, tag) == 0)
            return (long)i;
    return -1;
}

/* Best catalogue locale for want (having key when non-NULL), or -1. */
static long best(const struct bp_tmpl_catalog *cat, const char *tag,
                 const char *key, bool *exact)
{
    struct bp__tmpl_locale want;
    long hit = bp__tmpl_locale_find(cat, tag);
    if (hit >= 0 && (key == NULL ||
                     bp_tmpl_catalog_has(cat, cat->locales[hit].tag, key))) {
        *exact = true;
        return hit;
    }
    *exact = false;
    if (bp__tmpl_locale_parse(tag, &want) < 0)
        return -1;
    long found = -1;
    int found_score = 0;
    for (size_t i = 0; i < cat->nlocales; i++) {
        const struct bp__tmpl_locale *c = &cat->locales[i];
        if (strcmp(c->lang, want.lang) != 0 || strcmp(c->script, want.script) != 0)
            continue;
        int score;
        if (!c->has_region)
            score = 1;
        else if (strcmp(c->region, want.region) == 0)
            score = 2;
        else
            continue;                    /* pt-PT is no answer for pt-BR */
        if (key != NULL && !bp_tmpl_catalog_has(cat, c->tag, key))
            continue;
        if (score > found_score) {
            found = (long)i;
            found_score = score;
        }
    }
    return found;
}

int bp_tmpl_negotiate(const struct bp_tmpl_catalog *cat, const char *requested,
                      const char *key, const char *default_locale, char *out,
                      size_t n, enum bp_tmpl_match *match)
{
    bool exact = false;
    long i = requested != NULL ? best(cat, requested, key, &exact) : -1;
    enum bp_tmpl_match m = exact ? BP_TMPL_MATCH_EXACT : BP_TMPL_MATCH_LANGUAGE;

    if (i < 0 && default_locale != NULL) {
        i = best(cat, default_locale, key, &exact);
        m = BP_TMPL_MATCH_DEFAULT;
    }
    if (i < 0) {
        if (n > 0)
            out[0] = '\0';
        *match = BP_TMPL_MATCH_NONE;
        return BP_ENOTFOUND;
    }
    snprintf(out, n, "%s", cat->locales[i].tag);
    *match = m;
    return 0;
}

const char *bp_tmpl_match_name(enum bp_tmpl_match m)
{
    switch (m) {
    case BP_TMPL_MATCH_EXACT: return "exact";
    case BP_TMPL_MATCH_LANGUAGE: return "language";
    case BP_TMPL_MATCH_DEFAULT: return "default";
    default: return "none";
    }
}
