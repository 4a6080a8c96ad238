#!/usr/bin/env bash
# bench/ws.sh: SIP-over-WebSocket load on Centrala with centrala-loadgen (loopback only).
#
#   bench/ws.sh hold  [N] [SECONDS]      # N idle registered clients; gateway RSS per client
#   bench/ws.sh storm [N]                # restart the gateway under N clients; re-registration time
#   bench/ws.sh mix   [N] [SECONDS]      # registrations + calls at steady rates; latency percentiles
#
# Defaults: N=19000 (this sandbox caps open files at 20000 per process, see docs/benchmarks.md),
# hold 60 s, mix 600 s at REG_RATE=50/s and CALL_RATE=20/s (CALL_SECS=10 s each).
# Users 100000.. (password "bench<ext>") are created once in $BENCH_DIR/ws-data and reused.
# Clients are spread over SOURCES loopback addresses (127.0.0.2 ...; default N/100, at most
# 254) so that no address exceeds the gateway's default per-address limits (1024 connections,
# 500 requests per 2 s). Extra loadgen options can follow after --, e.g. -- --threads 2.
# CENTRALA_BIN / LOADGEN_BIN pick other binaries; GATEWAY_ARGS adds serve options.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/centrala-bench}
MODE=${1:-hold}
N=${2:-19000}
SECS=${3:-}
shift $(( $# > 3 ? 3 : $# ))
[ "${1:-}" = "--" ] && shift
DOMAIN=bench.local
HTTP=127.0.0.1:8090
FIRST=100000
SOURCES=${SOURCES:-$(( (N + 99) / 100 ))}
[ "$SOURCES" -gt 254 ] && SOURCES=254
CENTRALA=${CENTRALA_BIN:-$ROOT/target/release/centrala}
LOADGEN=${LOADGEN_BIN:-$ROOT/target/release/centrala-loadgen}
PIDFILE="$WORK/ws-gateway.pid"
mkdir -p "$WORK"
ulimit -n "$(ulimit -Hn)" || true

start_gateway() {
    RUST_LOG=${GATEWAY_LOG:-warn} nohup "$CENTRALA" serve --listen "$HTTP" --data "$WORK/ws-data" --domain "$DOMAIN" \
        --web-root /nonexistent ${GATEWAY_ARGS:-} >>"$WORK/ws-gateway.log" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 100); do
        curl -sf "http://$HTTP/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "gateway did not come up; see $WORK/ws-gateway.log" >&2
    return 1
}

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

case "$MODE" in
    restart-gateway)  # used by the storm: stop, start again, return once it answers
        stop_gateway
        start_gateway
        exit 0
        ;;
    hold|storm|mix) ;;
    *) echo "usage: $0 hold|storm|mix [N] [SECONDS] [-- loadgen options]" >&2; exit 2 ;;
esac

[ -x "$LOADGEN" ] && [ -x "$CENTRALA" ] || (cd "$ROOT" && cargo build --release -p centrala-gateway -p centrala-loadgen)
python3 "$ROOT/bench/mkusers.py" --centrala "$CENTRALA" --data "$WORK/ws-data" --domain "$DOMAIN" --first "$FIRST" --count "$N"

stop_gateway
: >"$WORK/ws-gateway.log"
start_gateway
trap stop_gateway EXIT
echo "gateway pid $(cat "$PIDFILE"), $N clients from $SOURCES source addresses, open-file limit $(ulimit -n)"

COMMON=(--url "ws://$HTTP/sip" --domain "$DOMAIN" -n "$N" --first-ext "$FIRST" --sources "$SOURCES")
case "$MODE" in
    hold)
        "$LOADGEN" "${COMMON[@]}" --gateway-pid "$(cat "$PIDFILE")" "$@" hold --seconds "${SECS:-60}"
        ;;
    storm)
        "$LOADGEN" "${COMMON[@]}" "$@" storm --restart-cmd "'$0' restart-gateway" --deadline 180 \
            --gateway-pid-file "$PIDFILE"
        ;;
    mix)
        "$LOADGEN" "${COMMON[@]}" --gateway-pid "$(cat "$PIDFILE")" "$@" mix --seconds "${SECS:-600}" \
            --reg-rate "${REG_RATE:-50}" --call-rate "${CALL_RATE:-20}" --call-secs "${CALL_SECS:-10}"
        ;;
esac
echo "gateway RSS at the end: $(grep VmRSS /proc/"$(cat "$PIDFILE")"/status | awk '{print $2}') kB"
grep -cE "WARN|ERROR" "$WORK/ws-gateway.log" | sed 's/^/gateway warnings+errors logged: /' || true
