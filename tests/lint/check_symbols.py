#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""House rule (STYLE.md C2): every global symbol the daemon's module
libraries define starts with bp_ (curl's nm audit, notmuch T360).

Usage: check_symbols.py LIB.a...
"""
import subprocess
import sys


def main():
    bad = []
    for lib in sys.argv[1:]:
        out = subprocess.run(["nm", "-g", "--defined-only", lib], check=True,
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) != 3:
                continue
            _, kind, name = parts
            if kind not in "TDBRC":
                continue          # weak C++ template instances and the like
            if name.startswith(("__odr_asan", "__asan", "__ubsan", "__sanitizer")):
                continue          # sanitizer instrumentation (CI build)
            if not name.startswith("bp_"):
                bad.append("%s: %s %s" % (lib.rsplit("/", 1)[-1], kind, name))
    for b in bad:
        print("symbol without bp_ prefix: " + b)
    print("checked symbols of %d libraries: %d problem(s)"
          % (len(sys.argv) - 1, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
