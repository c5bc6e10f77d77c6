/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Audit log (src/store/audit.c): rows are chained by SHA-256; a chain of
 * several rows verifies; tampering behind the triggers' back (the test
 * drops them, then edits or deletes a row) is detected at the first bad
 * row; appends join an open transaction (the store writer's) or run their
 * own; invalid JSON detail is refused and leaves the chain intact.
 */
#include <openssl/evp.h>

#include "bp_test.h"
#include "store_test.h"

static struct bp_store *chain_of_five(char *path, size_t n)
{
    struct bp_store *s = st_open_new(path, n, true);

    if (s == NULL)
        return NULL;
    if (st_exec(s, "INSERT INTO school (id, sourced_id, name, created_at,"
                   " updated_at) VALUES (1, 'o', 'S', 1, 1);"
                   "INSERT INTO staff (id, email, role, created_at, updated_at)"
                   " VALUES (7, 'a@example.org', 'admin', 1, 1)") != SQLITE_OK ||
        bp_store_audit_append(s, 0, "cli", "migrate", NULL, 0, NULL) < 0 ||
        bp_store_audit_append(s, 7, "staff:7", "login", "staff", 7, NULL) < 0 ||
        bp_store_audit_append(s, 7, "staff:7", "send", "announcement", 3,
                              "{\"audience\":\"school\",\"n\":412}") < 0 ||
        bp_store_audit_append(s, 0, "system", "opt_out", "contact", 12,
                              "{\"source\":\"sms_keyword\"}") < 0 ||
        bp_store_audit_append(s, 7, "staff:7", "export", "", 0, "{}") < 0) {
        bp_store_close(s);
        return NULL;
    }
    return s;
}

static void test_chain_verifies(void)
{
    char path[512];
    struct bp_store *s = chain_of_five(path, sizeof path);
    int64_t bad = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit"), 5);
    ASSERT_EQ(st_int(s, "SELECT max(id) FROM audit"), 5);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit WHERE id = 1 AND"
                        " prev_hash IS NULL"), 1);
    /* Each row points at the hash of the row before it. */
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit a JOIN audit p"
                        " ON p.id = a.id - 1 WHERE a.prev_hash = p.hash"), 4);
    ASSERT_EQ(st_int(s, "SELECT count(DISTINCT hash) FROM audit"
                        " WHERE length(hash) = 32"), 5);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit WHERE actor_staff_id IS NULL"
                        " AND object_id IS NULL AND object_type IS NULL"), 1);
    ASSERT_OK(bp_store_audit_verify(s, &bad));
    ASSERT_EQ(bad, 0);
    bp_store_close(s);
}

static void test_first_row_hash_is_sha256_of_canonical_text(void)
{
    static const char CANON[] =
        "bp-audit-v1\ni1;i1700000000000;n;t3:cli;t7:migrate;n;n;n;";
    unsigned char want[32];
    unsigned int wn = 0;
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, true);
    sqlite3_stmt *st;

    ASSERT_TRUE(s != NULL);
    bp_clock_set_fake(1700000000000);
    ASSERT_OK(bp_store_audit_append(s, 0, "cli", "migrate", NULL, 0, NULL));
    bp_clock_set_fake(0);
    ASSERT_TRUE(EVP_Digest(CANON, sizeof CANON - 1, want, &wn, EVP_sha256(),
                           NULL) == 1);
    ASSERT_EQ(sqlite3_prepare_v2(s->db, "SELECT hash FROM audit WHERE id = 1",
                                 -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_bytes(st, 0), 32);
    ASSERT_TRUE(memcmp(sqlite3_column_blob(st, 0), want, 32) == 0);
    sqlite3_finalize(st);
    bp_store_close(s);
}

static void test_modified_row_is_detected(void)
{
    char path[512];
    struct bp_store *s = chain_of_five(path, sizeof path);
    int64_t bad = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_exec(s, "UPDATE audit SET detail = '{\"n\":1}' WHERE id = 3"),
              SQLITE_CONSTRAINT);      /* the trigger holds */
    ASSERT_EQ(st_exec(s, "DROP TRIGGER audit_no_update"), SQLITE_OK);
    ASSERT_EQ(st_exec(s, "UPDATE audit SET detail = '{\"audience\":\"school\","
                         "\"n\":1}' WHERE id = 3"), SQLITE_OK);
    ASSERT_EQ(bp_store_audit_verify(s, &bad), BP_ECONSTRAINT);
    ASSERT_EQ(bad, 3);
    bp_store_close(s);
}

static void test_deleted_row_is_detected(void)
{
    char path[512];
    struct bp_store *s = chain_of_five(path, sizeof path);
    int64_t bad = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_exec(s, "DROP TRIGGER audit_no_delete"), SQLITE_OK);
    ASSERT_EQ(st_exec(s, "DELETE FROM audit WHERE id = 2"), SQLITE_OK);
    ASSERT_EQ(bp_store_audit_verify(s, &bad), BP_ECONSTRAINT);
    ASSERT_EQ(bad, 3);
    bp_store_close(s);
}

static void test_null_and_empty_differ(void)
{
    char path[512];
    struct bp_store *s = chain_of_five(path, sizeof path);
    int64_t bad = -1;

    ASSERT_TRUE(s != NULL);
    /* Row 5 has object_type '' : turning it into NULL must be noticed. */
    ASSERT_EQ(st_exec(s, "DROP TRIGGER audit_no_update"), SQLITE_OK);
    ASSERT_EQ(st_exec(s, "UPDATE audit SET object_type = NULL WHERE id = 5"),
              SQLITE_OK);
    ASSERT_EQ(bp_store_audit_verify(s, &bad), BP_ECONSTRAINT);
    ASSERT_EQ(bad, 5);
    bp_store_close(s);
}

static void test_bad_json_refused_chain_intact(void)
{
    char path[512];
    struct bp_store *s = chain_of_five(path, sizeof path);
    int64_t bad = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(bp_store_audit_append(s, 0, "cli", "x", NULL, 0, "{not json"),
              BP_ECONSTRAINT);
    ASSERT_EQ(bp_store_audit_append(s, 0, NULL, "x", NULL, 0, NULL),
              BP_EINVAL_INPUT);
    ASSERT_TRUE(sqlite3_get_autocommit(s->db) != 0);
    ASSERT_OK(bp_store_audit_append(s, 0, "cli", "after", NULL, 0, NULL));
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit"), 6);
    ASSERT_OK(bp_store_audit_verify(s, &bad));
    ASSERT_EQ(bad, 0);
    bp_store_close(s);
}

static void test_append_joins_open_transaction(void)
{
    char path[512];
    struct bp_store *s = chain_of_five(path, sizeof path);
    int64_t bad = -1;

    ASSERT_TRUE(s != NULL);
    ASSERT_OK(bp_store_begin(s));
    ASSERT_OK(bp_store_audit_append(s, 0, "cli", "a", NULL, 0, NULL));
    ASSERT_OK(bp_store_audit_append(s, 0, "cli", "b", NULL, 0, NULL));
    ASSERT_TRUE(sqlite3_get_autocommit(s->db) == 0);   /* still ours */
    bp_store_rollback(s);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit"), 5);
    ASSERT_OK(bp_store_begin(s));
    ASSERT_OK(bp_store_audit_append(s, 0, "cli", "c", NULL, 0, NULL));
    ASSERT_OK(bp_store_commit(s));
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit"), 6);
    ASSERT_OK(bp_store_audit_verify(s, &bad));
    ASSERT_EQ(bad, 0);
    bp_store_close(s);
}

/* Through the store writer: appends inside its savepoints and commits. */
struct wctx {
    struct bp_store_writer *w;
    struct bp_store_wreq req[20];
    int ndone, nfail;
    bool done, stopped;
};

static int fn_audit(struct bp_store *s, void *arg)
{
    intptr_t i = (intptr_t)arg;
    /* Every fifth request fails after appending: its row must vanish. */
    int rc = bp_store_audit_append(s, 0, "system", "tick", "test", i, NULL);
    return rc < 0 ? rc : (i % 5 == 4 ? BP_EINVAL_INPUT : 0);
}

static struct wctx *g_wctx;

static void on_wdone_count(struct bp_store_wreq *r, int status)
{
    (void)r;
    g_wctx->nfail += status < 0;
    if (++g_wctx->ndone == 20)
        g_wctx->done = true;
}

static void on_wstopped(void *arg)
{
    ((struct wctx *)arg)->stopped = true;
}

static void test_append_through_writer(void)
{
    struct bp_store_writer_opts o = {{0}, 0};
    struct wctx c;
    uv_loop_t loop;
    char path[512];
    struct bp_store *s = chain_of_five(path, sizeof path);
    int64_t bad = -1;

    ASSERT_TRUE(s != NULL);
    bp_store_close(s);
    memset(&c, 0, sizeof c);
    g_wctx = &c;
    ASSERT_OK(uv_loop_init(&loop));
    o.store.path = path;
    o.batch_max = 7;
    ASSERT_OK(bp_store_writer_start(&loop, &o, &c.w, NULL));
    for (int i = 0; i < 20; i++) {
        c.req[i].fn = fn_audit;
        c.req[i].arg = (void *)(intptr_t)i;
        c.req[i].done = on_wdone_count;
        bp_store_writer_submit(c.w, &c.req[i]);
    }
    ASSERT_TRUE(st_run_until(&loop, &c.done, 10000));
    ASSERT_EQ(c.nfail, 4);
    bp_store_writer_stop(c.w, on_wstopped, &c);
    ASSERT_TRUE(st_run_until(&loop, &c.stopped, 10000));
    ASSERT_EQ(uv_loop_close(&loop), 0);

    s = st_open_path(path, true);
    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit"), 5 + 16);
    ASSERT_EQ(st_int(s, "SELECT count(*) FROM audit WHERE object_id % 5 = 4"
                        " AND action = 'tick'"), 0);
    ASSERT_EQ(st_int(s, "SELECT max(id) FROM audit"), 21);   /* dense */
    ASSERT_OK(bp_store_audit_verify(s, &bad));
    ASSERT_EQ(bad, 0);
    bp_store_close(s);
}

int main(void)
{
    BP_TEST(test_chain_verifies);
    BP_TEST(test_first_row_hash_is_sha256_of_canonical_text);
    BP_TEST(test_modified_row_is_detected);
    BP_TEST(test_deleted_row_is_detected);
    BP_TEST(test_null_and_empty_differ);
    BP_TEST(test_bad_json_refused_chain_intact);
    BP_TEST(test_append_joins_open_transaction);
    BP_TEST(test_append_through_writer);
    return bp_test_done();
}
