# SPDX-License-Identifier: AGPL-3.0-or-later
"""Inbound e-mail end to end: a real Dovecot (dovecot_support), messages
delivered with `doveadm save`, the real `backpack serve` polling it over
IMAP, and the SQLite file checked afterwards.

Replies are built as a mail client builds them for the mail Backpack sends
(src/outbox/sched.c): Reply-To replies+<conversation token>@<reply_domain>,
Message-ID <idempotency_key>@<reply_domain> on each delivery, so the
parent's reply goes To the reply address with In-Reply-To the delivery's
Message-ID."""
import email.utils
import json
import os
import re
import sqlite3
import subprocess
import time
from email.message import EmailMessage

import pytest

from conftest import BIN, _poll, http_request
from dovecot_support import PASSWORD, USER, Dovecot, dovecot  # noqa: F401

DOMAIN = "school.example"
OFFICE = "office@school.example"


def seed(db):
    c = sqlite3.connect(db)
    c.executescript("""
        INSERT INTO school VALUES (1,'sch','Lincoln','America/New_York','en',NULL,NULL,0,0);
        INSERT INTO student (id,school_id,sourced_id,given_name,family_name,created_at,updated_at)
          VALUES (10,1,'s10','Ana','Diaz',0,0),(12,1,'s12','Mai','Tran',0,0);
        INSERT INTO guardian (id,sourced_id,given_name,family_name,locale,created_at,updated_at)
          VALUES (20,'g20','Rosa','Diaz','es',0,0),(21,'g21','Lan','Tran','vi',0,0);
        INSERT INTO student_guardian (student_id,guardian_id) VALUES (10,20),(12,21);
        INSERT INTO contact (id,kind,address,created_at,updated_at)
          VALUES (30,'email','rosa@example.org',0,0),(31,'email','lan@example.net',0,0);
        INSERT INTO guardian_contact VALUES (20,30),(21,31);
        INSERT INTO conversation (id,student_id,reply_token,created_at)
          VALUES (510,10,'aaaa1111bbbb2222cccc3333',0),(512,12,'dddd4444eeee5555ffff6666',0);
        INSERT INTO announcement (id,audience_kind,body,created_at)
          VALUES (900,'school','Field trip on Friday',0);
        INSERT INTO message (id,conversation_id,direction,channel,announcement_id,body,
                             subject,match_rule,created_at)
          VALUES (600,510,'out','email',900,'Field trip on Friday','Field trip','outbound',0),
                 (601,512,'out','email',900,'Field trip on Friday','Field trip','outbound',0);
        INSERT INTO delivery (id,message_id,contact_id,channel,body,state,idempotency_key,
                              email_message_id,created_at,updated_at)
          VALUES (700,600,30,'email','Trip','sent','key700','key700@school.example',0,0),
                 (701,601,31,'email','Trip','sent','key701','key701@school.example',0,0);
    """)
    c.commit()
    c.close()


def q(db, sql, *args):
    c = sqlite3.connect(db, timeout=10)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def reply(frm, to, body, in_reply_to=None, subject="Re: Field trip", quote=True,
          headers=None):
    m = EmailMessage()
    m["From"] = frm
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate()
    m["Message-ID"] = email.utils.make_msgid(domain="client.example")
    if in_reply_to:
        m["In-Reply-To"] = "<%s>" % in_reply_to
        m["References"] = "<%s>" % in_reply_to
    for k, v in (headers or {}).items():
        m[k] = v
    text = body
    if quote:
        text += ("\n\nOn Mon, Oct 7, 2024 at 9:00 AM Lincoln Elementary <%s> wrote:\n"
                 "> Field trip on Friday\n> Please answer.\n" % OFFICE)
    m.set_content(text)
    return m


@pytest.fixture
def daemon(workdir, write_config, serve):
    """start(dc, **imap_keys) -> (Daemon, db path); migrates and seeds first."""
    def start(dc, mailbox="INBOX", migrate=True, **imap):
        keys = {"enabled": "true", "url": dc.url(mailbox), "username": USER,
                "password": PASSWORD, "poll_interval": "100ms"}
        keys.update(imap)
        cfg = write_config(imap=keys, smtp={"from_address": OFFICE, "reply_domain": DOMAIN})
        db = os.path.join(workdir, "backpack.db")
        if migrate:
            subprocess.run([BIN, "migrate", "-c", cfg], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seed(db)
        return serve(cfg), db
    return start


def wait_rows(db, sql, n, deadline=20.0):
    return _poll(lambda: (lambda r: r if len(r) >= n else None)(q(db, sql)), deadline,
                 "%d rows of %s" % (n, sql))


def test_replies_land_in_the_right_conversation(dovecot, daemon):  # noqa: F811
    d, db = daemon(dovecot)
    # by reply token (Reply-To of our mail), by In-Reply-To only, and the
    # two families answering the same announcement
    dovecot.save(reply("Lan Tran <lan@example.net>",
                       "replies+dddd4444eeee5555ffff6666@" + DOMAIN,
                       "Mai can go. Thank you!", in_reply_to="key701@school.example"))
    dovecot.save(reply("Rosa Diaz <rosa@example.org>", OFFICE, "Sí, Ana puede ir.",
                       in_reply_to="key700@school.example"))
    rows = wait_rows(db, "SELECT conversation_id, match_rule, body, body_full, from_address"
                         " FROM message WHERE direction='in' ORDER BY from_address", 2)
    assert rows[0][0] == 512 and rows[0][1] == "reply_token"
    assert rows[0][2].strip() == "Mai can go. Thank you!"
    assert "> Field trip on Friday" in rows[0][3]          # full text kept
    assert rows[1][0] == 510 and rows[1][1] == "email_header"
    assert rows[1][2].strip() == "Sí, Ana puede ir."
    # after the commit: the cursor moved; the messages are \Seen
    _poll(lambda: q(db, "SELECT last_uid FROM imap_cursor") == [(2,)], 10, "cursor at 2")
    assert dovecot.status()["unseen"] == "0"
    st, _, body = http_request(d.port, "GET", "/healthz")
    h = json.loads(body)
    assert st == 200 and h["imap"]["up"] is True
    st, _, body = http_request(d.port, "GET", "/metrics")
    assert b"backpack_imap_up 1" in body
    assert b'backpack_imap_messages_total{result="stored"} 2' in body
    assert not d.error_lines()


def test_robots_bounces_and_loops(dovecot, daemon):  # noqa: F811
    d, db = daemon(dovecot)
    ooo = reply("Lan Tran <lan@example.net>", "replies+dddd4444eeee5555ffff6666@" + DOMAIN,
                "I am out of the office until Monday and will reply when I return.",
                subject="Automatic reply: Field trip", quote=False,
                headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"})
    dovecot.save(ooo)
    dovecot.save(reply(OFFICE, OFFICE, "our own copy", quote=False))       # ignored
    dovecot.save(postfix_dsn("lan@example.net", "key701@school.example", "5.1.1"))
    wait_rows(db, "SELECT id FROM message WHERE direction='in'", 2)
    _poll(lambda: q(db, "SELECT last_uid FROM imap_cursor") == [(3,)], 10, "cursor at 3")
    kinds = dict(q(db, "SELECT kind, conversation_id FROM message WHERE direction='in'"))
    assert kinds == {"auto_reply": 512, "bounce": 512}
    assert q(db, "SELECT state, error_code FROM delivery WHERE id=701") == \
        [("undeliverable", "5.1.1")]
    assert q(db, "SELECT status FROM contact WHERE id=31") == [("bounced",)]
    assert q(db, "SELECT count(*) FROM consent_event WHERE contact_id=31 AND kind='bounced'"
                 " AND source='email'") == [(1,)]
    assert q(db, "SELECT count(*) FROM message WHERE from_address=?", OFFICE) == [(0,)]
    _, _, body = http_request(d.port, "GET", "/metrics")
    assert b'backpack_imap_messages_total{result="ignored"} 1' in body


def test_a_policy_bounce_leaves_the_address_usable(dovecot, daemon):  # noqa: F811
    """A failure report that says nothing about the address (5.7.26: the family's
    provider refused the school's mail for DMARC, as Gmail does for a whole domain at
    once) fails that delivery but does not mark the contact bounced, which would stop
    every later e-mail to the family."""
    d, db = daemon(dovecot)
    dovecot.save(postfix_dsn("lan@example.net", "key701@school.example", "5.7.26"))
    wait_rows(db, "SELECT id FROM message WHERE direction='in'", 1)
    assert q(db, "SELECT kind FROM message WHERE direction='in'") == [("bounce",)]
    assert q(db, "SELECT state, error_code, error_class FROM delivery WHERE id=701") == \
        [("failed", "5.7.26", "permanent")]
    assert q(db, "SELECT status FROM contact WHERE id=31") == [("active",)]
    assert q(db, "SELECT count(*) FROM consent_event WHERE contact_id=31") == [(0,)]
    assert not d.error_lines()


def postfix_dsn(rcpt, msgid, status):
    boundary = "B0UND4RY.1700000000/mx.example.net"
    return ("From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
            "To: %s\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            "Date: %s\r\nMessage-ID: <20241007.dsn@mx.example.net>\r\n"
            "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status;\r\n"
            "\tboundary=\"%s\"\r\n\r\n"
            "--%s\r\nContent-Description: Notification\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
            "I'm sorry to have to inform you that your message could not\r\n"
            "be delivered to one or more recipients.\r\n\r\n"
            "<%s>: host mx.example.net said: 550 5.1.1 User unknown\r\n\r\n"
            "--%s\r\nContent-Description: Delivery report\r\n"
            "Content-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.net\r\n\r\n"
            "Final-Recipient: rfc822; %s\r\nOriginal-Recipient: rfc822;%s\r\n"
            "Action: failed\r\nStatus: %s\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
            "--%s\r\nContent-Description: Undelivered Message Headers\r\n"
            "Content-Type: text/rfc822-headers\r\n\r\n"
            "From: %s\r\nTo: %s\r\nSubject: Field trip\r\nMessage-ID: <%s>\r\n\r\n"
            "--%s--\r\n") % (OFFICE, email.utils.formatdate(), boundary, boundary, rcpt,
                            boundary, rcpt, rcpt, status, boundary, OFFICE, rcpt, msgid,
                            boundary)


def test_uidvalidity_change_no_duplicates(dovecot, daemon):  # noqa: F811
    dovecot.create_mailbox("Replies")
    msgs = [reply("Lan Tran <lan@example.net>", OFFICE, "Message %d" % i, quote=False)
            for i in range(3)]
    for m in msgs[:2]:
        dovecot.save(m, mailbox="Replies")
    d, db = daemon(dovecot, mailbox="Replies")
    wait_rows(db, "SELECT id FROM message WHERE direction='in'", 2)
    _poll(lambda: q(db, "SELECT last_uid FROM imap_cursor") == [(2,)], 10, "cursor at 2")
    old_uv = q(db, "SELECT uidvalidity FROM imap_cursor")[0][0]
    # the mailbox is recreated (new UIDVALIDITY): the same two come back
    # with UIDs 1 and 2, and one new message as UID 3
    dovecot.delete_mailbox("Replies")
    dovecot.create_mailbox("Replies")
    for m in msgs:
        dovecot.save(m, mailbox="Replies")
    new_uv = int(dovecot.status("Replies")["uidvalidity"])
    assert new_uv != old_uv
    _poll(lambda: q(db, "SELECT uidvalidity, last_uid FROM imap_cursor") == [(new_uv, 3)],
          20, "cursor on the new mailbox")
    assert q(db, "SELECT body FROM message WHERE direction='in' ORDER BY body") == \
        [("Message 0",), ("Message 1",), ("Message 2",)]
    d.wait_log(r"event=uidvalidity_changed")
    _, _, body = http_request(d.port, "GET", "/metrics")
    assert b'backpack_imap_messages_total{result="duplicate"} 2' in body


def test_outage_logged_once_and_recovered(dovecot, daemon):  # noqa: F811
    d, db = daemon(dovecot)
    dovecot.save(reply("Lan Tran <lan@example.net>", OFFICE, "before", quote=False))
    wait_rows(db, "SELECT id FROM message WHERE direction='in'", 1)
    dovecot.kill()
    d.wait_log(r"event=imap_down kind=connect")
    # several polls fail (backoff from 100 ms) while the server is away
    _poll(lambda: b"backpack_imap_up 0" in http_request(d.port, "GET", "/metrics")[2]
          and re.search(rb'errors_total\{kind="connect"\} ([3-9]|\d\d)',
                        http_request(d.port, "GET", "/metrics")[2]), 20, "3 failed polls")
    st, _, body = http_request(d.port, "GET", "/healthz")
    h = json.loads(body)
    assert h["imap"]["up"] is False and h["imap"]["last_error"] == "connect"
    dovecot.save_maildir(reply("Lan Tran <lan@example.net>", OFFICE, "during", quote=False))
    dovecot.start()
    rows = wait_rows(db, "SELECT body FROM message WHERE direction='in' ORDER BY id", 2)
    assert [r[0] for r in rows] == ["before", "during"]
    # Wait for the up line of the LAST down line: when the kill leaves the
    # port open a moment longer, the log reads down, up (that blip), down,
    # and the recovery's up line may follow the stored message.
    _poll(lambda: len(re.findall(r"event=imap_up", d.log())) ==
          len(re.findall(r"event=imap_down", d.log())) >= 1, 30, "an up line for every down line")
    log = d.log()
    downs = len(re.findall(r"event=imap_down", log))
    # Logged once per outage, not once per failed poll (3+ failed above).  A
    # kill that lands in the middle of a cycle can let one more cycle through
    # before the port closes (a second, very short outage): every down line
    # is then paired with an up line, and there are still far fewer of them
    # than failed polls.
    failed = int(re.search(rb'errors_total\{kind="connect"\} (\d+)',
                           http_request(d.port, "GET", "/metrics")[2]).group(1))
    assert 1 <= downs <= 2 and downs < failed
    assert len(re.findall(r"event=imap_up", log)) == downs
    assert not d.error_lines()


def test_wrong_password_is_auth_error(dovecot, daemon):  # noqa: F811
    d, db = daemon(dovecot, password="wrong")
    d.wait_log(r"event=imap_down kind=auth")
    _poll(lambda: re.search(rb'errors_total\{kind="auth"\} [2-9]',
                            http_request(d.port, "GET", "/metrics")[2]), 20, "2 auth failures")
    assert len(re.findall(r"event=imap_down", d.log())) == 1
    assert "secret" not in d.log() and "wrong" not in d.log()


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_big_attachment_recorded_within_limits(dovecot, daemon):  # noqa: F811
    d, db = daemon(dovecot, max_attachment_bytes="1M", raw_keep_bytes="64k")
    m = reply("Lan Tran <lan@example.net>", "replies+dddd4444eeee5555ffff6666@" + DOMAIN,
              "Here is the signed form.", quote=False)
    m.add_attachment(os.urandom(10 * 1024 * 1024), maintype="application",
                     subtype="pdf", filename="form.pdf")
    dovecot.save(m.as_bytes())
    dovecot.save(reply("Lan Tran <lan@example.net>", OFFICE, "after the big one", quote=False))
    # By body, not by id: Dovecot does not always number two quick saves in
    # the order they were made: in CI the small one was stored first with no
    # fetch error logged, and rows are stored in UID order.
    rows = dict((b.strip(), m) for b, m in wait_rows(
        db, "SELECT body, media FROM message WHERE direction='in'", 2, 60))
    assert sorted(rows) == ["Here is the signed form.", "after the big one"]
    media = json.loads(rows["Here is the signed form."])
    assert media[0]["name"] == "form.pdf" and media[0]["type"] == "application/pdf"
    assert media[0]["size"] == 10 * 1024 * 1024 and media[0]["kept"] is False
    hwm = vm_hwm_kib(d.pid)
    assert 0 < hwm < 160 * 1024, "peak RSS %d KiB" % hwm
    assert not d.error_lines()


def test_too_big_message_skipped(dovecot, daemon):  # noqa: F811
    d, db = daemon(dovecot, max_message_bytes="64k")
    m = reply("Lan Tran <lan@example.net>", OFFICE, "big", quote=False)
    m.add_attachment(os.urandom(200 * 1024), maintype="image", subtype="jpeg",
                     filename="a.jpg")
    dovecot.save(m.as_bytes())
    dovecot.save(reply("Lan Tran <lan@example.net>", OFFICE, "small", quote=False))
    rows = wait_rows(db, "SELECT body FROM message WHERE direction='in'", 1)
    assert rows == [("small",)]
    # the big one's UID as Dovecot gave it (not always 1: see above)
    big = dovecot.doveadm("-f", "flow", "fetch", "-u", USER, "uid", "mailbox", "INBOX",
                          "larger", "64k").strip()
    assert re.fullmatch(r"uid=\d+", big), big
    d.wait_log(r"event=message_skipped %s reason=too_big" % big)


def test_move_to_folder(dovecot, daemon):  # noqa: F811
    dovecot.create_mailbox("Processed")
    d, db = daemon(dovecot, move_to="Processed")
    for i in range(3):
        dovecot.save(reply("Lan Tran <lan@example.net>", OFFICE, "m%d" % i, quote=False))
    wait_rows(db, "SELECT id FROM message WHERE direction='in'", 3)
    _poll(lambda: dovecot.status("Processed")["messages"] == "3", 10, "3 moved")
    assert dovecot.status("INBOX")["messages"] == "0"
    _poll(lambda: q(db, "SELECT last_uid FROM imap_cursor") == [(3,)], 10, "cursor at 3")


# ---- TLS: imaps://, STARTTLS required, certificate checks ----------------

def test_imaps_and_required_starttls_with_the_schools_ca(daemon):  # noqa: F811
    with Dovecot(tls=True) as dc:
        runs = (("over imaps", dc.url(imaps=True), {}),
                ("over STARTTLS", dc.url(), {"starttls": "required"}))
        for i, (body, url, keys) in enumerate(runs):
            d, db = daemon(dc, url=url, ca_file=dc.ca_file, migrate=(i == 0), **keys)
            dc.save(reply("Lan Tran <lan@example.net>", OFFICE, body, quote=False))
            wait_rows(db, "SELECT body FROM message WHERE direction='in' AND body = '%s'"
                      % body, 1)
            assert not d.error_lines()
            d.stop()
        # every login of the daemon went over TLS
        logins = re.findall(r"Login: user=<alice>.*", dc.log())
        assert logins and all(", TLS," in line for line in logins), logins


def test_untrusted_certificate_is_a_tls_error_and_no_login(daemon):  # noqa: F811
    with Dovecot(tls=True) as dc:
        d, db = daemon(dc, url=dc.url(imaps=True))       # the system's CAs only
        d.wait_log(r"event=imap_down kind=tls")
        _poll(lambda: re.search(rb'errors_total\{kind="tls"\} [2-9]',
                                http_request(d.port, "GET", "/metrics")[2]), 20,
              "2 TLS failures")
        assert len(re.findall(r"event=imap_down", d.log())) == 1
        h = json.loads(http_request(d.port, "GET", "/healthz")[2])
        assert h["imap"]["up"] is False and h["imap"]["last_error"] == "tls"
        assert "Login: user=<alice>" not in dc.log()


def test_required_starttls_refuses_a_server_without_it(dovecot, daemon):  # noqa: F811
    d, db = daemon(dovecot, starttls="required")       # this Dovecot has ssl = no
    d.wait_log(r"event=imap_down kind=tls")
    assert "Login: user=<alice>" not in dovecot.log()  # the password never went out
