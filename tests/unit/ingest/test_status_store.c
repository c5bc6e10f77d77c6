/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/store/status.c: out-of-order delivery statuses, the
 * contact changes carrier error codes call for, and statuses that come
 * before the send's result has recorded the sid (kept, then replayed by
 * bp_store_record_results). */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "bp/store_outbox.h"
#include "bp/store_status.h"
#include "bp_test.h"

static struct bp_store *store;
static sqlite3 *peek;
static int64_t now_ms = 5;

static void setup(void)
{
    char path[300];
    struct bp_store_opts o = {.path = path};
    struct bp_errbuf eb;
    snprintf(path, sizeof path, "%s/status.db", bp_test_tmpdir());
    if (bp_store_open(&o, &store, &eb) < 0 || bp_store_migrate(store, NULL, NULL, &eb) < 0)
        exit(99);
    sqlite3_open(path, &peek);
    const char *sql =
        "INSERT INTO contact (id,kind,address,created_at,updated_at) VALUES"
        " (1,'sms','+15550100001',0,0),(2,'sms','+15550100002',0,0),(3,'sms','+15550100003',0,0);"
        "INSERT INTO message (id,direction,channel,kind,body,created_at) VALUES (1,'out','sms','system','x',0);"
        "INSERT INTO delivery (id,message_id,contact_id,channel,body,state,idempotency_key,provider,"
        " provider_msg_id,created_at,updated_at) VALUES"
        " (1,1,1,'sms','x','sending','k1','twilio','SMa',0,0),"
        " (2,1,2,'sms','x','sending','k2','twilio','SMb',0,0),"
        " (3,1,3,'sms','x','sending','k3','twilio','SMc',0,0);";
    if (sqlite3_exec(peek, sql, NULL, NULL, NULL) != SQLITE_OK)
        exit(99);
}

static int apply(const char *sid, const char *status, const char *err,
                 struct bp_store_status_update *u)
{
    memset(u, 0, sizeof *u);
    u->provider = "twilio";
    u->provider_msg_id = sid;
    u->status = status;
    u->error_code = err;
    u->now_ms = now_ms;
    if (bp_store_begin(store) < 0)
        return -1;
    int rc = bp_store_delivery_status(store, u);
    if (rc < 0) {
        bp_store_rollback(store);
        return rc;
    }
    return bp_store_commit(store);
}

static const char *state_of(int id)
{
    static char buf[32];
    sqlite3_stmt *st;
    sqlite3_prepare_v2(peek, "SELECT state || coalesce('/' || error_code, '') FROM delivery WHERE id=?",
                       -1, &st, NULL);
    sqlite3_bind_int(st, 1, id);
    buf[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(buf, sizeof buf, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

static const char *contact_status(int id)
{
    static char buf[32];
    sqlite3_stmt *st;
    sqlite3_prepare_v2(peek, "SELECT status FROM contact WHERE id=?", -1, &st, NULL);
    sqlite3_bind_int(st, 1, id);
    buf[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(buf, sizeof buf, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

static void test_out_of_order(void)
{
    struct bp_store_status_update u;
    ASSERT_OK(apply("SMa", "delivered", NULL, &u));
    ASSERT_TRUE(u.applied);
    ASSERT_OK(apply("SMa", "sent", NULL, &u));           /* late "sent" */
    ASSERT_FALSE(u.applied);
    ASSERT_STR_EQ(state_of(1), "delivered");
    ASSERT_OK(apply("SMa", "failed", "30008", &u));      /* failure after success wins */
    ASSERT_STR_EQ(state_of(1), "failed/30008");
    ASSERT_OK(apply("SMa", "delivered", NULL, &u));      /* never hides the failure */
    ASSERT_FALSE(u.applied);
    ASSERT_STR_EQ(state_of(1), "failed/30008");
}

static int count_of(const char *sql)
{
    sqlite3_stmt *st;
    int n = -1;
    sqlite3_prepare_v2(peek, sql, -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void test_unknown_sid_is_kept_for_a_week(void)
{
    struct bp_store_status_update u;
    now_ms = 1000;
    ASSERT_OK(apply("SMzzz", "delivered", NULL, &u));
    ASSERT_FALSE(u.found);
    ASSERT_TRUE(u.kept);
    ASSERT_EQ(count_of("SELECT count(*) FROM delivery_status_early WHERE provider_msg_id='SMzzz'"),
              1);
    now_ms = 1000 + 7LL * 86400 * 1000 + 1;   /* a week later: pruned when another comes */
    ASSERT_OK(apply("SMyyy", "sent", NULL, &u));
    ASSERT_EQ(count_of("SELECT count(*) FROM delivery_status_early WHERE provider_msg_id='SMzzz'"),
              0);
    ASSERT_EQ(count_of("SELECT count(*) FROM delivery_status_early WHERE provider_msg_id='SMyyy'"),
              1);
    now_ms = 5;
}

/* The provider calls back ("sent", then "undelivered" 21610) before the
 * writer has recorded the sid of the send: both are applied, in order, in
 * the transaction that records it, and forgotten. */
static void test_status_before_the_sid_is_recorded(void)
{
    struct bp_store_status_update u;
    if (sqlite3_exec(peek,
                     "INSERT INTO contact (id,kind,address,created_at,updated_at) VALUES"
                     " (4,'sms','+15550100004',0,0);"
                     "INSERT INTO delivery (id,message_id,contact_id,channel,body,state,"
                     " idempotency_key,created_at,updated_at) VALUES"
                     " (4,1,4,'sms','x','sending','k4',0,0);",
                     NULL, NULL, NULL) != SQLITE_OK)
        exit(99);
    ASSERT_OK(apply("SMd", "sent", NULL, &u));
    ASSERT_TRUE(u.kept);
    ASSERT_OK(apply("SMd", "undelivered", "21610", &u));
    ASSERT_TRUE(u.kept);
    ASSERT_STR_EQ(state_of(4), "sending");

    struct bp_store_result r = {.delivery_id = 4, .to = BP_DS_SENT, .provider = "twilio"};
    snprintf(r.provider_msg_id, sizeof r.provider_msg_id, "SMd");
    struct bp_store_results rs = {.v = &r, .n = 1, .now_ms = 6};
    ASSERT_OK(bp_store_begin(store));
    ASSERT_OK(bp_store_record_results(store, &rs));
    ASSERT_OK(bp_store_commit(store));
    ASSERT_EQ(rs.early_applied, 1);       /* "sent" is what the result set anyway */
    ASSERT_STR_EQ(state_of(4), "undeliverable/21610");
    ASSERT_STR_EQ(contact_status(4), "opted_out");
    ASSERT_EQ(count_of("SELECT count(*) FROM delivery_status_early WHERE provider_msg_id='SMd'"),
              0);
    /* from now on a callback finds the delivery */
    ASSERT_OK(apply("SMd", "delivered", NULL, &u));
    ASSERT_TRUE(u.found);
    ASSERT_FALSE(u.kept);
}

static void test_carrier_codes(void)
{
    struct bp_store_status_update u;
    ASSERT_OK(apply("SMb", "undelivered", "21610", &u));
    ASSERT_STR_EQ(state_of(2), "undeliverable/21610");
    ASSERT_STR_EQ(contact_status(2), "opted_out");
    ASSERT_STR_EQ(u.contact_change, "opted_out");
    ASSERT_OK(apply("SMc", "failed", "30006", &u));
    ASSERT_STR_EQ(contact_status(3), "invalid");
    ASSERT_OK(apply("SMc", "failed", "30006", &u));      /* repeated: one event */
    sqlite3_stmt *st;
    sqlite3_prepare_v2(peek, "SELECT count(*) FROM consent_event WHERE contact_id=3 AND source='carrier'",
                       -1, &st, NULL);
    sqlite3_step(st);
    ASSERT_EQ(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
}

int main(void)
{
    setup();
    BP_TEST(test_out_of_order);
    BP_TEST(test_unknown_sid_is_kept_for_a_week);
    BP_TEST(test_status_before_the_sid_is_recorded);
    BP_TEST(test_carrier_codes);
    sqlite3_close(peek);
    bp_store_close(store);
    return bp_test_done();
}
