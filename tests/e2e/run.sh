#!/usr/bin/env bash
# End-to-end tests against a real gateway: headless Chromium (Debian) driven by playwright-core,
# and two baresip softphones over SIP/UDP, inside a private network namespace: loopback plus a
# veth pair on 192.0.2.1 (TEST-NET-1) for clients that want a non-loopback interface (see
# in-netns.sh), so all traffic stays inside. Build first (there is no registry inside).
# E2E_FILES="tests/e2e/baresip.test.mjs ..." runs only those files.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ROOT=$PWD
export PATH="$ROOT/tools/node_modules/.bin:$PATH"
export CENTRALA_BIN="${CENTRALA_BIN:-$ROOT/target/release/centrala}"
export E2E_ARTIFACTS="$ROOT/target/e2e"
mkdir -p "$E2E_ARTIFACTS"
[ -x "$CENTRALA_BIN" ] || { echo "e2e: $CENTRALA_BIN missing: cargo build --release -p centrala-gateway" >&2; exit 1; }
# Only the baresip test needs neither the web app nor the npm tools.
browser=1
if [ -n "${E2E_FILES:-}" ]; then
  browser=0
  for f in $E2E_FILES; do [[ "$f" == *baresip.test.mjs ]] || browser=1; done
fi
if [ "$browser" = 1 ]; then
  [ -f "$ROOT/dist/index.html" ] || { echo "e2e: dist/ missing: trunk build --release" >&2; exit 1; }
  # JsSIP and SIP.js, bundled for the browser from their npm packages.
  esbuild "$ROOT/tools/node_modules/jssip/lib/JsSIP.js" --bundle --format=iife --global-name=JsSIP \
    --outfile="$E2E_ARTIFACTS/jssip.js" --log-level=warning
  esbuild "$ROOT/tools/node_modules/sip.js/lib/index.js" --bundle --format=iife --global-name=SIP \
    --outfile="$E2E_ARTIFACTS/sipjs.js" --log-level=warning
fi
if [ "$(id -u)" = 0 ]; then ns=(unshare -n); else ns=(unshare -rn); fi
exec "${ns[@]}" -- bash "$ROOT/tests/e2e/in-netns.sh" "$@"
