/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Applying provider delivery statuses (see include/bp/store_status.h for
 * the ordering rule).  Runs on the store writer thread.  The state change
 * itself goes through the outbox's single setter,
 * bp_store_delivery_set_state() (src/store/outbox.c); this file decides
 * only whether a status moves the delivery forward.
 *
 * A status for a message sid no delivery has yet is kept in
 * delivery_status_early (migration 0007): the provider may call back before
 * the writer has recorded the sid it answered the send with.  Recording the
 * sid (bp_store_record_results) replays the kept statuses in the order they
 * came, through the same rules, in the same transaction.
 */
#include <stdio.h>
#include <string.h>

#include "bp/base.h"
#include "bp/store_outbox.h"
#include "bp/store_status.h"
#include "store_int.h"

static const char SQL_FIND[] =
    "SELECT id, state, contact_id FROM delivery"
    " WHERE provider = ?1 AND provider_msg_id = ?2";
static const char SQL_CONTACT[] =
    "UPDATE contact SET status = ?2, consent_source = 'carrier', consent_at = ?3,"
    "       updated_at = ?3 WHERE id = ?1 AND status <> ?2";
static const char SQL_CONSENT[] =
    "INSERT INTO consent_event (contact_id, kind, source, detail, created_at)"
    " VALUES (?1, ?2, 'carrier', ?3, ?4)";
static const char SQL_EARLY_PRUNE[] =
    "DELETE FROM delivery_status_early WHERE received_at < ?1";
static const char SQL_EARLY_ADD[] =
    "INSERT INTO delivery_status_early (provider, provider_msg_id, status, error_code,"
    " received_at) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_EARLY_GET[] =
    "SELECT status, error_code FROM delivery_status_early"
    " WHERE provider = ?1 AND provider_msg_id = ?2 ORDER BY id";
static const char SQL_EARLY_ANY[] =
    "SELECT EXISTS (SELECT 1 FROM delivery_status_early)";
static const char SQL_EARLY_DEL[] =
    "DELETE FROM delivery_status_early WHERE provider = ?1 AND provider_msg_id = ?2";

/* Kept statuses of sids that never turn up (another application's messages,
 * a send whose result was lost) go after a week. */
#define EARLY_KEEP_MS (7LL * 86400 * 1000)
/* At most this many kept statuses replayed per sid (a message has a few). */
#define EARLY_MAX 8

const char *bp_store_status_state(const char *st)
{
    static const char *const map[][2] = {
        {"queued", "queued"},       {"sending", "sending"},
        {"sent", "sent"},           {"delivered", "delivered"},
        {"undelivered", "undeliverable"}, {"failed", "failed"},
    };
    for (size_t i = 0; i < BP_ARRAY_LEN(map); i++)
        if (bp_str_eq(st, map[i][0]))
            return map[i][1];
    return NULL;
}

static int rank(const char *state)
{
    static const char *const order[] = {"queued", "retry_wait", "sending",
                                        "sent", "delivered"};
    if (bp_str_eq(state, "failed") || bp_str_eq(state, "undeliverable"))
        return 10;
    for (size_t i = 0; i < BP_ARRAY_LEN(order); i++)
        if (bp_str_eq(state, order[i]))
            return (int)i;
    return -1;    /* held: a callback for a held delivery changes nothing */
}

static int contact_from_error(struct bp_store *s, struct bp_store_status_update *u,
                              int64_t contact)
{
    const char *status = NULL, *kind = NULL;
    sqlite3_stmt *st;
    int rc;

    if (u->error_code == NULL)
        return 0;
    if (strcmp(u->error_code, "21610") == 0) {
        status = "opted_out";
        kind = "carrier_opt_out";
    } else if (strcmp(u->error_code, "30003") == 0 ||
               strcmp(u->error_code, "30005") == 0 ||
               strcmp(u->error_code, "30006") == 0) {
        status = "invalid";
        kind = "invalid";
    } else {
        return 0;
    }
    if ((st = bp__store_stmt(s, SQL_CONTACT)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, contact);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, u->now_ms);
    if ((rc = bp__store_run(s, st, NULL)) < 0)
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return 0;             /* already in that state: one event is enough */
    u->contact_change = status;
    if ((st = bp__store_stmt(s, SQL_CONSENT)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, contact);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, u->error_code, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, u->now_ms);
    return bp__store_run(s, st, NULL);
}

static int keep_early(struct bp_store *s, struct bp_store_status_update *u)
{
    sqlite3_stmt *st;
    int rc;

    if ((st = bp__store_stmt(s, SQL_EARLY_PRUNE)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, u->now_ms - EARLY_KEEP_MS);
    if ((rc = bp__store_run(s, st, NULL)) < 0)
        return rc;
    if ((st = bp__store_stmt(s, SQL_EARLY_ADD)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, u->provider, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, u->provider_msg_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, u->status, -1, SQLITE_TRANSIENT);
    bp__store_bind_text_or_null(st, 4, u->error_code);
    sqlite3_bind_int64(st, 5, u->now_ms);
    if ((rc = bp__store_run(s, st, NULL)) < 0)
        return rc;
    u->kept = true;
    return 0;
}

int bp__store_status_kept_any(struct bp_store *s, bool *any)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_EARLY_ANY);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    rc = sqlite3_step(st);
    *any = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : bp__store_err(rc);
}

int bp__store_status_replay(struct bp_store *s, const char *provider, const char *sid,
                            int64_t now_ms, int *applied)
{
    char status[EARLY_MAX][24], error[EARLY_MAX][24];
    bool has_error[EARLY_MAX];
    int n = 0, rc;
    sqlite3_stmt *st = bp__store_stmt(s, SQL_EARLY_GET);

    *applied = 0;
    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, provider, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, sid, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < EARLY_MAX) {
        snprintf(status[n], sizeof status[n], "%s", (const char *)sqlite3_column_text(st, 0));
        has_error[n] = sqlite3_column_type(st, 1) != SQLITE_NULL;
        snprintf(error[n], sizeof error[n], "%s",
                 has_error[n] ? (const char *)sqlite3_column_text(st, 1) : "");
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return bp__store_err(rc);
    if (n == 0)
        return 0;
    for (int i = 0; i < n; i++) {
        struct bp_store_status_update u = {
            .provider = provider, .provider_msg_id = sid, .status = status[i],
            .error_code = has_error[i] ? error[i] : NULL, .now_ms = now_ms, .replay = true,
        };
        if ((rc = bp_store_delivery_status(s, &u)) < 0)
            return rc;
        *applied += u.applied;
    }
    if ((st = bp__store_stmt(s, SQL_EARLY_DEL)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, provider, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, sid, -1, SQLITE_TRANSIENT);
    return bp__store_run(s, st, NULL);
}

int bp_store_delivery_status(struct bp_store *s, void *arg)
{
    struct bp_store_status_update *u = arg;
    const char *next = bp_store_status_state(u->status);
    sqlite3_stmt *st = bp__store_stmt(s, SQL_FIND);
    int64_t id = 0, contact = 0;
    int rc;

    u->found = u->applied = u->kept = false;
    u->old_state[0] = u->new_state[0] = '\0';
    u->contact_change = NULL;
    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, u->provider, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, u->provider_msg_id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        u->found = true;
        id = sqlite3_column_int64(st, 0);
        snprintf(u->old_state, sizeof u->old_state, "%s",
                 (const char *)sqlite3_column_text(st, 1));
        contact = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE)
            return bp__store_err(rc);
        return u->replay ? 0 : keep_early(s, u);
    }
    snprintf(u->new_state, sizeof u->new_state, "%s", u->old_state);
    if (next != NULL && rank(u->old_state) >= 0 && rank(next) > rank(u->old_state)) {
        struct bp_dstate_change ch = {.delivery_id = id, .now_ms = u->now_ms};
        if (bp_dstate_parse(u->old_state, &ch.from) < 0 ||
            bp_dstate_parse(next, &ch.to) < 0)
            return BP_ESTORE;
        if (u->error_code != NULL && rank(next) == 10) {
            ch.error_code = u->error_code;
            ch.error_class = "permanent";
        }
        /* retry_wait -> sent... is no edge: a callback for a row we are
         * about to retry says the provider has it; leave the row alone. */
        if (bp_dstate_legal(ch.from, ch.to)) {
            if ((rc = bp_store_delivery_set_state(s, &ch)) < 0)
                return rc;
            u->applied = true;
            snprintf(u->new_state, sizeof u->new_state, "%s", next);
        }
    }
    return contact_from_error(s, u, contact);
}
