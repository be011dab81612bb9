#!/usr/bin/env bash
# SMS queue benchmark for docs/benchmarks.md: codes queued in SQLite and handed to a real
# Kannel (bearerbox + smsbox + the fake SMS centre from kannel-extras, all on 127.0.0.1).
# Needs: apt-get install kannel kannel-extras. Usage: bash tools/bench-sms.sh [rate] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-100}"; secs="${2:-10}"
for b in /usr/sbin/bearerbox /usr/sbin/smsbox /usr/lib/kannel/test/fakesmsc; do
  [ -x "$b" ] || { echo "missing $b: apt-get install kannel kannel-extras" >&2; exit 1; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d)
admin=$(free_port); box=$(free_port); smsc=$(free_port); sendsms=$(free_port)
cat > "$dir/kannel.conf" <<CONF
group = core
admin-port = $admin
admin-interface = 127.0.0.1
admin-password = adminpw
admin-allow-ip = "127.0.0.1"
smsbox-port = $box
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "$dir/bearerbox.log"
log-level = 2
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
our-host = 127.0.0.1
port = $smsc
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $box
sendsms-port = $sendsms
sendsms-interface = 127.0.0.1
log-file = "$dir/smsbox.log"
log-level = 2

group = sendsms-user
username = bench
password = bench
user-allow-ip = "127.0.0.1"
max-messages = 3
concatenation = true
CONF
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not up" >&2; exit 1; }
/usr/sbin/bearerbox -v 2 "$dir/kannel.conf" >/dev/null 2>&1 & pids+=($!)
wait_port "$admin"; wait_port "$smsc"
/usr/lib/kannel/test/fakesmsc -v 4 -H 127.0.0.1 -r "$smsc" -i 0 -m 0 "0 0 text unused" >/dev/null 2>&1 & pids+=($!)
/usr/sbin/smsbox -v 2 "$dir/kannel.conf" >/dev/null 2>&1 & pids+=($!)
wait_port "$sendsms"
sleep 1
cargo run -q --release -p tweestap-sms --example queue_bench -- \
  "http://127.0.0.1:$sendsms/cgi-bin/sendsms" bench bench "$rate" "$secs"
