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

/** The package's shipped code: pkg/*.wasm, pkg/*.js, pkg/client/*.js, pkg/snippets/**.js. */
export function packageFiles() {
  const pkg = join(root, 'pkg');
  const pick = (dir, exts, recursive = false) => readdirSync(join(pkg, dir), { recursive })
    .filter((f) => exts.some((e) => f.endsWith(e))).sort().map((f) => join(dir, f));
  const files = [...pick('.', ['.wasm', '.js']), ...pick('client', ['.js']),
    ...(existsSync(join(pkg, 'snippets')) ? pick('snippets', ['.js'], true) : [])];
  return files.map((f) => ({ file: `pkg/${f.replace(/^\.\//, '')}`, ...measure(join(pkg, f)) }));
}

/** The names of a wasm module's custom sections (section id 0), read from its header walk. */
export function customSections(bytes) {
  const names = [];
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
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 0) {
      const len = leb();
      names.push(bytes.subarray(at, at + len).toString('utf8'));
    }
    at = end;
  }
  return names;
}

export function sizeSuite() {
  const files = packageFiles();
  const wasmPath = join(root, 'pkg/plugin_warden_bg.wasm');
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
    wasm: files.find((f) => f.file.endsWith('.wasm')),
    js: sum(files.filter((f) => f.file.endsWith('.js'))),
    wasmNameSection: customSections(readFileSync(wasmPath)).includes('name'),
    baselines,
    versions,
  };
}
