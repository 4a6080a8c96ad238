#!/usr/bin/env bash
# Browser end-to-end tests: headless Chromium (Debian) driven by playwright-core, against a
# real gateway, inside a private network namespace that has only loopback, so WebRTC's ICE
# candidates and all traffic stay on 127.0.0.1. Build first (there is no registry inside).
set -euo pipefail
cd "$(dirname "$0")/../.."
export ROOT=$PWD
export PATH="$ROOT/tools/node_modules/.bin:$PATH"
export CENTRALA_BIN="${CENTRALA_BIN:-$ROOT/target/release/centrala}"
export E2E_ARTIFACTS="$ROOT/target/e2e"
mkdir -p "$E2E_ARTIFACTS"
[ -x "$CENTRALA_BIN" ] || { echo "e2e: $CENTRALA_BIN missing: cargo build --release -p centrala-gateway" >&2; exit 1; }
[ -f "$ROOT/dist/index.html" ] || { echo "e2e: dist/ missing: trunk build --release" >&2; exit 1; }
# JsSIP and SIP.js, bundled for the browser from their npm packages.
esbuild "$ROOT/tools/node_modules/jssip/lib/JsSIP.js" --bundle --format=iife --global-name=JsSIP \
  --outfile="$E2E_ARTIFACTS/jssip.js" --log-level=warning
esbuild "$ROOT/tools/node_modules/sip.js/lib/index.js" --bundle --format=iife --global-name=SIP \
  --outfile="$E2E_ARTIFACTS/sipjs.js" --log-level=warning
if [ "$(id -u)" = 0 ]; then ns=(unshare -n); else ns=(unshare -rn); fi
exec "${ns[@]}" -- bash "$ROOT/tests/e2e/in-netns.sh" "$@"
