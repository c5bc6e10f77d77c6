/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * OneRoster 1.1 CSV bundle reader: orgs.csv, classes.csv, users.csv,
 * enrollments.csv, in that order (each refers to the ones before).  Other
 * files of the bundle (manifest.csv, academicSessions.csv, courses.csv,
 * demographics.csv...) are not needed and not read.
 *
 * Columns are found by header name, never by position, and extra columns
 * are ignored, because SIS exports differ.  users.csv roles map to:
 *   student                          -> student
 *   teacher, administrator, aide,
 *   proctor                          -> staff (role 'teacher', no password)
 *   parent, guardian, relative       -> guardian (+ relationship)
 * Guardians are linked to students through agentSourcedIds, written on the
 * guardian's row (listing students), on the student's row (listing
 * guardians), or both; links are resolved once the whole file is read.
 * status=tobedeleted deactivates students, sections and staff, unlinks a
 * guardian from its students and removes an enrollment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "roster_int.h"

/* Calls fn for each comma-separated, trimmed, non-empty item of list. */
static int each_item(const char *list, int (*fn)(void *, const char *),
                     void *arg)
{
    char buf[256];
    const char *p = list;

    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *item;

        if (n < sizeof buf) {
            memcpy(buf, p, n);
            buf[n] = '\0';
            item = bp_str_trim(buf);
            if (item[0] != '\0') {
                int rc = fn(arg, item);

                if (rc != 0)
                    return rc;
            }
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static bool deleted(const char *status)
{
    return bp_str_case_eq(status, "tobedeleted");
}

/* ---- orgs.csv ---- */
enum { O_SID, O_STATUS, O_NAME, O_TYPE, O_N };
static const char *const org_cols[O_N] = {"sourcedId", "status", "name", "type"};
static const bool org_req[O_N] = {true, false, true, false};

struct org { char *sid, *name; long line; bool school; };
struct orgs {
    struct bp__roster_ctx *c;
    int idx[O_N];
    bool have_header;
    struct org *v;
    size_t n, a;
};

static int on_org(const struct bp_roster_csv_row *row, void *arg)
{
    struct orgs *o = arg;
    const char *sid, *name;

    if (!o->have_header) {
        o->have_header = true;
        return bp__roster_header(o->c, row, org_cols, org_req, O_N, o->idx);
    }
    o->c->sum->rows_read++;
    sid = bp__roster_field(row, o->idx[O_SID]);
    name = bp__roster_field(row, o->idx[O_NAME]);
    if (sid[0] == '\0' || name[0] == '\0') {
        bp__roster_reject(o->c, row->line, "org: missing sourcedId or name");
        return 0;
    }
    if (o->n == o->a) {
        o->a = o->a ? o->a * 2 : 16;
        o->v = bp_xrealloc(o->v, sizeof *o->v * o->a);
    }
    o->v[o->n].sid = bp_xstrdup(sid);
    o->v[o->n].name = bp_xstrdup(name);
    o->v[o->n].line = row->line;
    o->v[o->n].school =
        bp_str_case_eq(bp__roster_field(row, o->idx[O_TYPE]), "school");
    o->n++;
    return 0;
}

/* Every org of type school becomes a school; a bundle without any (a
 * single-school export that calls itself a district) makes all orgs
 * schools. */
static int read_orgs(struct bp__roster_ctx *c, const char *path)
{
    struct orgs o = {c, {0}, false, NULL, 0, 0};
    bool any_school = false;
    int64_t id = 0, last = 0;
    int rc, nschools = 0;

    rc = bp_roster_csv_read_file(path, on_org, &o, c->eb);
    for (size_t i = 0; i < o.n; i++)
        any_school |= o.v[i].school;
    for (size_t i = 0; i < o.n && rc >= 0; i++) {
        if (any_school && !o.v[i].school)
            continue;
        rc = bp__roster_school(c, o.v[i].line, o.v[i].sid, o.v[i].name, &id);
        if (rc == 0) {
            nschools++;
            last = id;
        }
        rc = rc < 0 ? rc : 0;
    }
    c->only_school = nschools == 1 ? last : 0;
    for (size_t i = 0; i < o.n; i++) {
        free(o.v[i].sid);
        free(o.v[i].name);
    }
    free(o.v);
    return rc;
}

/* First school named by a list of org sourcedIds, else the only school. */
struct school_find { struct bp__roster_ctx *c; int64_t id; };

static int find_school(void *arg, const char *sid)
{
    struct school_find *f = arg;
    struct bp__roster_ent *e = bp__roster_map_get(&f->c->schools, sid);

    if (e != NULL && (e->flags & BP__ROSTER_SEEN) && e->id) {
        f->id = e->id;
        return 1;
    }
    return 0;
}

static int64_t school_of(struct bp__roster_ctx *c, const char *orgs)
{
    struct school_find f = {c, 0};

    (void)each_item(orgs, find_school, &f);
    return f.id ? f.id : c->only_school;
}

/* ---- classes.csv ---- */
enum { C_SID, C_STATUS, C_TITLE, C_SCHOOL, C_N };
static const char *const class_cols[C_N] = {"sourcedId", "status", "title",
                                            "schoolSourcedId"};
static const bool class_req[C_N] = {true, false, true, true};

struct reader { struct bp__roster_ctx *c; int idx[20]; bool have_header; };

static int on_class(const struct bp_roster_csv_row *row, void *arg)
{
    struct reader *r = arg;
    struct bp__roster_ctx *c = r->c;
    struct bp_store_roster_section s;
    int64_t id;
    int rc;

    if (!r->have_header) {
        r->have_header = true;
        return bp__roster_header(c, row, class_cols, class_req, C_N, r->idx);
    }
    c->sum->rows_read++;
    s.sourced_id = bp__roster_field(row, r->idx[C_SID]);
    s.title = bp__roster_field(row, r->idx[C_TITLE]);
    s.active = !deleted(bp__roster_field(row, r->idx[C_STATUS]));
    s.school_id = school_of(c, bp__roster_field(row, r->idx[C_SCHOOL]));
    if (s.sourced_id[0] == '\0') {
        bp__roster_reject(c, row->line, "class: missing sourcedId");
        return 0;
    }
    if (s.school_id == 0) {
        bp__roster_reject(c, row->line, "class %s: unknown school \"%s\"",
                          s.sourced_id,
                          bp__roster_field(row, r->idx[C_SCHOOL]));
        return 0;
    }
    rc = bp__roster_section(c, row->line, &s, &id);
    return rc < 0 ? rc : 0;
}

/* ---- users.csv ---- */
enum { U_SID, U_STATUS, U_ROLE, U_GIVEN, U_FAMILY, U_ORGS, U_EMAIL, U_SMS,
       U_PHONE, U_AGENTS, U_GRADES, U_ENABLED, U_LANG, U_CHANNEL, U_N };
static const bool user_req[U_N] = {true, false, true, true, true};

struct agent_arg { struct bp__roster_ctx *c; const char *self; long line; bool self_is_student; };

static int on_agent(void *arg, const char *other)
{
    struct agent_arg *a = arg;

    if (a->self_is_student)
        bp__roster_link_later(a->c, a->self, other, a->line);
    else
        bp__roster_link_later(a->c, other, a->self, a->line);
    return 0;
}

static int user_student(struct bp__roster_ctx *c, struct reader *r,
                        const struct bp_roster_csv_row *row, const char *sid,
                        bool del)
{
    const char *grades = bp__roster_field(row, r->idx[U_GRADES]);
    struct bp_store_roster_student s = {
        sid, bp__roster_field(row, r->idx[U_GIVEN]),
        bp__roster_field(row, r->idx[U_FAMILY]), grades[0] ? grades : NULL,
        school_of(c, bp__roster_field(row, r->idx[U_ORGS])),
        !del && !bp_str_case_eq(bp__roster_field(row, r->idx[U_ENABLED]),
                                "false")};
    struct agent_arg a = {c, sid, row->line, true};
    struct bp__roster_ent *e;
    int64_t id;
    int rc;

    if (del && ((e = bp__roster_map_get(&c->students, sid)) == NULL ||
                !(e->flags & BP__ROSTER_EXISTED)))
        return 0;          /* deleting what we never had: nothing to do */
    if (s.school_id == 0) {
        bp__roster_reject(c, row->line, "student %s: no known school in "
                          "orgSourcedIds \"%s\"", sid,
                          bp__roster_field(row, r->idx[U_ORGS]));
        return 0;
    }
    rc = bp__roster_student(c, row->line, &s, &id);
    if (rc != 0 || del)
        return rc < 0 ? rc : 0;
    return each_item(bp__roster_field(row, r->idx[U_AGENTS]), on_agent, &a);
}

static int user_staff(struct bp__roster_ctx *c, struct reader *r,
                      const struct bp_roster_csv_row *row, const char *sid,
                      bool del)
{
    char email[256], name[512];
    const char *raw = bp__roster_field(row, r->idx[U_EMAIL]);
    struct bp_store_roster_staff s;
    int64_t id;
    int rc;

    if (bp_email_normalize(raw, email, sizeof email) < 0) {
        bp__roster_reject(c, row->line, "staff %s: e-mail \"%s\" is %s", sid,
                          raw, raw[0] ? "not a valid address" : "required");
        return 0;
    }
    snprintf(name, sizeof name, "%s %s", bp__roster_field(row, r->idx[U_GIVEN]),
             bp__roster_field(row, r->idx[U_FAMILY]));
    s = (struct bp_store_roster_staff){
        sid, email, bp_str_trim(name),
        school_of(c, bp__roster_field(row, r->idx[U_ORGS])), !del};
    rc = bp__roster_staff(c, row->line, &s, &id);
    return rc < 0 ? rc : 0;
}

static int user_guardian(struct bp__roster_ctx *c, struct reader *r,
                         const struct bp_roster_csv_row *row, const char *sid,
                         int rel, bool del)
{
    struct bp__roster_guardian_in g = {
        sid, bp__roster_field(row, r->idx[U_GIVEN]),
        bp__roster_field(row, r->idx[U_FAMILY]),
        {bp__roster_field(row, r->idx[U_SMS]),
         bp__roster_field(row, r->idx[U_PHONE])},
        bp__roster_field(row, r->idx[U_EMAIL]),
        bp__roster_field(row, r->idx[U_LANG]),
        bp__roster_field(row, r->idx[U_CHANNEL]), del};
    struct agent_arg a = {c, sid, row->line, false};
    struct bp__roster_ent *e;
    int64_t id;
    int rc = bp__roster_guardian(c, row->line, &g, &id);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    e = bp__roster_map_get(&c->guardians, sid);
    e->rel = (uint8_t)rel;
    if (del)
        return 0;
    return each_item(bp__roster_field(row, r->idx[U_AGENTS]), on_agent, &a);
}

static int on_user(const struct bp_roster_csv_row *row, void *arg)
{
    struct reader *r = arg;
    struct bp__roster_ctx *c = r->c;
    const char *cols[U_N] = {"sourcedId", "status", "role", "givenName",
                             "familyName", "orgSourcedIds", "email", "sms",
                             "phone", "agentSourcedIds", "grades",
                             "enabledUser", c->o->language_column,
                             "metadata.preferredChannel"};
    const char *sid, *role;
    bool del;

    if (!r->have_header) {
        r->have_header = true;
        return bp__roster_header(c, row, cols, user_req, U_N, r->idx);
    }
    c->sum->rows_read++;
    sid = bp__roster_field(row, r->idx[U_SID]);
    role = bp__roster_field(row, r->idx[U_ROLE]);
    del = deleted(bp__roster_field(row, r->idx[U_STATUS]));
    if (sid[0] == '\0') {
        bp__roster_reject(c, row->line, "user: missing sourcedId");
        return 0;
    }
    if (!del && (bp__roster_field(row, r->idx[U_GIVEN])[0] == '\0' ||
                 bp__roster_field(row, r->idx[U_FAMILY])[0] == '\0')) {
        bp__roster_reject(c, row->line, "%s %s: missing givenName or "
                          "familyName", role, sid);
        return 0;
    }
    if (bp_str_case_eq(role, "student"))
        return user_student(c, r, row, sid, del);
    if (bp_str_case_eq(role, "teacher") || bp_str_case_eq(role, "administrator")
        || bp_str_case_eq(role, "aide") || bp_str_case_eq(role, "proctor"))
        return user_staff(c, r, row, sid, del);
    if (bp_str_case_eq(role, "guardian"))
        return user_guardian(c, r, row, sid, 0, del);
    if (bp_str_case_eq(role, "parent"))
        return user_guardian(c, r, row, sid, 1, del);
    if (bp_str_case_eq(role, "relative"))
        return user_guardian(c, r, row, sid, 2, del);
    bp__roster_reject(c, row->line, "user %s: unknown role \"%s\"", sid, role);
    return 0;
}

/* ---- enrollments.csv ---- */
enum { E_SID, E_STATUS, E_CLASS, E_USER, E_ROLE, E_N };
static const char *const enr_cols[E_N] = {"sourcedId", "status",
                                          "classSourcedId", "userSourcedId",
                                          "role"};
static const bool enr_req[E_N] = {false, false, true, true, true};

static int on_enrollment(const struct bp_roster_csv_row *row, void *arg)
{
    struct reader *r = arg;
    struct bp__roster_ctx *c = r->c;
    const char *cls, *user, *role;
    struct bp__roster_ent *sec, *who;
    bool del, student;
    int rc;

    if (!r->have_header) {
        r->have_header = true;
        return bp__roster_header(c, row, enr_cols, enr_req, E_N, r->idx);
    }
    c->sum->rows_read++;
    cls = bp__roster_field(row, r->idx[E_CLASS]);
    user = bp__roster_field(row, r->idx[E_USER]);
    role = bp__roster_field(row, r->idx[E_ROLE]);
    del = deleted(bp__roster_field(row, r->idx[E_STATUS]));
    student = bp_str_case_eq(role, "student");
    if (!student && !bp_str_case_eq(role, "teacher"))
        return 0;          /* aides, proctors...: not needed for messaging */
    sec = bp__roster_map_get(&c->sections, cls);
    if (sec == NULL || sec->id == 0) {
        bp__roster_reject(c, row->line, "enrollment: unknown class \"%s\"", cls);
        return 0;
    }
    who = bp__roster_map_get(student ? &c->students : &c->staff, user);
    if (who == NULL || who->id == 0) {
        bp__roster_reject(c, row->line, "enrollment: unknown %s \"%s\"",
                          student ? "student" : "teacher", user);
        return 0;
    }
    if (student)
        rc = del ? bp_store_roster_enrollment_unlink(c->s, sec->id, who->id)
                 : bp_store_roster_enrollment_link(c->s, sec->id, who->id);
    else
        rc = del ? bp_store_roster_section_staff_unlink(c->s, sec->id, who->id)
                 : bp_store_roster_section_staff_link(c->s, sec->id, who->id);
    if (rc > 0 && del)
        c->sum->unlinked += rc;
    return rc < 0 ? rc : 0;
}

static int read_one(struct bp__roster_ctx *c, const char *dir, const char *name,
                    bp_roster_csv_row_cb cb)
{
    char path[4096];
    struct reader r;

    memset(&r, 0, sizeof r);
    r.c = c;
    c->file = name;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return bp_roster_csv_read_file(path, cb, &r, c->eb);
}

int bp__roster_read_oneroster(struct bp__roster_ctx *c, const char *dir)
{
    char path[4096];
    int rc;

    c->file = "orgs.csv";
    snprintf(path, sizeof path, "%s/orgs.csv", dir);
    rc = read_orgs(c, path);
    if (rc >= 0)
        rc = read_one(c, dir, "classes.csv", on_class);
    if (rc >= 0)
        rc = read_one(c, dir, "users.csv", on_user);
    if (rc >= 0)
        rc = bp__roster_resolve_links(c);
    if (rc >= 0)
        rc = read_one(c, dir, "enrollments.csv", on_enrollment);
    return rc;
}
