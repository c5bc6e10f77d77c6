/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals of src/smtp/: the sender struct shared by smtp.c (loop side:
 * submit, completions, close) and smtp_worker.c (worker threads: sessions),
 * and the pure classification in smtp_classify.c (exposed to tests).
 *
 * Threading: `q`, `done`, `closing` and `workers_left` are guarded by `mu`;
 * a job belongs to the worker from the moment it leaves `q` until it is in
 * `done` (STYLE.md C4.5).  Everything else is loop-thread only or immutable.
 */
#ifndef BP_SMTP_INT_H
#define BP_SMTP_INT_H

#include <stdarg.h>
#include <stdbool.h>

#include <openssl/ssl.h>   /* before libesmtp.h: it declares smtp_starttls_set_ctx then */
#include <libesmtp.h>
#include <uv.h>

#include "bp/err.h"
#include "bp/send.h"
#include "bp/smtp.h"

struct smtp_job {
    struct smtp_job *next;
    struct bp_send_job *job;
    bp_send_done_fn cb;
    void *arg;
    struct bp_send_result res;
};

struct smtp_list {
    struct smtp_job *head, *tail;
};

struct bp_smtp {
    uv_loop_t *loop;
    uv_async_t async;             /* completions and worker exits */
    uv_mutex_t mu;
    uv_cond_t cv;
    struct smtp_list q;           /* waiting for a worker */
    struct smtp_list done;        /* results for the loop */
    bool closing;
    unsigned workers_left;        /* threads not yet exited */
    uv_thread_t *threads;
    unsigned nthreads;
    unsigned jobs;                /* loop side: submitted, not called back */
    bool joined;
    void (*close_cb)(void *);
    void *close_arg;
    /* immutable after creation */
    char *server;                 /* "host:port" */
    char *username, *password, *from_address, *from_name;
    enum bp_smtp_tls starttls;
    SSL_CTX *tls;                 /* NULL when starttls = no (smtp_tls.c) */
    long timeout_ms;
    unsigned batch_max;
};

void bp__smtp_list_push(struct smtp_list *l, struct smtp_job *j);
struct smtp_job *bp__smtp_list_pop(struct smtp_list *l);
void bp__smtp_worker_main(void *arg);

/* ---- STARTTLS (smtp_tls.c) ---- */

/* The sender's TLS context: TLS 1.2, the CAs of ca_file (NULL or
 * "": the system's store), the certificate must name host (a name or an IP
 * address).  NULL with a message in eb when ca_file cannot be read. */
SSL_CTX *bp__smtp_tls_ctx(const char *host, const char *ca_file, struct bp_errbuf *eb);

/* What one session's STARTTLS came to, filled by bp__smtp_tls_event (called
 * by the session's libesmtp event callback with the event's arguments). */
struct bp__smtp_tls_watch {
    bool verify;                  /* in: starttls = required (try: opportunistic) */
    bool on;                      /* TLS in use */
    bool refused;                 /* the relay's certificate refused: why */
    bool not_offered;             /* starttls = required and the relay has none */
    char why[160];
};

void bp__smtp_tls_event(struct bp__smtp_tls_watch *w, int event, va_list ap);

/* One SMTP reply as libesmtp reports it (code 0: none arrived). */
struct bp__smtp_reply {
    int code;
    int enh[3];
    const char *text;
};

/* The one classification of a message's outcome (STYLE.md C3.6), from the
 * MAIL FROM, RCPT TO and DATA replies and the session's libesmtp error
 * (session_err 0 when smtp_start_session succeeded; conn_refused tells a
 * refused/unreachable relay apart).  Fills *r completely. */
void bp__smtp_classify(const struct bp__smtp_reply *mail, const struct bp__smtp_reply *rcpt,
                       const struct bp__smtp_reply *data, int session_err,
                       const char *session_errtext, struct bp_send_result *r);

/* ---- MIME text (smtp_mime_enc.c; assembled by smtp_mime.c) ---- */

/* Output buffer; aborts when memory runs out (bp_xrealloc). */
struct bp__mime_out {
    char *p;
    size_t len, alloc;
    size_t line;            /* offset of the current line's first byte */
    unsigned words;         /* words written on the current header line */
};

void bp__mime_init(struct bp__mime_out *o, size_t hint);
void bp__mime_put(struct bp__mime_out *o, const char *p, size_t n);
void bp__mime_puts(struct bp__mime_out *o, const char *s);
void bp__mime_crlf(struct bp__mime_out *o);
/* "Name:"; the value follows as words. */
void bp__mime_hdr(struct bp__mime_out *o, const char *name);
/* One word after a space, folded first when the line would pass 78. */
void bp__mime_word(struct bp__mime_out *o, const char *w, size_t n);
/* Space-separated words of s, each through bp__mime_word. */
void bp__mime_words(struct bp__mime_out *o, const char *s);
/* Unstructured text (Subject): plain words or RFC 2047 encoded-words. */
void bp__mime_text(struct bp__mime_out *o, const char *s);
/* A display name: atoms, a quoted-string, or RFC 2047 encoded-words. */
void bp__mime_phrase(struct bp__mime_out *o, const char *s);
/* Whether s[0..n) can go as 7bit; the body as 7bit (only then) or QP. */
bool bp__mime_7bit_ok(const char *s, size_t n);
void bp__mime_7bit(struct bp__mime_out *o, const char *s, size_t n);
void bp__mime_qp(struct bp__mime_out *o, const char *s, size_t n);

#endif
