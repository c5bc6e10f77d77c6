/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The outbox (src/outbox/): outbound announcements from request to
 * provider.  See docs/outbox.md for the design.
 *
 *  - policy.c   quiet hours in a guardian's time zone (ICU calendars),
 *               RFC 3339 parsing, the send request -> store request.
 *  - backoff.c  retry delay: exponential with jitter, Retry-After honoured
 *               (the only place a retry class gets a meaning).
 *  - sched.c    the daemon side: one uv_timer armed to the earliest due
 *               row (and a 1 s poll, which also notices rows written by
 *               `backpack send`), claims due rows through the store writer
 *               (marked `sending` and committed before a request leaves),
 *               hands them to the channel senders (include/bp/send.h) and
 *               records their results.
 *  - api.c      POST /api/messages (admin token).
 *
 * Threading: the scheduler and the API are loop thread only; the policy
 * callbacks run on the store writer thread (they touch no shared state).
 */
#ifndef BP_OUTBOX_H
#define BP_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "bp/base.h"
#include "bp/conf.h"
#include "bp/http.h"
#include "bp/send.h"
#include "bp/store.h"
#include "bp/store_outbox.h"

/* ---- backoff (pure) ------------------------------------------------------ */

/*
 * Delay before attempt number `attempt + 1` after `attempt` failed
 * transiently (attempt >= 1): exp = min(max_ms, base_ms * 2^(attempt-1)),
 * "equal jitter" exp/2 + rnd % (exp/2 + 1), and never less than
 * retry_after_ms (the provider's Retry-After).  rnd is a random 32-bit
 * value (tests pass fixed ones).
 */
int64_t bp_outbox_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                             int64_t retry_after_ms, uint32_t rnd);

/* ---- quiet hours (ICU) -------------------------------------------------- */

struct bp_outbox_quiet {
    int start_min;     /* minutes after local midnight */
    int end_min;       /* start == end: no quiet hours */
};

/* Parses "HH:MM" pairs (00:00..23:59).  BP_EINVAL_INPUT otherwise. */
BP_WUR int bp_outbox_quiet_parse(const char *start, const char *end,
                                 struct bp_outbox_quiet *q);
/*
 * When may a normal delivery due at at_ms go for someone in time zone tz
 * (IANA id)?  at_ms itself when that local time is outside the window,
 * else the window's end (local wall time, so DST changes are respected).
 * BP_EINVAL_INPUT for an unknown zone.  Any thread.
 */
BP_WUR int bp_outbox_quiet_due(const struct bp_outbox_quiet *q, const char *tz,
                               int64_t at_ms, int64_t *due_ms);

/* Parses RFC 3339 ("2025-01-31T08:00:00Z", "...+01:00", fractions
 * allowed) into ms since the epoch.  BP_EINVAL_INPUT otherwise.  Pure. */
BP_WUR int bp_outbox_parse_rfc3339(const char *s, int64_t *ms);

/* ---- building an announcement ------------------------------------------- */

/* What `backpack send` and POST /api/messages ask for (strings borrowed). */
struct bp_outbox_req {
    const char *audience_kind;       /* student | section | school | custom */
    const char *audience_ref;
    const char *const *guardians;
    size_t nguardians;
    const char *text;
    const char *template_key;
    const char *template_args;       /* JSON object text or NULL */
    bool urgent;
    bool allow_fallback;
    bool dry_run;
    int64_t send_at;                 /* 0 = now */
    int64_t author_staff_id;
};

/* Policy state the store callbacks need; lives as long as the request. */
struct bp_outbox_policy {
    struct bp_outbox_quiet quiet;
    const char *default_tz;
};

/*
 * Fills *a (the store request) from req and conf, with pol as the quiet
 * hours callback's argument (pol is filled too).  Validates: exactly one
 * audience, text xor template, templates need the rendering module
 * (BP_EINVAL_INPUT with the reason in eb).  req, conf and pol are borrowed
 * by *a: keep them alive until the store call returns.
 */
BP_WUR int bp_outbox_prepare(const struct bp_conf *conf,
                             const struct bp_outbox_req *req,
                             struct bp_outbox_policy *pol,
                             struct bp_store_announce *a, struct bp_errbuf *eb);

/* bp_store_write_fn: bp_store_announce, then for a dry run BP_ECANCELED so
 * the writer rolls the request back (counts stay filled in).  arg is a
 * struct bp_outbox_create. */
struct bp_outbox_create {
    struct bp_store_announce a;
    bool dry_run;
};
BP_WUR int bp_outbox_create_fn(struct bp_store *s, void *arg);

/* Appends the JSON summary of a created announcement to out. */
BP_WUR int bp_outbox_summary_json(const struct bp_store_announce *a,
                                  bool dry_run, struct bp_buf *out);

/* ---- the daemon side ---------------------------------------------------- */

struct bp_outbox;

struct bp_outbox_env {
    uv_loop_t *loop;
    struct bp_store_writer *writer;
    struct bp_store *store_ro;            /* for /metrics */
    struct bp_http_server *http;          /* NULL: no API route */
    struct bp_sender *senders[2];         /* [BP_CHANNEL_SMS], [BP_CHANNEL_EMAIL]; NULL = off */
    unsigned window[2];                   /* most jobs in flight per channel */
};

/*
 * Starts the outbox: registers POST /api/messages on env->http, recovers
 * rows left in `sending` (same idempotency key), then runs the scheduler.
 * conf and env's pointers are borrowed and must outlive the outbox.  *out
 * is new: call bp_outbox_stop (from the app's stop hook), run the loop to
 * its end, then bp_outbox_free.
 */
BP_WUR int bp_outbox_start(const struct bp_conf *conf,
                           const struct bp_outbox_env *env,
                           struct bp_outbox **out, struct bp_errbuf *eb);
/* Stops claiming, closes the timer and the senders (their canceled jobs
 * stay `sending` and are recovered at the next start).  Idempotent; a
 * void (*)(void *) for bp_app_on_stop. */
void bp_outbox_stop(void *outbox);
/* Frees the outbox after the loop has ended (NULL-safe). */
void bp_outbox_free(struct bp_outbox *ob);
/* Wakes the scheduler now (after the API created deliveries). */
void bp_outbox_kick(struct bp_outbox *ob);
/* bp_app_metrics_fn: backpack_outbox_deliveries{channel,state} (from the
 * database) and backpack_outbox_sends_total{channel,result}. */
int bp_outbox_metrics(void *outbox, struct bp_buf *out);

#endif
