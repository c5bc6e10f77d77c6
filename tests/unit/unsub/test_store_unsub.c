/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bp_store_unsub_find / bp_store_unsub_apply on a real SQLite file: the
 * token finds only e-mail deliveries, the family's language comes from the
 * message's guardian (then the contact's guardian, then the delivery), the
 * opt-out writes contact + consent_event + audit once, a repeat writes
 * nothing, and through the real store writer the rows are committed when
 * the completion runs.
 */
#include "bp/store_unsub.h"
#include "bp_test.h"
#include "store_test.h"

static const char FIXTURE[] =
    "INSERT INTO school VALUES (1,'SCH','Lincoln','America/New_York','en',NULL,NULL,0,0);"
    "INSERT INTO student (id,school_id,sourced_id,given_name,family_name,active,created_at,updated_at)"
    " VALUES (1,1,'S1','A','A',1,0,0);"
    "INSERT INTO guardian (id,sourced_id,given_name,family_name,locale,created_at,updated_at) VALUES"
    " (1,'G1','g','1','ar',0,0),(2,'G2','g','2','vi',0,0),(3,'G3','g','3','es-MX',0,0);"
    "INSERT INTO conversation (id,student_id,reply_token,created_at) VALUES (1,1,'rt',0);"
    "INSERT INTO contact (id,kind,address,status,created_at,updated_at) VALUES"
    " (1,'email','amal@example.org','active',0,0),"
    " (2,'email','binh@example.org','bounced',0,0),"
    " (3,'sms','+15550000001','active',0,0),"
    " (4,'email','nobody@example.org','active',0,0);"
    "INSERT INTO guardian_contact VALUES (1,1),(2,2),(3,3);"
    "INSERT INTO message (id,conversation_id,direction,channel,guardian_id,body,created_at) VALUES"
    " (1,1,'out','email',1,'hello',0),(2,1,'out','email',NULL,'hello',0),"
    " (3,1,'out','sms',3,'hello',0);"
    "INSERT INTO delivery (id,message_id,contact_id,channel,locale,body,idempotency_key,"
    "                      created_at,updated_at) VALUES"
    " (1,1,1,'email','en','b','a1-0123456789abcdef-1',0,0),"
    " (2,2,2,'email','en','b','a1-fedcba9876543210-2',0,0),"
    " (3,3,3,'sms','es','b','a1-00112233445566778-3',0,0),"
    " (4,2,4,'email','fr','b','a1-99887766554433221-4',0,0);";

static struct bp_store *fresh(char *path, size_t n)
{
    struct bp_store *s = st_open_new(path, n, true);

    if (s != NULL && st_exec(s, FIXTURE) != SQLITE_OK) {
        printf("# fixture failed\n");
        bp_store_close(s);
        return NULL;
    }
    return s;
}

static void test_find(void)
{
    char path[512];
    struct bp_store *s = fresh(path, sizeof path);
    struct bp_store_unsub_info i;

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(bp_store_unsub_find(s, "a1-0123456789abcdef-1", &i), 1);
    ASSERT_EQ(i.delivery_id, 1);
    ASSERT_EQ(i.message_id, 1);
    ASSERT_EQ(i.contact_id, 1);
    ASSERT_STR_EQ(i.address, "amal@example.org");
    ASSERT_STR_EQ(i.locale, "ar");           /* the message's guardian */
    ASSERT_FALSE(i.opted_out);
    /* no guardian on the message: the contact's guardian */
    ASSERT_EQ(bp_store_unsub_find(s, "a1-fedcba9876543210-2", &i), 1);
    ASSERT_STR_EQ(i.locale, "vi");
    /* no guardian at all: the delivery's locale */
    ASSERT_EQ(bp_store_unsub_find(s, "a1-99887766554433221-4", &i), 1);
    ASSERT_STR_EQ(i.locale, "fr");
    /* an SMS delivery's key never unsubscribes anyone */
    ASSERT_EQ(bp_store_unsub_find(s, "a1-00112233445566778-3", &i), 0);
    ASSERT_EQ(bp_store_unsub_find(s, "a1-0123456789abcdef-", &i), 0);
    ASSERT_EQ(bp_store_unsub_find(s, "A1-0123456789ABCDEF-1", &i), 0);
    ASSERT_EQ(bp_store_unsub_find(s, "", &i), 0);
    ASSERT_EQ(bp_store_unsub_find(s, NULL, &i), 0);
    bp_store_close(s);
}

static void test_lookup_uses_the_unique_index(void)
{
    char path[512];
    struct bp_store *s = fresh(path, sizeof path);
    sqlite3_stmt *st = NULL;
    bool scan = false, index = false;

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(sqlite3_prepare_v2(s->db,
        "EXPLAIN QUERY PLAN SELECT d.id FROM delivery d"
        " JOIN contact c ON c.id = d.contact_id JOIN message m ON m.id = d.message_id"
        " WHERE d.idempotency_key = 'x' AND d.channel = 'email' AND c.kind = 'email'",
        -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        scan |= strstr(d, "SCAN") != NULL;
        index |= strstr(d, "idempotency_key=?") != NULL;
    }
    sqlite3_finalize(st);
    ASSERT_FALSE(scan);
    ASSERT_TRUE(index);
    bp_store_close(s);
}

static int apply_once(struct bp_store *s, struct bp_store_unsub *u)
{
    int rc;

    if ((rc = bp_store_begin(s)) < 0)
        return rc;
    rc = bp_store_unsub_apply(s, u);
    if (rc < 0) {
        bp_store_rollback(s);
        return rc;
    }
    return bp_store_commit(s);
}

static void test_apply_once_then_idempotent(void)
{
    char path[512];
    struct bp_store *s = fresh(path, sizeof path);
    struct bp_store_unsub u = {.token = "a1-0123456789abcdef-1", .now_ms = 1700000000000,
                               .one_click = true};
    int64_t bad = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_OK(apply_once(s, &u));
    ASSERT_TRUE(u.found);
    ASSERT_TRUE(u.changed);
    ASSERT_TRUE(u.info.opted_out);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM contact WHERE id = 1 AND status = 'opted_out'"
                        " AND consent_source = 'email' AND consent_at = 1700000000000"), 1);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM consent_event WHERE contact_id = 1"
                        " AND kind = 'opt_out' AND source = 'email' AND message_id = 1"), 1);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit WHERE action = 'contact.opt_out'"
                        " AND actor = 'family' AND object_type = 'contact' AND object_id = 1"
                        " AND json_extract(detail, '$.delivery') = 1"
                        " AND json_extract(detail, '$.one_click') = 1"), 1);
    /* other contacts untouched */
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM contact WHERE status = 'opted_out'"), 1);

    /* second POST: found, nothing written */
    u.now_ms += 1000;
    ASSERT_OK(apply_once(s, &u));
    ASSERT_TRUE(u.found);
    ASSERT_FALSE(u.changed);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM consent_event"), 1);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit"), 1);
    ASSERT_EQ(st_int(s, "SELECT consent_at FROM contact WHERE id = 1"), 1700000000000LL);
    ASSERT_OK(bp_store_audit_verify(s, &bad));
    ASSERT_EQ(bad, 0);
    bp_store_close(s);
}

static void test_unknown_and_sms_tokens_write_nothing(void)
{
    char path[512];
    struct bp_store *s = fresh(path, sizeof path);
    struct bp_store_unsub u = {.token = "a1-00112233445566778-3", .now_ms = 5};

    ASSERT_TRUE(s != NULL);
    ASSERT_OK(apply_once(s, &u));
    ASSERT_FALSE(u.found);
    u.token = "nope";
    ASSERT_OK(apply_once(s, &u));
    ASSERT_FALSE(u.found);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM contact WHERE status = 'opted_out'"), 0);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM consent_event"), 0);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit"), 0);
    bp_store_close(s);
}

static void test_bounced_contact_becomes_opted_out(void)
{
    char path[512];
    struct bp_store *s = fresh(path, sizeof path);
    struct bp_store_unsub u = {.token = "a1-fedcba9876543210-2", .now_ms = 7};

    ASSERT_TRUE(s != NULL);
    ASSERT_OK(apply_once(s, &u));
    ASSERT_TRUE(u.changed);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM contact WHERE id = 2 AND status = 'opted_out'"), 1);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit WHERE json_extract(detail, '$.one_click') = 0"), 1);
    bp_store_close(s);
}

struct wctx {
    struct bp_store_wreq req;
    struct bp_store_unsub u;
    char path[512];
    int status;
    int64_t events_at_done;
    bool done, stopped;
};

static void on_done(struct bp_store_wreq *r, int status)
{
    struct wctx *c = BP_CONTAINER_OF(r, struct wctx, req);
    struct bp_store *ro = st_open_path(c->path, true);

    /* the completion runs after COMMIT: another connection sees the rows */
    c->events_at_done = ro ? st_int(ro, "SELECT count(*) FROM consent_event") : -1;
    bp_store_close(ro);
    c->status = status;
    c->done = true;
}

static void on_stopped(void *arg)
{
    ((struct wctx *)arg)->stopped = true;
}

static void test_through_the_writer(void)
{
    struct bp_store_writer_opts o = {{0}, 0};
    struct bp_store_writer *w = NULL;
    struct wctx c;
    uv_loop_t loop;
    struct bp_store *s;

    memset(&c, 0, sizeof c);
    s = fresh(c.path, sizeof c.path);
    ASSERT_TRUE(s != NULL);
    bp_store_close(s);
    ASSERT_OK(uv_loop_init(&loop));
    o.store.path = c.path;
    o.batch_max = 8;
    ASSERT_OK(bp_store_writer_start(&loop, &o, &w, NULL));
    c.u.token = "a1-0123456789abcdef-1";
    c.u.now_ms = 42;
    c.req.fn = bp_store_unsub_apply;
    c.req.arg = &c.u;
    c.req.done = on_done;
    bp_store_writer_submit(w, &c.req);
    ASSERT_TRUE(st_run_until(&loop, &c.done, 10000));
    ASSERT_EQ(c.status, 0);
    ASSERT_TRUE(c.u.changed);
    ASSERT_EQ(c.events_at_done, 1);
    bp_store_writer_stop(w, on_stopped, &c);
    ASSERT_TRUE(st_run_until(&loop, &c.stopped, 10000));
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

int main(void)
{
    BP_TEST(test_find);
    BP_TEST(test_lookup_uses_the_unique_index);
    BP_TEST(test_apply_once_then_idempotent);
    BP_TEST(test_unknown_and_sms_tokens_write_nothing);
    BP_TEST(test_bounced_contact_becomes_opted_out);
    BP_TEST(test_through_the_writer);
    return bp_test_done();
}
