/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Custom templates (src/tmpl_api/): school templates that admins create and
 * edit through the HTTP API, stored in the database (store_template.h) and
 * rendered exactly like the catalogue's (locales/NN.json).
 *
 * The LIVE CATALOGUE.  Renderers need one struct bp_tmpl_catalog holding the
 * file catalogue AND the saved templates; a save must become visible to the
 * next announcement.  A bp_tmpl_catalog is immutable once shared (that is
 * what makes bp_tmpl_render thread-safe without locks), so a save does not
 * change it: it builds a NEW snapshot (files reloaded, every DB template
 * compiled) and swaps the holder's current pointer -- an RCU-like scheme
 * with reference counts instead of grace periods:
 *
 *   snap = bp_tmpl_api_acquire(live);          any thread; never blocks long
 *   cat  = bp_tmpl_api_catalog(snap);          use it for a whole announcement
 *   ... bp_tmpl_negotiate(cat, ...); bp_tmpl_render(cat, ...) ...
 *   bp_tmpl_api_release(live, snap);           same thread or another
 *
 * A snapshot stays valid (and unchanged) until released, even if a save
 * swapped in a newer one meanwhile; the old one is freed by whoever drops
 * its last reference.  The holder's mutex only guards the pointer and the
 * counts (a few instructions), never a render.  Building a snapshot takes
 * ~20-40 ms (13 locale files compiled) and happens on the store writer
 * thread inside the save's transaction, so the DB and the catalogue never
 * disagree: a snapshot that fails to build rolls the save back.
 */
#ifndef BP_TMPL_API_H
#define BP_TMPL_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp/base.h"
#include "bp/conf.h"
#include "bp/http.h"
#include "bp/store.h"
#include "bp/tmpl.h"

struct bp_tmpl_live;
struct bp_tmpl_snap;

/*
 * Builds a catalogue from the files of dir (bp_tmpl_catalog_load_dir) plus
 * every custom template stored in s (bp_store_template_list).  *out is new
 * (bp_tmpl_catalog_free).  For `backpack send --template` (the CLI has its
 * own store connection) and for the daemon's start.  A stored variant that
 * no longer compiles (ICU upgrade) is skipped with a warning in the log
 * rather than refusing to start.  Thread owning s.
 */
BP_WUR int bp_tmpl_api_load(struct bp_store *s, const char *dir,
                            struct bp_tmpl_catalog **out, struct bp_errbuf *eb);

/*
 * Creates the holder with its first snapshot (dir + the templates in s).
 * dir is copied.  source_locale is the locale whose variant every custom
 * template must have and whose arguments the others must match ([school]
 * default_locale; copied).  Thread owning s; *out is new (free with
 * bp_tmpl_api_live_free once every snapshot is released).
 */
BP_WUR int bp_tmpl_api_live_new(struct bp_store *s, const char *dir,
                                const char *source_locale,
                                struct bp_tmpl_live **out, struct bp_errbuf *eb);
void bp_tmpl_api_live_free(struct bp_tmpl_live *live);     /* NULL-safe */

/* The current snapshot, with one more reference.  Any thread. */
const struct bp_tmpl_snap *bp_tmpl_api_acquire(struct bp_tmpl_live *live);
/* Drops a reference taken by acquire (frees a retired snapshot).  Any thread. */
void bp_tmpl_api_release(struct bp_tmpl_live *live, const struct bp_tmpl_snap *snap);
/* The snapshot's catalogue: files + custom templates (valid until release). */
const struct bp_tmpl_catalog *bp_tmpl_api_catalog(const struct bp_tmpl_snap *snap);
/* The e-mail subject of a custom template's variant, or NULL (no subject,
 * not a custom template).  Valid until release. */
const char *bp_tmpl_api_subject(const struct bp_tmpl_snap *snap, const char *key,
                                const char *locale);
/* True when key is a custom (database) template of the snapshot. */
bool bp_tmpl_api_is_custom(const struct bp_tmpl_snap *snap, const char *key);

/*
 * Rebuilds the snapshot from dir and the templates now in s and makes it
 * current.  Runs on the thread owning s (the save's write request calls
 * it, so the caller's transaction sees its own write).  On failure the
 * current snapshot stays.  Returns 0 or the load error.
 */
BP_WUR int bp_tmpl_api_reload(struct bp_tmpl_live *live, struct bp_store *s,
                              struct bp_errbuf *eb);

/* ---- argument sets ---------------------------------------------------- */

/*
 * Writes the arguments a pattern uses into out as a canonical, sorted,
 * comma-separated list of name:kind ("count:plural,date:date,student:"),
 * kind being "" (plain {x}), number, date, time, plural, select,
 * selectordinal, spellout, ordinal, duration or choice.  Used to check that
 * every locale variant of a custom template uses exactly the arguments of
 * its source-locale variant.  BP_EINVAL_INPUT for a syntax error (offset
 * in eb), BP_ETOOBIG if out is too small.  Pure; any thread.
 */
BP_WUR int bp_tmpl_api_args(const char *pattern, char *out, size_t n,
                            struct bp_errbuf *eb);

/* ---- HTTP ------------------------------------------------------------- */

/*
 * Registers GET /api/templates, GET|PUT|DELETE /api/templates/<key> (JSON,
 * `Authorization: Bearer <[server] admin_token>`; see docs/translation.md
 * "Custom templates").  Saves and deletes are store-writer requests that
 * also rebuild the live catalogue.  conf, http, writer and live are
 * borrowed and must outlive the server.  Loop thread.
 */
BP_WUR int bp_tmpl_api_register(struct bp_http_server *http,
                                struct bp_store_writer *writer,
                                const struct bp_conf *conf,
                                struct bp_tmpl_live *live);

/*
 * The admin-token check shared by the admin routes: 0 when the request
 * carries `Authorization: Bearer <token>` equal to conf's admin_token
 * (compared in constant time on BLAKE2b hashes), else it has answered the
 * request (401 / 403) and returns BP_EAUTH.  Loop thread.
 */
BP_WUR int bp_tmpl_api_authorize(struct bp_http_req *req, const struct bp_conf *conf);

#endif
