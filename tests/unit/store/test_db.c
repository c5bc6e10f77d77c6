/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Connection settings of src/store/db.c that change what reaches the
 * database file: bp_store_leave_checkpoints (the CLI's `send` commits a
 * district-wide announcement and leaves copying the WAL into the database
 * file to the daemon).  The control shows that SQLite would otherwise
 * checkpoint inside the large commit, so the test can fail.
 */
#include <sys/stat.h>

#include "bp_test.h"
#include "store_test.h"

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* One transaction of ~3,000 pages (more than the 1,000-page automatic
 * checkpoint threshold); returns the database file's growth, after the
 * commit and after the close. */
static void big_commit(bool leave, long long *after_commit, long long *after_close)
{
    char path[512];
    struct bp_store *s = st_open_new(path, sizeof path, false);
    long long before;

    *after_commit = *after_close = -1;
    if (s == NULL || st_exec(s, "CREATE TABLE t (x BLOB); PRAGMA wal_checkpoint(TRUNCATE)") != SQLITE_OK)
        return;
    before = file_size(path);
    if (leave)
        bp_store_leave_checkpoints(s);
    if (st_exec(s, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                   " WHERE i < 3000) INSERT INTO t SELECT randomblob(3000) FROM n; COMMIT") !=
        SQLITE_OK) {
        bp_store_close(s);
        return;
    }
    *after_commit = file_size(path) - before;
    bp_store_close(s);
    *after_close = file_size(path) - before;
}

static void test_leave_checkpoints(void)
{
    long long commit, close;

    big_commit(false, &commit, &close);            /* control: SQLite's default */
    ASSERT_TRUE(commit > 3000LL * 3000);
    big_commit(true, &commit, &close);
    ASSERT_EQ(commit, 0);
    ASSERT_EQ(close, 0);
}

int main(void)
{
    BP_TEST(test_leave_checkpoints);
    return bp_test_done();
}
