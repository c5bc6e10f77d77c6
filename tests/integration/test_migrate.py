# SPDX-License-Identifier: AGPL-3.0-or-later
"""`backpack migrate` against the real binary: fresh database, no-op rerun,
--status (changes nothing), a database newer than the program (exit 1), and
usage/config errors (exit 2)."""
import os
import sqlite3
import subprocess

import pytest

BIN = os.environ.get("BACKPACK_BIN", "backpack")


def run(*args, env=None):
    return subprocess.run([BIN, "migrate", *args], capture_output=True,
                          text=True, timeout=60, env=env)


@pytest.fixture
def conf(tmp_path):
    db = tmp_path / "bp.db"
    ini = tmp_path / "backpack.ini"
    ini.write_text("[store]\npath = %s\n[school]\nname = Lincoln\n" % db)
    return ini, db


def user_version(db):
    with sqlite3.connect(db) as c:
        return c.execute("PRAGMA user_version").fetchone()[0]


def test_fresh_then_noop(conf):
    ini, db = conf
    st = run("-c", str(ini), "--status")
    assert st.returncode == 0, st.stderr
    assert st.stdout.startswith("schema version 0, latest ")
    assert not db.exists()                      # --status creates nothing

    r = run("-c", str(ini))
    assert r.returncode == 0, r.stderr
    latest = user_version(db)
    assert latest >= 1
    assert r.stdout == "schema version 0 -> %d\n" % latest
    with sqlite3.connect(db) as c:
        tables = {row[0] for row in c.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table'")}
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        audit = c.execute("SELECT actor, action, detail FROM audit").fetchall()
    for t in ("school", "staff", "student", "guardian", "contact", "message",
              "delivery", "audit", "session", "inbound_unmatched"):
        assert t in tables
    assert audit == [("cli", "schema.migrate", '{"from":0,"to":%d}' % latest)]

    again = run("-c", str(ini))
    assert again.returncode == 0, again.stderr
    assert again.stdout == "schema is up to date (version %d)\n" % latest
    st = run("-c", str(ini), "--status")
    assert st.returncode == 0
    assert st.stdout == "schema version %d, latest %d: up to date\n" % (
        latest, latest)


def test_config_from_environment(conf):
    ini, db = conf
    env = dict(os.environ, BACKPACK_CONFIG=str(ini))
    r = run(env=env)
    assert r.returncode == 0, r.stderr
    assert db.exists()


def test_newer_database_refused(conf):
    ini, db = conf
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA user_version = 999")
    r = run("-c", str(ini))
    assert r.returncode == 1
    assert "newer than this program" in r.stderr
    assert user_version(db) == 999
    st = run("-c", str(ini), "--status")
    assert st.returncode == 1
    assert "newer" in st.stdout


def test_unopenable_database_is_runtime_error(tmp_path):
    ini = tmp_path / "backpack.ini"
    ini.write_text("[store]\npath = %s\n[school]\nname = L\n"
                   % (tmp_path / "missing-dir" / "bp.db"))
    r = run("-c", str(ini))
    assert r.returncode == 1
    assert "cannot open database" in r.stderr


def test_usage_and_config_errors(conf, tmp_path):
    ini, _ = conf
    assert run("--no-such-option").returncode == 2
    assert run("-c", str(ini), "extra").returncode == 2
    bad = tmp_path / "bad.ini"
    bad.write_text("[store]\npath = x.db\nbogus_key = 1\n[school]\nname = L\n")
    r = run("-c", str(bad))
    assert r.returncode == 2
    assert "bogus_key" in r.stderr
    h = run("--help")
    assert h.returncode == 0
    assert "--status" in h.stdout
