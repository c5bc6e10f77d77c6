/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * application/x-www-form-urlencoded decoding (WHATWG URL standard,
 * "application/x-www-form-urlencoded parsing"), strict where the standard is
 * lenient: a '%' not followed by two hex digits is an error rather than a
 * literal, because a provider never sends one and a forged request might.
 * Decoded strings live in one allocation owned by struct bp_form.
 */
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "bp/ingest.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..n) into dst (room for n+1); returns the length or -1. */
static long decode(const char *src, size_t n, char *dst)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '+') {
            dst[o++] = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = hexval(src[i + 1]);
            lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            dst[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            dst[o++] = c;
        }
    }
    dst[o] = '\0';
    if (memchr(dst, '\0', o) != NULL || !bp_utf8_valid(dst, o))
        return -1;
    return (long)o;
}

int bp_form_parse(const char *body, size_t len, size_t max_fields,
                  struct bp_form *f, struct bp_errbuf *eb)
{
    size_t count = 0, pos = 0, field = 0;
    char *out;

    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < len; i++)
        if (body[i] == '&')
            count++;
    count++;
    if (count > max_fields) {
        bp_errbuf_set(eb, "body", "more than %zu fields", max_fields);
        return BP_EINVAL_INPUT;
    }
    f->fields = bp_xcalloc(count, sizeof *f->fields);
    /* each byte decodes to at most one byte, plus a NUL per name/value */
    f->_storage = out = bp_xmalloc(len + 2 * count + 2);
    while (pos <= len) {
        const char *seg = body + pos;
        const char *end = memchr(seg, '&', len - pos);
        size_t seglen = end ? (size_t)(end - seg) : len - pos;
        const char *eq = memchr(seg, '=', seglen);
        size_t nlen = eq ? (size_t)(eq - seg) : seglen;
        long dn, dv;

        if (seglen > 0) {
            char *name = out;
            dn = decode(seg, nlen, name);
            if (dn < 0) {
                bp_errbuf_set(eb, "body", "field %zu: bad escape or invalid "
                              "UTF-8 in name", field + 1);
                return BP_EINVAL_INPUT;
            }
            out += dn + 1;
            char *value = out;
            dv = eq ? decode(eq + 1, seglen - nlen - 1, value) : 0;
            if (!eq)
                value[0] = '\0';
            if (dv < 0) {
                bp_errbuf_set(eb, "body", "field %zu (%.40s): bad escape or "
                              "invalid UTF-8 in value", field + 1, name);
                return BP_EINVAL_INPUT;
            }
            out += dv + 1;
            f->fields[f->n].name = name;
            f->fields[f->n].value = value;
            f->n++;
        }
        field++;
        pos += seglen + 1;
    }
    return 0;
}

void bp_form_free(struct bp_form *f)
{
    free(f->fields);
    free(f->_storage);
    memset(f, 0, sizeof *f);
}

const char *bp_form_get(const struct bp_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->fields[i].name, name) == 0)
            return f->fields[i].value;
    return NULL;
}
