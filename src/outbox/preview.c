/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The reach preview (issue 6, item 6): POST /api/messages/preview and
 * `backpack send --dry-run`.  It is built ON THE DRY-RUN PATH: the
 * announcement is created by the same bp_store_announce that sends (same
 * audience policy, language rule, machine translations, quiet hours), the
 * rows it wrote are read back (bp_store_announce_preview) and the
 * transaction is rolled back.  So the preview's numbers are, by
 * construction, what a real send creates -- the integration test compares
 * them (tests/integration/test_preview.py).
 *
 * What it reports: deliveries by (language, channel), held and scheduled
 * ones; each distinct rendered text with its SMS encoding, segments and
 * the characters that force UCS-2; the estimated cost ([sms]
 * price_per_segment x segments of the SMS deliveries that will go);
 * who will not receive it and why; deliveries scheduled for later (quiet
 * hours, send_at) with the local time in one of their time zones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "bp/smsenc.h"
#include "outbox_int.h"

struct pv {
    json_t *reach, *texts, *later;
    double price;
    int64_t segments;          /* SMS segments that will be sent (not held) */
    int64_t held;
};

static int on_group(void *arg, const char *locale, const char *channel, bool held,
                    bool later, int64_t n, int64_t segments)
{
    struct pv *v = arg;
    bool sms = bp_str_eq(channel, "sms");
    json_t *o = json_pack("{s:s, s:s, s:I, s:b, s:b, s:I, s:f}", "locale", locale,
                          "channel", channel, "deliveries", (json_int_t)n, "held", held,
                          "later", later, "segments", (json_int_t)segments, "cost",
                          sms && !held ? (double)segments * v->price : 0.0);

    if (o == NULL)
        return BP_ENOMEM;
    if (sms && !held)
        v->segments += segments;
    if (held)
        v->held += n;
    return json_array_append_new(v->reach, o) == 0 ? 0 : BP_ENOMEM;
}

static void utf8_put(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c, out[1] = 0;
    } else if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6)), out[1] = (char)(0x80 | (c & 0x3F)), out[2] = 0;
    } else if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12)), out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F)), out[3] = 0;
    } else {
        out[0] = (char)(0xF0 | (c >> 18)), out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((c >> 6) & 0x3F)), out[3] = (char)(0x80 | (c & 0x3F));
        out[4] = 0;
    }
}

static int on_text(void *arg, const char *locale, const char *body, bool held, bool mt)
{
    struct pv *v = arg;
    struct bp_smsenc_info info;
    json_t *o, *forcing = json_array();
    char ch[8];

    /* body is already normalised (render.c): analysing it again gives
     * exactly the encoding and segments stored on the SMS deliveries. */
    if (forcing == NULL || bp_smsenc_analyze(body, strlen(body), 0, &info, NULL) < 0) {
        json_decref(forcing);
        return BP_EINVAL_INPUT;
    }
    for (size_t i = 0; i < info.n_forcing; i++) {
        utf8_put(info.forcing[i], ch);
        json_array_append_new(forcing, json_string(ch));
    }
    o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:I, s:I, s:o, s:I, s:f}", "locale", locale,
                  "text", body, "held", held, "machine_translated", mt, "encoding",
                  info.encoding == BP_SMSENC_GSM7 ? "gsm7" : "ucs2", "segments",
                  (json_int_t)info.segments, "characters", (json_int_t)info.chars,
                  "forcing_ucs2", forcing, "forcing_ucs2_count",
                  (json_int_t)info.n_forcing_total, "cost_per_sms",
                  (double)info.segments * v->price);
    if (o == NULL)
        return BP_ENOMEM;
    return json_array_append_new(v->texts, o) == 0 ? 0 : BP_ENOMEM;
}

/* "2025-01-31 07:00" in zone tz (IANA id). */
static int local_time(const char *tz, int64_t ms, char *out, size_t n)
{
    UErrorCode st = U_ZERO_ERROR;
    UChar zone[128];
    UCalendar *cal;

    if (strlen(tz) >= 100)
        return BP_EINVAL_INPUT;
    u_uastrcpy(zone, tz);
    cal = ucal_open(zone, -1, "en_US", UCAL_GREGORIAN, &st);
    if (U_FAILURE(st)) {
        if (cal != NULL)
            ucal_close(cal);
        return BP_EINVAL_INPUT;
    }
    ucal_setMillis(cal, (UDate)ms, &st);
    snprintf(out, n, "%04d-%02d-%02d %02d:%02d", ucal_get(cal, UCAL_YEAR, &st),
             ucal_get(cal, UCAL_MONTH, &st) + 1, ucal_get(cal, UCAL_DATE, &st),
             ucal_get(cal, UCAL_HOUR_OF_DAY, &st), ucal_get(cal, UCAL_MINUTE, &st));
    ucal_close(cal);
    return U_FAILURE(st) ? BP_EINVAL_INPUT : 0;
}

static int on_later(void *arg, const char *tz, int64_t due_ms, int64_t n)
{
    struct pv *v = arg;
    char local[32] = "", utc[32];
    time_t t = (time_t)(due_ms / 1000);
    struct tm tm;
    json_t *o;

    gmtime_r(&t, &tm);
    strftime(utc, sizeof utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (local_time(tz, due_ms, local, sizeof local) < 0)
        snprintf(local, sizeof local, "%s", utc);
    o = json_pack("{s:s, s:s, s:s, s:I}", "at", utc, "local", local, "timezone", tz,
                  "deliveries", (json_int_t)n);
    if (o == NULL)
        return BP_ENOMEM;
    return json_array_append_new(v->later, o) == 0 ? 0 : BP_ENOMEM;
}

static int finish(struct bp_outbox_preview *p, struct pv *v)
{
    const struct bp_store_announce *a = &p->a;
    struct bp_buf sum;
    json_t *doc, *nr;
    char *s;
    int rc;

    bp_buf_init(&sum, 4096);
    if ((rc = bp_outbox_summary_json(a, true, &sum)) < 0) {
        bp_buf_free(&sum);
        return rc;
    }
    doc = json_loads(sum.data, 0, NULL);
    bp_buf_free(&sum);
    nr = json_pack("{s:I, s:I, s:I, s:I, s:I}",
                   "opted_out", (json_int_t)a->skipped[BP_SKIP_OPTED_OUT],
                   "no_contact", (json_int_t)a->skipped[BP_SKIP_NO_CONTACT],
                   "may_not_receive", (json_int_t)a->skipped[BP_SKIP_MAY_NOT_RECEIVE],
                   "no_student", (json_int_t)a->skipped[BP_SKIP_NO_STUDENT],
                   "no_translation", (json_int_t)a->held);
    if (doc == NULL || nr == NULL) {
        json_decref(doc);
        json_decref(nr);
        return BP_ENOMEM;
    }
    json_object_set_new(doc, "preview", json_true());
    json_object_set(doc, "reach", v->reach);
    json_object_set(doc, "texts", v->texts);
    json_object_set(doc, "scheduled", v->later);
    json_object_set_new(doc, "not_receiving", nr);
    json_object_set_new(doc, "cost", json_pack("{s:s, s:f, s:I, s:f}", "currency",
                        p->conf->sms_price_currency, "per_segment", v->price,
                        "segments", (json_int_t)v->segments, "total",
                        (double)v->segments * v->price));
    s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (s == NULL)
        return BP_ENOMEM;
    rc = bp_buf_appends(&p->json, s);
    free(s);
    return rc;
}

int bp_outbox_preview_fn(struct bp_store *s, void *arg)
{
    struct bp_outbox_preview *p = arg;
    struct pv v = {.reach = json_array(), .texts = json_array(), .later = json_array(),
                   .price = strtod(p->conf->sms_price_per_segment, NULL)};
    struct bp_store_preview cb = {.arg = &v, .group = on_group, .text = on_text,
                                  .later = on_later};
    int rc;

    if (v.reach == NULL || v.texts == NULL || v.later == NULL)
        rc = BP_ENOMEM;
    else if ((rc = bp_store_announce(s, &p->a)) == 0 &&
             (rc = bp_store_announce_preview(s, &p->a, &cb)) == 0)
        rc = finish(p, &v);
    json_decref(v.reach);
    json_decref(v.texts);
    json_decref(v.later);
    return rc < 0 ? rc : BP_ECANCELED;   /* always rolled back */
}
