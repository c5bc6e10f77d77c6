/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Oracle driver (not a test by itself): reads texts separated by NUL bytes
 * on standard input and prints, per text, "<GSM-7|UCS-2> <segments>
 * <units>" as bp_smsenc_analyze counts them (no transliteration).
 * tests/integration/test_tmpl_oracle.py compares these lines with the npm
 * package sms-segments-calculator on a generated corpus.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/smsenc.h"

static int one(const char *s, size_t n)
{
    struct bp_smsenc_info info;

    if (bp_smsenc_analyze(s, n, 0, &info, NULL) < 0) {
        printf("ERROR 0 0\n");
        return 1;
    }
    printf("%s %zu %zu\n", bp_smsenc_encoding_name(info.encoding), info.segments,
           info.units);
    return 0;
}

int main(void)
{
    size_t cap = 1 << 20, len = 0, start = 0;
    char *buf = malloc(cap);
    size_t r;
    int bad = 0;

    if (buf == NULL)
        return 2;
    while ((r = fread(buf + len, 1, cap - len, stdin)) > 0) {
        len += r;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return 2;
            }
            buf = nb;
            cap *= 2;
        }
    }
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\0') {
            bad |= one(buf + start, i - start);
            start = i + 1;
        }
    }
    if (start < len)
        bad |= one(buf + start, len - start);
    free(buf);
    return bad;
}
