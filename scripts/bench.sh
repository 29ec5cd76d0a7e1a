#!/usr/bin/env bash
# The benchmark suite (DESIGN.md §8; docs/benchmarks.md): sets up what is missing, builds the
# release package, then serves the bench page on two loopback origins, drives it in headless
# Chromium and writes bench/results/ (results-<timestamp>.{json,md}, latest.{json,md}).
#   scripts/bench.sh                       every suite
#   scripts/bench.sh --quick               few samples (a smoke run, not for judging)
#   scripts/bench.sh --suite rpc --suite size    only these (sanitize, sanitize-into-DOM, rpc,
#                                                permission, mount, size)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
scripts/setup.sh
scripts/build.sh
exec node scripts/bench/run.mjs "$@"
