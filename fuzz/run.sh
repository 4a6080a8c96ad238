#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target for a while:
#
#   fuzz/run.sh [seconds-per-target]        (default 20)
#
# Exits non-zero when a target crashes (panics, or an assertion in it fails); the input that
# did it is left in fuzz/artifacts/<target>/ and its log in fuzz/target/logs/<target>.log.
# Reproduce one with `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>` from fuzz/.
#
# Corpora live in fuzz/corpus/<target>/ (not committed): each run seeds them from the SIP
# captures and RFC 4475 messages in sip/tests/vectors (and their SDP bodies), then keeps
# what the fuzzer found, so later runs start further.
#
# cargo-fuzz passes nightly-only flags (-Zsanitizer, -Cpasses=sancov-module); this project
# builds with stable Rust, so RUSTC_BOOTSTRAP=1 lets stable rustc accept them.
# FUZZ_SANITIZER=none skips AddressSanitizer (the SIP crate has no unsafe code).
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-20}"
sanitizer="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1
export PATH="$HOME/.cargo/bin:$PATH"
targets=(parse_message stream_framing sdp)
vectors=../sip/tests/vectors

# Seeds: every SIP vector for the message targets, every SDP body for the SDP target.
for t in parse_message stream_framing sdp; do mkdir -p "corpus/$t"; done
for f in "$vectors"/captures/*.sip "$vectors"/rfc4475/*.sip; do
  name="$(basename "$f")"
  cp -n "$f" "corpus/parse_message/$name"
  # stream_framing reads its first byte as a chunk-size seed: give it one.
  [ -e "corpus/stream_framing/$name" ] || { printf '\x05'; cat "$f" "$f"; } >"corpus/stream_framing/$name"
  if grep -q $'^v=0\r$' "$f"; then
    [ -e "corpus/sdp/$name" ] || sed -n $'/^v=0\r$/,$p' "$f" >"corpus/sdp/$name"
  fi
done

flags=(--sanitizer "$sanitizer" --release --debug-assertions)
printf '[fuzz] building %s (sanitizer: %s)\n' "${targets[*]}" "$sanitizer"
mkdir -p target/logs
if ! cargo fuzz build "${flags[@]}" >target/logs/build.log 2>&1; then
  tail -n 40 target/logs/build.log >&2
  echo "[fuzz] build failed" >&2
  exit 1
fi
failed=()
for t in "${targets[@]}"; do
  log="target/logs/$t.log"
  printf '[fuzz] %s for %ss ... ' "$t" "$secs"
  if cargo fuzz run "${flags[@]}" "$t" "corpus/$t" -- \
      -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
    speed="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
    cov="$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || true)"
    printf 'ok: %s runs, %s/s, %s\n' "${runs:-?}" "${speed:-?}" "${cov:-?}"
  else
    printf 'CRASH\n'
    grep -E 'panicked|ERROR|SUMMARY|Test unit written|Base64' "$log" | head -20 >&2 || true
    tail -n 30 "$log" >&2
    failed+=("$t")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "[fuzz] crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "[fuzz] no crashes"
