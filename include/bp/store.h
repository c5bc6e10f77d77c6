/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The store: every SQL statement of the program lives behind this module
 * (src/store/).  SQLite in WAL mode, foreign keys on, numbered migrations in
 * src/store/migrations/NNNN_name.sql embedded at build time, schema version
 * in PRAGMA user_version.
 *
 * Threading (DESIGN.md section 2): a struct bp_store is one SQLite connection
 * and belongs to one thread.  The loop thread may hold a read-only store for
 * short indexed reads.  All writes of the daemon go through the store writer:
 * one thread owning the read-write connection, committing whatever requests
 * have accumulated in one transaction (group commit), then completing them
 * on the loop thread.  Command-line tools (migrate, roster import, staff add)
 * open a read-write store directly; they never run beside the writer in the
 * same process.
 */
#ifndef BP_STORE_H
#define BP_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "bp/err.h"

struct bp_store;

struct bp_store_opts {
    const char *path;
    bool readonly;
    bool sync_full;         /* PRAGMA synchronous = FULL (else NORMAL) */
    int busy_timeout_ms;
};

/*
 * Opens (creating when read-write) the database.  Sets WAL, foreign keys and
 * the busy timeout.  Does not migrate.  *out is new: close with
 * bp_store_close.  Errors: BP_ESTORE with detail in eb.
 */
BP_WUR int bp_store_open(const struct bp_store_opts *o, struct bp_store **out,
                         struct bp_errbuf *eb);
void bp_store_close(struct bp_store *s);   /* NULL-safe; finalises statements */

/*
 * This connection never checkpoints the WAL into the database file: not
 * after its commits (SQLite's automatic checkpoint, by default once the WAL
 * passes 1,000 pages, runs inside the COMMIT that passes it) and not when
 * bp_store_close closes the last connection.  For short-lived commands that
 * commit a large transaction: the commit is what makes it durable; the copy
 * into the database file (~90 MB for a district-wide announcement, a
 * quarter to half a second) is left to the daemon's automatic checkpoints
 * or the next other connection's close.
 */
void bp_store_leave_checkpoints(struct bp_store *s);

/* Schema version of the open database (PRAGMA user_version). */
BP_WUR int bp_store_schema_version(struct bp_store *s, int *out);
/* Version the embedded migrations bring a database to. */
int bp_store_schema_latest(void);
/*
 * Applies every embedded migration newer than the database, each in its own
 * transaction that also bumps user_version.  A database newer than this
 * program is refused with BP_ESCHEMA.  from/to may be NULL.
 */
BP_WUR int bp_store_migrate(struct bp_store *s, int *from, int *to,
                            struct bp_errbuf *eb);

/* Health check for /healthz: runs a trivial query.  0 when usable. */
BP_WUR int bp_store_ping(struct bp_store *s);

/* Transactions for command-line tools (BEGIN IMMEDIATE / COMMIT / ROLLBACK). */
BP_WUR int bp_store_begin(struct bp_store *s);
BP_WUR int bp_store_commit(struct bp_store *s);
void bp_store_rollback(struct bp_store *s);

/* Bulk-write mode of this connection: foreign-key enforcement off (on
 * from bp_store_open) and a 256 MB page cache, so a district-wide write
 * never spills dirty pages to the WAL mid-transaction; off: foreign keys
 * on, the cache back to 64 MB and the pages above that freed.  Outside a
 * transaction only: SQLite ignores the foreign-key pragma inside one.
 * Only around a set-based bulk write whose every reference comes from a
 * join in that same transaction (bp_store_announce: ~300,000 rows for a
 * district, each of which would otherwise seek its parents again -- about
 * a sixth of the work at 100,000 families). */
BP_WUR int bp_store_set_bulk(struct bp_store *s, bool on);

/* ---------------------------------------------------------------------
 * Store writer (group commit).
 *
 * A write request carries a function that runs on the writer thread with the
 * read-write store, inside a transaction and its own SAVEPOINT: a request
 * whose function fails (returns < 0) is rolled back alone and completes with
 * that status, the others of the batch still commit.  After COMMIT succeeds
 * every request of the batch is completed on the loop thread, in submission
 * order, with status 0 or its own error.  If COMMIT itself fails, every
 * request of the batch completes with BP_ESTORE.  Write functions are
 * defined inside src/store/ (SQL never leaves the module).  A write
 * function returns 0 or a negative BP_E...; it must not BEGIN, COMMIT or
 * ROLLBACK (the writer owns the transaction) nor use the savepoint name
 * "r"; nested savepoints of its own are fine.  bp_store_audit_append may be
 * called from it (the audit row then commits or rolls back with it).
 * ------------------------------------------------------------------- */
struct bp_store_writer;
struct bp_store_wreq;

typedef int (*bp_store_write_fn)(struct bp_store *s, void *arg);
typedef void (*bp_store_done_cb)(struct bp_store_wreq *req, int status);

struct bp_store_wreq {
    bp_store_write_fn fn;     /* runs on the writer thread */
    void *arg;                /* owned by the caller until done() */
    bp_store_done_cb done;    /* runs on the loop thread, exactly once */
    bool bulk;                /* runs in a transaction of its own in bulk
                                 mode (bp_store_set_bulk) */
    bool replayable;          /* fn may run again after its writes were
                                 rolled back: it sets every output afresh
                                 and keeps no state outside the database
                                 (then it may share a savepoint with the
                                 replayable requests next to it) */
    /* private */
    struct bp_store_wreq *_next;
    int _status;
    uint64_t _submitted_ns;
};

struct bp_store_writer_opts {
    struct bp_store_opts store;
    int batch_max;            /* most requests per transaction */
};

/* Opens the read-write connection and starts the writer thread.  *out is
 * new; it is freed by bp_store_writer_stop (there is no other free).  On
 * failure *out is NULL; if the failure came after the internal uv_async was
 * initialised (thread creation), that handle is already closing: run the
 * loop once before uv_loop_close.  o is borrowed (path copied by SQLite). */
BP_WUR int bp_store_writer_start(uv_loop_t *loop,
                                 const struct bp_store_writer_opts *o,
                                 struct bp_store_writer **out,
                                 struct bp_errbuf *eb);
/* Loop thread only.  The request must stay valid until done() runs.  After
 * bp_store_writer_stop was called, done() runs with BP_ECLOSED. */
void bp_store_writer_submit(struct bp_store_writer *w, struct bp_store_wreq *req);
/* Loop thread only.  Commits what was submitted, joins the thread, closes the
 * connection and its libuv handle, then calls cb (from the loop).  Every
 * request submitted before stop completes normally; requests submitted
 * after stop (until cb) complete with BP_ECLOSED, after all of those, never
 * inside submit.  w is freed just before cb runs: no submit or get_stats
 * from cb on.  A second stop is ignored (the first cb wins). */
void bp_store_writer_stop(struct bp_store_writer *w,
                          void (*cb)(void *arg), void *arg);

/* Counters for /metrics (loop thread). Latency is submit -> completion. */
#define BP_STORE_LAT_BUCKETS 12
struct bp_store_writer_stats {
    uint64_t commits;          /* transactions committed */
    uint64_t requests;         /* requests completed */
    uint64_t failures;         /* requests completed with an error */
    uint64_t batch_max_seen;
    uint64_t checkpoints;      /* WAL checkpoints run beside the writer */
    double latency_sum_s;      /* seconds */
    uint64_t latency_bucket[BP_STORE_LAT_BUCKETS]; /* cumulative counts */
};
/* Upper bounds in seconds of the histogram buckets (last is +Inf). */
extern const double bp_store_latency_bounds[BP_STORE_LAT_BUCKETS];
void bp_store_writer_get_stats(struct bp_store_writer *w,
                               struct bp_store_writer_stats *out);

/* ---------------------------------------------------------------------
 * Audit log (src/store/audit.c): append-only and hash-chained.
 *
 * Each row's hash is SHA-256(prev_hash || canonical text of the row), where
 * prev_hash is the hash of the row before it (empty for the first row) and
 * the canonical text encodes id, at, actor_staff_id, actor, action,
 * object_type, object_id and detail unambiguously (each value typed and
 * length-prefixed, NULL distinct from ""), so any change to a stored row,
 * a deleted row or a reordering breaks the chain from that row on.  The
 * table's triggers refuse UPDATE and DELETE; the chain detects what happens
 * behind SQLite's back.
 * ------------------------------------------------------------------- */

/*
 * Appends one audit row stamped with bp_clock_now_ms().  actor_staff_id 0 =
 * none (NULL); actor is a short description of who acted ("staff:12",
 * "cli", "system"); object_type may be NULL; object_id 0 = none (NULL);
 * detail_json may be NULL and must otherwise be valid JSON (else
 * BP_ECONSTRAINT).  All strings are borrowed.  Inside an open transaction
 * (the store writer's, or a CLI tool's bp_store_begin) the row joins it;
 * otherwise the function runs its own BEGIN IMMEDIATE ... COMMIT.  Runs on
 * the thread that owns s (normally the writer thread, inside a write
 * function).  Returns 0 or BP_ECONSTRAINT / BP_EBUSY / BP_ESTORE ...
 */
BP_WUR int bp_store_audit_append(struct bp_store *s, int64_t actor_staff_id,
                                 const char *actor, const char *action,
                                 const char *object_type, int64_t object_id,
                                 const char *detail_json);
/*
 * Walks the whole chain in id order.  Returns 0 with *first_bad_id = 0 when
 * every row verifies; BP_ECONSTRAINT with *first_bad_id = the id of the
 * first row whose prev_hash or hash does not match; another negative
 * BP_E... on a database error (then *first_bad_id = 0).  Read-only: any
 * connection of the thread that owns s.
 */
BP_WUR int bp_store_audit_verify(struct bp_store *s, int64_t *first_bad_id);

#endif
