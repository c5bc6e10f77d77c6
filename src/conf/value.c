/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Typed configuration values: one strict parser per schema type (integer,
 * boolean, duration with a mandatory unit, 1024-based size, enum, host:port
 * address, secret indirection through env:NAME or file:/path) and
 * bp__conf_set, which stores a parsed value into its struct bp_conf field.
 * Every parser rejects trailing garbage and out-of-range values rather than
 * guessing, so a typo is an error at load instead of a surprise at runtime.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bp/base.h"
#include "conf_int.h"

#define SECRET_FILE_MAX 65536

static void why_set(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

/* Parses the leading decimal digits of s (no sign) into *out; returns the
 * end, or NULL when there are none or the number overflows. */
static const char *parse_digits(const char *s, int64_t *out)
{
    int64_t v = 0;
    const char *p = s;

    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return NULL;
        v = v * 10 + (*p - '0');
    }
    if (p == s)
        return NULL;
    *out = v;
    return p;
}

int bp__conf_parse_int(const char *s, int64_t *out)
{
    bool neg = false;
    const char *end;
    int64_t v;

    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    end = parse_digits(s, &v);
    if (end == NULL || *end != '\0')
        return BP_ECONFIG;
    *out = neg ? -v : v;
    return 0;
}

int bp__conf_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < BP_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return BP_ECONFIG;
}

/* Multiplies v by m, failing on overflow. */
static int scale(int64_t v, int64_t m, int64_t *out)
{
    if (v > INT64_MAX / m)
        return BP_ECONFIG;
    *out = v * m;
    return 0;
}

int bp__conf_parse_duration(const char *s, int64_t *ms)
{
    int64_t v, m;
    const char *u = parse_digits(s, &v);

    if (u == NULL)
        return BP_ECONFIG;
    if (strcmp(u, "ms") == 0)
        m = 1;
    else if (strcmp(u, "s") == 0)
        m = 1000;
    else if (strcmp(u, "m") == 0)
        m = 60 * 1000;
    else if (strcmp(u, "h") == 0)
        m = 3600 * 1000;
    else
        return BP_ECONFIG;    /* includes a bare number: ambiguous */
    return scale(v, m, ms);
}

int bp__conf_parse_size(const char *s, int64_t *bytes)
{
    int64_t v, m;
    const char *u = parse_digits(s, &v);

    if (u == NULL)
        return BP_ECONFIG;
    if (*u == '\0')
        m = 1;
    else if (strcmp(u, "k") == 0 || strcmp(u, "K") == 0)
        m = 1024;
    else if (strcmp(u, "M") == 0)
        m = 1024 * 1024;
    else if (strcmp(u, "G") == 0)
        m = 1024 * 1024 * 1024;
    else
        return BP_ECONFIG;
    return scale(v, m, bytes);
}

int bp__conf_parse_enum(const char *s, const char *allowed, int *out)
{
    size_t n = strlen(s);
    int idx = 0;

    for (const char *p = allowed; *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);

        if (n == len && strncasecmp(p, s, n) == 0) {
            *out = idx;
            return 0;
        }
        p += len + (bar != NULL);
    }
    return BP_ECONFIG;
}

void bp__conf_enum_name(const char *allowed, int idx, char *out, size_t n)
{
    const char *p = allowed;

    out[0] = '\0';
    for (int i = 0; i < idx && p; i++) {
        p = strchr(p, '|');
        if (p)
            p++;
    }
    if (p) {
        const char *bar = strchr(p, '|');
        snprintf(out, n, "%.*s", (int)(bar ? (size_t)(bar - p) : strlen(p)), p);
    }
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-'. */
static bool hostname_ok(const char *h, size_t n)
{
    size_t label = 0;

    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        if (ch == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '-') {
            if ((label == 0 && ch == '-') || ++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && h[n - 1] != '-';
}

static bool all_digits_dots(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
            return false;
    return true;
}

int bp__conf_parse_addr(const char *s, char *why, size_t whylen)
{
    char host[256];
    const char *colon, *port;
    int64_t pv;
    size_t hn;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            goto bad;
        hn = (size_t)(close - s - 1);
        port = close + 2;
        if (hn == 0 || hn >= sizeof host)
            goto bad;
        memcpy(host, s + 1, hn);
        host[hn] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1) {
            why_set(why, whylen, "'%s' is not an IPv6 address", host);
            return BP_ECONFIG;
        }
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
            goto bad;             /* no port, or a bare IPv6 address */
        hn = (size_t)(colon - s);
        port = colon + 1;
        if (hn == 0 || hn >= sizeof host)
            goto bad;
        memcpy(host, s, hn);
        host[hn] = '\0';
        struct in_addr a4;
        if (all_digits_dots(host, hn) ? inet_pton(AF_INET, host, &a4) != 1
                                      : !hostname_ok(host, hn)) {
            why_set(why, whylen, "'%s' is not an IPv4 address or host name",
                    host);
            return BP_ECONFIG;
        }
    }
    if (port[0] == '+' || port[0] == '-' || bp__conf_parse_int(port, &pv) < 0 ||
        pv < 0 || pv > 65535) {
        why_set(why, whylen, "bad port '%s', expected 0..65535", port);
        return BP_ECONFIG;
    }
    return 0;
bad:
    why_set(why, whylen, "'%s' is not an address, expected host:port, "
            "e.g. 127.0.0.1:8080, [::1]:8080 or localhost:8080", s);
    return BP_ECONFIG;
}

static int read_secret_file(const char *path, char **out, char *why,
                            size_t whylen)
{
    struct bp_buf b;
    struct stat st;
    char chunk[4096];
    ssize_t n;
    int fd, rc = BP_ECONFIG;

    if (path[0] != '/') {
        why_set(why, whylen, "file: needs an absolute path");
        return BP_ECONFIG;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        why_set(why, whylen, "cannot read secret file %s: %s", path,
                strerror(errno));
        return BP_ECONFIG;
    }
    bp_buf_init(&b, SECRET_FILE_MAX);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        why_set(why, whylen, "secret file %s is not a regular file", path);
        goto out;
    }
    if (st.st_mode & (S_IRGRP | S_IROTH)) {
        why_set(why, whylen, "secret file %s is readable by group or others "
                "(mode %03o), expected chmod 600", path,
                (unsigned)(st.st_mode & 0777));
        goto out;
    }
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || bp_buf_append(&b, chunk, (size_t)n) < 0) {
            why_set(why, whylen, "cannot read secret file %s: %s", path,
                    n < 0 ? strerror(errno) : "larger than 64 KiB");
            goto out;
        }
    }
    if (bp_buf_append(&b, "", 0) < 0 || memchr(b.data, '\0', b.len) != NULL) {
        why_set(why, whylen, "secret file %s contains a NUL byte", path);
        goto out;
    }
    if (b.len > 0 && b.data[b.len - 1] == '\n')
        b.data[--b.len] = '\0';
    if (b.len > 0 && b.data[b.len - 1] == '\r')
        b.data[--b.len] = '\0';
    *out = bp_buf_take(&b, NULL);
    rc = 0;
out:
    if (b.data)
        memset(b.data, 0, b.alloc);
    bp_buf_free(&b);
    memset(chunk, 0, sizeof chunk);
    close(fd);
    return rc;
}

int bp__conf_resolve_secret(const char *s, char **out, char *why,
                            size_t whylen)
{
    *out = NULL;
    if (bp_str_starts_with(s, "env:")) {
        const char *name = s + 4, *v;
        bool ok = (name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z') ||
                   (name[0] >= 'a' && name[0] <= 'z'));
        for (const char *p = name; ok && *p; p++)
            ok = *p == '_' || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
        if (!ok) {
            why_set(why, whylen, "bad environment variable name after env:");
            return BP_ECONFIG;
        }
        v = getenv(name);
        if (v == NULL) {
            why_set(why, whylen, "environment variable %s is not set", name);
            return BP_ECONFIG;
        }
        *out = bp_xstrdup(v);
        return 0;
    }
    if (bp_str_starts_with(s, "file:"))
        return read_secret_file(s + 5, out, why, whylen);
    *out = bp_xstrdup(s);
    return 0;
}

/* Text values: valid UTF-8, no control characters. */
static bool text_ok(const char *s)
{
    if (!bp_utf8_valid(s, strlen(s)))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* "between 100ms and 10m" for messages and the example. */
void bp__conf_fmt_range(const struct bp__conf_key *k, char *out, size_t n)
{
    char a[32], b[32];

    if (k->type == BP__CONF_DURATION) {
        bp__conf_fmt_duration(k->min, a, sizeof a);
        bp__conf_fmt_duration(k->max, b, sizeof b);
    } else if (k->type == BP__CONF_SIZE) {
        bp__conf_fmt_size(k->min, a, sizeof a);
        bp__conf_fmt_size(k->max, b, sizeof b);
    } else {
        snprintf(a, sizeof a, "%lld", (long long)k->min);
        snprintf(b, sizeof b, "%lld", (long long)k->max);
    }
    snprintf(out, n, "%s..%s", a, b);
}

static int set_number(struct bp_conf *c, const struct bp__conf_key *k,
                      const char *value, char *why, size_t whylen)
{
    static const char *const expect[] = {
        [BP__CONF_INT] = "an integer",
        [BP__CONF_DURATION] = "a duration with a unit ms, s, m or h (e.g. 10s)",
        [BP__CONF_SIZE] = "a size in bytes with an optional k, M or G suffix",
    };
    char range[80];
    int64_t v;
    int rc;

    bp__conf_fmt_range(k, range, sizeof range);
    rc = k->type == BP__CONF_INT ? bp__conf_parse_int(value, &v)
       : k->type == BP__CONF_DURATION ? bp__conf_parse_duration(value, &v)
       : bp__conf_parse_size(value, &v);
    if (rc < 0) {
        why_set(why, whylen, "'%s' is not valid, expected %s in %s", value,
                expect[k->type], range);
        return BP_ECONFIG;
    }
    if ((k->min != 0 || k->max != 0) && (v < k->min || v > k->max)) {
        why_set(why, whylen, "'%s' is out of range, expected %s", value, range);
        return BP_ECONFIG;
    }
    *(int64_t *)(void *)((char *)c + k->offset) = v;
    return 0;
}

static int set_string(struct bp_conf *c, const struct bp__conf_key *k,
                      const char *value, char *why, size_t whylen)
{
    char **field = (char **)(void *)((char *)c + k->offset);
    char *v = NULL;

    if (k->type == BP__CONF_SECRET) {
        if (bp__conf_resolve_secret(value, &v, why, whylen) < 0)
            return BP_ECONFIG;
    } else {
        if (!text_ok(value)) {
            why_set(why, whylen, "not valid UTF-8 text or contains control "
                    "characters");
            return BP_ECONFIG;
        }
        if (k->type == BP__CONF_ADDR &&
            bp__conf_parse_addr(value, why, whylen) < 0)
            return BP_ECONFIG;
        v = bp_xstrdup(value);
    }
    if (*field != NULL && k->type == BP__CONF_SECRET)
        memset(*field, 0, strlen(*field));
    free(*field);
    *field = v;
    return 0;
}

int bp__conf_set(struct bp_conf *c, const struct bp__conf_key *k,
                 const char *value, char *why, size_t whylen)
{
    void *field = (char *)c + k->offset;

    switch (k->type) {
    case BP__CONF_STR:
    case BP__CONF_PATH:
    case BP__CONF_SECRET:
    case BP__CONF_ADDR:
        return set_string(c, k, value, why, whylen);
    case BP__CONF_INT:
    case BP__CONF_DURATION:
    case BP__CONF_SIZE:
        return set_number(c, k, value, why, whylen);
    case BP__CONF_BOOL:
        if (bp__conf_parse_bool(value, (bool *)field) < 0) {
            why_set(why, whylen, "'%s' is not a boolean, expected true/false, "
                    "yes/no, on/off or 1/0", value);
            return BP_ECONFIG;
        }
        return 0;
    case BP__CONF_ENUM:
        if (bp__conf_parse_enum(value, k->allowed, (int *)field) < 0) {
            char list[128], *p;
            snprintf(list, sizeof list, "%s", k->allowed);
            while ((p = strchr(list, '|')) != NULL)
                *p = ',';
            why_set(why, whylen, "'%s' is not allowed, expected one of: %s",
                    value, list);
            return BP_ECONFIG;
        }
        return 0;
    }
    why_set(why, whylen, "unknown type");
    return BP_ECONFIG;
}

void bp__conf_fmt_duration(int64_t ms, char *out, size_t n)
{
    if (ms != 0 && ms % 3600000 == 0)
        snprintf(out, n, "%lldh", (long long)(ms / 3600000));
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(out, n, "%lldm", (long long)(ms / 60000));
    else if (ms % 1000 == 0)
        snprintf(out, n, "%llds", (long long)(ms / 1000));
    else
        snprintf(out, n, "%lldms", (long long)ms);
}

void bp__conf_fmt_size(int64_t b, char *out, size_t n)
{
    const int64_t k = 1024;

    if (b != 0 && b % (k * k * k) == 0)
        snprintf(out, n, "%lldG", (long long)(b / (k * k * k)));
    else if (b != 0 && b % (k * k) == 0)
        snprintf(out, n, "%lldM", (long long)(b / (k * k)));
    else if (b != 0 && b % k == 0)
        snprintf(out, n, "%lldk", (long long)(b / k));
    else
        snprintf(out, n, "%lld", (long long)b);
}
