/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by the files of src/http/ (never included elsewhere).
 *
 *   server.c   listener, accept, connection cap, drain and close
 *   conn.c     one connection: read, parse, timeouts, close, free
 *   write.c    response queue and writes (uv_try_write, then uv_write)
 *   req.c      request objects: accessors, respond, recycling
 *   router.c   route table and lookup
 *   metrics.c  counters and their Prometheus text
 *
 * Memory: a struct bp__http_conn embeds its uv_tcp_t and uv_timer_t and is
 * freed only when both close callbacks ran AND no request of it is still
 * held by a handler (conn->refs counts those).  The server is freed when it
 * was closed, its listener is closed and no connection struct is left.
 */
#ifndef BP_HTTP_INT_H
#define BP_HTTP_INT_H

#include <http_parser.h>

#include "bp/http.h"
#include "bp/log.h"

#define BP__HTTP_RBUF 16384          /* read buffer per connection */
#define BP__HTTP_PIPELINE_MAX 32     /* queued requests before reads pause */
#define BP__HTTP_FREE_REQS 2         /* recycled request objects kept */
#define BP__HTTP_MAX_CODES 24        /* distinct status codes per route */
#define BP__HTTP_LINGER_MS 2000      /* drain input after an error response */
#define BP__HTTP_OUT_CAP (64u << 20) /* largest response we build */

struct bp_http_server;
struct bp__http_conn;

struct bp__http_code_count {
    int code;
    uint64_t count;
};

struct bp__http_counters {
    struct bp__http_code_count codes[BP__HTTP_MAX_CODES];
    int ncodes;
};

struct bp__http_route {
    char *name;
    char *path;          /* without the trailing '*' for prefixes */
    size_t path_len;
    bool prefix;
    unsigned methods;
    bp_http_handler_fn fn;
    void *arg;
    struct bp__http_counters *counters;   /* shared by routes with one name */
};

struct bp__http_hdr {
    uint32_t name_off, val_off;
};

enum bp__http_req_state {
    BP__REQ_PARSING = 0,   /* head or body still arriving */
    BP__REQ_HANDLER,       /* handed to the handler, no response yet */
    BP__REQ_READY,         /* response bytes in out, waiting for its turn */
    BP__REQ_WRITING,       /* part of the write in flight */
};

struct bp_http_req {
    struct bp__http_conn *conn;
    struct bp_http_req *next;         /* pipeline queue of the connection */
    enum bp__http_req_state state;
    bool orphan;                      /* connection gone; drop the response */
    bool close_after;                 /* close the connection once written */
    bool head_only;                   /* HEAD: send headers only */
    bool last_was_value;              /* parser callback bookkeeping */
    unsigned allow;                   /* methods of the path, for 405 */
    unsigned method;                  /* enum http_method */
    int http_minor, http_major;
    const struct bp__http_route *route;
    size_t head_bytes;                /* counted against max_header_bytes */
    uint64_t started_ms;              /* first byte of the request */
    /* head: URL, NUL, then name NUL value NUL... */
    struct bp_buf head;
    uint32_t url_len;                 /* URL bytes at the start of head */
    uint32_t path_off, query_off;     /* into head.data */
    struct bp__http_hdr hdrs[BP_HTTP_MAX_HEADERS];
    unsigned nhdrs;
    struct bp_buf body;
    struct bp_buf extra;              /* headers added by the handler */
    struct bp_buf out;                /* serialised response */
};

struct bp__http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct bp_http_server *srv;
    struct bp__http_conn *prev, *next;   /* server's list of live conns */
    http_parser parser;
    int handles_open;                 /* 2 -> 0 via close callbacks */
    unsigned refs;                    /* requests held by handlers */
    bool closing;                     /* uv_close called */
    bool reading;                     /* uv_read_start active */
    bool failed;                      /* no more parsing: error queued */
    bool shut;                        /* shutdown sent, lingering */
    bool in_parse;                    /* inside http_parser_execute */
    bool writing;                     /* uv_write in flight */
    bool drain;                       /* server draining: close when idle */
    bool listed;                      /* in the server's list, counted */
    bool paused;                      /* parser paused: pipeline full */
    int err_status;                   /* set by a parser callback */
    unsigned nqueued;                 /* requests in the queue */
    unsigned nwriting;                /* head requests in the uv_write */
    struct bp_http_req *qhead, *qtail;
    struct bp_http_req *cur;          /* request being parsed (queued) */
    struct bp_http_req *free_reqs;    /* recycled request objects */
    unsigned nfree;
    char *rbuf;
    size_t rpos, rlen;                /* unparsed bytes when paused */
    uint64_t deadline_ms;             /* timer target; 0 = none */
    bool deadline_is_408;             /* timer fires 408 (else silent close) */
    uv_write_t wreq;
    uv_shutdown_t sreq;
    char peer[64];
};

struct bp_http_server {
    uv_loop_t *loop;
    struct bp_http_limits lim;
    uv_tcp_t listener;
    uv_timer_t drain_timer;
    bool listening, closed, listener_open, drain_timer_open;
    bool draining, in_close_cb;
    void (*drain_cb)(void *);
    void *drain_arg;
    void (*close_cb)(void *);
    void *close_arg;
    struct bp__http_conn *conns;      /* live (not yet closing) */
    unsigned nconns;                  /* live, counted for the cap */
    unsigned nstructs;                /* conn structs not yet freed */
    unsigned handles_open;            /* conn handles still open */
    unsigned pending;                 /* requests with handlers */
    uint64_t rejected;
    struct bp__http_route *routes;
    size_t nroutes;
    struct bp__http_counters none;    /* route="none" */
    int port;
    char addr[64];
    int64_t date_sec;                 /* second of the cached Date header */
    char date[40];                    /* "Date: ...\r\n" */
};

/* server.c */
void bp__http_server_conn_gone(struct bp_http_server *s);
void bp__http_server_maybe_free(struct bp_http_server *s);
void bp__http_server_check_drained(struct bp_http_server *s);

/* conn.c */
void bp__http_conn_start(struct bp__http_conn *c);
void bp__http_conn_close(struct bp__http_conn *c);
void bp__http_conn_maybe_free(struct bp__http_conn *c);
void bp__http_conn_arm_timer(struct bp__http_conn *c);
void bp__http_conn_resume(struct bp__http_conn *c);

/* write.c */
void bp__http_flush(struct bp__http_conn *c);
/* Queues an error response (Connection: close) after the pending ones and
 * stops parsing. */
void bp__http_fail(struct bp__http_conn *c, struct bp_http_req *r, int status);

/* req.c */
struct bp_http_req *bp__http_req_get(struct bp__http_conn *c);
void bp__http_req_put(struct bp__http_conn *c, struct bp_http_req *r);
void bp__http_req_free(struct bp_http_req *r);
/* Serialises the response into r->out and marks it READY. */
int bp__http_serialise(struct bp_http_req *r, int status, const char *ctype,
                       const void *body, size_t len);

/* router.c */
/* Finds the route for path+method.  Returns it, or NULL with *allow set to
 * the methods the path accepts (0: unknown path -> 404). */
const struct bp__http_route *bp__http_route_find(const struct bp_http_server *s,
                                                 const char *path,
                                                 unsigned method_bit,
                                                 unsigned *allow);
unsigned bp__http_method_bit(unsigned http_method);
void bp__http_routes_free(struct bp_http_server *s);

/* metrics.c */
void bp__http_count(struct bp_http_server *s, const struct bp__http_route *rt,
                    int code);


#endif
