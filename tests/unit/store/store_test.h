/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Helpers shared by the store's unit tests: a fresh database file in a temp
 * directory (real file, WAL), raw SQL for fixtures and checks (tests may use
 * store_int.h; production code outside src/store/ never does), and a loop
 * runner that waits for a condition with a deadline instead of sleeping.
 */
#ifndef BP_STORE_TEST_H
#define BP_STORE_TEST_H

#include <sqlite3.h>
#include <uv.h>

#include "bp/base.h"
#include "bp/store.h"
#include "store_int.h"

/* Temp dirs made by st_open_new, removed at exit with their database
 * files (test.db and its -wal/-shm; nothing else is written there). */
#define ST_MAX_DIRS 64
static char st__dirs[ST_MAX_DIRS][256];
static int st__ndirs;

static void st__cleanup(void)
{
    static const char *const files[] = {"test.db", "test.db-wal",
                                        "test.db-shm", "test.db-journal"};
    char p[512];

    for (int i = 0; i < st__ndirs; i++) {
        for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
            snprintf(p, sizeof p, "%.255s/%s", st__dirs[i], files[k]);
            unlink(p);
        }
        rmdir(st__dirs[i]);
    }
}

/* Opens a new read-write database file in a fresh temp dir (path copied to
 * path_out) and, when migrate is true, applies the embedded migrations.
 * Returns NULL on failure (printed as a TAP comment). */
static inline struct bp_store *st_open_new(char *path_out, size_t n,
                                           bool migrate)
{
    struct bp_store_opts o = {0};
    struct bp_errbuf eb = {{0}, {0}};
    struct bp_store *s = NULL;
    const char *dir = bp_test_tmpdir();

    if (st__ndirs == 0)
        atexit(st__cleanup);
    if (st__ndirs < ST_MAX_DIRS)
        snprintf(st__dirs[st__ndirs++], sizeof st__dirs[0], "%s", dir);
    snprintf(path_out, n, "%s/test.db", dir);
    o.path = path_out;
    o.sync_full = true;
    if (bp_store_open(&o, &s, &eb) < 0) {
        printf("# open %s: %s\n", path_out, eb.msg);
        return NULL;
    }
    if (migrate && bp_store_migrate(s, NULL, NULL, &eb) < 0) {
        printf("# migrate: %s\n", eb.msg);
        bp_store_close(s);
        return NULL;
    }
    return s;
}

static inline struct bp_store *st_open_path(const char *path, bool readonly)
{
    struct bp_store_opts o = {0};
    struct bp_store *s = NULL;

    o.path = path;
    o.readonly = readonly;
    o.sync_full = true;
    if (bp_store_open(&o, &s, NULL) < 0)
        return NULL;
    return s;
}

/* Runs sql; returns the primary SQLite result code (SQLITE_OK, ...). */
static inline int st_exec(struct bp_store *s, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK && getenv("BP_TEST_VERBOSE"))
        printf("# sql error: %s\n", msg ? msg : "");
    sqlite3_free(msg);
    return rc & 0xff;
}

/* First column of the first row as an integer (-1 on error / no row). */
static inline long long st_int(struct bp_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void st_on_tick(uv_timer_t *t) { (void)t; }

/*
 * Runs the loop until *flag becomes true or deadline_ms passes.  A
 * repeating no-op timer bounds each uv_run(ONCE) so the deadline is
 * checked even when nothing else happens.  Returns true when *flag is set.
 */
static inline bool st_run_until(uv_loop_t *loop, const bool *flag,
                                uint64_t deadline_ms)
{
    uv_timer_t tick;
    uint64_t end;

    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, st_on_tick, 20, 20);
    uv_update_time(loop);
    end = uv_now(loop) + deadline_ms;
    while (!*flag && uv_now(loop) < end) {
        uv_run(loop, UV_RUN_ONCE);
        uv_update_time(loop);
    }
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);   /* let the tick's close finish */
    return *flag;
}

#endif
