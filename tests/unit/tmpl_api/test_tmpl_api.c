/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Custom templates below the HTTP layer: argument sets (bp_tmpl_api_args),
 * the store statements on a real SQLite file, and the live catalogue's
 * snapshots (a held snapshot survives a reload unchanged; the new one has
 * the saved template; a bad stored variant is skipped, not fatal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bp/store_template.h"
#include "bp/tmpl_api.h"
#include "bp_test.h"

static char db_path[64];

static void args_is(const char *pattern, const char *want)
{
    char out[256];
    struct bp_errbuf eb = {{0}, {0}};
    int rc = bp_tmpl_api_args(pattern, out, sizeof out, &eb);

    if (rc != 0 || strcmp(out, want) != 0)
        printf("# args(%s) = %s (rc %d), want %s\n", pattern, rc ? eb.msg : out, rc, want);
    bp_test__cur_failed |= rc != 0 || strcmp(out, want) != 0;
}

static void test_args(void)
{
    char small[4];
    struct bp_errbuf eb = {{0}, {0}};

    args_is("Hello", "");
    args_is("{student} on {date, date, long}", "date:date,student:");
    args_is("{n, plural, one {# {student}} other {# {student}s}}", "n:plural,student:");
    args_is("{r, select, a {x} other {y}} {amount, number, currency} {t, time, short}",
            "amount:number,r:select,t:time");
    args_is("{x} {x} '{'not an arg'}'", "x:");
    ASSERT_EQ(bp_tmpl_api_args("{oops", small, sizeof small, &eb), BP_EINVAL_INPUT);
    ASSERT_EQ(bp_tmpl_api_args("{a} {b}", small, sizeof small, &eb), BP_ETOOBIG);
}

static struct bp_store *open_db(void)
{
    struct bp_store_opts o = {.path = db_path, .busy_timeout_ms = 1000};
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store *s = NULL;

    if (bp_store_open(&o, &s, &eb) < 0 || bp_store_migrate(s, NULL, NULL, &eb) < 0) {
        printf("# open: %s\n", eb.msg);
        bp_store_close(s);
        return NULL;
    }
    return s;
}

static int put(struct bp_store *s, const char *key, const char *en, const char *es)
{
    struct bp_store_template_variant v[] = {{"en", "Subj", en}, {"es", NULL, es}};
    struct bp_store_template t = {.key = key, .description = "d", .variants = v,
                                  .nvariants = es ? 2 : 1, .actor = "test",
                                  .now_ms = 1000};
    int rc = bp_store_begin(s);

    if (rc == 0 && (rc = bp_store_template_put(s, &t)) == 0)
        return bp_store_commit(s);
    bp_store_rollback(s);
    return rc;
}

static void test_live_snapshots(void)
{
    struct bp_store *s = open_db();
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_tmpl_live *live = NULL;
    const struct bp_tmpl_snap *old, *cur;
    struct bp_store_template_del del = {.key = "school.trip", .actor = "test"};
    struct bp_buf out;
    struct bp_tmpl_arg a[] = {BP_TMPL_ARG_STR("student", "Ana")};

    ASSERT_TRUE(s != NULL);
    ASSERT_OK(bp_tmpl_api_live_new(s, getenv("BP_LOCALES_DIR"), "en", &live, &eb));
    old = bp_tmpl_api_acquire(live);
    ASSERT_TRUE(bp_tmpl_catalog_has(bp_tmpl_api_catalog(old), "en", "tmpl.absence_notice"));
    ASSERT_FALSE(bp_tmpl_api_is_custom(old, "school.trip"));
    ASSERT_OK(put(s, "school.trip", "Trip for {student}", "Excursión de {student}"));
    ASSERT_OK(bp_tmpl_api_reload(live, s, &eb));
    cur = bp_tmpl_api_acquire(live);
    ASSERT_TRUE(cur != old);
    ASSERT_FALSE(bp_tmpl_catalog_has(bp_tmpl_api_catalog(old), "es", "school.trip"));
    ASSERT_TRUE(bp_tmpl_api_is_custom(cur, "school.trip"));
    ASSERT_STR_EQ(bp_tmpl_api_subject(cur, "school.trip", "EN"), "Subj");
    ASSERT_TRUE(bp_tmpl_api_subject(cur, "school.trip", "es") == NULL);
    bp_buf_init(&out, 1024);
    ASSERT_OK(bp_tmpl_render(bp_tmpl_api_catalog(cur), "school.trip", "es", a, 1, NULL,
                             &out, &eb));
    ASSERT_STR_EQ(out.data, "Excursión de Ana");
    bp_buf_free(&out);
    bp_tmpl_api_release(live, old);          /* frees the retired snapshot */
    /* replace: the es variant disappears */
    ASSERT_OK(put(s, "school.trip", "Trip v2 {student}", NULL));
    ASSERT_OK(bp_tmpl_api_reload(live, s, &eb));
    bp_tmpl_api_release(live, cur);
    cur = bp_tmpl_api_acquire(live);
    ASSERT_FALSE(bp_tmpl_catalog_has(bp_tmpl_api_catalog(cur), "es", "school.trip"));
    bp_tmpl_api_release(live, cur);
    /* delete */
    ASSERT_OK(bp_store_begin(s));
    ASSERT_OK(bp_store_template_delete(s, &del));
    ASSERT_OK(bp_store_commit(s));
    ASSERT_OK(bp_store_begin(s));
    ASSERT_EQ(bp_store_template_delete(s, &del), BP_ENOTFOUND);
    bp_store_rollback(s);
    ASSERT_OK(bp_tmpl_api_reload(live, s, &eb));
    cur = bp_tmpl_api_acquire(live);
    ASSERT_FALSE(bp_tmpl_api_is_custom(cur, "school.trip"));
    bp_tmpl_api_release(live, cur);
    bp_tmpl_api_live_free(live);
    bp_store_close(s);
}

static void test_bad_stored_variant_is_skipped(void)
{
    struct bp_store *s = open_db();
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_tmpl_catalog *cat = NULL;

    ASSERT_TRUE(s != NULL);
    /* written behind the API's back: the load must not fail because of it */
    ASSERT_OK(put(s, "school.ok", "Fine {student}", NULL));
    ASSERT_OK(put(s, "school.broken", "Broken {student", NULL));
    ASSERT_OK(bp_tmpl_api_load(s, getenv("BP_LOCALES_DIR"), &cat, &eb));
    ASSERT_TRUE(bp_tmpl_catalog_has(cat, "en", "school.ok"));
    ASSERT_FALSE(bp_tmpl_catalog_has(cat, "en", "school.broken"));
    bp_tmpl_catalog_free(cat);
    bp_store_close(s);
}

int main(void)
{
    snprintf(db_path, sizeof db_path, "/tmp/bp-tmpl-api-%d.db", (int)getpid());
    BP_TEST(test_args);
    BP_TEST(test_live_snapshots);
    BP_TEST(test_bad_stored_variant_is_skipped);
    unlink(db_path);
    {
        char p[80];
        snprintf(p, sizeof p, "%s-wal", db_path);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", db_path);
        unlink(p);
    }
    return bp_test_done();
}
