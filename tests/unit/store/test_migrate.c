/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Migrations (src/store/migrate.c): a fresh database reaches the latest
 * version with every table of the data model; an upgrade keeps data; a
 * failing migration leaves the database at its previous version and
 * unchanged; a database newer than the program is refused; migrating twice
 * is a no-op.  Upgrade and failure use test-only migration lists through
 * bp__store_migrate_list.
 */
#include "bp_test.h"
#include "store_test.h"

/* DESIGN.md section 3 plus the tables 0001_init.sql adds for them. */
static const char *const TABLES[] = {
    "school", "staff", "section", "section_staff", "student", "enrollment",
    "guardian", "student_guardian", "contact", "guardian_contact",
    "conversation", "message", "delivery", "announcement", "template",
    "template_variant", "consent_event", "audit", "session", "imap_cursor",
    "inbound_unmatched", "roster_import",
};

static const struct bp__store_migration TWO[] = {
    {1, "0001_a.sql", "CREATE TABLE a (x INTEGER NOT NULL);"},
    {2, "0002_b.sql", "ALTER TABLE a ADD COLUMN y TEXT NOT NULL DEFAULT 'd';"
                      "CREATE TABLE b (z INTEGER);"},
};

/* Version 2 creates a table, then fails: nothing of it may remain. */
static const struct bp__store_migration BROKEN[] = {
    {1, "0001_a.sql", "CREATE TABLE a (x INTEGER NOT NULL);"},
    {2, "0002_bad.sql", "CREATE TABLE c (q INTEGER);"
                        "INSERT INTO c VALUES (1);"
                        "UPDATE a SET x = x + 100;"
                        "INSERT INTO no_such_table VALUES (1);"},
};

static bool has_table(struct bp_store *s, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_schema WHERE "
             "type = 'table' AND name = '%s'", name);
    return st_int(s, sql) == 1;
}

static void test_fresh_database_reaches_latest(void)
{
    struct bp_errbuf eb = {{0}, {0}};
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, false);
    int from = -1, to = -1, v = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_TRUE(bp_store_schema_latest() >= 1);
    ASSERT_EQ(bp_store_schema_latest(),
              bp__store_migrations[bp__store_nmigrations - 1].version);
    ASSERT_OK(bp_store_schema_version(s, &v));
    ASSERT_EQ(v, 0);
    ASSERT_OK(bp_store_migrate(s, &from, &to, &eb));
    ASSERT_EQ(from, 0);
    ASSERT_EQ(to, bp_store_schema_latest());
    ASSERT_OK(bp_store_schema_version(s, &v));
    ASSERT_EQ(v, bp_store_schema_latest());
    for (size_t i = 0; i < BP_ARRAY_LEN(TABLES); i++) {
        if (!has_table(s, TABLES[i]))
            printf("# missing table %s\n", TABLES[i]);
        ASSERT_TRUE(has_table(s, TABLES[i]));
    }
    ASSERT_EQ(st_int(s, "PRAGMA foreign_keys"), 1);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM pragma_journal_mode "
                        "WHERE journal_mode = 'wal'"), 1);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    ASSERT_OK(bp_store_ping(s));
    bp_store_close(s);
}

static void test_upgrade_keeps_data(void)
{
    struct bp_errbuf eb = {{0}, {0}};
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, false);
    int from = -1, to = -1, v = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_OK(bp__store_migrate_list(s, TWO, 1, &from, &to, &eb));
    ASSERT_EQ(from, 0);
    ASSERT_EQ(to, 1);
    ASSERT_EQ(st_exec(s, "INSERT INTO a (x) VALUES (7), (8)"), SQLITE_OK);
    bp_store_close(s);

    s = st_open_path(path, false);      /* a later run of a newer program */
    ASSERT_TRUE(s != NULL);
    ASSERT_OK(bp__store_migrate_list(s, TWO, 2, &from, &to, &eb));
    ASSERT_EQ(from, 1);
    ASSERT_EQ(to, 2);
    ASSERT_OK(bp_store_schema_version(s, &v));
    ASSERT_EQ(v, 2);
    ASSERT_EQ(st_int(s, "SELECT sum(x) FROM a"), 15);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM a WHERE y = 'd'"), 2);
    ASSERT_TRUE(has_table(s, "b"));
    bp_store_close(s);
}

static void test_failing_migration_changes_nothing(void)
{
    struct bp_errbuf eb = {{0}, {0}};
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, false);
    int from = -1, to = -1, v = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_OK(bp__store_migrate_list(s, BROKEN, 1, NULL, NULL, &eb));
    ASSERT_EQ(st_exec(s, "INSERT INTO a (x) VALUES (1), (2)"), SQLITE_OK);
    ASSERT_EQ(bp__store_migrate_list(s, BROKEN, 2, &from, &to, &eb),
              BP_ESTORE);
    ASSERT_EQ(from, 1);
    ASSERT_STR_CONTAINS(eb.msg, "migration 0002 failed");
    ASSERT_STR_CONTAINS(eb.msg, "no_such_table");
    ASSERT_STR_CONTAINS(eb.where, "0002_bad.sql");
    ASSERT_OK(bp_store_schema_version(s, &v));
    ASSERT_EQ(v, 1);
    ASSERT_FALSE(has_table(s, "c"));
    ASSERT_EQ(st_int(s, "SELECT sum(x) FROM a"), 3);
    ASSERT_TRUE(sqlite3_get_autocommit(s->db) != 0);  /* no open transaction */
    bp_store_close(s);
}

static void test_newer_database_is_refused(void)
{
    struct bp_errbuf eb = {{0}, {0}};
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, true);
    int from = -1, v = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_exec(s, "PRAGMA user_version = 99"), SQLITE_OK);
    ASSERT_EQ(bp_store_migrate(s, &from, NULL, &eb), BP_ESCHEMA);
    ASSERT_EQ(from, 99);
    ASSERT_STR_CONTAINS(eb.msg, "newer");
    ASSERT_OK(bp_store_schema_version(s, &v));
    ASSERT_EQ(v, 99);
    bp_store_close(s);
}

static void test_migrate_twice_is_noop(void)
{
    struct bp_errbuf eb = {{0}, {0}};
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, true);
    long long objects;
    int from = -1, to = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_exec(s, "INSERT INTO school (sourced_id, name, created_at,"
                         " updated_at) VALUES ('s1', 'Lincoln', 1, 1)"),
              SQLITE_OK);
    objects = st_int(s, "SELECT count(*) FROM sqlite_schema");
    ASSERT_TRUE(objects > 20);
    ASSERT_OK(bp_store_migrate(s, &from, &to, &eb));
    ASSERT_EQ(from, bp_store_schema_latest());
    ASSERT_EQ(to, bp_store_schema_latest());
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM sqlite_schema"), objects);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM school"), 1);
    bp_store_close(s);
}

/* For the rebuild tests: a school, a student with a conversation, an SMS
 * and an e-mail contact, and one outbound message (id 1). */
static const char SEED[] =
    "INSERT INTO school (id, sourced_id, name, created_at, updated_at)"
    " VALUES (1, 'org1', 'Lincoln', 1, 1);"
    "INSERT INTO student (id, school_id, sourced_id, given_name, family_name,"
    " created_at, updated_at) VALUES (1, 1, 'stu1', 'Ana', 'Diaz', 1, 1);"
    "INSERT INTO contact (id, kind, address, created_at, updated_at)"
    " VALUES (1, 'sms', '+15551234567', 1, 1), (2, 'email', 'r@example.org', 1, 1);"
    "INSERT INTO conversation (id, student_id, reply_token, created_at)"
    " VALUES (1, 1, 'tok1', 1);"
    "INSERT INTO message (id, conversation_id, direction, channel, body, created_at)"
    " VALUES (1, 1, 'out', 'dashboard', 'Hello', 1);";

/* 0003 rebuilds delivery (partial unique indexes for the send ids): a
 * database at version 2 with deliveries keeps every row and value, the
 * deliveries' parents keep theirs, and uniqueness still holds. */
static void test_0003_keeps_deliveries(void)
{
    struct bp_errbuf eb = {{0}, {0}};
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, false);
    int from = -1, to = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_TRUE(bp__store_nmigrations >= 3);
    ASSERT_OK(bp__store_migrate_list(s, bp__store_migrations, 2, NULL, NULL, &eb));
    ASSERT_EQ(st_exec(s, SEED), SQLITE_OK);
    ASSERT_EQ(st_exec(s,
        "INSERT INTO delivery (id, message_id, contact_id, channel, body, state,"
        " attempts, idempotency_key, provider, provider_msg_id, created_at, updated_at)"
        " VALUES (7, 1, 1, 'sms', 'Hello', 'sent', 1, 'k1', 'twilio', 'SM1', 1, 2);"
        "INSERT INTO delivery (id, message_id, contact_id, channel, body, state,"
        " held_reason, idempotency_key, email_message_id, created_at, updated_at)"
        " VALUES (9, 1, 2, 'email', 'Hello', 'held', 'no_translation', 'k2', 'k2@x', 1, 2);"),
        SQLITE_OK);
    ASSERT_OK(bp_store_migrate(s, &from, &to, &eb));
    ASSERT_EQ(from, 2);
    ASSERT_EQ(to, bp_store_schema_latest());
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM delivery"), 2);
    ASSERT_EQ(st_int(s, "SELECT id FROM delivery WHERE provider = 'twilio'"
                        " AND provider_msg_id = 'SM1' AND state = 'sent' AND attempts = 1"), 7);
    ASSERT_EQ(st_int(s, "SELECT id FROM delivery WHERE email_message_id = 'k2@x'"
                        " AND held_reason = 'no_translation' AND updated_at = 2"), 9);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM message"), 1);
    ASSERT_EQ(st_exec(s, "INSERT INTO delivery (message_id, contact_id, channel, body,"
                         " idempotency_key, created_at, updated_at)"
                         " VALUES (1, 1, 'sms', 'x', 'k1', 1, 1)"), SQLITE_CONSTRAINT);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    ASSERT_EQ(st_exec(s, "DELETE FROM message"), SQLITE_OK);    /* cascade kept */
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM delivery"), 0);
    bp_store_close(s);
}

/* 0005 rebuilds message, which delivery, consent_event and
 * inbound_unmatched refer to (CASCADE / SET NULL): with foreign keys on,
 * its DROP TABLE would have emptied or changed them.  Every row and link
 * survives, foreign keys are on again afterwards, uniqueness holds. */
static void test_0005_keeps_messages_and_what_refers_to_them(void)
{
    struct bp_errbuf eb = {{0}, {0}};
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, false);
    int from = -1, to = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_TRUE(bp__store_nmigrations >= 5);
    ASSERT_OK(bp__store_migrate_list(s, bp__store_migrations, 4, NULL, NULL, &eb));
    ASSERT_EQ(st_exec(s, SEED), SQLITE_OK);
    ASSERT_EQ(st_exec(s,
        "INSERT INTO message (id, conversation_id, direction, channel, contact_id, body,"
        " provider, provider_msg_id, created_at)"
        " VALUES (2, NULL, 'in', 'sms', 1, 'STOP', 'twilio', 'SM1', 2);"
        "INSERT INTO message (id, conversation_id, direction, channel, contact_id, body,"
        " email_message_id, raw_sha256, created_at)"
        " VALUES (3, 1, 'in', 'email', 2, 'Yes', 'a@x', 'ab12', 3);"
        "INSERT INTO delivery (id, message_id, contact_id, channel, body, state,"
        " idempotency_key, created_at, updated_at)"
        " VALUES (7, 1, 1, 'sms', 'Hello', 'queued', 'k1', 1, 1);"
        "INSERT INTO consent_event (contact_id, kind, source, message_id, created_at)"
        " VALUES (1, 'opt_out', 'sms_keyword', 2, 2);"
        "INSERT INTO inbound_unmatched (message_id, reason, created_at)"
        " VALUES (2, 'unknown_sender', 2);"),
        SQLITE_OK);
    ASSERT_OK(bp_store_migrate(s, &from, &to, &eb));
    ASSERT_EQ(from, 4);
    ASSERT_EQ(to, bp_store_schema_latest());
    ASSERT_EQ(st_int(s, "PRAGMA foreign_keys"), 1);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM message"), 3);
    ASSERT_EQ(st_int(s, "SELECT message_id FROM delivery WHERE id = 7"), 1);
    ASSERT_EQ(st_int(s, "SELECT message_id FROM consent_event"), 2);
    ASSERT_EQ(st_int(s, "SELECT message_id FROM inbound_unmatched"), 2);
    ASSERT_EQ(st_int(s, "SELECT id FROM message WHERE provider = 'twilio'"
                        " AND provider_msg_id = 'SM1'"), 2);
    ASSERT_EQ(st_int(s, "SELECT id FROM message WHERE raw_sha256 = 'ab12'"
                        " AND email_message_id = 'a@x'"), 3);
    ASSERT_EQ(st_exec(s, "INSERT INTO message (direction, channel, body, provider,"
                         " provider_msg_id, created_at) VALUES ('in', 'sms', 'x',"
                         " 'twilio', 'SM1', 4)"), SQLITE_CONSTRAINT);
    ASSERT_EQ(st_exec(s, "INSERT INTO message (direction, channel, body, raw_sha256,"
                         " created_at) VALUES ('in', 'email', 'x', 'ab12', 4)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(st_exec(s, "INSERT INTO message (direction, channel, body, email_message_id,"
                         " created_at) VALUES ('in', 'email', 'x', 'a@x', 4)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    ASSERT_EQ(st_exec(s, "DELETE FROM message WHERE id = 2"), SQLITE_OK);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM inbound_unmatched"), 0);   /* cascade */
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM consent_event WHERE message_id IS NULL"), 1);
    bp_store_close(s);
}

/* A `-- bp:foreign_keys=off` migration that leaves a dangling reference is
 * rolled back by the foreign key check, and foreign keys are on again. */
static const struct bp__store_migration FK_OFF[] = {
    {1, "0001_pc.sql", "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                       "CREATE TABLE child (id INTEGER PRIMARY KEY,"
                       " parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);"},
    {2, "0002_rebuild.sql", "-- rebuilds parent\n-- bp:foreign_keys=off\n"
                            "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, n TEXT);"
                            "INSERT INTO parent_new (id) SELECT id FROM parent;"
                            "DROP TABLE parent;"
                            "ALTER TABLE parent_new RENAME TO parent;"},
    {3, "0003_dangling.sql", "-- \n-- bp:foreign_keys=off\nDELETE FROM parent;"},
};

static void test_foreign_keys_off_migration_is_checked(void)
{
    struct bp_errbuf eb = {{0}, {0}};
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, false);
    int v = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_OK(bp__store_migrate_list(s, FK_OFF, 1, NULL, NULL, &eb));
    ASSERT_EQ(st_exec(s, "INSERT INTO parent VALUES (1);"
                         "INSERT INTO child VALUES (10, 1)"), SQLITE_OK);
    ASSERT_OK(bp__store_migrate_list(s, FK_OFF, 2, NULL, NULL, &eb));
    ASSERT_EQ(st_int(s, "SELECT parent_id FROM child WHERE id = 10"), 1); /* no cascade */
    ASSERT_EQ(st_int(s, "PRAGMA foreign_keys"), 1);
    ASSERT_EQ(bp__store_migrate_list(s, FK_OFF, 3, NULL, NULL, &eb), BP_ESCHEMA);
    ASSERT_STR_CONTAINS(eb.msg, "migration 0003 failed");
    ASSERT_STR_CONTAINS(eb.msg, "child");
    ASSERT_OK(bp_store_schema_version(s, &v));
    ASSERT_EQ(v, 2);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM parent"), 1);
    ASSERT_EQ(st_int(s, "PRAGMA foreign_keys"), 1);
    ASSERT_TRUE(sqlite3_get_autocommit(s->db) != 0);
    bp_store_close(s);
}

int main(void)
{
    BP_TEST(test_fresh_database_reaches_latest);
    BP_TEST(test_upgrade_keeps_data);
    BP_TEST(test_0003_keeps_deliveries);
    BP_TEST(test_0005_keeps_messages_and_what_refers_to_them);
    BP_TEST(test_foreign_keys_off_migration_is_checked);
    BP_TEST(test_failing_migration_changes_nothing);
    BP_TEST(test_newer_database_is_refused);
    BP_TEST(test_migrate_twice_is_noop);
    return bp_test_done();
}
