# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for the inbound-SMS integration tests: a seeded school, a daemon
configured for the imitation Twilio, and signed webhook posts."""
import json
import os
import sqlite3
import subprocess
import sys
import urllib.parse

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS_DIR, "fakes"))
from twilio_fake import FakeTwilio, twilio_signature  # noqa: E402,F401

BIN = os.environ.get("BACKPACK_BIN", "")
SOURCE_DIR = os.environ.get("BACKPACK_SOURCE_DIR", "")
PUBLIC_URL = "https://backpack.example.org"     # what the provider was told
SCHOOL_NUMBER = "+15550109999"

SEED = """
INSERT INTO school VALUES (1,'sch-1','Lincoln Elementary','America/New_York','en',NULL,NULL,0,0);
INSERT INTO student (id,school_id,sourced_id,given_name,family_name,created_at,updated_at) VALUES
 (10,1,'stu-10','Ana','Diaz',0,0),(11,1,'stu-11','Luis','Diaz',0,0),
 (12,1,'stu-12','Mai','Tran',0,0),(13,1,'stu-13','Omar','Haddad',0,0),
 (14,1,'stu-14','Jean','Pierre',0,0);
INSERT INTO guardian (id,sourced_id,given_name,family_name,locale,created_at,updated_at) VALUES
 (20,'g-20','Rosa','Diaz','es-MX',0,0),(21,'g-21','Lan','Tran','vi',0,0),
 (22,'g-22','Amal','Haddad','ar',0,0),(23,'g-23','Marie','Pierre','ht',0,0);
INSERT INTO student_guardian (student_id,guardian_id,relationship) VALUES
 (10,20,'parent'),(11,20,'parent'),(12,21,'parent'),(13,22,'parent'),(14,23,'parent');
INSERT INTO contact (id,kind,address,created_at,updated_at) VALUES
 (30,'sms','+15550100020',0,0),(31,'sms','+15550100021',0,0),
 (32,'sms','+15550100022',0,0),(33,'sms','+15550100023',0,0);
INSERT INTO guardian_contact VALUES (20,30),(21,31),(22,32),(23,33);
INSERT INTO conversation (id,student_id,reply_token,created_at) VALUES
 (110,10,'t10',0),(111,11,'t11',0),(112,12,'t12',0),(113,13,'t13',0),(114,14,'t14',0);
"""


def school_config(write_config, fake):
    return write_config(
        server={"public_url": PUBLIC_URL},
        school={"phone": "+15550100000", "website": "https://lincoln.example.org"},
        sms={"enabled": "true", "account_sid": fake.account_sid,
             "auth_token": fake.auth_token, "from_number": SCHOOL_NUMBER,
             "api_base": fake.base_url})


def seed(config, db_path):
    subprocess.run([BIN, "migrate", "-c", config], check=True, capture_output=True)
    con = sqlite3.connect(db_path)
    con.executescript(SEED)
    con.commit()
    con.close()


def query(db_path, sql, args=()):
    con = sqlite3.connect(db_path, timeout=30)
    try:
        rows = con.execute(sql, args).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def catalogue(locale):
    with open(os.path.join(SOURCE_DIR, "locales", locale + ".json"), encoding="utf-8") as f:
        return json.load(f)


def signed_form(token, path, params):
    """(body, headers) of a webhook signed over PUBLIC_URL + path."""
    body = urllib.parse.urlencode(params)
    sig = twilio_signature(token, PUBLIC_URL + path, params)
    return body, {"Content-Type": "application/x-www-form-urlencoded",
                  "X-Twilio-Signature": sig}
