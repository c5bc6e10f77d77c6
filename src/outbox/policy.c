/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * From a send request (CLI or API) to the store's announcement request:
 * validation, quiet-hours callback, RFC 3339 times, and the JSON summary
 * both front ends print.  The audience policy itself is set-based SQL in
 * src/store/outbox_audience.c; the decisions it needs from outside the
 * store (quiet hours per time zone here, rendering per locale and zone in
 * render.c) are callbacks.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "outbox_int.h"

int bp_outbox_parse_rfc3339(const char *s, int64_t *ms)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, n = 0, frac = 0, fdig = 0, off = 0;

    memset(&tm, 0, sizeof tm);
    if (s == NULL || sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h,
                            &mi, &sec, &n) != 6 || n != 19)
        return BP_EINVAL_INPUT;
    s += n;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, fdig++)
            if (fdig < 3)
                frac = frac * 10 + (*s - '0');
        if (fdig == 0)
            return BP_EINVAL_INPUT;
        for (int i = fdig; i < 3; i++)
            frac *= 10;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int oh, om;
        if (strlen(s) != 6 || sscanf(s + 1, "%2d:%2d", &oh, &om) != 2 ||
            oh > 23 || om > 59)
            return BP_EINVAL_INPUT;
        off = (oh * 60 + om) * (*s == '-' ? -1 : 1);
        s += 6;
    } else {
        return BP_EINVAL_INPUT;
    }
    if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return BP_EINVAL_INPUT;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *ms = ((int64_t)timegm(&tm) - (int64_t)off * 60) * 1000 + frac;
    return 0;
}

/* bp_store_due_fn: quiet hours; an unknown zone in the roster falls back
 * to the school's zone rather than failing the whole announcement. */
static int due_cb(void *arg, const char *tz, int64_t base_ms, int64_t *due_ms)
{
    const struct bp_outbox_policy *p = arg;

    if (bp_outbox_quiet_due(&p->quiet, tz, base_ms, due_ms) == 0)
        return 0;
    return bp_outbox_quiet_due(&p->quiet, p->default_tz, base_ms, due_ms);
}

static int fail(struct bp_errbuf *eb, const char *msg)
{
    if (eb != NULL)
        snprintf(eb->msg, sizeof eb->msg, "%s", msg);
    return BP_EINVAL_INPUT;
}

int bp_outbox_prepare(const struct bp_conf *conf,
                      const struct bp_outbox_req *req,
                      struct bp_outbox_policy *pol,
                      struct bp_store_announce *a, struct bp_errbuf *eb)
{
    const char *k = req->audience_kind;

    memset(a, 0, sizeof *a);
    memset(pol, 0, sizeof *pol);
    if (bp_outbox_quiet_parse(conf->outbox_quiet_start, conf->outbox_quiet_end,
                              &pol->quiet) < 0)
        return fail(eb, "[outbox] quiet_start/quiet_end must be HH:MM");
    pol->default_tz = conf->school_timezone;
    if (k == NULL)
        return fail(eb, "an audience is required (student, section, school or guardians)");
    if ((bp_str_eq(k, "student") || bp_str_eq(k, "section")) &&
        (req->audience_ref == NULL || *req->audience_ref == '\0'))
        return fail(eb, "the audience needs a sourced id");
    if (bp_str_eq(k, "custom") && req->nguardians == 0)
        return fail(eb, "a guardian list must not be empty");
    if (!bp_str_eq(k, "student") && !bp_str_eq(k, "section") &&
        !bp_str_eq(k, "school") && !bp_str_eq(k, "custom"))
        return fail(eb, "unknown audience kind");
    if ((req->text == NULL) == (req->template_key == NULL))
        return fail(eb, "give either a text or a template key");
    if (req->text != NULL &&
        (*req->text == '\0' || !bp_utf8_valid(req->text, strlen(req->text))))
        return fail(eb, "the text must be non-empty UTF-8");
    if (bp__outbox_content_prepare(conf, req, pol, eb) < 0)
        return BP_EINVAL_INPUT;
    a->audience_kind = k;
    a->audience_ref = req->audience_ref;
    a->guardians = req->guardians;
    a->nguardians = req->nguardians;
    a->body = req->text;
    a->template_key = req->template_key;
    a->template_args = req->template_args;
    a->subject = conf->school_name[0] ? conf->school_name : NULL;
    a->urgent = req->urgent;
    a->allow_fallback = req->allow_fallback;
    a->send_at = req->send_at;
    a->author_staff_id = req->author_staff_id;
    a->default_tz = conf->school_timezone;
    a->default_locale = conf->school_default_locale;
    a->now_ms = bp_clock_now_ms();
    a->due = due_cb;
    a->render = bp__outbox_render;   /* per (locale, zone): render.c */
    a->cb_arg = pol;
    return 0;
}

int bp_outbox_create_fn(struct bp_store *s, void *arg)
{
    struct bp_outbox_create *c = arg;
    int rc = bp_store_announce(s, &c->a);

    if (rc == 0 && c->dry_run)
        return BP_ECANCELED;
    return rc;
}

int bp_outbox_summary_json(const struct bp_store_announce *a, bool dry_run,
                           struct bp_buf *out)
{
    int rc = bp_buf_printf(out,
        "{\"announcement_id\":%lld,\"dry_run\":%s,\"messages\":%lld,"
        "\"deliveries\":{\"sms\":%lld,\"email\":%lld},\"held\":%lld,"
        "\"deferred\":%lld,\"skipped\":{",
        dry_run ? 0LL : (long long)a->announcement_id, dry_run ? "true" : "false",
        (long long)a->messages, (long long)a->deliveries[0],
        (long long)a->deliveries[1], (long long)a->held, (long long)a->deferred);
    for (int i = 0; i < BP_SKIP__COUNT && rc == 0; i++)
        rc = bp_buf_printf(out, "%s\"%s\":%lld", i ? "," : "",
                           bp_skip_reason_name((enum bp_skip_reason)i),
                           (long long)a->skipped[i]);
    return rc < 0 ? rc : bp_buf_appends(out, "}}");
}
