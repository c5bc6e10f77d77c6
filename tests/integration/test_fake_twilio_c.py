"""The C imitation of Twilio's Messages API (tests/fakes/twilio_c) answers like the Node one.

The outbound benchmark uses the C imitation for speed; the rest of the suite trusts the Node
imitation (tested against Twilio's documentation in test_fake_provider.py).  So the same
requests go to both, over keep-alive connections, and the answers must be equal: status, the
headers a client reads, and every JSON field (the sid and the dates only by format, since each
process mints its own).  Covered: create (From, MessagingServiceSid, GSM-7 with extension
characters, UCS-2 over several segments), idempotent replay, auth failures, missing and invalid
fields, wrong account, wrong method, forced 429/500 (Node: /_fake/script; C: /_fake/fail), and
the counters both expose.  Plus C-only: pipelining, --fail, stats printed at SIGTERM.
"""
import base64
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import urllib.parse

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS_DIR, "fakes"))
from twilio_fake import FakeTwilio  # noqa: E402

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "secret-token"
FROM = "+15005550001"
SMS_SID = re.compile(r"^SM[0-9a-f]{32}$")
DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep"
                  r"|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000$")


def fake_c_binary():
    path = os.environ.get("BACKPACK_TWILIO_FAKE_C")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("BACKPACK_TWILIO_FAKE_C must name the built twilio_fake_c (meson sets it)")
    return path


class FakeC:
    """twilio_fake_c on an ephemeral loopback port, stopped by PID."""

    def __init__(self, *extra):
        self.proc = subprocess.Popen([fake_c_binary(), "--port", "0", "--account-sid", SID,
                                      "--auth-token", TOKEN, *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        assert ready, "twilio_fake_c did not report ready"
        info = json.loads(self.proc.stdout.readline())
        assert info["ready"] and info["account_sid"] == SID and info["pid"] == self.proc.pid
        self.port = info["port"]

    def stop(self):
        """SIGTERM; returns (exit code, the stats line it printed)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            out, _ = self.proc.communicate()
        return self.proc.returncode, out


class Client:
    """One keep-alive connection to an imitation."""

    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def call(self, method, path, form=None, auth=(SID, TOKEN), token=None, ctype=None):
        headers = {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            headers["Content-Type"] = ctype or "application/x-www-form-urlencoded"
        if auth is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % auth).encode()).decode()
        if token is not None:
            headers["I-Twilio-Idempotency-Token"] = token
        self.c.request(method, path, body=body, headers=headers)
        r = self.c.getresponse()
        raw = r.read()
        assert not r.will_close or r.status >= 400, "keep-alive lost"
        return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(raw)

    def close(self):
        self.c.close()


MSGS = "/2010-04-01/Accounts/%s/Messages.json" % SID

# (name, method, path, form, kwargs) — sent in this order to both imitations.
CASES = [
    ("create", "POST", MSGS, {"To": "+15005550006", "From": FROM, "Body": "Hello, families!",
                              "StatusCallback": "https://example.org/status"}, {"token": "k1"}),
    ("replay", "POST", MSGS, {"To": "+15005550006", "From": FROM, "Body": "Hello, families!",
                              "StatusCallback": "https://example.org/status"}, {"token": "k1"}),
    ("gsm_ext_long", "POST", MSGS, {"To": "+15005550007", "From": FROM,
                                    "Body": "Price: 5€ [a] {b} ~ | ^ \\ " * 8}, {"token": "k2"}),
    ("ucs2_long", "POST", MSGS, {"To": "+15005550008", "From": FROM,
                                 "Body": "Xin chào quý phụ huynh 😀 " * 5 + "\"q\"\n\t\x01"},
     {"token": "k3"}),
    ("service", "POST", MSGS, {"To": "+15005550009", "MessagingServiceSid": "MG" + "1" * 32,
                               "Body": "via a service"}, {"token": "k4"}),
    ("no_token", "POST", MSGS, {"To": "+15005550010", "From": FROM, "Body": "x"}, {}),
    ("alpha_from", "POST", MSGS, {"To": "+15005550010", "From": "School 1", "Body": "x"}, {}),
    ("bad_password", "POST", MSGS, {"To": "+15005550006", "From": FROM, "Body": "x"},
     {"auth": (SID, "wrong"), "token": "k5"}),
    ("no_auth", "POST", MSGS, {"To": "+15005550006", "From": FROM, "Body": "x"}, {"auth": None}),
    ("missing_to", "POST", MSGS, {"From": FROM, "Body": "x"}, {"token": "k6"}),
    ("empty_to", "POST", MSGS, {"To": "", "From": FROM, "Body": "x"}, {}),
    ("missing_from", "POST", MSGS, {"To": "+15005550006", "Body": "x"}, {}),
    ("missing_body", "POST", MSGS, {"To": "+15005550006", "From": FROM}, {}),
    ("invalid_to", "POST", MSGS, {"To": "12345", "From": FROM, "Body": "x"}, {}),
    ("invalid_from", "POST", MSGS, {"To": "+15005550006", "From": "+0", "Body": "x"}, {}),
    ("too_long", "POST", MSGS, {"To": "+15005550006", "From": FROM, "Body": "é" * 1601}, {}),
    ("not_form", "POST", MSGS, {"To": "+15005550006", "From": FROM, "Body": "x"},
     {"ctype": "text/plain"}),
    ("other_account", "POST", "/2010-04-01/Accounts/AC%s/Messages.json" % ("9" * 32),
     {"To": "+15005550006", "From": FROM, "Body": "x"}, {}),
    ("get_list", "GET", MSGS, None, {}),
    ("unknown_path", "GET", "/nothing/here", None, {}),
]


def compare(name, a, b):
    (sa, ha, ja), (sb, hb, jb) = a, b
    assert sa == sb, name
    for h in ("content-type", "www-authenticate", "retry-after"):
        assert ha.get(h) == hb.get(h), (name, h)
    assert ("twilio-request-id" in ha) == ("twilio-request-id" in hb), name
    assert hb.get("twilio-request-id", "RQ").startswith("RQ"), name
    assert list(ja) == list(jb), name          # same keys in the same order
    for k in ja:
        if k in ("sid", "uri", "subresource_uris"):
            assert SMS_SID.match(ja["sid"]) and SMS_SID.match(jb["sid"]), name
        elif k in ("date_created", "date_updated"):
            assert DATE.match(ja[k]) and DATE.match(jb[k]), (name, k)
        else:
            assert ja[k] == jb[k], (name, k, ja[k], jb[k])
    if sa == 201:
        assert ja["uri"] == ja["subresource_uris"]["media"].replace("/Media.json", ".json")
        assert jb["uri"] == "%s/Messages/%s.json" % (MSGS[:-len("/Messages.json")], jb["sid"])


@pytest.fixture
def both():
    node = FakeTwilio(account_sid=SID, auth_token=TOKEN, callbacks="off").start()
    c = FakeC()
    yield node, c
    node.stop()
    assert c.stop()[0] == 0


def stats_of(port):
    status, _, body = Client(port).call("GET", "/_fake/stats", auth=None)
    assert status == 200
    return body


def test_same_answers_as_the_node_imitation(both):
    node, fc = both
    cn, cc = Client(node.port), Client(fc.port)
    answers = {}
    for name, method, path, form, kw in CASES:
        a, b = cn.call(method, path, form, **kw), cc.call(method, path, form, **kw)
        compare(name, a, b)
        answers[name] = b
    # the cases mean what their names say
    assert answers["create"][2]["status"] == "queued"
    assert answers["create"][2]["num_segments"] == "1"
    assert answers["replay"][2]["sid"] == answers["create"][2]["sid"]
    assert answers["gsm_ext_long"][2]["num_segments"] == "2"
    assert int(answers["ucs2_long"][2]["num_segments"]) >= 3
    assert answers["service"][2]["status"] == "accepted"
    assert answers["bad_password"][0] == 401 and answers["bad_password"][2]["code"] == 20003
    assert answers["no_auth"][1]["www-authenticate"].startswith("Basic")
    assert [answers[n][2]["code"] for n in ("missing_to", "empty_to", "missing_from",
                                            "missing_body", "invalid_to", "invalid_from",
                                            "too_long", "not_form")] == \
        [21604, 21604, 21603, 21602, 21211, 21212, 21617, 21604]
    assert answers["other_account"][0] == 404 and answers["get_list"][0] == 405
    # forced failures: Node's script API, the C one's /_fake/fail
    node.script(action="error", status=429, retry_after=2, count=2)
    node.script(action="error", status=500)
    status, _, _ = cc.call("POST", "/_fake/fail?status=429&count=2&retry_after=2", auth=None)
    assert status == 200
    assert cc.call("POST", "/_fake/fail?status=500&count=1", auth=None)[0] == 200
    form = {"To": "+15005550011", "From": FROM, "Body": "after the outage"}
    for i, want in enumerate([429, 429, 500, 201]):
        a = cn.call("POST", MSGS, form, token="k-outage")
        b = cc.call("POST", MSGS, form, token="k-outage")
        compare("forced %d" % i, a, b)
        assert b[0] == want
    # the counters agree: requests, statuses, sends, replays, tokens
    sn, sc = node.stats(), stats_of(fc.port)
    for k in ("requests", "by_status", "sends", "replays", "messages"):
        assert sn[k] == sc[k], k
    for k in ("distinct", "with_send", "max_requests", "replays"):
        assert sn["tokens"][k] == sc["tokens"][k], k
    assert sc["sends"] == 7 and sc["replays"] == 1 and sc["tokens"]["max_requests"] == 4
    cn.close()
    cc.close()


def test_pipelining_fail_option_and_stats_at_sigterm():
    fc = FakeC("--fail", "503:1:7")
    auth = base64.b64encode(("%s:%s" % (SID, TOKEN)).encode()).decode()
    reqs = b""
    for i in range(3):
        body = urllib.parse.urlencode({"To": "+1500555%04d" % i, "From": FROM,
                                       "Body": "pipelined %d" % i}).encode()
        reqs += (b"POST " + MSGS.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " +
                 auth.encode() + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"I-Twilio-Idempotency-Token: p%d\r\nContent-Length: %d\r\n\r\n" % (i, len(body))
                 + body)
    s = socket.create_connection(("127.0.0.1", fc.port), timeout=10)
    s.sendall(reqs)                         # three requests in one write
    got = b""
    while got.count(b"HTTP/1.1 ") < 3 or not got.rstrip().endswith(b"}"):
        chunk = s.recv(65536)
        assert chunk, "connection closed early"
        got += chunk
    s.close()
    heads = re.findall(rb"HTTP/1.1 (\d+) ", got)
    assert heads == [b"503", b"201", b"201"]
    assert b"Retry-After: 7\r\n" in got and b'"code":20503' in got
    assert got.index(b"pipelined 1") < got.index(b"pipelined 2")   # answers in order
    code, out = fc.stop()
    assert code == 0
    stats = json.loads(out.decode().strip().splitlines()[-1])
    assert stats["sends"] == 2 and stats["requests"] == 3
    assert stats["by_status"] == {"503": 1, "201": 2}
    assert stats["tokens"]["distinct"] == 3 and stats["tokens"]["with_send"] == 2


def test_refuses_bad_arguments():
    r = subprocess.run([fake_c_binary(), "--port", "0", "--account-sid", "AC12",
                        "--auth-token", TOKEN], capture_output=True, timeout=10)
    assert r.returncode == 2 and b"account-sid" in r.stderr
    r = subprocess.run([fake_c_binary(), "--port", "0", "--account-sid", SID,
                        "--auth-token", TOKEN, "--fail", "200:1"], capture_output=True, timeout=10)
    assert r.returncode == 2
