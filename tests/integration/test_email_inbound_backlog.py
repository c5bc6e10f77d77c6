# SPDX-License-Identifier: AGPL-3.0-or-later
"""Inbound e-mail: no message may be passed silently (issue 5).

A real Dovecot (dovecot_support), the real `backpack serve`, the SQLite file
checked afterwards.

- A backlog of thousands of messages in one batch: every one is stored.
  Before the fix the poller searched `UID SEARCH UID 1:*`; the answer is one
  line longer than libcurl's 8 KiB line buffer, libcurl 7.88 clipped it to
  40 bytes without an error, and the cursor jumped over thousands of UIDs
  (3,248 of 10,000 stored).  6,000 messages make a ~29 KB line (at 3,000,
  ~14 KB, the clipping depends on how the line is split across reads).
- Messages arriving one by one while the poller runs at a 10 ms interval:
  every one is stored (a SEARCH sent on an older cached connection missed
  the newest message and the cursor passed it).
- Expunged messages leave gaps wider than the SEARCH window: the cursor
  crosses them and the messages after the gap are stored.
"""
import os
import subprocess

from conftest import BIN, _poll
from dovecot_support import MAIL_UID, PASSWORD, USER, dovecot  # noqa: F401


def raw(i):
    return ("From: Parent %d <parent%d@example.org>\r\nTo: replies@school.example\r\n"
            "Subject: Re: trip %d\r\nDate: Mon, 7 Oct 2024 09:00:00 +0000\r\n"
            "Message-ID: <backlog-%d@client.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nYes %d.\r\n" % (i, i, i, i, i))


def fill_maildir(dc, n, start=0):
    """Writes n messages straight into Maildir/new, as an MTA's local
    delivery does (thousands of `doveadm save` runs would take minutes)."""
    md = os.path.join(dc.dir, "mail", USER, "Maildir")
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, d), exist_ok=True)
    for i in range(start, start + n):
        with open(os.path.join(md, "new", "%d.M%d.backlog" % (1700000000 + i, i)), "w") as f:
            f.write(raw(i))
    subprocess.run(["chown", "-R", "%d:%d" % (MAIL_UID, MAIL_UID),
                    os.path.join(dc.dir, "mail")], check=True)


def count(db, sql):
    import sqlite3
    c = sqlite3.connect(db, timeout=10)
    try:
        return c.execute(sql).fetchone()[0]
    finally:
        c.close()


def start(dc, workdir, write_config, serve, interval="50ms"):
    cfg = write_config(imap={"enabled": "true", "url": dc.url(), "username": USER,
                             "password": PASSWORD, "poll_interval": interval},
                       log={"level": "debug"})
    subprocess.run([BIN, "migrate", "-c", cfg], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return serve(cfg), os.path.join(workdir, "backpack.db")


def stored(db):
    return count(db, "SELECT count(*) FROM message WHERE direction='in'")


def ingest_backlog(dc, n, workdir, write_config, serve):
    """n messages in the maildir, then the daemon until its cursor is at n:
    every one stored, none twice, none skipped.  Returns the daemon."""
    fill_maildir(dc, n)
    assert dc.status()["messages"] == str(n)
    d, db = start(dc, workdir, write_config, serve)
    _poll(lambda: count(db, "SELECT coalesce(max(last_uid),0) FROM imap_cursor") >= n, 240,
          "cursor at %d" % n)
    assert stored(db) == n
    # one row per message, none twice
    assert count(db, "SELECT count(DISTINCT email_message_id) FROM message "
                     "WHERE direction='in'") == n
    log = d.log()
    assert "message_skipped" not in log and "message_not_fetched" not in log
    return d


def test_large_backlog_every_message_stored(dovecot, workdir, write_config, serve):  # noqa: F811
    d = ingest_backlog(dovecot, 6000, workdir, write_config, serve)
    assert not d.error_lines()


def test_messages_arriving_during_polls_all_stored(dovecot, workdir, write_config,  # noqa: F811
                                                   serve):
    d, db = start(dovecot, workdir, write_config, serve, interval="10ms")
    n = 40
    for i in range(n):
        dovecot.save(raw(i))
    _poll(lambda: stored(db) == n, 30, "%d messages stored" % n)
    _poll(lambda: count(db, "SELECT coalesce(max(last_uid),0) FROM imap_cursor") == n, 10,
          "cursor at %d" % n)
    assert stored(db) == n
    assert "message_not_fetched" not in d.log()


def test_gap_of_expunged_uids_is_crossed(dovecot, workdir, write_config, serve):  # noqa: F811
    # UIDs 1..2500 expunged (wider than the 2,000-UID search window), then 5 more
    fill_maildir(dovecot, 2505)
    dovecot.doveadm("expunge", "-u", USER, "mailbox", "INBOX", "uid", "1:2500")
    assert dovecot.status()["messages"] == "5"
    d, db = start(dovecot, workdir, write_config, serve)
    _poll(lambda: stored(db) == 5, 30, "the 5 messages after the gap")
    _poll(lambda: count(db, "SELECT coalesce(max(last_uid),0) FROM imap_cursor") == 2505, 10,
          "cursor at 2505")
    ids = count(db, "SELECT group_concat(email_message_id, ' ') FROM "
                    "(SELECT email_message_id FROM message WHERE direction='in' ORDER BY id)")
    assert ids.replace("<", "").replace(">", "").split() == [
        "backlog-%d@client.example" % i for i in range(2500, 2505)]


def test_backlog_marked_seen_once_and_sessions_opened_one_at_a_time(  # noqa: F811
        dovecot, workdir, write_config, serve):
    """Three windows (2,000 + 2,000 + 100).  The first cycle's \\Seen STORE
    covers the whole backlog (UID range up to UIDNEXT - 1), so the later
    cycles store no \\Seen of their own (on a maildir every other session
    re-syncs after each STORE: that was most of Dovecot's CPU per message).
    Fetch sessions after the first are opened with a NOOP, one at a time,
    before they fetch anything.  Windows 2 and 3, below the UIDNEXT of the
    first cycle's STATUS, are searched on the same control session without
    a new STATUS; mail arriving after the drain is found by the next cycle,
    which starts fresh.  Every message is still stored once and ends
    \\Seen."""
    n = 4100
    d = ingest_backlog(dovecot, n, workdir, write_config, serve)
    log = d.log()
    stores = [ln for ln in log.splitlines() if "event=seen_store " in ln]
    assert len(stores) == 1 and "first_uid=1 last_uid=%d " % n in stores[0], stores
    assert "event=seen_already n=2000 through=%d" % n in log
    assert "event=seen_already n=100 through=%d" % n in log
    windows = [ln.split("event=new_messages ")[1] for ln in log.splitlines()
               if "event=new_messages " in ln]
    assert [w.split()[1] + " " + w.split()[-1] for w in windows] == [
        "first_uid=1 status=fresh", "first_uid=2001 status=kept", "first_uid=4001 status=kept"]
    lines = log.splitlines()

    def first(event, conn):
        return next(i for i, ln in enumerate(lines)
                    if "event=%s " % event in ln and ln.endswith("conn=%d" % conn))
    # conn 0 opens with its first fetch; 1, 2, 3 with a NOOP, each after the
    # one before it is open, and fetch only once open
    steps = [first("fetched", 0)]
    for k in (1, 2, 3):
        steps += [first("session_open", k), first("session_opened", k)]
        assert "event=session_opened curl=0 " in lines[steps[-1]]
        assert first("fetched", k) > steps[-1]
    assert steps == sorted(steps)
    for i in range(n, n + 3):
        dovecot.save(raw(i))
    _poll(lambda: stored(os.path.join(workdir, "backpack.db")) == n + 3, 60,
          "the 3 messages after the drain")
    after = [ln for ln in d.log().splitlines()
             if "event=new_messages " in ln and "first_uid=%d " % (n + 1) in ln]
    assert after and after[0].endswith("status=fresh"), after
    assert dovecot.status()["unseen"] == "0"
    assert not d.error_lines()
