#!/usr/bin/env bash
# bench/run.sh: SIP over UDP, Centrala against Kamailio, in one run on this machine.
#
#   bench/run.sh                 # full run (~15 min): build, users, rate searches, table
#   STEP_SECS=5 bench/run.sh     # quicker, coarser
#
# Builds the release binaries, creates 1000 REGISTER users (2000..2999) and the callee (3000)
# for both servers (password "bench<ext>", realm bench.local), starts Centrala on
# 127.0.0.1:5060 and Kamailio on 127.0.0.1:5062 (UDP), then for each server in turn:
#   - REGISTER/s: sipp register.xml (REGISTER, 401, REGISTER with digest, 200) from 127.0.0.1;
#   - calls/s: sipp uac_call.xml from the trusted peer 127.0.0.2 (no digest, like a trunk)
#     through the record-routing proxy to a sipp callee (uas_answer.xml) that first registered
#     extension 3000 with digest (register_callee.xml), INVITE/100/180/200/ACK/BYE/200;
# each a rate search (search.py: double until a failed call or a retransmission, then
# bisect). Every step also measures the server's CPU time per call (user+system over its
# whole process tree). Then both servers take turns at fixed REGISTER rates (cpu.py, each of
# CPU_RATES for CPU_SECS, CPU_REPS rounds) and the median CPU time per REGISTER is compared.
# On 2 cores sipp shares the machine with the server, so the highest rate is partly sipp's
# limit; the CPU time per call is the server's own cost. Prints a table and writes it to
# $BENCH_DIR/results.txt.
# The call runs use sipp's -default_behaviors all,-abortunexp: over UDP a proxy may reorder
# (Kamailio's parallel UDP workers deliver a 180 after the 200, a BYE before the ACK), which
# a phone accepts but sipp would count as a failed call. A message really missing still fails
# the call (-recv_timeout) or shows as a retransmission.
#
# Environment: BENCH_DIR (work folder, default /tmp/centrala-bench; users are created once and
# reused), STEP_SECS (seconds per rate step, default 10), START_RATE (default 200),
# KAMAILIO_CHILDREN (UDP worker processes, default 2 = the cores), SKIP_BUILD=1,
# CENTRALA_BIN (a centrala binary to use instead of target/release/centrala),
# TESTS (default "register calls cpu"; e.g. TESTS=calls runs only the call searches),
# CPU_RATES (default "5000 10000"), CPU_SECS (default 10), CPU_REPS (default 3).
# All traffic stays on 127.0.0.0/8; every sipp run is bounded (-m calls, -timeout).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/centrala-bench}
STEP_SECS=${STEP_SECS:-10}
START_RATE=${START_RATE:-200}
CHILDREN=${KAMAILIO_CHILDREN:-2}
TESTS=${TESTS:-register calls cpu}
CPU_RATES=${CPU_RATES:-5000 10000}
CPU_SECS=${CPU_SECS:-10}
CPU_REPS=${CPU_REPS:-3}
# sipp's socket buffers (its default is 64 KiB): with small ones the sipp callee, not the
# server, drops datagrams first at ~900 calls/s on this machine.
SIPP_BUF=${SIPP_BUF:-4194304}
DOMAIN=bench.local
TRUSTED=127.0.0.2
C_SIP=127.0.0.1:5060
C_HTTP=127.0.0.1:8091
K_SIP=127.0.0.1:5062
SIPP="$ROOT/bench/sipp"
mkdir -p "$WORK"
ulimit -n "$(ulimit -Hn)" || true

need() { command -v "$1" >/dev/null 2>&1; }
if ! need sipp || ! need kamailio || [ ! -e /usr/lib/x86_64-linux-gnu/kamailio/modules/db_sqlite.so ] || ! need gcc; then
    echo "== installing sipp (sip-tester), kamailio, kamailio-sqlite-modules, gcc"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester kamailio kamailio-sqlite-modules gcc libc6-dev >/dev/null
fi

if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== building release binaries"
    (cd "$ROOT" && cargo build --release -p centrala-gateway -p centrala-loadgen)
fi
CENTRALA=${CENTRALA_BIN:-$ROOT/target/release/centrala}
gcc -O2 -shared -fPIC -o "$WORK/md5only.so" "$SIPP/md5only.c" -ldl

echo "== users (created once, reused)"
python3 "$ROOT/bench/mkusers.py" --centrala "$CENTRALA" --data "$WORK/udp-data" --domain "$DOMAIN" \
    --first 2000 --count 1001 --kamailio-db "$WORK/kamailio.db" --trusted-peer "$TRUSTED"

PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    if [ -f "$WORK/kamailio.pid" ]; then
        kill "$(cat "$WORK/kamailio.pid")" 2>/dev/null || true
        rm -f "$WORK/kamailio.pid"
    fi
}
trap cleanup EXIT

echo "== starting Centrala on $C_SIP (udp) and Kamailio on $K_SIP (udp, children=$CHILDREN)"
RUST_LOG=warn "$CENTRALA" serve --listen "$C_HTTP" --sip-udp "$C_SIP" --trusted-peer "udp:$TRUSTED" \
    --flood-limit 4000000000 --data "$WORK/udp-data" --domain "$DOMAIN" --web-root /nonexistent \
    >"$WORK/centrala.log" 2>&1 &
C_PID=$!
PIDS+=("$C_PID")
kamailio -f "$ROOT/bench/kamailio/kamailio.cfg" -A "LISTEN=udp:$K_SIP" -A "DBURL=\"sqlite://$WORK/kamailio.db\"" \
    -A "REALM=\"$DOMAIN\"" -A "CHILDREN=$CHILDREN" -P "$WORK/kamailio.pid" -m 256 -M 32 -DD -E \
    >"$WORK/kamailio.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do
    curl -sf "http://$C_HTTP/healthz" >/dev/null 2>&1 && [ -f "$WORK/kamailio.pid" ] && break
    sleep 0.2
done
sleep 1
K_PID=$(cat "$WORK/kamailio.pid")
echo "   centrala pid $C_PID ($(git -C "$ROOT" rev-parse --short HEAD)), kamailio $(kamailio -v | head -1)"

declare -A RESULT CPU
search() { # name target server-pid scenario [more search.py args] -- [sipp args]
    local name=$1 target=$2 pid=$3 scenario=$4
    shift 4
    python3 "$SIPP/search.py" --name "$name" --target "$target" --scenario "$scenario" --server-pid "$pid" \
        --start "$START_RATE" --step-secs "$STEP_SECS" --preload "$WORK/md5only.so" --workdir "$WORK" "$@" \
        | tee "$WORK/$name.search.txt"
    RESULT[$name]=$(sed -n 's/^RESULT .* rate=\([0-9]*\).*/\1/p' "$WORK/$name.search.txt")
    CPU[$name]=$(sed -n 's/^RESULT .* cpu=\(.*\)$/\1/p' "$WORK/$name.search.txt")
}

bench_server() { # label target server-pid callee-port uac-port-base
    local label=$1 target=$2 pid=$3 uas_port=$4 base=$5
    if [[ " $TESTS " == *" register "* ]]; then
        echo "== $label: REGISTER/s"
        search "$label-register" "$target" "$pid" "$SIPP/register.xml" --local-port "$base" -- \
            -inf "$SIPP/users.csv" -key domain "$DOMAIN" -buff_size "$SIPP_BUF"
    fi
    [[ " $TESTS " == *" calls "* ]] || return 0
    echo "== $label: calls/s (callee 3000 registers from 127.0.0.1:$uas_port)"
    LD_PRELOAD="$WORK/md5only.so" timeout 30 sipp "$target" -sf "$SIPP/register_callee.xml" -inf "$SIPP/callee.csv" \
        -key domain "$DOMAIN" -i 127.0.0.1 -p "$uas_port" -m 1 -nostdin -timeout 20s \
        -trace_err -error_file "$WORK/$label-callee-reg-errors.log" >"$WORK/$label-callee-reg.out" 2>&1 \
        || { echo "callee registration failed: see $WORK/$label-callee-reg*"; exit 1; }
    rm -f "$WORK/$label-uas-stat.csv"
    timeout 1800 sipp "$target" -sf "$SIPP/uas_answer.xml" -key callee 3000 -i 127.0.0.1 -p "$uas_port" \
        -nostdin -timeout 1700s -trace_stat -stf "$WORK/$label-uas-stat.csv" -fd 1 -default_behaviors all,-abortunexp \
        -buff_size "$SIPP_BUF" \
        -trace_err -error_file "$WORK/$label-uas-errors.log" >"$WORK/$label-uas.out" 2>&1 &
    local uas=$!
    PIDS+=("$uas")
    sleep 1
    search "$label-calls" "$target" "$pid" "$SIPP/uac_call.xml" --local-ip "$TRUSTED" --local-port $((base + 100)) \
        --uas-stat "$WORK/$label-uas-stat.csv" -- -key callee 3000 -key domain "$DOMAIN" -default_behaviors all,-abortunexp \
        -buff_size "$SIPP_BUF"
    kill "$uas" 2>/dev/null || true
    wait "$uas" 2>/dev/null || true
}

bench_server centrala "$C_SIP" "$C_PID" 5070 6000
bench_server kamailio "$K_SIP" "$K_PID" 5072 7000

if [[ " $TESTS " == *" cpu "* ]]; then
    for rate in $CPU_RATES; do
        echo "== CPU time per REGISTER at $rate/s, servers taking turns, $CPU_REPS rounds"
        LD_PRELOAD= python3 "$SIPP/cpu.py" --rate "$rate" --secs "$CPU_SECS" --reps "$CPU_REPS" \
            --scenario "$SIPP/register.xml" --preload "$WORK/md5only.so" --workdir "$WORK" --local-port 8000 \
            --server "centrala=$C_SIP=$C_PID" --server "kamailio=$K_SIP=$K_PID" -- \
            -inf "$SIPP/users.csv" -key domain "$DOMAIN" -buff_size "$SIPP_BUF" | tee "$WORK/cpu-$rate.txt"
        CPU[centrala-fixed-$rate]=$(sed -n 's/^CPU name=centrala median_us=\([0-9.]*\).*/\1/p' "$WORK/cpu-$rate.txt")
        CPU[kamailio-fixed-$rate]=$(sed -n 's/^CPU name=kamailio median_us=\([0-9.]*\).*/\1/p' "$WORK/cpu-$rate.txt")
    done
fi

# CPU per call at the highest rate both servers passed in their searches ("rate:us,...").
common_cpu() { # centrala-list kamailio-list -> "rate centrala-us kamailio-us"
    python3 -c "
import sys
c = dict(x.split(':') for x in sys.argv[1].split(',') if x)
k = dict(x.split(':') for x in sys.argv[2].split(',') if x)
both = sorted((int(r) for r in c if r in k), reverse=True)
print(f'{both[0]} {c[str(both[0])]} {k[str(both[0])]}' if both else '- - -')" "$1" "$2"
}

ratio() { python3 -c "import sys; a,b=float(sys.argv[1] or 0),float(sys.argv[2] or 0); print(f'{a/b:.2f}x' if b else 'n/a')" "$1" "$2"; }
{
    echo
    echo "SIP over UDP on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $STEP_SECS s per step"
    echo "highest rate with 0 failed calls and 0 retransmissions (sipp, same machine):"
    printf '%-22s %12s %12s %10s\n' "" "Centrala" "Kamailio" "ratio"
    printf '%-22s %12s %12s %10s\n' "REGISTER/s (digest)" "${RESULT[centrala-register]:-}" "${RESULT[kamailio-register]:-}" \
        "$(ratio "${RESULT[centrala-register]:-}" "${RESULT[kamailio-register]:-}")"
    printf '%-22s %12s %12s %10s\n' "calls/s (INVITE..BYE)" "${RESULT[centrala-calls]:-}" "${RESULT[kamailio-calls]:-}" \
        "$(ratio "${RESULT[centrala-calls]:-}" "${RESULT[kamailio-calls]:-}")"
    echo "(Kamailio: $CHILDREN UDP workers; Centrala: tokio default runtime, $(nproc) worker threads)"
    echo
    echo "server CPU time per call (user+system, whole process tree; lower is better;"
    echo "ratio = Kamailio's CPU per call / Centrala's, i.e. calls per CPU-second relative to Kamailio):"
    printf '%-34s %12s %12s %10s\n' "" "Centrala" "Kamailio" "ratio"
    for rate in $CPU_RATES; do
        [ -n "${CPU[centrala-fixed-$rate]:-}" ] || continue
        printf '%-34s %9s us %9s us %10s\n' "REGISTER, $rate/s, median of $CPU_REPS" \
            "${CPU[centrala-fixed-$rate]}" "${CPU[kamailio-fixed-$rate]:-}" \
            "$(ratio "${CPU[kamailio-fixed-$rate]:-}" "${CPU[centrala-fixed-$rate]}")"
    done
    for t in register calls; do
        read -r r c k <<<"$(common_cpu "${CPU[centrala-$t]:-}" "${CPU[kamailio-$t]:-}")"
        [ "$r" = "-" ] && continue
        printf '%-34s %9s us %9s us %10s\n' "$t, search step at $r/s" "$c" "$k" "$(ratio "$k" "$c")"
    done
} | tee "$WORK/results.txt"
