/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Audience -> deliveries (DESIGN.md section 5), as a handful of set-based
 * statements in the caller's transaction, so 100,000 families take one
 * pass over the roster rather than 100,000 round trips:
 *
 *  1. bp_aud_g(guardian, student, ok): per guardian of the audience's
 *     (active student, guardian) links the first student whose link allows
 *     messages (may_receive = 1); ok = 1 when one does, 0 when none does,
 *     -1 for a listed guardian with no active student.  Folded in as the
 *     links are read (an UPSERT per link: no table of the links to group
 *     afterwards, a twentieth of a 100,000-family send).
 *  2. bp_aud_s: the audience's active students that have a guardian; a
 *     conversation for every one that has none (the roster import creates
 *     them, this is the safety net), the announcement, and ONE outbound
 *     message per student conversation (the message shows in each
 *     student's thread).
 *  3. bp_aud_c(contact, guardian, channel, student, locale, zone): ONE row
 *     per contact chosen for the announcement: the guardian's ACTIVE
 *     contacts on the preferred channel, or on the other channel when there
 *     is no active contact on the preferred one (opted_out, invalid and
 *     bounced contacts are never chosen).  A contact two guardians share (a
 *     family phone, a guardian listed twice) keeps the row of the lowest
 *     student id (then of the lowest guardian id): its one delivery goes on
 *     that student's message, in that guardian's language and zone, which
 *     ride along so the later steps never look the guardian up again.
 *  4. delivery_skip: every guardian with no chosen contact, with the reason
 *     (may_not_receive, opted_out when an opted-out contact is why, else
 *     no_contact).  A guardian who may receive has a chosen contact exactly
 *     when they have an active one (step 3 falls back to the other channel).
 *  5. per distinct (locale, time zone) the quiet-hours due time, the
 *     rendered text, the locale used and its SMS encoding and segment count
 *     (callbacks into the outbox: ICU stays out of the store), then the
 *     deliveries: one per bp_aud_c row (a guardian with two children, or two
 *     guardians sharing a phone, get one delivery).  No translation -> held
 *     (no_translation) unless allow_fallback.
 *
 * Nothing updates the conversations: a conversation's latest message is a
 * seek in message_conversation (migration 0006).
 *
 * Idempotency keys are "a<announcement id>-<16 random hex>-<contact id>":
 * unique per delivery, not guessable (the e-mail Message-ID and the
 * List-Unsubscribe token are built from it), fixed at creation and reused
 * on every attempt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/store_outbox.h"
#include "outbox_int.h"
#include "store_int.h"

/* The page cache is the bulk write's (bp_store_set_bulk, include/bp/store.h).
 * The temp tables live in memory (bp_store_open sets temp_store).
 * bp_aud_s: the audience's distinct students (rowid = student id, so the
 * conversation and message statements need no DISTINCT sort).  bp_aud_g
 * and bp_aud_c are keyed by guardian and by contact: the UPSERTs that fill
 * them fold a guardian's links and a contact's guardians into one row. */
static const char DDL[] =
    "CREATE TEMP TABLE IF NOT EXISTS bp_aud_s (student_id INTEGER PRIMARY KEY);"
    "CREATE TEMP TABLE IF NOT EXISTS bp_aud_g (guardian_id INTEGER PRIMARY KEY,"
    "  student_id INTEGER, ok INTEGER);"
    "CREATE TEMP TABLE IF NOT EXISTS bp_aud_c (contact_id INTEGER PRIMARY KEY,"
    "  guardian_id INTEGER, channel TEXT, student_id INTEGER, locale TEXT, tz TEXT);"
    "CREATE TEMP TABLE IF NOT EXISTS bp_aud_loc (locale TEXT, tz TEXT, due INTEGER, body TEXT,"
    "  held INTEGER, rlocale TEXT, encoding TEXT, segments INTEGER, mt INTEGER,"
    "  PRIMARY KEY (locale, tz));"
    "DELETE FROM temp.bp_aud_s; DELETE FROM temp.bp_aud_g;"
    "DELETE FROM temp.bp_aud_c;"
    "DELETE FROM temp.bp_aud_loc;";

/* Each (active student, guardian) link of the audience folded into its
 * guardian's row: the lowest student whose link allows messages, ok the
 * largest may_receive (-1: a listed guardian without an active student).
 * Every SELECT has a WHERE: SQLite needs one before an UPSERT's ON. */
#define G_UPSERT \
    " ON CONFLICT (guardian_id) DO UPDATE SET" \
    "   student_id = CASE WHEN excluded.student_id < coalesce(student_id, excluded.student_id + 1)" \
    "                THEN excluded.student_id ELSE student_id END," \
    "   ok = max(ok, excluded.ok)"
#define G_INSERT \
    "INSERT INTO temp.bp_aud_g (guardian_id, student_id, ok)" \
    " SELECT sg.guardian_id, CASE WHEN sg.may_receive = 1 THEN sg.student_id END, sg.may_receive"
static const char SQL_G_STUDENT[] =
    G_INSERT
    "  FROM student st JOIN student_guardian sg ON sg.student_id = st.id"
    " WHERE st.sourced_id = ?1 AND st.active = 1" G_UPSERT;
static const char SQL_G_SECTION[] =
    G_INSERT
    "  FROM section se JOIN enrollment e ON e.section_id = se.id"
    "  JOIN student st ON st.id = e.student_id AND st.active = 1"
    "  JOIN student_guardian sg ON sg.student_id = st.id"
    " WHERE se.sourced_id = ?1" G_UPSERT;
static const char SQL_G_SCHOOL[] =
    G_INSERT
    "  FROM student st JOIN student_guardian sg ON sg.student_id = st.id"
    " WHERE st.active = 1" G_UPSERT;
static const char SQL_G_GUARDIAN[] =
    "INSERT INTO temp.bp_aud_g (guardian_id, student_id, ok)"
    " SELECT g.id, CASE WHEN sg.may_receive = 1 THEN sg.student_id END,"
    "        coalesce(sg.may_receive, -1)"
    "  FROM guardian g LEFT JOIN student_guardian sg ON sg.guardian_id = g.id"
    "   AND sg.student_id IN (SELECT id FROM student WHERE active = 1)"
    " WHERE g.sourced_id = ?1" G_UPSERT;
/* The same audience's students that have a guardian (a student appears
 * once in the first three; a student two listed guardians share, twice). */
#define HAS_GUARDIAN " AND EXISTS (SELECT 1 FROM student_guardian sg WHERE sg.student_id = st.id)"
static const char SQL_S_STUDENT[] =
    "INSERT INTO temp.bp_aud_s SELECT st.id FROM student st"
    " WHERE st.sourced_id = ?1 AND st.active = 1" HAS_GUARDIAN;
static const char SQL_S_SECTION[] =
    "INSERT INTO temp.bp_aud_s SELECT st.id"
    "  FROM section se JOIN enrollment e ON e.section_id = se.id"
    "  JOIN student st ON st.id = e.student_id AND st.active = 1"
    " WHERE se.sourced_id = ?1" HAS_GUARDIAN;
static const char SQL_S_SCHOOL[] =
    "INSERT INTO temp.bp_aud_s SELECT st.id FROM student st WHERE st.active = 1" HAS_GUARDIAN;
static const char SQL_S_GUARDIAN[] =
    "INSERT OR IGNORE INTO temp.bp_aud_s SELECT st.id"
    "  FROM guardian g JOIN student_guardian sg ON sg.guardian_id = g.id"
    "  JOIN student st ON st.id = sg.student_id AND st.active = 1"
    " WHERE g.sourced_id = ?1";
static const char SQL_EXISTS_STUDENT[] =
    "SELECT 1 FROM student WHERE sourced_id = ?1";
static const char SQL_EXISTS_SECTION[] =
    "SELECT 1 FROM section WHERE sourced_id = ?1";

static const char SQL_CONVOS[] =
    "INSERT INTO conversation (student_id, reply_token, created_at)"
    " SELECT p.student_id, lower(hex(randomblob(12))), ?1"
    "   FROM temp.bp_aud_s p WHERE NOT EXISTS"
    "   (SELECT 1 FROM conversation c WHERE c.student_id = p.student_id)";
static const char SQL_ANNOUNCE[] =
    "INSERT INTO announcement (audience_kind, audience_ref, author_staff_id,"
    "  template_key, template_args, body, urgency, allow_fallback, send_at, created_at)"
    " VALUES (?1, ?2, nullif(?3, 0), ?4, ?5, ?6, ?7, ?8, nullif(?9, 0), ?10)";
static const char SQL_MESSAGES[] =
    "INSERT INTO message (conversation_id, direction, channel, kind, author_staff_id,"
    "  announcement_id, subject, body, match_rule, created_at)"
    " SELECT c.id, 'out', 'dashboard', 'normal', nullif(?2, 0), ?1, ?3, ?4, 'outbound', ?5"
    "   FROM temp.bp_aud_s p JOIN conversation c ON c.student_id = p.student_id";
/* A contact on the preferred channel is chosen; one on the other channel
 * only when the guardian has no active contact on the preferred one (both
 * kinds and preferred_channel are 'sms' or 'email', NOT NULL), so the
 * EXISTS probe runs only for contacts off the preferred channel.  ?1: the
 * school's time zone, for guardians without one.  A contact met again (a
 * second guardian) keeps the row of the lower (student, guardian). */
static const char SQL_CHOOSE[] =
    "INSERT INTO temp.bp_aud_c (guardian_id, contact_id, channel, student_id, locale, tz)"
    " SELECT ag.guardian_id, c.id, c.kind, ag.student_id, g.locale, coalesce(g.timezone, ?1)"
    "   FROM temp.bp_aud_g ag JOIN guardian g ON g.id = ag.guardian_id"
    "   JOIN guardian_contact gc ON gc.guardian_id = ag.guardian_id"
    "   JOIN contact c ON c.id = gc.contact_id AND c.status = 'active'"
    "  WHERE ag.ok = 1 AND (c.kind = g.preferred_channel OR NOT EXISTS"
    "        (SELECT 1 FROM guardian_contact gc2 JOIN contact c2 ON c2.id = gc2.contact_id"
    "          WHERE gc2.guardian_id = ag.guardian_id AND c2.kind = g.preferred_channel"
    "            AND c2.status = 'active'))"
    " ON CONFLICT (contact_id) DO UPDATE SET guardian_id = excluded.guardian_id,"
    "   student_id = excluded.student_id, locale = excluded.locale, tz = excluded.tz"
    " WHERE excluded.student_id < student_id"
    "    OR (excluded.student_id = student_id AND excluded.guardian_id < guardian_id)";
static const char SQL_SKIPS[] =
    "INSERT INTO delivery_skip (announcement_id, guardian_id, reason, created_at)"
    " SELECT ?1, guardian_id, reason, ?2 FROM (" BP__AUD_SKIPS ")";
static const char SQL_LOCALES[] = "SELECT DISTINCT locale, tz FROM temp.bp_aud_c";
static const char SQL_LOC_ADD[] =
    "INSERT INTO temp.bp_aud_loc (locale, tz, due, body, held, rlocale, encoding, segments, mt)"
    " VALUES (?1, ?2, ?3, ?4, ?5, nullif(?6, ''), ?7, nullif(?8, 0), ?9)";
/* Machine-translated free text: the messages whose families got a
 * translation keep the teacher's text as the original. */
static const char SQL_MARK_MT[] =
    "UPDATE message SET original_body = ?2, original_locale = ?3, machine_translated = 1"
    " WHERE announcement_id = ?1 AND id IN (SELECT d.message_id FROM delivery d"
    "   JOIN message m2 ON m2.id = d.message_id AND m2.announcement_id = ?1"
    "  WHERE d.locale IN (SELECT rlocale FROM temp.bp_aud_loc WHERE mt = 1))";
static const char SQL_ANY_MT[] = "SELECT 1 FROM temp.bp_aud_loc WHERE mt = 1 LIMIT 1";
/* The student's message of this announcement is found through
 * message_conversation (conversation_id, created_at): its created_at is the
 * announcement's now_ms, so the probe is one index seek however many
 * messages the conversation already has.  The join order and that index are
 * fixed (CROSS JOIN, INDEXED BY): without statistics on the temp tables the
 * planner may otherwise walk message_announcement, i.e. all of the
 * announcement's messages, once per delivery. */
static const char SQL_DELIVERIES[] =
    "INSERT INTO delivery (message_id, contact_id, channel, locale, body, encoding, segments,"
    "  state, held_reason, next_attempt_at, idempotency_key, created_at, updated_at)"
    " SELECT m.id, x.contact_id, x.channel, coalesce(l.rlocale, x.locale), coalesce(l.body, ?2),"
    "        CASE WHEN x.channel = 'sms' THEN l.encoding END,"
    "        CASE WHEN x.channel = 'sms' THEN l.segments END,"
    "        CASE WHEN l.held = 1 THEN 'held' ELSE 'queued' END,"
    "        CASE WHEN l.held = 1 THEN 'no_translation' END,"
    "        coalesce(l.due, ?5), ?3 || '-' || x.contact_id, ?4, ?4"
    "   FROM temp.bp_aud_c x"
    "   CROSS JOIN conversation cv ON cv.student_id = x.student_id"
    "   CROSS JOIN message m INDEXED BY message_conversation"
    "    ON m.conversation_id = cv.id AND m.created_at = ?4 AND m.announcement_id = ?1"
    "   LEFT JOIN temp.bp_aud_loc l ON l.locale = x.locale AND l.tz = x.tz";
/* The deliveries just created are the rows above the largest id before the
 * INSERT (one writer, inside its transaction): a range of the table, counted
 * in one pass without a GROUP BY sort. */
static const char SQL_MAX_DELIVERY[] = "SELECT coalesce(max(id), 0) FROM delivery";
static const char SQL_COUNT_DELIVERIES[] =
    "SELECT coalesce(sum(channel = 'sms'), 0), coalesce(sum(channel = 'email'), 0),"
    "       coalesce(sum(state = 'held'), 0),"
    "       coalesce(sum(state <> 'held' AND next_attempt_at > ?2), 0)"
    "  FROM delivery WHERE id > ?1";
static const char SQL_COUNT_SKIPS[] =
    "SELECT reason, count(*) FROM delivery_skip WHERE announcement_id = ?1 GROUP BY reason";

static const char *const skip_names[BP_SKIP__COUNT] = {
    "opted_out", "no_contact", "may_not_receive", "no_translation", "no_student",
};

const char *bp_skip_reason_name(enum bp_skip_reason r)
{
    return (unsigned)r < BP_SKIP__COUNT ? skip_names[r] : "?";
}

/* Steps sql once with ?1 = a, ?2 = b (as far as it has them).  With out:
 * a row's first column goes to *out (left alone when there is no row);
 * without: the statement must not return rows. */
static int step_ints(struct bp_store *s, const char *sql, int64_t a, int64_t b,
                     int64_t *out)
{
    sqlite3_stmt *st = bp__store_stmt(s, sql);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    if (sqlite3_bind_parameter_count(st) >= 1)
        sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, b);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && out != NULL) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static int run1(struct bp_store *s, const char *sql, int64_t a, int64_t b)
{
    return step_ints(s, sql, a, b, NULL);
}

static int run_text(struct bp_store *s, const char *sql, const char *t)
{
    sqlite3_stmt *st = bp__store_stmt(s, sql);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, t, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

/* Runs the audience kind's statement: the guardians' rows (bp_aud_g,
 * checking that the audience exists) or, with students, its students
 * (bp_aud_s, after the guardians). */
static int fill_audience(struct bp_store *s, struct bp_store_announce *a, bool students)
{
    const char *k = a->audience_kind;
    int rc;

    if (bp_str_eq(k, "student") || bp_str_eq(k, "section")) {
        bool st = bp_str_eq(k, "student");
        if (a->audience_ref == NULL)
            return BP_EINVAL_INPUT;
        if (students)
            return run_text(s, st ? SQL_S_STUDENT : SQL_S_SECTION, a->audience_ref);
        rc = run_text(s, st ? SQL_EXISTS_STUDENT : SQL_EXISTS_SECTION, a->audience_ref);
        if (rc == 0) {
            snprintf(a->errmsg, sizeof a->errmsg, "no %s with sourced id '%.60s'",
                     k, a->audience_ref);
            return BP_ENOTFOUND;
        }
        if (rc < 0)
            return rc;
        return run_text(s, st ? SQL_G_STUDENT : SQL_G_SECTION, a->audience_ref);
    }
    if (bp_str_eq(k, "school"))
        return run1(s, students ? SQL_S_SCHOOL : SQL_G_SCHOOL, 0, 0);
    if (!bp_str_eq(k, "custom") || a->nguardians == 0)
        return BP_EINVAL_INPUT;
    for (size_t i = 0; i < a->nguardians; i++) {
        sqlite3_stmt *st = bp__store_stmt(s, students ? SQL_S_GUARDIAN : SQL_G_GUARDIAN);
        if (st == NULL)
            return BP_ESTORE;
        sqlite3_bind_text(st, 1, a->guardians[i], -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return bp__store_err(rc);
        if (!students && sqlite3_changes(s->db) == 0) {
            snprintf(a->errmsg, sizeof a->errmsg,
                     "no guardian with sourced id '%.60s'", a->guardians[i]);
            return BP_ENOTFOUND;
        }
    }
    return 0;
}

static int insert_announcement(struct bp_store *s, struct bp_store_announce *a,
                               const char *msg_body)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_ANNOUNCE);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, a->audience_kind, -1, SQLITE_TRANSIENT);
    if (a->audience_ref != NULL)
        sqlite3_bind_text(st, 2, a->audience_ref, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, a->author_staff_id);
    if (a->template_key != NULL)
        sqlite3_bind_text(st, 4, a->template_key, -1, SQLITE_TRANSIENT);
    if (a->template_args != NULL)
        sqlite3_bind_text(st, 5, a->template_args, -1, SQLITE_TRANSIENT);
    if (a->body != NULL)
        sqlite3_bind_text(st, 6, a->body, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, a->urgent ? "urgent" : "normal", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 8, a->allow_fallback ? 1 : 0);
    sqlite3_bind_int64(st, 9, a->send_at);
    sqlite3_bind_int64(st, 10, a->now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return bp__store_err(rc);
    a->announcement_id = sqlite3_last_insert_rowid(s->db);
    if ((rc = fill_audience(s, a, true)) < 0 || (rc = run1(s, SQL_CONVOS, a->now_ms, 0)) < 0)
        return rc;
    if ((st = bp__store_stmt(s, SQL_MESSAGES)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, a->announcement_id);
    sqlite3_bind_int64(st, 2, a->author_staff_id);
    if (a->subject != NULL)
        sqlite3_bind_text(st, 3, a->subject, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, msg_body, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, a->now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return bp__store_err(rc);
    a->messages = sqlite3_changes(s->db);
    return 0;
}

static int base_time(const struct bp_store_announce *a)
{
    return a->send_at > a->now_ms;
}

/* The quiet-hours due time in zone tz (base: send_at when in the future,
 * else now; urgent: base). */
static int due_in(struct bp_store_announce *a, const char *tz, int64_t *due)
{
    int64_t base = base_time(a) ? a->send_at : a->now_ms;
    int rc;

    *due = base;
    if (a->due != NULL && !a->urgent && (rc = a->due(a->cb_arg, tz, base, due)) < 0) {
        snprintf(a->errmsg, sizeof a->errmsg, "time zone '%.60s'", tz);
        return rc;
    }
    return 0;
}

static int add_locale(struct bp_store *s, struct bp_store_announce *a,
                      const char *loc, const char *tz)
{
    struct bp_buf out;
    struct bp_store_rendered r = {.out = &out, .translated = true};
    sqlite3_stmt *st;
    int64_t due;
    int rc;

    bp_buf_init(&out, 64 * 1024);
    if ((rc = due_in(a, tz, &due)) < 0)
        goto out;
    if (a->render != NULL && (rc = a->render(a->cb_arg, loc, tz, &r)) < 0) {
        snprintf(a->errmsg, sizeof a->errmsg, "rendering for locale '%.40s'", loc);
        goto out;
    }
    rc = BP_ESTORE;
    if ((st = bp__store_stmt(s, SQL_LOC_ADD)) == NULL)
        goto out;
    sqlite3_bind_text(st, 1, loc, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, tz, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, due);
    if (a->render != NULL)       /* else the body as is, for every locale */
        sqlite3_bind_text(st, 4, out.data ? out.data : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, !r.translated && !a->allow_fallback);
    sqlite3_bind_text(st, 6, r.locale, -1, SQLITE_TRANSIENT);
    if (r.encoding != NULL)
        sqlite3_bind_text(st, 7, r.encoding, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, r.segments);
    sqlite3_bind_int(st, 9, r.machine_translated ? 1 : 0);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    rc = rc == SQLITE_DONE ? 0 : bp__store_err(rc);
out:
    bp_buf_free(&out);
    return rc;
}

/* One bp_aud_loc row per distinct (locale, zone) of the chosen contacts,
 * rendered once each (read first, then rendered: the callback must not run
 * under a cursor). */
static int render_locales(struct bp_store *s, struct bp_store_announce *a)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_LOCALES);
    char **vals = NULL;
    size_t n = 0, cap = 0;
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n + 2 > cap) {
            cap = cap ? cap * 2 : 32;
            vals = bp_xrealloc(vals, cap * sizeof *vals);
        }
        vals[n++] = bp_xstrdup((const char *)sqlite3_column_text(st, 0));
        vals[n++] = bp_xstrdup((const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    rc = rc == SQLITE_DONE ? 0 : bp__store_err(rc);
    for (size_t i = 0; i + 1 < n && rc == 0; i += 2)
        rc = add_locale(s, a, vals[i], vals[i + 1]);
    for (size_t i = 0; i < n; i++)
        free(vals[i]);
    free(vals);
    return rc;
}

/* Counts the deliveries with id > after (those just created). */
static int count_results(struct bp_store *s, struct bp_store_announce *a, int64_t after)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_COUNT_DELIVERIES);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, a->now_ms);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        a->deliveries[0] = sqlite3_column_int64(st, 0);
        a->deliveries[1] = sqlite3_column_int64(st, 1);
        a->held = sqlite3_column_int64(st, 2);
        a->deferred = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return bp__store_err(rc);
    if ((st = bp__store_stmt(s, SQL_COUNT_SKIPS)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, a->announcement_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *w = (const char *)sqlite3_column_text(st, 0);
        for (int i = 0; i < BP_SKIP__COUNT; i++)
            if (bp_str_eq(w, skip_names[i]))
                a->skipped[i] += sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

/* *after = the largest delivery id before the INSERT. */
static int make_deliveries(struct bp_store *s, struct bp_store_announce *a,
                           const char *msg_body, int64_t *after)
{
    sqlite3_stmt *st;
    unsigned char rnd[8];
    char salt[48];
    int rc;

    if ((rc = render_locales(s, a)) < 0)
        return rc;
    if ((rc = step_ints(s, SQL_MAX_DELIVERY, 0, 0, after)) < 0)
        return rc;
    if ((st = bp__store_stmt(s, SQL_DELIVERIES)) == NULL)
        return BP_ESTORE;
    sqlite3_randomness(sizeof rnd, rnd);
    snprintf(salt, sizeof salt, "a%lld-%02x%02x%02x%02x%02x%02x%02x%02x",
             (long long)a->announcement_id, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
             rnd[5], rnd[6], rnd[7]);
    sqlite3_bind_int64(st, 1, a->announcement_id);
    sqlite3_bind_text(st, 2, msg_body, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, salt, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, a->now_ms);
    sqlite3_bind_int64(st, 5, base_time(a) ? a->send_at : a->now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

int bp__store_aud_tables(struct bp_store *s)
{
    return bp__store_exec(s, DDL, NULL);
}

int bp__store_aud_choose(struct bp_store *s, struct bp_store_announce *a)
{
    int rc;

    if ((rc = fill_audience(s, a, false)) < 0)
        return rc;
    return run_text(s, SQL_CHOOSE, a->default_tz);
}

/* The guardians' rows, the chosen contacts and the skipped guardians
 * (steps 1, 3, 4) beside the announcement and its messages (step 2): on a
 * second connection while this one writes the messages when it can
 * (src/store/outbox_choose.c; *par is then set, and the skip rows come
 * with bp__aud_par_finish), else one after the other. */
static int announce_and_choose(struct bp_store *s, struct bp_store_announce *a,
                               const char *msg_body, struct bp__aud_par **par)
{
    int rc;

    if ((rc = bp__store_aud_tables(s)) < 0)
        return rc;
    if (bp__aud_par_start(s, a, par) < 0) {
        if ((rc = bp__store_aud_choose(s, a)) < 0 ||
            (rc = insert_announcement(s, a, msg_body)) < 0)
            return rc;
        return run1(s, SQL_SKIPS, a->announcement_id, a->now_ms);
    }
    a->parallel = true;
    if ((rc = insert_announcement(s, a, msg_body)) < 0)
        return rc;
    /* an unknown audience is the choice's BP_ENOTFOUND (with a->errmsg) */
    return bp__aud_par_rows(*par, s, a);
}

static int mark_translated(struct bp_store *s, const struct bp_store_announce *a)
{
    sqlite3_stmt *st;
    int64_t any = 0;
    int rc;

    if (a->body == NULL)
        return 0;
    if ((rc = step_ints(s, SQL_ANY_MT, 0, 0, &any)) < 0 || any == 0)
        return rc;
    if ((st = bp__store_stmt(s, SQL_MARK_MT)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, a->announcement_id);
    sqlite3_bind_text(st, 2, a->body, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, a->default_locale, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

int bp_store_announce(struct bp_store *s, void *arg)
{
    struct bp_store_announce *a = arg;
    struct bp_buf body;
    struct bp_store_rendered r = {.out = &body};
    struct bp__aud_par *par = NULL;
    int64_t after = 0;
    int rc;

    a->announcement_id = a->messages = a->held = a->deferred = a->delivery_floor = 0;
    a->parallel = false;
    a->deliveries[0] = a->deliveries[1] = 0;
    memset(a->skipped, 0, sizeof a->skipped);
    a->errmsg[0] = '\0';
    bp_buf_init(&body, 64 * 1024);
    if (a->body == NULL && a->render == NULL) {
        rc = BP_EINVAL_INPUT;
        goto out;
    }
    if (a->body != NULL)
        rc = bp_buf_appends(&body, a->body);
    else
        rc = a->render(a->cb_arg, a->default_locale, a->default_tz, &r);
    if (rc < 0 || (rc = announce_and_choose(s, a, body.data ? body.data : "", &par)) < 0 ||
        (rc = make_deliveries(s, a, body.data ? body.data : "", &after)) < 0)
        goto out;
    if (par != NULL) {
        rc = bp__aud_par_finish(par, s, a, true);
        par = NULL;
        if (rc < 0)
            goto out;
    }
    if ((rc = mark_translated(s, a)) < 0)
        goto out;
    a->delivery_floor = after;
    rc = count_results(s, a, after);
out:
    if (par != NULL)
        (void)bp__aud_par_finish(par, s, a, false);
    bp_buf_free(&body);
    return rc;
}
