/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Text helpers of the C imitation Twilio: a growing buffer, JSON string
 * escaping identical to JavaScript's JSON.stringify (so answers match the
 * Node imitation byte for byte), UTF-8 clean-up (invalid bytes -> U+FFFD,
 * as Node's Buffer.toString does), and Twilio's num_segments (GSM-7 160/153
 * septets with two-septet extension characters never split, else UCS-2
 * 70/67 UTF-16 units with surrogate pairs never split) — a port of
 * tests/fakes/twilio/segments.js.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

void fk_put(struct fk_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void fk_puts(struct fk_buf *b, const char *s)
{
    fk_put(b, s, strlen(s));
}

void fk_printf(struct fk_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    fk_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void fk_json_str(struct fk_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    fk_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        fk_put(b, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': fk_put(b, "\\\"", 2); break;
        case '\\': fk_put(b, "\\\\", 2); break;
        case '\b': fk_put(b, "\\b", 2); break;
        case '\f': fk_put(b, "\\f", 2); break;
        case '\n': fk_put(b, "\\n", 2); break;
        case '\r': fk_put(b, "\\r", 2); break;
        case '\t': fk_put(b, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            fk_put(b, u, 6);
        }
        }
    }
    fk_put(b, s + start, n - start);
    fk_put(b, "\"", 1);
}

/* Next code point of s[0..n) at *i (advanced); invalid -> U+FFFD, 1 byte. */
uint32_t fk_utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned char c = s[*i];
    uint32_t cp, min;
    size_t len;
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else { (*i)++; return 0xFFFD; }
    if (*i + len > n) { (*i)++; return 0xFFFD; }
    for (size_t k = 1; k < len; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) { (*i)++; return 0xFFFD; }
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        (*i)++;
        return 0xFFFD;
    }
    *i += len;
    return cp;
}

void fk_utf8_clean(struct fk_buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, start = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t at = i;
        if (fk_utf8_next(u, n, &i) == 0xFFFD && !(i - at == 3 && u[at] == 0xEF)) {
            fk_put(out, s + start, at - start);
            fk_put(out, "\xEF\xBF\xBD", 3);
            start = i;
        }
    }
    fk_put(out, s + start, n - start);
}

/* The GSM 03.38 default alphabet and its extension table, as in segments.js. */
static const char GSM_BASIC[] =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
static const char GSM_EXT[] = "\f^{}\\[~]|€";

static bool in_set(const char *set, uint32_t cp)
{
    const unsigned char *u = (const unsigned char *)set;
    size_t n = strlen(set), i = 0;
    while (i < n)
        if (fk_utf8_next(u, n, &i) == cp)
            return true;
    return false;
}

/* Septets of one code point (1 or 2), or 0 when it needs UCS-2. */
static int gsm_cost(uint32_t cp)
{
    static signed char ascii[128];
    static bool ready;
    if (!ready) {
        for (uint32_t c = 0; c < 128; c++)
            ascii[c] = (signed char)(in_set(GSM_BASIC, c) ? 1 : in_set(GSM_EXT, c) ? 2 : 0);
        ready = true;
    }
    if (cp < 128)
        return ascii[cp];
    return in_set(GSM_BASIC, cp) ? 1 : in_set(GSM_EXT, cp) ? 2 : 0;
}

/* Greedy packing of indivisible units (cost 1 or 2) into segments. */
static unsigned pack(const unsigned char *s, size_t n, bool gsm, unsigned per)
{
    unsigned segments = 1, used = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp = fk_utf8_next(s, n, &i);
        unsigned c = gsm ? (unsigned)gsm_cost(cp) : cp > 0xFFFF ? 2 : 1;
        if (used + c > per) {
            segments++;
            used = 0;
        }
        used += c;
    }
    return segments;
}

unsigned fk_segments(const char *body, size_t n, size_t *code_points)
{
    const unsigned char *s = (const unsigned char *)body;
    size_t septets = 0, units = 0, cps = 0, i = 0;
    bool gsm = true;
    while (i < n) {
        uint32_t cp = fk_utf8_next(s, n, &i);
        int c = gsm ? gsm_cost(cp) : 0;
        if (c == 0)
            gsm = false;
        septets += (size_t)c;
        units += cp > 0xFFFF ? 2 : 1;
        cps++;
    }
    if (code_points)
        *code_points = cps;
    if (gsm)
        return septets <= 160 ? 1 : pack(s, n, true, 153);
    return units <= 70 ? 1 : pack(s, n, false, 67);
}
