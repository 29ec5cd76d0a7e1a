// The cargo `--config` value that keeps the build machine's paths out of the core's wasm: its
// panic locations name their source files (a few dozen: `unwrap`, bounds checks, `RefCell`), as
// `/root/.cargo/registry/src/index.crates.io-<hash>/js-sys-0.3.107/src/…` and
// `/rustc/<commit>/library/…`. Remapped, they read `js-sys-0.3.107/src/…` and `library/…`: the
// same on every machine, and 0.1 KiB gzip less of a host's first load. scripts/build.sh and
// scripts/bench/named-pkg.mjs pass it after scripts/core-release.toml (cargo joins the two
// lists of flags), so both build the same wasm.
//   node scripts/remap-paths.mjs   prints the value
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function remapConfig() {
  const registry = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'registry/src');
  const prefixes = existsSync(registry) ? readdirSync(registry).map((index) => join(registry, index)) : [];
  let commit = null;
  try {
    commit = execFileSync('rustc', ['-vV'], { encoding: 'utf8' }).match(/^commit-hash: ([0-9a-f]+)$/m)?.[1] ?? null;
  } catch {
    // No rustc on PATH: its paths stay as they are.
  }
  if (commit) prefixes.push(`/rustc/${commit}`);
  const flags = prefixes.map((p) => JSON.stringify(`--remap-path-prefix=${p}/=`));
  return `target.wasm32-unknown-unknown.rustflags=[${flags.join(',')}]`;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(remapConfig());
