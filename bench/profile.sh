#!/usr/bin/env bash
# bench/profile.sh: where the gateway's time goes under sipp load over UDP.
#
#   bench/profile.sh register 2400      # REGISTER with digest at 2400/s
#   bench/profile.sh calls 800          # trusted-peer calls at 800/s
#
# Starts Centrala on 127.0.0.1:5065 (UDP) with the users of bench/run.sh ($BENCH_DIR/udp-data,
# run bench/run.sh once first), runs sipp for 25 s at the given rate, records the gateway with
# `perf record -e cpu-clock -g` at PERF_FREQ (default 499) Hz (software clock: this VM has no hardware counters) for 15 s in
# the middle, and prints the hottest functions (self and children) and per-thread CPU time.
# Without perf, falls back to valgrind --tool=callgrind on a 5 s run at a tenth of the rate.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/centrala-bench}
WHAT=${1:-register}
RATE=${2:-2000}
CENTRALA=${CENTRALA_BIN:-$ROOT/target/release/centrala}
SIPP="$ROOT/bench/sipp"
SIP=127.0.0.1:5065
OUT="$WORK/profile-$WHAT-$RATE"
mkdir -p "$OUT"
[ -f "$WORK/udp-data/centrala.db" ] || { echo "run bench/run.sh first (it creates the users)" >&2; exit 1; }
[ -f "$WORK/md5only.so" ] || gcc -O2 -shared -fPIC -o "$WORK/md5only.so" "$SIPP/md5only.c" -ldl
ulimit -n "$(ulimit -Hn)" || true

USE_PERF=1
perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1 || USE_PERF=
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

SECS=25
if [ -n "$USE_PERF" ]; then
    RUST_LOG=warn "$CENTRALA" serve --listen 127.0.0.1:8095 --sip-udp "$SIP" --trusted-peer udp:127.0.0.2 \
        --flood-limit 4000000000 --data "$WORK/udp-data" --domain bench.local --web-root /nonexistent \
        >"$OUT/centrala.log" 2>&1 &
else
    SECS=5
    RATE=$((RATE / 10))
    RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "$CENTRALA" serve \
        --listen 127.0.0.1:8095 --sip-udp "$SIP" --trusted-peer udp:127.0.0.2 --flood-limit 4000000000 \
        --data "$WORK/udp-data" --domain bench.local --web-root /nonexistent >"$OUT/centrala.log" 2>&1 &
fi
GW=$!
PIDS+=("$GW")
sleep 3
SIPP_COMMON=(-r "$RATE" -m $((RATE * SECS)) -nostdin -timeout $((SECS + 20))s -trace_stat -stf "$OUT/sipp-stat.csv" -fd 5)
if [ "$WHAT" = calls ]; then
    LD_PRELOAD="$WORK/md5only.so" timeout 30 sipp "$SIP" -sf "$SIPP/register_callee.xml" -inf "$SIPP/callee.csv" \
        -key domain bench.local -i 127.0.0.1 -p 5075 -m 1 -nostdin -timeout 20s >"$OUT/callee-reg.out" 2>&1
    timeout $((SECS + 60)) sipp "$SIP" -sf "$SIPP/uas_answer.xml" -key callee 3000 -i 127.0.0.1 -p 5075 -nostdin \
        -timeout $((SECS + 50))s -default_behaviors all,-abortunexp >"$OUT/uas.out" 2>&1 &
    PIDS+=("$!")
    sleep 1
    timeout $((SECS + 40)) sipp "$SIP" -sf "$SIPP/uac_call.xml" -key callee 3000 -key domain bench.local -i 127.0.0.2 \
        -p 5076 -default_behaviors all,-abortunexp "${SIPP_COMMON[@]}" >"$OUT/sipp.out" 2>&1 &
else
    LD_PRELOAD="$WORK/md5only.so" timeout $((SECS + 40)) sipp "$SIP" -sf "$SIPP/register.xml" -inf "$SIPP/users.csv" \
        -key domain bench.local -i 127.0.0.1 -p 5076 "${SIPP_COMMON[@]}" >"$OUT/sipp.out" 2>&1 &
fi
LOAD=$!
PIDS+=("$LOAD")
RSS0=$(awk '/VmRSS/ {print $2}' /proc/$GW/status)
if [ -n "$USE_PERF" ]; then
    sleep 5
    grep -h "" /proc/$GW/task/*/stat | awk '{print $2, $14+$15}' >"$OUT/threads-before.txt"
    perf record -e cpu-clock -F ${PERF_FREQ:-499} -g -p "$GW" -o "$OUT/perf.data" -- sleep 15 >"$OUT/perf-record.log" 2>&1
    grep -h "" /proc/$GW/task/*/stat | awk '{print $2, $14+$15}' >"$OUT/threads-after.txt"
fi
wait "$LOAD" || true
RSS1=$(awk '/VmRSS/ {print $2}' /proc/$GW/status)
echo "gateway RSS: $RSS0 kB at the start of the load, $RSS1 kB at its end"
tail -1 "$OUT/sipp-stat.csv" | tr ';' '\n' | paste -d' ' <(head -1 "$OUT/sipp-stat.csv" | tr ';' '\n') - \
    | grep -E "^(SuccessfulCall|FailedCall|Retransmissions|CallRate)\(C\)" || true
if [ -n "$USE_PERF" ]; then
    echo "== CPU ticks per gateway thread during the 15 s record (utime+stime, 100/s)"
    join <(sort "$OUT/threads-before.txt") <(sort "$OUT/threads-after.txt") | awk '{printf "%-20s %6d\n", $1, $3-$2}' | sort -k2 -nr
    echo "== hottest functions, self time"
    perf report -i "$OUT/perf.data" --stdio --no-children --sort symbol -g none --percent-limit 1 2>/dev/null \
        | grep -v "^#" | grep -v "^$" | head -40 | tee "$OUT/self.txt"
    echo "== hottest, with callees (children)"
    perf report -i "$OUT/perf.data" --stdio --children --sort symbol -g none --percent-limit 4 2>/dev/null \
        | grep -v "^#" | grep -v "^$" | head -40 | tee "$OUT/children.txt"
else
    kill -INT "$GW"; sleep 2
    callgrind_annotate "$OUT/callgrind.out" | head -60
fi
echo "(full data in $OUT)"
