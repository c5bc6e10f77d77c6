# SPDX-License-Identifier: AGPL-3.0-or-later
# Sourced by the webhook benchmarks (webhook_ingest.sh, webhook_callgrind.sh):
# builds $build, makes a work directory with a config on a free loopback
# port, imports a generated district (2,000 families) and writes $n
# pre-signed inbound webhooks with unique MessageSids to $work/requests.tsv.
# In: here, build, n; SYNC, LOG_LEVEL, BIN optional.  Out: bin, work, port.
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=release >/dev/null
ninja -C "$build" backpack >/dev/null
bin=${BIN:-$here/$build/backpack}   # BIN=path: another binary (A/B runs)
work=$(mktemp -d /tmp/bp-bench-XXXXXX)
chmod 755 "$work"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=bench-token-0123456789
account=AC0123456789abcdef0123456789abcdef
cat > "$work/backpack.ini" <<INI
[server]
listen = 127.0.0.1:$port
public_url = http://127.0.0.1:$port
[store]
path = $work/backpack.db
synchronous = ${SYNC:-full}
[log]
level = ${LOG_LEVEL:-warn}
[school]
name = Bench School
[sms]
enabled = true
account_sid = $account
auth_token = $token
from_number = +15550109999
INI
/usr/bin/python3 tests/tools/gen_oneroster.py --families 2000 --out "$work/roster" --seed 7 >/dev/null
"$bin" roster import --oneroster "$work/roster" -c "$work/backpack.ini" >/dev/null 2>&1
sqlite3 "$work/backpack.db" "SELECT address FROM contact WHERE kind='sms'" > "$work/phones.txt"
/usr/bin/python3 tests/bench/webhook_requests.py --url "http://127.0.0.1:$port/webhooks/sms/twilio" \
  --token "$token" --account "$account" --to +15550109999 --from-file "$work/phones.txt" \
  --n "$n" > "$work/requests.tsv"

# bench_start [WRAPPER...]: starts the daemon (under WRAPPER, e.g. valgrind),
# removes the work directory at exit (unless KEEP is set) and waits up to a
# minute for /healthz.  Out: pid.
bench_start() {
  "$@" "$bin" serve -c "$work/backpack.ini" 2> "$work/daemon.log" &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.1
  done
}
