/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Rendering with named arguments (src/tmpl/fmt.cc, catalog.c): plural
 * categories of ar and ru, select, dates in a time zone, currency, and
 * pattern validation with an error position.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "bp/tmpl.h"
#include "bp_test.h"

/* 2025-03-05T03:30:00Z: still March 4 (21:30) in Chicago, March 5 in UTC. */
#define T_0304 1741145400000LL

static struct bp_buf rb;

static const char *render_pat(const char *loc, const char *pat,
                              const struct bp_tmpl_arg *a, size_t n,
                              const char *tz)
{
    struct bp_errbuf eb = {0};
    bp_buf_free(&rb);
    bp_buf_init(&rb, 4096);
    int rc = bp_tmpl_render_pattern(loc, pat, a, n, tz, &rb, &eb);
    if (rc < 0) {
        printf("# render failed %d: %s\n", rc, eb.msg);
        return "(error)";
    }
    return rb.data;
}

static const char *plural(const char *loc, const char *pat, int64_t n)
{
    struct bp_tmpl_arg a[] = {BP_TMPL_ARG_INT("count", n)};
    return render_pat(loc, pat, a, 1, NULL);
}

#define CATS "{count, plural, zero {zero} one {one} two {two} few {few} " \
             "many {many} other {other}}"

static void test_named_arguments(void)
{
    struct bp_tmpl_arg a[] = {BP_TMPL_ARG_STR("student", "Ana"),
                              BP_TMPL_ARG_STR("teacher", "Mr. Lee")};
    ASSERT_STR_EQ(render_pat("en", "{student} and {teacher}", a, 2, NULL),
                  "Ana and Mr. Lee");
    ASSERT_STR_EQ(render_pat("en", "It''s {student}''s day", a, 2, NULL),
                  "It's Ana's day");
}

static void test_plural_arabic_six(void)
{
    static const struct { int64_t n; const char *cat; } c[] = {
        {0, "zero"}, {1, "one"}, {2, "two"}, {3, "few"}, {5, "few"},
        {11, "many"}, {21, "many"}, {101, "other"},
    };
    for (size_t i = 0; i < BP_ARRAY_LEN(c); i++)
        ASSERT_STR_EQ(plural("ar", CATS, c[i].n), c[i].cat);
}

static void test_plural_russian(void)
{
    static const struct { int64_t n; const char *cat; } c[] = {
        {0, "many"}, {1, "one"}, {2, "few"}, {3, "few"}, {5, "many"},
        {11, "many"}, {21, "one"}, {101, "one"},
    };
    for (size_t i = 0; i < BP_ARRAY_LEN(c); i++)
        ASSERT_STR_EQ(plural("ru", CATS, c[i].n), c[i].cat);
    ASSERT_STR_EQ(plural("ru", "{count, plural, one {# день} few {# дня} "
                               "many {# дней} other {# дня}}", 22), "22 дня");
}

static void test_arabic_latin_digits(void)
{
    const char *p = "{count, plural, other {# أيام}}";
    /* the catalogue declares ar as ar@numbers=latn (docs/locales.md) */
    ASSERT_STR_EQ(plural("ar@numbers=latn", p, 25), "25 أيام");
    ASSERT_STR_EQ(plural("ar", p, 25), "٢٥ أيام");
}

static void test_select(void)
{
    const char *p = "{guardian_role, select, mother {Mom} father {Dad} "
                    "other {Guardian}}";
    struct bp_tmpl_arg a[] = {BP_TMPL_ARG_STR("guardian_role", "father")};
    ASSERT_STR_EQ(render_pat("en", p, a, 1, NULL), "Dad");
    a[0].v.str = "grandparent";
    ASSERT_STR_EQ(render_pat("en", p, a, 1, NULL), "Guardian");
}

static void test_dates_in_time_zone(void)
{
    struct bp_tmpl_arg a[] = {BP_TMPL_ARG_DATE("date", T_0304)};
    const char *p = "{date, date, long}";
    ASSERT_STR_EQ(render_pat("en", p, a, 1, "America/Chicago"), "March 4, 2025");
    ASSERT_STR_EQ(render_pat("en", p, a, 1, "UTC"), "March 5, 2025");
    ASSERT_STR_EQ(render_pat("en", p, a, 1, NULL), "March 5, 2025");
    ASSERT_STR_EQ(render_pat("en", "{date, time, short}", a, 1, "America/Chicago"),
                  "9:30\u202fPM");
    ASSERT_STR_EQ(render_pat("es", p, a, 1, "America/Chicago"),
                  "4 de marzo de 2025");
    ASSERT_STR_EQ(render_pat("ru", p, a, 1, "America/Chicago"), "4 марта 2025\u202fг.");
    /* untyped {date}: pre-formatted in the zone too */
    ASSERT_STR_EQ(render_pat("en", "{date}", a, 1, "America/Los_Angeles"),
                  "Mar 4, 2025, 7:30\u202fPM");
}

static void test_unknown_zone_rejected(void)
{
    struct bp_tmpl_arg a[] = {BP_TMPL_ARG_DATE("date", T_0304)};
    struct bp_buf b;
    struct bp_errbuf eb = {0};
    bp_buf_init(&b, 256);
    ASSERT_EQ(bp_tmpl_render_pattern("en", "{date, date}", a, 1, "Mars/Olympus",
                                     &b, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "time zone");
    bp_buf_free(&b);
}

static void test_currency(void)
{
    struct bp_tmpl_arg a[] = {BP_TMPL_ARG_MONEY("amount", 12.5, "USD")};
    const char *p = "{amount, number, currency}";
    ASSERT_STR_EQ(render_pat("en", p, a, 1, NULL), "$12.50");
    ASSERT_STR_EQ(render_pat("es", p, a, 1, NULL), "12,50\u00a0US$");
    ASSERT_STR_EQ(render_pat("es-MX", p, a, 1, NULL), "USD\u00a012.50");
    ASSERT_STR_EQ(render_pat("ko", p, a, 1, NULL), "US$12.50");
    ASSERT_STR_EQ(render_pat("en", "{amount}", a, 1, NULL), "$12.50");
    struct bp_tmpl_arg bad[] = {BP_TMPL_ARG_MONEY("amount", 1, "us")};
    ASSERT_STR_EQ(render_pat("en", p, bad, 1, NULL), "(error)");
}

static void test_missing_argument(void)
{
    struct bp_tmpl_arg a[] = {BP_TMPL_ARG_STR("student", "Ana")};
    struct bp_buf b;
    struct bp_errbuf eb = {0};
    bp_buf_init(&b, 256);
    ASSERT_EQ(bp_tmpl_render_pattern("en", "{student} {teacher}", a, 1, NULL,
                                     &b, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "teacher");
    ASSERT_EQ(b.len, 0);
    bp_buf_free(&b);
}

static void expect_invalid(const char *pat, const char *msg_part)
{
    struct bp_errbuf eb = {0};
    int rc = bp_tmpl_validate("en", pat, &eb);
    if (rc != BP_EINVAL_INPUT || strstr(eb.msg, msg_part) == NULL)
        printf("# pattern '%s': rc %d msg '%s' (want '%s')\n", pat, rc, eb.msg,
               msg_part);
    bp_test__cur_failed |= rc != BP_EINVAL_INPUT || strstr(eb.msg, msg_part) == NULL;
}

static void test_invalid_patterns_with_position(void)
{
    ASSERT_OK(bp_tmpl_validate("en", "Hi {student}", NULL));
    expect_invalid("Hi {student", "offset");
    expect_invalid("Hello {count, plural, one {x} other {y}", "offset");
    expect_invalid("{count, plural, one {x} other {y}} {0}", "offset 36");
    expect_invalid("{0} and {student}", "numbered argument");
    expect_invalid("{count, plural, other {x}} {date, datex}", "offset");
    expect_invalid("{n, plural, other {on {date, date, long}}}", "inside plural");
    expect_invalid("{n, plural, one {x}}", "offset");     /* no other */
    expect_invalid("bad \xff utf8", "UTF-8");
    struct bp_errbuf eb = {0};
    ASSERT_EQ(bp_tmpl_validate("und", "x", &eb), BP_EINVAL_INPUT);
}

static void test_catalog_add_and_duplicates(void)
{
    struct bp_tmpl_catalog *c = bp_tmpl_catalog_new();
    struct bp_errbuf eb = {0};
    struct bp_buf b;
    ASSERT_OK(bp_tmpl_catalog_add(c, "en", "a.b", "A {x}", &eb));
    ASSERT_EQ(bp_tmpl_catalog_add(c, "en", "a.b", "B", &eb), BP_EDUPLICATE);
    ASSERT_EQ(bp_tmpl_catalog_add(c, "en", "A.b", "B", &eb), BP_EINVAL_INPUT);
    ASSERT_EQ(bp_tmpl_catalog_add(c, "fr", "a.b", "{x", &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.where, "fr: a.b");
    ASSERT_TRUE(bp_tmpl_catalog_has(c, "EN", "a.b"));
    ASSERT_FALSE(bp_tmpl_catalog_has(c, "fr", "a.b"));
    struct bp_tmpl_arg a[] = {BP_TMPL_ARG_STR("x", "1")};
    bp_buf_init(&b, 2);
    ASSERT_EQ(bp_tmpl_render(c, "a.b", "en", a, 1, NULL, &b, &eb), BP_ETOOBIG);
    bp_buf_free(&b);
    bp_buf_init(&b, 64);
    ASSERT_EQ(bp_tmpl_render(c, "zz", "en", a, 1, NULL, &b, &eb), BP_ENOTFOUND);
    ASSERT_OK(bp_tmpl_render(c, "a.b", "en", a, 1, NULL, &b, &eb));
    ASSERT_STR_EQ(b.data, "A 1");
    bp_buf_free(&b);
    bp_tmpl_catalog_free(c);
}

/* Concurrent renders of one entry with different zones (pool of clones). */
struct worker { const struct bp_tmpl_catalog *c; const char *tz, *want; int bad; };

static void *work(void *arg)
{
    struct worker *w = arg;
    struct bp_tmpl_arg a[] = {BP_TMPL_ARG_DATE("d", T_0304), BP_TMPL_ARG_INT("n", 3)};
    for (int i = 0; i < 2000; i++) {
        struct bp_buf b;
        bp_buf_init(&b, 256);
        if (bp_tmpl_render(w->c, "k", "en", a, 2, w->tz, &b, NULL) < 0 ||
            strcmp(b.data, w->want) != 0)
            w->bad++;
        bp_buf_free(&b);
    }
    return NULL;
}

static void test_threads(void)
{
    struct bp_tmpl_catalog *c = bp_tmpl_catalog_new();
    ASSERT_OK(bp_tmpl_catalog_add(c, "en", "k",
        "{d, date, short} {n, plural, one {# day} other {# days}}", NULL));
    struct worker w[4] = {
        {c, "America/Chicago", "3/4/25 3 days", 0}, {c, "UTC", "3/5/25 3 days", 0},
        {c, "America/Chicago", "3/4/25 3 days", 0}, {c, "Asia/Tokyo", "3/5/25 3 days", 0},
    };
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ASSERT_OK(pthread_create(&t[i], NULL, work, &w[i]));
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(w[i].bad, 0);
    bp_tmpl_catalog_free(c);
}

int main(void)
{
    BP_TEST(test_named_arguments);
    BP_TEST(test_plural_arabic_six);
    BP_TEST(test_plural_russian);
    BP_TEST(test_arabic_latin_digits);
    BP_TEST(test_select);
    BP_TEST(test_dates_in_time_zone);
    BP_TEST(test_unknown_zone_rejected);
    BP_TEST(test_currency);
    BP_TEST(test_missing_argument);
    BP_TEST(test_invalid_patterns_with_position);
    BP_TEST(test_catalog_add_and_duplicates);
    BP_TEST(test_threads);
    bp_buf_free(&rb);
    return bp_test_done();
}
