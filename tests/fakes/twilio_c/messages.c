/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The Messages resource of the C imitation Twilio: create only,
 *   POST /2010-04-01/Accounts/{AccountSid}/Messages.json
 * in the order of tests/fakes/twilio/messages.js (the Node imitation, whose
 * answers the test compares): forced failure (before auth), HTTP basic auth
 * (401 / 20003 with WWW-Authenticate), the account in the path (404 / 20404),
 * the method (405 / 20404), idempotency (a token whose earlier request
 * created a message gets that message again, not counted as a send),
 * validation (21604 To, 21603 From/MessagingServiceSid, 21602 Body, 21211,
 * 21212, 21617), then 201 with the Message resource JSON, key for key as
 * Twilio documents it.  Why C: the Node imitation costs ~90 us of CPU per
 * send, more than the outbound benchmark can afford on two cores.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <http_parser.h>
#include <uv.h>

#include "fake.h"

struct fk_stats fk_stats;
struct fk_fault fk_faults[16];
size_t fk_nfaults;

static char account[64], expected_auth[256], sid_prefix[17];
static uint64_t sid_counter;

/* ---- idempotency tokens: open addressing, grows at half full ------------ */

struct token {
    char *key;
    uint64_t sid;            /* counter of the message it created; 0 = none */
    int64_t created_s;
    uint32_t requests, replays;
    bool mms;
};
static struct token *tokens;
static size_t tokens_cap;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct token *token_slot(struct token *tab, size_t cap, const char *key)
{
    size_t i = (size_t)hash(key) & (cap - 1);
    while (tab[i].key && strcmp(tab[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static struct token *token_get(const char *key)
{
    if (fk_stats.tokens_distinct * 2 >= tokens_cap) {
        size_t cap = tokens_cap ? tokens_cap * 2 : 1024;
        struct token *tab = calloc(cap, sizeof *tab);
        if (!tab)
            abort();
        for (size_t i = 0; i < tokens_cap; i++)
            if (tokens[i].key)
                *token_slot(tab, cap, tokens[i].key) = tokens[i];
        free(tokens);
        tokens = tab;
        tokens_cap = cap;
    }
    struct token *t = token_slot(tokens, tokens_cap, key);
    if (!t->key) {
        t->key = strdup(key);
        if (!t->key)
            abort();
        fk_stats.tokens_distinct++;
    }
    return t;
}

/* ---- setup, errors ----------------------------------------------------- */

static void base64(const char *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)in[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
}

void fk_messages_init(const char *account_sid, const char *auth_token)
{
    char pair[200];
    unsigned char rnd[8];
    snprintf(account, sizeof account, "%s", account_sid);
    int n = snprintf(pair, sizeof pair, "%s:%s", account_sid, auth_token);
    memcpy(expected_auth, "Basic ", 6);
    base64(pair, (size_t)n < sizeof pair ? (size_t)n : sizeof pair - 1, expected_auth + 6);
    if (uv_random(NULL, NULL, rnd, sizeof rnd, 0, NULL) != 0)
        abort();
    for (int i = 0; i < 8; i++)
        snprintf(sid_prefix + 2 * i, 3, "%02x", rnd[i]);
}

/* Twilio's error messages (tests/fakes/twilio/errors.js). */
static const char *error_message(int code, const char *ctx, char *tmp, size_t cap)
{
    switch (code) {
    case 20003: return "Authenticate";
    case 20404: snprintf(tmp, cap, "The requested resource %.400s was not found", ctx); return tmp;
    case 20429: return "Too Many Requests";
    case 20500: return "An internal server error has occurred";
    case 20503: return "Service unavailable";
    case 21211:
        snprintf(tmp, cap, "The 'To' number %.400s is not a valid phone number.", ctx);
        return tmp;
    case 21212:
        snprintf(tmp, cap, "The 'From' number %.400s is not a valid phone number, shortcode, or"
                 " alphanumeric sender ID.", ctx);
        return tmp;
    case 21602: return "Message body is required.";
    case 21603: return "A 'From' phone number is required.";
    case 21604: return "A 'To' phone number is required.";
    case 21610: return "Attempt to send to unsubscribed recipient";
    case 21617: return "The concatenated message body exceeds the 1600 character limit.";
    default: snprintf(tmp, cap, "Error %d", code); return tmp;
    }
}

void fk_error(struct fk_resp *resp, int status, int code, const char *ctx)
{
    char tmp[1024];
    const char *msg = error_message(code, ctx ? ctx : "", tmp, sizeof tmp);
    resp->status = status;
    fk_printf(&resp->body, "{\"code\":%d,\"message\":", code);
    fk_json_str(&resp->body, msg, strlen(msg));
    fk_printf(&resp->body, ",\"more_info\":\"https://www.twilio.com/docs/errors/%d\","
              "\"status\":%d}", code, status);
}

/* ---- the form ---------------------------------------------------------- */

struct form {
    struct fk_buf to, from, mss, body;
    bool has_to, has_from, has_mss, has_body;
    unsigned media, media_nonempty;
};

static int unhex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* querystring.unescape: '+' -> space, valid %XX -> byte, then UTF-8 clean-up. */
static void decode(struct fk_buf *out, const char *s, size_t n)
{
    char tmp[4096];
    struct fk_buf raw = {0};
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%' && i + 2 < n && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
            c = (char)(unhex(s[i + 1]) * 16 + unhex(s[i + 2]));
            i += 2;
        }
        tmp[k++] = c;
        if (k == sizeof tmp) {
            fk_put(&raw, tmp, k);
            k = 0;
        }
    }
    fk_put(&raw, tmp, k);
    fk_utf8_clean(out, raw.p, raw.len);
    free(raw.p);
}

static void parse_form(const struct fk_req *req, struct form *f)
{
    memset(f, 0, sizeof *f);
    if (!req->body_len || !req->ctype ||
        strncasecmp(req->ctype, "application/x-www-form-urlencoded", 33) != 0)
        return;
    const char *p = req->body, *end = req->body + req->body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *vs = eq ? eq + 1 : stop;
        struct fk_buf name = {0};
        decode(&name, p, (size_t)((eq ? eq : stop) - p));
        const char *nm = name.p ? name.p : "";
        struct fk_buf *dst = NULL;
        bool *has = NULL;
        if (!strcmp(nm, "To")) { dst = &f->to; has = &f->has_to; }
        else if (!strcmp(nm, "From")) { dst = &f->from; has = &f->has_from; }
        else if (!strcmp(nm, "MessagingServiceSid")) { dst = &f->mss; has = &f->has_mss; }
        else if (!strcmp(nm, "Body")) { dst = &f->body; has = &f->has_body; }
        else if (!strcmp(nm, "MediaUrl")) {
            f->media++;
            f->media_nonempty += stop > vs;
        }
        if (dst && !*has) {      /* the first value of a repeated name */
            *has = true;
            decode(dst, vs, (size_t)(stop - vs));
            fk_put(dst, "", 0);
        }
        free(name.p);
        p = stop + 1;
    }
}

static void form_free(struct form *f)
{
    free(f->to.p);
    free(f->from.p);
    free(f->mss.p);
    free(f->body.p);
}

static bool filled(const struct fk_buf *b)
{
    return b->len > 0;
}

/* ^\+[1-9][0-9]{1,14}$ */
static bool e164(const char *s, size_t n)
{
    if (n < 3 || n > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9')
        return false;
    for (size_t i = 2; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* E.164, an alphanumeric sender id (1-11 of [A-Za-z0-9 ], a letter among
 * them) or a short code (3-8 digits). */
static bool valid_from(const char *s, size_t n)
{
    bool alpha = n >= 1 && n <= 11, letter = false, digits = n >= 3 && n <= 8;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool l = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        bool d = c >= '0' && c <= '9';
        letter |= l;
        alpha &= l || d || c == ' ';
        digits &= d;
    }
    return e164(s, n) || (alpha && letter) || digits;
}

/* Returns a Twilio error code for an invalid create request, or 0;
 * *ctx gets the value the message quotes. */
static int validate(const struct form *f, const char **ctx)
{
    size_t cps = 0;
    if (!filled(&f->to)) return 21604;
    if (!filled(&f->from) && !filled(&f->mss)) return 21603;
    if (!filled(&f->body) && f->media_nonempty == 0) return 21602;
    *ctx = f->to.p;
    if (!e164(f->to.p, f->to.len)) return 21211;
    *ctx = f->from.p;
    if (filled(&f->from) && !valid_from(f->from.p, f->from.len)) return 21212;
    if (filled(&f->body) && f->body.len > 1600) {
        fk_segments(f->body.p, f->body.len, &cps);
        if (cps > 1600) return 21617;
    }
    if (f->media_nonempty > 10) return 21623;
    return 0;
}

/* ---- the Message resource ---------------------------------------------- */

static void json_or_null(struct fk_buf *b, const struct fk_buf *v)
{
    if (filled(v))
        fk_json_str(b, v->p, v->len);
    else
        fk_puts(b, "null");
}

static void rfc2822(int64_t sec, char out[40])
{
    static int64_t last = -1;
    static char cached[40];
    if (sec != last) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S +0000", &tm);
        last = sec;
    }
    memcpy(out, cached, 40);
}

static void resource(struct fk_buf *b, const struct form *f, const struct token *t)
{
    char sid[40], date[40];
    bool mss = filled(&f->mss);
    snprintf(sid, sizeof sid, "%s%s%016llx", t->mms ? "MM" : "SM", sid_prefix,
             (unsigned long long)t->sid);
    rfc2822(t->created_s, date);
    fk_printf(b, "{\"account_sid\":\"%s\",\"api_version\":\"2010-04-01\",\"body\":", account);
    fk_json_str(b, f->body.p ? f->body.p : "", f->body.len);
    fk_printf(b, ",\"date_created\":\"%s\",\"date_sent\":null,\"date_updated\":\"%s\","
              "\"direction\":\"outbound-api\",\"error_code\":null,\"error_message\":null,"
              "\"from\":", date, date);
    json_or_null(b, &f->from);
    fk_puts(b, ",\"messaging_service_sid\":");
    json_or_null(b, &f->mss);
    fk_printf(b, ",\"num_media\":\"%u\",\"num_segments\":\"%u\",\"price\":null,"
              "\"price_unit\":\"USD\",\"sid\":\"%s\",\"status\":\"%s\","
              "\"subresource_uris\":{\"media\":\"/2010-04-01/Accounts/%s/Messages/%s"
              "/Media.json\"},\"to\":", f->media,
              mss ? 0 : fk_segments(f->body.p ? f->body.p : "", f->body.len, NULL), sid,
              mss ? "accepted" : "queued", account, sid);
    fk_json_str(b, f->to.p, f->to.len);
    fk_printf(b, ",\"uri\":\"/2010-04-01/Accounts/%s/Messages/%s.json\"}", account, sid);
}

/* ---- the request ------------------------------------------------------- */

static bool take_fault(struct fk_fault *out)
{
    if (fk_nfaults == 0)
        return false;
    *out = fk_faults[0];
    if (fk_faults[0].remaining > 0 && --fk_faults[0].remaining == 0) {
        memmove(fk_faults, fk_faults + 1, (fk_nfaults - 1) * sizeof *fk_faults);
        fk_nfaults--;
    }
    return true;
}

/* Splits /2010-04-01/Accounts/{sid}/Messages[/{msg}].json; false if not ours. */
static bool route(const struct fk_req *req, char *acct, size_t cap, bool *one)
{
    static const char pre[] = "/2010-04-01/Accounts/";
    const char *p = req->path, *end = req->path + req->path_len;
    if (req->path_len < sizeof pre || memcmp(p, pre, sizeof pre - 1) != 0)
        return false;
    p += sizeof pre - 1;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    if (!slash || slash == p || (size_t)(slash - p) >= cap)
        return false;
    memcpy(acct, p, (size_t)(slash - p));
    acct[slash - p] = '\0';
    size_t rest = (size_t)(end - slash);
    if (rest == 14 && memcmp(slash, "/Messages.json", 14) == 0) {
        *one = false;
        return true;
    }
    if (rest > 15 && memcmp(slash, "/Messages/", 10) == 0 &&
        memcmp(end - 5, ".json", 5) == 0 && !memchr(slash + 10, '/', rest - 15)) {
        *one = true;
        return rest > 15;
    }
    return false;
}

static void create(const struct fk_req *req, struct fk_resp *resp, struct token *t,
                   const struct form *f)
{
    const char *ctx = NULL;
    if (t && t->sid) {          /* a repeat of an accepted send */
        t->replays++;
        fk_stats.replays++;
        resp->status = 201;
        resource(&resp->body, f, t);
        return;
    }
    int code = validate(f, &ctx);
    if (code) {
        fk_error(resp, 400, code, ctx);
        return;
    }
    struct token fresh = {0}, *m = t ? t : &fresh;
    m->sid = ++sid_counter;
    m->created_s = (int64_t)time(NULL);
    m->mms = f->media > 0;
    if (t)
        fk_stats.tokens_with_send++;
    fk_stats.sends++;
    resp->status = 201;
    resource(&resp->body, f, m);
    (void)req;
}

int fk_messages_handle(const struct fk_req *req, struct fk_resp *resp)
{
    char acct[128], path[600];
    bool one;
    struct fk_fault fault;
    struct form f;
    if (!route(req, acct, sizeof acct, &one))
        return 0;
    fk_stats.requests++;
    struct token *t = req->token ? token_get(req->token) : NULL;
    if (t && ++t->requests > fk_stats.max_requests_per_token)
        fk_stats.max_requests_per_token = t->requests;
    snprintf(path, sizeof path, "%.*s", (int)req->path_len, req->path);
    parse_form(req, &f);
    if (req->method == HTTP_POST && !one && take_fault(&fault)) {
        fk_error(resp, fault.status, fault.code, f.to.p);
        if (fault.retry_after >= 0)
            fk_printf(&resp->headers, "Retry-After: %d\r\n", fault.retry_after);
    } else if (!req->auth || strcmp(req->auth, expected_auth) != 0) {
        fk_error(resp, 401, 20003, NULL);
        fk_puts(&resp->headers, "WWW-Authenticate: Basic realm=\"Twilio API\"\r\n");
    } else if (strcmp(acct, account) != 0 || one) {
        fk_error(resp, 404, 20404, path);    /* fetch is not imitated */
    } else if (req->method != HTTP_POST) {
        fk_error(resp, 405, 20404, path);
    } else {
        create(req, resp, t, &f);
    }
    form_free(&f);
    fk_stats.by_status[resp->status < 600 ? resp->status : 0]++;
    return 1;
}

void fk_stats_json(struct fk_buf *b, uint64_t uptime_ms)
{
    const struct fk_stats *s = &fk_stats;
    fk_printf(b, "{\"requests\":%llu,\"by_status\":{", (unsigned long long)s->requests);
    bool first = true;
    for (int i = 0; i < 600; i++) {
        if (!s->by_status[i])
            continue;
        fk_printf(b, "%s\"%d\":%llu", first ? "" : ",", i, (unsigned long long)s->by_status[i]);
        first = false;
    }
    fk_printf(b, "},\"sends\":%llu,\"replays\":%llu,\"messages\":%llu,"
              "\"tokens\":{\"distinct\":%llu,\"with_send\":%llu,\"max_requests\":%llu,"
              "\"replays\":%llu},\"scripts_pending\":%zu,\"uptime_ms\":%llu}",
              (unsigned long long)s->sends, (unsigned long long)s->replays,
              (unsigned long long)s->sends, (unsigned long long)s->tokens_distinct,
              (unsigned long long)s->tokens_with_send,
              (unsigned long long)s->max_requests_per_token,
              (unsigned long long)s->replays, fk_nfaults, (unsigned long long)uptime_ms);
}
