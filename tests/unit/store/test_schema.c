/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The constraints of the data model (migrations/0001_init.sql) that make bad
 * data impossible.  One test each; every test first shows that the good
 * row is accepted, so a refusal proves the constraint and not a broken
 * fixture.  These tests document the schema for the other modules.
 */
#include <string.h>

#include "bp_test.h"
#include "store_test.h"

/* A school, a section, a student, a guardian with a phone and an email. */
static const char FIXTURE[] =
    "INSERT INTO school (id, sourced_id, name, created_at, updated_at)"
    " VALUES (1, 'org1', 'Lincoln Elementary', 1, 1);"
    "INSERT INTO section (id, school_id, sourced_id, title, created_at,"
    " updated_at) VALUES (1, 1, 'cls1', 'Grade 3A', 1, 1);"
    "INSERT INTO student (id, school_id, sourced_id, given_name, family_name,"
    " created_at, updated_at) VALUES (1, 1, 'stu1', 'Ana', 'Diaz', 1, 1);"
    "INSERT INTO guardian (id, sourced_id, given_name, family_name,"
    " created_at, updated_at) VALUES (1, 'par1', 'Rosa', 'Diaz', 1, 1);"
    "INSERT INTO contact (id, kind, address, created_at, updated_at)"
    " VALUES (1, 'sms', '+15551234567', 1, 1);"
    "INSERT INTO contact (id, kind, address, created_at, updated_at)"
    " VALUES (2, 'email', 'rosa@example.org', 1, 1);"
    "INSERT INTO conversation (id, student_id, reply_token, created_at)"
    " VALUES (1, 1, 'tok1', 1);"
    "INSERT INTO message (id, conversation_id, direction, channel, body,"
    " created_at) VALUES (1, 1, 'out', 'sms', 'Hello', 1);";

static struct bp_store *fixture(void)
{
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, true);

    if (s != NULL && st_exec(s, FIXTURE) != SQLITE_OK) {
        printf("# fixture: %s\n", sqlite3_errmsg(s->db));
        bp_store_close(s);
        return NULL;
    }
    return s;
}

static const char DELIVERY_FMT[] =
    "INSERT INTO delivery (message_id, contact_id, channel, body, state,"
    " held_reason, idempotency_key, created_at, updated_at)"
    " VALUES (1, 1, 'sms', 'Hello', %s, %s, %s, 1, 1)";

static int insert_delivery(struct bp_store *s, const char *state,
                           const char *reason, const char *key)
{
    char sql[512];
    snprintf(sql, sizeof sql, DELIVERY_FMT, state, reason, key);
    return st_exec(s, sql);
}

static int insert_contact(struct bp_store *s, const char *kind,
                          const char *address)
{
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO contact (kind, address, created_at,"
             " updated_at) VALUES ('%s', '%s', 1, 1)", kind, address);
    return st_exec(s, sql);
}

static void test_enum_check_refuses_bogus_state(void)
{
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(insert_delivery(s, "'queued'", "NULL", "'k1'"), SQLITE_OK);
    ASSERT_EQ(insert_delivery(s, "'bogus'", "NULL", "'k2'"), SQLITE_CONSTRAINT);
    ASSERT_EQ(st_exec(s, "UPDATE delivery SET state = 'bogus'"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(st_exec(s, "INSERT INTO staff (email, role, created_at,"
                         " updated_at) VALUES ('t@example.org', 'janitor', 1, 1)"),
              SQLITE_CONSTRAINT);
    bp_store_close(s);
}

static void test_phone_must_be_e164(void)
{
    static const char *const bad[] = {
        "5551234567", "+1 555 123 4567", "+1-555-123-4567", "+05551234567",
        "+1555", "+12345678901234567", "15551234567", "+1555123456x",
    };
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(insert_contact(s, "sms", "+447700900123"), SQLITE_OK);
    for (size_t i = 0; i < BP_ARRAY_LEN(bad); i++) {
        if (insert_contact(s, "sms", bad[i]) != SQLITE_CONSTRAINT)
            printf("# accepted %s\n", bad[i]);
        ASSERT_EQ(insert_contact(s, "sms", bad[i]), SQLITE_CONSTRAINT);
    }
    bp_store_close(s);
}

static void test_email_must_be_lower_case(void)
{
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(insert_contact(s, "email", "ana.diaz@example.org"), SQLITE_OK);
    ASSERT_EQ(insert_contact(s, "email", "Ana.Diaz@example.org"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(insert_contact(s, "email", "ana@EXAMPLE.ORG"), SQLITE_CONSTRAINT);
    ASSERT_EQ(insert_contact(s, "email", "not-an-address"), SQLITE_CONSTRAINT);
    bp_store_close(s);
}

static void test_contact_address_unique_per_kind(void)
{
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(insert_contact(s, "sms", "+15557654321"), SQLITE_OK);
    ASSERT_EQ(insert_contact(s, "sms", "+15557654321"), SQLITE_CONSTRAINT);
    ASSERT_EQ(insert_contact(s, "email", "rosa@example.org"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM contact"), 3);
    bp_store_close(s);
}

static void test_provider_message_id_unique(void)
{
    static const char IN[] =
        "INSERT INTO message (direction, channel, body, provider,"
        " provider_msg_id, created_at) VALUES ('in', 'sms', 'Hi', 'twilio', %s, 1)";
    char sql[512];
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    snprintf(sql, sizeof sql, IN, "'SM1'");
    ASSERT_EQ(st_exec(s, sql), SQLITE_OK);
    ASSERT_EQ(st_exec(s, sql), SQLITE_CONSTRAINT);   /* provider retry */
    snprintf(sql, sizeof sql, IN, "'SM2'");
    ASSERT_EQ(st_exec(s, sql), SQLITE_OK);
    snprintf(sql, sizeof sql, IN, "NULL");           /* id without provider */
    ASSERT_EQ(st_exec(s, sql), SQLITE_CONSTRAINT);
    bp_store_close(s);
}

static void test_foreign_keys_refuse_orphans(void)
{
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_exec(s, "INSERT INTO enrollment VALUES (1, 1)"), SQLITE_OK);
    ASSERT_EQ(st_exec(s, "INSERT INTO enrollment VALUES (1, 999)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(st_exec(s, "INSERT INTO enrollment VALUES (999, 1)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(st_exec(s, "INSERT INTO guardian_contact VALUES (1, 999)"),
              SQLITE_CONSTRAINT);
    bp_store_close(s);
}

static void test_audit_is_append_only(void)
{
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_exec(s, "INSERT INTO audit (at, actor, action, hash)"
                         " VALUES (1, 'cli', 'test', x'00')"), SQLITE_OK);
    ASSERT_EQ(st_exec(s, "UPDATE audit SET action = 'edited'"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(st_exec(s, "DELETE FROM audit"), SQLITE_CONSTRAINT);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit WHERE action = 'test'"),
              1);
    bp_store_close(s);
}

static void test_held_delivery_needs_reason(void)
{
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(insert_delivery(s, "'held'", "NULL", "'k1'"), SQLITE_CONSTRAINT);
    ASSERT_EQ(insert_delivery(s, "'held'", "'quiet_hours'", "'k1'"), SQLITE_OK);
    ASSERT_EQ(st_exec(s, "UPDATE delivery SET held_reason = NULL"),
              SQLITE_CONSTRAINT);
    bp_store_close(s);
}

/* Migration 0003: the e-mail Message-ID and the provider's id of a delivery
 * are unique through partial indexes (no index entry while NULL); the
 * lookups by them still use those indexes.  0004: message_contact is partial
 * too (announcement messages have no contact). */
static bool plan_uses(struct bp_store *s, const char *sql, const char *index)
{
    sqlite3_stmt *st;
    bool found = false;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    while (sqlite3_step(st) == SQLITE_ROW)
        if (strstr((const char *)sqlite3_column_text(st, 3), index) != NULL)
            found = true;
    sqlite3_finalize(st);
    return found;
}

static void test_delivery_send_ids_unique_when_set(void)
{
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(insert_delivery(s, "'queued'", "NULL", "'k1'"), SQLITE_OK);
    ASSERT_EQ(st_exec(s, "INSERT INTO delivery (message_id, contact_id, channel, body,"
                         " idempotency_key, created_at, updated_at)"
                         " VALUES (1, 2, 'email', 'Hello', 'k2', 1, 1)"), SQLITE_OK);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM delivery WHERE email_message_id IS NULL"
                        " AND provider_msg_id IS NULL"), 2);
    ASSERT_EQ(st_exec(s, "UPDATE delivery SET email_message_id = 'm@x' WHERE id = 1"),
              SQLITE_OK);
    ASSERT_EQ(st_exec(s, "UPDATE delivery SET email_message_id = 'm@x' WHERE id = 2"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(st_exec(s, "UPDATE delivery SET provider = 'twilio', provider_msg_id = 'SM1'"
                         " WHERE id = 1"), SQLITE_OK);
    ASSERT_EQ(st_exec(s, "UPDATE delivery SET provider = 'twilio', provider_msg_id = 'SM1'"
                         " WHERE id = 2"), SQLITE_CONSTRAINT);
    ASSERT_EQ(st_exec(s, "UPDATE delivery SET provider = 'other', provider_msg_id = 'SM1'"
                         " WHERE id = 2"), SQLITE_OK);
    ASSERT_TRUE(plan_uses(s, "EXPLAIN QUERY PLAN SELECT id FROM delivery"
                             " WHERE email_message_id = 'm@x'", "delivery_email_message_id"));
    ASSERT_TRUE(plan_uses(s, "EXPLAIN QUERY PLAN SELECT id FROM delivery"
                             " WHERE provider = 'twilio' AND provider_msg_id = 'SM1'",
                          "delivery_provider_msg"));
    /* 0004: messages by contact, the same way */
    ASSERT_TRUE(plan_uses(s, "EXPLAIN QUERY PLAN SELECT id FROM message WHERE contact_id = 2"
                             " AND direction = 'in' ORDER BY created_at", "message_contact"));
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM sqlite_schema WHERE name = 'message_contact'"
                        " AND sql LIKE '%WHERE contact_id IS NOT NULL'"), 1);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'delivery'"
                        " AND type = 'index' AND sql IS NULL"), 2); /* idempotency_key,
                                                                       (message, contact) */
    bp_store_close(s);
}

/* 0005: message's three send/receive ids are partial unique indexes too:
 * no index entry while NULL (an announcement's messages, the e-mail columns
 * of an SMS), the lookups the inbound paths make still use them. */
static void test_message_ids_partial_unique(void)
{
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'message'"
                        " AND type = 'index' AND sql IS NULL"), 0);   /* no autoindex */
    ASSERT_TRUE(plan_uses(s, "EXPLAIN QUERY PLAN SELECT id FROM message"
                             " WHERE provider = 'twilio' AND provider_msg_id = 'SM1'",
                          "message_provider_msg"));
    ASSERT_TRUE(plan_uses(s, "EXPLAIN QUERY PLAN SELECT id FROM message"
                             " WHERE email_message_id = 'a@x'", "message_email_message_id"));
    ASSERT_TRUE(plan_uses(s, "EXPLAIN QUERY PLAN SELECT id FROM message"
                             " WHERE raw_sha256 = 'ab'", "message_raw_sha256"));
    ASSERT_EQ(st_exec(s, "INSERT INTO message (direction, channel, body, email_message_id,"
                         " raw_sha256, created_at) VALUES ('in', 'email', 'a', 'a@x', 'ab', 1),"
                         " ('in', 'email', 'b', NULL, NULL, 1), ('in', 'email', 'c', NULL,"
                         " NULL, 1)"), SQLITE_OK);
    ASSERT_EQ(st_exec(s, "INSERT INTO message (direction, channel, body, raw_sha256,"
                         " created_at) VALUES ('in', 'email', 'd', 'ab', 1)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(st_exec(s, "INSERT INTO message (direction, channel, body, email_message_id,"
                         " created_at) VALUES ('in', 'email', 'd', 'a@x', 1)"),
              SQLITE_CONSTRAINT);
    bp_store_close(s);
}

/* 0006: no conversation.last_message_at; a conversation's latest message is
 * one seek in message_conversation. */
static void test_conversation_latest_from_index(void)
{
    struct bp_store *s = fixture();

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM pragma_table_info('conversation')"
                        " WHERE name = 'last_message_at'"), 0);
    ASSERT_TRUE(plan_uses(s, "EXPLAIN QUERY PLAN SELECT max(created_at) FROM message"
                             " WHERE conversation_id = 1", "message_conversation"));
    bp_store_close(s);
}

/* Migration 0008: delivery_due holds the rows the outbox can still move
 * (queued, retry_wait, sending), and every query of the outbox that walks
 * it still does: a partial index is used only when the query's terms imply
 * its WHERE (state IN (...) does not; one equality per state does). */
static void test_delivery_due_is_partial_and_used(void)
{
    struct bp_store *s = fixture();
    char sql[4096];

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM sqlite_schema WHERE name = 'delivery_due'"
                        " AND sql LIKE '%WHERE state = ''queued'' OR state = ''retry_wait''"
                        " OR state = ''sending'''"), 1);
    for (size_t i = 0; bp__store_due_queries[i] != NULL; i++) {
        snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", bp__store_due_queries[i]);
        if (!plan_uses(s, sql, "delivery_due"))
            fprintf(stderr, "# no delivery_due in the plan of: %s\n", bp__store_due_queries[i]);
        ASSERT_TRUE(plan_uses(s, sql, "delivery_due"));
    }
    /* what the index no longer serves: a state outside it */
    ASSERT_FALSE(plan_uses(s, "EXPLAIN QUERY PLAN SELECT id FROM delivery"
                              " WHERE state = 'sent' AND next_attempt_at > 0", "delivery_due"));
    bp_store_close(s);
}

int main(void)
{
    BP_TEST(test_enum_check_refuses_bogus_state);
    BP_TEST(test_phone_must_be_e164);
    BP_TEST(test_email_must_be_lower_case);
    BP_TEST(test_contact_address_unique_per_kind);
    BP_TEST(test_provider_message_id_unique);
    BP_TEST(test_foreign_keys_refuse_orphans);
    BP_TEST(test_audit_is_append_only);
    BP_TEST(test_held_delivery_needs_reason);
    BP_TEST(test_delivery_send_ids_unique_when_set);
    BP_TEST(test_message_ids_partial_unique);
    BP_TEST(test_conversation_latest_from_index);
    BP_TEST(test_delivery_due_is_partial_and_used);
    return bp_test_done();
}
