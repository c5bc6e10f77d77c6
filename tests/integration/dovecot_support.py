# SPDX-License-Identifier: AGPL-3.0-or-later
"""A real Dovecot IMAP server for tests (DEPENDENCY-NOTES §3).

Dovecot(...) writes its own configuration (no /etc/dovecot includes), runs
`dovecot -F` as a child on an ephemeral loopback port and delivers messages
with `doveadm save`.  The test runs as root; the mail user is uid 65534
(dovecot refuses uid 0), its mail dir is owned by 65534, and every parent
dir is world-traversable (tempfile.mkdtemp + chmod 0755, not pytest's
tmp_path), because the auth and login processes run as other users.

    with Dovecot() as dc:              # or the `dovecot` fixture
        dc.save(raw_bytes)             # into INBOX (or mailbox=...)
        dc.url("INBOX")                # imap://127.0.0.1:PORT/INBOX
        dc.kill(); dc.start()          # an outage on the same port

Stopping is by PID: SIGKILL to the process group led by the master's PID
(the master runs in its own session; imap processes serving open
connections would otherwise outlive it), then wait for the port to close.  Waits are for events with deadlines, never fixed sleeps.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import certificates, free_port

USER = "alice"
PASSWORD = "secret"
MAIL_UID = 65534


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _wait(pred, deadline, what):
    end = time.monotonic() + deadline
    while not pred():
        if time.monotonic() > end:
            raise TimeoutError("timed out waiting for " + what)
        time.sleep(0.01)


class Dovecot:
    def __init__(self, port=None, tls=False):
        if shutil.which("dovecot") is None:
            pytest.skip("dovecot is not installed")
        self.dir = tempfile.mkdtemp(prefix="bp-dovecot-")
        os.chmod(self.dir, 0o755)
        self.port = port or free_port()
        self.proc = None
        for d in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, d))
        os.chown(os.path.join(self.dir, "mail"), MAIL_UID, MAIL_UID)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        # tls: a certificate for 127.0.0.1 signed by a test authority
        # (self.ca_file), STARTTLS offered on the imap port and an imaps
        # listener on self.tls_port
        self.tls_port, self.ca_file, ssl = 0, None, "ssl = no"
        if tls:
            self.tls_port = free_port()
            self.ca_file, cert, key = certificates(self.dir, ("IP:127.0.0.1",))
            ssl = "ssl = yes\nssl_cert = <%s\nssl_key = <%s" % (cert, key)
        users = os.path.join(self.dir, "users")
        with open(users, "w") as f:
            f.write("%s:{PLAIN}%s:%d:%d::%s/mail/%s::\n"
                    % (USER, PASSWORD, MAIL_UID, MAIL_UID, self.dir, USER))
        os.chmod(users, 0o644)
        with open(self.conf, "w") as f:
            f.write("""base_dir = {d}/run
state_dir = {d}/state
instance_name = dovecot-test-{p}
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {p}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tp}
  }}
}}
""".format(d=self.dir, p=self.port, tp=self.tls_port, ssl=ssl))

    def url(self, mailbox="INBOX", imaps=False):
        if imaps:
            return "imaps://127.0.0.1:%d/%s" % (self.tls_port, mailbox)
        return "imap://127.0.0.1:%d/%s" % (self.port, mailbox)

    def start(self):
        _wait(lambda: not _port_open(self.port), 10, "port %d to be free" % self.port)
        # own process group: kill() ends the master and the imap processes
        # serving open connections (they outlive a killed master)
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        _wait(lambda: _port_open(self.port) or self.proc.poll() is not None, 10,
              "dovecot to listen")
        if self.proc.poll() is not None:
            raise RuntimeError("dovecot exited: " + self.log())
        return self

    def kill(self):
        """Stops the server at once (SIGKILL to the process group of the
        master's PID, so open IMAP sessions end too) and waits for the port."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.proc = None
        _wait(lambda: not _port_open(self.port), 10, "dovecot's port to close")

    def doveadm(self, *args, stdin=None):
        r = subprocess.run(["doveadm", "-c", self.conf] + list(args), input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("doveadm %s: %s" % (" ".join(args), r.stderr.decode()))
        return r.stdout.decode()

    def save(self, raw, mailbox="INBOX"):
        if hasattr(raw, "as_bytes"):
            raw = raw.as_bytes()
        if isinstance(raw, str):
            raw = raw.encode()
        self.doveadm("save", "-u", USER, "-m", mailbox, stdin=raw)

    def save_maildir(self, raw):
        """Delivers into INBOX without the server (as an MTA's local
        delivery does: write into Maildir/tmp, rename into Maildir/new), for
        mail that arrives while Dovecot is down."""
        if hasattr(raw, "as_bytes"):
            raw = raw.as_bytes()
        md = os.path.join(self.dir, "mail", USER, "Maildir")
        name = "%d.M%dP%d.bp-test" % (time.time(), time.monotonic_ns() % 10**9, os.getpid())
        tmp, new = os.path.join(md, "tmp", name), os.path.join(md, "new", name)
        with open(tmp, "wb") as f:
            f.write(raw)
        os.chown(tmp, MAIL_UID, MAIL_UID)
        os.rename(tmp, new)

    def create_mailbox(self, name):
        self.doveadm("mailbox", "create", "-u", USER, name)

    def delete_mailbox(self, name):
        self.doveadm("mailbox", "delete", "-u", USER, "-s", name)

    def status(self, mailbox="INBOX", fields="messages uidvalidity uidnext unseen"):
        out = self.doveadm("-f", "flow", "mailbox", "status", "-u", USER, fields, mailbox)
        return dict(kv.split("=", 1) for kv in out.split() if "=" in kv)

    def log(self):
        p = os.path.join(self.dir, "dovecot.log")
        return open(p, errors="replace").read() if os.path.exists(p) else ""

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def dovecot():
    dc = Dovecot().start()
    yield dc
    dc.close()
