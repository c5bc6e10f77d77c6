#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Roster import benchmark: generates a district with tests/tools/gen_oneroster.py,
# imports it into a fresh database with the real binary, imports it again
# (nothing changed), and prints seconds, rows/s and peak RSS of each run.
# A benchmark: it prints figures and never fails on time.
#
#   tests/bench/roster_import.sh [BACKPACK_BIN] [FAMILIES]   (default 100000)
#
# The target (issue 2): 100,000 families in under 30 s on a 2-core machine.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/build/backpack}
families=${2:-100000}
[ -x "$bin" ] || { echo "roster_import.sh: no binary at $bin (pass its path)" >&2; exit 2; }
work=$(mktemp -d /tmp/bp-bench-roster.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cat > "$work/backpack.ini" <<INI
[store]
path = $work/backpack.db
[school]
name = Benchmark District
INI

/usr/bin/python3 - "$here" "$bin" "$families" "$work" <<'PY'
import os, re, subprocess, sys, time
here, binary, families, work = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
t = time.monotonic()
subprocess.run(["/usr/bin/python3", os.path.join(here, "tests/tools/gen_oneroster.py"),
                "--families", families, "--out", os.path.join(work, "bundle"),
                "--seed", "1"], check=True)
print("generated %s families in %.2f s" % (families, time.monotonic() - t))
for label in ("import", "re-import"):
    t = time.monotonic()
    p = subprocess.Popen([binary, "roster", "import", "--oneroster",
                          os.path.join(work, "bundle"), "-c",
                          os.path.join(work, "backpack.ini")],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    secs = time.monotonic() - t
    if p.returncode != 0:
        sys.exit("import failed with status %d" % p.returncode)
    rows = int(re.search(r"(\d+) rows read", out).group(1))
    print("%-10s %6.2f s  %8d rows  %8.0f rows/s  RSS %d MiB  (cpu %.2f s)"
          % (label, secs, rows, rows / secs, ru.ru_maxrss // 1024,
             ru.ru_utime + ru.ru_stime))
    print("\n".join(out.splitlines()[1:7]))
print("cores: %d  load: %s" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3]))
PY
