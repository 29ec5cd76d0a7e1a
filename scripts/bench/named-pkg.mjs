// A copy of pkg/ whose wasm keeps its `name` section, for readable CPU profiles: the release
// build strips names (wasm-opt without -g), so this re-runs wasm-bindgen on cargo's release
// wasm (which still has them) and optimizes it like the release (wasm-opt -O3, same features)
// with -g. Same Rust, same optimizer level; only the names are kept. No cargo build here: it
// needs target/wasm32-unknown-unknown/release/plugin_warden.wasm from scripts/build.sh.
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { customSections } from './size.mjs';

const root = new URL('../..', import.meta.url).pathname;

function which(cmd, extra) {
  for (const p of [...extra, ...(process.env.PATH ?? '').split(':').map((d) => join(d, cmd))]) if (existsSync(p)) return p;
  return null;
}

/** Build bench/named-pkg/; answers its path, or { skipped: reason }. */
export function namedPackage() {
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  const wasm = join(target, 'wasm32-unknown-unknown/release/plugin_warden.wasm');
  if (!existsSync(wasm)) return { skipped: `no ${wasm} (run scripts/build.sh)` };
  if (!customSections(readFileSync(wasm)).includes('name')) return { skipped: `${wasm} has no name section either` };
  const bindgen = which('wasm-bindgen', [join(homedir(), '.cargo/bin/wasm-bindgen')]);
  const opt = which('wasm-opt', [join(root, 'node_modules/.bin/wasm-opt')]);
  if (!bindgen || !opt) return { skipped: 'wasm-bindgen or wasm-opt is missing (run scripts/setup.sh)' };
  const cargo = readFileSync(join(root, 'Cargo.toml'), 'utf8');
  const flags = (cargo.match(/\[package\.metadata\.wasm-pack\.profile\.release\][^[]*wasm-opt = \[([^\]]*)\]/) ?? [])[1];
  const features = flags ? [...flags.matchAll(/"(--enable-[^"]+)"/g)].map((m) => m[1]) : [];
  const dir = join(root, 'bench/named-pkg');
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(root, 'pkg'), dir, { recursive: true });
  execFileSync(bindgen, ['--target', 'web', '--out-dir', dir, '--out-name', 'plugin_warden', wasm], { stdio: 'inherit' });
  const out = join(dir, 'plugin_warden_bg.wasm');
  execFileSync(opt, ['-O3', '-g', ...features, out, '-o', out], { stdio: 'inherit' });
  return { dir, names: customSections(readFileSync(out)).includes('name') };
}
