"""SMTP sink for the benchmarks: aiosmtpd (a real SMTP server) in one or more processes.

    /usr/bin/python3 tests/bench/smtp_sink.py --port P [--procs N] [--pipelining] [--stats]
                                              [--count-file PATH]

Every process runs aiosmtpd's own SMTP protocol (aiosmtpd.smtp.SMTP) with a handler that
accepts and discards each message (250), on 127.0.0.1:P, on uvloop (Debian's python3-uvloop,
installed by deploy/install-deps.sh --test) when it can be imported, else on asyncio's own
loop: uvloop takes aiosmtpd's CPU per e-mail from ~600 to ~490 us (2026-11-23), and the
benchmark measures the sender, not the sink's event loop.  With --procs N > 1 the processes
share the port through SO_REUSEPORT (asyncio's create_server(reuse_port=True)), so the kernel
spreads the sender's SMTP sessions over them, as a real MTA spreads sessions over its smtpd
processes; one aiosmtpd process is single-threaded Python and tops out near 1,700-2,200
e-mails/s per core.  --pipelining adds "PIPELINING" (RFC 2920) to the EHLO reply, as Postfix
and Exim advertise it: aiosmtpd reads commands one line at a time from its stream, so a
pipelined MAIL/RCPT/DATA group is answered in order.

The parent prints one line, {"port": P, "pids": [...], "loop": "uvloop"|"asyncio"}, once every process is listening,
then waits; SIGTERM stops the children (by PID) and then the parent.  With --stats each
child prints {"pid", "sessions", "messages"} on stdout when it stops (messages per SMTP
session show how well the sender batches).  With --count-file PATH (created, N * 8 bytes)
child i keeps the number of messages it has accepted at byte 8 * i (native int64, in a shared
mapping: a memory store per message, no system call), so a benchmark can follow the drain
without querying the sender's database.  The benchmarks read the CPU of each PID from /proc.
Not a test: it never checks anything.
"""
import argparse
import asyncio
import json
import mmap
import os
import signal
import struct
import sys

from aiosmtpd.smtp import SMTP

try:
    import uvloop                       # Debian's python3-uvloop: asyncio's loop on libuv
except ImportError:
    uvloop = None


class Discard:
    """Accept every message and drop it (aiosmtpd.handlers.Sink, plus PIPELINING)."""

    def __init__(self, pipelining, counter=None):
        self.pipelining = pipelining
        self.counter = counter            # (mmap, offset) or None
        self.sessions = self.messages = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.sessions += 1
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        if self.counter is not None:
            struct.pack_into("q", self.counter[0], self.counter[1], self.messages)
        return "250 OK"


def serve(port, pipelining, stats, ready_fd, counter):
    loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Discard(pipelining, counter)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="sink.localhost"), "127.0.0.1", port,
        reuse_port=True, backlog=128))
    os.write(ready_fd, b"x")
    os.close(ready_fd)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.close()
        if stats:
            # one write(2) per line: the children share the pipe, and print()
            # writes the text and its newline separately, so two children's
            # lines could interleave (PIPE_BUF keeps one small write whole)
            line = json.dumps({"pid": os.getpid(), "sessions": handler.sessions,
                               "messages": handler.messages}) + "\n"
            os.write(sys.stdout.fileno(), line.encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--pipelining", action="store_true")
    ap.add_argument("--stats", action="store_true")
    ap.add_argument("--count-file")
    a = ap.parse_args()
    counts = None
    if a.count_file:
        with open(a.count_file, "wb+") as f:
            f.write(bytes(8 * a.procs))
            f.flush()
            counts = mmap.mmap(f.fileno(), 8 * a.procs)
    rfd, wfd = os.pipe()
    pids = []
    for i in range(a.procs):
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            code = 0
            try:
                serve(a.port, a.pipelining, a.stats, wfd,
                      (counts, 8 * i) if counts is not None else None)
            except BaseException:           # noqa: B036 (report and leave the child)
                code = 1
            os._exit(code)
        pids.append(pid)
    os.close(wfd)
    got = 0
    while got < a.procs:
        b = os.read(rfd, a.procs)
        if not b:
            break
        got += len(b)
    os.close(rfd)
    if got < a.procs:
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        sys.exit("smtp_sink.py: a sink process failed to listen on port %d" % a.port)

    def stop(signum, frame):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in pids:
            os.waitpid(pid, 0)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"port": a.port, "pids": pids,
                      "loop": "asyncio" if uvloop is None else "uvloop"}), flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
