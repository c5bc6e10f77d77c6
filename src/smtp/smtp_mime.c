/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * MIME for outgoing e-mail, written straight into one buffer with CRLF line
 * ends (libesmtp needs them: DEPENDENCY-NOTES §4).  It used to be built as a
 * GMime object tree and serialised: ~430k instructions per e-mail, 87 % of
 * the sender's CPU (callgrind), for a message of a dozen short headers and
 * one text part.  The encodings are the few that such a message needs, each
 * done here in one pass:
 *
 *  - Subject and display names: as-is when they are plain ASCII words, a
 *    quoted-string for ASCII names with specials, otherwise RFC 2047
 *    encoded-words (`=?utf-8?B?...?=`, at most 39 bytes of whole UTF-8
 *    characters each, so every word stays under 75 columns; base64 padding
 *    only in the last word, see ew_take).  The whole
 *    value is encoded, so decoders give back exactly the original text.
 *  - Folding at 78 columns, only between words (CRLF before a space).
 *  - Body: `text/plain; charset=utf-8`, 7bit when it is short-lined ASCII
 *    ending in a newline with no line starting with '.', otherwise
 *    quoted-printable (RFC 2045 6.7: lines <= 76, trailing blanks encoded,
 *    a leading '.' encoded, "=" soft break at the end when the text has no
 *    final newline so that none is added).  With an HTML alternative both
 *    parts are quoted-printable, so the boundary, which starts with "=_",
 *    cannot occur in them (RFC 2046 5.1.1).
 *  - Addresses are ASCII in practice; one with non-ASCII bytes gets its
 *    domain IDNA-encoded by GMime (the only GMime call left, off the common
 *    path), exactly as the GMime-built messages had it.
 *
 * Headers: From, To, Reply-To, Subject, Date, Message-Id, In-Reply-To,
 * References, List-Unsubscribe (<mailto:..>, <https://..>) with
 * List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058, only with an
 * https target), Auto-Submitted: auto-generated, MIME-Version.  Jobs with
 * CR/LF in a header value or invalid UTF-8 are refused.  The unit test
 * parses what this writes with GMime's parser and checks that every value
 * comes back unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>

#include "bp/base.h"
#include "bp/smtp.h"

#define FOLD_AT 78          /* RFC 5322 2.1.1: SHOULD be no more than 78 */
#define EW_BYTES 39         /* raw bytes per encoded-word: 52 base64 chars */
#define QP_MAX 76           /* RFC 2045 6.7 (5): encoded line length */

struct out {
    char *p;
    size_t len, alloc;
    size_t line;            /* offset of the current line's first byte */
    unsigned words;         /* words written on the current header line */
};

static void out_init(struct out *o, size_t hint)
{
    memset(o, 0, sizeof *o);
    o->alloc = hint;
    o->p = bp_xmalloc(hint);
}

static void put(struct out *o, const char *p, size_t n)
{
    if (o->len + n + 1 > o->alloc) {
        while (o->len + n + 1 > o->alloc)
            o->alloc *= 2;
        o->p = bp_xrealloc(o->p, o->alloc);
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void crlf(struct out *o)
{
    put(o, "\r\n", 2);
    o->line = o->len;
    o->words = 0;
}

static size_t col(const struct out *o)
{
    return o->len - o->line;
}

static void hdr(struct out *o, const char *name)
{
    puts_(o, name);
    put(o, ":", 1);
    o->words = 0;
}

/* One word of a header value, after a space; folds (CRLF before the space)
 * when the line would pass FOLD_AT, never before the first word. */
static void word(struct out *o, const char *w, size_t n)
{
    if (o->words > 0 && col(o) + 1 + n > FOLD_AT) {
        put(o, "\r\n", 2);
        o->line = o->len;
    }
    put(o, " ", 1);
    put(o, w, n);
    o->words++;
}

/* ---- RFC 2047 and phrases ------------------------------------------------ */

static bool char_start(const char *s, size_t k)
{
    return ((unsigned char)s[k] & 0xC0) != 0x80;
}

/* Bytes of s[0..n) for the next encoded-word: whole UTF-8 characters (RFC
 * 2047 6.3), and a multiple of 3 unless it is the last word, so that only
 * the last word has base64 padding: GMime and Thunderbird join adjacent
 * encoded-words of one charset before decoding them. */
static size_t ew_take(const char *s, size_t n)
{
    if (n <= EW_BYTES)
        return n;
    for (size_t k = EW_BYTES; k > 0; k -= 3)
        if (char_start(s, k))
            return k;
    size_t k = EW_BYTES;                /* no such cut (rare mixes of 2- and 4-byte) */
    while (k > 1 && !char_start(s, k))
        k--;
    return k;
}

static void encoded_words(struct out *o, const char *s, size_t n)
{
    while (n > 0) {
        size_t k = ew_take(s, n);
        char w[96] = "=?utf-8?B?";
        size_t wl = strlen(w);
        gint state = 0, save = 0;
        wl += g_base64_encode_step((const guchar *)s, k, FALSE, w + wl, &state, &save);
        wl += g_base64_encode_close(FALSE, w + wl, &state, &save);
        memcpy(w + wl, "?=", 2);
        word(o, w, wl + 2);
        s += k;
        n -= k;
    }
}

static bool is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Words of printable ASCII separated by single spaces, no "=?" (which a
 * decoder would take for an encoded-word), no word too long to fold. */
static bool plain_words(const char *s, bool atext_only)
{
    size_t run = 0;
    if (*s == ' ' || strstr(s, "=?"))
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ') {
            if (p[1] == ' ' || p[1] == '\0')
                return false;
            run = 0;
        } else if (c < 33 || c > 126 || (atext_only && !is_atext(c)) || ++run > 70) {
            return false;
        }
    }
    return true;
}

static void put_words(struct out *o, const char *s)
{
    while (*s) {
        size_t n = strcspn(s, " ");
        word(o, s, n);
        s += n + (s[n] == ' ');
    }
}

/* Unstructured text (Subject). */
static void put_text(struct out *o, const char *s)
{
    if (plain_words(s, false))
        put_words(o, s);
    else
        encoded_words(o, s, strlen(s));
}

/* A display name (RFC 5322 phrase). */
static void put_phrase(struct out *o, const char *s)
{
    size_t n = strlen(s);
    bool ascii = n < 900 && !strstr(s, "=?");
    for (size_t i = 0; ascii && i < n; i++)
        ascii = s[i] >= 32 && s[i] <= 126;
    if (plain_words(s, true)) {
        put_words(o, s);
    } else if (ascii) {                     /* quoted-string, one word */
        struct out q;
        out_init(&q, n + 8);
        put(&q, "\"", 1);
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"' || s[i] == '\\')
                put(&q, "\\", 1);
            put(&q, s + i, 1);
        }
        put(&q, "\"", 1);
        word(o, q.p, q.len);
        free(q.p);
    } else {
        encoded_words(o, s, n);
    }
}

static bool has_8bit(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

/* "name <addr>" or "addr"; a non-ASCII domain IDNA-encoded (GMime). */
static void put_mailbox(struct out *o, const char *name, const char *addr)
{
    char *idn = NULL;
    if (has_8bit(addr)) {
        InternetAddressMailbox *m =
            (InternetAddressMailbox *)internet_address_mailbox_new(NULL, addr);
        idn = bp_xstrdup(internet_address_mailbox_get_idn_addr(m));
        g_object_unref(m);
        addr = idn;
    }
    if (name && *name) {
        put_phrase(o, name);
        size_t n = strlen(addr);
        char *w = bp_xmalloc(n + 3);
        w[0] = '<';
        memcpy(w + 1, addr, n);
        memcpy(w + 1 + n, ">", 2);
        word(o, w, n + 2);
        free(w);
    } else {
        word(o, addr, strlen(addr));
    }
    free(idn);
}

/* ---- body ---------------------------------------------------------------- */

static bool body_7bit(const char *s, size_t n)
{
    size_t len = 0;
    if (n > 0 && s[n - 1] != '\n')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            len = 0;
        } else if (c == '\r') {
            if (s[i + 1] != '\n')
                return false;
        } else if ((c < 32 && c != '\t') || c > 126 || (len == 0 && c == '.') ||
                   ++len > QP_MAX) {
            return false;
        }
    }
    return true;
}

static void put_7bit(struct out *o, const char *s, size_t n)
{
    while (n > 0) {
        size_t k = (size_t)((const char *)memchr(s, '\n', n) - s);   /* ends in '\n' */
        put(o, s, k > 0 && s[k - 1] == '\r' ? k - 1 : k);
        crlf(o);
        s += k + 1;
        n -= k + 1;
    }
}

static size_t line_break(const char *s, size_t n, size_t i)
{
    if (s[i] == '\n')
        return 1;
    return s[i] == '\r' && i + 1 < n && s[i + 1] == '\n' ? 2 : 0;
}

static void put_qp(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t c = 0;
    for (size_t i = 0; i < n;) {
        size_t br = line_break(s, n, i);
        if (br) {
            crlf(o);
            c = 0;
            i += br;
            continue;
        }
        unsigned char ch = (unsigned char)s[i];
        bool eol = i + 1 == n || line_break(s, n, i + 1);
        bool blank = ch == ' ' || ch == '\t';
        bool lit = (ch >= 33 && ch <= 126 && ch != '=') || (blank && !eol);
        if (c + (lit ? 1 : 3) > QP_MAX - 1) {       /* room for a soft break */
            put(o, "=", 1);
            crlf(o);
            c = 0;
        }
        if (lit && !(ch == '.' && c == 0)) {
            put(o, s + i, 1);
            c += 1;
        } else {
            char e[3] = { '=', hex[ch >> 4], hex[ch & 15] };
            put(o, e, 3);
            c += 3;
        }
        i++;
    }
    if (n > 0 && s[n - 1] != '\n') {
        put(o, "=", 1);                 /* soft break: no newline is added */
        crlf(o);
    }
}

static void put_part_headers(struct out *o, const char *subtype, bool seven)
{
    puts_(o, "Content-Type: text/");
    puts_(o, subtype);
    puts_(o, "; charset=utf-8");
    crlf(o);
    puts_(o, seven ? "Content-Transfer-Encoding: 7bit" :
                     "Content-Transfer-Encoding: quoted-printable");
    crlf(o);
}

static void put_body(struct out *o, const struct bp_send_job *j)
{
    size_t n = strlen(j->body);
    if (!j->html_body || !*j->html_body) {
        bool seven = body_7bit(j->body, n);
        put_part_headers(o, "plain", seven);
        crlf(o);
        if (seven)
            put_7bit(o, j->body, n);
        else
            put_qp(o, j->body, n);
        return;
    }
    /* "=_" never occurs in quoted-printable text; the rest names the message. */
    char bnd[40];
    uint32_t h = 2166136261u;
    for (const char *p = j->message_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    snprintf(bnd, sizeof bnd, "=_bp_alt_%08x", (unsigned)h);
    puts_(o, "Content-Type: multipart/alternative; boundary=\"");
    puts_(o, bnd);
    puts_(o, "\"");
    crlf(o);
    crlf(o);
    const char *sub[2] = { "plain", "html" }, *txt[2] = { j->body, j->html_body };
    for (int k = 0; k < 2; k++) {
        puts_(o, "--");
        puts_(o, bnd);
        crlf(o);
        put_part_headers(o, sub[k], false);
        crlf(o);
        put_qp(o, txt[k], strlen(txt[k]));
        crlf(o);                        /* the delimiter's CRLF */
    }
    puts_(o, "--");
    puts_(o, bnd);
    puts_(o, "--");
    crlf(o);
}

/* ---- headers ------------------------------------------------------------- */

static void put_date(struct out *o, int64_t date_ms)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char mons[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)(date_ms / 1000);
    struct tm tm;
    char v[64];
    gmtime_r(&t, &tm);
    snprintf(v, sizeof v, "Date: %s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
             tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    puts_(o, v);
    crlf(o);
}

/* A header whose value is space-separated words (message ids, URIs). */
static void put_words_header(struct out *o, const char *name, const char *v)
{
    hdr(o, name);
    for (const char *p = v; *p;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t");
        if (n)
            word(o, p, n);
        p += n;
    }
    crlf(o);
}

static void put_list_unsubscribe(struct out *o, const struct bp_send_job *j)
{
    const char *m = j->unsubscribe_mailto, *u = j->unsubscribe_url;
    bool hm = m && *m, hu = u && *u;
    if (!hm && !hu)
        return;
    hdr(o, "List-Unsubscribe");
    if (hm) {
        char *w = bp_xmalloc(strlen(m) + 16);
        int n = sprintf(w, "<%s%s>%s", strncmp(m, "mailto:", 7) == 0 ? "" : "mailto:", m,
                        hu ? "," : "");
        word(o, w, (size_t)n);
        free(w);
    }
    if (hu) {
        char *w = bp_xmalloc(strlen(u) + 3);
        int n = sprintf(w, "<%s>", u);
        word(o, w, (size_t)n);
        free(w);
    }
    crlf(o);
    if (hu) {
        puts_(o, "List-Unsubscribe-Post: List-Unsubscribe=One-Click");
        crlf(o);
    }
}

static void put_headers(struct out *o, const char *from_name, const char *from_address,
                        const struct bp_send_job *j, int64_t date_ms)
{
    hdr(o, "From");
    put_mailbox(o, from_name, from_address);
    crlf(o);
    hdr(o, "To");
    put_mailbox(o, j->to_name, j->to);
    crlf(o);
    if (j->reply_to && *j->reply_to) {
        hdr(o, "Reply-To");
        put_mailbox(o, NULL, j->reply_to);
        crlf(o);
    }
    hdr(o, "Subject");
    put_text(o, j->subject ? j->subject : "");
    crlf(o);
    put_date(o, date_ms);
    hdr(o, "Message-Id");
    put(o, " <", 2);
    puts_(o, j->message_id);
    put(o, ">", 1);
    crlf(o);
    if (j->in_reply_to && *j->in_reply_to)
        put_words_header(o, "In-Reply-To", j->in_reply_to);
    if (j->references && *j->references)
        put_words_header(o, "References", j->references);
    put_list_unsubscribe(o, j);
    if (j->automatic) {
        puts_(o, "Auto-Submitted: auto-generated");
        crlf(o);
    }
    puts_(o, "MIME-Version: 1.0");
    crlf(o);
}

/* ---- entry --------------------------------------------------------------- */

static void gmime_init_once(void)
{
    g_mime_init();
}

static bool one_line(const char *s)
{
    return !s || !strpbrk(s, "\r\n");
}

static const char *check_job(const struct bp_send_job *j)
{
    const char *hdrs[] = { j->to, j->to_name, j->subject, j->message_id, j->reply_to,
                           j->in_reply_to, j->references, j->unsubscribe_url,
                           j->unsubscribe_mailto };
    if (!j->to || !*j->to || !strchr(j->to, '@'))
        return "bad recipient address";
    if (!j->body || !j->message_id || !*j->message_id)
        return "body and message_id are required";
    for (size_t i = 0; i < BP_ARRAY_LEN(hdrs); i++) {
        if (!one_line(hdrs[i]))
            return "CR or LF in a header value";
        if (hdrs[i] && !bp_utf8_valid(hdrs[i], strlen(hdrs[i])))
            return "header value is not UTF-8";
    }
    if (!bp_utf8_valid(j->body, strlen(j->body)) ||
        (j->html_body && !bp_utf8_valid(j->html_body, strlen(j->html_body))))
        return "body is not UTF-8";
    return NULL;
}

char *bp_smtp_mime_build(const char *from_name, const char *from_address,
                         const struct bp_send_job *j, int64_t date_ms,
                         size_t *len, char *err, size_t errlen)
{
    static uv_once_t once = UV_ONCE_INIT;
    const char *why = check_job(j);
    if (!why && (!from_address || !strchr(from_address, '@') || !one_line(from_address) ||
                 !one_line(from_name) ||
                 (from_name && !bp_utf8_valid(from_name, strlen(from_name)))))
        why = "bad from address";
    if (why) {
        snprintf(err, errlen, "%s", why);
        return NULL;
    }
    uv_once(&once, gmime_init_once);   /* for IDNA of a non-ASCII address */
    struct out o;
    out_init(&o, 2048 + 4 * (strlen(j->body) + (j->html_body ? strlen(j->html_body) : 0)));
    put_headers(&o, from_name, from_address, j, date_ms);
    put_body(&o, j);
    o.p[o.len] = '\0';
    *len = o.len;
    return o.p;
}
