/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Writing one roster entity (school, section, staff, student, guardian with
 * its contacts) and the student-guardian links, shared by the OneRoster and
 * simple-CSV readers.
 *
 * Each writer computes a fingerprint of the columns it would store and
 * compares it with the fingerprint loaded from the database: a new key is
 * inserted, a different fingerprint updated, an equal one left alone.  This
 * gives the created/updated/unchanged counts of the summary and means a
 * re-import of an unchanged bundle writes (almost) nothing.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bp/base.h"
#include "roster_int.h"

const char *const bp__roster_rel_names[4] = {"guardian", "parent", "relative",
                                             "other"};

enum { OP_NONE, OP_INSERT, OP_UPDATE };

static void report(struct bp__roster_ctx *c, long line, const char *fmt,
                   va_list ap)
{
    if (c->o->report == NULL)
        return;
    fprintf(c->o->report, "%s:%ld: ", c->file, line);
    vfprintf(c->o->report, fmt, ap);
    fputc('\n', c->o->report);
}

void bp__roster_reject(struct bp__roster_ctx *c, long line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report(c, line, fmt, ap);
    va_end(ap);
    c->sum->rejected++;
}

void bp__roster_warn(struct bp__roster_ctx *c, long line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report(c, line, fmt, ap);
    va_end(ap);
    c->sum->warnings++;
}

int bp__roster_header(struct bp__roster_ctx *c,
                      const struct bp_roster_csv_row *hdr,
                      const char *const *names, const bool *req, int n,
                      int *idx)
{
    for (int i = 0; i < n; i++) {
        idx[i] = bp_roster_csv_col(hdr, names[i]);
        if (idx[i] < 0 && req[i]) {
            char where[256];

            snprintf(where, sizeof where, "%s:%ld", c->file, hdr->line);
            bp_errbuf_set(c->eb, where, "missing required column '%s'",
                          names[i]);
            return BP_EINVAL_INPUT;
        }
    }
    return 0;
}

const char *bp__roster_field(const struct bp_roster_csv_row *row, int idx)
{
    return idx >= 0 && idx < row->nfields ? row->fields[idx] : "";
}

/*
 * Looks sid up in m.  Returns 1 (reported) for a key this import already
 * wrote when repeats are not allowed; else 0 with *e and *op set.
 */
static int decide(struct bp__roster_ctx *c, struct bp__roster_map *m,
                  const char *what, long line, const char *sid, uint64_t fp,
                  bool repeat_ok, struct bp__roster_ent **e, int *op)
{
    bool created;

    *e = bp__roster_map_put(m, &c->arena, sid, &created);
    *op = OP_NONE;
    if ((*e)->flags & BP__ROSTER_SEEN) {
        if (repeat_ok)
            return 0;
        bp__roster_reject(c, line, "%s %s: duplicate sourcedId (first seen "
                          "earlier in this import)", what, sid);
        return 1;
    }
    (*e)->flags |= BP__ROSTER_SEEN;
    if (!((*e)->flags & BP__ROSTER_EXISTED))
        *op = OP_INSERT;
    else if ((*e)->fp != fp)
        *op = OP_UPDATE;
    (*e)->fp = fp;
    return 0;
}

static void count(long *counts, int op)
{
    counts[op == OP_INSERT ? BP_ROSTER_CREATED
           : op == OP_UPDATE ? BP_ROSTER_UPDATED : BP_ROSTER_UNCHANGED]++;
}

int bp__roster_school(struct bp__roster_ctx *c, long line, const char *sid,
                      const char *name, int64_t *id)
{
    struct bp_store_roster_school r = {sid, name};
    const char *f[] = {name};
    struct bp__roster_ent *e;
    int op, rc;

    if (decide(c, &c->schools, "org", line, sid, bp__roster_fp(f, 1), false,
               &e, &op))
        return 1;
    if (op == OP_INSERT)
        rc = bp_store_roster_school_insert(c->s, &r, c->now, &e->id);
    else if (op == OP_UPDATE)
        rc = bp_store_roster_school_update(c->s, e->id, &r, c->now);
    else
        rc = 0;
    if (rc < 0)
        return rc;
    count(c->sum->schools, op);
    *id = e->id;
    return 0;
}

int bp__roster_section(struct bp__roster_ctx *c, long line,
                       const struct bp_store_roster_section *r, int64_t *id)
{
    char school[24];
    const char *f[] = {school, r->title, r->active ? "1" : "0"};
    struct bp__roster_ent *e;
    int op, rc = 0;

    snprintf(school, sizeof school, "%" PRId64, r->school_id);
    if (decide(c, &c->sections, "class", line, r->sourced_id,
               bp__roster_fp(f, 3), false, &e, &op))
        return 1;
    if (op == OP_INSERT)
        rc = bp_store_roster_section_insert(c->s, r, c->now, &e->id);
    else if (op == OP_UPDATE)
        rc = bp_store_roster_section_update(c->s, e->id, r, c->now);
    if (rc < 0)
        return rc;
    if (!r->active && op != OP_NONE)
        c->sum->deactivated++;
    count(c->sum->sections, op);
    *id = e->id;
    return 0;
}

int bp__roster_staff(struct bp__roster_ctx *c, long line,
                     const struct bp_store_roster_staff *r, int64_t *id)
{
    char school[24];
    const char *f[] = {r->sourced_id, school, r->email, r->display_name,
                       r->active ? "1" : "0"};
    struct bp__roster_ent *e, *byemail;
    bool created;
    int op, rc = 0;

    snprintf(school, sizeof school, "%" PRId64, r->school_id);
    if (r->school_id == 0)
        school[0] = '\0';
    byemail = bp__roster_map_get(&c->staff_email, r->email);
    e = bp__roster_map_get(&c->staff, r->sourced_id);
    if (byemail != NULL && (e == NULL || byemail->id != e->id) &&
        (byemail->flags & BP__ROSTER_HAS_SID)) {
        bp__roster_reject(c, line, "staff %s: e-mail %s already belongs to "
                          "another staff member", r->sourced_id, r->email);
        return 1;
    }
    if (e == NULL && byemail != NULL) {
        /* An account made with `backpack staff add` before the roster named
         * it: adopt it rather than fail on the unique e-mail. */
        e = bp__roster_map_put(&c->staff, &c->arena, r->sourced_id, &created);
        e->id = byemail->id;
        e->flags |= BP__ROSTER_EXISTED;
        e->fp = 0;
    }
    if (decide(c, &c->staff, "staff", line, r->sourced_id,
               bp__roster_fp(f, 5), false, &e, &op))
        return 1;
    if (op == OP_INSERT)
        rc = bp_store_roster_staff_insert(c->s, r, c->now, &e->id);
    else if (op == OP_UPDATE)
        rc = bp_store_roster_staff_update(c->s, e->id, r, c->now);
    if (rc < 0)
        return rc;
    byemail = bp__roster_map_put(&c->staff_email, &c->arena, r->email,
                                 &created);
    byemail->id = e->id;
    byemail->flags |= BP__ROSTER_HAS_SID;
    if (!r->active && op != OP_NONE)
        c->sum->deactivated++;
    count(c->sum->staff, op);
    *id = e->id;
    return 0;
}

int bp__roster_student(struct bp__roster_ctx *c, long line,
                       const struct bp_store_roster_student *r, int64_t *id)
{
    char school[24];
    const char *f[] = {school, r->given_name, r->family_name,
                       r->grade ? r->grade : "", r->active ? "1" : "0"};
    struct bp__roster_ent *e;
    int op, rc = 0;

    snprintf(school, sizeof school, "%" PRId64, r->school_id);
    if (decide(c, &c->students, "student", line, r->sourced_id,
               bp__roster_fp(f, 5), c->simple, &e, &op))
        return 1;
    if (op == OP_INSERT)
        rc = bp_store_roster_student_insert(c->s, r, c->now, &e->id);
    else if (op == OP_UPDATE)
        rc = bp_store_roster_student_update(c->s, e->id, r, c->now);
    if (rc < 0)
        return rc;
    if (!r->active) {
        e->flags |= BP__ROSTER_DELETED;
        if (op != OP_NONE)
            c->sum->deactivated++;
    }
    count(c->sum->students, op);
    *id = e->id;
    return 0;
}

int bp__roster_link(struct bp__roster_ctx *c, int64_t student, int64_t guardian,
                    const char *rel)
{
    int rc = bp_store_roster_student_guardian_link(c->s, student, guardian, rel);

    return rc < 0 ? rc : 0;
}

void bp__roster_link_later(struct bp__roster_ctx *c, const char *student,
                           const char *guardian, long line)
{
    if (c->nlinks == c->alinks) {
        c->alinks = c->alinks ? c->alinks * 2 : 1024;
        c->links = bp_xrealloc(c->links, sizeof *c->links * c->alinks);
    }
    c->links[c->nlinks].student = bp__roster_arena_strdup(&c->arena, student);
    c->links[c->nlinks].guardian = bp__roster_arena_strdup(&c->arena, guardian);
    c->links[c->nlinks].line = line;
    c->nlinks++;
}
