/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals of src/imap/ (never included outside the module and its unit
 * tests):
 *   proto.c  pure helpers: URL split, untagged-response parsing (STATUS,
 *            SEARCH), UID sets, CURLcode classification, backoff;
 *   curlm.c  libcurl multi <-> libuv glue and one-command-at-a-time
 *            runners, one easy handle (one IMAP connection, reused) each;
 *   msg.c    a fetched message: parse on the thread pool, store request;
 *   poll.c   the poll cycle: STATUS, SEARCH window, move, cursor;
 *   seen.c   \Seen for the cycle's window before its fetches, in one
 *            STORE that covers the backlog after it too;
 *   fetch.c  the fetch phase: parallel fetches, parse, store in UID order,
 *            verification of messages that came back empty;
 *   life.c   bp_imap_new/start/stop/free, stats, metrics, health.
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
/* Appends mailbox to b percent-encoded for a URL path segment (RFC 3986
 * unreserved characters kept, everything else %XX). */
BP_WUR int bp__imap_url_encode(struct bp_buf *b, const char *mailbox);
/* Appends the UIDs as an IMAP sequence set with ranges ("3:5,9"). */
BP_WUR int bp__imap_uid_set(struct bp_buf *b, const int64_t *uids, size_t n);
/* The error kind of a failed transfer. */
enum bp_imap_err_kind bp__imap_classify(CURLcode rc);
/* Delay before retry number `failures` (1, 2, ...): base doubling to cap. */
int64_t bp__imap_backoff_ms(uint64_t failures, int64_t base_ms, int64_t cap_ms);
/* The last UID of a window's \Seen STORE range (seen.c): window_last (the
 * window's highest UID found) or more, up to UIDNEXT - 1 and at most ahead
 * past the cursor.  0 without UIDNEXT (then the STORE names the UIDs). */
int64_t bp__imap_seen_end(int64_t cursor, int64_t uidnext, int64_t window_last, int64_t ahead);

/* ---- curlm.c ---------------------------------------------------------- */

struct bp__imap_curl;              /* the multi handle and its loop glue */
struct bp__imap_conn;              /* one runner: an easy handle, a connection */
/* Called on the loop thread when the command finished: rc is the CURLcode,
 * resp (valid until the runner's next command) what the server sent. */
typedef void (*bp__imap_cmd_cb)(void *arg, CURLcode rc, struct bp_buf *resp);

#define BP__IMAP_FRESH  1u         /* open a new connection for this command */
#define BP__IMAP_STRICT 2u         /* a clipped answer line fails the command */

/* Login, STARTTLS and CA settings are taken from o (libcurl copies them). */
struct bp__imap_curl *bp__imap_curl_new(uv_loop_t *loop, size_t nconns,
                                        const struct bp_imap_opts *o);
/* libcurl's receive buffer of runner k (CURLOPT_BUFFERSIZE): answer lines
 * over half of it are clipped. */
void bp__imap_conn_set_buffer(struct bp__imap_conn *k, long bytes);
/* Runner i (0 <= i < nconns), owned by c. */
struct bp__imap_conn *bp__imap_curl_conn(struct bp__imap_curl *c, size_t i);
/* Runs one command on k: url (copied) with custom (NULL: a URL fetch),
 * flags BP__IMAP_*, collecting up to cap bytes of the answer (more:
 * CURLE_WRITE_ERROR).  One command at a time per runner. */
BP_WUR int bp__imap_conn_run(struct bp__imap_conn *k, const char *url, const char *custom,
                             unsigned flags, size_t cap, bp__imap_cmd_cb cb, void *arg);
bool bp__imap_conn_busy(const struct bp__imap_conn *k);
/* Duration of k's last command (microseconds). */
int64_t bp__imap_conn_time_us(const struct bp__imap_conn *k);
/* Any runner busy. */
bool bp__imap_curl_busy(const struct bp__imap_curl *c);
/* Cancels every command (their callbacks never run), closes the
 * connections and every handle; done(arg) runs from the last close
 * callback. */
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

/* fetch.c: the loop-thread continuation of a parse. */
void bp__imap_msg_parsed(struct bp__imap_msg *m);

/* What the parse worker needs from the poller (set in bp_imap_new). */
struct bp__imap_parse_conf {
    struct bp_mime_limits lim;
    char *own_address;             /* lower-cased, or NULL */
};
const struct bp__imap_parse_conf *bp__imap_parse_conf(const struct bp_imap *im);

/* ---- the poller (poll.c, fetch.c, life.c) ----------------------------- */

#define BP__IMAP_FETCHERS 4         /* parallel fetch connections */
#define BP__IMAP_WINDOW_MAX 2000    /* UIDs per SEARCH window: the longest
                                       answer line (about 22 KB) stays under
                                       the control runner's clipping threshold
                                       (half of BP__IMAP_CTL_BUFFER) */
#define BP__IMAP_CTL_BUFFER (128L << 10)
#define BP__IMAP_SEEN_AHEAD 20000   /* UIDs past the cursor one \Seen STORE
                                       may cover (seen.c) */

enum bp__imap_state { BP__S_IDLE = 0, BP__S_STATUS, BP__S_SEARCH, BP__S_SEEN, BP__S_FETCH,
                      BP__S_VERIFY, BP__S_POST, BP__S_CURSOR };

/* Per UID of the cycle (slot_state). */
enum bp__imap_slot {
    BP__SLOT_PENDING = 0,          /* not fetched yet, or in flight */
    BP__SLOT_PARSED,               /* parsed, waiting for its turn to be stored */
    BP__SLOT_DONE,                 /* stored, duplicate, ignored or skipped */
    BP__SLOT_MAYBE_GONE,           /* fetch came back empty: verify */
    BP__SLOT_FAILED,               /* not fetched: the cursor must not pass it */
};

struct bp__imap_fetcher {
    struct bp_imap *im;
    struct bp__imap_conn *conn;
    size_t idx;                    /* UID index being fetched */
    bool used;                     /* has a connection (else: fresh) */
    bool opening;                  /* its command opens a new session */
};

struct bp_imap {
    uv_loop_t *loop;
    struct bp_store_writer *writer;
    struct bp_store *ro;
    struct bp__imap_curl *curl;    /* the fetch runners' multi handle */
    struct bp__imap_curl *ctl_curl; /* the control runner's own (life.c) */
    struct bp__imap_conn *ctl;     /* STATUS, SEARCH, STORE, MOVE, verify */
    struct bp__imap_fetcher fetchers[BP__IMAP_FETCHERS];
    uv_timer_t timer;
    bool stopping, started;
    char *base_url, *mailbox, *mailbox_url, *account, *move_to;
    struct bp__imap_parse_conf pc;
    int64_t poll_ms, window_ms;
    size_t max_msg, batch_max;
    void (*on_stored)(void *arg, int64_t message_id, int64_t conversation_id);
    void *on_stored_arg;
    /* cursor as committed */
    bool cursor_loaded;
    int64_t uidvalidity, last_uid;
    /* the cycle */
    enum bp__imap_state state;
    int64_t cycle_uidvalidity, uidnext, window_end;
    /* UIDNEXT of the last fresh STATUS: cycles below it skip the STATUS
     * (poll.c); status_kind "fresh" or "kept" for the debug log */
    int64_t drain_uidnext;
    const char *status_kind;
    int64_t *uids;
    size_t nuids;
    struct bp__imap_msg **slot;    /* parsed, waiting for its turn */
    unsigned char *slot_state;     /* enum bp__imap_slot */
    unsigned char *retried;        /* fetch retried once on a fresh connection */
    size_t next_submit;            /* store writes go in UID order */
    size_t next_fetch, fetching, in_flight, in_flight_bytes;
    bool more, failed, fetch_stopped;
    char **post;                   /* commands after the commit */
    size_t npost, post_i;
    struct bp_store_imap_cursor cursor_arg;
    struct bp_store_wreq cursor_req;
    /* \Seen already stored (seen.c): UIDs <= seen_through of the mailbox
     * with seen_uidvalidity; ahead_to: the end of the STORE in flight */
    int64_t seen_uidvalidity, seen_through, ahead_to;
    /* phase timings of the cycle (debug `cycle_timing`), uv_hrtime() ns */
    uint64_t t_status, t_search, t_seen, t_fetch, t_post;
    /* outage reporting */
    struct bp_imap_stats st;
    enum bp_imap_err_kind last_err;
    bool ever_up, down_logged;
    int64_t down_since_ms;
};

/* poll.c */
/* "<verb><uid set><tail><quoted folder>" (tail, folder may be NULL); NULL
 * when too long. */
char *bp__imap_cmd_with_set(const char *verb, const int64_t *uids, size_t n,
                            const char *tail, const char *folder);
/* UIDs per SEARCH window. */
size_t bp__imap_window(const struct bp_imap *im);
void bp__imap_schedule(struct bp_imap *im, int64_t delay_ms);
void bp__imap_clear_cycle(struct bp_imap *im);
/* Records a failure of the cycle; the cycle ends when nothing is in flight. */
void bp__imap_cycle_fail(struct bp_imap *im, enum bp_imap_err_kind kind, const char *what);
/* Ends the cycle when nothing is in flight any more. */
void bp__imap_maybe_finish(struct bp_imap *im);
/* seen.c */
/* After the SEARCH: stores \Seen for the window's UIDs not marked yet (and
 * the backlog after them), then starts the fetch phase. */
void bp__imap_seen_start(struct bp_imap *im);
/* Forgets which UIDs are marked already (after a failed cycle: the next
 * cycle stores \Seen for its window again). */
void bp__imap_seen_forget(struct bp_imap *im);
/* fetch.c */
/* Starts fetches while runners, in-flight and byte budgets allow. */
void bp__imap_fetch_more(struct bp_imap *im);
/* Verifies the UIDs whose fetch came back empty (UID SEARCH on the
 * control runner): gone ones are skipped (warn), present ones fail. */
void bp__imap_verify(struct bp_imap *im);
/* Index of the first UID of the cycle not done (nuids when all are). */
size_t bp__imap_done_prefix(const struct bp_imap *im);
extern const char *const bp__imap_kind_names[BP_IMAP_ERR__COUNT];

#endif
