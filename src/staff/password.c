/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Staff passwords: argon2id hashing and verification through libsodium
 * (crypto_pwhash_str_alg with OPSLIMIT/MEMLIMIT_INTERACTIVE, the parameters
 * libsodium recommends for interactive logins), the re-hash check for when
 * those parameters change, and the password policy.  libsodium is
 * initialised once (pthread_once); sodium_init itself is idempotent.
 */
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "bp/base.h"
#include "bp/staff.h"

_Static_assert(BP_STAFF_HASH_MAX == crypto_pwhash_STRBYTES,
               "hash buffer must match libsodium");

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status;

static void init_sodium(void)
{
    sodium_status = sodium_init() < 0 ? BP_EIO : 0;
}

int bp_staff_init(void)
{
    pthread_once(&sodium_once, init_sodium);
    return sodium_status;
}

int bp_staff_password_hash(const char *pw, size_t len,
                           char out[BP_STAFF_HASH_MAX])
{
    int rc = bp_staff_init();

    if (rc < 0)
        return rc;
    if (crypto_pwhash_str_alg(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return BP_ENOMEM;        /* libsodium's only failure: out of memory */
    return strncmp(out, "$argon2id$", 10) == 0 ? 0 : BP_EIO;
}

int bp_staff_password_verify(const char *hash, const char *pw, size_t len)
{
    if (bp_staff_init() < 0 || hash == NULL ||
        strncmp(hash, "$argon2id$", 10) != 0 ||
        strnlen(hash, BP_STAFF_HASH_MAX) >= BP_STAFF_HASH_MAX)
        return BP_EAUTH;
    return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : BP_EAUTH;
}

bool bp_staff_password_needs_rehash(const char *hash)
{
    if (bp_staff_init() < 0 || hash == NULL ||
        strncmp(hash, "$argon2id$", 10) != 0)
        return true;
    return crypto_pwhash_str_needs_rehash(hash,
                                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
}

/* Number of code points of valid UTF-8 text (continuation bytes skipped). */
static size_t utf8_chars(const char *p, size_t n)
{
    size_t chars = 0;

    for (size_t i = 0; i < n; i++)
        if (((unsigned char)p[i] & 0xC0) != 0x80)
            chars++;
    return chars;
}

int bp_staff_password_check(const char *pw, size_t len, const char *email,
                            struct bp_errbuf *eb)
{
    if (len > BP_STAFF_PW_MAX_BYTES) {
        bp_errbuf_set(eb, "password", "longer than %d bytes",
                      BP_STAFF_PW_MAX_BYTES);
        return BP_EINVAL_INPUT;
    }
    if (!bp_utf8_valid(pw, len) || memchr(pw, '\0', len) != NULL) {
        bp_errbuf_set(eb, "password", "not valid UTF-8 text");
        return BP_EINVAL_INPUT;
    }
    if (utf8_chars(pw, len) < BP_STAFF_PW_MIN_CHARS) {
        bp_errbuf_set(eb, "password", "shorter than %d characters",
                      BP_STAFF_PW_MIN_CHARS);
        return BP_EINVAL_INPUT;
    }
    if (email != NULL && strlen(email) == len &&
        strncasecmp(email, pw, len) == 0) {
        bp_errbuf_set(eb, "password", "must not be the e-mail address");
        return BP_EINVAL_INPUT;
    }
    return 0;
}
