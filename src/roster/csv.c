/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * CSV reader for roster files, over libcsv (a push parser).
 *
 * Why physical lines: an administrator fixing a rejected row opens the file
 * in an editor, so every report names the physical line where the record
 * starts, even after quoted fields with embedded newlines.  libcsv does not
 * track positions, so the input is fed one physical line (up to and
 * including its '\n') at a time: a record can only end at the end of a fed
 * line, and the line on which a record's first byte was fed is its start.
 * Each physical line is also checked for valid UTF-8 before it is fed (a
 * '\n' byte never occurs inside a multi-byte sequence), which pins a bad
 * byte to its own line.
 *
 * libcsv runs in strict mode (a quote inside an unquoted field, or text
 * after a closing quote, is an error) with CSV_STRICT_FINI (an unterminated
 * quoted field at the end of the file is an error).  A UTF-8 BOM at the
 * start is dropped; blank lines between records are skipped by libcsv.
 */
#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "bp/roster.h"

struct reader {
    const char *name;          /* for messages */
    bp_roster_csv_row_cb cb;
    void *arg;
    struct bp_buf data;        /* field bytes of the current record, NUL-separated */
    size_t *offs;              /* start of each field in data */
    const char **fields;
    int nfields, afields;
    long line;                 /* physical line being fed */
    long rec_start;            /* 0: no record in progress */
    int stop;                  /* first error: the callback's or ours */
    struct bp_errbuf *eb;
};

static void on_field(void *s, size_t len, void *data)
{
    struct reader *r = data;

    if (r->stop)
        return;
    if (r->nfields == r->afields) {
        r->afields = r->afields ? r->afields * 2 : 16;
        r->offs = bp_xrealloc(r->offs, sizeof *r->offs * (size_t)r->afields);
        r->fields = bp_xrealloc(r->fields,
                                sizeof *r->fields * (size_t)r->afields);
    }
    r->offs[r->nfields++] = r->data.len;
    if (bp_buf_append(&r->data, s, len) < 0 ||
        bp_buf_append(&r->data, "", 1) < 0) {
        bp_errbuf_set(r->eb, NULL, "record longer than %u bytes",
                      BP_ROSTER_CSV_MAX_RECORD);
        r->stop = BP_ETOOBIG;
    }
}

static void on_row(int c, void *data)
{
    struct reader *r = data;
    struct bp_roster_csv_row row;
    int rc;

    (void)c;
    if (r->stop == 0) {
        for (int i = 0; i < r->nfields; i++)
            r->fields[i] = r->data.data + r->offs[i];
        row.line = r->rec_start ? r->rec_start : r->line;
        row.nfields = r->nfields;
        row.fields = r->fields;
        rc = r->cb(&row, r->arg);
        if (rc < 0)
            r->stop = rc;
    }
    r->nfields = 0;
    bp_buf_reset(&r->data);
    r->rec_start = 0;
}

static bool blank_line(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' && p[i] != '\t')
            return false;
    return true;
}

/* Feeds one physical line.  Returns 0 or a negative error (eb filled). */
static int feed_line(struct csv_parser *p, struct reader *r, const char *s,
                     size_t n)
{
    r->line++;
    if (r->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    if (!bp_utf8_valid(s, n) || memchr(s, '\0', n) != NULL) {
        bp_errbuf_set(r->eb, NULL, "invalid UTF-8");
        return BP_EINVAL_INPUT;
    }
    if (r->rec_start == 0 && r->nfields == 0 && !blank_line(s, n))
        r->rec_start = r->line;
    if (csv_parse(p, s, n, on_field, on_row, r) != n) {
        bp_errbuf_set(r->eb, NULL, "malformed CSV (%s)",
                      csv_strerror(csv_error(p)));
        return BP_EINVAL_INPUT;
    }
    return r->stop;
}

static int read_stream(FILE *f, struct reader *r)
{
    struct csv_parser p;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = 0;

    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return BP_ENOMEM;
    while ((got = getline(&line, &cap, f)) > 0) {
        rc = feed_line(&p, r, line, (size_t)got);
        if (rc < 0)
            goto out;
    }
    if (ferror(f)) {
        bp_errbuf_set(r->eb, NULL, "read error: %s", strerror(errno));
        rc = BP_EIO;
        goto out;
    }
    if (csv_fini(&p, on_field, on_row, r) != 0) {
        bp_errbuf_set(r->eb, NULL, "unterminated quoted field at end of file");
        if (r->rec_start)
            r->line = r->rec_start;
        rc = BP_EINVAL_INPUT;
        goto out;
    }
    rc = r->stop;
out:
    free(line);
    csv_free(&p);
    return rc;
}

static int read_common(const char *name, FILE *f, bp_roster_csv_row_cb cb,
                       void *arg, struct bp_errbuf *eb)
{
    struct reader r;
    int rc;

    memset(&r, 0, sizeof r);
    if (eb != NULL)
        eb->where[0] = eb->msg[0] = '\0';
    r.name = name;
    r.cb = cb;
    r.arg = arg;
    r.eb = eb;
    bp_buf_init(&r.data, BP_ROSTER_CSV_MAX_RECORD);
    rc = read_stream(f, &r);
    /* Errors raised by the reader itself get FILE:LINE; a callback's error
     * keeps whatever where the callback wrote. */
    if (rc < 0 && eb != NULL && eb->where[0] == '\0')
        snprintf(eb->where, sizeof eb->where, "%s:%ld", name, r.line);
    bp_buf_free(&r.data);
    free(r.offs);
    free(r.fields);
    return rc;
}

int bp_roster_csv_read_file(const char *path, bp_roster_csv_row_cb cb,
                            void *arg, struct bp_errbuf *eb)
{
    const char *base = strrchr(path, '/');
    FILE *f = fopen(path, "rb");
    int rc;

    base = base ? base + 1 : path;
    if (f == NULL) {
        rc = -errno;
        bp_errbuf_set(eb, base, "cannot open %s: %s", path, strerror(errno));
        return rc;
    }
    rc = read_common(base, f, cb, arg, eb);
    fclose(f);
    return rc;
}

int bp_roster_csv_read_mem(const char *name, const char *p, size_t n,
                           bp_roster_csv_row_cb cb, void *arg,
                           struct bp_errbuf *eb)
{
    FILE *f;
    int rc;

    if (n == 0)
        return 0;
    f = fmemopen((void *)(uintptr_t)p, n, "rb");
    if (f == NULL)
        return -errno;
    rc = read_common(name, f, cb, arg, eb);
    fclose(f);
    return rc;
}

int bp_roster_csv_col(const struct bp_roster_csv_row *header, const char *name)
{
    for (int i = 0; i < header->nfields; i++)
        if (strcmp(header->fields[i], name) == 0)
            return i;
    return -1;
}
