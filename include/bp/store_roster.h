/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The store's roster statements (src/store/roster.c): what `backpack roster
 * import` needs to read and write schools, sections, staff, students,
 * guardians, contacts and the links between them.
 *
 * The importer keeps sourcedId -> row id maps in memory (loaded once with
 * bp_store_roster_scan), so every write here is a single-row statement on a
 * primary key or unique key; no function does a lookup the caller could
 * avoid.  All functions run on the caller's connection inside the caller's
 * transaction (bp_store_begin), return 0 or a negative BP_E... code (SQLite
 * errors mapped by bp__store_err) and keep no pointer to their arguments.
 * Times are milliseconds since the epoch.  Command-line use only (one
 * thread, the read-write store).
 */
#ifndef BP_STORE_ROSTER_H
#define BP_STORE_ROSTER_H

#include <stdint.h>

#include "bp/store.h"

/* Gives the connection a page cache large enough (128 MiB) for a whole
 * district's import to stay in memory until COMMIT instead of spilling
 * pages to the WAL mid-transaction.  Call before bp_store_begin. */
BP_WUR int bp_store_roster_bulk_mode(struct bp_store *s);

enum bp_store_roster_table {
    BP_STORE_ROSTER_SCHOOLS,    /* cols: sourced_id, name */
    BP_STORE_ROSTER_SECTIONS,   /* cols: sourced_id, school_id, title, active */
    BP_STORE_ROSTER_STAFF,      /* cols: sourced_id ("" when NULL), school_id ("" when NULL),
                                 *       email, display_name, active */
    BP_STORE_ROSTER_STUDENTS,   /* cols: sourced_id, school_id, given_name, family_name,
                                 *       grade ("" when NULL), active */
    BP_STORE_ROSTER_GUARDIANS,  /* cols: sourced_id, given_name, family_name, locale,
                                 *       preferred_channel */
    BP_STORE_ROSTER_CONTACTS,   /* cols: kind, address */
};

/* Called once per existing row; cols are valid during the call only (NULL
 * columns are passed as "").  A negative return stops the scan. */
typedef int (*bp_store_roster_scan_cb)(void *arg, int64_t id,
                                       const char *const *cols, int ncols);
BP_WUR int bp_store_roster_scan(struct bp_store *s,
                                enum bp_store_roster_table t,
                                bp_store_roster_scan_cb cb, void *arg);

struct bp_store_roster_school {
    const char *sourced_id, *name;
};
struct bp_store_roster_section {
    const char *sourced_id, *title;
    int64_t school_id;
    int active;
};
struct bp_store_roster_staff {          /* role is 'teacher' on insert, never changed */
    const char *sourced_id, *email, *display_name;
    int64_t school_id;                  /* 0: NULL */
    int active;
};
struct bp_store_roster_student {
    const char *sourced_id, *given_name, *family_name, *grade; /* grade may be NULL */
    int64_t school_id;
    int active;
};
struct bp_store_roster_guardian {
    const char *sourced_id, *given_name, *family_name, *locale, *channel;
};

/* Inserts set *id_out; updates overwrite every listed column of row id. */
BP_WUR int bp_store_roster_school_insert(struct bp_store *s,
        const struct bp_store_roster_school *r, int64_t now, int64_t *id_out);
BP_WUR int bp_store_roster_school_update(struct bp_store *s, int64_t id,
        const struct bp_store_roster_school *r, int64_t now);
BP_WUR int bp_store_roster_section_insert(struct bp_store *s,
        const struct bp_store_roster_section *r, int64_t now, int64_t *id_out);
BP_WUR int bp_store_roster_section_update(struct bp_store *s, int64_t id,
        const struct bp_store_roster_section *r, int64_t now);
BP_WUR int bp_store_roster_staff_insert(struct bp_store *s,
        const struct bp_store_roster_staff *r, int64_t now, int64_t *id_out);
BP_WUR int bp_store_roster_staff_update(struct bp_store *s, int64_t id,
        const struct bp_store_roster_staff *r, int64_t now);
BP_WUR int bp_store_roster_student_insert(struct bp_store *s,
        const struct bp_store_roster_student *r, int64_t now, int64_t *id_out);
BP_WUR int bp_store_roster_student_update(struct bp_store *s, int64_t id,
        const struct bp_store_roster_student *r, int64_t now);
BP_WUR int bp_store_roster_guardian_insert(struct bp_store *s,
        const struct bp_store_roster_guardian *r, int64_t now, int64_t *id_out);
BP_WUR int bp_store_roster_guardian_update(struct bp_store *s, int64_t id,
        const struct bp_store_roster_guardian *r, int64_t now);
/* New contact (status active, consent_source 'roster', consent_at now).
 * kind is "sms" or "email"; address already normalised. */
BP_WUR int bp_store_roster_contact_insert(struct bp_store *s, const char *kind,
        const char *address, int64_t now, int64_t *id_out);

/*
 * Links.  Each returns the number of rows it changed (0 or 1; prune and
 * unlink_guardian: any number) or a negative error, so the caller can count
 * what an import changed.
 */
BP_WUR int bp_store_roster_section_staff_link(struct bp_store *s,
        int64_t section_id, int64_t staff_id);
BP_WUR int bp_store_roster_section_staff_unlink(struct bp_store *s,
        int64_t section_id, int64_t staff_id);
BP_WUR int bp_store_roster_enrollment_link(struct bp_store *s,
        int64_t section_id, int64_t student_id);
BP_WUR int bp_store_roster_enrollment_unlink(struct bp_store *s,
        int64_t section_id, int64_t student_id);
/* Inserts the link, or updates its relationship when it differs. */
BP_WUR int bp_store_roster_student_guardian_link(struct bp_store *s,
        int64_t student_id, int64_t guardian_id, const char *relationship);
BP_WUR int bp_store_roster_student_guardian_unlink(struct bp_store *s,
        int64_t student_id, int64_t guardian_id);
/* Removes every student link of a guardian (the guardian is tobedeleted). */
BP_WUR int bp_store_roster_guardian_unlink_students(struct bp_store *s,
        int64_t guardian_id);
BP_WUR int bp_store_roster_guardian_contact_link(struct bp_store *s,
        int64_t guardian_id, int64_t contact_id);
/* Removes the guardian's links to contacts other than keep[0..nkeep-1]
 * (nkeep <= 4).  Contacts themselves are never deleted. */
BP_WUR int bp_store_roster_guardian_contact_prune(struct bp_store *s,
        int64_t guardian_id, const int64_t *keep, int nkeep);

/* Gives every student without a conversation one, with a fresh random
 * reply_token.  Returns how many were created. */
BP_WUR int bp_store_roster_conversations_ensure(struct bp_store *s,
                                                int64_t now);

/* Records one import run (table roster_import); summary_json may be NULL. */
BP_WUR int bp_store_roster_import_record(struct bp_store *s,
        const char *source, int64_t started, int64_t finished,
        long rows_read, long rows_rejected, const char *summary_json);

#endif
