/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals of src/sms/ shared between sms.c (loop, queue, lifecycle),
 * sms_twilio.c (request encoding and reply classification: pure functions)
 * and sms_bucket.c (token bucket).  Exposed to tests/unit/sms/ only.
 */
#ifndef BP_SMS_INT_H
#define BP_SMS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp/base.h"
#include "bp/send.h"

/* Appends "name=value" (with a leading '&' when b is not empty) to b,
 * application/x-www-form-urlencoded (RFC 3986 unreserved bytes kept, every
 * other byte %XX).  Returns 0 or BP_ETOOBIG. */
BP_WUR int bp__sms_form_add(struct bp_buf *b, const char *name, const char *value);

/* Retry-After value (delta-seconds or HTTP-date) -> milliseconds from now_ms;
 * 0 when absent, unparsable or in the past. */
int64_t bp__sms_retry_after_ms(const char *value, int64_t now_ms);

/* The one place that classifies a Messages API outcome (STYLE.md C3.6).
 *   curl_code   CURLcode of the transfer (0 = an HTTP answer arrived)
 *   status      HTTP status (0 when none)
 *   body/len    reply body (JSON or anything)
 *   retry_after value of the Retry-After header or NULL
 * Fills *r completely.  error_detail never holds personal data. */
void bp__sms_classify(int curl_code, long status, const char *body, size_t len,
                      const char *retry_after, int64_t now_ms,
                      struct bp_send_result *r);

/* The fields of a provider's JSON reply that the classification reads
 * (sms_reply.cc).  Strings are cut to fit and NUL-terminated; absent or
 * mistyped fields are "" / false. */
struct bp__sms_reply {
    char sid[72];           /* "sid" (a string without NUL bytes) */
    size_t sid_len;         /* its whole length, before any cut (0: none) */
    char status[32];        /* "status", when it is a string */
    bool has_code;          /* "code" is a JSON integer (Twilio's error code) */
    long long code;
    bool has_message;       /* "message" is a string */
    char message[256];
};
/* Reads body as one JSON document, validated whole (structure, UTF-8).
 * Returns 0 when it is an object (*out filled), -1 otherwise (*out zeroed). */
int bp__sms_reply_read(const char *body, size_t len, struct bp__sms_reply *out);

/* Token bucket: `rate` tokens per second, at most `burst` stored. */
struct bp__sms_bucket {
    double tokens;
    double rate;
    double burst;
    uint64_t last_ms;
};
void bp__sms_bucket_init(struct bp__sms_bucket *b, unsigned rate, unsigned burst,
                         uint64_t now_ms);
/* Takes one token if there is one. */
bool bp__sms_bucket_take(struct bp__sms_bucket *b, uint64_t now_ms);
/* Milliseconds until a token will be there (>= 1). */
uint64_t bp__sms_bucket_wait_ms(const struct bp__sms_bucket *b, uint64_t now_ms);

#endif
