/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by the files of src/roster/ (never included elsewhere).
 *
 * An import keeps everything it must look up in memory: a string arena, and
 * hash maps from sourcedId (or contact address) to the row id and a
 * fingerprint of the row's stored columns.  The maps are filled from the
 * database once at the start (bp_store_roster_scan), so deciding between
 * insert, update and "unchanged" never costs a query: unchanged rows are
 * not written at all, which is what makes a re-import fast.
 */
#ifndef BP_ROSTER_INT_H
#define BP_ROSTER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "bp/roster.h"
#include "bp/store_roster.h"

/* ---- arena: strings that live as long as the import ---- */
struct bp__roster_arena {
    struct bp__roster_chunk *head;
};
char *bp__roster_arena_strdup(struct bp__roster_arena *a, const char *s);
void bp__roster_arena_free(struct bp__roster_arena *a);

/* ---- map: key -> entry ---- */
enum {
    BP__ROSTER_EXISTED = 1u,   /* row was in the database before this import */
    BP__ROSTER_SEEN = 2u,      /* a record of this import named it */
    BP__ROSTER_DELETED = 4u,   /* this import marked it tobedeleted */
    BP__ROSTER_HAS_SID = 8u,   /* staff by e-mail: the row has a sourced_id */
};

struct bp__roster_ent {
    const char *key;           /* arena */
    int64_t id;
    uint64_t fp;
    uint32_t flags;
    uint8_t rel;               /* guardians: relationship index */
    const char *val;           /* phone cache: E.164 (arena), "" invalid */
};

struct bp__roster_map {
    struct bp__roster_ent *slots;
    size_t cap, n;
};

void bp__roster_map_init(struct bp__roster_map *m);
void bp__roster_map_free(struct bp__roster_map *m);
struct bp__roster_ent *bp__roster_map_get(struct bp__roster_map *m,
                                          const char *key);
/* Returns the entry for key, creating it (zeroed, key copied into a) when
 * absent; *created tells which. */
struct bp__roster_ent *bp__roster_map_put(struct bp__roster_map *m,
                                          struct bp__roster_arena *a,
                                          const char *key, bool *created);

/* Fingerprint of n fields (FNV-1a 64 over the fields and separators). */
uint64_t bp__roster_fp(const char *const *f, int n);

/* ---- the import context ---- */
struct bp__roster_link {       /* a student-guardian link to resolve later */
    const char *student, *guardian;   /* arena */
    long line;
};

struct bp__roster_ctx {
    struct bp_store *s;
    const struct bp_roster_opts *o;
    struct bp_roster_summary *sum;
    struct bp_errbuf *eb;
    int64_t now;
    const char *file;          /* file being read, for reports */
    struct bp__roster_arena arena;
    struct bp__roster_map schools, sections, staff, staff_email, students,
        guardians, contacts, phones;
    struct bp__roster_link *links;
    size_t nlinks, alinks;
    int64_t only_school;       /* the school id when there is exactly one */
    bool simple;               /* simple CSV: a student repeats once per guardian */
};

/* Relationship names, by index (student_guardian.relationship). */
extern const char *const bp__roster_rel_names[4];

/* Reports "FILE:LINE: msg" and counts a rejected record / a warning. */
void bp__roster_reject(struct bp__roster_ctx *c, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bp__roster_warn(struct bp__roster_ctx *c, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Column lookup: idx[i] = column of names[i] or -1; a missing required
 * column (req[i]) is a structural error naming the file and line 1. */
int bp__roster_header(struct bp__roster_ctx *c,
                      const struct bp_roster_csv_row *hdr,
                      const char *const *names, const bool *req, int n,
                      int *idx);
/* Field idx of row, or "" when the column is absent or the row short. */
const char *bp__roster_field(const struct bp_roster_csv_row *row, int idx);

/* Entity writers: 0 done, 1 rejected (already reported), < 0 fatal. */
int bp__roster_school(struct bp__roster_ctx *c, long line, const char *sid,
                      const char *name, int64_t *id);
int bp__roster_section(struct bp__roster_ctx *c, long line,
                       const struct bp_store_roster_section *r, int64_t *id);
int bp__roster_staff(struct bp__roster_ctx *c, long line,
                     const struct bp_store_roster_staff *r, int64_t *id);
int bp__roster_student(struct bp__roster_ctx *c, long line,
                       const struct bp_store_roster_student *r, int64_t *id);

/* A guardian record with its raw contact values and language. */
struct bp__roster_guardian_in {
    const char *sourced_id, *given_name, *family_name;
    const char *phones[2];     /* raw, may be "" */
    const char *email;         /* raw, may be "" */
    const char *language;      /* raw, may be "" */
    const char *channel;       /* raw preferred channel, may be "" */
    bool deleted;              /* tobedeleted: unlink from students */
};
int bp__roster_guardian(struct bp__roster_ctx *c, long line,
                        const struct bp__roster_guardian_in *g, int64_t *id);
/* Links student and guardian (ids), counting changes. */
int bp__roster_link(struct bp__roster_ctx *c, int64_t student, int64_t guardian,
                    const char *rel);
void bp__roster_link_later(struct bp__roster_ctx *c, const char *student,
                           const char *guardian, long line);
/* Resolves the links recorded by bp__roster_link_later (c->file must name
 * the file their lines refer to). */
int bp__roster_resolve_links(struct bp__roster_ctx *c);

/* The source readers (oneroster.c, simple.c). */
int bp__roster_read_oneroster(struct bp__roster_ctx *c, const char *dir);
int bp__roster_read_simple(struct bp__roster_ctx *c, const char *path);

#endif
