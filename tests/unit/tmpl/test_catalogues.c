/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The shipped catalogues (locales/<tag>.json, path from BP_LOCALES_DIR): they
 * load, every locale has every key, plural blocks cover each locale's CLDR
 * categories, and every message renders in every locale (system messages
 * included: none may fail).  Plus load errors with file, key and offset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/smsenc.h"
#include "bp/tmpl.h"
#include "bp_test.h"

#define T_EVENT 1741145400000LL        /* 2025-03-05T03:30Z */

static struct bp_tmpl_catalog *cat;
static const char *const required[] = {
    "en", "es", "zh-Hans", "zh-Hant", "vi", "ar", "ht", "so", "ru", "pt", "tl", "ko",
};
static const char *const keys[] = {
    "sms.stop_confirm", "sms.start_confirm", "sms.help", "email.footer",
    "email.unsubscribe", "notice.quiet_hours", "tmpl.absence_notice",
    "tmpl.early_dismissal", "tmpl.conference_invitation",
    "tmpl.emergency_closure", "tmpl.positive_note", "tmpl.event_reminder",
    "tmpl.permission_slip",
};

static struct bp_tmpl_arg args[] = {
    BP_TMPL_ARG_STR("school", "Lincoln Elementary"),
    BP_TMPL_ARG_STR("phone", "(555) 010-2000"),
    BP_TMPL_ARG_STR("website", "lincoln.example.org"),
    BP_TMPL_ARG_STR("url", "https://lincoln.example.org/u/abc"),
    BP_TMPL_ARG_DATE("time", T_EVENT),
    BP_TMPL_ARG_DATE("date", T_EVENT),
    BP_TMPL_ARG_STR("student", "Ana"),
    BP_TMPL_ARG_STR("teacher", "Ms. Rivera"),
    BP_TMPL_ARG_STR("guardian_role", "mother"),
    BP_TMPL_ARG_STR("reason", "weather"),
    BP_TMPL_ARG_STR("note", "Ana helped a classmate today."),
    BP_TMPL_ARG_STR("event", "Science Fair"),
    BP_TMPL_ARG_INT("count", 3),
    BP_TMPL_ARG_MONEY("amount", 12.5, "USD"),
};

static int render(const char *loc, const char *key, struct bp_buf *b)
{
    struct bp_errbuf eb = {0};
    bp_buf_init(b, 4096);
    int rc = bp_tmpl_render(cat, key, loc, args, BP_ARRAY_LEN(args),
                            "America/New_York", b, &eb);
    if (rc < 0)
        printf("# %s %s: %s\n", loc, key, eb.msg);
    return rc;
}

static void test_load(void)
{
    const char *dir = getenv("BP_LOCALES_DIR");
    struct bp_errbuf eb = {0};
    ASSERT_TRUE(dir != NULL);
    cat = bp_tmpl_catalog_new();
    int rc = bp_tmpl_catalog_load_dir(cat, dir, &eb);
    if (rc < 0)
        printf("# %s: %s\n", eb.where, eb.msg);
    ASSERT_OK(rc);
    ASSERT_TRUE(bp_tmpl_catalog_locale_count(cat) >= 12);
    ASSERT_TRUE(bp_tmpl_catalog_locale_rtl(cat, "ar"));
    ASSERT_FALSE(bp_tmpl_catalog_locale_rtl(cat, "ru"));
}

static void test_every_key_everywhere_renders(void)
{
    for (size_t l = 0; l < bp_tmpl_catalog_locale_count(cat); l++) {
        const char *loc = bp_tmpl_catalog_locale(cat, l);
        for (size_t k = 0; k < BP_ARRAY_LEN(keys); k++) {
            struct bp_buf b;
            struct bp_errbuf eb = {0};
            if (!bp_tmpl_catalog_has(cat, loc, keys[k]))
                BP_TEST__FAIL("%s lacks %s", loc, keys[k]);
            int rc = bp_tmpl_check_plurals(cat, loc, keys[k], &eb);
            if (rc < 0)
                BP_TEST__FAIL("%s %s: %s", loc, keys[k], eb.msg);
            rc = render(loc, keys[k], &b);
            bool ok = rc == 0 && b.len > 0 && strchr(b.data, '{') == NULL;
            bp_buf_free(&b);
            if (!ok)
                BP_TEST__FAIL("%s %s does not render", loc, keys[k]);
        }
    }
    for (size_t i = 0; i < BP_ARRAY_LEN(required); i++)
        ASSERT_TRUE(bp_tmpl_catalog_has(cat, required[i], "sms.help"));
}

static void test_stop_is_one_gsm_segment_in_english(void)
{
    struct bp_buf b;
    struct bp_smsenc_info i;
    ASSERT_OK(render("en", "sms.stop_confirm", &b));
    ASSERT_OK(bp_smsenc_analyze(b.data, b.len, 0, &i, NULL));
    bp_buf_free(&b);
    ASSERT_EQ(i.encoding, BP_SMSENC_GSM7);
    ASSERT_EQ(i.segments, 1);
}

static void test_help_has_ctia_parts(void)
{
    struct bp_buf b;
    ASSERT_OK(render("en", "sms.help", &b));
    ASSERT_STR_CONTAINS(b.data, "Lincoln Elementary");
    ASSERT_STR_CONTAINS(b.data, "(555) 010-2000");
    ASSERT_STR_CONTAINS(b.data, "Msg & data rates may apply");
    ASSERT_STR_CONTAINS(b.data, "Reply STOP");
    ASSERT_STR_CONTAINS(b.data, "frequency");
    bp_buf_free(&b);
    /* every language keeps the carrier keyword in Latin letters */
    for (size_t l = 0; l < bp_tmpl_catalog_locale_count(cat); l++) {
        const char *loc = bp_tmpl_catalog_locale(cat, l);
        ASSERT_OK(render(loc, "sms.help", &b));
        bool ok = strstr(b.data, "STOP") && strstr(b.data, "lincoln.example.org");
        bp_buf_free(&b);
        if (!ok)
            BP_TEST__FAIL("%s help lacks STOP or website", loc);
        ASSERT_OK(render(loc, "sms.stop_confirm", &b));
        ok = strstr(b.data, "START") != NULL;
        bp_buf_free(&b);
        if (!ok)
            BP_TEST__FAIL("%s stop lacks START", loc);
    }
}

static const char *event_days(const char *loc, int64_t n, struct bp_buf *b)
{
    args[12].v.i64 = n;
    if (render(loc, "tmpl.event_reminder", b) < 0)
        return "(error)";
    args[12].v.i64 = 3;
    return b->data;
}

#define EXPECT_DAYS(loc, n, want)                                         \
    do {                                                                  \
        struct bp_buf b_;                                                 \
        const char *r_ = event_days((loc), (n), &b_);                     \
        bool ok_ = strstr(r_, (want)) != NULL;                            \
        if (!ok_)                                                         \
            printf("# %s %d: '%s' lacks '%s'\n", (loc), (int)(n), r_, (want)); \
        bp_buf_free(&b_);                                                 \
        ASSERT_TRUE(ok_);                                                 \
    } while (0)

static void test_plural_forms_in_catalogue(void)
{
    EXPECT_DAYS("ru", 1, "через 1 день");
    EXPECT_DAYS("ru", 3, "через 3 дня");
    EXPECT_DAYS("ru", 5, "через 5 дней");
    EXPECT_DAYS("ru", 11, "через 11 дней");
    EXPECT_DAYS("ru", 21, "через 21 день");
    EXPECT_DAYS("ru", 0, "сегодня");
    EXPECT_DAYS("ar", 0, "(اليوم)");
    EXPECT_DAYS("ar", 1, "غدًا");
    EXPECT_DAYS("ar", 2, "بعد يومين");
    EXPECT_DAYS("ar", 3, "بعد 3 أيام");
    EXPECT_DAYS("ar", 11, "بعد 11 يومًا");
    EXPECT_DAYS("ar", 101, "بعد 101 يوم");
    EXPECT_DAYS("en", 1, "in 1 day");
    EXPECT_DAYS("en", 5, "in 5 days");
    EXPECT_DAYS("es", 2, "faltan 2 días");
    EXPECT_DAYS("es", 1000000, "faltan 1.000.000 de días");
    EXPECT_DAYS("zh-Hant", 5, "還有 5 天");
}

static void test_select_dates_currency(void)
{
    struct bp_buf b;
    args[8].v.str = "father";
    ASSERT_OK(render("es", "tmpl.absence_notice", &b));
    args[8].v.str = "mother";
    ASSERT_STR_CONTAINS(b.data, "Estimado padre de Ana:");
    ASSERT_STR_CONTAINS(b.data, "4 de marzo de 2025");     /* New York date */
    bp_buf_free(&b);
    ASSERT_OK(render("en", "tmpl.permission_slip", &b));
    ASSERT_STR_CONTAINS(b.data, "$12.50");
    ASSERT_STR_CONTAINS(b.data, "Tuesday, March 4");
    bp_buf_free(&b);
    args[9].v.str = "something else";
    ASSERT_OK(render("ko", "tmpl.emergency_closure", &b));
    args[9].v.str = "weather";
    ASSERT_STR_CONTAINS(b.data, "긴급 상황으로 인해");
    bp_buf_free(&b);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_broken_file_reports_where(void)
{
    const char *dir = bp_test_tmpdir();
    struct bp_tmpl_catalog *c = bp_tmpl_catalog_new();
    struct bp_errbuf eb = {0};
    write_file(dir, "de.json", "{\"@@locale\": \"de\", \"a.ok\": \"Hallo\",\n"
                               " \"a.bad\": \"Hallo {name\"}\n");
    ASSERT_EQ(bp_tmpl_catalog_load_dir(c, dir, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.where, "de.json: de: a.bad");
    ASSERT_STR_CONTAINS(eb.msg, "offset");
    bp_tmpl_catalog_free(c);
    c = bp_tmpl_catalog_new();
    write_file(dir, "de.json", "{\"@@locale\": \"fr\"}");
    ASSERT_EQ(bp_tmpl_catalog_load_dir(c, dir, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "says fr");
    bp_tmpl_catalog_free(c);
    c = bp_tmpl_catalog_new();
    write_file(dir, "de.json", "{\"a\": \"x\", \"a\": \"y\"}");
    ASSERT_EQ(bp_tmpl_catalog_load_dir(c, dir, &eb), BP_EIO);
    ASSERT_STR_CONTAINS(eb.msg, "duplicate");
    bp_tmpl_catalog_free(c);
    char path[512];
    snprintf(path, sizeof path, "%s/de.json", dir);
    remove(path);
    remove(dir);
}

int main(void)
{
    BP_TEST(test_load);
    if (cat == NULL || bp_tmpl_catalog_locale_count(cat) == 0) {
        bp_tmpl_catalog_free(cat);
        return bp_test_done();
    }
    BP_TEST(test_every_key_everywhere_renders);
    BP_TEST(test_stop_is_one_gsm_segment_in_english);
    BP_TEST(test_help_has_ctia_parts);
    BP_TEST(test_plural_forms_in_catalogue);
    BP_TEST(test_select_dates_currency);
    BP_TEST(test_broken_file_reports_where);
    bp_tmpl_catalog_free(cat);
    return bp_test_done();
}
