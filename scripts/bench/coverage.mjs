// Which functions of the core wasm module a host's first load runs, and how large a module of
// only those functions would be: the measurement behind a profile-guided split of the core
// (issue 14: "decide the seams by measurement").
//
// It instruments the core module of bench/named-pkg (scripts/bench/named-pkg.mjs: the release
// build with its function names) with binaryen.js — each defined function first calls the import
// `pwcov.mark(i)` — serves that copy of the package with the bench servers, and runs
// www/bench/coverage.html in Chromium: init, new PluginHost, install, mount an iframe plugin
// (www/bench/plugin/talk.js), the plugin's calls on a first visit and soon after (storage,
// permissions, events, a denied api.fetch), the host's emit, two heartbeat rounds, then
// preload('sanitizer'), one trustedHTML and one setHTML, RBAC, a second plugin, an unmount and a
// remount, a plugin's messages held while the second part cannot load (simulated), a mount
// whose page never answers timed out meanwhile (failed TIMEOUT), a plugin that stops answering
// the heartbeat (failed TIMEOUT), hosts without onPermissionRequest and onNotify (a permission
// asked while the second part cannot load, answered "no"; the package's toast), destroy and free
// (www/bench/coverage.js lists the steps). For the functions run by the end
// of each step it writes a copy of the (uninstrumented) module whose other functions' bodies
// are a bare `unreachable`, without the name section, and reports its size: a lower bound for
// the first module of a split. It also writes that first module in the shape a splitter gives
// it (each function that had not run a stub calling an import of its own, which would load the
// second module; every function that ran exported for the second module) and sizes it. Neither
// counts the JS that would load the second module, and both leave out the error paths a first
// visit may take, which the happy journey never runs.
// It then runs the same journey once more on the package with each of the last step's two
// modules (nothing instrumented): if any function that had not run were needed after all, it
// would trap, or call an import the page answers by throwing. The build splits the core by the
// profile this writes (--profile; scripts/split-module.mjs). tests/e2e/bench.test.mjs runs this on
// the release build's core before its split, with --check-profile.
//   node scripts/bench/coverage.mjs [--pkg bench/named-pkg] [--core <wasm>] [--out /tmp/coverage]
//        [--port 8790] [--link-map target/split-core/link-release.map] [--profile | --check-profile]
// --profile: also write scripts/core-profile.txt, what the build's split keeps in its first part;
// --check-profile: fail if the journey ran a function that file does not name, or read a byte of
// data the build's split moves to the second part (every read of memory is logged: loads,
// memory.copy, the glue's TextDecoder reads; the split's data rule is wasm-split.mjs dataByUse,
// which reads the core's link map).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import binaryen from 'binaryen';
import { visitPage } from './visit.mjs';
import { dataByUse, definedFunctions, emit, read, readLinkMap, readProfile, splitByUse, stableNames, stubOut } from '../wasm-split.mjs';
import { instrument } from './instrument.mjs';

const root = new URL('../..', import.meta.url).pathname;
const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : d; };
const namedPkg = resolve(root, arg('--pkg', 'bench/named-pkg'));
const out = arg('--out', '/tmp/coverage');
const port = Number(arg('--port', '8790'));
const CORE = 'plugin_warden_bg.wasm';

const sizes = (bytes) => ({
  raw: bytes.length,
  gzip: gzipSync(bytes, { level: 9 }).length,
  brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }).length,
});

/** The module with every function not in `kept` (indices) reduced to `unreachable`, no names. */
function onlyThese(bytes, kept) {
  const mod = read(bytes);
  definedFunctions(mod).forEach(([ref], i) => { if (!kept.has(i)) binaryen.Function.setBody(ref, mod.unreachable()); });
  return emit(mod, 'coverage: the reduced module');
}

/** A split's first module keeping the functions `kept` (indices): see wasm-split.mjs `stubOut`. */
function splitFirst(bytes, kept) {
  if (linkMap) return splitByUse(bytes, (i) => kept.has(i), linkMap).first;
  const mod = read(bytes);
  stubOut(mod, (_, i) => kept.has(i));
  mod.runPasses(['reorder-locals', 'remove-unused-module-elements']);
  return emit(mod, 'coverage: the split first module');
}

// --core: the core module to measure instead of the package's (target/split-core's: pkg/'s own
// is the first part of the build's split).
const original = readFileSync(resolve(root, arg('--core', join(namedPkg, CORE))));
// The core's link map (build.rs), for the split's data: the build's own split moves the data
// only the second part reaches, and so does this tool's.
const mapPath = resolve(root, arg('--link-map', 'target/split-core/link-release.map'));
const linkMap = existsSync(mapPath) ? readLinkMap(readFileSync(mapPath, 'utf8')) : null;
if (!linkMap) console.log(`coverage: no link map at ${mapPath}: the split modules keep all data`);
const { binary, names } = instrument(original);
const pkgDir = join(out, 'pkg');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(namedPkg, pkgDir, { recursive: true });
writeFileSync(join(pkgDir, CORE), binary);

/** The journey of www/bench/coverage.html on the package in `dir`: what it recorded. */
async function journey(dir) {
  const result = await visitPage({ pkgDir: dir, port, path: '/coverage.html', name: 'coverage', what: 'coverage: the journey' });
  if (result.talk.denied !== 'PERMISSION_DENIED' || result.talk.got?.text !== 'hello') throw new Error(`coverage: the plugin's calls went wrong: ${JSON.stringify(result.talk)}`);
  if (/onclick/.test(result.sanitized) || !/<b>sanitize<\/b>/.test(result.sanitized)) throw new Error(`coverage: the sanitize step went wrong: ${result.sanitized}`);
  if (result.built !== result.sanitized) throw new Error(`coverage: setHTML built ${result.built}, not what trustedHTML gave`);
  return result;
}

const result = await journey(pkgDir);

const full = sizes(onlyThese(original, new Set(names.map((_, i) => i))));
const rows = [{ step: 'the whole module (names stripped)', functions: names.length, ...full }];
for (const [step, ran] of Object.entries(result.snapshots)) {
  const bytes = onlyThese(original, new Set(ran));
  writeFileSync(join(out, `only-${step}.wasm`), bytes);
  rows.push({ step: `only what ran by the end of: ${step}`, functions: ran.length, ...sizes(bytes) });
  const first = splitFirst(original, new Set(ran));
  writeFileSync(join(out, `split-${step}.wasm`), first);
  rows.push({ step: `… as the first module of a split (stubs, exports)`, functions: ran.length, ...sizes(first) });
  writeFileSync(join(out, `ran-${step}.txt`), ran.map((i) => names[i]).sort().join('\n') + '\n');
}
// The premise, checked: the last step's reduced module alone carries the whole journey, and
// so does the split's first module (the page answers any `split.*` import by throwing).
const steps = Object.keys(result.snapshots);
const last = steps[steps.length - 1];
for (const kind of ['only', 'split']) {
  writeFileSync(join(pkgDir, CORE), readFileSync(join(out, `${kind}-${last}.wasm`)));
  await journey(pkgDir);
  console.log(`The journey ran again on ${kind}-${last}.wasm (no other function callable): it passed.`);
}
console.log('');

const kib = (n) => (n / 1024).toFixed(1);
console.log('| module | functions | raw KiB | gzip -9 KiB | brotli 11 KiB |\n| --- | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.step} | ${r.functions} | ${kib(r.raw)} | ${kib(r.gzip)} | ${kib(r.brotli)} |`);
writeFileSync(join(out, 'coverage.json'), JSON.stringify({ rows, snapshots: result.snapshots, names }, null, 1));
if (process.argv.includes('--check-profile')) {
  const stable = stableNames(names);
  const profile = readProfile(join(root, 'scripts/core-profile.txt'));
  const ran = result.snapshots[last].map((i) => stable[i]);
  const missing = ran.filter((n) => !profile.has(n));
  if (missing.length) {
    throw new Error(`coverage: the journey ran ${missing.length} functions scripts/core-profile.txt does not name, so the build's split would load its second part on a first visit; record the profile again (node scripts/bench/named-pkg.mjs && node scripts/bench/coverage.mjs --profile):\n${missing.slice(0, 40).join('\n')}`);
  }
  console.log(`scripts/core-profile.txt names all ${ran.length} functions the journey ran.`);
  // The data: every byte of it the journey read must be one the split keeps in the first part.
  if (linkMap) {
    const mod = read(original);
    const data = dataByUse(mod, (i) => profile.has(stable[i]), linkMap);
    mod.dispose();
    const outside = [];
    let dataRead = 0;
    for (const [start, end] of result.reads) {
      for (let at = start; at < end; at++) {
        if (data.inData(at)) dataRead++;
        if (!data.keptAt(at)) outside.push(at);
      }
    }
    if (outside.length) {
      throw new Error(`coverage: the journey read ${outside.length} bytes of data the build's split moves to the second part (the first part would read zeros there), from ${outside.slice(0, 20).map((a) => `0x${a.toString(16)}`).join(', ')}: scripts/wasm-split.mjs dataByUse misses a way the code reaches its data`);
    }
    console.log(`The journey read ${dataRead} of the core's ${data.keptBytes + data.movedBytes} bytes of data, all of them bytes the split keeps in the first part (${data.keptBytes}).`);
  }
}
if (process.argv.includes('--profile')) {
  // The build's split (scripts/split-module.mjs) keeps in the first part what the whole journey ran.
  const stable = stableNames(names);
  // And the allocator whole, whether or not this run reached each of its paths: which of them a
  // call takes depends on the heap's layout at that moment (dlmalloc's `dispose_chunk` runs
  // when a reallocation leaves a remainder beside a free chunk: in some journeys, not others),
  // and the glue's own `__wbindgen_realloc` and `__wbindgen_free` run for the first argument
  // that is not ASCII and the first string a call hands back by pointer.
  const always = (n) => /^<dlmalloc::dlmalloc::Dlmalloc<[^>]*>>::|^__wbindgen_(malloc|realloc|free)#|^__rustc::__rdl_/.test(n);
  const lines = [...new Set([...result.snapshots[last].map((i) => stable[i]), ...stable.filter(always)])].sort();
  writeFileSync(join(root, 'scripts/core-profile.txt'), `# The core module's functions a host's first visit runs (www/bench/coverage.js, all its steps),\n# by stable name (scripts/wasm-split.mjs stableNames): scripts/split-module.mjs keeps these in the\n# first part. Recorded by: node scripts/bench/named-pkg.mjs && node scripts/bench/coverage.mjs --profile\n${lines.join('\n')}\n`);
  console.log(`scripts/core-profile.txt: ${lines.length} functions`);
}
console.log(`\n(${out}: the reduced modules, the names of what ran at each step, coverage.json)`);
