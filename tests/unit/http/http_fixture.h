/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Test fixture for the HTTP server: the server runs on its own loop in a
 * second thread (as in the daemon, everything of the server happens on that
 * loop's thread); the test thread talks to it over real loopback sockets
 * with a tiny blocking client, and sends commands to the loop through a
 * uv_async_t.  Every wait has a deadline (SO_RCVTIMEO, semaphores posted by
 * the loop thread); nothing sleeps.
 */
#ifndef HTTP_FIXTURE_H
#define HTTP_FIXTURE_H

#include <stdatomic.h>
#include <uv.h>

#include "bp/http.h"

struct fx {
    uv_loop_t loop;
    uv_async_t async;
    uv_thread_t thread;
    uv_sem_t sem;                 /* loop -> test: "done" */
    uv_sem_t held_sem;            /* a /hold request reached its handler */
    uv_sem_t drained_sem;         /* the drain callback ran */
    int drained;                  /* drain callback calls */
    struct bp_http_limits lim;
    struct bp_http_server *srv;
    int port;
    _Atomic int cmd;
    int loop_close_rc;
    struct bp_http_req *held;     /* /hold request, loop thread only */
    uv_timer_t poll;              /* respond to held once orphaned */
    bool poll_open;
    char metrics[8192];
};

struct client {
    int fd;
    bool no_body;                 /* next response answers a HEAD */
    char buf[262144];
    size_t len;
};

struct resp {
    int status;
    char head[4096];
    char body[8192];
    size_t body_len;
};

void fx_default_limits(struct bp_http_limits *lim);
int fx_start(struct fx *f, const struct bp_http_limits *lim);
/* Closes the server (answering a held request as an orphan), runs the loop
 * until empty and returns uv_loop_close()'s result. */
int fx_stop(struct fx *f);
/* Runs cmd on the loop thread and waits for it. */
void fx_cmd(struct fx *f, int cmd);
enum { FX_CMD_METRICS = 1, FX_CMD_RESPOND_WHEN_ORPHAN, FX_CMD_RESPOND_HELD,
       FX_CMD_DRAIN, FX_CMD_STOP };

int cli_connect(struct client *c, int port);
int cli_send(struct client *c, const void *p, size_t n);
int cli_sends(struct client *c, const char *s);
/* Reads one response; returns 0, or -1 on EOF/timeout/garbage. */
int cli_read(struct client *c, struct resp *r);
/* True when the server closed the connection (EOF or reset) with no more
 * bytes pending. */
bool cli_eof(struct client *c);
void cli_close(struct client *c);
/* Value of a header in a response head, or NULL (static buffer). */
const char *resp_header(const struct resp *r, const char *name);

#endif
