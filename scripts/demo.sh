#!/usr/bin/env bash
# README command 1: sets up what is missing, builds the package, serves the demo on two
# loopback origins and prints the URL to open.
#   scripts/demo.sh              serve until Ctrl-C
#   scripts/demo.sh --headless   drive the demo in headless Chromium, print what it did,
#                                save artifacts/demo.png, and exit (for machines without a screen)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
if [ "${1:-}" = "--headless" ]; then
  scripts/setup.sh
  scripts/build.sh
  exec node scripts/demo-headless.mjs
fi
scripts/setup.sh --no-browser
scripts/build.sh
exec node scripts/serve.mjs "$@"
