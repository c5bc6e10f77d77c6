/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Classification of one e-mail's outcome, once (STYLE.md C3.6):
 *
 *   RCPT and DATA answered 2xx                    OK
 *   first failing step (MAIL, RCPT, DATA) 4xx     TRANSIENT  error_code "451"...
 *   MAIL (the school's sender address) 5xx        TRANSIENT  "sender_refused"
 *   RCPT or DATA 5xx                              PERMANENT  error_code "550"...,
 *                                                 error_detail "5.1.1 <step>: text"
 *   no reply at all (refused, timeout, dropped)   TRANSIENT  "connect" / "timeout"
 *
 * A refused MAIL FROM is about the school, not the family: the relay does
 * not accept the configured from_address (5.1.8 its domain does not
 * resolve, 5.7.1 the account may not send as it, 5.1.7 malformed).  It is
 * the same for every e-mail, so PERMANENT failed whole announcements; it is
 * retried like a refused password (smtp_worker.c, logged once at error
 * level) until the outbox's deadline, so the e-mails go out once an admin
 * fixes [smtp] from_address or the relay and restarts.
 *
 * libesmtp reports a timeout as a successful session with status code 0
 * (DEPENDENCY-NOTES §4), so "no 2xx" is never read as success.  Server text
 * may quote the address: error_detail goes through bp_log_scrub().
 */
#include <stdio.h>
#include <string.h>

#include "bp/log.h"
#include "smtp_int.h"

static void fail(const char *step, const struct bp__smtp_reply *rp, struct bp_send_result *r)
{
    char raw[sizeof r->error_detail];
    const char *text = rp->text ? rp->text : "";
    int e[3] = { rp->enh[0], rp->enh[1], rp->enh[2] }, used = 0;
    /* Servers that do not advertise ENHANCEDSTATUSCODES often still start
     * the text with one; libesmtp then leaves enh_* at 0. */
    if (e[0] <= 0 && sscanf(text, "%1d.%3d.%3d %n", &e[0], &e[1], &e[2], &used) == 3 && used)
        text += used;
    else if (e[0] <= 0)
        e[0] = 0;
    r->cls = rp->code >= 500 ? BP_SEND_PERMANENT : BP_SEND_TRANSIENT;
    snprintf(r->error_code, sizeof r->error_code, "%d", rp->code);
    if (e[0] > 0)
        snprintf(raw, sizeof raw, "%d.%d.%d %s: %s", e[0], e[1], e[2], step, text);
    else
        snprintf(raw, sizeof raw, "%s: %s", step, text);
    raw[strcspn(raw, "\r\n")] = '\0';
    bp_log_scrub(raw, r->error_detail, sizeof r->error_detail);
}

void bp__smtp_classify(const struct bp__smtp_reply *mail, const struct bp__smtp_reply *rcpt,
                       const struct bp__smtp_reply *data, int session_err,
                       const char *session_errtext, struct bp_send_result *r)
{
    memset(r, 0, sizeof *r);
    if (rcpt->code >= 200 && rcpt->code < 300 && data->code >= 200 && data->code < 300) {
        r->cls = BP_SEND_OK;
        return;
    }
    const struct bp__smtp_reply *steps[] = { mail, rcpt, data };
    static const char *names[] = { "MAIL", "RCPT", "DATA" };
    for (int i = 0; i < 3; i++) {
        if (steps[i]->code >= 400) {
            fail(names[i], steps[i], r);
            if (i == 0 && r->cls == BP_SEND_PERMANENT) {
                r->cls = BP_SEND_TRANSIENT;
                snprintf(r->error_code, sizeof r->error_code, "sender_refused");
            }
            return;
        }
    }
    r->cls = BP_SEND_TRANSIENT;
    bool nothing = mail->code == 0;
    snprintf(r->error_code, sizeof r->error_code, "%s",
             session_err && nothing ? "connect" : "timeout");
    snprintf(r->error_detail, sizeof r->error_detail, "%s",
             session_errtext && *session_errtext ? session_errtext : "no SMTP reply");
}
