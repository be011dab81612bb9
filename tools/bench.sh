#!/usr/bin/env bash
# Load and memory figures for docs/benchmarks.md, measured on a release build of `tweestap serve`
# with a fresh SQLite database on this machine:
#   - idle memory (RSS) after start-up, and after load;
#   - pages per second for GET /sign-in (wrk; every request without a cookie, so every one
#     creates a session row: the worst case);
#   - how long a failed sign-in takes for an existing and for an unknown user (they must match).
# Needs: wrk (apt-get install wrk), python3. Usage: bash tools/bench.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
cargo build --release -p tweestap >/dev/null
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target/release/tweestap"
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/tweestap.toml" <<TOML
listen = "127.0.0.1:$port"
public_url = "http://localhost:$port"
data_dir = "$dir"
[policy.throttle]
# The timing comparison makes many failed attempts on purpose.
password_failures_per_username = 1000000
password_failures_per_ip = 1000000
[[sms.gateways]]
kind = "outbox"
path = "$dir/outbox.jsonl"
TOML
echo "bench-password-1" | "$bin" --config "$dir/tweestap.toml" user add bench --display-name Bench --password-stdin >/dev/null
RUST_LOG=warn "$bin" --config "$dir/tweestap.toml" serve & pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
sleep 1
echo "idle RSS after start-up: $(ps -o rss= -p $pid | tr -d ' ') KiB"
echo "--- wrk -t2 -c32 -d${secs}s GET /sign-in"
wrk -t2 -c32 -d"${secs}s" --latency "http://127.0.0.1:$port/sign-in" | sed -n '1,20p'
echo "RSS after load: $(ps -o rss= -p $pid | tr -d ' ') KiB"
echo "--- failed sign-in: existing user vs unknown user (wrong password), 100 each, interleaved"
python3 - "$port" <<'PY'
import http.client, re, statistics, sys, time, urllib.parse
port = int(sys.argv[1])
def attempt(username):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("GET", "/sign-in")
    r = c.getresponse(); body = r.read().decode()
    cookie = r.getheader("set-cookie").split(";")[0]
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)
    form = urllib.parse.urlencode({"csrf": csrf, "username": username, "password": "wrong-password"})
    t = time.perf_counter()
    c.request("POST", "/sign-in", form, {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse(); r.read()
    elapsed = (time.perf_counter() - t) * 1000
    assert r.status == 422, r.status
    return elapsed
known, unknown = [], []
for i in range(100):
    known.append(attempt("bench")); unknown.append(attempt(f"nobody{i}"))
for name, xs in (("existing user", known), ("unknown user ", unknown)):
    xs.sort()
    print(f"{name}: median {statistics.median(xs):.1f} ms, p90 {xs[89]:.1f} ms")
PY
