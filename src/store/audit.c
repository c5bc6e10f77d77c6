/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The audit log: append-only, hash-chained rows in table `audit`
 * (migrations/0001_init.sql).  Administrators rely on it to answer "who did
 * what"; the chain makes silent edits behind SQLite's back detectable.
 *
 *   hash(row) = SHA-256(prev_hash || canonical(row))
 *
 * prev_hash is the stored hash of the row with the next lower id (absent,
 * i.e. zero bytes, for the first row; the column is then NULL).  Ids are
 * assigned here as last id + 1, so ids are dense and part of the hash: a
 * deleted or reordered row breaks the chain at the next row.
 *
 * canonical(row) is "bp-audit-v1\n" followed by the fields id, at,
 * actor_staff_id, actor, action, object_type, object_id, detail, each as
 *   NULL     -> "n;"
 *   integer  -> "i<decimal>;"
 *   text     -> "t<byte length>:<bytes>;"
 * which is unambiguous (length-prefixed, typed, NULL distinct from "").
 * verify re-encodes the stored values with the same function, so append
 * and verify cannot drift apart.  SHA-256 comes from OpenSSL libcrypto
 * (EVP), already a dependency for webhook signatures.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "bp/base.h"
#include "store_int.h"

#define HASH_LEN 32

enum { F_NULL, F_INT, F_TEXT };

struct field {
    int type;
    int64_t i;
    const char *t;
    size_t n;
};

#define NFIELDS 8

static const char SQL_LAST[] =
    "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1";
static const char SQL_INSERT[] =
    "INSERT INTO audit (id, at, actor_staff_id, actor, action, object_type,"
    " object_id, detail, prev_hash, hash)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_ALL[] =
    "SELECT id, at, actor_staff_id, actor, action, object_type, object_id,"
    " detail, prev_hash, hash FROM audit ORDER BY id";

static struct field f_int(int64_t v, bool zero_is_null)
{
    struct field f = {F_INT, v, NULL, 0};
    if (zero_is_null && v == 0)
        f.type = F_NULL;
    return f;
}

static struct field f_text(const char *t)
{
    struct field f = {F_TEXT, 0, t, t ? strlen(t) : 0};
    if (t == NULL)
        f.type = F_NULL;
    return f;
}

static struct field f_column(sqlite3_stmt *st, int col)
{
    struct field f = {F_NULL, 0, NULL, 0};

    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
        f.type = F_INT;
        f.i = sqlite3_column_int64(st, col);
        break;
    case SQLITE_NULL:
        break;
    default:   /* STRICT table: TEXT */
        f.type = F_TEXT;
        f.t = (const char *)sqlite3_column_text(st, col);
        f.n = (size_t)sqlite3_column_bytes(st, col);
        if (f.t == NULL)
            f.t = "";
        break;
    }
    return f;
}

static int hash_row(const unsigned char *prev, size_t prev_len,
                    const struct field *f, unsigned char out[HASH_LEN])
{
    static const char MAGIC[] = "bp-audit-v1\n";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok;

    if (ctx == NULL)
        return BP_ENOMEM;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
         EVP_DigestUpdate(ctx, prev, prev_len) &&
         EVP_DigestUpdate(ctx, MAGIC, sizeof MAGIC - 1);
    for (int k = 0; ok && k < NFIELDS; k++) {
        char head[32];
        int hn;

        if (f[k].type == F_NULL)
            hn = snprintf(head, sizeof head, "n;");
        else if (f[k].type == F_INT)
            hn = snprintf(head, sizeof head, "i%" PRId64 ";", f[k].i);
        else
            hn = snprintf(head, sizeof head, "t%zu:", f[k].n);
        ok = EVP_DigestUpdate(ctx, head, (size_t)hn);
        if (ok && f[k].type == F_TEXT)
            ok = EVP_DigestUpdate(ctx, f[k].t, f[k].n) &&
                 EVP_DigestUpdate(ctx, ";", 1);
    }
    ok = ok && EVP_DigestFinal_ex(ctx, out, &len) && len == HASH_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : BP_ESTORE;
}

/* The id and hash of the newest row (*last_id 0 when the table is empty). */
static int read_last(struct bp_store *s, int64_t *last_id,
                     unsigned char hash[HASH_LEN], size_t *hash_len)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_LAST);
    int rc;

    *last_id = 0;
    *hash_len = 0;
    if (st == NULL)
        return BP_ESTORE;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *h = sqlite3_column_blob(st, 1);
        size_t n = (size_t)sqlite3_column_bytes(st, 1);
        *last_id = sqlite3_column_int64(st, 0);
        if (h == NULL || n != HASH_LEN) {
            sqlite3_reset(st);
            return BP_ESTORE;   /* the chain is already broken */
        }
        memcpy(hash, h, HASH_LEN);
        *hash_len = HASH_LEN;
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

static int insert_row(struct bp_store *s, const struct field *f,
                      const unsigned char *prev, size_t prev_len,
                      const unsigned char *hash)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_INSERT);
    int rc;

    if (st == NULL)
        return BP_ESTORE;
    for (int k = 0; k < NFIELDS; k++) {
        if (f[k].type == F_INT)
            sqlite3_bind_int64(st, k + 1, f[k].i);
        else if (f[k].type == F_TEXT)
            sqlite3_bind_text(st, k + 1, f[k].t, (int)f[k].n, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, k + 1);
    }
    if (prev_len > 0)
        sqlite3_bind_blob(st, 9, prev, (int)prev_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 10, hash, HASH_LEN, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);   /* the bound buffers are on our stack */
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}

int bp_store_audit_append(struct bp_store *s, int64_t actor_staff_id,
                          const char *actor, const char *action,
                          const char *object_type, int64_t object_id,
                          const char *detail_json)
{
    unsigned char prev[HASH_LEN], hash[HASH_LEN];
    struct field f[NFIELDS];
    size_t prev_len;
    int64_t last_id;
    bool own_tx = sqlite3_get_autocommit(s->db) != 0;
    int rc;

    if (actor == NULL || action == NULL)
        return BP_EINVAL_INPUT;
    if (own_tx) {
        rc = bp_store_begin(s);
        if (rc < 0)
            return rc;
    }
    rc = read_last(s, &last_id, prev, &prev_len);
    if (rc < 0)
        goto out;
    f[0] = f_int(last_id + 1, false);
    f[1] = f_int(bp_clock_now_ms(), false);
    f[2] = f_int(actor_staff_id, true);
    f[3] = f_text(actor);
    f[4] = f_text(action);
    f[5] = f_text(object_type);
    f[6] = f_int(object_id, true);
    f[7] = f_text(detail_json);
    rc = hash_row(prev, prev_len, f, hash);
    if (rc == 0)
        rc = insert_row(s, f, prev, prev_len, hash);
out:
    if (own_tx) {
        if (rc == 0)
            rc = bp_store_commit(s);
        if (rc < 0)
            bp_store_rollback(s);
    }
    return rc;
}

int bp_store_audit_verify(struct bp_store *s, int64_t *first_bad_id)
{
    sqlite3_stmt *st = bp__store_stmt(s, SQL_ALL);
    unsigned char prev[HASH_LEN], want[HASH_LEN];
    size_t prev_len = 0;
    int rc;

    *first_bad_id = 0;
    if (st == NULL)
        return BP_ESTORE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct field f[NFIELDS];
        const void *ph = sqlite3_column_blob(st, 8);
        const void *h = sqlite3_column_blob(st, 9);
        size_t phn = (size_t)sqlite3_column_bytes(st, 8);
        size_t hn = (size_t)sqlite3_column_bytes(st, 9);
        int64_t id = sqlite3_column_int64(st, 0);
        bool ok;

        for (int k = 0; k < NFIELDS; k++)
            f[k] = f_column(st, k);
        ok = phn == prev_len && (prev_len == 0 || memcmp(ph, prev, phn) == 0);
        if (ok) {
            rc = hash_row(prev, prev_len, f, want);
            if (rc < 0) {
                sqlite3_reset(st);
                return rc;
            }
            ok = hn == HASH_LEN && memcmp(h, want, HASH_LEN) == 0;
        }
        if (!ok) {
            *first_bad_id = id;
            sqlite3_reset(st);
            return BP_ECONSTRAINT;
        }
        memcpy(prev, want, HASH_LEN);
        prev_len = HASH_LEN;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : bp__store_err(rc);
}
