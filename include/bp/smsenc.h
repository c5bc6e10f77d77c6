/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SMS encoding and segment counting for a rendered text (3GPP TS 23.038 /
 * 23.040): after NFC normalisation the text is sent as GSM-7 when every
 * character is in the GSM 7-bit default alphabet or its extension table
 * (extension characters such as € [ ] { } cost two septets), otherwise as
 * UCS-2 (UTF-16 code units; characters outside the BMP cost two).
 * One segment holds 160 septets / 70 units; a concatenated message holds
 * 153 / 67 per segment (the rest is the UDH).  Segments are counted by
 * walking the text, because an extension escape pair or a surrogate pair is
 * never split across two segments (66×ż + 😀 + 66×ż is 3 segments, not 2).
 * Pure functions, any thread.
 */
#ifndef BP_SMSENC_H
#define BP_SMSENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp/base.h"
#include "bp/err.h"

enum bp_smsenc_encoding {
    BP_SMSENC_GSM7 = 1,
    BP_SMSENC_UCS2,
};

/* Flags for bp_smsenc_analyze. */
#define BP_SMSENC_TRANSLITERATE 0x1  /* smart quotes, dashes, ellipsis, NBSP -> GSM */

#define BP_SMSENC_MAX_FORCING 16

struct bp_smsenc_info {
    enum bp_smsenc_encoding encoding;
    size_t units;        /* septets (GSM-7) or UTF-16 code units (UCS-2) */
    size_t chars;        /* code points after normalisation */
    size_t segments;     /* 0 for the empty text */
    size_t per_segment;  /* capacity used: 160/153 or 70/67 */
    /* Distinct code points that force UCS-2, in order of first use (at most
     * BP_SMSENC_MAX_FORCING); n_forcing_total counts every occurrence. */
    uint32_t forcing[BP_SMSENC_MAX_FORCING];
    size_t n_forcing, n_forcing_total;
};

/*
 * Analyses the UTF-8 text [s, s+n).  When out is non-NULL the text that
 * would actually be sent (NFC, transliterated if asked) is appended to it.
 * Returns 0; BP_EINVAL_INPUT for invalid UTF-8; BP_ETOOBIG when out's cap
 * is reached; BP_ENOMEM.
 */
BP_WUR int bp_smsenc_analyze(const char *s, size_t n, unsigned flags,
                             struct bp_smsenc_info *info, struct bp_buf *out);

/* True when code point c is in the GSM-7 basic table or extension table;
 * *septets (optional) receives 1 or 2. */
bool bp_smsenc_gsm7_char(uint32_t c, unsigned *septets);

const char *bp_smsenc_encoding_name(enum bp_smsenc_encoding e); /* "GSM-7"/"UCS-2" */

#endif
