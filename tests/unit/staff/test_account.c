/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of bp_staff_add and the staff store statements against a real
 * SQLite file: create, duplicate, update, lookup, and the stored hash
 * verifying with libsodium. */
#include <stdlib.h>

#include "bp/base.h"
#include "bp/staff.h"
#include "bp/store.h"
#include "bp/store_staff.h"
#include "bp_test.h"

static char dir[256], dbpath[300];

static struct bp_store *open_db(void)
{
    struct bp_store_opts o = {.path = dbpath, .sync_full = true};
    struct bp_store *s = NULL;
    struct bp_errbuf eb;

    if (bp_store_open(&o, &s, &eb) < 0 || bp_store_migrate(s, NULL, NULL, &eb) < 0) {
        printf("# cannot open %s: %s\n", dbpath, eb.msg);
        exit(99);
    }
    return s;
}

static void test_add_lookup_update(void)
{
    static const char pw[] = "a long enough password", pw2[] = "the second password";
    struct bp_staff_account a = {
        .email = "Ms.Smith@School.Example.org", .role = "teacher",
        .display_name = "Ms Smith", .password = pw, .pw_len = strlen(pw),
    };
    struct bp_store *s = open_db();
    struct bp_store_staff row;
    struct bp_errbuf eb = {{0}, {0}};
    bool created = false;

    ASSERT_OK(bp_staff_add(s, &a, false, &created, &eb));
    ASSERT_TRUE(created);
    ASSERT_OK(bp_store_staff_get_by_email(s, "ms.smith@school.example.org", &row));
    ASSERT_STR_EQ(row.email, "ms.smith@school.example.org");
    ASSERT_STR_EQ(row.role, "teacher");
    ASSERT_STR_EQ(row.display_name, "Ms Smith");
    ASSERT_TRUE(row.active);
    ASSERT_TRUE(strncmp(row.password_hash, "$argon2id$", 10) == 0);
    ASSERT_OK(bp_staff_password_verify(row.password_hash, pw, strlen(pw)));
    ASSERT_EQ(bp_staff_password_verify(row.password_hash, pw2, strlen(pw2)),
              BP_EAUTH);
    bp_store_staff_clear(&row);

    /* Same e-mail in another case: duplicate, nothing changes. */
    a.email = "MS.SMITH@school.example.org";
    a.role = "admin";
    ASSERT_EQ(bp_staff_add(s, &a, false, &created, &eb), BP_EDUPLICATE);
    ASSERT_STR_CONTAINS(eb.msg, "already exists");
    ASSERT_OK(bp_store_staff_get_by_email(s, "ms.smith@school.example.org", &row));
    ASSERT_STR_EQ(row.role, "teacher");
    bp_store_staff_clear(&row);

    /* --update: role and password change, the name is kept when NULL. */
    a.display_name = NULL;
    a.password = pw2;
    a.pw_len = strlen(pw2);
    ASSERT_OK(bp_staff_add(s, &a, true, &created, &eb));
    ASSERT_FALSE(created);
    ASSERT_OK(bp_store_staff_get_by_email(s, "ms.smith@school.example.org", &row));
    ASSERT_STR_EQ(row.role, "admin");
    ASSERT_STR_EQ(row.display_name, "Ms Smith");
    ASSERT_OK(bp_staff_password_verify(row.password_hash, pw2, strlen(pw2)));
    ASSERT_EQ(bp_staff_password_verify(row.password_hash, pw, strlen(pw)), BP_EAUTH);
    bp_store_staff_clear(&row);
    ASSERT_EQ(bp_store_staff_get_by_email(s, "nobody@example.org", &row),
              BP_ENOTFOUND);
    bp_store_close(s);
}

static void test_rejects(void)
{
    static const char pw[] = "a long enough password";
    struct bp_staff_account a = {
        .email = "x@example.org", .role = "janitor", .password = pw,
        .pw_len = strlen(pw),
    };
    struct bp_store *s = open_db();
    struct bp_store_staff row;
    struct bp_errbuf eb;
    bool created;

    ASSERT_EQ(bp_staff_add(s, &a, false, &created, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "teacher, admin or monitor");
    a.role = "monitor";
    a.email = "not-an-email";
    ASSERT_EQ(bp_staff_add(s, &a, false, &created, &eb), BP_EINVAL_INPUT);
    a.email = "x@example.org";
    a.password = "short";
    a.pw_len = 5;
    ASSERT_EQ(bp_staff_add(s, &a, false, &created, &eb), BP_EINVAL_INPUT);
    ASSERT_EQ(bp_store_staff_get_by_email(s, "x@example.org", &row), BP_ENOTFOUND);
    /* The schema itself refuses a non-argon2id hash or an upper-case e-mail. */
    ASSERT_EQ(bp_store_staff_insert(s, "y@example.org", "", "teacher",
                                    "plaintext", 1, NULL), BP_ECONSTRAINT);
    ASSERT_EQ(bp_store_staff_insert(s, "Y@example.org", "", "teacher", NULL, 1,
                                    NULL), BP_ECONSTRAINT);
    ASSERT_EQ(bp_store_staff_update(s, 424242, "admin", NULL, NULL, 1),
              BP_ENOTFOUND);
    bp_store_close(s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", bp_test_tmpdir());
    snprintf(dbpath, sizeof dbpath, "%s/staff.db", dir);
    BP_TEST(test_add_lookup_update);
    BP_TEST(test_rejects);
    unlink(dbpath);
    snprintf(dbpath + strlen(dbpath), sizeof dbpath - strlen(dbpath), "-wal");
    unlink(dbpath);
    dbpath[strlen(dbpath) - 4] = '\0';
    strcat(dbpath, "-shm");
    unlink(dbpath);
    rmdir(dir);
    return bp_test_done();
}
