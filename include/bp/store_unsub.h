/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unsubscribe through an e-mail's List-Unsubscribe https link (RFC 8058):
 * the token in /unsubscribe/<token> is a delivery's idempotency key (unique
 * index), which names the e-mail contact to opt out.  Only e-mail
 * deliveries to e-mail contacts are found: an SMS delivery's key (sent to
 * the SMS provider as an idempotency header) never unsubscribes anyone.
 * Implemented in src/store/unsub.c; docs/outbox.md "Unsubscribe".
 */
#ifndef BP_STORE_UNSUB_H
#define BP_STORE_UNSUB_H

#include <stdbool.h>
#include <stdint.h>

#include "bp/store.h"

#define BP_STORE_UNSUB_ADDR_MAX 321     /* RFC 5321 path limit + NUL */

struct bp_store_unsub_info {
    int64_t delivery_id;
    int64_t message_id;
    int64_t contact_id;
    char address[BP_STORE_UNSUB_ADDR_MAX];   /* the e-mail address */
    bool opted_out;                          /* contact status is opted_out */
    /* The family's language: the locale of the message's guardian, else of
     * the contact's first guardian, else the delivery's locale; "" if none. */
    char locale[36];
};

/*
 * Finds the e-mail delivery whose idempotency key is token (one indexed
 * lookup).  Returns 1 and fills *out when found, 0 when there is no such
 * e-mail delivery (token NULL or empty: 0), or a negative BP_E... on a
 * database error.  Read-only: any connection, on the thread that owns s
 * (the daemon uses its loop thread's read-only store).
 */
BP_WUR int bp_store_unsub_find(struct bp_store *s, const char *token,
                               struct bp_store_unsub_info *out);

/* One unsubscribe request (the arg of bp_store_unsub_apply). */
struct bp_store_unsub {
    /* in (borrowed until the write completes) */
    const char *token;
    int64_t now_ms;
    bool one_click;          /* the body carried List-Unsubscribe=One-Click */
    /* out */
    bool found;              /* false: unknown token, nothing written */
    bool changed;            /* false: the contact was opted out already */
    struct bp_store_unsub_info info;
};

/*
 * Store-writer function (bp_store_write_fn; arg is a struct bp_store_unsub).
 * When the token names an e-mail delivery whose contact is not opted out:
 * contact -> status 'opted_out', consent_source 'email', consent_at now; one
 * consent_event (kind 'opt_out', source 'email', message_id of the
 * delivery); one audit row (actor "family", action "contact.opt_out",
 * object contact, detail {"source":"email","via":"list_unsubscribe",
 * "delivery":ID,"one_click":bool}).  Already opted out: nothing written
 * (changed = false), so a repeated POST adds no event.  Unknown token: 0
 * with found = false.  Writer thread, inside the writer's transaction.
 */
BP_WUR int bp_store_unsub_apply(struct bp_store *s, void *arg);

#endif
