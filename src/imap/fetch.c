/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The fetch phase of a poll cycle (loop thread): the UIDs found by the
 * SEARCH window are fetched on BP__IMAP_FETCHERS connections in parallel,
 * parsed on libuv's thread pool (msg.c), and handed to the store writer in
 * UID order (group commit), whatever order the fetches and parses finish.
 *
 * Why several connections and URL fetches (;UID=n) rather than one
 * `UID FETCH a:b BODY.PEEK[]`: libcurl 7.88 does not understand literals
 * in the answer of a custom command.  The literal's lines reach only the
 * header callback, line by line through its line reader, which clips lines
 * over 8 KiB (curlm.c), fails the command on a body line that starts with
 * "+ " ("Unexpected continuation response") and ends it early on a line
 * that starts with the command's tag: a parent's bulleted list could break
 * a batch or desynchronise the connection.  A URL fetch is read by length
 * as the transfer body: binary-safe.  One connection does one fetch per
 * round trip (~2 ms with Dovecot on loopback), so four run side by side.
 * Each fetch URL carries ;UIDVALIDITY=v: a connection whose selected
 * mailbox has another UIDVALIDITY re-SELECTs, and libcurl refuses the
 * fetch when the mailbox changed under the cycle.  The connections stay
 * open between cycles; after a failed cycle they reconnect (poll.c).  The
 * first one opens with its first fetch, the others with a NOOP, one at a
 * time, while the open ones fetch (open_session).
 *
 * Kept sessions: Dovecot sends the untagged updates a session has
 * collected (the control connection's \Seen STORE: `* 7 FETCH (FLAGS
 * (\Seen))`, new mail: `* 9 EXISTS`) when the FETCH ends, after the
 * literal, where libcurl ignores them.  A session that has not synced
 * since a message arrived may still answer "not found", or send an update
 * first (libcurl then fails: CURLE_WEIRD_SERVER_REPLY); so a fetch that
 * fails or comes back empty is retried once on a new connection.  (A NOOP
 * per session and cycle was tried instead: with 2,000 flag updates queued
 * its answer failed with CURLE_RECV_ERROR after a second.)
 *
 * No message is passed silently.  Each UID ends in one of:
 *   stored / duplicate / ignored (own address)      -> done;
 *   too big, not a message                          -> done, warn with UID;
 *   fetch failed, empty or "not found"              -> fetched again once
 *       on a new connection; still empty or "not found" -> verified with
 *       UID SEARCH UID <set> on the control connection after the fetches:
 *       gone -> done, warn `message_skipped reason=expunged`; still there
 *       -> failed, warn `message_not_fetched`;
 *   any other fetch or store error                  -> failed.
 * A failed UID fails the cycle, and the cursor never passes it (poll.c).
 */
#include <stdlib.h>
#include <string.h>

#include "bp/log.h"
#include "imap_int.h"

#define MAX_IN_FLIGHT 32
#define IN_FLIGHT_BYTES (8u << 20)      /* raw bytes handed to parsers */
#define VERIFY_CAP (1u << 20)
#define OPEN_CAP (1u << 20)

size_t bp__imap_done_prefix(const struct bp_imap *im)
{
    size_t i = 0;

    while (i < im->nuids && im->slot_state[i] == BP__SLOT_DONE)
        i++;
    return i;
}

static void fail_uid(struct bp_imap *im, size_t idx, enum bp_imap_err_kind kind,
                     const char *reason, int code)
{
    im->slot_state[idx] = BP__SLOT_FAILED;
    bp_log_warn("imap", "message_not_fetched", "uid=%lld reason=%s code=%d",
                (long long)im->uids[idx], reason, code);
    bp__imap_cycle_fail(im, kind, "fetch");
}

static void msg_done(struct bp_imap *im, struct bp__imap_msg *m)
{
    im->in_flight--;
    bp__imap_msg_free(m);
    if (im->stopping)
        return;
    bp__imap_fetch_more(im);
    bp__imap_maybe_finish(im);
}

static void on_write_done(struct bp_store_wreq *req, int status)
{
    struct bp__imap_msg *m = BP_CONTAINER_OF(req, struct bp__imap_msg, wreq);
    struct bp_imap *im = m->im;

    if (im->stopping) {
        msg_done(im, m);
        return;
    }
    if (status < 0) {
        im->slot_state[m->idx] = BP__SLOT_FAILED;
        bp_log_warn("imap", "message_not_stored", "uid=%lld err=%s",
                    (long long)m->uid, bp_err_name(status));
        bp__imap_cycle_fail(im, BP_IMAP_ERR_STORE, "store");
    } else {
        im->slot_state[m->idx] = BP__SLOT_DONE;
        if (m->in.duplicate) {
            im->st.duplicates++;
            bp_log_debug("imap", "message_duplicate", "uid=%lld msg=%lld",
                         (long long)m->uid, (long long)m->in.message_id);
        } else {
            im->st.stored++;
            bp_log_debug("imap", "message_stored", "uid=%lld msg=%lld convo=%lld rule=%s",
                         (long long)m->uid, (long long)m->in.message_id,
                         (long long)m->in.conversation_id, m->in.match_rule);
            if (im->on_stored != NULL)
                im->on_stored(im->on_stored_arg, m->in.message_id, m->in.conversation_id);
        }
    }
    msg_done(im, m);
}

/* Submits parsed messages in UID order, so rows are stored in the order the
 * mailbox received them whatever order the fetches and parses finished in.
 * Slots that will store nothing (done, failed, maybe gone) are passed. */
static void pump(struct bp_imap *im)
{
    while (!im->stopping && im->next_submit < im->nuids &&
           im->slot_state[im->next_submit] != BP__SLOT_PENDING) {
        size_t i = im->next_submit++;
        struct bp__imap_msg *m = im->slot[i];
        im->slot[i] = NULL;
        if (m == NULL)
            continue;
        if (m->parse_rc < 0) {
            im->slot_state[i] = BP__SLOT_DONE;
            im->st.skipped++;
            im->st.errors[BP_IMAP_ERR_PARSE]++;
            bp_log_warn("imap", "message_skipped", "uid=%lld reason=parse err=%s",
                        (long long)m->uid, bp_err_name(m->parse_rc));
            msg_done(im, m);
            continue;
        }
        if (m->ignored) {
            im->slot_state[i] = BP__SLOT_DONE;
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
    im->slot_state[m->idx] = BP__SLOT_PARSED;
    pump(im);
}

static void start_parse(struct bp_imap *im, size_t idx, struct bp_buf *resp)
{
    struct bp__imap_msg *m = bp_xcalloc(1, sizeof *m);

    m->im = im;
    m->uid = im->uids[idx];
    m->idx = idx;
    m->raw = bp_buf_take(resp, &m->raw_len);
    im->in_flight++;
    im->in_flight_bytes += m->raw_len;
    if (bp__imap_msg_parse(im->loop, m) < 0) {
        im->in_flight_bytes -= m->raw_len;
        im->in_flight--;
        bp__imap_msg_free(m);
        fail_uid(im, idx, BP_IMAP_ERR_PROTOCOL, "parse_queue", 0);
    }
}

static int fetch_one(struct bp_imap *im, struct bp__imap_fetcher *f, size_t idx);

static void on_fetch_done(void *arg, CURLcode rc, struct bp_buf *resp)
{
    struct bp__imap_fetcher *f = arg;
    struct bp_imap *im = f->im;
    size_t idx = f->idx;
    int64_t uid;

    im->fetching--;
    f->opening = false;
    uid = im->uids[idx];
    bp_log_debug("imap", "fetched", "uid=%lld curl=%d bytes=%zu us=%lld conn=%d",
                 (long long)uid, (int)rc, resp->len,
                 (long long)bp__imap_conn_time_us(f->conn), (int)(f - im->fetchers));
    if (rc == CURLE_WRITE_ERROR) {
        im->slot_state[idx] = BP__SLOT_DONE;
        im->st.skipped++;
        im->st.errors[BP_IMAP_ERR_TOO_BIG]++;
        bp_log_warn("imap", "message_skipped", "uid=%lld reason=too_big max=%zu",
                    (long long)uid, im->max_msg);
    } else if (rc != CURLE_OK || resp->len == 0) {
        if (!im->retried[idx] && !im->fetch_stopped) {
            im->retried[idx] = 1;      /* again, on a new connection */
            f->used = false;
            bp_log_debug("imap", "fetch_retry", "uid=%lld curl=%d", (long long)uid, (int)rc);
            if (fetch_one(im, f, idx) < 0)
                fail_uid(im, idx, BP_IMAP_ERR_PROTOCOL, "run", 0);
        } else if (rc == CURLE_REMOTE_FILE_NOT_FOUND || rc == CURLE_OK) {
            im->slot_state[idx] = BP__SLOT_MAYBE_GONE;   /* verified after the fetches */
            bp_log_debug("imap", "fetch_empty", "uid=%lld curl=%d", (long long)uid, (int)rc);
        } else {
            fail_uid(im, idx, bp__imap_classify(rc), "fetch", (int)rc);
        }
    } else {
        start_parse(im, idx, resp);
    }
    pump(im);
    bp__imap_fetch_more(im);
    bp__imap_maybe_finish(im);
}

/* An idle runner whose session is open, else one without a session
 * unless another session is being opened (see open_session). */
static struct bp__imap_fetcher *idle_fetcher(struct bp_imap *im)
{
    struct bp__imap_fetcher *fresh = NULL;
    bool opening = false;

    for (size_t i = 0; i < BP__IMAP_FETCHERS; i++) {
        struct bp__imap_fetcher *f = &im->fetchers[i];
        if (bp__imap_conn_busy(f->conn))
            opening = opening || f->opening;
        else if (f->used)
            return f;
        else if (fresh == NULL)
            fresh = f;
    }
    return opening ? NULL : fresh;
}

static bool any_session(const struct bp_imap *im)
{
    for (size_t i = 0; i < BP__IMAP_FETCHERS; i++)
        if (im->fetchers[i].used)
            return true;
    return false;
}

static void on_open_done(void *arg, CURLcode rc, struct bp_buf *resp)
{
    struct bp__imap_fetcher *f = arg;
    struct bp_imap *im = f->im;

    (void)resp;
    f->opening = false;
    bp_log_debug("imap", "session_opened", "curl=%d us=%lld conn=%d", (int)rc,
                 (long long)bp__imap_conn_time_us(f->conn), (int)(f - im->fetchers));
    if (rc != CURLE_OK) {
        bp__imap_cycle_fail(im, bp__imap_classify(rc), "open");
        return;
    }
    f->used = true;
    bp__imap_fetch_more(im);
    bp__imap_maybe_finish(im);
}

/* Opens a fetch session (login, SELECT, NOOP) without giving it a UID, one
 * session at a time.  Sessions SELECTing a large maildir at once each
 * re-scan it (10,000 messages: seconds each on a loaded machine); and a
 * session opened by a fetch holds a UID, which the stores, in UID order,
 * wait for: with four sessions opening together nothing was stored for
 * ten seconds.  Opened one at a time and without a UID, the sessions
 * already open keep fetching and storing meanwhile. */
static int open_session(struct bp_imap *im, struct bp__imap_fetcher *f)
{
    char url[2048];
    int rc;

    snprintf(url, sizeof url, "%s;UIDVALIDITY=%lld", im->mailbox_url,
             (long long)im->cycle_uidvalidity);
    rc = bp__imap_conn_run(f->conn, url, "NOOP", BP__IMAP_FRESH, OPEN_CAP, on_open_done, f);
    if (rc == 0) {
        f->opening = true;
        bp_log_debug("imap", "session_open", "conn=%d", (int)(f - im->fetchers));
    }
    return rc;
}

static int fetch_one(struct bp_imap *im, struct bp__imap_fetcher *f, size_t idx)
{
    char url[2048];
    int rc;

    f->idx = idx;
    snprintf(url, sizeof url, "%s;UIDVALIDITY=%lld/;UID=%lld", im->mailbox_url,
             (long long)im->cycle_uidvalidity, (long long)im->uids[idx]);
    rc = bp__imap_conn_run(f->conn, url, NULL, f->used ? 0 : BP__IMAP_FRESH,
                           im->max_msg, on_fetch_done, f);
    if (rc == 0) {
        f->opening = !f->used;
        f->used = true;
        im->fetching++;
    }
    return rc;
}

void bp__imap_fetch_more(struct bp_imap *im)
{
    struct bp__imap_fetcher *f;

    while (!im->stopping && im->state == BP__S_FETCH && !im->fetch_stopped &&
           im->next_fetch < im->nuids && im->in_flight + im->fetching < MAX_IN_FLIGHT &&
           !(im->in_flight > 0 && im->in_flight_bytes >= IN_FLIGHT_BYTES) &&
           (f = idle_fetcher(im)) != NULL) {
        if (!f->used && any_session(im)) {
            if (open_session(im, f) < 0) {
                bp__imap_cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "open");
                return;
            }
            continue;
        }
        size_t idx = im->next_fetch++;
        if (fetch_one(im, f, idx) < 0) {
            fail_uid(im, idx, BP_IMAP_ERR_PROTOCOL, "run", 0);
            return;
        }
    }
}

/* ---- verification of empty fetches ------------------------------------ */

static void on_verify_done(void *arg, CURLcode rc, struct bp_buf *resp)
{
    struct bp_imap *im = arg;
    int64_t *present = NULL;
    size_t npresent = 0, j = 0;

    im->state = BP__S_FETCH;
    if (rc == CURLE_OK &&
        bp__imap_parse_search(resp->data ? resp->data : "", resp->len, 0, &present,
                              &npresent) < 0)
        rc = CURLE_WEIRD_SERVER_REPLY;
    for (size_t i = 0; i < im->nuids; i++) {
        if (im->slot_state[i] != BP__SLOT_MAYBE_GONE)
            continue;
        if (rc != CURLE_OK) {
            im->slot_state[i] = BP__SLOT_FAILED;
            bp_log_warn("imap", "message_not_fetched", "uid=%lld reason=unverified curl=%d",
                        (long long)im->uids[i], (int)rc);
            continue;
        }
        while (j < npresent && present[j] < im->uids[i])
            j++;
        if (j < npresent && present[j] == im->uids[i]) {
            im->slot_state[i] = BP__SLOT_FAILED;
            bp_log_warn("imap", "message_not_fetched", "uid=%lld reason=empty_fetch "
                        "still_on_server=1", (long long)im->uids[i]);
        } else {
            im->slot_state[i] = BP__SLOT_DONE;
            im->st.skipped++;
            bp_log_warn("imap", "message_skipped", "uid=%lld reason=expunged",
                        (long long)im->uids[i]);
        }
    }
    free(present);
    if (bp__imap_done_prefix(im) < im->nuids)
        bp__imap_cycle_fail(im, rc != CURLE_OK ? bp__imap_classify(rc) : BP_IMAP_ERR_PROTOCOL,
                            "verify");
    else
        bp__imap_maybe_finish(im);
}

void bp__imap_verify(struct bp_imap *im)
{
    struct bp_buf cmd;
    int64_t *gone = bp_xmalloc((im->nuids + 1) * sizeof *gone);
    size_t n = 0;
    int rc;

    for (size_t i = 0; i < im->nuids; i++)
        if (im->slot_state[i] == BP__SLOT_MAYBE_GONE)
            gone[n++] = im->uids[i];
    im->state = BP__S_VERIFY;
    bp_buf_init(&cmd, VERIFY_CAP);
    rc = bp_buf_appends(&cmd, "UID SEARCH UID ");
    if (rc == 0)
        rc = bp__imap_uid_set(&cmd, gone, n);
    free(gone);
    if (rc == 0)
        rc = bp__imap_conn_run(im->ctl, im->mailbox_url, cmd.data, BP__IMAP_STRICT,
                               VERIFY_CAP, on_verify_done, im);
    bp_buf_free(&cmd);
    if (rc < 0)
        on_verify_done(im, CURLE_FAILED_INIT, NULL);
}
