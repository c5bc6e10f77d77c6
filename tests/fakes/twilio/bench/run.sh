#!/bin/sh
# run.sh - how many sends/s the imitation Twilio sustains (prints figures; never pass/fail).
# Usage: tests/fakes/twilio/bench/run.sh [seconds] [connections] [wrk threads]
# Starts the imitation with status callbacks off, drives valid sends with keep-alive and unique
# idempotency tokens through wrk + send.lua, then prints the imitation's own count of sends.
set -eu
DUR=${1:-10}; CONNS=${2:-64}; THREADS=${3:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
FAKE_ACCOUNT_SID=AC$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
FAKE_AUTH_TOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
export FAKE_ACCOUNT_SID FAKE_AUTH_TOKEN
OUT=$(mktemp)
${FAKE_TASKSET:-} node "$HERE/../server.js" --port 0 --account-sid "$FAKE_ACCOUNT_SID" \
     --auth-token "$FAKE_AUTH_TOKEN" --callbacks off --record "${FAKE_RECORD:-summary}" > "$OUT" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$OUT"' EXIT INT TERM
i=0
until grep -q '"ready"' "$OUT"; do
  i=$((i + 1)); [ $i -lt 200 ] || { echo "imitation did not start" >&2; exit 1; }
  sleep 0.05
done
PORT=$(sed 's/.*"port":\([0-9]*\).*/\1/' "$OUT")
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
T0=$(cpu_ticks)
${WRK_TASKSET:-} wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" -s "$HERE/send.lua" "http://127.0.0.1:$PORT/"
T1=$(cpu_ticks)
STATS=$(curl -s "http://127.0.0.1:$PORT/_fake/stats")
echo "imitation stats: $STATS"
# CPU the imitation used per request, so the figure survives a machine shared with other load:
# sends/s one core of this machine can sustain = requests / CPU-seconds used.
REQS=$(echo "$STATS" | sed 's/^{"requests":\([0-9]*\).*/\1/')
HZ=$(getconf CLK_TCK)
awk -v r="$REQS" -v t="$((T1 - T0))" -v hz="$HZ" 'BEGIN {
  s = t / hz; printf "imitation CPU: %.2f s for %d requests = %.1f us/request -> %.0f sends/s per core\n", s, r, s * 1e6 / r, r / s }'
echo "imitation RSS: $(ps -o rss= -p $PID) KiB"
