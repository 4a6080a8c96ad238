#!/usr/bin/env bash
# bench/rtpengine.sh: the bench/bridge.sh workload (WebRTC callers <-> plain RTP echo, 50
# packets/s each way per call) relayed by rtpengine in userspace instead of the gateway, to
# compare the relay's CPU per call.
#
#   bench/rtpengine.sh                               # CALLS="200", 30 s windows
#   CALLS="200 500" SECONDS_PER_RUN=20 bench/rtpengine.sh
#
# For each count N: a fresh rtpengine (Debian's rtpengine-daemon, userspace only: no kernel
# table, --table=-1) with its media on 127.0.0.1 and its ng control socket on
# 127.0.0.1:22222; centrala-loadgen's `rtpengine` mode runs N WebRTC callers (str0m: full
# ICE, DTLS-SRTP, PCMU; the same callers as bench/bridge.sh) and sets up each call through
# the ng protocol instead of SIP: `offer` (rtpengine turns the WebRTC offer into plain
# RTP/AVP), `answer` with a plain RTP/AVP PCMU answer pointing at the loadgen's RTP echo
# (rtpengine answers the caller with ICE + DTLS-SRTP), `delete` at the end. Every packet
# goes caller -> rtpengine -> echo -> rtpengine -> caller; the loadgen reports loss, round
# trips and rtpengine's CPU time per call over the window.
#
# Environment: BENCH_DIR (default /tmp/centrala-rtpengine-bench), CALLS, SECONDS_PER_RUN
# (30), LOADGEN_THREADS (tokio workers of the load generator, default 2), RTPENGINE_THREADS
# (rtpengine's --num-threads, default 2: one per core, its own default here), LOADGEN_ARGS
# (more global loadgen options, e.g. --no-rtp-extensions), SKIP_BUILD=1.
# All traffic stays on 127.0.0.0/8.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/centrala-rtpengine-bench}
CALLS=${CALLS:-200}
SECS=${SECONDS_PER_RUN:-30}
NG=127.0.0.1:22222
mkdir -p "$WORK"
ulimit -n "$(ulimit -Hn)" || true

command -v rtpengine >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rtpengine-daemon >/dev/null
}
if [ -z "${SKIP_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release -p centrala-loadgen)
fi
LOADGEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/centrala-loadgen
rtpengine --version 2>&1 | head -1 | tee "$WORK/rtpengine-version.txt" || true

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; PIDS=(); }
trap cleanup EXIT

: >"$WORK/results.txt"
for n in $CALLS; do
    echo "== $n calls through rtpengine"
    # Userspace only (--table=-1: no kernel forwarding), no config file, foreground, logs to
    # a file at level 5 (notice). Timeouts above the run's length.
    rtpengine --config-file=none --table=-1 --foreground --log-stderr -L 5 \
        --interface=127.0.0.1 --listen-ng="$NG" --port-min=40000 --port-max=59999 \
        --num-threads="${RTPENGINE_THREADS:-2}" --timeout=60 --silent-timeout=3600 \
        --final-timeout=0 --delete-delay=0 \
        >"$WORK/rtpengine-$n.log" 2>&1 &
    RE=$!
    PIDS+=("$RE")
    sleep 1
    kill -0 "$RE" 2>/dev/null || { echo "rtpengine did not start: $WORK/rtpengine-$n.log"; exit 1; }
    "$LOADGEN" -n "$n" --ramp-concurrency 32 --ramp-timeout 180 --threads "${LOADGEN_THREADS:-2}" ${LOADGEN_ARGS:-} \
        --hard-limit 600 rtpengine --ng "$NG" --rtpengine-pid "$RE" --seconds "$SECS" --warmup 5 \
        | tee "$WORK/loadgen-$n.txt"
    grep '^RESULT' "$WORK/loadgen-$n.txt" | sed "s/^RESULT rtpengine/n=$n/" >>"$WORK/results.txt"
    cleanup
    sleep 2
done
echo "== results ($WORK/results.txt)"
cat "$WORK/results.txt"
