/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The text encodings of outgoing MIME (smtp_mime.c puts the message
 * together): an output buffer that knows its column, header words folded at
 * 78 columns (CRLF before a space, never before the first word), RFC 2047
 * encoded-words for Subject and display names, RFC 5322 phrases (atoms or a
 * quoted-string), and the body as 7bit or quoted-printable (RFC 2045 6.7).
 * Each is one pass over its input; the rules are in the comment at the top of
 * smtp_mime.c and the round trip through GMime's parser is the unit test.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "bp/base.h"
#include "smtp_int.h"

#define FOLD_AT 78          /* RFC 5322 2.1.1: SHOULD be no more than 78 */
#define EW_BYTES 39         /* raw bytes per encoded-word: 52 base64 chars */
#define QP_MAX 76           /* RFC 2045 6.7 (5): encoded line length */


void bp__mime_init(struct bp__mime_out *o, size_t hint)
{
    memset(o, 0, sizeof *o);
    o->alloc = hint;
    o->p = bp_xmalloc(hint);
}

void bp__mime_put(struct bp__mime_out *o, const char *p, size_t n)
{
    if (o->len + n + 1 > o->alloc) {
        while (o->len + n + 1 > o->alloc)
            o->alloc *= 2;
        o->p = bp_xrealloc(o->p, o->alloc);
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

void bp__mime_puts(struct bp__mime_out *o, const char *s)
{
    bp__mime_put(o, s, strlen(s));
}

void bp__mime_crlf(struct bp__mime_out *o)
{
    bp__mime_put(o, "\r\n", 2);
    o->line = o->len;
    o->words = 0;
}

static size_t col(const struct bp__mime_out *o)
{
    return o->len - o->line;
}

void bp__mime_hdr(struct bp__mime_out *o, const char *name)
{
    bp__mime_puts(o, name);
    bp__mime_put(o, ":", 1);
    o->words = 0;
}

/* One word of a header value, after a space; folds (CRLF before the space)
 * when the line would pass FOLD_AT, never before the first word. */
void bp__mime_word(struct bp__mime_out *o, const char *w, size_t n)
{
    if (o->words > 0 && col(o) + 1 + n > FOLD_AT) {
        bp__mime_put(o, "\r\n", 2);
        o->line = o->len;
    }
    bp__mime_put(o, " ", 1);
    bp__mime_put(o, w, n);
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

static void encoded_words(struct bp__mime_out *o, const char *s, size_t n)
{
    while (n > 0) {
        size_t k = ew_take(s, n);
        char w[96] = "=?utf-8?B?";
        size_t wl = strlen(w);
        gint state = 0, save = 0;
        wl += g_base64_encode_step((const guchar *)s, k, FALSE, w + wl, &state, &save);
        wl += g_base64_encode_close(FALSE, w + wl, &state, &save);
        memcpy(w + wl, "?=", 2);
        bp__mime_word(o, w, wl + 2);
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

void bp__mime_words(struct bp__mime_out *o, const char *s)
{
    while (*s) {
        size_t n = strcspn(s, " ");
        bp__mime_word(o, s, n);
        s += n + (s[n] == ' ');
    }
}

/* Unstructured text (Subject). */
void bp__mime_text(struct bp__mime_out *o, const char *s)
{
    if (plain_words(s, false))
        bp__mime_words(o, s);
    else
        encoded_words(o, s, strlen(s));
}

/* A display name (RFC 5322 phrase). */
void bp__mime_phrase(struct bp__mime_out *o, const char *s)
{
    size_t n = strlen(s);
    bool ascii = n < 900 && !strstr(s, "=?");
    for (size_t i = 0; ascii && i < n; i++)
        ascii = s[i] >= 32 && s[i] <= 126;
    if (plain_words(s, true)) {
        bp__mime_words(o, s);
    } else if (ascii) {                     /* quoted-string, one word */
        struct bp__mime_out q;
        bp__mime_init(&q, n + 8);
        bp__mime_put(&q, "\"", 1);
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"' || s[i] == '\\')
                bp__mime_put(&q, "\\", 1);
            bp__mime_put(&q, s + i, 1);
        }
        bp__mime_put(&q, "\"", 1);
        bp__mime_word(o, q.p, q.len);
        free(q.p);
    } else {
        encoded_words(o, s, n);
    }
}

/* ---- body ---------------------------------------------------------------- */

bool bp__mime_7bit_ok(const char *s, size_t n)
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

void bp__mime_7bit(struct bp__mime_out *o, const char *s, size_t n)
{
    while (n > 0) {
        size_t k = (size_t)((const char *)memchr(s, '\n', n) - s);   /* ends in '\n' */
        bp__mime_put(o, s, k > 0 && s[k - 1] == '\r' ? k - 1 : k);
        bp__mime_crlf(o);
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

void bp__mime_qp(struct bp__mime_out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t c = 0;
    for (size_t i = 0; i < n;) {
        size_t br = line_break(s, n, i);
        if (br) {
            bp__mime_crlf(o);
            c = 0;
            i += br;
            continue;
        }
        unsigned char ch = (unsigned char)s[i];
        bool eol = i + 1 == n || line_break(s, n, i + 1);
        bool blank = ch == ' ' || ch == '\t';
        bool lit = (ch >= 33 && ch <= 126 && ch != '=') || (blank && !eol);
        if (c + (lit ? 1 : 3) > QP_MAX - 1) {       /* room for a soft break */
            bp__mime_put(o, "=", 1);
            bp__mime_crlf(o);
            c = 0;
        }
        if (lit && !(ch == '.' && c == 0)) {
            bp__mime_put(o, s + i, 1);
            c += 1;
        } else {
            char e[3] = { '=', hex[ch >> 4], hex[ch & 15] };
            bp__mime_put(o, e, 3);
            c += 3;
        }
        i++;
    }
    if (n > 0 && s[n - 1] != '\n') {
        bp__mime_put(o, "=", 1);                 /* soft break: no newline is added */
        bp__mime_crlf(o);
    }
}
