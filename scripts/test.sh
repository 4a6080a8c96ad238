#!/usr/bin/env bash
# Runs every test: the SIP crate (virtual time), the gateway over real WebSockets, the web
# app's reducer, and the browser end-to-end and JsSIP interop tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"  # one build per run: incremental state is only disk
export PATH="$HOME/.cargo/bin:$PWD/tools/node_modules/.bin:$PATH"
start=$(date +%s)
step() { printf '\n\033[1m== %s (%ss)\033[0m\n' "$*" "$(( $(date +%s) - start ))"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (native, and the web app on wasm32)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p centrala-web --target wasm32-unknown-unknown --locked -- -D warnings
step "cargo test --workspace"
cargo test --workspace --locked
step "trunk build --release (web app)"
trunk build --release
step "web app size"
for f in dist/*.wasm dist/*.js dist/*.css; do
  printf '  %-50s %8d bytes, %8d gzipped\n' "$f" "$(wc -c <"$f")" "$(gzip -9 -c "$f" | wc -c)"
done
step "browser end-to-end and JsSIP interop (private network namespace)"
cargo build -p centrala-gateway --locked
CENTRALA_BIN="$PWD/target/debug/centrala" tests/e2e/run.sh
step "fuzz (short run)"
fuzz/run.sh 15
step "all tests passed"
