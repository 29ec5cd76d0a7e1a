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

/** The package's shipped code files: pkg/*.wasm, pkg/*.js, pkg/client/*.js. */
export function packageFiles() {
  const pkg = join(root, 'pkg');
  const pick = (dir, exts) => readdirSync(join(pkg, dir)).filter((f) => exts.some((e) => f.endsWith(e))).sort().map((f) => join(dir, f));
  const files = [...pick('.', ['.wasm', '.js']), ...pick('client', ['.js'])];
  return files.map((f) => ({ file: `pkg/${f.replace(/^\.\//, '')}`, ...measure(join(pkg, f)) }));
}

export function sizeSuite() {
  const files = packageFiles();
  const wasmPath = join(root, 'pkg/plugin_warden_bg.wasm');
  const mod = new WebAssembly.Module(readFileSync(wasmPath));
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
    wasmNameSection: WebAssembly.Module.customSections(mod, 'name').length > 0,
    baselines,
    versions,
  };
}
