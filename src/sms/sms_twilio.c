/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The Twilio dialect of the SMS sender, as pure functions: form encoding of
 * the create-message request and the one classification of its outcome
 * (STYLE.md C3.6).  Reference: Twilio's Message resource ("Create a Message
 * resource") and its REST error format {code, message, more_info, status}.
 *
 *   outcome                                   class       error_code
 *   2xx with "sid"                            OK          ""
 *   2xx without a sid / unreadable            TRANSIENT   "bad_reply"
 *   429, or error code 20429                  TRANSIENT   code or "429" (+ Retry-After)
 *   5xx                                       TRANSIENT   code or status
 *   401 (credentials refused)                 TRANSIENT   "auth" (+ Retry-After)
 *   4xx refusing the school's sender (From)   TRANSIENT   "sender_refused"
 *   other 4xx with Twilio error JSON          PERMANENT   code ("21211", "21610"...)
 *   other 4xx without it                      PERMANENT   status
 *   timeout / connect / reset (curl errors)   TRANSIENT   "timeout" / "connect" / "network"
 *
 * A 401 is the school's configuration (a rotated or mistyped auth token, an
 * account not active yet), not the message: it is retried like an outage, so
 * that the announcement still goes out once an admin fixes the token and
 * restarts, until the outbox's retry deadline (24 h by default).  As
 * PERMANENT it failed every SMS of the announcement at once.  The sender logs
 * it once at error level (sms_req.c).
 *
 * The same holds for a refusal of the school's own sender, the configured
 * From number (sender_error: not a Twilio number of this account, not
 * SMS-capable, malformed, missing): every SMS of an announcement would fail
 * the same way, so it waits for an admin like a refused token, logged once
 * at error level (sms_req.c).  Twilio also answers 21606/21659 when a short
 * code writes to another country; such an SMS is retried until the
 * deadline, then failed, instead of failing at once.
 *
 * Twilio's error messages quote the phone number, so error_detail is passed
 * through bp_log_scrub() before it leaves this file.  The reply's JSON is
 * read by sms_reply.cc (simdjson: it is parsed once per SMS sent).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bp/log.h"
#include "sms_int.h"

static int form_escape(struct bp_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char chunk[192];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            chunk[n++] = (char)c;
        } else {
            chunk[n++] = '%';
            chunk[n++] = hex[c >> 4];
            chunk[n++] = hex[c & 15];
        }
        if (n > sizeof(chunk) - 4) {
            int rc = bp_buf_append(b, chunk, n);
            if (rc)
                return rc;
            n = 0;
        }
    }
    return n ? bp_buf_append(b, chunk, n) : 0;
}

int bp__sms_form_add(struct bp_buf *b, const char *name, const char *value)
{
    int rc = 0;
    if (b->len)
        rc = bp_buf_append(b, "&", 1);
    if (!rc)
        rc = form_escape(b, name);
    if (!rc)
        rc = bp_buf_append(b, "=", 1);
    if (!rc)
        rc = form_escape(b, value ? value : "");
    return rc;
}

int64_t bp__sms_retry_after_ms(const char *value, int64_t now_ms)
{
    if (!value)
        return 0;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9') {
        char *end;
        long long sec = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end || sec < 0)
            return 0;
        if (sec > 86400LL * 7)
            sec = 86400LL * 7;
        return sec * 1000;
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1)
        return 0;
    int64_t ms = (int64_t)t * 1000 - now_ms;
    return ms > 0 ? ms : 0;
}

static void set_detail(struct bp_send_result *r, const char *text)
{
    char raw[sizeof r->error_detail];
    snprintf(raw, sizeof raw, "%s", text ? text : "");
    bp_log_scrub(raw, r->error_detail, sizeof r->error_detail);
}

static void classify_curl(int curl_code, struct bp_send_result *r)
{
    const char *word;
    switch (curl_code) {
    case CURLE_OPERATION_TIMEDOUT: word = "timeout"; break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: word = "connect"; break;
    default: word = "network"; break;
    }
    r->cls = BP_SEND_TRANSIENT;
    snprintf(r->error_code, sizeof r->error_code, "%s", word);
    set_detail(r, curl_easy_strerror((CURLcode)curl_code));
}

/* Twilio's codes for a From number it will not send from: 21212 invalid,
 * 21601 not a number of the account, 21603 missing, 21606 not
 * message-capable for this account (or destination), 21659 not a Twilio
 * number (or short-code country), 21660 owned by another account, 21661
 * not SMS-capable (https://www.twilio.com/docs/api/errors/<code>). */
static bool sender_error(long code)
{
    switch (code) {
    case 21212: case 21601: case 21603: case 21606: case 21659: case 21660: case 21661:
        return true;
    default:
        return false;
    }
}

/* Reads Twilio's error JSON; returns the code (0 when the body is not one). */
static long error_json(const struct bp__sms_reply *rp, struct bp_send_result *r)
{
    if (!rp->has_code)
        return 0;
    long c = (long)rp->code;
    snprintf(r->error_code, sizeof r->error_code, "%ld", c);
    set_detail(r, rp->has_message ? rp->message : NULL);
    return c;
}

static void classify_ok(const struct bp__sms_reply *rp, struct bp_send_result *r)
{
    if (rp->sid_len > 0 && rp->sid_len < sizeof r->provider_msg_id) {
        r->cls = BP_SEND_OK;
        memcpy(r->provider_msg_id, rp->sid, rp->sid_len + 1);
        snprintf(r->error_detail, sizeof r->error_detail, "%s", rp->status);
        return;
    }
    r->cls = BP_SEND_TRANSIENT;
    snprintf(r->error_code, sizeof r->error_code, "bad_reply");
    snprintf(r->error_detail, sizeof r->error_detail, "2xx answer without a message sid");
}

void bp__sms_classify(int curl_code, long status, const char *body, size_t len,
                      const char *retry_after, int64_t now_ms, struct bp_send_result *r)
{
    memset(r, 0, sizeof *r);
    if (curl_code != CURLE_OK) {
        classify_curl(curl_code, r);
        return;
    }
    struct bp__sms_reply rp;
    (void)bp__sms_reply_read(body, len, &rp);   /* not an object: rp is empty */
    if (status >= 200 && status < 300) {
        classify_ok(&rp, r);
    } else {
        long code = error_json(&rp, r);
        if (!code) {
            snprintf(r->error_code, sizeof r->error_code, "%ld", status);
            snprintf(r->error_detail, sizeof r->error_detail, "HTTP %ld", status);
        }
        if (status == 401) {
            r->cls = BP_SEND_TRANSIENT;
            r->retry_after_ms = bp__sms_retry_after_ms(retry_after, now_ms);
            snprintf(r->error_code, sizeof r->error_code, "auth");
        } else if (status == 429 || code == 20429 || status >= 500 || status < 400) {
            r->cls = BP_SEND_TRANSIENT;
            r->retry_after_ms = bp__sms_retry_after_ms(retry_after, now_ms);
        } else if (sender_error(code)) {
            char text[sizeof r->error_detail];   /* the code first, then Twilio's words */
            r->cls = BP_SEND_TRANSIENT;
            snprintf(text, sizeof text, "%ld %.200s", code, rp.has_message ? rp.message : "");
            set_detail(r, text);
            snprintf(r->error_code, sizeof r->error_code, "sender_refused");
        } else {
            r->cls = BP_SEND_PERMANENT;
        }
    }
}
