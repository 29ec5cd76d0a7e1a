// Part of scripts/build.sh, after wasm-pack: splits the core module (pkg/plugin_warden_bg.wasm,
// built with its name section: Cargo.toml's wasm-opt `-g`) in two by use (scripts/wasm-split.mjs):
//  - pkg/plugin_warden_bg.wasm: the functions scripts/core-profile.txt names, what a host's
//    first visit runs (recorded by `node scripts/bench/coverage.mjs --profile`);
//  - pkg/plugin_warden_checks_bg.wasm: every other function, loaded by `preload('checks')` or,
//    at the first call that needs it, synchronously (src/web/split-loader.js, which this
//    appends to the wasm-bindgen glue, pkg/plugin_warden.js).
// The data goes with the code that reads it: with the core's link map (--link-map, written by
// build.rs), the data objects only the second part's functions reach move to that part, whose
// instantiation writes them into the shared memory (wasm-split.mjs dataByUse). Before the split
// the JS imports get short names, in the glue and the module alike.
// Both parts are written without names. A stale profile (functions renamed or added since it
// was recorded) costs speed and bytes, never correctness: a function it does not name is in the
// second part, and the two parts run as the module as built. The unsplit module (its imports
// renamed), with names, is kept as target/split-core/plugin_warden_bg.wasm (scripts/bench/
// named-pkg.mjs compares with it; the e2e tests run it against the split).
//   node scripts/split-core.mjs [--link-map <file>] [--dev]
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { functionNames, readLinkMap, readProfile, renameImports, splitByUse, stableNames } from './wasm-split.mjs';

const root = new URL('..', import.meta.url).pathname;
const core = join(root, 'pkg/plugin_warden_bg.wasm');
const second = join(root, 'pkg/plugin_warden_checks_bg.wasm');
const glue = join(root, 'pkg/plugin_warden.js');
const profilePath = join(root, 'scripts/core-profile.txt');
const MARK = '// ---- plugin-warden: the second part of the core module';

// Short names for the JS imports, in the glue and in both parts: wasm-bindgen names each one
// `__wbg_<what>_<16 hex digits>` under the module "./plugin_warden_bg.js", 4 KiB gzip of the
// first part's import section and as much of the glue. Renamed here, once, before the split.
const BINDGEN_MODULE = './plugin_warden_bg.js';
const SHORT_MODULE = 'w';
let text = readFileSync(glue, 'utf8');
let bytes = readFileSync(core);
if (!text.includes(MARK)) {
  const open = '    const import0 = {\n';
  const close = `        "${BINDGEN_MODULE}": import0,\n`;
  const start = text.indexOf(open);
  const end = text.indexOf('\n    };\n', start);
  if (start < 0 || end < 0 || text.split(close).length !== 2) throw new Error(`split-core: ${glue} does not build its imports as expected (a wasm-bindgen upgrade changed its glue)`);
  const fields = new Map();
  const block = text.slice(start, end).replace(/^( {8})([A-Za-z_$][\w$]*): function\(/gm, (_, indent, name) => {
    const short = `_${fields.size.toString(36)}`;
    fields.set(name, short);
    return `${indent}${short}: function(`;
  });
  text = text.slice(0, start) + block + text.slice(end).replace(close, `        ${SHORT_MODULE}: import0,\n`);
  bytes = renameImports(bytes, BINDGEN_MODULE, SHORT_MODULE, fields).bytes;
}
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
writeFileSync(join(kept, 'plugin_warden_bg.wasm'), bytes);
// The link map (build.rs) says where each data object lies, so that the data only the second
// part's functions reach can move there too. Without one (an older build) all data stays first.
const mapAt = process.argv.indexOf('--link-map');
const mapPath = mapAt > 0 ? process.argv[mapAt + 1] : null;
let linkMap = null;
if (mapPath && existsSync(mapPath)) {
  // cargo relinks only when something changed, and then writes module and map together.
  const linked = join(root, `target/wasm32-unknown-unknown/${process.argv.includes('--dev') ? 'debug' : 'release'}/plugin_warden.wasm`);
  if (existsSync(linked) && Math.abs(statSync(linked).mtimeMs - statSync(mapPath).mtimeMs) > 60_000) {
    throw new Error(`split-core: ${mapPath} is not from the link of ${linked} (a minute apart): rebuild (touch build.rs)`);
  }
  linkMap = readLinkMap(readFileSync(mapPath, 'utf8'));
} else if (mapPath) {
  console.log(`split-core: no link map at ${mapPath}: all data stays in the first part`);
}
const out = splitByUse(bytes, (i) => keep.has(i), linkMap);
writeFileSync(core, out.first);
writeFileSync(second, out.second);

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
const data = out.data ? `; data ${out.data.keptBytes} + ${out.data.movedBytes} bytes` : '';
console.log(`split-core: ${out.kept} functions in plugin_warden_bg.wasm (${kib(out.first)} KiB gzip), ${out.moved} in plugin_warden_checks_bg.wasm (${kib(out.second)} KiB gzip)${data}`);
if (process.argv.includes('--dev')) {
  // The profile is the release build's: a dev build inlines less, so its first visit calls into
  // the second part (which works, synchronously).
  console.log('split-core: a --dev build, split by the release build\'s profile: its first visit loads the second part too');
} else if (unmatched > profile.size * 0.02) {
  console.log(`split-core: ${unmatched} of the ${profile.size} functions scripts/core-profile.txt names are not in this build: record it again (node scripts/bench/named-pkg.mjs && node scripts/bench/coverage.mjs --profile)`);
}
