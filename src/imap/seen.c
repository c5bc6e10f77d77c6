/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * \Seen for the messages of a poll cycle (loop thread), stored before they
 * are fetched, in one UID STORE that also covers the backlog after the
 * window.
 *
 * Why before the fetch: libcurl's URL fetches use BODY[] (no PEEK,
 * DEPENDENCY-NOTES §3), so the server sets \Seen as each message is
 * fetched; on a maildir every flag change is a rename plus an index write
 * that every other session must sync: four fetch sessions each setting
 * \Seen ran at 64 messages/s.  One `UID STORE +FLAGS.SILENT (\Seen)`
 * first leaves the fetches nothing to change.
 *
 * Why ahead: what that STORE costs Dovecot is mostly not the renames but
 * the re-sync every other session then does, and a session's re-sync of a
 * 10,000-message maildir costs about the same whether 2,000 or 6,000
 * flags changed (measured: 0.1-0.5 s of Dovecot CPU for the STORE of
 * 2,000, 0.5-0.8 s per fetch session for its next command; a fetch of an
 * already \Seen message 0.2 ms).  Four fetch sessions re-syncing after
 * every 2,000-message window made Dovecot spend ~2.2 ms of CPU per
 * message.  So the STORE covers the UID range from the window's first
 * unmarked UID up to UIDNEXT - 1 of this cycle's STATUS (every message that
 * can ever have a UID in that range existed at STATUS time), at most
 * BP__IMAP_SEEN_AHEAD UIDs past the cursor, and the next cycles, whose
 * UIDs are all at or below seen_through, store nothing and fetch at once.
 * A range, not a set: the STORE of a range answers nothing (.SILENT) and
 * its command line stays short whatever the backlog.
 *
 * Correctness does not rest on \Seen: the cursor decides what is new and
 * moves only after the commit (poll.c).  Marking later windows early is
 * the same trade as marking this window before its fetch (which BODY[]
 * would do anyway): after a crash those messages are \Seen and not yet
 * stored, and the cursor brings them in.  Without UIDNEXT (a server that
 * does not send it) the STORE names the window's UIDs only.
 */
#include <stdlib.h>
#include <string.h>

#include "bp/log.h"
#include "imap_int.h"

#define SEEN_CAP (4u << 20)

void bp__imap_seen_forget(struct bp_imap *im)
{
    im->seen_uidvalidity = 0;
    im->seen_through = 0;
}

static void start_fetch(struct bp_imap *im)
{
    im->t_fetch = uv_hrtime();
    im->state = BP__S_FETCH;
    bp__imap_fetch_more(im);
}

static void on_seen_done(void *arg, CURLcode rc, struct bp_buf *resp)
{
    struct bp_imap *im = arg;

    (void)resp;
    if (rc != CURLE_OK) {
        bp__imap_cycle_fail(im, bp__imap_classify(rc), "seen");
        return;
    }
    if (im->ahead_to > 0) {
        im->seen_uidvalidity = im->cycle_uidvalidity;
        im->seen_through = im->ahead_to;
    }
    start_fetch(im);
}

/* The STORE for the window's UIDs from index first on: the range up to
 * UIDNEXT - 1 (at most BP__IMAP_SEEN_AHEAD past the cursor) when the
 * STATUS gave UIDNEXT, else the set.  Sets im->ahead_to (0: a set). */
static char *store_cmd(struct bp_imap *im, size_t first)
{
    int64_t a = im->uids[first];
    int64_t b = bp__imap_seen_end(im->last_uid, im->uidnext, im->uids[im->nuids - 1],
                                  BP__IMAP_SEEN_AHEAD);
    char *cmd;

    im->ahead_to = b;
    if (b == 0)
        return bp__imap_cmd_with_set("UID STORE ", im->uids + first, im->nuids - first,
                                     " +FLAGS.SILENT (\\Seen)", NULL);
    cmd = bp_xmalloc(96);
    snprintf(cmd, 96, "UID STORE %lld:%lld +FLAGS.SILENT (\\Seen)", (long long)a, (long long)b);
    bp_log_debug("imap", "seen_store", "first_uid=%lld last_uid=%lld window_n=%zu",
                 (long long)a, (long long)b, im->nuids - first);
    return cmd;
}

void bp__imap_seen_start(struct bp_imap *im)
{
    size_t first = 0;
    char *cmd;

    im->t_seen = uv_hrtime();
    if (im->seen_uidvalidity == im->cycle_uidvalidity)
        while (first < im->nuids && im->uids[first] <= im->seen_through)
            first++;
    if (first == im->nuids) {
        bp_log_debug("imap", "seen_already", "n=%zu through=%lld", im->nuids,
                     (long long)im->seen_through);
        start_fetch(im);
        return;
    }
    cmd = store_cmd(im, first);
    if (cmd == NULL) {
        bp__imap_cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "seen");
        return;
    }
    im->state = BP__S_SEEN;
    if (bp__imap_conn_run(im->ctl, im->mailbox_url, cmd, 0, SEEN_CAP, on_seen_done, im) < 0)
        bp__imap_cycle_fail(im, BP_IMAP_ERR_PROTOCOL, "seen");
    free(cmd);
}
