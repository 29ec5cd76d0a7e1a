#!/usr/bin/env bash
# Installs what is missing, and says what it installs. Safe to run again: every step checks first.
#   scripts/setup.sh            everything (build tools + browser + node tools)
#   scripts/setup.sh --no-browser   skip Chromium/ChromeDriver (a build-only machine)
set -euo pipefail
cd "$(dirname "$0")/.."
want_browser=1
[ "${1:-}" = "--no-browser" ] && want_browser=0

say() { printf 'setup: %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

# 1. Rust toolchain pieces.
command -v cargo >/dev/null || { say "cargo is missing: install Rust with rustup first (https://rustup.rs)"; exit 1; }
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "installing the Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for comp in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$comp"; then
    say "installing the rustup component $comp"
    rustup component add "$comp"
  fi
done

# 2. wasm-bindgen-cli at exactly the version Cargo.lock pins (the CLI and the crate must agree).
wb_version=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
[ -n "$wb_version" ] || { say "cannot read the wasm-bindgen version from Cargo.lock"; exit 1; }
have_wb=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have_wb" != "$wb_version" ]; then
  say "installing wasm-bindgen-cli $wb_version (found: ${have_wb:-none}; takes a few minutes)"
  # Not --locked: one of its locked dependencies is missing from the registry mirror.
  cargo install wasm-bindgen-cli --version "$wb_version" --force
fi

# 3. wasm-pack.
if ! command -v wasm-pack >/dev/null; then
  say "installing wasm-pack (takes a few minutes)"
  cargo install wasm-pack
fi

# 4. Chromium and ChromeDriver from Debian (no browser download from anywhere else).
if [ "$want_browser" = 1 ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

# 5. Node tools from the committed lockfile (binaryen for wasm-opt, playwright-core, typescript).
command -v node >/dev/null || { say "node is missing: install Node.js 20"; exit 1; }
# node_modules/.plugin-warden-lock is the package-lock.json the last `npm ci` installed.
if [ ! -d node_modules ] || ! cmp -s package-lock.json node_modules/.plugin-warden-lock; then
  say "installing node tools from package-lock.json (npm ci)"
  # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: we drive Debian's Chromium, never a downloaded one.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.plugin-warden-lock
fi
say "ready (wasm-bindgen $wb_version, $(wasm-pack --version), node $(node --version))"
