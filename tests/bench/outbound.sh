#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Outbound benchmark (issue 4): an announcement to a generated district.
#
#   tests/bench/outbound.sh [BACKPACK_BIN] [FAMILIES]       (default 100000)
#   OUTBOUND_TWILIO=c|node   the imitation Twilio: c (default) = the C one
#                            built next to BACKPACK_BIN (tests/fakes/twilio_c),
#                            node = tests/fakes/twilio (~90 us CPU per send)
#   OUTBOUND_ALONE=0         skip the per-channel drains (step 4)
#   OUTBOUND_DRAINS=N        drains of each channel alone (default 3; step 4)
#   OUTBOUND_SMTP_WORKERS=N  [smtp] workers (default 4; the e-mail window is
#                            workers * 64, 32 e-mails per session)
#   OUTBOUND_REPEAT=N        runs of each creation timed (default 3)
#
# 1. generates the district (tests/tools/gen_oneroster.py) and imports it;
# 2. `backpack send --school` (the daemon not running): time to create every
#    delivery (audience resolution + persistence, one transaction; the median
#    of OUTBOUND_REPEAT runs, default 3, on copies of the imported district,
#    every run printed); then the same audience with a template in 13
#    languages, sent on copies of the database and as a dry run (rolled
#    back; the median of as many runs each)
#    and the render throughput (messages/s per core, tmpl_render_bench from
#    the same build directory, issue 6); then, while nothing runs, copies the
#    database files once (step 4 drains fresh copies of that copy);
# 3. both channels at once: starts the daemon against the imitation Twilio
#    (C by default; Node with --record summary, callbacks off) and a real
#    aiosmtpd sink (tests/bench/smtp_sink.py: OUTBOUND_SINK_PROCS aiosmtpd
#    processes, default 2, sharing the port with SO_REUSEPORT and advertising
#    PIPELINING, as an MTA's smtpd processes do; discarding), and times until
#    the provider has created every SMS and every e-mail delivery is `sent`
#    (accepted with 250).  The two drains share the two cores;
# 4. each channel alone (the issue's targets are per channel), OUTBOUND_DRAINS
#    times each (default 3, alternating; the summary prints the median): the
#    same announcement again from a fresh copy, once with [smtp] enabled = false
#    (SMS only) and once with [sms] enabled = false (e-mail only).  The
#    outbox never claims a disabled channel's deliveries: they stay `queued`
#    (not failed, not held) and only the enabled channel is timed.  Each
#    drain gets a fresh imitation/sink, so counts and CPU are its own.
# Rate limit: [sms] rate_per_second = 0 (no limit), as the issue asks.
# Prints the figures, and the CPU per item of each process so that the rates
# can be read honestly on a small machine (the imitation tops out near 10k
# sends/s per core, aiosmtpd near 2k e-mails/s: tests/fakes/README.md,
# docs/senders.md).  A benchmark: it never fails on time.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/build/backpack}
families=${2:-100000}
[ -x "$bin" ] || { echo "outbound.sh: no binary at $bin (pass its path)" >&2; exit 2; }
twilio=${OUTBOUND_TWILIO:-c}
fake_c=$(dirname "$bin")/tests/fakes/twilio_c/twilio_fake_c
case $twilio in
  c) [ -x "$fake_c" ] || { echo "outbound.sh: no $fake_c (build it, or OUTBOUND_TWILIO=node)" >&2; exit 2; } ;;
  node) command -v node >/dev/null || { echo "outbound.sh: node is required (imitation Twilio)" >&2; exit 2; } ;;
  *) echo "outbound.sh: OUTBOUND_TWILIO must be c or node" >&2; exit 2 ;;
esac
work=$(mktemp -d /tmp/bp-bench-outbound.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

/usr/bin/python3 - "$here" "$bin" "$families" "$work" "$twilio" "$fake_c" <<'PY'
import json, mmap, os, shutil, signal, socket, sqlite3, struct, subprocess, sys, time
import urllib.request
here, binary, families, work = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
twilio, fake_c = sys.argv[5], sys.argv[6]
TICK = os.sysconf("SC_CLK_TCK")
procs = []


def cpu(pid):
    """user+system CPU seconds of a process (and its reaped children)."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / TICK


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop_all():
    for p in procs:
        stop(p)


def wait_for(pred, deadline, what):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise SystemExit("outbound.sh: timed out waiting for " + what)


try:
    t = time.monotonic()
    subprocess.run(["/usr/bin/python3", os.path.join(here, "tests/tools/gen_oneroster.py"),
                    "--families", families, "--out", os.path.join(work, "bundle"),
                    "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
    print("generated %s families in %.1f s" % (families, time.monotonic() - t))

    sid, token = "AC" + "ab" * 16, "benchtoken"
    sink_procs = int(os.environ.get("OUTBOUND_SINK_PROCS", "2"))
    smtp_workers = int(os.environ.get("OUTBOUND_SMTP_WORKERS", "4"))

    def start_fake():
        """A fresh imitation Twilio: (process, base URL)."""
        if twilio == "c":
            cmd = [fake_c, "--port", "0", "--account-sid", sid, "--auth-token", token]
        else:
            cmd = ["node", os.path.join(here, "tests/fakes/twilio/server.js"), "--port", "0",
                   "--account-sid", sid, "--auth-token", token, "--callbacks", "off",
                   "--record", "summary"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        procs.append(p)
        return p, json.loads(p.stdout.readline())["base_url"]

    sink_loop = ["?"]

    def start_sink():
        """A fresh aiosmtpd sink: (process, port, PIDs of its aiosmtpd processes,
        a function returning how many messages it has accepted)."""
        port = free_port()
        count_file = os.path.join(work, "sink-%d.count" % port)
        p = subprocess.Popen(["/usr/bin/python3", os.path.join(here, "tests/bench/smtp_sink.py"),
                              "--port", str(port), "--procs", str(sink_procs), "--pipelining",
                              "--stats", "--count-file", count_file],
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        ready = json.loads(p.stdout.readline())
        pids = ready["pids"]
        sink_loop[0] = ready["loop"]
        counts = mmap.mmap(os.open(count_file, os.O_RDONLY), 8 * sink_procs,
                           prot=mmap.PROT_READ)

        def listening():
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 10, "the SMTP sink")
        return p, port, pids, lambda: sum(struct.unpack_from("%dq" % sink_procs, counts))

    def write_ini(path, db, sms_on, email_on, fake_url, smtp_port):
        with open(path, "w") as f:
            f.write("""[server]
listen = 127.0.0.1:0
public_url = https://backpack.example.org
[store]
path = %s
[school]
name = Benchmark District
[sms]
enabled = %s
api_base = %s
account_sid = %s
auth_token = %s
from_number = +15550109999
rate_per_second = 0
max_in_flight = 64
[smtp]
enabled = %s
host = 127.0.0.1
port = %d
starttls = no
from_address = office@district.example
reply_domain = reply.district.example
workers = %d
timeout = 10s
""" % (db, "true" if sms_on else "false", fake_url, sid, token,
       "true" if email_on else "false", smtp_port, smtp_workers))

    # roster import and send: both channels on (the audience's channel
    # choice depends on them); nothing listens at these addresses
    db = os.path.join(work, "backpack.db")
    ini = os.path.join(work, "backpack.ini")
    write_ini(ini, db, True, True, "http://127.0.0.1:9", 9)

    t = time.monotonic()
    subprocess.run([binary, "roster", "import", "--oneroster", os.path.join(work, "bundle"),
                    "-c", ini], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print("imported in %.1f s" % (time.monotonic() - t))

    # This machine's speed moves by up to a quarter from one minute to the
    # next: each creation is timed OUTBOUND_REPEAT times (default 3) and the
    # median printed with every run.  The send runs on fresh copies of the
    # imported district first, the last time on the database the drains use.
    repeat = max(1, int(os.environ.get("OUTBOUND_REPEAT", "3")))

    def timed(args, ini_path):
        # the files the import or a copy just wrote go to disk first: the
        # kernel's writeback of ~250 MB would otherwise compete with the
        # send's own fdatasync (a server imports its roster long before)
        os.sync()
        t0 = time.monotonic()
        res = subprocess.run([binary, "send", "-c", ini_path, "--school", "--urgent"] + args,
                             check=True, capture_output=True, text=True)
        return time.monotonic() - t0, json.loads(res.stdout)

    def median_of(ts):
        return "%.2f s (median of %d: %s)" % (sorted(ts)[len(ts) // 2], len(ts),
                                              ", ".join("%.2f" % x for x in ts))

    def on_copy(args):
        """Times `send args` on a copy of the database as it is now."""
        trial_db, trial_ini = os.path.join(work, "trial.db"), os.path.join(work, "trial.ini")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                shutil.copyfile(db + suffix, trial_db + suffix)
        write_ini(trial_ini, trial_db, True, True, "http://127.0.0.1:9", 9)
        took, res = timed(args, trial_ini)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(trial_db + suffix):
                os.unlink(trial_db + suffix)
        return took, res

    free = ["--allow-fallback", "--text", "School is closed tomorrow because of the storm."]
    times = [on_copy(free)[0] for i in range(repeat - 1)]
    created, out = timed(free, ini)
    times.append(created)
    n_sms, n_email = out["deliveries"]["sms"], out["deliveries"]["email"]
    print("deliveries created in %s (target < 3 s): %d messages, %d SMS, %d e-mail,"
          " %d held, skipped %s" % (median_of(times), out["messages"], n_sms, n_email,
                                    out["held"], json.dumps(out["skipped"])))

    # issue 6: the same audience with a template in every catalogue language
    # (rendered per distinct language and zone, held without a translation):
    # sent on copies of the database (so the drains below see only the first
    # send), and as the reach preview (a dry run, rolled back)
    tmpl = ["--template", "tmpl.emergency_closure",
            "--arg", "date=2026-12-01T12:00:00Z", "--arg", "reason=weather"]
    sent = [on_copy(tmpl) for i in range(repeat)]
    print("template announcement in 13 languages, deliveries created in %s: %d deliveries,"
          " %d held (no translation)"
          % (median_of([x[0] for x in sent]), sum(sent[-1][1]["deliveries"].values()),
             sent[-1][1]["held"]))
    times = []
    for i in range(repeat):
        took, dry = timed(["--dry-run"] + tmpl, ini)
        times.append(took)
    print("the same as a reach preview (dry run, rolled back) in %s: %d deliveries,"
          " %d texts in %d languages, %d held (no translation)"
          % (median_of(times), sum(dry["deliveries"].values()), len(dry["texts"]),
             len({x["locale"] for x in dry["texts"]}), dry["held"]))
    bench = os.path.join(os.path.dirname(os.path.abspath(binary)),
                         "tests/unit/tmpl/tmpl_render_bench")
    if os.access(bench, os.X_OK):
        r = subprocess.run([bench, os.path.join(here, "locales"), "100000"],
                           check=True, capture_output=True, text=True)
        print("render throughput (tmpl_render_bench, one thread): " + r.stdout.strip())
    else:
        print("render throughput: %s not built" % bench)

    # Nothing has the database open: its files (the WAL of the send
    # included) are copied as they are, so every drain starts from the same
    # state.
    alone = os.environ.get("OUTBOUND_ALONE", "1") != "0"
    drains = max(1, int(os.environ.get("OUTBOUND_DRAINS", "3")))
    pristine = os.path.join(work, "pristine.db")
    if alone:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                shutil.copyfile(db + suffix, pristine + suffix)

    def fresh_copy(name):
        """A copy of the database as `send` left it, for one drain."""
        path = os.path.join(work, name)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
            if os.path.exists(pristine + suffix):
                shutil.copyfile(pristine + suffix, path + suffix)
        return path

    def drain(title, db, sms_on, email_on):
        """Runs the daemon on db until every delivery of the enabled
        channels is accepted; prints and returns {channel: rate}."""
        fake = sink = None
        fake_url, smtp_port, sink_pids = "http://127.0.0.1:9", 9, []
        if sms_on:
            fake, fake_url = start_fake()
        if email_on:
            sink, smtp_port, sink_pids, sink_count = start_sink()
        ini = db + ".ini"
        write_ini(ini, db, sms_on, email_on, fake_url, smtp_port)

        def fake_stats():
            with urllib.request.urlopen(fake_url + "/_fake/stats", timeout=10) as resp:
                return json.loads(resp.read())

        con = sqlite3.connect(db, timeout=30)

        def email_sent():
            return con.execute("SELECT count(*) FROM delivery WHERE state = 'sent'"
                               " AND channel = 'email'").fetchone()[0]

        # Polled every 0.1 s, cheaply: a counting query over the sent rows
        # costs CPU that grows with them, taken from the two cores being
        # measured; it runs only once the sink has accepted every e-mail
        # (the daemon records `sent` after the session's last message).

        print(title)
        log = open(db + ".serve.log", "wb")
        c_fake = cpu(fake.pid) if fake else 0
        c_sink = sum(cpu(p) for p in sink_pids)
        daemon = subprocess.Popen([binary, "serve", "-c", ini], stdout=subprocess.DEVNULL,
                                  stderr=log)
        procs.insert(0, daemon)
        t0 = time.monotonic()
        wait_for(lambda: b"event=started" in open(log.name, "rb").read(), 30, "the daemon")
        done = {}
        want = (["sms"] if sms_on else []) + (["email"] if email_on else [])
        end = time.monotonic() + 900
        while len(done) < len(want) and time.monotonic() < end:
            now = time.monotonic()
            if "sms" in want and "sms" not in done and fake_stats()["sends"] >= n_sms:
                done["sms"] = (now - t0, cpu(fake.pid) - c_fake)
            if ("email" in want and "email" not in done and sink_count() >= n_email
                    and email_sent() >= n_email):
                done["email"] = (now - t0, sum(cpu(p) for p in sink_pids) - c_sink)
            if daemon.poll() is not None:
                raise SystemExit("outbound.sh: the daemon exited")
            time.sleep(0.1)
        c_daemon = cpu(daemon.pid)
        rates = {}
        if "sms" in done:
            s, c = done["sms"]
            rates["sms"] = n_sms / s
            print("  SMS: %d accepted by the imitation (%s) in %.2f s = %.0f/s (target >="
                  " 16000/s); imitation CPU %.0f us/send (%.0f/s per core)"
                  % (n_sms, twilio, s, n_sms / s, 1e6 * c / n_sms, n_sms / c if c else 0))
            st = fake_stats()
            print("  SMS exactly once: %d sends, %d distinct idempotency tokens with a send,"
                  " %d replays (%s)" % (st["sends"], st["tokens"]["with_send"], st["replays"],
                                        "ok" if st["sends"] == st["tokens"]["with_send"] == n_sms
                                        else "MISMATCH"))
        elif sms_on:
            print("  SMS: not all accepted in time (%d of %d)" % (fake_stats()["sends"], n_sms))
        if "email" in done:
            s, c = done["email"]
            rates["email"] = n_email / s
            print("  e-mail: %d accepted by aiosmtpd in %.2f s = %.0f/s (target >= 2000/s) over"
                  " %d SMTP workers; %d aiosmtpd processes (%s), CPU %.0f us/e-mail (%.0f/s per"
                  " core)" % (n_email, s, n_email / s, smtp_workers, sink_procs, sink_loop[0],
                              1e6 * c / n_email, n_email / c if c else 0))
        elif email_on:
            print("  e-mail: not all accepted in time (%d of %d)" % (email_sent(), n_email))
        total = (n_sms if sms_on else 0) + (n_email if email_on else 0)
        print("  daemon CPU %.1f s for %d sends = %.0f us/send (%s, results recorded)"
              % (c_daemon, total, 1e6 * c_daemon / total,
                 "both channels" if sms_on and email_on else "this channel"))
        if not (sms_on and email_on):
            other = "email" if sms_on else "sms"
            left = con.execute("SELECT count(*) FROM delivery WHERE channel = ?"
                               " AND state = 'queued'", (other,)).fetchone()[0]
            print("  the %s deliveries (channel off) still queued: %d of %d"
                  % ("e-mail" if other == "email" else "SMS", left,
                     n_email if other == "email" else n_sms))
        con.close()
        stop(daemon)
        procs.remove(daemon)
        for p in (fake, sink):
            if p is not None:
                stop(p)
                procs.remove(p)
        if sink is not None:
            st = [json.loads(x) for x in sink.stdout.read().splitlines() if x.strip()]
            sessions = sum(x["sessions"] for x in st)
            msgs = sum(x["messages"] for x in st)
            print("  SMTP sessions at the sink: %d for %d e-mails (%.0f per session)"
                  % (sessions, msgs, msgs / sessions if sessions else 0))
        print("  machine: %d CPUs, load average %s" % (os.cpu_count(),
                                                       open("/proc/loadavg").read().split()[0]))
        return rates

    both = drain("drain 1, both channels at once (they share the two cores):", db, True, True)
    # Each channel alone, OUTBOUND_DRAINS times (default 3), alternating, every
    # drain from a fresh copy: this machine's speed moves by up to a quarter from
    # one run to the next, so one drain is one sample; the summary gives the median.
    sms, email = [], []
    for i in range(drains if alone else 0):
        sms.append(drain("drain %d, SMS alone (the same announcement from a copy of the"
                         " database; [smtp] enabled = false):" % (2 + 2 * i),
                         fresh_copy("alone-sms.db"), True, False))
        email.append(drain("drain %d, e-mail alone (the same announcement from a copy of the"
                           " database; [sms] enabled = false):" % (3 + 2 * i),
                           fresh_copy("alone-email.db"), False, True))

    def fig(d, ch):
        return "%.0f/s" % d[ch] if ch in d else "-"

    def median(runs, ch):
        v = sorted(r[ch] for r in runs if ch in r)
        if not v:
            return "-"
        return "%.0f/s (median of %d: %s)" % (v[len(v) // 2], len(v),
                                              " / ".join("%.0f" % r[ch] for r in runs
                                                         if ch in r))
    print("summary: SMS %s together, %s alone (target >= 16000/s); e-mail %s together, %s"
          " alone (target >= 2000/s)" % (fig(both, "sms"), median(sms, "sms"),
                                         fig(both, "email"), median(email, "email")))
finally:
    stop_all()
PY
