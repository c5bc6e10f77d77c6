# SPDX-License-Identifier: AGPL-3.0-or-later
"""Outbound through outages and crashes: the real daemon, a real SQLite file, the real SMS
sender and the imitation Twilio (which de-duplicates create requests by
I-Twilio-Idempotency-Token and counts them: GET /_fake/stats?tokens=1).

- provider down (scripted 503s for a number of requests): every delivery is sent after it
  returns, exactly one message per delivery;
- kill -9 while 600 e-mails drain to a real SMTP server (aiosmtpd): every family gets its
  e-mail, and only the rows still `sending` at the kill are sent again, with the same
  Message-ID;
- kill -9 in the middle of a 10,000-delivery announcement to a generated district
  (tests/tools/gen_oneroster.py + `backpack roster import`), restart: every delivery ends
  `sent`, the provider created exactly one message per idempotency key, and the requests
  repeated after the restart are at most the in-flight window (no duplicate burst);
- SIGTERM in the middle of an announcement (a service restart): a clean stop, then the same
  guarantees as after kill -9.

Waits poll the database or the fake with deadlines; nothing sleeps for timing."""
import email
import functools
import os
import re
import signal
import subprocess
import time

import pytest
import smtp_support
from smtp_support import STRICT

from conftest import Daemon, start_seeded
from conftest import poll as wait_for  # noqa: E402
from sms_support import BIN, SOURCE_DIR, FakeTwilio, query

# this file's default deadline
poll = functools.partial(wait_for, deadline=60.0)

GEN = os.path.join(SOURCE_DIR, "tests", "tools", "gen_oneroster.py")
SCHOOL_NUMBER = "+15550109999"
MAX_IN_FLIGHT = 32
WINDOW = 8 * MAX_IN_FLIGHT       # the outbox's SMS window when the rate is above it (cmd_serve.c)

SEED = """
INSERT INTO school VALUES (1,'sch-1','Lincoln','America/New_York','en',NULL,NULL,0,0);
INSERT INTO section (id,school_id,sourced_id,title,created_at,updated_at) VALUES (1,1,'sec-1','Math',0,0);
INSERT INTO student (id,school_id,sourced_id,given_name,family_name,created_at,updated_at) VALUES
 (10,1,'stu-10','A','A',0,0),(11,1,'stu-11','B','B',0,0),(12,1,'stu-12','C','C',0,0),
 (13,1,'stu-13','D','D',0,0),(14,1,'stu-14','E','E',0,0);
INSERT INTO enrollment VALUES (1,10),(1,11),(1,12),(1,13),(1,14);
INSERT INTO guardian (id,sourced_id,given_name,family_name,created_at,updated_at) VALUES
 (20,'g-20','a','a',0,0),(21,'g-21','b','b',0,0),(22,'g-22','c','c',0,0),
 (23,'g-23','d','d',0,0),(24,'g-24','e','e',0,0);
INSERT INTO student_guardian (student_id,guardian_id) VALUES (10,20),(11,21),(12,22),(13,23),(14,24);
INSERT INTO contact (id,kind,address,created_at,updated_at) VALUES
 (30,'sms','+15550100020',0,0),(31,'sms','+15550100021',0,0),(32,'sms','+15550100022',0,0),
 (33,'sms','+15550100023',0,0),(34,'sms','+15550100024',0,0);
INSERT INTO guardian_contact VALUES (20,30),(21,31),(22,32),(23,33),(24,34);
"""


@pytest.fixture
def fake():
    with FakeTwilio(callbacks="off") as f:
        yield f


def config_for(write_config, fake, rate="10000", **outbox):
    return write_config(
        server={"public_url": "https://backpack.example.org"},
        school={"name": "Lincoln"},
        sms={"enabled": "true", "account_sid": fake.account_sid,
             "auth_token": fake.auth_token, "from_number": SCHOOL_NUMBER,
             "api_base": fake.base_url, "rate_per_second": rate,
             "max_in_flight": str(MAX_IN_FLIGHT)},
        outbox=dict({"retry_base": "1s", "retry_max": "2s"}, **outbox))


def send(config, *args):
    r = subprocess.run([BIN, "send", "-c", config] + list(args), capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    import json
    return json.loads(r.stdout)


def announce_to_district(workdir, config, families, seed, text):
    """Generates and imports a district, then `backpack send --school`: the SMS count."""
    bundle = os.path.join(workdir, "bundle")
    subprocess.run(["/usr/bin/python3", GEN, "--families", str(families), "--out", bundle,
                    "--seed", str(seed)], check=True, capture_output=True)
    subprocess.run([BIN, "roster", "import", "--oneroster", bundle, "-c", config],
                   check=True, capture_output=True)
    out = send(config, "--school", "--urgent", "--allow-fallback", "--text", text)
    return out["deliveries"]["sms"]


def sms_states(db):
    return dict(query(db, "SELECT state, count(*) FROM delivery WHERE channel = 'sms'"
                          " GROUP BY state"))


def test_provider_down_for_a_while_then_everything_goes_once(workdir, write_config, fake,
                                                            serve):
    config = config_for(write_config, fake)
    db = os.path.join(workdir, "backpack.db")
    subprocess.run([BIN, "migrate", "-c", config], check=True, capture_output=True)
    import sqlite3
    con = sqlite3.connect(db)
    con.executescript(SEED)
    con.commit()
    con.close()
    fake.script(action="error", status=503, count=12)       # the provider is down
    d = serve(config)
    d.wait_log(r"event=started")
    out = send(config, "--section", "sec-1", "--urgent", "--text", "Snow day")
    assert out["deliveries"]["sms"] == 5
    poll(lambda: sms_states(db) == {"sent": 5}, what="all five sent after the outage")
    st = fake.stats(tokens=True)
    assert st["scripts_pending"] == 0 and st["by_status"]["503"] == 12
    assert st["sends"] == 5 == st["tokens"]["distinct"] == st["tokens"]["with_send"]
    assert st["messages"] == 5
    rows = query(db, "SELECT attempts, error_code FROM delivery")
    assert sum(a for a, _ in rows) == 5 + 12                # one attempt per request
    assert all(code == "503" or code == "20503" or a == 1 for a, code in rows), rows
    assert d.stop() == 0
    assert d.error_lines() == []
    # The outage's 12 retries are logged at info at most once per 10 s (sched.c,
    # RETRY_LOG_MS), the others counted on the next such line or at stop: every retry
    # accounted for, without a line for each (a district's outage would be 145,000).
    log = d.log().splitlines()
    retries = [l for l in log if "event=send_result" in l and "class=transient" in l]
    stopping = [l for l in log if "event=stopping" in l]
    counted = sum(int(re.search(r"retries_not_logged=(\d+)", l).group(1)) for l in retries)
    counted += int(re.search(r"retries_not_logged_sms=(\d+)", stopping[-1]).group(1))
    assert 1 <= len(retries) < 12 and len(retries) + counted == 12, (retries, stopping)


def interrupt_at_a_third(workdir, config, fake, total, interrupt):
    """Runs the daemon until the provider has seen a third of the SMS, then interrupt(daemon);
    returns how many deliveries were left `sending` (in doubt): at most the window."""
    db = os.path.join(workdir, "backpack.db")
    d = Daemon(workdir, config)
    try:
        d.wait_log(r"event=started")
        poll(lambda: fake.stats()["sends"] >= total // 3, what="a third sent")
        interrupt(d)
    finally:
        d.stop()
    in_doubt = query(db, "SELECT count(*) FROM delivery WHERE state = 'sending'")[0][0]
    assert 0 < fake.stats()["sends"] < total
    assert in_doubt <= WINDOW                       # only the window can be in doubt
    return in_doubt


def restart_and_finish(workdir, config, fake, total, in_doubt, deadline):
    """Restarts the daemon after an interruption: it recovers exactly the rows in doubt, every
    delivery ends `sent`, one message each at the provider, and the requests repeated are at
    most the rows that were in doubt; a clean stop.  Returns the provider's stats."""
    db = os.path.join(workdir, "backpack.db")
    d2 = Daemon(workdir, config)
    try:
        d2.wait_log(r"event=started recovered_sending=%d " % in_doubt)
        poll(lambda: sms_states(db).get("sent") == total, deadline=deadline,
             what="every delivery sent")
        st = fake.stats(tokens=True)
        assert st["sends"] == total == st["messages"]
        assert all(t["sends"] == 1 for t in st["by_token"].values())
        assert st["replays"] == st["requests"] - total <= in_doubt
        assert d2.stop() == 0
        assert d2.error_lines() == []
    finally:
        d2.stop()
    return st


def test_kill_9_during_a_10000_delivery_send(workdir, write_config, fake):
    config = config_for(write_config, fake)
    db = os.path.join(workdir, "backpack.db")
    total = announce_to_district(workdir, config, 9500, 4, "School closes at noon today.")
    assert total >= 10000, total

    def kill_9(d):      # kill -9 in the middle of the send
        os.kill(d.pid, signal.SIGKILL)
        d.proc.wait()
    in_flight = interrupt_at_a_third(workdir, config, fake, total, kill_9)
    st = restart_and_finish(workdir, config, fake, total, in_flight, deadline=180)
    assert sms_states(db) == {"sent": total}
    keys = {k for (k,) in query(db, "SELECT idempotency_key FROM delivery"
                                    " WHERE channel = 'sms'")}
    assert set(st["by_token"]) == keys
    assert max(t["requests"] for t in st["by_token"].values()) <= 2
    assert st["by_status"] == {"201": st["requests"]}


def test_a_restart_in_the_middle_of_a_send_loses_and_repeats_nothing(workdir, write_config,
                                                                    fake):
    """What `systemctl restart backpack` does during an announcement: SIGTERM mid-drain.  The
    daemon stops cleanly (exit 0, no error), the SMS sender's thread cancels what it holds
    (those rows stay `sending`, in doubt, as after a crash), and the next start sends each of
    them again under its own idempotency key: every delivery is sent, one message each.  No
    rate limit: the sender runs two threads (src/sms/sms_thread.c), both stopped."""
    config = config_for(write_config, fake, rate="0")
    total = announce_to_district(workdir, config, 2500, 5, "Early dismissal at 1 pm today.")
    assert total >= 2500, total

    def sigterm(d):
        assert d.stop() == 0
        assert d.error_lines() == []
        assert "event=stopping" in d.log()
    in_doubt = interrupt_at_a_third(workdir, config, fake, total, sigterm)
    restart_and_finish(workdir, config, fake, total, in_doubt, deadline=120)


def test_kill_9_during_an_email_drain(workdir, write_config, serve):
    """kill -9 while 600 e-mails drain to a real SMTP server, restart: every family gets its
    e-mail, every delivery ends `sent`, and only rows still `sending` at the kill (the relay
    may have taken them; SMTP has no idempotency key) are sent again, with the same
    Message-ID, so that a mailbox can tell the copy."""
    n = 600
    with smtp_support.running(smtp_support.Sink()) as sink:
        config = write_config(
            server={"public_url": "https://backpack.example.org"}, school={"name": "Lincoln"},
            smtp={"enabled": "true", "host": "127.0.0.1", "port": str(sink.port),
                  "starttls": "no", "from_address": "office@lincoln.example",
                  "reply_domain": "reply.lincoln.example", "workers": "2", "timeout": "5s"})
        d = start_seeded(serve, config, smtp_support.email_school(n), r"event=started")
        out = send(config, "--school", "--urgent", "--text", "School closes at noon today.")
        assert out["deliveries"] == {"sms": 0, "email": n}
        poll(lambda: sink.count() >= n // 4, what="a quarter accepted by the relay")
        os.kill(d.pid, signal.SIGKILL)
        d.proc.wait()
        db = d.db
        in_doubt = query(db, "SELECT count(*) FROM delivery WHERE state = 'sending'")[0][0]
        before = sink.count()
        assert before < n
        d2 = Daemon(workdir, config)
        try:
            d2.wait_log(r"event=started recovered_sending=%d " % in_doubt)
            poll(lambda: query(db, "SELECT count(*) FROM delivery WHERE state = 'sent'")
                 == [(n,)], deadline=120, what="every delivery sent")
            msgs = sink.snapshot()
            by_to = {}
            for m in msgs:
                by_to.setdefault(m["to"][0], []).append(
                    email.message_from_bytes(m["raw"], policy=STRICT)["Message-ID"])
            assert sorted(by_to) == sorted("parent%d@example.org" % i for i in range(1, n + 1))
            copies = len(msgs) - n
            assert 0 <= copies <= in_doubt, (copies, in_doubt)
            assert all(len(set(ids)) == 1 for ids in by_to.values())   # a copy: same id
            stored = dict(query(db, "SELECT c.address, d.email_message_id FROM delivery d"
                                    " JOIN contact c ON c.id = d.contact_id"))
            assert all(ids[0] == "<%s>" % stored[to] or ids[0] == stored[to]
                       for to, ids in by_to.items())
            assert d2.stop() == 0
            assert d2.error_lines() == []
        finally:
            d2.stop()
