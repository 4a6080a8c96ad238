#!/usr/bin/env bash
# Runs inside the private network namespace (see run.sh).
set -euo pipefail
ip link set lo up
DATA=$(mktemp -d)
trap 'kill "${GW_PID:-}" 2>/dev/null || true; rm -rf "$DATA"' EXIT
export CENTRALA_DOMAIN=e2e.centrala
export CENTRALA_URL=http://127.0.0.1:8080
declare -A PW=([101]="e2e-pass-101" [102]="e2e-pass-102" [103]="e2e-pass-103")
for ext in 101 102 103; do
  "$CENTRALA_BIN" user add --data "$DATA" --ext "$ext" --name "E2E $ext" --password "${PW[$ext]}" >/dev/null
done
export CENTRALA_PASSWORDS="{\"101\":\"${PW[101]}\",\"102\":\"${PW[102]}\",\"103\":\"${PW[103]}\"}"
RUST_LOG=info "$CENTRALA_BIN" serve --listen 127.0.0.1:8080 --data "$DATA" --web-root "$ROOT/dist" \
  >"$E2E_ARTIFACTS/gateway.log" 2>&1 &
GW_PID=$!
for _ in $(seq 100); do
  node -e "fetch('$CENTRALA_URL/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" && break
  sleep 0.1
done
node --test --test-concurrency=1 "$ROOT"/tests/e2e/*.test.mjs "$@"
