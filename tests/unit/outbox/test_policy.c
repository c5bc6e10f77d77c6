/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Audience -> deliveries on a real SQLite file: a table of guardians and
 * contacts, the exact deliveries expected, and the reason recorded for
 * every guardian left without one.  Quiet hours come from the real ICU
 * callback (bp_outbox_prepare), with the clock pinned.
 */
#include <sqlite3.h>

#include "bp/outbox.h"
#include "bp_test.h"

static char path[64];
static bool serial;            /* the second run: choose on the caller's connection */
static struct bp_store *store;
static sqlite3 *peek;
static struct bp_conf conf;

static const char ROSTER[] =
    "INSERT INTO school VALUES (1,'SCH','Lincoln','America/New_York','en',NULL,NULL,0,0);"
    "INSERT INTO section (id,school_id,sourced_id,title,created_at,updated_at)"
    " VALUES (1,1,'SEC1','Math',0,0);"
    "INSERT INTO student (id,school_id,sourced_id,given_name,family_name,active,created_at,updated_at) VALUES"
    " (1,1,'S1','A','A',1,0,0),(2,1,'S2','B','B',1,0,0),(3,1,'S3','C','C',0,0,0),(4,1,'S4','D','D',1,0,0);"
    "INSERT INTO enrollment VALUES (1,1),(1,2),(1,3),(1,4);"
    "INSERT INTO guardian (id,sourced_id,given_name,family_name,preferred_channel,timezone,created_at,updated_at) VALUES"
    " (1,'G1','g','1','sms',NULL,0,0),(2,'G2','g','2','email',NULL,0,0),(3,'G3','g','3','email',NULL,0,0),"
    " (4,'G4','g','4','sms',NULL,0,0),(5,'G5','g','5','sms',NULL,0,0),(6,'G6','g','6','sms',NULL,0,0),"
    " (7,'G7','g','7','sms',NULL,0,0),(8,'G8','g','8','sms',NULL,0,0),"
    " (9,'G9','g','9','sms','Pacific/Honolulu',0,0),(10,'G10','g','10','sms',NULL,0,0);"
    "INSERT INTO student_guardian (student_id,guardian_id,may_receive) VALUES"
    " (1,1,1),(2,1,1),(1,2,1),(2,3,1),(2,4,1),(4,5,0),(4,6,1),(4,7,1),(4,8,1),(4,9,1),(3,10,1);"
    "INSERT INTO contact (id,kind,address,status,created_at,updated_at) VALUES"
    " (1,'sms','+15550000001','active',0,0),"            /* G1 and G7 share it */
    " (2,'email','g2@example.org','active',0,0),(3,'sms','+15550000002','active',0,0),"
    " (4,'email','g3@example.org','bounced',0,0),(5,'sms','+15550000003','active',0,0),"
    " (6,'sms','+15550000004','opted_out',0,0),(7,'sms','+15550000005','active',0,0),"
    " (8,'sms','+15550000008','invalid',0,0),(9,'email','g8@example.org','active',0,0),"
    " (10,'sms','+15550000009','active',0,0),(11,'sms','+15550000010','active',0,0);"
    "INSERT INTO guardian_contact VALUES (1,1),(7,1),(2,2),(2,3),(3,4),(3,5),(4,6),(5,7),"
    " (8,8),(8,9),(9,10),(10,11);";

static int64_t t(const char *s)
{
    int64_t ms = 0;
    if (bp_outbox_parse_rfc3339(s, &ms) < 0)
        exit(99);
    return ms;
}

static void setup(void)
{
    struct bp_store_opts o = {.path = path, .busy_timeout_ms = 1000};
    int fd;

    snprintf(path, sizeof path, "/tmp/bp-outbox-policy-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        exit(99);
    close(fd);
    if (bp_store_open(&o, &store, NULL) < 0 || bp_store_migrate(store, NULL, NULL, NULL) < 0)
        exit(99);
    sqlite3_open(path, &peek);
    if (sqlite3_exec(peek, ROSTER, NULL, NULL, NULL) != SQLITE_OK) {
        printf("# %s\n", sqlite3_errmsg(peek));
        exit(99);
    }
    conf.outbox_quiet_start = (char *)"21:00";
    conf.outbox_quiet_end = (char *)"07:00";
    conf.school_timezone = (char *)"America/New_York";
    conf.school_default_locale = (char *)"en";
    conf.school_name = (char *)"Lincoln";
}

static int announce(struct bp_outbox_req *r, struct bp_store_announce *a)
{
    struct bp_outbox_policy pol;
    struct bp_errbuf eb = {{0}, {0}};
    int rc = bp_outbox_prepare(&conf, r, &pol, a, &eb);
    a->serial = serial;
    if (rc < 0) {
        printf("# prepare: %s\n", eb.msg);
        bp_outbox_policy_release(&pol);
        return rc;
    }
    if ((rc = bp_store_begin(store)) == 0) {
        if ((rc = bp_store_announce(store, a)) < 0)
            bp_store_rollback(store);
        else
            rc = bp_store_commit(store);
    }
    bp_outbox_policy_release(&pol);
    return rc;
}

/* "contact:channel:state:student" of every delivery of an announcement. */
static const char *deliveries(int64_t ann)
{
    static char buf[1024];
    sqlite3_stmt *st;
    size_t n = 0;
    sqlite3_prepare_v2(peek,
        "SELECT d.contact_id || ':' || d.channel || ':' || d.state || ':' || cv.student_id"
        "  FROM delivery d JOIN message m ON m.id = d.message_id"
        "  JOIN conversation cv ON cv.id = m.conversation_id"
        " WHERE m.announcement_id = ?1 ORDER BY d.contact_id", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, ann);
    buf[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && n < sizeof buf - 64)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? " " : "",
                              sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

static const char *skips(int64_t ann)
{
    static char buf[512];
    sqlite3_stmt *st;
    size_t n = 0;
    sqlite3_prepare_v2(peek, "SELECT guardian_id || ':' || reason FROM delivery_skip"
                             " WHERE announcement_id = ?1 ORDER BY guardian_id", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, ann);
    buf[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && n < sizeof buf - 64)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? " " : "",
                              sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

/* First column of sql's first row (?1 = announcement, ?2 = arg), or -1. */
static int64_t peek_int(const char *sql, int64_t ann, const char *arg)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    sqlite3_prepare_v2(peek, sql, -1, &st, NULL);
    sqlite3_bind_int64(st, 1, ann);
    sqlite3_bind_text(st, 2, arg, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int64_t due_of(int64_t ann, int contact)
{
    char id[16];
    snprintf(id, sizeof id, "%d", contact);
    return peek_int("SELECT d.next_attempt_at FROM delivery d JOIN message m"
                    " ON m.id = d.message_id WHERE m.announcement_id = ?1"
                    " AND d.contact_id = CAST(?2 AS INTEGER)", ann, id);
}

static int64_t count_of(int64_t ann, const char *channel)
{
    return peek_int("SELECT count(*) FROM delivery d JOIN message m"
                    " ON m.id = d.message_id WHERE m.announcement_id = ?1"
                    " AND d.channel = ?2", ann, channel);
}

static void test_section(void)
{
    struct bp_outbox_req r = {.audience_kind = "section", .audience_ref = "SEC1",
                              .text = "Field trip tomorrow"};
    struct bp_store_announce a;

    bp_clock_set_fake(t("2025-01-15T14:00:00Z"));   /* 09:00 NY, 04:00 Honolulu */
    ASSERT_OK(announce(&r, &a));
    ASSERT_EQ(a.parallel, !serial);
    ASSERT_EQ(a.messages, 3);                       /* S1, S2, S4 (S3 inactive) */
    /* G1+G7 share contact 1 -> one delivery, on S1's message (lowest student);
     * G2 email; G3 email bounced -> sms 5; G8 sms invalid -> email 9; G9 sms 10 */
    ASSERT_STR_EQ(deliveries(a.announcement_id),
                  "1:sms:queued:1 2:email:queued:1 5:sms:queued:2 9:email:queued:4"
                  " 10:sms:queued:4");
    ASSERT_STR_EQ(skips(a.announcement_id), "4:opted_out 5:may_not_receive 6:no_contact");
    ASSERT_EQ(a.deliveries[0], 3);
    ASSERT_EQ(a.deliveries[1], 2);
    ASSERT_EQ(a.skipped[BP_SKIP_OPTED_OUT], 1);
    ASSERT_EQ(a.deferred, 1);                       /* Honolulu is in quiet hours */
    ASSERT_EQ(due_of(a.announcement_id, 10), t("2025-01-15T17:00:00Z"));
    ASSERT_EQ(due_of(a.announcement_id, 1), t("2025-01-15T14:00:00Z"));
}

static void test_urgent_ignores_quiet_not_opt_out(void)
{
    struct bp_outbox_req r = {.audience_kind = "student", .audience_ref = "S4",
                              .text = "Closed today", .urgent = true};
    struct bp_store_announce a;

    bp_clock_set_fake(t("2025-01-16T03:30:00Z"));   /* 22:30 NY */
    ASSERT_OK(announce(&r, &a));
    ASSERT_EQ(a.deferred, 0);
    ASSERT_EQ(due_of(a.announcement_id, 10), t("2025-01-16T03:30:00Z"));
    r.urgent = false;
    ASSERT_OK(announce(&r, &a));
    ASSERT_EQ(a.deferred, 2);                       /* contacts 1 and 9; 10 is 17:30 HST */
    ASSERT_EQ(due_of(a.announcement_id, 1), t("2025-01-16T12:00:00Z"));
    ASSERT_EQ(due_of(a.announcement_id, 10), t("2025-01-16T03:30:00Z")); /* 17:30 HST */
}

static void test_custom_and_missing(void)
{
    static const char *const gs[] = {"G4", "G2"};
    static const char *const bad[] = {"G404"};
    struct bp_outbox_req r = {.audience_kind = "custom", .guardians = gs,
                              .nguardians = 2, .text = "hi"};
    struct bp_store_announce a;

    bp_clock_set_fake(t("2025-01-15T15:00:00Z"));
    ASSERT_OK(announce(&r, &a));
    ASSERT_STR_EQ(deliveries(a.announcement_id), "2:email:queued:1");
    ASSERT_STR_EQ(skips(a.announcement_id), "4:opted_out");
    r.guardians = bad;
    r.nguardians = 1;
    ASSERT_EQ(announce(&r, &a), BP_ENOTFOUND);
    ASSERT_STR_CONTAINS(a.errmsg, "G404");
    struct bp_outbox_req r2 = {.audience_kind = "section", .audience_ref = "NOPE", .text = "x"};
    ASSERT_EQ(announce(&r2, &a), BP_ENOTFOUND);
    ASSERT_STR_CONTAINS(a.errmsg, "NOPE");
}

static void test_send_at_future(void)
{
    struct bp_outbox_req r = {.audience_kind = "student", .audience_ref = "S1",
                              .text = "later", .send_at = t("2025-01-20T15:00:00Z")};
    struct bp_store_announce a;

    bp_clock_set_fake(t("2025-01-15T15:00:00Z"));
    ASSERT_OK(announce(&r, &a));
    ASSERT_EQ(a.deferred, 2);
    ASSERT_EQ(due_of(a.announcement_id, 2), t("2025-01-20T15:00:00Z"));
}

/* The summary counts only this announcement's rows (the store counts the
 * ids above the largest one before its INSERT), after earlier announcements;
 * a guardian listed twice and two guardians sharing a phone still give one
 * delivery per contact. */
static void test_summary_counts_this_announcement(void)
{
    static const char *const gs[] = {"G1", "G7", "G2", "G1"};
    struct bp_outbox_req r = {.audience_kind = "custom", .guardians = gs,
                              .nguardians = 4, .text = "twice"};
    struct bp_store_announce a;

    bp_clock_set_fake(t("2025-01-15T15:00:00Z"));
    ASSERT_OK(announce(&r, &a));
    ASSERT_STR_EQ(deliveries(a.announcement_id), "1:sms:queued:1 2:email:queued:1");
    ASSERT_EQ(a.messages, 3);                       /* S1, S2 (G1), S4 (G7) */
    ASSERT_EQ(a.deliveries[0], 1);
    ASSERT_EQ(a.deliveries[1], 1);
    ASSERT_EQ(count_of(a.announcement_id, "sms"), 1);
    ASSERT_EQ(count_of(a.announcement_id, "email"), 1);
    ASSERT_EQ(a.held + a.deferred, 0);
    ASSERT_STR_EQ(skips(a.announcement_id), "");
}

/* A contact two guardians share gets one delivery: on the message of the
 * lowest student of the guardians sharing it, in the language and time zone
 * of that student's guardian -- of the lowest guardian id when two
 * guardians of that student share it.  G11 (Tokyo) has S5; G12 (Honolulu)
 * and G13 (the school's New York) have S1; all three share +15550000012.
 * At 15:00Z Tokyo (00:00) and Honolulu (05:00) are in quiet hours, New
 * York (10:00) is not: the due time shows whose zone was used. */
static void test_shared_contact_follows_lowest_student(void)
{
    static const char *const gs[] = {"G11", "G13", "G12"};
    struct bp_outbox_req r = {.audience_kind = "custom", .guardians = gs,
                              .nguardians = 3, .text = "shared", .allow_fallback = true};
    struct bp_store_announce a;

    ASSERT_EQ(sqlite3_exec(peek,
        "INSERT INTO student (id,school_id,sourced_id,given_name,family_name,active,"
        " created_at,updated_at) VALUES (5,1,'S5','E','E',1,0,0);"
        "INSERT INTO guardian (id,sourced_id,given_name,family_name,preferred_channel,"
        " timezone,created_at,updated_at) VALUES (11,'G11','g','11','sms','Asia/Tokyo',0,0),"
        " (12,'G12','g','12','sms','Pacific/Honolulu',0,0),(13,'G13','g','13','sms',NULL,0,0);"
        "INSERT INTO student_guardian (student_id,guardian_id,may_receive) VALUES"
        " (5,11,1),(1,12,1),(1,13,1);"
        "INSERT INTO contact (id,kind,address,status,created_at,updated_at) VALUES"
        " (12,'sms','+15550000012','active',0,0);"
        "INSERT INTO guardian_contact VALUES (11,12),(12,12),(13,12);",
        NULL, NULL, NULL), SQLITE_OK);
    bp_clock_set_fake(t("2025-01-15T15:00:00Z"));
    ASSERT_OK(announce(&r, &a));
    ASSERT_EQ(a.messages, 2);                       /* S1, S5 */
    ASSERT_STR_EQ(deliveries(a.announcement_id), "12:sms:queued:1");
    ASSERT_EQ(due_of(a.announcement_id, 12), t("2025-01-15T17:00:00Z")); /* 07:00 HST */
    ASSERT_STR_EQ(skips(a.announcement_id), "");
}

/* A guardian's links fold into one row whatever their order: G14 may not
 * receive for S1 but may for S2 and S4, so its delivery is on S2's message
 * (the lowest student whose link allows it); G5's only link forbids it
 * (may_not_receive); G10's only student is inactive (no_student). */
static void test_guardian_links_fold(void)
{
    static const char *const gs[] = {"G14", "G10", "G5"};
    struct bp_outbox_req r = {.audience_kind = "custom", .guardians = gs,
                              .nguardians = 3, .text = "links"};
    struct bp_store_announce a;

    ASSERT_EQ(sqlite3_exec(peek,
        "INSERT INTO guardian (id,sourced_id,given_name,family_name,preferred_channel,"
        " timezone,created_at,updated_at) VALUES (14,'G14','g','14','sms',NULL,0,0);"
        "INSERT INTO student_guardian (student_id,guardian_id,may_receive) VALUES"
        " (4,14,1),(1,14,0),(2,14,1);"
        "INSERT INTO contact (id,kind,address,status,created_at,updated_at) VALUES"
        " (13,'sms','+15550000013','active',0,0);"
        "INSERT INTO guardian_contact VALUES (14,13);",
        NULL, NULL, NULL), SQLITE_OK);
    bp_clock_set_fake(t("2025-01-15T15:00:00Z"));
    ASSERT_OK(announce(&r, &a));
    ASSERT_EQ(a.messages, 3);                       /* S1, S2, S4 */
    ASSERT_STR_EQ(deliveries(a.announcement_id), "13:sms:queued:2");
    ASSERT_STR_EQ(skips(a.announcement_id), "5:may_not_receive 10:no_student");
    ASSERT_EQ(a.skipped[BP_SKIP_NO_STUDENT], 1);
    ASSERT_EQ(a.skipped[BP_SKIP_MAY_NOT_RECEIVE], 1);
}

/* Every test twice: the contacts chosen on a second connection in parallel
 * with the messages (the default for a database file), then on the
 * caller's connection (a->serial, as for an in-memory database). */
static void run_all(void)
{
    setup();
    BP_TEST(test_section);
    BP_TEST(test_urgent_ignores_quiet_not_opt_out);
    BP_TEST(test_custom_and_missing);
    BP_TEST(test_send_at_future);
    BP_TEST(test_summary_counts_this_announcement);
    BP_TEST(test_shared_contact_follows_lowest_student);
    BP_TEST(test_guardian_links_fold);
    sqlite3_close(peek);
    bp_store_close(store);
    unlink(path);
    char side[80];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int main(void)
{
    run_all();
    serial = true;
    run_all();
    return bp_test_done();
}
