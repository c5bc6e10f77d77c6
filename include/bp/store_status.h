/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Delivery-status callbacks from the SMS provider, applied on the store
 * writer thread (a bp_store_write_fn; arg is struct bp_store_status_update).
 *
 * Statuses arrive out of order and more than once.  A status only moves a
 * delivery forward in this order, so a late "sent" never undoes
 * "delivered" and a late "delivered" never hides a failure:
 *     queued < sending < sent < delivered < undeliverable = failed
 * (a failure reported after "delivered" wins: carriers do send a failure
 * DLR after an initial success).  Error codes change the contact too:
 * 21610 (the recipient unsubscribed at the carrier) opts it out; 30003,
 * 30005, 30006 (unreachable, unknown, landline) mark it invalid -- each with
 * a consent_event (source 'carrier').
 *
 * A status for a sid no delivery has yet is kept (`kept`) and applied when
 * the send's result records that sid (bp_store_record_results): providers
 * can call back before the writer has recorded their answer to the send.
 */
#ifndef BP_STORE_STATUS_H
#define BP_STORE_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "bp/store.h"

struct bp_store_status_update {
    /* input (borrowed) */
    const char *provider;
    const char *provider_msg_id;
    const char *status;          /* provider status word */
    const char *error_code;      /* NULL when none */
    int64_t now_ms;
    bool replay;                 /* applying a kept status: never keep it again */
    /* output */
    bool found;                  /* a delivery has this provider id */
    bool kept;                   /* none has (yet): kept for when one does */
    bool applied;                /* its state changed */
    char old_state[16];
    char new_state[16];
    const char *contact_change;  /* "opted_out", "invalid" or NULL */
};

/* Replayable (bp/store.h): sets every output afresh, keeps nothing outside
 * the database. */
int bp_store_delivery_status(struct bp_store *s, void *arg);

/* Maps a provider status word to a delivery state ("sent"...), or NULL for
 * words that say nothing new (accepted, scheduled, read...).  Pure. */
const char *bp_store_status_state(const char *provider_status);

#endif
