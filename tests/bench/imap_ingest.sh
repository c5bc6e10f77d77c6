#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Benchmark: ingest N (default 10,000) mixed messages from a real Dovecot
# through `backpack serve` (IMAP poll -> parse -> thread -> group commit).
# Prints messages/s end to end (first poll to the cursor at the last UID)
# and the daemon's peak RSS (VmHWM).  Targets: >= 500 msg/s, < 64 MiB.
# Also the CPU time spent by the daemon and by Dovecot (every process of its
# session, and the children it reaped) per message: on a shared machine the
# wall-clock figure swings with the load, the CPU per message much less.
# Never fails on time: it prints figures.
#   tests/bench/imap_ingest.sh [BUILD_DIR] [N]     (as root: Dovecot's mail uid)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build}
N=${2:-10000}
exec /usr/bin/python3 - "$HERE/../integration" "$(cd "$BUILD" && pwd)/backpack" "$N" <<'PY'
import os, sqlite3, subprocess, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from dovecot_support import Dovecot, USER, PASSWORD, MAIL_UID
bin_, n = sys.argv[2], int(sys.argv[3])
TICK = os.sysconf("SC_CLK_TCK")

def cpu(pid, children=False):
    """utime + stime (and cutime + cstime) of pid, in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    t = int(v[11]) + int(v[12]) + (int(v[13]) + int(v[14]) if children else 0)
    return t / TICK

def session_cpu(sid):
    """CPU of every live process of session sid, plus what the leader reaped."""
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                v = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(v[3]) == sid:
            total += cpu(int(d), children=int(d) == sid)
    return total

def msg(i):
    kind = i % 5
    head = ("From: Parent %d <parent%d@example.org>\r\nTo: replies+tok%d@school.example\r\n"
            "Subject: Re: Field trip %d\r\nDate: Mon, 7 Oct 2024 09:00:00 +0000\r\n"
            "Message-ID: <bench-%d@client.example>\r\nMIME-Version: 1.0\r\n" % (i, i % 700, i % 300, i, i))
    if kind == 1:      # out of office
        head += "Auto-Submitted: auto-replied\r\n"
    if kind == 2:      # HTML only, quoted-printable
        return head + ("Content-Type: text/html; charset=utf-8\r\n"
                       "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                       "<p>S=C3=AD, puede ir.</p><blockquote>On Mon wrote: trip</blockquote>\r\n")
    if kind == 3:      # multipart with a small attachment
        b = "b%d" % i
        return head + ('Content-Type: multipart/mixed; boundary="%s"\r\n\r\n--%s\r\n'
                       "Content-Type: text/plain; charset=utf-8\r\n\r\nForm attached.\r\n--%s\r\n"
                       'Content-Type: application/pdf; name="f.pdf"\r\n'
                       "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--%s--\r\n"
                       % (b, b, b, "QUJD" * 500, b))
    return head + ("Content-Type: text/plain; charset=utf-8\r\n\r\n"
                   "Yes, she can go. Thanks!\r\n\r\nOn Mon, Oct 7, 2024, School wrote:\r\n"
                   "> Field trip on Friday\r\n> Please answer.\r\n")

with Dovecot() as dc:
    md = os.path.join(dc.dir, "mail", USER, "Maildir")
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, d), exist_ok=True)
    for i in range(n):
        p = os.path.join(md, "new", "%d.M%d.bench" % (1700000000 + i, i))
        with open(p, "w") as f:
            f.write(msg(i))
    subprocess.run(["chown", "-R", "%d:%d" % (MAIL_UID, MAIL_UID), os.path.join(dc.dir, "mail")],
                   check=True)
    dc.status()          # let Dovecot index the maildir before the clock starts
    work = tempfile.mkdtemp(prefix="bp-bench-imap-")
    cfg = os.path.join(work, "b.ini")
    with open(cfg, "w") as f:
        f.write("[server]\nlisten = 127.0.0.1:0\n[store]\npath = %s/b.db\n[school]\nname = Bench\n"
                "[log]\nlevel = %s\n"
                "[imap]\nenabled = true\nurl = %s\nusername = %s\npassword = %s\n"
                "poll_interval = 50ms\n" % (work, os.environ.get("LOG_LEVEL", "info"),
                                             dc.url(), USER, PASSWORD))
    subprocess.run([bin_, "migrate", "-c", cfg], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    err = open(os.path.join(work, "err"), "wb")
    dc_cpu0 = session_cpu(dc.proc.pid)
    t0 = time.monotonic()
    p = subprocess.Popen([bin_, "serve", "-c", cfg], stderr=err)
    db = os.path.join(work, "b.db")
    hwm, last = 0, 0
    try:
        while time.monotonic() - t0 < 600:
            with open("/proc/%d/status" % p.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = int(line.split()[1])
            try:
                c = sqlite3.connect(db, timeout=5)
                r = c.execute("SELECT last_uid FROM imap_cursor").fetchall()
                c.close()
                last = r[0][0] if r else 0
            except sqlite3.Error:
                pass
            if last >= n:
                break
            time.sleep(0.05)
        dt = time.monotonic() - t0
        daemon_cpu = cpu(p.pid)
        dc_cpu = session_cpu(dc.proc.pid) - dc_cpu0
        c = sqlite3.connect(db)
        stored = c.execute("SELECT count(*) FROM message WHERE direction='in'").fetchone()[0]
        kinds = dict(c.execute("SELECT kind, count(*) FROM message GROUP BY kind").fetchall())
        c.close()
    finally:
        p.terminate()
        p.wait()
    print("imap_ingest: messages=%d stored=%d kinds=%s" % (n, stored, kinds))
    print("imap_ingest: %.2f s end to end (daemon start to cursor), %.0f messages/s" % (dt, n / dt))
    print("imap_ingest: peak RSS %.1f MiB (VmHWM)" % (hwm / 1024.0))
    print("imap_ingest: CPU daemon %.2f s (%.0f us/message), Dovecot %.2f s (%.0f us/message), "
          "load average %.1f" % (daemon_cpu, daemon_cpu * 1e6 / n, dc_cpu, dc_cpu * 1e6 / n,
                                 os.getloadavg()[0]))
    print("imap_ingest: daemon log %s" % os.path.join(work, "err"))
PY
