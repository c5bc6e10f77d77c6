/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Pure helpers of the IMAP poller: splitting the configured URL, reading
 * the untagged answers libcurl hands to the write callback for custom
 * commands (RFC 3501 §7.2.6 SEARCH, §7.2.4 STATUS), writing UID sets,
 * classifying libcurl errors into the kinds /metrics counts, and the retry
 * backoff.  No I/O, no state: unit-tested in tests/unit/imap/test_proto.c.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "imap_int.h"

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static char *pct_decode(const char *s, size_t n)
{
    char *out = bp_xmalloc(n + 1), *o = out;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n + 1 && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

int bp__imap_url_split(const char *url, char **base, char **mailbox,
                       char **hostport, struct bp_errbuf *eb)
{
    const char *p, *host, *slash, *end;
    size_t n;

    *base = *mailbox = *hostport = NULL;
    if (url == NULL)
        url = "";
    if (strncmp(url, "imap://", 7) == 0)
        host = url + 7;
    else if (strncmp(url, "imaps://", 8) == 0)
        host = url + 8;
    else {
        bp_errbuf_set(eb, "imap.url", "must start with imap:// or imaps://");
        return BP_ECONFIG;
    }
    if ((p = strchr(host, '@')) != NULL && p < host + strcspn(host, "/")) {
        bp_errbuf_set(eb, "imap.url", "put the user name in imap.username, not in the URL");
        return BP_ECONFIG;
    }
    slash = host + strcspn(host, "/?#");
    if (slash == host || strpbrk(host, " \t\r\n") != NULL) {
        bp_errbuf_set(eb, "imap.url", "no host, or white space in the URL");
        return BP_ECONFIG;
    }
    n = (size_t)(slash - url) + 1;
    *base = bp_xmalloc(n + 1);
    memcpy(*base, url, n - 1);
    (*base)[n - 1] = '/';
    (*base)[n] = '\0';
    *hostport = bp_xmalloc((size_t)(slash - host) + 1);
    memcpy(*hostport, host, (size_t)(slash - host));
    (*hostport)[slash - host] = '\0';
    p = *slash == '/' ? slash + 1 : slash;
    end = p + strcspn(p, ";?#");
    while (end > p && end[-1] == '/')
        end--;
    *mailbox = end > p ? pct_decode(p, (size_t)(end - p)) : bp_xstrdup("INBOX");
    return 0;
}

int bp__imap_url_encode(struct bp_buf *b, const char *mailbox)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (const unsigned char *p = (const unsigned char *)mailbox; rc == 0 && *p; p++) {
        if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            rc = bp_buf_append(b, p, 1);
        } else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            rc = bp_buf_append(b, e, 3);
        }
    }
    return rc;
}

int bp__imap_quote(struct bp_buf *b, const char *s)
{
    int rc = bp_buf_append(b, "\"", 1);

    for (; rc == 0 && *s; s++) {
        if (*s == '"' || *s == '\\')
            rc = bp_buf_append(b, "\\", 1);
        if (rc == 0 && *s != '\r' && *s != '\n')
            rc = bp_buf_append(b, s, 1);
    }
    return rc == 0 ? bp_buf_append(b, "\"", 1) : rc;
}

/* The number after `word ` in [p, e), or -1. */
static int64_t number_after(const char *p, const char *e, const char *word)
{
    size_t wl = strlen(word);

    for (; p + wl < e; p++) {
        if (strncasecmp(p, word, wl) != 0 || p[wl] != ' ')
            continue;
        p += wl + 1;
        if (p >= e || !isdigit((unsigned char)*p))
            return -1;
        int64_t v = 0;
        while (p < e && isdigit((unsigned char)*p) && v < (INT64_MAX - 9) / 10)
            v = v * 10 + (*p++ - '0');
        return v;
    }
    return -1;
}

int bp__imap_parse_status(const char *resp, size_t len, int64_t *uidvalidity,
                          int64_t *uidnext)
{
    const char *p = resp, *e = resp + len;

    *uidvalidity = *uidnext = 0;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *le = nl ? nl : e;
        if (le - p > 9 && strncasecmp(p, "* STATUS ", 9) == 0) {
            int64_t v = number_after(p, le, "UIDVALIDITY");
            int64_t n = number_after(p, le, "UIDNEXT");
            if (v > 0) {
                *uidvalidity = v;
                *uidnext = n > 0 ? n : 0;
                return 0;
            }
        }
        p = nl ? nl + 1 : e;
    }
    return BP_EPROVIDER;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int bp__imap_parse_search(const char *resp, size_t len, int64_t above,
                          int64_t **uids, size_t *n)
{
    const char *p = resp, *e = resp + len;
    size_t cap = 64, k = 0;
    int64_t *v = bp_xmalloc(cap * sizeof *v);

    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *le = nl ? nl : e;
        if (le - p >= 8 && strncasecmp(p, "* SEARCH", 8) == 0) {
            const char *q = p + 8;
            while (q < le) {
                int64_t x = 0;
                bool any = false;
                while (q < le && !isdigit((unsigned char)*q))
                    q++;
                while (q < le && isdigit((unsigned char)*q) && x < (INT64_MAX - 9) / 10) {
                    x = x * 10 + (*q++ - '0');
                    any = true;
                }
                if (!any || x <= above)
                    continue;
                if (k == cap)
                    v = bp_xrealloc(v, (cap *= 2) * sizeof *v);
                v[k++] = x;
            }
        }
        p = nl ? nl + 1 : e;
    }
    qsort(v, k, sizeof *v, cmp_i64);
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (w == 0 || v[w - 1] != v[i])
            v[w++] = v[i];
    *uids = v;
    *n = w;
    return 0;
}

int bp__imap_uid_set(struct bp_buf *b, const int64_t *uids, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i;
        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        if (j == i)
            rc = bp_buf_printf(b, "%s%lld", i ? "," : "", (long long)uids[i]);
        else
            rc = bp_buf_printf(b, "%s%lld:%lld", i ? "," : "", (long long)uids[i],
                               (long long)uids[j]);
        i = j + 1;
    }
    return rc;
}

enum bp_imap_err_kind bp__imap_classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
        return BP_IMAP_ERR_CONNECT;
    case CURLE_LOGIN_DENIED:
        return BP_IMAP_ERR_AUTH;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return BP_IMAP_ERR_TLS;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        return BP_IMAP_ERR_TOO_BIG;
    default:
        return BP_IMAP_ERR_PROTOCOL;
    }
}

int64_t bp__imap_backoff_ms(uint64_t failures, int64_t base_ms, int64_t cap_ms)
{
    int64_t d = base_ms > 0 ? base_ms : 1;

    for (uint64_t i = 1; i < failures && d < cap_ms; i++)
        d *= 2;
    return d < cap_ms ? d : cap_ms;
}

int64_t bp__imap_seen_end(int64_t cursor, int64_t uidnext, int64_t window_last, int64_t ahead)
{
    int64_t end = cursor + ahead;

    if (uidnext <= 0)
        return 0;
    if (end > uidnext - 1)
        end = uidnext - 1;
    return end > window_last ? end : window_last;
}
