/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Inbound e-mail: idempotent insert, threading to one student's
 * conversation (reply token, our Message-IDs, sender rules shared with SMS,
 * triage), bounces and auto-replies, and the IMAP cursor.  Runs on the store
 * writer thread inside the request's savepoint, so either everything below
 * happens or nothing does.  See include/bp/store_email.h for the contract.
 *
 * Why two families never merge: rule 1 (the token is per conversation) and
 * rule 2 (a delivery's Message-ID is per contact) identify one family by
 * construction; an outbound message row that belongs to an announcement is
 * only followed when the sender is linked to its student, otherwise the
 * sibling conversation of the same announcement whose student is linked to
 * the sender is taken, and failing that the sender rules decide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "bp/store_email.h"
#include "bp/store_outbox.h"
#include "bp/store_unsub.h"
#include "store_int.h"

#define MAX_CANDIDATES 32

static const char SQL_DUP_SHA[] = "SELECT id FROM message WHERE raw_sha256 = ?1";
static const char SQL_DUP_MSGID[] =
    "SELECT id FROM message WHERE email_message_id = ?1";
static const char SQL_CONTACT[] =
    "SELECT id FROM contact WHERE kind = 'email' AND address = ?1";
static const char SQL_TOKEN[] =
    "SELECT id, student_id FROM conversation WHERE reply_token = ?1";
static const char SQL_BY_DELIVERY[] =
    "SELECT m.conversation_id, d.contact_id FROM delivery d"
    "  JOIN message m ON m.id = d.message_id"
    " WHERE d.email_message_id = ?1 AND m.conversation_id IS NOT NULL";
static const char SQL_BY_MESSAGE[] =
    "SELECT conversation_id, coalesce(announcement_id, 0) FROM message"
    " WHERE email_message_id = ?1 AND direction = 'out'"
    "   AND conversation_id IS NOT NULL";
/* Is the sender's contact linked (through a guardian) to this conversation's
 * student?  Returns that guardian. */
static const char SQL_LINKED[] =
    "SELECT sg.guardian_id FROM conversation c"
    "  JOIN student_guardian sg ON sg.student_id = c.student_id"
    "  JOIN guardian_contact gc ON gc.guardian_id = sg.guardian_id"
    " WHERE c.id = ?1 AND gc.contact_id = ?2 ORDER BY sg.guardian_id LIMIT 1";
/* The announcement's conversation of a student linked to the sender. */
static const char SQL_ANN_SIBLING[] =
    "SELECT m.conversation_id FROM message m"
    "  JOIN conversation c ON c.id = m.conversation_id"
    "  JOIN student_guardian sg ON sg.student_id = c.student_id"
    "  JOIN guardian_contact gc ON gc.guardian_id = sg.guardian_id"
    " WHERE m.announcement_id = ?1 AND m.direction = 'out' AND gc.contact_id = ?2"
    " ORDER BY m.id LIMIT 1";
static const char SQL_CANDIDATES[] =
    "SELECT sg.student_id, sg.guardian_id FROM guardian_contact gc"
    "  JOIN student_guardian sg ON sg.guardian_id = gc.guardian_id"
    "  JOIN student st ON st.id = sg.student_id AND st.active = 1"
    " WHERE gc.contact_id = ?1 ORDER BY sg.student_id, sg.guardian_id";
static const char SQL_RECENT_OUTBOUND[] =
    "SELECT c.student_id FROM delivery d"
    "  JOIN message m ON m.id = d.message_id AND m.direction = 'out'"
    "  JOIN conversation c ON c.id = m.conversation_id"
    " WHERE d.contact_id = ?1 AND d.created_at >= ?2"
    " ORDER BY d.created_at DESC, d.id DESC LIMIT 1";
static const char SQL_INSERT[] =
    "INSERT INTO message (conversation_id, direction, channel, kind,"
    "  guardian_id, contact_id, from_address, to_address, subject, body,"
    "  body_full, email_message_id, in_reply_to, references_hdr, raw_sha256,"
    "  media, match_rule, created_at)"
    " VALUES (?1, 'in', 'email', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
    "         ?12, ?13, ?14, ?15, ?16)";
static const char SQL_BOUNCED_BY_ID[] =
    "SELECT d.id, d.state, d.contact_id, m.conversation_id FROM delivery d"
    "  JOIN message m ON m.id = d.message_id"
    " WHERE d.email_message_id = ?1";
static const char SQL_BOUNCED_BY_ADDR[] =
    "SELECT d.id, d.state, d.contact_id, m.conversation_id FROM delivery d"
    "  JOIN contact ct ON ct.id = d.contact_id"
    "  JOIN message m ON m.id = d.message_id"
    " WHERE ct.kind = 'email' AND ct.address = ?1 AND d.channel = 'email'"
    "   AND d.state IN ('sent', 'delivered') AND d.updated_at >= ?2"
    " ORDER BY d.updated_at DESC, d.id DESC LIMIT 1";
static const char SQL_CONTACT_BOUNCED[] =
    "UPDATE contact SET status = 'bounced', consent_source = 'email',"
    "       consent_at = ?2, updated_at = ?2"
    " WHERE id = ?1 AND status = 'active'";
static const char SQL_CONSENT[] =
    "INSERT INTO consent_event (contact_id, kind, source, message_id, detail,"
    "                           created_at)"
    " VALUES (?1, 'bounced', 'email', ?2, ?3, ?4)";
static const char SQL_CURSOR_GET[] =
    "SELECT uidvalidity, last_uid FROM imap_cursor"
    " WHERE account = ?1 AND mailbox = ?2";
static const char SQL_CURSOR_PUT[] =
    "INSERT INTO imap_cursor (account, mailbox, uidvalidity, last_uid, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT (account, mailbox) DO UPDATE SET"
    "   last_uid = CASE WHEN uidvalidity = excluded.uidvalidity"
    "                   THEN max(last_uid, excluded.last_uid)"
    "                   ELSE excluded.last_uid END,"
    "   uidvalidity = excluded.uidvalidity, updated_at = excluded.updated_at";

struct thread_state {
    bool unsubscribe;             /* sent to a List-Unsubscribe mailto address */
    int64_t sender_contact;       /* the From address's contact, 0 if none */
    int64_t contact_id;           /* stored contact (sender, or bounced one) */
    int64_t guardian_id;
    int64_t conversation_id;
    int64_t student_id;           /* rule 3: conversation still to find */
    const char *rule;
    const char *triage_reason;
    char candidates[MAX_CANDIDATES * 21 + 3];
};

/*
 * Runs a one-row query bound with text a (and b when non-NULL, or the int
 * ib when b is NULL and ib != 0); copies up to 4 integer columns into out.
 * Returns 1 for a row, 0 for none, or a negative error.
 */
static int row_ints(struct bp_store *s, const char *sql, const char *a,
                    int64_t ia, int64_t ib, int64_t *out, int ncols)
{
    sqlite3_stmt *st = bp__store_stmt(s, sql);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    if (a != NULL)
        sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 1, ia);
    if (ib != 0)
        sqlite3_bind_int64(st, 2, ib);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        for (int i = 0; i < ncols; i++)
            out[i] = sqlite3_column_int64(st, i);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

/* Copies the +token of "<local>+<token>@<domain>" into buf; false if none. */
static bool reply_token_of(const char *addr, char *buf, size_t n)
{
    const char *at = strrchr(addr, '@'), *plus = strchr(addr, '+');
    size_t len;

    if (at == NULL || plus == NULL || plus > at)
        return false;
    plus++;
    if (strncmp(plus, "unsubscribe-", 12) == 0)
        return false;       /* the List-Unsubscribe mailto: see by_unsubscribe */
    len = (size_t)(at - plus);
    if (len == 0 || len >= n)
        return false;
    memcpy(buf, plus, len);
    buf[len] = '\0';
    return true;
}

static int linked_guardian(struct bp_store *s, int64_t convo, int64_t contact,
                           int64_t *guardian)
{
    int64_t v[1] = {0};
    int rc;

    *guardian = 0;
    if (contact == 0)
        return 0;
    rc = row_ints(s, SQL_LINKED, NULL, convo, contact, v, 1);
    if (rc > 0)
        *guardian = v[0];
    return rc;
}

static const char SQL_CONVO_OF_MSG[] =
    "SELECT conversation_id FROM message WHERE id = ?1";

/*
 * A message to the List-Unsubscribe mailto address of an e-mail we sent
 * (<local>+unsubscribe-<delivery token>@<domain>, RFC 2369) opts that
 * delivery's e-mail contact out, exactly like the one-click https link
 * (src/store/unsub.c), and is filed in that student's conversation as an
 * opt-out so staff see it.  The token is random per delivery: only the
 * family that received the e-mail knows it.
 */
static int by_unsubscribe(struct bp_store *s, const struct bp_store_email_in *in,
                          struct thread_state *t)
{
    for (size_t i = 0; i < in->nrecipients; i++) {
        const char *a = in->recipients[i], *plus, *at;
        char tok[128];
        struct bp_store_unsub u;
        int64_t v[1] = {0};
        size_t len;
        int rc;

        if (a == NULL || (plus = strstr(a, "+unsubscribe-")) == NULL ||
            (at = strrchr(a, '@')) == NULL || at < plus)
            continue;
        plus += strlen("+unsubscribe-");
        len = (size_t)(at - plus);
        if (len == 0 || len >= sizeof tok)
            continue;
        memcpy(tok, plus, len);
        tok[len] = '\0';
        memset(&u, 0, sizeof u);
        u.token = tok;
        u.now_ms = in->now_ms;
        if ((rc = bp_store_unsub_apply(s, &u)) < 0)
            return rc;
        if (!u.found)
            continue;
        t->unsubscribe = true;
        t->contact_id = u.info.contact_id;
        if ((rc = row_ints(s, SQL_CONVO_OF_MSG, NULL, u.info.message_id, 0, v, 1)) < 0)
            return rc;
        t->conversation_id = v[0];
        t->rule = t->conversation_id > 0 ? "reply_token" : "triage";
        if (t->conversation_id == 0)
            t->triage_reason = "no_student";
        return 0;
    }
    return 0;
}

/* Rule 1: the reply token of a recipient address. */
static int by_token(struct bp_store *s, const struct bp_store_email_in *in,
                    struct thread_state *t)
{
    char tok[64];
    int64_t v[2] = {0, 0};
    int rc;

    for (size_t i = 0; i < in->nrecipients; i++) {
        if (in->recipients[i] == NULL ||
            !reply_token_of(in->recipients[i], tok, sizeof tok))
            continue;
        rc = row_ints(s, SQL_TOKEN, tok, 0, 0, v, 2);
        if (rc < 0)
            return rc;
        if (rc > 0) {
            t->conversation_id = v[0];
            t->rule = "reply_token";
            return linked_guardian(s, v[0], t->sender_contact, &t->guardian_id);
        }
    }
    return 0;
}

/* Rule 2 for one Message-ID.  Returns 1 when it decided the conversation. */
static int by_one_id(struct bp_store *s, const char *id, struct thread_state *t)
{
    int64_t v[2] = {0, 0};
    int rc = row_ints(s, SQL_BY_DELIVERY, id, 0, 0, v, 2);

    if (rc != 0)
        goto found;
    if ((rc = row_ints(s, SQL_BY_MESSAGE, id, 0, 0, v, 2)) <= 0)
        return rc;
    if (v[1] > 0) {
        /* An announcement's message: only for a family of its student. */
        int64_t g = 0, sib[1] = {0};
        if ((rc = linked_guardian(s, v[0], t->sender_contact, &g)) < 0)
            return rc;
        if (g == 0) {
            if (t->sender_contact == 0)
                return 0;
            rc = row_ints(s, SQL_ANN_SIBLING, NULL, v[1], t->sender_contact, sib, 1);
            if (rc <= 0)
                return rc;
            v[0] = sib[0];
        }
    }
found:
    if (rc < 0)
        return rc;
    t->conversation_id = v[0];
    t->rule = "email_header";
    if ((rc = linked_guardian(s, v[0], t->sender_contact, &t->guardian_id)) < 0)
        return rc;
    return 1;
}

/* Rule 2: In-Reply-To, then References from the newest. */
static int by_header(struct bp_store *s, const struct bp_store_email_in *in,
                     struct thread_state *t)
{
    int rc = 0;

    if (in->in_reply_to != NULL && (rc = by_one_id(s, in->in_reply_to, t)) != 0)
        return rc < 0 ? rc : 0;
    for (size_t i = in->nreferences; i-- > 0;) {
        if (in->references[i] == NULL)
            continue;
        if ((rc = by_one_id(s, in->references[i], t)) != 0)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

/* Rule 3: the student of the latest delivery to this contact, if a candidate. */
static int recent_student(struct bp_store *s, int64_t contact, int64_t since,
                          const int64_t *cands, int n, int *which)
{
    int64_t v[1] = {0};
    int rc = row_ints(s, SQL_RECENT_OUTBOUND, NULL, contact, since, v, 1);

    *which = -1;
    if (rc <= 0)
        return rc;
    for (int i = 0; i < n; i++)
        if (cands[i] == v[0])
            *which = i;
    return 0;
}

/* Rules 3 and 4: sender -> guardians -> students, else triage. */
static int by_sender(struct bp_store *s, const struct bp_store_email_in *in,
                     struct thread_state *t)
{
    int64_t cands[MAX_CANDIDATES], guards[MAX_CANDIDATES];
    sqlite3_stmt *st;
    int n = 0, rc, which = -1;
    size_t off = 0;

    t->rule = "triage";
    if (t->sender_contact == 0) {
        t->triage_reason = "unknown_sender";
        return 0;
    }
    if ((st = bp__store_stmt(s, SQL_CANDIDATES)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, t->sender_contact);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < MAX_CANDIDATES) {
        int64_t sid = sqlite3_column_int64(st, 0);
        if (n > 0 && cands[n - 1] == sid)
            continue;
        guards[n] = sqlite3_column_int64(st, 1);
        cands[n++] = sid;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return bp__store_err(rc);
    if (n == 1)
        which = 0;
    else if (n > 1 &&
             (rc = recent_student(s, t->sender_contact,
                                  in->now_ms - in->recent_window_ms,
                                  cands, n, &which)) < 0)
        return rc;
    if (which >= 0) {
        t->student_id = cands[which];
        t->guardian_id = guards[which];
        t->rule = n == 1 ? "single_student" : "recent_outbound";
        return 0;
    }
    t->triage_reason = n == 0 ? "no_student" : "ambiguous";
    t->candidates[off++] = '[';
    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(t->candidates + off, sizeof t->candidates - off,
                                "%s%lld", i ? "," : "", (long long)cands[i]);
    snprintf(t->candidates + off, sizeof t->candidates - off, "]");
    return 0;
}

/*
 * A bounce: finds the delivery (by Message-ID, else the latest sent e-mail
 * delivery to the failed address within the window) and moves it to
 * undeliverable / failed.  The bounce message then threads to that
 * delivery's conversation.
 */
static int apply_bounce(struct bp_store *s, struct bp_store_email_in *in,
                        struct thread_state *t, int64_t *delivery)
{
    sqlite3_stmt *st = NULL;
    struct bp_dstate_change c;
    enum bp_dstate from;
    char state[16] = "";
    int rc = SQLITE_DONE;

    *delivery = 0;
    if (in->bounce_message_id != NULL &&
        (st = bp__store_stmt(s, SQL_BOUNCED_BY_ID)) != NULL) {
        sqlite3_bind_text(st, 1, in->bounce_message_id, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_ROW && in->bounce_recipient != NULL) {
        if (st != NULL)
            sqlite3_reset(st);
        if ((st = bp__store_stmt(s, SQL_BOUNCED_BY_ADDR)) == NULL)
            return BP_ESTORE;
        sqlite3_bind_text(st, 1, in->bounce_recipient, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, in->now_ms - in->recent_window_ms);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        *delivery = sqlite3_column_int64(st, 0);
        snprintf(state, sizeof state, "%s", (const char *)sqlite3_column_text(st, 1));
        t->contact_id = sqlite3_column_int64(st, 2);
        t->conversation_id = sqlite3_column_int64(st, 3);
        t->rule = "email_header";
    }
    if (st != NULL)
        sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return bp__store_err(rc);
    if (*delivery == 0 || bp_dstate_parse(state, &from) < 0)
        return 0;
    memset(&c, 0, sizeof c);
    c.delivery_id = *delivery;
    c.from = from;
    c.to = in->bounce_hard ? BP_DS_UNDELIVERABLE : BP_DS_FAILED;
    c.error_code = in->bounce_status ? in->bounce_status : "bounce";
    /* undeliverable: the address is bad (bp/mailstatus.h); failed: this
     * message was refused, permanently (5.x.x: spam, DMARC, a block list) or
     * after the relay gave up retrying (4.x.x) */
    c.error_class = in->bounce_hard || (in->bounce_status != NULL &&
                                        in->bounce_status[0] == '5')
                        ? "permanent" : "transient";
    c.error_detail = "e-mail bounce (delivery status notification)";
    c.now_ms = in->now_ms;
    if (!bp_dstate_legal(from, c.to))
        return 0;                 /* already failed: nothing to change */
    rc = bp_store_delivery_set_state(s, &c);
    return rc == BP_ENOTFOUND ? 0 : rc;
}

static int mark_contact_bounced(struct bp_store *s, struct bp_store_email_in *in,
                                int64_t contact)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_CONTACT_BOUNCED);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, contact);
    sqlite3_bind_int64(st, 2, in->now_ms);
    if ((rc = bp__store_run(s, st, NULL)) < 0)
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return 0;
    in->contact_bounced = true;
    if ((st = bp__store_stmt(s, SQL_CONSENT)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, contact);
    sqlite3_bind_int64(st, 2, in->message_id);
    bp__store_bind_text_or_null(st, 3, in->bounce_status);
    sqlite3_bind_int64(st, 4, in->now_ms);
    return bp__store_run(s, st, NULL);
}

/* References as stored: "<a> <b> <c>". */
static char *references_text(const struct bp_store_email_in *in)
{
    struct bp_buf b;
    char *out;

    if (in->nreferences == 0)
        return NULL;
    bp_buf_init(&b, 64 * 1024);
    for (size_t i = 0; i < in->nreferences; i++)
        if (in->references[i] != NULL &&
            bp_buf_printf(&b, "%s<%s>", b.len ? " " : "", in->references[i]) < 0)
            break;
    out = b.len ? bp_xstrdup(b.data) : NULL;
    bp_buf_free(&b);
    return out;
}

static int insert_message(struct bp_store *s, struct bp_store_email_in *in,
                          const struct thread_state *t)
{
    static const char *const kinds[] = {"normal", "auto_reply", "bounce"};
    sqlite3_stmt *st = bp__store_stmt(s, SQL_INSERT);
    char *refs;
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    refs = references_text(in);
    bp__store_bind_id_or_null(st, 1, t->conversation_id);
    sqlite3_bind_text(st, 2, t->unsubscribe ? "keyword_stop"
                             : kinds[in->kind <= BP_STORE_EMAIL_BOUNCE ? in->kind : 0],
                      -1, SQLITE_STATIC);
    bp__store_bind_id_or_null(st, 3, t->guardian_id);
    bp__store_bind_id_or_null(st, 4, t->contact_id);
    bp__store_bind_text_or_null(st, 5, in->from_addr);
    bp__store_bind_text_or_null(st, 6, in->nrecipients ? in->recipients[0] : NULL);
    bp__store_bind_text_or_null(st, 7, in->subject);
    sqlite3_bind_text(st, 8, in->body ? in->body : "", -1, SQLITE_TRANSIENT);
    bp__store_bind_text_or_null(st, 9, in->body_full);
    bp__store_bind_text_or_null(st, 10, in->email_message_id);
    bp__store_bind_text_or_null(st, 11, in->in_reply_to);
    bp__store_bind_text_or_null(st, 12, refs);
    bp__store_bind_text_or_null(st, 13, in->raw_sha256);
    bp__store_bind_text_or_null(st, 14, in->media_json);
    sqlite3_bind_text(st, 15, t->rule, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 16, in->now_ms);
    rc = bp__store_run(s, st, &in->message_id);
    free(refs);
    return rc;
}

static int file_away(struct bp_store *s, struct bp_store_email_in *in,
                     const struct thread_state *t)
{
    return bp__store_file_inbound(s, in->message_id, t->conversation_id, t->triage_reason ? t->triage_reason : "unknown_sender",
                                  t->candidates, in->now_ms);
}

static int find_duplicate(struct bp_store *s, struct bp_store_email_in *in)
{
    int64_t v[1] = {0};
    int rc = 0;

    if (in->raw_sha256 != NULL)
        rc = row_ints(s, SQL_DUP_SHA, in->raw_sha256, 0, 0, v, 1);
    if (rc == 0 && in->email_message_id != NULL)
        rc = row_ints(s, SQL_DUP_MSGID, in->email_message_id, 0, 0, v, 1);
    if (rc > 0) {
        in->duplicate = true;
        in->message_id = v[0];
    }
    return rc;
}

/* Rules 1-4 for a person's message (not a bounce). */
static int thread_message(struct bp_store *s, struct bp_store_email_in *in,
                          struct thread_state *t)
{
    int rc;

    t->contact_id = t->sender_contact;
    if ((rc = by_unsubscribe(s, in, t)) < 0)
        return rc;
    if (t->rule == NULL && (rc = by_token(s, in, t)) < 0)
        return rc;
    if (t->rule == NULL && (rc = by_header(s, in, t)) < 0)
        return rc;
    if (t->rule == NULL && (rc = by_sender(s, in, t)) < 0)
        return rc;
    if (t->student_id > 0)
        return bp__store_conversation_of(s, t->student_id, in->now_ms,
                                         &t->conversation_id);
    return 0;
}

int bp_store_email_in(struct bp_store *s, void *arg)
{
    struct bp_store_email_in *in = arg;
    struct thread_state t;
    int64_t v[1] = {0};
    int rc;

    memset(&t, 0, sizeof t);
    in->duplicate = false;
    in->contact_bounced = false;
    in->message_id = in->conversation_id = in->contact_id = 0;
    in->bounced_delivery_id = 0;
    in->match_rule = NULL;
    if ((rc = find_duplicate(s, in)) != 0)
        return rc < 0 ? rc : 0;
    if (in->from_addr != NULL &&
        (rc = row_ints(s, SQL_CONTACT, in->from_addr, 0, 0, v, 1)) != 0) {
        if (rc < 0)
            return rc;
        t.sender_contact = v[0];
    }
    if (in->kind == BP_STORE_EMAIL_BOUNCE) {
        rc = apply_bounce(s, in, &t, &in->bounced_delivery_id);
        if (rc == 0 && t.rule == NULL) {
            t.rule = "triage";
            t.triage_reason = "unknown_sender";
        }
    } else {
        rc = thread_message(s, in, &t);
    }
    if (rc < 0)
        return rc;
    in->conversation_id = t.conversation_id;
    in->contact_id = t.contact_id;
    in->match_rule = t.rule;
    if ((rc = insert_message(s, in, &t)) < 0 || (rc = file_away(s, in, &t)) < 0)
        return rc;
    if (in->kind == BP_STORE_EMAIL_BOUNCE && in->bounce_hard &&
        in->bounced_delivery_id > 0 && t.contact_id > 0)
        return mark_contact_bounced(s, in, t.contact_id);
    return 0;
}

/* ---- IMAP cursor ---------------------------------------------------- */

int bp_store_imap_cursor_get(struct bp_store *s, const char *account,
                             const char *mailbox, int64_t *uidvalidity,
                             int64_t *last_uid)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_CURSOR_GET);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, mailbox, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *uidvalidity = sqlite3_column_int64(st, 0);
        *last_uid = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? BP_ENOTFOUND : bp__store_err(rc);
}

int bp_store_imap_cursor_put(struct bp_store *s, void *arg)
{
    struct bp_store_imap_cursor *c = arg;
    sqlite3_stmt *st;

    if (c->uidvalidity <= 0 || c->last_uid < 0)
        return BP_EINVAL_INPUT;
    if ((st = bp__store_stmt(s, SQL_CURSOR_PUT)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, c->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, c->mailbox, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, c->uidvalidity);
    sqlite3_bind_int64(st, 4, c->last_uid);
    sqlite3_bind_int64(st, 5, c->now_ms);
    return bp__store_run(s, st, NULL);
}
