/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Loading the configuration file with libinih (Debian's inih 55).
 *
 * Order: schema defaults, then the file, then environment overrides
 * (BACKPACK_<SECTION>_<KEY>, how containers and systemd pass secrets), then
 * required keys, then semantic checks (conf_check.c).  The first error wins
 * and names FILE:LINE, section and key.
 *
 * We feed inih through ini_parse_stream with our own line reader so we know
 * the line of every handler call, can reject lines longer than inih's fixed
 * 200-byte buffer (inih would otherwise silently split them into two lines),
 * reject invalid UTF-8, and see section headings (inih only reports keys, so
 * an empty unknown section would otherwise pass).  Python-style multi-line
 * values are turned off: an indented line is a key of its own, and a
 * repeated key is an error rather than an append.
 *
 * Not thread-safe against other users of inih in the process (we set its
 * global options); only this module uses inih.
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "conf_int.h"

struct load {
    struct bp_conf *c;
    const char *file;
    FILE *f;
    int lineno;
    int *key_line;            /* per key: 0 unset, >0 line, -1 environment */
    char *line;
    size_t linecap;
    bool failed;
    struct bp_errbuf *eb;
};

static void fail_at(struct load *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_at(struct load *L, int line, const char *fmt, ...)
{
    char where[300], msg[sizeof L->eb->msg];
    va_list ap;

    if (L->failed)
        return;
    L->failed = true;
    if (line > 0)
        snprintf(where, sizeof where, "%s:%d", L->file, line);
    else
        snprintf(where, sizeof where, "%s", L->file);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bp_errbuf_set(L->eb, where, "%s", msg);
}

/* Checks a "[section]" heading line; inih reports malformed ones. */
static void check_heading(struct load *L, const char *p)
{
    const char *close;
    char name[128], list[160];

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '[' || (close = strchr(p, ']')) == NULL)
        return;
    snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
    if (bp__conf_section_known(name))
        return;
    list[0] = '\0';
    for (int i = 0; i < bp__conf_nkeys; i++) {
        const char *sec = bp__conf_keys[i].section;
        if (i == 0 || strcmp(sec, bp__conf_keys[i - 1].section) != 0)
            snprintf(list + strlen(list), sizeof list - strlen(list), " [%s]",
                     sec);
    }
    fail_at(L, L->lineno, "[%s]: unknown section, expected one of%s", name,
            list);
}

/* inih's line reader: one whole line per call, checked. */
static char *read_line(char *str, int num, void *stream)
{
    struct load *L = stream;
    ssize_t n;
    size_t len;

    if (L->failed)
        return NULL;
    errno = 0;
    n = getline(&L->line, &L->linecap, L->f);
    if (n < 0) {
        if (ferror(L->f))
            fail_at(L, L->lineno + 1, "read error: %s", strerror(errno));
        return NULL;
    }
    L->lineno++;
    len = (size_t)n;
    if (memchr(L->line, '\0', len) != NULL) {
        fail_at(L, L->lineno, "NUL byte in line");
        return NULL;
    }
    while (len > 0 && (L->line[len - 1] == '\n' || L->line[len - 1] == '\r'))
        len--;
    if (num < 4 || len > (size_t)num - 3) {
        fail_at(L, L->lineno, "line longer than %d bytes (write long secrets "
                "as file:/path)", num - 3);
        return NULL;
    }
    if (!bp_utf8_valid(L->line, len)) {
        fail_at(L, L->lineno, "line is not valid UTF-8");
        return NULL;
    }
    check_heading(L, L->line);
    if (L->failed)
        return NULL;
    memcpy(str, L->line, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    return str;
}

static int on_key(void *user, const char *section, const char *name,
                  const char *value)
{
    struct load *L = user;
    char why[200];
    int idx;

    if (L->failed)
        return 0;
    if (section[0] == '\0') {
        fail_at(L, L->lineno, "%s: key outside of any [section]", name);
        return 0;
    }
    if (!bp__conf_section_known(section)) {
        fail_at(L, L->lineno, "[%s]: unknown section", section);
        return 0;
    }
    idx = bp__conf_find(section, name);
    if (idx < 0) {
        fail_at(L, L->lineno, "[%s] %s: unknown key (see backpack "
                "check-config --print-example)", section, name);
        return 0;
    }
    if (L->key_line[idx] != 0) {
        fail_at(L, L->lineno, "[%s] %s: given twice (first on line %d), "
                "expected once", section, name, L->key_line[idx]);
        return 0;
    }
    L->key_line[idx] = L->lineno;
    if (bp__conf_set(L->c, &bp__conf_keys[idx], value, why, sizeof why) < 0) {
        fail_at(L, L->lineno, "[%s] %s: %s", section, name, why);
        return 0;
    }
    return 1;
}

static int set_defaults(struct load *L)
{
    char why[200];

    for (int i = 0; i < bp__conf_nkeys; i++) {
        const struct bp__conf_key *k = &bp__conf_keys[i];
        if (bp__conf_set(L->c, k, k->def, why, sizeof why) < 0) {
            fail_at(L, 0, "[%s] %s: bad default in the schema: %s",
                    k->section, k->key, why);
            return BP_ECONFIG;
        }
    }
    return 0;
}

static int parse_file(struct load *L)
{
    int rc;

    L->f = fopen(L->file, "re");
    if (L->f == NULL) {
        fail_at(L, 0, "cannot open configuration file: %s", strerror(errno));
        return BP_ECONFIG;
    }
    ini_allow_multiline = false;
    ini_allow_no_value = false;
    ini_stop_on_first_error = true;
    ini_allow_bom = true;
    rc = ini_parse_stream(read_line, L, on_key, L);
    fclose(L->f);
    L->f = NULL;
    if (L->failed)
        return BP_ECONFIG;
    if (rc > 0)
        fail_at(L, rc, "syntax error, expected '[section]', 'key = value' or "
                "a comment starting with # or ;");
    else if (rc < 0)
        fail_at(L, 0, "cannot parse configuration file (inih error %d)", rc);
    return L->failed ? BP_ECONFIG : 0;
}

static int apply_env(struct load *L)
{
    char name[128], why[200];

    for (int i = 0; i < bp__conf_nkeys; i++) {
        const struct bp__conf_key *k = &bp__conf_keys[i];
        const char *v;

        bp__conf_env_name(k, name, sizeof name);
        v = getenv(name);
        if (v == NULL)
            continue;
        if (bp__conf_set(L->c, k, v, why, sizeof why) < 0) {
            fail_at(L, 0, "[%s] %s (from environment %s): %s", k->section,
                    k->key, name, why);
            return BP_ECONFIG;
        }
        L->key_line[i] = -1;
    }
    return 0;
}

static int check_required(struct load *L)
{
    for (int i = 0; i < bp__conf_nkeys; i++) {
        const struct bp__conf_key *k = &bp__conf_keys[i];
        char *const *s = (char *const *)(const void *)((char *)L->c + k->offset);

        if (!(k->flags & BP_CONF_REQUIRED))
            continue;
        if (L->key_line[i] == 0) {
            fail_at(L, 0, "[%s] %s: required key is missing", k->section,
                    k->key);
            return BP_ECONFIG;
        }
        if (BP__CONF_IS_STRING(k->type) && (*s)[0] == '\0') {
            fail_at(L, L->key_line[i], "[%s] %s: required key is empty",
                    k->section, k->key);
            return BP_ECONFIG;
        }
    }
    return 0;
}

int bp_conf_load(const char *file, struct bp_conf **out,
                 struct bp_errbuf *eb)
{
    struct load L = {0};
    char why[200];
    int rc, bad = -1;

    *out = NULL;
    L.c = bp_xcalloc(1, sizeof *L.c);
    L.c->file = bp_xstrdup(file);
    L.file = file;
    L.eb = eb;
    L.key_line = bp_xcalloc((size_t)bp__conf_nkeys, sizeof *L.key_line);
    rc = set_defaults(&L);
    if (rc == 0)
        rc = parse_file(&L);
    if (rc == 0)
        rc = apply_env(&L);
    if (rc == 0)
        rc = check_required(&L);
    if (rc == 0 && bp__conf_check(L.c, &bad, why, sizeof why) < 0) {
        const struct bp__conf_key *k = &bp__conf_keys[bad];
        fail_at(&L, L.key_line[bad] > 0 ? L.key_line[bad] : 0, "[%s] %s: %s",
                k->section, k->key, why);
        rc = BP_ECONFIG;
    }
    free(L.line);
    free(L.key_line);
    if (rc < 0) {
        bp_conf_free(L.c);
        return BP_ECONFIG;
    }
    *out = L.c;
    return 0;
}

void bp_conf_free(struct bp_conf *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < bp__conf_nkeys; i++) {
        const struct bp__conf_key *k = &bp__conf_keys[i];
        char **s = (char **)(void *)((char *)c + k->offset);

        if (!BP__CONF_IS_STRING(k->type) || *s == NULL)
            continue;
        if (k->type == BP__CONF_SECRET)
            memset(*s, 0, strlen(*s));
        free(*s);
    }
    free(c->file);
    free(c);
}
