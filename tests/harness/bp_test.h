/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Minimal TAP test harness for the C unit tests (meson protocol: 'tap').
 *
 *   static void test_something(void) { ASSERT_EQ(1 + 1, 2); }
 *   int main(void) { BP_TEST(test_something); return bp_test_done(); }
 *
 * Asserts print both sides and the location, mark the current test failed
 * and return from the test function.  Header-only.
 */
#ifndef BP_TEST_H
#define BP_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int bp_test__n __attribute__((unused));
static int bp_test__failed_total __attribute__((unused));
static int bp_test__cur_failed __attribute__((unused));

#define BP_TEST(fn)                                                        \
    do {                                                                   \
        bp_test__cur_failed = 0;                                           \
        bp_test__n++;                                                      \
        fn();                                                              \
        printf("%s %d - %s\n", bp_test__cur_failed ? "not ok" : "ok",      \
               bp_test__n, #fn);                                           \
        fflush(stdout);                                                    \
        bp_test__failed_total += bp_test__cur_failed;                      \
    } while (0)

static inline int bp_test_done(void)
{
    printf("1..%d\n", bp_test__n);
    return bp_test__failed_total ? 1 : 0;
}

#define BP_TEST__FAIL(...)                                                 \
    do {                                                                   \
        printf("# %s:%d: ", __FILE__, __LINE__);                           \
        printf(__VA_ARGS__);                                               \
        printf("\n");                                                      \
        bp_test__cur_failed = 1;                                           \
        return;                                                            \
    } while (0)

#define ASSERT_TRUE(c)                                                     \
    do { if (!(c)) BP_TEST__FAIL("expected true: %s", #c); } while (0)
#define ASSERT_FALSE(c)                                                    \
    do { if ((c)) BP_TEST__FAIL("expected false: %s", #c); } while (0)
#define ASSERT_EQ(a, b)                                                    \
    do {                                                                   \
        long long bp_a_ = (long long)(a), bp_b_ = (long long)(b);          \
        if (bp_a_ != bp_b_)                                                \
            BP_TEST__FAIL("%s == %s: %lld != %lld", #a, #b, bp_a_, bp_b_); \
    } while (0)
#define ASSERT_NE(a, b)                                                    \
    do {                                                                   \
        long long bp_a_ = (long long)(a), bp_b_ = (long long)(b);          \
        if (bp_a_ == bp_b_)                                                \
            BP_TEST__FAIL("%s != %s: both %lld", #a, #b, bp_a_);           \
    } while (0)
#define ASSERT_OK(expr)                                                    \
    do {                                                                   \
        long long bp_r_ = (long long)(expr);                               \
        if (bp_r_ != 0)                                                    \
            BP_TEST__FAIL("%s returned %lld", #expr, bp_r_);               \
    } while (0)
#define ASSERT_STR_EQ(a, b)                                                \
    do {                                                                   \
        const char *bp_a_ = (a), *bp_b_ = (b);                             \
        if (bp_a_ == NULL || bp_b_ == NULL || strcmp(bp_a_, bp_b_) != 0)   \
            BP_TEST__FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,            \
                          bp_a_ ? bp_a_ : "(null)",                        \
                          bp_b_ ? bp_b_ : "(null)");                       \
    } while (0)
#define ASSERT_STR_CONTAINS(hay, needle)                                   \
    do {                                                                   \
        const char *bp_h_ = (hay), *bp_n_ = (needle);                      \
        if (bp_h_ == NULL || strstr(bp_h_, bp_n_) == NULL)                 \
            BP_TEST__FAIL("\"%s\" does not contain \"%s\"",                \
                          bp_h_ ? bp_h_ : "(null)", bp_n_);                \
    } while (0)

/* Makes a fresh temporary directory; returns a static path. */
static inline const char *bp_test_tmpdir(void)
{
    static char path[256];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/bp-test-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(path) == NULL) {
        perror("mkdtemp");
        exit(99);
    }
    return path;
}

#endif
