/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * HTTP/1.1 server on libuv with Debian's http_parser (DESIGN.md section 6).
 *
 * Keep-alive and pipelining (responses always go out in request order),
 * hard limits on header and body size, header / request / idle timeouts, a
 * connection cap and a route table.  The module knows nothing about SMS or
 * the store: other modules register routes (bp_http_route) and answer the
 * requests handed to them.  It never reads the configuration; the app fills
 * a struct bp_http_limits from [server].
 *
 * Threading: every function here is loop thread only (the loop given to
 * bp_http_server_new), including bp_http_respond.
 *
 * Request lifetime and ownership (the contract handlers rely on):
 *  - A handler receives a struct bp_http_req * once the request is complete
 *    (head and whole body).  The request belongs to the server; the handler
 *    borrows it until it calls bp_http_respond() exactly once, synchronously
 *    from the handler or later from any loop callback (a store writer
 *    completion, a timer...).  After bp_http_respond() returns the pointer
 *    is invalid.
 *  - Every string and buffer obtained from a request (path, query, header
 *    values, body, peer) is valid until bp_http_respond() is called on it.
 *  - If the client disconnects (or the server is closed) before the handler
 *    responds, the request stays valid; bp_http_respond() then drops the
 *    response quietly and frees it.  So a pending store write never touches
 *    freed memory.  A handler that never responds leaks its request:
 *    respond on every path, also on shutdown.
 *
 * Limits (struct bp_http_limits):
 *  - header bytes (request line + headers) above max_header_bytes -> 431,
 *    more than BP_HTTP_MAX_HEADERS header lines -> 431;
 *  - body above max_body_bytes -> 413, checked against Content-Length as
 *    soon as the head is complete and while a chunked body streams in;
 *  - head not complete within header_timeout_ms of its first byte (or of the
 *    accept, for a new connection) -> 408 then close;
 *  - body not complete within request_timeout_ms of the request's first
 *    byte -> 408 then close;
 *  - keep-alive connection without a partial request for idle_timeout_ms ->
 *    closed silently;
 *  - connections above max_connections are accepted and closed at once
 *    (no response; counted in backpack_http_connections_rejected_total).
 *    We close rather than answer 503: answering needs a read of the request
 *    first, which is exactly the work an overloaded server should not do.
 *  - malformed requests (parser errors, invalid headers, bad chunked
 *    encoding, NUL bytes, bad URLs) -> 400 and close.
 *  - `Expect: 100-continue` -> "100 Continue" when the route exists and the
 *    announced body fits; 413 (or 404/405) otherwise and close; any other
 *    Expect value -> 417 and close.
 *  Every error response carries `Connection: close`.
 */
#ifndef BP_HTTP_H
#define BP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "bp/base.h"
#include "bp/err.h"

#define BP_HTTP_MAX_HEADERS 100

struct bp_http_server;
struct bp_http_req;

struct bp_http_limits {
    size_t max_header_bytes;
    size_t max_body_bytes;
    uint64_t header_timeout_ms;
    uint64_t request_timeout_ms;
    uint64_t idle_timeout_ms;
    unsigned max_connections;
};

/* Methods a route accepts (a bit mask).  A route that accepts GET also
 * answers HEAD (the body is computed and not sent). */
enum {
    BP_HTTP_GET = 1u << 0,
    BP_HTTP_HEAD = 1u << 1,
    BP_HTTP_POST = 1u << 2,
    BP_HTTP_PUT = 1u << 3,
    BP_HTTP_DELETE = 1u << 4,
    BP_HTTP_PATCH = 1u << 5,
    BP_HTTP_OPTIONS = 1u << 6,
};

/* Handler: called on the loop thread with a complete request.  arg is the
 * pointer given to bp_http_route.  Must eventually call bp_http_respond. */
typedef void (*bp_http_handler_fn)(struct bp_http_req *req, void *arg);

/*
 * Creates a server on loop with the given limits (copied).  Also raises
 * http_parser's process-wide header limit above lim->max_header_bytes so our
 * own check (431) is the one that applies.  *out is new: release it with
 * bp_http_server_close().
 */
BP_WUR int bp_http_server_new(uv_loop_t *loop, const struct bp_http_limits *lim,
                              struct bp_http_server **out);

/*
 * Registers a route.  path is exact ("/healthz") or a prefix when it ends in
 * "/" "*" (the path "/webhooks/sms/" "*" matches "/webhooks/sms/twilio/status" but not
 * "/webhooks/sms").  Exact routes win over prefixes, longer prefixes over
 * shorter ones.  methods is a mask of BP_HTTP_*; a known path with another
 * method gets 405 with an Allow header.  name is the `route` label of
 * backpack_http_requests_total (copied; keep it short, [a-z0-9_]).  Several
 * routes may share a path with different methods.  Register before
 * bp_http_listen.  Errors: BP_EINVAL_INPUT for a bad path or empty mask.
 */
BP_WUR int bp_http_route(struct bp_http_server *srv, const char *name,
                         unsigned methods, const char *path,
                         bp_http_handler_fn fn, void *arg);

/*
 * Binds and listens on addr "HOST:PORT" (IPv4 dotted or [IPv6]; port 0
 * picks a free port).  Errors: libuv codes (UV_EADDRINUSE...) with detail
 * in eb.
 */
BP_WUR int bp_http_listen(struct bp_http_server *srv, const char *addr,
                          struct bp_errbuf *eb);
/* Writes the bound address "HOST:PORT" into out (n >= 64). */
BP_WUR int bp_http_bound_addr(struct bp_http_server *srv, char *out, size_t n);
/* The bound port, or 0 when not listening. */
int bp_http_bound_port(struct bp_http_server *srv);

/*
 * Graceful drain (SIGTERM): stops accepting, closes idle connections,
 * answers the requests in flight with `Connection: close` and closes each
 * connection once its last response is written.  cb(arg) runs once, from a
 * loop callback, when no connection is left or after timeout_ms, whichever
 * comes first.  Call at most once.
 */
void bp_http_server_drain(struct bp_http_server *srv, uint64_t timeout_ms,
                          void (*cb)(void *arg), void *arg);

/*
 * Closes the listener and every connection (requests still held by
 * handlers become orphans: see the lifetime rules above).  cb(arg) runs
 * from a loop callback once every libuv handle of the server is closed; the
 * memory of the server itself is released when the last orphan request is
 * answered (immediately when there is none).  srv must not be used after
 * this call, except through requests still held by handlers.
 */
void bp_http_server_close(struct bp_http_server *srv, void (*cb)(void *arg),
                          void *arg);

/* Number of open connections and of requests handed to handlers and not yet
 * answered. */
unsigned bp_http_server_conns(const struct bp_http_server *srv);
unsigned bp_http_server_pending(const struct bp_http_server *srv);

/*
 * Appends the server's metric families (Prometheus text 0.0.4, with HELP
 * and TYPE lines) to out:
 *   backpack_http_requests_total{route="NAME",code="NNN"}
 *     (requests that matched no route are counted with route="none")
 *   backpack_http_connections_open
 *   backpack_http_connections_rejected_total
 */
BP_WUR int bp_http_metrics_write(const struct bp_http_server *srv,
                                 struct bp_buf *out);

/* ---- request accessors (valid until bp_http_respond) ---------------- */

/* "GET", "POST"... (static strings). */
const char *bp_http_req_method(const struct bp_http_req *req);
/* BP_HTTP_GET... of the request (0 for methods without a bit). */
unsigned bp_http_req_method_bit(const struct bp_http_req *req);
/* Path without the query string, as sent (not percent-decoded). */
const char *bp_http_req_path(const struct bp_http_req *req);
/* Query string without '?', "" when none (not decoded). */
const char *bp_http_req_query(const struct bp_http_req *req);
/* Value of the first header named name (ASCII case-insensitive) or NULL.
 * Values are as received, with surrounding white space removed. */
const char *bp_http_req_header(const struct bp_http_req *req, const char *name);
/* Number of headers, and the i-th one (0 <= i < count); returns 0 or
 * BP_ENOTFOUND. */
size_t bp_http_req_header_count(const struct bp_http_req *req);
BP_WUR int bp_http_req_header_at(const struct bp_http_req *req, size_t i,
                                 const char **name, const char **value);
/* The whole body (NUL-terminated for convenience; len excludes the NUL).
 * Never NULL: "" with len 0 when there is no body. */
const char *bp_http_req_body(const struct bp_http_req *req, size_t *len);
/* Peer address "HOST:PORT" (for logs at debug level, rate limits). */
const char *bp_http_req_peer(const struct bp_http_req *req);
/* True when the client is gone (the response will be dropped). */
bool bp_http_req_orphaned(const struct bp_http_req *req);

/* ---- responding ----------------------------------------------------- */

/*
 * Adds a response header for the coming bp_http_respond (copied).  Names
 * and values must not contain CR, LF or NUL (BP_EINVAL_INPUT otherwise).
 * Content-Length, Content-Type and Connection are managed by the server.
 */
BP_WUR int bp_http_add_header(struct bp_http_req *req, const char *name,
                              const char *value);

/*
 * Sends the response: status (100..599 except 1xx), content_type (NULL for
 * none), body copied (borrowed; may be NULL when len is 0).  Ends the
 * handler's ownership of req: the pointer is invalid afterwards.  If the
 * client is gone, the response is dropped and the request freed.  Calling
 * it twice on one request is a bug (asserted).
 */
void bp_http_respond(struct bp_http_req *req, int status,
                     const char *content_type, const void *body, size_t len);

/* Reason phrase of a status code ("Not Found"), "Unknown" otherwise. */
const char *bp_http_status_text(int status);

#endif
