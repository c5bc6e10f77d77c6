# SPDX-License-Identifier: AGPL-3.0-or-later
"""kill -9 in the middle of a stream of webhooks: every webhook that was
answered 2xx is on disk exactly once after a restart (durable before
acknowledged), and the provider's retries of the unanswered ones are stored
once too."""
import http.client
import os
import signal
import threading
import time

from conftest import Daemon
from sms_support import SCHOOL_NUMBER, FakeTwilio, query, school_config, seed, signed_form

PATH = "/webhooks/sms/twilio"


def _params(fake, i):
    return {"AccountSid": fake.account_sid, "ApiVersion": "2010-04-01",
            "Body": "crash test %d" % i, "From": "+1555010%04d" % (i % 50),
            "MessageSid": "SMcrash%06d" % i, "NumMedia": "0", "To": SCHOOL_NUMBER}


def _post(port, fake, i):
    body, headers = signed_form(fake.auth_token, PATH, _params(fake, i))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("POST", PATH, body=body, headers=headers)
        return c.getresponse().status
    except (ConnectionError, OSError, http.client.HTTPException):
        return None
    finally:
        c.close()


def test_kill_9_loses_no_acknowledged_webhook(workdir, write_config):
    fake = FakeTwilio(callbacks="off").start()
    try:
        config = school_config(write_config, fake)
        db = os.path.join(workdir, "backpack.db")
        seed(config, db)
        d = Daemon(workdir, config)
        acked, lock, stop = set(), threading.Lock(), threading.Event()
        counter = iter(range(10**6))

        def worker():
            while not stop.is_set():
                with lock:
                    i = next(counter)
                if _post(d.port, fake, i) == 200:
                    with lock:
                        acked.add(i)
        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        # wait (on events, not time) until a good number were acknowledged
        while True:
            with lock:
                if len(acked) >= 1500:
                    break
            assert d.alive()
            time.sleep(0.005)        # polling an event, not timing
        os.kill(d.pid, signal.SIGKILL)
        d.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        with lock:
            sent = next(counter)
        stored = dict(query(db, "SELECT provider_msg_id, count(*) FROM message"
                                " WHERE provider_msg_id LIKE 'SMcrash%' GROUP BY 1"))
        missing = [i for i in acked if stored.get("SMcrash%06d" % i) != 1]
        assert missing == [], "acknowledged but not stored once: %r" % missing[:10]
        # restart; the provider retries every request (acknowledged or not)
        d2 = Daemon(workdir, config)
        try:
            codes = [_post(d2.port, fake, i) for i in range(sent)]
            assert codes == [200] * sent
            rows = query(db, "SELECT count(*), count(DISTINCT provider_msg_id) FROM message"
                             " WHERE provider_msg_id LIKE 'SMcrash%'")
            assert rows == [(sent, sent)]
        finally:
            assert d2.stop() == 0
    finally:
        fake.stop()
