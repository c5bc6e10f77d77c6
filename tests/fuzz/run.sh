#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,
# undefined) straight from the sources - meson's gcc build cannot link
# libFuzzer - and runs one for N seconds, seeded from tests/corpora.
#   tests/fuzz/run.sh [seconds=30] [target=fuzz_mime]
# Prints the number of runs; exits non-zero when the fuzzer finds a crash,
# leak or sanitizer error (the reproducer is left in $OUT/crash-*).
# Needs clang 14 and libclang-rt-14-dev (Debian).
set -eu
SECS=${1:-30}
TARGET=${2:-fuzz_mime}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_OUT:-$ROOT/build-fuzz}
mkdir -p "$OUT/corpus-$TARGET"
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -std=gnu11"
PKGS="gmime-3.0 libxml-2.0 libuv"
case "$TARGET" in
fuzz_mime) SRCS="$ROOT/src/mime/*.c $ROOT/src/base/xalloc.c $ROOT/src/base/str.c $ROOT/src/base/err.c $ROOT/src/base/mailstatus.c" ;;
*) echo "unknown target $TARGET" >&2; exit 2 ;;
esac
# shellcheck disable=SC2046,SC2086
clang $CFLAGS -I"$ROOT/include" -I"$ROOT/src/mime" $(pkg-config --cflags $PKGS) \
    "$ROOT/tests/fuzz/$TARGET.c" $SRCS $(pkg-config --libs $PKGS) -o "$OUT/$TARGET"
# Seeds: every corpus message (copied so the fuzzer can add to its own dir).
find "$ROOT/tests/corpora" -name '*.eml' -exec cp {} "$OUT/corpus-$TARGET/" \;
LOG="$OUT/$TARGET.log"
set +e
(cd "$OUT" && ASAN_OPTIONS=detect_leaks=1 "./$TARGET" -max_total_time="$SECS" \
    -max_len=262144 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
    "corpus-$TARGET") >"$LOG" 2>&1
RC=$?
set -e
RUNS=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -n 1)
echo "$TARGET: ${RUNS:-0} runs in ${SECS}s, exit $RC (log: $LOG)"
if [ "$RC" -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|crash-|leak-|timeout-' "$LOG" | head -n 20 >&2
    exit 1
fi
