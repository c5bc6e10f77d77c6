"""Benchmark: SMS sends/s through src/sms to the imitation Twilio (rate limits off).

    /usr/bin/python3 tests/unit/sms/sms_bench.py BUILD/tests/unit/sms/sms_driver [N] [IN_FLIGHT]

Run by `meson test --benchmark sms_sender`.  Prints figures; never pass/fail on speed.
Besides the end-to-end rate it prints the CPU each side spent per send: the sender's
(getrusage in the driver) and the imitation's (/proc/PID/stat), because on this 2-core machine
the imitation alone costs ~90-100 us per send (tests/fakes/README.md, "Speed") and is the
ceiling of the end-to-end figure.
"""
import json
import os
import subprocess
import sys

import secrets
import signal
import urllib.request

SERVER_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fakes",
                         "twilio", "server.js")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    driver = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    in_flight = sys.argv[3] if len(sys.argv) > 3 else "32"
    sid, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    proc = subprocess.Popen(["node", SERVER_JS, "--port", "0", "--account-sid", sid,
                             "--auth-token", token, "--callbacks", "off", "--record", "summary"],
                            stdout=subprocess.PIPE)
    try:
        base = json.loads(proc.stdout.readline())["base_url"]
        before = cpu_seconds(proc.pid)
        out = subprocess.run([driver, "--base", base, "--sid", sid, "--token", token,
                              "--from", "+15005550001", "--bench", str(n),
                              "--max-in-flight", in_flight],
                             capture_output=True, text=True, check=True).stdout
        fake_cpu = cpu_seconds(proc.pid) - before
        s = json.loads(out.splitlines()[-1])
        with urllib.request.urlopen(base + "/_fake/stats", timeout=30) as r:
            stats = json.loads(r.read())
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)
    assert s["results"] == s["ok"] == n and stats["sends"] == n, (s, stats)
    print("sms sender: %d sends in %.2f s = %.0f sends/s end to end (max_in_flight %s)"
          % (n, s["elapsed_ms"] / 1000, s["per_second"], in_flight))
    print("sender CPU %.1f us/send (one core: %.0f sends/s); imitation CPU %.1f us/send "
          "(one core: %.0f sends/s); load average %s"
          % (s["cpu_us_per_result"], 1e6 / s["cpu_us_per_result"], fake_cpu * 1e6 / n,
             n / fake_cpu if fake_cpu else 0, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
