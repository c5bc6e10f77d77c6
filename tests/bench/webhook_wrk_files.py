#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Splits requests.tsv (webhook_requests.py: SIGNATURE<TAB>FORM_BODY per
line) into one file per wrk thread, PREFIX.0, PREFIX.1, ..., line i going to
thread i mod THREADS.  Each file is a sequence of complete HTTP/1.1 requests,
each preceded by its length as 8 decimal digits, which webhook.lua reads one
at a time.

Why not let the Lua init() read the TSV: wrk runs every thread's init() one
after the other on its main thread and starts each thread as soon as its own
init() is done, but starts its clock only after the last one.  Reading and
formatting 600,000 lines took ~3.5 s per thread, so thread 0 sent for
seconds before the clock started and the rate it printed was too high.  With
these files init() only opens one.

Usage: webhook_wrk_files.py --requests requests.tsv --threads N
                            --host 127.0.0.1:PORT --path /webhooks/sms/twilio
                            --prefix OUT
"""
import argparse


def main():
    ap = argparse.ArgumentParser()
    for a in ("--requests", "--host", "--path", "--prefix"):
        ap.add_argument(a, required=True)
    ap.add_argument("--threads", type=int, required=True)
    args = ap.parse_args()
    outs = [open("%s.%d" % (args.prefix, t), "wb") for t in range(args.threads)]
    with open(args.requests, encoding="utf-8") as f:
        for i, line in enumerate(f):
            sig, body = line.rstrip("\n").split("\t", 1)
            b = body.encode()
            req = ("POST %s HTTP/1.1\r\nHost: %s\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\n"
                   "X-Twilio-Signature: %s\r\nContent-Length: %d\r\n\r\n"
                   % (args.path, args.host, sig, len(b))).encode() + b
            out = outs[i % args.threads]
            out.write(b"%08d" % len(req))
            out.write(req)
    for o in outs:
        o.close()


if __name__ == "__main__":
    main()
