// The package's build id (part of scripts/package.mjs): which build each file of pkg/ is of, so
// that a file fetched later from a URL that now serves another version (the package updated on
// the server while a page was open, a stale cache) is refused rather than run with this one.
// One id for the whole package: the first 12 hex digits of a SHA-256 over its wasm files (without
// the sections this writes) and its JS modules (with BUILD_PLACEHOLDER where the id goes), so
// running the build again on the same sources gives the same id. Written into:
//  - each wasm file (the two parts of the core and of the sanitizer, and the build's unsplit
//    copies in target/split-*, which the tests and the bench run with this build's glue): a
//    custom section BUILD_SECTION; the toolchain's own custom sections (`producers`,
//    `target_features`: which compilers made it, for a linker) go, as no browser reads them;
//  - each JS module where BUILD_PLACEHOLDER stands: the wasm-bindgen glues' split-loader config
//    (scripts/split-module.mjs), whose loader compares each wasm part with it
//    (src/web/split-loader.js); the entry's stand-ins of the snippets shipped apart; and the
//    modules the entry imports later (BUILD_EXPORT, appended by scripts/package.mjs), which the
//    entry compares with its own (src/web/index.js `sameBuild`).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sectionsOf } from './bench/size.mjs';

const root = new URL('..', import.meta.url).pathname;
/** Where a JS module names the build until it is known: as long as the id, so source maps hold. */
export const BUILD_PLACEHOLDER = 'pw:unstamped';
/** The custom section naming a wasm file's build. */
export const BUILD_SECTION = 'pw';
/** What scripts/package.mjs appends to each module the entry imports later. */
export const BUILD_EXPORT = `export function __pw_build() { return '${BUILD_PLACEHOLDER}'; }\n`;
// The custom sections a shipped wasm file does without.
const METADATA = new Set([BUILD_SECTION, 'producers', 'target_features']);
const WASM = [
  'pkg/plugin_warden_bg.wasm', 'pkg/plugin_warden_checks_bg.wasm',
  'pkg/sanitizer/plugin_warden_sanitizer_bg.wasm', 'pkg/sanitizer/plugin_warden_sanitizer_rest_bg.wasm',
];
const COPIES = ['target/split-core/plugin_warden_bg.wasm', 'target/split-sanitizer/plugin_warden_sanitizer_bg.wasm'];

/**
 * Stamp pkg/ (its JS `modules`, paths relative to pkg/, each holding BUILD_PLACEHOLDER) and the
 * unsplit copies with one build id; answers it.
 */
export function stampBuild(modules) {
  const hash = createHash('sha256');
  for (const file of WASM) hash.update(withoutMetadata(readFileSync(join(root, file))));
  const texts = new Map(modules.map((f) => [f, readFileSync(join(root, 'pkg', f), 'utf8')]));
  for (const [file, text] of [...texts].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`${file}\0${text}`);
  const id = hash.digest('hex').slice(0, BUILD_PLACEHOLDER.length);
  for (const [file, text] of texts) {
    if (!text.includes(BUILD_PLACEHOLDER)) throw new Error(`package: pkg/${file} does not name its build (no ${BUILD_PLACEHOLDER})`);
    writeFileSync(join(root, 'pkg', file), text.replaceAll(BUILD_PLACEHOLDER, id));
  }
  for (const file of [...WASM, ...COPIES]) {
    const path = join(root, file);
    if (existsSync(path)) writeFileSync(path, Buffer.concat([withoutMetadata(readFileSync(path)), customSection(BUILD_SECTION, Buffer.from(id, 'latin1'))]));
  }
  return id;
}

// A wasm module's bytes without the custom sections METADATA names.
function withoutMetadata(bytes) {
  if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error('package: not a wasm module');
  const kept = sectionsOf(bytes).filter((s) => !METADATA.has(s.name)).map((s) => bytes.subarray(s.start, s.end));
  return Buffer.concat([bytes.subarray(0, 8), ...kept]);
}

function customSection(name, payload) {
  const leb = (n) => {
    const out = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n !== 0) b |= 0x80;
      out.push(b);
    } while (n !== 0);
    return Buffer.from(out);
  };
  const body = Buffer.concat([leb(name.length), Buffer.from(name, 'latin1'), payload]);
  return Buffer.concat([Buffer.from([0]), leb(body.length), body]);
}
