/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The outbox's rendering callback (bp_store_render_fn) and template
 * arguments.  The store calls the callback once per distinct (guardian
 * locale, time zone) of an announcement, on the writer thread; it only
 * reads the shared, read-only catalogue and the request's own policy state.
 *
 * The language rule (docs/outbox.md, "Languages"): a family must never get
 * a message it cannot read, so a delivery is marked "not translated" (the
 * store then holds it with reason no_translation unless the sender allowed
 * the fallback) when
 *  - template: catalogue negotiation for the guardian's locale ends at the
 *    school default (BP_TMPL_MATCH_DEFAULT: 'und', or a language with no
 *    entry for the key);
 *  - free text: the guardian's language (and script) is not the school's
 *    default language, decided by the same negotiation against a catalogue
 *    that declares only the default locale -- unless its machine
 *    translation is ready (translate.c): then the family gets that, with
 *    the catalogue's note saying a machine translated it.
 * Dates (RFC 3339 arguments) are rendered in the guardian's time zone.
 * Each rendered text is normalised (NFC, typographic punctuation as GSM
 * characters) and analysed as an SMS (encoding, segments).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bp/log.h"
#include "bp/smsenc.h"
#include "outbox_int.h"

__attribute__((format(printf, 2, 3)))
static int fail(struct bp_errbuf *eb, const char *fmt, ...)
{
    va_list ap;

    if (eb != NULL) {
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
        va_end(ap);
    }
    return BP_EINVAL_INPUT;
}

/* "0", "-12", "42" (no leading zero, at most 18 digits): an integer. */
static bool is_int(const char *v)
{
    size_t n;

    if (*v == '-')
        v++;
    n = strspn(v, "0123456789");
    return n > 0 && n <= 18 && v[n] == '\0' && (v[0] != '0' || n == 1);
}

/* "3.5", "-0.25": a decimal (digits on both sides of one dot). */
static bool is_decimal(const char *v)
{
    size_t a, b;

    if (*v == '-')
        v++;
    a = strspn(v, "0123456789");
    if (a == 0 || a > 15 || v[a] != '.')
        return false;
    b = strspn(v + a + 1, "0123456789");
    return b > 0 && b <= 6 && v[a + 1 + b] == '\0';
}

int bp_outbox_args_from_kv(const char *const *kv, size_t n, char **json,
                           struct bp_errbuf *eb)
{
    json_t *o = json_object();
    int rc = 0;

    *json = NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *eq = strchr(kv[i], '=');
        char name[64];
        json_t *v;

        if (eq == NULL || eq == kv[i] || (size_t)(eq - kv[i]) >= sizeof name) {
            rc = fail(eb, "--arg wants NAME=VALUE, got '%.60s'", kv[i]);
            break;
        }
        memcpy(name, kv[i], (size_t)(eq - kv[i]));
        name[eq - kv[i]] = '\0';
        if (json_object_get(o, name) != NULL) {
            rc = fail(eb, "template argument '%s' given twice", name);
            break;
        }
        eq++;
        v = is_int(eq) ? json_integer(strtoll(eq, NULL, 10))
            : is_decimal(eq) ? json_real(strtod(eq, NULL)) : json_string(eq);
        if (v == NULL || json_object_set_new(o, name, v) < 0)
            rc = fail(eb, "template argument '%s' is not valid UTF-8", name);
    }
    if (rc == 0 && (*json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        rc = BP_ENOMEM;
    json_decref(o);
    return rc;
}

/* "12.50 USD": an amount and an ISO 4217 code. */
static bool parse_money(const char *v, struct bp_tmpl_arg *a)
{
    const char *sp = strchr(v, ' ');
    char num[24];

    if (sp == NULL || (size_t)(sp - v) >= sizeof num || strlen(sp + 1) != 3)
        return false;
    memcpy(num, v, (size_t)(sp - v));
    num[sp - v] = '\0';
    if (!is_int(num) && !is_decimal(num))
        return false;
    for (int i = 1; i <= 3; i++)
        if (sp[i] < 'A' || sp[i] > 'Z')
            return false;
    a->type = BP_TMPL_MONEY;
    a->v.money.amount = strtod(num, NULL);
    memcpy(a->v.money.currency, sp + 1, 4);
    return true;
}

int bp_outbox_args_parse(const char *json, struct bp_outbox_policy *pol,
                         struct bp_errbuf *eb)
{
    json_error_t jerr;
    const char *key;
    json_t *doc, *v;
    size_t i = 0;

    pol->args = NULL;
    pol->nargs = 0;
    pol->args_doc = NULL;
    if (json == NULL)
        return 0;
    if ((doc = json_loads(json, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
        !json_is_object(doc)) {
        json_decref(doc);
        return fail(eb, "template arguments must be a JSON object");
    }
    pol->args_doc = doc;
    pol->args = bp_xcalloc(json_object_size(doc) + 1, sizeof *pol->args);
    json_object_foreach(doc, key, v) {
        struct bp_tmpl_arg *a = &pol->args[i++];
        const char *s = json_string_value(v);

        a->name = key;
        if (json_is_integer(v)) {
            a->type = BP_TMPL_INT;
            a->v.i64 = json_integer_value(v);
        } else if (json_is_real(v)) {
            a->type = BP_TMPL_DOUBLE;
            a->v.num = json_real_value(v);
        } else if (s == NULL) {
            return fail(eb, "template argument '%s' must be a string or a number",
                        key);
        } else if (bp_outbox_parse_rfc3339(s, &a->v.epoch_ms) == 0) {
            a->type = BP_TMPL_DATE;
        } else if (!parse_money(s, a)) {
            a->type = BP_TMPL_STR;
            a->v.str = s;
        }
    }
    pol->nargs = i;
    return 0;
}

void bp_outbox_policy_release(struct bp_outbox_policy *pol)
{
    if (pol == NULL)
        return;
    free(pol->args);
    json_decref(pol->args_doc);
    bp_tmpl_catalog_free(pol->school_lang);
    for (size_t i = 0; i < pol->nmt; i++)
        free(pol->mt[i].text);
    free(pol->mt);
    pol->mt = NULL;
    pol->nmt = 0;
    pol->args = NULL;
    pol->args_doc = NULL;
    pol->school_lang = NULL;
    pol->nargs = 0;
}

int bp__outbox_content_prepare(const struct bp_conf *conf,
                               const struct bp_outbox_req *req,
                               struct bp_outbox_policy *pol, struct bp_errbuf *eb)
{
    const char *def = conf->school_default_locale;
    enum bp_tmpl_match m;
    struct bp_errbuf e2 = {{0}, {0}};
    struct bp_buf out;
    char tag[36];
    int rc;

    pol->default_locale = def;
    if (req->text != NULL) {
        pol->text = req->text;
        pol->catalog = req->catalog;       /* the machine-translation note */
        pol->school_lang = bp_tmpl_catalog_new();
        if (bp_tmpl_catalog_add_locale(pol->school_lang, def, NULL, false, &e2) < 0)
            return fail(eb, "[school] default_locale '%.40s' is not a language tag",
                        def);
        return 0;
    }
    if (req->catalog == NULL)
        return fail(eb, "templates need the message catalogue (not loaded)");
    pol->template_key = req->template_key;
    pol->catalog = req->catalog;
    if (bp_tmpl_negotiate(req->catalog, def, req->template_key, def, tag, sizeof tag,
                          &m) < 0)
        return fail(eb, "unknown template '%.60s' (not in the school language '%.20s')",
                    req->template_key, def);
    if ((rc = bp_outbox_args_parse(req->template_args, pol, eb)) < 0)
        return rc;
    bp_buf_init(&out, 64 * 1024);
    rc = bp_tmpl_render(req->catalog, req->template_key, tag, pol->args, pol->nargs,
                        conf->school_timezone, &out, &e2);
    bp_buf_free(&out);
    if (rc < 0)
        return fail(eb, "template '%.60s': %.150s", req->template_key, e2.msg);
    return 0;
}

/* Free text for a family of another language: its machine translation
 * (with the note), else the school's text, held by the caller's rule. */
static int render_translated(struct bp_outbox_policy *p, const char *locale,
                             struct bp_store_rendered *r, enum bp_tmpl_match *m)
{
    enum bp_tmpl_match m2;
    const char *t;
    char tag[36];

    if (bp_tmpl_negotiate(p->catalog, locale, "note.machine_translated",
                          p->default_locale, tag, sizeof tag, &m2) == 0 &&
        (m2 == BP_TMPL_MATCH_EXACT || m2 == BP_TMPL_MATCH_LANGUAGE) &&
        (t = bp__outbox_mt_text(p, tag)) != NULL) {
        snprintf(r->locale, sizeof r->locale, "%s", tag);
        r->machine_translated = true;
        *m = m2;
        return bp_buf_appends(r->out, t);
    }
    snprintf(r->locale, sizeof r->locale, "%s", p->default_locale);
    return bp_buf_appends(r->out, p->text);
}

static int render_text(struct bp_outbox_policy *p, const char *locale, const char *tz,
                       struct bp_store_rendered *r, enum bp_tmpl_match *m)
{
    struct bp_errbuf eb = {{0}, {0}};
    int rc;

    if (p->template_key == NULL) {
        rc = bp_tmpl_negotiate(p->school_lang, locale, NULL, p->default_locale,
                               r->locale, sizeof r->locale, m);
        if (rc < 0)
            return rc;
        if (*m == BP_TMPL_MATCH_DEFAULT && p->nmt > 0)
            return render_translated(p, locale, r, m);
        snprintf(r->locale, sizeof r->locale, "%s", p->default_locale);
        return bp_buf_appends(r->out, p->text);
    }
    rc = bp_tmpl_negotiate(p->catalog, locale, p->template_key, p->default_locale,
                           r->locale, sizeof r->locale, m);
    if (rc < 0)
        return rc;
    rc = bp_tmpl_render(p->catalog, p->template_key, r->locale, p->args, p->nargs,
                        tz, r->out, &eb);
    if (rc == BP_EINVAL_INPUT && !bp_str_eq(tz, p->default_tz))   /* unknown zone */
        rc = bp_tmpl_render(p->catalog, p->template_key, r->locale, p->args, p->nargs,
                            p->default_tz, r->out, &eb);
    if (rc < 0)
        bp_log_error("outbox", "render_failed", "key=%s locale=%s err=%s msg=\"%s\"",
                     p->template_key, r->locale, bp_err_name(rc), eb.msg);
    return rc;
}

int bp__outbox_render(void *arg, const char *locale, const char *tz,
                      struct bp_store_rendered *r)
{
    struct bp_outbox_policy *p = arg;
    struct bp_smsenc_info info;
    enum bp_tmpl_match m = BP_TMPL_MATCH_NONE;
    struct bp_buf sent;
    int rc = render_text(p, locale, tz, r, &m);

    if (rc < 0)
        return rc;
    r->translated = m == BP_TMPL_MATCH_EXACT || m == BP_TMPL_MATCH_LANGUAGE;
    /* The text as sent: NFC, typographic spaces/quotes/dashes as GSM
     * characters (ICU puts U+202F before "PM"), so an English reminder is
     * one GSM-7 segment, not two UCS-2 ones.  Both channels get it. */
    bp_buf_init(&sent, r->out->cap);
    rc = bp_smsenc_analyze(r->out->data ? r->out->data : "", r->out->len,
                           BP_SMSENC_TRANSLITERATE, &info, &sent);
    if (rc == 0) {
        bp_buf_reset(r->out);
        rc = bp_buf_append(r->out, sent.data ? sent.data : "", sent.len);
    }
    bp_buf_free(&sent);
    if (rc < 0)
        return rc;
    if (info.segments > 0) {
        r->encoding = info.encoding == BP_SMSENC_GSM7 ? "gsm7" : "ucs2";
        r->segments = (int64_t)info.segments;
    }
    return 0;
}
