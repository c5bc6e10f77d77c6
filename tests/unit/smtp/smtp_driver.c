/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * smtp_driver: submits e-mail jobs through the SMTP sender (src/smtp) on a
 * real libuv loop and prints one JSON line per result, then a summary line.
 * Driven by tests/integration/test_smtp_sender.py and smtp_bench.py.
 *
 *   smtp_driver --host H --port P --from ADDR [--from-name NAME]
 *               [--workers N] [--timeout-ms N] [--batch N]
 *               [--starttls no|try|required] [--ca-file PEM] [--user U --pass P]
 *               [--close-after-submit] [--bench N]
 *
 * Jobs: JSON lines on stdin with the fields of struct bp_send_job ("to",
 * "to_name", "subject", "body", "html_body", "message_id", "reply_to",
 * "in_reply_to", "references", "unsubscribe_url", "unsubscribe_mailto",
 * "automatic"), or --bench N generated jobs.
 * Result lines: {"i","message_id","cls","code","detail","ms"}; summary as
 * sms_driver.  Exit 0 when every job got exactly one callback and
 * uv_loop_close returned 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "bp/base.h"
#include "bp/smtp.h"

#define NF 11
static const char *fields[NF] = { "to", "to_name", "subject", "body", "html_body", "message_id",
                                  "reply_to", "in_reply_to", "references", "unsubscribe_url",
                                  "unsubscribe_mailto" };

struct djob {
    struct bp_send_job job;
    char *f[NF];
    int calls;
    uint64_t t0;
    size_t i;
};

static struct bp_sender snd;
static uv_loop_t loop;
static struct djob *jobs;
static size_t njobs, submitted, results, dups, oks;
static bool quiet, closed;

static void on_closed(void *arg)
{
    (void)arg;
    closed = true;
}

static void on_done(struct bp_send_job *job, const struct bp_send_result *r, void *arg)
{
    struct djob *d = BP_CONTAINER_OF(job, struct djob, job);
    (void)arg;
    if (++d->calls > 1)
        dups++;
    results++;
    oks += r->cls == BP_SEND_OK;
    if (!quiet) {
        json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I}", "i", (json_int_t)d->i,
                              "message_id", d->job.message_id ? d->job.message_id : "",
                              "cls", r->cls == BP_SEND_OK ? "ok"
                                     : r->cls == BP_SEND_TRANSIENT ? "transient" : "permanent",
                              "code", r->error_code, "detail", r->error_detail,
                              "ms", (json_int_t)(uv_now(&loop) - d->t0));
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        fflush(stdout);               /* a test reads results as they come */
        free(s);
        json_decref(o);
    }
    if (results == submitted && !closed)
        snd.close(snd.self, on_closed, NULL);
}

static void set_job(struct djob *d, size_t i)
{
    const char **dst[NF] = { &d->job.to, &d->job.to_name, &d->job.subject, &d->job.body,
                             &d->job.html_body, &d->job.message_id, &d->job.reply_to,
                             &d->job.in_reply_to, &d->job.references, &d->job.unsubscribe_url,
                             &d->job.unsubscribe_mailto };
    d->i = i;
    d->job.delivery_id = (int64_t)i + 1;
    d->job.channel = BP_CHANNEL_EMAIL;
    d->job.idempotency_key = d->f[5];
    for (int k = 0; k < NF; k++)
        *dst[k] = d->f[k];
}

static void read_jobs(size_t bench_n)
{
    size_t cap = 0;
    static char line[1 << 16];
    if (bench_n) {
        jobs = bp_xcalloc(bench_n, sizeof *jobs);
        for (size_t i = 0; i < bench_n; i++) {
            char buf[96];
            snprintf(buf, sizeof buf, "parent%zu@example.org", i);
            jobs[i].f[0] = bp_xstrdup(buf);
            jobs[i].f[2] = bp_xstrdup("Réunion parents-professeurs — jeudi");
            jobs[i].f[3] = bp_xstrdup("Bonjour,\nla réunion a lieu jeudi à 18 h.\nMerci.\n");
            snprintf(buf, sizeof buf, "bench-%d-%zu@school.example", (int)getpid(), i);
            jobs[i].f[5] = bp_xstrdup(buf);
            set_job(&jobs[i], i);
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
        struct djob *d = &jobs[njobs];
        memset(d, 0, sizeof *d);
        for (int k = 0; k < NF; k++) {
            const char *v = json_string_value(json_object_get(o, fields[k]));
            d->f[k] = v ? bp_xstrdup(v) : NULL;
        }
        d->job.automatic = json_is_true(json_object_get(o, "automatic"));
        njobs++;
        json_decref(o);
    }
    for (size_t i = 0; i < njobs; i++)
        set_job(&jobs[i], i);
}

static int parse_args(int argc, char **argv, struct bp_smtp_opts *o, size_t *bench_n,
                      bool *close_now)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--close-after-submit")) { *close_now = true; continue; }
        if (!v)
            return -1;
        i++;
        if (!strcmp(a, "--host")) o->host = v;
        else if (!strcmp(a, "--port")) o->port = (unsigned)atoi(v);
        else if (!strcmp(a, "--from")) o->from_address = v;
        else if (!strcmp(a, "--from-name")) o->from_name = v;
        else if (!strcmp(a, "--workers")) o->workers = (unsigned)atoi(v);
        else if (!strcmp(a, "--timeout-ms")) o->timeout_ms = atoll(v);
        else if (!strcmp(a, "--batch")) o->batch_max = (unsigned)atoi(v);
        else if (!strcmp(a, "--user")) o->username = v;
        else if (!strcmp(a, "--pass")) o->password = v;
        else if (!strcmp(a, "--ca-file")) o->ca_file = v;
        else if (!strcmp(a, "--starttls"))
            o->starttls = !strcmp(v, "required") ? BP_SMTP_TLS_REQUIRED
                        : !strcmp(v, "try") ? BP_SMTP_TLS_TRY : BP_SMTP_TLS_NO;
        else if (!strcmp(a, "--bench")) { *bench_n = (size_t)atoll(v); quiet = true; }
        else return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bp_smtp_opts o = { .host = "127.0.0.1", .workers = 2, .timeout_ms = 5000 };
    struct bp_errbuf eb;
    size_t bench_n = 0;
    bool close_now = false;
    signal(SIGPIPE, SIG_IGN);
    if (parse_args(argc, argv, &o, &bench_n, &close_now) != 0) {
        fprintf(stderr, "usage: see the top of smtp_driver.c\n");
        return 2;
    }
    read_jobs(bench_n);
    uv_loop_init(&loop);
    if (bp_smtp_sender_new(&loop, &o, &snd, &eb) != 0) {
        fprintf(stderr, "smtp_driver: %s\n", eb.msg);
        return 2;
    }
    uint64_t t0 = uv_hrtime();
    for (size_t i = 0; i < njobs; i++) {
        jobs[i].t0 = uv_now(&loop);
        if (snd.submit(snd.self, &jobs[i].job, on_done, NULL) == 0)
            submitted++;
    }
    if (close_now || njobs == 0) {
        snd.close(snd.self, on_closed, NULL);
        if (njobs && snd.submit(snd.self, &jobs[0].job, on_done, NULL) != BP_ECLOSED)
            fprintf(stderr, "submit after close was accepted\n");
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    double ms = (double)(uv_hrtime() - t0) / 1e6;
    int lc = uv_loop_close(&loop);
    size_t missing = 0;
    for (size_t i = 0; i < submitted; i++)
        missing += jobs[i].calls == 0;
    printf("{\"summary\":true,\"submitted\":%zu,\"results\":%zu,\"ok\":%zu,\"dup_callbacks\":%zu,"
           "\"missing\":%zu,\"loop_close\":%d,\"elapsed_ms\":%.1f,\"per_second\":%.0f}\n",
           submitted, results, oks, dups, missing, lc, ms, ms > 0 ? (double)results * 1000.0 / ms : 0);
    for (size_t i = 0; i < njobs; i++)
        for (int k = 0; k < NF; k++)
            free(jobs[i].f[k]);
    free(jobs);
    return (lc == 0 && dups == 0 && missing == 0 && closed) ? 0 : 1;
}
