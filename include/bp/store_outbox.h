/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The outbox's SQL (src/store/outbox.c, src/store/outbox_audience.c): the
 * delivery state machine's single setter, turning an announcement's audience
 * into deliveries, claiming due deliveries for sending, and recording send
 * results.  Policy (quiet hours, backoff, what a provider error means) is
 * decided by src/outbox/ and handed in; this module only stores it.
 *
 * Threading: every function taking a struct bp_store runs on the thread
 * that owns that connection -- in the daemon the store writer thread (the
 * bp_store_write_fn ones are written to be used as write requests), in the
 * CLI the main thread inside bp_store_begin/commit.  The state helpers
 * (bp_dstate_*) are pure.
 */
#ifndef BP_STORE_OUTBOX_H
#define BP_STORE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp/base.h"
#include "bp/store.h"

/* Delivery states, as stored in delivery.state (see the transition table
 * at the top of src/store/outbox.c). */
enum bp_dstate {
    BP_DS_QUEUED = 0,
    BP_DS_SENDING,
    BP_DS_SENT,
    BP_DS_DELIVERED,
    BP_DS_RETRY_WAIT,
    BP_DS_FAILED,
    BP_DS_UNDELIVERABLE,
    BP_DS_HELD,
    BP_DS__COUNT
};

const char *bp_dstate_name(enum bp_dstate s);          /* "queued"... */
/* Parses a state word; BP_EINVAL_INPUT for anything else. */
BP_WUR int bp_dstate_parse(const char *word, enum bp_dstate *out);
/* True when from -> to is an edge of the state machine.  Pure. */
bool bp_dstate_legal(enum bp_dstate from, enum bp_dstate to);

/*
 * One state change.  Strings are borrowed; NULL leaves the column as it
 * is, except error_* which are replaced together when error_code is set.
 */
struct bp_dstate_change {
    int64_t delivery_id;
    enum bp_dstate from, to;
    const char *held_reason;       /* required when to == HELD */
    bool set_next;                 /* write next_attempt_at (NULL when 0) */
    int64_t next_attempt_at;
    bool bump_attempts;            /* attempts + 1 (queued -> sending) */
    const char *provider;          /* with provider_msg_id, on -> sent */
    const char *provider_msg_id;
    const char *email_message_id;
    const char *error_code;
    const char *error_class;       /* "transient" | "permanent" */
    const char *error_detail;
    int64_t now_ms;
};

/*
 * THE function that changes a delivery's state.  Asserts that from -> to
 * is legal (a bug otherwise; release builds return BP_EINVAL_INPUT), then
 * updates the row only if it is still in `from` (compare-and-set).  Logs
 * `from -> to` at debug level.  Returns 0, BP_ENOTFOUND when the row is not
 * (or no longer) in `from`, or a store error.
 */
BP_WUR int bp_store_delivery_set_state(struct bp_store *s,
                                       const struct bp_dstate_change *c);

/* ---- audience -> deliveries ------------------------------------------- */

enum bp_skip_reason {
    BP_SKIP_OPTED_OUT = 0,
    BP_SKIP_NO_CONTACT,
    BP_SKIP_MAY_NOT_RECEIVE,
    BP_SKIP_NO_TRANSLATION,
    BP_SKIP_NO_STUDENT,
    BP_SKIP__COUNT
};
const char *bp_skip_reason_name(enum bp_skip_reason r);

/* Quiet hours: the time a delivery created at base_ms for a guardian in
 * time zone tz may go (base_ms itself when outside the window).  Called
 * once per distinct (locale, zone) of the audience, on the store's thread. */
typedef int (*bp_store_due_fn)(void *arg, const char *tz, int64_t base_ms,
                               int64_t *due_ms);
/*
 * Rendering seam, called once per distinct (guardian locale, time zone) of
 * the audience, and once with the school default locale and zone for the
 * message row.  The callback appends the text to r->out and fills the rest:
 * r->translated false means the text is NOT in the guardian's language (a
 * fallback): the delivery is created held with reason no_translation unless
 * allow_fallback.  r->locale is the locale actually rendered ("" = the
 * requested one); r->encoding ("gsm7" | "ucs2") and r->segments describe
 * the text as an SMS (stored on SMS deliveries only; NULL / 0 = unknown).
 * r->machine_translated: the text is a machine translation of free text
 * (the messages then keep the teacher's text in original_body, with
 * original_locale = the school default and machine_translated = 1).
 */
struct bp_store_rendered {
    struct bp_buf *out;
    bool translated;
    bool machine_translated;
    char locale[36];
    const char *encoding;
    int64_t segments;
};
typedef int (*bp_store_render_fn)(void *arg, const char *locale, const char *tz,
                                  struct bp_store_rendered *r);

struct bp_store_announce {
    /* input (borrowed) */
    const char *audience_kind;     /* "student" | "section" | "school" | "custom" */
    const char *audience_ref;      /* student or section sourced_id; NULL otherwise */
    const char *const *guardians;  /* custom: guardian sourced_ids */
    size_t nguardians;
    const char *body;              /* raw text (NULL when template_key) */
    const char *template_key;
    const char *template_args;     /* JSON object or NULL */
    const char *subject;           /* e-mail subject, may be NULL */
    bool urgent;
    bool allow_fallback;
    int64_t send_at;               /* 0 = now */
    int64_t author_staff_id;       /* 0 = none */
    const char *default_tz;        /* [school] timezone */
    const char *default_locale;    /* [school] default_locale */
    int64_t now_ms;
    bp_store_due_fn due;           /* NULL: no quiet hours */
    bp_store_render_fn render;     /* NULL: body as is, never held */
    void *cb_arg;
    bool serial;                   /* choose the contacts on this connection
                                      (always so for an in-memory database);
                                      else on a second one, in parallel */
    /* output */
    int64_t announcement_id;
    int64_t messages;              /* one per student conversation */
    int64_t deliveries[2];         /* by channel: [0] sms, [1] email */
    int64_t held;                  /* deliveries created held */
    int64_t deferred;              /* queued for later (quiet hours, send_at) */
    int64_t skipped[BP_SKIP__COUNT];
    int64_t delivery_floor;        /* the deliveries created have ids above it */
    bool parallel;                 /* the contacts were chosen on a second
                                      connection (see serial) */
    char errmsg[128];              /* for BP_ENOTFOUND: what was missing */
};

/*
 * bp_store_write_fn (arg: struct bp_store_announce).  Creates the
 * announcement, one outbound message per student conversation of the
 * audience (conversations created as needed), one delivery per contact
 * chosen by policy (DESIGN.md section 5; see src/store/outbox_audience.c)
 * and one delivery_skip row per guardian left out.  Set-based statements in
 * the caller's transaction.  BP_ENOTFOUND when the audience reference does
 * not exist (errmsg says which).  Every id it writes comes from a join in
 * that transaction, so callers run it with foreign keys off (a bulk writer
 * request, or bp_store_set_bulk around the CLI's transaction).
 */
BP_WUR int bp_store_announce(struct bp_store *s, void *arg);

/*
 * The distinct guardian locales of the families an announcement would
 * reach (chosen contacts only; "" for a guardian without one), in a's
 * audience fields.  Writes temp tables only (nothing durable), so it can
 * run before bp_store_announce, e.g. to translate free text once per
 * language.  *out is a malloc'd array of malloc'd strings (free each and
 * the array); BP_ENOTFOUND (a->errmsg) for an unknown audience reference.
 */
BP_WUR int bp_store_announce_locales(struct bp_store *s, struct bp_store_announce *a,
                                     char ***out, size_t *n);

/*
 * Reach preview of an announcement just created by bp_store_announce in
 * the same (to be rolled back) transaction.  Calls, in this order:
 *  - group once per (rendered locale, channel, held, due later) with the
 *    number of deliveries and their SMS segments (sum; 0 for e-mail);
 *  - text once per distinct rendered text (locale rendered, body, held,
 *    machine-translated);
 *  - later once per future due time of queued deliveries (quiet hours or
 *    send_at) with one time zone of the audience having that due time and
 *    the number of deliveries.
 * A callback returning < 0 stops the walk with that code.
 */
struct bp_store_preview {
    void *arg;
    int (*group)(void *arg, const char *locale, const char *channel, bool held,
                 bool later, int64_t n, int64_t segments);
    int (*text)(void *arg, const char *locale, const char *body, bool held, bool mt);
    int (*later)(void *arg, const char *tz, int64_t due_ms, int64_t n);
};
BP_WUR int bp_store_announce_preview(struct bp_store *s,
                                     const struct bp_store_announce *a,
                                     const struct bp_store_preview *p);

/* ---- machine translation of a parent's reply (src/store/outbox_mt.c) --- */

struct bp_store_mt_inbound {
    int64_t message_id;        /* input */
    char *body;                /* get: the parent's text (malloc'd; caller frees) */
    char locale[36];           /* get: the sender guardian's locale ("" unknown) */
    const char *translation;   /* set: the text in the school's language */
};
/* Reads an inbound 'normal' message not yet translated.  BP_ENOTFOUND
 * otherwise.  Any connection (the loop's read-only one). */
BP_WUR int bp_store_mt_inbound_get(struct bp_store *s, struct bp_store_mt_inbound *m);
/* bp_store_write_fn (arg: struct bp_store_mt_inbound, after get): body =
 * translation, original_body = the parent's text, original_locale = locale,
 * machine_translated = 1, only if the body is still the one read
 * (BP_ENOTFOUND otherwise). */
BP_WUR int bp_store_mt_inbound_set(struct bp_store *s, void *arg);

/* ---- claiming and results --------------------------------------------- */

/* One delivery handed to a sender; strings live in ->_mem. */
struct bp_store_claimed {
    int64_t delivery_id;
    int channel;                   /* 0 sms, 1 email (enum bp_channel) */
    int attempts;                  /* after this claim */
    int64_t created_at;
    bool system;                   /* message.kind = 'system' */
    const char *to, *body, *idempotency_key;
    const char *to_name, *subject, *reply_token, *email_message_id;
    const char *in_reply_to, *references;   /* answering a parent's e-mail */
    char *_mem;
};

struct bp_store_claim {
    /* input */
    int64_t now_ms;
    unsigned max[2];               /* most rows to claim per channel */
    bool channel_on[2];            /* channels with a sender */
    const char *email_domain;      /* for minted Message-IDs ("" -> "backpack.invalid") */
    bool hold_pass;                /* also hold queued rows of unusable contacts (a scan
                                      of the queued rows: the scheduler asks once a second) */
    struct bp_store_claim_cursor {
        int64_t id;                /* last row claimed; 0 = start from the first due row */
        int64_t at;                /* its next_attempt_at ... */
        bool at_null;              /* ... or NULL */
    } cursor[2];                   /* in/out per channel: a claim continues after it
                                      (same next_attempt_at, greater id) before reading
                                      from the start; reset after a short batch.  The
                                      scheduler resets it once a second, so a row queued
                                      again behind it waits at most that long */
    /* output: claimed rows (queued -> sending, attempts + 1, committed) */
    struct bp_store_claimed *rows; /* malloc'd; free with bp_store_claim_free */
    size_t nrows;
    int64_t held_opted_out;        /* queued rows held because the contact opted out */
    int64_t next_due_ms;           /* earliest future due row (0: none) */
};

/*
 * bp_store_write_fn (arg: struct bp_store_claim).  Moves due retry_wait
 * rows back to queued, with hold_pass holds queued rows whose contact is no
 * longer usable (not for system messages), then claims up to max[ch] due
 * queued rows per channel (oldest due first) whose contact is usable (or
 * that are system messages), marking them sending.  Also computes the
 * earliest future due time for the scheduler's timer.
 */
BP_WUR int bp_store_claim_due(struct bp_store *s, void *arg);
void bp_store_claim_free(struct bp_store_claim *c);   /* frees rows, keeps c */

/*
 * bp_store_write_fn (arg: struct bp_store_recover): at start, every row
 * left in `sending` by a crash goes to retry_wait due now, keeping its
 * idempotency key, so it is sent again under the same identity.
 */
struct bp_store_recover {
    int64_t now_ms;
    int64_t recovered;             /* output */
};
BP_WUR int bp_store_recover_sending(struct bp_store *s, void *arg);

/* One send result to record (decided by the outbox). */
struct bp_store_result {
    int64_t delivery_id;
    enum bp_dstate to;             /* SENT, RETRY_WAIT or FAILED */
    int64_t next_attempt_at;       /* RETRY_WAIT */
    const char *provider;          /* SENT */
    char provider_msg_id[72];
    char error_code[24];
    char error_detail[256];
    const char *error_class;
    const char *contact_status;    /* "invalid" | "opted_out" | "bounced" | NULL */
};

struct bp_store_results {
    struct bp_store_result *v;
    size_t n;
    int64_t now_ms;
    int64_t missing;               /* output: rows no longer in sending */
    int64_t early_applied;         /* output: kept provider statuses applied (status.c) */
};

/* bp_store_write_fn (arg: struct bp_store_results): applies every result
 * (sending -> to) and the contact changes they call for (with a
 * consent_event, source 'carrier' or 'email'), then the provider statuses
 * that came for a recorded sid before it was recorded (bp/store_status.h). */
BP_WUR int bp_store_record_results(struct bp_store *s, void *arg);

/* Counts for /metrics: calls fn once per (channel, state) with rows.  Any
 * connection (the loop's read-only store). */
BP_WUR int bp_store_delivery_counts(struct bp_store *s,
                                    void (*fn)(void *arg, const char *channel,
                                               const char *state, int64_t n),
                                    void *arg);

#endif
