"""The SMS sender (src/sms) against the imitation Twilio, through the C driver.

tests/unit/sms/sms_driver submits jobs through bp_sms_sender_new() on a real libuv loop (and
bp_sms_sender_new_threaded(), the same sender on a thread of its own) and
prints one JSON line per result; these tests start the imitation provider (node, loopback),
script its faults, and check both sides: the request exactly as the provider recorded it, and
the class the sender gave each outcome.  Under the ASan build the driver also proves there is
no leak (its exit status) and that uv_loop_close() returned 0 (its summary).
"""
import base64
import json
import os
import subprocess
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS_DIR, "fakes"))
from twilio_fake import FakeTwilio  # noqa: E402

FROM = "+15005550001"
TO = "+15005550006"
CALLBACK = "http://127.0.0.1:9/webhooks/sms/twilio/status"
LAST_SUMMARY = {}   # the driver's summary line of the last run()


def driver_path():
    bindir = os.path.dirname(os.environ["BACKPACK_BIN"])
    return os.path.join(bindir, "tests", "unit", "sms", "sms_driver")


@pytest.fixture(params=["loop", "thread"])
def fake(request):
    """The imitation; every test runs twice: the sender on the driver's loop, and on a thread
    of its own (bp_sms_sender_new_threaded, which `backpack serve` uses)."""
    f = FakeTwilio(callbacks="off").start()
    f.threaded = request.param == "thread"
    try:
        yield f
    finally:
        assert f.stop() == 0


def run(fake, jobs, *extra, token=None, timeout=60):
    args = [driver_path(), "--base", fake.base_url, "--sid", fake.account_sid,
            "--token", token or fake.auth_token, "--callback", CALLBACK]
    if "--mss" not in extra:
        args += ["--from", FROM]
    args += list(extra)
    if fake.threaded:
        args.append("--threaded")
    stdin = "".join(json.dumps(j) + "\n" for j in jobs)
    p = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    summary = lines[-1]
    assert summary.get("summary"), p.stdout + p.stderr
    assert p.returncode == 0, p.stderr
    assert summary["loop_close"] == 0 and summary["dup_callbacks"] == 0 and summary["missing"] == 0
    results = {r["key"]: r for r in lines[:-1]}
    assert len(results) == len(lines) - 1 == len(jobs), "one callback per job"
    LAST_SUMMARY.clear()
    LAST_SUMMARY.update(summary)
    return results


def job(key, to=TO, body="Field trip tomorrow"):
    return {"to": to, "body": body, "key": key}


def test_request_format_and_sid(fake):
    body = "Héllo & goodbye = 100% 学校 ✓"
    res = run(fake, [job("dlv-1", body=body)])
    r = res["dlv-1"]
    assert r["cls"] == "ok" and r["code"] == ""
    reqs = fake.requests(min_count=1, timeout_ms=5000)["items"]
    assert len(reqs) == 1
    q = reqs[0]
    assert q["method"] == "POST"
    assert q["path"] == "/2010-04-01/Accounts/%s/Messages.json" % fake.account_sid
    h = {k.lower(): v for k, v in q["headers"].items()}
    cred = base64.b64encode(("%s:%s" % (fake.account_sid, fake.auth_token)).encode()).decode()
    assert h["authorization"] == "Basic " + cred
    assert h["i-twilio-idempotency-token"] == "dlv-1" and q["token"] == "dlv-1"
    assert h["content-type"] == "application/x-www-form-urlencoded"
    assert "expect" not in h
    assert q["form"] == {"To": TO, "From": FROM, "Body": body, "StatusCallback": CALLBACK}
    assert q["response"]["status"] == 201
    assert r["sid"] == q["response"]["sid"] and r["sid"].startswith("SM")


def test_messaging_service_replaces_from(fake):
    mss = "MG" + "a" * 32
    res = run(fake, [job("dlv-m")], "--mss", mss)
    assert res["dlv-m"]["cls"] == "ok"
    form = fake.requests(min_count=1, timeout_ms=5000)["items"][0]["form"]
    assert form["MessagingServiceSid"] == mss and "From" not in form


def test_429_with_retry_after_is_transient(fake):
    fake.script(action="error", status=429, retry_after=2)
    r = run(fake, [job("dlv-429")])["dlv-429"]
    assert (r["cls"], r["code"], r["retry_after_ms"]) == ("transient", "20429", 2000)


def test_500_is_transient(fake):
    fake.script(action="error", status=500)
    r = run(fake, [job("dlv-500")])["dlv-500"]
    assert r["cls"] == "transient" and r["code"] == "20500" and r["sid"] == ""


def test_hang_is_transient_after_request_timeout(fake):
    fake.script(action="hang")
    r = run(fake, [job("dlv-hang")], "--timeout-ms", "1000")["dlv-hang"]
    assert (r["cls"], r["code"]) == ("transient", "timeout")
    assert 900 <= r["ms"] < 5000


def test_reset_is_transient(fake):
    fake.script(action="reset")
    r = run(fake, [job("dlv-rst")])["dlv-rst"]
    assert r["cls"] == "transient" and r["code"] in ("network", "connect")


def test_invalid_number_is_permanent_21211(fake):
    r = run(fake, [job("dlv-bad", to="12345")])["dlv-bad"]
    assert (r["cls"], r["code"]) == ("permanent", "21211")
    assert "12345" in r["detail"] or "*" in r["detail"]


def test_unsubscribed_is_permanent_21610(fake):
    fake.unsubscribe(TO)
    r = run(fake, [job("dlv-stop")])["dlv-stop"]
    assert (r["cls"], r["code"]) == ("permanent", "21610")


def test_wrong_token_is_transient_auth(fake):
    """A refused token is the school's configuration, not the message: retried (until the
    outbox's deadline) so that the announcement still goes out once it is fixed."""
    r = run(fake, [job("dlv-auth")], token="wrong")["dlv-auth"]
    assert (r["cls"], r["code"]) == ("transient", "auth")


def test_rate_limit_upper_bound(fake):
    rate, n = 5, 16
    res = run(fake, [job("dlv-r%d" % i) for i in range(n)],
              "--rate", str(rate), "--burst", "1", "--max-in-flight", "8")
    assert all(r["cls"] == "ok" for r in res.values())
    times = sorted(q["time"] for q in fake.requests(min_count=n, timeout_ms=5000)["items"])
    assert len(times) == n
    # burst 1: at most rate + 1 requests in any one-second window (upper bound only).
    for i, t in enumerate(times):
        in_window = sum(1 for u in times[i:] if u - t < 1000)
        assert in_window <= rate + 1, (i, in_window, times)


def test_close_with_jobs_pending_cancels_each_once(fake):
    res = run(fake, [job("dlv-c%d" % i) for i in range(6)],
              "--rate", "1", "--burst", "1", "--close-after-submit")
    assert sorted(res) == ["dlv-c%d" % i for i in range(6)]
    assert all((r["cls"], r["code"]) == ("transient", "canceled") for r in res.values())


def test_close_with_requests_on_the_wire_completes_each_once(fake):
    """No rate limit, so the threaded sender has two threads: close right after submitting
    40 jobs completes each exactly once (run() checks), as sent or as canceled."""
    res = run(fake, [job("dlv-w%d" % i) for i in range(40)], "--close-after-submit")
    assert sorted(res) == sorted("dlv-w%d" % i for i in range(40))
    for r in res.values():
        assert (r["cls"], r["code"]) in (("ok", ""), ("transient", "canceled")), r


def test_many_jobs_keep_alive_and_unique_tokens(fake):
    n = 300
    res = run(fake, [job("dlv-k%d" % i) for i in range(n)], "--max-in-flight", "4")
    assert all(r["cls"] == "ok" for r in res.values())
    stats = fake.stats(tokens=True)
    assert stats["sends"] == n and stats["replays"] == 0



def test_a_kept_alive_connection_the_provider_closed_is_replaced(fake):
    """A server whose idle timeout runs out closes the kept-alive connection while it sits in
    curl's cache, its socket parked on the loop (src/sms/sms.c, "Parking").  The next send goes
    out on a new connection: the parked handle stopped at the close instead of spinning on it
    (the driver's CPU stays small, which fails when it does not stop), the dead socket's close
    and the new socket (which gets the same number) both went through the sender, and
    uv_loop_close() finds no handle left (run() checks it)."""
    fake.script(action="close_after_reply")
    res = run(fake, [job("dlv-idle-1"),
                     dict(job("dlv-idle-2", body="Second note"), after_ms=400),
                     dict(job("dlv-idle-3", body="Third note"), after_ms=50)],
              "--max-in-flight", "1")
    assert [res[k]["cls"] for k in ("dlv-idle-1", "dlv-idle-2", "dlv-idle-3")] == ["ok"] * 3
    items = fake.requests(min_count=3, timeout_ms=5000)["items"]
    conns = [q["conn"] for q in items]
    assert len(conns) == 3
    assert conns[0] != conns[1], "the closed connection was not replaced"
    assert conns[1] == conns[2], "the new connection is kept alive and reused"
    # Spinning on the closed socket for 400 ms would cost ~130,000 us of CPU per result.
    assert LAST_SUMMARY["cpu_us_per_result"] < 40000, LAST_SUMMARY
