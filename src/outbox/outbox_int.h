/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by the files of src/outbox/ (never included elsewhere).
 */
#ifndef BP_OUTBOX_INT_H
#define BP_OUTBOX_INT_H

#include "bp/outbox.h"

/* One job handed to a sender: owns the claimed row's strings. */
struct bp__outbox_job {
    struct bp_send_job job;
    struct bp_outbox *ob;
    struct bp_store_claimed row;
    char reply_to[160];
    char unsub[160];
    char unsub_url[320];
};

struct bp_outbox {
    const struct bp_conf *conf;
    struct bp_outbox_env env;
    uv_timer_t timer;
    bool timer_open, stopping, recovered;
    bool keyword_refusal_logged;   /* sched.c: said once per run */
    /* sched.c: retries are logged at info at most once per RETRY_LOG_MS a
     * channel; the others at debug, counted here until the next info line */
    uint64_t retry_logged_at[2];
    unsigned retry_unlogged[2];
    unsigned senders_closing;
    unsigned mt_inflight;          /* reply translations not yet written (inbound_mt.c) */
    uint64_t next_hold_pass;       /* loop time of the next unusable-contact scan */
    /* scheduler: one claim (or the start-up recovery) in flight at a time */
    bool claiming;
    struct bp_store_wreq claim_req;
    struct bp_store_claim claim;
    struct bp_store_recover recover;
    struct bp_store_claim_cursor claim_cursor[2];  /* per channel (bp_store_claim) */
    /* Rows marked `sending` and not yet recorded, per channel: at a sender,
     * or done and waiting for their result to be written.  Counting the
     * unrecorded ones keeps the rows in doubt after a crash within the
     * window even when the writer lags (kill -9 test). */
    unsigned in_flight[2];
    unsigned unrecorded_pending[2], unrecorded_inflight[2];
    uint64_t claimed_total;
    /* results: `pending` fills while `inflight_results` is being recorded */
    bool recording;
    struct bp_store_wreq result_req;
    struct bp_store_results pending, inflight_results;
    size_t pending_cap;
    /* metrics: sends by channel and result (ok, transient, permanent) */
    uint64_t sends[2][3];
};

int bp__outbox_sched_start(struct bp_outbox *ob);
/* render.c: template / free-text checks for bp_outbox_prepare, and the
 * bp_store_render_fn (arg: struct bp_outbox_policy). */
int bp__outbox_content_prepare(const struct bp_conf *conf,
                               const struct bp_outbox_req *req,
                               struct bp_outbox_policy *pol, struct bp_errbuf *eb);
int bp__outbox_render(void *arg, const char *locale, const char *tz,
                      struct bp_store_rendered *r);
int bp__outbox_api_register(struct bp_outbox *ob);
/* translate.c: the ready translation (with its note) for a catalogue
 * locale, or NULL (not a target, or it failed). */
const char *bp__outbox_mt_text(const struct bp_outbox_policy *pol, const char *locale);
/* sched.c: tells env.on_stopped once stopping, the senders have closed and
 * no reply translation is left (they write through the store writer). */
void bp__outbox_maybe_stopped(struct bp_outbox *ob);

#endif
