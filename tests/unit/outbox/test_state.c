/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The delivery state machine: the transition table, and the setter's
 * compare-and-set on a real SQLite file. */
#include <sqlite3.h>

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

static void test_setter(void)
{
    char path[] = "/tmp/bp-outbox-state-XXXXXX";
    struct bp_store_opts o = {.path = path, .busy_timeout_ms = 1000};
    struct bp_store *s = NULL;
    sqlite3 *peek = NULL;
    sqlite3_stmt *st;
    int fd = mkstemp(path);

    ASSERT_TRUE(fd >= 0);
    close(fd);
    ASSERT_OK(bp_store_open(&o, &s, NULL));
    ASSERT_OK(bp_store_migrate(s, NULL, NULL, NULL));
    sqlite3_open(path, &peek);
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
    sqlite3_close(peek);
    bp_store_close(s);
    unlink(path);
    char side[64];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int main(void)
{
    BP_TEST(test_table);
    BP_TEST(test_setter);
    return bp_test_done();
}
