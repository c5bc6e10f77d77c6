# SPDX-License-Identifier: AGPL-3.0-or-later
"""The unsubscribe link of every e-mail, end to end with the real daemon.

An announcement goes out through the e-mail sender to a real SMTP server (Debian's
aiosmtpd on loopback); the https target is taken from the received message's
List-Unsubscribe header (parsed by Python's email package in strict mode).  GET (and
HEAD) shows the confirm page in the family's language and changes nothing; the RFC 8058
one-click POST opts the contact out (contact row, consent_event, audit row), a repeat
adds nothing, and the next announcement creates no e-mail delivery for that contact.
Unknown, garbled and SMS-delivery tokens all get the same 404 page.  The school's name
contains <&" so every page must escape it.  Waits poll with deadlines; nothing sleeps
for timing."""
import email
import json
import re
import socket
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, http_request, start_seeded
from conftest import poll
from smtp_support import STRICT, sink  # noqa: F401

PUBLIC_URL = "https://backpack.example.org"
SCHOOL = 'Lincoln <Elementary> & "Friends"'
SCHOOL_HTML = "Lincoln &lt;Elementary&gt; &amp; &quot;Friends&quot;"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SECURITY = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}

SEED = """
INSERT INTO school VALUES (1,'sch-1','Lincoln','America/New_York','en',NULL,NULL,0,0);
INSERT INTO section (id,school_id,sourced_id,title,created_at,updated_at) VALUES
 (1,1,'sec-1','Science',0,0);
INSERT INTO student (id,school_id,sourced_id,given_name,family_name,created_at,updated_at) VALUES
 (10,1,'stu-10','Omar','Haddad',0,0),(12,1,'stu-12','Mai','Tran',0,0);
INSERT INTO enrollment VALUES (1,10),(1,12);
INSERT INTO guardian (id,sourced_id,given_name,family_name,locale,preferred_channel,
                      created_at,updated_at) VALUES
 (20,'g-ar','Amal','Haddad','ar','email',0,0),
 (22,'g-vi','Hoa','Tran','vi','email',0,0);
INSERT INTO student_guardian (student_id,guardian_id) VALUES (10,20),(12,22);
INSERT INTO contact (id,kind,address,status,created_at,updated_at) VALUES
 (30,'email','amal@example.org','active',0,0),(32,'email','hoa@example.org','active',0,0),
 (33,'sms','+15550100033','active',0,0);
INSERT INTO guardian_contact VALUES (20,30),(22,32),(20,33);
INSERT INTO conversation (id,student_id,reply_token,created_at) VALUES (110,10,'tok10',0);
-- an SMS delivery: its key goes to the SMS provider and must never unsubscribe anyone
INSERT INTO message (id,conversation_id,direction,channel,guardian_id,body,created_at)
 VALUES (900,110,'out','sms',20,'hi',0);
INSERT INTO delivery (message_id,contact_id,channel,body,state,idempotency_key,
                      created_at,updated_at)
 VALUES (900,33,'sms','hi','sent','a0-00112233445566aa-33',0,0);
"""


def query(db, sql, args=()):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


@pytest.fixture
def school(workdir, write_config, sink, serve):
    config = write_config(
        server={"public_url": PUBLIC_URL},
        school={"name": SCHOOL, "default_locale": "en"},
        smtp={"enabled": "true", "host": "127.0.0.1", "port": str(sink.port),
              "starttls": "no", "from_address": "office@lincoln.example",
              "reply_domain": "reply.lincoln.example", "workers": "1", "timeout": "5s"})
    d = start_seeded(serve, config, SEED, r"event=started .*email=on")
    yield d
    assert d.stop() == 0, d.log()[-3000:]
    assert d.error_lines() == [], d.error_lines()


def announce(d, text):
    r = subprocess.run([BIN, "send", "-c", d.config, "--section", "sec-1", "--urgent",
                        "--text", text, "--allow-fallback"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def mails_to(sink, n):
    msgs = poll(lambda: (lambda m: m if len(m) >= n else None)(sink.snapshot()),
                what="%d e-mails" % n)
    out = {}
    for m in msgs:
        assert len(m["to"]) == 1
        out.setdefault(m["to"][0], []).append(email.message_from_bytes(m["raw"],
                                                                        policy=STRICT))
    return out


def https_target(msg):
    lu = msg["List-Unsubscribe"].replace("\r\n", "").replace(" ", "")
    urls = re.findall(r"<([^>]*)>", lu)
    https = [u for u in urls if u.startswith("https://")]
    assert len(https) == 1, lu
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert https[0].startswith(PUBLIC_URL + "/unsubscribe/")
    return https[0][len(PUBLIC_URL):]                 # the path, served by the daemon


def contact(db, cid):
    return query(db, "SELECT status, consent_source FROM contact WHERE id = ?", (cid,))[0]


def events(db, cid):
    return query(db, "SELECT kind, source FROM consent_event WHERE contact_id = ?", (cid,))


def check_page(status, hdrs, body, want_status):
    assert status == want_status
    assert hdrs["content-type"] == "text/html; charset=utf-8"
    for k, v in SECURITY.items():
        assert hdrs.get(k) == v, (k, hdrs.get(k))
    page = body.decode("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert SCHOOL not in page and "<Elementary>" not in page
    return page


def test_one_click_unsubscribe_end_to_end(school, sink):
    announce(school, "Science fair on Friday.")
    mails = mails_to(sink, 2)
    assert set(mails) == {"amal@example.org", "hoa@example.org"}
    path = https_target(mails["amal@example.org"][0])
    token = path.rsplit("/", 1)[1]
    assert query(school.db, "SELECT count(*) FROM delivery WHERE idempotency_key = ?"
                            " AND contact_id = 30 AND channel = 'email'", (token,)) == [(1,)]

    # GET: the confirm page in the family's language; nothing changes
    page = check_page(*http_request(school.port, "GET", path), 200)
    assert '<html lang="ar" dir="rtl">' in page
    assert "إلغاء الاشتراك" in page
    assert "<bdi>amal@example.org</bdi>" in page
    assert "<bdi>%s</bdi>" % SCHOOL_HTML in page
    assert '<form method="post">' in page
    assert contact(school.db, 30) == ("active", None)
    assert events(school.db, 30) == []

    # HEAD: same head, no body, still nothing changes
    st, hdrs, body = http_request(school.port, "HEAD", path)
    assert st == 200 and body == b""
    assert hdrs["content-type"] == "text/html; charset=utf-8"
    assert contact(school.db, 30) == ("active", None)

    # the other family's link shows its own language
    vi = check_page(*http_request(school.port, "GET", https_target(
        mails["hoa@example.org"][0])), 200)
    assert '<html lang="vi" dir="ltr">' in vi and "<bdi>hoa@example.org</bdi>" in vi

    # RFC 8058 one-click POST: opted out, one event, one audit row, answered after commit
    done = check_page(*http_request(school.port, "POST", path,
                                    body="List-Unsubscribe=One-Click", headers=FORM), 200)
    assert '<html lang="ar" dir="rtl">' in done and "<form" not in done
    assert "<bdi>amal@example.org</bdi>" in done
    assert contact(school.db, 30) == ("opted_out", "email")
    assert events(school.db, 30) == [("opt_out", "email")]
    audit = query(school.db, "SELECT actor, object_id, detail FROM audit"
                             " WHERE action = 'contact.opt_out'")
    assert len(audit) == 1 and audit[0][:2] == ("family", 30)
    assert json.loads(audit[0][2])["one_click"] is True
    assert contact(school.db, 32) == ("active", None)            # the other family

    # a second POST (mail client retry): the same page, no second event
    again = check_page(*http_request(school.port, "POST", path,
                                     body="List-Unsubscribe=One-Click", headers=FORM), 200)
    assert again == done
    assert events(school.db, 30) == [("opt_out", "email")]
    assert query(school.db, "SELECT count(*) FROM audit WHERE action = 'contact.opt_out'") \
        == [(1,)]
    # GET afterwards says it is done (no button)
    assert check_page(*http_request(school.port, "GET", path), 200) == done

    # the next announcement creates no e-mail delivery for that contact
    out = announce(school, "Boots tomorrow.")
    ann = out["announcement_id"]
    rows = query(school.db, "SELECT d.contact_id FROM delivery d JOIN message m"
                            " ON m.id = d.message_id WHERE m.announcement_id = ?", (ann,))
    assert 30 not in [r[0] for r in rows]
    assert 32 in [r[0] for r in rows]
    mails = mails_to(sink, 3)
    assert len(mails["hoa@example.org"]) == 2 and len(mails["amal@example.org"]) == 1

    # no personal data in the log at info and above
    assert "amal@example.org" not in school.log()
    assert re.search(r"event=email_unsubscribed .*changed=1 one_click=1", school.log())


def test_unknown_and_garbled_tokens_get_one_404_page(school, sink):
    announce(school, "Hello.")
    real = https_target(mails_to(sink, 2)["amal@example.org"][0])
    pages = set()
    for method, path in (("GET", "/unsubscribe/a1-0000000000000000-30"),
                         ("GET", "/unsubscribe/%3Cscript%3E"),
                         ("GET", "/unsubscribe/"),
                         ("GET", "/unsubscribe/" + "a" * 300),
                         ("GET", real + "x"),
                         ("GET", "/unsubscribe/a0-00112233445566aa-33"),   # SMS delivery
                         ("POST", "/unsubscribe/a0-00112233445566aa-33"),
                         ("POST", "/unsubscribe/a1-0000000000000000-30")):
        body = "List-Unsubscribe=One-Click" if method == "POST" else None
        page = check_page(*http_request(school.port, method, path, body=body,
                                        headers=FORM if body else None), 404)
        pages.add(page)
    assert len(pages) == 1                                       # no token oracle
    page = pages.pop()
    assert '<html lang="en" dir="ltr">' in page
    assert "This unsubscribe link is not valid." in page
    assert "<bdi>%s</bdi>" % SCHOOL_HTML in page
    assert "<form" not in page
    st, hdrs, body = http_request(school.port, "HEAD", "/unsubscribe/nope")
    assert st == 404 and body == b""
    # nothing changed anywhere
    assert query(school.db, "SELECT count(*) FROM contact WHERE status = 'opted_out'") \
        == [(0,)]
    assert query(school.db, "SELECT count(*) FROM consent_event") == [(0,)]
    # other methods are refused by the route table
    st, hdrs, _ = http_request(school.port, "PUT", real, body="x")
    assert st == 405


def test_the_page_form_unsubscribes_too(school, sink):
    """The confirm page's own form posts the same field; a client that posts an empty
    form body (not RFC 8058) is still honoured, recorded as one_click false."""
    announce(school, "Hello.")
    path = https_target(mails_to(sink, 2)["hoa@example.org"][0])
    done = check_page(*http_request(school.port, "POST", path, body="", headers=FORM), 200)
    assert '<html lang="vi" dir="ltr">' in done
    assert contact(school.db, 32) == ("opted_out", "email")
    detail = query(school.db, "SELECT detail FROM audit WHERE action = 'contact.opt_out'")
    assert [json.loads(d[0])["one_click"] for d in detail] == [False]
