"""Start, drive and stop the imitation Twilio (tests/fakes/twilio/server.js) from pytest.

Standard library only (run by Debian's /usr/bin/python3).  Typical use:

    from twilio_fake import FakeTwilio
    with FakeTwilio() as fake:                # starts `node server.js --port 0 ...`
        fake.script(action="error", status=429, retry_after=1)
        ... point the daemon at fake.base_url with fake.account_sid / fake.auth_token ...
        reqs = fake.requests(min_count=2, timeout_ms=5000)["items"]
    # stopped by PID (SIGTERM, then SIGKILL after a deadline)

Also: twilio_signature(), an independent Python implementation of X-Twilio-Signature
(HMAC-SHA1 over URL + sorted params, base64), for tests that verify what the imitation signs.
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_JS = os.path.join(HERE, "twilio", "server.js")
SIGN_JS = os.path.join(HERE, "twilio", "sign.js")


def node_binary():
    node = shutil.which("node")
    if not node:
        raise RuntimeError("node (Node.js >= 20) is required for the imitation Twilio")
    return node


def twilio_signature(auth_token, url, params):
    """X-Twilio-Signature for url + params (dict of str or list of str, or list of pairs)."""
    items = params.items() if isinstance(params, dict) else params
    multi = {}
    for name, value in items:
        values = value if isinstance(value, list) else [value]
        multi.setdefault(name, []).extend(values)
    # Sort by UTF-16 code units, the order of the official Node helper.
    key16 = lambda s: s.encode("utf-16-be")
    data = url
    for name in sorted(multi, key=key16):
        for value in sorted(set(multi[name]), key=key16):
            data += name + value
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class FakeTwilio:
    """One imitation Twilio process on an ephemeral loopback port."""

    def __init__(self, account_sid=None, auth_token=None, callback_base=None,
                 callbacks="auto", start_timeout=10.0):
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self.callback_base = callback_base
        self.callbacks = callbacks
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.base_url = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self):
        args = [node_binary(), SERVER_JS, "--port", "0", "--account-sid", self.account_sid,
                "--auth-token", self.auth_token, "--callbacks", self.callbacks]
        if self.callback_base:
            args += ["--callback-base", self.callback_base]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.start_timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            if not ready:
                self.stop()
                raise RuntimeError("imitation Twilio did not report ready in time")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace")
                self.proc.wait()
                raise RuntimeError("imitation Twilio exited at start: " + err)
            line += chunk
        info = json.loads(line.decode())
        self.port = info["port"]
        self.base_url = info["base_url"]
        return self

    def stop(self, timeout=5.0):
        """SIGTERM by PID, SIGKILL if it is still alive after timeout.  Returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()
        finally:
            for f in (self.proc.stdout, self.proc.stderr):
                f.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- the REST API as a client would call it -------------------------------------------
    @property
    def messages_url(self):
        return "%s/2010-04-01/Accounts/%s/Messages.json" % (self.base_url, self.account_sid)

    def send(self, params, token=None, auth=None, timeout=10.0):
        """POSTs a create-message request; returns (status, headers, parsed JSON body)."""
        user, password = auth or (self.account_sid, self.auth_token)
        body = urllib.parse.urlencode(params, doseq=True).encode()
        req = urllib.request.Request(self.messages_url, data=body, method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        cred = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        req.add_header("Authorization", "Basic " + cred)
        if token is not None:
            req.add_header("I-Twilio-Idempotency-Token", token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), json.loads(r.read())
        except urllib.error.HTTPError as e:
            with e:
                return e.code, dict(e.headers), json.loads(e.read())

    def fetch(self, sid, timeout=10.0):
        """GETs one Message resource; returns (status, parsed JSON body)."""
        url = "%s/2010-04-01/Accounts/%s/Messages/%s.json" % (self.base_url, self.account_sid, sid)
        req = urllib.request.Request(url, method="GET")
        cred = base64.b64encode(("%s:%s" % (self.account_sid, self.auth_token)).encode()).decode()
        req.add_header("Authorization", "Basic " + cred)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.loads(e.read())

    # -- control API ----------------------------------------------------------------------
    def control(self, method, path, payload=None, timeout=30.0):
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.base_url + "/_fake" + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def script(self, **kw):
        return self.control("POST", "/script", kw)

    def reset(self):
        return self.control("POST", "/reset", {})

    def requests(self, **filters):
        q = urllib.parse.urlencode(filters)
        wait = filters.get("timeout_ms", 0) / 1000.0
        return self.control("GET", "/requests?" + q, timeout=wait + 10)

    def webhooks(self, **filters):
        q = urllib.parse.urlencode(filters)
        wait = filters.get("timeout_ms", 0) / 1000.0
        return self.control("GET", "/webhooks?" + q, timeout=wait + 10)

    def stats(self, tokens=False):
        return self.control("GET", "/stats" + ("?tokens=1" if tokens else ""))

    def inbound(self, **spec):
        return self.control("POST", "/inbound", spec)

    def post_status(self, **spec):
        return self.control("POST", "/status", spec)

    def configure_callbacks(self, **cfg):
        """mode="auto"|"off", and/or to=NUMBER, sequence=[{"status", "error_code"}] (None clears)."""
        return self.control("POST", "/callbacks", cfg)

    def unsubscribe(self, *numbers):
        return self.control("POST", "/unsubscribed", {"numbers": list(numbers)})
