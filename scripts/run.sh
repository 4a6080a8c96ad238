#!/usr/bin/env bash
# Starts the whole system: builds the web app and the gateway, creates the demo company
# (an admin and two employees; their e-mails and passwords are printed below) and serves on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PWD/tools/node_modules/.bin:$PATH"
trunk build --release
cargo build --release -p centrala-gateway
DATA="${CENTRALA_DATA:-data}"
target/release/centrala demo --data "$DATA"
echo "Open http://${CENTRALA_LISTEN:-127.0.0.1:8080}/ in two browsers and log in as two of the people above."
exec target/release/centrala serve --listen "${CENTRALA_LISTEN:-127.0.0.1:8080}" --data "$DATA" --web-root dist
