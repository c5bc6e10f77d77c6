/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SMS encoding choice and segment counting (see include/bp/smsenc.h).
 *
 * Steps: UTF-8 -> UTF-16 -> NFC (ICU unorm2; "e"+U+0301 becomes "é", which
 * is GSM-7) -> optional transliteration of typographic punctuation that
 * word processors insert (‘ ’ “ ” – — … and no-break space) -> classify
 * every code point against the GSM 03.38 default alphabet and its
 * extension table -> count segments by walking characters, so that a
 * two-septet extension character or a surrogate pair that does not fit in
 * the current segment starts the next one (UCS-2: whole grapheme clusters,
 * so a flag or a ZWJ emoji sequence is not split, as Twilio counts).
 *
 * The basic table follows 3GPP TS 23.038 §6.2.1 as carriers implement it:
 * position 0x09 is "Ç" in the standard but is sent for "ç" by most
 * gateways; we accept only "Ç" (what the table says), so "ç" forces UCS-2.
 * Only the transliteration flag changes the text; nothing else is
 * silently replaced.
 */
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "bp/smsenc.h"

#define MAX_TEXT (64 * 1024)   /* UTF-16 units; SMS bodies are far smaller */

/* GSM 03.38 basic table: every code point with a one-septet encoding. */
static const uint16_t gsm_basic[] = {
    '@', 0xA3, '$', 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, '\n', 0xD8, 0xF8,
    '\r', 0xC5, 0xE5, 0x394, '_', 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8,
    0x3A3, 0x398, 0x39E, 0xC6, 0xE6, 0xDF, 0xC9, ' ', '!', '"', '#', 0xA4,
    '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', ':', ';', '<',
    '=', '>', '?', 0xA1, 0xC4, 0xD6, 0xD1, 0xDC, 0xA7, 0xBF, 0xE4, 0xF6,
    0xF1, 0xFC, 0xE0,
};
/* Extension table (escape 0x1B + one septet). */
static const uint16_t gsm_ext[] = {
    0x0C, '^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC,
};

bool bp_smsenc_gsm7_char(uint32_t c, unsigned *septets)
{
    unsigned s = 0;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        s = 1;
    else if (c > 0x3A9 && c != 0x20AC)
        s = 0, c = 0xFFFF;      /* beyond Greek Omega only € is GSM: skip scans */
    for (size_t i = 0; s == 0 && i < BP_ARRAY_LEN(gsm_basic); i++)
        if (gsm_basic[i] == c)
            s = 1;
    for (size_t i = 0; s == 0 && i < BP_ARRAY_LEN(gsm_ext); i++)
        if (gsm_ext[i] == c)
            s = 2;
    if (septets != NULL)
        *septets = s;
    return s != 0;
}

const char *bp_smsenc_encoding_name(enum bp_smsenc_encoding e)
{
    return e == BP_SMSENC_GSM7 ? "GSM-7" : "UCS-2";
}

/* Typographic punctuation -> GSM equivalent (0 = not transliterated). */
static UChar translit(UChar c)
{
    switch (c) {
    case 0x2018: case 0x2019: case 0x201A: case 0x2032: return '\'';
    case 0x201C: case 0x201D: case 0x201E: case 0x2033: return '"';
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014:
    case 0x2015: case 0x2212: return '-';
    case 0x00A0: case 0x2007: case 0x202F: return ' ';
    default: return 0;
    }
}

/* NFC, then transliteration (the ellipsis grows into three dots). */
static int normalise(const char *s, size_t n, unsigned flags, UChar **out,
                     int32_t *outlen)
{
    UErrorCode st = U_ZERO_ERROR;
    int32_t len16 = 0;
    u_strFromUTF8(NULL, 0, &len16, s, (int32_t)n, &st);
    if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
        return BP_EINVAL_INPUT;
    if (len16 > MAX_TEXT)
        return BP_ETOOBIG;
    UChar *raw = bp_xmalloc(((size_t)len16 + 1) * sizeof(UChar));
    UChar *nfc;
    int32_t nlen;
    st = U_ZERO_ERROR;
    u_strFromUTF8(raw, len16 + 1, NULL, s, (int32_t)n, &st);
    const UNormalizer2 *norm = unorm2_getNFCInstance(&st);
    if (U_SUCCESS(st) && unorm2_isNormalized(norm, raw, len16, &st)) {
        nfc = raw;                      /* the common case: already NFC */
        nlen = len16;
    } else {
        nfc = bp_xmalloc(((size_t)len16 * 3 + 1) * sizeof(UChar));
        nlen = U_SUCCESS(st) ? unorm2_normalize(norm, raw, len16, nfc,
                                                len16 * 3 + 1, &st) : 0;
        free(raw);
    }
    if (U_FAILURE(st)) {
        free(nfc);
        return BP_EINVAL_INPUT;
    }
    if (flags & BP_SMSENC_TRANSLITERATE) {
        UChar *t = bp_xmalloc(((size_t)nlen * 3 + 1) * sizeof(UChar));
        int32_t k = 0;
        for (int32_t i = 0; i < nlen; i++) {
            UChar r = translit(nfc[i]);
            if (nfc[i] == 0x2026) {
                t[k++] = '.', t[k++] = '.', t[k++] = '.';
            } else {
                t[k++] = r ? r : nfc[i];
            }
        }
        free(nfc);
        nfc = t;
        nlen = k;
    }
    *out = nfc;
    *outlen = nlen;
    return 0;
}

static void note_forcing(struct bp_smsenc_info *info, uint32_t c)
{
    info->n_forcing_total++;
    for (size_t i = 0; i < info->n_forcing; i++)
        if (info->forcing[i] == c)
            return;
    if (info->n_forcing < BP_SMSENC_MAX_FORCING)
        info->forcing[info->n_forcing++] = c;
}

/* Walks code points, packing them into segments of cap units (GSM-7). */
static size_t walk(const UChar *u, int32_t len, bool gsm, size_t cap)
{
    size_t segs = 1, used = 0;
    for (int32_t i = 0; i < len;) {
        UChar32 c;
        U16_NEXT(u, i, len, c);
        unsigned cost = 1;
        if (gsm)
            (void)bp_smsenc_gsm7_char((uint32_t)c, &cost);
        else
            cost = (unsigned)U16_LENGTH(c);
        if (used + cost > cap) {
            segs++;
            used = 0;
        }
        used += cost;
    }
    return segs;
}

/* UCS-2: packs whole grapheme clusters (ICU character breaks), as Twilio
 * does and its sms-segments-calculator shows: a flag, a skin-toned or ZWJ
 * emoji is never split across two segments (tests/integration/
 * test_tmpl_oracle.py found the difference).  A cluster longer than a
 * segment is split by code points.  Falls back to the code-point walk if
 * ICU cannot open the iterator. */
static size_t walk_graphemes(const UChar *u, int32_t len, size_t cap)
{
    UErrorCode st = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_open(UBRK_CHARACTER, "", u, len, &st);
    size_t segs = 1, used = 0;

    if (U_FAILURE(st)) {
        if (bi != NULL)
            ubrk_close(bi);
        return walk(u, len, false, cap);
    }
    for (int32_t a = ubrk_first(bi), b = ubrk_next(bi); b != UBRK_DONE;
         a = b, b = ubrk_next(bi)) {
        size_t cost = (size_t)(b - a);
        if (cost > cap) {
            segs += walk(u + a, b - a, false, cap) - 1 + (used > 0);
            used = cap;         /* conservatively: the split cluster fills its last one */
            continue;
        }
        if (used + cost > cap) {
            segs++;
            used = 0;
        }
        used += cost;
    }
    ubrk_close(bi);
    return segs;
}

int bp_smsenc_analyze(const char *s, size_t n, unsigned flags,
                      struct bp_smsenc_info *info, struct bp_buf *out)
{
    UChar *u = NULL;
    int32_t len = 0;
    memset(info, 0, sizeof *info);
    if (!bp_utf8_valid(s, n))
        return BP_EINVAL_INPUT;
    int rc = normalise(s, n, flags, &u, &len);
    if (rc < 0)
        return rc;
    size_t septets = 0;
    for (int32_t i = 0; i < len;) {
        UChar32 c;
        unsigned cost;
        U16_NEXT(u, i, len, c);
        info->chars++;
        if (bp_smsenc_gsm7_char((uint32_t)c, &cost))
            septets += cost;
        else
            note_forcing(info, (uint32_t)c);
    }
    bool gsm = info->n_forcing_total == 0;
    info->encoding = gsm ? BP_SMSENC_GSM7 : BP_SMSENC_UCS2;
    info->units = gsm ? septets : (size_t)len;
    size_t single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    if (info->units == 0) {
        info->segments = 0;
        info->per_segment = single;
    } else if (info->units <= single) {
        info->segments = 1;
        info->per_segment = single;
    } else {
        info->segments = gsm ? walk(u, len, true, multi) : walk_graphemes(u, len, multi);
        info->per_segment = multi;
    }
    if (out != NULL) {
        UErrorCode st = U_ZERO_ERROR;
        int32_t n8 = 0;
        u_strToUTF8(NULL, 0, &n8, u, len, &st);
        char *b = bp_xmalloc((size_t)n8 + 1);
        st = U_ZERO_ERROR;
        u_strToUTF8(b, n8 + 1, NULL, u, len, &st);
        rc = U_FAILURE(st) ? BP_EINVAL_INPUT : bp_buf_append(out, b, (size_t)n8);
        free(b);
    }
    free(u);
    return rc;
}
