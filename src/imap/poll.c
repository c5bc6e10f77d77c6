/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The IMAP poll cycle (loop thread).  One cycle:
 *
 *   IDLE --timer--> STATUS ----> SEARCH ----> FETCH (one at a time)
 *     ^                            | none      | each message: parse on the
 *     |                            v           | thread pool, store write
 *     +-------- (cursor if changed) <--- MOVE (opt.) <-+ (group commit), in flight
 *                                        after every commit of the batch
 *
 *  STATUS "<mailbox>" (UIDVALIDITY UIDNEXT) tells whether UIDVALIDITY
 *  changed (then the cursor restarts from UID 0; already stored messages
 *  come back as duplicates of their raw SHA-256 / Message-ID and are not
 *  stored twice).  Each cycle starts on a new connection (login, STATUS,
 *  SELECT, SEARCH: about 10 ms on loopback): a session that keeps a
 *  mailbox selected can go on answering from its old view after the
 *  mailbox was deleted and recreated under it (seen with Dovecot and
 *  maildir), and would never see the new UIDVALIDITY.  Within a cycle the
 *  connection is reused for every fetch.
 *  UID SEARCH UID <last+1>:* lists the new UIDs (at most batch_max per
 *  cycle; the next cycle starts at once when more remain).  Each UID is
 *  fetched with the URL ;UID=n (libcurl sends UID FETCH n BODY[]).  Only
 *  when every message of the batch is committed does the cycle move them
 *  (UID MOVE, else UID COPY + STORE \Deleted + EXPUNGE) and advance the
 *  cursor through the store writer.
 *
 *  libcurl can only fetch with BODY[] (a custom BODY.PEEK[] fetch loses
 *  the literal, DEPENDENCY-NOTES §3), so the server sets \Seen when the
 *  message is fetched, not after the commit; the cursor, not \Seen, is
 *  what decides what is new, and it moves only after the commit.
 *
 *  Failures (connect, auth, TLS, protocol, store): the cycle ends without
 *  moving the cursor, the next one starts after a backoff (base: the poll
 *  interval capped to 1 s, doubling up to max(poll interval, 60 s)).  The
 *  first failure of an outage is logged (warn), later ones only counted,
 *  and the recovery is logged once (info).
 */
#include <stdlib.h>
#include <string.h>

#include "bp/log.h"
#include "imap_int.h"

#define MAX_IN_FLIGHT 32
#define IN_FLIGHT_BYTES (8u << 20)      /* raw bytes handed to parsers */
#define CMD_CAP (4u << 20)              /* answers of SEARCH/STATUS/... */

enum cycle_state { S_IDLE = 0, S_STATUS, S_SEARCH, S_FETCH, S_POST, S_CURSOR };

struct bp_imap {
    uv_loop_t *loop;
    struct bp_store_writer *writer;
    struct bp_store *ro;
    struct bp__imap_curl *curl;
    uv_timer_t timer;
    bool stopping, started;
    char *base_url, *mailbox, *mailbox_url, *account, *move_to;
    struct bp__imap_parse_conf pc;
    int64_t poll_ms, window_ms;
    size_t max_msg, batch_max;
    /* cursor as committed */
    bool cursor_loaded;
    int64_t uidvalidity, last_uid;
    /* the cycle */
    enum cycle_state state;
    int64_t cycle_uidvalidity;
    int64_t *uids;
    struct bp__imap_msg **slot;     /* parsed, waiting for its turn */
    signed char *slot_state;        /* 0 pending, 1 parsed, 2 nothing to store */
    size_t next_submit;             /* store writes go in UID order */
    size_t nuids, next_fetch, in_flight, in_flight_bytes;
    bool more, failed, fetch_stopped;
    char **post;                    /* commands after the commit */
    size_t npost, post_i;
    struct bp_store_imap_cursor cursor_arg;
    struct bp_store_wreq cursor_req;
    /* outage reporting */
    struct bp_imap_stats st;
    enum bp_imap_err_kind last_err;
    bool ever_up, down_logged;
    int64_t down_since_ms;
};

static const char *const kind_names[BP_IMAP_ERR__COUNT] = {
    "connect", "auth", "tls", "protocol", "too_big", "parse", "store",
};

const char *bp_imap_err_kind_name(enum bp_imap_err_kind k)
{
    return (unsigned)k < BP_IMAP_ERR__COUNT ? kind_names[k] : "?";
}

const struct bp__imap_parse_conf *bp__imap_parse_conf(const struct bp_imap *im)
{
    return &im->pc;
}

static void start_cycle(struct bp_imap *im);
static void fetch_next(struct bp_imap *im);
static void maybe_finish(struct bp_imap *im);

static void on_timer(uv_timer_t *t)
{
    start_cycle(t->data);
}

static void schedule(struct bp_imap *im, int64_t delay_ms)
{
    im->state = S_IDLE;
    if (!im->stopping)
        uv_timer_start(&im->timer, on_timer, (uint64_t)delay_ms, 0);
}

static void clear_cycle(struct bp_imap *im)
{
    free(im->uids);
    free(im->slot);
    free(im->slot_state);
    im->slot = NULL;
    im->slot_state = NULL;
    im->next_submit = 0;
    for (size_t i = 0; i < im->npost; i++)
        free(im->post[i]);
    free(im->post);
    im->uids = NULL;
    im->post = NULL;
    im->nuids = im->next_fetch = im->npost = im->post_i = 0;
    im->failed = im->fetch_stopped = false;
}

static void cycle_ok(struct bp_imap *im)
{
    im->st.up = true;
    im->st.last_success_ms = bp_clock_now_ms();
    if (im->down_logged)
        bp_log_info("imap", "imap_up", "after_ms=%lld failures=%llu",
                    (long long)(bp_clock_now_ms() - im->down_since_ms),
                    (unsigned long long)im->st.consecutive_failures);
    else if (!im->ever_up)
        bp_log_info("imap", "imap_connected", "mailbox=%s uidvalidity=%lld last_uid=%lld",
                    im->mailbox, (long long)im->uidvalidity, (long long)im->last_uid);
    im->ever_up = true;
    im->down_logged = false;
    im->st.consecutive_failures = 0;
    bool more = im->more;
    clear_cycle(im);
    schedule(im, more ? 0 : im->poll_ms);
}

/* Records a failure of the cycle; the cycle ends when nothing is in flight. */
static void cycle_fail(struct bp_imap *im, enum bp_imap_err_kind kind, const char *what)
{
    im->st.errors[kind]++;
    im->last_err = kind;
    if (!im->failed) {
        im->failed = true;
        im->st.consecutive_failures++;
        if (!im->down_logged) {
            bp_log_warn("imap", "imap_down", "kind=%s step=%s", kind_names[kind], what);
            im->down_logged = true;
            im->down_since_ms = bp_clock_now_ms();
        } else {
            bp_log_debug("imap", "imap_still_down", "kind=%s step=%s", kind_names[kind], what);
        }
    }
    im->st.up = false;
    im->fetch_stopped = true;
    maybe_finish(im);
}

static void end_failed_cycle(struct bp_imap *im)
{
    int64_t base = im->poll_ms < 1000 ? im->poll_ms : 1000;
    int64_t cap = im->poll_ms > 60000 ? im->poll_ms : 60000;

    clear_cycle(im);
    schedule(im, bp__imap_backoff_ms(im->st.consecutive_failures, base, cap));
}

static void run(struct bp_imap *im, const char *url, const char *custom,
                size_t cap, bp__imap_cmd_cb cb, const char *what)
{
    /* each cycle starts on a new connection (see the top of the file) */
    bool fresh = im->state == S_STATUS;

    if (bp__imap_curl_run(im->curl, url, custom, fresh, cap, cb, im) < 0)
        cycle_fail(im, BP_IMAP_ERR_PROTOCOL, what);
}

/* ---- cursor (after every commit and move) ----------------------------- */

static void on_cursor_done(struct bp_store_wreq *req, int status)
{
    struct bp_imap *im = BP_CONTAINER_OF(req, struct bp_imap, cursor_req);

    if (status < 0) {
        bp_log_error("imap", "cursor_not_saved", "err=%s", bp_err_name(status));
        cycle_fail(im, BP_IMAP_ERR_STORE, "cursor");
        return;
    }
    im->uidvalidity = im->cursor_arg.uidvalidity;
    im->last_uid = im->cursor_arg.last_uid;
    cycle_ok(im);
}

static void save_cursor(struct bp_imap *im, int64_t last)
{
    if (im->cycle_uidvalidity == im->uidvalidity && last <= im->last_uid) {
        cycle_ok(im);
        return;
    }
    im->state = S_CURSOR;
    im->cursor_arg.account = im->account;
    im->cursor_arg.mailbox = im->mailbox;
    im->cursor_arg.uidvalidity = im->cycle_uidvalidity;
    im->cursor_arg.last_uid = last;
    im->cursor_arg.now_ms = bp_clock_now_ms();
    im->cursor_req.fn = bp_store_imap_cursor_put;
    im->cursor_req.arg = &im->cursor_arg;
    im->cursor_req.done = on_cursor_done;
    bp_store_writer_submit(im->writer, &im->cursor_req);
}

/* ---- move after commit ------------------------------------------------ */

static char *cmd_with_set(const char *verb, const int64_t *uids, size_t n,
                          const char *tail, const char *folder)
{
    struct bp_buf b;
    int rc;

    bp_buf_init(&b, CMD_CAP);
    rc = bp_buf_appends(&b, verb);
    if (rc == 0)
        rc = bp__imap_uid_set(&b, uids, n);
    if (rc == 0 && tail != NULL)
        rc = bp_buf_appends(&b, tail);
    if (rc == 0 && folder != NULL)
        rc = bp__imap_quote(&b, folder);
    if (rc < 0) {
        bp_buf_free(&b);
        return NULL;
    }
    return bp_buf_take(&b, NULL);
}

static void post_next(struct bp_imap *im);

static void on_post_done(void *arg, CURLcode rc, struct bp_buf *resp)
{
    struct bp_imap *im = arg;

    (void)resp;
    if (rc != CURLE_OK && im->post_i == 0 && im->npost == 1) {
        /* No MOVE extension (RFC 6851): COPY, flag \Deleted, expunge. */
        char *move = im->post[0];
        const char *set = move + strlen("UID MOVE ");
        size_t setlen = strcspn(set, " ");
        char *copy = bp_xmalloc(strlen(move) + 8), *store = bp_xmalloc(setlen + 48),
             *expunge = bp_xmalloc(setlen + 16);
        snprintf(copy, strlen(move) + 8, "UID COPY %s", set);
        snprintf(store, setlen + 48, "UID STORE %.*s +FLAGS.SILENT (\\Deleted)", (int)setlen, set);
        snprintf(expunge, setlen + 16, "UID EXPUNGE %.*s", (int)setlen, set);
        free(move);
        im->post = bp_xrealloc(im->post, 3 * sizeof *im->post);
        im->post[0] = copy;
        im->post[1] = store;
        im->post[2] = expunge;
        im->npost = 3;
        bp_log_debug("imap", "move_fallback", "curl=%d", (int)rc);
        post_next(im);
        return;
    }
    if (rc != CURLE_OK) {
        cycle_fail(im, bp__imap_classify(rc), "move");
        return;
    }
    im->post_i++;
    post_next(im);
}

static void post_next(struct bp_imap *im)
{
    if (im->post_i < im->npost) {
        run(im, im->mailbox_url, im->post[im->post_i], CMD_CAP, on_post_done, "move");
        return;
    }
    save_cursor(im, im->nuids ? im->uids[im->nuids - 1] : im->last_uid);
}

/* Every message of the batch is committed (or skipped): move, then cursor. */
static void batch_committed(struct bp_imap *im)
{
    im->state = S_POST;
    if (im->move_to != NULL && im->nuids > 0) {
        char *cmd = cmd_with_set("UID MOVE ", im->uids, im->nuids, " ", im->move_to);
        if (cmd == NULL) {
            cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "move");
            return;
        }
        im->post = bp_xcalloc(1, sizeof *im->post);
        im->post[0] = cmd;
        im->npost = 1;
    }
    post_next(im);
}

static void maybe_finish(struct bp_imap *im)
{
    if (im->in_flight > 0 || bp__imap_curl_busy(im->curl) || im->state != S_FETCH)
        goto check_failed;
    if (!im->fetch_stopped && im->next_fetch < im->nuids)
        return;
    if (im->failed) {
        end_failed_cycle(im);
        return;
    }
    batch_committed(im);
    return;
check_failed:
    /* a failure outside the fetch phase (STATUS, SEARCH, MOVE, cursor) */
    if (im->failed && im->in_flight == 0 && !bp__imap_curl_busy(im->curl) &&
        im->state != S_FETCH && im->state != S_IDLE)
        end_failed_cycle(im);
}

/* ---- one message: fetch -> parse (thread pool) -> store --------------- */

static void msg_done(struct bp_imap *im, struct bp__imap_msg *m)
{
    im->in_flight--;
    bp__imap_msg_free(m);
    if (im->stopping)
        return;
    fetch_next(im);
    maybe_finish(im);
}

static void on_write_done(struct bp_store_wreq *req, int status)
{
    struct bp__imap_msg *m = BP_CONTAINER_OF(req, struct bp__imap_msg, wreq);
    struct bp_imap *im = m->im;

    if (status < 0) {
        if (!im->stopping) {
            bp_log_warn("imap", "message_not_stored", "uid=%lld err=%s",
                        (long long)m->uid, bp_err_name(status));
            cycle_fail(im, BP_IMAP_ERR_STORE, "store");
        }
    } else if (m->in.duplicate) {
        im->st.duplicates++;
    } else {
        im->st.stored++;
        bp_log_debug("imap", "message_stored", "uid=%lld msg=%lld convo=%lld rule=%s",
                     (long long)m->uid, (long long)m->in.message_id,
                     (long long)m->in.conversation_id, m->in.match_rule);
    }
    msg_done(im, m);
}

/* Submits parsed messages in UID order, so rows are stored in the order the
 * mailbox received them whatever order the thread pool finished in. */
static void pump(struct bp_imap *im)
{
    while (!im->stopping && im->next_submit < im->nuids &&
           im->slot_state[im->next_submit] != 0) {
        size_t i = im->next_submit++;
        struct bp__imap_msg *m = im->slot[i];
        im->slot[i] = NULL;
        if (im->slot_state[i] == 2)
            continue;
        if (m->parse_rc < 0) {
            im->st.skipped++;
            im->st.errors[BP_IMAP_ERR_PARSE]++;
            bp_log_warn("imap", "message_skipped", "uid=%lld reason=parse err=%s",
                        (long long)m->uid, bp_err_name(m->parse_rc));
            msg_done(im, m);
            continue;
        }
        if (m->ignored) {
            im->st.ignored++;
            bp_log_debug("imap", "message_ignored", "uid=%lld reason=own_address",
                         (long long)m->uid);
            msg_done(im, m);
            continue;
        }
        bp__imap_msg_fill(m, bp_clock_now_ms(), im->window_ms);
        m->wreq.fn = bp_store_email_in;
        m->wreq.arg = &m->in;
        m->wreq.done = on_write_done;
        bp_store_writer_submit(im->writer, &m->wreq);
    }
}

void bp__imap_msg_parsed(struct bp__imap_msg *m)
{
    struct bp_imap *im = m->im;

    im->in_flight_bytes -= m->raw_len;
    if (im->stopping) {
        msg_done(im, m);
        return;
    }
    im->slot[m->idx] = m;
    im->slot_state[m->idx] = 1;
    pump(im);
}

static void on_fetch_done(void *arg, CURLcode rc, struct bp_buf *resp)
{
    struct bp_imap *im = arg;
    int64_t uid = im->uids[im->next_fetch];
    struct bp__imap_msg *m;

    im->next_fetch++;
    if (rc == CURLE_WRITE_ERROR) {
        im->slot_state[im->next_fetch - 1] = 2;
        im->st.skipped++;
        im->st.errors[BP_IMAP_ERR_TOO_BIG]++;
        bp_log_warn("imap", "message_skipped", "uid=%lld reason=too_big max=%zu",
                    (long long)uid, im->max_msg);
    } else if (rc != CURLE_OK) {
        im->next_fetch--;
        cycle_fail(im, bp__imap_classify(rc), "fetch");
        return;
    } else if (resp->len > 0) {
        m = bp_xcalloc(1, sizeof *m);
        m->im = im;
        m->uid = uid;
        m->idx = im->next_fetch - 1;
        m->raw = bp_buf_take(resp, &m->raw_len);
        im->in_flight++;
        im->in_flight_bytes += m->raw_len;
        if (bp__imap_msg_parse(im->loop, m) < 0) {
            im->in_flight_bytes -= m->raw_len;
            im->next_fetch--;
            msg_done(im, m);
            cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "parse_queue");
            return;
        }
    } else {
        im->slot_state[im->next_fetch - 1] = 2;   /* expunged meanwhile */
    }
    pump(im);
    fetch_next(im);
    maybe_finish(im);
}

static void fetch_next(struct bp_imap *im)
{
    char url[2048];

    if (im->stopping || im->state != S_FETCH || im->fetch_stopped ||
        im->next_fetch >= im->nuids || bp__imap_curl_busy(im->curl) ||
        im->in_flight >= MAX_IN_FLIGHT ||
        (im->in_flight > 0 && im->in_flight_bytes >= IN_FLIGHT_BYTES))
        return;
    snprintf(url, sizeof url, "%s/;UID=%lld", im->mailbox_url,
             (long long)im->uids[im->next_fetch]);
    run(im, url, NULL, im->max_msg, on_fetch_done, "fetch");
}

/* ---- STATUS and SEARCH ------------------------------------------------ */

static void on_search_done(void *arg, CURLcode rc, struct bp_buf *resp)
{
    struct bp_imap *im = arg;

    if (rc != CURLE_OK) {
        cycle_fail(im, bp__imap_classify(rc), "search");
        return;
    }
    if (bp__imap_parse_search(resp->data ? resp->data : "", resp->len, im->last_uid,
                              &im->uids, &im->nuids) < 0) {
        cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "search");
        return;
    }
    im->more = im->nuids > im->batch_max;
    if (im->more)
        im->nuids = im->batch_max;
    im->slot = bp_xcalloc(im->nuids + 1, sizeof *im->slot);
    im->slot_state = bp_xcalloc(im->nuids + 1, 1);
    im->state = S_FETCH;
    if (im->nuids == 0) {
        save_cursor(im, im->last_uid);
        return;
    }
    bp_log_debug("imap", "new_messages", "n=%zu first_uid=%lld", im->nuids,
                 (long long)im->uids[0]);
    fetch_next(im);
}

static void load_cursor(struct bp_imap *im)
{
    int64_t v = 0, last = 0;
    int rc;

    if (im->cursor_loaded)
        return;
    rc = bp_store_imap_cursor_get(im->ro, im->account, im->mailbox, &v, &last);
    if (rc == 0) {
        im->uidvalidity = v;
        im->last_uid = last;
    } else if (rc != BP_ENOTFOUND) {
        return;                    /* try again next cycle */
    }
    im->cursor_loaded = true;
}

static void on_status_done(void *arg, CURLcode rc, struct bp_buf *resp)
{
    struct bp_imap *im = arg;
    int64_t uv, next;
    char cmd[64];

    if (rc != CURLE_OK) {
        cycle_fail(im, bp__imap_classify(rc), "status");
        return;
    }
    if (bp__imap_parse_status(resp->data ? resp->data : "", resp->len, &uv, &next) < 0) {
        cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "status");
        return;
    }
    load_cursor(im);
    if (!im->cursor_loaded) {
        cycle_fail(im, BP_IMAP_ERR_STORE, "cursor");
        return;
    }
    if (uv != im->uidvalidity) {
        if (im->uidvalidity != 0)
            bp_log_info("imap", "uidvalidity_changed", "mailbox=%s old=%lld new=%lld",
                        im->mailbox, (long long)im->uidvalidity, (long long)uv);
        im->last_uid = 0;
    }
    im->cycle_uidvalidity = uv;
    (void)next;   /* not trusted: Dovecot answers STATUS of the selected
                     mailbox from the session's view, which only the next
                     command on the mailbox (the SEARCH) brings up to date */
    im->state = S_SEARCH;
    snprintf(cmd, sizeof cmd, "UID SEARCH UID %lld:*", (long long)im->last_uid + 1);
    run(im, im->mailbox_url, cmd, CMD_CAP, on_search_done, "search");
}

static void start_cycle(struct bp_imap *im)
{
    struct bp_buf cmd;

    if (im->stopping || im->state != S_IDLE)
        return;
    im->st.polls++;
    im->state = S_STATUS;
    bp_buf_init(&cmd, 4096);
    if (bp_buf_appends(&cmd, "STATUS ") < 0 || bp__imap_quote(&cmd, im->mailbox) < 0 ||
        bp_buf_appends(&cmd, " (UIDVALIDITY UIDNEXT)") < 0) {
        bp_buf_free(&cmd);
        cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "status");
        return;
    }
    run(im, im->base_url, cmd.data, CMD_CAP, on_status_done, "status");
    bp_buf_free(&cmd);
}

/* ---- life cycle, stats ------------------------------------------------ */

static char *lower_dup(const char *s)
{
    char *d;

    if (s == NULL || *s == '\0')
        return NULL;
    d = bp_xstrdup(s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

int bp_imap_new(uv_loop_t *loop, struct bp_store_writer *writer,
                struct bp_store *ro, const struct bp_imap_opts *o,
                struct bp_imap **out, struct bp_errbuf *eb)
{
    char *base = NULL, *mailbox = NULL, *hostport = NULL;
    struct bp_imap *im;
    size_t n;
    int rc;

    *out = NULL;
    if ((rc = bp__imap_url_split(o->url, &base, &mailbox, &hostport, eb)) < 0)
        return rc;
    if (o->username == NULL || o->username[0] == '\0' || o->poll_interval_ms <= 0 ||
        o->max_message_bytes == 0) {
        bp_errbuf_set(eb, "imap", "username, poll_interval and max_message_bytes are required");
        free(base);
        free(mailbox);
        free(hostport);
        return BP_ECONFIG;
    }
    bp_mime_init();
    im = bp_xcalloc(1, sizeof *im);
    im->loop = loop;
    im->writer = writer;
    im->ro = ro;
    im->base_url = base;
    im->mailbox = mailbox;
    n = strlen(o->url) + 1;
    im->mailbox_url = bp_xmalloc(n);
    snprintf(im->mailbox_url, n, "%.*s", (int)strcspn(o->url, ";?#"), o->url);
    while ((n = strlen(im->mailbox_url)) > 0 && im->mailbox_url[n - 1] == '/')
        im->mailbox_url[n - 1] = '\0';
    if (strcmp(im->mailbox_url, base) == 0 || strlen(im->mailbox_url) + 1 == strlen(base)) {
        free(im->mailbox_url);           /* no mailbox in the URL: INBOX */
        n = strlen(base) + 8;
        im->mailbox_url = bp_xmalloc(n);
        snprintf(im->mailbox_url, n, "%sINBOX", base);
    }
    n = strlen(o->username) + strlen(hostport) + 2;
    im->account = bp_xmalloc(n);
    snprintf(im->account, n, "%s@%s", o->username, hostport);
    free(hostport);
    im->move_to = o->move_to && o->move_to[0] ? bp_xstrdup(o->move_to) : NULL;
    im->pc.own_address = lower_dup(o->own_address);
    im->pc.lim.max_raw_kept = o->raw_keep_bytes;
    im->pc.lim.max_attachment = o->max_attachment_bytes;
    im->pc.lim.max_attachments = 100;
    im->pc.lim.max_text = 1u << 20;
    im->poll_ms = o->poll_interval_ms;
    im->window_ms = o->thread_window_ms;
    im->max_msg = o->max_message_bytes;
    im->batch_max = o->batch_max ? o->batch_max : 500;
    im->curl = bp__imap_curl_new(loop, o->username, o->password);
    uv_timer_init(loop, &im->timer);
    im->timer.data = im;
    *out = im;
    return 0;
}

void bp_imap_start(struct bp_imap *im)
{
    if (im->started || im->stopping)
        return;
    im->started = true;
    bp_log_info("imap", "imap_polling", "mailbox=%s interval_ms=%lld move_to=%s",
                im->mailbox, (long long)im->poll_ms, im->move_to ? im->move_to : "-");
    schedule(im, 0);
}

static void on_closed(void *arg)
{
    (void)arg;
}

void bp_imap_stop(struct bp_imap *im)
{
    if (im == NULL || im->stopping)
        return;
    im->stopping = true;
    uv_timer_stop(&im->timer);
    uv_close((uv_handle_t *)&im->timer, NULL);
    bp__imap_curl_close(im->curl, on_closed, im);
    im->curl = NULL;
}

void bp_imap_free(struct bp_imap *im)
{
    if (im == NULL)
        return;
    clear_cycle(im);
    free(im->base_url);
    free(im->mailbox);
    free(im->mailbox_url);
    free(im->account);
    free(im->move_to);
    free(im->pc.own_address);
    free(im);
}

void bp_imap_get_stats(const struct bp_imap *im, struct bp_imap_stats *out)
{
    *out = im->st;
}

int bp_imap_metrics_write(const struct bp_imap *im, struct bp_buf *o)
{
    const struct bp_imap_stats *s = &im->st;
    int rc = bp_buf_printf(o,
        "# HELP backpack_imap_up 1 when the last IMAP poll succeeded.\n"
        "# TYPE backpack_imap_up gauge\n"
        "backpack_imap_up %d\n"
        "# HELP backpack_imap_polls_total IMAP poll cycles started.\n"
        "# TYPE backpack_imap_polls_total counter\n"
        "backpack_imap_polls_total %llu\n"
        "# HELP backpack_imap_messages_total Fetched messages by outcome.\n"
        "# TYPE backpack_imap_messages_total counter\n"
        "backpack_imap_messages_total{result=\"stored\"} %llu\n"
        "backpack_imap_messages_total{result=\"duplicate\"} %llu\n"
        "backpack_imap_messages_total{result=\"ignored\"} %llu\n"
        "backpack_imap_messages_total{result=\"skipped\"} %llu\n"
        "# HELP backpack_imap_errors_total IMAP errors by kind.\n"
        "# TYPE backpack_imap_errors_total counter\n",
        s->up ? 1 : 0, (unsigned long long)s->polls, (unsigned long long)s->stored,
        (unsigned long long)s->duplicates, (unsigned long long)s->ignored,
        (unsigned long long)s->skipped);
    for (int k = 0; k < BP_IMAP_ERR__COUNT && rc == 0; k++)
        rc = bp_buf_printf(o, "backpack_imap_errors_total{kind=\"%s\"} %llu\n",
                           kind_names[k], (unsigned long long)s->errors[k]);
    return rc;
}

int bp_imap_health_json(const struct bp_imap *im, struct bp_buf *o)
{
    bool err = im->st.errors[im->last_err] > 0 && !im->st.up;

    return bp_buf_printf(o, "{\"up\":%s,\"failures\":%llu,\"last_error\":%s%s%s,"
                            "\"last_success_ms\":%lld}",
                         im->st.up ? "true" : "false",
                         (unsigned long long)im->st.consecutive_failures,
                         err ? "\"" : "", err ? kind_names[im->last_err] : "null",
                         err ? "\"" : "", (long long)im->st.last_success_ms);
}
