/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Retry delays: growth, cap, jitter bounds, Retry-After (fixed random). */
#include "bp/outbox.h"
#include "bp_test.h"

static void test_growth_and_cap(void)
{
    /* rnd = 0: the lower edge of the jitter (exp - exp/2). */
    ASSERT_EQ(bp_outbox_backoff_ms(1, 30000, 3600000, 0, 0), 15000);
    ASSERT_EQ(bp_outbox_backoff_ms(2, 30000, 3600000, 0, 0), 30000);
    ASSERT_EQ(bp_outbox_backoff_ms(3, 30000, 3600000, 0, 0), 60000);
    ASSERT_EQ(bp_outbox_backoff_ms(20, 30000, 3600000, 0, 0), 1800000);
    ASSERT_EQ(bp_outbox_backoff_ms(1000, 30000, 3600000, 0, 0), 1800000);
}

static void test_jitter_bounds(void)
{
    /* rnd = exp/2 is the top of the range: exactly exp. */
    ASSERT_EQ(bp_outbox_backoff_ms(1, 1000, 60000, 0, 500), 1000);
    ASSERT_EQ(bp_outbox_backoff_ms(1, 1000, 60000, 0, 501), 500);   /* wraps mod 501 */
    ASSERT_EQ(bp_outbox_backoff_ms(3, 1000, 60000, 0, 1234), 2000 + 1234 % 2001);
    for (uint32_t r = 0; r < 100000; r += 997) {
        int64_t d = bp_outbox_backoff_ms(5, 1000, 60000, 0, r * 2654435761u);
        ASSERT_TRUE(d >= 8000 && d <= 16000);
    }
}

static void test_retry_after(void)
{
    ASSERT_EQ(bp_outbox_backoff_ms(1, 1000, 60000, 90000, 7), 90000);
    ASSERT_EQ(bp_outbox_backoff_ms(1, 1000, 60000, 10, 0), 500);
}

int main(void)
{
    BP_TEST(test_growth_and_cap);
    BP_TEST(test_jitter_bounds);
    BP_TEST(test_retry_after);
    return bp_test_done();
}
