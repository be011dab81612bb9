#!/usr/bin/env bash
# Token-endpoint figures for docs/benchmarks.md: code exchanges, refreshes (with rotation) and
# JWKS requests per second, on a release build with a fresh SQLite file on this machine.
# Usage: bash tools/bench-oidc.sh [requests per phase] [concurrency]
set -euo pipefail
cd "$(dirname "$0")/.."
RUST_LOG=warn cargo run --release -q -p tweestap --example oidc_bench -- "${1:-2000}" "${2:-16}"
