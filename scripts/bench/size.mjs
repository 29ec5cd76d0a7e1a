// Suite `size` (Node part): the package's wasm + JS, raw, gzip (zlib level 9) and brotli
// (quality 11), against the minified dist files of DOMPurify, Penpal and Comlink; and whether
// the release wasm keeps its name section (function names in profiles).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const root = new URL('../..', import.meta.url).pathname;

function measure(path) {
  const bytes = readFileSync(path);
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

const sum = (files) => files.reduce((t, f) => ({ raw: t.raw + f.raw, gzip: t.gzip + f.gzip, brotli: t.brotli + f.brotli }), { raw: 0, gzip: 0, brotli: 0 });

/**
 * The package's shipped code: pkg/*.wasm, pkg/*.js, pkg/client/*.js and the sanitizer module
 * (pkg/sanitizer/*.js, *.wasm). `pkgDir` defaults to pkg/.
 */
export function packageFiles(pkgDir = join(root, 'pkg')) {
  const pick = (dir, exts, recursive = false) => (existsSync(join(pkgDir, dir)) ? readdirSync(join(pkgDir, dir), { recursive }) : [])
    .filter((f) => exts.some((e) => f.endsWith(e)) && !f.endsWith('.d.ts')).sort().map((f) => join(dir, f));
  const files = [...pick('.', ['.wasm', '.js']), ...pick('sanitizer', ['.wasm', '.js']), ...pick('client', ['.js'])];
  return files.map((f) => ({ file: `pkg/${f.replace(/^\.\//, '')}`, ...measure(join(pkgDir, f)) }));
}

/**
 * The package's modules (issue 14: the size suite reports each): which files make each one.
 * Every shipped file belongs to exactly one (checked), so the modules add up to the total.
 */
export const MODULES = [
  { module: 'core wasm', what: 'eager: fetched by init() (the first part of the core: what a first visit runs)', test: (f) => f === 'pkg/plugin_warden_bg.wasm' },
  { module: 'core checks wasm', what: "on first need: preload('checks'), or the first call that needs it (the rest of the core)", test: (f) => f === 'pkg/plugin_warden_checks_bg.wasm' },
  { module: 'sanitizer wasm', what: "on first need: preload('sanitizer') (the first part of the sanitizer: what cleaning real HTML runs)", test: (f) => f === 'pkg/sanitizer/plugin_warden_sanitizer_bg.wasm' },
  { module: 'sanitizer rest wasm', what: "on first need: preload('sanitizer-rest'), or the first clean that needs it (IDNA, errors, rare paths)", test: (f) => f === 'pkg/sanitizer/plugin_warden_sanitizer_rest_bg.wasm' },
  { module: 'entry JS', what: "pkg/index.js: the entry with the core's wasm-bindgen glue and its snippets, one bundle", test: (f) => f === 'pkg/index.js' },
  { module: 'sanitizer glue JS', what: "the sanitizer's wasm-bindgen glue, imported on first need", test: (f) => f.startsWith('pkg/sanitizer/') && f.endsWith('.js') },
  { module: 'IndexedDB JS', what: "pkg/idb.js: the store of `storage: 'indexeddb'` (and `encrypt`), imported by the entry when such a host is created (before its mounts)", test: (f) => f === 'pkg/idb.js' },
  { module: 'signature check JS', what: "pkg/crypto.js: WebCrypto's check of a signed install, imported by the entry at the first one", test: (f) => f === 'pkg/crypto.js' },
  { module: 'API client JS', what: "pkg/fetch.js: the API client's request, imported by the entry at a plugin's first `api.fetch` that is sent", test: (f) => f === 'pkg/fetch.js' },
  { module: 'mounts JS', what: 'pkg/mounts.js: the mounts that need more than the core (srcdoc, a shadow `render`, a worker `src`), imported by the entry at the first one', test: (f) => f === 'pkg/mounts.js' },
  { module: 'client JS', what: 'plugin side (plugin-warden/client); pkg/mounts.js imports it for a srcdoc or shadow render mount', test: (f) => f.startsWith('pkg/client/') },
];

/** The files grouped by MODULES, with their sums; throws on a file no module claims. */
export function modulesOf(files) {
  const out = MODULES.map(({ module, what, test }) => {
    const mine = files.filter((f) => test(f.file));
    return { module, what, files: mine.map((f) => f.file), ...sum(mine) };
  });
  const orphans = files.filter((f) => !MODULES.some((m) => m.test(f.file)));
  if (orphans.length) throw new Error(`size: no module claims ${orphans.map((f) => f.file).join(', ')} (scripts/bench/size.mjs MODULES)`);
  return out;
}

/**
 * A wasm module's sections, in order: `{ id, name, start, end }` (`name`: a custom section's
 * (id 0), else null; [start, end): the whole section, its header included).
 */
export function sectionsOf(bytes) {
  const sections = [];
  let at = 8; // magic + version
  const leb = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return v;
    }
  };
  while (at < bytes.length) {
    const start = at;
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    let name = null;
    if (id === 0) {
      const len = leb();
      name = Buffer.from(bytes.subarray(at, at + len)).toString('utf8');
    }
    sections.push({ id, name, start, end });
    at = end;
  }
  return sections;
}

/** The names of a wasm module's custom sections (section id 0). */
export function customSections(bytes) {
  return sectionsOf(bytes).filter((s) => s.id === 0).map((s) => s.name);
}

export function sizeSuite() {
  const files = packageFiles();
  const wasms = files.filter((f) => f.file.endsWith('.wasm'));
  const others = {
    DOMPurify: ['node_modules/dompurify/dist/purify.min.js'],
    Penpal: ['node_modules/penpal/dist/penpal.min.js'],
    Comlink: ['node_modules/comlink/dist/umd/comlink.min.js'],
  };
  const versions = {};
  const baselines = {};
  for (const [name, list] of Object.entries(others)) {
    const present = list.filter((f) => existsSync(join(root, f)));
    baselines[name] = { files: present, ...sum(present.map((f) => measure(join(root, f)))) };
    versions[name] = JSON.parse(readFileSync(join(root, 'node_modules', name.toLowerCase(), 'package.json'), 'utf8')).version;
  }
  return {
    files,
    total: sum(files),
    modules: modulesOf(files),
    wasm: sum(wasms),
    js: sum(files.filter((f) => f.file.endsWith('.js'))),
    wasmNameSection: wasms.every((f) => customSections(readFileSync(join(root, f.file))).includes('name')),
    baselines,
    versions,
  };
}
