/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/staff/password.c and the e-mail/role checks: argon2id
 * hash format, verification, re-hash detection, the password policy. */
#include <sodium.h>

#include "bp/base.h"
#include "bp/staff.h"
#include "bp_test.h"

static void test_hash_and_verify(void)
{
    static const char pw[] = "correct horse battery";
    char h1[BP_STAFF_HASH_MAX], h2[BP_STAFF_HASH_MAX];

    ASSERT_OK(bp_staff_init());
    ASSERT_OK(bp_staff_password_hash(pw, strlen(pw), h1));
    ASSERT_TRUE(strncmp(h1, "$argon2id$v=19$m=65536,t=2,p=1$", 31) == 0);
    ASSERT_OK(bp_staff_password_hash(pw, strlen(pw), h2));
    ASSERT_TRUE(strcmp(h1, h2) != 0);                  /* salted */
    ASSERT_OK(bp_staff_password_verify(h1, pw, strlen(pw)));
    ASSERT_OK(bp_staff_password_verify(h2, pw, strlen(pw)));
    ASSERT_EQ(bp_staff_password_verify(h1, "correct horse batterY", 21), BP_EAUTH);
    ASSERT_EQ(bp_staff_password_verify(h1, pw, strlen(pw) - 1), BP_EAUTH);
    ASSERT_EQ(bp_staff_password_verify("$argon2i$v=19$garbage", pw, strlen(pw)),
              BP_EAUTH);
    ASSERT_EQ(bp_staff_password_verify(NULL, pw, strlen(pw)), BP_EAUTH);
    ASSERT_FALSE(bp_staff_password_needs_rehash(h1));
}

static void test_needs_rehash(void)
{
    static const char pw[] = "another long password";
    char weak[crypto_pwhash_STRBYTES];

    /* A hash made with other (cheaper) parameters must be re-hashed. */
    ASSERT_OK(crypto_pwhash_str_alg(weak, pw, strlen(pw),
                                    crypto_pwhash_OPSLIMIT_MIN,
                                    crypto_pwhash_MEMLIMIT_MIN,
                                    crypto_pwhash_ALG_ARGON2ID13));
    ASSERT_OK(bp_staff_password_verify(weak, pw, strlen(pw)));
    ASSERT_TRUE(bp_staff_password_needs_rehash(weak));
    ASSERT_TRUE(bp_staff_password_needs_rehash("not a hash"));
    ASSERT_TRUE(bp_staff_password_needs_rehash(NULL));
}

static void test_policy(void)
{
    struct bp_errbuf eb;
    char big[BP_STAFF_PW_MAX_BYTES + 1];

    ASSERT_OK(bp_staff_password_check("0123456789", 10, NULL, &eb));
    ASSERT_EQ(bp_staff_password_check("012345678", 9, NULL, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "shorter than 10 characters");
    ASSERT_EQ(bp_staff_password_check("", 0, NULL, &eb), BP_EINVAL_INPUT);
    /* Characters, not bytes: 9 two-byte letters are too short, 10 are ok. */
    ASSERT_EQ(bp_staff_password_check("ééééééééé", 18, NULL, &eb), BP_EINVAL_INPUT);
    ASSERT_OK(bp_staff_password_check("éééééééééé", 20, NULL, &eb));
    ASSERT_EQ(bp_staff_password_check("abcdefghij\xff", 11, NULL, &eb),
              BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "UTF-8");
    ASSERT_EQ(bp_staff_password_check("abcde\0fghij", 11, NULL, &eb),
              BP_EINVAL_INPUT);
    memset(big, 'a', sizeof big);
    ASSERT_OK(bp_staff_password_check(big, BP_STAFF_PW_MAX_BYTES, NULL, &eb));
    ASSERT_EQ(bp_staff_password_check(big, sizeof big, NULL, &eb), BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "longer than 1024 bytes");
    ASSERT_EQ(bp_staff_password_check("Ana.Diaz@Example.org", 20,
                                      "ana.diaz@example.org", &eb),
              BP_EINVAL_INPUT);
    ASSERT_STR_CONTAINS(eb.msg, "e-mail");
    ASSERT_OK(bp_staff_password_check("ana.diaz@example.org!", 21,
                                      "ana.diaz@example.org", &eb));
}

static void test_email_and_role(void)
{
    static const char *const bad[] = {
        "", "   ", "no-at-sign", "@example.org", "a@b", "a@.org", "a@b.",
        "a@@b.org", "a b@c.org", "a@b..org", "<a@b.org>", "a@b.org\n",
    };
    struct bp_errbuf eb;
    char out[BP_STAFF_EMAIL_MAX + 1];

    ASSERT_OK(bp_staff_email_normalize("  Ana.Diaz@Example.ORG ", out,
                                       sizeof out, &eb));
    ASSERT_STR_EQ(out, "ana.diaz@example.org");
    ASSERT_OK(bp_staff_email_normalize("x+tag@sub.school.example", out,
                                       sizeof out, &eb));
    for (size_t i = 0; i < BP_ARRAY_LEN(bad); i++)
        if (bp_staff_email_normalize(bad[i], out, sizeof out, &eb) !=
            BP_EINVAL_INPUT)
            BP_TEST__FAIL("accepted bad e-mail '%s'", bad[i]);
    ASSERT_TRUE(bp_staff_role_valid("teacher"));
    ASSERT_TRUE(bp_staff_role_valid("admin"));
    ASSERT_TRUE(bp_staff_role_valid("monitor"));
    ASSERT_FALSE(bp_staff_role_valid("Admin"));
    ASSERT_FALSE(bp_staff_role_valid("root"));
    ASSERT_FALSE(bp_staff_role_valid(NULL));
}

int main(void)
{
    BP_TEST(test_hash_and_verify);
    BP_TEST(test_needs_rehash);
    BP_TEST(test_policy);
    BP_TEST(test_email_and_role);
    return bp_test_done();
}
