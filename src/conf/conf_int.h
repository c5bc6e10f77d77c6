/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by the files of src/conf/ (and its unit tests): the
 * schema as a table (one row per BP_CONF line of conf_schema.def, with the
 * offset of its field in struct bp_conf), the value parsers of each type and
 * the formatters used by the dump and the example writer.
 */
#ifndef BP_CONF_INT_H
#define BP_CONF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bp/conf.h"

/* The string types come first: their fields are char * (see
 * BP__CONF_IS_STRING). */
enum bp__conf_type {
    BP__CONF_STR,
    BP__CONF_PATH,
    BP__CONF_SECRET,
    BP__CONF_ADDR,
    BP__CONF_INT,
    BP__CONF_BOOL,
    BP__CONF_DURATION,
    BP__CONF_SIZE,
    BP__CONF_ENUM,
};

#define BP__CONF_IS_STRING(t) ((t) <= BP__CONF_ADDR)

struct bp__conf_key {
    const char *section;
    const char *key;
    enum bp__conf_type type;
    const char *def;          /* default, parsed like a value from the file */
    int64_t min, max;         /* range for INT, DURATION (ms), SIZE (bytes) */
    const char *allowed;      /* ENUM: "a|b|c" */
    unsigned flags;           /* BP_CONF_REQUIRED, BP_CONF_RELOADABLE */
    const char *help;
    size_t offset;            /* of the field in struct bp_conf */
};

extern const struct bp__conf_key bp__conf_keys[];
extern const int bp__conf_nkeys;

/* Index of [section] key in bp__conf_keys, or -1. */
int bp__conf_find(const char *section, const char *key);
/* True when some key of the schema lives in section. */
bool bp__conf_section_known(const char *section);
/* Upper-case name of the environment variable overriding a key:
 * BACKPACK_<SECTION>_<KEY>. */
void bp__conf_env_name(const struct bp__conf_key *k, char *out, size_t n);
/* Human name of a type for messages and the example ("duration"...). */
const char *bp__conf_type_name(enum bp__conf_type t);

/*
 * Parses one textual value of key k into the field of c it names (strings
 * are new copies; the old string, if any, is freed).  On error returns
 * BP_ECONFIG with a reason in why ("... expected ..."), which never
 * contains the value of a SECRET.
 */
int bp__conf_set(struct bp_conf *c, const struct bp__conf_key *k,
                 const char *value, char *why, size_t whylen);

/* The type parsers (exposed for unit tests).  0 or BP_ECONFIG. */
int bp__conf_parse_int(const char *s, int64_t *out);
int bp__conf_parse_bool(const char *s, bool *out);
int bp__conf_parse_duration(const char *s, int64_t *ms);
int bp__conf_parse_size(const char *s, int64_t *bytes);
int bp__conf_parse_enum(const char *s, const char *allowed, int *out);
int bp__conf_parse_addr(const char *s, char *why, size_t whylen);
/* Resolves a SECRET value: literal, env:NAME or file:/path.  *out is new. */
int bp__conf_resolve_secret(const char *s, char **out, char *why,
                            size_t whylen);

/* Cross-key and semantic checks after loading (time zone, country...).
 * On error returns BP_ECONFIG and names the offending key's index. */
int bp__conf_check(struct bp_conf *c, int *bad_key, char *why, size_t whylen);

/* Formatting: "10s", "16k", "true", the enum name.  Writes into out. */
void bp__conf_fmt_duration(int64_t ms, char *out, size_t n);
void bp__conf_fmt_size(int64_t bytes, char *out, size_t n);
/* "100ms..10m": the range of an INT, DURATION or SIZE key. */
void bp__conf_fmt_range(const struct bp__conf_key *k, char *out, size_t n);
/* The n-th name of an "a|b|c" list into out (empty if out of range). */
void bp__conf_enum_name(const char *allowed, int idx, char *out, size_t n);

#endif
