/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The outbox module's life cycle and metrics.  See include/bp/outbox.h and
 * docs/outbox.md; the scheduler is in sched.c, the API in api.c.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bp/log.h"
#include "outbox_int.h"

int bp_outbox_start(const struct bp_conf *conf, const struct bp_outbox_env *env,
                    struct bp_outbox **out, struct bp_errbuf *eb)
{
    struct bp_outbox *ob;
    struct bp_outbox_quiet q;
    int rc;

    *out = NULL;
    if (bp_outbox_quiet_parse(conf->outbox_quiet_start, conf->outbox_quiet_end,
                              &q) < 0) {
        if (eb != NULL)
            snprintf(eb->msg, sizeof eb->msg,
                     "[outbox] quiet_start/quiet_end must be HH:MM");
        return BP_ECONFIG;
    }
    if (sodium_init() < 0)
        return BP_ENOMEM;
    ob = bp_xcalloc(1, sizeof *ob);
    ob->conf = conf;
    ob->env = *env;
    for (int ch = 0; ch < 2; ch++) {
        if (ob->env.window[ch] == 0)
            ob->env.window[ch] = 64;
        if (ob->env.refill_at[ch] == 0 || ob->env.refill_at[ch] >= ob->env.window[ch])
            ob->env.refill_at[ch] = ob->env.window[ch] / 2;
    }
    if (env->http != NULL && (rc = bp__outbox_api_register(ob)) < 0) {
        if (eb != NULL)
            snprintf(eb->msg, sizeof eb->msg, "registering /api/messages");
        free(ob);
        return rc;
    }
    if ((rc = bp__outbox_sched_start(ob)) < 0) {
        free(ob);
        return rc;
    }
    *out = ob;
    return 0;
}

void bp_outbox_free(struct bp_outbox *ob)
{
    if (ob == NULL)
        return;
    free(ob->pending.v);
    free(ob->inflight_results.v);
    bp_store_claim_free(&ob->claim);
    free(ob);
}

struct metric_ctx {
    struct bp_buf *out;
    int rc;
};

static void count_row(void *arg, const char *channel, const char *state, int64_t n)
{
    struct metric_ctx *m = arg;
    if (m->rc == 0)
        m->rc = bp_buf_printf(m->out,
                              "backpack_outbox_deliveries{channel=\"%s\",state=\"%s\"} %lld\n",
                              channel, state, (long long)n);
}

int bp_outbox_metrics(void *outbox, struct bp_buf *out)
{
    static const char *const results[3] = {"ok", "transient", "permanent"};
    struct bp_outbox *ob = outbox;
    struct metric_ctx m = {out, 0};
    int rc;

    m.rc = bp_buf_appends(out,
        "# HELP backpack_outbox_deliveries Deliveries in the database by channel and state.\n"
        "# TYPE backpack_outbox_deliveries gauge\n");
    if (m.rc == 0 && ob->env.store_ro != NULL &&
        (rc = bp_store_delivery_counts(ob->env.store_ro, count_row, &m)) < 0 && m.rc == 0)
        m.rc = rc;
    if (m.rc == 0)
        m.rc = bp_buf_appends(out,
            "# HELP backpack_outbox_sends_total Send attempts completed by channel and result.\n"
            "# TYPE backpack_outbox_sends_total counter\n");
    for (int ch = 0; ch < 2 && m.rc == 0; ch++)
        for (int r = 0; r < 3 && m.rc == 0; r++)
            m.rc = bp_buf_printf(out,
                "backpack_outbox_sends_total{channel=\"%s\",result=\"%s\"} %llu\n",
                ch ? "email" : "sms", results[r],
                (unsigned long long)ob->sends[ch][r]);
    if (m.rc == 0)
        m.rc = bp_buf_printf(out,
            "# HELP backpack_outbox_in_flight Jobs handed to a sender and not yet answered.\n"
            "# TYPE backpack_outbox_in_flight gauge\n"
            "backpack_outbox_in_flight{channel=\"sms\"} %u\n"
            "backpack_outbox_in_flight{channel=\"email\"} %u\n",
            ob->in_flight[0], ob->in_flight[1]);
    return m.rc;
}
