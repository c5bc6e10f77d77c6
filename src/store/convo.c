/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Conversations: every student has exactly one (UNIQUE student_id), created
 * on first use with a random reply token (the +token of e-mail reply
 * addresses).  Shared by the inbound paths (SMS and e-mail); the roster
 * import and the outbox create them set-based in their own statements.
 * Also where an inbound message is filed once stored: a message with a
 * conversation is filed by its conversation_id already (a conversation's
 * latest message is a seek in message_conversation, migration 0006); one
 * without goes to triage (inbound_unmatched).
 */
#include "store_int.h"

static const char SQL_FIND_CONVO[] =
    "SELECT id FROM conversation WHERE student_id = ?1";
static const char SQL_NEW_CONVO[] =
    "INSERT INTO conversation (student_id, reply_token, created_at)"
    " VALUES (?1, lower(hex(randomblob(12))), ?2)";
static const char SQL_TRIAGE[] =
    "INSERT INTO inbound_unmatched (message_id, reason, candidates, created_at)"
    " VALUES (?1, ?2, ?3, ?4)";

int bp__store_conversation_of(struct bp_store *s, int64_t student, int64_t now_ms,
                              int64_t *out)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_FIND_CONVO);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, student);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return bp__store_err(rc);
    if ((st = bp__store_stmt(s, SQL_NEW_CONVO)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, student);
    sqlite3_bind_int64(st, 2, now_ms);
    return bp__store_run(s, st, out);
}

int bp__store_file_inbound(struct bp_store *s, int64_t message_id,
                           int64_t conversation_id, const char *reason,
                           const char *candidates, int64_t now_ms)
{
    sqlite3_stmt *st;

    if (conversation_id > 0)
        return 0;
    if ((st = bp__store_stmt(s, SQL_TRIAGE)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, message_id);
    sqlite3_bind_text(st, 2, reason, -1, SQLITE_TRANSIENT);
    bp__store_bind_text_or_null(st, 3,
                                candidates != NULL && candidates[0] ? candidates : NULL);
    sqlite3_bind_int64(st, 4, now_ms);
    return bp__store_run(s, st, NULL);
}
