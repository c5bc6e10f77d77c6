#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs what Backpack needs on Debian 12, idempotently.
#   deploy/install-deps.sh          build + run dependencies
#   deploy/install-deps.sh --demo   also the local servers of the demo (SMS imitation, SMTP, IMAP)
#   deploy/install-deps.sh --test   also what the test suite needs (servers, browser, npm packages)
# Runs apt-get only when something is missing, so a second run is quick and
# needs no network.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

build_pkgs=(meson ninja-build pkg-config gcc g++ python3 sqlite3 tzdata
  libuv1-dev libhttp-parser-dev libsqlite3-dev libinih-dev libsodium-dev
  libssl-dev libcsv-dev libphonenumber-dev libcurl4-openssl-dev libesmtp-dev
  libicu-dev icu-devtools libjansson-dev libsimdjson-dev libgmime-3.0-dev libxml2-dev
  libprotobuf-dev)
test_pkgs=(python3-pytest python3-aiosmtpd python3-uvloop dovecot-imapd wrk curl procps openssl
  clang libclang-rt-14-dev)

demo_pkgs=(python3-aiosmtpd dovecot-imapd procps)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--demo" ]; then
  want+=("${demo_pkgs[@]}")
  command -v node >/dev/null 2>&1 || want+=(nodejs)
fi
if [ "${1:-}" = "--test" ]; then
  want+=("${test_pkgs[@]}")
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # The Debian dovecot packages try to start the system service; tests run
  # their own instance, so keep the system one from starting.
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The system dovecot (if the package started it) is not used by Backpack's
# tests, which run their own instance on loopback ports.

if [ "${1:-}" = "--test" ] && [ -f "$here/tests/package.json" ]; then
  if [ ! -d "$here/tests/node_modules" ] || \
     [ "$here/tests/package-lock.json" -nt "$here/tests/node_modules" ]; then
    echo "install-deps: npm ci in tests/" >&2
    (cd "$here/tests" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$here/tests/node_modules"
  fi
fi
