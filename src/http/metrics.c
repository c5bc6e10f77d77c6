/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * HTTP counters and their Prometheus text exposition (format 0.0.4).
 * Counters are plain integers owned by the loop thread: requests by route
 * name and status code (a short array of codes per route name, since a
 * route sees a handful of distinct codes), open connections and
 * connections rejected by the cap.
 */
#include <string.h>

#include "http_int.h"

static void count_in(struct bp__http_counters *c, int code)
{
    for (int i = 0; i < c->ncodes; i++) {
        if (c->codes[i].code == code) {
            c->codes[i].count++;
            return;
        }
    }
    if (c->ncodes < BP__HTTP_MAX_CODES) {
        c->codes[c->ncodes].code = code;
        c->codes[c->ncodes].count = 1;
        c->ncodes++;
    }
}

void bp__http_count(struct bp_http_server *s, const struct bp__http_route *rt,
                    int code)
{
    count_in(rt != NULL ? rt->counters : &s->none, code);
}

static int write_counters(struct bp_buf *out, const char *name,
                          const struct bp__http_counters *c)
{
    int rc = 0;
    for (int i = 0; i < c->ncodes && rc == 0; i++)
        rc = bp_buf_printf(out,
                           "backpack_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                           name, c->codes[i].code,
                           (unsigned long long)c->codes[i].count);
    return rc;
}

int bp_http_metrics_write(const struct bp_http_server *s, struct bp_buf *out)
{
    int rc;

    rc = bp_buf_appends(out,
        "# HELP backpack_http_requests_total HTTP requests answered, by route and status code.\n"
        "# TYPE backpack_http_requests_total counter\n");
    for (size_t i = 0; i < s->nroutes && rc == 0; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            if (s->routes[j].counters == s->routes[i].counters)
                seen = true;
        if (!seen)
            rc = write_counters(out, s->routes[i].name, s->routes[i].counters);
    }
    if (rc == 0)
        rc = write_counters(out, "none", &s->none);
    if (rc == 0)
        rc = bp_buf_printf(out,
            "# HELP backpack_http_connections_open HTTP connections currently open.\n"
            "# TYPE backpack_http_connections_open gauge\n"
            "backpack_http_connections_open %u\n"
            "# HELP backpack_http_connections_rejected_total Connections closed at accept because of the connection cap.\n"
            "# TYPE backpack_http_connections_rejected_total counter\n"
            "backpack_http_connections_rejected_total %llu\n",
            s->nconns, (unsigned long long)s->rejected);
    return rc;
}
