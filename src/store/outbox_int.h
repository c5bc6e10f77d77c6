/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by src/store/outbox_audience.c, outbox_choose.c and
 * outbox_preview.c (never included elsewhere).
 */
#ifndef BP_STORE_OUTBOX_INT_H
#define BP_STORE_OUTBOX_INT_H

#include "bp/store_outbox.h"

/* Creates the audience's temp tables (empty) on this connection. */
int bp__store_aud_tables(struct bp_store *s);

/* Fills the temp tables bp_aud_g and bp_aud_c (the audience's guardians and
 * chosen contacts; made empty by bp__store_aud_tables first) for a; writes
 * nothing else.  BP_ENOTFOUND (a->errmsg)
 * for an unknown audience reference. */
int bp__store_aud_choose(struct bp_store *s, struct bp_store_announce *a);

/* (guardian_id, reason) of every guardian of bp_aud_g left without a
 * delivery: may_not_receive, no_student, opted_out when an opted-out
 * contact is why, else no_contact.  A guardian who may receive has a chosen
 * contact exactly when they have an active one (SQL_CHOOSE falls back to
 * the other channel), whoever's row the contact ended up in. */
#define BP__AUD_SKIPS \
    "SELECT ag.guardian_id AS guardian_id," \
    "   CASE WHEN ag.ok = -1 THEN 'no_student'" \
    "        WHEN ag.ok = 0 THEN 'may_not_receive'" \
    "        WHEN EXISTS (SELECT 1 FROM guardian_contact gc JOIN contact c ON c.id = gc.contact_id" \
    "                      WHERE gc.guardian_id = ag.guardian_id AND c.status = 'opted_out')" \
    "        THEN 'opted_out' ELSE 'no_contact' END AS reason" \
    "   FROM temp.bp_aud_g ag" \
    "  WHERE ag.ok <> 1 OR NOT EXISTS (SELECT 1 FROM guardian_contact gc" \
    "          JOIN contact c ON c.id = gc.contact_id" \
    "         WHERE gc.guardian_id = ag.guardian_id AND c.status = 'active')"

/*
 * The same choice made on a second, read-only connection to the database
 * file while the caller's connection writes the announcement's messages
 * (src/store/outbox_choose.c): the two halves of an announcement that do
 * not depend on each other, on two cores.  The second connection reads the
 * last committed state, which is the caller's too as long as its
 * transaction has not changed the roster (bp_store_announce's never has:
 * it runs alone, in bulk mode, or first in the CLI's transaction; a
 * writer's BEGIN IMMEDIATE keeps anyone else from committing meanwhile).
 *
 * start: 0 when the thread runs; < 0 when it cannot (an in-memory
 * database, a->serial): the caller then chooses on its own connection.
 * rows: waits for the chosen contacts and copies them into the caller's
 * bp_aud_c (or returns the choice's error, BP_ENOTFOUND with a->errmsg).
 * finish: waits for the thread (it works out the skipped guardians'
 * reasons meanwhile), then with write_rows writes the delivery_skip rows of
 * a->announcement_id.  Call finish exactly once after a successful start,
 * also on errors (write_rows false: it only waits and frees).
 */
struct bp__aud_par;
int bp__aud_par_start(struct bp_store *s, const struct bp_store_announce *a,
                      struct bp__aud_par **out);
int bp__aud_par_rows(struct bp__aud_par *p, struct bp_store *s, struct bp_store_announce *a);
int bp__aud_par_finish(struct bp__aud_par *p, struct bp_store *s,
                       struct bp_store_announce *a, bool write_rows);

#endif
