# SPDX-License-Identifier: AGPL-3.0-or-later
"""Integration tests of `backpack check-config` and `backpack staff add`
with the real binary, real config files and a real SQLite database.

The stored argon2id hash is verified with libsodium itself (through ctypes,
Debian's libsodium23), so the test proves the CLI stored a hash of exactly
the password it was given.
"""
import ctypes
import ctypes.util
import os
import sqlite3
import subprocess

import pytest

BIN = os.environ.get("BACKPACK_BIN", "")

pytestmark = pytest.mark.skipif(not BIN, reason="BACKPACK_BIN not set (run via meson test)")


def _sodium():
    lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    assert lib.sodium_init() >= 0
    lib.crypto_pwhash_str_verify.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                             ctypes.c_ulonglong]
    return lib


def argon2id_verify(hash_str, password):
    pw = password.encode()
    return _sodium().crypto_pwhash_str_verify(hash_str.encode(), pw, len(pw)) == 0


def run(args, stdin="", env_extra=None, timeout=60):
    """Runs backpack with a clean BACKPACK_* environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKPACK_")}
    env.update(env_extra or {})
    return subprocess.run([BIN] + args, input=stdin, capture_output=True,
                          text=True, env=env, timeout=timeout)


@pytest.fixture
def conf(tmp_path):
    """A valid minimal config in a temp dir; returns (path, db_path)."""
    db = tmp_path / "backpack.db"
    path = tmp_path / "backpack.ini"
    path.write_text("[store]\npath = %s\n\n[school]\nname = Lincoln Elementary\n"
                    "timezone = America/Chicago\n" % db)
    return path, db


def staff_rows(db):
    con = sqlite3.connect(str(db))
    try:
        return con.execute("SELECT email, role, display_name, password_hash, active"
                           " FROM staff ORDER BY id").fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- check-config

def test_check_config_ok(conf):
    path, _ = conf
    r = run(["check-config", "-c", str(path)])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "%s: OK\n" % path


def test_check_config_uses_backpack_config_env(conf):
    path, _ = conf
    r = run(["check-config"], env_extra={"BACKPACK_CONFIG": str(path)})
    assert r.returncode == 0, r.stderr
    assert str(path) in r.stdout


@pytest.mark.parametrize("extra,line,needle", [
    ("[server]\nlisten = 127.0.0.1:8080\nbogus = 1\n", 9, "[server] bogus: unknown key"),
    ("[mystery]\n", 7, "[mystery]: unknown section"),
    ("[server]\nmax_connections = 0\n", 8, "[server] max_connections: '0' is out of range"),
    ("[server]\nheader_timeout = 10\n", 8, "expected a duration"),
    ("[school]\nname = Again\n", 8, "[school] name: given twice (first on line 5)"),
    ("[store]\nsynchronous = sometimes\n", 8, "expected one of: full,normal"),
])
def test_check_config_errors_name_file_line_key(conf, extra, line, needle):
    path, _ = conf
    with open(path, "a") as f:
        f.write(extra)
    r = run(["check-config", "-c", str(path)])
    assert r.returncode == 2
    assert "%s:%d: " % (path, line) in r.stderr
    assert needle in r.stderr
    assert r.stdout == ""


def test_check_config_missing_required(tmp_path):
    path = tmp_path / "c.ini"
    path.write_text("[school]\nname = X\n")
    r = run(["check-config", "-c", str(path)])
    assert r.returncode == 2
    assert "%s: [store] path: required key is missing" % path in r.stderr


def test_check_config_missing_file(tmp_path):
    r = run(["check-config", "-c", str(tmp_path / "nope.ini")])
    assert r.returncode == 2
    assert "cannot open" in r.stderr


def test_check_config_secret_env_and_dump_redacts(conf):
    path, _ = conf
    with open(path, "a") as f:
        f.write("[sms]\nauth_token = env:MY_TWILIO_TOKEN\n")
    r = run(["check-config", "-c", str(path)])
    assert r.returncode == 2
    assert "[sms] auth_token: environment variable MY_TWILIO_TOKEN is not set" in r.stderr
    r = run(["check-config", "-c", str(path), "--dump"],
            env_extra={"MY_TWILIO_TOKEN": "tok-very-secret-1",
                       "BACKPACK_SERVER_LISTEN": "127.0.0.1:18080"})
    assert r.returncode == 0, r.stderr
    assert "auth_token = <redacted>\n" in r.stdout
    assert "listen = 127.0.0.1:18080\n" in r.stdout       # environment override
    assert "timezone = America/Chicago\n" in r.stdout
    assert "tok-very-secret-1" not in r.stdout + r.stderr


def test_check_config_secret_file_permissions(conf, tmp_path):
    path, _ = conf
    secret = tmp_path / "token"
    secret.write_text("tok-from-file\n")
    secret.chmod(0o644)
    with open(path, "a") as f:
        f.write("[sms]\nauth_token = file:%s\n" % secret)
    r = run(["check-config", "-c", str(path)])
    assert r.returncode == 2
    assert "readable by group or others" in r.stderr
    assert "tok-from-file" not in r.stderr
    secret.chmod(0o600)
    r = run(["check-config", "-c", str(path)])
    assert r.returncode == 0, r.stderr


def test_print_example_is_committed_and_loads(tmp_path):
    r = run(["check-config", "--print-example"])
    assert r.returncode == 0
    src = os.environ.get("BACKPACK_SOURCE_DIR")
    if src:
        with open(os.path.join(src, "config", "backpack.ini.example")) as f:
            assert f.read() == r.stdout
    text = r.stdout.replace("\npath =\n", "\npath = %s\n" % (tmp_path / "x.db"))
    text = text.replace("\nname =\n", "\nname = Example School\n")
    path = tmp_path / "example.ini"
    path.write_text(text)
    r = run(["check-config", "-c", str(path)])
    assert r.returncode == 0, r.stderr


def test_check_config_help_and_bad_option():
    r = run(["check-config", "--help"])
    assert r.returncode == 0 and "--print-example" in r.stdout
    r = run(["check-config", "--frobnicate"])
    assert r.returncode == 2


# ------------------------------------------------------------------- staff add

PW = "correct horse battery staple"


def test_staff_add_creates_argon2id_account(conf):
    path, db = conf
    assert not db.exists()                  # fresh install: the CLI migrates
    r = run(["staff", "add", "-c", str(path), "--email", "Ana.Diaz@Example.ORG",
             "--role", "admin", "--name", "Ana Díaz"], stdin=PW + "\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "staff account created: ana.diaz@example.org (admin)\n"
    assert PW not in r.stdout + r.stderr
    rows = staff_rows(db)
    assert len(rows) == 1
    email, role, name, pwhash, active = rows[0]
    assert (email, role, name, active) == ("ana.diaz@example.org", "admin", "Ana Díaz", 1)
    assert pwhash.startswith("$argon2id$v=19$")
    assert pwhash not in r.stdout + r.stderr
    assert argon2id_verify(pwhash, PW)
    assert not argon2id_verify(pwhash, PW + "x")


def test_staff_add_duplicate_and_update(conf):
    path, db = conf
    args = ["staff", "add", "-c", str(path), "--email", "t@example.org",
            "--role", "teacher", "--password-stdin"]
    assert run(args, stdin=PW + "\n").returncode == 0
    r = run(args, stdin="another password here\n")
    assert r.returncode == 1
    assert "already exists" in r.stderr and "--update" in r.stderr
    assert argon2id_verify(staff_rows(db)[0][3], PW)     # unchanged
    r = run(["staff", "add", "-c", str(path), "--email", "T@example.org",
             "--role", "monitor", "--update"], stdin="another password here\r\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "staff account updated: t@example.org (monitor)\n"
    rows = staff_rows(db)
    assert len(rows) == 1 and rows[0][1] == "monitor"
    assert argon2id_verify(rows[0][3], "another password here")
    assert not argon2id_verify(rows[0][3], PW)


@pytest.mark.parametrize("args,needle", [
    (["--email", "a@example.org", "--role", "superuser"], "bad --role"),
    (["--email", "a@example.org"], "--email and --role are required"),
    (["--role", "admin"], "--email and --role are required"),
    (["--email", "not-an-address", "--role", "admin"], "bad --email"),
    (["--email", "a@example.org", "--role", "admin", "hunter2hunter2"],
     "never an argument"),
    (["--email", "a@example.org", "--role", "admin", "--password", "x"], ""),
])
def test_staff_add_usage_errors(conf, args, needle):
    path, db = conf
    r = run(["staff", "add", "-c", str(path)] + args, stdin=PW + "\n")
    assert r.returncode == 2
    assert needle in r.stderr
    assert not db.exists() or staff_rows(db) == []


@pytest.mark.parametrize("password,needle", [
    ("Tiny9pw", "shorter than 10 characters"),
    ("", "shorter than 10 characters"),
    ("a@example.org", "must not be the e-mail address"),
    ("x" * 1025, "longer than 1024 bytes"),
])
def test_staff_add_rejects_weak_password(conf, password, needle):
    path, db = conf
    r = run(["staff", "add", "-c", str(path), "--email", "a@example.org",
             "--role", "teacher"], stdin=password + "\n")
    assert r.returncode == 1
    assert needle in r.stderr
    if password:
        assert password not in r.stderr + r.stdout
    assert not db.exists() or staff_rows(db) == []


def test_staff_add_no_password_on_stdin(conf):
    path, _ = conf
    r = run(["staff", "add", "-c", str(path), "--email", "a@example.org",
             "--role", "teacher"], stdin="")
    assert r.returncode == 1
    assert "no password" in r.stderr


def test_staff_add_bad_config_is_exit_2(tmp_path):
    path = tmp_path / "bad.ini"
    path.write_text("[store]\npath = /x.db\nwhat = 1\n")
    r = run(["staff", "add", "-c", str(path), "--email", "a@example.org",
             "--role", "teacher"], stdin=PW + "\n")
    assert r.returncode == 2
    assert "%s:3:" % path in r.stderr


def test_staff_help():
    r = run(["staff", "add", "--help"])
    assert r.returncode == 0 and "--password-stdin" in r.stdout
    r = run(["staff"])
    assert r.returncode == 2


def _wait(cond, what, deadline_s=20.0):
    """Polls cond() until true or the deadline (no fixed sleeps)."""
    import time
    end = time.monotonic() + deadline_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.005)


def _read_until(fd, needle, deadline_s=20.0):
    import select
    import time
    buf = b""
    end = time.monotonic() + deadline_s
    while needle not in buf:
        left = end - time.monotonic()
        assert left > 0, "timed out waiting for %r, got %r" % (needle, buf)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 4096)
            assert chunk, "EOF before %r, got %r" % (needle, buf)
            buf += chunk
    return buf


def _echo_off(fd):
    import termios
    return not (termios.tcgetattr(fd)[3] & termios.ECHO)


def _run_on_tty(path, first, second):
    """Runs staff add with a pseudo-terminal as stdin, answers both prompts
    once echo is off; returns (exit status, stdout, stderr, terminal echo)."""
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKPACK_")}
    proc = subprocess.Popen([BIN, "staff", "add", "-c", str(path), "--email",
                             "tty@example.org", "--role", "teacher"],
                            stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        err = _read_until(proc.stderr.fileno(), b"Password: ")
        _wait(lambda: _echo_off(slave), "echo off")
        os.write(master, (first + "\n").encode())
        err += _read_until(proc.stderr.fileno(), b"Password (again): ")
        _wait(lambda: _echo_off(slave), "echo off again")
        os.write(master, (second + "\n").encode())
        out, rest = proc.communicate(timeout=60)
        err += rest
        assert not _echo_off(slave), "terminal echo not restored"
        os.set_blocking(master, False)
        try:
            echoed = os.read(master, 65536)
        except BlockingIOError:
            echoed = b""
        return proc.returncode, out.decode(), err.decode(), echoed.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)


def test_staff_add_prompts_twice_without_echo(conf):
    path, db = conf
    rc, out, err, echoed = _run_on_tty(path, PW, PW)
    assert rc == 0, err
    assert out == "staff account created: tty@example.org (teacher)\n"
    assert PW not in echoed + out + err
    assert argon2id_verify(staff_rows(db)[0][3], PW)


def test_staff_add_prompt_mismatch(conf):
    path, db = conf
    rc, _, err, echoed = _run_on_tty(path, PW, PW + "!")
    assert rc == 1
    assert "do not match" in err
    assert PW not in echoed
    assert not db.exists() or staff_rows(db) == []
