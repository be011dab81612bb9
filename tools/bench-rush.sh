#!/usr/bin/env bash
# The morning rush, measured from outside (issue 13): a release `tweestap serve` on a fresh
# SQLite file with <students> imported students (each with an 06 number), and the load
# generator `tweestap-load` (crates/loadgen) signing them in: page, password, code page, the
# code from the outbox file, code, arrival. Each quoted argument after the student count is one
# load (tweestap-load rush options); all loads run ROUNDS times (default 3), interleaved, each
# with students nobody signed in with before.
#
#   bash tools/bench-rush.sh 20000 "--rate 33 --seconds 30" "--rate 130 --seconds 30 --ceiling-secs 5"
#   bash tools/bench-rush.sh 2000 "--burst 1000 --settle-secs 10"
#
# Prints the server's idle memory after start-up, and each load's report (see
# docs/benchmarks.md for what the lines mean). With DATABASE_URL=postgres://… the server runs
# on that (empty) PostgreSQL database instead of a fresh SQLite file.
set -euo pipefail
cd "$(dirname "$0")/.."
students="${1:?usage: bench-rush.sh <students> \"<rush options>\" ...}"
shift
rounds="${ROUNDS:-3}"
cargo build --release -p tweestap -p tweestap-load >/dev/null
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/tweestap"
load="$target/release/tweestap-load"
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
password="Ochtendspits-0825"
database_line=""
if [ -n "${DATABASE_URL:-}" ]; then database_line="database_url = \"$DATABASE_URL\""; fi
cat > "$dir/tweestap.toml" <<TOML
listen = "127.0.0.1:$port"
public_url = "http://localhost:$port"
data_dir = "$dir"
$database_line
[policy.sms]
# Every student signs in from the one loopback address: the network's budget would otherwise
# stop the rush after 200 codes, the installation's after 2,000.
max_sends_per_network_per_hour = 1000000
max_sends_per_country_per_hour = 1000000
max_sends_per_hour = 1000000
max_sends_per_day = 1000000
[[sms.gateways]]
kind = "outbox"
path = "$dir/outbox.jsonl"
TOML
"$load" students --count "$students" --password "$password" --out "$dir/students.csv" >/dev/null
start=$(date +%s.%N)
"$bin" --config "$dir/tweestap.toml" user import "$dir/students.csv" | tail -1
echo "import of $students pre-hashed students: $(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s"
RUST_LOG=warn "$bin" --config "$dir/tweestap.toml" serve >"$dir/serve.log" 2>&1 & pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
sleep 2
echo "idle RSS after start-up: $(ps -o rss= -p $pid | tr -d ' ') KiB"
first=0
for round in $(seq "$rounds"); do
  for spec in "$@"; do
    echo
    echo "=== round $round: $spec"
    # shellcheck disable=SC2086 # each spec is a list of options
    "$load" rush --url "http://127.0.0.1:$port" --students "$dir/students.csv" \
      --password "$password" --outbox "$dir/outbox.jsonl" --pid "$pid" --first "$first" $spec \
      | tee "$dir/last.txt"
    used=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read().split("RESULT ",1)[1])["offered"])' <"$dir/last.txt")
    first=$((first + used))
  done
done
echo
echo "RSS at the end: $(ps -o rss= -p $pid | tr -d ' ') KiB"
