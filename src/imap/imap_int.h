/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals of src/imap/ (never included outside the module and its unit
 * tests):
 *   proto.c  pure helpers: URL split, untagged-response parsing (STATUS,
 *            SEARCH), UID sets, CURLcode classification, backoff;
 *   curlm.c  libcurl multi <-> libuv glue and the one-command-at-a-time
 *            runner on a single easy handle (one IMAP connection, reused);
 *   msg.c    a fetched message: parse on the thread pool, store request;
 *   poll.c   the poll cycle state machine, stats, metrics, health.
 */
#ifndef BP_IMAP_INT_H
#define BP_IMAP_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "bp/base.h"
#include "bp/imap.h"
#include "bp/mime.h"
#include "bp/store_email.h"

/* ---- proto.c ---------------------------------------------------------- */

/* "imaps://h:p/Box%20A" -> base "imaps://h:p/", mailbox "Box A" (percent
 * decoded; "INBOX" when empty), hostport "h:p".  New strings (free()).
 * BP_ECONFIG on anything else (eb says why). */
BP_WUR int bp__imap_url_split(const char *url, char **base, char **mailbox,
                              char **hostport, struct bp_errbuf *eb);
/* Appends an IMAP quoted string ("a \"b\"") to b. */
BP_WUR int bp__imap_quote(struct bp_buf *b, const char *s);
/* Finds "UIDVALIDITY n" and "UIDNEXT n" in an untagged STATUS answer.
 * Returns 0 when UIDVALIDITY was found (uidnext 0 when absent). */
BP_WUR int bp__imap_parse_status(const char *resp, size_t len,
                                 int64_t *uidvalidity, int64_t *uidnext);
/* Collects the numbers of "* SEARCH ..." lines that are > above, sorted
 * ascending, without repeats.  *uids is new (free()), *n its length. */
BP_WUR int bp__imap_parse_search(const char *resp, size_t len, int64_t above,
                                 int64_t **uids, size_t *n);
/* Appends the UIDs as an IMAP sequence set with ranges ("3:5,9"). */
BP_WUR int bp__imap_uid_set(struct bp_buf *b, const int64_t *uids, size_t n);
/* The error kind of a failed transfer. */
enum bp_imap_err_kind bp__imap_classify(CURLcode rc);
/* Delay before retry number `failures` (1, 2, ...): base doubling to cap. */
int64_t bp__imap_backoff_ms(uint64_t failures, int64_t base_ms, int64_t cap_ms);

/* ---- curlm.c ---------------------------------------------------------- */

struct bp__imap_curl;
/* Called on the loop thread when the command finished: rc is the CURLcode,
 * resp (valid until the next command) what the server sent. */
typedef void (*bp__imap_cmd_cb)(void *arg, CURLcode rc, struct bp_buf *resp);

struct bp__imap_curl *bp__imap_curl_new(uv_loop_t *loop, const char *user,
                                        const char *password);
/* Runs one command: url (copied) with custom (NULL: a URL fetch), on a
 * new connection when fresh (else the open one is reused), collecting up
 * to cap bytes of the answer.  One command at a time. */
BP_WUR int bp__imap_curl_run(struct bp__imap_curl *c, const char *url,
                             const char *custom, bool fresh, size_t cap,
                             bp__imap_cmd_cb cb, void *arg);
bool bp__imap_curl_busy(const struct bp__imap_curl *c);
/* Cancels the command (its callback never runs), closes the connection
 * and every handle; done(arg) runs from the last close callback. */
void bp__imap_curl_close(struct bp__imap_curl *c, void (*done)(void *), void *arg);

/* ---- msg.c ------------------------------------------------------------ */

struct bp__imap_msg {
    struct bp_imap *im;
    int64_t uid;
    size_t idx;                    /* position in the cycle's UID list */
    char *raw;                     /* fetched bytes; freed after parsing */
    size_t raw_len;
    struct bp_mime_msg *mime;      /* parse result */
    char *media_json;
    int parse_rc;
    bool ignored;                  /* from our own address */
    struct bp_store_email_in in;
    struct bp_store_wreq wreq;
    uv_work_t work;
};

/* Parses m->raw on the thread pool, then calls bp__imap_msg_parsed on the
 * loop thread. */
BP_WUR int bp__imap_msg_parse(uv_loop_t *loop, struct bp__imap_msg *m);
/* Fills m->in from m->mime (pointers into m->mime). */
void bp__imap_msg_fill(struct bp__imap_msg *m, int64_t now_ms, int64_t window_ms);
void bp__imap_msg_free(struct bp__imap_msg *m);
/* Builds [{"name":..,"type":..,"size":..}] for the attachments; NULL if none. */
char *bp__imap_media_json(const struct bp_mime_msg *mm);

/* poll.c: the loop-thread continuation of a parse and of a store write. */
void bp__imap_msg_parsed(struct bp__imap_msg *m);

/* What the parse worker needs from the poller (set in bp_imap_new). */
struct bp__imap_parse_conf {
    struct bp_mime_limits lim;
    char *own_address;             /* lower-cased, or NULL */
};
const struct bp__imap_parse_conf *bp__imap_parse_conf(const struct bp_imap *im);

#endif
