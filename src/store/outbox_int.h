/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by src/store/outbox_audience.c and
 * src/store/outbox_preview.c (never included elsewhere).
 */
#ifndef BP_STORE_OUTBOX_INT_H
#define BP_STORE_OUTBOX_INT_H

#include "bp/store_outbox.h"

/* Fills the temp tables bp_aud_pair, bp_aud_g and bp_aud_c (the audience's
 * links, guardians and chosen contacts) for a; writes nothing else.
 * BP_ENOTFOUND (a->errmsg) for an unknown audience reference. */
int bp__store_aud_choose(struct bp_store *s, struct bp_store_announce *a);

#endif
