/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Retry delays for transient send failures: exponential backoff with
 * "equal jitter" (half the delay fixed, half random), so a provider outage
 * does not end in every delivery retrying in the same second, and never
 * sooner than the provider's Retry-After.  Pure: the random value is an
 * argument (src/outbox/sched.c passes randombytes; tests fixed values).
 * The deadline (give up -> failed) is applied by the scheduler.
 */
#include "bp/outbox.h"

int64_t bp_outbox_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                             int64_t retry_after_ms, uint32_t rnd)
{
    int64_t exp = base_ms > 0 ? base_ms : 1, half, d;

    if (max_ms < exp)
        max_ms = exp;
    for (int i = 1; i < attempt && exp < max_ms; i++)
        exp *= 2;
    if (exp > max_ms)
        exp = max_ms;
    half = exp / 2;
    d = (exp - half) + (int64_t)(rnd % (uint64_t)(half + 1));
    if (d > exp)
        d = exp;
    return d < retry_after_ms ? retry_after_ms : d;
}
