/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `backpack serve [-c FILE]`: runs the daemon.  Loads the configuration,
 * builds the app (migrations, store writer, HTTP server with /healthz and
 * /metrics) and runs its loop until SIGTERM/SIGINT.  Exit status: 0 after a
 * clean stop (uv_loop_close() returned 0), 1 on a runtime failure, 2 on a
 * usage or configuration error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/app.h"
#include "bp/cli.h"
#include "bp/log.h"
#include "bp/mt.h"
#include "bp/outbox.h"
#include "bp/sms.h"
#include "bp/smtp.h"
#include "bp/tmpl.h"
#include "bp_build.h"

/* What the outbox owns beyond the app: its senders and the MT adapter. */
struct serve_outbox {
    struct bp_app *app;
    struct bp_sender sms, email;
    struct bp_mt *mt;
    struct bp_outbox *ob;
};

static int start_sms(uv_loop_t *loop, const struct bp_conf *c, struct bp_sender *out,
                     struct bp_errbuf *eb)
{
    char cb[512];
    struct bp_sms_opts o = {
        .api_base = c->sms_api_base, .account_sid = c->sms_account_sid,
        .auth_token = c->sms_auth_token, .from_number = c->sms_from_number,
        .messaging_service_sid = c->sms_messaging_service_sid,
        .status_callback = cb, .rate_per_second = (unsigned)c->sms_rate_per_second,
        .max_in_flight = (unsigned)c->sms_max_in_flight,
        .request_timeout_ms = c->sms_request_timeout,
    };

    snprintf(cb, sizeof cb, "%s%s", c->server_public_url,
             c->server_public_url[0] ? "/webhooks/sms/twilio/status" : "");
    return bp_sms_sender_new_threaded(loop, &o, out, eb);
}

/* The SMS window: rows claimed ahead of the sender.  With no rate limit,
 * eight times the requests open at once, claimed again each time a quarter
 * of it has come back (sms_refill_at: claims of 2 x max_in_flight), so that
 * the sender still has requests to start while results go to the store
 * writer and the next claim comes back, even when a commit's fdatasync
 * takes milliseconds.  A window of max_in_flight left the connections idle
 * during each claim (6,300 -> 7,100 SMS/s in tests/bench/outbound.sh); four
 * times, refilled at half: 11,945-15,366/s (median 13,333) against
 * 15,374-17,669/s (median 16,119) for this, alternating on 2026-11-24.
 * With a rate limit, at most one second's worth at that rate (at least 2):
 * the rows past the token bucket wait in the sender's FIFO, already
 * `sending`, where a STOP or a hold no longer reaches them. */
static unsigned sms_window(const struct bp_conf *c)
{
    unsigned w = 8 * (unsigned)c->sms_max_in_flight;
    unsigned rate = (unsigned)c->sms_rate_per_second;
    if (rate > 0 && rate < w)
        w = rate < 2 ? 2 : rate;
    return w;
}

static unsigned sms_refill_at(const struct bp_conf *c)
{
    unsigned w = sms_window(c);
    return w - w / 4;
}

/* E-mails per SMTP session, and the e-mail window: two sessions' worth per
 * worker.  The outbox refills a channel when half its window has come back,
 * so a worker that ends its session finds the next one's e-mails already
 * queued; with a window of one session per worker (and a worker taking all
 * that is queued) the refill waited for half the workers to finish, one
 * worker often took most of a claim, and the others stood idle
 * (docs/benchmarks.md, e-mail drain). */
#define EMAIL_PER_SESSION 32

/* [smtp] -> the e-mail sender (docs/senders.md).  The From name defaults
 * to the school's name; starttls no|try|required is the enum's index. */
static int start_email(uv_loop_t *loop, const struct bp_conf *c, struct bp_sender *out,
                       struct bp_errbuf *eb)
{
    struct bp_smtp_opts o = {
        .host = c->smtp_host, .port = (unsigned)c->smtp_port,
        .starttls = c->smtp_starttls == BP_CONF_TLS_NO    ? BP_SMTP_TLS_NO
                    : c->smtp_starttls == BP_CONF_TLS_TRY ? BP_SMTP_TLS_TRY
                                                          : BP_SMTP_TLS_REQUIRED,
        .ca_file = c->smtp_ca_file,
        .username = c->smtp_username, .password = c->smtp_password,
        .from_address = c->smtp_from_address,
        .from_name = c->smtp_from_name[0] ? c->smtp_from_name : c->school_name,
        .workers = (unsigned)c->smtp_workers, .timeout_ms = c->smtp_timeout,
        .batch_max = EMAIL_PER_SESSION,
    };

    if (c->smtp_from_address[0] == '\0') {
        bp_errbuf_set(eb, "smtp", "[smtp] from_address is required when enabled");
        return BP_ECONFIG;
    }
    return bp_smtp_sender_new(loop, &o, out, eb);
}

/* The stop hook holds the app's stop sequence until the senders have
 * closed: the e-mail sender's worker threads signal a loop handle when they
 * exit, so the loop must not end before. */
static void outbox_stopped(void *arg)
{
    struct serve_outbox *so = arg;

    bp_app_stop_release(so->app);
}

static void outbox_stop(void *arg)
{
    struct serve_outbox *so = arg;

    bp_app_stop_hold(so->app);
    bp_outbox_stop(so->ob);
}

/* The outbox and its senders (docs/outbox.md).  BACKPACK_TEST_CLOCK_MS
 * (test-only) pins the clock so quiet-hours tests need no sleeping.
 * Templates sent through POST /api/messages render from the app's live
 * catalogue (files + custom templates saved through /api/templates); free
 * text is machine-translated when [translate] is enabled. */
static int start_outbox(struct bp_app *app, const struct bp_conf *c,
                        struct serve_outbox *so, struct bp_errbuf *eb)
{
    struct bp_outbox_env env = {
        .loop = bp_app_loop(app), .writer = bp_app_writer(app),
        .store_ro = bp_app_store_ro(app), .http = bp_app_http(app),
        .window = {sms_window(c), (unsigned)c->smtp_workers * 2 * EMAIL_PER_SESSION},
        .refill_at = {sms_refill_at(c), 0},
        .on_stopped = outbox_stopped, .stopped_arg = so,
    };
    const char *fake = getenv("BACKPACK_TEST_CLOCK_MS");
    int rc;

    so->app = app;
    if (fake != NULL && *fake != '\0')
        bp_clock_set_fake(strtoll(fake, NULL, 10));
    env.templates = bp_app_templates(app);
    if ((rc = bp_mt_from_conf(c, &so->mt, eb)) < 0)
        return rc;
    env.mt = so->mt;
    if (c->sms_enabled) {
        if ((rc = start_sms(env.loop, c, &so->sms, eb)) < 0)
            return rc;
        env.senders[BP_CHANNEL_SMS] = &so->sms;
    }
    if (c->smtp_enabled) {
        if ((rc = start_email(env.loop, c, &so->email, eb)) < 0) {
            if (env.senders[BP_CHANNEL_SMS] != NULL)
                so->sms.close(so->sms.self, NULL, NULL);
            return rc;
        }
        env.senders[BP_CHANNEL_EMAIL] = &so->email;
    }
    if ((rc = bp_outbox_start(c, &env, &so->ob, eb)) < 0) {
        for (int ch = 0; ch < 2; ch++)
            if (env.senders[ch] != NULL)
                env.senders[ch]->close(env.senders[ch]->self, NULL, NULL);
        return rc;
    }
    bp_app_add_metrics(app, bp_outbox_metrics, so->ob);
    if (so->mt != NULL)
        bp_app_on_inbound_message(app, bp_outbox_inbound_message, so->ob);
    bp_app_on_stop(app, outbox_stop, so);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: backpack serve [-c FILE]\n"
            "\n"
            "Runs the daemon: applies pending database migrations, starts the\n"
            "store writer and serves HTTP on [server] listen (/healthz,\n"
            "/metrics, webhooks).  Logs go to standard error (journald) or\n"
            "[log] file.  SIGTERM or SIGINT stops it cleanly (in-flight\n"
            "requests finish, queued writes are committed); SIGHUP reopens\n"
            "the log file.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE   configuration file (default: $BACKPACK_CONFIG,\n"
            "                      else " BP_CONF_DEFAULT_PATH ")\n"
            "  -h, --help          show this help\n");
}

int bp_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_conf *conf = NULL;
    struct bp_app *app = NULL;
    struct serve_outbox so;
    const char *path = NULL;
    int opt, rc;

    memset(&so, 0, sizeof so);
    optind = 1;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'h': usage(stdout); return BP_EXIT_OK;
        default: usage(stderr); return BP_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "backpack serve: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr);
        return BP_EXIT_USAGE;
    }
    rc = bp_cli_load_conf(path, &conf);
    if (rc != 0)
        return rc;
    bp_log_info("app", "starting", "version=%s", BP_VERSION);
    rc = bp_app_new(conf, &app, &eb);
    if (rc < 0) {
        bp_log_error("app", "start_failed", "err=%s where=%s msg=\"%s\"",
                     bp_err_name(rc), eb.where, eb.msg);
        bp_conf_free(conf);
        bp_log_close();
        return BP_EXIT_FAIL;
    }
    rc = bp_app_modules_start(app, &eb);
    if (rc < 0) {
        bp_log_error("app", "start_failed", "err=%s where=%s msg=\"%s\"",
                     bp_err_name(rc), eb.where, eb.msg);
        bp_app_stop(app);
        if (bp_app_run(app, &eb) < 0)   /* only drains and closes */
            bp_log_warn("app", "stop_after_failed_start", NULL);
        bp_app_free(app);
        bp_conf_free(conf);
        bp_log_close();
        return BP_EXIT_FAIL;
    }
    rc = start_outbox(app, conf, &so, &eb);
    if (rc < 0) {
        bp_log_error("outbox", "start_failed", "err=%s msg=\"%s\"",
                     bp_err_name(rc), eb.msg);
        bp_app_stop(app);
    }
    if (bp_app_run(app, &eb) < 0 || rc < 0)
        rc = -1;
    bp_outbox_free(so.ob);
    bp_app_free(app);
    bp_mt_free(so.mt);
    bp_conf_free(conf);
    bp_log_close();
    return rc == 0 ? BP_EXIT_OK : BP_EXIT_FAIL;
}
