/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Conversations: every student has exactly one (UNIQUE student_id), created
 * on first use with a random reply token (the +token of e-mail reply
 * addresses).  Shared by the inbound paths (SMS and e-mail); the roster
 * import and the outbox create them set-based in their own statements.
 */
#include "store_int.h"

static const char SQL_FIND_CONVO[] =
    "SELECT id FROM conversation WHERE student_id = ?1";
static const char SQL_NEW_CONVO[] =
    "INSERT INTO conversation (student_id, reply_token, created_at)"
    " VALUES (?1, lower(hex(randomblob(12))), ?2)";

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
