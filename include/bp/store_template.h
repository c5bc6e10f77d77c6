/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Custom (school) message templates in the database: tables template and
 * template_variant (migration 0001).  A template is a key, a description
 * and one ICU MessageFormat pattern per locale (plus an optional e-mail
 * subject).  Validation (ICU syntax, argument sets) is done by the caller
 * (src/tmpl_api/) before anything is written; this module only stores.
 *
 * The daemon is one school ([school] in the config), so custom templates
 * are stored with school_id NULL.  SQLite treats NULLs as distinct in the
 * UNIQUE (school_id, key) constraint, so uniqueness of the key is kept by
 * bp_store_template_put itself (find by key, then update or insert).
 *
 * Threading: every function runs on the thread that owns the connection;
 * bp_store_template_put and bp_store_template_delete are written to run as
 * store-writer requests (inside the writer's transaction), or inside a
 * CLI's bp_store_begin/commit.
 */
#ifndef BP_STORE_TEMPLATE_H
#define BP_STORE_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "bp/base.h"
#include "bp/store.h"

struct bp_store_template_variant {
    const char *locale;      /* BCP 47, as given */
    const char *subject;     /* may be NULL */
    const char *pattern;
};

/* One template to save (strings borrowed for the duration of the call). */
struct bp_store_template {
    const char *key;
    const char *description;            /* NULL = "" */
    const struct bp_store_template_variant *variants;
    size_t nvariants;
    int64_t actor_staff_id;             /* 0 = none (admin token) */
    const char *actor;                  /* audit actor, e.g. "api" */
    int64_t now_ms;
    /* output */
    int64_t id;
    int created;                        /* 1 new key, 0 replaced */
};

/*
 * Creates or replaces the template t->key: description updated, the
 * variants REPLACED by t->variants (a locale left out is deleted), one
 * audit row (template.create / template.update).  Returns 0,
 * BP_ECONSTRAINT for a key or locale the schema refuses, or a store error.
 * Usable as a bp_store_write_fn (arg: struct bp_store_template).
 */
BP_WUR int bp_store_template_put(struct bp_store *s, void *arg);

/* Deletes a custom template and its variants (one audit row).  Returns 0
 * or BP_ENOTFOUND. */
struct bp_store_template_del {
    const char *key;
    int64_t actor_staff_id;
    const char *actor;
};
BP_WUR int bp_store_template_delete(struct bp_store *s, void *arg);

/* One stored variant, as listed (strings valid during the callback only). */
struct bp_store_template_row {
    int64_t id;
    const char *key, *description;
    const char *locale, *subject, *pattern;
    int64_t updated_at;
};
typedef int (*bp_store_template_row_fn)(void *arg,
                                        const struct bp_store_template_row *r);

/*
 * Calls fn for every variant of every custom template (system = 0), ordered
 * by key then locale.  A template without variants is not listed.  A
 * negative return from fn stops the walk and is returned.  Any connection
 * of the calling thread (read-only is fine).
 */
BP_WUR int bp_store_template_list(struct bp_store *s, bp_store_template_row_fn fn,
                                  void *arg);

#endif
