# SPDX-License-Identifier: AGPL-3.0-or-later
"""The reach preview (POST /api/messages/preview, `backpack send --dry-run`) through the
real daemon and CLI: families by language and channel, the rendered text per language
with its SMS encoding, segments and the characters forcing UCS-2, the cost estimate,
who will not receive it and why, and deliveries scheduled after quiet hours with their
local time.  The central check: the preview's numbers equal what is then actually
created (preview, send the same request, compare per language/channel, held, later,
segments).  The clock is pinned (BACKPACK_TEST_CLOCK_MS) for the quiet-hours case."""
import json
import os
import subprocess
from collections import Counter

import pytest

from sms_support import BIN, query
from test_outbound_translate import (api, config_for, fake, lt, mt_school, school,  # noqa: F401
                                     sink, start_school)

EVENT = {"section": "sec-1", "template": "tmpl.event_reminder",
         "args": {"event": "Science Fair", "date": "2025-03-14T01:30:00Z",
                  "time": "2025-03-14T01:30:00Z", "count": 3}}
EVENT_CLI = ["--section", "sec-1", "--template", "tmpl.event_reminder",
             "--arg", "event=Science Fair", "--arg", "date=2025-03-14T01:30:00Z",
             "--arg", "time=2025-03-14T01:30:00Z", "--arg", "count=3"]
PRICE = 0.0079          # [sms] price_per_segment default


def cli(config, args, clock=None):
    env = dict(os.environ)
    if clock is not None:
        env["BACKPACK_TEST_CLOCK_MS"] = str(clock)
    r = subprocess.run([BIN, "send", "-c", config] + args, capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def reach_of(pv):
    return {(g["locale"], g["channel"], g["held"], g["later"]): (g["deliveries"], g["segments"])
            for g in pv["reach"]}


def reach_in_db(db, ann):
    rows = query(db, "SELECT d.locale, d.channel, d.state = 'held',"
                     " d.state <> 'held' AND d.next_attempt_at > d.created_at, count(*),"
                     " sum(coalesce(d.segments, 0)) FROM delivery d JOIN message m"
                     " ON m.id = d.message_id WHERE m.announcement_id = ? GROUP BY 1, 2, 3, 4",
                 (ann,))
    return {(r[0], r[1], bool(r[2]), bool(r[3])): (r[4], r[5]) for r in rows}


def test_api_preview_equals_what_is_sent(school):
    body = dict(EVENT, urgent=True)
    st, pv = api(school.port, "/api/messages/preview", body)
    assert st == 200, pv
    assert pv["preview"] is True and pv["dry_run"] is True
    assert query(school.db, "SELECT count(*) FROM announcement") == [(0,)]   # rolled back
    reach = reach_of(pv)
    # es-MX and en by SMS, ar / zh-Hans / vi by e-mail; und (e-mail) and de (SMS) held
    assert {k[:3] for k in reach} == {("es", "sms", False), ("en", "sms", False),
                                      ("ar", "email", False), ("zh-Hans", "email", False),
                                      ("vi", "email", False), ("en", "email", True),
                                      ("en", "sms", True)}
    assert pv["not_receiving"] == {"opted_out": 1, "no_contact": 0, "may_not_receive": 0,
                                   "no_student": 0, "no_translation": 2}
    texts = {t["locale"]: t for t in pv["texts"] if not t["held"]}
    assert texts["en"]["encoding"] == "gsm7" and texts["en"]["forcing_ucs2"] == []
    assert texts["es"]["encoding"] == "ucs2" and "í" in texts["es"]["forcing_ucs2"]
    assert texts["es"]["text"].startswith("Recordatorio: Science Fair")
    assert texts["ar"]["encoding"] == "ucs2" and texts["ar"]["forcing_ucs2_count"] > 10
    sms_segments = sum(seg for (loc, ch, held, _), (_, seg) in reach.items()
                       if ch == "sms" and not held)
    assert pv["cost"]["segments"] == sms_segments > 0
    assert pv["cost"]["total"] == pytest.approx(sms_segments * PRICE)
    assert pv["cost"]["currency"] == "USD"
    # the same request, sent
    st, out = api(school.port, "/api/messages", body)
    assert st == 202, out
    assert reach_in_db(school.db, out["announcement_id"]) == reach
    for f in ("messages", "deliveries", "held", "deferred", "skipped"):
        assert out[f] == pv[f], f


# 2025-03-14T02:00Z: 22:00 in New York (quiet hours until 07:00 = 11:00Z),
# 09:00 in Saigon (not quiet).
NIGHT = 1741917600000
NY_MORNING = 1741950000000


def test_dry_run_shows_quiet_hours_and_equals_the_send(workdir, write_config, fake, sink):
    config = config_for(write_config, fake, sink)
    subprocess.run([BIN, "migrate", "-c", config], check=True, capture_output=True)
    from test_outbound_email import SEED
    import sqlite3
    con = sqlite3.connect(os.path.join(workdir, "backpack.db"))
    con.executescript(SEED)
    con.commit()
    con.close()
    db = os.path.join(workdir, "backpack.db")
    pv = cli(config, EVENT_CLI + ["--dry-run"], clock=NIGHT)
    assert pv["preview"] is True
    assert query(db, "SELECT count(*) FROM delivery") == [(0,)]
    assert pv["scheduled"] == [{"at": "2025-03-14T11:00:00Z", "local": "2025-03-14 07:00",
                                "timezone": "America/New_York", "deliveries": 4}]
    later = {k: v for k, v in reach_of(pv).items() if k[3]}
    assert sorted(k[0] for k in later) == ["ar", "en", "es", "zh-Hans"]
    assert not any(k[3] for k in reach_of(pv) if k[0] == "vi")      # Saigon: now
    out = cli(config, EVENT_CLI, clock=NIGHT)
    assert reach_in_db(db, out["announcement_id"]) == reach_of(pv)
    assert query(db, "SELECT DISTINCT d.next_attempt_at FROM delivery d WHERE d.state ="
                     " 'queued' AND d.next_attempt_at > ?", (NIGHT,)) == [(NY_MORNING,)]
    assert out["deferred"] == pv["deferred"] == 4


def test_preview_of_free_text_shows_the_translations(mt_school):
    st, pv = api(mt_school.port, "/api/messages/preview",
                 {"section": "sec-1", "text": "Hello families", "urgent": True})
    assert st == 200, pv
    texts = {t["locale"]: t for t in pv["texts"] if not t["held"]}
    assert texts["es"]["machine_translated"] is True
    assert texts["es"]["text"].startswith("[es] Hello families\n\n")
    assert texts["en"]["machine_translated"] is False
    assert sorted(Counter(r["target"] for r in mt_school.lt.requests())) == [
        "ar", "es", "vi", "zh"]
    st, out = api(mt_school.port, "/api/messages",
                  {"section": "sec-1", "text": "Hello families", "urgent": True})
    assert st == 202
    assert reach_in_db(mt_school.db, out["announcement_id"]) == reach_of(pv)
