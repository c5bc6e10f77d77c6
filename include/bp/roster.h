/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Roster import: loads schools, sections, staff, students, guardians and
 * their contacts from a OneRoster 1.1 CSV bundle or from a simple single CSV
 * file (docs/roster.md), and the normalisers it needs:
 *
 *   - a CSV reader over libcsv that reports the physical line number of each
 *     record, strips a UTF-8 BOM and rejects broken quoting or bad UTF-8;
 *   - phone numbers to E.164 (libphonenumber, behind a C interface);
 *   - e-mail addresses (trimmed, lower-cased, basic syntax check);
 *   - home-language values (BCP 47 tags or language names) to BCP 47.
 *
 * Layer: roster sits above store and below cli.  It never reads the
 * configuration: the command line passes plain values in struct
 * bp_roster_opts.  Everything here is synchronous and meant for the command
 * line tool (one thread); nothing keeps global mutable state except the
 * libphonenumber singleton, which is thread-safe.
 */
#ifndef BP_ROSTER_H
#define BP_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bp/err.h"
#include "bp/store.h"

/* ---------------------------------------------------------------------
 * CSV reader
 * ------------------------------------------------------------------- */

/* One record.  Fields are NUL-terminated UTF-8, trimmed of surrounding
 * blanks when unquoted (libcsv).  Valid only during the callback. */
struct bp_roster_csv_row {
    long line;                 /* physical line where the record starts (1-based) */
    int nfields;
    const char *const *fields;
};

/* Called for every record, the header (first record) included.  A negative
 * return stops the reader, which then returns that value. */
typedef int (*bp_roster_csv_row_cb)(const struct bp_roster_csv_row *row,
                                    void *arg);

/* Largest record accepted (all fields together), in bytes. */
#define BP_ROSTER_CSV_MAX_RECORD (1u << 20)

/*
 * Reads the CSV file at path (or the n bytes at p for the _mem variant) and
 * calls cb for each record, in order.  CRLF and LF line ends, quoted fields
 * with commas, doubled quotes and embedded newlines, and a UTF-8 BOM at the
 * start are accepted; blank lines are skipped.  Structural errors fail with
 * BP_EINVAL_INPUT and eb->where = "NAME:LINE" (NAME is the base name of
 * path, or name for the _mem variant): broken quoting, invalid UTF-8 (the
 * physical line holding the bad byte), a record longer than
 * BP_ROSTER_CSV_MAX_RECORD.  A missing or unreadable file fails with the
 * negative errno and eb->where = NAME.  An empty file calls cb zero times.
 */
BP_WUR int bp_roster_csv_read_file(const char *path, bp_roster_csv_row_cb cb,
                                   void *arg, struct bp_errbuf *eb);
BP_WUR int bp_roster_csv_read_mem(const char *name, const char *p, size_t n,
                                  bp_roster_csv_row_cb cb, void *arg,
                                  struct bp_errbuf *eb);

/* Index of the header column called name (exact, after trimming), or -1. */
int bp_roster_csv_col(const struct bp_roster_csv_row *header, const char *name);

/* ---------------------------------------------------------------------
 * Normalisers (pure functions, thread-safe)
 * ------------------------------------------------------------------- */

/*
 * Normalises a phone number to E.164 ("+15555550123") into out (n bytes,
 * 17 are enough).  Numbers without a leading + (or 00/011 international
 * prefix) are read as numbers of default_region (ISO 3166 alpha-2, e.g.
 * "US").  An extension ("x45", "ext. 45") is accepted and dropped: SMS has
 * no extensions.  Returns 0, or BP_EINVAL_INPUT when libphonenumber cannot
 * parse the text or does not consider the number valid for its region.
 */
BP_WUR int bp_phone_normalize(const char *in, const char *default_region,
                              char *out, size_t n);

/*
 * Normalises an e-mail address: trims blanks, lower-cases it (the whole
 * address: in practice mailboxes are case-insensitive and the contact table
 * requires lower case) and checks a basic syntax: one @, a non-empty local
 * part of printable ASCII without blanks or quotes, a domain of at least two
 * dot-separated labels of letters, digits and hyphens.  Writes to out (n
 * bytes).  Returns 0, BP_EINVAL_INPUT for a bad address or BP_ETOOBIG when
 * out is too small (or the address longer than 254 bytes).
 */
BP_WUR int bp_email_normalize(const char *in, char *out, size_t n);

/*
 * Maps a home-language value to a BCP 47 tag in canonical case: a tag
 * ("es", "ES-mx", "zh_Hant" -> "es", "es-MX", "zh-Hant") or a language name
 * in English or in the language itself ("Spanish", "Español", "Tiếng Việt",
 * "Chinese (Traditional)", "中文", "Kreyòl"...; case and surrounding blanks
 * ignored).  Returns 0, or BP_ENOTFOUND for a value it does not recognise
 * (out is then "und"), BP_ETOOBIG when out (n bytes, 36 are enough) is too
 * small.
 */
BP_WUR int bp_lang_to_bcp47(const char *in, char *out, size_t n);

/* ---------------------------------------------------------------------
 * Import
 * ------------------------------------------------------------------- */

struct bp_roster_opts {
    const char *default_country;   /* "US": phones without + */
    const char *default_locale;    /* school language for an empty language value */
    const char *language_column;   /* users.csv column with the home language */
    const char *school_name;       /* the simple CSV has no orgs */
    bool strict;                   /* any rejected row or dropped value aborts */
    bool dry_run;                  /* validate, count, then roll back */
    FILE *report;                  /* one line per problem (may be NULL) */
};

enum { BP_ROSTER_CREATED, BP_ROSTER_UPDATED, BP_ROSTER_UNCHANGED, BP_ROSTER_NCOUNT };

struct bp_roster_summary {
    long rows_read;                /* data records of every file read */
    long rejected;                 /* records not imported */
    long warnings;                 /* values dropped (bad phone...) or unknown language */
    long students[BP_ROSTER_NCOUNT];
    long guardians[BP_ROSTER_NCOUNT];
    long sections[BP_ROSTER_NCOUNT];
    long staff[BP_ROSTER_NCOUNT];
    long schools[BP_ROSTER_NCOUNT];
    long contacts[BP_ROSTER_NCOUNT]; /* never updated: created or unchanged */
    long deactivated;              /* students, sections, staff set inactive */
    long unlinked;                 /* links removed (tobedeleted, changed contacts) */
    bool committed;                /* false for dry runs and aborted imports */
};

/*
 * Imports a OneRoster 1.1 CSV bundle from directory dir (orgs.csv,
 * users.csv, classes.csv, enrollments.csv) into s, or a simple CSV file.
 * s must be read-write and migrated to the latest schema.  Everything runs
 * in one transaction (BEGIN IMMEDIATE): a structural error (missing file or
 * required column, broken quoting, bad UTF-8) rolls everything back and
 * returns BP_EINVAL_INPUT with eb->where = "FILE:LINE"; with o->strict any
 * rejected row or dropped value rolls back and returns BP_EINVAL_INPUT;
 * with o->dry_run the work is done, counted and rolled back (returns 0).
 * Otherwise commits, records a roster_import row and returns 0.  Every
 * problem is written to o->report as "FILE:LINE: what: reason".  sum is
 * filled in all cases.  Synchronous; s is used only during the call.
 */
BP_WUR int bp_roster_import_oneroster(struct bp_store *s, const char *dir,
                                      const struct bp_roster_opts *o,
                                      struct bp_roster_summary *sum,
                                      struct bp_errbuf *eb);
BP_WUR int bp_roster_import_simple(struct bp_store *s, const char *path,
                                   const struct bp_roster_opts *o,
                                   struct bp_roster_summary *sum,
                                   struct bp_errbuf *eb);

/* Writes the summary as a human-readable block (the CLI) or JSON. */
void bp_roster_summary_print(const struct bp_roster_summary *sum, FILE *f);
void bp_roster_summary_json(const struct bp_roster_summary *sum, char *out,
                            size_t n);

#endif
