# SPDX-License-Identifier: AGPL-3.0-or-later
"""E-mail round trip through the real daemon: an announcement the daemon actually sends
through its e-mail sender (aiosmtpd on loopback, smtp_support), answered the way a mail
client answers it, and read back over IMAP (a real Dovecot, dovecot_support) by the same
daemon ([smtp] and [imap] both enabled).

The reply is built from the received message parsed in strict mode (Python's email
package): To the Reply-To address, "Re: " + Subject, In-Reply-To and References from its
Message-ID, the original quoted under an "On <date>, <from> wrote:" attribution.  It must
land in the conversation of the delivery that was sent (a guardian of two students gets
one delivery, on the lowest student id's message), with the quote removed from body and
kept in body_full; a second family's reply lands in its own student's conversation; a
reply to From (token stripped) still threads by In-Reply-To/References.  With
[translate] on (the LibreTranslate imitation, tests/fakes/libretranslate), a Spanish
family's reply is translated for the teacher (only the reply, never the quoted history)
and the original is kept.

Waits poll the database, the sink or the log with deadlines; nothing sleeps for timing."""
import email
import email.utils
import json
import subprocess
from email.message import EmailMessage

import pytest

from conftest import BIN, http_request, poll, start_seeded
from dovecot_support import PASSWORD, USER, dovecot  # noqa: F401
from smtp_support import STRICT, sink  # noqa: F401
from sms_support import query
from test_translate import lt  # noqa: F401

SCHOOL = "École Lincoln"
FROM = "office@lincoln.example"
REPLY_DOMAIN = "reply.lincoln.example"
TEXT = "Field trip to the science museum on Friday.\nPlease send a packed lunch."

# Rosa is the guardian of two students in sec-1 (one delivery, on Ana's message);
# Grace of one; Marta (Spanish) of Luis in sec-2.
SEED = """
INSERT INTO school VALUES (1,'sch-1','Lincoln','America/New_York','en',NULL,NULL,0,0);
INSERT INTO section (id,school_id,sourced_id,title,created_at,updated_at) VALUES
 (1,1,'sec-1','Science',0,0),(2,1,'sec-2','Art',0,0);
INSERT INTO student (id,school_id,sourced_id,given_name,family_name,created_at,updated_at) VALUES
 (10,1,'stu-10','Ana','Diaz',0,0),(11,1,'stu-11','Ben','Okafor',0,0),
 (12,1,'stu-12','Luis','Ruiz',0,0),(13,1,'stu-13','Tomas','Diaz',0,0);
INSERT INTO enrollment VALUES (1,10),(1,11),(1,13),(2,12);
INSERT INTO guardian (id,sourced_id,given_name,family_name,locale,preferred_channel,timezone,
                      created_at,updated_at) VALUES
 (20,'g-rosa','Rosa','Diaz','en','email',NULL,0,0),
 (21,'g-grace','Grace','Okafor','en','email',NULL,0,0),
 (22,'g-marta','Marta','Ruiz','es-MX','email',NULL,0,0);
INSERT INTO student_guardian (student_id,guardian_id) VALUES (10,20),(13,20),(11,21),(12,22);
INSERT INTO contact (id,kind,address,status,created_at,updated_at) VALUES
 (30,'email','rosa@example.org','active',0,0),(31,'email','grace@example.net','active',0,0),
 (32,'email','marta@example.org','active',0,0);
INSERT INTO guardian_contact VALUES (20,30),(21,31),(22,32);
"""


@pytest.fixture
def school(workdir, write_config, serve, sink, dovecot):  # noqa: F811
    """start(lt=None) -> the daemon (.config, .db) with [smtp] and [imap] on."""
    def start(lt=None):
        extra = {}
        if lt is not None:
            extra["translate"] = {"enabled": "true", "url": lt.url, "timeout": "5s"}
        config = write_config(
            school={"name": SCHOOL},
            smtp={"enabled": "true", "host": "127.0.0.1", "port": str(sink.port),
                  "starttls": "no", "from_address": FROM, "reply_domain": REPLY_DOMAIN,
                  "workers": "1", "timeout": "5s"},
            imap={"enabled": "true", "url": dovecot.url(), "username": USER,
                  "password": PASSWORD, "poll_interval": "100ms"},
            **extra)
        d = start_seeded(serve, config, SEED, r"event=started .*email=on")
        started.append(d)
        return d
    started = []
    yield start
    for d in started:
        assert d.stop() == 0, d.log()[-3000:]
        assert d.error_lines() == [], d.error_lines()


def send(config, *args):
    r = subprocess.run([BIN, "send", "-c", config, "--urgent"] + list(args),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def received(sink, n):  # noqa: F811
    """The first n e-mails the daemon sent, parsed strictly, by recipient."""
    out = {}
    for m in sink.wait(n):
        assert len(m["to"]) == 1
        out[m["to"][0]] = email.message_from_bytes(m["raw"], policy=STRICT)
    assert len(out) == sink.count() == n, "one e-mail per address"
    return out


def answer(orig, frm, text, to_from=False):
    """The reply a mail client writes to orig: To its Reply-To (or its From when the
    client ignores Reply-To), "Re: " subject, threading headers, the quoted original."""
    m = EmailMessage()
    m["From"] = frm
    m["To"] = orig["From"] if to_from else orig["Reply-To"]
    m["Subject"] = "Re: " + orig["Subject"]
    m["Date"] = email.utils.formatdate(localtime=True)
    m["Message-ID"] = email.utils.make_msgid(domain="client.example")
    m["In-Reply-To"] = orig["Message-ID"]
    refs = orig["References"]
    m["References"] = (refs + " " if refs else "") + orig["Message-ID"]
    body = orig.get_body(("plain",)).get_content().replace("\r\n", "\n")
    quoted = "".join("> " + line if line else ">" for line in body.splitlines(True))
    m.set_content("%s\n\nOn %s, %s wrote:\n%s" % (text, orig["Date"], orig["From"], quoted))
    return m


def delivery_of(db, addr, ann):
    """(conversation id, reply token, Message-ID) of the delivery sent to addr, once
    recorded as sent (the sink may hold the e-mail before that commit)."""
    return poll(lambda: query(db, "SELECT m.conversation_id, cv.reply_token, d.email_message_id"
                                  " FROM delivery d JOIN contact c ON c.id = d.contact_id"
                                  " JOIN message m ON m.id = d.message_id"
                                  " JOIN conversation cv ON cv.id = m.conversation_id"
                                  " WHERE c.address = ? AND m.announcement_id = ?"
                                  " AND d.state = 'sent'", (addr, ann)),
                10, "the delivery to %s recorded as sent" % addr)[0]


def inbound(db, n):
    rows = poll(lambda: (lambda r: r if len(r) >= n else None)(query(
        db, "SELECT from_address, conversation_id, match_rule, guardian_id, body, body_full,"
            " in_reply_to, subject, original_body, machine_translated"
            " FROM message WHERE direction = 'in' ORDER BY id")), 30, "%d inbound rows" % n)
    keys = ("from", "conversation", "rule", "guardian", "body", "body_full", "in_reply_to",
            "subject", "original_body", "mt")
    return {r[0]: dict(zip(keys, r)) for r in rows}


def metric(port, line):
    return line.encode() in http_request(port, "GET", "/metrics")[2]


def test_replies_land_in_the_conversation_of_the_sent_delivery(school, sink, dovecot):  # noqa: F811
    d = school()
    out = send(d.config, "--section", "sec-1", "--text", TEXT)
    assert out["deliveries"] == {"sms": 0, "email": 2} and out["held"] == 0
    mails = received(sink, 2)
    assert set(mails) == {"rosa@example.org", "grace@example.net"}
    ann = out["announcement_id"]
    rosa = delivery_of(d.db, "rosa@example.org", ann)
    grace = delivery_of(d.db, "grace@example.net", ann)
    # Rosa's one delivery is on the lowest student id's message: Ana's
    assert query(d.db, "SELECT student_id FROM conversation WHERE id = ?", (rosa[0],)) == [(10,)]
    assert query(d.db, "SELECT student_id FROM conversation WHERE id = ?", (grace[0],)) == [(11,)]
    for addr, (_, token, msgid) in (("rosa@example.org", rosa), ("grace@example.net", grace)):
        assert mails[addr]["Reply-To"].addresses[0].addr_spec == \
            "replies+%s@%s" % (token, REPLY_DOMAIN)
        assert mails[addr]["Message-ID"] == "<%s>" % msgid

    dovecot.save(answer(mails["rosa@example.org"], "Rosa Diaz <rosa@example.org>",
                        "Ana and Tomas can both go.\nThanks!"))
    dovecot.save(answer(mails["grace@example.net"], '"Okafor, Grace" <grace@example.net>',
                        "Ben has a dentist appointment that day."))
    rows = inbound(d.db, 2)
    r, g = rows["rosa@example.org"], rows["grace@example.net"]
    assert (r["conversation"], r["rule"], r["guardian"]) == (rosa[0], "reply_token", 20)
    assert (g["conversation"], g["rule"], g["guardian"]) == (grace[0], "reply_token", 21)
    assert r["body"].strip() == "Ana and Tomas can both go.\nThanks!"
    assert g["body"].strip() == "Ben has a dentist appointment that day."
    for row, addr in ((r, "rosa@example.org"), (g, "grace@example.net")):
        assert "wrote:" not in row["body"] and ">" not in row["body"]
        assert "wrote:" in row["body_full"] and "> Please send a packed lunch." in row["body_full"]
        assert row["in_reply_to"] == mails[addr]["Message-ID"].strip("<>")
        assert row["subject"] == "Re: " + SCHOOL
        assert row["mt"] == 0 and row["original_body"] is None
    assert poll(lambda: metric(d.port, 'backpack_message_events_total{kind="email_in"} 2'),
                10, "two e-mail events")


def test_reply_to_from_threads_by_its_headers(school, sink, dovecot):  # noqa: F811
    d = school()
    out = send(d.config, "--section", "sec-1", "--text", TEXT)
    mails = received(sink, 2)
    rosa = delivery_of(d.db, "rosa@example.org", out["announcement_id"])
    m = answer(mails["rosa@example.org"], "Rosa Diaz <rosa@example.org>", "Yes for both.",
               to_from=True)
    assert m["To"].addresses[0].addr_spec == FROM          # no reply token anywhere
    assert rosa[1] not in m.as_string()
    dovecot.save(m)
    row = inbound(d.db, 1)["rosa@example.org"]
    # Rosa has two students: only the headers can tell which conversation she answers
    assert (row["conversation"], row["rule"]) == (rosa[0], "email_header")
    assert row["body"].strip() == "Yes for both."


def test_spanish_reply_is_translated_for_the_teacher(school, sink, dovecot, lt):  # noqa: F811
    d = school(lt)
    out = send(d.config, "--section", "sec-2", "--text", TEXT)
    assert out["deliveries"]["email"] == 1 and out["held"] == 0
    mail = received(sink, 1)["marta@example.org"]
    assert mail.get_body(("plain",)).get_content().startswith("[es] Field trip")
    marta = delivery_of(d.db, "marta@example.org", out["announcement_id"])
    text = "Luis no puede ir el viernes, está enfermo.\nGracias."
    dovecot.save(answer(mail, "Marta Ruiz <marta@example.org>", text))
    row = poll(lambda: (lambda r: r if r and r["marta@example.org"]["mt"] == 1 else None)(
        inbound(d.db, 1)), 30, "the translated reply")["marta@example.org"]
    assert row["conversation"] == marta[0] and row["rule"] == "reply_token"
    assert row["body"] == "[en] " + row["original_body"]          # the teacher's copy
    assert row["original_body"].strip() == text                   # the parent's, kept
    assert query(d.db, "SELECT original_locale FROM message WHERE direction = 'in'") == [("es-MX",)]
    assert "[es] Field trip" in row["body_full"]                  # history left as received
    # one request for the announcement, one for the reply: the reply only, not the quote
    reqs = lt.requests()
    assert [(x["source"], x["target"]) for x in reqs] == [("en", "es"), ("es", "en")]
    assert reqs[1]["q"].strip() == text
    d.wait_log(r"event=mt_inbound msg=\d+ locale=es-MX")
    # a reply longer than inbound_mt.c's MAX_TEXT (32 KiB) is not sent to the
    # translator: the teacher reads it as written
    long_text = "Querida maestra, le escribo sobre la excursión del viernes.\n" * 700
    assert len(long_text.encode()) > 32 * 1024
    dovecot.save(answer(mail, "Marta Ruiz <marta@example.org>", long_text))
    d.wait_log(r"event=mt_inbound_skipped msg=\d+ reason=too_long bytes=\d+ max=32768")
    rows = query(d.db, "SELECT body, original_body, machine_translated FROM message"
                       " WHERE direction = 'in' ORDER BY id")
    assert len(rows) == 2 and rows[1][0].strip() == long_text.strip()
    assert rows[1][1:] == (None, 0)
    assert len(lt.requests()) == 2
    assert metric(d.port, 'backpack_message_events_total{kind="email_in"} 2')
    assert metric(d.port, 'backpack_message_events_total{kind="sms_in"} 0')
