/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The seam between the outbox (which decides what to send, when, and what a
 * result means) and the channel senders (which talk to the provider):
 * src/sms/ (libcurl multi on a libuv loop, in `serve` on a thread of its
 * own; Twilio-compatible API) and
 * src/smtp/ (libesmtp on its own worker threads).
 *
 * A sender classifies each failure ONCE, at its boundary, into transient or
 * permanent (STYLE.md C3.6); only outbox/backoff decides what a class means.
 *
 * Threading: submit and the done callback run on the loop thread.  The
 * callback runs exactly once per submitted job, always asynchronously
 * (never from inside submit), including on close (BP_SEND_TRANSIENT with
 * error_code "canceled": the outbox retries it after a restart).
 */
#ifndef BP_SEND_H
#define BP_SEND_H

#include <stdbool.h>
#include <stdint.h>

#include "bp/err.h"

enum bp_channel { BP_CHANNEL_SMS = 0, BP_CHANNEL_EMAIL = 1 };

enum bp_send_class {
    BP_SEND_OK = 0,          /* accepted by the provider / relay */
    BP_SEND_TRANSIENT,       /* try again later (429, 5xx, timeout, SMTP 4xx...) */
    BP_SEND_PERMANENT,       /* never going to work (invalid number, SMTP 5xx...) */
};

/*
 * One delivery to send.  Owned by the outbox; the sender borrows it from
 * submit until the done callback returns (strings included).
 */
struct bp_send_job {
    int64_t delivery_id;
    enum bp_channel channel;
    const char *to;               /* E.164 number or lower-cased address */
    const char *body;             /* rendered text, UTF-8 */
    const char *idempotency_key;  /* same key on every attempt of a delivery */
    /* e-mail only (NULL when absent) */
    const char *to_name;          /* guardian's display name */
    const char *subject;
    const char *html_body;
    const char *message_id;       /* minted and stored by the outbox, without <> */
    const char *reply_to;         /* replies+<token>@reply_domain */
    const char *in_reply_to;      /* with <> */
    const char *references;       /* with <> */
    const char *unsubscribe_url;  /* https List-Unsubscribe target */
    const char *unsubscribe_mailto;
    bool automatic;               /* adds Auto-Submitted: auto-generated */
};

struct bp_send_result {
    enum bp_send_class cls;
    char provider_msg_id[72];     /* SMS: the provider's sid ("" when none) */
    char error_code[24];          /* provider code ("21211"), SMTP code ("550"), or a word */
    char error_detail[256];       /* short, no personal data */
    int64_t retry_after_ms;       /* from Retry-After; 0 when none */
};

typedef void (*bp_send_done_fn)(struct bp_send_job *job,
                                const struct bp_send_result *r, void *arg);

/* A channel sender: a context plus a function table (one file per sender). */
struct bp_sender {
    void *self;
    /* Queues job; cb(job, result, arg) later.  Returns 0, or BP_ECLOSED after
     * close (then cb is not called). */
    int (*submit)(void *self, struct bp_send_job *job, bp_send_done_fn cb,
                  void *arg);
    /* Jobs submitted and not yet completed. */
    unsigned (*in_flight)(void *self);
    /* Completes pending jobs (canceled), releases everything, then cb(arg). */
    void (*close)(void *self, void (*cb)(void *arg), void *arg);
};

#endif
