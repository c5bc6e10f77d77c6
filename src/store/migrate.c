/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Migration runner.  Migrations are numbered SQL files embedded at build
 * time (gen_migrations.py -> migrations.c).  Each is applied in its own
 * BEGIN IMMEDIATE transaction together with `PRAGMA user_version = N`, so a
 * failure leaves the database at the previous version, never in between.
 * Foreign keys stay on; migrations that rebuild tables must follow SQLite's
 * documented 12-step procedure themselves.
 */
#include <stdio.h>

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

static int apply_one(struct bp_store *s, const struct bp__store_migration *m,
                     struct bp_errbuf *eb)
{
    char pragma[64];
    int rc;

    rc = bp__store_exec(s, "BEGIN IMMEDIATE", eb);
    if (rc < 0)
        return rc;
    rc = bp__store_exec(s, m->sql, eb);
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
