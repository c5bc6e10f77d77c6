/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * E-mail address normalisation for contacts.
 *
 * The contact table keys e-mail contacts by the lower-cased address, so the
 * same family written "Ana.Diaz@Example.ORG " in one file and
 * "ana.diaz@example.org" in another is one contact with one consent state.
 * The syntax check is deliberately basic (RFC 5321 dot-atoms only, no quoted
 * local parts, no IP literals): roster addresses are plain mailbox
 * addresses, and anything odd is better shown to the administrator than
 * stored.  Delivery errors catch the rest later.
 */
#include <string.h>

#include "bp/base.h"
#include "bp/roster.h"

#define EMAIL_MAX 254

static bool local_char_ok(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return true;
    if (c >= '0' && c <= '9')
        return true;
    return strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL && c != '\0';
}

static bool domain_ok(const char *d, size_t n)
{
    size_t label = 0;
    int labels = 1;

    if (n == 0 || d[0] == '.' || d[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];

        if (c == '.') {
            if (label == 0 || d[i - 1] == '-')
                return false;
            label = 0;
            labels++;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
        if (label == 0 && c == '-')
            return false;
        if (++label > 63)
            return false;
    }
    return labels >= 2 && d[n - 1] != '-';
}

int bp_email_normalize(const char *in, char *out, size_t n)
{
    const char *s = in, *e, *at;
    size_t len;

    if (n > 0)
        out[0] = '\0';
    if (in == NULL)
        return BP_EINVAL_INPUT;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
                     e[-1] == '\n'))
        e--;
    len = (size_t)(e - s);
    if (len > EMAIL_MAX || len + 1 > n)
        return BP_ETOOBIG;
    memcpy(out, s, len);
    out[len] = '\0';
    bp_str_lower_ascii(out);
    at = strchr(out, '@');
    if (at == NULL || at == out || strchr(at + 1, '@') != NULL ||
        at - out > 64)
        goto bad;
    for (const char *p = out; p < at; p++)
        if (!local_char_ok((unsigned char)*p))
            goto bad;
    if (out[0] == '.' || at[-1] == '.' || strstr(out, "..") != NULL)
        goto bad;
    if (!domain_ok(at + 1, strlen(at + 1)))
        goto bad;
    return 0;
bad:
    out[0] = '\0';
    return BP_EINVAL_INPUT;
}
