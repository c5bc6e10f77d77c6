/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Inbound e-mail over IMAP (src/imap/): a poller on the libuv loop that
 * fetches new messages of one mailbox with libcurl (multi interface, never
 * blocking the loop), parses them (bp_mime_parse, on libuv's thread pool),
 * stores and threads them through the store writer (bp_store_email_in,
 * group commit) and, only after the commit, moves them (when configured)
 * and advances the cursor (UIDVALIDITY + last UID, table imap_cursor).
 * Design notes: docs/imap.md.
 *
 * Threading: loop thread only.  Life cycle: bp_imap_new -> bp_imap_start ->
 * bp_imap_stop (at the start of a graceful stop: closes the poller's
 * handles and transfers) -> the loop runs until empty -> bp_imap_free.
 */
#ifndef BP_IMAP_H
#define BP_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "bp/base.h"
#include "bp/store.h"

struct bp_imap;

struct bp_imap_opts {
    const char *url;               /* imap://host:port/MAILBOX or imaps:// */
    const char *username;
    const char *password;
    enum bp_imap_starttls { BP_IMAP_TLS_TRY = 0, BP_IMAP_TLS_NO, BP_IMAP_TLS_REQUIRED }
        starttls;                  /* imap:// only; imaps:// is always TLS */
    const char *ca_file;           /* PEM CA bundle, or NULL/"": the system's */
    const char *move_to;           /* folder, or NULL/"" to leave messages */
    const char *own_address;       /* our sending address: mail from it is ignored */
    int64_t poll_interval_ms;
    int64_t thread_window_ms;      /* sender rule 3 window (as for SMS) */
    size_t max_message_bytes;      /* larger messages are skipped */
    size_t max_attachment_bytes;   /* attachment content kept (0 = none) */
    size_t raw_keep_bytes;         /* raw message kept for audit */
    size_t batch_max;              /* messages per poll cycle (0 = 500) */
    /* Called on the loop thread after the commit of each newly stored
     * (non-duplicate) e-mail; conversation_id 0: in triage.  NULL: none. */
    void (*on_stored)(void *arg, int64_t message_id, int64_t conversation_id);
    void *on_stored_arg;
};

/* Error kinds counted in /metrics (backpack_imap_errors_total{kind}). */
enum bp_imap_err_kind {
    BP_IMAP_ERR_CONNECT = 0,       /* refused, timeout, connection lost */
    BP_IMAP_ERR_AUTH,              /* login refused */
    BP_IMAP_ERR_TLS,
    BP_IMAP_ERR_PROTOCOL,          /* unexpected answer, NO/BAD */
    BP_IMAP_ERR_TOO_BIG,           /* message over max_message_bytes (skipped) */
    BP_IMAP_ERR_PARSE,             /* not a message at all (skipped) */
    BP_IMAP_ERR_STORE,             /* the store refused the write (retried) */
    BP_IMAP_ERR__COUNT
};
const char *bp_imap_err_kind_name(enum bp_imap_err_kind k);

struct bp_imap_stats {
    bool up;                       /* the last poll reached the server and succeeded */
    uint64_t polls;                /* poll cycles started */
    uint64_t stored;               /* messages stored (new rows) */
    uint64_t duplicates;           /* fetched again, already stored */
    uint64_t ignored;              /* from our own address */
    uint64_t skipped;              /* too big or not a message */
    uint64_t errors[BP_IMAP_ERR__COUNT];
    uint64_t consecutive_failures;
    int64_t last_success_ms;       /* wall clock, 0 = never */
};

/*
 * Validates o (URL scheme imap/imaps, host, poll interval...) and creates
 * the poller; nothing runs before bp_imap_start.  writer and ro are
 * borrowed and must outlive the poller (ro: the loop's read-only store,
 * used once to read the cursor).  o's strings are copied.  *out is new
 * (bp_imap_free).  Errors: BP_ECONFIG with detail in eb.
 */
BP_WUR int bp_imap_new(uv_loop_t *loop, struct bp_store_writer *writer,
                       struct bp_store *ro, const struct bp_imap_opts *o,
                       struct bp_imap **out, struct bp_errbuf *eb);
/* Starts polling: the first poll runs at once. */
void bp_imap_start(struct bp_imap *im);
/* Stops polling: cancels the transfer in progress and closes every handle
 * of the poller (asynchronously; the loop finishes the closes).  Parses
 * and store writes in flight still complete, but nothing new starts.
 * Idempotent. */
void bp_imap_stop(struct bp_imap *im);
/* After bp_imap_stop and after the loop ran to completion (every close
 * callback, thread-pool job and store request done).  NULL-safe. */
void bp_imap_free(struct bp_imap *im);

void bp_imap_get_stats(const struct bp_imap *im, struct bp_imap_stats *out);
/* Prometheus families backpack_imap_* (up, polls, messages, errors). */
BP_WUR int bp_imap_metrics_write(const struct bp_imap *im, struct bp_buf *out);
/* A JSON object for /healthz: {"up":true,"failures":0,"last_error":"auth"}. */
BP_WUR int bp_imap_health_json(const struct bp_imap *im, struct bp_buf *out);

#endif
