/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The delivery state machine: the transition table, the setter's
 * compare-and-set and the claim's cursor on a real SQLite file. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bp/store_outbox.h"
#include "bp_test.h"

static void test_table(void)
{
    static const char *const ok[][2] = {
        {"queued", "sending"}, {"sending", "sent"}, {"sent", "delivered"},
        {"sending", "retry_wait"}, {"retry_wait", "queued"}, {"sending", "failed"},
        {"queued", "held"}, {"held", "queued"}, {"delivered", "failed"},
        {"sent", "undeliverable"}, {"retry_wait", "failed"},
    };
    static const char *const bad[][2] = {
        {"queued", "sent"}, {"sent", "sending"}, {"delivered", "sent"},
        {"failed", "queued"}, {"undeliverable", "delivered"}, {"retry_wait", "sending"},
        {"queued", "queued"}, {"held", "sending"}, {"sent", "retry_wait"},
    };
    enum bp_dstate a, b;
    for (size_t i = 0; i < BP_ARRAY_LEN(ok); i++) {
        ASSERT_OK(bp_dstate_parse(ok[i][0], &a));
        ASSERT_OK(bp_dstate_parse(ok[i][1], &b));
        if (!bp_dstate_legal(a, b))
            BP_TEST__FAIL("%s -> %s should be legal", ok[i][0], ok[i][1]);
    }
    for (size_t i = 0; i < BP_ARRAY_LEN(bad); i++) {
        ASSERT_OK(bp_dstate_parse(bad[i][0], &a));
        ASSERT_OK(bp_dstate_parse(bad[i][1], &b));
        if (bp_dstate_legal(a, b))
            BP_TEST__FAIL("%s -> %s should be illegal", bad[i][0], bad[i][1]);
    }
    ASSERT_EQ(bp_dstate_parse("bogus", &a), BP_EINVAL_INPUT);
    for (int i = 0; i < BP_DS__COUNT; i++) {
        ASSERT_OK(bp_dstate_parse(bp_dstate_name((enum bp_dstate)i), &a));
        ASSERT_EQ(a, i);
    }
}

static struct bp_store *s;
static sqlite3 *peek;
static char path[] = "/tmp/bp-outbox-state-XXXXXX";

/* A migrated store in a new file, and a second connection to look at it. */
static void open_store(void)
{
    struct bp_store_opts o = {.path = path, .busy_timeout_ms = 1000};
    int fd;

    snprintf(path, sizeof path, "/tmp/bp-outbox-state-XXXXXX");
    fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    ASSERT_OK(bp_store_open(&o, &s, NULL));
    ASSERT_OK(bp_store_migrate(s, NULL, NULL, NULL));
    sqlite3_open(path, &peek);
}

static void close_store(void)
{
    char side[64];

    sqlite3_close(peek);
    bp_store_close(s);
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static void test_setter(void)
{
    sqlite3_stmt *st;

    open_store();
    ASSERT_EQ(sqlite3_exec(peek,
        "INSERT INTO contact (id,kind,address,created_at,updated_at) VALUES (1,'sms','+15550100001',0,0);"
        "INSERT INTO message (id,direction,channel,kind,body,created_at) VALUES (1,'out','sms','system','x',0);"
        "INSERT INTO delivery (id,message_id,contact_id,channel,body,state,idempotency_key,created_at,updated_at)"
        " VALUES (1,1,1,'sms','x','queued','k1',0,0);", NULL, NULL, NULL), SQLITE_OK);
    struct bp_dstate_change c = {.delivery_id = 1, .from = BP_DS_QUEUED,
                                 .to = BP_DS_SENDING, .bump_attempts = true, .now_ms = 7};
    ASSERT_OK(bp_store_delivery_set_state(s, &c));
    ASSERT_EQ(bp_store_delivery_set_state(s, &c), BP_ENOTFOUND);   /* no longer queued */
    struct bp_dstate_change d = {.delivery_id = 1, .from = BP_DS_SENDING, .to = BP_DS_SENT,
                                 .provider = "twilio", .provider_msg_id = "SM1", .now_ms = 8};
    ASSERT_OK(bp_store_delivery_set_state(s, &d));
    sqlite3_prepare_v2(peek, "SELECT state, attempts, provider_msg_id, updated_at FROM delivery",
                       -1, &st, NULL);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_STR_EQ((const char *)sqlite3_column_text(st, 0), "sent");
    ASSERT_EQ(sqlite3_column_int(st, 1), 1);
    ASSERT_STR_EQ((const char *)sqlite3_column_text(st, 2), "SM1");
    ASSERT_EQ(sqlite3_column_int(st, 3), 8);
    sqlite3_finalize(st);
    close_store();
}

/* One claim of up to `max` SMS rows from cursor *cur; ids into got[]. */
static void claim_sms(unsigned max, struct bp_store_claim_cursor *cur, int64_t *got, size_t *n)
{
    struct bp_store_claim c = {.now_ms = 100, .max = {max, 0},
                               .channel_on = {true, false}};
    c.cursor[0] = *cur;
    ASSERT_OK(bp_store_claim_due(s, &c));
    *n = c.nrows;
    for (size_t i = 0; i < c.nrows; i++) {
        ASSERT_EQ(c.rows[i].channel, 0);
        ASSERT_EQ(c.rows[i].attempts, 1);
        got[i] = c.rows[i].delivery_id;
    }
    *cur = c.cursor[0];
    bp_store_claim_free(&c);
}

static int count_state(const char *state)
{
    sqlite3_stmt *st;
    int n;
    sqlite3_prepare_v2(peek, "SELECT count(*) FROM delivery WHERE state = ?1", -1, &st, NULL);
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_step(st);
    n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The claim (bp_store_claim_due): rows of one channel only, in due order
 * (next_attempt_at NULL first, then by time, then id); the cursor (the last
 * row of a full batch; reset after a short one) is continued first, then the
 * claim reads from the start, which finds a row queued again behind it. */
static void test_claim_cursor(void)
{
    struct bp_store_claim_cursor cur = {0};
    int64_t got[8];
    size_t n;

    open_store();
    /* sms 1 3 5 6 (next_attempt_at NULL), e-mail 2 4 (never claimed: no
     * e-mail sender), sms 7 due at 50, sms 8 due at 500 (now is 100) */
    ASSERT_EQ(sqlite3_exec(peek,
        "INSERT INTO contact (id,kind,address,created_at,updated_at) VALUES"
        " (1,'sms','+15550100001',0,0),(2,'email','a@example.org',0,0),"
        " (3,'sms','+15550100003',0,0),(4,'email','b@example.org',0,0),"
        " (5,'sms','+15550100005',0,0),(6,'sms','+15550100006',0,0),"
        " (7,'sms','+15550100007',0,0),(8,'sms','+15550100008',0,0);"
        "INSERT INTO message (id,direction,channel,kind,body,created_at) VALUES"
        " (1,'out','sms','system','x',0);"
        "INSERT INTO delivery (id,message_id,contact_id,channel,body,state,idempotency_key,"
        "  next_attempt_at,created_at,updated_at) VALUES"
        " (1,1,1,'sms','x','queued','k1',NULL,0,0),(2,1,2,'email','x','queued','k2',NULL,0,0),"
        " (3,1,3,'sms','x','queued','k3',NULL,1,0),(4,1,4,'email','x','queued','k4',NULL,1,0),"
        " (5,1,5,'sms','x','queued','k5',NULL,2,0),(6,1,6,'sms','x','queued','k6',NULL,3,0),"
        " (7,1,7,'sms','x','queued','k7',50,4,0),(8,1,8,'sms','x','queued','k8',500,5,0);",
        NULL, NULL, NULL), SQLITE_OK);

    claim_sms(2, &cur, got, &n);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(got[0], 1);
    ASSERT_EQ(got[1], 3);
    ASSERT_EQ(cur.id, 3);                 /* full batch: the cursor is its last row */
    ASSERT_TRUE(cur.at_null);
    /* a row queued again behind the cursor (test-only direct write) */
    ASSERT_EQ(sqlite3_exec(peek, "UPDATE delivery SET state = 'queued', attempts = 0"
                           " WHERE id = 1", NULL, NULL, NULL), SQLITE_OK);
    claim_sms(1, &cur, got, &n);          /* continues after the cursor */
    ASSERT_EQ(n, 1);
    ASSERT_EQ(got[0], 5);
    claim_sms(3, &cur, got, &n);          /* the cursor's rest, then from the start */
    ASSERT_EQ(n, 3);
    ASSERT_EQ(got[0], 6);
    ASSERT_EQ(got[1], 1);
    ASSERT_EQ(got[2], 7);
    ASSERT_EQ(cur.id, 7);
    ASSERT_FALSE(cur.at_null);
    ASSERT_EQ(cur.at, 50);
    claim_sms(2, &cur, got, &n);          /* nothing due: short, the cursor resets */
    ASSERT_EQ(n, 0);
    ASSERT_EQ(cur.id, 0);
    ASSERT_EQ(count_state("sending"), 5);
    ASSERT_EQ(count_state("queued"), 3);  /* the two e-mails and row 8 (not due) */
    close_store();
}

int main(void)
{
    BP_TEST(test_table);
    BP_TEST(test_setter);
    BP_TEST(test_claim_cursor);
    return bp_test_done();
}
