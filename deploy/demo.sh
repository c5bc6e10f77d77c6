#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Sets up and runs Backpack on a demo school, from a fresh Debian 12 machine:
# installs the dependencies, builds, generates a synthetic district (OneRoster
# CSV), imports it into an embedded SQLite database, creates an administrator
# account, starts the local stand-ins for the outside world -- the imitation
# SMS provider (tests/fakes/twilio), an SMTP sink (aiosmtpd) that keeps every
# e-mail sent, and a Dovecot IMAP mailbox for parents' e-mail replies -- and
# runs the daemon in the foreground.  Ctrl-C stops everything it started.
# Idempotent: run it again to restart the demo with the same data.
# Everything lives in ./demo/.
#   deploy/demo.sh            (PORT=8080 FAMILIES=300 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
port=${PORT:-8080}
families=${FAMILIES:-300}
sms_port=$((port + 1)); smtp_port=$((port + 2)); imap_port=$((port + 3))
account=AC$(printf 'de%.0s' $(seq 16))
token=demo-auth-token-not-secret
school_number=+12025550199

bash deploy/install-deps.sh --demo
[ -f build-demo/build.ninja ] || meson setup build-demo -Dbuildtype=release >/dev/null
if ! out=$(ninja -C build-demo 2>&1); then
  echo "$out" | tail -30 >&2
  echo "demo: the build failed" >&2
  exit 1
fi
bin=$here/build-demo/backpack
demo=$here/demo
mkdir -p "$demo"
chmod 755 "$demo"

pids=()
wait_port() {   # wait_port PORT NAME LOG: the server must listen within 15 s
  for _ in $(seq 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: $2 did not start; its log ($3):" >&2
  tail -20 "$3" >&2
  exit 1
}
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# -- the imitation SMS provider (Twilio-compatible REST API + webhooks) -------
node tests/fakes/twilio/server.js --port "$sms_port" --account-sid "$account" \
  --auth-token "$token" > "$demo/sms-provider.log" 2>&1 &
pids+=($!)
wait_port "$sms_port" "the imitation SMS provider" "$demo/sms-provider.log"

# -- the SMTP sink: every e-mail Backpack sends lands in demo/mail/sent ---------
mkdir -p "$demo/mail"
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" \
  -c aiosmtpd.handlers.Mailbox "$demo/mail/sent" > "$demo/smtp.log" 2>&1 &
pids+=($!)
wait_port "$smtp_port" "the SMTP sink" "$demo/smtp.log"

# -- Dovecot: the school's reply mailbox, polled over IMAP ----------------------
# Dovecot's auth and mail processes run as unprivileged users (dovecot, nobody),
# so its files cannot live in the repository when a parent directory is closed to
# others (a clone under /root, mode 0700, is the usual case): they go under
# /var/lib/backpack-demo, one directory per clone.
dc=/var/lib/backpack-demo/$(printf '%s' "$here" | md5sum | cut -c1-12)/dovecot
mkdir -p "$dc/run" "$dc/state" "$dc/mail"
chmod 755 /var/lib/backpack-demo "$(dirname "$dc")" "$dc"
chown 65534:65534 "$dc/mail"          # dovecot refuses uid 0 for mail
echo "replies:{PLAIN}demo-imap-password:65534:65534::$dc/mail/replies::" > "$dc/users"
chmod 644 "$dc/users"
cat > "$dc/dovecot.conf" <<CONF
base_dir = $dc/run
state_dir = $dc/state
instance_name = backpack-demo
log_path = $dc/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dc/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $dc/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
setsid dovecot -F -c "$dc/dovecot.conf" > /dev/null 2>&1 &
pids+=($!)
wait_port "$imap_port" "Dovecot" "$dc/dovecot.log"

conf=$demo/backpack.ini
cat > "$conf" <<INI
# Demo configuration written by deploy/demo.sh (see config/backpack.ini.example)
[server]
listen = 127.0.0.1:$port
public_url = http://127.0.0.1:$port
admin_token = demo-admin-token

[store]
path = $demo/backpack.db

[log]
level = info

[school]
name = Riverside Unified (demo)
timezone = America/New_York
default_country = US
default_locale = en
phone = +12025550100
email = office@riverside.example.org
website = https://riverside.example.org

[sms]
enabled = true
api_base = http://127.0.0.1:$sms_port
account_sid = $account
auth_token = $token
from_number = $school_number
rate_per_second = 50

[smtp]
enabled = true
host = 127.0.0.1
port = $smtp_port
starttls = no
from_address = office@riverside.example.org
from_name = Riverside Unified
reply_domain = riverside.example.org

[imap]
enabled = true
url = imap://127.0.0.1:$imap_port/INBOX
username = replies
password = demo-imap-password
poll_interval = 5s
INI

if [ ! -f "$demo/roster/users.csv" ]; then
  /usr/bin/python3 tests/tools/gen_oneroster.py --families "$families" \
    --out "$demo/roster" --seed 42
fi
"$bin" migrate -c "$conf"
"$bin" roster import --oneroster "$demo/roster" -c "$conf"
password=${DEMO_ADMIN_PASSWORD:-backpack-demo-admin}
printf '%s\n' "$password" | "$bin" staff add -c "$conf" --email admin@riverside.example.org \
  --role admin --name "Demo Administrator" --password-stdin --update
section=$(sqlite3 "$demo/backpack.db" "SELECT sourced_id FROM section ORDER BY id LIMIT 1")
phone=$(sqlite3 "$demo/backpack.db" "SELECT c.address FROM contact c JOIN guardian_contact gc ON gc.contact_id=c.id JOIN guardian g ON g.id=gc.guardian_id WHERE c.kind='sms' AND g.locale='es' LIMIT 1")

cat <<MSG

Backpack demo is starting.
  Health:          http://127.0.0.1:$port/healthz     Metrics: http://127.0.0.1:$port/metrics
  Database:        $demo/backpack.db   (sqlite3 $demo/backpack.db '.tables')
  Roster:          $demo/roster/  ($families families, OneRoster 1.1 CSV)
  Configuration:   $conf
  Admin account:   admin@riverside.example.org / $password   (API token: demo-admin-token)
  SMS provider:    imitation Twilio at http://127.0.0.1:$sms_port  (what was sent:
                   curl -s http://127.0.0.1:$sms_port/_fake/requests | head)
  E-mail sent:     $demo/mail/sent/new/   (one file per e-mail)
  Reply mailbox:   imap://127.0.0.1:$imap_port/INBOX  user replies  (Maildir: $dc/mail/replies)

Try it (in another terminal, from $here):
  Send to a class:  build-demo/backpack send -c $conf --section $section --text "Field trip tomorrow!"
                    (free text is held for families who read another language: add
                     --allow-fallback, or use a translated template: --template tmpl.event_reminder ...;
                     from 21:00 to 07:00 in the school's time zone, America/New_York, messages
                     wait for the morning ("deferred" in the answer): add --urgent to send now)
  A parent texts back (signed webhook from the imitation provider):
    curl -s -X POST http://127.0.0.1:$sms_port/_fake/inbound -H 'Content-Type: application/json' \\
      -d '{"to_url":"http://127.0.0.1:$port/webhooks/sms/twilio","from":"$phone","to":"$school_number","body":"¡Gracias!"}'
  A parent opts out:   same with "body":"ALTO"
  See the conversation: sqlite3 $demo/backpack.db "SELECT direction, channel, kind, body FROM message ORDER BY id DESC LIMIT 5"
Logs follow on this terminal; press Ctrl-C to stop everything.

MSG
"$bin" serve -c "$conf" &
pids+=($!)
wait "${pids[-1]}"
