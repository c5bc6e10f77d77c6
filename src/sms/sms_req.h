/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The sender's structs, shared by sms.c (loop wiring, queue, lifecycle) and
 * sms_req.c (one request: build, start, finish, recycle).  Loop thread only.
 */
#ifndef BP_SMS_REQ_H
#define BP_SMS_REQ_H

#include <stdbool.h>

#include <curl/curl.h>
#include <uv.h>

#include "bp/send.h"
#include "sms_int.h"

struct bp_sms;

/* One job on its way; recycled with its easy handle (keeps curl's caches). */
struct sms_req {
    struct sms_req *next;          /* FIFO link (pending, done or free) */
    struct sms_req *aprev, *anext; /* active list (on the wire) */
    struct bp_sms *s;
    CURL *easy;
    struct curl_slist *hdrs;       /* = hdr_nodes: no allocation per request */
    struct curl_slist hdr_nodes[5];
    char token_hdr[320];
    struct bp_buf form;
    struct bp_buf reply;
    char retry_after[80];
    struct bp_send_job *job;
    bp_send_done_fn cb;
    void *arg;
    struct bp_send_result res;     /* result waiting in the done list */
};

struct sms_fifo {
    struct sms_req *head, *tail;
};

struct sms_poll {
    uv_poll_t h;
    curl_socket_t fd;
    struct bp_sms *s;
    struct sms_poll *prev, *next;
    int events;                    /* UV_READABLE|UV_WRITABLE started, or 0 */
    bool conn;                     /* opened by bp__sms_open_socket */
    bool parked;                   /* idle in curl's connection cache */
};

struct bp_sms {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t curl_timer;         /* curl's one timeout */
    uv_timer_t bucket_timer;       /* next token of the rate limit */
    uv_idle_t kick;                /* deferred completions and close */
    char *url, *from, *mss, *callback;
    CURLU *curlu;                  /* url, parsed once (NULL: curl parses url) */
    char *auth_hdr;                /* "Authorization: Basic ..." built once */
    unsigned max_in_flight;
    int64_t timeout_ms;
    bool rate_on;
    struct bp__sms_bucket bucket;
    struct sms_fifo pend, done, spare;
    struct sms_req *active_list;
    unsigned active;               /* requests in curl */
    unsigned jobs;                 /* submitted, callback not yet called */
    struct sms_poll *polls;
    int open_handles;
    bool closing, torn_down;
    void (*close_cb)(void *);
    void *close_arg;
};

void bp__sms_fifo_push(struct sms_fifo *f, struct sms_req *r);
struct sms_req *bp__sms_fifo_pop(struct sms_fifo *f);

void bp__sms_global_init(void);
struct sms_req *bp__sms_req_get(struct bp_sms *s);
void bp__sms_req_start(struct bp_sms *s, struct sms_req *r);
void bp__sms_req_complete(struct bp_sms *s, struct sms_req *r, const struct bp_send_result *res);
void bp__sms_collect(struct bp_sms *s);
void bp__sms_cancel_all(struct bp_sms *s);
void bp__sms_req_free_all(struct bp_sms *s);

/* CURLOPT_OPENSOCKETFUNCTION / CURLOPT_CLOSESOCKETFUNCTION (sms.c): a
 * connection socket's uv_poll_t lives as long as the socket. */
curl_socket_t bp__sms_open_socket(void *clientp, curlsocktype purpose,
                                  struct curl_sockaddr *a);
int bp__sms_close_socket(void *clientp, curl_socket_t fd);

void bp__sms_pump(struct bp_sms *s);
void bp__sms_defer(struct bp_sms *s, struct sms_req *r);
void bp__sms_on_kick(uv_idle_t *h);

#endif
