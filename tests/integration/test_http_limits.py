# SPDX-License-Identifier: AGPL-3.0-or-later
"""HTTP limits of the real daemon over raw sockets: oversized head (431) and
body (413, Content-Length and chunked), malformed requests (400), a stalled
client (408), the connection cap.  After each abuse the daemon still
answers /healthz, and nothing is logged at error level."""
import re
import socket

import pytest

from conftest import http_request, raw_exchange, status_of

LIMITS = {
    "max_header_bytes": "2k",
    "max_body_bytes": "1k",
    "header_timeout": "300ms",
    "request_timeout": "500ms",
    "max_connections": "8",
}


@pytest.fixture
def daemon(write_config, serve):
    d = serve(write_config(server=dict(LIMITS)))
    yield d
    assert http_request(d.port, "GET", "/healthz")[0] == 200, "daemon must stay up"
    assert d.stop() == 0
    assert d.error_lines() == []


def test_header_too_big(daemon):
    raw = raw_exchange(daemon.port, b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 3000 +
                       b"\r\n\r\n")
    assert status_of(raw) == 431
    assert b"Connection: close\r\n" in raw


def test_body_too_big_content_length(daemon):
    raw = raw_exchange(daemon.port, b"POST /healthz HTTP/1.1\r\nContent-Length: 5000\r\n\r\n")
    assert status_of(raw) == 413


def test_body_too_big_chunked(daemon):
    body = b"".join(b"200\r\n" + b"x" * 0x200 + b"\r\n" for _ in range(3)) + b"0\r\n\r\n"
    raw = raw_exchange(daemon.port, b"POST /healthz HTTP/1.1\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert status_of(raw) == 413


@pytest.mark.parametrize("req", [
    b"GARBAGE\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nBad Header: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
    b"GET /hea\x00lthz HTTP/1.1\r\n\r\n",
    b"POST /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /healthz HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",        # a TLS hello
])
def test_malformed(daemon, req):
    raw = raw_exchange(daemon.port, req)
    assert status_of(raw) == 400
    assert b"Connection: close\r\n" in raw


def test_stalled_client_gets_408(daemon):
    raw = raw_exchange(daemon.port, b"GET /healthz HTTP/1.1\r\nHost: loc")
    assert status_of(raw) == 408
    # a client that sends a head and then too little body
    raw = raw_exchange(daemon.port, b"POST /healthz HTTP/1.1\r\nContent-Length: 10\r\n\r\nab")
    assert status_of(raw) == 408


def test_pipelined_and_keepalive(daemon):
    s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"
              b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
    out = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        out += c
    s.close()
    codes = [int(c) for c in re.findall(rb"HTTP/1\.1 (\d{3}) ", out)]
    assert codes == [200, 404, 200]


def test_connection_cap(daemon):
    socks = []
    try:
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
            s.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200 ")
            socks.append(s)
        extra = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
        try:
            try:
                got = extra.recv(4096)
            except ConnectionResetError:
                got = b""
            assert got == b""            # accepted and closed at once
        finally:
            extra.close()
        socks[0].sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        data = b""
        while b"backpack_uptime_seconds" not in data:
            data += socks[0].recv(65536)
        assert b"\nbackpack_http_connections_rejected_total 1\n" in data
        assert b"\nbackpack_http_connections_open 8\n" in data
    finally:
        for s in socks:
            s.close()
