#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# HTTP ceiling of the real daemon: wrk against GET /healthz (a read on the
# loop's read-only SQLite connection per request) and against a 404 (pure
# HTTP path: parse, route miss, respond).  Prints req/s and latency; never
# passes or fails on time.
#
#   tests/bench/http_ceiling.sh [BUILD_DIR] [DURATION_S] [CONNECTIONS]
#
# BUILD_DIR defaults to ./build; the daemon runs on 127.0.0.1 with an
# ephemeral port in a temp dir that is removed afterwards.
set -eu

BUILD=${1:-build}
DUR=${2:-5}
CONNS=${3:-64}
BIN=$BUILD/backpack
[ -x "$BIN" ] || { echo "no $BIN (build first)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 2; }

TMP=$(mktemp -d)
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null || true
        i=0
        while kill -0 "$PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

cat > "$TMP/backpack.ini" <<INI
[server]
listen = 127.0.0.1:0
max_connections = 4096
[store]
path = $TMP/backpack.db
[school]
name = Bench School
[log]
level = notice
INI

# level=notice hides the listening line; read the port from a debug-free
# info run instead: start at info, then nothing else is logged per request.
sed -i 's/level = notice/level = info/' "$TMP/backpack.ini"
"$BIN" serve -c "$TMP/backpack.ini" 2> "$TMP/log" &
PID=$!
PORT=
i=0
while [ -z "$PORT" ] && [ $i -lt 200 ]; do
    PORT=$(sed -n 's/.*event=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/log")
    [ -n "$PORT" ] || sleep 0.05
    i=$((i + 1))
done
[ -n "$PORT" ] || { echo "daemon did not start:" >&2; cat "$TMP/log" >&2; exit 1; }

echo "backpack $("$BIN" --version | cut -d' ' -f2) on 127.0.0.1:$PORT, $(nproc) CPUs, wrk -t2 -c$CONNS -d${DUR}s"
for path in /healthz /nope; do
    out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:$PORT$path")
    rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
    lat=$(printf '%s\n' "$out" | awk '/^    Latency/ {print $2; exit}')
    p99=$(printf '%s\n' "$out" | awk '/^     99%/ {print $2}')
    errs=$(printf '%s\n' "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    printf 'GET %-9s %10s req/s  avg latency %-8s p99 %-8s %s\n' "$path" "$rps" "$lat" "$p99" "$errs"
done
