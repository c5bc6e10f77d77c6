/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The daemon's life cycle on one libuv loop: start-up in dependency order,
 * signals, and the graceful stop (STYLE.md C5.7).
 *
 * Stop sequence (each step starts from the previous step's callback):
 *
 *   SIGTERM/SIGINT -> bp_app_stop
 *     -> module stop hooks (bp_app_on_stop)
 *     -> bp_http_server_drain (stop accepting; in-flight requests finish,
 *        up to server.shutdown_timeout)           -> on_drained
 *     -> (after the last stop hold is released: a module still finishing
 *        work, e.g. the outbox's senders, records it through the writer)
 *     -> bp_store_writer_stop (commits what is queued; their completions
 *        answer the last webhook requests)        -> on_writer_stopped
 *     -> bp_http_server_close (closes what is left) -> on_http_closed
 *     -> close the signal handles; uv_walk closes any leftover handle
 *        (logged at warn: a module forgot one)
 *   uv_run returns once the loop is empty; uv_loop_close() must return 0.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "app_int.h"
#include "bp/log.h"

static void store_opts(const struct bp_conf *c, bool readonly,
                       struct bp_store_opts *o)
{
    memset(o, 0, sizeof *o);
    o->path = c->store_path;
    o->readonly = readonly;
    o->sync_full = c->store_synchronous == BP_CONF_SYNC_FULL;
    o->busy_timeout_ms = (int)c->store_busy_timeout;
}

static int migrate(const struct bp_conf *c, struct bp_errbuf *eb)
{
    struct bp_store_opts o;
    struct bp_store *s = NULL;
    int from = 0, to = 0, rc;

    store_opts(c, false, &o);
    rc = bp_store_open(&o, &s, eb);
    if (rc < 0)
        return rc;
    rc = bp_store_migrate(s, &from, &to, eb);
    bp_store_close(s);
    if (rc == 0 && from != to)
        bp_log_info("app", "migrated", "from=%d to=%d", from, to);
    return rc;
}

static void limits_from_conf(const struct bp_conf *c, struct bp_http_limits *l)
{
    l->max_header_bytes = (size_t)c->server_max_header_bytes;
    l->max_body_bytes = (size_t)c->server_max_body_bytes;
    l->header_timeout_ms = (uint64_t)c->server_header_timeout;
    l->request_timeout_ms = (uint64_t)c->server_request_timeout;
    l->idle_timeout_ms = (uint64_t)c->server_idle_timeout;
    l->max_connections = (unsigned)c->server_max_connections;
}

static void on_teardown_writer(void *arg)
{
    struct bp_app *app = arg;
    app->writer = NULL;
}

/* Stops whatever bp_app_new started, for its failure path. */
static void teardown(struct bp_app *app)
{
    if (app->http != NULL)
        bp_http_server_close(app->http, NULL, NULL);
    app->http = NULL;
    if (app->writer != NULL)
        bp_store_writer_stop(app->writer, on_teardown_writer, app);
    uv_run(&app->loop, UV_RUN_DEFAULT);
    bp_store_close(app->ro);
    if (uv_loop_close(&app->loop) != 0)
        bp_log_error("app", "loop_close_failed", "during=startup");
    bp_buf_free(&app->mbuf);
    free(app);
}

int bp_app_new(const struct bp_conf *conf, struct bp_app **out,
               struct bp_errbuf *eb)
{
    struct bp_app *app;
    struct bp_store_writer_opts wo;
    struct bp_store_opts ro;
    struct bp_http_limits lim;
    int rc;

    *out = NULL;
    app = bp_xcalloc(1, sizeof *app);
    app->conf = conf;
    bp_buf_init(&app->mbuf, 4u << 20);
    rc = uv_loop_init(&app->loop);
    if (rc < 0) {
        bp_errbuf_set(eb, "loop", "uv_loop_init: %s", uv_strerror(rc));
        free(app);
        return rc;
    }
    app->started_ms = uv_now(&app->loop);
    rc = migrate(conf, eb);
    if (rc < 0)
        goto fail;
    memset(&wo, 0, sizeof wo);
    store_opts(conf, false, &wo.store);
    wo.batch_max = (int)conf->store_batch_max;
    rc = bp_store_writer_start(&app->loop, &wo, &app->writer, eb);
    if (rc < 0)
        goto fail;
    store_opts(conf, true, &ro);
    rc = bp_store_open(&ro, &app->ro, eb);
    if (rc < 0)
        goto fail;
    limits_from_conf(conf, &lim);
    rc = bp_http_server_new(&app->loop, &lim, &app->http);
    if (rc < 0) {
        bp_errbuf_set(eb, "http", "cannot create server: %s", bp_strerror(rc));
        goto fail;
    }
    rc = bp__app_routes_register(app);
    if (rc < 0) {
        bp_errbuf_set(eb, "http", "cannot register routes");
        goto fail;
    }
    *out = app;
    return 0;
fail:
    teardown(app);
    return rc;
}

uv_loop_t *bp_app_loop(struct bp_app *app) { return &app->loop; }
struct bp_http_server *bp_app_http(struct bp_app *app) { return app->http; }
struct bp_store_writer *bp_app_writer(struct bp_app *app) { return app->writer; }
struct bp_store *bp_app_store_ro(struct bp_app *app) { return app->ro; }

void bp_app_add_metrics(struct bp_app *app, bp_app_metrics_fn fn, void *arg)
{
    app->metrics = bp_xrealloc(app->metrics,
                               (app->nmetrics + 1) * sizeof *app->metrics);
    app->metrics[app->nmetrics].fn = fn;
    app->metrics[app->nmetrics].arg = arg;
    app->nmetrics++;
}

void bp_app_on_stop(struct bp_app *app, void (*fn)(void *arg), void *arg)
{
    app->stops = bp_xrealloc(app->stops, (app->nstops + 1) * sizeof *app->stops);
    app->stops[app->nstops].fn = fn;
    app->stops[app->nstops].arg = arg;
    app->nstops++;
}

/* ---- stop sequence -------------------------------------------------- */

static void close_leftover(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    bp_log_warn("app", "leftover_handle", "type=%s",
                uv_handle_type_name(uv_handle_get_type(h)));
    uv_close(h, NULL);
}

static void on_http_closed(void *arg)
{
    struct bp_app *app = arg;

    app->http = NULL;
    if (app->signals_open) {
        uv_close((uv_handle_t *)&app->sig_term, NULL);
        uv_close((uv_handle_t *)&app->sig_int, NULL);
        uv_close((uv_handle_t *)&app->sig_hup, NULL);
        app->signals_open = false;
    }
    app->http_closed = true;
    if (app->stop_holds == 0)
        uv_walk(&app->loop, close_leftover, app);
}

void bp_app_stop_hold(struct bp_app *app)
{
    app->stop_holds++;
}

static void on_writer_stopped(void *arg);

/* The writer outlives the holds too: a sender still finishing its last
 * jobs (the outbox's stop hold) records their results through it. */
static void stop_writer(struct bp_app *app)
{
    app->writer_stopping = true;
    bp_store_writer_stop(app->writer, on_writer_stopped, app);
}

void bp_app_stop_release(struct bp_app *app)
{
    if (app->stop_holds == 0 || --app->stop_holds > 0)
        return;
    if (app->drained && !app->writer_stopping)
        stop_writer(app);
    else if (app->http_closed)
        uv_walk(&app->loop, close_leftover, app);
}

static void on_writer_stopped(void *arg)
{
    struct bp_app *app = arg;

    app->writer = NULL;
    bp_log_info("app", "store_writer_stopped", NULL);
    bp_http_server_close(app->http, on_http_closed, app);
}

static void on_drained(void *arg)
{
    struct bp_app *app = arg;

    app->drained = true;
    if (app->stop_holds == 0)
        stop_writer(app);
}

void bp_app_stop(struct bp_app *app)
{
    if (app->stopping)
        return;
    app->stopping = true;
    bp_log_info("app", "stopping", "pending=%u conns=%u",
                bp_http_server_pending(app->http),
                bp_http_server_conns(app->http));
    for (size_t i = 0; i < app->nstops; i++)
        app->stops[i].fn(app->stops[i].arg);
    bp_http_server_drain(app->http, (uint64_t)app->conf->server_shutdown_timeout,
                         on_drained, app);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct bp_app *app = h->data;

    if (signum == SIGHUP) {
        int rc = bp_log_reopen();
        if (rc < 0)
            bp_log_error("app", "log_reopen_failed", "err=%s", bp_err_name(rc));
        else
            bp_log_info("app", "log_reopened", NULL);
        return;
    }
    bp_log_info("app", "signal", "sig=%s", signum == SIGTERM ? "TERM" : "INT");
    bp_app_stop(app);
}

static int start_signals(struct bp_app *app)
{
    uv_signal_t *hs[] = {&app->sig_term, &app->sig_int, &app->sig_hup};
    int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    int rc = 0;

    for (int i = 0; i < 3; i++) {
        uv_signal_init(&app->loop, hs[i]);
        hs[i]->data = app;
    }
    app->signals_open = true;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = uv_signal_start(hs[i], on_signal, sigs[i]);
    return rc;
}

int bp_app_run(struct bp_app *app, struct bp_errbuf *eb)
{
    char addr[80];
    int rc;

    signal(SIGPIPE, SIG_IGN);
    if (app->stopping) {
        /* stopped before running (a module failed to start): no listening,
         * just let the stop sequence close everything */
        rc = 0;
        goto run;
    }
    rc = bp_http_listen(app->http, app->conf->server_listen, eb);
    if (rc == 0)
        rc = bp_http_bound_addr(app->http, addr, sizeof addr);
    if (rc == 0)
        rc = start_signals(app);
    if (rc < 0) {
        bp_log_error("app", "listen_failed", "addr=%s err=%s",
                     app->conf->server_listen, uv_err_name(rc));
        app->stopping = true;
        bp_http_server_drain(app->http, 0, on_drained, app);
    } else {
        bp_log_info("app", "listening", "addr=%s", addr);
    }
run:
    uv_run(&app->loop, UV_RUN_DEFAULT);
    bp_store_close(app->ro);
    app->ro = NULL;
    {
        int lc = uv_loop_close(&app->loop);
        bp_log_info("app", "stopped", "loop_close=%d", lc);
        if (lc != 0)
            return BP_EBUSY;
    }
    return rc;
}

void bp_app_free(struct bp_app *app)
{
    if (app == NULL)
        return;
    bp_app_modules_free(app);
    bp_buf_free(&app->mbuf);
    free(app->stops);
    free(app->metrics);
    free(app);
}
