/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by the files of src/store/ (never included elsewhere).
 *
 * struct bp_store wraps one sqlite3 connection and a small cache of prepared
 * statements keyed by the address of their SQL text: each store file keeps
 * its SQL in `static const char SQL_X[] = "...";` constants and calls
 * bp__store_stmt(s, SQL_X), so a statement is prepared once per connection
 * and finalised at close (STYLE.md C4.7).  Parameters are always bound.
 */
#ifndef BP_STORE_INT_H
#define BP_STORE_INT_H

#include <stdbool.h>

#include <sqlite3.h>

#include "bp/store.h"

#define BP__STORE_STMT_CACHE 256

struct bp__store_cached {
    const char *sql;          /* identity: the address of a static string */
    sqlite3_stmt *stmt;
};

struct bp_store {
    sqlite3 *db;
    bool readonly;
    int ncached;
    struct bp__store_cached cache[BP__STORE_STMT_CACHE];
    sqlite3_stmt *overflow;   /* last uncached statement (cache full: a bug) */
};

/*
 * Returns the prepared statement for sql (a static string: the pointer is
 * the cache key), reset and with bindings cleared, or NULL on a prepare
 * error (detail via sqlite3_errmsg(s->db)).  Valid until bp_store_close.
 */
sqlite3_stmt *bp__store_stmt(struct bp_store *s, const char *sql);

/* Maps a SQLite result code to BP_E...: CONSTRAINT -> BP_ECONSTRAINT,
 * BUSY/LOCKED -> BP_EBUSY, FULL/IOERR -> BP_EIO, else BP_ESTORE. */
int bp__store_err(int sqlite_rc);

/* Binds v, or NULL when v is NULL. */
void bp__store_bind_text_or_null(sqlite3_stmt *st, int i, const char *v);
/* Binds the row id v, or NULL when v <= 0 (no such row). */
void bp__store_bind_id_or_null(sqlite3_stmt *st, int i, int64_t v);
/* Steps a statement that returns no rows to completion and resets it;
 * *rowid (may be NULL) gets the last inserted row id.  0 or BP_E... */
int bp__store_run(struct bp_store *s, sqlite3_stmt *st, int64_t *rowid);

/* A write function of this module may return BP__STORE_UNDO: success, but
 * the writer rolls back what it wrote (its savepoint), e.g. an inbound
 * message that turned out to be a retry.  Completed with status 0. */
#define BP__STORE_UNDO 1

/* The conversation of a student, created (with a random reply token) when
 * the student has none yet (src/store/convo.c).  0 or BP_E... */
int bp__store_conversation_of(struct bp_store *s, int64_t student, int64_t now_ms,
                              int64_t *out);

/* Files a stored inbound message: nothing more to do when it has a
 * conversation; when conversation_id is 0 puts it in triage with reason and the candidate
 * student ids (JSON array or NULL).  0 or BP_E... */
int bp__store_file_inbound(struct bp_store *s, int64_t message_id,
                           int64_t conversation_id, const char *reason,
                           const char *candidates, int64_t now_ms);

/* *any = whether any status is kept for a sid not recorded yet (one
 * look per batch of results, before bp__store_status_replay for each sid
 * it records; src/store/status.c).  0 or BP_E... */
int bp__store_status_kept_any(struct bp_store *s, bool *any);

/* Applies, in order, the statuses kept for (provider, sid) before a
 * delivery had that sid, and forgets them; *applied = how many changed the
 * delivery (src/store/status.c).  0 or BP_E... */
int bp__store_status_replay(struct bp_store *s, const char *provider, const char *sid,
                            int64_t now_ms, int *applied);

/* Runs a statement-less SQL script (schema, pragmas).  eb may be NULL. */
int bp__store_exec(struct bp_store *s, const char *sql, struct bp_errbuf *eb);

/* Embedded migrations (generated from migrations/NNNN_*.sql). */
struct bp__store_migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct bp__store_migration bp__store_migrations[];
extern const int bp__store_nmigrations;

/* The migration runner over an explicit list (tests use their own lists). */
int bp__store_migrate_list(struct bp_store *s,
                           const struct bp__store_migration *list, int n,
                           int *from, int *to, struct bp_errbuf *eb);


/* The WAL checkpointer (src/store/checkpoint.c): a thread and connection of
 * its own that runs PASSIVE checkpoints when kicked (any thread).  start
 * opens the connection read-write from o; stop joins the thread and closes
 * it (NULL: nothing).  runs: checkpoints completed so far. */
#define BP__CKPT_FRAMES 1000

/* The outbox's queries that walk delivery_due (outbox.c), NULL-terminated:
 * the schema tests check that each still uses the index. */
extern const char *const bp__store_due_queries[];
struct bp__ckpt;
int bp__ckpt_start(const struct bp_store_opts *o, struct bp__ckpt **out);
void bp__ckpt_kick(struct bp__ckpt *c);
uint64_t bp__ckpt_runs(struct bp__ckpt *c);
void bp__ckpt_stop(struct bp__ckpt *c);

#endif
