/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The simple roster CSV, for schools without OneRoster: one row per
 * (student, guardian) pair, header documented in docs/roster.md:
 *
 *   required  student_id, student_first_name, student_last_name,
 *             guardian_first_name, guardian_last_name, and phone or email
 *   optional  guardian_id, relationship, language, grade, section,
 *             teacher_email, preferred_channel
 *
 * The file has no orgs: every student belongs to one school row with
 * sourced_id "simple-csv" named after school.name.  Without a guardian_id
 * column the guardian's key is derived from the student and the guardian's
 * name, "sc:<student_id>:<first>:<last>" (names lower-cased), so that a
 * changed phone or e-mail updates the same guardian instead of creating a
 * new one.  A guardian of several children is one row per child then; give
 * guardian_id to share one guardian across siblings.  Sections are keyed
 * "sc-section:<name>"; teachers by e-mail.
 */
#include <stdio.h>
#include <string.h>

#include "bp/base.h"
#include "roster_int.h"

enum { S_SID, S_SFIRST, S_SLAST, S_GFIRST, S_GLAST, S_PHONE, S_EMAIL, S_GID,
       S_REL, S_LANG, S_GRADE, S_SECTION, S_TEACHER, S_CHANNEL, S_N };
static const char *const cols[S_N] = {
    "student_id", "student_first_name", "student_last_name",
    "guardian_first_name", "guardian_last_name", "phone", "email",
    "guardian_id", "relationship", "language", "grade", "section",
    "teacher_email", "preferred_channel"};
static const bool req[S_N] = {true, true, true, true, true};

struct simple {
    struct bp__roster_ctx *c;
    int idx[S_N];
    bool have_header;
    int64_t school;
};

static const char *F(const struct simple *r, const struct bp_roster_csv_row *row,
                     int i)
{
    return bp__roster_field(row, r->idx[i]);
}

static int relationship(const char *v)
{
    for (int i = 0; i < 4; i++)
        if (bp_str_case_eq(v, bp__roster_rel_names[i]))
            return i;
    if (bp_str_case_eq(v, "mother") || bp_str_case_eq(v, "father"))
        return 1;
    return v[0] ? 3 : 0;
}

/* Section and teacher of the row; 0 when there is none. */
static int section(struct simple *r, const struct bp_roster_csv_row *row,
                   int64_t student)
{
    struct bp__roster_ctx *c = r->c;
    char key[600], email[256];
    const char *title = F(r, row, S_SECTION), *temail = F(r, row, S_TEACHER);
    struct bp__roster_ent *e;
    int64_t sec, staff;
    int rc;

    if (title[0] == '\0')
        return 0;
    snprintf(key, sizeof key, "sc-section:%s", title);
    e = bp__roster_map_get(&c->sections, key);
    if (e == NULL || !(e->flags & BP__ROSTER_SEEN)) {
        struct bp_store_roster_section s = {key, title, r->school, 1};

        rc = bp__roster_section(c, row->line, &s, &sec);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    } else {
        sec = e->id;
    }
    rc = bp_store_roster_enrollment_link(c->s, sec, student);
    if (rc < 0 || temail[0] == '\0')
        return rc < 0 ? rc : 0;
    if (bp_email_normalize(temail, email, sizeof email) < 0) {
        bp__roster_warn(c, row->line, "teacher_email \"%s\" is not a valid "
                        "address (dropped)", temail);
        return 0;
    }
    e = bp__roster_map_get(&c->staff_email, email);
    if (e != NULL) {
        staff = e->id;
    } else {
        struct bp_store_roster_staff s = {NULL, email, "", r->school, 1};
        bool created;

        rc = bp_store_roster_staff_insert(c->s, &s, c->now, &staff);
        if (rc < 0)
            return rc;
        c->sum->staff[BP_ROSTER_CREATED]++;
        e = bp__roster_map_put(&c->staff_email, &c->arena, email, &created);
        e->id = staff;
    }
    rc = bp_store_roster_section_staff_link(c->s, sec, staff);
    return rc < 0 ? rc : 0;
}

static int on_row(const struct bp_roster_csv_row *row, void *arg)
{
    struct simple *r = arg;
    struct bp__roster_ctx *c = r->c;
    char gkey[600], gfirst[200], glast[200];
    const char *sid = F(r, row, S_SID), *grade = F(r, row, S_GRADE);
    struct bp_store_roster_student st;
    struct bp__roster_guardian_in g;
    int64_t student, guardian;
    int rc;

    if (!r->have_header) {
        r->have_header = true;
        rc = bp__roster_header(c, row, cols, req, S_N, r->idx);
        if (rc == 0 && r->idx[S_PHONE] < 0 && r->idx[S_EMAIL] < 0) {
            bp_errbuf_set(c->eb, NULL, "missing column: phone or email");
            snprintf(c->eb->where, sizeof c->eb->where, "%s:%ld", c->file,
                     row->line);
            rc = BP_EINVAL_INPUT;
        }
        return rc;
    }
    c->sum->rows_read++;
    if (sid[0] == '\0' || F(r, row, S_SFIRST)[0] == '\0' ||
        F(r, row, S_SLAST)[0] == '\0' || F(r, row, S_GFIRST)[0] == '\0' ||
        F(r, row, S_GLAST)[0] == '\0') {
        bp__roster_reject(c, row->line, "student %s: a required field is "
                          "empty", sid[0] ? sid : "(no id)");
        return 0;
    }
    st = (struct bp_store_roster_student){sid, F(r, row, S_SFIRST),
                                          F(r, row, S_SLAST),
                                          grade[0] ? grade : NULL, r->school, 1};
    rc = bp__roster_student(c, row->line, &st, &student);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    snprintf(gfirst, sizeof gfirst, "%s", F(r, row, S_GFIRST));
    snprintf(glast, sizeof glast, "%s", F(r, row, S_GLAST));
    bp_str_lower_ascii(gfirst);
    bp_str_lower_ascii(glast);
    if (F(r, row, S_GID)[0] != '\0')
        snprintf(gkey, sizeof gkey, "%s", F(r, row, S_GID));
    else
        snprintf(gkey, sizeof gkey, "sc:%s:%s:%s", sid, gfirst, glast);
    g = (struct bp__roster_guardian_in){
        gkey, F(r, row, S_GFIRST), F(r, row, S_GLAST),
        {F(r, row, S_PHONE), ""}, F(r, row, S_EMAIL), F(r, row, S_LANG),
        F(r, row, S_CHANNEL), false};
    rc = bp__roster_guardian(c, row->line, &g, &guardian);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    rc = bp__roster_link(c, student, guardian,
                         bp__roster_rel_names[relationship(F(r, row, S_REL))]);
    if (rc < 0)
        return rc;
    return section(r, row, student);
}

int bp__roster_read_simple(struct bp__roster_ctx *c, const char *path)
{
    struct simple r;
    const char *base = strrchr(path, '/');
    int rc;

    memset(&r, 0, sizeof r);
    r.c = c;
    c->file = base ? base + 1 : path;
    rc = bp__roster_school(c, 0, "simple-csv", c->o->school_name, &r.school);
    if (rc != 0)
        return rc < 0 ? rc : BP_EINVAL_INPUT;
    return bp_roster_csv_read_file(path, on_row, &r, c->eb);
}
