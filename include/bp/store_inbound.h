/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Storing an inbound SMS and threading it to a student's conversation
 * (DESIGN.md §4), in one transaction on the store writer thread.
 *
 * bp_store_inbound_sms is a bp_store_write_fn: submit it through the store
 * writer with a struct bp_store_inbound as arg.  In one savepoint it
 *  - inserts the message, idempotently: a provider message id seen before
 *    leaves everything unchanged and reports duplicate = true;
 *  - finds the contact (phone) -> guardians -> students and applies the
 *    threading rules: one student ('single_student'); several students ->
 *    the student of the most recent outbound delivery to this contact within
 *    recent_window_ms ('recent_outbound'); otherwise triage
 *    (inbound_unmatched, reason unknown_sender or ambiguous, with the
 *    candidate student ids);
 *  - applies a carrier keyword: STOP opts the contact out (creating an
 *    opted-out contact for an unknown number, so no later import can text
 *    it), START (or a weak "yes" from an opted-out contact) opts back in,
 *    both with a consent_event; HELP is recorded; and queues exactly one
 *    reply (a system message and its delivery) when the state changed or
 *    for HELP, rendered by the caller's render() in the guardian's locale;
 *  - records a possible revocation for staff review.
 * Outputs are filled for the loop thread's completion callback.
 */
#ifndef BP_STORE_INBOUND_H
#define BP_STORE_INBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp/store.h"

enum bp_store_kw {
    BP_STORE_KW_NONE = 0,
    BP_STORE_KW_STOP,
    BP_STORE_KW_START,
    BP_STORE_KW_START_WEAK,   /* "yes": START only for an opted-out contact */
    BP_STORE_KW_HELP,
};

enum bp_store_reply {
    BP_STORE_REPLY_NONE = 0,
    BP_STORE_REPLY_STOP,      /* opt-out confirmation */
    BP_STORE_REPLY_START,     /* opt-in confirmation */
    BP_STORE_REPLY_HELP,
};

/*
 * Renders the reply text for kind in locale (BCP 47; "" = unknown) into
 * buf.  Called on the writer thread: must be thread-safe.  Returns 0, or < 0
 * to skip the reply (it is then logged by the caller, not queued).
 */
typedef int (*bp_store_render_fn)(void *ctx, enum bp_store_reply kind,
                                  const char *locale, char *buf, size_t n);

struct bp_store_inbound {
    /* input (borrowed; valid until the request completes) */
    const char *provider;          /* "twilio" */
    const char *provider_msg_id;
    const char *from;              /* sender's phone, E.164 */
    const char *to;                /* the school's number */
    const char *body;
    const char *media_json;        /* JSON array or NULL */
    enum bp_store_kw keyword;
    bool possible_revocation;
    int64_t now_ms;
    int64_t recent_window_ms;
    bp_store_render_fn render;
    void *render_ctx;
    /* output */
    bool duplicate;
    int64_t message_id;
    int64_t conversation_id;       /* 0 when triaged */
    int64_t contact_id;            /* 0 for an unknown sender */
    const char *match_rule;        /* static string */
    enum bp_store_reply reply;     /* the reply queued, if any */
    int64_t reply_delivery_id;
};

/* Replayable (bp/store.h): sets every output afresh, keeps nothing outside
 * the database; render must be a pure function of its arguments. */
int bp_store_inbound_sms(struct bp_store *s, void *arg);

#endif
