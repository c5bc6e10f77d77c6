#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs what the tests need, builds Backpack with AddressSanitizer and
# UndefinedBehaviorSanitizer and warnings as errors, runs the whole suite
# (unit, integration, lint) and ends with the line "N passed, N failed".
# Exit status is non-zero when any test failed.
#   tests/run-all.sh [meson test arguments, e.g. --suite unit]
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash deploy/install-deps.sh --test || { echo "0 passed, 1 failed"; exit 1; }

build=${BACKPACK_TEST_BUILD:-build-test}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dwerror=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debug || { echo "0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C "$build"; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
# Debian's python (aiosmtpd, pytest live there), not the pyenv one first on PATH.
export PATH=/usr/bin:$PATH
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
status=$?
/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line).get("result")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
except FileNotFoundError:
    failed += 1
line = "%d passed, %d failed" % (passed, failed)
if skipped:
    line += ", %d skipped" % skipped
print(line)
PY
exit $status
