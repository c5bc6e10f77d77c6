/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Staff accounts: e-mail and role checks, and bp_staff_add, which hashes
 * the password (outside the transaction: it takes ~45 ms) and then creates
 * or updates the row in one transaction.  The e-mail is lower-cased because
 * the data model stores it so (CHECK email = lower(email)) and logins
 * compare it that way.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "bp/base.h"
#include "bp/log.h"
#include "bp/staff.h"
#include "bp/store_staff.h"

int bp_staff_email_normalize(const char *in, char *out, size_t n,
                             struct bp_errbuf *eb)
{
    const char *at, *dot;
    size_t len;

    while (*in == ' ' || *in == '\t')
        in++;
    len = strlen(in);
    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
        len--;
    if (len == 0 || len > BP_STAFF_EMAIL_MAX || len >= n) {
        bp_errbuf_set(eb, "email", "expected an address of 1 to %d bytes",
                      BP_STAFF_EMAIL_MAX);
        return BP_EINVAL_INPUT;
    }
    memcpy(out, in, len);
    out[len] = '\0';
    bp_str_lower_ascii(out);
    for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f || strchr("<>()[],;:\\\"", *p)) {
            bp_errbuf_set(eb, "email", "contains a space, control or "
                          "special character");
            return BP_EINVAL_INPUT;
        }
    }
    at = strchr(out, '@');
    if (at == NULL || at == out || strchr(at + 1, '@') != NULL ||
        !bp_utf8_valid(out, len)) {
        bp_errbuf_set(eb, "email", "expected one '@' after a non-empty name, "
                      "e.g. ana.diaz@school.example.org");
        return BP_EINVAL_INPUT;
    }
    dot = strrchr(at + 1, '.');
    if (dot == NULL || dot == at + 1 || dot[1] == '\0' ||
        strstr(at + 1, "..") != NULL) {
        bp_errbuf_set(eb, "email", "the domain after '@' must contain a dot, "
                      "e.g. school.example.org");
        return BP_EINVAL_INPUT;
    }
    return 0;
}

bool bp_staff_role_valid(const char *role)
{
    return role != NULL && (strcmp(role, "teacher") == 0 ||
                            strcmp(role, "admin") == 0 ||
                            strcmp(role, "monitor") == 0);
}

/* Inserts or updates inside one transaction. */
static int store_account(struct bp_store *s, const char *email,
                         const struct bp_staff_account *a, const char *hash,
                         bool update, bool *created, struct bp_errbuf *eb)
{
    struct bp_store_staff old;
    int64_t now = bp_clock_now_ms(), id = 0;
    char detail[64];
    int rc = bp_store_begin(s);

    if (rc < 0) {
        bp_errbuf_set(eb, "database", "cannot begin a transaction: %s",
                      bp_strerror(rc));
        return rc;
    }
    rc = bp_store_staff_get_by_email(s, email, &old);
    if (rc == BP_ENOTFOUND) {
        rc = bp_store_staff_insert(s, email, a->display_name, a->role, hash,
                                   now, &id);
        *created = true;
    } else if (rc == 0 && !update) {
        rc = BP_EDUPLICATE;
    } else if (rc == 0) {
        id = old.id;
        rc = bp_store_staff_update(s, old.id, a->role, a->display_name, hash,
                                   now);
        *created = false;
    }
    bp_store_staff_clear(&old);
    if (rc == 0) {
        /* who has which role is what an administrator audits first */
        snprintf(detail, sizeof detail, "{\"role\":\"%s\"}", a->role);
        rc = bp_store_audit_append(s, 0, "cli",
                                   *created ? "staff.create" : "staff.update",
                                   "staff", id, detail);
    }
    if (rc == 0)
        rc = bp_store_commit(s);
    if (rc < 0) {
        bp_store_rollback(s);
        if (rc == BP_EDUPLICATE)
            bp_errbuf_set(eb, "email", "a staff account with this e-mail "
                          "already exists (use --update to change it)");
        else
            bp_errbuf_set(eb, "database", "cannot save the account: %s",
                          bp_strerror(rc));
    }
    return rc;
}

int bp_staff_add(struct bp_store *s, const struct bp_staff_account *a,
                 bool update, bool *created, struct bp_errbuf *eb)
{
    char email[BP_STAFF_EMAIL_MAX + 1], hash[BP_STAFF_HASH_MAX];
    int rc;

    *created = false;
    rc = bp_staff_email_normalize(a->email, email, sizeof email, eb);
    if (rc < 0)
        return rc;
    if (!bp_staff_role_valid(a->role)) {
        bp_errbuf_set(eb, "role", "expected teacher, admin or monitor");
        return BP_EINVAL_INPUT;
    }
    if (a->display_name != NULL &&
        (!bp_utf8_valid(a->display_name, strlen(a->display_name)) ||
         strlen(a->display_name) > 200)) {
        bp_errbuf_set(eb, "name", "expected UTF-8 text of at most 200 bytes");
        return BP_EINVAL_INPUT;
    }
    rc = bp_staff_password_check(a->password, a->pw_len, email, eb);
    if (rc < 0)
        return rc;
    rc = bp_staff_password_hash(a->password, a->pw_len, hash);
    if (rc < 0) {
        bp_errbuf_set(eb, "password", "cannot hash: %s", bp_strerror(rc));
        return rc;
    }
    rc = store_account(s, email, a, hash, update, created, eb);
    sodium_memzero(hash, sizeof hash);
    if (rc == 0)
        bp_log_notice("staff", *created ? "account_created" : "account_updated",
                      "role=%s", a->role);
    return rc;
}
