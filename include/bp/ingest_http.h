/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The inbound SMS webhooks (loop thread):
 *   POST /webhooks/sms/<provider>         an incoming message
 *   POST /webhooks/sms/<provider>/status  a delivery-status callback
 *
 * verify signature -> parse -> classify keywords -> store writer (group
 * commit) -> answer.  The 2xx goes out only after the row is committed, so
 * a message that was acknowledged is on disk; a provider retry of the same
 * message id is answered 2xx again and stored once.  Rejections: 415 wrong
 * content type, 400 malformed body or missing fields, 403 bad or missing
 * signature or a foreign account id, 404 unknown provider; each is logged
 * once with the reason (never the body or the phone number in clear).
 */
#ifndef BP_INGEST_HTTP_H
#define BP_INGEST_HTTP_H

#include <stdint.h>

#include "bp/http.h"
#include "bp/store.h"
#include "bp/store_inbound.h"
#include "bp/store_status.h"

struct bp_ingest;

struct bp_ingest_opts {
    const char *provider;          /* "twilio" */
    const char *public_url;        /* base URL the provider was given */
    const char *account_sid;       /* expected AccountSid */
    const char *auth_token;        /* signing secret */
    int64_t thread_window_ms;      /* threading rule 3 */
    bp_store_render_fn render;     /* renders keyword replies (thread-safe) */
    void *render_ctx;
};

/* What was stored, for live fan-out (a later SSE endpoint subscribes). */
struct bp_ingest_event {
    int64_t message_id;
    int64_t conversation_id;       /* 0: in triage */
    const char *kind;              /* "sms_in" */
};
typedef void (*bp_ingest_event_fn)(void *arg, const struct bp_ingest_event *ev);

/* Strings in o are copied.  w must outlive the ingest object.  Errors:
 * BP_ECONFIG (unknown provider, empty public_url/account_sid/auth_token). */
BP_WUR int bp_ingest_new(struct bp_store_writer *w,
                         const struct bp_ingest_opts *o,
                         struct bp_ingest **out, struct bp_errbuf *eb);
/* Registers the two routes on srv. */
BP_WUR int bp_ingest_register(struct bp_ingest *ing, struct bp_http_server *srv);
/* One listener (replaces the previous one); called after each commit of a
 * new (non-duplicate) message, on the loop thread. */
void bp_ingest_listen(struct bp_ingest *ing, bp_ingest_event_fn fn, void *arg);
/* Appends backpack_sms_webhooks_total{kind,result} to out. */
BP_WUR int bp_ingest_metrics_write(const struct bp_ingest *ing, struct bp_buf *out);
/* Requests still waiting for the writer keep a pointer to ing: free it only
 * after the writer has stopped (which completes them). */
void bp_ingest_free(struct bp_ingest *ing);

#endif
