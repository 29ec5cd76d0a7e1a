// A copy of pkg/ whose wasm modules keep their `name` section, for readable CPU profiles and the
// per-crate size breakdown: the release build strips names (wasm-opt without -g), so this
// builds each module's cargo release wasm (which still has them) exactly as scripts/build.sh
// has wasm-pack build it (same package, features and profile: cargo answers at once when
// scripts/build.sh just ran), re-runs wasm-bindgen on it and optimizes it like the release
// (wasm-opt with the arguments of its Cargo.toml) with -g. Same Rust, same optimizer level;
// only the names are kept. Each module is the one before scripts/split-module.mjs splits it (its
// glue, wasm-bindgen's again, has no loader for a second part: none is needed). Each module is
// built and post-processed before the next one is built, so neither reads a cargo output the
// other's build replaced.
import { remapConfig } from '../remap-paths.mjs';
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { customSections } from './size.mjs';
import { wasmBreakdown } from './wasm-sizes.mjs';

const root = new URL('../..', import.meta.url).pathname;

/**
 * The package's wasm modules as scripts/build.sh builds them (its two wasm-pack invocations):
 * the cargo arguments wasm-pack passes, the cargo output, and where the module goes in pkg/.
 */
export const WASM_BUILDS = [
  {
    module: 'core',
    manifest: 'Cargo.toml',
    cargoArgs: ['--no-default-features', '--features', 'host', '--config', join(root, 'scripts/core-release.toml'), '--config', remapConfig()],
    output: 'plugin_warden.wasm',
    outDir: '.',
    outName: 'plugin_warden',
    // scripts/build.sh links the core with a link map (build.rs): the same, or cargo relinks.
    env: { PW_LINK_MAP: join(root, 'target/split-core/link-release.map') },
  },
  {
    module: 'sanitizer',
    manifest: 'crates/sanitizer/Cargo.toml',
    cargoArgs: [],
    output: 'plugin_warden_sanitizer.wasm',
    outDir: 'sanitizer',
    outName: 'plugin_warden_sanitizer',
  },
];

function which(cmd, extra) {
  for (const p of [...extra, ...(process.env.PATH ?? '').split(':').map((d) => join(d, cmd))]) if (existsSync(p)) return p;
  return null;
}

/** The arguments of a manifest's `[package.metadata.wasm-pack.profile.release] wasm-opt`. */
function wasmOptArgs(manifest) {
  const text = readFileSync(join(root, manifest), 'utf8');
  const flags = (text.match(/\[package\.metadata\.wasm-pack\.profile\.release\][^[]*wasm-opt = \[([^\]]*)\]/) ?? [])[1];
  if (!flags) throw new Error(`named-pkg: no wasm-pack wasm-opt arguments in ${manifest}`);
  return [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

/**
 * Build bench/named-pkg/; answers { dir, names, modules: { core: path, sanitizer: path } } or
 * { skipped: reason }.
 */
export function namedPackage() {
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  const bindgen = which('wasm-bindgen', [join(homedir(), '.cargo/bin/wasm-bindgen')]);
  const opt = which('wasm-opt', [join(root, 'node_modules/.bin/wasm-opt')]);
  const cargo = which('cargo', [join(homedir(), '.cargo/bin/cargo')]);
  if (!bindgen || !opt || !cargo) return { skipped: 'cargo, wasm-bindgen or wasm-opt is missing (run scripts/setup.sh)' };
  if (!existsSync(join(root, 'pkg/package.json'))) return { skipped: 'no pkg/ (run scripts/build.sh)' };
  const dir = join(root, 'bench/named-pkg');
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(root, 'pkg'), dir, { recursive: true });
  const modules = {};
  const differs = [];
  for (const b of WASM_BUILDS) {
    // What wasm-pack runs for `wasm-pack build --release <crate> -- <args>`.
    execFileSync(cargo, ['build', '--lib', '--release', '--target', 'wasm32-unknown-unknown', '--manifest-path', join(root, b.manifest), ...b.cargoArgs],
      { stdio: 'inherit', cwd: root, env: { ...process.env, ...b.env } });
    const wasm = join(target, 'wasm32-unknown-unknown/release', b.output);
    if (!customSections(readFileSync(wasm)).includes('name')) return { skipped: `${wasm} has no name section either` };
    const outDir = join(dir, b.outDir);
    execFileSync(bindgen, ['--target', 'web', '--out-dir', outDir, '--out-name', b.outName, wasm], { stdio: 'inherit' });
    const out = join(outDir, `${b.outName}_bg.wasm`);
    execFileSync(opt, [...wasmOptArgs(b.manifest), '-g', out, '-o', out], { stdio: 'inherit' });
    modules[b.module] = out;
    // The point of this copy: the release's code with names. Same code and data sizes, or say so.
    // Each module in pkg/ is split in two (scripts/split-module.mjs): compare with it before the split.
    const built = join(root, `target/split-${b.module}`, `${b.outName}_bg.wasm`);
    const release = wasmBreakdown(built, 0);
    const named = wasmBreakdown(out, 0);
    if (release.codeBytes !== named.codeBytes || release.dataBytes !== named.dataBytes) {
      differs.push(`${b.module}: code ${named.codeBytes} vs ${release.codeBytes} B in pkg/, data ${named.dataBytes} vs ${release.dataBytes} B`);
    }
  }
  rmSync(join(dir, 'sanitizer/.gitignore'), { force: true });
  // pkg/index.js bundles the release's glue (scripts/package.mjs); this copy's entry imports the
  // glue wasm-bindgen just wrote next to it instead.
  copyFileSync(join(root, 'src/web/index.js'), join(dir, 'index.js'));
  rmSync(join(dir, 'index.js.map'), { force: true });
  return {
    dir, modules, names: Object.values(modules).every((p) => customSections(readFileSync(p)).includes('name')),
    sameCodeAsRelease: differs.length === 0, ...(differs.length ? { differs } : {}),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(namedPackage(), null, 2));
}
