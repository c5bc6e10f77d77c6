#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Instruction counts per durable inbound-SMS webhook, with callgrind: a
# deterministic figure on a shared or loaded machine, where wall-clock
# rates mean little.  Starts the daemon (a release build) under callgrind
# on a generated district, zeroes the counters once it is up, sends N
# pre-signed webhooks (unique MessageSids) over CONNS keep-alive
# connections, dumps, and prints instructions per stored message for the
# loop thread and the store writer thread, plus the top functions of each.
# Prints figures; never fails on cost.
#   tests/bench/webhook_callgrind.sh [BUILD_DIR] [N] [CONNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-bench}
n=${2:-4000}
conns=${3:-64}
cd "$here"
LOG_LEVEL=${LOG_LEVEL:-info}     # the default level of a real installation
. tests/bench/webhook_setup.sh
bench_start valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/cg.out"
before=$(sqlite3 "$work/backpack.db" "SELECT count(*) FROM message WHERE direction='in'")
callgrind_control -z "$pid" >/dev/null 2>&1
/usr/bin/python3 tests/bench/webhook_client.py --port "$port" --requests "$work/requests.tsv" \
  --conns "$conns"
callgrind_control -d "$pid" >/dev/null 2>&1
after=$(sqlite3 "$work/backpack.db" "SELECT count(*) FROM message WHERE direction='in'")
rows=$((after - before))
[ -z "${KEEP:-}" ] || echo "kept: $work"
echo "rows stored: $rows of $n requests"
curl -s "http://127.0.0.1:$port/metrics" | grep -E "^backpack_store_(commits|requests)_total" || true
for f in "$work"/cg.out.*-0[0-9]; do
  [ -f "$f" ] || continue
  total=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$f")
  [ -n "$total" ] && [ "$total" -gt 0 ] || continue
  echo "== thread ${f##*-}: $total instructions, $((total / (rows > 0 ? rows : 1))) per stored message"
  callgrind_annotate --inclusive=no --threshold=100 "$f" 2>/dev/null | grep -E "^ *[0-9,]+ \( *[0-9.]+%\) " | grep -v "(100.0%)" | head -"${TOP:-15}" || true
done
kill -TERM $pid; wait $pid || true
