/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/store/inbound.c: idempotent insert, threading rules,
 * keyword consent changes and replies, on a real SQLite file. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "bp/store_inbound.h"
#include "bp_test.h"

static struct bp_store *store;
static sqlite3 *peek;       /* second connection to seed and inspect */
static int renders;

static void seed(void)
{
    const char *sql =
        "INSERT INTO school VALUES (1,'sch','Riverside','America/New_York','en',NULL,NULL,0,0);"
        "INSERT INTO student (id,school_id,sourced_id,given_name,family_name,created_at,updated_at)"
        " VALUES (10,1,'s10','Ana','Diaz',0,0),(11,1,'s11','Luis','Diaz',0,0),(12,1,'s12','Mai','Tran',0,0);"
        "INSERT INTO guardian (id,sourced_id,given_name,family_name,locale,created_at,updated_at)"
        " VALUES (20,'g20','Rosa','Diaz','es',0,0),(21,'g21','Lan','Tran','vi',0,0);"
        "INSERT INTO student_guardian (student_id,guardian_id) VALUES (10,20),(11,20),(12,21);"
        "INSERT INTO contact (id,kind,address,created_at,updated_at)"
        " VALUES (30,'sms','+15550100020',0,0),(31,'sms','+15550100021',0,0);"
        "INSERT INTO guardian_contact VALUES (20,30),(21,31);";
    char *err = NULL;
    if (sqlite3_exec(peek, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "seed: %s\n", err);
        exit(99);
    }
}

static void setup(void)
{
    char path[300];
    struct bp_store_opts o = {.path = path, .sync_full = false};
    struct bp_errbuf eb;
    snprintf(path, sizeof path, "%s/inbound.db", bp_test_tmpdir());
    if (bp_store_open(&o, &store, &eb) < 0 || bp_store_migrate(store, NULL, NULL, &eb) < 0) {
        fprintf(stderr, "setup: %s\n", eb.msg);
        exit(99);
    }
    sqlite3_open(path, &peek);
    sqlite3_exec(peek, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    seed();
}

static int render(void *ctx, enum bp_store_reply kind, const char *locale,
                  char *buf, size_t n)
{
    (void)ctx;
    renders++;
    snprintf(buf, n, "reply-%d-%s", (int)kind, locale);
    return 0;
}

static int deliver(struct bp_store_inbound *in, const char *sid, const char *from,
                   const char *body, enum bp_store_kw kw)
{
    int rc;
    in->provider = "twilio";
    in->provider_msg_id = sid;
    in->from = from;
    in->to = "+15550109999";
    in->body = body;
    in->keyword = kw;
    in->now_ms = 1000000;
    in->recent_window_ms = 7LL * 86400 * 1000;
    in->render = render;
    if (bp_store_begin(store) < 0)
        return -1;
    rc = bp_store_inbound_sms(store, in);
    if (rc != 0) {      /* as the writer: a failure or a retry is undone */
        bp_store_rollback(store);
        return rc < 0 ? rc : 0;
    }
    return bp_store_commit(store);
}

static long long q(const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    sqlite3_prepare_v2(peek, sql, -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_single_student(void)
{
    struct bp_store_inbound in = {0};
    ASSERT_OK(deliver(&in, "SM1", "+15550100021", "Mai is sick today", BP_STORE_KW_NONE));
    ASSERT_STR_EQ(in.match_rule, "single_student");
    ASSERT_EQ(q("SELECT student_id FROM conversation c JOIN message m ON m.conversation_id=c.id"
                " WHERE m.provider_msg_id='SM1'"), 12);
    ASSERT_EQ(q("SELECT guardian_id FROM message WHERE provider_msg_id='SM1'"), 21);
}

static void test_duplicate(void)
{
    struct bp_store_inbound in = {0};
    ASSERT_OK(deliver(&in, "SM1", "+15550100021", "Mai is sick today", BP_STORE_KW_NONE));
    ASSERT_TRUE(in.duplicate);
    ASSERT_TRUE(in.message_id > 0);
    ASSERT_EQ(in.reply, BP_STORE_REPLY_NONE);
    ASSERT_EQ(q("SELECT count(*) FROM message WHERE provider_msg_id='SM1'"), 1);
    ASSERT_EQ(q("SELECT id FROM message WHERE provider_msg_id='SM1'"), in.message_id);
}

static void test_two_students_then_recent_outbound(void)
{
    struct bp_store_inbound in = {0};
    ASSERT_OK(deliver(&in, "SM2", "+15550100020", "Hola", BP_STORE_KW_NONE));
    ASSERT_STR_EQ(in.match_rule, "triage");
    ASSERT_EQ(q("SELECT count(*) FROM inbound_unmatched u JOIN message m ON m.id=u.message_id"
                " WHERE m.provider_msg_id='SM2' AND u.reason='ambiguous' AND u.candidates='[10,11]'"), 1);
    /* the teacher of Luis (11) wrote to this family yesterday */
    ASSERT_EQ(sqlite3_exec(peek,
        "INSERT INTO conversation (id,student_id,reply_token,created_at) VALUES (511,11,'t11',0);"
        "INSERT INTO message (id,conversation_id,direction,channel,body,created_at)"
        " VALUES (900,511,'out','sms','Field trip tomorrow',900000);"
        "INSERT INTO delivery (message_id,contact_id,channel,body,state,idempotency_key,created_at,updated_at)"
        " VALUES (900,30,'sms','Field trip tomorrow','sent','k900',900000,900000);",
        NULL, NULL, NULL), SQLITE_OK);
    memset(&in, 0, sizeof in);
    ASSERT_OK(deliver(&in, "SM3", "+15550100020", "Gracias, ahí estaremos", BP_STORE_KW_NONE));
    ASSERT_STR_EQ(in.match_rule, "recent_outbound");
    ASSERT_EQ(in.conversation_id, 511);
}

static void test_unknown_sender(void)
{
    struct bp_store_inbound in = {0};
    ASSERT_OK(deliver(&in, "SM4", "+15550100999", "Who is this?", BP_STORE_KW_NONE));
    ASSERT_STR_EQ(in.match_rule, "triage");
    ASSERT_EQ(in.contact_id, 0);
    ASSERT_EQ(q("SELECT count(*) FROM contact WHERE address='+15550100999'"), 0);
    ASSERT_EQ(q("SELECT count(*) FROM inbound_unmatched WHERE reason='unknown_sender'"), 1);
}

static void test_stop_once(void)
{
    struct bp_store_inbound in = {0};
    renders = 0;
    ASSERT_OK(deliver(&in, "SM5", "+15550100021", "STOP", BP_STORE_KW_STOP));
    ASSERT_EQ(in.reply, BP_STORE_REPLY_STOP);
    ASSERT_EQ(q("SELECT status='opted_out' FROM contact WHERE id=31"), 1);
    ASSERT_EQ(q("SELECT count(*) FROM consent_event WHERE contact_id=31 AND kind='opt_out'"), 1);
    ASSERT_EQ(q("SELECT count(*) FROM delivery d JOIN message m ON m.id=d.message_id"
                " WHERE d.contact_id=31 AND m.kind='system' AND d.state='queued'"
                " AND d.body='reply-1-vi'"), 1);
    ASSERT_EQ(q("SELECT kind='keyword_stop' FROM message WHERE provider_msg_id='SM5'"), 1);
    memset(&in, 0, sizeof in);
    ASSERT_OK(deliver(&in, "SM6", "+15550100021", "stop", BP_STORE_KW_STOP));
    ASSERT_EQ(in.reply, BP_STORE_REPLY_NONE);          /* one confirmation only */
    ASSERT_EQ(renders, 1);
}

static void test_weak_yes(void)
{
    struct bp_store_inbound in = {0};
    /* contact 30 is active: "Sí" is an ordinary answer */
    ASSERT_OK(deliver(&in, "SM7", "+15550100020", "Sí", BP_STORE_KW_START_WEAK));
    ASSERT_EQ(in.reply, BP_STORE_REPLY_NONE);
    ASSERT_EQ(q("SELECT kind='normal' FROM message WHERE provider_msg_id='SM7'"), 1);
    /* contact 31 opted out above: "yes" opts back in */
    memset(&in, 0, sizeof in);
    ASSERT_OK(deliver(&in, "SM8", "+15550100021", "yes", BP_STORE_KW_START_WEAK));
    ASSERT_EQ(in.reply, BP_STORE_REPLY_START);
    ASSERT_EQ(q("SELECT status='active' FROM contact WHERE id=31"), 1);
    ASSERT_EQ(q("SELECT count(*) FROM consent_event WHERE contact_id=31 AND kind='opt_in'"), 1);
}

static void test_unknown_stop_and_help(void)
{
    struct bp_store_inbound in = {0};
    ASSERT_OK(deliver(&in, "SM9", "+15550100777", "STOP", BP_STORE_KW_STOP));
    ASSERT_EQ(q("SELECT status='opted_out' FROM contact WHERE address='+15550100777'"), 1);
    ASSERT_EQ(in.reply, BP_STORE_REPLY_STOP);
    memset(&in, 0, sizeof in);
    ASSERT_OK(deliver(&in, "SM10", "+15550100778", "HELP", BP_STORE_KW_HELP));
    ASSERT_EQ(in.reply, BP_STORE_REPLY_HELP);
    ASSERT_EQ(q("SELECT count(*) FROM delivery d JOIN contact c ON c.id=d.contact_id"
                " WHERE c.address='+15550100778'"), 1);
}

static void test_possible_revocation(void)
{
    struct bp_store_inbound in = {0};
    in.possible_revocation = true;
    ASSERT_OK(deliver(&in, "SM11", "+15550100021", "please stop by the office", BP_STORE_KW_NONE));
    ASSERT_EQ(q("SELECT possible_revocation FROM message WHERE provider_msg_id='SM11'"), 1);
    ASSERT_EQ(q("SELECT count(*) FROM consent_event WHERE kind='possible_revocation'"), 1);
    ASSERT_EQ(q("SELECT status='active' FROM contact WHERE id=31"), 1);
}

/* A retry whose fields would write before the insert (an unknown sender's
 * STOP creates a contact) still changes nothing. */
static void test_retry_changes_nothing(void)
{
    struct bp_store_inbound in = {0};
    long long contacts = q("SELECT count(*) FROM contact"), events = q(
        "SELECT count(*) FROM consent_event"), deliveries = q("SELECT count(*) FROM delivery");
    ASSERT_OK(deliver(&in, "SM4", "+15550100555", "STOP", BP_STORE_KW_STOP));
    ASSERT_TRUE(in.duplicate);
    ASSERT_EQ(in.reply, BP_STORE_REPLY_NONE);
    ASSERT_EQ(q("SELECT count(*) FROM contact"), contacts);
    ASSERT_EQ(q("SELECT count(*) FROM consent_event"), events);
    ASSERT_EQ(q("SELECT count(*) FROM delivery"), deliveries);
    ASSERT_EQ(q("SELECT kind='normal' FROM message WHERE provider_msg_id='SM4'"), 1);
}

int main(void)
{
    setup();
    BP_TEST(test_single_student);
    BP_TEST(test_duplicate);
    BP_TEST(test_two_students_then_recent_outbound);
    BP_TEST(test_unknown_sender);
    BP_TEST(test_stop_once);
    BP_TEST(test_weak_yes);
    BP_TEST(test_unknown_stop_and_help);
    BP_TEST(test_possible_revocation);
    BP_TEST(test_retry_changes_nothing);
    sqlite3_close(peek);
    bp_store_close(store);
    return bp_test_done();
}
