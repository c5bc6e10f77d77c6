/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Inbound SMS: the provider-independent pieces of the webhook path
 * (verify -> parse -> classify -> store -> acknowledge).
 *
 * - Form bodies (application/x-www-form-urlencoded) are decoded into a list
 *   of name/value pairs that keeps repeated names and order.
 * - Provider adapters (one file each, src/ingest/prov_<name>.c) fill a
 *   function table: verify a request's signature, parse an inbound message,
 *   parse a delivery-status callback.
 * - Carrier keywords (STOP/START/HELP and their equivalents in the
 *   district's languages) are recognised by bp_ingest_keyword_classify.
 * All functions here are pure and thread-agnostic unless said otherwise.
 */
#ifndef BP_INGEST_H
#define BP_INGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "bp/err.h"

/* ---- form bodies ---------------------------------------------------- */
struct bp_form_field {
    char *name;      /* decoded, NUL-terminated, valid UTF-8 */
    char *value;
};

struct bp_form {
    struct bp_form_field *fields;
    size_t n;
    char *_storage;  /* one allocation holding every decoded string */
};

/*
 * Decodes body[0..len) ('+' is a space, %XX escapes).  Fails with
 * BP_EINVAL_INPUT on a bad escape, invalid UTF-8, a NUL byte, or more than
 * max_fields fields, with a reason in eb.  *f must be released with
 * bp_form_free (also after a failure).
 */
BP_WUR int bp_form_parse(const char *body, size_t len, size_t max_fields,
                         struct bp_form *f, struct bp_errbuf *eb);
void bp_form_free(struct bp_form *f);
/* First value of name, or NULL.  Borrowed: valid until bp_form_free. */
const char *bp_form_get(const struct bp_form *f, const char *name);

/* ---- carrier keywords ----------------------------------------------- */
enum bp_keyword {
    BP_KEYWORD_NONE = 0,   /* a normal message */
    BP_KEYWORD_STOP,       /* opt out of SMS now */
    BP_KEYWORD_START,      /* opt back in */
    BP_KEYWORD_HELP,       /* send the help text */
};

struct bp_keyword_result {
    enum bp_keyword keyword;
    /* For a normal message: it mentions an opt-out word in a sentence
     * ("please stop by the office") -- staff should review whether the
     * family meant to revoke consent (FCC 24-18 "any reasonable manner"). */
    bool possible_revocation;
    /* START from a "yes"-like word: it re-opts in only a contact that is
     * opted out; for an active contact it is an ordinary reply. */
    bool weak;
    /* The matched word as written in the catalogue ("stop", "alto"...) or
     * NULL; a static string. */
    const char *matched;
};

/*
 * Classifies an SMS body.  A body is a keyword when, after case folding,
 * Unicode normalisation and removal of surrounding whitespace and
 * punctuation, it is exactly one keyword, optionally followed by a polite
 * word ("STOP. Thank you", "Alto por favor").  "STOP 12345" or "please stop
 * by" are normal messages (the second one flagged possible_revocation).
 * Invalid UTF-8 is a normal message.
 */
void bp_ingest_keyword_classify(const char *body,
                                struct bp_keyword_result *out);
const char *bp_ingest_keyword_name(enum bp_keyword k);

#endif
