/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Token bucket for the per-sender-number rate limit of the SMS sender.
 * A pure function of the clock value passed in, so tests drive it with
 * made-up times; sms.c feeds it uv_now() and arms one timer with
 * bp__sms_bucket_wait_ms() when it runs dry.
 */
#include <math.h>

#include "sms_int.h"

void bp__sms_bucket_init(struct bp__sms_bucket *b, unsigned rate, unsigned burst,
                         uint64_t now_ms)
{
    if (burst == 0 || burst > rate)
        burst = rate;
    if (burst == 0)
        burst = 1;
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst;
    b->last_ms = now_ms;
}

static void refill(struct bp__sms_bucket *b, uint64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ms = now_ms;
    }
}

bool bp__sms_bucket_take(struct bp__sms_bucket *b, uint64_t now_ms)
{
    refill(b, now_ms);
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

uint64_t bp__sms_bucket_wait_ms(const struct bp__sms_bucket *b, uint64_t now_ms)
{
    struct bp__sms_bucket t = *b;
    refill(&t, now_ms);
    if (t.tokens >= 1.0 || t.rate <= 0)
        return 1;
    double ms = ceil((1.0 - t.tokens) * 1000.0 / t.rate);
    return ms < 1 ? 1 : (uint64_t)ms;
}
