/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals of src/app/ (app.c: life cycle and signals; routes.c: the
 * daemon's own routes /healthz and /metrics).
 */
#ifndef BP_APP_INT_H
#define BP_APP_INT_H

#include "bp/app.h"

struct bp__app_modules;

struct bp__app_stop_hook {
    void (*fn)(void *arg);
    void *arg;
};

struct bp__app_metrics_hook {
    bp_app_metrics_fn fn;
    void *arg;
};

struct bp_app {
    const struct bp_conf *conf;
    uv_loop_t loop;
    struct bp_store_writer *writer;
    struct bp_store *ro;
    struct bp_http_server *http;
    uv_signal_t sig_term, sig_int, sig_hup;
    bool signals_open;
    bool stopping;
    uint64_t started_ms;               /* monotonic, for uptime */
    struct bp__app_stop_hook *stops;
    size_t nstops;
    struct bp__app_metrics_hook *metrics;
    size_t nmetrics;
    struct bp_buf mbuf;                /* /metrics output, reused */
    struct bp__app_modules *modules;   /* feature modules (modules.c) */
    unsigned stop_holds;               /* bp_app_stop_hold minus releases */
    bool http_closed;                  /* stop sequence waits for the holds */
    bool drained;                      /* HTTP drained: the writer stops after the holds */
    bool writer_stopping;
};

/* Appends the feature modules' /healthz value for "imap" (a JSON value:
 * an object, or "disabled"); modules.c. */
BP_WUR int bp__app_modules_health(struct bp_app *app, struct bp_buf *out);

/* Registers GET /healthz and GET /metrics on app->http. */
BP_WUR int bp__app_routes_register(struct bp_app *app);

#endif
