/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The daemon's feature modules, started after the core (store writer, HTTP
 * server) and released after the loop has stopped:
 *  - the message catalogue (locales/), loaded and validated once at start;
 *  - inbound SMS webhooks (when [sms] enabled), whose keyword replies are
 *    rendered from the catalogue in the guardian's language;
 *  - the IMAP poller of the reply mailbox (when [imap] enabled);
 *  - the unsubscribe link of every e-mail (GET/POST /unsubscribe/<token>).
 * Each module registers its routes, metrics and stop hooks through the app
 * accessors, so app.c stays about the life cycle only.
 */
#include <stdlib.h>
#include <string.h>

#include "app_int.h"
#include "bp/imap.h"
#include "bp/ingest_http.h"
#include "bp/log.h"
#include "bp/tmpl.h"
#include "bp/tmpl_api.h"
#include "bp/unsub.h"

struct bp__app_modules {
    struct bp_tmpl_catalog *catalog;
    struct bp_tmpl_live *templates;   /* catalogue + custom templates (tmpl_api.h) */
    struct bp_ingest *ingest;
    struct bp_imap *imap;
    struct bp_unsub *unsub;
    const struct bp_conf *conf;
    uint64_t events_sms_in;     /* new inbound messages announced */
    uint64_t events_email_in;
    void (*inbound_fn)(void *arg, int64_t message_id);   /* bp_app_on_inbound_message */
    void *inbound_arg;
};

/*
 * Renders a keyword reply (writer thread).  STOP/START/HELP answers are
 * required by carriers and the FCC, so a family whose language has no
 * catalogue entry gets the school's default language rather than nothing.
 */
static int render_reply(void *ctx, enum bp_store_reply kind, const char *locale,
                        char *buf, size_t n)
{
    struct bp__app_modules *m = ctx;
    const struct bp_conf *c = m->conf;
    const char *key = kind == BP_STORE_REPLY_STOP    ? "sms.stop_confirm"
                      : kind == BP_STORE_REPLY_START ? "sms.start_confirm"
                                                     : "sms.help";
    struct bp_tmpl_arg args[] = {
        BP_TMPL_ARG_STR("school", c->school_name),
        BP_TMPL_ARG_STR("phone", c->school_phone),
        BP_TMPL_ARG_STR("website", c->school_website),
    };
    char tag[64];
    enum bp_tmpl_match match;
    struct bp_errbuf eb;
    struct bp_buf out;
    int rc;

    rc = bp_tmpl_negotiate(m->catalog, locale, key, c->school_default_locale,
                           tag, sizeof tag, &match);
    if (rc < 0) {
        bp_log_error("app", "reply_not_rendered", "key=%s locale=%s err=%s",
                     key, locale, bp_err_name(rc));
        return rc;
    }
    bp_buf_init(&out, n - 1);
    rc = bp_tmpl_render(m->catalog, key, tag, args, BP_ARRAY_LEN(args),
                        c->school_timezone, &out, &eb);
    if (rc == 0)
        memcpy(buf, out.data, out.len + 1);
    else
        bp_log_error("app", "reply_not_rendered", "key=%s locale=%s err=%s msg=\"%s\"",
                     key, tag, bp_err_name(rc), eb.msg);
    bp_buf_free(&out);
    return rc;
}

static int ingest_metrics(void *arg, struct bp_buf *out)
{
    return bp_ingest_metrics_write(arg, out);
}

/* Registered whenever SMS or IMAP is on: both kinds, so the family is
 * complete whichever inbound paths are configured. */
static int events_metrics(void *arg, struct bp_buf *out)
{
    struct bp__app_modules *m = arg;

    return bp_buf_printf(out,
        "# HELP backpack_message_events_total New messages announced to live subscribers.\n"
        "# TYPE backpack_message_events_total counter\n"
        "backpack_message_events_total{kind=\"sms_in\"} %llu\n"
        "backpack_message_events_total{kind=\"email_in\"} %llu\n",
        (unsigned long long)m->events_sms_in, (unsigned long long)m->events_email_in);
}

/* The live-update seam: each stored inbound message (SMS or e-mail) is
 * announced here, on the loop thread after its commit; the inbound
 * handler (machine translation for the teacher) hears of it, and the
 * dashboard's SSE endpoint will fan it out to the staff who may see it. */
static void announce(struct bp__app_modules *m, const char *kind, int64_t message_id,
                     int64_t conversation_id)
{
    bp_log_debug("app", "message_event", "kind=%s msg=%lld convo=%lld", kind,
                 (long long)message_id, (long long)conversation_id);
    if (m->inbound_fn != NULL)
        m->inbound_fn(m->inbound_arg, message_id);
}

static void on_message_event(void *arg, const struct bp_ingest_event *ev)
{
    struct bp__app_modules *m = arg;

    m->events_sms_in++;
    announce(m, ev->kind, ev->message_id, ev->conversation_id);
}

static void on_email_stored(void *arg, int64_t message_id, int64_t conversation_id)
{
    struct bp__app_modules *m = arg;

    m->events_email_in++;
    announce(m, "email_in", message_id, conversation_id);
}

void bp_app_on_inbound_message(struct bp_app *app, void (*fn)(void *arg, int64_t message_id),
                               void *arg)
{
    if (app->modules != NULL) {
        app->modules->inbound_fn = fn;
        app->modules->inbound_arg = arg;
    }
}

static int start_ingest(struct bp_app *app, struct bp__app_modules *m,
                        struct bp_errbuf *eb)
{
    const struct bp_conf *c = app->conf;
    struct bp_ingest_opts o = {
        .provider = "twilio",
        .public_url = c->server_public_url,
        .account_sid = c->sms_account_sid,
        .auth_token = c->sms_auth_token,
        .thread_window_ms = c->sms_thread_window,
        .render = render_reply,
        .render_ctx = m,
    };
    int rc = bp_ingest_new(app->writer, &o, &m->ingest, eb);

    if (rc < 0)
        return rc;
    rc = bp_ingest_register(m->ingest, app->http);
    if (rc < 0) {
        bp_errbuf_set(eb, "http", "cannot register the SMS webhooks");
        return rc;
    }
    bp_ingest_listen(m->ingest, on_message_event, m);
    bp_app_add_metrics(app, ingest_metrics, m->ingest);
    bp_log_info("app", "sms_webhooks_enabled", "provider=%s", o.provider);
    return 0;
}

static int imap_metrics(void *arg, struct bp_buf *out)
{
    return bp_imap_metrics_write(arg, out);
}

static void imap_stop(void *arg)
{
    bp_imap_stop(arg);
}

static int start_imap(struct bp_app *app, struct bp__app_modules *m,
                      struct bp_errbuf *eb)
{
    const struct bp_conf *c = app->conf;
    struct bp_imap_opts o = {
        .url = c->imap_url,
        .username = c->imap_username,
        .password = c->imap_password,
        .starttls = c->imap_starttls == BP_CONF_TLS_NO         ? BP_IMAP_TLS_NO
                    : c->imap_starttls == BP_CONF_TLS_REQUIRED ? BP_IMAP_TLS_REQUIRED
                                                               : BP_IMAP_TLS_TRY,
        .ca_file = c->imap_ca_file,
        .move_to = c->imap_move_to,
        .own_address = c->smtp_from_address,
        .poll_interval_ms = c->imap_poll_interval,
        .thread_window_ms = c->sms_thread_window,
        .max_message_bytes = (size_t)c->imap_max_message_bytes,
        .max_attachment_bytes = (size_t)c->imap_max_attachment_bytes,
        .raw_keep_bytes = (size_t)c->imap_raw_keep_bytes,
        .on_stored = on_email_stored,
        .on_stored_arg = m,
    };
    int rc = bp_imap_new(&app->loop, app->writer, app->ro, &o, &m->imap, eb);

    if (rc < 0)
        return rc;
    bp_app_add_metrics(app, imap_metrics, m->imap);
    bp_app_on_stop(app, imap_stop, m->imap);
    bp_imap_start(m->imap);
    return 0;
}

static int unsub_metrics(void *arg, struct bp_buf *out)
{
    return bp_unsub_metrics_write(arg, out);
}

/* Always on: e-mails already sent carry the link even if [smtp] is off now. */
static int start_unsub(struct bp_app *app, struct bp__app_modules *m,
                       struct bp_errbuf *eb)
{
    struct bp_unsub_opts o = {
        .catalog = m->catalog,
        .school_name = app->conf->school_name,
        .default_locale = app->conf->school_default_locale,
    };
    int rc = bp_unsub_new(app->writer, app->ro, &o, &m->unsub, eb);

    if (rc == 0 && (rc = bp_unsub_register(m->unsub, app->http)) < 0)
        bp_errbuf_set(eb, "http", "cannot register the unsubscribe routes");
    if (rc == 0)
        bp_app_add_metrics(app, unsub_metrics, m->unsub);
    return rc;
}

int bp__app_modules_health(struct bp_app *app, struct bp_buf *out)
{
    struct bp__app_modules *m = app->modules;

    if (m == NULL || m->imap == NULL)
        return bp_buf_appends(out, "\"disabled\"");
    return bp_imap_health_json(m->imap, out);
}

int bp_app_modules_start(struct bp_app *app, struct bp_errbuf *eb)
{
    struct bp__app_modules *m = bp_xcalloc(1, sizeof *m);
    const char *dir = bp_tmpl_locales_dir(app->conf->school_locales_dir);
    int rc;

    app->modules = m;
    m->conf = app->conf;
    m->catalog = bp_tmpl_catalog_new();
    rc = bp_tmpl_catalog_load_dir(m->catalog, dir, eb);
    if (rc < 0)
        return rc;
    bp_log_info("app", "catalog_loaded", "dir=%s locales=%zu", dir,
                bp_tmpl_catalog_locale_count(m->catalog));
    if ((rc = bp_tmpl_api_live_new(app->ro, dir, app->conf->school_default_locale,
                                   &m->templates, eb)) < 0 ||
        (rc = bp_tmpl_api_register(app->http, app->writer, app->conf, m->templates)) < 0)
        return rc;
    if ((rc = start_unsub(app, m, eb)) < 0)
        return rc;
    if (app->conf->sms_enabled && (rc = start_ingest(app, m, eb)) < 0)
        return rc;
    if (app->conf->imap_enabled && (rc = start_imap(app, m, eb)) < 0)
        return rc;
    if (app->conf->sms_enabled || app->conf->imap_enabled)
        bp_app_add_metrics(app, events_metrics, m);
    return 0;
}

struct bp_tmpl_live *bp_app_templates(struct bp_app *app)
{
    return app->modules ? app->modules->templates : NULL;
}

void bp_app_modules_free(struct bp_app *app)
{
    struct bp__app_modules *m = app->modules;

    if (m == NULL)
        return;
    bp_ingest_free(m->ingest);
    bp_imap_free(m->imap);
    bp_unsub_free(m->unsub);
    bp_tmpl_catalog_free(m->catalog);
    bp_tmpl_api_live_free(m->templates);
    free(m);
    app->modules = NULL;
}
