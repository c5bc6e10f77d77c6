/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Opening a database connection: WAL, foreign keys, busy timeout, the
 * prepared-statement cache, transactions for command-line tools, and the
 * health ping.  Layer: store (below every module that keeps data).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bp/base.h"
#include "store_int.h"

int bp__store_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_CONSTRAINT:
        return BP_ECONSTRAINT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return BP_EBUSY;
    case SQLITE_FULL:
    case SQLITE_IOERR:
        return BP_EIO;
    case SQLITE_NOMEM:
        return BP_ENOMEM;
    default:
        return BP_ESTORE;
    }
}

int bp__store_exec(struct bp_store *s, const char *sql, struct bp_errbuf *eb)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        bp_errbuf_set(eb, sqlite3_db_filename(s->db, "main"), "%s",
                      msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return bp__store_err(rc);
    }
    return 0;
}

void bp__store_bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v != NULL)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

void bp__store_bind_id_or_null(sqlite3_stmt *st, int i, int64_t v)
{
    if (v > 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

int bp__store_run(struct bp_store *s, sqlite3_stmt *st, int64_t *rowid)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return bp__store_err(rc);
    if (rowid != NULL)
        *rowid = sqlite3_last_insert_rowid(s->db);
    return 0;
}

sqlite3_stmt *bp__store_stmt(struct bp_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;

    for (int i = 0; i < s->ncached; i++) {
        if (s->cache[i].sql == sql) {
            st = s->cache[i].stmt;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                           NULL) != SQLITE_OK)
        return NULL;
    if (s->ncached < BP__STORE_STMT_CACHE) {
        s->cache[s->ncached].sql = sql;
        s->cache[s->ncached].stmt = st;
        s->ncached++;
    } else {
        /* The cache is sized well above every statement of the program;
         * running out is a bug.  Survive it: the statement is kept in one
         * overflow slot (finalised at close or at the next overflow) and
         * nothing in the cache, which callers may be stepping, is touched. */
        sqlite3_finalize(s->overflow);
        s->overflow = st;
    }
    return st;
}

/* SQLite's memory statistics take a global mutex on every allocation (a
 * few thousand instructions per inbound message, callgrind) and nothing
 * reads them.  sqlite3_config must come before SQLite initialises, so once,
 * before the first connection; the program opens its first connection on
 * one thread, before any other uses SQLite.  Later calls would be refused
 * (SQLITE_MISUSE) and change nothing. */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void sqlite_config(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int bp_store_open(const struct bp_store_opts *o, struct bp_store **out,
                  struct bp_errbuf *eb)
{
    struct bp_store *s = bp_xcalloc(1, sizeof *s);
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    int rc;

    *out = NULL;
    pthread_once(&config_once, sqlite_config);
    flags |= o->readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    s->readonly = o->readonly;
    rc = sqlite3_open_v2(o->path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        bp_errbuf_set(eb, o->path, "cannot open database: %s",
                      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(s->db, o->busy_timeout_ms > 0 ? o->busy_timeout_ms
                                                       : 5000);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, NULL);
    if (!o->readonly) {
        rc = bp__store_exec(s, "PRAGMA journal_mode = WAL;", eb);
        if (rc < 0)
            goto fail;
    }
    rc = bp__store_exec(s, o->sync_full ? "PRAGMA synchronous = FULL;"
                                        : "PRAGMA synchronous = NORMAL;", eb);
    /* Temp tables and large sorts in memory (the outbox's audience tables
     * hold a few MB for 100,000 families; on files they cost ~30,000
     * pwrite/pread calls per announcement).  Set here, before anything can
     * open the temp database: SQLite refuses to change it afterwards inside
     * a transaction. */
    if (rc == 0)
        rc = bp__store_exec(s, "PRAGMA temp_store = MEMORY;", eb);
    if (rc < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    bp_store_close(s);
    return BP_ESTORE;
}

void bp_store_close(struct bp_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->ncached; i++)
        sqlite3_finalize(s->cache[i].stmt);
    sqlite3_finalize(s->overflow);
    sqlite3_close_v2(s->db);
    free(s);
}

void bp_store_leave_checkpoints(struct bp_store *s)
{
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    (void)sqlite3_wal_autocheckpoint(s->db, 0);
}

int bp_store_ping(struct bp_store *s)
{
    static const char SQL_PING[] = "SELECT count(*) FROM sqlite_schema";
    sqlite3_stmt *st = bp__store_stmt(s, SQL_PING);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : bp__store_err(rc);
}

int bp_store_begin(struct bp_store *s)
{
    return bp__store_exec(s, "BEGIN IMMEDIATE", NULL);
}

int bp_store_commit(struct bp_store *s)
{
    return bp__store_exec(s, "COMMIT", NULL);
}

/* The page cache of a bulk write (KiB, allocated only as used): a
 * 100,000-family announcement dirties ~150 MB of pages (its ~150,000
 * messages, ~145,000 deliveries and their indexes, and the pages of the
 * earlier announcements' indexes it inserts between).  With 64 MB SQLite
 * spilled ~16,000 dirty pages into the WAL in the middle of the
 * transaction and read them back (a 33 MB WAL even for a dry run that is
 * rolled back, 0.15-0.35 s of a 2.7 s dry run).  Afterwards the cache goes
 * back to BULK_AFTER_KB at most (what the outbox then drains through it)
 * and the pages above that are freed. */
#define BULK_CACHE_KB 262144
#define BULK_AFTER_KB 65536

static int cache_kb(struct bp_store *s, int kb)
{
    char sql[48];

    snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", kb);
    return bp__store_exec(s, sql, NULL);
}

int bp_store_set_bulk(struct bp_store *s, bool on)
{
    int rc;

    if (!sqlite3_get_autocommit(s->db))
        return BP_EINVAL_INPUT;
    if (on) {
        if ((rc = bp__store_exec(s, "PRAGMA foreign_keys = OFF", NULL)) < 0)
            return rc;
        return cache_kb(s, BULK_CACHE_KB);
    }
    if ((rc = bp__store_exec(s, "PRAGMA foreign_keys = ON", NULL)) < 0 ||
        (rc = cache_kb(s, BULK_AFTER_KB)) < 0)
        return rc;
    (void)sqlite3_db_release_memory(s->db);
    return 0;
}

void bp_store_rollback(struct bp_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        (void)bp__store_exec(s, "ROLLBACK", NULL);
}
