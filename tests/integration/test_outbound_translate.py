# SPDX-License-Identifier: AGPL-3.0-or-later
"""Announcements in each family's language beyond the file catalogue, through the real
daemon and the real `backpack send`:

* custom templates saved through PUT /api/templates are used by `backpack send
  --template` and POST /api/messages (the live catalogue), each family getting its
  language's variant, families of other languages held (no_translation);
* free text is machine-translated once per target language by the imitation
  LibreTranslate server (tests/fakes/libretranslate/server.py): the family's copy is the
  translation plus the catalogue's note.machine_translated in its language, the message
  keeps the teacher's text (original_body/original_locale, machine_translated = 1);
  a language without a note (German) and 'und' stay held; server failures (500, 429,
  timeout, garbage) hold the language's deliveries, never send the original silently.

Waits poll the database with deadlines; the timeout case waits for the client's own
deadline ([translate] timeout), nothing sleeps for timing."""
import json
import subprocess

import pytest

from conftest import http_request, start_seeded
from sms_support import BIN, FakeTwilio, query
from smtp_support import sink  # noqa: F401
from test_outbound_email import SEED, TOKEN, deliveries, poll, settled
from test_translate import FakeLT

NOTE = {
    "es": "(Traducción automática del mensaje de la escuela)",
    "ar": "(ترجمة آلية لرسالة المدرسة)",
    "zh-Hans": "（学校消息的机器翻译）",
    "vi": "(Bản dịch máy của tin nhắn từ nhà trường)",
}


@pytest.fixture
def lt():
    f = FakeLT()
    yield f
    f.stop()


@pytest.fixture
def fake():
    with FakeTwilio(callbacks="off") as f:
        yield f


def config_for(write_config, fake, sink, lt=None, timeout="5s"):
    extra = {}
    if lt is not None:
        extra["translate"] = {"enabled": "true", "url": lt.url, "timeout": timeout}
    return write_config(
        server={"admin_token": TOKEN, "public_url": "https://backpack.example.org"},
        sms={"enabled": "true", "account_sid": fake.account_sid,
             "auth_token": fake.auth_token, "from_number": "+15550109999",
             "api_base": fake.base_url, "rate_per_second": "10000"},
        smtp={"enabled": "true", "host": "127.0.0.1", "port": str(sink.port),
              "starttls": "no", "from_address": "office@lincoln.example",
              "workers": "2", "timeout": "5s"},
        **extra)


def start_school(workdir, serve, config):
    return start_seeded(serve, config, SEED, r"event=started .*sms=on email=on")


@pytest.fixture
def school(workdir, write_config, fake, sink, serve):
    d = start_school(workdir, serve, config_for(write_config, fake, sink))
    yield d
    assert d.stop() == 0, d.log()[-3000:]
    assert d.error_lines() == [], d.error_lines()


@pytest.fixture
def mt_school(workdir, write_config, fake, sink, serve, lt):
    d = start_school(workdir, serve, config_for(write_config, fake, sink, lt, "1s"))
    d.lt = lt
    yield d
    assert d.stop() == 0, d.log()[-3000:]
    assert d.error_lines() == [], d.error_lines()


def send(config, *args, code=0):
    r = subprocess.run([BIN, "send", "-c", config] + list(args), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == code, r.stderr
    return json.loads(r.stdout) if code == 0 else r.stderr


def api(port, path, body, method="POST"):
    st, _, data = http_request(port, method, path, body=json.dumps(body),
                               headers={"Content-Type": "application/json",
                                        "Authorization": "Bearer " + TOKEN})
    return st, json.loads(data)


PICNIC = {"description": "picnic", "variants": {
    "en": {"pattern": "Picnic for {student} on {day}."},
    "es": {"pattern": "Pícnic para {student} el {day}."},
    "vi": {"pattern": "Dã ngoại cho {student} vào {day}."},
    "ar": {"pattern": "نزهة لـ {student} يوم {day}."},
}}


def by_addr(ds):
    return {a: (d["state"], d["held_reason"], d["locale"], d["body"]) for a, d in ds.items()}


def test_saved_template_is_used_by_send_and_the_api(school):
    st, out = api(school.port, "/api/templates/school.picnic", PICNIC, method="PUT")
    assert st == 201, out
    out = send(school.config, "--section", "sec-1", "--template", "school.picnic",
               "--arg", "student=Kim", "--arg", "day=Friday", "--urgent")
    ds = by_addr(poll(lambda: settled(school.db, out["announcement_id"]), what="sent"))
    assert ds["+15550100034"] == ("sent", None, "es", "Pícnic para Kim el Friday.")
    assert ds["hoa@example.org"] == ("sent", None, "vi", "Dã ngoại cho Kim vào Friday.")
    assert ds["amal@example.org"] == ("sent", None, "ar", "نزهة لـ Kim يوم Friday.")
    assert ds["+15550100033"] == ("sent", None, "en", "Picnic for Kim on Friday.")
    # zh-CN, und and German: no variant -> held, in the school language
    for addr in ("li@example.org", "alex@example.org", "+15550100036"):
        assert ds[addr][:3] == ("held", "no_translation", "en"), (addr, ds[addr])
    # the API renders from the same live catalogue; an edit is seen at once
    edited = json.loads(json.dumps(PICNIC))
    edited["variants"]["es"]["pattern"] = "¡Pícnic! {student}, {day}."
    assert api(school.port, "/api/templates/school.picnic", edited, method="PUT")[0] == 200
    st, out = api(school.port, "/api/messages", {
        "student": "stu-14", "template": "school.picnic", "urgent": True,
        "args": {"student": "Luis", "day": "lunes"}})
    assert st == 202, out
    ds = by_addr(poll(lambda: settled(school.db, out["announcement_id"]), what="api"))
    assert ds == {"+15550100034": ("sent", None, "es", "¡Pícnic! Luis, lunes.")}


def mt_expect(ds, text):
    assert ds["+15550100034"][:3] == ("sent", None, "es")
    assert ds["+15550100034"][3] == "[es] %s\n\n%s" % (text, NOTE["es"])
    assert ds["amal@example.org"][2:] == ("ar", "[ar] %s\n\n%s" % (text, NOTE["ar"]))
    assert ds["li@example.org"][2:] == ("zh-Hans", "[zh] %s\n\n%s" % (text, NOTE["zh-Hans"]))
    assert ds["hoa@example.org"][2:] == ("vi", "[vi] %s\n\n%s" % (text, NOTE["vi"]))
    assert ds["+15550100033"][2:] == ("en", text)                 # the school language
    for addr in ("alex@example.org", "+15550100036"):               # und, de: held
        assert ds[addr][:3] == ("held", "no_translation", "en"), ds[addr]


def announce(school, via, text):
    """Free text to sec-1, urgent, by `backpack send` or POST /api/messages."""
    if via == "cli":
        return send(school.config, "--section", "sec-1", "--text", text, "--urgent")
    st, out = api(school.port, "/api/messages",
                  {"section": "sec-1", "text": text, "urgent": True})
    assert st == 202, out
    return out


@pytest.mark.parametrize("via", ["cli", "api"])
def test_free_text_is_translated_once_per_language(mt_school, via):
    text = "Picnic on Friday, bring a hat"
    out = announce(mt_school, via, text)
    ds = by_addr(poll(lambda: settled(mt_school.db, out["announcement_id"]), what="sent"))
    mt_expect(ds, text)
    reqs = mt_school.lt.requests()
    assert sorted(r["target"] for r in reqs) == ["ar", "es", "vi", "zh"]     # once each
    assert {(r["source"], r["q"], r["format"]) for r in reqs} == {("en", text, "text")}
    rows = query(mt_school.db, "SELECT DISTINCT body, original_body, original_locale,"
                 " machine_translated FROM message WHERE announcement_id = ?"
                 " AND machine_translated = 1", (out["announcement_id"],))
    assert rows == [(text, text, "en", 1)]
    # Ann (English only, stu-13) has no translated family: her message is not marked
    assert query(mt_school.db, "SELECT m.machine_translated FROM message m JOIN conversation c"
                 " ON c.id = m.conversation_id WHERE c.student_id = 13"
                 " AND m.announcement_id = ?", (out["announcement_id"],)) == [(0,)]


@pytest.mark.parametrize("fail", ["500", "429", "garbage", "timeout"])
@pytest.mark.parametrize("via", ["cli", "api"])
def test_translation_failure_holds_that_language(mt_school, fail, via):
    # the first request fails, the others succeed: exactly one language is held
    mt_school.lt.control(fail=fail, count=1)
    text = "Early dismissal today"
    out = announce(mt_school, via, text)
    ds = by_addr(poll(lambda: settled(mt_school.db, out["announcement_id"]), what="sent"))
    failed = mt_school.lt.requests()[0]["target"]
    loc = {"zh": "zh-Hans"}.get(failed, failed)
    addr = {"es": "+15550100034", "ar": "amal@example.org", "zh-Hans": "li@example.org",
            "vi": "hoa@example.org"}[loc]
    assert ds[addr] == ("held", "no_translation", "en", text)      # never sent untranslated
    others = [a for a in ("+15550100034", "amal@example.org", "li@example.org",
                          "hoa@example.org") if a != addr]
    for a in others:
        assert ds[a][0] == "sent" and ds[a][3].startswith("[")
    assert out["held"] == 3                                         # + und + de


def test_without_translate_free_text_keeps_the_hold_rule(school):
    out = send(school.config, "--section", "sec-1", "--text", "Hello", "--urgent")
    ds = by_addr(poll(lambda: settled(school.db, out["announcement_id"]), what="sent"))
    held = sorted(a for a, d in ds.items() if d[0] == "held")
    assert held == sorted(["+15550100034", "amal@example.org", "li@example.org",
                           "hoa@example.org", "alex@example.org", "+15550100036"])


WEBHOOK = "/webhooks/sms/twilio"


def inbound(d, fake, frm, body):
    r = fake.inbound(to_url="http://127.0.0.1:%d%s" % (d.port, WEBHOOK),
                     sign_url="https://backpack.example.org" + WEBHOOK, to="+15550109999",
                     body=body, **{"from": frm})
    assert r["attempts"][0]["status"] == 200, r
    return r["message_sid"]


def inbound_row(db, sid):
    return query(db, "SELECT body, original_body, original_locale, machine_translated"
                     " FROM message WHERE provider_msg_id = ?", (sid,))[0]


def test_parent_reply_is_translated_for_the_teacher(mt_school, fake):
    en = inbound(mt_school, fake, "+15550100033", "Ann will be late today")
    es = inbound(mt_school, fake, "+15550100034", "Luis está enfermo, se queda en casa")
    row = poll(lambda: (lambda r: r if r[3] == 1 else None)(inbound_row(mt_school.db, es)),
               what="translated reply")
    assert row == ("[en] Luis está enfermo, se queda en casa",
                   "Luis está enfermo, se queda en casa", "es-MX", 1)
    # the English parent's reply is left alone, and only one request was made
    assert inbound_row(mt_school.db, en) == ("Ann will be late today", None, None, 0)
    reqs = mt_school.lt.requests()
    assert [(r["source"], r["target"]) for r in reqs] == [("es", "en")]


def test_failed_reply_translation_keeps_the_parents_text(mt_school, fake):
    mt_school.lt.control(fail="500", count=1)
    sid = inbound(mt_school, fake, "+15550100034", "Gracias")
    mt_school.wait_log(r"event=mt_inbound_failed")
    assert inbound_row(mt_school.db, sid) == ("Gracias", None, None, 0)
