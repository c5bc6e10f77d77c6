/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The outbox scheduler on the loop thread.
 *
 * One uv_timer drives everything.  A tick submits ONE claim request to the
 * store writer (bp_store_claim_due: due retry_wait rows back to queued,
 * unusable contacts held, up to `room` due rows per channel marked
 * `sending`); only when that transaction has COMMITTED does the completion
 * hand the rows to the channel senders, so a crash can never lose track of
 * a request that left.  The timer is then re-armed to the earliest future
 * due row, at most POLL_MS away (the poll also notices rows written by
 * `backpack send` from another process); after a full batch, completions
 * re-arm it at once when a channel is down to its refill_at (half its
 * window by default: one claim per window/2 sends, not one per send).
 *
 * Results come back from the senders (send.h: once per job, on the loop)
 * and are queued; one write request at a time records the queue
 * (bp_store_record_results), so under load results are recorded in
 * batches.  What a result means is decided here: OK -> sent; TRANSIENT ->
 * retry_wait after bp_outbox_backoff_ms(), or failed once the retry
 * deadline (from creation) is passed; PERMANENT -> failed, and the contact
 * is marked invalid (21211), opted_out (21610) or bounced (SMTP 5.1.x).
 * A job canceled by the sender's close (shutdown) is left `sending`: the
 * next start recovers it (sending -> retry_wait, same idempotency key).
 *
 * Lifetime: start -> ... -> bp_outbox_stop (app stop hook: closes the
 * timer and the senders) -> loop ends -> bp_outbox_free.  Write requests
 * still pending when the writer stops complete with BP_ECLOSED, before
 * the loop ends, so free never races them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bp/log.h"
#include "bp/mailstatus.h"
#include "bp/outbox.h"
#include "outbox_int.h"

#define POLL_MS 1000
/* The hold pass reads every queued row (~0.1 s of the writer thread with
 * 145,000 queued): it runs at most once per POLL_MS and, after a long
 * one, not again before HOLD_SPACING times its duration has passed, so it
 * takes at most ~3% of the writer.  Only the `held` marking waits: the
 * claim never picks a row whose contact is unusable. */
#define HOLD_SPACING 32
/* A transient result (the delivery will be retried) is logged at info at
 * most once per RETRY_LOG_MS a channel, with the number of those logged
 * only at debug since the last one: during a provider outage or while a
 * refused token waits for an admin, every delivery of an announcement fails
 * again at each backoff step, and a line for each (145,000 for a district)
 * would bury the one error line that says what to fix, and pass journald's
 * rate limit, which then drops lines of every module.  A final failure is
 * always logged: each is a family not reached. */
#define RETRY_LOG_MS 10000

static void on_tick(uv_timer_t *t);
static void flush_results(struct bp_outbox *ob);

static void arm(struct bp_outbox *ob, uint64_t ms)
{
    if (ob->stopping)
        return;
    uv_timer_start(&ob->timer, on_tick, ms, 0);
}

void bp_outbox_kick(struct bp_outbox *ob)
{
    arm(ob, 0);
}

/* ---- dispatch ------------------------------------------------------------ */

static void on_send_done(struct bp_send_job *job, const struct bp_send_result *r,
                         void *arg);

/*
 * Reply-To identifies the conversation (<local>+<reply token>@<domain>);
 * the unsubscribe targets identify the delivery, hence the contact: the
 * token is the delivery's idempotency key (random per announcement,
 * unique, looked up through its index).  https target:
 * [server] public_url + "/unsubscribe/<token>"; mailto:
 * <local>+unsubscribe-<token>@<domain>.
 */
static void fill_email_addresses(struct bp_outbox *ob, struct bp__outbox_job *j)
{
    const struct bp_conf *c = ob->conf;
    const char *key = j->row.idempotency_key;

    if (c->smtp_reply_domain[0] != '\0' && j->row.reply_token != NULL) {
        snprintf(j->reply_to, sizeof j->reply_to, "%s+%s@%s", c->smtp_reply_local,
                 j->row.reply_token, c->smtp_reply_domain);
        j->job.reply_to = j->reply_to;
    }
    if (c->smtp_reply_domain[0] != '\0') {
        snprintf(j->unsub, sizeof j->unsub, "%s+unsubscribe-%s@%s", c->smtp_reply_local,
                 key, c->smtp_reply_domain);
        j->job.unsubscribe_mailto = j->unsub;
    }
    if (strncmp(c->server_public_url, "https://", 8) == 0) {
        /* no trailing slash: the configuration drops it (src/conf/check.c) */
        snprintf(j->unsub_url, sizeof j->unsub_url, "%s/unsubscribe/%s",
                 c->server_public_url, key);
        j->job.unsubscribe_url = j->unsub_url;
    }
}

static void dispatch(struct bp_outbox *ob, struct bp_store_claimed *row)
{
    struct bp__outbox_job *j = bp_xcalloc(1, sizeof *j);
    struct bp_sender *snd = ob->env.senders[row->channel];
    int rc;

    j->ob = ob;
    j->row = *row;              /* takes row->_mem */
    row->_mem = NULL;
    j->job.delivery_id = row->delivery_id;
    j->job.channel = (enum bp_channel)row->channel;
    j->job.to = j->row.to;
    j->job.body = j->row.body;
    j->job.idempotency_key = j->row.idempotency_key;
    j->job.automatic = j->row.system;
    if (row->channel == BP_CHANNEL_EMAIL) {
        j->job.to_name = j->row.to_name;
        j->job.subject = j->row.subject ? j->row.subject : ob->conf->school_name;
        j->job.message_id = j->row.email_message_id;
        j->job.in_reply_to = j->row.in_reply_to;
        j->job.references = j->row.references;
        fill_email_addresses(ob, j);
    }
    ob->in_flight[row->channel]++;
    rc = snd->submit(snd->self, &j->job, on_send_done, j);
    if (rc < 0) {
        /* Closed under us (shutdown): the row stays `sending` and is
         * recovered at the next start with the same key. */
        ob->in_flight[row->channel]--;
        free(j->row._mem);
        free(j);
    }
}

static void on_claimed(struct bp_store_wreq *req, int status)
{
    struct bp_outbox *ob = BP_CONTAINER_OF(req, struct bp_outbox, claim_req);
    struct bp_store_claim *c = &ob->claim;
    bool full = false;
    int64_t now = bp_clock_now_ms();

    ob->claiming = false;
    if (status < 0) {
        if (status != BP_ECLOSED)
            bp_log_error("outbox", "claim_failed", "err=%s", bp_err_name(status));
        bp_store_claim_free(c);
        memset(ob->claim_cursor, 0, sizeof ob->claim_cursor);
        arm(ob, POLL_MS);
        return;
    }
    memcpy(ob->claim_cursor, c->cursor, sizeof ob->claim_cursor);
    if (c->hold_pass) {
        /* next_hold_pass is the submit time + POLL_MS (on_tick) */
        uint64_t start = ob->next_hold_pass - POLL_MS;
        uint64_t spaced = start + HOLD_SPACING * (uv_now(ob->env.loop) - start);
        if (spaced > ob->next_hold_pass)
            ob->next_hold_pass = spaced;
    }
    if (c->held_opted_out > 0)
        bp_log_info("outbox", "held", "reason=contact_unusable count=%lld",
                    (long long)c->held_opted_out);
    for (int ch = 0; ch < 2; ch++) {
        size_t n = 0;
        for (size_t i = 0; i < c->nrows; i++)
            n += c->rows[i].channel == ch;
        if (c->max[ch] > 0 && n == c->max[ch])
            full = true;
    }
    for (size_t i = 0; i < c->nrows; i++) {
        if (ob->stopping) {
            free(c->rows[i]._mem);    /* stays sending; recovered at start */
            c->rows[i]._mem = NULL;
            continue;
        }
        dispatch(ob, &c->rows[i]);
    }
    ob->claimed_total += c->nrows;
    if (full)
        arm(ob, POLL_MS);   /* refilled when half the window has come back */
    else if (c->next_due_ms > 0 && c->next_due_ms - now < POLL_MS)
        arm(ob, c->next_due_ms > now ? (uint64_t)(c->next_due_ms - now) : 0);
    else
        arm(ob, POLL_MS);
    /* E-mail left out of this claim (more than half its window in flight
     * then) and down to half since: its refill (on_recorded) came while
     * this claim was running, and is made now. */
    if (c->max[BP_CHANNEL_EMAIL] == 0 && ob->env.senders[BP_CHANNEL_EMAIL] != NULL &&
        ob->in_flight[BP_CHANNEL_EMAIL] <= ob->env.window[BP_CHANNEL_EMAIL] / 2)
        arm(ob, 0);
    bp_store_claim_free(c);
}

static void on_tick(uv_timer_t *t)
{
    struct bp_outbox *ob = BP_CONTAINER_OF(t, struct bp_outbox, timer);
    struct bp_store_claim *c = &ob->claim;
    bool any = false;

    if (ob->claiming || ob->stopping || !ob->recovered)
        return;
    memset(c, 0, sizeof *c);
    c->now_ms = bp_clock_now_ms();
    c->email_domain = ob->conf->smtp_reply_domain;
    if (uv_now(ob->env.loop) >= ob->next_hold_pass) {
        c->hold_pass = true;         /* a scan: see HOLD_SPACING */
        ob->next_hold_pass = uv_now(ob->env.loop) + POLL_MS;
        /* and the claim cursors start over, for rows queued again behind them */
        memset(ob->claim_cursor, 0, sizeof ob->claim_cursor);
    }
    memcpy(c->cursor, ob->claim_cursor, sizeof c->cursor);
    for (int ch = 0; ch < 2; ch++) {
        unsigned w = ob->env.window[ch];
        c->channel_on[ch] = ob->env.senders[ch] != NULL;
        c->max[ch] = c->channel_on[ch] && ob->in_flight[ch] < w
                         ? w - ob->in_flight[ch] : 0;
        /* E-mail is refilled only from half its window down: a claim made
         * for the other channel would otherwise top it up by the few
         * results recorded since the last one, and the SMTP workers,
         * taking whatever is queued, would open a session for each few
         * (11 e-mails per session instead of ~32 with both channels
         * draining; a session costs the relay about 1.7 e-mails). */
        if (ch == BP_CHANNEL_EMAIL && ob->in_flight[ch] > w / 2)
            c->max[ch] = 0;
        any = any || c->max[ch] > 0;
    }
    (void)any;   /* claim even with no room: retries and holds still move */
    ob->claiming = true;
    ob->claim_req.fn = bp_store_claim_due;
    ob->claim_req.arg = c;
    ob->claim_req.done = on_claimed;
    bp_store_writer_submit(ob->env.writer, &ob->claim_req);
}

/* ---- results ------------------------------------------------------------- */

/*
 * Whether an e-mail's permanent failure says the recipient's address is bad
 * (its contact becomes "bounced" and is never e-mailed again), read from the
 * detail src/smtp/smtp_classify.c writes: "X.Y.Z STEP: server text" when the
 * server gave an enhanced status code.  Only a refusal of RCPT counts, with a
 * code bp_mail_status_bad_address accepts (no such mailbox or domain, ...).
 * Not: a refusal of MAIL (5.1.7 and 5.1.8 are the *sender's* address, the
 * school's configuration, which would otherwise mark every family bounced),
 * another code (policy, spam, a block list naming the relay's IP address,
 * quotas such as Exchange Online's 5.1.90 daily limit), and a reply without
 * an enhanced code, where a 550 may mean anything: those deliveries fail,
 * their contacts stay usable.
 */
static bool smtp_bounced(const struct bp_send_result *r)
{
    const char *step = strchr(r->error_detail, ' ');

    return r->cls == BP_SEND_PERMANENT && step != NULL &&
           strncmp(step, " RCPT:", 6) == 0 &&
           bp_mail_status_bad_address(r->error_detail);
}

static const char *contact_effect(int channel, const struct bp_send_result *r)
{
    if (channel == BP_CHANNEL_SMS) {
        if (strcmp(r->error_code, "21211") == 0)
            return "invalid";
        if (strcmp(r->error_code, "21610") == 0)
            return "opted_out";
        return NULL;
    }
    return smtp_bounced(r) ? "bounced" : NULL;
}

/* A STOP/HELP/START reply refused as "unsubscribed" (21610) means the
 * provider answers carrier keywords itself (Twilio does on long codes unless
 * the school changes it): the family got the provider's reply, in English,
 * and never gets ours in its language.  Only the school's provider settings
 * can change that; say so once per run, at warn (README, installing, step 7). */
static void keyword_reply_refused(struct bp_outbox *ob, const struct bp__outbox_job *j,
                                  const struct bp_send_result *r)
{
    if (ob->keyword_refusal_logged || !j->row.system || j->row.channel != BP_CHANNEL_SMS ||
        strcmp(r->error_code, "21610") != 0)
        return;
    ob->keyword_refusal_logged = true;
    bp_log_warn("outbox", "keyword_reply_refused",
                "delivery=%lld code=21610 hint=\"the SMS provider answers STOP/HELP/START"
                " itself and refused this confirmation, so families get its reply instead of"
                " one in their language: change the number's opt-out settings at the provider"
                " (Twilio: Advanced Opt-Out)\"", (long long)j->row.delivery_id);
}

/* See RETRY_LOG_MS. */
static void log_retry(struct bp_outbox *ob, int ch, const struct bp_store_result *res,
                      int attempt)
{
    uint64_t now = uv_now(ob->env.loop);

    if (ob->retry_logged_at[ch] != 0 && now - ob->retry_logged_at[ch] < RETRY_LOG_MS) {
        ob->retry_unlogged[ch]++;
        bp_log_debug("outbox", "send_result", "delivery=%lld channel=%s class=%s code=%s"
                     " to=%s attempt=%d", (long long)res->delivery_id,
                     ch ? "email" : "sms", res->error_class, res->error_code,
                     bp_dstate_name(res->to), attempt);
        return;
    }
    bp_log_info("outbox", "send_result", "delivery=%lld channel=%s class=%s code=%s to=%s"
                " attempt=%d retries_not_logged=%u", (long long)res->delivery_id,
                ch ? "email" : "sms", res->error_class, res->error_code,
                bp_dstate_name(res->to), attempt, ob->retry_unlogged[ch]);
    ob->retry_logged_at[ch] = now;
    ob->retry_unlogged[ch] = 0;
}

static void push_result(struct bp_outbox *ob, const struct bp_store_result *r)
{
    if (ob->pending.n == ob->pending_cap) {
        ob->pending_cap = ob->pending_cap ? ob->pending_cap * 2 : 256;
        ob->pending.v = bp_xrealloc(ob->pending.v,
                                    ob->pending_cap * sizeof *ob->pending.v);
    }
    ob->pending.v[ob->pending.n++] = *r;
}

static void on_send_done(struct bp_send_job *job, const struct bp_send_result *r,
                         void *arg)
{
    struct bp__outbox_job *j = arg;
    struct bp_outbox *ob = j->ob;
    struct bp_store_result res;
    int ch = j->row.channel;
    int64_t now = bp_clock_now_ms();

    (void)job;
    memset(&res, 0, sizeof res);
    res.delivery_id = j->row.delivery_id;
    snprintf(res.error_code, sizeof res.error_code, "%s", r->error_code);
    snprintf(res.error_detail, sizeof res.error_detail, "%s", r->error_detail);
    if (r->cls == BP_SEND_OK) {
        res.to = BP_DS_SENT;
        res.provider = ch == BP_CHANNEL_SMS ? "twilio" : "smtp";
        snprintf(res.provider_msg_id, sizeof res.provider_msg_id, "%s",
                 r->provider_msg_id);
        ob->sends[ch][0]++;
    } else if (r->cls == BP_SEND_TRANSIENT) {
        ob->sends[ch][1]++;
        if (strcmp(r->error_code, "canceled") == 0) {
            ob->in_flight[ch]--;
            free(j->row._mem);      /* shutdown: recovered at next start */
            free(j);
            return;
        }
        res.error_class = "transient";
        res.to = BP_DS_RETRY_WAIT;
        res.next_attempt_at = now + bp_outbox_backoff_ms(
            j->row.attempts, ob->conf->outbox_retry_base, ob->conf->outbox_retry_max,
            r->retry_after_ms, randombytes_random());
        if (res.next_attempt_at > j->row.created_at + ob->conf->outbox_retry_deadline)
            res.to = BP_DS_FAILED;
    } else {
        ob->sends[ch][2]++;
        res.error_class = "permanent";
        res.to = BP_DS_FAILED;
        res.contact_status = contact_effect(ch, r);
        keyword_reply_refused(ob, j, r);
    }
    if (res.to == BP_DS_RETRY_WAIT)
        log_retry(ob, ch, &res, j->row.attempts);
    else if (res.to != BP_DS_SENT)
        bp_log_info("outbox", "send_result", "delivery=%lld channel=%s class=%s"
                    " code=%s to=%s attempt=%d", (long long)res.delivery_id,
                    ch ? "email" : "sms", res.error_class, res.error_code,
                    bp_dstate_name(res.to), j->row.attempts);
    push_result(ob, &res);
    ob->unrecorded_pending[ch]++;   /* still in_flight until recorded */
    free(j->row._mem);
    free(j);
    flush_results(ob);
}

static void on_recorded(struct bp_store_wreq *req, int status)
{
    struct bp_outbox *ob = BP_CONTAINER_OF(req, struct bp_outbox, result_req);

    ob->recording = false;
    for (int ch = 0; ch < 2; ch++) {
        ob->in_flight[ch] -= ob->unrecorded_inflight[ch];
        ob->unrecorded_inflight[ch] = 0;
    }
    if (status < 0 && status != BP_ECLOSED)
        bp_log_error("outbox", "record_failed", "err=%s count=%zu",
                     bp_err_name(status), ob->inflight_results.n);
    free(ob->inflight_results.v);
    memset(&ob->inflight_results, 0, sizeof ob->inflight_results);
    if (status == BP_ECLOSED)
        return;
    flush_results(ob);
    /* Refill once in flight is down to refill_at (half the window, or
     * three quarters for SMS: cmd_serve.c): one claim transaction per
     * window - refill_at sends rather than one per send. */
    for (int ch = 0; ch < 2; ch++)
        if (ob->env.senders[ch] != NULL && ob->in_flight[ch] <= ob->env.refill_at[ch])
            arm(ob, 0);
}

static void flush_results(struct bp_outbox *ob)
{
    if (ob->recording || ob->pending.n == 0)
        return;
    ob->inflight_results = ob->pending;
    ob->inflight_results.now_ms = bp_clock_now_ms();
    memset(&ob->pending, 0, sizeof ob->pending);
    ob->pending_cap = 0;
    for (int ch = 0; ch < 2; ch++) {
        ob->unrecorded_inflight[ch] = ob->unrecorded_pending[ch];
        ob->unrecorded_pending[ch] = 0;
    }
    ob->recording = true;
    ob->result_req.fn = bp_store_record_results;
    ob->result_req.arg = &ob->inflight_results;
    ob->result_req.done = on_recorded;
    bp_store_writer_submit(ob->env.writer, &ob->result_req);
}

/* ---- start / stop -------------------------------------------------------- */

static void on_recovered(struct bp_store_wreq *req, int status)
{
    struct bp_outbox *ob = BP_CONTAINER_OF(req, struct bp_outbox, claim_req);

    ob->claiming = false;
    if (status < 0) {
        bp_log_error("outbox", "recover_failed", "err=%s", bp_err_name(status));
        return;
    }
    ob->recovered = true;
    bp_log_info("outbox", "started", "recovered_sending=%lld sms=%s email=%s",
                (long long)ob->recover.recovered,
                ob->env.senders[0] ? "on" : "off",
                ob->env.senders[1] ? "on" : "off");
    arm(ob, 0);
}

int bp__outbox_sched_start(struct bp_outbox *ob)
{
    int rc = uv_timer_init(ob->env.loop, &ob->timer);

    if (rc < 0)
        return rc;
    ob->timer_open = true;
    ob->recover.now_ms = bp_clock_now_ms();
    ob->claiming = true;
    ob->claim_req.fn = bp_store_recover_sending;
    ob->claim_req.arg = &ob->recover;
    ob->claim_req.done = on_recovered;
    bp_store_writer_submit(ob->env.writer, &ob->claim_req);
    return 0;
}

void bp__outbox_maybe_stopped(struct bp_outbox *ob)
{
    if (ob->stopping && ob->senders_closing == 0 && ob->mt_inflight == 0 &&
        ob->env.on_stopped != NULL)
        ob->env.on_stopped(ob->env.stopped_arg);
}

static void on_sender_closed(void *arg)
{
    struct bp_outbox *ob = arg;

    if (--ob->senders_closing == 0)
        bp__outbox_maybe_stopped(ob);
}

void bp_outbox_stop(void *outbox)
{
    struct bp_outbox *ob = outbox;

    if (ob->stopping)
        return;
    ob->stopping = true;
    if (ob->timer_open)
        uv_close((uv_handle_t *)&ob->timer, NULL);
    bp_log_info("outbox", "stopping", "in_flight_sms=%u in_flight_email=%u"
                " retries_not_logged_sms=%u retries_not_logged_email=%u",
                ob->in_flight[0], ob->in_flight[1], ob->retry_unlogged[0],
                ob->retry_unlogged[1]);
    ob->senders_closing = 1;             /* held until every close is asked */
    for (int ch = 0; ch < 2; ch++) {
        if (ob->env.senders[ch] != NULL) {
            ob->senders_closing++;
            ob->env.senders[ch]->close(ob->env.senders[ch]->self,
                                       on_sender_closed, ob);
        }
    }
    on_sender_closed(ob);
}
