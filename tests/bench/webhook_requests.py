#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Writes N pre-signed Twilio inbound-SMS webhook requests, one per line:
SIGNATURE<TAB>FORM_BODY, each with a unique MessageSid, for wrk to replay.

Usage: webhook_requests.py --url URL --token T --account AC... --to +1...
                           --from-file PHONES --n N > requests.tsv
Senders cycle through the phone numbers in PHONES (one per line) so the
daemon threads real replies; bodies mix languages.
"""
import argparse
import base64
import hashlib
import hmac
import urllib.parse

BODIES = [
    "Ana will be late today, she has a dentist appointment.",
    "¿A qué hora es la reunión de padres?",
    "谢谢老师！",
    "Cháu bị ốm hôm nay, xin phép cho cháu nghỉ.",
    "شكرا جزيلا",
    "Mèsi anpil pou enfòmasyon an.",
    "OK, we will be there.",
]


def main():
    ap = argparse.ArgumentParser()
    for a in ("--url", "--token", "--account", "--to", "--from-file"):
        ap.add_argument(a, required=True)
    ap.add_argument("--n", type=int, required=True)
    args = ap.parse_args()
    with open(args.from_file) as f:
        phones = [l.strip() for l in f if l.strip()] or ["+15550100001"]
    key = args.token.encode()
    out = []
    for i in range(args.n):
        params = {
            "AccountSid": args.account, "ApiVersion": "2010-04-01",
            "Body": BODIES[i % len(BODIES)], "From": phones[i % len(phones)],
            "MessageSid": "SM%032x" % (i + 1), "NumMedia": "0", "NumSegments": "1",
            "SmsMessageSid": "SM%032x" % (i + 1), "SmsSid": "SM%032x" % (i + 1),
            "SmsStatus": "received", "To": args.to, "ToCountry": "US",
        }
        data = args.url + "".join(k + params[k] for k in sorted(params))
        sig = base64.b64encode(hmac.new(key, data.encode(), hashlib.sha1).digest()).decode()
        out.append(sig + "\t" + urllib.parse.urlencode(params))
    print("\n".join(out))


if __name__ == "__main__":
    main()
