/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The C imitation of Twilio's Messages API (tests/fakes/twilio_c), shared
 * between server.c (libuv + http_parser: connections, control API, process)
 * and messages.c (the create-message resource: auth, form, validation,
 * idempotency, the 201 Message JSON).  A benchmark tool, not the daemon:
 * it uses none of src/.
 */
#ifndef TWILIO_C_FAKE_H
#define TWILIO_C_FAKE_H

#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer (abort on out of memory: a test tool). */
struct fk_buf {
    char *p;
    size_t len, cap;
};
void fk_put(struct fk_buf *b, const char *s, size_t n);
void fk_puts(struct fk_buf *b, const char *s);
void fk_printf(struct fk_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s as a JSON string literal, escaped like JavaScript's JSON.stringify. */
void fk_json_str(struct fk_buf *b, const char *s, size_t n);

/* Next code point of s[0..n) at *i (advanced); invalid UTF-8 -> U+FFFD. */
uint32_t fk_utf8_next(const unsigned char *s, size_t n, size_t *i);
/* Appends s with invalid UTF-8 replaced by U+FFFD (what Node decodes). */
void fk_utf8_clean(struct fk_buf *out, const char *s, size_t n);
/* Twilio's num_segments of a UTF-8 body; *code_points gets its length. */
unsigned fk_segments(const char *body, size_t n, size_t *code_points);

/* One parsed request, as messages.c needs it. */
struct fk_req {
    int method;                  /* http_parser's enum http_method */
    const char *path;            /* without the query string */
    size_t path_len;
    const char *auth, *ctype, *token;   /* header values or NULL */
    const char *body;
    size_t body_len;
};

/* One answer: status, extra header lines ("Name: value\r\n"...), JSON body. */
struct fk_resp {
    int status;
    struct fk_buf headers;
    struct fk_buf body;
};

/* Forced failures of create requests (--fail, POST /_fake/fail). */
struct fk_fault {
    int status, code, retry_after;   /* retry_after < 0: no header */
    long remaining;                  /* < 0: for ever */
};

/* Counters read by GET /_fake/stats and printed at SIGTERM. */
struct fk_stats {
    uint64_t requests, sends, replays, tokens_distinct, tokens_with_send;
    uint64_t max_requests_per_token;
    uint64_t by_status[600];
};

void fk_messages_init(const char *account_sid, const char *auth_token);
/* Returns 0 when req is not on the Messages API route (resp untouched). */
int fk_messages_handle(const struct fk_req *req, struct fk_resp *resp);
/* Twilio's error body {"code","message","more_info","status"}; ctx fills
 * the message's blank (a number or a path) and may be NULL. */
void fk_error(struct fk_resp *resp, int status, int code, const char *ctx);
void fk_stats_json(struct fk_buf *b, uint64_t uptime_ms);

extern struct fk_stats fk_stats;
extern struct fk_fault fk_faults[16];
extern size_t fk_nfaults;

#endif
