#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""An imitation LibreTranslate server for tests (Python stdlib only).

    POST /translate {"q", "source", "target", "format", "api_key"?}
      -> 200 {"translatedText": "[<target>] <q>"}   (deterministic)
    POST /_control {"fail": "500" | "429" | "timeout" | "garbage" | null,
                    "count": N (default: every request until changed),
                    "api_key": "k" (require this key: 403 otherwise)}
    GET  /_requests -> the JSON bodies received on /translate, in order
    GET  /languages  -> a LibreTranslate-style language list

"timeout" holds the request open until the client gives up (the server
waits on the connection, so no sleeping for timing): the handler blocks
until the client closes its socket or 60 s pass.

Usage: server.py [--port 0]; prints "listening <port>" on stdout once
bound, then serves until SIGTERM.
"""
import argparse
import json
import select
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"fail": None, "count": None, "api_key": None, "requests": []}
LOCK = threading.Lock()
LANGS = ["en", "es", "zh", "zt", "vi", "ar", "ht", "so", "ru", "pt", "tl", "ko", "fr"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj):
        raw = json.dumps(obj, ensure_ascii=False).encode() if not isinstance(obj, bytes) else obj
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        if status == 429:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(raw)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw or b"{}")

    def do_GET(self):
        if self.path == "/_requests":
            with LOCK:
                return self.answer(200, STATE["requests"])
        if self.path == "/languages":
            return self.answer(200, [{"code": c, "name": c, "targets": LANGS} for c in LANGS])
        self.answer(404, {"error": "not found"})

    def take_failure(self):
        with LOCK:
            f = STATE["fail"]
            if f and STATE["count"] is not None:
                STATE["count"] -= 1
                if STATE["count"] <= 0:
                    STATE["fail"], STATE["count"] = None, None
            return f

    def do_POST(self):
        try:
            req = self.body()
        except ValueError:
            return self.answer(400, {"error": "invalid JSON"})
        if self.path == "/_control":
            with LOCK:
                STATE["fail"] = req.get("fail")
                STATE["count"] = req.get("count")
                STATE["api_key"] = req.get("api_key", STATE["api_key"])
            return self.answer(200, {"ok": True})
        if self.path != "/translate":
            return self.answer(404, {"error": "not found"})
        with LOCK:
            STATE["requests"].append(req)
            want_key = STATE["api_key"]
        fail = self.take_failure()
        if fail == "timeout":
            # keep the request open until the client hangs up
            select.select([self.connection], [], [], 60)
            self.close_connection = True
            return
        if fail == "500":
            return self.answer(500, {"error": "internal error"})
        if fail == "429":
            return self.answer(429, {"error": "Too many request limits violation"})
        if fail == "garbage":
            return self.answer(200, b"<html>not json</html>")
        if want_key and req.get("api_key") != want_key:
            return self.answer(403, {"error": "Invalid API key"})
        for k in ("q", "source", "target"):
            if not isinstance(req.get(k), str) or not req[k]:
                return self.answer(400, {"error": "Invalid request: missing %s parameter" % k})
        if req["target"] not in LANGS or req["source"] not in LANGS:
            return self.answer(400, {"error": "%s is not supported" % req["target"]})
        self.answer(200, {"translatedText": "[%s] %s" % (req["target"], req["q"])})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print("listening %d" % srv.server_address[1], flush=True)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
