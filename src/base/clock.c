/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Injectable clock (STYLE.md C12 "no sleeps"): production reads the system
 * clocks; tests pin wall time with bp_clock_set_fake().
 */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "bp/base.h"

static _Atomic int64_t fake_wall_ms;

void bp_clock_set_fake(int64_t wall_ms)
{
    atomic_store(&fake_wall_ms, wall_ms);
}

int64_t bp_clock_now_ms(void)
{
    struct timespec ts;
    int64_t fake = atomic_load(&fake_wall_ms);

    if (fake != 0)
        return fake;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t bp_clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void bp_clock_fmt_rfc3339(int64_t ms, char *out, size_t n)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}
