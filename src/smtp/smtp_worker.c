/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SMTP worker threads.  Each takes everything queued (up to batch_max),
 * builds the MIME text of each job (smtp_mime.c), and sends the batch over
 * ONE libesmtp session: connect, EHLO, STARTTLS per config, AUTH when a
 * user name is set, MAIL/RCPT/DATA per message, QUIT.  Statuses (MAIL, RCPT,
 * DATA) are read BEFORE smtp_destroy_session (reading after is a
 * use-after-free) and classified by smtp_classify.c; results go to the
 * loop through the done list and uv_async_send.  Messages the relay has
 * answered after their text (libesmtp's SMTP_EV_MESSAGESENT) go in groups
 * of HAND_OVER_EVERY while the session goes on: the outbox records them
 * `sent` sooner, and a crash mid-session re-sends at most a group and the
 * message in transfer, not the whole batch; the others go when the session
 * ends.  Timeouts are milliseconds
 * with Timeout_OVERRIDE_RFC2822_MINIMUM (DEPENDENCY-NOTES §4).
 * Workers never touch loop objects other than uv_async_send.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <auth-client.h>
#include <openssl/ssl.h>          /* before libesmtp.h: smtp_starttls_set_ctx */
#include <libesmtp.h>

#include "bp/base.h"
#include "bp/log.h"
#include "smtp_int.h"

struct slot {
    struct smtp_job *j;           /* the loop's once reported: not to be touched */
    char *text;
    smtp_message_t msg;
    smtp_recipient_t rcpt;
    bool answered;                /* the relay answered its text: result final */
    bool reported;                /* handed over to the loop */
};

/* Answered messages are handed over in groups of this many (and the rest at
 * the end of the session).  One by one, the outbox recorded them a few per
 * transaction: e-mail drained ~15 % slower with ~50 % more daemon CPU
 * (tests/bench/outbound.sh, 2026-11-23); in eights the drain is as fast as
 * with a whole session at once, and a crash re-sends at most 8 + 1 e-mails
 * per worker instead of the session's 32. */
#define HAND_OVER_EVERY 8

/* One session's state, the libesmtp event callback's argument. */
struct session_ctx {
    struct bp_smtp *s;
    struct slot *sl;
    size_t n;
    unsigned answered;            /* answered and not yet handed over */
    struct bp__smtp_tls_watch tw;
};

static int auth_interact(auth_client_request_t req, char **result, int fields, void *arg)
{
    struct bp_smtp *s = arg;
    for (int i = 0; i < fields; i++) {
        if (req[i].flags & AUTH_USER)
            result[i] = s->username;
        else if (req[i].flags & AUTH_PASS)
            result[i] = s->password;
        else
            return 0;
    }
    return 1;
}

/* Watches the dialogue for AUTH: libesmtp does not report a refused AUTH (it
 * QUITs, every message keeps status code 0, and the 535 line never reaches
 * the monitor).  AUTH sent and no 235 seen = credentials refused. */
struct auth_watch {
    bool sent, ok;
};

static void monitor(const char *buf, int len, int writing, void *arg)
{
    struct auth_watch *w = arg;
    if (writing == SMTP_CB_WRITING && len >= 5 && !strncmp(buf, "AUTH ", 5))
        w->sent = true;
    else if (writing == SMTP_CB_READING && len >= 3 && !strncmp(buf, "235", 3))
        w->ok = true;
}

static void reply_of(const smtp_status_t *st, struct bp__smtp_reply *r)
{
    memset(r, 0, sizeof *r);
    if (!st)
        return;
    r->code = st->code;
    r->enh[0] = st->enh_class;
    r->enh[1] = st->enh_subject;
    r->enh[2] = st->enh_detail;
    r->text = st->text;
}

static void on_event(smtp_session_t ss, int event, void *arg, ...);

static smtp_session_t new_session(struct bp_smtp *s, auth_context_t *auth,
                                  struct session_ctx *ctx)
{
    smtp_session_t ss = smtp_create_session();
    if (!ss)
        return NULL;
    smtp_set_server(ss, s->server);
    smtp_set_eventcb(ss, on_event, ctx);
    if (s->tls != NULL)
        smtp_starttls_set_ctx(ss, s->tls);   /* a reference; smtp_tls.c says why */
    static const int which[] = { Timeout_GREETING, Timeout_ENVELOPE, Timeout_DATA,
                                 Timeout_TRANSFER, Timeout_DATA2 };
    for (size_t i = 0; i < BP_ARRAY_LEN(which); i++)
        smtp_set_timeout(ss, which[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, s->timeout_ms);
    smtp_starttls_enable(ss, s->starttls == BP_SMTP_TLS_REQUIRED ? Starttls_REQUIRED
                             : s->starttls == BP_SMTP_TLS_TRY   ? Starttls_ENABLED
                                                                : Starttls_DISABLED);
    *auth = NULL;
    if (s->username) {
        *auth = auth_create_context();
        auth_set_mechanism_flags(*auth, AUTH_PLUGIN_PLAIN, 0);
        auth_set_interact_cb(*auth, auth_interact, s);
        smtp_auth_set_context(ss, *auth);
    }
    return ss;
}

static void bad_message(struct smtp_job *j, const char *why)
{
    memset(&j->res, 0, sizeof j->res);
    j->res.cls = BP_SEND_PERMANENT;
    snprintf(j->res.error_code, sizeof j->res.error_code, "bad_message");
    snprintf(j->res.error_detail, sizeof j->res.error_detail, "%s", why);
}

/* STARTTLS went wrong (the relay's certificate refused, or starttls =
 * required and none offered): libesmtp QUIT before any message, so each
 * has no reply at all.  TRANSIENT: a relay's certificate gets fixed or
 * renewed, and the announcement should then still go out (until the
 * outbox's retry deadline); the reason is in error_detail, logged by the
 * outbox with the result. */
static void tls_failed(const struct bp__smtp_tls_watch *tw, struct bp_send_result *r)
{
    memset(r, 0, sizeof *r);
    r->cls = BP_SEND_TRANSIENT;
    snprintf(r->error_code, sizeof r->error_code, "tls");
    snprintf(r->error_detail, sizeof r->error_detail, "%s",
             tw->refused ? tw->why : "STARTTLS is required and the relay does not offer it");
}

/* Hands finished jobs to the loop (only the answered ones when
 * answered_only); the worker no longer touches them. */
static void hand_over(struct bp_smtp *s, struct slot *sl, size_t n, bool answered_only)
{
    uv_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++)
        if (!sl[i].reported && (sl[i].answered || !answered_only)) {
            bp__smtp_list_push(&s->done, sl[i].j);
            sl[i].reported = true;
        }
    uv_mutex_unlock(&s->mu);
    uv_async_send(&s->async);
}

/* A refusal that is the school's configuration (the relay refused the
 * password or the sender address): every e-mail waits for an admin, so it
 * is said once per run (as the SMS sender's, sms_req.c), at error level,
 * with the relay's words (scrubbed). */
static atomic_bool refusal_said;

static void config_refused(const struct bp_send_result *r)
{
    if (r->cls != BP_SEND_TRANSIENT || (strcmp(r->error_code, "auth") != 0 &&
                                        strcmp(r->error_code, "sender_refused") != 0))
        return;
    if (!atomic_exchange(&refusal_said, true))
        bp_log_error("smtp", "relay_refused", "code=%s detail=\"%s\" hint=\"%s\"",
                     r->error_code, r->error_detail,
                     strcmp(r->error_code, "auth") == 0
                         ? "check [smtp] username and password"
                         : "check [smtp] from_address: the relay does not let this account"
                           " send as it");
}

/* The result of a slot from libesmtp's statuses of its message. */
static void classify_slot(struct slot *sl, int eno, const char *etext, bool auth_failed,
                          const struct bp__smtp_tls_watch *tw)
{
    struct bp__smtp_reply mail, rcpt, data;
    reply_of(sl->msg ? smtp_reverse_path_status(sl->msg) : NULL, &mail);
    reply_of(sl->rcpt ? smtp_recipient_status(sl->rcpt) : NULL, &rcpt);
    reply_of(sl->msg ? smtp_message_transfer_status(sl->msg) : NULL, &data);
    if (auth_failed && mail.code == 0) {
        mail.code = 535;                /* credentials refused */
        mail.text = "authentication refused";
    }
    bp__smtp_classify(&mail, &rcpt, &data, eno, etext, &sl->j->res);
    if (auth_failed && mail.code == 535) {
        /* TRANSIENT, as a refused certificate (tls_failed): the school's
         * configuration, not the message; retried until the outbox's
         * deadline so the announcement still goes out once an admin fixes
         * the password and restarts.  PERMANENT failed every e-mail of it. */
        sl->j->res.cls = BP_SEND_TRANSIENT;
        snprintf(sl->j->res.error_code, sizeof sl->j->res.error_code, "auth");
    } else if (tw != NULL && (tw->refused || tw->not_offered) && mail.code == 0)
        tls_failed(tw, &sl->j->res);
    config_refused(&sl->j->res);
}

/* libesmtp's events: a message answered after its text has its result
 * (its MAIL, RCPT and DATA replies are final then), and goes to the loop
 * with the next HAND_OVER_EVERY; the rest are STARTTLS's (smtp_tls.c). */
static void on_event(smtp_session_t ss, int event, void *arg, ...)
{
    struct session_ctx *ctx = arg;
    va_list ap;
    (void)ss;
    va_start(ap, arg);
    if (event == SMTP_EV_MESSAGESENT) {
        struct slot *sl = smtp_message_get_application_data(va_arg(ap, smtp_message_t));
        if (sl != NULL && !sl->answered) {
            classify_slot(sl, 0, "", false, NULL);
            sl->answered = true;
            if (++ctx->answered >= HAND_OVER_EVERY) {
                hand_over(ctx->s, ctx->sl, ctx->n, true);
                ctx->answered = 0;
            }
        }
    } else {
        bp__smtp_tls_event(&ctx->tw, event, ap);
    }
    va_end(ap);
}

/* Sends slots[0..n) over one session and hands every job over with its
 * result (those the relay answered during the session already are). */
static void send_batch(struct bp_smtp *s, struct slot *sl, size_t n)
{
    auth_context_t auth = NULL;
    struct session_ctx ctx = { s, sl, n, 0,
                               { s->starttls == BP_SMTP_TLS_REQUIRED, false, false, false,
                                 "" } };
    smtp_session_t ss = new_session(s, &auth, &ctx);
    size_t used = 0;
    struct auth_watch aw = { false, false };
    if (ss && auth)
        smtp_set_monitorcb(ss, monitor, &aw, 0);
    for (size_t i = 0; ss && i < n; i++) {
        char err[128];
        size_t len;
        struct bp_send_job *job = sl[i].j->job;
        sl[i].text = bp_smtp_mime_build(s->from_name, s->from_address, job, bp_clock_now_ms(),
                                        &len, err, sizeof err);
        if (!sl[i].text) {
            bad_message(sl[i].j, err);
            continue;
        }
        sl[i].msg = smtp_add_message(ss);
        smtp_message_set_application_data_release(sl[i].msg, &sl[i], NULL);
        smtp_set_reverse_path(sl[i].msg, s->from_address);
        sl[i].rcpt = smtp_add_recipient(sl[i].msg, job->to);
        smtp_set_message_str(sl[i].msg, sl[i].text);
        used++;
    }
    int ok = used ? smtp_start_session(ss) : 1;
    int eno = ok ? 0 : smtp_errno();
    char etext[128] = "";
    if (!ok)
        smtp_strerror(eno, etext, sizeof etext);
    bool auth_failed = aw.sent && !aw.ok;
    for (size_t i = 0; i < n; i++) {
        if (sl[i].answered || (!sl[i].text && ss))
            continue;                     /* result known, or bad_message */
        classify_slot(&sl[i], ss ? eno : -1, ss ? etext : "no session", auth_failed, &ctx.tw);
    }
    if (ss)
        smtp_destroy_session(ss);         /* statuses were read above */
    if (auth)
        auth_destroy_context(auth);
    for (size_t i = 0; i < n; i++)
        free(sl[i].text);
    hand_over(s, sl, n, false);
}

void bp__smtp_worker_main(void *arg)
{
    struct bp_smtp *s = arg;
    struct slot *sl = bp_xcalloc(s->batch_max, sizeof *sl);
    for (;;) {
        size_t n = 0;
        uv_mutex_lock(&s->mu);
        while (!s->q.head && !s->closing)
            uv_cond_wait(&s->cv, &s->mu);
        while (n < s->batch_max && s->q.head)
            sl[n++].j = bp__smtp_list_pop(&s->q);
        uv_mutex_unlock(&s->mu);
        if (n == 0)
            break;                        /* closing and nothing queued */
        send_batch(s, sl, n);
        memset(sl, 0, n * sizeof *sl);
    }
    free(sl);
    uv_mutex_lock(&s->mu);
    s->workers_left--;
    uv_mutex_unlock(&s->mu);
    uv_async_send(&s->async);
}
