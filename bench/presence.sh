#!/usr/bin/env bash
# bench/presence.sh: presence fan-out on Centrala with centrala-loadgen (loopback only).
#
#   bench/presence.sh [N] [SECONDS] [-- loadgen options]
#
# One company of N people (users 100000.., password "bench<ext>", domain bench.local, in
# $BENCH_DIR/presence-N: a data folder per N, so the directory holds exactly N people). Every
# client registers and SUBSCRIBEs to sip:directory@bench.local (RFC 4662 list); the logins
# are spread over LOGIN_SECS (default 60: "N people log in within a minute"), and the
# NOTIFYs of that login storm are counted (full state / partial, bytes, per client). Then
# client 0 PUBLISHes do not disturb and available in turn every CHANGE_MS (default 2000) for
# SECONDS (default 60) and every watcher times change -> NOTIFY.
#
# Clients are spread over SOURCES loopback addresses (default N/25, at most 254): the flood
# guard counts every message of an address (NOTIFY answers too), 500 per 2 s by default.
# CENTRALA_BIN / LOADGEN_BIN pick other binaries; GATEWAY_ARGS adds serve options;
# SKIP_BUILD=1 skips `cargo build`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/centrala-bench}
N=${1:-1000}
SECS=${2:-60}
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
DOMAIN=bench.local
HTTP=127.0.0.1:8091
FIRST=100000
DATA="$WORK/presence-$N"
SOURCES=${SOURCES:-$(( (N + 24) / 25 ))}
[ "$SOURCES" -gt 254 ] && SOURCES=254
CENTRALA=${CENTRALA_BIN:-$ROOT/target/release/centrala}
LOADGEN=${LOADGEN_BIN:-$ROOT/target/release/centrala-loadgen}
LOG="$WORK/presence-gateway.log"
PIDFILE="$WORK/presence-gateway.pid"
mkdir -p "$WORK"
ulimit -n "$(ulimit -Hn)" || true

stop_gateway() {
    [ -f "$PIDFILE" ] || return 0
    local pid
    pid=$(cat "$PIDFILE")
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
}

if [ -z "${SKIP_BUILD:-}" ] && [ -z "${CENTRALA_BIN:-}${LOADGEN_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -p centrala-gateway -p centrala-loadgen)
fi
python3 "$ROOT/bench/mkusers.py" --centrala "$CENTRALA" --data "$DATA" --domain "$DOMAIN" --first "$FIRST" --count "$N"
# The directory is per company: every user must be in one company of domain bench.local.
python3 - "$DATA/centrala.db" "$N" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
rows = con.execute("SELECT company_id, COUNT(*) FROM employees GROUP BY company_id").fetchall()
if len(rows) != 1 or rows[0][1] != int(sys.argv[2]):
    sys.exit(f"expected {sys.argv[2]} people in one company, found {rows}")
# A previous run may have left the probe on do not disturb: everyone starts available.
with con:
    con.execute("UPDATE employees SET presence = 'available' WHERE presence != 'available'")
print(f"one company (id {rows[0][0]}) of {rows[0][1]} people")
EOF

stop_gateway
: >"$LOG"
RUST_LOG=${GATEWAY_LOG:-warn} nohup "$CENTRALA" serve --listen "$HTTP" --data "$DATA" --domain "$DOMAIN" \
    --web-root /nonexistent ${GATEWAY_ARGS:-} >>"$LOG" 2>&1 &
echo $! >"$PIDFILE"
trap stop_gateway EXIT
for _ in $(seq 100); do
    curl -sf "http://$HTTP/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "http://$HTTP/healthz" >/dev/null || { echo "gateway did not come up; see $LOG" >&2; exit 1; }
GW=$(cat "$PIDFILE")
echo "gateway pid $GW, $N clients from $SOURCES source addresses, open-file limit $(ulimit -n)"

"$LOADGEN" --url "ws://$HTTP/sip" --domain "$DOMAIN" -n "$N" --first-ext "$FIRST" --sources "$SOURCES" \
    --gateway-pid "$GW" --hard-limit $(( SECS + ${LOGIN_SECS:-60} + 600 )) "$@" \
    presence --seconds "$SECS" --changes-every-ms "${CHANGE_MS:-2000}" --login-seconds "${LOGIN_SECS:-60}"

echo "gateway RSS at the end: $(grep VmRSS /proc/"$GW"/status | awk '{print $2}') kB"
curl -sf "http://$HTTP/metrics" 2>/dev/null | grep -iE "notif|subscri|presence" | grep -v "^#" | sed 's/^/gateway metric: /' || true
grep -cE "WARN|ERROR" "$LOG" | sed 's/^/gateway warnings+errors logged: /' || true
grep -E "WARN|ERROR" "$LOG" | sed -E 's/^[^ ]+ +//' | cut -c1-160 | sort | uniq -c | sort -rn | head -10 || true
