// Which functions of the sanitizer module cleaning real HTML runs: the profile the build splits
// the sanitizer by (scripts/split-module.mjs sanitizer), and the checks that guard the split.
//
// Runs in Node (the sanitizer module has no DOM imports). It takes the unsplit module the build
// keeps, with its names (target/split-sanitizer/plugin_warden_sanitizer_bg.wasm), instruments it
// (scripts/bench/instrument.mjs: each function reports that it ran, each read of memory is
// logged), loads it with the package's sanitizer glue and cleans, under the default policy,
// each input both as text (`clean`) and as a tree (`setHTML`, host.setHTML's path, into a
// recording stand-in for the DOM):
//  - the first sanitize of the bench journey (www/bench/coverage.js);
//  - inline SVG icons and the XSS corpus (tests/data/vectors.jsonl, 362 payloads);
//  - every page of the bench corpus (htmlparser-benchmark: ~250 real web pages) and its fragments.
// Then it cleans the same inputs with the first part of a split by what ran, alone (each `split.*`
// import throws), and with the unsplit module, and compares the output text for text.
// The sanitizer's split keeps all its data in the first part. Moving data by use (as the core's
// split does, wasm-split.mjs dataByUse) failed here: with a split's data moved, cleaning read
// bytes the first part no longer held. html5ever reads its C1_REPLACEMENTS table at a base
// 0x200 bytes below it, and a remote-UI policy's table was read from a base just past its end:
// addresses the code names are outside the objects it reads. (--link-map <map> measures that,
// with the map of a sanitizer built with PW_LINK_MAP=<map>: build.rs.)
//   node scripts/bench/sanitizer-coverage.mjs [--module <wasm>] [--quick] [--link-map <map>]
//        [--options] [--remote-ui] [--profile | --check-profile]
// --profile: write scripts/sanitizer-profile.txt (what the build's split keeps in its first part);
// --check-profile: fail if the cleaning ran a function that file does not name.
// --quick: every 32nd page (the check is then a subset of the profile's inputs).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildCorpus } from './corpus.mjs';
import { instrument } from './instrument.mjs';
import { readLog } from '../../www/bench/read-log.js';
import { dataByUse, read, readLinkMap, readProfile, splitByUse, stableNames } from '../wasm-split.mjs';

const root = new URL('../..', import.meta.url).pathname;
const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : d; };
const modulePath = resolve(root, arg('--module', 'target/split-sanitizer/plugin_warden_sanitizer_bg.wasm'));
const mapPath = arg('--link-map', null);
const glueUrl = pathToFileURL(join(root, 'pkg/sanitizer/plugin_warden_sanitizer.js')).href;
const profilePath = join(root, 'scripts/sanitizer-profile.txt');

// The policies, as the core module sends them (`Sanitizer::spec_json`: every field): a host's
// default policy. A remote UI's (worker mounts that render) is left to the second part: such a
// mount preloads it (src/web/index.js), and a host that never mounts one does not pay for its
// code (4.5 KiB gzip of the first part). A host's own `sanitizer` options are read by code of
// the second parts, of the core as of the sanitizer (documented: such a host preloads 'checks'
// and 'sanitizer-rest'); --options adds a policy with every option set, and --remote-ui the
// remote UI's, to measure what the first part would cost with them.
const config = (over = {}) => ({ allowElements: [], removeElements: [], allowAttributes: {}, allowDataImages: false, linkTarget: 'strip', maxTags: 10000, ...over });
const SPECS = [
  { config: config() },
  ...(process.argv.includes('--remote-ui') ? [{ config: config(), remoteUi: ['https://cdn.example'] }] : []),
  ...(process.argv.includes('--options')
    ? [{ config: config({ allowElements: ['details', 'summary'], removeElements: ['img'], allowAttributes: { '*': ['lang'] }, allowDataImages: true, linkTarget: 'blank', maxTags: 100000 }) }]
    : []),
].map((s) => JSON.stringify(s));

const corpus = await buildCorpus({ quick: process.argv.includes('--quick'), allPages: !process.argv.includes('--quick') });
// What plugins send besides such pages: inline SVG icons, and hostile HTML (the XSS corpus of
// tests/data/vectors.jsonl: a host must not fetch the rest of the sanitizer for an attack).
const MODERN = [
  '<button><svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path d="M12 2L2 22h20z" fill="currentColor"/></svg> Save</button>',
  '<details open><summary>More</summary><p>Text with <code>code</code>, <kbd>Ctrl</kbd> and <mark>marks</mark>.</p></details>',
];
const VECTORS = readFileSync(join(root, 'tests/data/vectors.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).payload);
const INPUTS = ['<p onclick="alert(1)">first <b>sanitize</b></p>', ...MODERN, ...VECTORS, ...corpus.pages, ...corpus.fragments];

/**
 * What `cleaner.setHTML` (the tree path of host.setHTML) builds for `html`, written out as text:
 * into a recording stand-in for the few DOM calls its loop makes (crates/sanitizer/src/tree.js);
 * "text path" where it leaves the input to the text path.
 */
function built(cleaner, html) {
  const node = (name) => ({
    name, children: [], attrs: [], parentNode: null,
    appendChild(c) { c.parentNode = this; this.children.push(c); return c; },
    setAttribute(k, v) { this.attrs.push(`${k}=${JSON.stringify(v)}`); },
  });
  const write = (n) => (n.text !== undefined ? JSON.stringify(n.text) : `<${n.name}${n.attrs.map((a) => ` ${a}`).join('')}>${n.children.map(write).join('')}</${n.name}>`);
  let out = null;
  const target = {
    nodeType: 1, namespaceURI: 'http://www.w3.org/1999/xhtml', localName: 'div',
    ownerDocument: {
      contentType: 'text/html',
      createDocumentFragment: () => node('#fragment'),
      createElement: (name) => node(name),
      createTextNode: (text) => ({ text, parentNode: null }),
    },
    replaceChildren(fragment) { out = write(fragment); },
  };
  return cleaner.setHTML(target, html) ? out : 'text path';
}

// Every run loads its own copy of the glue (a module per URL) and instantiates `bytes` with it;
// `extra(imports)` adds to the glue's imports.
let runs = 0;
async function cleanAll(bytes, extra = (i) => i) {
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = class extends Instance { constructor(m, imports) { super(m, extra(imports)); } };
  try {
    const glue = await import(`${glueUrl}?run=${runs++}`);
    glue.initSync({ module: bytes });
    const out = [];
    for (const spec of SPECS) {
      const cleaner = new glue.Cleaner(spec);
      for (const html of INPUTS) out.push(cleaner.clean(html));
      // host.setHTML's path: the cleaned tree, built into a recording DOM (Node has none).
      for (const html of INPUTS) out.push(built(cleaner, html));
      // Freed, as the garbage collector would (a finalizer must never need the second part).
      cleaner.free();
    }
    return out;
  } finally {
    WebAssembly.Instance = Instance;
  }
}

const original = readFileSync(modulePath);
// The build's split moves no data (see above); with --link-map, this one moves what dataByUse would.
const linkMap = mapPath ? readLinkMap(readFileSync(resolve(root, mapPath), 'utf8')) : null;
const { binary, names } = instrument(original);
const ran = new Set();
const READ_LIMIT = 4 * 1024 * 1024; // the stack (1 MiB), the data, the start of the heap (with --link-map)
const log = readLog(READ_LIMIT);
const started = Date.now();
const expected = await cleanAll(binary, (imports) => ({
  ...imports, pwcov: { mark: (i) => ran.add(i) }, pwmem: log.pwmem, env: { ...imports.env, ...log.env },
}));
console.log(`sanitizer-coverage: ${SPECS.length} policies × ${INPUTS.length} inputs (${corpus.source}, ${corpus.pages.length} pages) ran ${ran.size} of ${names.length} functions (${((Date.now() - started) / 1000).toFixed(1)} s)`);
if (!/<b>sanitize<\/b>/.test(expected[0]) || /onclick/.test(expected[0])) throw new Error(`sanitizer-coverage: the first sanitize went wrong: ${expected[0]}`);

const stable = stableNames(names);
const kept = (i) => ran.has(i);
/** Fail if cleaning read a byte of data a split keeping `keep(i)` would move (`who` does so). */
function dataCheck(keep, who) {
  const mod = read(original);
  const data = dataByUse(mod, keep, linkMap);
  mod.dispose();
  const outside = [];
  let dataRead = 0;
  for (const [start, end] of log.runs()) {
    for (let at = start; at < end; at++) {
      if (data.inData(at)) dataRead++;
      if (!data.keptAt(at)) outside.push(at);
    }
  }
  if (outside.length) {
    throw new Error(`sanitizer-coverage: cleaning read ${outside.length} bytes of data ${who} moves to the second part (the first part would read zeros there), from ${outside.slice(0, 20).map((a) => `0x${a.toString(16)}`).join(', ')}: scripts/wasm-split.mjs dataByUse misses a way the code reaches its data`);
  }
  console.log(`Cleaning read ${dataRead} of the module's ${data.keptBytes + data.movedBytes} bytes of data, all of them bytes ${who} keeps in the first part (${data.keptBytes}).`);
}

if (linkMap) dataCheck(kept, 'a split by what ran');
// The premise: the first part of a split by what ran cleans every input alone, as the module.
const split = splitByUse(original, kept, linkMap);
const refuse = new Proxy({}, { get: (_, name) => () => { throw new Error(`sanitizer-coverage: the first part called split.${String(name)}`); } });
const alone = await cleanAll(split.first, (imports) => ({ ...imports, split: refuse }));
const whole = await cleanAll(original);
for (const [what, out] of [['the split\'s first part alone', alone], ['the unsplit module', whole]]) {
  const differ = out.findIndex((o, i) => o !== expected[i]);
  if (differ >= 0) throw new Error(`sanitizer-coverage: ${what} cleaned input ${differ % INPUTS.length} (policy ${Math.floor(differ / (2 * INPUTS.length))}, ${differ % (2 * INPUTS.length) < INPUTS.length ? 'as text' : 'as a tree'}) differently`);
}
const kib = (b) => (gzipSync(b, { level: 9 }).length / 1024).toFixed(1);
console.log(`The first part of a split by what ran (${kib(split.first)} KiB gzip; the rest ${kib(split.second)} KiB) cleaned all ${expected.length} alone, as the unsplit module did.`);

if (process.argv.includes('--check-profile')) {
  const profile = readProfile(profilePath);
  const missing = [...ran].map((i) => stable[i]).filter((n) => !profile.has(n));
  if (missing.length) {
    throw new Error(`sanitizer-coverage: cleaning ran ${missing.length} functions scripts/sanitizer-profile.txt does not name, so the build's split would load its second part for them; record the profile again (scripts/build.sh && node scripts/bench/sanitizer-coverage.mjs --profile):\n${missing.slice(0, 40).join('\n')}`);
  }
  console.log(`scripts/sanitizer-profile.txt names all ${ran.size} functions cleaning ran.`);
  if (linkMap) dataCheck((i) => profile.has(stable[i]), 'a split by the profile');
}
if (process.argv.includes('--profile')) {
  const lines = [...ran].map((i) => stable[i]).sort();
  writeFileSync(profilePath, `# The sanitizer module's functions that cleaning real HTML runs (scripts/bench/sanitizer-coverage.mjs:\n# the bench corpus's pages and fragments, SVG icons, the XSS corpus, under the default and a remote-UI policy), by stable name (scripts/wasm-split.mjs\n# stableNames): scripts/split-module.mjs keeps these in the first part. Recorded by:\n# scripts/build.sh && node scripts/bench/sanitizer-coverage.mjs --profile\n${lines.join('\n')}\n`);
  console.log(`scripts/sanitizer-profile.txt: ${lines.length} functions`);
}
