/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SMS sender: Twilio-compatible Messages API over libcurl's multi-socket
 * interface driven by the libuv loop (src/sms/).  It implements the
 * struct bp_sender seam of bp/send.h; the outbox is its only caller.
 *
 * The sender never reads the configuration: the caller fills
 * struct bp_sms_opts from struct bp_conf ([sms] and [server] public_url).
 *
 * Threading: bp_sms_sender_new's sender runs on the loop thread that owns
 * `loop`; bp_sms_sender_new_threaded's runs on a thread of its own, while
 * its submit, in_flight, close and done callbacks stay on `loop`'s thread.
 */
#ifndef BP_SMS_H
#define BP_SMS_H

#include <stdint.h>

#include <uv.h>

#include "bp/err.h"
#include "bp/send.h"

struct bp_sms_opts {
    const char *api_base;            /* "https://api.twilio.com" (no trailing /) */
    const char *account_sid;         /* AC + 32 hex */
    const char *auth_token;
    const char *from_number;         /* E.164, short code or alphanumeric; or "" */
    const char *messaging_service_sid; /* used instead of From when set */
    const char *status_callback;     /* public_url + "/webhooks/sms/twilio/status"; "" = none */
    unsigned rate_per_second;        /* token bucket for the sender number; 0 = no limit */
    unsigned burst;                  /* bucket size, clamped to 1..rate; 0 = rate */
    unsigned max_in_flight;          /* requests on the wire at once (>= 1) */
    int64_t request_timeout_ms;      /* whole request, connect included (>= 1) */
};

/*
 * Creates a sender on loop and fills *out (self + function table of
 * bp/send.h).  The option strings are copied.  Returns 0, or
 * BP_EINVAL_INPUT / BP_ECONFIG with a message in eb (may be NULL).
 *
 * The sender lives until out->close(out->self, cb, arg) has called cb; after
 * that every handle it opened is closed, so uv_loop_close() can return 0.
 * Jobs beyond the rate limit or the in-flight cap wait in a FIFO inside the
 * sender; close completes them with BP_SEND_TRANSIENT "canceled".
 * Calls curl_global_init() on first use (not thread-safe: create the first
 * sender before starting other threads that use libcurl).
 */
BP_WUR int bp_sms_sender_new(uv_loop_t *loop, const struct bp_sms_opts *opts,
                             struct bp_sender *out, struct bp_errbuf *eb);

/*
 * The same sender on threads of its own, each with its own libuv loop
 * (src/sms/sms_thread.c): libcurl, the sockets and the JSON replies leave
 * the caller's loop thread.  Two threads, sharing max_in_flight, when there
 * is no rate limit (rate_per_second 0) and max_in_flight >= 2; else one, so
 * that the sender number's token bucket stays whole.  Same contract as
 * above, every function and callback of *out on `loop`'s thread; close also
 * joins the threads.
 */
BP_WUR int bp_sms_sender_new_threaded(uv_loop_t *loop, const struct bp_sms_opts *opts,
                                      struct bp_sender *out, struct bp_errbuf *eb);

#endif
