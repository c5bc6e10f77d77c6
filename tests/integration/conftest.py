# SPDX-License-Identifier: AGPL-3.0-or-later
"""Shared fixtures for integration tests that run the real `backpack` binary.

- workdir: a fresh temp dir (tempfile.mkdtemp, mode 0755, removed afterwards)
- write_config(extra="", **sections): writes backpack.ini in workdir with the
  required keys ([store] path, [school] name) and `listen = 127.0.0.1:0`;
  `sections` maps a section name to a dict of extra keys
- serve(config, log_file=None): starts `backpack serve -c config`, waits for
  `event=listening addr=127.0.0.1:PORT` in its log and returns a Daemon
  (.port, .pid, .log(), .error_lines(), .wait_log(regex), .stop()).  Every
  daemon started is stopped by PID in a finalizer: SIGTERM, then SIGKILL
  after a deadline.
- start_seeded(serve, config, seed_sql): migrate + seed + serve, for tests
  that seed the roster with SQL.
- http_request / raw_exchange: tiny loopback clients.

Waiting is always for an event (a log line, a socket answer) with a
deadline, never a fixed sleep.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

import pytest

BIN = os.environ.get("BACKPACK_BIN", "")
SOURCE_DIR = os.environ.get("BACKPACK_SOURCE_DIR", "")
START_DEADLINE = 20.0
STOP_DEADLINE = 20.0


def _poll(predicate, deadline, what):
    """Waits for predicate() to be truthy, polling every 10 ms until the
    deadline (seconds).  Returns its value or fails the test."""
    end = time.monotonic() + deadline
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > end:
            pytest.fail("timed out waiting for " + what)
        time.sleep(0.01)


class Daemon:
    def __init__(self, workdir, config, log_file=None, env=None):
        self.workdir = workdir
        self.stderr_path = os.path.join(workdir, "stderr-%d.log" % time.monotonic_ns())
        self.log_file = log_file
        self._stderr = open(self.stderr_path, "wb")
        e = {k: v for k, v in os.environ.items() if not k.startswith("BACKPACK_")}
        e.update(env or {})
        self.proc = subprocess.Popen([BIN, "serve", "-c", config], stdout=subprocess.DEVNULL,
                                     stderr=self._stderr, env=e)
        self.pid = self.proc.pid
        m = self.wait_log(r"event=listening addr=127\.0\.0\.1:(\d+)", START_DEADLINE)
        self.port = int(m.group(1))
        self.returncode = None

    def log(self):
        """Everything the daemon logged so far (stderr, plus the log file and
        its rotated predecessors when [log] file is set)."""
        parts = []
        for p in [self.stderr_path] + ([self.log_file + ".1", self.log_file]
                                       if self.log_file else []):
            if os.path.exists(p):
                with open(p, "r", errors="replace") as f:
                    parts.append(f.read())
        return "".join(parts)

    def error_lines(self):
        return [l for l in self.log().splitlines() if "level=error" in l]

    def wait_log(self, regex, deadline=10.0):
        rx = re.compile(regex)

        def found():
            if self.proc.poll() is not None and not rx.search(self.log()):
                pytest.fail("backpack exited (%s) before logging %r:\n%s"
                            % (self.proc.returncode, regex, self.log()))
            return rx.search(self.log())
        return _poll(found, deadline, regex)

    def alive(self):
        return self.proc.poll() is None

    def send_signal(self, sig):
        os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, deadline=STOP_DEADLINE):
        """Sends sig, waits for the exit (SIGKILL after the deadline) and
        returns the exit status."""
        if self.proc.poll() is None:
            os.kill(self.pid, sig)
            try:
                self.proc.wait(timeout=deadline)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._stderr.close()
        self.returncode = self.proc.returncode
        return self.returncode


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="bp-it-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def write_config(workdir):
    def write(extra="", **sections):
        base = {
            "server": {"listen": "127.0.0.1:0"},
            "store": {"path": os.path.join(workdir, "backpack.db")},
            "school": {"name": "Lincoln Elementary"},
        }
        for sec, keys in sections.items():
            base.setdefault(sec, {}).update(keys)
        lines = []
        for sec, keys in base.items():
            lines.append("[%s]" % sec)
            lines += ["%s = %s" % (k, v) for k, v in keys.items()]
            lines.append("")
        path = os.path.join(workdir, "backpack.ini")
        with open(path, "w") as f:
            f.write("\n".join(lines) + extra)
        return path
    return write


@pytest.fixture
def serve(workdir):
    if not BIN:
        pytest.skip("BACKPACK_BIN not set (run via meson test)")
    started = []

    def start(config, log_file=None, env=None):
        d = Daemon(workdir, config, log_file=log_file, env=env)
        started.append(d)
        return d
    yield start
    for d in started:
        d.stop(signal.SIGTERM)


def start_seeded(serve, config, seed, started=r"event=started"):
    """Migrates the store of config (write_config's: backpack.db beside it),
    runs the seed SQL on it, starts `backpack serve` and waits for the log
    line `started`.  Returns the Daemon with .config and .db set."""
    db = os.path.join(os.path.dirname(config), "backpack.db")
    subprocess.run([BIN, "migrate", "-c", config], check=True, capture_output=True)
    con = sqlite3.connect(db)
    try:
        con.executescript(seed)
        con.commit()
    finally:
        con.close()
    d = serve(config)
    d.wait_log(started)
    d.config, d.db = config, db
    return d


def free_port():
    """A free TCP port on the loopback address (for servers a test starts)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def certificates(directory, names):
    """A test certificate authority and a server certificate it signed for names
    (subjectAltName entries such as "DNS:localhost" or "IP:127.0.0.1"), made with the
    openssl command in directory: returns the paths (ca.pem, server.pem, server.key)."""
    ca_key, ca = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    key, csr = os.path.join(directory, "server.key"), os.path.join(directory, "server.csr")
    cert, ext = os.path.join(directory, "server.pem"), os.path.join(directory, "server.ext")
    quiet = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=Backpack test CA", "-keyout", ca_key, "-out", ca,
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign"], **quiet)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=server",
                    "-keyout", key, "-out", csr], **quiet)
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n" % ",".join(names))
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "2", "-out", cert, "-extfile", ext], **quiet)
    return ca, cert, key


def poll(pred, deadline=30.0, what="condition", interval=0.02):
    """Waits for pred() to be truthy (an event, with a deadline) and returns
    its value; raises AssertionError naming `what` on the deadline."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


def http_request(port, method, path, body=None, headers=None, timeout=10):
    """One request on a fresh connection; returns (status, headers dict
    with lower-case names, body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def raw_exchange(port, data, timeout=10):
    """Sends raw bytes and reads until the server closes the connection (or
    the timeout).  Returns everything received."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if data:
            s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def status_of(raw):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", raw)
    return int(m.group(1)) if m else None
