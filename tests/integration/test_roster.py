# SPDX-License-Identifier: AGPL-3.0-or-later
"""`backpack roster import` end to end: the real binary, a real SQLite file
and a district written by tests/tools/gen_oneroster.py."""
import csv
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess

import pytest

BIN = os.environ.get("BACKPACK_BIN", "")
SOURCE_DIR = os.environ.get("BACKPACK_SOURCE_DIR", "")
GEN = os.path.join(SOURCE_DIR, "tests", "tools", "gen_oneroster.py")
TABLES = ["school", "section", "staff", "student", "guardian", "contact",
          "student_guardian", "guardian_contact", "enrollment",
          "section_staff", "conversation"]


def run(*args, check=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("BACKPACK_")}
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True,
                       env=e, timeout=300)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def generate(workdir, families=150, seed=7, simple=False):
    out = os.path.join(workdir, "bundle")
    args = ["/usr/bin/python3", GEN, "--families", str(families), "--out",
            out, "--seed", str(seed), "--schools", "2"]
    if simple:
        args += ["--simple-csv", os.path.join(workdir, "simple.csv")]
    subprocess.run(args, check=True, timeout=120)
    with open(os.path.join(out, "expected.json")) as f:
        return out, json.load(f)


def counts(db):
    with sqlite3.connect(db) as c:
        return {t: c.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                for t in TABLES}


def dump(db):
    with sqlite3.connect(db) as c:
        return "\n".join(c.iterdump())


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def read_users(bundle):
    """users.csv of a bundle: its path, header, rows and column index by name."""
    path = os.path.join(bundle, "users.csv")
    header, rows = read_csv(path)
    return path, header, rows, {n: i for i, n in enumerate(header)}


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerows([header] + rows)


@pytest.fixture
def district(workdir, write_config):
    bundle, expected = generate(workdir)
    conf = write_config()
    return bundle, expected, conf, os.path.join(workdir, "backpack.db")


def test_import_matches_generator_and_reimport_is_idempotent(district):
    bundle, exp, conf, db = district
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, check=0)
    assert "Roster import committed" in p.stdout
    got = counts(db)
    assert got["school"] == exp["schools"]
    assert got["section"] == exp["sections"]
    assert got["staff"] == exp["staff"]
    assert got["student"] == exp["students"]
    assert got["guardian"] == exp["guardians"]
    assert got["contact"] == exp["contacts"]
    assert got["student_guardian"] == exp["student_guardian"]
    assert got["guardian_contact"] == exp["guardian_contact"]
    assert got["enrollment"] == exp["enrollments"]
    assert got["section_staff"] == exp["section_staff"]
    assert got["conversation"] == exp["students"]
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM contact WHERE kind='sms'"
                         ).fetchone()[0] == exp["sms_contacts"]
        tokens = [r[0] for r in c.execute("SELECT reply_token FROM conversation")]
        assert len(set(tokens)) == len(tokens)
        assert all(re.fullmatch(r"[0-9a-f]{24}", t) for t in tokens)
        # No family is silently made English: unknown languages are 'und'.
        assert c.execute("SELECT count(*) FROM guardian WHERE locale = 'es'"
                         ).fetchone()[0] > 0
    before_tokens = dump(db)
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, check=0)
    assert counts(db) == got
    assert re.search(r"students\s+0 created,\s+0 updated,\s+%d unchanged"
                     % exp["students"], p.stdout), p.stdout
    assert re.search(r"guardians\s+0 created,\s+0 updated", p.stdout)
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM roster_import").fetchone()[0] == 2
        summary = json.loads(c.execute("SELECT summary FROM roster_import "
                                       "ORDER BY id DESC LIMIT 1").fetchone()[0])
        assert summary["students"] == [0, 0, exp["students"]]
    # Conversations (and their reply tokens) are created once.
    assert [l for l in before_tokens.splitlines() if "conversation" in l] == \
        [l for l in dump(db).splitlines() if "conversation" in l]


def test_edits_update_on_reimport(district):
    bundle, exp, conf, db = district
    run("roster", "import", "--oneroster", bundle, "-c", conf, check=0)
    path, header, rows, col = read_users(bundle)
    g = next(r for r in rows if r[col["role"]] == "parent" and
             r[col["sms"]] and not r[col["phone"]])
    s = next(r for r in rows if r[col["role"]] == "student")
    g[col["sms"]] = "(617) 555-0199"
    s[col["status"]] = "tobedeleted"
    write_csv(path, header, rows)
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, check=0)
    assert re.search(r"guardians\s+0 created,\s+1 updated", p.stdout) is None
    assert re.search(r"students\s+0 created,\s+1 updated", p.stdout), p.stdout
    assert re.search(r"contacts\s+1 created", p.stdout), p.stdout
    assert re.search(r"1 deactivated,\s+1 links removed", p.stdout), p.stdout
    with sqlite3.connect(db) as c:
        phones = [r[0] for r in c.execute(
            "SELECT ct.address FROM guardian g JOIN guardian_contact gc ON "
            "gc.guardian_id = g.id JOIN contact ct ON ct.id = gc.contact_id "
            "WHERE g.sourced_id = ? AND ct.kind = 'sms'", (g[col["sourcedId"]],))]
        assert phones == ["+16175550199"]
        # The old number is unlinked from this guardian but never deleted.
        assert c.execute("SELECT count(*) FROM contact").fetchone()[0] == \
            exp["contacts"] + 1
        assert c.execute("SELECT active FROM student WHERE sourced_id = ?",
                         (s[col["sourcedId"]],)).fetchone()[0] == 0


def test_tobedeleted_row_without_names_keeps_them(district):
    # SIS exports often send a deletion as sourcedId + status only.
    bundle, exp, conf, db = district
    run("roster", "import", "--oneroster", bundle, "-c", conf, check=0)
    path, header, rows, col = read_users(bundle)
    s = next(r for r in rows if r[col["role"]] == "student")
    t = next(r for r in rows if r[col["role"]] == "teacher")
    with sqlite3.connect(db) as c:
        before_s = c.execute("SELECT given_name, family_name, grade FROM student "
                             "WHERE sourced_id = ?", (s[col["sourcedId"]],)).fetchone()
        before_t = c.execute("SELECT display_name, school_id FROM staff WHERE sourced_id = ?",
                             (t[col["sourcedId"]],)).fetchone()
    for r in (s, t):
        r[col["status"]] = "tobedeleted"
        r[col["givenName"]] = r[col["familyName"]] = ""
    s[col["grades"]] = ""
    t[col["orgSourcedIds"]] = ""
    write_csv(path, header, rows)
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, check=0)
    assert re.search(r"students\s+0 created,\s+1 updated", p.stdout), p.stdout
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT given_name, family_name, grade, active FROM student "
                         "WHERE sourced_id = ?", (s[col["sourcedId"]],)).fetchone() == \
            before_s + (0,)
        assert c.execute("SELECT display_name, school_id, active FROM staff "
                         "WHERE sourced_id = ?", (t[col["sourcedId"]],)).fetchone() == \
            before_t + (0,)


def test_broken_files_change_nothing(district, workdir):
    bundle, exp, conf, db = district
    run("roster", "import", "--oneroster", bundle, "-c", conf, check=0)
    before = dump(db)
    users = os.path.join(bundle, "users.csv")
    original = open(users, "rb").read()
    nlines = original.count(b"\n")

    # Broken quoting on the last line.
    with open(users, "ab") as f:
        f.write(b'zz-1,,,true,sch-1,student,,,"Unclosed,Quote,\r\n')
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, check=1)
    assert "users.csv:%d:" % (nlines + 1) in p.stderr, p.stderr
    assert dump(db) == before

    # Invalid UTF-8 on a known line.
    with open(users, "wb") as f:
        f.write(original + b"zz-2,,,true,sch-1,student,,,Bad\xff,Name,\r\n")
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, check=1)
    assert "users.csv:%d: invalid UTF-8" % (nlines + 1) in p.stderr, p.stderr
    assert dump(db) == before
    with open(users, "wb") as f:
        f.write(original)

    # A required column missing.
    enr = os.path.join(bundle, "enrollments.csv")
    header, rows = read_csv(enr)
    write_csv(enr, ["classId" if h == "classSourcedId" else h for h in header], rows)
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, check=1)
    assert "enrollments.csv:1: missing required column 'classSourcedId'" in p.stderr
    assert dump(db) == before

    # A missing file.
    os.unlink(os.path.join(bundle, "classes.csv"))
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, check=1)
    assert "classes.csv" in p.stderr
    assert dump(db) == before


def add_bad_rows(bundle):
    path, header, rows, col = read_users(bundle)

    def row(**kv):
        r = [""] * len(header)
        for k, v in kv.items():
            r[col[k]] = v
        return r
    rows.append(row(sourcedId="g-bad-1", role="guardian", givenName="Ana",
                    familyName="Diaz", sms="555-12"))
    rows.append(row(sourcedId="g-bad-2", role="parent", givenName="Bo",
                    familyName="Li", sms="555-13",
                    email="bo.li@example.org", **{"metadata.homeLanguage": "Klingon"}))
    rows.append(row(sourcedId="s-bad-3", role="student", givenName="",
                    familyName="Nobody", orgSourcedIds="sch-1"))
    write_csv(path, header, rows)
    # Physical lines: the header is line 1 and no generated field holds a newline.
    return len(rows) - 1, len(rows), len(rows) + 1


def test_rejected_rows_are_reported_and_strict_aborts(district):
    bundle, exp, conf, db = district
    l1, l2, l3 = add_bad_rows(bundle)
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, "--strict",
            check=1)
    assert not os.path.exists(db) or counts(db)["student"] == 0
    assert 'users.csv:%d: guardian g-bad-1: phone "555-12" is not a valid number for US' % l1 in p.stderr
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, check=0)
    err = p.stderr
    assert 'users.csv:%d: guardian g-bad-1: phone "555-12" is not a valid number for US' % l1 in err
    assert "users.csv:%d: guardian g-bad-1: no valid phone or e-mail" % l1 in err
    assert 'users.csv:%d: guardian g-bad-2: phone "555-13"' % l2 in err
    assert 'users.csv:%d: guardian g-bad-2: unknown language "Klingon"' % l2 in err
    assert "users.csv:%d: student s-bad-3: missing givenName" % l3 in err
    assert re.search(r"\b2 rejected", p.stdout), p.stdout
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT locale FROM guardian WHERE sourced_id = 'g-bad-2'"
                         ).fetchone()[0] == "und"
        assert c.execute("SELECT count(*) FROM guardian WHERE sourced_id = 'g-bad-1'"
                         ).fetchone()[0] == 0
    before = dump(db)
    run("roster", "import", "--oneroster", bundle, "-c", conf, "--strict", check=1)
    assert dump(db) == before


def test_dry_run_writes_nothing(district):
    bundle, exp, conf, db = district
    p = run("roster", "import", "--oneroster", bundle, "-c", conf, "--dry-run",
            check=0)
    assert re.search(r"students\s+%d created" % exp["students"], p.stdout), p.stdout
    assert "NOT committed" in p.stdout
    assert not os.path.exists(db)
    run("roster", "import", "--oneroster", bundle, "-c", conf, check=0)
    before = dump(db)
    run("roster", "import", "--oneroster", bundle, "-c", conf, "--dry-run", check=0)
    assert dump(db) == before


def test_simple_csv(workdir, write_config):
    bundle, exp = generate(workdir, families=80, seed=3, simple=True)
    conf = write_config()
    db = os.path.join(workdir, "backpack.db")
    simple = os.path.join(workdir, "simple.csv")
    run("roster", "import", "--csv", simple, "-c", conf, check=0)
    got = counts(db)
    assert got["student"] == exp["students"]
    assert got["guardian"] == exp["guardians"]
    assert got["student_guardian"] == exp["student_guardian"]
    assert got["conversation"] == exp["students"]
    assert got["school"] == 1
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT name FROM school").fetchone()[0] == "Lincoln Elementary"
    run("roster", "import", "--csv", simple, "-c", conf, check=0)
    assert counts(db) == got
    # Without guardian_id the key is derived from the student and the name.
    header, rows = read_csv(simple)
    gi = header.index("guardian_id")
    write_csv(simple, [h for i, h in enumerate(header) if i != gi],
              [[v for i, v in enumerate(r) if i != gi] for r in rows[:5]])
    p = run("roster", "import", "--csv", simple, "-c", conf, check=0)
    assert "guardians" in p.stdout
    # A header without phone and email is a structural error.
    with open(simple, "w") as f:
        f.write("student_id,student_first_name,student_last_name,"
                "guardian_first_name,guardian_last_name\n1,A,B,C,D\n")
    before = dump(db)
    p = run("roster", "import", "--csv", simple, "-c", conf, check=1)
    assert "simple.csv:1: missing column: phone or email" in p.stderr, p.stderr
    assert dump(db) == before


def test_usage_errors(write_config):
    conf = write_config()
    assert run("roster", "--help", check=0).stdout.startswith("Usage: backpack roster import")
    assert "--oneroster" in run("roster", "import", "--help", check=0).stdout
    run("roster", "import", "-c", conf, check=2)
    run("roster", "import", "--csv", "a", "--oneroster", "b", "-c", conf, check=2)
    run("roster", "export", check=2)
