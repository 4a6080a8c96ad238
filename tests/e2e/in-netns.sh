#!/usr/bin/env bash
# Runs inside the private network namespace (see run.sh).
set -euo pipefail
ip link set lo up
# Besides lo, a veth pair with a TEST-NET-1 address (RFC 5737) and a default route: baresip
# (and Firefox's ICE) want an interface other than loopback. Its peer end has no address and
# the namespace forwards nothing, so traffic still never leaves this namespace.
ip link add v0 type veth peer name v1
ip addr add 192.0.2.1/24 dev v0
ip link set v0 up
ip link set v1 up
ip route add default via 192.0.2.2 dev v0
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
export CENTRALA_DOMAIN=e2e.centrala
export CENTRALA_URL=http://127.0.0.1:8080
declare -A PW=([101]="e2e-pass-101" [102]="e2e-pass-102" [103]="e2e-pass-103")
declare -A ROLE=([101]="admin" [102]="user" [103]="user")
for ext in 101 102 103; do
  # --password: the SIP password (JsSIP and SIP.js log in with it); --email and
  # --web-password: the web app's login (e2e101@example.com and the same password).
  # 101 administers the company (onboarding.test.mjs).
  "$CENTRALA_BIN" user add --data "$DATA" --ext "$ext" --name "E2E $ext" --password "${PW[$ext]}" \
    --email "e2e$ext@example.com" --web-password "${PW[$ext]}" --role "${ROLE[$ext]}" >/dev/null
done
export CENTRALA_PASSWORDS="{\"101\":\"${PW[101]}\",\"102\":\"${PW[102]}\",\"103\":\"${PW[103]}\"}"
export CENTRALA_DATA_DIR="$DATA"
# Each test file starts (and may restart) its own gateway on 127.0.0.1:8080: see lib.mjs.
# E2E_FILES picks test files (default: all), e.g. E2E_FILES=tests/e2e/baresip.test.mjs.
if [ -n "${E2E_FILES:-}" ]; then read -ra files <<<"$E2E_FILES"; else files=("$ROOT"/tests/e2e/*.test.mjs); fi
node --test --test-concurrency=1 "${files[@]}" "$@"
