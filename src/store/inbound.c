/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Inbound SMS: idempotent insert, threading to a student's conversation
 * (DESIGN.md §4 rules 2-4; rule 1 is e-mail only), carrier keywords and the
 * one reply they call for.  Runs on the store writer thread inside the
 * request's savepoint, so either everything below happens or nothing does.
 * See include/bp/store_inbound.h for the contract.
 */
#include <stdio.h>
#include <string.h>

#include "bp/base.h"
#include "bp/store_inbound.h"
#include "store_int.h"

#define MAX_CANDIDATES 32

static const char SQL_FIND_DUP[] =
    "SELECT id FROM message WHERE provider = ?1 AND provider_msg_id = ?2";
/* The contact and its first guardian (the locale of a reply when no
 * student is found) in one statement. */
static const char SQL_FIND_CONTACT[] =
    "SELECT c.id, c.status, g.id, g.locale FROM contact c"
    "  LEFT JOIN guardian_contact gc ON gc.contact_id = c.id"
    "  LEFT JOIN guardian g ON g.id = gc.guardian_id"
    " WHERE c.kind = 'sms' AND c.address = ?1"
    " ORDER BY gc.guardian_id LIMIT 1";
static const char SQL_CANDIDATES[] =
    "SELECT sg.student_id, sg.guardian_id, g.locale"
    "  FROM guardian_contact gc"
    "  JOIN student_guardian sg ON sg.guardian_id = gc.guardian_id"
    "  JOIN student st ON st.id = sg.student_id AND st.active = 1"
    "  JOIN guardian g ON g.id = sg.guardian_id"
    " WHERE gc.contact_id = ?1"
    " ORDER BY gc.guardian_id";   /* index order (students of a guardian come
                                   * in student_id order): no temp b-tree */
static const char SQL_RECENT_OUTBOUND[] =
    "SELECT c.student_id FROM delivery d"
    "  JOIN message m ON m.id = d.message_id AND m.direction = 'out'"
    "  JOIN conversation c ON c.id = m.conversation_id"
    " WHERE d.contact_id = ?1 AND d.created_at >= ?2"
    " ORDER BY d.created_at DESC, d.id DESC LIMIT 1";
static const char SQL_NEW_CONTACT[] =
    "INSERT INTO contact (kind, address, status, consent_source, consent_at,"
    "                     created_at, updated_at)"
    " VALUES ('sms', ?1, ?2, 'sms_keyword', ?3, ?3, ?3)";
static const char SQL_SET_CONTACT_STATUS[] =
    "UPDATE contact SET status = ?2, consent_source = 'sms_keyword',"
    "       consent_at = ?3, updated_at = ?3 WHERE id = ?1";
/* A retry of a stored MessageSid inserts nothing (sqlite3_changes() == 0):
 * the unique index is searched once, by the insert itself. */
static const char SQL_INSERT_IN[] =
    "INSERT INTO message (conversation_id, direction, channel, kind,"
    "  possible_revocation, guardian_id, contact_id, from_address, to_address,"
    "  body, provider, provider_msg_id, media, match_rule, created_at)"
    " VALUES (?1, 'in', 'sms', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    " ON CONFLICT (provider, provider_msg_id) WHERE provider_msg_id IS NOT NULL"
    " DO NOTHING";
static const char SQL_CONSENT[] =
    "INSERT INTO consent_event (contact_id, kind, source, message_id, created_at)"
    " VALUES (?1, ?2, 'sms_keyword', ?3, ?4)";
static const char SQL_INSERT_REPLY[] =
    "INSERT INTO message (conversation_id, direction, channel, kind,"
    "  guardian_id, contact_id, from_address, to_address, body, created_at)"
    " VALUES (?1, 'out', 'sms', 'system', ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_INSERT_DELIVERY[] =
    "INSERT INTO delivery (message_id, contact_id, channel, locale, body, state,"
    "  idempotency_key, created_at, updated_at)"
    " VALUES (?1, ?2, 'sms', ?3, ?4, 'queued', lower(hex(randomblob(16))), ?5, ?5)";

struct thread_state {
    int64_t contact_id;
    char contact_status[16];
    int64_t guardian_id;
    char locale[36];
    int64_t student_id;
    const char *rule;
    const char *triage_reason;
    char candidates[MAX_CANDIDATES * 21 + 3];
};
static bool is_e164(const char *p)
{
    size_t n = 0;
    if (p == NULL || p[0] != '+' || p[1] < '1' || p[1] > '9')
        return false;
    for (p++; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return false;
    return n >= 7 && n <= 15;
}

static int find_contact(struct bp_store *s, const char *from,
                        struct thread_state *t)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_FIND_CONTACT);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        t->contact_id = sqlite3_column_int64(st, 0);
        snprintf(t->contact_status, sizeof t->contact_status, "%s",
                 (const char *)sqlite3_column_text(st, 1));
        t->guardian_id = sqlite3_column_int64(st, 2);     /* 0 when NULL */
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            snprintf(t->locale, sizeof t->locale, "%s",
                     (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

/* Rule 3: the student of the latest outbound delivery to this contact. */
static int64_t recent_student(struct bp_store *s, int64_t contact_id,
                              int64_t since, const int64_t *cands, int n)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_RECENT_OUTBOUND);
    int64_t student = 0;

    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, contact_id);
    sqlite3_bind_int64(st, 2, since);
    if (sqlite3_step(st) == SQLITE_ROW)
        student = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    for (int i = 0; i < n; i++)
        if (cands[i] == student)
            return student;
    return 0;
}

static int thread_message(struct bp_store *s, struct bp_store_inbound *in,
                          struct thread_state *t)
{
    sqlite3_stmt *st;
    int64_t cands[MAX_CANDIDATES], guards[MAX_CANDIDATES];
    int n = 0, rc;
    size_t off = 0;

    if (t->contact_id == 0) {
        t->rule = "triage";
        t->triage_reason = "unknown_sender";
        return 0;
    }
    if ((st = bp__store_stmt(s, SQL_CANDIDATES)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, t->contact_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t sid = sqlite3_column_int64(st, 0);
        int at = n;
        if (n == MAX_CANDIDATES)
            break;
        for (int i = 0; i < n && at == n; i++)
            if (cands[i] == sid)
                at = i;                  /* two guardians of one student */
        if (at < n)
            continue;
        /* keep cands sorted by student id (insertion: n <= 32) */
        while (at > 0 && cands[at - 1] > sid) {
            cands[at] = cands[at - 1];
            guards[at] = guards[at - 1];
            at--;
        }
        cands[at] = sid;
        guards[at] = sqlite3_column_int64(st, 1);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return bp__store_err(rc);
    if (n == 1) {
        t->student_id = cands[0];
        t->guardian_id = guards[0];
        t->rule = "single_student";
        return 0;
    }
    if (n > 1) {
        int64_t sid = recent_student(s, t->contact_id,
                                     in->now_ms - in->recent_window_ms, cands, n);
        if (sid < 0)
            return BP_ESTORE;
        for (int i = 0; sid > 0 && i < n; i++)
            if (cands[i] == sid) {
                t->student_id = sid;
                t->guardian_id = guards[i];
                t->rule = "recent_outbound";
                return 0;
            }
    }
    t->rule = "triage";
    t->triage_reason = n == 0 ? "no_student" : "ambiguous";
    t->candidates[off++] = '[';
    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(t->candidates + off, sizeof t->candidates - off,
                                "%s%lld", i ? "," : "", (long long)cands[i]);
    snprintf(t->candidates + off, sizeof t->candidates - off, "]");
    return 0;
}

static int consent(struct bp_store *s, int64_t contact, const char *kind,
                   int64_t msg, int64_t now)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_CONSENT);

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, contact);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, msg);
    sqlite3_bind_int64(st, 4, now);
    return bp__store_run(s, st, NULL);
}

static int set_status(struct bp_store *s, int64_t contact, const char *status,
                      int64_t now)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_SET_CONTACT_STATUS);

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, contact);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    return bp__store_run(s, st, NULL);
}

/* Creates the contact of an unknown sender who used a keyword, so that a
 * STOP holds forever (no later import can text the number) and a HELP reply
 * has somewhere to go. */
static int remember_sender(struct bp_store *s, struct bp_store_inbound *in,
                           struct thread_state *t)
{
    const char *status = in->keyword == BP_STORE_KW_STOP ? "opted_out" : "active";
    sqlite3_stmt *st;
    int rc;

    if (t->contact_id != 0 || !is_e164(in->from) ||
        (in->keyword != BP_STORE_KW_STOP && in->keyword != BP_STORE_KW_HELP))
        return 0;
    if ((st = bp__store_stmt(s, SQL_NEW_CONTACT)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, in->from, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, in->now_ms);
    rc = bp__store_run(s, st, &t->contact_id);
    /* status "" (not "opted_out"): the change below still counts as one */
    t->contact_status[0] = '\0';
    return rc;
}

/* Decides the consent change and reply; returns the message kind. */
static const char *keyword_effect(struct bp_store_inbound *in,
                                  const struct thread_state *t,
                                  const char **new_status, const char **event)
{
    bool opted_out = strcmp(t->contact_status, "opted_out") == 0;

    *new_status = NULL;
    *event = NULL;
    in->reply = BP_STORE_REPLY_NONE;
    switch (in->keyword) {
    case BP_STORE_KW_STOP:
        *event = "opt_out";
        if (t->contact_id != 0 && !opted_out) {
            *new_status = "opted_out";
            in->reply = BP_STORE_REPLY_STOP;
        }
        return "keyword_stop";
    case BP_STORE_KW_START_WEAK:
        if (!opted_out)
            return "normal";            /* an ordinary "yes" */
        /* fall through */
    case BP_STORE_KW_START:
        if (t->contact_id == 0)
            return "keyword_start";
        *event = "opt_in";
        if (opted_out)
            *new_status = "active";
        if (opted_out || in->keyword == BP_STORE_KW_START)
            in->reply = BP_STORE_REPLY_START;
        return "keyword_start";
    case BP_STORE_KW_HELP:
        *event = "help";
        if (t->contact_id != 0)
            in->reply = BP_STORE_REPLY_HELP;
        return "keyword_help";
    default:
        if (in->possible_revocation)
            *event = "possible_revocation";
        return "normal";
    }
}

static int queue_reply(struct bp_store *s, struct bp_store_inbound *in,
                       const struct thread_state *t)
{
    char text[1600];
    sqlite3_stmt *st;
    int64_t msg = 0;
    int rc;

    if (in->render == NULL ||
        in->render(in->render_ctx, in->reply, t->locale, text, sizeof text) < 0) {
        in->reply = BP_STORE_REPLY_NONE;
        return 0;
    }
    if ((st = bp__store_stmt(s, SQL_INSERT_REPLY)) == NULL)
        return BP_ESTORE;
    bp__store_bind_id_or_null(st, 1, in->conversation_id);
    bp__store_bind_id_or_null(st, 2, t->guardian_id);
    sqlite3_bind_int64(st, 3, t->contact_id);
    bp__store_bind_text_or_null(st, 4, in->to);
    sqlite3_bind_text(st, 5, in->from, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, in->now_ms);
    if ((rc = bp__store_run(s, st, &msg)) < 0)
        return rc;
    if ((st = bp__store_stmt(s, SQL_INSERT_DELIVERY)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, msg);
    sqlite3_bind_int64(st, 2, t->contact_id);
    bp__store_bind_text_or_null(st, 3, t->locale[0] ? t->locale : NULL);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, in->now_ms);
    return bp__store_run(s, st, &in->reply_delivery_id);
}

static int insert_message(struct bp_store *s, struct bp_store_inbound *in,
                          const struct thread_state *t, const char *kind)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_INSERT_IN);

    if (st == NULL)
        return BP_ESTORE;
    bp__store_bind_id_or_null(st, 1, in->conversation_id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, in->possible_revocation && strcmp(kind, "normal") == 0);
    bp__store_bind_id_or_null(st, 4, t->guardian_id);
    bp__store_bind_id_or_null(st, 5, t->contact_id);
    bp__store_bind_text_or_null(st, 6, in->from);
    bp__store_bind_text_or_null(st, 7, in->to);
    sqlite3_bind_text(st, 8, in->body ? in->body : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, in->provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, in->provider_msg_id, -1, SQLITE_STATIC);
    bp__store_bind_text_or_null(st, 11, in->media_json);
    sqlite3_bind_text(st, 12, t->rule, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 13, in->now_ms);
    return bp__store_run(s, st, &in->message_id);
}

static int file_away(struct bp_store *s, struct bp_store_inbound *in,
                     const struct thread_state *t)
{
    return bp__store_file_inbound(s, in->message_id, in->conversation_id, t->triage_reason,
                                  t->candidates, in->now_ms);
}

/* A retry: the id of the stored message; the caller undoes what this
 * attempt wrote, so a retry leaves everything unchanged. */
static int duplicate(struct bp_store *s, struct bp_store_inbound *in)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_FIND_DUP);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, in->provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->provider_msg_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        in->message_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? BP_ESTORE : bp__store_err(rc);
    in->duplicate = true;
    in->conversation_id = in->contact_id = 0;
    in->reply = BP_STORE_REPLY_NONE;
    return BP__STORE_UNDO;
}

/* The message is threaded first and inserted with ON CONFLICT DO NOTHING: a
 * retry (rare) costs a threading and an undo, a new message (the rule) no
 * separate duplicate probe. */
int bp_store_inbound_sms(struct bp_store *s, void *arg)
{
    struct bp_store_inbound *in = arg;
    struct thread_state t;
    const char *kind, *new_status, *event;
    int rc;

    memset(&t, 0, sizeof t);
    in->duplicate = false;
    in->message_id = in->conversation_id = in->contact_id = 0;
    in->reply_delivery_id = 0;
    if ((rc = find_contact(s, in->from, &t)) < 0 ||
        (rc = remember_sender(s, in, &t)) < 0 ||
        (rc = thread_message(s, in, &t)) < 0)
        return rc;
    if (t.student_id > 0 &&
        (rc = bp__store_conversation_of(s, t.student_id, in->now_ms,
                                        &in->conversation_id)) < 0)
        return rc;
    in->contact_id = t.contact_id;
    in->match_rule = t.rule;
    kind = keyword_effect(in, &t, &new_status, &event);
    if ((rc = insert_message(s, in, &t, kind)) < 0)
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return duplicate(s, in);
    if ((rc = file_away(s, in, &t)) < 0)
        return rc;
    if (new_status != NULL && (rc = set_status(s, t.contact_id, new_status, in->now_ms)) < 0)
        return rc;
    if (event != NULL && t.contact_id != 0 &&
        (rc = consent(s, t.contact_id, event, in->message_id, in->now_ms)) < 0)
        return rc;
    if (in->reply != BP_STORE_REPLY_NONE)
        return queue_reply(s, in, &t);
    return 0;
}
