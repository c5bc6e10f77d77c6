# SPDX-License-Identifier: AGPL-3.0-or-later
"""`backpack serve` end to end: health, metrics, clean stop on SIGTERM and
SIGINT (uv_loop_close() == 0), log reopening on SIGHUP."""
import json
import os
import re
import signal
import socket

from conftest import http_request

FAMILIES = [
    ("backpack_http_requests_total", "counter"),
    ("backpack_http_connections_open", "gauge"),
    ("backpack_http_connections_rejected_total", "counter"),
    ("backpack_store_commits_total", "counter"),
    ("backpack_store_requests_total", "counter"),
    ("backpack_store_write_latency_seconds", "histogram"),
    ("backpack_build_info", "gauge"),
    ("backpack_uptime_seconds", "gauge"),
]


def test_healthz(write_config, serve):
    d = serve(write_config())
    status, headers, body = http_request(d.port, "GET", "/healthz")
    assert status == 200
    assert headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc == {"status": "ok", "db": "ok", "schema_version": doc["schema_version"],
                   "imap": "disabled"}
    assert isinstance(doc["schema_version"], int) and doc["schema_version"] >= 1
    assert d.stop() == 0
    assert d.error_lines() == []


def metric(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    rx = re.compile(r"^%s%s (\S+)$" % (re.escape(name), re.escape("{%s}" % want) if want else ""),
                    re.M)
    m = rx.search(text)
    return float(m.group(1)) if m else None


def test_metrics(write_config, serve):
    d = serve(write_config())
    for _ in range(3):
        assert http_request(d.port, "GET", "/healthz")[0] == 200
    assert http_request(d.port, "GET", "/nope")[0] == 404
    assert http_request(d.port, "POST", "/healthz", body=b"x")[0] == 405
    status, headers, body = http_request(d.port, "GET", "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    for name, kind in FAMILIES:
        assert "# HELP %s " % name in text, name
        assert "# TYPE %s %s\n" % (name, kind) in text, name
    assert metric(text, "backpack_http_requests_total", route="healthz", code="200") == 3
    assert metric(text, "backpack_http_requests_total", route="none", code="404") == 1
    assert metric(text, "backpack_http_requests_total", route="none", code="405") == 1
    assert metric(text, "backpack_http_connections_open") == 1
    assert metric(text, "backpack_http_connections_rejected_total") == 0
    assert metric(text, "backpack_build_info", version=_version()) == 1
    assert metric(text, "backpack_store_write_latency_seconds_bucket", le="+Inf") is not None
    assert metric(text, "backpack_store_write_latency_seconds_count") is not None
    assert metric(text, "backpack_uptime_seconds") >= 0
    # every sample line is "name{labels} value" or "name value"
    for line in text.splitlines():
        if not line.startswith("#"):
            assert re.match(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$',
                            line), line
    # the /metrics request itself is counted on the next scrape
    text2 = http_request(d.port, "GET", "/metrics")[2].decode()
    assert metric(text2, "backpack_http_requests_total", route="metrics", code="200") == 1
    assert d.stop() == 0
    assert d.error_lines() == []


def _version():
    src = os.environ.get("BACKPACK_SOURCE_DIR", "")
    with open(os.path.join(src, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def test_sigterm_clean_exit(write_config, serve):
    d = serve(write_config())
    # an idle keep-alive connection must not hold the stop up
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200 ")
    assert d.stop(signal.SIGTERM) == 0
    assert s.recv(4096) == b""          # closed by the drain
    s.close()
    log = d.log()
    assert "event=stopped loop_close=0" in log
    assert "leftover_handle" not in log
    assert d.error_lines() == []


def test_sigint_clean_exit(write_config, serve):
    d = serve(write_config())
    assert d.stop(signal.SIGINT) == 0
    assert "event=stopped loop_close=0" in d.log()
    assert d.error_lines() == []


def test_sighup_reopens_log(workdir, write_config, serve):
    logf = os.path.join(workdir, "backpack.log")
    d = serve(write_config(log={"file": logf}), log_file=logf)
    with open(logf) as f:
        assert "event=listening" in f.read()
    os.rename(logf, logf + ".1")
    d.send_signal(signal.SIGHUP)
    d.wait_log(r"event=log_reopened")
    assert os.path.exists(logf)
    assert http_request(d.port, "GET", "/healthz")[0] == 200
    assert d.stop() == 0
    with open(logf) as f:
        new = f.read()
    with open(logf + ".1") as f:
        old = f.read()
    assert "event=log_reopened" in new and "event=log_reopened" not in old
    assert "event=stopped loop_close=0" in new
    assert "event=listening" in old and "event=listening" not in new
    assert d.error_lines() == []


def test_bad_config_exits_2(workdir, write_config):
    from conftest import BIN
    import subprocess
    path = write_config(extra="[server]\nbogus = 1\n")
    r = subprocess.run([BIN, "serve", "-c", path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "bogus" in r.stderr
