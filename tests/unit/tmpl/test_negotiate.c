/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Locale negotiation (src/tmpl/negotiate.c) on a catalogue of 13 locales. */
#include <stdio.h>
#include <string.h>

#include "bp/tmpl.h"
#include "bp_test.h"

static struct bp_tmpl_catalog *cat;

static void build(void)
{
    static const char *const tags[] = {
        "en", "es", "zh-Hans", "zh-Hant", "vi", "ar", "ht", "so", "ru", "pt",
        "tl", "ko", "fr",
    };
    cat = bp_tmpl_catalog_new();
    for (size_t i = 0; i < BP_ARRAY_LEN(tags); i++)
        if (bp_tmpl_catalog_add(cat, tags[i], "k", "x", NULL) < 0)
            printf("# add %s failed\n", tags[i]);
    /* only English has this key */
    if (bp_tmpl_catalog_add(cat, "en", "only.en", "x", NULL) < 0)
        printf("# add only.en failed\n");
    /* a regional variant that must win for its own region only */
    if (bp_tmpl_catalog_add(cat, "pt-PT", "k", "x", NULL) < 0)
        printf("# add pt-PT failed\n");
}

static int neg(const char *req, const char *key, char *out, enum bp_tmpl_match *m)
{
    return bp_tmpl_negotiate(cat, req, key, "en", out, 36, m);
}

#define EXPECT(req, want, match)                                            \
    do {                                                                    \
        char out_[36];                                                      \
        enum bp_tmpl_match m_;                                              \
        ASSERT_OK(neg((req), "k", out_, &m_));                              \
        ASSERT_STR_EQ(out_, (want));                                        \
        ASSERT_STR_EQ(bp_tmpl_match_name(m_), bp_tmpl_match_name(match));   \
    } while (0)

static void test_exact(void)
{
    EXPECT("es", "es", BP_TMPL_MATCH_EXACT);
    EXPECT("zh-hant", "zh-Hant", BP_TMPL_MATCH_EXACT);
    EXPECT("pt-PT", "pt-PT", BP_TMPL_MATCH_EXACT);
}

static void test_fallback_chain(void)
{
    EXPECT("es-MX", "es", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("es_419", "es", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("zh-TW", "zh-Hant", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("zh-HK", "zh-Hant", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("zh-CN", "zh-Hans", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("zh", "zh-Hans", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("zh-Hant-US", "zh-Hant", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("yue", "zh-Hant", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("pt-BR", "pt", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("fil", "tl", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("ar-SA", "ar", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("en-US", "en", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("fr-CA", "fr", BP_TMPL_MATCH_LANGUAGE);
    EXPECT("ht-HT", "ht", BP_TMPL_MATCH_LANGUAGE);
}

static void test_school_default(void)
{
    EXPECT("und", "en", BP_TMPL_MATCH_DEFAULT);
    EXPECT("", "en", BP_TMPL_MATCH_DEFAULT);
    EXPECT("x-foo", "en", BP_TMPL_MATCH_DEFAULT);
    EXPECT("am", "en", BP_TMPL_MATCH_DEFAULT);        /* Amharic: none */
    EXPECT("uz-Cyrl", "en", BP_TMPL_MATCH_DEFAULT);
    EXPECT("not a tag", "en", BP_TMPL_MATCH_DEFAULT);
    /* Serbian in Latin script is not Russian, nor is sr-Cyrl */
    EXPECT("sr", "en", BP_TMPL_MATCH_DEFAULT);
    char out[36];
    enum bp_tmpl_match m;
    ASSERT_OK(bp_tmpl_negotiate(cat, NULL, "k", "en", out, sizeof out, &m));
    ASSERT_EQ(m, BP_TMPL_MATCH_DEFAULT);
}

static void test_key_missing_in_language(void)
{
    char out[36];
    enum bp_tmpl_match m;
    ASSERT_OK(neg("es-MX", "only.en", out, &m));
    ASSERT_STR_EQ(out, "en");
    ASSERT_EQ(m, BP_TMPL_MATCH_DEFAULT);
    ASSERT_EQ(bp_tmpl_negotiate(cat, "es", "nope", "en", out, sizeof out, &m),
              BP_ENOTFOUND);
    ASSERT_EQ(m, BP_TMPL_MATCH_NONE);
    ASSERT_STR_EQ(out, "");
    /* a school whose default is Spanish (Mexico) falls back to es */
    ASSERT_OK(bp_tmpl_negotiate(cat, "am", "k", "es-MX", out, sizeof out, &m));
    ASSERT_STR_EQ(out, "es");
    ASSERT_EQ(m, BP_TMPL_MATCH_DEFAULT);
}

int main(void)
{
    build();
    BP_TEST(test_exact);
    BP_TEST(test_fallback_chain);
    BP_TEST(test_school_default);
    BP_TEST(test_key_missing_in_language);
    bp_tmpl_catalog_free(cat);
    return bp_test_done();
}
