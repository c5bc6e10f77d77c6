/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The outbox's rendering seam with the real catalogue (locales/): template
 * arguments typed from --arg and from JSON, per-family language negotiation
 * (exact, same language, fallback -> not translated), the free-text
 * language rule, dates in the family's time zone, and the SMS analysis of
 * the text (typographic spaces as GSM).
 */
#include <stdlib.h>
#include <string.h>

#include "bp/outbox.h"
#include "bp_test.h"

static struct bp_conf conf;
static struct bp_tmpl_catalog *cat;

static void setup(void)
{
    struct bp_errbuf eb = {{0}, {0}};

    conf.outbox_quiet_start = (char *)"21:00";
    conf.outbox_quiet_end = (char *)"07:00";
    conf.school_timezone = (char *)"America/New_York";
    conf.school_default_locale = (char *)"en";
    conf.school_name = (char *)"Lincoln";
    cat = bp_tmpl_catalog_new();
    if (bp_tmpl_catalog_load_dir(cat, bp_tmpl_locales_dir(NULL), &eb) < 0) {
        printf("# catalogue: %s %s\n", eb.where, eb.msg);
        exit(99);
    }
}

static void test_args_from_kv(void)
{
    const char *kv[] = {"event=Science Fair", "count=3", "price=2.50", "room=007",
                        "date=2025-03-14T01:30:00Z"};
    const char *dup[] = {"a=1", "a=2"}, *bad[] = {"novalue"};
    struct bp_errbuf eb = {{0}, {0}};
    char *json = NULL;

    ASSERT_OK(bp_outbox_args_from_kv(kv, 5, &json, &eb));
    ASSERT_STR_EQ(json, "{\"count\":3,\"date\":\"2025-03-14T01:30:00Z\","
                        "\"event\":\"Science Fair\",\"price\":2.5,\"room\":\"007\"}");
    free(json);
    ASSERT_EQ(bp_outbox_args_from_kv(dup, 2, &json, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "twice");
    ASSERT_EQ(bp_outbox_args_from_kv(bad, 1, &json, &eb), BP_EINVAL_INPUT);
    ASSERT_TRUE(json == NULL);
}

static const struct bp_tmpl_arg *arg(const struct bp_outbox_policy *p, const char *n)
{
    for (size_t i = 0; i < p->nargs; i++)
        if (strcmp(p->args[i].name, n) == 0)
            return &p->args[i];
    return NULL;
}

static void test_args_parse(void)
{
    struct bp_outbox_policy pol;
    struct bp_errbuf eb = {{0}, {0}};

    memset(&pol, 0, sizeof pol);
    ASSERT_OK(bp_outbox_args_parse("{\"n\":3,\"x\":1.5,\"d\":\"2025-03-14T01:30:00Z\","
                                   "\"fee\":\"12.50 USD\",\"s\":\"hello\"}", &pol, &eb));
    ASSERT_EQ(pol.nargs, 5);
    ASSERT_EQ(arg(&pol, "n")->type, BP_TMPL_INT);
    ASSERT_EQ(arg(&pol, "n")->v.i64, 3);
    ASSERT_EQ(arg(&pol, "x")->type, BP_TMPL_DOUBLE);
    ASSERT_EQ(arg(&pol, "d")->type, BP_TMPL_DATE);
    ASSERT_EQ(arg(&pol, "d")->v.epoch_ms, 1741915800000LL);
    ASSERT_EQ(arg(&pol, "fee")->type, BP_TMPL_MONEY);
    ASSERT_STR_EQ(arg(&pol, "fee")->v.money.currency, "USD");
    ASSERT_EQ(arg(&pol, "s")->type, BP_TMPL_STR);
    bp_outbox_policy_release(&pol);
    ASSERT_EQ(bp_outbox_args_parse("[1]", &pol, &eb), BP_EINVAL_INPUT);
    bp_outbox_policy_release(&pol);
    ASSERT_EQ(bp_outbox_args_parse("{\"a\":{\"b\":1}}", &pol, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "'a'");
    bp_outbox_policy_release(&pol);
}

/* Renders (locale, tz) through the callback the store uses. */
static int render(struct bp_store_announce *a, const char *loc, const char *tz,
                  struct bp_buf *out, struct bp_store_rendered *r)
{
    memset(r, 0, sizeof *r);
    bp_buf_reset(out);
    r->out = out;
    return a->render(a->cb_arg, loc, tz, r);
}

static void test_template_per_family(void)
{
    struct bp_outbox_req req = {
        .audience_kind = "school", .template_key = "tmpl.event_reminder",
        .template_args = "{\"event\":\"Fair\",\"date\":\"2025-03-14T01:30:00Z\","
                         "\"time\":\"2025-03-14T01:30:00Z\",\"count\":1}",
        .catalog = cat,
    };
    struct bp_outbox_policy pol;
    struct bp_store_announce a;
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store_rendered r;
    struct bp_buf out;

    bp_buf_init(&out, 4096);
    ASSERT_OK(bp_outbox_prepare(&conf, &req, &pol, &a, &eb));
    ASSERT_OK(render(&a, "en", "America/New_York", &out, &r));
    ASSERT_TRUE(r.translated);
    ASSERT_STR_EQ(out.data, "Reminder: Fair is on Thursday, March 13 at 9:30 PM (in 1 day).");
    ASSERT_STR_EQ(r.encoding, "gsm7");           /* U+202F before PM became a space */
    ASSERT_EQ(r.segments, 1);
    ASSERT_OK(render(&a, "es-MX", "America/New_York", &out, &r));
    ASSERT_TRUE(r.translated);
    ASSERT_STR_EQ(r.locale, "es");
    ASSERT_OK(render(&a, "vi", "Asia/Ho_Chi_Minh", &out, &r));
    ASSERT_TRUE(r.translated);
    ASSERT_STR_CONTAINS(out.data, "08:30");      /* the family's zone */
    ASSERT_STR_EQ(r.encoding, "ucs2");
    ASSERT_OK(render(&a, "zh-TW", "America/New_York", &out, &r));
    ASSERT_STR_EQ(r.locale, "zh-Hant");
    ASSERT_OK(render(&a, "und", "America/New_York", &out, &r));
    ASSERT_FALSE(r.translated);
    ASSERT_STR_EQ(r.locale, "en");
    ASSERT_OK(render(&a, "de", "Not/AZone", &out, &r));    /* unknown zone: school's */
    ASSERT_FALSE(r.translated);
    ASSERT_STR_CONTAINS(out.data, "9:30 PM");
    bp_outbox_policy_release(&pol);
    bp_buf_free(&out);
}

static void test_bad_templates(void)
{
    struct bp_outbox_req req = {.audience_kind = "school", .template_key = "tmpl.nope",
                                .catalog = cat};
    struct bp_outbox_policy pol;
    struct bp_store_announce a;
    struct bp_errbuf eb = {{0}, {0}};

    ASSERT_EQ(bp_outbox_prepare(&conf, &req, &pol, &a, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "unknown template");
    bp_outbox_policy_release(&pol);
    req.template_key = "tmpl.event_reminder";
    req.template_args = "{\"event\":\"x\"}";
    ASSERT_EQ(bp_outbox_prepare(&conf, &req, &pol, &a, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "tmpl.event_reminder");
    bp_outbox_policy_release(&pol);
    req.catalog = NULL;
    ASSERT_EQ(bp_outbox_prepare(&conf, &req, &pol, &a, &eb), BP_EINVAL_INPUT);
    bp_outbox_policy_release(&pol);
}

static void test_free_text_language_rule(void)
{
    struct bp_outbox_req req = {.audience_kind = "school",
                                .text = "Bring \xe2\x80\x9c" "boots\xe2\x80\x9d"};
    struct bp_outbox_policy pol;
    struct bp_store_announce a;
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store_rendered r;
    struct bp_buf out;

    bp_buf_init(&out, 4096);
    ASSERT_OK(bp_outbox_prepare(&conf, &req, &pol, &a, &eb));
    ASSERT_OK(render(&a, "en-GB", "Europe/London", &out, &r));
    ASSERT_TRUE(r.translated);
    ASSERT_STR_EQ(out.data, "Bring \"boots\"");   /* curly quotes as GSM */
    ASSERT_STR_EQ(r.encoding, "gsm7");
    ASSERT_OK(render(&a, "es", "America/New_York", &out, &r));
    ASSERT_FALSE(r.translated);
    ASSERT_OK(render(&a, "und", "America/New_York", &out, &r));
    ASSERT_FALSE(r.translated);
    bp_outbox_policy_release(&pol);
    bp_buf_free(&out);
}

/* Machine translation (translate.c): targets are the other languages
 * that have the note, once each; a ready translation is rendered with the
 * note in the family's language; a failed one stays held. */
static void test_free_text_machine_translated(void)
{
    struct bp_outbox_req req = {.audience_kind = "school", .text = "Picnic Friday",
                                .catalog = cat};
    char *locs[] = {(char *)"es-MX", (char *)"es", (char *)"en-US", (char *)"und",
                    (char *)"de", (char *)"zh-TW", (char *)"ar"};
    struct bp_outbox_policy pol;
    struct bp_store_announce a;
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store_rendered r;
    struct bp_buf out;

    bp_buf_init(&out, 4096);
    ASSERT_OK(bp_outbox_prepare(&conf, &req, &pol, &a, &eb));
    bp_outbox_mt_targets(&pol, locs, 7);
    ASSERT_EQ(pol.nmt, 3);                      /* es, zh-Hant, ar; not en/und/de */
    ASSERT_STR_EQ(pol.mt[0].locale, "es");
    ASSERT_STR_EQ(pol.mt[1].locale, "zh-Hant");
    ASSERT_STR_EQ(pol.mt[2].locale, "ar");
    ASSERT_OK(bp_outbox_mt_result(&pol, 0, 0, "Picnic viernes", 14));
    ASSERT_OK(bp_outbox_mt_result(&pol, 1, BP_ETEMPFAIL, NULL, 0));
    ASSERT_OK(render(&a, "es-MX", "America/New_York", &out, &r));
    ASSERT_TRUE(r.translated && r.machine_translated);
    ASSERT_STR_EQ(r.locale, "es");
    ASSERT_STR_EQ(out.data, "Picnic viernes\n\n"
                  "(Traducci\xc3\xb3n autom\xc3\xa1tica del mensaje de la escuela)");
    ASSERT_STR_EQ(r.encoding, "ucs2");         /* ó and á */
    ASSERT_OK(render(&a, "zh-TW", "America/New_York", &out, &r));   /* failed */
    ASSERT_FALSE(r.translated || r.machine_translated);
    ASSERT_STR_EQ(out.data, "Picnic Friday");
    ASSERT_OK(render(&a, "ar", "America/New_York", &out, &r));      /* no result yet */
    ASSERT_FALSE(r.translated);
    ASSERT_OK(render(&a, "en-US", "America/New_York", &out, &r));
    ASSERT_TRUE(r.translated && !r.machine_translated);
    bp_outbox_policy_release(&pol);
    bp_buf_free(&out);
}

int main(void)
{
    setup();
    BP_TEST(test_args_from_kv);
    BP_TEST(test_args_parse);
    BP_TEST(test_template_per_family);
    BP_TEST(test_bad_templates);
    BP_TEST(test_free_text_language_rule);
    BP_TEST(test_free_text_machine_translated);
    bp_tmpl_catalog_free(cat);
    return bp_test_done();
}
