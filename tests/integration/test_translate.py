# SPDX-License-Identifier: AGPL-3.0-or-later
"""The machine-translation adapter (src/mt/) against the imitation
LibreTranslate server (tests/fakes/libretranslate/server.py), through the
real C code (tests/unit/mt/mt_driver): request shape, language-code
mapping, API key, and failures classified as the outbox needs them
(500, 429 and a timeout are temporary; 4xx and garbage are permanent).
The timeout case waits for the client's own deadline, not a sleep."""
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

BIN = os.environ.get("BACKPACK_BIN", "")
SRC = os.environ.get("BACKPACK_SOURCE_DIR", "")
DRIVER = os.environ.get("BACKPACK_MT_DRIVER") or os.path.join(
    os.path.dirname(BIN), "tests", "unit", "mt", "mt_driver")
FAKE = os.path.join(SRC, "tests", "fakes", "libretranslate", "server.py")


class FakeLT:
    def __init__(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", FAKE], stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening "), line
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.url + path, data=data, method=method,
                                   headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(r, timeout=10) as resp:
            return json.loads(resp.read())

    def control(self, **kw):
        return self.call("POST", "/_control", kw)

    def requests(self):
        return self.call("GET", "/_requests")

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def lt():
    f = FakeLT()
    yield f
    f.stop()


def translate(lt, text, source="en", target="es", timeout_ms=5000, key=None, mode=None):
    args = [DRIVER, lt.url, str(timeout_ms), source, target, text]
    if key is not None:
        args.append(key)
    if mode:
        args.append(mode)
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("mode", [None, "--async"])
def test_translates_and_maps_languages(lt, mode):
    out = translate(lt, "Field trip tomorrow — bring lunch ☀", target="es-MX", mode=mode)
    assert out == {"rc": "ok", "text": "[es] Field trip tomorrow — bring lunch ☀", "msg": ""}
    out = translate(lt, "Hello", target="zh-TW", mode=mode)
    assert out["text"] == "[zt] Hello"
    out = translate(lt, "Hello", target="zh-Hans", mode=mode)
    assert out["text"] == "[zh] Hello"
    reqs = lt.requests()
    assert reqs[0] == {"q": "Field trip tomorrow — bring lunch ☀", "source": "en",
                       "target": "es", "format": "text"}


def test_api_key_is_sent(lt):
    lt.control(api_key="k-123")
    assert translate(lt, "Hi", key="k-123")["rc"] == "ok"
    assert lt.requests()[-1]["api_key"] == "k-123"
    out = translate(lt, "Hi", key="wrong")
    assert out["rc"] == "BP_EPERMFAIL" and "403" in out["msg"]


@pytest.mark.parametrize("fail,want", [("500", "BP_ETEMPFAIL"), ("429", "BP_ETEMPFAIL"),
                                       ("garbage", "BP_EPERMFAIL")])
def test_failures_are_classified(lt, fail, want):
    lt.control(fail=fail, count=1)
    out = translate(lt, "Hello")
    assert out["rc"] == want and out["text"] == ""
    assert translate(lt, "Hello")["rc"] == "ok"       # the failure was one-shot


def test_unsupported_language_is_permanent(lt):
    out = translate(lt, "Hello", target="xx")
    assert out["rc"] == "BP_EPERMFAIL" and "400" in out["msg"]


@pytest.mark.parametrize("mode", [None, "--async"])
def test_timeout_is_temporary(lt, mode):
    lt.control(fail="timeout", count=1)
    t0 = time.monotonic()
    out = translate(lt, "Hello", timeout_ms=300, mode=mode)
    assert out["rc"] == "BP_ETEMPFAIL" and "imeout" in out["msg"]
    assert time.monotonic() - t0 < 10


def test_connection_refused_is_temporary(lt):
    port = lt.port
    lt.stop()
    r = subprocess.run([DRIVER, "http://127.0.0.1:%d" % port, "2000", "en", "es", "x"],
                       capture_output=True, text=True, timeout=60)
    assert json.loads(r.stdout)["rc"] == "BP_ETEMPFAIL"


def test_empty_or_invalid_text_is_refused_locally(lt):
    assert translate(lt, "")["rc"] == "BP_EINVAL_INPUT"
    assert lt.requests() == []
