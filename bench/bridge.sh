#!/usr/bin/env bash
# bench/bridge.sh: concurrent bridged calls (WebRTC <-> plain RTP) through the gateway's media
# bridge, at 50 packets/s each way per call.
#
#   bench/bridge.sh              # CALLS="100 250 500", 30 s windows
#   CALLS="500" SECONDS_PER_RUN=60 bench/bridge.sh
#
# For each count N: a fresh gateway (release build) with the media plane on 127.0.0.1; a sipp
# phone registers extension 3000 over UDP with digest and answers every call with plain RTP
# (PCMU), echoing every RTP packet it gets (-rtp_echo); centrala-loadgen's `bridge` mode runs
# N WebRTC callers (str0m: full ICE, DTLS-SRTP, PCMU; SIP over WebSocket, extensions 3001..),
# each calling 3000. The gateway answers each caller with a WebRTC leg and the phone with a
# plain RTP leg and relays between them. Every packet's payload holds its send time: the
# loadgen reports the loss and the round trip (through the bridge twice, plus the echo), and
# the gateway's CPU time per call over the window.
#
# Environment: BENCH_DIR (default /tmp/centrala-bridge-bench), CALLS, SECONDS_PER_RUN (30),
# LOADGEN_THREADS (tokio workers of the load generator, default 2),
# LOADGEN_ARGS (more global loadgen options, e.g. --no-rtp-extensions),
# SKIP_BUILD=1; CARGO_TARGET_DIR is honoured. All traffic stays on 127.0.0.0/8.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/centrala-bridge-bench}
CALLS=${CALLS:-100 250 500}
SECS=${SECONDS_PER_RUN:-30}
DOMAIN=bench.local
C_SIP=127.0.0.1:5070
C_HTTP=127.0.0.1:8092
UAS_PORT=5094
ECHO_PORT=16000
SIPP="$ROOT/bench/sipp"
mkdir -p "$WORK"
ulimit -n "$(ulimit -Hn)" || true

command -v sipp >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester gcc libc6-dev >/dev/null
}
if [ -z "${SKIP_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release -p centrala-gateway -p centrala-loadgen)
fi
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CENTRALA=${CENTRALA_BIN:-$TARGET/release/centrala}
LOADGEN=$TARGET/release/centrala-loadgen
gcc -O2 -shared -fPIC -o "$WORK/md5only.so" "$SIPP/md5only.c" -ldl

MAX=0
for n in $CALLS; do [ "$n" -gt "$MAX" ] && MAX=$n; done
DATA=$WORK/data-$MAX
if [ ! -f "$DATA/centrala.db" ]; then
    python3 "$ROOT/bench/mkusers.py" --centrala "$CENTRALA" --data "$DATA" --domain "$DOMAIN" \
        --first 3000 --count $((MAX + 1))
fi

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; PIDS=(); }
trap cleanup EXIT

: >"$WORK/results.txt"
for n in $CALLS; do
    echo "== $n bridged calls"
    RUST_LOG=warn "$CENTRALA" serve --listen "$C_HTTP" --sip-udp "$C_SIP" --data "$DATA" \
        --domain "$DOMAIN" --web-root /nonexistent --flood-limit 4000000000 \
        --media-address 127.0.0.1 --media-ports 30000-33999 --media-timeout 30 \
        >"$WORK/centrala-$n.log" 2>&1 &
    GW=$!
    PIDS+=("$GW")
    for _ in $(seq 50); do curl -sf "http://$C_HTTP/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
    LD_PRELOAD="$WORK/md5only.so" timeout 30 sipp "$C_SIP" -sf "$SIPP/register_callee.xml" -inf "$SIPP/callee.csv" \
        -key domain "$DOMAIN" -i 127.0.0.1 -p "$UAS_PORT" -m 1 -nostdin -timeout 20s \
        >"$WORK/callee-reg-$n.out" 2>&1 || { echo "callee registration failed: $WORK/callee-reg-$n.out"; exit 1; }
    timeout 900 sipp "$C_SIP" -sf "$SIPP/uas_answer.xml" -key callee 3000 -i 127.0.0.1 -p "$UAS_PORT" \
        -mi 127.0.0.1 -mp "$ECHO_PORT" -rtp_echo -nostdin -timeout 800s -buff_size 4194304 \
        -default_behaviors all,-abortunexp >"$WORK/uas-$n.out" 2>&1 &
    PIDS+=("$!")
    sleep 1
    "$LOADGEN" --url "ws://$C_HTTP/sip" --domain "$DOMAIN" -n "$n" --first-ext 3001 \
        --ramp-concurrency 32 --ramp-timeout 180 --gateway-pid "$GW" --threads "${LOADGEN_THREADS:-2}" ${LOADGEN_ARGS:-} --hard-limit 600 \
        bridge --callee 3000 --seconds "$SECS" --warmup 5 | tee "$WORK/loadgen-$n.txt"
    grep '^RESULT' "$WORK/loadgen-$n.txt" | sed "s/^RESULT bridge/n=$n/" >>"$WORK/results.txt"
    cleanup
    sleep 2
done
echo "== results ($WORK/results.txt)"
cat "$WORK/results.txt"
