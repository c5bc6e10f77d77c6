"""Benchmark: e-mails/s through src/smtp (GMime + libesmtp workers) to a real aiosmtpd.

    /usr/bin/python3 tests/unit/smtp/smtp_bench.py BUILD/tests/unit/smtp/smtp_driver [N] [WORKERS]
                                                   [SINK_PROCS]

Run by `meson test --benchmark smtp_sender`.  The sink is tests/bench/smtp_sink.py: aiosmtpd
in SINK_PROCS processes (default 2) sharing the port, advertising PIPELINING, discarding
messages; its CPU is read from /proc for each of its PIDs.  Prints figures; never pass/fail
on speed.
"""
import json
import resource
import os
import signal
import socket
import subprocess
import sys


def cpu(pid):
    """user+system CPU seconds of a process."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    driver = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    workers = sys.argv[3] if len(sys.argv) > 3 else "4"
    procs = sys.argv[4] if len(sys.argv) > 4 else "2"
    port = free_port()
    sink = subprocess.Popen(["/usr/bin/python3", os.path.join(os.path.dirname(__file__),
                             "../../bench/smtp_sink.py"), "--port", str(port), "--procs", procs,
                             "--pipelining"], stdout=subprocess.PIPE)
    try:
        pids = json.loads(sink.stdout.readline())["pids"]      # printed once listening
        sink_before = sum(cpu(p) for p in pids)
        out = subprocess.run([driver, "--host", "127.0.0.1", "--port", str(port),
                              "--from", "office@school.example", "--from-name", "École",
                              "--workers", workers, "--batch", "200", "--bench", str(n)],
                             capture_output=True, text=True, check=True).stdout
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)   # the driver only (sink not reaped)
        sink_cpu = sum(cpu(p) for p in pids) - sink_before
    finally:
        os.kill(sink.pid, signal.SIGTERM)
        sink.wait(10)
    s = json.loads(out.splitlines()[-1])
    assert s["results"] == s["ok"] == n, s
    print("smtp sender: %d e-mails in %.2f s = %.0f e-mails/s (%s workers, batches of <= 200); "
          "load average %.1f" % (n, s["elapsed_ms"] / 1000, s["per_second"], workers,
                                 os.getloadavg()[0]))
    drv = ru.ru_utime + ru.ru_stime
    print("sender CPU %.0f us/e-mail (one core: %.0f e-mails/s); aiosmtpd (%s processes) CPU "
          "%.0f us/e-mail (one core: %.0f e-mails/s)"
          % (drv * 1e6 / n, n / drv, procs, sink_cpu * 1e6 / n, n / sink_cpu if sink_cpu else 0))


if __name__ == "__main__":
    main()
