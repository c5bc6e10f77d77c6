/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The daemon's own HTTP routes:
 *   GET /healthz  200 {"status":"ok","db":"ok","schema_version":N,"imap":X}
 *                 (X: the IMAP poller's state object, or "disabled"), or 503
 *                 with "db":"error" when the read-only store cannot answer
 *                 a trivial query (bp_store_ping).
 *   GET /metrics  Prometheus text format 0.0.4: the HTTP server's families,
 *                 the store writer's (commits, requests, write latency
 *                 histogram), build info, uptime, then every writer added
 *                 by a module with bp_app_add_metrics.
 * Both answer synchronously on the loop thread; the ping is an indexed read
 * of sqlite_schema on the loop's own read-only connection.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app_int.h"
#include "bp/log.h"
#include "bp_build.h"

static void on_healthz(struct bp_http_req *req, void *arg)
{
    struct bp_app *app = arg;
    char body[128];
    int version = 0, rc, n;

    rc = bp_store_ping(app->ro);
    if (rc == 0)
        rc = bp_store_schema_version(app->ro, &version);
    if (rc < 0) {
        bp_log_warn("app", "healthz_failed", "err=%s", bp_err_name(rc));
        n = snprintf(body, sizeof body,
                     "{\"status\":\"error\",\"db\":\"error\"}\n");
        bp_http_respond(req, 503, "application/json", body, (size_t)n);
        return;
    }
    {
        /* "imap": the poller's state (modules.c), "disabled" when off */
        struct bp_buf b;
        bp_buf_init(&b, 4096);
        if (bp_buf_printf(&b, "{\"status\":\"ok\",\"db\":\"ok\",\"schema_version\":%d,"
                              "\"imap\":", version) == 0 &&
            bp__app_modules_health(app, &b) == 0 && bp_buf_appends(&b, "}\n") == 0) {
            bp_http_respond(req, 200, "application/json", b.data, b.len);
            bp_buf_free(&b);
            return;
        }
        bp_buf_free(&b);
    }
    n = snprintf(body, sizeof body,
                 "{\"status\":\"ok\",\"db\":\"ok\",\"schema_version\":%d}\n",
                 version);
    bp_http_respond(req, 200, "application/json", body, (size_t)n);
}

static int write_store(struct bp_app *app, struct bp_buf *o)
{
    struct bp_store_writer_stats st;
    int rc;

    memset(&st, 0, sizeof st);
    if (app->writer != NULL)
        bp_store_writer_get_stats(app->writer, &st);
    rc = bp_buf_printf(o,
        "# HELP backpack_store_commits_total Transactions committed by the store writer (group commits).\n"
        "# TYPE backpack_store_commits_total counter\n"
        "backpack_store_commits_total %llu\n"
        "# HELP backpack_store_requests_total Write requests completed by the store writer.\n"
        "# TYPE backpack_store_requests_total counter\n"
        "backpack_store_requests_total %llu\n"
        "# HELP backpack_store_request_failures_total Write requests completed with an error.\n"
        "# TYPE backpack_store_request_failures_total counter\n"
        "backpack_store_request_failures_total %llu\n"
        "# HELP backpack_store_write_latency_seconds Store write latency, submit to completion.\n"
        "# TYPE backpack_store_write_latency_seconds histogram\n",
        (unsigned long long)st.commits, (unsigned long long)st.requests,
        (unsigned long long)st.failures);
    for (int i = 0; i < BP_STORE_LAT_BUCKETS && rc == 0; i++) {
        double le = bp_store_latency_bounds[i];
        if (isinf(le) || i == BP_STORE_LAT_BUCKETS - 1)
            rc = bp_buf_printf(o,
                "backpack_store_write_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                (unsigned long long)st.latency_bucket[i]);
        else
            rc = bp_buf_printf(o,
                "backpack_store_write_latency_seconds_bucket{le=\"%g\"} %llu\n",
                le, (unsigned long long)st.latency_bucket[i]);
    }
    if (rc == 0)
        rc = bp_buf_printf(o,
            "backpack_store_write_latency_seconds_sum %.6f\n"
            "backpack_store_write_latency_seconds_count %llu\n",
            st.latency_sum_s,
            (unsigned long long)st.latency_bucket[BP_STORE_LAT_BUCKETS - 1]);
    return rc;
}

static int write_process(struct bp_app *app, struct bp_buf *o)
{
    double up = (double)(uv_now(&app->loop) - app->started_ms) / 1000.0;

    return bp_buf_printf(o,
        "# HELP backpack_build_info Build information.\n"
        "# TYPE backpack_build_info gauge\n"
        "backpack_build_info{version=\"%s\"} 1\n"
        "# HELP backpack_uptime_seconds Seconds since the daemon started.\n"
        "# TYPE backpack_uptime_seconds gauge\n"
        "backpack_uptime_seconds %.3f\n",
        BP_VERSION, up);
}

static void on_metrics(struct bp_http_req *req, void *arg)
{
    struct bp_app *app = arg;
    struct bp_buf *o = &app->mbuf;
    int rc;

    bp_buf_reset(o);
    rc = bp_http_metrics_write(app->http, o);
    if (rc == 0)
        rc = write_store(app, o);
    if (rc == 0)
        rc = write_process(app, o);
    for (size_t i = 0; i < app->nmetrics && rc == 0; i++)
        rc = app->metrics[i].fn(app->metrics[i].arg, o);
    if (rc < 0) {
        bp_log_error("app", "metrics_failed", "err=%s", bp_err_name(rc));
        bp_http_respond(req, 500, "text/plain", "metrics failed\n", 15);
        return;
    }
    bp_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                    o->data, o->len);
}

int bp__app_routes_register(struct bp_app *app)
{
    int rc = bp_http_route(app->http, "healthz", BP_HTTP_GET, "/healthz",
                           on_healthz, app);
    if (rc == 0)
        rc = bp_http_route(app->http, "metrics", BP_HTTP_GET, "/metrics",
                           on_metrics, app);
    return rc;
}
