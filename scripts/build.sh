#!/usr/bin/env bash
# Builds the npm package into pkg/: the core wasm module (wasm-pack, --target web) split in two
# by use, the sanitizer module (split in two by use too), the plugin-side client as
# `plugin-warden/client`, and package.json `exports`. Run scripts/setup.sh first.
#   scripts/build.sh [--dev]     --dev: unoptimized, faster to build
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"   # wasm-opt from the binaryen npm package
profile=--release
[ "${1:-}" = "--dev" ] && profile=--dev
rm -f pkg/plugin_warden_bg.wasm pkg/plugin_warden_checks_bg.wasm pkg/sanitizer/plugin_warden_sanitizer_bg.wasm pkg/sanitizer/plugin_warden_sanitizer_rest_bg.wasm
# The core module: everything but the HTML cleaner (no `ammonia` feature), with the release
# settings of scripts/core-release.toml (opt-level "z", LLVM's hot/cold splitting), and without
# the build machine's paths (scripts/remap-paths.mjs).
core_opt=()
[ "$profile" = --release ] && core_opt=(--config "$PWD/scripts/core-release.toml" --config "$(node scripts/remap-paths.mjs)")
# The core's link map (build.rs): scripts/split-module.mjs reads where each data object lies.
link_map="$PWD/target/split-core/link${profile#-}.map"
mkdir -p target/split-core
PW_LINK_MAP="$link_map" wasm-pack build $profile --target web --out-dir pkg --out-name plugin_warden --no-pack \
  -- --no-default-features --features host "${core_opt[@]}" 2>&1 | grep -vE '^\s*$|INFO|Compiling' || true
[ -f pkg/plugin_warden_bg.wasm ] || { echo "build: wasm-pack produced no pkg/plugin_warden_bg.wasm" >&2; exit 1; }
# Split in two by use: what a host's first visit runs, and the rest (plugin_warden_checks_bg.wasm,
# loaded when first needed); it also adds the second part's loader to the glue.
node scripts/split-module.mjs core --link-map "$link_map" ${profile/--release/}
# The sanitizer module (crates/sanitizer), fetched by the package on first need, split in two
# by use in the same way: what cleaning real HTML runs, and the rest
# (plugin_warden_sanitizer_rest_bg.wasm: IDNA for hosts that are not ASCII, errors, rare paths).
# Its data all stays in the first part (no link map): html5ever indexes tables from a base
# outside them, which the data rule cannot see (docs/security.md).
wasm-pack build crates/sanitizer $profile --target web --out-dir "$PWD/pkg/sanitizer" \
  --out-name plugin_warden_sanitizer --no-pack 2>&1 | grep -vE '^\s*$|INFO|Compiling' || true
[ -f pkg/sanitizer/plugin_warden_sanitizer_bg.wasm ] || { echo "build: wasm-pack produced no pkg/sanitizer/plugin_warden_sanitizer_bg.wasm" >&2; exit 1; }
node scripts/split-module.mjs sanitizer ${profile/--release/}
# wasm-pack's `*` .gitignore would keep the directory out of `npm pack`.
rm -f pkg/sanitizer/.gitignore
node scripts/package.mjs
