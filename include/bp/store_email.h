/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Inbound e-mail in the store (src/store/email_in.c): storing a parsed
 * message and threading it to a student's conversation (DESIGN.md §4),
 * applying bounces and auto-replies, and the IMAP cursor (UIDVALIDITY and
 * last UID per mailbox).
 *
 * The input is plain data (the IMAP poller copies it from the MIME parse
 * result), so the store knows nothing of GMime or IMAP.
 *
 * Threading rules, first match wins, the rule is stored in
 * message.match_rule:
 *  1. 'reply_token': a recipient address <local>+<token>@<domain> whose
 *     token is a conversation's reply_token ("unsubscribe-<token>" too);
 *  2. 'email_header': In-Reply-To, then References (newest first), equal
 *     to the Message-ID of a delivery we sent (that delivery's
 *     conversation: one family), or of an outbound message row; when that
 *     row belongs to an announcement, the reply is scoped by the sender
 *     (the announcement's conversation of a student linked to the sender),
 *     never merged into another family's conversation;
 *  3. the sender's e-mail contact -> guardians -> students, as for SMS:
 *     'single_student', or 'recent_outbound' (the student of the latest
 *     delivery to this contact within recent_window_ms);
 *  4. otherwise 'triage' (inbound_unmatched: unknown_sender, no_student or
 *     ambiguous with the candidate student ids).
 * Subjects are never used for threading.
 *
 * Robots: kind AUTO_REPLY is stored with message.kind 'auto_reply' and
 * changes nothing else.  kind BOUNCE is stored with kind 'bounce' in the
 * conversation of the delivery that bounced (found by its Message-ID, else
 * the latest e-mail delivery to the bounced recipient); that delivery goes
 * to 'undeliverable' (hard, 5.x.x) or 'failed' (soft) through
 * bp_store_delivery_set_state, and a hard bounce marks the contact
 * 'bounced' with a consent_event (kind 'bounced', source 'email').
 *
 * Duplicates: a message whose raw SHA-256 or Message-ID is already stored
 * changes nothing and reports duplicate = true (IMAP resynchronisation
 * after a UIDVALIDITY change, a crash between commit and \Seen).
 */
#ifndef BP_STORE_EMAIL_H
#define BP_STORE_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp/store.h"

enum bp_store_email_kind {
    BP_STORE_EMAIL_NORMAL = 0,
    BP_STORE_EMAIL_AUTO_REPLY,
    BP_STORE_EMAIL_BOUNCE,
};

struct bp_store_email_in {
    /* input (borrowed; valid until the request completes) */
    const char *email_message_id;      /* without <>; NULL when absent */
    const char *in_reply_to;           /* without <>; NULL */
    const char *const *references;     /* without <>, oldest first */
    size_t nreferences;
    const char *from_addr;             /* lower-cased; NULL when absent */
    const char *const *recipients;     /* lower-cased (To, Cc, Delivered-To...) */
    size_t nrecipients;
    const char *subject;               /* may be NULL */
    const char *body;                  /* the extracted reply ("" allowed) */
    const char *body_full;             /* the whole readable text; may be NULL */
    const char *media_json;            /* JSON array of attachments or NULL */
    const char *raw_sha256;            /* 64 hex characters */
    enum bp_store_email_kind kind;
    const char *bounce_message_id;     /* BOUNCE: Message-ID that bounced */
    const char *bounce_recipient;      /* BOUNCE: the failed address */
    const char *bounce_status;         /* BOUNCE: "5.1.1" */
    bool bounce_hard;
    int64_t now_ms;
    int64_t recent_window_ms;
    /* output */
    bool duplicate;
    int64_t message_id;                /* row id (the existing one if duplicate) */
    int64_t conversation_id;           /* 0 when triaged */
    int64_t contact_id;                /* 0 for an unknown sender */
    const char *match_rule;            /* static string; NULL if duplicate */
    int64_t bounced_delivery_id;       /* BOUNCE: the delivery marked, or 0 */
    bool contact_bounced;              /* BOUNCE: contact status changed */
};

/* bp_store_write_fn (arg: struct bp_store_email_in): see above.  Writer
 * thread (or a CLI/test connection inside a transaction). */
BP_WUR int bp_store_email_in(struct bp_store *s, void *arg);

/* ---- IMAP cursor ---------------------------------------------------- */

/*
 * Reads the cursor of (account, mailbox).  Any connection of the calling
 * thread (the loop's read-only store).  Returns 0 with the values,
 * BP_ENOTFOUND when there is none yet, or a store error.
 */
BP_WUR int bp_store_imap_cursor_get(struct bp_store *s, const char *account,
                                    const char *mailbox, int64_t *uidvalidity,
                                    int64_t *last_uid);

struct bp_store_imap_cursor {
    /* input (borrowed) */
    const char *account;
    const char *mailbox;
    int64_t uidvalidity;               /* > 0 */
    int64_t last_uid;
    int64_t now_ms;
};

/*
 * bp_store_write_fn (arg: struct bp_store_imap_cursor): creates or updates
 * the cursor.  With the same UIDVALIDITY last_uid never goes backwards;
 * a new UIDVALIDITY replaces both values.
 */
BP_WUR int bp_store_imap_cursor_put(struct bp_store *s, void *arg);

#endif
