#!/usr/bin/env bash
# Installs what building (and, with --test, testing) Centrala needs, skipping what is already
# there. Safe to run again; used by scripts/run.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/tools/node_modules/.bin:$PATH"

log() { printf '\033[1m[install]\033[0m %s\n' "$*"; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

apt_pkgs=()
command -v npm >/dev/null || apt_pkgs+=(nodejs npm)
command -v cc >/dev/null || apt_pkgs+=(gcc)
# The media bridge transcodes Opus <-> G.711 with libopus (the `opus` crate finds it by pkg-config).
pkg-config --exists opus 2>/dev/null || apt_pkgs+=(libopus-dev pkg-config)
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null || apt_pkgs+=(chromium)
  command -v chromedriver >/dev/null || apt_pkgs+=(chromium-driver)
  command -v unshare >/dev/null || apt_pkgs+=(util-linux)
  command -v ip >/dev/null || apt_pkgs+=(iproute2) # the veth pair in tests/e2e/in-netns.sh
  # tests/e2e/baresip.test.mjs: baresip and the modules it uses (ausine, sndfile, aubridge, g711),
  # without the metapackage's GTK, FFmpeg and GStreamer front-ends.
  command -v baresip >/dev/null || apt_pkgs+=(baresip-core)
  # tests/e2e/presence-sip.test.mjs: sipp watches a busy lamp (dialog event) over UDP.
  command -v sipp >/dev/null || apt_pkgs+=(sip-tester)
  command -v sqlite3 >/dev/null || apt_pkgs+=(sqlite3) # tests/e2e/costs.test.mjs writes a rated call
  command -v openssl >/dev/null || apt_pkgs+=(openssl) # tests/e2e/trunks.test.mjs makes the TLS carrier's certificates
  # tests/e2e/firefox.test.mjs: Chromium <-> Firefox ESR calls (puppeteer-core, WebDriver BiDi).
  command -v firefox-esr >/dev/null || apt_pkgs+=(firefox-esr)
  command -v c++ >/dev/null || apt_pkgs+=(g++) # libfuzzer-sys builds libFuzzer (fuzz/run.sh)
fi
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  log "apt-get install ${apt_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
if ! trunk --version 2>/dev/null | grep -q '0\.21\.14'; then
  log "cargo install trunk 0.21.14"
  cargo install trunk --version 0.21.14 --locked
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q '0\.2\.130'; then
  log "cargo install wasm-bindgen-cli 0.2.130"
  cargo install wasm-bindgen-cli --version 0.2.130
fi
if [ "${1:-}" = "--test" ] && ! cargo fuzz --version 2>/dev/null | grep -q '0\.13\.2'; then
  log "cargo install cargo-fuzz 0.13.2 (fuzz/run.sh)"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ ! -x tools/node_modules/.bin/esbuild ] \
   || [ ! -d tools/node_modules/playwright-core ] || [ ! -d tools/node_modules/jssip ] \
   || [ ! -d tools/node_modules/puppeteer-core ]; then
  log "npm ci in tools/ (binaryen's wasm-opt, playwright-core, puppeteer-core, jssip, esbuild)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi
