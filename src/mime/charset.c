/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Charset conversion of MIME text to UTF-8, and UTF-8 hygiene.
 *
 * Mail in the wild lies about its charset: windows-1252 text labelled
 * iso-8859-1 or us-ascii (Outlook), UTF-8 labelled us-ascii, GBK labelled
 * gb2312, Big5-HKSCS labelled big5, and labels iconv has never heard of.
 * The rules here (issue 5, item 2):
 *   - absent / us-ascii / iso-8859-1 labels: the bytes are kept when they
 *     already are valid UTF-8, otherwise read as windows-1252 (the WHATWG
 *     Encoding Standard maps these labels the same way);
 *   - gb2312/gbk are read as GB18030, big5 as BIG5-HKSCS (both supersets);
 *   - an unknown label falls back like an absent one;
 *   - bytes that do not decode become U+FFFD, never invalid UTF-8.
 * Line ends are normalised to LF and NUL bytes dropped so that the result
 * is a C string.  Conversion uses GMime's iconv wrapper (g_mime_iconv_open
 * knows the MIME aliases of charset names).
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "mime_int.h"

static const char REPL[] = "\xEF\xBF\xBD";

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (n >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0;               /* overlong */
        if (c == 0xED && p[1] >= 0xA0)
            return 0;               /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0;
        if (c == 0xF4 && p[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

/*
 * Copies [p, p+n) to a new string: invalid UTF-8 becomes U+FFFD, CR LF and
 * lone CR become LF, NUL is dropped.  The final pass of every conversion.
 */
static char *clean_copy(const char *p, size_t n, size_t *len_out)
{
    char *out = bp_xmalloc(n * 3 + 1);
    size_t o = 0;
    const unsigned char *s = (const unsigned char *)p;
    for (size_t i = 0; i < n;) {
        if (s[i] == '\r') {
            out[o++] = '\n';
            i += (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
            continue;
        }
        if (s[i] == 0) {
            i++;
            continue;
        }
        size_t l = utf8_seq_len(s + i, n - i);
        if (l == 0) {
            memcpy(out + o, REPL, 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, s + i, l);
        o += l;
        i += l;
    }
    out[o] = '\0';
    if (len_out)
        *len_out = o;
    return out;
}

char *bp__mime_utf8_sanitize(const char *p, size_t n, size_t *len_out)
{
    return clean_copy(p, n, len_out);
}

void bp__mime_utf8_truncate(char *s, size_t *len, size_t cap)
{
    if (*len <= cap)
        return;
    size_t l = cap;
    /* Back up over continuation bytes to the start of a character. */
    while (l > 0 && ((unsigned char)s[l] & 0xC0) == 0x80)
        l--;
    s[l] = '\0';
    *len = l;
}

static bool label_is(const char *cs, const char *const *names)
{
    for (; *names; names++)
        if (strcasecmp(cs, *names) == 0)
            return true;
    return false;
}

/* The charset iconv should really use for a MIME label; NULL = "sniff". */
static const char *effective_charset(const char *cs)
{
    static const char *const latin1[] = {
        "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "iso_8859-1",
        "latin1", "latin-1", "l1", "cp819", "ansi_x3.4-1968", "unknown-8bit",
        "x-unknown", "iso-8859-1:1987", "default", NULL};
    static const char *const gbk[] = {
        "gb2312", "gbk", "x-gbk", "cp936", "gb_2312-80", "euc-cn", "x-gb2312",
        "csgb2312", "chinese", NULL};
    static const char *const big5[] = {"big5", "x-big5", "cn-big5", "csbig5",
                                       NULL};
    static const char *const korean[] = {"ks_c_5601-1987", "ks_c_5601",
                                         "euc-kr", NULL};
    if (cs == NULL || *cs == '\0' || label_is(cs, latin1))
        return NULL;
    if (label_is(cs, gbk))
        return "GB18030";
    if (label_is(cs, big5))
        return "BIG5-HKSCS";
    if (label_is(cs, korean))
        return "CP949";
    if (strcasecmp(cs, "iso-8859-8-i") == 0)
        return "iso-8859-8";
    return cs;
}

/*
 * iconv loop with U+FFFD for undecodable bytes.  Produces at most about
 * cap + 8 bytes.  Returns the raw (not yet cleaned) output.
 */
static char *iconv_all(iconv_t cd, const char *p, size_t n, size_t cap,
                       size_t *olen)
{
    size_t alloc = n * 2 + 64, o = 0;
    if (alloc > cap + 64)
        alloc = cap + 64;
    char *out = bp_xmalloc(alloc);
    char *in = (char *)p;
    size_t inleft = n;
    while (o < cap) {
        char *op = out + o;
        size_t oleft = alloc - o - 1;
        size_t r = inleft ? iconv(cd, &in, &inleft, &op, &oleft)
                          : iconv(cd, NULL, NULL, &op, &oleft);
        int e = errno;
        o = (size_t)(op - out);
        if (r != (size_t)-1) {
            if (inleft == 0)
                break;
            continue;
        }
        if (e == E2BIG) {
            if (alloc >= cap + 64 && o >= cap)
                break;
            alloc = alloc * 2 > cap + 64 ? cap + 64 : alloc * 2;
            if (alloc - o < 16)
                alloc = o + 64;
            out = bp_xrealloc(out, alloc);
            continue;
        }
        /* EILSEQ, or EINVAL (truncated sequence at the end): one byte. */
        if (alloc - o < 8) {
            alloc += 64;
            out = bp_xrealloc(out, alloc);
        }
        memcpy(out + o, REPL, 3);
        o += 3;
        if (inleft == 0)
            break;
        in++;
        inleft--;
        iconv(cd, NULL, NULL, NULL, NULL);   /* reset shift state */
    }
    *olen = o;
    return out;
}

char *bp__mime_to_utf8(const char *p, size_t n, const char *charset,
                       size_t cap, size_t *len_out)
{
    const char *cs = effective_charset(charset);
    bool is_utf8 = cs && (strcasecmp(cs, "utf-8") == 0 ||
                          strcasecmp(cs, "utf8") == 0);
    char *res;
    size_t len;
    if (is_utf8 || (cs == NULL && bp_utf8_valid(p, n))) {
        res = clean_copy(p, n, &len);
    } else {
        iconv_t cd = g_mime_iconv_open("UTF-8", cs ? cs : "windows-1252");
        if (cd == (iconv_t)-1 && cs != NULL) {
            /* Unknown label: treat like an absent one. */
            if (bp_utf8_valid(p, n))
                cd = (iconv_t)-1;
            else
                cd = g_mime_iconv_open("UTF-8", "windows-1252");
        }
        if (cd == (iconv_t)-1) {
            res = clean_copy(p, n, &len);
        } else {
            size_t olen;
            char *raw = iconv_all(cd, p, n, cap, &olen);
            g_mime_iconv_close(cd);
            res = clean_copy(raw, olen, &len);
            free(raw);
        }
    }
    bp__mime_utf8_truncate(res, &len, cap);
    if (len_out)
        *len_out = len;
    return res;
}

/*
 * GMime decodes RFC 2047 words labelled iso-8859-1 literally, so the
 * windows-1252 characters Outlook puts there (€, curly quotes) arrive as C1
 * controls U+0080..U+009F.  Real text never contains C1 controls; map them
 * to the windows-1252 characters (undefined slots become U+FFFD).
 */
char *bp__mime_header_utf8(const char *s)
{
    static const unsigned short cp1252[32] = {
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
        0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};
    if (s == NULL)
        return NULL;
    size_t n;
    char *clean = clean_copy(s, strlen(s), &n);
    if (strstr(clean, "\xC2") == NULL)
        return clean;
    char *out = bp_xmalloc(n * 2 + 1), *o = out;
    const unsigned char *p = (const unsigned char *)clean;
    while (*p) {
        if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
            unsigned c = cp1252[p[1] - 0x80];
            if (c < 0x800) {
                *o++ = (char)(0xC0 | (c >> 6));
                *o++ = (char)(0x80 | (c & 0x3F));
            } else {
                *o++ = (char)(0xE0 | (c >> 12));
                *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
                *o++ = (char)(0x80 | (c & 0x3F));
            }
            p += 2;
        } else if (*p == '\n' || *p == '\t') {
            *o++ = ' ';             /* header values are one line */
            p++;
        } else {
            *o++ = (char)*p++;
        }
    }
    *o = '\0';
    free(clean);
    return out;
}
