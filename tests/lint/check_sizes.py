#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""House rule (STYLE.md C7): source files stay readable in one sitting.

Fails when a C/C++ source or header under src/ or include/ is over 800 lines,
or when a function body is over 120 lines.  Prints every offender.
Usage: check_sizes.py REPO_ROOT
"""
import os
import re
import sys

MAX_FILE = 800
MAX_FUNC = 120
FUNC_START = re.compile(r"^[A-Za-z_][^;()]*\([^;]*\)\s*$")


def functions(lines):
    """Yields (name_line_no, length) of top-level brace blocks after a
    function-like signature line."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("{") and i > 0 and FUNC_START.match(lines[i - 1].rstrip()):
            depth, j = 0, i
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                if depth <= 0:
                    break
                j += 1
            yield i, j - i + 1
            i = j
        i += 1


def main():
    root = sys.argv[1]
    bad = []
    for top in ("src", "include"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in names:
                if not name.endswith((".c", ".h", ".cc", ".cpp")):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
                rel = os.path.relpath(path, root)
                if len(lines) > MAX_FILE:
                    bad.append("%s: %d lines (limit %d): split it by aspect"
                               % (rel, len(lines), MAX_FILE))
                for start, length in functions(lines):
                    if length > MAX_FUNC:
                        bad.append("%s:%d: function of %d lines (limit %d)"
                                   % (rel, start, length, MAX_FUNC))
    for b in bad:
        print(b)
    print("checked sizes: %d problem(s)" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
