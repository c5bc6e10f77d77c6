/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Writing configuration out: `check-config --dump` (the effective values,
 * secrets redacted) and `check-config --print-example`, the fully commented
 * config/backpack.ini.example generated from the schema's help texts so the
 * documentation cannot drift from the code (a lint test compares them).
 */
#include <stdio.h>
#include <string.h>

#include "conf_int.h"

#define WRAP 76

static void fmt_value(const struct bp_conf *c, const struct bp__conf_key *k,
                      char *out, size_t n)
{
    const void *field = (const char *)c + k->offset;

    switch (k->type) {
    case BP__CONF_SECRET:
        snprintf(out, n, "%s", (*(char *const *)field)[0] ? "<redacted>" : "");
        break;
    case BP__CONF_STR:
    case BP__CONF_PATH:
    case BP__CONF_ADDR:
        snprintf(out, n, "%s", *(char *const *)field);
        break;
    case BP__CONF_INT:
        snprintf(out, n, "%lld", (long long)*(const int64_t *)field);
        break;
    case BP__CONF_DURATION:
        bp__conf_fmt_duration(*(const int64_t *)field, out, n);
        break;
    case BP__CONF_SIZE:
        bp__conf_fmt_size(*(const int64_t *)field, out, n);
        break;
    case BP__CONF_BOOL:
        snprintf(out, n, "%s", *(const bool *)field ? "true" : "false");
        break;
    case BP__CONF_ENUM:
        bp__conf_enum_name(k->allowed, *(const int *)field, out, n);
        break;
    }
}

static bool new_section(int i)
{
    return i == 0 ||
           strcmp(bp__conf_keys[i].section, bp__conf_keys[i - 1].section) != 0;
}

void bp_conf_dump(const struct bp_conf *c, FILE *f)
{
    char v[1024];

    fprintf(f, "# Effective configuration of %s (secrets redacted)\n",
            c->file ? c->file : "(defaults)");
    for (int i = 0; i < bp__conf_nkeys; i++) {
        const struct bp__conf_key *k = &bp__conf_keys[i];

        if (new_section(i))
            fprintf(f, "\n[%s]\n", k->section);
        fmt_value(c, k, v, sizeof v);
        fprintf(f, "%s = %s\n", k->key, v);
    }
}

/* Writes text as "# " comment lines wrapped at WRAP columns. */
static void comment(FILE *f, const char *text)
{
    const char *p = text;

    while (*p) {
        size_t len = strlen(p), cut = len;

        if (len > WRAP - 2) {
            cut = WRAP - 2;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = WRAP - 2;
        }
        fprintf(f, "# %.*s\n", (int)cut, p);
        p += cut;
        while (*p == ' ')
            p++;
    }
}

static void type_text(const struct bp__conf_key *k, char *out, size_t n)
{
    char range[80], list[160], *bar;

    switch (k->type) {
    case BP__CONF_STR:
    case BP__CONF_PATH:
        snprintf(out, n, "Type: %s.", bp__conf_type_name(k->type));
        break;
    case BP__CONF_SECRET:
        snprintf(out, n, "Type: secret (a literal, env:NAME or file:/path).");
        break;
    case BP__CONF_ADDR:
        snprintf(out, n, "Type: address, host:port (IPv4, [IPv6]:port or "
                 "name:port).");
        break;
    case BP__CONF_INT:
        bp__conf_fmt_range(k, range, sizeof range);
        snprintf(out, n, "Type: integer, %s.", range);
        break;
    case BP__CONF_DURATION:
        bp__conf_fmt_range(k, range, sizeof range);
        snprintf(out, n, "Type: duration with a unit ms, s, m or h, %s.", range);
        break;
    case BP__CONF_SIZE:
        bp__conf_fmt_range(k, range, sizeof range);
        snprintf(out, n, "Type: size in bytes, optional suffix k, M or G "
                 "(1024-based), %s.", range);
        break;
    case BP__CONF_BOOL:
        snprintf(out, n, "Type: boolean (true/false, yes/no, on/off, 1/0).");
        break;
    case BP__CONF_ENUM:
        snprintf(list, sizeof list, "%s", k->allowed);
        while ((bar = strchr(list, '|')) != NULL)
            *bar = ',';
        snprintf(out, n, "Type: one of %s.", list);
        break;
    }
}

static const char EXAMPLE_HEADER[] =
    "# Backpack configuration file.\n"
    "#\n"
    "# Generated from the schema (src/conf/conf_schema.def) by\n"
    "#   backpack check-config --print-example\n"
    "# Do not edit the copy in the source tree by hand; regenerate it.\n"
    "#\n"
    "# Syntax: [section] headings and `key = value` lines.  Lines starting with\n"
    "# # or ; are comments; \" ;\" after a value starts a comment too.  Lines are\n"
    "# limited to 197 bytes.  Unknown sections and keys, a key given twice, a\n"
    "# bad value and a missing required key are errors naming the file, line\n"
    "# and key; `backpack check-config -c FILE` checks a file (exit status 2\n"
    "# on error).\n"
    "#\n"
    "# Environment: every key can be overridden by a variable named\n"
    "# BACKPACK_<SECTION>_<KEY> in upper case, e.g. BACKPACK_SERVER_LISTEN or\n"
    "# BACKPACK_SMS_AUTH_TOKEN.  This is how container and systemd deployments\n"
    "# pass secrets (systemd: Environment=, or LoadCredential= with file:).\n"
    "#\n"
    "# Secrets: a secret value is a literal, env:NAME (read from environment\n"
    "# variable NAME at start; unset is an error) or file:/absolute/path (the\n"
    "# file's content without its trailing newline; the file must not be\n"
    "# readable by group or others: chmod 600).  Secrets are never printed.\n"
    "#\n"
    "# Keys without a leading # are required; the others show their default.\n";

void bp_conf_write_example(FILE *f)
{
    char t[256], def[256], full[600];

    fputs(EXAMPLE_HEADER, f);
    for (int i = 0; i < bp__conf_nkeys; i++) {
        const struct bp__conf_key *k = &bp__conf_keys[i];
        bool req = (k->flags & BP_CONF_REQUIRED) != 0;

        if (new_section(i))
            fprintf(f, "\n[%s]\n", k->section);
        fputc('\n', f);
        comment(f, k->help);
        type_text(k, t, sizeof t);
        if (req)
            snprintf(def, sizeof def, " Required.");
        else if (k->def[0] == '\0')
            snprintf(def, sizeof def, " Default: empty.");
        else
            snprintf(def, sizeof def, " Default: %s.", k->def);
        snprintf(full, sizeof full, "%s%s%s", t, def,
                 (k->flags & BP_CONF_RELOADABLE) ? " Applied on SIGHUP." : "");
        comment(f, full);
        if (req)
            fprintf(f, "%s =\n", k->key);
        else if (k->def[0] == '\0')
            fprintf(f, "#%s =\n", k->key);
        else
            fprintf(f, "#%s = %s\n", k->key, k->def);
    }
}
