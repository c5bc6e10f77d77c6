/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests of src/base: capped buffer, strings, UTF-8, errors, clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "bp/mailstatus.h"
#include "bp_test.h"

static void test_buf_cap(void)
{
    struct bp_buf b;
    bp_buf_init(&b, 8);
    ASSERT_OK(bp_buf_appends(&b, "abcd"));
    ASSERT_OK(bp_buf_appends(&b, "efgh"));
    ASSERT_EQ(bp_buf_appends(&b, "i"), BP_ETOOBIG);
    ASSERT_STR_EQ(b.data, "abcdefgh");          /* unchanged by the refusal */
    ASSERT_EQ(b.len, 8);
    bp_buf_free(&b);
}

static void test_buf_printf_take(void)
{
    struct bp_buf b;
    size_t len;
    char *s;
    bp_buf_init(&b, 1024);
    for (int i = 0; i < 100; i++)
        ASSERT_OK(bp_buf_printf(&b, "%d,", i % 10));
    s = bp_buf_take(&b, &len);
    ASSERT_EQ(len, 200);
    ASSERT_EQ(b.data, NULL);
    ASSERT_TRUE(strncmp(s, "0,1,2,", 6) == 0);
    free(s);
    bp_buf_init(&b, 4);
    ASSERT_EQ(bp_buf_printf(&b, "%s", "too long"), BP_ETOOBIG);
    bp_buf_free(&b);
}

static void test_utf8(void)
{
    ASSERT_TRUE(bp_utf8_valid("plain", 5));
    ASSERT_TRUE(bp_utf8_valid("Nguy\xe1\xbb\x85n", 8));           /* Nguyễn */
    ASSERT_TRUE(bp_utf8_valid("\xf0\x9f\x98\x80", 4));             /* emoji */
    ASSERT_FALSE(bp_utf8_valid("\xc3", 1));                        /* truncated */
    ASSERT_FALSE(bp_utf8_valid("\xc0\xaf", 2));                    /* overlong */
    ASSERT_FALSE(bp_utf8_valid("\xed\xa0\x80", 3));                /* surrogate */
    ASSERT_FALSE(bp_utf8_valid("caf\xe9", 4));                     /* latin-1 */
    ASSERT_FALSE(bp_utf8_valid("\xf4\x90\x80\x80", 4));            /* > U+10FFFF */
}

static void test_str(void)
{
    char s[] = "  Hello World \r\n";
    ASSERT_STR_EQ(bp_str_trim(s), "Hello World");
    char t[] = "MiXeD@Example.ORG";
    bp_str_lower_ascii(t);
    ASSERT_STR_EQ(t, "mixed@example.org");
    ASSERT_TRUE(bp_str_eq(NULL, NULL));
    ASSERT_FALSE(bp_str_eq("a", NULL));
    ASSERT_TRUE(bp_str_case_eq("STOP", "stop"));
}

static void test_err(void)
{
    ASSERT_STR_EQ(bp_err_name(BP_ENOTFOUND), "BP_ENOTFOUND");
    ASSERT_STR_EQ(bp_strerror(BP_ETOOBIG), "too big");
    ASSERT_STR_EQ(bp_err_name(-2), "ENOENT");        /* errno passes through */
}

static void test_clock(void)
{
    char ts[32];
    bp_clock_set_fake(1795435200123LL);    /* 2026-11-23T12:00:00.123Z */
    ASSERT_EQ(bp_clock_now_ms(), 1795435200123LL);
    bp_clock_fmt_rfc3339(bp_clock_now_ms(), ts, sizeof ts);
    ASSERT_STR_EQ(ts, "2026-11-23T12:00:00.123Z");
    bp_clock_set_fake(0);
    ASSERT_TRUE(bp_clock_now_ms() > 1700000000000LL);
}

/* Which enhanced status codes mark a family's address bounced. */
static void test_mail_status_bad_address(void)
{
    static const char *const bad[] = {
        "5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.2.1",
        "5.1.1 RCPT: <a@example.org>: Recipient address rejected",
        "5.1.10 RCPT: RESOLVER.ADR.RecipientNotFound",
    };
    static const char *const not_bad[] = {
        "", "5", "5.1", "5.1.", "4.1.1", "4.2.2", "5.2.2", "5.1.0", "5.1.7", "5.1.8",
        "5.1.90", "5.1.11", "5.1.100", "5.7.1", "5.7.26", "5.0.0", "2.0.0", "15.1.1",
        "x5.1.1", "RCPT: 550 5.1.1", "5.7.1 RCPT: Client host [195.1.23.4] blocked",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        printf("# bad: %s\n", bad[i]);
        ASSERT_TRUE(bp_mail_status_bad_address(bad[i]));
    }
    for (size_t i = 0; i < sizeof not_bad / sizeof not_bad[0]; i++) {
        printf("# not bad: %s\n", not_bad[i]);
        ASSERT_FALSE(bp_mail_status_bad_address(not_bad[i]));
    }
    ASSERT_FALSE(bp_mail_status_bad_address(NULL));
}

int main(void)
{
    BP_TEST(test_buf_cap);
    BP_TEST(test_buf_printf_take);
    BP_TEST(test_utf8);
    BP_TEST(test_str);
    BP_TEST(test_err);
    BP_TEST(test_clock);
    BP_TEST(test_mail_status_bad_address);
    return bp_test_done();
}
