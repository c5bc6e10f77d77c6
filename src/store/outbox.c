/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The delivery state machine and the outbox's claim/result statements.
 *
 * bp_store_delivery_set_state() is the ONLY code that changes
 * delivery.state (the inbound code inserts rows in `queued`, the audience
 * code inserts `queued` or `held`; from then on every change comes here,
 * including provider status callbacks from src/store/status.c).
 *
 *                 +--------------- held <---------------+
 *                 v                 ^ (opted out,        |
 *   insert --> queued --claim--> sending --OK--> sent --DLR--> delivered
 *                 ^                 |   \                 \        |
 *                 |            TRANSIENT  PERMANENT        DLR    DLR
 *                 |                 v         \             v      v
 *                 +---due----- retry_wait      +-----> failed | undeliverable
 *                                   |  (deadline)          ^
 *                                   +----------------------+
 *
 *   from        to
 *   queued      sending, held, failed
 *   sending     sent, retry_wait, failed, undeliverable, delivered, held
 *   retry_wait  queued, failed
 *   sent        delivered, failed, undeliverable
 *   delivered   failed, undeliverable   (a carrier failure after success)
 *   held        queued, failed
 *   failed, undeliverable: terminal
 *
 * sending -> delivered/undeliverable happen when a status callback overtakes
 * our own record of the provider's answer; sending -> held when the sender
 * reports the contact unusable before the request left.  Every update is a
 * compare-and-set on the old state, so two writers can never both move a
 * row.  The claim marks rows `sending` and COMMITS before any request
 * leaves (the caller dispatches from the write completion).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/log.h"
#include "bp/store_outbox.h"
#include "store_int.h"

static const char *const state_names[BP_DS__COUNT] = {
    "queued", "sending", "sent", "delivered", "retry_wait", "failed",
    "undeliverable", "held",
};

#define B(s) (1u << BP_DS_##s)
static const unsigned legal[BP_DS__COUNT] = {
    [BP_DS_QUEUED] = B(SENDING) | B(HELD) | B(FAILED),
    [BP_DS_SENDING] = B(SENT) | B(RETRY_WAIT) | B(FAILED) | B(UNDELIVERABLE) |
                      B(DELIVERED) | B(HELD),
    [BP_DS_RETRY_WAIT] = B(QUEUED) | B(FAILED),
    [BP_DS_SENT] = B(DELIVERED) | B(FAILED) | B(UNDELIVERABLE),
    [BP_DS_DELIVERED] = B(FAILED) | B(UNDELIVERABLE),
    [BP_DS_HELD] = B(QUEUED) | B(FAILED),
    [BP_DS_FAILED] = 0,
    [BP_DS_UNDELIVERABLE] = 0,
};
#undef B

const char *bp_dstate_name(enum bp_dstate s)
{
    return (unsigned)s < BP_DS__COUNT ? state_names[s] : "?";
}

int bp_dstate_parse(const char *word, enum bp_dstate *out)
{
    for (int i = 0; i < BP_DS__COUNT; i++) {
        if (bp_str_eq(word, state_names[i])) {
            *out = (enum bp_dstate)i;
            return 0;
        }
    }
    return BP_EINVAL_INPUT;
}

bool bp_dstate_legal(enum bp_dstate from, enum bp_dstate to)
{
    if ((unsigned)from >= BP_DS__COUNT || (unsigned)to >= BP_DS__COUNT)
        return false;
    return (legal[from] & (1u << to)) != 0;
}

static const char SQL_SET_STATE[] =
    "UPDATE delivery SET state = ?3,"
    "  held_reason = CASE WHEN ?3 = 'held' THEN ?4 ELSE NULL END,"
    "  next_attempt_at = CASE WHEN ?5 THEN ?6 ELSE next_attempt_at END,"
    "  attempts = attempts + ?7,"
    "  provider = coalesce(?8, provider),"
    "  provider_msg_id = coalesce(?9, provider_msg_id),"
    "  email_message_id = coalesce(?10, email_message_id),"
    "  error_code = CASE WHEN ?11 IS NULL THEN error_code ELSE ?11 END,"
    "  error_class = CASE WHEN ?11 IS NULL THEN error_class ELSE ?12 END,"
    "  error_detail = CASE WHEN ?11 IS NULL THEN error_detail ELSE ?13 END,"
    "  updated_at = ?14"
    " WHERE id = ?1 AND state = ?2";

/* The hot changes name only the columns they change, so SQLite does not
 * rewrite the entries of the unique indexes on email_message_id (and, for
 * the claim, provider/provider_msg_id) nor re-check the error columns: a
 * claim (queued -> sending), an e-mail's claim (which also stores the
 * minted Message-ID) and a plain result (sending -> sent). */
static const char SQL_SET_STATE_CLAIM[] =
    "UPDATE delivery SET state = ?3, held_reason = NULL, attempts = attempts + ?7,"
    "  updated_at = ?14"
    " WHERE id = ?1 AND state = ?2";
static const char SQL_SET_STATE_CLAIM_EMAIL[] =
    "UPDATE delivery SET state = ?3, held_reason = NULL, attempts = attempts + ?7,"
    "  email_message_id = ?10, updated_at = ?14"
    " WHERE id = ?1 AND state = ?2";
static const char SQL_SET_STATE_SENT[] =
    "UPDATE delivery SET state = ?3, held_reason = NULL, attempts = attempts + ?7,"
    "  provider = coalesce(?8, provider),"
    "  provider_msg_id = coalesce(?9, provider_msg_id),"
    "  updated_at = ?14"
    " WHERE id = ?1 AND state = ?2";

static const char *set_state_sql(const struct bp_dstate_change *c)
{
    if (c->to == BP_DS_HELD || c->set_next || c->error_code != NULL ||
        c->error_class != NULL || c->error_detail != NULL)
        return SQL_SET_STATE;
    if (c->email_message_id != NULL)
        return c->provider == NULL && c->provider_msg_id == NULL
                   ? SQL_SET_STATE_CLAIM_EMAIL : SQL_SET_STATE;
    if (c->provider == NULL && c->provider_msg_id == NULL)
        return SQL_SET_STATE_CLAIM;
    return SQL_SET_STATE_SENT;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *v)
{
    if (v != NULL)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

int bp_store_delivery_set_state(struct bp_store *s,
                                const struct bp_dstate_change *c)
{
    sqlite3_stmt *st;
    int rc;

    assert(bp_dstate_legal(c->from, c->to));
    assert(c->to != BP_DS_HELD || c->held_reason != NULL);
    if (!bp_dstate_legal(c->from, c->to) ||
        (c->to == BP_DS_HELD && c->held_reason == NULL))
        return BP_EINVAL_INPUT;
    if ((st = bp__store_stmt(s, set_state_sql(c))) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, c->delivery_id);
    sqlite3_bind_text(st, 2, state_names[c->from], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, state_names[c->to], -1, SQLITE_STATIC);
    bind_opt(st, 4, c->held_reason);
    sqlite3_bind_int(st, 5, c->set_next);
    if (c->next_attempt_at != 0)
        sqlite3_bind_int64(st, 6, c->next_attempt_at);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_int(st, 7, c->bump_attempts ? 1 : 0);
    bind_opt(st, 8, c->provider);
    bind_opt(st, 9, c->provider_msg_id);
    bind_opt(st, 10, c->email_message_id);
    bind_opt(st, 11, c->error_code);
    bind_opt(st, 12, c->error_class);
    bind_opt(st, 13, c->error_detail);
    sqlite3_bind_int64(st, 14, c->now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return bp__store_err(rc);
    if (sqlite3_changes(s->db) == 0)
        return BP_ENOTFOUND;
    bp_log_debug("outbox", "transition", "delivery=%lld from=%s to=%s%s%s",
                 (long long)c->delivery_id, state_names[c->from],
                 state_names[c->to], c->held_reason ? " reason=" : "",
                 c->held_reason ? c->held_reason : "");
    return 0;
}

/* ---- claim --------------------------------------------------------------- */

static const char SQL_DUE_RETRY[] =
    "SELECT id FROM delivery WHERE state = 'retry_wait' AND next_attempt_at <= ?1"
    " ORDER BY next_attempt_at LIMIT ?2";
/* Queued rows whose contact is no longer active (never for system
 * messages: the STOP confirmation goes to a contact that just opted out). */
static const char SQL_DUE_UNUSABLE[] =
    "SELECT d.id, c.status FROM delivery d"
    "  JOIN contact c ON c.id = d.contact_id AND c.status <> 'active'"
    "  JOIN message m ON m.id = d.message_id AND m.kind <> 'system'"
    " WHERE d.state = 'queued' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?1)"
    " LIMIT 1000";
/* Due queued rows of one channel in due order (next_attempt_at, NULL
 * first, then id), walking delivery_due (state, next_attempt_at, rowid).
 * An announcement's rows share one next_attempt_at per time zone, and the
 * claims of a channel would step again, every time, over all the queued
 * rows of the other (slower) channel before them: thousands of table
 * lookups per claim.  So a claim first continues the caller's cursor (the
 * last row it claimed: same next_attempt_at, greater id: an index seek),
 * and only then, if there is room left, reads from the start.  The
 * e-mail-only lookups (display name, conversation reply token) are
 * subqueries that SMS rows skip; the display name is the first guardian in
 * the order of guardian_contact's (contact_id, guardian_id) index, so
 * SQLite reads one entry instead of sorting each contact's guardians. */
#define SQL_DUE_SELECT \
    "SELECT d.id, d.attempts, d.created_at, m.kind = 'system', c.address, d.body," \
    "       d.idempotency_key," \
    "       CASE WHEN d.channel = 'email' THEN (SELECT g.given_name || ' ' || g.family_name" \
    "         FROM guardian_contact gc JOIN guardian g ON g.id = gc.guardian_id" \
    "        WHERE gc.contact_id = d.contact_id ORDER BY gc.guardian_id LIMIT 1) END," \
    "       m.subject," \
    "       CASE WHEN d.channel = 'email' THEN (SELECT cv.reply_token FROM conversation cv" \
    "        WHERE cv.id = m.conversation_id) END," \
    "       m.in_reply_to, m.references_hdr, d.next_attempt_at" \
    "  FROM delivery d" \
    "  JOIN contact c ON c.id = d.contact_id" \
    "  JOIN message m ON m.id = d.message_id" \
    " WHERE d.state = 'queued' AND d.channel = ?1" \
    "   AND (c.status = 'active' OR m.kind = 'system')"
static const char SQL_DUE_FROM_START[] =
    SQL_DUE_SELECT " AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?2)"
    " ORDER BY d.next_attempt_at, d.id LIMIT ?3";
static const char SQL_DUE_AT_CURSOR[] =
    SQL_DUE_SELECT " AND d.next_attempt_at IS ?4 AND d.id > ?5"
    " AND (?4 IS NULL OR ?4 <= ?2)"
    " ORDER BY d.id LIMIT ?3";
/* One equality per state, not state IN (...): delivery_due is a partial
 * index (migration 0008), which SQLite uses only when each term's state
 * implies its WHERE. */
static const char SQL_NEXT_DUE[] =
    "SELECT min(t) FROM ("
    "  SELECT min(next_attempt_at) AS t FROM delivery"
    "   WHERE state = 'queued' AND next_attempt_at > ?1"
    "  UNION ALL"
    "  SELECT min(next_attempt_at) FROM delivery"
    "   WHERE state = 'retry_wait' AND next_attempt_at > ?1)";

static const char *const channel_names[2] = {"sms", "email"};

static char *dup_col(sqlite3_stmt *st, int i, char **p)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    size_t n = v ? strlen(v) + 1 : 0;
    char *out;

    if (v == NULL)
        return NULL;
    out = *p;
    memcpy(out, v, n);
    *p += n;
    return out;
}

static size_t cols_len(sqlite3_stmt *st)
{
    size_t n = 0;
    for (int i = 4; i < 12; i++)
        n += (size_t)sqlite3_column_bytes(st, i) + 1;
    return n + 96;     /* + a minted Message-ID */
}

static int claim_row(struct bp_store *s, struct bp_store_claim *c,
                     sqlite3_stmt *st, int ch)
{
    struct bp_store_claimed *r = &c->rows[c->nrows];
    char *p;

    memset(r, 0, sizeof *r);
    r->delivery_id = sqlite3_column_int64(st, 0);
    r->channel = ch;
    r->attempts = sqlite3_column_int(st, 1) + 1;
    r->created_at = sqlite3_column_int64(st, 2);
    r->system = sqlite3_column_int(st, 3) != 0;
    r->_mem = p = bp_xmalloc(cols_len(st));
    r->to = dup_col(st, 4, &p);
    r->body = dup_col(st, 5, &p);
    r->idempotency_key = dup_col(st, 6, &p);
    r->to_name = dup_col(st, 7, &p);
    r->subject = dup_col(st, 8, &p);
    r->reply_token = dup_col(st, 9, &p);
    r->in_reply_to = dup_col(st, 10, &p);
    r->references = dup_col(st, 11, &p);
    if (ch == 1) {
        const char *dom = c->email_domain && *c->email_domain
                              ? c->email_domain : "backpack.invalid";
        int n = snprintf(p, 96, "%.40s@%.50s", r->idempotency_key, dom);
        r->email_message_id = p;
        (void)n;
    }
    c->nrows++;
    (void)s;
    return 0;
}

/* Runs one of the due SELECTs for channel ch, adding at most `room` rows
 * and moving the channel's cursor to the last one. */
static int claim_select(struct bp_store *s, struct bp_store_claim *c, int ch,
                        bool at_cursor, unsigned room)
{
    struct bp_store_claim_cursor *cur = &c->cursor[ch];
    sqlite3_stmt *st = bp__store_stmt(s, at_cursor ? SQL_DUE_AT_CURSOR : SQL_DUE_FROM_START);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, channel_names[ch], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c->now_ms);
    sqlite3_bind_int64(st, 3, room);
    if (at_cursor) {
        if (cur->at_null)
            sqlite3_bind_null(st, 4);
        else
            sqlite3_bind_int64(st, 4, cur->at);
        sqlite3_bind_int64(st, 5, cur->id);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        claim_row(s, c, st, ch);
        cur->id = sqlite3_column_int64(st, 0);
        cur->at_null = sqlite3_column_type(st, 12) == SQLITE_NULL;
        cur->at = sqlite3_column_int64(st, 12);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

/* Marks rows [from, c->nrows) sending, after their SELECT is reset (the
 * setter's statement must not run while the SELECT holds its cursor on
 * delivery, and the next SELECT must not see them queued). */
static int mark_sending(struct bp_store *s, struct bp_store_claim *c, size_t from)
{
    for (size_t i = from; i < c->nrows; i++) {
        struct bp_dstate_change ch = {
            .delivery_id = c->rows[i].delivery_id, .from = BP_DS_QUEUED,
            .to = BP_DS_SENDING, .bump_attempts = true,
            .email_message_id = c->rows[i].email_message_id,
            .now_ms = c->now_ms,
        };
        int rc = bp_store_delivery_set_state(s, &ch);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int claim_channel(struct bp_store *s, struct bp_store_claim *c, int ch)
{
    size_t first = c->nrows, mid;
    int rc;

    if (c->cursor[ch].id != 0 &&
        ((rc = claim_select(s, c, ch, true, c->max[ch])) < 0 ||
         (rc = mark_sending(s, c, first)) < 0))
        return rc;
    mid = c->nrows;
    if (mid - first < c->max[ch] &&
        ((rc = claim_select(s, c, ch, false, c->max[ch] - (unsigned)(mid - first))) < 0 ||
         (rc = mark_sending(s, c, mid)) < 0))
        return rc;
    /* A short batch read everything due: the next claim starts over. */
    if (c->nrows - first < c->max[ch])
        memset(&c->cursor[ch], 0, sizeof c->cursor[ch]);
    return 0;
}

/* Collects up to n ids (and a status word) from st, then resets it. */
static int collect_ids(sqlite3_stmt *st, int64_t *ids, char (*words)[16],
                       size_t n, size_t *got)
{
    int rc;

    *got = 0;
    while (*got < n && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ids[*got] = sqlite3_column_int64(st, 0);
        if (words != NULL)
            snprintf(words[*got], 16, "%s", (const char *)sqlite3_column_text(st, 1));
        (*got)++;
    }
    if (*got < n && rc != SQLITE_DONE) {
        sqlite3_reset(st);
        return bp__store_err(rc);
    }
    sqlite3_reset(st);
    return 0;
}

static int requeue_and_hold(struct bp_store *s, struct bp_store_claim *c)
{
    enum { N = 1000 };
    int64_t *ids = bp_xmalloc(sizeof *ids * N);
    char (*words)[16] = bp_xmalloc(sizeof *words * N);
    sqlite3_stmt *st;
    size_t got = 0;
    int rc = BP_ESTORE;

    if ((st = bp__store_stmt(s, SQL_DUE_RETRY)) == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, c->now_ms);
    sqlite3_bind_int64(st, 2, N);
    if ((rc = collect_ids(st, ids, NULL, N, &got)) < 0)
        goto out;
    for (size_t i = 0; i < got; i++) {
        struct bp_dstate_change ch = {.delivery_id = ids[i],
            .from = BP_DS_RETRY_WAIT, .to = BP_DS_QUEUED, .now_ms = c->now_ms};
        if ((rc = bp_store_delivery_set_state(s, &ch)) < 0)
            goto out;
    }
    rc = 0;
    if (!c->hold_pass)
        goto out;
    rc = BP_ESTORE;
    if ((st = bp__store_stmt(s, SQL_DUE_UNUSABLE)) == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, c->now_ms);
    if ((rc = collect_ids(st, ids, words, N, &got)) < 0)
        goto out;
    for (size_t i = 0; i < got; i++) {
        /* held_reason has one word for "contact unusable": opted_out is
         * the common case; invalid/bounced keep their status in contact. */
        struct bp_dstate_change ch = {.delivery_id = ids[i],
            .from = BP_DS_QUEUED, .to = BP_DS_HELD, .held_reason = "opted_out",
            .error_code = words[i], .error_class = "permanent",
            .now_ms = c->now_ms};
        if ((rc = bp_store_delivery_set_state(s, &ch)) < 0)
            goto out;
        c->held_opted_out++;
    }
    rc = 0;
out:
    free(ids);
    free(words);
    return rc;
}

int bp_store_claim_due(struct bp_store *s, void *arg)
{
    struct bp_store_claim *c = arg;
    sqlite3_stmt *st;
    int rc;

    c->rows = NULL;
    c->nrows = 0;
    c->held_opted_out = 0;
    c->next_due_ms = 0;
    if ((rc = requeue_and_hold(s, c)) < 0)
        return rc;
    c->rows = bp_xcalloc((size_t)c->max[0] + c->max[1] + 1, sizeof *c->rows);
    for (int ch = 0; ch < 2; ch++) {
        if (!c->channel_on[ch] || c->max[ch] == 0)
            continue;
        if ((rc = claim_channel(s, c, ch)) < 0)
            return rc;
    }
    if ((st = bp__store_stmt(s, SQL_NEXT_DUE)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, c->now_ms);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        c->next_due_ms = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : bp__store_err(rc);
}

void bp_store_claim_free(struct bp_store_claim *c)
{
    for (size_t i = 0; i < c->nrows; i++)
        free(c->rows[i]._mem);
    free(c->rows);
    c->rows = NULL;
    c->nrows = 0;
}

/* ---- crash recovery ------------------------------------------------------ */

static const char SQL_SENDING[] =
    "SELECT id FROM delivery WHERE state = 'sending' LIMIT 1000";

/* The queries above that must walk delivery_due, a partial index since
 * migration 0008 (tests/unit/store/test_schema.c checks their plans). */
const char *const bp__store_due_queries[] = {
    SQL_DUE_RETRY, SQL_DUE_UNUSABLE, SQL_DUE_FROM_START, SQL_DUE_AT_CURSOR,
    SQL_NEXT_DUE, SQL_SENDING, NULL,
};

int bp_store_recover_sending(struct bp_store *s, void *arg)
{
    struct bp_store_recover *r = arg;
    int64_t ids[256];
    size_t got;
    int rc;

    r->recovered = 0;
    do {
        sqlite3_stmt *st = bp__store_stmt(s, SQL_SENDING);
        if (st == NULL)
            return BP_ESTORE;
        if ((rc = collect_ids(st, ids, NULL, BP_ARRAY_LEN(ids), &got)) < 0)
            return rc;
        for (size_t i = 0; i < got; i++) {
            struct bp_dstate_change ch = {.delivery_id = ids[i],
                .from = BP_DS_SENDING, .to = BP_DS_RETRY_WAIT,
                .set_next = true, .next_attempt_at = r->now_ms,
                .error_code = "restart", .error_class = "transient",
                .error_detail = "in flight when the daemon stopped",
                .now_ms = r->now_ms};
            if ((rc = bp_store_delivery_set_state(s, &ch)) < 0)
                return rc;
            r->recovered++;
        }
    } while (got == BP_ARRAY_LEN(ids));
    return 0;
}

/* ---- results ------------------------------------------------------------- */

static const char SQL_CONTACT_OF[] =
    "SELECT contact_id FROM delivery WHERE id = ?1";
static const char SQL_CONTACT_SET[] =
    "UPDATE contact SET status = ?2, consent_source = ?3, consent_at = ?4,"
    "       updated_at = ?4 WHERE id = ?1 AND status <> ?2";
static const char SQL_CONSENT_ADD[] =
    "INSERT INTO consent_event (contact_id, kind, source, detail, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : bp__store_err(rc);
}

static int contact_change(struct bp_store *s, const struct bp_store_result *r,
                          int64_t now)
{
    const char *kind = strcmp(r->contact_status, "opted_out") == 0
                           ? "carrier_opt_out" : r->contact_status;
    const char *source = strcmp(r->contact_status, "bounced") == 0 ? "email"
                                                                   : "carrier";
    sqlite3_stmt *st = bp__store_stmt(s, SQL_CONTACT_OF);
    int64_t contact = 0;
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, r->delivery_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        contact = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (contact == 0)
        return 0;
    if ((st = bp__store_stmt(s, SQL_CONTACT_SET)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, contact);
    sqlite3_bind_text(st, 2, r->contact_status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    if ((rc = step_reset(st)) < 0)
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return 0;
    if ((st = bp__store_stmt(s, SQL_CONSENT_ADD)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, contact);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->error_code, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, now);
    return step_reset(st);
}

int bp_store_record_results(struct bp_store *s, void *arg)
{
    struct bp_store_results *rs = arg;
    bool kept;
    int rc;

    rs->missing = rs->early_applied = 0;
    if ((rc = bp__store_status_kept_any(s, &kept)) < 0)
        return rc;
    for (size_t i = 0; i < rs->n; i++) {
        const struct bp_store_result *r = &rs->v[i];
        struct bp_dstate_change ch = {
            .delivery_id = r->delivery_id, .from = BP_DS_SENDING, .to = r->to,
            .set_next = r->to == BP_DS_RETRY_WAIT,
            .next_attempt_at = r->next_attempt_at, .now_ms = rs->now_ms,
        };
        if (r->to == BP_DS_SENT) {
            ch.provider = r->provider;
            ch.provider_msg_id = r->provider_msg_id[0] ? r->provider_msg_id : NULL;
            if (ch.provider_msg_id == NULL)
                ch.provider = NULL;
        } else {
            ch.error_code = r->error_code[0] ? r->error_code : "unknown";
            ch.error_class = r->error_class;
            ch.error_detail = r->error_detail;
        }
        rc = bp_store_delivery_set_state(s, &ch);
        if (rc == BP_ENOTFOUND) {
            rs->missing++;        /* a status callback got there first */
            continue;
        }
        if (rc < 0)
            return rc;
        if (kept && ch.provider_msg_id != NULL) {
            int applied;
            if ((rc = bp__store_status_replay(s, ch.provider, ch.provider_msg_id, rs->now_ms,
                                              &applied)) < 0)
                return rc;
            rs->early_applied += applied;
        }
        if (r->contact_status != NULL &&
            (rc = contact_change(s, r, rs->now_ms)) < 0)
            return rc;
    }
    return 0;
}

/* ---- metrics ------------------------------------------------------------- */

static const char SQL_COUNTS[] =
    "SELECT channel, state, count(*) FROM delivery GROUP BY channel, state";

int bp_store_delivery_counts(struct bp_store *s,
                             void (*fn)(void *arg, const char *channel,
                                        const char *state, int64_t n),
                             void *arg)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_COUNTS);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(st, 0),
           (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}
