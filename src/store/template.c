/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Custom template statements (include/bp/store_template.h): upsert of a
 * template with its per-locale variants, delete, and the listing the
 * template module compiles into its live catalogue at start and after each
 * save.  Keys are unique per school by this code, not by the schema
 * (school_id is NULL for the daemon's one school and NULLs never collide
 * in a UNIQUE constraint).
 */
#include <stdio.h>
#include <string.h>

#include "bp/store_template.h"
#include "store_int.h"

static const char SQL_FIND[] =
    "SELECT id FROM template WHERE school_id IS NULL AND key = ?1 AND system = 0";
static const char SQL_INSERT[] =
    "INSERT INTO template (school_id, key, description, system, created_by,"
    " created_at, updated_at) VALUES (NULL, ?1, ?2, 0, nullif(?3, 0), ?4, ?4)";
static const char SQL_UPDATE[] =
    "UPDATE template SET description = ?2, updated_at = ?3 WHERE id = ?1";
static const char SQL_VARIANTS_CLEAR[] =
    "DELETE FROM template_variant WHERE template_id = ?1";
static const char SQL_VARIANT_ADD[] =
    "INSERT INTO template_variant (template_id, locale, subject, pattern, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_DELETE[] =
    "DELETE FROM template WHERE id = ?1";
static const char SQL_LIST[] =
    "SELECT t.id, t.key, t.description, v.locale, v.subject, v.pattern, v.updated_at"
    "  FROM template t JOIN template_variant v ON v.template_id = t.id"
    " WHERE t.system = 0 AND t.school_id IS NULL ORDER BY t.key, v.locale";

static int find(struct bp_store *s, const char *key, int64_t *id)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_FIND);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? BP_ENOTFOUND : bp__store_err(rc);
}

static int upsert_head(struct bp_store *s, struct bp_store_template *t)
{
    const char *desc = t->description ? t->description : "";
    sqlite3_stmt *st;
    int rc = find(s, t->key, &t->id);

    if (rc < 0 && rc != BP_ENOTFOUND)
        return rc;
    t->created = rc == BP_ENOTFOUND;
    if (t->created) {
        if ((st = bp__store_stmt(s, SQL_INSERT)) == NULL)
            return BP_ESTORE;
        sqlite3_bind_text(st, 1, t->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, desc, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, t->actor_staff_id);
        sqlite3_bind_int64(st, 4, t->now_ms);
        if ((rc = bp__store_run(s, st, NULL)) < 0)
            return rc;
        t->id = sqlite3_last_insert_rowid(s->db);
        return 0;
    }
    if ((st = bp__store_stmt(s, SQL_UPDATE)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, t->id);
    sqlite3_bind_text(st, 2, desc, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, t->now_ms);
    return bp__store_run(s, st, NULL);
}

int bp_store_template_put(struct bp_store *s, void *arg)
{
    struct bp_store_template *t = arg;
    sqlite3_stmt *st;
    char detail[200];
    int rc;

    if ((rc = upsert_head(s, t)) < 0)
        return rc;
    if ((st = bp__store_stmt(s, SQL_VARIANTS_CLEAR)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, t->id);
    if ((rc = bp__store_run(s, st, NULL)) < 0)
        return rc;
    for (size_t i = 0; i < t->nvariants; i++) {
        const struct bp_store_template_variant *v = &t->variants[i];
        if ((st = bp__store_stmt(s, SQL_VARIANT_ADD)) == NULL)
            return BP_ESTORE;
        sqlite3_bind_int64(st, 1, t->id);
        sqlite3_bind_text(st, 2, v->locale, -1, SQLITE_STATIC);
        if (v->subject != NULL)
            sqlite3_bind_text(st, 3, v->subject, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, v->pattern, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, t->now_ms);
        if ((rc = bp__store_run(s, st, NULL)) < 0)
            return rc;
    }
    /* the key is [a-z0-9_.] (schema CHECK), safe to embed in JSON */
    snprintf(detail, sizeof detail, "{\"key\":\"%.120s\",\"variants\":%zu}",
             t->key, t->nvariants);
    return bp_store_audit_append(s, t->actor_staff_id, t->actor ? t->actor : "api",
                                 t->created ? "template.create" : "template.update",
                                 "template", t->id, detail);
}

int bp_store_template_delete(struct bp_store *s, void *arg)
{
    struct bp_store_template_del *d = arg;
    sqlite3_stmt *st;
    char detail[160];
    int64_t id;
    int rc;

    if ((rc = find(s, d->key, &id)) < 0)
        return rc;
    if ((st = bp__store_stmt(s, SQL_DELETE)) == NULL)
        return BP_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    if ((rc = bp__store_run(s, st, NULL)) < 0)
        return rc;
    snprintf(detail, sizeof detail, "{\"key\":\"%.120s\"}", d->key);
    return bp_store_audit_append(s, d->actor_staff_id, d->actor ? d->actor : "api",
                                 "template.delete", "template", id, detail);
}

static const char *col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

int bp_store_template_list(struct bp_store *s, bp_store_template_row_fn fn,
                           void *arg)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_LIST);
    int rc, urc = 0;

    if (st == NULL)
        return BP_ESTORE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct bp_store_template_row r = {
            .id = sqlite3_column_int64(st, 0), .key = col(st, 1),
            .description = col(st, 2), .locale = col(st, 3), .subject = col(st, 4),
            .pattern = col(st, 5), .updated_at = sqlite3_column_int64(st, 6),
        };
        if ((urc = fn(arg, &r)) < 0)
            break;
    }
    sqlite3_reset(st);
    if (urc < 0)
        return urc;
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}
