/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The unsubscribe link of every e-mail (RFC 2369 List-Unsubscribe https
 * target, RFC 8058 one-click): routes GET and POST /unsubscribe/<token>,
 * where the token is the delivery's idempotency key (docs/outbox.md,
 * "Unsubscribe").
 *
 *  - GET (and HEAD) shows a small page in the family's language naming the
 *    school and the address, with a button (a POST form).  GET never changes
 *    anything: link scanners and mail security gateways prefetch links.
 *  - POST (that form, or a mail client's one-click POST with the body
 *    List-Unsubscribe=One-Click) opts the delivery's e-mail contact out
 *    through the store writer and answers the "done" page after the commit.
 *    Repeated POSTs answer the same page and write nothing more.
 *  - An unknown or malformed token gets a 404 page with one wording (no
 *    oracle telling the two apart), in the school's default language.
 *
 * Layer: unsub (uses http, store, tmpl).  Threading: loop thread only.
 */
#ifndef BP_UNSUB_H
#define BP_UNSUB_H

#include "bp/base.h"
#include "bp/err.h"
#include "bp/http.h"
#include "bp/store.h"
#include "bp/tmpl.h"

struct bp_unsub;

struct bp_unsub_opts {
    const struct bp_tmpl_catalog *catalog;  /* borrowed: must outlive the module */
    const char *school_name;                /* copied */
    const char *default_locale;             /* copied; the school's language */
};

/*
 * Creates the module.  writer and ro (a read-only store of the loop thread,
 * used for the GET lookup) are borrowed and must outlive it.  *out is new:
 * release with bp_unsub_free after the HTTP server is closed.  Errors:
 * BP_EINVAL_INPUT when catalog, writer or ro is NULL.
 */
BP_WUR int bp_unsub_new(struct bp_store_writer *writer, struct bp_store *ro,
                        const struct bp_unsub_opts *o, struct bp_unsub **out,
                        struct bp_errbuf *eb);
/* Registers GET/HEAD/POST /unsubscribe/<token> on srv. */
BP_WUR int bp_unsub_register(struct bp_unsub *u, struct bp_http_server *srv);
/* Appends backpack_unsubscribe_requests_total{result=...} (Prometheus text). */
BP_WUR int bp_unsub_metrics_write(const struct bp_unsub *u, struct bp_buf *out);
void bp_unsub_free(struct bp_unsub *u);   /* NULL-safe */

/* ---- the page (src/unsub/page.c; pure, any thread) ---------------------- */

enum bp_unsub_page {
    BP_UNSUB_PAGE_CONFIRM,   /* question + button (GET) */
    BP_UNSUB_PAGE_DONE,      /* after the POST, or already opted out */
    BP_UNSUB_PAGE_UNKNOWN,   /* unknown or malformed token */
};

/*
 * Appends the whole HTML page to out: the catalogue locale negotiated from
 * locale (the guardian's; NULL or "" = unknown) with default_locale as the
 * fallback, lang and dir ("rtl" for right-to-left locales) on <html>, every
 * value HTML-escaped, the school name and address isolated in <bdi>.  The
 * CONFIRM form posts List-Unsubscribe=One-Click to the page's own URL.
 * address may be NULL for UNKNOWN.  Returns 0, BP_ENOTFOUND (no catalogue
 * entry even in the default), BP_EINVAL_INPUT (render error), BP_ETOOBIG.
 */
BP_WUR int bp_unsub_page_render(const struct bp_tmpl_catalog *cat,
                                enum bp_unsub_page kind, const char *locale,
                                const char *default_locale, const char *school,
                                const char *address, struct bp_buf *out,
                                struct bp_errbuf *eb);

#endif
