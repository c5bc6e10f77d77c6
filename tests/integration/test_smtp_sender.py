"""The e-mail sender (src/smtp) against a real SMTP server, through the C driver.

tests/unit/smtp/smtp_driver submits jobs through bp_smtp_sender_new() (GMime + libesmtp on
the sender's own worker threads) and prints one JSON line per result.  The server is a real
aiosmtpd (Debian's python3-aiosmtpd) Controller on loopback that stores each raw message and
counts SMTP sessions; it rejects recipients "reject-*" with 550 5.1.1 and "busy-*" with
451 4.3.0.  Received messages are parsed with Python's email package in strict mode
(policy.default with raise_on_defect) to prove they are well-formed.
"""
import asyncio
import email
import email.policy
import json
import os
import queue
import socket
import subprocess
import threading

import pytest
import smtp_support
from conftest import free_port  # noqa: E402

from smtp_support import STRICT
FROM = "office@school.example"


def driver_path():
    bindir = os.path.dirname(os.environ["BACKPACK_BIN"])
    return os.path.join(bindir, "tests", "unit", "smtp", "smtp_driver")


class Sink(smtp_support.Sink):
    """Rejects "reject-*" for good and "busy-*" for now."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject-"):
            return "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        if address.startswith("busy-"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def sink():
    with smtp_support.running(Sink()) as handler:
        yield handler


def run(port, jobs, *extra, timeout=120):
    args = [driver_path(), "--host", "127.0.0.1", "--port", str(port), "--from", FROM,
            "--from-name", "École Sainte-Anne", "--timeout-ms", "3000"] + list(extra)
    stdin = "".join(json.dumps(j) + "\n" for j in jobs)
    p = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    assert lines and lines[-1].get("summary"), p.stdout + p.stderr
    s = lines[-1]
    assert p.returncode == 0, p.stderr
    assert s["loop_close"] == 0 and s["dup_callbacks"] == 0 and s["missing"] == 0
    res = {r["message_id"]: r for r in lines[:-1]}
    assert len(res) == len(lines) - 1 == len(jobs)
    return res


SUBJECTS = {
    "ar": "اجتماع أولياء الأمور يوم الخميس",
    "zh": "家长会通知：星期四下午",
    "vi": "Thông báo họp phụ huynh thứ Năm",
}
BODIES = {
    "ar": "مرحبا،\nالاجتماع يوم الخميس الساعة السادسة.\n",
    "zh": "您好，\n家长会在星期四下午六点举行。\n",
    "vi": "Xin chào,\nBuổi họp phụ huynh vào thứ Năm lúc 18 giờ.\n.leading dot line\n",
}


def job(mid, to="parent@example.org", lang="vi", **kw):
    j = {"to": to, "to_name": "Nguyễn Thị Hoa", "subject": SUBJECTS[lang], "body": BODIES[lang],
         "message_id": mid, "reply_to": "replies+t%s@school.example" % mid.split("@")[0]}
    j.update(kw)
    return j


def test_messages_are_well_formed_mime(sink):
    jobs = [job("m-%s@school.example" % lang, lang=lang, to="p-%s@example.org" % lang,
                in_reply_to="<orig-%s@parent.example>" % lang,
                references="<root@school.example> <orig-%s@parent.example>" % lang,
                unsubscribe_url="https://school.example/u/%s" % lang,
                unsubscribe_mailto="unsub+%s@school.example" % lang, automatic=True,
                html_body="<p>%s</p>" % BODIES[lang].splitlines()[0] if lang == "zh" else None)
            for lang in SUBJECTS]
    res = run(sink.port, jobs)
    assert all(r["cls"] == "ok" for r in res.values()), res
    assert len(sink.messages) == 3
    for m in sink.messages:
        raw = m["raw"]
        assert b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")   # CRLF only
        msg = email.message_from_bytes(raw, policy=STRICT)
        lang = msg["Message-ID"][3:5]
        assert m["from"] == FROM and m["to"] == ["p-%s@example.org" % lang]
        assert msg["Message-ID"] == "<m-%s@school.example>" % lang
        assert str(msg["Subject"]) == SUBJECTS[lang]
        assert "=?" in raw.split(b"\r\n\r\n")[0].decode("ascii")            # headers are 7-bit
        assert msg["From"].addresses[0].display_name == "École Sainte-Anne"
        assert msg["From"].addresses[0].addr_spec == FROM
        assert msg["To"].addresses[0].display_name == "Nguyễn Thị Hoa"
        assert msg["Reply-To"].addresses[0].addr_spec == "replies+tm-%s@school.example" % lang
        assert msg["In-Reply-To"] == "<orig-%s@parent.example>" % lang
        assert msg["References"].split() == ["<root@school.example>",
                                             "<orig-%s@parent.example>" % lang]
        assert msg["List-Unsubscribe"].replace("\r\n", "").replace("  ", " ") == \
            "<mailto:unsub+%s@school.example>, <https://school.example/u/%s>" % (lang, lang)
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg["MIME-Version"] == "1.0" and msg["Date"].datetime is not None
        plain = msg.get_body(preferencelist=("plain",))
        assert plain.get_content_charset() == "utf-8"
        assert plain.get_content().replace("\r\n", "\n") == BODIES[lang]
        if lang == "zh":
            assert msg.get_content_type() == "multipart/alternative"
            html = msg.get_body(preferencelist=("html",))
            assert html.get_content().strip() == "<p>%s</p>" % BODIES["zh"].splitlines()[0]
        else:
            assert msg.get_content_type() == "text/plain"


def test_not_automatic_has_no_auto_submitted(sink):
    run(sink.port, [job("plain-1@school.example")])
    msg = email.message_from_bytes(sink.messages[0]["raw"], policy=STRICT)
    assert msg["Auto-Submitted"] is None and msg["List-Unsubscribe"] is None


def test_550_is_permanent_with_enhanced_status(sink):
    res = run(sink.port, [job("r1@school.example", to="reject-x@example.org"),
                          job("r2@school.example")], "--workers", "1")
    r = res["r1@school.example"]
    assert (r["cls"], r["code"]) == ("permanent", "550")
    assert r["detail"].startswith("5.1.1")
    assert "reject-x@example.org" not in r["detail"]
    assert res["r2@school.example"]["cls"] == "ok"
    assert len(sink.messages) == 1


def test_451_is_transient(sink):
    r = run(sink.port, [job("b1@school.example", to="busy-x@example.org")])["b1@school.example"]
    assert (r["cls"], r["code"]) == ("transient", "451")


def test_server_down_is_transient():
    port = free_port()
    r = run(port, [job("d1@school.example")])["d1@school.example"]
    assert (r["cls"], r["code"]) == ("transient", "connect")


def test_silent_server_is_transient_timeout():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)          # accepts (kernel backlog) and never greets
    try:
        r = run(srv.getsockname()[1], [job("t1@school.example")],
                "--timeout-ms", "1000")["t1@school.example"]
    finally:
        srv.close()
    assert r["cls"] == "transient" and r["code"] in ("timeout", "connect")
    assert 900 <= r["ms"] < 10000


def test_many_messages_over_few_sessions(sink):
    n = 200
    res = run(sink.port, [job("many-%d@school.example" % i, to="p%d@example.org" % i)
                          for i in range(n)], "--workers", "2", "--batch", "100")
    assert all(r["cls"] == "ok" for r in res.values())
    assert len(sink.messages) == n
    assert 2 <= sink.sessions <= 10, sink.sessions       # batched, not one per message
    ids = sorted(email.message_from_bytes(m["raw"], policy=STRICT)["Message-ID"]
                 for m in sink.messages)
    assert ids == sorted("<many-%d@school.example>" % i for i in range(n))


def test_invalid_job_is_permanent_bad_message(sink):
    res = run(sink.port, [job("x1@school.example", subject="a\r\nBcc: v@example.org")])
    assert (res["x1@school.example"]["cls"], res["x1@school.example"]["code"]) == \
        ("permanent", "bad_message")
    assert sink.messages == []


def test_close_with_jobs_pending_cancels_or_sends_each_once(sink):
    n = 50
    res = run(sink.port, [job("c%d@school.example" % i) for i in range(n)],
              "--workers", "1", "--batch", "1", "--close-after-submit")
    classes = [r["cls"] for r in res.values()]
    sent = classes.count("ok")
    assert sent + sum(1 for r in res.values() if r["code"] == "canceled") == n
    assert sent == len(sink.messages)


class Authenticator:
    def __init__(self):
        self.seen = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult
        ok = (auth_data.login, auth_data.password) == (b"mailer", b"s3cret")
        self.seen.append((mechanism, auth_data.login, ok))
        return AuthResult(success=ok)


@pytest.mark.parametrize("password,expect", [("s3cret", "ok"), ("wrong", "transient")])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_auth_plain(password, expect):
    handler, auth = Sink(), Authenticator()
    with smtp_support.running(handler, authenticator=auth, auth_require_tls=False,
                              auth_required=True):
        r = run(handler.port, [job("a1@school.example")], "--user", "mailer",
                "--pass", password)["a1@school.example"]
    assert auth.seen and auth.seen[0][1] == b"mailer"
    assert r["cls"] == expect, r
    if expect != "ok":
        assert r["code"] == "auth"
    assert len(handler.messages) == (1 if expect == "ok" else 0)


# ---- STARTTLS ---------------------------------------------------------------
# The relay offers STARTTLS with a certificate for "localhost" signed by a test
# authority (smtp_support.tls_files); the sender reaches it as "localhost".

@pytest.fixture
def tls_relay(tmp_path):
    ca, ctx = smtp_support.tls_files(str(tmp_path))
    with smtp_support.running(Sink(), tls_context=ctx, require_starttls=True) as handler:
        handler.ca_file = ca
        yield handler


def test_starttls_over_many_sessions_with_the_schools_authority(tls_relay):
    # 30 sessions of 2 on 2 workers: each session its own handshake on the one
    # context (libesmtp 1.1.0's own context was freed after the first session)
    n = 60
    res = run(tls_relay.port, [job("t%d@school.example" % i, to="p%d@example.org" % i)
                               for i in range(n)],
              "--host", "localhost", "--starttls", "required", "--ca-file", tls_relay.ca_file,
              "--workers", "2", "--batch", "2")
    assert [r for r in res.values() if r["cls"] != "ok"] == []
    assert len(tls_relay.messages) == n
    assert len({m["session"] for m in tls_relay.messages}) == n // 2
    assert all(m["tls"] for m in tls_relay.messages)
    assert max(r["ms"] for r in res.values()) < 3000          # no session waited out a timeout


def tls_refused(port, *args):
    res = run(port, [job("r%d@school.example" % i) for i in range(3)], "--batch", "2", *args)
    assert {r["cls"] for r in res.values()} == {"transient"}, res
    assert {r["code"] for r in res.values()} == {"tls"}, res
    return {r["detail"] for r in res.values()}


def test_a_relay_certificate_from_an_unknown_authority_is_refused(tls_relay):
    # no ca_file: the system's store, which does not know the test authority
    assert tls_refused(tls_relay.port, "--host", "localhost", "--starttls", "required") == {
        "STARTTLS: the relay's certificate was refused: unable to get local issuer certificate"}
    assert tls_relay.messages == []


def test_a_relay_certificate_for_another_name_is_refused(tls_relay):
    # reached by its address: the certificate names only "localhost"
    assert tls_refused(tls_relay.port, "--host", "127.0.0.1", "--starttls", "required",
                       "--ca-file", tls_relay.ca_file) == {
        "STARTTLS: the relay's certificate was refused: IP address mismatch"}
    assert tls_relay.messages == []


def test_starttls_try_encrypts_without_checking_the_certificate(tls_relay):
    # opportunistic, as MTAs do: an unknown authority and another name, still TLS
    res = run(tls_relay.port, [job("o%d@school.example" % i) for i in range(4)],
              "--starttls", "try", "--batch", "2")
    assert {r["cls"] for r in res.values()} == {"ok"}, res
    assert [m["tls"] for m in tls_relay.messages] == [True] * 4


def test_starttls_required_and_not_offered_sends_nothing(sink):
    assert tls_refused(sink.port, "--starttls", "required") == {
        "STARTTLS is required and the relay does not offer it"}
    assert sink.messages == [] and sink.sessions >= 1


def test_a_certificate_address_in_the_relays_certificate_works(tmp_path):
    ca, ctx = smtp_support.tls_files(str(tmp_path), names=("IP:127.0.0.1",))
    with smtp_support.running(Sink(), tls_context=ctx, require_starttls=True) as relay:
        res = run(relay.port, [job("ip@school.example")], "--starttls", "required",
                  "--ca-file", ca)
        assert res["ip@school.example"]["cls"] == "ok", res
        assert [m["tls"] for m in relay.messages] == [True]


def test_an_unreadable_ca_file_stops_the_sender_at_start(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    p = subprocess.run([driver_path(), "--host", "localhost", "--port", "25", "--from", FROM,
                        "--starttls", "required", "--ca-file", str(bad)],
                       input="", capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert "ca_file" in p.stderr


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_auth_after_starttls_as_on_a_submission_port(tmp_path):
    # the usual school relay (port 587): STARTTLS required, then AUTH, which
    # aiosmtpd offers only over TLS (auth_require_tls)
    ca, ctx = smtp_support.tls_files(str(tmp_path))
    handler, auth = Sink(), Authenticator()
    with smtp_support.running(handler, tls_context=ctx, require_starttls=True,
                              authenticator=auth, auth_required=True):
        res = run(handler.port, [job("s%d@school.example" % i) for i in range(4)],
                  "--host", "localhost", "--starttls", "required", "--ca-file", ca,
                  "--user", "mailer", "--pass", "s3cret", "--batch", "2")
    assert {r["cls"] for r in res.values()} == {"ok"}, res
    # one login per session: at most 2 e-mails a session, so 2 sessions or more (a worker
    # that wakes when only the first job is queued takes it alone)
    sessions = {m["session"] for m in handler.messages}
    assert [ok for _, _, ok in auth.seen] == [True] * len(sessions) and len(sessions) >= 2
    assert [m["tls"] for m in handler.messages] == [True] * 4


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_auth_login_when_the_relay_offers_no_plain(tmp_path):
    # Office 365's submission port offers "AUTH LOGIN XOAUTH2", no PLAIN
    ca, ctx = smtp_support.tls_files(str(tmp_path))
    handler, auth = Sink(), Authenticator()
    with smtp_support.running(handler, tls_context=ctx, require_starttls=True,
                              authenticator=auth, auth_required=True,
                              auth_exclude_mechanism=["PLAIN"]):
        res = run(handler.port, [job("l1@school.example")], "--host", "localhost",
                  "--starttls", "required", "--ca-file", ca, "--user", "mailer",
                  "--pass", "s3cret")
    assert res["l1@school.example"]["cls"] == "ok", res
    assert auth.seen == [("LOGIN", b"mailer", True)]


class HoldingSink(Sink):
    """Holds its DATA answer for "held@..." until the test releases it (without blocking
    the server's event loop)."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.holding = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if envelope.rcpt_tos[0].startswith("held@"):
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        return await super().handle_DATA(server, session, envelope)


def test_answered_messages_are_handed_over_in_eights_during_the_session():
    # one session of ten: the results of the first eight reach the sender's caller
    # while the relay still holds its answer to the ninth, so the outbox records
    # them then, and a crash at that point would not send them again
    handler = HoldingSink()
    with smtp_support.running(handler):
        jobs = [job("m%d@school.example" % i, to="parent%d@example.org" % i) for i in range(8)]
        jobs += [job("ninth@school.example", to="held@example.org"),
                 job("tenth@school.example", to="last@example.org")]
        p = subprocess.Popen([driver_path(), "--host", "127.0.0.1", "--port", str(handler.port),
                              "--from", FROM, "--workers", "1", "--batch", "10",
                              "--timeout-ms", "30000"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in p.stdout], daemon=True).start()
        p.stdin.write("".join(json.dumps(j) + "\n" for j in jobs))
        p.stdin.close()
        try:
            early = [json.loads(lines.get(timeout=30)) for _ in range(8)]   # before the release
            assert sorted((r["message_id"], r["cls"]) for r in early) == \
                [("m%d@school.example" % i, "ok") for i in range(8)]
            assert handler.holding.wait(30)                 # the ninth is on its way
        finally:
            handler.release.set()
        rest = [json.loads(lines.get(timeout=30)) for _ in range(2)]
        assert sorted((r["message_id"], r["cls"]) for r in rest) == [
            ("ninth@school.example", "ok"), ("tenth@school.example", "ok")]
        assert p.wait(timeout=30) == 0
    assert handler.sessions == 1
