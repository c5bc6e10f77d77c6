/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * E-mail sender: MIME written by hand (smtp_mime.c), delivered with libesmtp on the
 * sender's OWN small worker pool (uv_thread_create + a mutex/condvar queue +
 * uv_async_t for completions; never libuv's shared threadpool, which DNS
 * uses: STYLE.md C5.4, C6).  It implements the struct bp_sender seam of
 * bp/send.h; the outbox is its only caller.
 *
 * Each worker takes what is queued (up to batch_max jobs) and sends it over
 * one SMTP session (one connection: EHLO, [STARTTLS], [AUTH], then MAIL/RCPT/
 * DATA per message, QUIT), so a busy queue sends many messages per session.
 *
 * The caller fills struct bp_smtp_opts from struct bp_conf ([smtp]); the
 * sender never reads the configuration.  The process must ignore SIGPIPE
 * (bp_app does): libesmtp writes to sockets the relay may have closed.
 */
#ifndef BP_SMTP_H
#define BP_SMTP_H

#include <stdint.h>

#include <uv.h>

#include "bp/err.h"
#include "bp/send.h"

enum bp_smtp_tls { BP_SMTP_TLS_NO = 0, BP_SMTP_TLS_TRY, BP_SMTP_TLS_REQUIRED };

struct bp_smtp_opts {
    const char *host;             /* relay host name or address */
    unsigned port;                /* 25, 587... */
    enum bp_smtp_tls starttls;    /* [smtp] starttls no|try|required */
    const char *ca_file;          /* PEM CAs for the relay's certificate; ""/NULL: the system's */
    const char *username;         /* "" or NULL: no AUTH */
    const char *password;
    const char *from_address;     /* envelope sender and From: address */
    const char *from_name;        /* From: display name (RFC 2047-encoded as needed) */
    unsigned workers;             /* SMTP sessions at once, 1..16 */
    int64_t timeout_ms;           /* per SMTP read/write (>= 1000, libesmtp's floor) */
    unsigned batch_max;           /* messages per session; 0 = 100 */
};

/*
 * Creates the sender and its worker threads, and fills *out.  Option strings
 * are copied.  Returns 0, or BP_ECONFIG / BP_EINVAL_INPUT with a message in
 * eb (may be NULL).  Loop thread only.
 *
 * Close (out->close) completes queued jobs with BP_SEND_TRANSIENT
 * "canceled", lets sessions already under way finish (bounded by
 * timeout_ms per step) and report their real results, joins the workers,
 * closes its uv_async_t and then calls the close callback.
 */
BP_WUR int bp_smtp_sender_new(uv_loop_t *loop, const struct bp_smtp_opts *opts,
                              struct bp_sender *out, struct bp_errbuf *eb);

/*
 * Builds the RFC 5322 / MIME message for job (From from_name/from_address,
 * Date from date_ms) as CRLF text.  Returns new text (caller frees with
 * free()) and its length in *len, or NULL with a reason in err when the job
 * cannot make a valid message (invalid UTF-8, CR/LF in a header value...).
 * Thread-safe.  Exposed for tests.
 */
char *bp_smtp_mime_build(const char *from_name, const char *from_address,
                         const struct bp_send_job *job, int64_t date_ms,
                         size_t *len, char *err, size_t errlen);

#endif
