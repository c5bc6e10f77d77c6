/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Semantic checks that a type alone cannot express, run once after the file
 * and the environment were applied: the school's time zone must exist in
 * the system's IANA database, the default country is an ISO 3166 alpha-2
 * code (upper-cased here), the default locale a plausible BCP 47 tag, the
 * public URL and the SMS API base http(s) URLs (their trailing slashes
 * dropped here: every user appends a path beginning with "/", and a
 * StatusCallback ending in "//webhooks/..." is a path the router does not
 * know), the SMTP relay a host without a port and not on 465, passwords
 * never sent where STARTTLS is only tried (but to this machine), SMS needs its credentials when enabled, and the
 * certificate-authority files named for SMTP and IMAP can be read (whether
 * they hold certificates is found when the sender or the poller starts).
 * Runtime modules can then trust these fields without re-checking.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bp/base.h"
#include "conf_int.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/* An IANA name such as "America/New_York": safe characters only, no
 * absolute path, no "." or ".." component, and a TZif file behind it. */
static bool timezone_ok(const char *tz)
{
    char path[512], magic[4];
    const char *comp = tz;
    ssize_t n;
    int fd;

    if (tz[0] == '\0' || tz[0] == '/' || strlen(tz) > 200)
        return false;
    for (const char *p = tz;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p == comp || comp[0] == '.')
                return false;    /* empty, ".", ".." or hidden component */
            if (*p == '\0')
                break;
            comp = p + 1;
        } else if (!is_alnum(*p) && !strchr("_+-.", *p)) {
            return false;
        }
    }
    snprintf(path, sizeof path, "%s/%s", ZONEINFO_DIR, tz);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    n = read(fd, magic, sizeof magic);
    close(fd);
    return n == 4 && memcmp(magic, "TZif", 4) == 0;
}

/* BCP 47, loosely: a 2-8 letter language subtag, then 1-8 character
 * alphanumeric subtags separated by '-' ("en", "es-419", "zh-Hant-TW"). */
static bool locale_ok(const char *tag)
{
    size_t len = 0, nsub = 0;

    if (strlen(tag) > 35)
        return false;
    for (const char *p = tag;; p++) {
        if (*p == '-' || *p == '\0') {
            if (len == 0 || len > 8 || (nsub == 0 && len < 2))
                return false;
            nsub++;
            len = 0;
            if (*p == '\0')
                return true;
        } else if (nsub == 0 ? !is_alpha(*p) : !is_alnum(*p)) {
            return false;
        } else {
            len++;
        }
    }
}

/* E.164: '+', then 8 to 15 digits, not starting with 0. */
static bool e164_ok(const char *s)
{
    size_t n = 0;

    if (s[0] != '+' || s[1] < '1' || s[1] > '9')
        return false;
    for (const char *p = s + 1; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return false;
    return n >= 7 && n <= 15;
}

/* A base URL other paths are appended to: http(s), and its trailing slashes
 * dropped (the users append a path beginning with "/"). */
static bool base_url(char *url)
{
    size_t scheme = bp_str_starts_with(url, "https://") ? 8
                    : bp_str_starts_with(url, "http://") ? 7 : 0;
    if (scheme == 0)
        return false;
    for (size_t n = strlen(url); n > scheme && url[n - 1] == '/';)
        url[--n] = '\0';
    return true;
}

/* A host on this machine: a password sent to it in clear never leaves it. */
static bool loopback_host(const char *host, size_t len)
{
    static const char *const names[] = {"localhost", "::1", "[::1]"};
    for (size_t i = 0; i < BP_ARRAY_LEN(names); i++)
        if (len == strlen(names[i]) && strncmp(host, names[i], len) == 0)
            return true;
    return len > 4 && strncmp(host, "127.", 4) == 0;
}

/* The host of an imap:// URL: between "//" and the next ':' or '/'
 * ("[...]" kept whole). */
static bool imap_url_loopback(const char *url)
{
    const char *h = strstr(url, "//"), *e;
    if (h == NULL)
        return false;
    h += 2;
    e = *h == '[' ? strchr(h, ']') : h + strcspn(h, ":/");
    if (e == NULL)
        return false;
    return loopback_host(h, (size_t)(e - h) + (*h == '[' ? 1 : 0));
}

static int bad(int *bad_key, const char *sec, const char *key, char *why,
               size_t whylen, const char *text)
{
    *bad_key = bp__conf_find(sec, key);
    snprintf(why, whylen, "%s", text);
    return BP_ECONFIG;
}

int bp__conf_check(struct bp_conf *c, int *bad_key, char *why, size_t whylen)
{
    char *cc = c->school_default_country;

    if (!timezone_ok(c->school_timezone))
        return bad(bad_key, "school", "timezone", why, whylen,
                   "unknown time zone, expected an IANA name from "
                   ZONEINFO_DIR " such as America/New_York or UTC");
    if (strlen(cc) != 2 || !is_alpha(cc[0]) || !is_alpha(cc[1]))
        return bad(bad_key, "school", "default_country", why, whylen,
                   "expected an ISO 3166 two-letter country code such as US");
    for (char *p = cc; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    if (!locale_ok(c->school_default_locale))
        return bad(bad_key, "school", "default_locale", why, whylen,
                   "expected a BCP 47 language tag such as en, es-419 or "
                   "zh-Hant");
    if (c->server_public_url[0] != '\0' && !base_url(c->server_public_url))
        return bad(bad_key, "server", "public_url", why, whylen,
                   "expected an http:// or https:// URL");
    if (!base_url(c->sms_api_base))
        return bad(bad_key, "sms", "api_base", why, whylen,
                   "expected an http:// or https:// URL");
    if (c->sms_from_number[0] != '\0' && !e164_ok(c->sms_from_number))
        return bad(bad_key, "sms", "from_number", why, whylen,
                   "expected an E.164 number such as +15551230000");
    struct in6_addr a6;
    if (strchr(c->smtp_host, ':') != NULL && inet_pton(AF_INET6, c->smtp_host, &a6) != 1)
        return bad(bad_key, "smtp", "host", why, whylen,
                   "a host name or an address, without the port (that is [smtp] port)");
    if (c->smtp_port == 465)
        return bad(bad_key, "smtp", "port", why, whylen,
                   "465 is SMTP over TLS from the first byte, which libesmtp does not "
                   "speak; use the relay's submission port 587 with starttls = required");
    /* With starttls = try a password goes in clear to a server that offers no
     * STARTTLS, or to anyone who strips the offer on the way. */
    if (c->smtp_enabled && c->smtp_username[0] != '\0' &&
        c->smtp_starttls != BP_CONF_TLS_REQUIRED &&
        !loopback_host(c->smtp_host, strlen(c->smtp_host)))
        return bad(bad_key, "smtp", "starttls", why, whylen,
                   "must be required when a username is set: the password would otherwise "
                   "go in clear to a relay that offers no STARTTLS (a relay on this machine "
                   "is exempt)");
    if (c->imap_enabled && c->imap_username[0] != '\0' &&
        bp_str_starts_with(c->imap_url, "imap://") && c->imap_starttls != BP_CONF_TLS_REQUIRED &&
        !imap_url_loopback(c->imap_url))
        return bad(bad_key, "imap", "starttls", why, whylen,
                   "must be required on an imap:// URL (or use imaps://): the password "
                   "would otherwise go in clear to a server that offers no STARTTLS (a "
                   "server on this machine is exempt)");
    if (c->smtp_ca_file[0] != '\0' && access(c->smtp_ca_file, R_OK) != 0)
        return bad(bad_key, "smtp", "ca_file", why, whylen, "cannot read this file");
    if (c->imap_ca_file[0] != '\0' && access(c->imap_ca_file, R_OK) != 0)
        return bad(bad_key, "imap", "ca_file", why, whylen, "cannot read this file");
    if (c->sms_enabled) {
        if (c->sms_account_sid[0] == '\0')
            return bad(bad_key, "sms", "account_sid", why, whylen,
                       "required when [sms] enabled = true");
        if (c->sms_auth_token[0] == '\0')
            return bad(bad_key, "sms", "auth_token", why, whylen,
                       "required when [sms] enabled = true");
        if (c->sms_from_number[0] == '\0')
            return bad(bad_key, "sms", "from_number", why, whylen,
                       "required when [sms] enabled = true");
    }
    return 0;
}
