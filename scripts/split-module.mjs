// Part of scripts/build.sh, after wasm-pack: splits a wasm module in two by use
// (scripts/wasm-split.mjs). Each module is built with its name section (its Cargo.toml's
// wasm-opt `-g`), which the split matches its profile to:
//  - core: pkg/plugin_warden_bg.wasm keeps the functions scripts/core-profile.txt names, what a
//    host's first visit runs (recorded by `node scripts/bench/coverage.mjs --profile`);
//    pkg/plugin_warden_checks_bg.wasm holds every other function;
//  - sanitizer: pkg/sanitizer/plugin_warden_sanitizer_bg.wasm keeps the functions
//    scripts/sanitizer-profile.txt names, what cleaning real HTML runs (recorded by
//    `node scripts/bench/sanitizer-coverage.mjs --profile`); plugin_warden_sanitizer_rest_bg.wasm
//    holds the rest (IDNA for hosts that are not ASCII, a host's own options, errors, rare paths).
// The second part is loaded by `preload('checks')` / `preload('sanitizer-rest')` or, at the first
// call that needs it, synchronously (src/web/split-loader.js, which this appends to the module's
// wasm-bindgen glue).
// The data goes with the code that reads it: with the module's link map (--link-map, written
// by build.rs), the data objects only the second part's functions reach move to that part,
// whose instantiation writes them into the shared memory (wasm-split.mjs dataByUse). The build
// passes a map for the core only: the sanitizer's data all stays in its first part (see
// scripts/bench/sanitizer-coverage.mjs). Before the split the JS imports get short names, in the
// glue and the module alike.
// Both parts are written without names. A stale profile (functions renamed or added since it
// was recorded) costs speed and bytes, never correctness: a function it does not name is in the
// second part, and the two parts run as the module as built. The unsplit module (its imports
// renamed), with names, is kept as target/split-<module>/<its file> (the bench's tools and the
// e2e tests compare with it).
//   node scripts/split-module.mjs core|sanitizer [--link-map <file>] [--dev]
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BUILD_PLACEHOLDER } from './package-build.mjs';
import { STUBS, exportNames, functionNames, readLinkMap, readProfile, renameExports, renameImports, splitByUse, stableNames } from './wasm-split.mjs';

const root = new URL('..', import.meta.url).pathname;
const MODULES = {
  core: {
    wasm: 'pkg/plugin_warden_bg.wasm',
    second: 'pkg/plugin_warden_checks_bg.wasm',
    glue: 'pkg/plugin_warden.js',
    bindgenModule: './plugin_warden_bg.js',
    profile: 'scripts/core-profile.txt',
    record: 'node scripts/bench/named-pkg.mjs && node scripts/bench/coverage.mjs --profile',
    kept: 'target/split-core',
    linked: 'plugin_warden.wasm',
    // A call into the core may call back into it (through JS): its stack is not reset.
    config: { preload: 'checks', what: 'the rest of the core module', notYet: 'plugin-warden: the core module is not loaded yet: call `await init()` first', resetStack: false },
    replace: null,
    allocatorFirst: true,
  },
  sanitizer: {
    wasm: 'pkg/sanitizer/plugin_warden_sanitizer_bg.wasm',
    second: 'pkg/sanitizer/plugin_warden_sanitizer_rest_bg.wasm',
    glue: 'pkg/sanitizer/plugin_warden_sanitizer.js',
    bindgenModule: './plugin_warden_sanitizer_bg.js',
    profile: 'scripts/sanitizer-profile.txt',
    record: 'scripts/build.sh && node scripts/bench/sanitizer-coverage.mjs --profile',
    kept: 'target/split-sanitizer',
    linked: 'plugin_warden_sanitizer.wasm',
    // Nothing calls back into the sanitizer from its imports: after a failed load its stack
    // pointer is put back, and later calls run as before.
    config: { preload: 'sanitizer-rest', what: 'the rest of the sanitizer module', notYet: "plugin-warden: the sanitizer module is not loaded yet: call `await preload('sanitizer')` first", resetStack: true },
    // The loader's text for this module: its second part's file (a literal URL, which bundlers
    // follow), the glue's exports for index.js.
    replace: { "'plugin_warden_checks_bg.wasm'": "'plugin_warden_sanitizer_rest_bg.wasm'", __pw_checksLoaded: '__pw_restLoaded', __pw_loadChecks: '__pw_loadRest' },
    // Nothing cuts a call into the sanitizer off (`withoutLoading`: the core's install check).
    withoutCutOff: true,
  },
};
const which = MODULES[process.argv[2]];
if (!which) throw new Error(`usage: node scripts/split-module.mjs ${Object.keys(MODULES).join('|')} [--link-map <file>] [--dev]`);
const wasmPath = join(root, which.wasm);
const second = join(root, which.second);
const glue = join(root, which.glue);
const profilePath = join(root, which.profile);
const MARK = '// ---- plugin-warden: the second part of a wasm module';
const tool = `split-module ${process.argv[2]}`;

// Short names for the JS imports, in the glue and in both parts: wasm-bindgen names each one
// `__wbg_<what>_<16 hex digits>` under the module "./plugin_warden_bg.js", 4 KiB gzip of the
// first part's import section and as much of the glue. Renamed here, once, before the split.
const BINDGEN_MODULE = which.bindgenModule;
const KEEP_EXPORTS = new Set(['__wbindgen_start', 'pluginhost_new']);
const SHORT_MODULE = 'w';
let text = readFileSync(glue, 'utf8');
let bytes = readFileSync(wasmPath);
if (!text.includes(MARK)) {
  const open = '    const import0 = {\n';
  const close = `        "${BINDGEN_MODULE}": import0,\n`;
  const start = text.indexOf(open);
  const end = text.indexOf('\n    };\n', start);
  if (start < 0 || end < 0 || text.split(close).length !== 2) throw new Error(`${tool}: ${glue} does not build its imports as expected (a wasm-bindgen upgrade changed its glue)`);
  const fields = new Map();
  const block = text.slice(start, end).replace(/^( {8})([A-Za-z_$][\w$]*): function\(/gm, (_, indent, name) => {
    const short = `_${fields.size.toString(36)}`;
    fields.set(name, short);
    return `${indent}${short}: function(`;
  });
  text = text.slice(0, start) + block + text.slice(end).replace(close, `        ${SHORT_MODULE}: import0,\n`);
  bytes = renameImports(bytes, BINDGEN_MODULE, SHORT_MODULE, fields).bytes;
  // The function exports the glue calls likewise (`wasm.<name>`): the closures' invokers
  // (`wasm_bindgen__convert__closures_…invoke__h` and 16 hex digits each), the class's methods
  // (`pluginhost_emit`, …), wasm-bindgen's helpers (`__wbindgen_malloc`, …). In the export
  // section and the glue, 0.8 KiB gzip of a first load. Kept: `__wbindgen_start` (the profile
  // names it by its export) and `pluginhost_new` (scripts/bench/coverage.js finds the core by it).
  const exported = new Set(exportNames(bytes, 'function'));
  const short = new Map();
  text = text.replace(/\bwasm\.([A-Za-z_$][\w$]*)\b/g, (whole, name) => {
    if (!exported.has(name) || KEEP_EXPORTS.has(name)) return whole;
    if (!short.has(name)) short.set(name, `e${short.size.toString(36)}`);
    return `wasm.${short.get(name)}`;
  });
  if (short.size > 0) bytes = renameExports(bytes, short);
}
const names = functionNames(bytes);
// Without a name section binaryen names functions by their index: nothing to match a profile to.
if (names.every((n) => /^\d+$/.test(n) || n.startsWith('export '))) {
  throw new Error(`${tool}: ${wasmPath} has no function names (was it split already? run scripts/build.sh)`);
}
const profile = readProfile(profilePath);
const stable = stableNames(names);
const keep = new Set(stable.flatMap((n, i) => (profile.has(n) ? [i] : [])));
const unmatched = profile.size - keep.size;
// The allocator stays whole in the core's first part: a call cut off where it needs the second
// part (the install check's `withoutLoading`, a failed synchronous load) then never stops inside
// it, half way through changing its lists (docs/security.md). A --dev build inlines differently.
if (which.allocatorFirst && !process.argv.includes('--dev')) {
  const outside = stable.filter((n, i) => /dlmalloc|__rdl_|__rust_(alloc|dealloc|realloc)/.test(n) && !keep.has(i));
  if (outside.length > 0) throw new Error(`${tool}: the allocator's ${outside.join(', ')} would be in the second part: record ${which.profile} again (${which.record}), with a journey that runs it`);
}

const kept = join(root, which.kept);
mkdirSync(kept, { recursive: true });
writeFileSync(join(kept, basename(which.wasm)), bytes);
// The link map (build.rs) says where each data object lies, so that the data only the second
// part's functions reach can move there too. Without one (an older build) all data stays first.
const mapAt = process.argv.indexOf('--link-map');
const mapPath = mapAt > 0 ? process.argv[mapAt + 1] : null;
let linkMap = null;
if (mapPath && existsSync(mapPath)) {
  // cargo relinks only when something changed, and then writes module and map together.
  const linked = join(root, `target/wasm32-unknown-unknown/${process.argv.includes('--dev') ? 'debug' : 'release'}/${which.linked}`);
  if (existsSync(linked) && Math.abs(statSync(linked).mtimeMs - statSync(mapPath).mtimeMs) > 60_000) {
    throw new Error(`${tool}: ${mapPath} is not from the link of ${linked} (a minute apart): rebuild (touch build.rs)`);
  }
  linkMap = readLinkMap(readFileSync(mapPath, 'utf8'));
} else if (mapPath) {
  console.log(`${tool}: no link map at ${mapPath}: all data stays in the first part`);
}
const out = splitByUse(bytes, (i) => keep.has(i), linkMap);
writeFileSync(wasmPath, out.first);
writeFileSync(second, out.second);

if (!text.includes(MARK)) {
  const head = 'function __wbg_get_imports() {';
  const init = 'function __wbg_finalize_init(instance, module) {';
  const pass = 'function passStringToWasm0(arg, malloc, realloc) {';
  // The first part's own fetch (the glue's init, given a URL or a Request), through the loader's
  // `limited`: a URL is fetched with the same time limit as the second part's.
  const fetched = "    if (typeof module_or_path === 'string' || (typeof Request === 'function' && module_or_path instanceof Request) || (typeof URL === 'function' && module_or_path instanceof URL)) {\n        module_or_path = fetch(module_or_path);\n    }\n\n    const { instance, module } = await __wbg_load(await module_or_path, imports);";
  for (const s of [head, init, pass, fetched]) {
    if (text.split(s).length !== 2) throw new Error(`${tool}: expected "${s}" once in ${glue} (a wasm-bindgen upgrade changed its glue)`);
  }
  // Not part of the split, but patched here too (with the warning below and the fetch above): every `&str` (and
  // `Option<String>`) argument of an exported function goes through passStringToWasm0, which
  // reads `arg.length` and writes `arg`'s characters into wasm memory. Given a number or an
  // object it asked the allocator to grow a zero-byte block at a dangling address, and the call
  // trapped (`RuntimeError: memory access out of bounds`); given undefined it threw a bare
  // TypeError. Refused first instead, with a coded error (index.js names the method).
  // And wasm-bindgen's warning when a server sends the wasm with another MIME type (the glue
  // then compiles it without streaming) says the same in fewer bytes: it is in every page's
  // first load.
  const mime = /console\.warn\("`WebAssembly\.instantiateStreaming` failed because your server does not serve Wasm with `application\/wasm` MIME type\. Falling back to `WebAssembly\.instantiate` which is slower\. Original error:\\n", /;
  if (text.split(mime).length !== 2) throw new Error(`${tool}: expected wasm-bindgen's MIME type warning once in ${glue} (a wasm-bindgen upgrade changed its glue)`);
  const patched = text
    .replace(mime, 'console.warn("plugin-warden: the wasm is not served as application/wasm, so it is compiled without streaming (slower):", ')
    .replace(head, `function __wbg_get_imports() {\n    const imports = __wbg_get_imports_bindgen();\n    imports[${JSON.stringify(STUBS)}] = __pw_split.imports;\n    return imports;\n}\n\nfunction __wbg_get_imports_bindgen() {`)
    .replace(init, `${init}\n    __pw_split.first(instance, module);`)
    .replace(pass, `${pass}\n    if (typeof arg !== 'string') throw __pw_notString(arg);`)
    .replace(fetched, '    const { instance, module } = await __pw_split.limited(module_or_path, (source) => __wbg_load(source, imports));');
  // The stack pointer (the global wasm-ld names `__stack_pointer`), which the first part exports.
  // `build`: the package's build id, written in by scripts/package-build.mjs (stampBuild).
  const config = { ...which.config, stack: out.stackPointer, build: BUILD_PLACEHOLDER };
  let loader = readFileSync(join(root, 'src/web/split-loader.js'), 'utf8');
  for (const [from, to] of Object.entries(which.replace ?? {})) loader = loader.replaceAll(from, to);
  if (which.withoutCutOff) {
    const cut = /^ *\/\/ <cut-off>.*\n[\s\S]*?^ *\/\/ <\/cut-off>\n/gm;
    if ((loader.match(cut) ?? []).length !== 3) throw new Error(`${tool}: expected three <cut-off> regions in src/web/split-loader.js`);
    loader = loader.replace(cut, '');
  }
  writeFileSync(glue, `${patched}\nconst __pw_split_config = ${JSON.stringify(config)};\n${loader}`);
}

const kib = (b) => (gzipSync(b, { level: 9 }).length / 1024).toFixed(1);
const data = out.data ? `; data ${out.data.keptBytes} + ${out.data.movedBytes} bytes` : '';
console.log(`${tool}: ${out.kept} functions in ${basename(wasmPath)} (${kib(out.first)} KiB gzip), ${out.moved} in ${basename(second)} (${kib(out.second)} KiB gzip)${data}`);
if (process.argv.includes('--dev')) {
  // The profile is the release build's: a dev build inlines less, so its first visit calls into
  // the second part (which works, synchronously).
  console.log(`${tool}: a --dev build, split by the release build's profile: its first visit loads the second part too`);
} else if (unmatched > profile.size * 0.02) {
  console.log(`${tool}: ${unmatched} of the ${profile.size} functions ${which.profile} names are not in this build: record it again (${which.record})`);
}
