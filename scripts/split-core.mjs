// Part of scripts/build.sh, after wasm-pack: splits the core module (pkg/plugin_warden_bg.wasm,
// built with its name section: Cargo.toml's wasm-opt `-g`) in two by use (scripts/wasm-split.mjs):
//  - pkg/plugin_warden_bg.wasm: the functions scripts/core-profile.txt names, what a host's
//    first visit runs (recorded by `node scripts/bench/coverage.mjs --profile`);
//  - pkg/plugin_warden_checks_bg.wasm: every other function, loaded by `preload('checks')` or,
//    at the first call that needs it, synchronously (src/web/split-loader.js, which this
//    appends to the wasm-bindgen glue, pkg/plugin_warden.js).
// Both are written without names. A stale profile (functions renamed or added since it was
// recorded) costs speed and bytes, never correctness: a function it does not name is in the
// second part, and the two parts run as the module as built. The unsplit module, with names, is
// kept as target/split-core/plugin_warden_bg.wasm (scripts/bench/named-pkg.mjs compares with it).
//   node scripts/split-core.mjs [--dev]
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { functionNames, readProfile, splitByUse, stableNames } from './wasm-split.mjs';

const root = new URL('..', import.meta.url).pathname;
const core = join(root, 'pkg/plugin_warden_bg.wasm');
const second = join(root, 'pkg/plugin_warden_checks_bg.wasm');
const glue = join(root, 'pkg/plugin_warden.js');
const profilePath = join(root, 'scripts/core-profile.txt');
const MARK = '// ---- plugin-warden: the second part of the core module';

const bytes = readFileSync(core);
const names = functionNames(bytes);
// Without a name section binaryen names functions by their index: nothing to match a profile to.
if (names.every((n) => /^\d+$/.test(n) || n.startsWith('export '))) {
  throw new Error(`split-core: ${core} has no function names (was it split already? run scripts/build.sh)`);
}
const profile = readProfile(profilePath);
const stable = stableNames(names);
const keep = new Set(stable.flatMap((n, i) => (profile.has(n) ? [i] : [])));
const unmatched = profile.size - keep.size;

const kept = join(root, 'target/split-core');
mkdirSync(kept, { recursive: true });
copyFileSync(core, join(kept, 'plugin_warden_bg.wasm'));
const out = splitByUse(bytes, (i) => keep.has(i));
writeFileSync(core, out.first);
writeFileSync(second, out.second);

const text = readFileSync(glue, 'utf8');
if (!text.includes(MARK)) {
  const head = 'function __wbg_get_imports() {';
  const init = 'function __wbg_finalize_init(instance, module) {';
  for (const s of [head, init]) {
    if (text.split(s).length !== 2) throw new Error(`split-core: expected "${s}" once in ${glue} (a wasm-bindgen upgrade changed its glue)`);
  }
  const patched = text
    .replace(head, `function __wbg_get_imports() {\n    const imports = __wbg_get_imports_bindgen();\n    imports.split = __pw_split.imports;\n    return imports;\n}\n\nfunction __wbg_get_imports_bindgen() {`)
    .replace(init, `${init}\n    __pw_split.first(instance);`);
  writeFileSync(glue, `${patched}\n${readFileSync(join(root, 'src/web/split-loader.js'), 'utf8')}`);
}

const kib = (b) => (gzipSync(b, { level: 9 }).length / 1024).toFixed(1);
console.log(`split-core: ${out.kept} functions in plugin_warden_bg.wasm (${kib(out.first)} KiB gzip), ${out.moved} in plugin_warden_checks_bg.wasm (${kib(out.second)} KiB gzip)`);
if (process.argv.includes('--dev')) {
  // The profile is the release build's: a dev build inlines less, so its first visit calls into
  // the second part (which works, synchronously).
  console.log('split-core: a --dev build, split by the release build\'s profile: its first visit loads the second part too');
} else if (unmatched > profile.size * 0.02) {
  console.log(`split-core: ${unmatched} of the ${profile.size} functions scripts/core-profile.txt names are not in this build: record it again (node scripts/bench/named-pkg.mjs && node scripts/bench/coverage.mjs --profile)`);
}
