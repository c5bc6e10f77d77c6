#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Lint the message catalogues in locales/<bcp47>.json.

Usage: check_catalogues.py LOCALES_DIR

Checks, for every locale against the English source (en.json):
  - the file is a JSON object without duplicate keys, "@@locale" equals the
    file name, "@@direction" is ltr/rtl (rtl for ar), the 12 required
    locales exist;
  - exactly the same message keys as English;
  - each translation uses exactly the argument names of the English message,
    with the same argument kind (plain / date / time / number / plural /
    select), no numbered arguments, and every plural/select has "other";
  - right-to-left hygiene: no bidi control characters (LRM/RLM, embeddings,
    overrides) at all, and isolates (FSI/LRI/RLI...PDI) only balanced and
    never inside or across a placeholder.
The CLDR plural categories of each locale (ar needs zero/one/two/few/many/
other...) are checked with ICU in the C test tests/unit/tmpl/test_catalogues.c
(bp_tmpl_check_plurals), since Debian's python3-icu is not installed.
Prints one line per problem; exits 1 if there is any.
"""
import json
import os
import sys

REQUIRED = ["en", "es", "zh-Hans", "zh-Hant", "vi", "ar", "ht", "so", "ru",
            "pt", "tl", "ko"]
RTL = {"ar", "he", "fa", "ur", "ps", "yi"}
BIDI_FORBIDDEN = {"\u200e", "\u200f", "\u061c", "\u202a", "\u202b", "\u202c",
                  "\u202d", "\u202e"}
ISOLATE_OPEN = {"\u2066", "\u2067", "\u2068"}
ISOLATE_CLOSE = "\u2069"
COMPLEX = {"plural", "select", "selectordinal"}


class ParseError(Exception):
    pass


class Parser:
    """A small ICU MessageFormat reader: argument names, kinds, selectors."""

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.args = {}        # name -> set of kinds
        self.problems = []

    def parse(self):
        self.message(nested=False)
        if self.i != len(self.s):
            raise ParseError("unbalanced '}' at offset %d" % self.i)
        return self.args

    def message(self, nested):
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c == "'":
                self.quote()
            elif c == "{":
                self.argument()
            elif c == "}":
                if nested:
                    return
                raise ParseError("unbalanced '}' at offset %d" % self.i)
            else:
                self.i += 1
        if nested:
            raise ParseError("unterminated sub-message")

    def quote(self):
        s = self.s
        nxt = s[self.i + 1] if self.i + 1 < len(s) else ""
        if nxt == "'":
            self.i += 2
        elif nxt in ("{", "}", "#", "|"):
            end = s.find("'", self.i + 1)
            if end < 0:
                raise ParseError("unterminated quote at offset %d" % self.i)
            self.i = end + 1
        else:
            self.i += 1

    def token(self, stops):
        s = self.s
        start = self.i
        while self.i < len(s) and s[self.i] not in stops:
            self.i += 1
        if self.i >= len(s):
            raise ParseError("unterminated argument at offset %d" % start)
        return s[start:self.i].strip()

    def argument(self):
        start = self.i
        self.i += 1
        name = self.token(",}")
        if not name or name.isdigit():
            raise ParseError("bad or numbered argument '%s' at offset %d" % (name, start))
        if self.s[self.i] == "}":
            self.i += 1
            self.args.setdefault(name, set()).add("plain")
            return
        self.i += 1
        kind = self.token(",}")
        self.args.setdefault(name, set()).add(kind)
        if kind in COMPLEX:
            if self.s[self.i] != ",":
                raise ParseError("%s without branches at offset %d" % (kind, start))
            self.i += 1
            self.branches(name, kind)
        else:
            depth = 0
            while self.i < len(self.s):
                c = self.s[self.i]
                if c == "{":
                    depth += 1
                elif c == "}":
                    if depth == 0:
                        break
                    depth -= 1
                self.i += 1
            if self.i >= len(self.s):
                raise ParseError("unterminated argument at offset %d" % start)
            self.i += 1

    def branches(self, name, kind):
        s = self.s
        selectors = []
        while True:
            while self.i < len(s) and s[self.i].isspace():
                self.i += 1
            if self.i >= len(s):
                raise ParseError("unterminated %s '%s'" % (kind, name))
            if s[self.i] == "}":
                self.i += 1
                break
            sel = self.token("{}").strip()
            if sel.startswith("offset:"):
                sel = sel.split(None, 1)[1] if " " in sel else ""
            if s[self.i] != "{" or not sel:
                raise ParseError("bad selector in '%s' at offset %d" % (name, self.i))
            selectors.append(sel)
            self.i += 1
            self.message(nested=True)
            self.i += 1
        if "other" not in selectors:
            self.problems.append("%s '%s' has no 'other' branch" % (kind, name))


def bidi_problems(text):
    out = []
    depth = 0
    brace = 0
    for pos, c in enumerate(text):
        if c in BIDI_FORBIDDEN:
            out.append("bidi control U+%04X at offset %d (use isolates, or nothing)"
                       % (ord(c), pos))
        elif c == "{":
            brace += 1
        elif c == "}":
            brace -= 1
        elif c in ISOLATE_OPEN or c == ISOLATE_CLOSE:
            if brace > 0 and text.rfind("{", 0, pos) > text.rfind("}", 0, pos):
                out.append("isolate inside a placeholder at offset %d" % pos)
            depth += 1 if c in ISOLATE_OPEN else -1
            if depth < 0:
                out.append("PDI without an opening isolate at offset %d" % pos)
                depth = 0
    if depth:
        out.append("unbalanced isolates")
    return out


def load(path):
    def no_dupes(pairs):
        seen = {}
        for k, v in pairs:
            if k in seen:
                raise ValueError("duplicate key %r" % k)
            seen[k] = v
        return seen
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=no_dupes)


def kinds_of(text):
    p = Parser(text)
    args = p.parse()
    return args, p.problems


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    d = sys.argv[1]
    problems = []
    cats = {}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".json"):
            continue
        tag = fn[:-5]
        try:
            data = load(os.path.join(d, fn))
        except (ValueError, OSError) as e:
            problems.append("%s: %s" % (fn, e))
            continue
        if not isinstance(data, dict):
            problems.append("%s: top level must be an object" % fn)
            continue
        if data.get("@@locale", tag) != tag:
            problems.append("%s: @@locale is %r" % (fn, data.get("@@locale")))
        direction = data.get("@@direction", "ltr")
        if direction not in ("ltr", "rtl"):
            problems.append("%s: @@direction must be ltr or rtl" % fn)
        if (tag.split("-")[0] in RTL) != (direction == "rtl"):
            problems.append("%s: @@direction %s is wrong for %s" % (fn, direction, tag))
        cats[tag] = {k: v for k, v in data.items() if not k.startswith("@")}
        for k, v in cats[tag].items():
            if not isinstance(v, str):
                problems.append("%s: %s: value must be a string" % (fn, k))
    for tag in REQUIRED:
        if tag not in cats:
            problems.append("missing required locale %s.json" % tag)
    en = cats.get("en", {})
    en_args = {}
    for k, v in en.items():
        try:
            en_args[k], extra = kinds_of(v)
            problems += ["en.json: %s: %s" % (k, p) for p in extra]
        except ParseError as e:
            problems.append("en.json: %s: %s" % (k, e))
    for tag, msgs in sorted(cats.items()):
        fn = tag + ".json"
        for k in sorted(set(en) - set(msgs)):
            problems.append("%s: missing key %s" % (fn, k))
        for k in sorted(set(msgs) - set(en)):
            problems.append("%s: key %s is not in en.json" % (fn, k))
        for k, v in sorted(msgs.items()):
            if not isinstance(v, str) or k not in en_args:
                continue
            problems += ["%s: %s: %s" % (fn, k, p) for p in bidi_problems(v)]
            try:
                args, extra = kinds_of(v)
            except ParseError as e:
                problems.append("%s: %s: %s" % (fn, k, e))
                continue
            problems += ["%s: %s: %s" % (fn, k, p) for p in extra]
            want = en_args[k]
            if set(args) != set(want):
                problems.append("%s: %s: arguments %s, English has %s"
                                % (fn, k, sorted(args), sorted(want)))
                continue
            for name in args:
                if args[name] != want[name]:
                    problems.append("%s: %s: argument '%s' is %s, English has %s"
                                    % (fn, k, name, sorted(args[name]),
                                       sorted(want[name])))
    for p in problems:
        print(p)
    print("%d catalogues, %d keys, %d problems" % (len(cats), len(en), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
