"""The imitation Twilio (tests/fakes/twilio) behaves as Twilio documents it.

Other integration tests trust this imitation to stand in for the provider, so it is tested
on its own here: REST answers and error codes, idempotency, scripted faults, status callbacks
and inbound webhooks received by real Python HTTP servers over loopback, and signatures checked
by three independent implementations (sign.js on node:crypto, the official `twilio` npm
package, Python's hmac) against Twilio's published worked example.
"""
import email.utils
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS_DIR, "fakes"))
from twilio_fake import FakeTwilio, SIGN_JS, node_binary, twilio_signature  # noqa: E402

TO = "+15005550006"
FROM = "+15005550001"
# Twilio's worked example (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_TOKEN = "12345"
DOC_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


class Receiver:
    """A loopback HTTP server that records every POST (the application's side)."""

    def __init__(self, status=200, body=b"<Response/>", content_type="text/xml"):
        self.got = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n).decode("utf-8")
                outer.got.put({"path": self.path, "headers": dict(self.headers), "raw": raw,
                               "pairs": urllib.parse.parse_qsl(raw, keep_blank_values=True)})
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout=10.0):
        return self.got.get(timeout=timeout)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    f = FakeTwilio().start()
    try:
        yield f
    finally:
        assert f.stop() == 0, "imitation must exit 0 on SIGTERM"


@pytest.fixture
def receiver():
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def msg(**over):
    p = {"To": TO, "From": FROM, "Body": "Field trip tomorrow"}
    p.update(over)
    return {k: v for k, v in p.items() if v is not None}


# -- REST API ------------------------------------------------------------------------------

def test_valid_send_returns_documented_resource(fake):
    status, headers, m = fake.send(msg())
    assert status == 201
    assert headers["Content-Type"].startswith("application/json")
    assert re.fullmatch(r"SM[0-9a-f]{32}", m["sid"])
    assert m["account_sid"] == fake.account_sid
    assert (m["to"], m["from"], m["body"]) == (TO, FROM, "Field trip tomorrow")
    assert m["status"] == "queued" and m["direction"] == "outbound-api"
    assert m["api_version"] == "2010-04-01" and m["num_segments"] == "1" and m["num_media"] == "0"
    assert m["uri"] == "/2010-04-01/Accounts/%s/Messages/%s.json" % (fake.account_sid, m["sid"])
    assert m["error_code"] is None and m["price"] is None and m["date_sent"] is None
    created = email.utils.parsedate_to_datetime(m["date_created"])
    assert abs(created.timestamp() - time.time()) < 60 and m["date_created"].endswith("+0000")
    assert fake.fetch(m["sid"]) == (200, m)                  # fetch returns the same resource
    assert fake.fetch("SM" + "0" * 32)[1]["code"] == 20404
    reqs = fake.requests()["items"]
    assert len(reqs) == 3 and reqs[0]["form"]["Body"] == "Field trip tomorrow"
    assert reqs[0]["response"] == {"status": 201, "sid": m["sid"]}


@pytest.mark.parametrize("body,segments", [
    ("a" * 160, "1"), ("a" * 161, "2"), ("a" * 306, "2"), ("a" * 307, "3"),
    ("€" * 80, "1"), ("€" * 81, "2"),            # GSM-7 extension: two septets each
    ("Xin chào" + "ạ" * 62, "1"), ("ạ" * 71, "2"),  # UCS-2: 70 / 67 per segment
    ("😀" * 35, "1"), ("😀" * 36, "2"),            # surrogate pairs are not split
])
def test_num_segments_follow_gsm7_and_ucs2(fake, body, segments):
    status, _, m = fake.send(msg(Body=body))
    assert status == 201 and m["num_segments"] == segments


def test_messaging_service_send_is_accepted_with_zero_segments(fake):
    status, _, m = fake.send(msg(From=None, MessagingServiceSid="MG" + "0" * 32))
    assert status == 201 and m["status"] == "accepted" and m["num_segments"] == "0"
    assert m["messaging_service_sid"] == "MG" + "0" * 32 and m["from"] is None


def test_bad_or_missing_auth_is_401_20003(fake):
    status, headers, e = fake.send(msg(), auth=(fake.account_sid, "wrong"))
    assert (status, e["code"], e["status"]) == (401, 20003, 401)
    assert e["more_info"] == "https://www.twilio.com/docs/errors/20003"
    assert headers["WWW-Authenticate"].startswith("Basic")
    other = "AC" + "1" * 32
    status, _, e = fake.send(msg(), auth=(other, fake.auth_token))
    assert (status, e["code"]) == (401, 20003)
    assert fake.stats()["sends"] == 0


@pytest.mark.parametrize("over,code", [
    ({"To": None}, 21604),
    ({"From": None}, 21603),
    ({"Body": None}, 21602),
    ({"To": "5551234567"}, 21211),
    ({"To": "+1 (555) 123-4567"}, 21211),
    ({"Body": "x" * 1601}, 21617),
])
def test_validation_errors_are_twilio_400s(fake, over, code):
    status, _, e = fake.send(msg(**over))
    assert status == 400 and e["code"] == code and e["status"] == 400
    assert e["more_info"] == "https://www.twilio.com/docs/errors/%d" % code
    if code == 21211:
        assert e["message"] == "The 'To' number %s is not a valid phone number." % over["To"]
    assert fake.stats()["sends"] == 0


def test_media_without_body_is_accepted(fake):
    status, _, m = fake.send(msg(Body=None, MediaUrl=["https://x.test/a.jpg", "https://x.test/b.png"]))
    assert status == 201 and m["num_media"] == "2" and m["sid"].startswith("MM")
    assert fake.requests()["items"][0]["form"]["MediaUrl"] == ["https://x.test/a.jpg", "https://x.test/b.png"]


def test_unsubscribed_recipient_is_21610(fake):
    fake.unsubscribe(TO)
    status, _, e = fake.send(msg())
    assert (status, e["code"]) == (400, 21610)
    status, _, _ = fake.send(msg(To="+15005550009"))
    assert status == 201


def test_idempotency_token_repeat_returns_same_message_once(fake):
    s1, _, a = fake.send(msg(), token="delivery-42")
    s2, _, b = fake.send(msg(), token="delivery-42")
    s3, _, c = fake.send(msg(), token="delivery-43")
    assert (s1, s2, s3) == (201, 201, 201)
    assert a["sid"] == b["sid"] != c["sid"]
    st = fake.stats(tokens=True)
    assert st["sends"] == 2 and st["replays"] == 1 and st["requests"] == 3
    assert st["by_token"]["delivery-42"] == {"requests": 2, "sends": 1, "replays": 1, "sid": a["sid"]}
    assert len(fake.requests(token="delivery-42")["items"]) == 2


def test_failed_attempt_then_retry_with_same_token_sends_once(fake):
    fake.script(action="error", status=500)
    s1, _, e = fake.send(msg(), token="t-1")
    s2, _, m = fake.send(msg(), token="t-1")
    assert (s1, e["code"], s2) == (500, 20500, 201)
    assert fake.stats(tokens=True)["by_token"]["t-1"]["sends"] == 1


def test_scripted_429_with_retry_after_then_success(fake):
    fake.script(action="error", status=429, retry_after=2)
    s1, h1, e = fake.send(msg())
    assert (s1, e["code"], h1["Retry-After"]) == (429, 20429, "2")
    s2, _, m = fake.send(msg())
    assert s2 == 201 and m["status"] == "queued"
    assert fake.stats()["by_status"] == {"429": 1, "201": 1}


def test_script_for_one_number_and_for_n_requests(fake):
    fake.script(action="error", code=21211, to="+15005550100", count=-1)
    fake.script(action="error", status=503, count=2)
    assert fake.send(msg(To="+15005550100"))[0] == 400
    assert fake.send(msg(To="+15005550100"))[2]["code"] == 21211
    assert [fake.send(msg())[2].get("code") for _ in range(3)] == [20503, 20503, None]
    assert fake.send(msg(To="+15005550100"))[2]["code"] == 21211  # unlimited for that number


def test_hang_makes_the_client_time_out(fake):
    fake.script(action="hang")
    with pytest.raises((socket.timeout, TimeoutError)):
        fake.send(msg(), timeout=0.3)
    assert fake.send(msg())[0] == 201          # the next request is served normally
    assert fake.requests()["items"][0]["response"] == {"status": 0, "hang": True}


def test_reset_gives_a_connection_error(fake):
    fake.script(action="reset")
    with pytest.raises((ConnectionResetError, urllib.error.URLError)) as exc:
        fake.send(msg())
    err = exc.value
    reason = getattr(err, "reason", err)
    assert isinstance(reason, ConnectionResetError), repr(err)
    assert fake.send(msg())[0] == 201


def test_delay_answers_late_but_normally(fake):
    fake.script(action="delay", delay_ms=300)
    t0 = time.monotonic()
    status, _, _ = fake.send(msg())
    assert status == 201 and time.monotonic() - t0 >= 0.3


def test_requests_long_poll_waits_for_count(fake):
    def later():
        fake.send(msg(To="+15005550111"))
    t = threading.Thread(target=later)
    t.start()
    got = fake.requests(to="+15005550111", min_count=1, timeout_ms=10000)
    t.join()
    assert got["count"] == 1 and not got["timed_out"]
    none = fake.requests(to="+15005550999", min_count=1, timeout_ms=50)
    assert none["timed_out"] and none["count"] == 0


# -- status callbacks ----------------------------------------------------------------------

def check_signed(fake, got, url):
    sig = got["headers"]["X-Twilio-Signature"]
    assert sig == twilio_signature(fake.auth_token, url, got["pairs"])
    assert sig != twilio_signature(fake.auth_token + "x", url, got["pairs"])


def test_status_callbacks_sent_then_delivered_signed(fake, receiver):
    cb = receiver.url + "/webhooks/sms/twilio/status?school=7"
    _, _, m = fake.send(msg(StatusCallback=cb))
    first, second = receiver.next(), receiver.next()
    for got, st in ((first, "sent"), (second, "delivered")):
        params = dict(got["pairs"])
        assert got["path"] == "/webhooks/sms/twilio/status?school=7"
        assert got["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
        assert params == {"AccountSid": fake.account_sid, "ApiVersion": "2010-04-01", "From": FROM,
                          "MessageSid": m["sid"], "MessageStatus": st, "SmsSid": m["sid"],
                          "SmsStatus": st, "To": TO}
        check_signed(fake, got, cb)
    assert first["headers"]["I-Twilio-Idempotency-Token"] != second["headers"]["I-Twilio-Idempotency-Token"]
    logged = fake.webhooks(kind="status", min_count=2, timeout_ms=5000)
    assert [w["status"] for w in logged["items"]] == [200, 200]


def test_scripted_failure_and_out_of_order_callbacks(fake, receiver):
    cb = receiver.url + "/status"
    fake.configure_callbacks(to="+15005550200", sequence=[{"status": "sent"}, {"status": "failed", "error_code": 30003}])
    fake.configure_callbacks(to="+15005550201", sequence=[{"status": "delivered"}, {"status": "sent"}])
    fake.send(msg(To="+15005550200", StatusCallback=cb))
    a = [dict(receiver.next()["pairs"]) for _ in range(2)]
    assert [(p["MessageStatus"], p.get("ErrorCode")) for p in a] == [("sent", None), ("failed", "30003")]
    fake.send(msg(To="+15005550201", StatusCallback=cb))
    b = [dict(receiver.next()["pairs"])["MessageStatus"] for _ in range(2)]
    assert b == ["delivered", "sent"]


def test_callbacks_off_and_on_demand(fake, receiver):
    fake.configure_callbacks(mode="off")
    cb = receiver.url + "/status"
    _, _, m = fake.send(msg(StatusCallback=cb))
    entry = fake.post_status(message_sid=m["sid"], status="undelivered", error_code=30005)
    got = receiver.next()                     # with callbacks on, "sent" would have come first
    assert dict(got["pairs"])["MessageStatus"] == "undelivered"
    assert dict(got["pairs"])["ErrorCode"] == "30005" and entry["status"] == 200
    check_signed(fake, got, cb)
    assert fake.webhooks(kind="status")["count"] == 1
    assert fake.fetch(m["sid"])[1]["error_code"] == 30005


# -- inbound webhooks ----------------------------------------------------------------------

INBOUND_FIELDS = {"ToCountry", "ToState", "SmsMessageSid", "NumMedia", "ToCity", "FromZip", "SmsSid",
                  "FromState", "SmsStatus", "FromCity", "Body", "FromCountry", "To", "ToZip",
                  "NumSegments", "MessageSid", "AccountSid", "From", "ApiVersion"}


def test_inbound_webhook_has_documented_fields_and_valid_signature(fake, receiver):
    url = receiver.url + "/webhooks/sms/twilio"
    r = fake.inbound(to_url=url, **{"from": "+15005550300"}, to=FROM, body="Merci, ça marche")
    got = receiver.next()
    params = dict(got["pairs"])
    assert set(params) == INBOUND_FIELDS
    assert params["Body"] == "Merci, ça marche" and params["From"] == "+15005550300"
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"] == r["message_sid"]
    assert re.fullmatch(r"SM[0-9a-f]{32}", r["message_sid"])
    assert (params["NumMedia"], params["NumSegments"], params["SmsStatus"]) == ("0", "1", "received")
    assert params["AccountSid"] == fake.account_sid and params["ToCountry"] == "US"
    check_signed(fake, got, url)
    assert got["headers"]["I-Twilio-Idempotency-Token"]
    att = r["attempts"][0]
    assert att["status"] == 200 and att["response_body"] == "<Response/>"


def test_inbound_media_sign_url_and_modes(fake, receiver):
    url = receiver.url + "/webhooks/sms/twilio"
    public = "https://backpack.example.org/webhooks/sms/twilio"
    r = fake.inbound(to_url=url, sign_url=public, **{"from": "+15005550301"}, to=FROM, body="",
                     media=["https://m.test/a.jpg", {"url": "https://m.test/b", "content_type": "image/png"}],
                     messaging_service_sid="MG" + "1" * 32)
    got = receiver.next()
    p = dict(got["pairs"])
    assert r["message_sid"].startswith("MM") and p["NumMedia"] == "2"
    assert (p["MediaUrl0"], p["MediaContentType0"]) == ("https://m.test/a.jpg", "image/jpeg")
    assert (p["MediaUrl1"], p["MediaContentType1"]) == ("https://m.test/b", "image/png")
    assert p["MessagingServiceSid"] == "MG" + "1" * 32
    check_signed(fake, got, public)
    fake.inbound(to_url=url, sign="none", **{"from": "+15005550301"}, to=FROM, body="x")
    assert "X-Twilio-Signature" not in receiver.next()["headers"]
    fake.inbound(to_url=url, sign="bad", **{"from": "+15005550301"}, to=FROM, body="x")
    bad = receiver.next()
    assert bad["headers"]["X-Twilio-Signature"] != twilio_signature(fake.auth_token, url, bad["pairs"])


def test_inbound_retry_repeats_same_message_sid_and_token(fake):
    r = Receiver(status=503, body=b"busy", content_type="text/plain")
    try:
        res = fake.inbound(to_url=r.url + "/in", **{"from": "+15005550302"}, to=FROM, body="hi",
                           repeat=3, message_sid="SM" + "ab" * 16)
        got = [r.next() for _ in range(3)]
    finally:
        r.close()
    assert {dict(g["pairs"])["MessageSid"] for g in got} == {"SM" + "ab" * 16}
    assert len({g["headers"]["I-Twilio-Idempotency-Token"] for g in got}) == 1
    assert [a["status"] for a in res["attempts"]] == [503, 503, 503]


def test_inbound_to_closed_port_reports_error(fake):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    res = fake.inbound(to_url="http://127.0.0.1:%d/x" % port, **{"from": "+15005550303"}, to=FROM, body="x")
    assert res["attempts"][0]["status"] == 0 and "ECONNREFUSED" in res["attempts"][0]["error"]


# -- signatures: three implementations agree -----------------------------------------------

def node_twilio_signature(token, url, params):
    """The official helper library, run from tests/ so that tests/node_modules is used."""
    if not os.path.isdir(os.path.join(TESTS_DIR, "node_modules", "twilio")):
        pytest.fail("tests/node_modules/twilio missing: run `npm ci --prefix tests`")
    code = ("const t=require('twilio');const a=JSON.parse(process.argv[1]);"
            "process.stdout.write(t.getExpectedTwilioSignature(a[0],a[1],a[2]))")
    out = subprocess.run([node_binary(), "-e", code, json.dumps([token, url, params])],
                         cwd=TESTS_DIR, capture_output=True, text=True, timeout=30, check=True)
    return out.stdout


def sign_js(token, url, params):
    out = subprocess.run([node_binary(), SIGN_JS, "--url", url, "--token", token,
                          "--json", json.dumps(params)], capture_output=True, text=True,
                         timeout=30, check=True)
    return out.stdout.strip()


def test_published_example_vector_agrees_everywhere():
    assert twilio_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert node_twilio_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert sign_js(DOC_TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    form = urllib.parse.urlencode(DOC_PARAMS)
    out = subprocess.run([node_binary(), SIGN_JS, "--url", DOC_URL, "--token", DOC_TOKEN, "--form", form],
                         capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == DOC_SIGNATURE
    assert twilio_signature(DOC_TOKEN, DOC_URL.replace("bar=2", "bar=3"), DOC_PARAMS) != DOC_SIGNATURE


@pytest.mark.parametrize("url,params", [
    ("https://school.example.org/webhooks/sms/twilio", {"Body": "", "From": "+15005550006", "NumMedia": "0"}),
    ("https://school.example.org/hook?a=1&b=%20x", {"Body": "停止", "To": "+84912345678"}),
    ("https://school.example.org/hook", {"MediaUrl": ["https://b.test/2", "https://a.test/1"], "Body": "Dừng"}),
    ("https://school.example.org/hook", {"a": "1", "B": "2", "_": "3", "ä": "4"}),
])
def test_signature_vectors_agree(url, params):
    expect = node_twilio_signature("tok", url, params)
    assert sign_js("tok", url, params) == expect
    assert twilio_signature("tok", url, params) == expect


def read_responses(sock, n, timeout=10.0):
    """Reads n HTTP responses (Content-Length framed) from a raw socket; returns [(status, body)]."""
    sock.settimeout(timeout)
    buf, out = b"", []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            assert chunk, "connection closed early"
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(rest) < length:
            rest += sock.recv(65536)
        out.append((int(head.split(b" ")[1]), json.loads(rest[:length])))
        buf = rest[length:]
    return out


def test_http_pipelining_chunked_bodies_and_expect_continue(fake):
    auth = "Basic " + __import__("base64").b64encode(
        ("%s:%s" % (fake.account_sid, fake.auth_token)).encode()).decode()
    path = "/2010-04-01/Accounts/%s/Messages.json" % fake.account_sid
    form = urllib.parse.urlencode(msg()).encode()
    head = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n" % (path, auth)).encode()
    plain = head + b"Content-Length: %d\r\n\r\n" % len(form) + form
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(
        b"%x\r\n%s\r\n" % (len(form[i:i + 7]), form[i:i + 7]) for i in range(0, len(form), 7)) + b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", fake.port)) as s:
        s.sendall(plain + chunked + plain)           # three pipelined requests, one write
        got = read_responses(s, 3)
        assert [st for st, _ in got] == [201, 201, 201]
        assert len({b["sid"] for _, b in got}) == 3 and got[1][1]["body"] == "Field trip tomorrow"
        s.sendall(head + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(form))
        s.settimeout(10)
        assert s.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(form)
        assert read_responses(s, 1)[0][0] == 201


def test_sigterm_with_a_hung_connection_exits_cleanly():
    f = FakeTwilio().start()
    try:
        f.script(action="hang")
        s = socket.create_connection(("127.0.0.1", f.port))
        s.sendall(("POST /2010-04-01/Accounts/%s/Messages.json HTTP/1.1\r\nHost: x\r\n"
                   "Content-Length: 0\r\n\r\n" % f.account_sid).encode())
        f.requests(min_count=1, timeout_ms=5000)
    finally:
        code = f.stop()
    assert code == 0
    assert s.recv(10) == b""
    s.close()
