/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Inbound e-mail: MIME parsing (GMime 3) into plain structs, and the
 * extraction of what the parent actually wrote (without quoted history or
 * signature).  GMime objects never leave src/mime/ (STYLE.md C4.6).
 *
 * Threading: pure functions, any thread; a parsed message belongs to the
 * caller (bp_mime_msg_free).  bp_mime_init() must have been called once
 * (from the main thread, before other threads use GMime).
 */
#ifndef BP_MIME_H
#define BP_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp/err.h"

struct bp_mime_limits {
    size_t max_raw_kept;        /* raw message bytes kept for audit (0 = none) */
    size_t max_attachment;      /* attachment bytes kept per attachment (0 = none) */
    size_t max_attachments;     /* attachments recorded at most */
    size_t max_text;            /* body text bytes kept */
};

struct bp_mime_attachment {
    char *filename;             /* decoded, UTF-8; may be NULL */
    char *content_type;         /* "image/jpeg" */
    size_t size;                /* decoded size */
    unsigned char *data;        /* kept content (NULL when over the limit) */
    size_t data_len;
};

enum bp_mime_kind {
    BP_MIME_NORMAL = 0,
    BP_MIME_AUTO_REPLY,         /* out of office, auto-responder, bulk; also
                                   DSNs that are not failures (Action:
                                   delayed/delivered/relayed/expanded) and
                                   mailer-daemon mail without a DSN */
    BP_MIME_BOUNCE,             /* delivery status notification, Action:
                                   failed (bounce fields filled) */
};

struct bp_mime_bounce {
    char *original_message_id;  /* Message-ID of the mail that bounced, without <> */
    char *recipient;            /* Final-Recipient / Original-Recipient address */
    char status[16];            /* "5.1.1" */
    bool hard;                  /* 5.x.x */
    char action[16];            /* "failed", lower-case ("" when absent) */
};

struct bp_mime_msg {
    char *message_id;           /* without <>; NULL when absent */
    char *in_reply_to;          /* without <> */
    char **references;          /* without <>, oldest first */
    size_t nreferences;
    char *from_addr;            /* lower-cased */
    char *from_name;            /* decoded display name, UTF-8 */
    char **recipients;          /* To, Cc, Delivered-To, X-Original-To; lower-cased */
    size_t nrecipients;
    char *subject;              /* decoded, UTF-8 */
    int64_t date_ms;            /* Date header, 0 when absent or invalid */
    char *text;                 /* the whole readable body, UTF-8, LF line ends
                                   (text/plain preferred, else HTML made text) */
    char *reply;                /* what the sender wrote (quotes, signature removed) */
    enum bp_mime_kind kind;
    struct bp_mime_bounce bounce;   /* when kind == BP_MIME_BOUNCE */
    struct bp_mime_attachment *attachments;
    size_t nattachments;
    char raw_sha256[65];        /* hex SHA-256 of the raw message (dedupe) */
    char *raw;                  /* first max_raw_kept bytes of the raw message */
    size_t raw_len;
};

/* Initialises GMime once; idempotent. */
void bp_mime_init(void);

/*
 * Parses a raw RFC 5322 message.  raw is borrowed (never modified, not kept).
 * lim may be NULL for the defaults (raw 1 MiB, attachment 1 MiB, 32
 * attachments, text 256 KiB).  Attachments over max_attachment are still
 * recorded (name, type, decoded size) with data NULL.  Never crashes on
 * bad input: broken charsets degrade to replacement characters, missing
 * parts give empty strings; every string out is valid UTF-8.  *out is new (bp_mime_msg_free).  Returns 0, or
 * BP_EINVAL_INPUT when the bytes are not a message at all.
 */
BP_WUR int bp_mime_parse(const char *raw, size_t len,
                         const struct bp_mime_limits *lim,
                         struct bp_mime_msg **out, struct bp_errbuf *eb);
void bp_mime_msg_free(struct bp_mime_msg *m);

/*
 * The visible reply in text (UTF-8, LF): everything before the quoted
 * history ("On <date>, <name> wrote:", Outlook "From: ... Sent: ..." blocks,
 * "-----Original Message-----", '>' quotes, in en/es/fr/pt/vi/zh) and
 * without the signature ("-- ", "Sent from my iPhone"...).  Returns a new
 * string (free()).
 */
char *bp_mime_extract_reply(const char *text);

#endif
