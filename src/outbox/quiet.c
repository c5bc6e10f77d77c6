/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Quiet hours in a guardian's time zone, with ICU calendars (ucal_*): the
 * local wall-clock time of an instant, and the instant the window ends in
 * that zone.  Local arithmetic goes through ICU so days of 23 or 25 hours
 * (DST changes) and zones without DST (Pacific/Honolulu) come out right.
 * A window may wrap midnight (21:00-07:00) or not (12:00-13:00).
 */
#include <stdio.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "bp/outbox.h"

static int parse_hhmm(const char *s, int *out)
{
    int h, m;
    char tail;

    if (s == NULL || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 ||
        strlen(s) != 5 || h < 0 || h > 23 || m < 0 || m > 59)
        return BP_EINVAL_INPUT;
    *out = h * 60 + m;
    return 0;
}

int bp_outbox_quiet_parse(const char *start, const char *end,
                          struct bp_outbox_quiet *q)
{
    if (parse_hhmm(start, &q->start_min) < 0 || parse_hhmm(end, &q->end_min) < 0)
        return BP_EINVAL_INPUT;
    return 0;
}

static UCalendar *open_zone(const char *tz)
{
    UChar zone[128], canon[128];
    UErrorCode st = U_ZERO_ERROR;
    UBool system = 0;
    UCalendar *cal;

    if (tz == NULL || strlen(tz) >= 100)
        return NULL;
    u_uastrcpy(zone, tz);
    ucal_getCanonicalTimeZoneID(zone, -1, canon, 128, &system, &st);
    if (U_FAILURE(st) || !system)
        return NULL;
    cal = ucal_open(zone, -1, "en_US", UCAL_GREGORIAN, &st);
    if (U_FAILURE(st)) {
        if (cal != NULL)
            ucal_close(cal);
        return NULL;
    }
    return cal;
}

int bp_outbox_quiet_due(const struct bp_outbox_quiet *q, const char *tz,
                        int64_t at_ms, int64_t *due_ms)
{
    UErrorCode st = U_ZERO_ERROR;
    UCalendar *cal;
    bool inside, next_day = false;
    int m;

    *due_ms = at_ms;
    if ((cal = open_zone(tz)) == NULL)
        return BP_EINVAL_INPUT;
    if (q->start_min == q->end_min) {
        ucal_close(cal);
        return 0;
    }
    ucal_setMillis(cal, (UDate)at_ms, &st);
    m = ucal_get(cal, UCAL_HOUR_OF_DAY, &st) * 60 + ucal_get(cal, UCAL_MINUTE, &st);
    if (q->start_min < q->end_min) {
        inside = m >= q->start_min && m < q->end_min;
    } else {
        inside = m >= q->start_min || m < q->end_min;
        next_day = m >= q->start_min;
    }
    if (inside) {
        if (next_day)
            ucal_add(cal, UCAL_DATE, 1, &st);
        ucal_set(cal, UCAL_HOUR_OF_DAY, q->end_min / 60);
        ucal_set(cal, UCAL_MINUTE, q->end_min % 60);
        ucal_set(cal, UCAL_SECOND, 0);
        ucal_set(cal, UCAL_MILLISECOND, 0);
        *due_ms = (int64_t)ucal_getMillis(cal, &st);
    }
    ucal_close(cal);
    return U_FAILURE(st) ? BP_EINVAL_INPUT : 0;
}
