#!/usr/bin/env bash
# README command 2: sets up what is missing, then runs every test level in order and stops at
# the first red one. Prints one summary line per level at the end.
#   scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

scripts/setup.sh || { echo "test: set-up failed"; exit 1; }

summary=()
passed=0
run_level() {
  local name=$1; shift
  local start=$SECONDS
  echo
  echo "=== level: $name"
  if "$@"; then
    summary+=("level $name: ok ($((SECONDS - start)) s)")
    passed=$((passed + 1))
  else
    summary+=("level $name: FAILED ($((SECONDS - start)) s)")
    echo
    echo "=== summary"
    printf '%s\n' "${summary[@]}"
    echo "levels: $passed passed, 1 failed"
    exit 1
  fi
}

core_is_pure() {
  # src/core must never name a browser crate: everything there is testable natively.
  local hits
  hits=$(grep -rnE '\b(wasm_bindgen|web_sys|js_sys|gloo[a-z_]*)\b' src/core | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
  if [ -n "$hits" ]; then echo "src/core names a browser crate:"; echo "$hits"; return 1; fi
  echo "src/core names no browser crate"
}

clippy_all() {
  cargo clippy --all-targets --all-features -- -D warnings &&
    cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings &&
    cargo clippy --lib --target wasm32-unknown-unknown --no-default-features --features host -- -D warnings &&
    cargo clippy -p plugin-warden-sanitizer --all-targets -- -D warnings &&
    cargo clippy -p plugin-warden-paced --all-targets -- -D warnings &&
    cargo clippy -p plugin-warden-sanitizer --lib --target wasm32-unknown-unknown -- -D warnings &&
    cargo clippy --test web --target wasm32-unknown-unknown -- -D warnings
}

# RUSTDOCFLAGS replaces .cargo/config.toml's rustdocflags: the cfg it sets goes along.
docs() { RUSTDOCFLAGS="-Dwarnings --cfg ammonia_unstable" cargo doc --no-deps --quiet; }

# tests/web.rs in headless Chromium: served by wasm-bindgen-test-runner, opened with
# playwright-core (scripts/browser-tests.mjs says why not through ChromeDriver).
browser_tests() { WASM_BINDGEN_TEST_TIMEOUT=120 node scripts/browser-tests.mjs --test web; }

contract() {
  local f
  for f in src/client/*.js src/web/*.js www/host/*.js www/plugins/*/*.js scripts/*.mjs; do
    node --check "$f" || { echo "syntax error in $f"; return 1; }
  done
  scripts/build.sh && tsc --noEmit -p tests/contract && echo "tsc: the contract type-checks against pkg/*.d.ts"
}

e2e() { node --test --test-concurrency=1 tests/e2e/; }

run_level "fmt" cargo fmt --check
run_level "core-purity" core_is_pure
run_level "clippy" clippy_all
run_level "native" cargo test --workspace --all-features
run_level "docs" docs
run_level "browser" browser_tests
run_level "contract" contract
run_level "client" node --test tests/client/
run_level "e2e" e2e

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "levels: $passed passed, 0 failed"
