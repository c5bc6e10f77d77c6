# SPDX-License-Identifier: AGPL-3.0-or-later
"""Custom templates over HTTP against the real daemon: authorisation,
save-time validation (ICU syntax with the error position, argument sets
against the source locale, locale tags, catalogue keys), the listing,
update and delete, persistence across a restart, and the audit trail."""
import json
import os
import sqlite3

import pytest

from conftest import Daemon, http_request

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}

FIELD_TRIP = {
    "description": "Field trip reminder",
    "variants": {
        "en": {"subject": "Field trip",
               "pattern": "{student} goes to {place} on {date, date, ::MMMMEEEEd}. "
                          "{count, plural, one {Bring # dollar.} other {Bring # dollars.}}"},
        "es": {"subject": "Excursión",
               "pattern": "{student} va a {place} el {date, date, ::MMMMEEEEd}. "
                          "{count, plural, one {Traiga # dólar.} many {Traiga # dólares.} "
                          "other {Traiga # dólares.}}"},
    },
}


@pytest.fixture
def daemon(write_config, serve):
    config = write_config(server={"admin_token": TOKEN})
    return config, serve(config)


def req(d, method, path, body=None, headers=AUTH):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    status, _, raw = http_request(d.port, method, path, body=data, headers=headers)
    return status, (json.loads(raw) if raw else None)


def test_authorisation(daemon):
    _, d = daemon
    assert req(d, "GET", "/api/templates", headers={})[0] == 401
    assert req(d, "GET", "/api/templates",
               headers={"Authorization": "Bearer wrong"})[0] == 403
    assert req(d, "PUT", "/api/templates/x.y", FIELD_TRIP,
               headers={"Authorization": "Bearer " + TOKEN[:-1]})[0] == 403
    assert req(d, "GET", "/api/templates")[0] == 200


def test_disabled_without_token(write_config, serve):
    d = serve(write_config())
    assert req(d, "GET", "/api/templates")[0] == 403


def test_create_get_list_update_delete(daemon, workdir):
    config, d = daemon
    st, body = req(d, "PUT", "/api/templates/school.field_trip", FIELD_TRIP)
    assert st == 201, body
    assert body["created"] is True and body["warnings"] == []
    st, one = req(d, "GET", "/api/templates/school.field_trip")
    assert st == 200
    assert one["source"] == "custom" and one["description"] == "Field trip reminder"
    assert one["variants"]["es"]["subject"] == "Excursión"
    assert one["variants"]["en"]["pattern"] == FIELD_TRIP["variants"]["en"]["pattern"]
    st, lst = req(d, "GET", "/api/templates")
    keys = {t["key"]: t for t in lst["templates"]}
    assert keys["school.field_trip"]["locales"] == ["en", "es"]
    assert keys["tmpl.absence_notice"]["source"] == "catalogue"
    assert len(keys["tmpl.absence_notice"]["locales"]) >= 12
    # catalogue entries are readable too
    st, cat = req(d, "GET", "/api/templates/tmpl.absence_notice")
    assert st == 200 and "ar" in cat["variants"]

    # update: a locale left out is removed; the answer is 200 now
    upd = {"description": "v2", "variants": {"en": FIELD_TRIP["variants"]["en"]}}
    st, body = req(d, "PUT", "/api/templates/school.field_trip", upd)
    assert st == 200 and body["created"] is False
    st, one = req(d, "GET", "/api/templates/school.field_trip")
    assert list(one["variants"]) == ["en"] and one["description"] == "v2"

    db = os.path.join(workdir, "backpack.db")
    con = sqlite3.connect(db)
    actions = [r[0] for r in con.execute(
        "SELECT action FROM audit WHERE object_type = 'template' ORDER BY id")]
    con.close()
    assert actions == ["template.create", "template.update"]

    # survives a restart (loaded from the database at start)
    assert d.stop() == 0, d.log()[-2000:]        # clean exit (ASan: no leak)
    d2 = Daemon(d.workdir, config)
    try:
        st, one = req(d2, "GET", "/api/templates/school.field_trip")
        assert st == 200 and one["description"] == "v2"
        assert req(d2, "DELETE", "/api/templates/school.field_trip")[0] == 200
        assert req(d2, "GET", "/api/templates/school.field_trip")[0] == 404
        assert req(d2, "DELETE", "/api/templates/school.field_trip")[0] == 404
        assert req(d2, "DELETE", "/api/templates/tmpl.absence_notice")[0] == 409
    finally:
        rc = d2.stop()
    assert rc == 0, d2.log()[-2000:]


def test_invalid_pattern_gives_the_position(daemon):
    _, d = daemon
    bad = {"variants": {"en": {"pattern": "Hello {student, plural, one {x}"}}}
    st, body = req(d, "PUT", "/api/templates/school.bad", bad)
    assert st == 422, body
    assert body["locale"] == "en" and body["position"] >= 0
    assert "offset" in body["error"]
    numbered = {"variants": {"en": {"pattern": "Hello {0}"}}}
    st, body = req(d, "PUT", "/api/templates/school.bad", numbered)
    assert st == 422 and body["position"] == 7 and "numbered" in body["error"]
    assert req(d, "GET", "/api/templates/school.bad")[0] == 404


def test_arguments_must_match_the_source_locale(daemon):
    _, d = daemon
    t = {"variants": {"en": {"pattern": "{student} is absent on {date, date, long}."},
                      "es": {"pattern": "{alumno} falta el {date, date, long}."}}}
    st, body = req(d, "PUT", "/api/templates/school.absent", t)
    assert st == 422, body
    assert body["locale"] == "es" and body["source_locale"] == "en"
    assert body["expected"] == "date:date,student:"
    assert body["got"] == "alumno:,date:date"
    # same names, different kind (plain vs date) is refused too
    t["variants"]["es"]["pattern"] = "{student} falta el {date}."
    st, body = req(d, "PUT", "/api/templates/school.absent", t)
    assert st == 422 and body["got"] == "date:,student:"


def test_source_locale_required_and_other_refusals(daemon):
    _, d = daemon
    only_es = {"variants": {"es": {"pattern": "Hola {student}"}}}
    st, body = req(d, "PUT", "/api/templates/school.x", only_es)
    assert st == 422 and body["source_locale"] == "en"
    st, _ = req(d, "PUT", "/api/templates/tmpl.absence_notice",
                {"variants": {"en": {"pattern": "x"}}})
    assert st == 409
    assert req(d, "PUT", "/api/templates/Bad-Key", FIELD_TRIP)[0] == 400
    assert req(d, "PUT", "/api/templates/school.x", b"{not json")[0] == 400
    assert req(d, "PUT", "/api/templates/school.x", {"variants": {}})[0] == 400
    bad_tag = {"variants": {"en": {"pattern": "x"}, "!!": {"pattern": "x"}}}
    assert req(d, "PUT", "/api/templates/school.x", bad_tag)[0] == 400
    dup = b'{"variants": {"en": {"pattern": "x"}, "EN": {"pattern": "y"}}}'
    assert req(d, "PUT", "/api/templates/school.x", dup)[0] == 400


def test_missing_plural_category_is_a_warning(daemon):
    _, d = daemon
    t = {"variants": {
        "en": {"pattern": "{count, plural, one {# book} other {# books}}"},
        "ru": {"pattern": "{count, plural, one {# книга} other {# книг}}"}}}
    st, body = req(d, "PUT", "/api/templates/school.books", t)
    assert st == 201
    assert [w["locale"] for w in body["warnings"]] == ["ru"]
    assert "few" in body["warnings"][0]["warning"]
