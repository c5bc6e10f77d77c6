/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Masking of personal data in log lines (at info level and above).
 *
 * Rather than trusting every call site to mask, the formatted line itself is
 * scanned, so a phone number or address that slips into an error message is
 * still masked:
 *  - a '+' followed by 8 to 15 digits (E.164), or a free-standing run of 10
 *    to 15 digits (a national number), keeps its first two and last four
 *    characters: "+15551234567" -> "+1******4567";
 *  - an e-mail address keeps the first character of the local part and the
 *    domain: "ana.diaz@example.org" -> "a***@example.org".
 * Timestamps and ids are left alone: a digit run glued to letters (an id such
 * as SM0123456789abcdef) is not a phone number.
 */
#include <stdbool.h>
#include <string.h>

#include "bp/log.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_local_char(char c)
{
    /* RFC 5322 atext minus '=' and '/', which separate log fields */
    return is_alnum(c) || (c && strchr(".!#$%&'*+?^_`{|}~-", c) != NULL);
}
static bool is_domain_char(char c)
{
    return is_alnum(c) || c == '.' || c == '-';
}

/* Length of a phone number starting at in[i], or 0. */
static size_t phone_len(const char *in, size_t i)
{
    size_t j = i, digits;
    bool plus = in[i] == '+';

    if (i > 0 && (is_alnum(in[i - 1]) || in[i - 1] == '+'))
        return 0;
    if (plus)
        j++;
    while (is_digit(in[j]))
        j++;
    digits = j - i - (plus ? 1 : 0);
    if (is_alnum(in[j]))
        return 0;
    if (plus ? (digits < 8 || digits > 15) : (digits < 10 || digits > 15))
        return 0;
    return j - i;
}

void bp_log_scrub(const char *in, char *out, size_t n)
{
    size_t i = 0, o = 0, len = strlen(in);

    if (n == 0)
        return;
    while (i < len && o + 1 < n) {
        size_t pl = (in[i] == '+' || is_digit(in[i])) ? phone_len(in, i) : 0;
        if (pl > 0) {
            for (size_t k = 0; k < pl && o + 1 < n; k++)
                out[o++] = (k < 2 || k >= pl - 4) ? in[i + k] : '*';
            i += pl;
            continue;
        }
        if (is_local_char(in[i]) && (i == 0 || !is_local_char(in[i - 1]))) {
            size_t j = i;
            while (is_local_char(in[j]))
                j++;
            if (in[j] == '@' && is_domain_char(in[j + 1])) {
                size_t d = j + 1;
                bool dot = false;
                while (is_domain_char(in[d])) {
                    dot |= in[d] == '.';
                    d++;
                }
                if (dot) {
                    const char *mask = "***";
                    out[o++] = in[i];
                    for (const char *m = mask; *m && o + 1 < n; m++)
                        out[o++] = *m;
                    for (size_t k = j; k < d && o + 1 < n; k++)
                        out[o++] = in[k];
                    i = d;
                    continue;
                }
            }
            /* not an address: fall through and copy one character */
        }
        out[o++] = in[i++];
    }
    out[o] = '\0';
}
