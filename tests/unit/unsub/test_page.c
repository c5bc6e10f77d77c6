/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The unsubscribe pages rendered with the real catalogue (locales/): the
 * family's language (with fallback to the school's), dir="rtl" for Arabic,
 * HTML escaping of everything that comes from the configuration or the
 * database, the POST form on the confirm page only, and one wording for
 * every unknown link.
 */
#include "bp/unsub.h"
#include "bp_test.h"

static struct bp_tmpl_catalog *cat;

static char *page(enum bp_unsub_page kind, const char *locale, const char *school,
                  const char *address)
{
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_buf b;
    int rc;

    bp_buf_init(&b, 64 * 1024);
    rc = bp_unsub_page_render(cat, kind, locale, "en", school, address, &b, &eb);
    if (rc < 0) {
        printf("# render: %s %s\n", eb.where, eb.msg);
        bp_buf_free(&b);
        return NULL;
    }
    return bp_buf_take(&b, NULL);
}

static void test_confirm_in_english(void)
{
    char *p = page(BP_UNSUB_PAGE_CONFIRM, "en-US", "Lincoln Elementary", "amal@example.org");

    ASSERT_TRUE(p != NULL);
    if (p == NULL)
        return;
    ASSERT_TRUE(bp_str_starts_with(p, "<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">"));
    ASSERT_STR_CONTAINS(p, "<title>Unsubscribe from Lincoln Elementary e-mail</title>");
    ASSERT_STR_CONTAINS(p, "<h1>Unsubscribe from <bdi>Lincoln Elementary</bdi> e-mail</h1>");
    ASSERT_STR_CONTAINS(p, "<bdi>amal@example.org</bdi>");
    ASSERT_STR_CONTAINS(p, "<form method=\"post\">");
    ASSERT_STR_CONTAINS(p, "name=\"List-Unsubscribe\" value=\"One-Click\"");
    ASSERT_STR_CONTAINS(p, "<button type=\"submit\">Unsubscribe</button>");
    ASSERT_TRUE(strstr(p, "action=") == NULL);       /* posts to its own URL */
    ASSERT_TRUE(strstr(p, "<script") == NULL);
    ASSERT_TRUE(strstr(p, "\xee\x80") == NULL);       /* no marker left */
    free(p);
}

static void test_arabic_is_rtl_and_translated(void)
{
    char *p = page(BP_UNSUB_PAGE_DONE, "ar-EG", "Lincoln", "amal@example.org");

    ASSERT_TRUE(p != NULL);
    if (p == NULL)
        return;
    ASSERT_STR_CONTAINS(p, "<html lang=\"ar\" dir=\"rtl\">");
    ASSERT_STR_CONTAINS(p, "إلغاء الاشتراك");
    ASSERT_STR_CONTAINS(p, "<bdi>amal@example.org</bdi>");
    ASSERT_TRUE(strstr(p, "<form") == NULL);         /* done: no button */
    free(p);
}

static void test_languages_and_fallback(void)
{
    static const struct { const char *req, *tag, *word; } cases[] = {
        {"zh-TW", "zh-Hant", "取消訂閱"},
        {"zh-CN", "zh-Hans", "退订"},
        {"vi", "vi", "Hủy đăng ký"},
        {"es-MX", "es", "Cancelar la suscripción"},
        {"de", "en", "Unsubscribe"},           /* no German: the school's */
        {"", "en", "Unsubscribe"},
        {NULL, "en", "Unsubscribe"},
    };
    char want[64];

    for (size_t i = 0; i < BP_ARRAY_LEN(cases); i++) {
        char *p = page(BP_UNSUB_PAGE_CONFIRM, cases[i].req, "S", "a@b.example");
        ASSERT_TRUE(p != NULL);
        if (p == NULL)
            continue;
        snprintf(want, sizeof want, "<html lang=\"%s\" dir=\"ltr\">", cases[i].tag);
        ASSERT_STR_CONTAINS(p, want);
        ASSERT_STR_CONTAINS(p, cases[i].word);
        free(p);
    }
}

static void test_everything_is_escaped(void)
{
    char *p = page(BP_UNSUB_PAGE_CONFIRM, "en", "<b>Tom & \"Jerry's\"</b>",
                   "x\"<script>@example.org");

    ASSERT_TRUE(p != NULL);
    if (p == NULL)
        return;
    ASSERT_STR_CONTAINS(p, "<title>Unsubscribe from &lt;b&gt;Tom &amp; &quot;Jerry&#39;s&quot;"
                           "&lt;/b&gt; e-mail</title>");
    ASSERT_STR_CONTAINS(p, "<bdi>x&quot;&lt;script&gt;@example.org</bdi>");
    ASSERT_TRUE(strstr(p, "<b>") == NULL);
    ASSERT_TRUE(strstr(p, "<script>") == NULL);
    free(p);
}

static void test_unknown_is_one_wording(void)
{
    char *a = page(BP_UNSUB_PAGE_UNKNOWN, NULL, "Lincoln", NULL);
    char *b = page(BP_UNSUB_PAGE_UNKNOWN, NULL, "Lincoln", NULL);

    ASSERT_TRUE(a != NULL && b != NULL);
    if (a != NULL && b != NULL) {
        ASSERT_STR_EQ(a, b);
        ASSERT_STR_CONTAINS(a, "This unsubscribe link is not valid.");
        ASSERT_STR_CONTAINS(a, "<bdi>Lincoln</bdi>");
        ASSERT_TRUE(strstr(a, "<form") == NULL);
    }
    free(a);
    free(b);
}

static void test_every_locale_renders_every_page(void)
{
    for (size_t i = 0; i < bp_tmpl_catalog_locale_count(cat); i++) {
        const char *tag = bp_tmpl_catalog_locale(cat, i);
        for (int k = BP_UNSUB_PAGE_CONFIRM; k <= BP_UNSUB_PAGE_UNKNOWN; k++) {
            char want[64], *p = page((enum bp_unsub_page)k, tag, "Sch", "a@b.example");
            ASSERT_TRUE(p != NULL);
            if (p == NULL)
                continue;
            snprintf(want, sizeof want, "<html lang=\"%s\"", tag);
            ASSERT_STR_CONTAINS(p, want);
            ASSERT_STR_CONTAINS(p, "<bdi>Sch</bdi>");
            if (k != BP_UNSUB_PAGE_UNKNOWN)
                ASSERT_STR_CONTAINS(p, "<bdi>a@b.example</bdi>");
            free(p);
        }
    }
}

static void test_full_buffer_leaves_output_unchanged(void)
{
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_buf b;

    bp_buf_init(&b, 300);
    ASSERT_OK(bp_buf_appends(&b, "keep"));
    ASSERT_EQ(bp_unsub_page_render(cat, BP_UNSUB_PAGE_CONFIRM, "en", "en", "S", "a@b.c",
                                   &b, &eb), BP_ETOOBIG);
    ASSERT_STR_EQ(b.data, "keep");
    bp_buf_free(&b);
}

int main(void)
{
    struct bp_errbuf eb = {{0}, {0}};

    cat = bp_tmpl_catalog_new();
    if (bp_tmpl_catalog_load_dir(cat, bp_tmpl_locales_dir(NULL), &eb) < 0) {
        printf("Bail out! catalogue: %s %s\n", eb.where, eb.msg);
        return 1;
    }
    BP_TEST(test_confirm_in_english);
    BP_TEST(test_arabic_is_rtl_and_translated);
    BP_TEST(test_languages_and_fallback);
    BP_TEST(test_everything_is_escaped);
    BP_TEST(test_unknown_is_one_wording);
    BP_TEST(test_every_locale_renders_every_page);
    BP_TEST(test_full_buffer_leaves_output_unchanged);
    bp_tmpl_catalog_free(cat);
    return bp_test_done();
}
