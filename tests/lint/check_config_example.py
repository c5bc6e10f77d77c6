#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The committed config/backpack.ini.example must be exactly what
`backpack check-config --print-example` prints (it is generated from
src/conf/conf_schema.def), so the documented example can never drift from
the schema.  On a difference prints a unified diff and how to regenerate.

Usage: check_config_example.py BACKPACK_BIN EXAMPLE_FILE
"""
import difflib
import subprocess
import sys


def main():
    binary, example = sys.argv[1], sys.argv[2]
    proc = subprocess.run([binary, "check-config", "--print-example"],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        print("backpack check-config --print-example failed (%d): %s"
              % (proc.returncode, proc.stderr))
        return 1
    with open(example, encoding="utf-8") as f:
        committed = f.read()
    if committed == proc.stdout:
        print("config example is up to date")
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        committed.splitlines(True), proc.stdout.splitlines(True),
        fromfile=example, tofile="backpack check-config --print-example"))
    print("\n%s differs from the schema; regenerate it with:\n"
          "  backpack check-config --print-example > config/backpack.ini.example"
          % example)
    return 1


if __name__ == "__main__":
    sys.exit(main())
