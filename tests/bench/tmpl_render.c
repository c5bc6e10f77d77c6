/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Render throughput benchmark (not a test): renders tmpl.event_reminder and
 * tmpl.absence_notice for N families spread over every catalogue locale and
 * counts SMS segments, on one thread.  Locale negotiation is done once per
 * distinct guardian locale (as the outbound batch does; it parses tags with
 * ICU and costs a few microseconds) and timed separately.  Prints messages/s per core.  Usage: tmpl_render LOCALES_DIR [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bp/smsenc.h"
#include "bp/tmpl.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const char *const asked[] = {"en-US", "es-MX", "zh-CN", "zh-TW", "vi",
        "ar", "ht", "so", "ru", "pt-BR", "fil", "ko", "fr"};
    struct bp_errbuf eb = {0};
    struct bp_tmpl_catalog *cat = bp_tmpl_catalog_new();
    long n = argc > 2 ? atol(argv[2]) : 100000;
    if (argc < 2 || bp_tmpl_catalog_load_dir(cat, argv[1], &eb) < 0) {
        fprintf(stderr, "usage: tmpl_render LOCALES_DIR [N] (%s %s)\n", eb.where, eb.msg);
        return 2;
    }
    struct bp_tmpl_arg a[] = {
        BP_TMPL_ARG_STR("student", "Ana"), BP_TMPL_ARG_STR("guardian_role", "mother"),
        BP_TMPL_ARG_DATE("date", 1741145400000LL), BP_TMPL_ARG_DATE("time", 1741145400000LL),
        BP_TMPL_ARG_STR("event", "Science Fair"), BP_TMPL_ARG_INT("count", 3),
    };
    char tags[13][40];
    double tn = now_s();
    for (int k = 0; k < 13; k++) {
        enum bp_tmpl_match m;
        if (bp_tmpl_negotiate(cat, asked[k], "tmpl.event_reminder", "en", tags[k],
                              sizeof tags[k], &m) < 0)
            return 1;
    }
    tn = now_s() - tn;
    double t0 = now_s(), t_seg = 0;
    size_t bytes = 0, segs = 0;
    for (long i = 0; i < n; i++) {
        const char *tag = tags[i % 13];
        const char *key = i % 2 ? "tmpl.event_reminder" : "tmpl.absence_notice";
        struct bp_buf b;
        struct bp_smsenc_info info;
        a[5].v.i64 = i % 30;
        bp_buf_init(&b, 4096);
        if (bp_tmpl_render(cat, key, tag, a, 6, "America/New_York", &b, &eb) < 0) {
            fprintf(stderr, "%s: %s\n", tag, eb.msg);
            return 1;
        }
        double ts = now_s();
        if (bp_smsenc_analyze(b.data, b.len, 0, &info, NULL) < 0)
            return 1;
        t_seg += now_s() - ts;
        segs += info.segments;
        bytes += b.len;
        bp_buf_free(&b);
    }
    double dt = now_s() - t0;
    printf("rendered %ld messages in %zu locales: %.3f s, %.0f messages/s per core "
           "(segment counting %.3f s of it); %zu bytes, %zu SMS segments; "
           "13 negotiations %.1f us each\n",
           n, bp_tmpl_catalog_locale_count(cat), dt, (double)n / dt, t_seg, bytes, segs,
           tn / 13 * 1e6);
    bp_tmpl_catalog_free(cat);
    return 0;
}
