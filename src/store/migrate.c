/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Migration runner.  Migrations are numbered SQL files embedded at build
 * time (gen_migrations.py -> migrations.c).  Each is applied in its own
 * BEGIN IMMEDIATE transaction together with `PRAGMA user_version = N`, so a
 * failure leaves the database at the previous version, never in between.
 * Foreign keys stay on; migrations that rebuild tables must follow SQLite's
 * documented 12-step procedure themselves.  A migration that rebuilds a
 * table other tables refer to (DROP TABLE with foreign keys on would delete
 * or null their rows) says so with a line `-- bp:foreign_keys=off`: the
 * runner then switches foreign keys off before BEGIN (the pragma does
 * nothing inside a transaction), runs PRAGMA foreign_key_check before the
 * commit (any violation rolls the migration back) and switches them on
 * again whatever happened.
 */
#include <stdio.h>
#include <string.h>

#include "bp/base.h"
#include "store_int.h"

int bp_store_schema_version(struct bp_store *s, int *out)
{
    static const char SQL_VERSION[] = "PRAGMA user_version";
    sqlite3_stmt *st = bp__store_stmt(s, SQL_VERSION);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return bp__store_err(rc);
    }
    *out = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return 0;
}

int bp_store_schema_latest(void)
{
    return bp__store_nmigrations > 0
               ? bp__store_migrations[bp__store_nmigrations - 1].version
               : 0;
}

#define FK_OFF_MARKER "\n-- bp:foreign_keys=off\n"

/* 0 when no row breaks a foreign key, else BP_ESCHEMA naming the first. */
static int fk_check(struct bp_store *s, struct bp_errbuf *eb)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st, NULL);

    if (rc != SQLITE_OK) {
        bp_errbuf_set(eb, "", "foreign_key_check: %s", sqlite3_errmsg(s->db));
        return bp__store_err(rc);
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bp_errbuf_set(eb, "", "a row of %s breaks its foreign key to %s",
                      (const char *)sqlite3_column_text(st, 0),
                      (const char *)sqlite3_column_text(st, 2));
        rc = BP_ESCHEMA;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        bp_errbuf_set(eb, "", "foreign_key_check: %s", sqlite3_errmsg(s->db));
        rc = bp__store_err(rc);
    }
    sqlite3_finalize(st);
    return rc;
}

static int apply_one(struct bp_store *s, const struct bp__store_migration *m,
                     struct bp_errbuf *eb)
{
    bool fk_off = strstr(m->sql, FK_OFF_MARKER) != NULL;
    char pragma[64];
    int rc;

    if (fk_off && (rc = bp__store_exec(s, "PRAGMA foreign_keys = OFF", eb)) < 0)
        return rc;
    rc = bp__store_exec(s, "BEGIN IMMEDIATE", eb);
    if (rc < 0)
        goto out;
    rc = bp__store_exec(s, m->sql, eb);
    if (rc == 0 && fk_off)
        rc = fk_check(s, eb);
    if (rc == 0) {
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
        rc = bp__store_exec(s, pragma, eb);
    }
    if (rc == 0)
        rc = bp__store_exec(s, "COMMIT", eb);
    if (rc < 0) {
        char msg[sizeof eb->msg];
        snprintf(msg, sizeof msg, "%s", eb ? eb->msg : "");
        bp_store_rollback(s);
        bp_errbuf_set(eb, m->name, "migration %04d failed: %s", m->version, msg);
    }
out:
    if (fk_off) {
        int rc2 = bp__store_exec(s, "PRAGMA foreign_keys = ON", rc < 0 ? NULL : eb);
        if (rc == 0)
            rc = rc2;
    }
    return rc;
}

int bp__store_migrate_list(struct bp_store *s,
                           const struct bp__store_migration *list, int n,
                           int *from, int *to, struct bp_errbuf *eb)
{
    int cur, rc, latest = n > 0 ? list[n - 1].version : 0;

    rc = bp_store_schema_version(s, &cur);
    if (rc < 0) {
        bp_errbuf_set(eb, "", "cannot read schema version: %s",
                      sqlite3_errmsg(s->db));
        return rc;
    }
    if (from != NULL)
        *from = cur;
    if (cur > latest) {
        bp_errbuf_set(eb, "", "database schema version %d is newer than "
                      "this program (%d); upgrade backpack", cur, latest);
        return BP_ESCHEMA;
    }
    for (int i = 0; i < n; i++) {
        if (list[i].version <= cur)
            continue;
        rc = apply_one(s, &list[i], eb);
        if (rc < 0)
            return rc;
        cur = list[i].version;
    }
    if (to != NULL)
        *to = cur;
    return 0;
}

int bp_store_migrate(struct bp_store *s, int *from, int *to,
                     struct bp_errbuf *eb)
{
    return bp__store_migrate_list(s, bp__store_migrations,
                                  bp__store_nmigrations, from, to, eb);
}
