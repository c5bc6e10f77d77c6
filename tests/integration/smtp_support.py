# SPDX-License-Identifier: AGPL-3.0-or-later
"""A real SMTP server for tests: Debian's aiosmtpd Controller on loopback.

Sink keeps every message it accepted (envelope + raw bytes, as received,
the number of the SMTP session that carried it and whether it came over
TLS) and counts sessions; subclass it to answer RCPT or DATA differently.
The `sink` fixture (import it into the test module) runs one on a free
port and stops it afterwards:

    from smtp_support import STRICT, Sink, sink  # noqa: F401

    def test_x(sink):                 # sink.port for [smtp] port
        ...
        msgs = sink.wait(2)           # the first two messages, with a deadline
        email.message_from_bytes(msgs[0]["raw"], policy=STRICT)

Waits are for events with deadlines (conftest.poll), never fixed sleeps.
"""
import contextlib
import email.policy
import ssl
import threading

import pytest
from aiosmtpd.controller import Controller

from conftest import certificates, free_port, poll

# Python's email package in strict mode: any defect in a received message fails.
STRICT = email.policy.default.clone(raise_on_defect=True)


class Sink:
    """aiosmtpd handler: stores every message (envelope + raw) and counts sessions."""

    def __init__(self):
        self.messages = []
        self.sessions = 0
        self.port = None
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions += 1
            session.bp_number = self.sessions       # which session carried each message
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                  "raw": envelope.original_content,
                                  "session": getattr(session, "bp_number", 0),
                                  "tls": session.ssl is not None})
        return "250 Message accepted for delivery"

    def count(self):
        with self.lock:
            return len(self.messages)

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def wait(self, n, deadline=30.0):
        """The messages received so far once there are at least n."""
        return poll(lambda: (lambda m: m if len(m) >= n else None)(self.snapshot()),
                    deadline, "%d e-mail(s) at the SMTP sink" % n)


def email_school(n):
    """Seed SQL: a section of n students, each with one English-speaking guardian who reads
    e-mail at parent<i>@example.org."""
    rows = ["INSERT INTO school VALUES (1,'sch-1','Lincoln','America/New_York','en',NULL,NULL,"
            "0,0);",
            "INSERT INTO section (id,school_id,sourced_id,title,created_at,updated_at)"
            " VALUES (1,1,'sec-1','Science',0,0);"]
    for i in range(1, n + 1):
        rows.append("INSERT INTO student (id,school_id,sourced_id,given_name,family_name,"
                    "created_at,updated_at) VALUES (%d,1,'stu-%d','Kid','N%d',0,0);" % (i, i, i))
        rows.append("INSERT INTO enrollment VALUES (1,%d);" % i)
        rows.append("INSERT INTO guardian (id,sourced_id,given_name,family_name,locale,"
                    "preferred_channel,timezone,created_at,updated_at) VALUES"
                    " (%d,'g-%d','Pat','N%d','en','email',NULL,0,0);" % (i, i, i))
        rows.append("INSERT INTO student_guardian (student_id,guardian_id) VALUES (%d,%d);"
                    % (i, i))
        rows.append("INSERT INTO contact (id,kind,address,status,created_at,updated_at) VALUES"
                    " (%d,'email','parent%d@example.org','active',0,0);" % (i, i))
        rows.append("INSERT INTO guardian_contact VALUES (%d,%d);" % (i, i))
    return "\n".join(rows)


def tls_files(directory, names=("DNS:localhost",)):
    """conftest.certificates for names, and the relay's ssl.SSLContext: returns (ca.pem,
    the context to pass as running(..., tls_context=...))."""
    ca, cert, key = certificates(directory, names)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ca, ctx


@contextlib.contextmanager
def running(handler, **controller_args):
    """Runs handler on 127.0.0.1:<free port> (handler.port) until the block ends."""
    ctl = Controller(handler, hostname="127.0.0.1", port=free_port(), **controller_args)
    ctl.start()
    handler.port = ctl.port
    try:
        yield handler
    finally:
        ctl.stop()


@pytest.fixture
def sink():
    with running(Sink()) as handler:
        yield handler
