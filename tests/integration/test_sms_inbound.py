# SPDX-License-Identifier: AGPL-3.0-or-later
"""Inbound SMS end to end: the imitation Twilio posts webhooks exactly as
Twilio does to the real daemon over loopback; we check what is answered and
what is on disk (a real SQLite file)."""
import concurrent.futures
import http.client
import os
import pytest

from conftest import http_request, poll
from sms_support import (PUBLIC_URL, SCHOOL_NUMBER, FakeTwilio, catalogue, query,
                         school_config, seed, signed_form)

PATH = "/webhooks/sms/twilio"


@pytest.fixture
def fake():
    f = FakeTwilio(callbacks="off").start()
    yield f
    f.stop()


@pytest.fixture
def school(workdir, write_config, serve, fake):
    config = school_config(write_config, fake)
    db = os.path.join(workdir, "backpack.db")
    seed(config, db)
    d = serve(config)
    d.db = db
    d.url = "http://127.0.0.1:%d%s" % (d.port, PATH)
    yield d
    assert d.stop() == 0
    assert d.error_lines() == [], d.error_lines()


def messages(db, sid):
    return query(db, "SELECT conversation_id, kind, match_rule, body, media FROM message"
                     " WHERE provider='twilio' AND provider_msg_id=?", (sid,))


def test_reply_lands_in_the_students_conversation(fake, school):
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="Mai has a fever, she stays home today",
                     media=[{"url": "https://api.twilio.com/m/1.jpg", "content_type": "image/jpeg"}],
                     **{"from": "+15550100021"})
    a = r["attempts"][0]
    assert a["status"] == 200
    assert a["response_body"] == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert a["response_content_type"].startswith("text/xml")
    rows = messages(school.db, r["message_sid"])
    assert len(rows) == 1
    convo, kind, rule, body, media = rows[0]
    assert (convo, kind, rule) == (112, "normal", "single_student")
    assert body == "Mai has a fever, she stays home today"
    assert '"content_type":"image/jpeg"' in media and "1.jpg" in media


def test_bad_signature_unsigned_and_foreign_account_are_refused(fake, school):
    before = query(school.db, "SELECT count(*) FROM message")[0][0]
    for kw, code in [({"sign": "bad"}, 403), ({"sign": "none"}, 403),
                     ({"account_sid": "AC" + "0" * 32}, 403)]:
        r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                         body="hello", **{"from": "+15550100021"}, **kw)
        assert r["attempts"][0]["status"] == code, kw
    # signed for another URL (not the configured public one)
    r = fake.inbound(to_url=school.url, to=SCHOOL_NUMBER, body="hi", **{"from": "+15550100021"})
    assert r["attempts"][0]["status"] == 403
    assert query(school.db, "SELECT count(*) FROM message")[0][0] == before
    log = school.log()
    assert "reason=invalid_signature" in log and "reason=missing_signature" in log
    assert "reason=unknown_account" in log


def test_malformed_and_incomplete_bodies_get_400(fake, school):
    body, headers = signed_form(fake.auth_token, PATH, {"Body": "x"})
    st, _, _ = http_request(school.port, "POST", PATH, body="Body=%zz&From=1", headers=headers)
    assert st == 400
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="x", omit=["MessageSid"], **{"from": "+15550100021"})
    assert r["attempts"][0]["status"] == 400
    st, _, _ = http_request(school.port, "POST", PATH, body='{"Body":"x"}',
                            headers={"Content-Type": "application/json"})
    assert st == 415
    assert "event=webhook_rejected" in school.log()
    # the phone number never appears in clear in the log
    assert "+15550100021" not in school.log()


def test_provider_retries_are_stored_once(fake, school):
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="sequential retry", repeat=3, **{"from": "+15550100021"})
    assert [a["status"] for a in r["attempts"]] == [200, 200, 200]
    assert len(messages(school.db, r["message_sid"])) == 1
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="concurrent retry", repeat=8, concurrent=True, **{"from": "+15550100021"})
    assert [a["status"] for a in r["attempts"]] == [200] * 8
    assert len(messages(school.db, r["message_sid"])) == 1


def test_unknown_sender_goes_to_triage(fake, school):
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="Hi, this is Grandma", **{"from": "+15550107777"})
    assert r["attempts"][0]["status"] == 200
    (convo, kind, rule, _, _), = messages(school.db, r["message_sid"])
    assert convo is None and rule == "triage"
    assert query(school.db, "SELECT u.reason FROM inbound_unmatched u JOIN message m"
                            " ON m.id = u.message_id WHERE m.provider_msg_id=?",
                 (r["message_sid"],)) == [("unknown_sender",)]


def test_guardian_with_two_students(fake, school):
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="¿Hay clase mañana?", **{"from": "+15550100020"})
    assert messages(school.db, r["message_sid"])[0][2] == "triage"
    assert query(school.db, "SELECT candidates FROM inbound_unmatched u JOIN message m ON"
                            " m.id=u.message_id WHERE m.provider_msg_id=?",
                 (r["message_sid"],)) == [("[10,11]",)]
    # Luis's teacher texts the family; the next reply threads to Luis
    query(school.db, "INSERT INTO message (id,conversation_id,direction,channel,body,created_at)"
                     " VALUES (900,111,'out','sms','Excursión mañana',"
                     " CAST((julianday('now')-2440587.5)*86400000 AS INTEGER))")
    query(school.db, "INSERT INTO delivery (message_id,contact_id,channel,body,state,"
                     "idempotency_key,created_at,updated_at) SELECT 900,30,'sms','x','sent','k900',"
                     "created_at,created_at FROM message WHERE id=900")
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="Gracias, ahí estaremos", **{"from": "+15550100020"})
    (convo, _, rule, _, _), = messages(school.db, r["message_sid"])
    assert (convo, rule) == (111, "recent_outbound")


def _reply_for(db, sid):
    return query(db, "SELECT d.body, d.state, d.locale FROM delivery d JOIN message r ON"
                     " r.id = d.message_id JOIN message m ON m.contact_id = d.contact_id"
                     " WHERE m.provider_msg_id=? AND r.kind='system' AND r.id > m.id"
                     " ORDER BY r.id", (sid,))


def _expected(locale, key):
    pat = catalogue(locale)[key]
    return (pat.replace("{school}", "Lincoln Elementary").replace("{phone}", "+15550100000")
               .replace("{website}", "https://lincoln.example.org"))


@pytest.mark.parametrize("sender,word,locale", [
    ("+15550100021", "DỪNG", "vi"),
    ("+15550100022", "توقف", "ar"),
    ("+15550100023", "Kanpe", "ht"),
    ("+15550100020", "ALTO por favor", "es"),
])
def test_stop_in_the_familys_language(fake, school, sender, word, locale):
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body=word, **{"from": sender})
    assert r["attempts"][0]["status"] == 200
    assert messages(school.db, r["message_sid"])[0][1] == "keyword_stop"
    assert query(school.db, "SELECT status FROM contact WHERE address=?", (sender,)) == \
        [("opted_out",)]
    replies = _reply_for(school.db, r["message_sid"])
    assert len(replies) == 1
    assert replies[0][0] == _expected(locale, "sms.stop_confirm")
    assert replies[0][1] == "queued"
    # a second STOP: recorded, but no second confirmation
    r2 = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                      body="STOP", **{"from": sender})
    assert messages(school.db, r2["message_sid"])[0][1] == "keyword_stop"
    assert len(_reply_for(school.db, r["message_sid"])) == 1


def test_start_and_help(fake, school):
    sender = "+15550100021"
    stop = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                        body="STOP", **{"from": sender})
    yes = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                       body="yes", **{"from": sender})
    assert query(school.db, "SELECT status FROM contact WHERE address=?", (sender,)) == [("active",)]
    assert _reply_for(school.db, yes["message_sid"])[0][0] == _expected("vi", "sms.start_confirm")
    help_ = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                         body="HELP", **{"from": sender})
    assert _reply_for(school.db, help_["message_sid"])[0][0] == _expected("vi", "sms.help")
    kinds = query(school.db, "SELECT kind FROM consent_event WHERE contact_id=31 ORDER BY id")
    assert kinds == [("opt_out",), ("opt_in",), ("help",)]
    assert stop["attempts"][0]["status"] == 200


def test_a_stop_reply_the_provider_refuses_is_reported_to_the_admin(fake, school):
    """By default Twilio answers STOP itself on long codes and from then on refuses every
    message to the number (21610), this confirmation in the family's language included: the
    daemon records the opt-out, fails the confirmation, and says once at warn what the school
    must change at the provider (README, installing, step 7)."""
    sender = "+15550100021"
    fake.unsubscribe(sender)    # what Twilio's own opt-out handling did on receiving STOP
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="STOP", **{"from": sender})
    assert r["attempts"][0]["status"] == 200
    assert query(school.db, "SELECT status FROM contact WHERE address=?", (sender,)) == \
        [("opted_out",)]
    poll(lambda: [x[1] for x in _reply_for(school.db, r["message_sid"])] == ["failed"],
         deadline=20.0, what="the refused confirmation")
    assert query(school.db, "SELECT d.error_code FROM delivery d JOIN message m ON"
                            " m.id = d.message_id WHERE m.kind = 'system'") == [("21610",)]
    school.wait_log(r"level=warn .*event=keyword_reply_refused .*code=21610")
    # once per run: a HELP later (also refused) says nothing more
    h = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="HELP", **{"from": sender})
    poll(lambda: [x[1] for x in _reply_for(school.db, h["message_sid"])][-1:] == ["failed"],
         deadline=20.0, what="the refused HELP reply")
    assert len([l for l in school.log().splitlines() if "keyword_reply_refused" in l]) == 1


def test_a_sentence_with_stop_is_a_message_flagged_for_review(fake, school):
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="Please stop by the office after class", **{"from": "+15550100021"})
    assert query(school.db, "SELECT kind, possible_revocation FROM message WHERE provider_msg_id=?",
                 (r["message_sid"],)) == [("normal", 1)]
    assert query(school.db, "SELECT status FROM contact WHERE id=31") == [("active",)]


def _status(fake, school, sid, status, error=None):
    params = {"AccountSid": fake.account_sid, "ApiVersion": "2010-04-01", "From": SCHOOL_NUMBER,
              "MessageSid": sid, "MessageStatus": status, "SmsSid": sid, "SmsStatus": status,
              "To": "+15550100022"}
    if error:
        params["ErrorCode"] = error
    body, headers = signed_form(fake.auth_token, PATH + "/status", params)
    return http_request(school.port, "POST", PATH + "/status", body=body, headers=headers)[0]


def test_status_callbacks_out_of_order(fake, school):
    query(school.db, "INSERT INTO message (id,conversation_id,direction,channel,body,created_at)"
                     " VALUES (901,113,'out','sms','x',0)")
    query(school.db, "INSERT INTO delivery (id,message_id,contact_id,channel,body,state,"
                     "idempotency_key,provider,provider_msg_id,created_at,updated_at) VALUES"
                     " (501,901,32,'sms','x','sent','k501','twilio','SM501',0,0)")
    assert _status(fake, school, "SM501", "undelivered", "30003") == 200
    assert _status(fake, school, "SM501", "delivered") == 200      # late, must not win
    assert query(school.db, "SELECT state, error_code FROM delivery WHERE id=501") == \
        [("undeliverable", "30003")]
    assert query(school.db, "SELECT status FROM contact WHERE id=32") == [("invalid",)]
    assert _status(fake, school, "SMunknown", "delivered") == 200
    body, headers = signed_form(fake.auth_token, PATH + "/status", {"MessageSid": "SM501"})
    assert http_request(school.port, "POST", PATH + "/status", body=body,
                        headers=headers)[0] == 400


def test_oversized_body_is_413(fake, school):
    big = "Body=" + "a" * (2 * 1024 * 1024)
    st, _, _ = http_request(school.port, "POST", PATH, body=big,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 413


def test_a_thousand_concurrent_webhooks_stored_once(fake, school):
    def post(i):
        params = {"AccountSid": fake.account_sid, "ApiVersion": "2010-04-01",
                  "Body": "message %d" % i, "From": "+1555010%04d" % (i % 40),
                  "MessageSid": "SMload%05d" % i, "NumMedia": "0", "To": SCHOOL_NUMBER}
        body, headers = signed_form(fake.auth_token, PATH, params)
        c = http.client.HTTPConnection("127.0.0.1", school.port, timeout=60)
        try:
            c.request("POST", PATH, body=body, headers=headers)
            return c.getresponse().status
        finally:
            c.close()
    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as ex:
        codes = list(ex.map(post, range(1000)))
    assert codes == [200] * 1000
    assert query(school.db, "SELECT count(*), count(DISTINCT provider_msg_id) FROM message"
                            " WHERE provider_msg_id LIKE 'SMload%'") == [(1000, 1000)]


def test_each_new_message_is_announced_once(fake, school):
    r = fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                     body="first", repeat=3, **{"from": "+15550100021"})
    fake.inbound(to_url=school.url, sign_url=PUBLIC_URL + PATH, to=SCHOOL_NUMBER,
                 body="second", **{"from": "+15550107777"})
    assert [a["status"] for a in r["attempts"]] == [200, 200, 200]
    _, _, body = http_request(school.port, "GET", "/metrics")
    assert b'backpack_message_events_total{kind="sms_in"} 2\n' in body
    assert b'backpack_sms_webhooks_total{kind="inbound",result="duplicate"} 2\n' in body
