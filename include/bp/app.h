/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The daemon: one libuv loop and the module contexts it runs (STYLE.md C1,
 * C7.5).  struct bp_app holds pointers to module contexts, not their state;
 * a module joins by taking what it needs from the accessors below (the
 * loop, the HTTP server to register routes on, the store writer, the
 * read-only store) and, if it has metrics, by adding a metrics writer.
 *
 * Start-up (bp_app_new): migrate the database (read-write connection opened
 * and closed again), start the store writer, open a read-only store for the
 * loop thread, create the HTTP server with [server] limits and register
 * /healthz and /metrics.  Then the caller registers further modules' routes
 * and calls bp_app_run, which listens, installs the signal handlers and
 * runs the loop.
 *
 * Signals: SIGTERM/SIGINT -> graceful stop: stop accepting, let in-flight
 * requests finish (up to server.shutdown_timeout), stop the store writer
 * (it commits what is queued), close every handle (uv_walk for leftovers),
 * run the loop until empty, uv_loop_close().  SIGHUP -> bp_log_reopen().
 *
 * Threading: loop thread only (the thread calling bp_app_run).
 */
#ifndef BP_APP_H
#define BP_APP_H

#include <uv.h>

#include "bp/base.h"
#include "bp/conf.h"
#include "bp/http.h"
#include "bp/store.h"

struct bp_app;

/* Writes metric families (Prometheus text, with HELP/TYPE) to out. */
typedef int (*bp_app_metrics_fn)(void *arg, struct bp_buf *out);

/*
 * Builds the daemon from a validated config (borrowed: must outlive the
 * app).  Logs and returns an error (BP_ESTORE, BP_ESCHEMA, libuv codes...)
 * with detail in eb when a step fails; everything started so far is
 * stopped again.  *out is new: run it with bp_app_run, then bp_app_free.
 */
BP_WUR int bp_app_new(const struct bp_conf *conf, struct bp_app **out,
                      struct bp_errbuf *eb);

/* Borrowed pointers, valid until bp_app_free. */
uv_loop_t *bp_app_loop(struct bp_app *app);
struct bp_http_server *bp_app_http(struct bp_app *app);
struct bp_store_writer *bp_app_writer(struct bp_app *app);
struct bp_store *bp_app_store_ro(struct bp_app *app);

/* Adds a metrics writer, called on every GET /metrics after the built-in
 * families, in the order added.  arg is borrowed. */
void bp_app_add_metrics(struct bp_app *app, bp_app_metrics_fn fn, void *arg);

/* Adds a callback run at the start of a graceful stop, before the HTTP
 * drain (pollers stop, timers stop...).  It must not block; handles it
 * owns must be closed by then or from it. */
void bp_app_on_stop(struct bp_app *app, void (*fn)(void *arg), void *arg);

/*
 * For a stop hook whose work finishes later (worker threads to join, an
 * async handle to close from their exit): take a hold in the hook and
 * release it from the completion.  The stop sequence stops the store
 * writer and closes leftover handles (and so lets the loop end) only after
 * the last release, so the module can still record its last results and a
 * thread never signals a handle of a loop that has already been closed.
 * Loop thread only.
 */
void bp_app_stop_hold(struct bp_app *app);
void bp_app_stop_release(struct bp_app *app);

/*
 * Listens on [server] listen (logs `event=listening addr=HOST:PORT`),
 * installs the signal handlers and runs the loop until a stop completes.
 * Returns 0 when uv_loop_close() returned 0 (logged as
 * `event=stopped loop_close=0`), BP_EBUSY otherwise, or the listen error.
 */
BP_WUR int bp_app_run(struct bp_app *app, struct bp_errbuf *eb);

/* Starts a graceful stop, as SIGTERM does.  Idempotent.  Called before
 * bp_app_run, it makes bp_app_run only close everything (no listening). */
void bp_app_stop(struct bp_app *app);

/*
 * Starts the feature modules on top of the core (src/app/modules.c): loads
 * the message catalogue, and the SMS webhooks when [sms] enabled.  Call
 * after bp_app_new and before bp_app_run; on failure stop with bp_app_run's
 * caller path (bp_app_stop + bp_app_run) or bp_app_free.  The modules are
 * released by bp_app_free, after the loop has stopped (pending store
 * requests of the modules complete during the stop).
 */
BP_WUR int bp_app_modules_start(struct bp_app *app, struct bp_errbuf *eb);
void bp_app_modules_free(struct bp_app *app);
/* The live template catalogue (files + custom templates, include/bp/
 * tmpl_api.h) once the modules started, else NULL.  Renderers acquire a
 * snapshot per announcement; borrowed until bp_app_free. */
struct bp_tmpl_live *bp_app_templates(struct bp_app *app);
/* One more listener of new inbound SMS messages (after each commit, loop
 * thread): the outbox translates parents' replies for the teacher.  One
 * hook (a second call replaces it); before bp_app_run. */
void bp_app_on_inbound_message(struct bp_app *app, void (*fn)(void *arg, int64_t message_id),
                               void *arg);

/* Releases what bp_app_run left (NULL-safe).  After a failed bp_app_new
 * nothing needs freeing. */
void bp_app_free(struct bp_app *app);

#endif
