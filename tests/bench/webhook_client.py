#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sends a fixed number of pre-signed webhook requests (webhook_requests.py
output) over --conns keep-alive connections and counts the answers by status.
A fixed count (not a fixed time, as with wrk) is what an instruction-count
profile needs: instructions / requests is then a per-request figure.

Usage: webhook_client.py --port P --requests FILE [--conns C] [--path PATH]
Prints "answers: 200=N other=M" and exits 0 when every answer was 200.
"""
import argparse
import asyncio
import sys


async def worker(port, path, queue, counts):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            try:
                sig, body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            data = body.encode()
            writer.write((
                "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "X-Twilio-Signature: %s\r\nContent-Length: %d\r\n\r\n"
                % (path, port, sig, len(data))).encode() + data)
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            counts[status] = counts.get(status, 0) + 1
    finally:
        writer.close()


async def run(args):
    queue = asyncio.Queue()
    with open(args.requests, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                queue.put_nowait(tuple(line.split("\t", 1)))
    counts = {}
    await asyncio.gather(*(worker(args.port, args.path, queue, counts)
                           for _ in range(args.conns)))
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--path", default="/webhooks/sms/twilio")
    args = ap.parse_args()
    counts = asyncio.run(run(args))
    ok = counts.pop(200, 0)
    print("answers: 200=%d other=%d" % (ok, sum(counts.values())))
    sys.exit(0 if not counts else 1)


if __name__ == "__main__":
    main()
