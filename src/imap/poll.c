/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The IMAP poll cycle (loop thread).  One cycle:
 *
 *   IDLE --timer--> STATUS ----> SEARCH window --> \Seen (seen.c: unless
 *     ^                               | none            | marked already)
 *     |                               v                 v
 *     |                         (cursor if changed)   FETCH (fetch.c: several
 *     |                                                 | connections, parse on
 *     |                                                 | the thread pool, store
 *     +-------- (cursor if changed) <--- MOVE (opt.) <--+ in UID order; VERIFY of
 *                                        after every commit  empty fetches)
 *
 *  STATUS "<mailbox>" (UIDVALIDITY UIDNEXT) tells whether UIDVALIDITY
 *  changed (then the cursor restarts from UID 0; already stored messages
 *  come back as duplicates of their raw SHA-256 / Message-ID and are not
 *  stored twice).  Each cycle starts on new connections (login, STATUS,
 *  SELECT, SEARCH: about 10 ms on loopback): a session that keeps a
 *  mailbox selected can go on answering from its old view after the
 *  mailbox was deleted and recreated under it (seen with Dovecot and
 *  maildir), and would never see the new UIDVALIDITY.  STATUS is the first
 *  command of the fresh control connection, so its UIDNEXT is current.
 *  Exception: while the cursor is below the UIDNEXT of the last fresh
 *  STATUS (a backlog wider than one window), the next window is searched
 *  on the same control session without a STATUS.  That session SELECTed
 *  after the STATUS, so its view holds every message below that UIDNEXT
 *  (the window and the cursor stay below it; newer mail waits for the next
 *  fresh cycle); an expunge it has not seen yet comes back as an empty
 *  fetch (verified, or the cycle fails and the next one starts fresh); and
 *  a mailbox recreated meanwhile is seen by the fresh STATUS that follows
 *  the drain (its messages are then fetched again and found duplicate).
 *  Each fresh session costs Dovecot a sync of the whole maildir: on 10,000
 *  messages a fresh STATUS per 2,000-message window was 40% of Dovecot's
 *  CPU in the benchmark.
 *  The fetch connections (fetch.c) stay open from cycle to cycle: a new
 *  SELECT of a 10,000-message maildir costs about a second, and four of
 *  them per cycle cut the throughput to 104 messages/s.  They are safe to
 *  keep because every fetch URL names the cycle's UIDVALIDITY (libcurl
 *  re-SELECTs when it differs) and an empty fetch is verified; after a
 *  failed cycle or a UIDVALIDITY change they reconnect.
 *
 *  SEARCH window: UID SEARCH UID <last+1>:<last+W> with W at most 2000.
 *  An unbounded `UID SEARCH UID <last+1>:*` over a large backlog answers
 *  with one line longer than libcurl's 8 KiB line buffer, which libcurl
 *  7.88 silently clips to its first 40 bytes: UIDs vanish and the cursor
 *  jumped over them (issue 5: 6,752 of 10,000 messages lost, no error).
 *  A window of W UIDs answers in at most ~22 KB, under the 64 KiB clipping
 *  threshold of the control runner (its buffer is 128 KiB), and every
 *  answer we parse runs with BP__IMAP_STRICT (a clipped line fails the
 *  command, curlm.c).  Larger windows also mean fewer \Seen rounds
 *  (seen.c), each of which makes every session re-sync the maildir.
 *  After the batch, the cursor moves to the highest UID of the window
 *  below the STATUS UIDNEXT (no message can take a UID below UIDNEXT
 *  later), so gaps of expunged UIDs are crossed; `more` starts the next
 *  cycle at once while the window is below UIDNEXT - 1.
 *
 *  Only when every message of the batch is done (committed, duplicate,
 *  ignored, skipped with a warn, or verified expunged) does the cycle move
 *  them (UID MOVE, else UID COPY + STORE \Deleted + EXPUNGE) and advance
 *  the cursor through the store writer.  A failed cycle still saves the
 *  cursor up to the last UID before the first message not done (when no
 *  move_to is configured; with one, those messages are fetched again,
 *  found duplicate, and moved).
 *
 *  libcurl can only fetch with BODY[] (a custom BODY.PEEK[] fetch loses
 *  the literal, DEPENDENCY-NOTES §3), so the server sets \Seen when the
 *  message is fetched, not after the commit; the cursor, not \Seen, is
 *  what decides what is new, and it moves only after the commit.
 *
 *  Failures (connect, auth, TLS, protocol, store): the cycle ends, the
 *  next one starts after a backoff (base: the poll interval capped to 1 s,
 *  doubling up to max(poll interval, 60 s)).  The first failure of an
 *  outage is logged (warn), later ones only counted, and the recovery is
 *  logged once (info).
 */
#include <stdlib.h>
#include <string.h>

#include "bp/log.h"
#include "imap_int.h"

#define CMD_CAP (4u << 20)              /* answers of SEARCH/STATUS/... */

const char *const bp__imap_kind_names[BP_IMAP_ERR__COUNT] = {
    "connect", "auth", "tls", "protocol", "too_big", "parse", "store",
};

static void start_cycle(struct bp_imap *im);

static void on_timer(uv_timer_t *t)
{
    start_cycle(t->data);
}

void bp__imap_schedule(struct bp_imap *im, int64_t delay_ms)
{
    im->state = BP__S_IDLE;
    if (!im->stopping)
        uv_timer_start(&im->timer, on_timer, (uint64_t)delay_ms, 0);
}

void bp__imap_clear_cycle(struct bp_imap *im)
{
    free(im->uids);
    free(im->slot);
    free(im->slot_state);
    free(im->retried);
    im->retried = NULL;
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
    im->t_status = im->t_search = im->t_seen = im->t_fetch = im->t_post = 0;
}

size_t bp__imap_window(const struct bp_imap *im)
{
    return im->batch_max < BP__IMAP_WINDOW_MAX ? im->batch_max : BP__IMAP_WINDOW_MAX;
}

static int64_t ms_between(uint64_t a_ns, uint64_t b_ns)
{
    return a_ns && b_ns > a_ns ? (int64_t)((b_ns - a_ns) / 1000000u) : 0;
}

/* Where a cycle spent its time (debug): STATUS (fresh connection), SEARCH
 * (with the SELECT), \Seen STORE before the fetches, fetch phase (fetch,
 * parse, commit), move and cursor. */
static void log_timing(const struct bp_imap *im)
{
    uint64_t now = uv_hrtime();

    if (im->nuids == 0 || im->t_post == 0)
        return;
    bp_log_debug("imap", "cycle_timing", "n=%zu status_ms=%lld search_ms=%lld seen_ms=%lld "
                 "fetch_ms=%lld post_ms=%lld total_ms=%lld", im->nuids,
                 (long long)ms_between(im->t_status, im->t_search),
                 (long long)ms_between(im->t_search, im->t_seen),
                 (long long)ms_between(im->t_seen, im->t_fetch),
                 (long long)ms_between(im->t_fetch, im->t_post),
                 (long long)ms_between(im->t_post, now), (long long)ms_between(im->t_status, now));
}

static void cycle_ok(struct bp_imap *im)
{
    log_timing(im);
    im->st.up = true;
    im->st.last_success_ms = bp_clock_now_ms();
    if (im->down_logged)
        bp_log_info("imap", "imap_up", "after_ms=%lld failures=%llu",
                    (long long)(bp_clock_now_ms() - im->down_since_ms),
                    (unsigned long long)im->st.consecutive_failures);
    else if (!im->ever_up)
        bp_log_info("imap", "imap_connected", "mailbox=%s uidvalidity=u%lld last_uid=%lld",
                    im->mailbox, (long long)im->uidvalidity, (long long)im->last_uid);
    im->ever_up = true;
    im->down_logged = false;
    im->st.consecutive_failures = 0;
    bool more = im->more;
    bp__imap_clear_cycle(im);
    bp__imap_schedule(im, more ? 0 : im->poll_ms);
}

void bp__imap_cycle_fail(struct bp_imap *im, enum bp_imap_err_kind kind, const char *what)
{
    im->st.errors[kind]++;
    im->last_err = kind;
    if (!im->failed) {
        im->failed = true;
        im->st.consecutive_failures++;
        if (!im->down_logged) {
            bp_log_warn("imap", "imap_down", "kind=%s step=%s", bp__imap_kind_names[kind], what);
            im->down_logged = true;
            im->down_since_ms = bp_clock_now_ms();
        } else {
            bp_log_debug("imap", "imap_still_down", "kind=%s step=%s",
                         bp__imap_kind_names[kind], what);
        }
    }
    im->st.up = false;
    im->fetch_stopped = true;
    bp__imap_maybe_finish(im);
}

/* The fetch connections reconnect on their next fetch. */
static void fetchers_reconnect(struct bp_imap *im)
{
    for (size_t i = 0; i < BP__IMAP_FETCHERS; i++)
        im->fetchers[i].used = false;
}

static void end_failed_cycle(struct bp_imap *im)
{
    int64_t base = im->poll_ms < 1000 ? im->poll_ms : 1000;
    int64_t cap = im->poll_ms > 60000 ? im->poll_ms : 60000;

    fetchers_reconnect(im);
    bp__imap_seen_forget(im);
    im->drain_uidnext = 0;             /* the next cycle starts fresh */
    bp__imap_clear_cycle(im);
    bp__imap_schedule(im, bp__imap_backoff_ms(im->st.consecutive_failures, base, cap));
}

static void run(struct bp_imap *im, const char *url, const char *custom,
                unsigned flags, bp__imap_cmd_cb cb, const char *what)
{
    if (bp__imap_conn_run(im->ctl, url, custom, flags, CMD_CAP, cb, im) < 0)
        bp__imap_cycle_fail(im, BP_IMAP_ERR_PROTOCOL, what);
}

/* ---- cursor (after every commit and move) ----------------------------- */

static void on_cursor_done(struct bp_store_wreq *req, int status)
{
    struct bp_imap *im = BP_CONTAINER_OF(req, struct bp_imap, cursor_req);

    if (status < 0) {
        bp_log_error("imap", "cursor_not_saved", "err=%s", bp_err_name(status));
        bp__imap_cycle_fail(im, BP_IMAP_ERR_STORE, "cursor");
        end_failed_cycle(im);
        return;
    }
    im->uidvalidity = im->cursor_arg.uidvalidity;
    im->last_uid = im->cursor_arg.last_uid;
    if (im->failed)
        end_failed_cycle(im);          /* the cursor of a partly done batch */
    else
        cycle_ok(im);
}

static void save_cursor(struct bp_imap *im, int64_t last)
{
    if (im->cycle_uidvalidity == im->uidvalidity && last <= im->last_uid) {
        if (im->failed)
            end_failed_cycle(im);
        else
            cycle_ok(im);
        return;
    }
    im->state = BP__S_CURSOR;
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

/* Where the cursor may go when every UID of the batch is done: past the
 * batch and past the searched window's empty tail below UIDNEXT. */
static int64_t cursor_target(const struct bp_imap *im)
{
    int64_t t = im->nuids ? im->uids[im->nuids - 1] : im->last_uid;

    if (im->uidnext > 0 && im->window_end > 0) {
        int64_t w = im->window_end < im->uidnext - 1 ? im->window_end : im->uidnext - 1;
        if (w > t)
            t = w;
    }
    return t;
}

/* ---- move after commit ------------------------------------------------ */

char *bp__imap_cmd_with_set(const char *verb, const int64_t *uids, size_t n,
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
        bp__imap_cycle_fail(im, bp__imap_classify(rc), "move");
        return;
    }
    im->post_i++;
    post_next(im);
}

static void post_next(struct bp_imap *im)
{
    if (im->post_i < im->npost) {
        run(im, im->mailbox_url, im->post[im->post_i], 0, on_post_done, "move");
        return;
    }
    save_cursor(im, cursor_target(im));
}

/* Every message of the batch is done: move, then cursor. */
static void batch_committed(struct bp_imap *im)
{
    im->state = BP__S_POST;
    im->t_post = uv_hrtime();
    if (im->move_to != NULL && im->nuids > 0) {
        char *cmd = bp__imap_cmd_with_set("UID MOVE ", im->uids, im->nuids, " ",
                                          im->move_to);
        if (cmd == NULL) {
            bp__imap_cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "move");
            return;
        }
        im->post = bp_xcalloc(1, sizeof *im->post);
        im->post[0] = cmd;
        im->npost = 1;
    }
    post_next(im);
}

/* The fetch phase is over (nothing in flight). */
static void fetch_phase_over(struct bp_imap *im)
{
    size_t p;

    if (!im->failed) {
        for (size_t i = 0; i < im->nuids; i++)
            if (im->slot_state[i] == BP__SLOT_MAYBE_GONE) {
                bp__imap_verify(im);
                return;
            }
        batch_committed(im);
        return;
    }
    /* Failed: keep what is done, up to the first message that is not. */
    p = bp__imap_done_prefix(im);
    if (im->move_to == NULL && p > 0) {
        save_cursor(im, im->uids[p - 1]);
        return;
    }
    end_failed_cycle(im);
}

void bp__imap_maybe_finish(struct bp_imap *im)
{
    if (im->stopping || im->state == BP__S_IDLE)
        return;
    if (im->state == BP__S_CURSOR)     /* on_cursor_done ends the cycle */
        return;
    if (im->in_flight > 0 || bp__imap_curl_busy(im->curl) || bp__imap_curl_busy(im->ctl_curl))
        return;
    if (im->state == BP__S_FETCH) {
        if (!im->fetch_stopped && im->next_fetch < im->nuids)
            return;
        fetch_phase_over(im);
        return;
    }
    /* a failure outside the fetch phase (STATUS, SEARCH, VERIFY, MOVE) */
    if (im->failed)
        end_failed_cycle(im);
}

/* ---- STATUS and SEARCH ------------------------------------------------ */

static void on_search_done(void *arg, CURLcode rc, struct bp_buf *resp)
{
    struct bp_imap *im = arg;

    if (rc != CURLE_OK) {
        bp__imap_cycle_fail(im, bp__imap_classify(rc), "search");
        return;
    }
    if (bp__imap_parse_search(resp->data ? resp->data : "", resp->len, im->last_uid,
                              &im->uids, &im->nuids) < 0) {
        bp__imap_cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "search");
        return;
    }
    /* drop anything outside the window (a:b answers inside it) */
    while (im->window_end > 0 && im->nuids > 0 && im->uids[im->nuids - 1] > im->window_end)
        im->nuids--;
    if (im->uidnext > 0)
        im->more = im->window_end < im->uidnext - 1;
    else {                             /* unbounded search: at most batch_max */
        im->more = im->nuids > im->batch_max;
        if (im->more)
            im->nuids = im->batch_max;
    }
    im->slot = bp_xcalloc(im->nuids + 1, sizeof *im->slot);
    im->slot_state = bp_xcalloc(im->nuids + 1, 1);
    im->retried = bp_xcalloc(im->nuids + 1, 1);
    im->state = BP__S_FETCH;
    if (im->nuids == 0) {
        save_cursor(im, cursor_target(im));
        return;
    }
    bp_log_debug("imap", "new_messages", "n=%zu first_uid=%lld last_uid=%lld window_end=%lld "
                 "uidnext=%lld status=%s", im->nuids, (long long)im->uids[0],
                 (long long)im->uids[im->nuids - 1], (long long)im->window_end,
                 (long long)im->uidnext, im->status_kind);
    bp__imap_seen_start(im);
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

/* UID SEARCH of the window after the cursor on the control connection. */
static void search_window(struct bp_imap *im, const char *status)
{
    size_t w = bp__imap_window(im);
    char cmd[96];

    im->state = BP__S_SEARCH;
    im->t_search = uv_hrtime();
    im->status_kind = status;
    if (im->uidnext > 0) {
        im->window_end = im->last_uid + (int64_t)w;
        snprintf(cmd, sizeof cmd, "UID SEARCH UID %lld:%lld", (long long)im->last_uid + 1,
                 (long long)im->window_end);
    } else {                           /* no UIDNEXT: the clip check guards */
        im->window_end = 0;
        snprintf(cmd, sizeof cmd, "UID SEARCH UID %lld:*", (long long)im->last_uid + 1);
    }
    run(im, im->mailbox_url, cmd, BP__IMAP_STRICT, on_search_done, "search");
}

static void on_status_done(void *arg, CURLcode rc, struct bp_buf *resp)
{
    struct bp_imap *im = arg;
    int64_t uv, next;

    if (rc != CURLE_OK) {
        bp__imap_cycle_fail(im, bp__imap_classify(rc), "status");
        return;
    }
    if (bp__imap_parse_status(resp->data ? resp->data : "", resp->len, &uv, &next) < 0) {
        bp__imap_cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "status");
        return;
    }
    load_cursor(im);
    if (!im->cursor_loaded) {
        bp__imap_cycle_fail(im, BP_IMAP_ERR_STORE, "cursor");
        return;
    }
    if (uv != im->uidvalidity) {
        if (im->uidvalidity != 0)
            bp_log_info("imap", "uidvalidity_changed", "mailbox=%s old=u%lld new=u%lld",
                        im->mailbox, (long long)im->uidvalidity, (long long)uv);
        im->last_uid = 0;
        fetchers_reconnect(im);
    }
    im->cycle_uidvalidity = uv;
    im->uidnext = im->drain_uidnext = next;
    search_window(im, "fresh");
}

static void start_cycle(struct bp_imap *im)
{
    struct bp_buf cmd;

    if (im->stopping || im->state != BP__S_IDLE)
        return;
    im->st.polls++;
    im->t_status = uv_hrtime();
    /* still draining the backlog the last fresh STATUS saw (top of file) */
    if (im->drain_uidnext > 0 && im->cycle_uidvalidity == im->uidvalidity &&
        im->last_uid < im->drain_uidnext - 1) {
        im->uidnext = im->drain_uidnext;
        search_window(im, "kept");
        return;
    }
    im->state = BP__S_STATUS;
    bp_buf_init(&cmd, 4096);
    if (bp_buf_appends(&cmd, "STATUS ") < 0 || bp__imap_quote(&cmd, im->mailbox) < 0 ||
        bp_buf_appends(&cmd, " (UIDVALIDITY UIDNEXT)") < 0) {
        bp_buf_free(&cmd);
        bp__imap_cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "status");
        return;
    }
    /* each cycle starts on a new connection (see the top of the file) */
    run(im, im->base_url, cmd.data, BP__IMAP_FRESH | BP__IMAP_STRICT, on_status_done,
        "status");
    bp_buf_free(&cmd);
}
