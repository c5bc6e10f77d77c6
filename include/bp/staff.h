/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Staff accounts: password hashing (libsodium argon2id, OPSLIMIT and
 * MEMLIMIT_INTERACTIVE: about 45 ms and 64 MiB per hash on the reference
 * machine, so a daemon must run hashing on a worker thread), the password
 * policy, e-mail and role checks, and creating or updating an account in the
 * store (`backpack staff add`).
 *
 * Passwords are passed as (pointer, length) and never copied by this module
 * except into libsodium; callers wipe their buffers with sodium_memzero.
 * Nothing here logs a password, a hash or an e-mail address.
 * Thread-safe: no global state besides libsodium's one-time initialisation.
 */
#ifndef BP_STAFF_H
#define BP_STAFF_H

#include <stdbool.h>
#include <stddef.h>

#include "bp/err.h"

struct bp_store;

#define BP_STAFF_PW_MIN_CHARS 10      /* Unicode code points */
#define BP_STAFF_PW_MAX_BYTES 1024
#define BP_STAFF_HASH_MAX     128     /* crypto_pwhash_STRBYTES */
#define BP_STAFF_EMAIL_MAX    254

/* Initialises libsodium (idempotent, thread-safe).  0 or BP_EIO. */
BP_WUR int bp_staff_init(void);

/*
 * Hashes a password with argon2id into out (NUL-terminated, starts with
 * "$argon2id$").  0, BP_ENOMEM (libsodium could not allocate its 64 MiB) or
 * BP_EIO.  Slow by design: never call it on the loop thread.
 */
BP_WUR int bp_staff_password_hash(const char *pw, size_t len,
                                  char out[BP_STAFF_HASH_MAX]);
/* 0 when pw matches hash, BP_EAUTH when it does not or the hash is not a
 * valid argon2id string.  Slow like hashing. */
BP_WUR int bp_staff_password_verify(const char *hash, const char *pw,
                                    size_t len);
/* True when hash was made with other parameters than today's (or is not a
 * valid hash): re-hash the password after a successful login. */
bool bp_staff_password_needs_rehash(const char *hash);

/*
 * The password policy: at least BP_STAFF_PW_MIN_CHARS characters, at most
 * BP_STAFF_PW_MAX_BYTES bytes, valid UTF-8, not the account's e-mail
 * (compared case-insensitively; email may be NULL).  0 or BP_EINVAL_INPUT
 * with the reason in eb (the password itself is never put in eb).
 */
BP_WUR int bp_staff_password_check(const char *pw, size_t len,
                                   const char *email, struct bp_errbuf *eb);

/*
 * Normalises an e-mail address into out (size n, at least
 * BP_STAFF_EMAIL_MAX + 1): trimmed, lower-cased, and checked for one '@'
 * with a non-empty local part and a dotted domain, no spaces or control
 * characters.  0 or BP_EINVAL_INPUT with the reason in eb.
 */
BP_WUR int bp_staff_email_normalize(const char *in, char *out, size_t n,
                                    struct bp_errbuf *eb);
/* True for the roles of the data model: "teacher", "admin", "monitor". */
bool bp_staff_role_valid(const char *role);

struct bp_staff_account {
    const char *email;        /* as given; normalised by bp_staff_add */
    const char *role;         /* teacher | admin | monitor */
    const char *display_name; /* NULL: empty for a new account, unchanged on
                                 update */
    const char *password;     /* borrowed; pw_len bytes, not NUL-terminated */
    size_t pw_len;
};

/*
 * Creates the account (or, with update, changes the role, the display name
 * when given and the password of an existing one) in one transaction of the
 * read-write store s, hashing the password first.  Returns 0 and sets
 * *created (true: new row, false: updated), BP_EDUPLICATE when the e-mail
 * exists and update is false, BP_EINVAL_INPUT for a bad e-mail, role or
 * password (reason in eb), or a store error.  Command-line tools only.
 */
BP_WUR int bp_staff_add(struct bp_store *s, const struct bp_staff_account *a,
                        bool update, bool *created, struct bp_errbuf *eb);

#endif
