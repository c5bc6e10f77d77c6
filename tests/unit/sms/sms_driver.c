/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sms_driver: submits jobs through the SMS sender (src/sms) on a real libuv
 * loop and prints one JSON line per result, then a summary line.  Driven by
 * tests/integration/test_sms_sender.py and by sms_bench.py; not a test.
 *
 *   sms_driver --base URL --sid AC.. --token T (--from N | --mss MG..)
 *              [--callback URL] [--rate N] [--burst N] [--max-in-flight N]
 *              [--timeout-ms N] [--close-after-submit] [--bench N] [--threaded]
 *
 * --threaded: the sender on its own thread (bp_sms_sender_new_threaded, as
 * `backpack serve` runs it) instead of on the driver's loop.
 * Jobs come from stdin as JSON lines {"to","body","key"[,"after_ms"]} unless
 * --bench N; a job with "after_ms" is submitted that long after every job
 * before it has its result (a kept-alive connection then sits idle),
 * and --bench N generates N jobs with unique keys and keeps a window of
 * 4 * max-in-flight submitted (what the outbox does).
 * Result lines: {"i","key","cls","sid","code","detail","retry_after_ms","ms"}.
 * Summary: {"summary":true,"submitted","results","dup_callbacks",
 * "loop_close","elapsed_ms","per_second","in_flight_after"}.
 * Exit status 0 when every job got exactly one callback and uv_loop_close
 * returned 0.
 */
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "bp/base.h"
#include "bp/sms.h"

struct djob {
    struct bp_send_job job;
    char to[64], key[64];
    char *body;
    int calls;
    uint64_t t0;
    uint64_t after_ms;
    bool waited;
    size_t i;
};

static struct bp_sender snd;
static uv_loop_t loop;
static struct djob *jobs;
static size_t njobs, submitted, results, dups, oks;
static size_t bench_n, window = 256;
static bool quiet, close_after_submit, closed, threaded;
static uint64_t t_start;
static uv_timer_t after_timer;

static const char *cls_name(enum bp_send_class c)
{
    return c == BP_SEND_OK ? "ok" : c == BP_SEND_TRANSIENT ? "transient" : "permanent";
}

static void on_closed(void *arg)
{
    (void)arg;
    closed = true;
}

static void submit_more(void);

static void on_done(struct bp_send_job *job, const struct bp_send_result *r, void *arg)
{
    struct djob *d = BP_CONTAINER_OF(job, struct djob, job);
    (void)arg;
    if (++d->calls > 1)
        dups++;
    results++;
    oks += r->cls == BP_SEND_OK;
    if (!quiet) {
        json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "i", (json_int_t)d->i,
                              "key", d->key, "cls", cls_name(r->cls), "sid", r->provider_msg_id,
                              "code", r->error_code, "detail", r->error_detail,
                              "retry_after_ms", (json_int_t)r->retry_after_ms,
                              "ms", (json_int_t)(uv_now(&loop) - d->t0));
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    }
    if (!closed)
        submit_more();
}

static void on_after(uv_timer_t *t)
{
    (void)t;
    jobs[submitted].waited = true;
    submit_more();
}

static void submit_more(void)
{
    while (submitted < njobs && !close_after_submit &&
           (!bench_n || snd.in_flight(snd.self) < window)) {
        struct djob *d = &jobs[submitted];
        if (d->after_ms && !d->waited) {
            if (results == submitted && !uv_is_active((uv_handle_t *)&after_timer))
                uv_timer_start(&after_timer, on_after, d->after_ms, 0);
            return;
        }
        d->t0 = uv_now(&loop);
        if (snd.submit(snd.self, &d->job, on_done, NULL) != 0)
            break;
        submitted++;
    }
    if (submitted == njobs && results == njobs && !closed) {
        uv_close((uv_handle_t *)&after_timer, NULL);
        snd.close(snd.self, on_closed, NULL);
    }
}

static void fill(struct djob *d, size_t i, const char *to, const char *body, const char *key)
{
    d->i = i;
    snprintf(d->to, sizeof d->to, "%s", to);
    snprintf(d->key, sizeof d->key, "%s", key);
    d->body = bp_xstrdup(body);
    d->job.delivery_id = (int64_t)i + 1;
    d->job.channel = BP_CHANNEL_SMS;
    d->job.to = d->to;
    d->job.body = d->body;
    d->job.idempotency_key = d->key;
}

static void read_jobs(void)
{
    size_t cap = 0;
    char line[8192];
    if (bench_n) {
        jobs = bp_xcalloc(bench_n, sizeof *jobs);
        for (size_t i = 0; i < bench_n; i++) {
            char to[32], key[48];
            snprintf(to, sizeof to, "+1555%07zu", i % 10000000);
            snprintf(key, sizeof key, "bench-%d-%zu", (int)getpid(), i);
            fill(&jobs[i], i, to, "School closes at noon today.", key);
        }
        njobs = bench_n;
        return;
    }
    while (fgets(line, sizeof line, stdin)) {
        json_t *o = json_loads(line, 0, NULL);
        if (!o)
            continue;
        if (njobs == cap) {
            cap = cap ? cap * 2 : 64;
            jobs = bp_xrealloc(jobs, cap * sizeof *jobs);
        }
        memset(&jobs[njobs], 0, sizeof *jobs);
        fill(&jobs[njobs], njobs, json_string_value(json_object_get(o, "to")),
             json_string_value(json_object_get(o, "body")),
             json_string_value(json_object_get(o, "key")));
        jobs[njobs].after_ms = (uint64_t)json_integer_value(json_object_get(o, "after_ms"));
        njobs++;
        json_decref(o);
    }
    for (size_t i = 0; i < njobs; i++) {   /* realloc moved the arrays */
        jobs[i].job.to = jobs[i].to;
        jobs[i].job.idempotency_key = jobs[i].key;
    }
}

static int parse_args(int argc, char **argv, struct bp_sms_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--close-after-submit")) { close_after_submit = true; continue; }
        if (!strcmp(a, "--threaded")) { threaded = true; continue; }
        if (!v)
            return -1;
        i++;
        if (!strcmp(a, "--base")) o->api_base = v;
        else if (!strcmp(a, "--sid")) o->account_sid = v;
        else if (!strcmp(a, "--token")) o->auth_token = v;
        else if (!strcmp(a, "--from")) o->from_number = v;
        else if (!strcmp(a, "--mss")) o->messaging_service_sid = v;
        else if (!strcmp(a, "--callback")) o->status_callback = v;
        else if (!strcmp(a, "--rate")) o->rate_per_second = (unsigned)atoi(v);
        else if (!strcmp(a, "--burst")) o->burst = (unsigned)atoi(v);
        else if (!strcmp(a, "--max-in-flight")) o->max_in_flight = (unsigned)atoi(v);
        else if (!strcmp(a, "--timeout-ms")) o->request_timeout_ms = atoll(v);
        else if (!strcmp(a, "--bench")) { bench_n = (size_t)atoll(v); quiet = true; }
        else return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bp_sms_opts o = { .max_in_flight = 16, .request_timeout_ms = 5000 };
    struct bp_errbuf eb;
    signal(SIGPIPE, SIG_IGN);
    if (parse_args(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: see the top of sms_driver.c\n");
        return 2;
    }
    window = 4 * (size_t)o.max_in_flight;
    read_jobs();
    uv_loop_init(&loop);
    uv_timer_init(&loop, &after_timer);
    if ((threaded ? bp_sms_sender_new_threaded(&loop, &o, &snd, &eb)
                  : bp_sms_sender_new(&loop, &o, &snd, &eb)) != 0) {
        fprintf(stderr, "sms_driver: %s\n", eb.msg);
        return 2;
    }
    t_start = uv_hrtime();
    if (close_after_submit) {
        close_after_submit = false;
        for (size_t i = 0; i < njobs; i++) {
            jobs[i].t0 = uv_now(&loop);
            if (snd.submit(snd.self, &jobs[i].job, on_done, NULL) == 0)
                submitted++;
        }
        uv_close((uv_handle_t *)&after_timer, NULL);
        snd.close(snd.self, on_closed, NULL);
        closed = true;
        int after = snd.submit(snd.self, &jobs[0].job, on_done, NULL);
        if (after != BP_ECLOSED)
            fprintf(stderr, "submit after close returned %d\n", after);
    } else {
        submit_more();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    double ms = (double)(uv_hrtime() - t_start) / 1e6;
    int lc = uv_loop_close(&loop);
    size_t missing = 0;
    for (size_t i = 0; i < submitted; i++)
        missing += jobs[i].calls == 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    printf("{\"summary\":true,\"cpu_us_per_result\":%.1f,", results ? cpu_us / (double)results : 0);
    printf("\"submitted\":%zu,\"results\":%zu,\"ok\":%zu,\"dup_callbacks\":%zu,"
           "\"missing\":%zu,\"loop_close\":%d,\"elapsed_ms\":%.1f,\"per_second\":%.0f}\n",
           submitted, results, oks, dups, missing, lc, ms, ms > 0 ? (double)results * 1000.0 / ms : 0);
    for (size_t i = 0; i < njobs; i++)
        free(jobs[i].body);
    free(jobs);
    return (lc == 0 && dups == 0 && missing == 0) ? 0 : 1;
}
