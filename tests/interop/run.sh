#!/usr/bin/env bash
# Independent-client interoperability tests: openid-client (Node), Authlib (Python) and nginx
# auth_request against the tweestap binary in $TEST_TWEESTAP_BIN (default: the debug build).
# Installs what they need (npm ci; a venv with requirements.txt) and exits non-zero when any
# suite fails. With CI=true a missing nginx is a failure; otherwise that test is skipped.
set -uo pipefail
cd "$(dirname "$0")"

if [ -z "${TEST_TWEESTAP_BIN:-}" ]; then
  for candidate in "${CARGO_TARGET_DIR:-$HOME/.cache/tweestap-target}/debug/tweestap" ../../target/debug/tweestap; do
    if [ -x "$candidate" ]; then TEST_TWEESTAP_BIN="$(cd "$(dirname "$candidate")" && pwd)/tweestap"; break; fi
  done
fi
export TEST_TWEESTAP_BIN="${TEST_TWEESTAP_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/tweestap-target}/debug/tweestap}"
if [ ! -x "$TEST_TWEESTAP_BIN" ]; then
  echo "tweestap binary not found at $TEST_TWEESTAP_BIN (cargo build -p tweestap first)" >&2
  exit 1
fi

set -e
# nginx for the auth_request test: required under CI=true, installed there when missing.
if [ "${CI:-}" = "true" ] && ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx
fi
npm ci --no-audit --no-fund --loglevel=error
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv || {
    # Debian's python3 needs python3-venv for this.
    [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && python3 -m venv .venv
  }
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
set +e

status=0
echo "== openid-client (Node) =="
node --test --test-concurrency=1 openid-client.test.mjs || status=1
echo "== nginx auth_request and forward-auth =="
node --test --test-concurrency=1 nginx.test.mjs || status=1
echo "== Authlib (Python) =="
.venv/bin/python -m unittest -v test_authlib.py || status=1

if [ "$status" -ne 0 ]; then echo "interop tests FAILED" >&2; fi
exit "$status"
