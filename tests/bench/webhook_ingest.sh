#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Benchmark: durable inbound-SMS webhooks per second.
# Starts a release build of the daemon on a generated district, drives
# signed webhooks with unique MessageSids with wrk (64 connections, 10 s),
# then prints accepted webhooks/s, p50/p99 latency, rows in the database and
# the same wrk run against /healthz as the HTTP ceiling of this machine.
# Prints figures; never fails on time.
#   [BUILD=build-dir] [SYNC=normal] [PERF=1] tests/bench/webhook_ingest.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-10}
conns=${2:-64}
cd "$here"
build=${BUILD:-build-bench}
n=$(( secs * 60000 ))
. tests/bench/webhook_setup.sh
bench_start
before=$(sqlite3 "$work/backpack.db" "SELECT count(*) FROM message WHERE direction='in'")
/usr/bin/python3 tests/bench/webhook_wrk_files.py --requests "$work/requests.tsv" --threads 2 \
  --host "127.0.0.1:$port" --path /webhooks/sms/twilio --prefix "$work/wrk-requests"
echo "== durable webhooks: wrk -t2 -c$conns -d${secs}s ($n pre-signed requests)"
if [ -n "${PERF:-}" ]; then      # PERF=1: also profile the daemon during the run
  perf record -F 499 -g -p "$pid" -o "$work/perf.data" -- sleep "$secs" >/dev/null 2>&1 &
fi
WEBHOOK_REQUESTS=$work/wrk-requests wrk -t2 -c"$conns" -d"${secs}s" --latency \
  -s tests/bench/webhook.lua "http://127.0.0.1:$port/webhooks/sms/twilio" | tee "$work/wrk.txt"
after=$(sqlite3 "$work/backpack.db" "SELECT count(*) FROM message WHERE direction='in'")
ok=$(sed -n 's/^answers: ok=\([0-9]*\).*/\1/p' "$work/wrk.txt")
echo "rows stored during the run: $((after - before)); answered with a status below 400: $ok (replays of a sid count once)"
curl -s "http://127.0.0.1:$port/metrics" | grep -E "^backpack_store_(commits|requests)_total"
if [ -n "${PERF:-}" ]; then
  wait %?perf 2>/dev/null || sleep 1
  perf report -i "$work/perf.data" --stdio --no-children --sort ${PERF_SORT:-symbol} 2>/dev/null | \
    grep -E "^ +[0-9]" | head -40
fi
echo "== HTTP ceiling: wrk -t2 -c$conns -d${secs}s /healthz"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/healthz" | \
  grep -E "Requests/sec|50%|99%"
kill -TERM $pid; wait $pid || true
echo "daemon exit: clean (SIGTERM)"
