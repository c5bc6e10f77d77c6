/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Configuration: one INI file (libinih), typed and validated at load against
 * the schema in src/conf/conf_schema.def.  Unknown sections and keys, bad
 * values and missing required keys are errors that name file, line and key.
 * Runtime modules receive an already-validated struct and never read files
 * or look keys up by string (STYLE.md C8).
 */
#ifndef BP_CONF_H
#define BP_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bp/err.h"

#define BP_CONF_REQUIRED   1u
#define BP_CONF_RELOADABLE 2u

/* Enum values (index into the "allowed" list of the schema). */
enum { BP_CONF_SYNC_FULL = 0, BP_CONF_SYNC_NORMAL = 1 };
enum { BP_CONF_SMS_TWILIO = 0 };
enum { BP_CONF_TLS_NO = 0, BP_CONF_TLS_TRY = 1, BP_CONF_TLS_REQUIRED = 2 };   /* starttls keys */

#define BP_CONF_CTYPE_STR      char *
#define BP_CONF_CTYPE_PATH     char *
#define BP_CONF_CTYPE_SECRET   char *
#define BP_CONF_CTYPE_ADDR     char *
#define BP_CONF_CTYPE_INT      int64_t
#define BP_CONF_CTYPE_BOOL     bool
#define BP_CONF_CTYPE_DURATION int64_t
#define BP_CONF_CTYPE_SIZE     int64_t
#define BP_CONF_CTYPE_ENUM     int

struct bp_conf {
    char *file;                 /* path the config was loaded from */
#define BP_CONF(sec, key, type, def, min, max, allowed, flags, help) \
    BP_CONF_CTYPE_##type sec##_##key;
#include "../../src/conf/conf_schema.def"
#undef BP_CONF
};

/*
 * Loads and validates FILE.  On success *out is a new config (free with
 * bp_conf_free).  On failure returns BP_ECONFIG and fills eb: eb->where is
 * "FILE:LINE" (or "FILE" for a missing required key) and eb->msg names the
 * section and key.  SECRET values written as env:NAME or file:/path are
 * resolved here; a missing variable or unreadable file is an error.
 */
BP_WUR int bp_conf_load(const char *file, struct bp_conf **out,
                        struct bp_errbuf *eb);
void bp_conf_free(struct bp_conf *c);

/* Writes the effective configuration as INI, secrets redacted. */
void bp_conf_dump(const struct bp_conf *c, FILE *f);
/* Writes a fully commented example file generated from the schema. */
void bp_conf_write_example(FILE *f);

#endif
