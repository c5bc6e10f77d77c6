#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Sets up and runs Backpack on a demo school, from a fresh Debian 12 machine:
# installs the dependencies, builds, generates a synthetic district (OneRoster
# CSV), imports it into an embedded SQLite database, creates an administrator
# account and runs the daemon in the foreground.  Idempotent: run it again to
# restart the demo with the same data.  Everything lives in ./demo/.
#   deploy/demo.sh                 (PORT=8080 FAMILIES=300 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
port=${PORT:-8080}
families=${FAMILIES:-300}

bash deploy/install-deps.sh
[ -f build-demo/build.ninja ] || meson setup build-demo -Dbuildtype=release >/dev/null
ninja -C build-demo >/dev/null
bin=$here/build-demo/backpack

mkdir -p demo
conf=$here/demo/backpack.ini
cat > "$conf" <<INI
# Demo configuration written by deploy/demo.sh (see config/backpack.ini.example)
[server]
listen = 127.0.0.1:$port
public_url = http://127.0.0.1:$port

[store]
path = $here/demo/backpack.db

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
INI

if [ ! -f demo/roster/users.csv ]; then
  /usr/bin/python3 tests/tools/gen_oneroster.py --families "$families" \
    --out demo/roster --seed 42
fi
"$bin" migrate -c "$conf"
"$bin" roster import --oneroster demo/roster -c "$conf"
password=${DEMO_ADMIN_PASSWORD:-backpack-demo-admin}
printf '%s\n' "$password" | "$bin" staff add -c "$conf" --email admin@riverside.example.org \
  --role admin --name "Demo Administrator" --password-stdin --update

cat <<MSG

Backpack demo is starting.
  Health:        http://127.0.0.1:$port/healthz
  Metrics:       http://127.0.0.1:$port/metrics
  Database:      $here/demo/backpack.db   (sqlite3 demo/backpack.db '.tables')
  Roster:        $here/demo/roster/        ($families families, OneRoster 1.1 CSV)
  Configuration: $conf
  Admin account: admin@riverside.example.org / $password
Logs follow on this terminal; press Ctrl-C to stop.

MSG
exec "$bin" serve -c "$conf"
