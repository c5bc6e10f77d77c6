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
 *  - render.c   templates and free text per (guardian locale, time zone):
 *               the language rule (held no_translation), argument typing,
 *               SMS encoding and segments.
 *  - api.c      POST /api/messages and /api/messages/preview (admin token).
 *  - translate.c  machine translation of free text, once per language.
 *  - preview.c  the reach preview, on the rolled-back dry-run path.
 *  - inbound_mt.c parents' replies translated for the teacher.
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
#include "bp/mt.h"
#include "bp/send.h"
#include "bp/store.h"
#include "bp/store_outbox.h"
#include "bp/tmpl.h"
#include "bp/tmpl_api.h"

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
    /* The loaded message catalogue (read-only, shared); NULL: templates
     * are refused.  Free text does not need it. */
    const struct bp_tmpl_catalog *catalog;
};

/* Machine translation of free text into one target language (see
 * bp_outbox_mt_targets). */
struct bp_outbox_mt_lang {
    char locale[36];       /* catalogue locale the families read, e.g. "es" */
    int rc;                /* 0: text is ready; < 0: failed (deliveries held) */
    char *text;            /* translation + the note in that language (malloc) */
};

/*
 * Policy state the store callbacks need; lives as long as the request.
 * Filled by bp_outbox_prepare, which may allocate (parsed template
 * arguments, a one-locale catalogue for the free-text language check):
 * release it with bp_outbox_policy_release once the store call returned.
 */
struct bp_outbox_policy {
    struct bp_outbox_quiet quiet;
    const char *default_tz;
    const char *default_locale;
    const char *text;                      /* free text, or NULL */
    const char *template_key;              /* template, or NULL */
    const struct bp_tmpl_catalog *catalog; /* templates */
    struct bp_tmpl_catalog *school_lang;   /* free text: the default locale only */
    struct bp_tmpl_arg *args;              /* typed template arguments */
    size_t nargs;
    void *args_doc;                        /* json_t owning the args' strings */
    struct bp_outbox_mt_lang *mt;          /* free text: translations by language */
    size_t nmt;
};
void bp_outbox_policy_release(struct bp_outbox_policy *pol);   /* NULL-safe */

/*
 * Template arguments "name=value" (CLI --arg) -> a JSON object text (new,
 * caller frees with free()).  Values that are integers become JSON
 * integers (plural selectors), decimals JSON reals, everything else a
 * string (RFC 3339 times are recognised when the arguments are typed, see
 * bp_outbox_args_parse).  BP_EINVAL_INPUT for an item without '=', an empty
 * or repeated name.  Pure.
 */
BP_WUR int bp_outbox_args_from_kv(const char *const *kv, size_t n, char **json,
                                  struct bp_errbuf *eb);

/*
 * Types a template-argument JSON object for bp_tmpl_render: integer ->
 * BP_TMPL_INT, real -> BP_TMPL_DOUBLE, string in RFC 3339 -> BP_TMPL_DATE
 * (an instant, shown in the guardian's time zone), "12.50 USD" ->
 * BP_TMPL_MONEY, any other string -> BP_TMPL_STR.  On success pol->args,
 * pol->nargs and pol->args_doc are set (released by
 * bp_outbox_policy_release).  NULL json = no arguments.  BP_EINVAL_INPUT
 * (reason in eb) for invalid JSON, a non-object, or a nested value.
 */
BP_WUR int bp_outbox_args_parse(const char *json, struct bp_outbox_policy *pol,
                                struct bp_errbuf *eb);

/*
 * Fills *a (the store request) from req and conf, with pol as the
 * callbacks' argument (pol is filled too: call bp_outbox_policy_release
 * after the store call, also when this fails).  Validates: exactly one
 * audience, text xor template; a template must exist in the school's
 * default locale and render there with the given arguments (a missing
 * argument is reported now, not per family).  BP_EINVAL_INPUT with the
 * reason in eb.  req, conf and pol are borrowed by *a: keep them alive
 * until the store call returns.
 *
 * The render callback (store writer thread) applies the language rule of
 * docs/outbox.md: a family gets the text in its own language (catalogue
 * negotiation for templates; for free text, the school's language must be
 * the family's); otherwise the delivery is held (no_translation) unless
 * allow_fallback.
 */
BP_WUR int bp_outbox_prepare(const struct bp_conf *conf,
                             const struct bp_outbox_req *req,
                             struct bp_outbox_policy *pol,
                             struct bp_store_announce *a, struct bp_errbuf *eb);

/* ---- machine translation of free text (src/outbox/translate.c) -------- */

/*
 * Decides which languages the free text of pol must be translated into,
 * from the distinct guardian locales of the audience
 * (bp_store_announce_locales): every language that is not the school's and
 * for which the catalogue has the note `note.machine_translated` (the
 * family's copy is marked machine-translated IN THE FAMILY'S LANGUAGE, so a
 * language without the note is held no_translation as before).  Fills
 * pol->mt / pol->nmt (rc = BP_ETEMPFAIL until a result is set).  No-op for
 * templates or without a catalogue.  Pure (reads the catalogue).
 */
void bp_outbox_mt_targets(struct bp_outbox_policy *pol, char *const *locales, size_t n);

/*
 * Records the result for pol->mt[i]: rc 0 with the translation -> the
 * family text (translation, blank line, the note in that language); rc < 0
 * -> the language's deliveries will be held (no_translation).  Returns 0 or
 * BP_ENOMEM / the note's render error (then the language is held too).
 */
BP_WUR int bp_outbox_mt_result(struct bp_outbox_policy *pol, size_t i, int rc,
                               const char *translation, size_t len);

/* Blocking: translates pol's text into every target with mt (the CLI).
 * mt NULL: every target stays failed (held).  Any thread. */
void bp_outbox_mt_translate_all(struct bp_outbox_policy *pol, struct bp_mt *mt);

/* ---- reach preview (src/outbox/preview.c) ------------------------------- */

/*
 * bp_store_write_fn (arg: struct bp_outbox_preview): bp_store_announce,
 * then the preview read from the rows it wrote (bp_store_announce_preview)
 * as JSON into ->json, then BP_ECANCELED so the writer rolls it all back.
 * The JSON: the summary fields of bp_outbox_summary_json plus
 *   "reach": [{"locale", "channel", "deliveries", "held", "later",
 *              "segments", "cost"}],
 *   "texts": [{"locale", "text", "held", "machine_translated", "encoding",
 *              "segments", "characters", "forcing_ucs2": ["á", ...],
 *              "cost_per_sms"}],
 *   "not_receiving": {"opted_out", "no_contact", "may_not_receive",
 *                     "no_student", "no_translation" (held)},
 *   "scheduled": [{"at" (RFC 3339 UTC), "local" ("YYYY-MM-DD HH:MM"),
 *                  "timezone", "deliveries"}],
 *   "cost": {"currency", "per_segment", "total", "segments"}.
 * conf must outlive the call.
 */
struct bp_outbox_preview {
    struct bp_store_announce a;
    const struct bp_conf *conf;
    struct bp_buf json;          /* initialised by the caller; caller frees */
};
BP_WUR int bp_outbox_preview_fn(struct bp_store *s, void *arg);

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
    /* The live catalogue (files + custom templates, bp_app_templates): each
     * POST /api/messages acquires the current snapshot for its whole
     * request.  NULL: templates are refused. */
    struct bp_tmpl_live *templates;
    /* Machine translation of free text ([translate]); NULL: free text to a
     * family of another language is held no_translation. */
    struct bp_mt *mt;
    unsigned window[2];                   /* most jobs in flight per channel */
    /* A channel is claimed for again when its jobs in flight are down to
     * this (0: half its window). */
    unsigned refill_at[2];
    /* Called once (loop thread) when bp_outbox_stop has finished: every
     * sender has closed and released its threads.  NULL: not told. */
    void (*on_stopped)(void *arg);
    void *stopped_arg;
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
 * stay `sending` and are recovered at the next start); env->on_stopped
 * runs once they have all closed.  Idempotent; a void (*)(void *) for
 * bp_app_on_stop. */
void bp_outbox_stop(void *outbox);
/* Frees the outbox after the loop has ended (NULL-safe). */
void bp_outbox_free(struct bp_outbox *ob);
/* Wakes the scheduler now (after the API created deliveries). */
void bp_outbox_kick(struct bp_outbox *ob);
/* A new inbound message was committed (loop thread; a void (*)(void *,
 * int64_t) for bp_app_on_inbound_message): with [translate] enabled and a
 * sender whose language is not the school's, translates it for the
 * teacher in the background (src/outbox/inbound_mt.c). */
void bp_outbox_inbound_message(void *outbox, int64_t message_id);
/* bp_app_metrics_fn: backpack_outbox_deliveries{channel,state} (from the
 * database) and backpack_outbox_sends_total{channel,result}. */
int bp_outbox_metrics(void *outbox, struct bp_buf *out);

#endif
