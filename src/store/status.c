/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Applying provider delivery statuses (see include/bp/store_status.h for
 * the ordering rule).  Runs on the store writer thread.  The state change
 * itself goes through the outbox's single setter,
 * bp_store_delivery_set_state() (src/store/outbox.c); this file decides
 * only whether a status moves the delivery forward.
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

int bp_store_delivery_status(struct bp_store *s, void *arg)
{
    struct bp_store_status_update *u = arg;
    const char *next = bp_store_status_state(u->status);
    sqlite3_stmt *st = bp__store_stmt(s, SQL_FIND);
    int64_t id = 0, contact = 0;
    int rc;

    u->found = u->applied = false;
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
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
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
