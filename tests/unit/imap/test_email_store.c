/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/store/email_in.c on a real SQLite file: threading rules
 * (reply token, our Message-IDs, announcement replies scoped by family,
 * sender rules, triage), duplicates, auto-replies, bounces, IMAP cursor. */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "bp/store_email.h"
#include "bp_test.h"

#define NOW 2000000000LL
#define DAY (86400LL * 1000)

static struct bp_store *store;
static sqlite3 *peek;       /* second connection to seed and inspect */
static int serial;

static void exec_peek(const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(peek, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sql: %s\n", err);
        exit(99);
    }
}

static void seed(void)
{
    exec_peek(
        "INSERT INTO school VALUES (1,'sch','Riverside','America/New_York','en',NULL,NULL,0,0);"
        "INSERT INTO student (id,school_id,sourced_id,given_name,family_name,created_at,updated_at)"
        " VALUES (10,1,'s10','Ana','Diaz',0,0),(11,1,'s11','Luis','Diaz',0,0),(12,1,'s12','Mai','Tran',0,0);"
        "INSERT INTO guardian (id,sourced_id,given_name,family_name,locale,created_at,updated_at)"
        " VALUES (20,'g20','Rosa','Diaz','es',0,0),(21,'g21','Lan','Tran','vi',0,0);"
        "INSERT INTO student_guardian (student_id,guardian_id) VALUES (10,20),(11,20),(12,21);"
        "INSERT INTO contact (id,kind,address,created_at,updated_at)"
        " VALUES (30,'email','rosa@example.org',0,0),(31,'email','lan@example.net',0,0);"
        "INSERT INTO guardian_contact VALUES (20,30),(21,31);"
        "INSERT INTO conversation (id,student_id,reply_token,created_at)"
        " VALUES (510,10,'tok10',0),(511,11,'tok11',0),(512,12,'tok12',0);"
        "INSERT INTO announcement (id,audience_kind,body,created_at) VALUES (900,'school','Trip',0);"
        "INSERT INTO message (id,conversation_id,direction,channel,announcement_id,body,"
        "  email_message_id,created_at)"
        " VALUES (600,510,'out','email',900,'Trip',NULL,0),(601,512,'out','email',900,'Trip',NULL,0),"
        "        (602,510,'out','email',900,'Trip','ann-shared@school.example',0);"
        "INSERT INTO delivery (id,message_id,contact_id,channel,body,state,idempotency_key,"
        "  email_message_id,created_at,updated_at)"
        " VALUES (700,600,30,'email','Trip','sent','k700','k700@school.example',0,0),"
        "        (701,601,31,'email','Trip','sent','k701','k701@school.example',0,0);");
}

static void setup(void)
{
    char path[300];
    struct bp_store_opts o = {.path = path, .sync_full = false};
    struct bp_errbuf eb;
    snprintf(path, sizeof path, "%s/email_in.db", bp_test_tmpdir());
    if (bp_store_open(&o, &store, &eb) < 0 || bp_store_migrate(store, NULL, NULL, &eb) < 0) {
        fprintf(stderr, "setup: %s\n", eb.msg);
        exit(99);
    }
    sqlite3_open(path, &peek);
    sqlite3_exec(peek, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    seed();
}

/* A message with a fresh hash and Message-ID unless the test sets them. */
static void init_in(struct bp_store_email_in *in, const char *from, const char *to)
{
    static char sha[65], mid[64];
    static const char *rcpt[1];
    memset(in, 0, sizeof *in);
    serial++;
    snprintf(sha, sizeof sha, "%064d", serial);
    snprintf(mid, sizeof mid, "m%d@client.example", serial);
    rcpt[0] = to;
    in->raw_sha256 = sha;
    in->email_message_id = mid;
    in->from_addr = from;
    in->recipients = rcpt;
    in->nrecipients = to ? 1 : 0;
    in->subject = "Re: Field trip";
    in->body = "Yes, she can go.";
    in->body_full = "Yes, she can go.\n\nOn Mon, School wrote:\n> Trip";
    in->now_ms = NOW;
    in->recent_window_ms = 14 * DAY;
}

static int put(struct bp_store_email_in *in)
{
    int rc;
    if (bp_store_begin(store) < 0)
        return -1;
    rc = bp_store_email_in(store, in);
    if (rc < 0) {
        bp_store_rollback(store);
        return rc;
    }
    return bp_store_commit(store);
}

__attribute__((format(printf, 1, 2)))
static long long q(const char *fmt, ...)
{
    char sql[1024];
    sqlite3_stmt *st;
    long long v = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (sqlite3_prepare_v2(peek, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "q: %s\n", sqlite3_errmsg(peek));
        return -2;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_reply_token(void)
{
    struct bp_store_email_in in;
    init_in(&in, "lan@example.net", "replies+tok12@school.example");
    ASSERT_OK(put(&in));
    ASSERT_STR_EQ(in.match_rule, "reply_token");
    ASSERT_EQ(in.conversation_id, 512);
    ASSERT_EQ(in.contact_id, 31);
    ASSERT_EQ(q("SELECT guardian_id FROM message WHERE id=%lld", (long long)in.message_id), 21);
    ASSERT_EQ(q("SELECT body='Yes, she can go.' AND body_full LIKE '%%> Trip' AND kind='normal'"
                " AND channel='email' AND direction='in' FROM message WHERE id=%lld",
                (long long)in.message_id), 1);
    /* the token also works from an address we do not know (no guardian) */
    init_in(&in, "grandpa@other.example", "replies+tok11@school.example");
    ASSERT_OK(put(&in));
    ASSERT_STR_EQ(in.match_rule, "reply_token");
    ASSERT_EQ(in.conversation_id, 511);
    ASSERT_EQ(in.contact_id, 0);
    /* the List-Unsubscribe mailto address carries a delivery token, not a
     * reply token (test_unsubscribe_mailto): never threaded as one */
    init_in(&in, "rosa@example.org", "replies+unsubscribe-tok10@school.example");
    ASSERT_OK(put(&in));
    ASSERT_FALSE(bp_str_eq(in.match_rule, "reply_token"));
}

static void test_headers(void)
{
    struct bp_store_email_in in;
    const char *refs[] = {"k701@school.example", "unknown@elsewhere"};
    init_in(&in, "rosa@example.org", "office@school.example");
    in.in_reply_to = "k700@school.example";
    ASSERT_OK(put(&in));
    ASSERT_STR_EQ(in.match_rule, "email_header");
    ASSERT_EQ(in.conversation_id, 510);
    ASSERT_EQ(q("SELECT in_reply_to='k700@school.example' FROM message WHERE id=%lld",
                (long long)in.message_id), 1);
    /* References, newest first; an unknown In-Reply-To falls through */
    init_in(&in, "lan@example.net", "office@school.example");
    in.in_reply_to = "nope@elsewhere";
    in.references = refs;
    in.nreferences = 2;
    ASSERT_OK(put(&in));
    ASSERT_STR_EQ(in.match_rule, "email_header");
    ASSERT_EQ(in.conversation_id, 512);
    ASSERT_EQ(q("SELECT references_hdr='<k701@school.example> <unknown@elsewhere>'"
                " FROM message WHERE id=%lld", (long long)in.message_id), 1);
}

/* Both families answer the announcement's shared message: never merged. */
static void test_two_families_one_announcement(void)
{
    struct bp_store_email_in in;
    init_in(&in, "lan@example.net", "office@school.example");
    in.in_reply_to = "ann-shared@school.example";
    ASSERT_OK(put(&in));
    ASSERT_STR_EQ(in.match_rule, "email_header");
    ASSERT_EQ(in.conversation_id, 512);
    ASSERT_EQ(q("SELECT guardian_id FROM message WHERE id=%lld", (long long)in.message_id), 21);
    init_in(&in, "rosa@example.org", "office@school.example");
    in.in_reply_to = "ann-shared@school.example";
    ASSERT_OK(put(&in));
    ASSERT_EQ(in.conversation_id, 510);
    /* a stranger quoting it goes to triage, not to Rosa's children */
    init_in(&in, "stranger@else.example", "office@school.example");
    in.in_reply_to = "ann-shared@school.example";
    ASSERT_OK(put(&in));
    ASSERT_STR_EQ(in.match_rule, "triage");
    ASSERT_EQ(in.conversation_id, 0);
}

static void test_sender_rules_and_subject(void)
{
    struct bp_store_email_in in;
    init_in(&in, "lan@example.net", "office@school.example");
    ASSERT_OK(put(&in));
    ASSERT_STR_EQ(in.match_rule, "single_student");
    ASSERT_EQ(in.conversation_id, 512);
    /* Rosa has two children and no recent delivery: triage, ambiguous */
    init_in(&in, "rosa@example.org", "office@school.example");
    ASSERT_OK(put(&in));
    ASSERT_STR_EQ(in.match_rule, "triage");
    ASSERT_EQ(q("SELECT count(*) FROM inbound_unmatched WHERE message_id=%lld"
                " AND reason='ambiguous' AND candidates='[10,11]'", (long long)in.message_id), 1);
    /* after a delivery about Luis yesterday: recent_outbound */
    exec_peek("INSERT INTO message (id,conversation_id,direction,channel,body,created_at)"
              " VALUES (5603,511,'out','email','Luis forgot his coat',1990000000);"
              "INSERT INTO delivery (id,message_id,contact_id,channel,body,state,"
              "  idempotency_key,created_at,updated_at)"
              " VALUES (703,5603,30,'email','coat','sent','k703',1990000000,1990000000);");
    init_in(&in, "rosa@example.org", "office@school.example");
    ASSERT_OK(put(&in));
    ASSERT_STR_EQ(in.match_rule, "recent_outbound");
    ASSERT_EQ(in.conversation_id, 511);
    ASSERT_EQ(q("SELECT guardian_id FROM message WHERE id=%lld", (long long)in.message_id), 20);
    /* a known subject from an unknown sender never threads */
    init_in(&in, "someone@nowhere.example", "office@school.example");
    in.subject = "Re: Trip";
    ASSERT_OK(put(&in));
    ASSERT_STR_EQ(in.match_rule, "triage");
    ASSERT_EQ(q("SELECT count(*) FROM inbound_unmatched WHERE message_id=%lld"
                " AND reason='unknown_sender'", (long long)in.message_id), 1);
}

static void test_duplicates(void)
{
    struct bp_store_email_in in;
    int64_t first;
    init_in(&in, "lan@example.net", "replies+tok12@school.example");
    ASSERT_OK(put(&in));
    first = in.message_id;
    ASSERT_FALSE(in.duplicate);
    ASSERT_OK(put(&in));                       /* same hash and Message-ID */
    ASSERT_TRUE(in.duplicate);
    ASSERT_EQ(in.message_id, (long long)first);
    in.raw_sha256 = "ffff";                    /* same Message-ID, new bytes */
    ASSERT_OK(put(&in));
    ASSERT_TRUE(in.duplicate);
    ASSERT_EQ(q("SELECT count(*) FROM message WHERE id>=%lld", (long long)first), 1);
    init_in(&in, "lan@example.net", "replies+tok12@school.example");
    in.email_message_id = NULL;                /* no Message-ID: the hash */
    ASSERT_OK(put(&in));
    ASSERT_FALSE(in.duplicate);
    ASSERT_OK(put(&in));
    ASSERT_TRUE(in.duplicate);
}

static void test_auto_reply(void)
{
    struct bp_store_email_in in;
    init_in(&in, "lan@example.net", "replies+tok12@school.example");
    in.kind = BP_STORE_EMAIL_AUTO_REPLY;
    in.body = "I am out of the office until Monday.";
    ASSERT_OK(put(&in));
    ASSERT_EQ(in.conversation_id, 512);
    ASSERT_EQ(q("SELECT kind='auto_reply' FROM message WHERE id=%lld", (long long)in.message_id), 1);
    ASSERT_EQ(q("SELECT status='active' FROM contact WHERE id=%lld", 31LL), 1);
    ASSERT_EQ(q("SELECT count(*) FROM consent_event WHERE contact_id=%lld", 31LL), 0);
}

static void test_bounces(void)
{
    struct bp_store_email_in in;
    /* soft bounce found by the failed address: failed, contact kept */
    init_in(&in, "mailer-daemon@mx.example.org", "office@school.example");
    in.kind = BP_STORE_EMAIL_BOUNCE;
    in.bounce_recipient = "rosa@example.org";
    in.bounce_status = "4.4.7";
    exec_peek("UPDATE delivery SET updated_at=1995000000 WHERE id=700");
    ASSERT_OK(put(&in));
    ASSERT_EQ(in.bounced_delivery_id, 700);
    ASSERT_FALSE(in.contact_bounced);
    ASSERT_EQ(q("SELECT state='failed' AND error_code='4.4.7' FROM delivery WHERE id=%lld",
                700LL), 1);
    ASSERT_EQ(q("SELECT status='active' FROM contact WHERE id=%lld", 30LL), 1);
    /* hard bounce by the original Message-ID */
    init_in(&in, "mailer-daemon@mx.example.net", "office@school.example");
    in.kind = BP_STORE_EMAIL_BOUNCE;
    in.bounce_message_id = "k701@school.example";
    in.bounce_recipient = "lan@example.net";
    in.bounce_status = "5.1.1";
    in.bounce_hard = true;
    ASSERT_OK(put(&in));
    ASSERT_EQ(in.bounced_delivery_id, 701);
    ASSERT_TRUE(in.contact_bounced);
    ASSERT_EQ(in.conversation_id, 512);
    ASSERT_EQ(q("SELECT state='undeliverable' AND error_code='5.1.1'"
                " AND error_class='permanent' FROM delivery WHERE id=%lld", 701LL), 1);
    ASSERT_EQ(q("SELECT status='bounced' FROM contact WHERE id=%lld", 31LL), 1);
    ASSERT_EQ(q("SELECT count(*) FROM consent_event WHERE contact_id=31 AND kind='bounced'"
                " AND source='email' AND message_id=%lld", (long long)in.message_id), 1);
    ASSERT_EQ(q("SELECT kind='bounce' FROM message WHERE id=%lld", (long long)in.message_id), 1);
    /* a bounce of nothing we sent: stored, triaged, nothing changed */
    init_in(&in, "mailer-daemon@mx.example.net", "office@school.example");
    in.kind = BP_STORE_EMAIL_BOUNCE;
    in.bounce_message_id = "other@else";
    in.bounce_hard = true;
    ASSERT_OK(put(&in));
    ASSERT_EQ(in.bounced_delivery_id, 0);
    ASSERT_STR_EQ(in.match_rule, "triage");
}

static void test_cursor(void)
{
    struct bp_store_imap_cursor c = {"u@h", "INBOX", 7, 12, NOW};
    int64_t uv = 0, last = 0;
    ASSERT_EQ(bp_store_imap_cursor_get(store, "u@h", "INBOX", &uv, &last), BP_ENOTFOUND);
    ASSERT_OK(bp_store_imap_cursor_put(store, &c));
    ASSERT_OK(bp_store_imap_cursor_get(store, "u@h", "INBOX", &uv, &last));
    ASSERT_EQ(uv, 7);
    ASSERT_EQ(last, 12);
    c.last_uid = 5;                             /* never backwards */
    ASSERT_OK(bp_store_imap_cursor_put(store, &c));
    ASSERT_OK(bp_store_imap_cursor_get(store, "u@h", "INBOX", &uv, &last));
    ASSERT_EQ(last, 12);
    c.uidvalidity = 8;                          /* a new mailbox: replaced */
    c.last_uid = 3;
    ASSERT_OK(bp_store_imap_cursor_put(store, &c));
    ASSERT_OK(bp_store_imap_cursor_get(store, "u@h", "INBOX", &uv, &last));
    ASSERT_EQ(uv, 8);
    ASSERT_EQ(last, 3);
    c.uidvalidity = 0;
    ASSERT_EQ(bp_store_imap_cursor_put(store, &c), BP_EINVAL_INPUT);
}

/* Mail to the List-Unsubscribe mailto address opts that delivery's contact
 * out (once), and is filed in the student's conversation as an opt-out. */
static void test_unsubscribe_mailto(void)
{
    struct bp_store_email_in in;
    exec_peek("INSERT INTO contact (id,kind,address,created_at,updated_at)"
              " VALUES (32,'email','lan.work@example.net',0,0);"
              "INSERT INTO guardian_contact VALUES (21,32);"
              "INSERT INTO delivery (id,message_id,contact_id,channel,body,state,idempotency_key,"
              "  email_message_id,created_at,updated_at)"
              " VALUES (720,601,32,'email','Trip','sent','a9-0f3c2e1d9b8a7766-32',"
              "  'k720@school.example',0,0);");
    init_in(&in, "lan.work@example.net",
            "replies+unsubscribe-a9-0f3c2e1d9b8a7766-32@school.example");
    in.subject = "unsubscribe";
    in.body = "";
    ASSERT_OK(put(&in));
    ASSERT_EQ(in.conversation_id, 512);
    ASSERT_EQ(q("SELECT status='opted_out' FROM contact WHERE id=32"), 1);
    ASSERT_EQ(q("SELECT count(*) FROM consent_event WHERE contact_id=32 AND kind='opt_out'"
                " AND source='email'"), 1);
    ASSERT_EQ(q("SELECT kind='keyword_stop' FROM message WHERE id=%lld",
                (long long)in.message_id), 1);
    /* a second request (another message) changes nothing more */
    init_in(&in, "lan.work@example.net",
            "replies+unsubscribe-a9-0f3c2e1d9b8a7766-32@school.example");
    ASSERT_OK(put(&in));
    ASSERT_EQ(q("SELECT count(*) FROM consent_event WHERE contact_id=32"), 1);
    /* an unknown token is not an opt-out and not a reply token either */
    init_in(&in, "lan@example.net", "replies+unsubscribe-nope@school.example");
    ASSERT_OK(put(&in));
    ASSERT_EQ(q("SELECT count(*) FROM consent_event WHERE message_id=%lld",
                (long long)in.message_id), 0);
    ASSERT_EQ(q("SELECT kind='normal' FROM message WHERE id=%lld", (long long)in.message_id), 1);
}

int main(void)
{
    setup();
    BP_TEST(test_reply_token);
    BP_TEST(test_headers);
    BP_TEST(test_two_families_one_announcement);
    BP_TEST(test_sender_rules_and_subject);
    BP_TEST(test_duplicates);
    BP_TEST(test_auto_reply);
    BP_TEST(test_bounces);
    BP_TEST(test_cursor);
    BP_TEST(test_unsubscribe_mailto);
    sqlite3_close(peek);
    bp_store_close(store);
    return bp_test_done();
}
