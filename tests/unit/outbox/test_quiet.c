/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Quiet hours across time zones and DST changes.  Expected instants are
 * written in UTC (RFC 3339) and were worked out by hand from the zones'
 * offsets: New York EST -5 / EDT -4 (2025-03-09 and 2025-11-02 changes),
 * Los Angeles PST -8 / PDT -7, Honolulu -10 all year.
 */
#include "bp/outbox.h"
#include "bp_test.h"

static struct bp_outbox_quiet q;

static int64_t t(const char *s)
{
    int64_t ms = 0;
    if (bp_outbox_parse_rfc3339(s, &ms) < 0) {
        printf("# bad time %s\n", s);
        exit(99);
    }
    return ms;
}

static int64_t due(const char *tz, const char *at)
{
    int64_t d = -1;
    if (bp_outbox_quiet_due(&q, tz, t(at), &d) < 0)
        return -2;
    return d;
}

static void test_outside_window(void)
{
    /* 12:00 in New York (EST) */
    ASSERT_EQ(due("America/New_York", "2025-01-15T17:00:00Z"), t("2025-01-15T17:00:00Z"));
    /* 20:59 New York */
    ASSERT_EQ(due("America/New_York", "2025-01-16T01:59:00Z"), t("2025-01-16T01:59:00Z"));
}

static void test_evening_goes_next_morning(void)
{
    /* 22:30 EST -> 07:00 EST next day */
    ASSERT_EQ(due("America/New_York", "2025-01-16T03:30:00Z"), t("2025-01-16T12:00:00Z"));
    /* 21:00 exactly is inside */
    ASSERT_EQ(due("America/New_York", "2025-01-16T02:00:00Z"), t("2025-01-16T12:00:00Z"));
    /* 03:00 EST -> 07:00 same day */
    ASSERT_EQ(due("America/New_York", "2025-01-16T08:00:00Z"), t("2025-01-16T12:00:00Z"));
    /* 07:00 is outside */
    ASSERT_EQ(due("America/New_York", "2025-01-16T12:00:00Z"), t("2025-01-16T12:00:00Z"));
}

static void test_dst_spring_forward(void)
{
    /* 22:00 EST Sat 2025-03-08 -> 07:00 EDT Sun (a 23-hour day): 11:00Z */
    ASSERT_EQ(due("America/New_York", "2025-03-09T03:00:00Z"), t("2025-03-09T11:00:00Z"));
    /* same night in Los Angeles: 22:00 PST -> 07:00 PDT = 14:00Z */
    ASSERT_EQ(due("America/Los_Angeles", "2025-03-09T06:00:00Z"), t("2025-03-09T14:00:00Z"));
}

static void test_dst_fall_back(void)
{
    /* 23:00 EDT Sat 2025-11-01 -> 07:00 EST Sun = 12:00Z */
    ASSERT_EQ(due("America/New_York", "2025-11-02T03:00:00Z"), t("2025-11-02T12:00:00Z"));
    /* 01:30 EST (the second 01:30) -> 07:00 EST = 12:00Z */
    ASSERT_EQ(due("America/New_York", "2025-11-02T06:30:00Z"), t("2025-11-02T12:00:00Z"));
}

static void test_honolulu_no_dst(void)
{
    /* 21:30 HST -> 07:00 HST = 17:00Z, in winter and in summer */
    ASSERT_EQ(due("Pacific/Honolulu", "2025-01-16T07:30:00Z"), t("2025-01-16T17:00:00Z"));
    ASSERT_EQ(due("Pacific/Honolulu", "2025-07-16T07:30:00Z"), t("2025-07-16T17:00:00Z"));
    /* the same instant is 03:30 in New York (EDT): also quiet, 07:00 EDT */
    ASSERT_EQ(due("America/New_York", "2025-07-16T07:30:00Z"), t("2025-07-16T11:00:00Z"));
}

static void test_non_wrapping_and_off(void)
{
    struct bp_outbox_quiet keep = q;
    ASSERT_OK(bp_outbox_quiet_parse("12:00", "13:30", &q));
    ASSERT_EQ(due("America/New_York", "2025-01-15T17:10:00Z"), t("2025-01-15T18:30:00Z"));
    ASSERT_EQ(due("America/New_York", "2025-01-15T18:30:00Z"), t("2025-01-15T18:30:00Z"));
    ASSERT_OK(bp_outbox_quiet_parse("00:00", "00:00", &q));
    ASSERT_EQ(due("America/New_York", "2025-01-16T03:30:00Z"), t("2025-01-16T03:30:00Z"));
    q = keep;
}

static void test_bad_input(void)
{
    struct bp_outbox_quiet x;
    int64_t d;
    ASSERT_EQ(bp_outbox_quiet_parse("25:00", "07:00", &x), BP_EINVAL_INPUT);
    ASSERT_EQ(bp_outbox_quiet_parse("9:00", "07:00", &x), BP_EINVAL_INPUT);
    ASSERT_EQ(bp_outbox_quiet_due(&q, "Mars/Olympus", 0, &d), BP_EINVAL_INPUT);
    ASSERT_EQ(bp_outbox_parse_rfc3339("2025-01-15 17:00", &d), BP_EINVAL_INPUT);
    ASSERT_OK(bp_outbox_parse_rfc3339("2025-01-15T12:00:00.250-05:00", &d));
    ASSERT_EQ(d, t("2025-01-15T17:00:00Z") + 250);
}

int main(void)
{
    if (bp_outbox_quiet_parse("21:00", "07:00", &q) < 0)
        return 99;
    BP_TEST(test_outside_window);
    BP_TEST(test_evening_goes_next_morning);
    BP_TEST(test_dst_spring_forward);
    BP_TEST(test_dst_fall_back);
    BP_TEST(test_honolulu_no_dst);
    BP_TEST(test_non_wrapping_and_off);
    BP_TEST(test_bad_input);
    return bp_test_done();
}
