/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Roster statements (include/bp/store_roster.h): every SQL statement of
 * `backpack roster import`.
 *
 * Speed matters (a 100,000-family district must import in under 30 s), so
 * each function is one prepared statement from the connection's cache,
 * keyed by a primary or unique key; the importer resolves sourcedIds to ids
 * in memory and never asks the database to look anything up by name.
 * Contacts are inserted once and never updated or deleted here: their
 * status and consent history are the legal record of a family's opt-out.
 */
#include <string.h>

#include "bp/store_roster.h"
#include "store_int.h"

static const char SQL_SCAN_SCHOOLS[] =
    "SELECT id, sourced_id, name FROM school";
static const char SQL_SCAN_SECTIONS[] =
    "SELECT id, sourced_id, school_id, title, active FROM section";
static const char SQL_SCAN_STAFF[] =
    "SELECT id, sourced_id, school_id, email, display_name, active FROM staff";
static const char SQL_SCAN_STUDENTS[] =
    "SELECT id, sourced_id, school_id, given_name, family_name, grade, active"
    " FROM student";
static const char SQL_SCAN_GUARDIANS[] =
    "SELECT id, sourced_id, given_name, family_name, locale, preferred_channel"
    " FROM guardian";
static const char SQL_SCAN_CONTACTS[] = "SELECT id, kind, address FROM contact";

static const char SQL_SCHOOL_INS[] =
    "INSERT INTO school (sourced_id, name, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?3)";
static const char SQL_SCHOOL_UPD[] =
    "UPDATE school SET name = ?2, updated_at = ?3 WHERE id = ?1";
static const char SQL_SECTION_INS[] =
    "INSERT INTO section (sourced_id, school_id, title, active, created_at,"
    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
static const char SQL_SECTION_UPD[] =
    "UPDATE section SET school_id = ?2, title = ?3, active = ?4,"
    " updated_at = ?5 WHERE id = ?1";
static const char SQL_STAFF_INS[] =
    "INSERT INTO staff (sourced_id, school_id, email, display_name, role,"
    " active, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, 'teacher', ?5, ?6, ?6)";
/* A deactivating row (active = 0) often carries only sourcedId and status:
 * its empty name, grade and school leave the stored ones as they were, so
 * the record of who the person was survives the deletion. */
static const char SQL_STAFF_UPD[] =
    "UPDATE staff SET sourced_id = ?2,"
    " school_id = CASE WHEN ?6 THEN ?3 ELSE coalesce(?3, school_id) END,"
    " email = ?4, display_name = coalesce(nullif(?5, ''), display_name),"
    " active = ?6, updated_at = ?7 WHERE id = ?1";
static const char SQL_STUDENT_INS[] =
    "INSERT INTO student (sourced_id, school_id, given_name, family_name,"
    " grade, active, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
static const char SQL_STUDENT_UPD[] =
    "UPDATE student SET school_id = ?2,"
    " given_name = coalesce(nullif(?3, ''), given_name),"
    " family_name = coalesce(nullif(?4, ''), family_name),"
    " grade = CASE WHEN ?6 THEN ?5 ELSE coalesce(?5, grade) END,"
    " active = ?6, updated_at = ?7 WHERE id = ?1";
static const char SQL_GUARDIAN_INS[] =
    "INSERT INTO guardian (sourced_id, given_name, family_name, locale,"
    " preferred_channel, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
static const char SQL_GUARDIAN_UPD[] =
    "UPDATE guardian SET given_name = ?2, family_name = ?3, locale = ?4,"
    " preferred_channel = ?5, updated_at = ?6 WHERE id = ?1";
static const char SQL_CONTACT_INS[] =
    "INSERT INTO contact (kind, address, consent_source, consent_at,"
    " created_at, updated_at) VALUES (?1, ?2, 'roster', ?3, ?3, ?3)";

static const char SQL_SECSTAFF_LINK[] =
    "INSERT OR IGNORE INTO section_staff (section_id, staff_id) VALUES (?1, ?2)";
static const char SQL_SECSTAFF_UNLINK[] =
    "DELETE FROM section_staff WHERE section_id = ?1 AND staff_id = ?2";
static const char SQL_ENROLL_LINK[] =
    "INSERT OR IGNORE INTO enrollment (section_id, student_id) VALUES (?1, ?2)";
static const char SQL_ENROLL_UNLINK[] =
    "DELETE FROM enrollment WHERE section_id = ?1 AND student_id = ?2";
static const char SQL_SG_LINK[] =
    "INSERT INTO student_guardian (student_id, guardian_id, relationship)"
    " VALUES (?1, ?2, ?3) ON CONFLICT (student_id, guardian_id) DO UPDATE"
    " SET relationship = excluded.relationship"
    " WHERE relationship <> excluded.relationship";
static const char SQL_SG_UNLINK[] =
    "DELETE FROM student_guardian WHERE student_id = ?1 AND guardian_id = ?2";
static const char SQL_SG_UNLINK_G[] =
    "DELETE FROM student_guardian WHERE guardian_id = ?1";
static const char SQL_GC_LINK[] =
    "INSERT OR IGNORE INTO guardian_contact (guardian_id, contact_id)"
    " VALUES (?1, ?2)";
static const char SQL_GC_PRUNE[] =
    "DELETE FROM guardian_contact WHERE guardian_id = ?1"
    " AND contact_id NOT IN (?2, ?3, ?4, ?5)";
static const char SQL_CONVO_ENSURE[] =
    "INSERT INTO conversation (student_id, reply_token, created_at)"
    " SELECT s.id, lower(hex(randomblob(12))), ?1 FROM student s"
    " WHERE NOT EXISTS (SELECT 1 FROM conversation c WHERE c.student_id = s.id)";
static const char SQL_IMPORT_REC[] =
    "INSERT INTO roster_import (source, started_at, finished_at, rows_read,"
    " rows_rejected, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

int bp_store_roster_bulk_mode(struct bp_store *s)
{
    return bp__store_exec(s, "PRAGMA cache_size = -131072", NULL);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_id(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* Steps a bound statement to completion; returns changes (>= 0) or an
 * error.  *rowid gets the last insert rowid when not NULL. */
static int run(struct bp_store *s, sqlite3_stmt *st, int64_t *rowid)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return bp__store_err(rc) < 0 ? bp__store_err(rc) : BP_ESTORE;
    if (rowid != NULL)
        *rowid = sqlite3_last_insert_rowid(s->db);
    return sqlite3_changes(s->db);
}

int bp_store_roster_scan(struct bp_store *s, enum bp_store_roster_table t,
                         bp_store_roster_scan_cb cb, void *arg)
{
    static const char *const sql[] = {
        SQL_SCAN_SCHOOLS, SQL_SCAN_SECTIONS, SQL_SCAN_STAFF,
        SQL_SCAN_STUDENTS, SQL_SCAN_GUARDIANS, SQL_SCAN_CONTACTS,
    };
    const char *cols[8];
    sqlite3_stmt *st;
    int rc, n;

    if ((unsigned)t >= sizeof sql / sizeof sql[0])
        return BP_EINVAL_INPUT;
    st = bp__store_stmt(s, sql[t]);
    if (st == NULL)
        return BP_ESTORE;
    n = sqlite3_column_count(st) - 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < n; i++) {
            const unsigned char *v = sqlite3_column_text(st, i + 1);
            cols[i] = v ? (const char *)v : "";
        }
        rc = cb(arg, sqlite3_column_int64(st, 0), cols, n);
        if (rc < 0) {
            sqlite3_reset(st);
            return rc;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

int bp_store_roster_school_insert(struct bp_store *s,
        const struct bp_store_roster_school *r, int64_t now, int64_t *id_out)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_SCHOOL_INS);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    bind_text(st, 1, r->sourced_id);
    bind_text(st, 2, r->name);
    sqlite3_bind_int64(st, 3, now);
    rc = run(s, st, id_out);
    return rc < 0 ? rc : 0;
}

int bp_store_roster_school_update(struct bp_store *s, int64_t id,
        const struct bp_store_roster_school *r, int64_t now)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_SCHOOL_UPD);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, r->name);
    sqlite3_bind_int64(st, 3, now);
    rc = run(s, st, NULL);
    return rc < 0 ? rc : 0;
}

static int section_write(struct bp_store *s, const char *sql, int64_t id,
                         const struct bp_store_roster_section *r, int64_t now,
                         int64_t *id_out)
{
    sqlite3_stmt *st = bp__store_stmt(s, sql);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    if (id_out == NULL) {
        sqlite3_bind_int64(st, 1, id);
    } else {
        bind_text(st, 1, r->sourced_id);
    }
    bind_id(st, 2, r->school_id);
    bind_text(st, 3, r->title);
    sqlite3_bind_int(st, 4, r->active);
    sqlite3_bind_int64(st, 5, now);
    rc = run(s, st, id_out);
    return rc < 0 ? rc : 0;
}

int bp_store_roster_section_insert(struct bp_store *s,
        const struct bp_store_roster_section *r, int64_t now, int64_t *id_out)
{
    return section_write(s, SQL_SECTION_INS, 0, r, now, id_out);
}

int bp_store_roster_section_update(struct bp_store *s, int64_t id,
        const struct bp_store_roster_section *r, int64_t now)
{
    return section_write(s, SQL_SECTION_UPD, id, r, now, NULL);
}

int bp_store_roster_staff_insert(struct bp_store *s,
        const struct bp_store_roster_staff *r, int64_t now, int64_t *id_out)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_STAFF_INS);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    bind_text(st, 1, r->sourced_id);
    bind_id(st, 2, r->school_id);
    bind_text(st, 3, r->email);
    bind_text(st, 4, r->display_name);
    sqlite3_bind_int(st, 5, r->active);
    sqlite3_bind_int64(st, 6, now);
    rc = run(s, st, id_out);
    return rc < 0 ? rc : 0;
}

int bp_store_roster_staff_update(struct bp_store *s, int64_t id,
        const struct bp_store_roster_staff *r, int64_t now)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_STAFF_UPD);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, r->sourced_id);
    bind_id(st, 3, r->school_id);
    bind_text(st, 4, r->email);
    bind_text(st, 5, r->display_name);
    sqlite3_bind_int(st, 6, r->active);
    sqlite3_bind_int64(st, 7, now);
    rc = run(s, st, NULL);
    return rc < 0 ? rc : 0;
}

static int student_write(struct bp_store *s, const char *sql, int64_t id,
                         const struct bp_store_roster_student *r, int64_t now,
                         int64_t *id_out)
{
    sqlite3_stmt *st = bp__store_stmt(s, sql);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    if (id_out == NULL)
        sqlite3_bind_int64(st, 1, id);
    else
        bind_text(st, 1, r->sourced_id);
    bind_id(st, 2, r->school_id);
    bind_text(st, 3, r->given_name);
    bind_text(st, 4, r->family_name);
    bind_text(st, 5, r->grade);
    sqlite3_bind_int(st, 6, r->active);
    sqlite3_bind_int64(st, 7, now);
    rc = run(s, st, id_out);
    return rc < 0 ? rc : 0;
}

int bp_store_roster_student_insert(struct bp_store *s,
        const struct bp_store_roster_student *r, int64_t now, int64_t *id_out)
{
    return student_write(s, SQL_STUDENT_INS, 0, r, now, id_out);
}

int bp_store_roster_student_update(struct bp_store *s, int64_t id,
        const struct bp_store_roster_student *r, int64_t now)
{
    return student_write(s, SQL_STUDENT_UPD, id, r, now, NULL);
}

static int guardian_write(struct bp_store *s, const char *sql, int64_t id,
                          const struct bp_store_roster_guardian *r,
                          int64_t now, int64_t *id_out)
{
    sqlite3_stmt *st = bp__store_stmt(s, sql);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    if (id_out == NULL)
        sqlite3_bind_int64(st, 1, id);
    else
        bind_text(st, 1, r->sourced_id);
    bind_text(st, 2, r->given_name);
    bind_text(st, 3, r->family_name);
    bind_text(st, 4, r->locale);
    bind_text(st, 5, r->channel);
    sqlite3_bind_int64(st, 6, now);
    rc = run(s, st, id_out);
    return rc < 0 ? rc : 0;
}

int bp_store_roster_guardian_insert(struct bp_store *s,
        const struct bp_store_roster_guardian *r, int64_t now, int64_t *id_out)
{
    return guardian_write(s, SQL_GUARDIAN_INS, 0, r, now, id_out);
}

int bp_store_roster_guardian_update(struct bp_store *s, int64_t id,
        const struct bp_store_roster_guardian *r, int64_t now)
{
    return guardian_write(s, SQL_GUARDIAN_UPD, id, r, now, NULL);
}

int bp_store_roster_contact_insert(struct bp_store *s, const char *kind,
        const char *address, int64_t now, int64_t *id_out)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_CONTACT_INS);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    bind_text(st, 1, kind);
    bind_text(st, 2, address);
    sqlite3_bind_int64(st, 3, now);
    rc = run(s, st, id_out);
    return rc < 0 ? rc : 0;
}

/* A statement over two integer keys; returns the rows changed. */
static int pair(struct bp_store *s, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *st = bp__store_stmt(s, sql);

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    return run(s, st, NULL);
}

int bp_store_roster_section_staff_link(struct bp_store *s, int64_t section_id,
                                       int64_t staff_id)
{
    return pair(s, SQL_SECSTAFF_LINK, section_id, staff_id);
}

int bp_store_roster_section_staff_unlink(struct bp_store *s,
                                         int64_t section_id, int64_t staff_id)
{
    return pair(s, SQL_SECSTAFF_UNLINK, section_id, staff_id);
}

int bp_store_roster_enrollment_link(struct bp_store *s, int64_t section_id,
                                    int64_t student_id)
{
    return pair(s, SQL_ENROLL_LINK, section_id, student_id);
}

int bp_store_roster_enrollment_unlink(struct bp_store *s, int64_t section_id,
                                      int64_t student_id)
{
    return pair(s, SQL_ENROLL_UNLINK, section_id, student_id);
}

int bp_store_roster_student_guardian_link(struct bp_store *s,
        int64_t student_id, int64_t guardian_id, const char *relationship)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_SG_LINK);

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, student_id);
    sqlite3_bind_int64(st, 2, guardian_id);
    bind_text(st, 3, relationship);
    return run(s, st, NULL);
}

int bp_store_roster_student_guardian_unlink(struct bp_store *s,
        int64_t student_id, int64_t guardian_id)
{
    return pair(s, SQL_SG_UNLINK, student_id, guardian_id);
}

int bp_store_roster_guardian_unlink_students(struct bp_store *s,
                                             int64_t guardian_id)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_SG_UNLINK_G);

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, guardian_id);
    return run(s, st, NULL);
}

int bp_store_roster_guardian_contact_link(struct bp_store *s,
        int64_t guardian_id, int64_t contact_id)
{
    return pair(s, SQL_GC_LINK, guardian_id, contact_id);
}

int bp_store_roster_guardian_contact_prune(struct bp_store *s,
        int64_t guardian_id, const int64_t *keep, int nkeep)
{
    sqlite3_stmt *st;

    if (nkeep < 0 || nkeep > 4)
        return BP_EINVAL_INPUT;
    st = bp__store_stmt(s, SQL_GC_PRUNE);
    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, guardian_id);
    /* Unused slots get 0, which no row id takes (NULL would make NOT IN
     * unknown and delete nothing). */
    for (int i = 0; i < 4; i++)
        sqlite3_bind_int64(st, 2 + i, i < nkeep ? keep[i] : 0);
    return run(s, st, NULL);
}

int bp_store_roster_conversations_ensure(struct bp_store *s, int64_t now)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_CONVO_ENSURE);

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, now);
    return run(s, st, NULL);
}

int bp_store_roster_import_record(struct bp_store *s, const char *source,
        int64_t started, int64_t finished, long rows_read, long rows_rejected,
        const char *summary_json)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_IMPORT_REC);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    bind_text(st, 1, source);
    sqlite3_bind_int64(st, 2, started);
    sqlite3_bind_int64(st, 3, finished);
    sqlite3_bind_int64(st, 4, rows_read);
    sqlite3_bind_int64(st, 5, rows_rejected);
    bind_text(st, 6, summary_json);
    rc = run(s, st, NULL);
    return rc < 0 ? rc : 0;
}
