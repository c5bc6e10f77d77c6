# SPDX-License-Identifier: AGPL-3.0-or-later
"""Outbound through the real daemon to both channels: the SMS sender to the imitation
Twilio and the e-mail sender to a real SMTP server (Debian's aiosmtpd on loopback).

Received e-mails are parsed with Python's email package in strict mode (policy.default,
raise_on_defect).  Templates are rendered per family from the real catalogue (locales/),
in the family's language and time zone; families whose language has no translation are
held (no_translation) unless the sender allows the fallback.  Also: POST /api/messages
(auth, errors, 202), the STOP confirmation (a 'system' message) sent once to an opted-out
number, and In-Reply-To/References on a staff reply to a parent's e-mail.

Waits poll the database or the fake's long-poll reads with deadlines; nothing sleeps for
timing."""
import email
import json
import socket
import sqlite3
import subprocess
import time

import pytest
from conftest import http_request, start_seeded
from conftest import poll
from sms_support import BIN, FakeTwilio, query
import smtp_support
from smtp_support import STRICT, sink  # noqa: F401

PUBLIC_URL = "https://backpack.example.org"
SCHOOL = "École Lincoln"
FROM = "office@lincoln.example"
REPLY_DOMAIN = "reply.lincoln.example"
SCHOOL_NUMBER = "+15550109999"
TOKEN = "s3cret-admin-token"

SEED = """
INSERT INTO school VALUES (1,'sch-1','Lincoln','America/New_York','en',NULL,NULL,0,0);
INSERT INTO section (id,school_id,sourced_id,title,created_at,updated_at) VALUES
 (1,1,'sec-1','Science',0,0),(2,1,'sec-2','Art',0,0);
INSERT INTO student (id,school_id,sourced_id,given_name,family_name,created_at,updated_at) VALUES
 (10,1,'stu-10','Omar','Haddad',0,0),(11,1,'stu-11','Wei','Li',0,0),
 (12,1,'stu-12','Mai','Tran',0,0),(13,1,'stu-13','Ann','Smith',0,0),
 (14,1,'stu-14','Luis','Diaz',0,0),(15,1,'stu-15','Kai','Nowhere',0,0),
 (16,1,'stu-16','Jonas','Weber',0,0),(17,1,'stu-17','Bea','Out',0,0);
INSERT INTO enrollment VALUES (1,10),(1,11),(1,12),(1,13),(1,14),(1,15),(1,16),(1,17),(2,13),(2,17);
INSERT INTO guardian (id,sourced_id,given_name,family_name,locale,preferred_channel,timezone,
                      created_at,updated_at) VALUES
 (20,'g-ar','أمل','حداد','ar','email',NULL,0,0),
 (21,'g-zh','丽','李','zh-CN','email',NULL,0,0),
 (22,'g-vi','Nguyễn Thị','Hoa','vi','email','Asia/Ho_Chi_Minh',0,0),
 (23,'g-en','Sam','Smith','en','sms',NULL,0,0),
 (24,'g-es','Rosa','Díaz','es-MX','sms',NULL,0,0),
 (25,'g-und','Alex','Nowhere','und','email',NULL,0,0),
 (26,'g-de','Jonas','Weber','de','sms',NULL,0,0),
 (27,'g-out','Bea','Out','en','sms',NULL,0,0);
INSERT INTO student_guardian (student_id,guardian_id) VALUES
 (10,20),(11,21),(12,22),(13,23),(14,24),(15,25),(16,26),(17,27);
INSERT INTO contact (id,kind,address,status,created_at,updated_at) VALUES
 (30,'email','amal@example.org','active',0,0),(31,'email','li@example.org','active',0,0),
 (32,'email','hoa@example.org','active',0,0),(33,'sms','+15550100033','active',0,0),
 (34,'sms','+15550100034','active',0,0),(35,'email','alex@example.org','active',0,0),
 (36,'sms','+15550100036','active',0,0),(37,'sms','+15550100037','opted_out',0,0);
INSERT INTO guardian_contact VALUES (20,30),(21,31),(22,32),(23,33),(24,34),(25,35),(26,36),(27,37);
INSERT INTO conversation (id,student_id,reply_token,created_at) VALUES (110,10,'tok10',0);
"""

# 2025-03-14T01:30Z: Thursday 13 March 21:30 in New York, Friday 14 March 08:30 in Saigon.
EVENT = ["--template", "tmpl.event_reminder", "--arg", "event=Science Fair",
         "--arg", "date=2025-03-14T01:30:00Z", "--arg", "time=2025-03-14T01:30:00Z",
         "--arg", "count=3"]


@pytest.fixture
def fake():
    with FakeTwilio(callbacks="off") as f:
        yield f


def make_config(write_config, fake, sink, admin_token=TOKEN):
    return write_config(
        server={"public_url": PUBLIC_URL, "admin_token": admin_token},
        school={"name": SCHOOL, "phone": "+15550100000",
                "website": "https://lincoln.example.org"},
        sms={"enabled": "true", "account_sid": fake.account_sid,
             "auth_token": fake.auth_token, "from_number": SCHOOL_NUMBER,
             "api_base": fake.base_url, "rate_per_second": "10000"},
        smtp={"enabled": "true", "host": "127.0.0.1", "port": str(sink.port),
              "starttls": "no", "from_address": FROM, "reply_domain": REPLY_DOMAIN,
              "workers": "2", "timeout": "5s"})


@pytest.fixture
def school(workdir, write_config, fake, sink, serve):
    config = make_config(write_config, fake, sink)
    d = start_seeded(serve, config, SEED, r"event=started .*sms=on email=on")
    yield d
    assert d.stop() == 0, d.log()[-3000:]
    assert d.error_lines() == [], d.error_lines()


def send(config, *args):
    r = subprocess.run([BIN, "send", "-c", config] + list(args), capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def deliveries(db, ann):
    rows = query(db, "SELECT d.id, c.address, d.channel, d.state, d.held_reason, d.locale,"
                     " d.body, d.encoding, d.segments, d.email_message_id, d.idempotency_key"
                     " FROM delivery d JOIN contact c ON c.id = d.contact_id"
                     " JOIN message m ON m.id = d.message_id WHERE m.announcement_id = ?",
                 (ann,))
    keys = ("id", "to", "channel", "state", "held_reason", "locale", "body", "encoding",
            "segments", "email_message_id", "key")
    return {r[1]: dict(zip(keys, r)) for r in rows}


def settled(db, ann):
    ds = deliveries(db, ann)
    return ds if all(d["state"] in ("sent", "held", "failed") for d in ds.values()) else None


def parsed(sink):
    out = {}
    with sink.lock:
        msgs = list(sink.messages)
    for m in msgs:
        raw = m["raw"]
        assert raw.count(b"\n") == raw.count(b"\r\n")              # CRLF only
        assert len(m["to"]) == 1
        out[m["to"][0]] = (email.message_from_bytes(raw, policy=STRICT), raw)
    assert len(out) == len(msgs), "one e-mail per address"
    return out


def sms_bodies(fake, n):
    reqs = fake.requests(path="/2010-04-01/Accounts/%s/Messages.json" % fake.account_sid,
                         min_count=n, timeout_ms=10000)["items"]
    out = {}
    for r in reqs:
        out.setdefault(r["form"]["To"], []).append(r["form"]["Body"])
    return out


def test_template_in_each_familys_language_over_both_channels(school, fake, sink):
    out = send(school.config, "--section", "sec-1", "--urgent", *EVENT)
    assert out["deliveries"] == {"sms": 3, "email": 4}
    assert out["held"] == 2 and out["skipped"]["opted_out"] == 1
    ds = poll(lambda: settled(school.db, out["announcement_id"]), what="deliveries settled")
    state = {a: (d["state"], d["held_reason"], d["locale"]) for a, d in ds.items()}
    assert state == {
        "amal@example.org": ("sent", None, "ar"),
        "li@example.org": ("sent", None, "zh-Hans"),
        "hoa@example.org": ("sent", None, "vi"),
        "+15550100033": ("sent", None, "en"),
        "+15550100034": ("sent", None, "es"),
        "alex@example.org": ("held", "no_translation", "en"),     # 'und'
        "+15550100036": ("held", "no_translation", "en"),         # German: no catalogue
    }
    # exactly these SMS left, once each, with the stored bodies
    sms = sms_bodies(fake, 2)
    assert sms == {"+15550100033": [ds["+15550100033"]["body"]],
                   "+15550100034": [ds["+15550100034"]["body"]]}
    assert fake.stats()["sends"] == 2
    en, es = ds["+15550100033"], ds["+15550100034"]
    assert en["body"].startswith("Reminder: Science Fair is on Thursday, March 13 at 9:30")
    assert es["body"].startswith("Recordatorio: Science Fair es el jueves, 13 de marzo")
    assert (en["encoding"], en["segments"]) == ("gsm7", 1)
    assert es["encoding"] in ("gsm7", "ucs2") and es["segments"] >= 1
    # exactly these e-mails, well-formed, in the family's language
    mails = parsed(sink)
    assert set(mails) == {"amal@example.org", "li@example.org", "hoa@example.org"}
    frag = {"amal@example.org": "تذكير: Science Fair", "li@example.org": "提醒：Science Fair将于",
            "hoa@example.org": "Nhắc nhở: Science Fair diễn ra lúc 08:30"}
    names = {"amal@example.org": "أمل حداد", "li@example.org": "丽 李",
             "hoa@example.org": "Nguyễn Thị Hoa"}
    for addr, (msg, raw) in mails.items():
        d = ds[addr]
        assert d["encoding"] is None and d["segments"] is None
        body = msg.get_body(("plain",)).get_content()
        assert body.replace("\r\n", "\n").rstrip("\n") == d["body"]
        assert body.startswith(frag[addr]), body
        assert msg["Subject"] == SCHOOL
        head = raw.split(b"\r\n\r\n")[0].decode("ascii")               # 7-bit headers
        assert "Subject: =?" in head or "Subject:=?" in head             # RFC 2047
        assert msg["From"].addresses[0].display_name == SCHOOL
        assert msg["From"].addresses[0].addr_spec == FROM
        assert msg["To"].addresses[0].addr_spec == addr
        assert msg["To"].addresses[0].display_name == names[addr]      # the guardian's
        assert msg["Message-ID"] == "<%s>" % d["email_message_id"]
        assert d["email_message_id"].endswith("@" + REPLY_DOMAIN)
        token = query(school.db, "SELECT cv.reply_token FROM delivery d"
                                 " JOIN message m ON m.id = d.message_id"
                                 " JOIN conversation cv ON cv.id = m.conversation_id"
                                 " WHERE d.id = ?", (d["id"],))[0][0]
        assert msg["Reply-To"].addresses[0].addr_spec == "replies+%s@%s" % (token, REPLY_DOMAIN)
        lu = msg["List-Unsubscribe"].replace("\r\n", "").replace(" ", "")
        assert lu == "<mailto:replies+unsubscribe-%s@%s>,<%s/unsubscribe/%s>" % (
            d["key"], REPLY_DOMAIN, PUBLIC_URL, d["key"])
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["Auto-Submitted"] is None                              # written by staff
    # Omar's conversation existed: its reply token is the one in the e-mail
    assert mails["amal@example.org"][0]["Reply-To"].addresses[0].username == "replies+tok10"
    assert "08:30" not in ds["+15550100033"]["body"]                     # zones differ


def test_fallback_allowed_sends_in_the_school_language(school, fake, sink):
    out = send(school.config, "--section", "sec-1", "--urgent", "--allow-fallback", *EVENT)
    assert out["held"] == 0
    ds = poll(lambda: settled(school.db, out["announcement_id"]), what="deliveries settled")
    assert all(d["state"] == "sent" for d in ds.values())
    assert ds["alex@example.org"]["locale"] == "en"
    assert ds["+15550100036"]["body"].startswith("Reminder: Science Fair")
    poll(lambda: sink.count() == 4, what="four e-mails")
    assert parsed(sink)["alex@example.org"][0].get_body(("plain",)).get_content() \
        .startswith("Reminder: Science Fair")
    assert fake.stats()["sends"] == 3


def test_free_text_reaches_only_families_who_read_the_school_language(school, fake, sink):
    out = send(school.config, "--section", "sec-1", "--urgent", "--text", "Bring boots.")
    ds = poll(lambda: settled(school.db, out["announcement_id"]), what="deliveries settled")
    assert {a for a, d in ds.items() if d["state"] == "sent"} == {"+15550100033"}
    assert {d["held_reason"] for a, d in ds.items() if d["state"] != "sent"} == \
        {"no_translation"}
    assert out["held"] == 6
    out = send(school.config, "--section", "sec-1", "--urgent", "--text", "Bring boots.",
               "--allow-fallback")
    assert out["held"] == 0
    poll(lambda: settled(school.db, out["announcement_id"]), what="fallback sent")
    assert sink.count() == 4 and fake.stats()["sends"] == 4


def test_bad_template_requests_are_refused(school):
    for args, msg in ((["--template", "tmpl.nope"], "unknown template"),
                      (["--template", "tmpl.event_reminder", "--arg", "event=x"], "tmpl.event_reminder"),
                      (["--text", "x", "--arg", "a=b"], "--arg goes with --template")):
        r = subprocess.run([BIN, "send", "-c", school.config, "--school"] + args,
                           capture_output=True, text=True)
        assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert query(school.db, "SELECT count(*) FROM announcement") == [(0,)]


def test_reply_to_a_parents_email_carries_threading_headers(school, sink):
    now = int(time.time() * 1000)
    con = sqlite3.connect(school.db, timeout=30)
    con.execute("INSERT INTO message (id, conversation_id, direction, channel, subject, body,"
                " in_reply_to, references_hdr, created_at) VALUES (900, 110, 'out', 'email',"
                " 'Re: Field trip', 'Yes, Omar may bring lunch.', '<p1@parent.example>',"
                " '<a0@lincoln.example> <p1@parent.example>', ?)", (now,))
    con.execute("INSERT INTO delivery (message_id, contact_id, channel, locale, body, state,"
                " next_attempt_at, idempotency_key, created_at, updated_at) VALUES"
                " (900, 30, 'email', 'ar', 'Yes, Omar may bring lunch.', 'queued', ?,"
                " 'r900-30', ?, ?)", (now, now, now))
    con.commit()
    con.close()
    poll(lambda: sink.count() == 1, what="the reply e-mail")
    msg, _ = parsed(sink)["amal@example.org"]
    assert msg["In-Reply-To"] == "<p1@parent.example>"
    assert msg["References"].split() == ["<a0@lincoln.example>", "<p1@parent.example>"]
    assert msg["Subject"] == "Re: Field trip"
    assert msg["Reply-To"].addresses[0].addr_spec == "replies+tok10@" + REPLY_DOMAIN
    # the sink has the mail a moment before the daemon records the result
    poll(lambda: query(school.db, "SELECT state FROM delivery WHERE message_id = 900")
         == [("sent",)], what="the delivery to be recorded as sent")
    assert query(school.db, "SELECT state, email_message_id FROM delivery WHERE message_id = 900"
                 ) == [("sent", "r900-30@" + REPLY_DOMAIN)]


def api(port, body, token=TOKEN, raw=None):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    st, _, data = http_request(port, "POST", "/api/messages",
                               body=raw if raw is not None else json.dumps(body),
                               headers=headers)
    return st, json.loads(data)


def test_api_messages(school, fake, sink):
    ok = {"section": "sec-2", "template": "tmpl.event_reminder", "urgent": True,
          "args": {"event": "Art Show", "date": "2025-03-14T01:30:00Z",
                   "time": "2025-03-14T01:30:00Z", "count": 0}}
    assert api(school.port, ok, token=None)[0] == 401
    assert api(school.port, ok, token="wrong")[0] == 403
    assert api(school.port, None, raw="{not json")[0] == 400
    st, err = api(school.port, dict(ok, section="sec-404"))
    assert st == 404 and "sec-404" in err["error"]
    st, err = api(school.port, dict(ok, args={"event": "x"}))
    assert st == 400 and "tmpl.event_reminder" in err["error"]
    assert query(school.db, "SELECT count(*) FROM announcement") == [(0,)]
    st, out = api(school.port, ok)
    assert st == 202, out
    assert out["deliveries"] == {"sms": 1, "email": 0} and out["skipped"]["opted_out"] == 1
    ds = poll(lambda: settled(school.db, out["announcement_id"]), what="API send")
    assert ds["+15550100033"]["state"] == "sent"
    assert sms_bodies(fake, 1)["+15550100033"] == [
        ds["+15550100033"]["body"]]
    assert ds["+15550100033"]["body"].startswith("Reminder: Art Show is on Thursday, March 13")
    assert "(today)" in ds["+15550100033"]["body"]                      # count=0 plural


def test_api_disabled_without_admin_token(workdir, write_config, fake, sink, serve):
    config = make_config(write_config, fake, sink, admin_token="")
    subprocess.run([BIN, "migrate", "-c", config], check=True, capture_output=True)
    d = serve(config)
    d.wait_log(r"event=started")
    assert api(d.port, {"school": True, "text": "x"})[0] == 403
    assert d.stop() == 0


def test_stop_confirmation_is_sent_once_and_announcements_skip(school, fake, sink):
    number = "+15550100033"
    r = fake.inbound(to_url="http://127.0.0.1:%d/webhooks/sms/twilio" % school.port,
                     sign_url=PUBLIC_URL + "/webhooks/sms/twilio", to=SCHOOL_NUMBER,
                     body="STOP", **{"from": number})
    assert r["attempts"][0]["status"] == 200
    got = fake.requests(to=number, min_count=1, timeout_ms=10000)["items"]
    assert len(got) == 1 and got[0]["form"]["Body"].startswith("You will get no more texts")
    poll(lambda: query(school.db, "SELECT d.state FROM delivery d JOIN message m"
                                  " ON m.id = d.message_id WHERE m.kind = 'system'")
         == [("sent",)], what="the confirmation recorded as sent")
    out = send(school.config, "--section", "sec-1", "--urgent", "--text", "Bring boots.")
    assert out["deliveries"]["sms"] == 2 and out["held"] == 6   # es, de held: not English
    assert out["skipped"]["opted_out"] == 2                     # Sam (just now) and Bea
    assert query(school.db, "SELECT count(*) FROM delivery d JOIN message m ON m.id = d.message_id"
                            " WHERE m.announcement_id = ? AND d.contact_id = 33",
                 (out["announcement_id"],)) == [(0,)]
    # a later SMS to another family goes out; still one request to the opted-out number
    send(school.config, "--student", "stu-14", "--urgent", *EVENT)
    fake.requests(to="+15550100034", min_count=1, timeout_ms=10000)
    assert len(fake.requests(to=number)["items"]) == 1
    st = fake.stats(tokens=True)
    assert st["sends"] == st["tokens"]["distinct"] == st["tokens"]["with_send"] == 2


def test_queued_rows_of_an_opted_out_contact_are_held_not_sent(school, fake):
    """A delivery queued before its contact opted out is held (opted_out) by the scheduler's
    hold pass and never claimed; a system message to the same contact still goes."""
    now = int(time.time() * 1000)
    con = sqlite3.connect(school.db, timeout=30)
    con.execute("INSERT INTO conversation (id,student_id,reply_token,created_at)"
                " VALUES (117,17,'tok17',0)")
    con.execute("INSERT INTO message (id, conversation_id, direction, channel, kind, body,"
                " created_at) VALUES (901, 117, 'out', 'dashboard', 'normal', 'Hi', ?),"
                " (902, NULL, 'out', 'sms', 'system', 'You will get no more texts.', ?)",
                (now, now))
    con.execute("INSERT INTO delivery (message_id, contact_id, channel, body, state,"
                " next_attempt_at, idempotency_key, created_at, updated_at) VALUES"
                " (901, 37, 'sms', 'Hi', 'queued', ?, 'k901', ?, ?),"
                " (902, 37, 'sms', 'You will get no more texts.', 'queued', ?, 'k902', ?, ?)",
                (now, now, now, now, now, now))
    con.commit()
    con.close()
    poll(lambda: query(school.db, "SELECT message_id, state, held_reason FROM delivery"
                                  " WHERE contact_id = 37 ORDER BY message_id")
         == [(901, "held", "opted_out"), (902, "sent", None)], what="held and sent")
    reqs = fake.requests(to="+15550100037")["items"]
    assert [r["form"]["Body"] for r in reqs] == ["You will get no more texts."]


def test_an_announcement_is_spread_over_sessions_of_at_most_32(workdir, write_config, fake,
                                                                sink, serve):
    """200 e-mails with [smtp] workers = 2: every family gets one, and no SMTP session
    carries more than 32 (the serve command's session size: a worker that took all that
    was queued left the other idle, docs/senders.md)."""
    n = 200
    d = start_seeded(serve, make_config(write_config, fake, sink),
                     smtp_support.email_school(n), r"event=started .*sms=on email=on")
    try:
        out = send(d.config, "--school", "--urgent", "--text", "Picture day is Friday.")
        assert out["deliveries"] == {"sms": 0, "email": n}
        msgs = sink.wait(n)
        assert sorted(m["to"][0] for m in msgs) == \
            sorted("parent%d@example.org" % i for i in range(1, n + 1))
        per_session = {}
        for m in msgs:
            per_session[m["session"]] = per_session.get(m["session"], 0) + 1
        assert max(per_session.values()) <= 32, per_session
        assert len(per_session) >= 7, per_session          # ceil(200 / 32)
        poll(lambda: query(d.db, "SELECT count(*) FROM delivery WHERE state = 'sent'")
             == [(n,)], what="every delivery recorded as sent")
    finally:
        assert d.stop() == 0, d.log()[-3000:]
    assert d.error_lines() == [], d.error_lines()


def test_the_daemon_sends_over_starttls_to_a_relay_it_verifies(workdir, write_config, fake,
                                                               serve, tmp_path):
    """[smtp] starttls = required, host = localhost, ca_file = the relay's authority: every
    e-mail goes over TLS, in two sessions (33 e-mails, 32 per session)."""
    ca, ctx = smtp_support.tls_files(str(tmp_path))
    with smtp_support.running(smtp_support.Sink(), tls_context=ctx,
                              require_starttls=True) as relay:
        config = write_config(
            server={"public_url": PUBLIC_URL}, school={"name": SCHOOL},
            sms={"enabled": "false"},
            smtp={"enabled": "true", "host": "localhost", "port": str(relay.port),
                  "starttls": "required", "ca_file": ca, "from_address": FROM,
                  "reply_domain": REPLY_DOMAIN, "workers": "1", "timeout": "5s"})
        d = start_seeded(serve, config, smtp_support.email_school(33),
                         r"event=started .*email=on")
        try:
            out = send(d.config, "--school", "--urgent", "--text", "Bus 4 is late today.")
            assert out["deliveries"] == {"sms": 0, "email": 33}
            msgs = relay.wait(33)
            assert all(m["tls"] for m in msgs)
            assert len({m["session"] for m in msgs}) == 2
            poll(lambda: query(d.db, "SELECT count(*) FROM delivery WHERE state = 'sent'")
                 == [(33,)], what="every delivery recorded as sent")
        finally:
            assert d.stop() == 0, d.log()[-3000:]
        assert d.error_lines() == [], d.error_lines()


class RefusingRelay(smtp_support.Sink):
    """Answers RCPT for some addresses as real relays refuse them (text as Postfix,
    Exchange Online and a block-listed relay send it)."""

    RCPT = {
        "parent1@example.org": "550 5.1.1 <parent1@example.org>: Recipient address rejected:"
                               " User unknown in virtual mailbox table",
        "parent2@example.org": "550 5.7.1 Service unavailable; Client host [195.1.23.4]"
                               " blocked using zen.spamhaus.org",
        "parent3@example.org": "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not"
                               " found by SMTP address lookup",
        "parent4@example.org": "550 Requested action not taken: mailbox unavailable",
        "parent5@example.org": "554 5.2.0 STOREDRV.Submission.Exception:"
                               " SubmissionQuotaExceededException; 5.1.90 daily limit",
    }

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.RCPT:
            return self.RCPT[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


class SenderRefusingRelay(smtp_support.Sink):
    """Refuses MAIL FROM as Postfix does when the sender's domain does not resolve, until
    refuse_mail is set to None."""
    refuse_mail = ("550 5.1.8 <office@district.example>: Sender address rejected:"
                   " Domain not found")

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refuse_mail:
            return self.refuse_mail
        envelope.mail_from = address
        return "250 OK"


def contact_states(db, n):
    return dict(query(db, "SELECT address, status FROM contact WHERE id <= ?", (n,)))


def test_only_a_refused_mailbox_marks_a_contact_bounced(workdir, write_config, fake, serve):
    """A relay's permanent refusals fail the deliveries, but only an unknown mailbox
    (RCPT 5.1.1, 5.1.10) marks the family's address bounced: not a block list naming the
    relay's IP address (195.1.23.4 contains "5.1."), not a 550 without an enhanced code,
    and not a quota.  (A refusal of the school's own sender address is the next test.)"""
    n = 6
    with smtp_support.running(RefusingRelay()) as relay:
        d = start_seeded(serve, make_config(write_config, fake, relay),
                         smtp_support.email_school(n), r"event=started .*sms=on email=on")
        try:
            out = send(d.config, "--school", "--urgent", "--text", "Picture day is Friday.")
            ds = poll(lambda: settled(d.db, out["announcement_id"]), what="every delivery")
        finally:
            assert d.stop() == 0, d.log()[-3000:]
    got = {a: (x["state"], s) for a, s in contact_states(d.db, n).items()
           for x in [ds[a]]}
    assert got == {
        "parent1@example.org": ("failed", "bounced"),
        "parent2@example.org": ("failed", "active"),
        "parent3@example.org": ("failed", "bounced"),
        "parent4@example.org": ("failed", "active"),
        "parent5@example.org": ("failed", "active"),
        "parent6@example.org": ("sent", "active"),
    }
    assert [m["to"] for m in relay.snapshot()] == [["parent6@example.org"]]
    errors = dict(query(d.db, "SELECT c.address, d.error_detail FROM delivery d"
                              " JOIN contact c ON c.id = d.contact_id"))
    assert "5.7.1 RCPT" in errors["parent2@example.org"], errors


def test_a_refused_sender_address_waits_for_the_admin_to_fix_it(workdir, write_config, fake,
                                                                 serve):
    """The relay refuses the school's own sender address (MAIL 5.1.8: its domain does not
    resolve; 5.7.1: the account may not send as it).  That is the school's configuration,
    the same for every family, not a bad address: the e-mails wait (retry_wait, error
    "sender_refused", said once at error level with the relay's words), no family's address
    is marked, and once the relay takes the sender (the admin fixed [smtp] from_address or
    the relay) and the daemon restarts, each family gets its e-mail, once."""
    n = 3
    relay_handler = SenderRefusingRelay()
    with smtp_support.running(relay_handler) as relay:
        config = make_config(write_config, fake, relay)
        with open(config, "a") as f:
            f.write("\n[outbox]\nretry_base = 1s\nretry_max = 1s\n")
        d = start_seeded(serve, config, smtp_support.email_school(n),
                         r"event=started .*sms=on email=on")
        try:
            out = send(d.config, "--school", "--urgent", "--text", "Picture day is Friday.")
            ann = out["announcement_id"]
            poll(lambda: query(d.db, "SELECT count(*) FROM delivery WHERE channel = 'email'"
                                     " AND state = 'retry_wait' AND attempts >= 2"
                                     " AND error_code = 'sender_refused'")[0][0] == n,
                 what="every e-mail retried, none failed")
            refused = [l for l in d.error_lines() if "event=relay_refused" in l]
            assert len(refused) == 1, d.error_lines()
            assert "code=sender_refused" in refused[0] and "5.1.8 MAIL" in refused[0]
            assert "office@district.example" not in refused[0]          # scrubbed
        finally:
            assert d.stop() == 0, d.log()[-3000:]
        assert set(s for _, s in contact_states(d.db, n).items()) == {"active"}
        assert relay.count() == 0
        relay_handler.refuse_mail = None                 # the admin fixed the sender
        d2 = serve(config)
        try:
            d2.wait_log(r"event=started")
            ds = poll(lambda: settled(d.db, ann), what="every delivery")
        finally:
            assert d2.stop() == 0, d2.log()[-3000:]
    assert {a: x["state"] for a, x in ds.items()} == {
        "parent%d@example.org" % i: "sent" for i in range(1, n + 1)}
    assert sorted(m["to"][0] for m in relay.snapshot()) == [
        "parent%d@example.org" % i for i in range(1, n + 1)]
    assert d2.error_lines() == []
