# SPDX-License-Identifier: AGPL-3.0-or-later
"""Outbound end to end: `backpack send` writes the announcement and its
deliveries, the real daemon's outbox notices them (scheduler poll), sends
through the real SMS sender to the imitation Twilio, and records results.
Waits are polls with deadlines on the database or the fake's long-poll
reads; nothing sleeps for timing."""
import functools
import json
import os
import subprocess
import time

import pytest

from sms_support import BIN, SCHOOL_NUMBER, FakeTwilio, query, school_config
from conftest import free_port, http_request, start_seeded
from conftest import poll as wait_for  # noqa: E402

# this file's default deadline
poll = functools.partial(wait_for, deadline=20.0)

SEED = """
INSERT INTO school VALUES (1,'sch-1','Lincoln','America/New_York','en',NULL,NULL,0,0);
INSERT INTO section (id,school_id,sourced_id,title,created_at,updated_at) VALUES (1,1,'sec-1','Math',0,0);
INSERT INTO student (id,school_id,sourced_id,given_name,family_name,created_at,updated_at) VALUES
 (10,1,'stu-10','Ana','Diaz',0,0),(11,1,'stu-11','Luis','Diaz',0,0),(12,1,'stu-12','Mai','Tran',0,0);
INSERT INTO enrollment VALUES (1,10),(1,11),(1,12);
INSERT INTO guardian (id,sourced_id,given_name,family_name,preferred_channel,created_at,updated_at) VALUES
 (20,'g-20','Rosa','Diaz','sms',0,0),(21,'g-21','Lan','Tran','email',0,0),
 (22,'g-22','Amal','Tran','sms',0,0),(23,'g-23','Bo','Tran','email',0,0);
INSERT INTO student_guardian (student_id,guardian_id) VALUES (10,20),(11,20),(12,21),(12,22),(12,23);
INSERT INTO contact (id,kind,address,status,created_at,updated_at) VALUES
 (30,'sms','+15550100020','active',0,0),(31,'email','lan@example.org','active',0,0),
 (32,'sms','+15550100022','opted_out',0,0),(33,'sms','+15550100023','active',0,0),
 (34,'email','bo@example.org','bounced',0,0);
INSERT INTO guardian_contact VALUES (20,30),(21,31),(22,32),(23,33),(23,34);
"""


@pytest.fixture
def fake():
    with FakeTwilio(callbacks="off") as f:
        yield f


@pytest.fixture
def setup(write_config, workdir, fake, serve):
    config = school_config(write_config, fake)
    db = os.path.join(workdir, "backpack.db")
    subprocess.run([BIN, "migrate", "-c", config], check=True, capture_output=True)
    query(db, "SELECT 1")
    import sqlite3
    con = sqlite3.connect(db)
    con.executescript(SEED)
    con.commit()
    con.close()
    return config, db


def send(config, *args, env=None):
    r = subprocess.run([BIN, "send", "-c", config] + list(args), capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def states(db):
    return dict(query(db, "SELECT contact_id, state FROM delivery ORDER BY contact_id"))


def test_section_mixed_preferences_and_opt_outs(setup, serve, fake):
    config, db = setup
    d = serve(config)
    d.wait_log(r"event=started")
    out = send(config, "--section", "sec-1", "--text", "Field trip tomorrow", "--urgent")
    # Rosa (two children) one SMS; Lan e-mail; Amal opted out; Bo: e-mail
    # bounced -> SMS fallback.  Two messages' worth of threads: 3 students.
    assert out["messages"] == 3
    assert out["deliveries"] == {"sms": 2, "email": 1}
    assert out["skipped"]["opted_out"] == 1
    assert query(db, "SELECT guardian_id, reason FROM delivery_skip") == [(22, "opted_out")]
    poll(lambda: states(db).get(30) == "sent" and states(db).get(33) == "sent",
         what="both SMS sent")
    reqs = fake.requests(path="/2010-04-01/Accounts/%s/Messages.json" % fake.account_sid,
                         min_count=2, timeout_ms=5000)["items"]
    assert sorted(r.get("to") or r["params"]["To"] for r in reqs) == ["+15550100020",
                                                                    "+15550100023"]
    assert states(db)[31] == "queued"        # no e-mail sender configured here
    sids = query(db, "SELECT provider_msg_id FROM delivery WHERE state = 'sent'")
    assert all(s[0] and s[0].startswith("SM") for s in sids)


def test_send_commits_and_leaves_the_checkpoint_to_the_daemon(setup, serve, fake):
    # `backpack send` while the daemon is down: the announcement is committed
    # (durable in the WAL) and the command does not spend its time copying
    # the WAL into the database file; the daemon then finds and sends it.
    config, db = setup
    out = send(config, "--student", "stu-10", "--text", "hello", "--urgent")
    assert out["deliveries"]["sms"] == 1
    assert os.path.getsize(db + "-wal") > 0          # no checkpoint on close
    d = serve(config)
    d.wait_log(r"event=started")
    poll(lambda: states(db).get(30) == "sent", what="sent by the daemon")
    assert fake.stats(tokens=True)["sends"] == 1


def test_429_then_200_sends_one_message(setup, serve, fake, write_config):
    config, db = setup
    fake.script(action="error", status=429, retry_after=0)
    d = serve(write_config_retry(config))
    d.wait_log(r"event=started")
    send(config, "--student", "stu-10", "--text", "hello", "--urgent")
    poll(lambda: states(db).get(30) == "sent", what="sent after a 429")
    row = query(db, "SELECT attempts, state FROM delivery WHERE contact_id = 30")[0]
    assert row == (2, "sent")
    st = fake.stats(tokens=True)
    assert st["sends"] == 1


def write_config_retry(config):
    with open(config, "a") as f:
        f.write("\n[outbox]\nretry_base = 1s\nretry_max = 1s\n")
    return config


def test_a_refused_auth_token_waits_for_the_admin_to_fix_it(setup, serve, fake):
    """A wrong [sms] auth_token (rotated in the Twilio console, mistyped) is the school's
    configuration, not the message: the delivery waits (retry_wait, error "auth", logged
    once at error level) instead of failing, and once the admin puts the right token in
    and restarts, the family gets its text, once."""
    config, db = setup
    with open(config) as f:
        good = f.read()
    with open(config, "w") as f:
        f.write(good.replace(fake.auth_token, "rotated-" + fake.auth_token))
    write_config_retry(config)
    d = serve(config)
    d.wait_log(r"event=started")
    send(config, "--student", "stu-10", "--text", "hello", "--urgent")
    poll(lambda: query(db, "SELECT state, error_code FROM delivery WHERE contact_id = 30"
                           " AND attempts >= 2") == [("retry_wait", "auth")],
         what="retried, not failed")
    assert [l for l in d.error_lines() if "event=auth_failed" in l] != []
    assert d.stop() == 0
    assert query(db, "SELECT status FROM contact WHERE id = 30") == [("active",)]
    with open(config, "w") as f:
        f.write(good)
    write_config_retry(config)
    d = serve(config)
    d.wait_log(r"event=started")
    poll(lambda: states(db).get(30) == "sent", what="sent once the token is right")
    assert fake.stats(tokens=True)["sends"] == 1
    assert d.stop() == 0


def test_a_refused_sender_number_waits_for_the_admin_to_fix_it(setup, serve, fake,
                                                                write_config):
    """The provider refuses the school's own From number (21606: not a message-capable
    number of this account, as when the number is still porting or [sms] from_number has a
    typo).  Every SMS would fail the same way, so the deliveries wait (retry_wait, error
    "sender_refused") instead of failing, it is said once at error level with the number
    masked (also with no rate limit, where two sender threads meet the refusals), the
    families' numbers are left alone, and once the provider takes the number each family
    gets its text, once."""
    config, db = setup
    write_config("\n[outbox]\nretry_base = 1s\nretry_max = 1s\n",
                 server={"public_url": "https://backpack.example.org"},
                 school={"phone": "+15550100000", "website": "https://lincoln.example.org"},
                 sms={"enabled": "true", "account_sid": fake.account_sid,
                      "auth_token": fake.auth_token, "from_number": SCHOOL_NUMBER,
                      "api_base": fake.base_url, "rate_per_second": "0"})
    fake.script(action="error", status=400, code=21606, count=8)
    consent_before = query(db, "SELECT count(*) FROM consent_event")
    d = serve(config)
    d.wait_log(r"event=started")
    send(config, "--school", "--text", "hello", "--urgent")
    poll(lambda: query(db, "SELECT count(*) FROM delivery WHERE error_code = 'sender_refused'"
                           " AND state = 'retry_wait'")[0][0] >= 1,
         what="waiting after a refusal, not failed")
    sms = lambda: dict(query(db, "SELECT contact_id, state FROM delivery"
                                 " WHERE channel = 'sms'"))
    n = len(sms())
    assert n >= 2                                   # one per sender thread, at least
    poll(lambda: set(sms().values()) == {"sent"}, what="every SMS sent once the provider"
         " takes the number")
    st = fake.stats(tokens=True)
    assert st["by_status"]["400"] == 8 and st["sends"] == n
    assert query(db, "SELECT sum(attempts) FROM delivery WHERE channel = 'sms'") == [(n + 8,)]
    refused = [l for l in d.error_lines() if "event=sender_refused" in l]
    assert len(refused) == 1 and "21606" in refused[0], d.error_lines()
    assert SCHOOL_NUMBER not in refused[0]                          # masked
    assert query(db, "SELECT DISTINCT c.status FROM contact c JOIN delivery d"
                     " ON d.contact_id = c.id WHERE d.channel = 'sms'") == [("active",)]
    assert query(db, "SELECT count(*) FROM consent_event") == consent_before
    assert d.stop() == 0


def test_permanent_error_fails_and_marks_contact(setup, serve, fake):
    config, db = setup
    fake.script(action="error", status=400, code=21211)
    d = serve(config)
    d.wait_log(r"event=started")
    send(config, "--student", "stu-10", "--text", "hello", "--urgent")
    poll(lambda: states(db).get(30) == "failed", what="failed")
    assert query(db, "SELECT status FROM contact WHERE id = 30") == [("invalid",)]
    assert query(db, "SELECT kind, source FROM consent_event WHERE contact_id = 30") == [
        ("invalid", "carrier")]


def test_quiet_hours_with_pinned_clock(setup, serve, fake):
    config, db = setup
    env = dict(os.environ, BACKPACK_TEST_CLOCK_MS="1736998200000")  # 2025-01-16T03:30Z, 22:30 NY
    out = send(config, "--student", "stu-10", "--text", "hello", env=env)
    assert out["deferred"] == 1
    due = query(db, "SELECT next_attempt_at FROM delivery WHERE contact_id = 30")[0][0]
    assert due == 1737028800000                                     # 07:00 NY
    d = serve(config, env=env)
    d.wait_log(r"event=started")
    fake.requests(min_count=1, timeout_ms=1500)                     # give it a chance to misbehave
    assert states(db)[30] == "queued"
    assert fake.stats()["sends"] == 0


def test_a_rate_limited_sender_claims_one_seconds_worth(write_config, workdir, fake, serve):
    """[sms] rate_per_second = 2: the outbox claims at most two rows ahead of the token
    bucket (cmd_serve.c, sms_window), so the rows waiting for their turn stay `queued`,
    where a STOP or a hold still reaches them, not `sending` in the sender's memory."""
    n = 8
    config = write_config(
        server={"public_url": "https://backpack.example.org"},
        sms={"enabled": "true", "account_sid": fake.account_sid,
             "auth_token": fake.auth_token, "from_number": "+15550109999",
             "api_base": fake.base_url, "rate_per_second": "2"})
    rows = ["INSERT INTO school VALUES (1,'sch-1','Lincoln','America/New_York','en',NULL,NULL,"
            "0,0);"]
    for i in range(1, n + 1):
        rows += ["INSERT INTO student (id,school_id,sourced_id,given_name,family_name,"
                 "created_at,updated_at) VALUES (%d,1,'stu-%d','K','N',0,0);" % (i, i),
                 "INSERT INTO guardian (id,sourced_id,given_name,family_name,created_at,"
                 "updated_at) VALUES (%d,'g-%d','P','N',0,0);" % (i, i),
                 "INSERT INTO student_guardian (student_id,guardian_id) VALUES (%d,%d);"
                 % (i, i),
                 "INSERT INTO contact (id,kind,address,created_at,updated_at) VALUES"
                 " (%d,'sms','+1555010%04d',0,0);" % (i, i),
                 "INSERT INTO guardian_contact VALUES (%d,%d);" % (i, i)]
    d = start_seeded(serve, config, "\n".join(rows))
    db = d.db
    assert send(config, "--school", "--urgent", "--text", "Early release at noon.")[
        "deliveries"] == {"sms": n, "email": 0}
    fake.requests(min_count=1, timeout_ms=10000)
    most, end = 0, time.monotonic() + 30
    while True:
        st = dict(query(db, "SELECT state, count(*) FROM delivery GROUP BY state"))
        most = max(most, st.get("sending", 0))
        if st.get("sent") == n:
            break
        assert time.monotonic() < end, st
        time.sleep(0.05)      # sampling the states while the bucket paces the sends
    assert 1 <= most <= 2, most
    assert fake.stats(tokens=True)["sends"] == n


def test_status_callbacks_that_come_before_the_reply_are_applied(write_config, workdir, serve):
    """The provider's callbacks ("sent", then "undelivered" 21610) reach the daemon before
    the 201 of the send they are about (the imitation holds the 201 until they are answered):
    they are kept, then applied when the result records the message sid."""
    port = free_port()
    with FakeTwilio() as fake:
        url = "http://127.0.0.1:%d" % port       # the callbacks come to this daemon
        config = write_config(
            server={"listen": "127.0.0.1:%d" % port, "public_url": url + "/"},  # as typed
            sms={"enabled": "true", "account_sid": fake.account_sid,
                 "auth_token": fake.auth_token, "from_number": "+15550109999",
                 "api_base": fake.base_url})
        fake.configure_callbacks(to="+15550100020", before_reply=True,
                                 sequence=[{"status": "sent"},
                                           {"status": "undelivered", "error_code": 21610}])
        d = start_seeded(serve, config, SEED)
        db = d.db
        send(config, "--student", "stu-10", "--text", "hello", "--urgent")
        poll(lambda: query(db, "SELECT state, error_code FROM delivery WHERE contact_id = 30")
             == [("undeliverable", "21610")], what="the kept statuses applied")
        assert query(db, "SELECT status FROM contact WHERE id = 30") == [("opted_out",)]
        assert query(db, "SELECT count(*) FROM delivery_status_early") == [(0,)]
        req = fake.requests(to="+15550100020")["items"][0]
        assert req["form"]["StatusCallback"] == url + "/webhooks/sms/twilio/status"
        hooks = fake.webhooks(kind="status")["items"]
        assert [(h["params"]["MessageStatus"], h["status"]) for h in hooks] == [
            ("sent", 200), ("undelivered", 200)]
        _, _, body = http_request(d.port, "GET", "/metrics")
        assert b'backpack_sms_webhooks_total{kind="status",result="kept"} 2\n' in body
        assert d.stop() == 0
        assert d.error_lines() == []
