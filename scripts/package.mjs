// Completes pkg/ after wasm-pack: copies the entry module and the plugin-side client, writes
// the self-contained runner page, the licences, the package README and package.json (`exports`
// for every file a user imports or points a URL at), and minifies the package's JS modules.
import { readFileSync, writeFileSync, mkdirSync, copyFileSync, readdirSync, existsSync, renameSync, rmSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { pluginWardenClient } from '../src/client/index.js';
import { stampBuild, BUILD_EXPORT, BUILD_PLACEHOLDER } from './package-build.mjs';

const root = new URL('..', import.meta.url).pathname;
const pkg = join(root, 'pkg');
// Snippets of the glue shipped apart, each imported by the entry at its first call (see
// standIns): the IndexedDB store, the API client's request, and WebCrypto's signature check.
const APART = { 'idb.js': 'src/web/idb.js', 'fetch.js': 'src/web/fetch.js', 'crypto.js': 'src/web/crypto.js' };
// Modules of the entry's own shipped apart, imported by it at their first use: the mounts that
// need more than the core (src/web/index.js `mountWith`).
const ENTRY_APART = { 'mounts.js': 'src/web/mounts.js' };
const cargo = readFileSync(join(root, 'Cargo.toml'), 'utf8');
const field = (name) => (cargo.match(new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, 'm')) || [])[1];

const { build, transformSync } = await import('esbuild').catch((e) => {
  throw new Error(`package: esbuild (a pinned dev dependency) is missing: run scripts/setup.sh (${e.message})`);
});

mkdirSync(join(pkg, 'client'), { recursive: true });
writeFileSync(join(pkg, 'worker-runner.html'), await runnerPage());
for (const f of ['index.js', 'index.d.ts']) copyFileSync(join(root, 'src/client', f), join(pkg, 'client', f));
copyFileSync(join(root, 'src/web/index.d.ts'), join(pkg, 'index.d.ts'));
await bundleEntry();
await bundleSanitizerGlue();
// The IndexedDB store (`storage: 'indexeddb'`, `encrypt`) and the API client's request: modules
// of their own, which the entry imports at their first call (see bundleEntry); minified below
// like the others.
// Each names the build it is of (scripts/package-build.mjs): the entry compares it with its own.
for (const [file, snippet] of Object.entries({ ...APART, ...ENTRY_APART })) writeFileSync(join(pkg, file), readFileSync(join(root, snippet), 'utf8') + BUILD_EXPORT);
for (const f of ['LICENSE-MIT', 'LICENSE-APACHE']) copyFileSync(join(root, f), join(pkg, f));
copyFileSync(join(root, 'docs/package-README.md'), join(pkg, 'README.md'));

// Every other JS module the package ships, minified in place with a source map beside it
// (`x.js.map`, the unminified text included): the sanitizer's glue and the client (fetched on
// first need, and by every plugin frame), and minified they are about half the gzip bytes
// (docs/benchmarks.md). Only whitespace, syntax and local names
// change: exports, property names, string literals (`new URL('…', import.meta.url)`, the
// sanitizer's `import('./sanitizer/…')`) stay as they are, and the client's factory stays one
// self-contained function (srcdoc mounts inline its `toString()`), as no helper is added
// (no `keepNames`). A file that already names its map is left alone, so running this twice
// does not minify the minified text.
for (const file of shippedModules()) {
  const path = join(pkg, file);
  const text = readFileSync(path, 'utf8');
  if (/\n\/\/# sourceMappingURL=[^\n]*\n?$/.test(text)) continue;
  const out = transformSync(text, {
    loader: 'js', format: 'esm', minify: true, sourcemap: 'external',
    sourcefile: `plugin-warden/${file}`, logLevel: 'error',
  });
  writeFileSync(path, `${out.code}//# sourceMappingURL=${basename(file)}.map\n`);
  writeFileSync(`${path}.map`, out.map);
}

function shippedModules() {
  const js = (dir, recursive = false) => readdirSync(join(pkg, dir), { recursive })
    .filter((f) => f.endsWith('.js')).map((f) => (dir === '.' ? f : join(dir, f)));
  return [...js('.'), ...js('client'), ...js('sanitizer')];
}

// The entry module, the core's wasm-bindgen glue and its snippets (src/web/*.js), bundled into
// one minified `index.js`: a host's first load fetches one JS file where it fetched six, in a
// chain of three (the entry imports the glue, which imports the snippets), and they gzip
// 1.6 KiB smaller together than apart (docs/benchmarks.md). Nothing else changes: the glue's
// `new URL('plugin_warden_bg.wasm', import.meta.url)` and its second part's loader keep their
// literal URLs (this file stays at the package's root, next to the wasm), and the lazily
// loaded client and sanitizer glue stay separate modules, imported by their literal paths.
// wasm-pack writes the glue into pkg/; it moves to target/pkg-glue/, so running this again
// bundles the same glue.
async function bundleEntry() {
  const glue = join(root, 'target/pkg-glue');
  if (existsSync(join(pkg, 'plugin_warden.js'))) {
    rmSync(glue, { recursive: true, force: true });
    mkdirSync(glue, { recursive: true });
    renameSync(join(pkg, 'plugin_warden.js'), join(glue, 'plugin_warden.js'));
    if (existsSync(join(pkg, 'snippets'))) renameSync(join(pkg, 'snippets'), join(glue, 'snippets'));
  }
  rmSync(join(pkg, 'plugin_warden.js.map'), { force: true });
  if (!existsSync(join(glue, 'plugin_warden.js'))) throw new Error('package: no wasm-bindgen glue in pkg/ or target/pkg-glue/: run scripts/build.sh');
  copyFileSync(join(root, 'src/web/index.js'), join(glue, 'index.js'));
  const lazy = {
    name: 'lazy-modules',
    setup(b) {
      b.onResolve({ filter: /^\.\/(client\/|sanitizer\/|(idb|fetch|crypto|mounts)\.js$)/ }, (a) => ({ path: a.path, external: true }));
      // The glue's imports of the snippets shipped apart get stand-ins that import them first.
      b.onResolve({ filter: /\/src\/web\/(idb|fetch|crypto)\.js$/ }, (a) => ({ path: `src/web/${basename(a.path, '.js')}-stand-ins.js`, namespace: 'apart' }));
      b.onLoad({ filter: /.*/, namespace: 'apart' }, (a) => ({ contents: standIns(basename(a.path).replace(/-stand-ins\.js$/, '.js')), loader: 'js' }));
    },
  };
  const out = await build({
    entryPoints: [join(glue, 'index.js')], bundle: true, format: 'esm', platform: 'neutral',
    minify: true, sourcemap: 'external', write: false, outfile: join(pkg, 'index.js'),
    plugins: [lazy], logLevel: 'error',
  });
  for (const file of Object.keys({ ...APART, ...ENTRY_APART })) {
    if (!out.outputFiles.some((f) => f.path.endsWith('index.js') && f.text.includes(`"./${file}"`))) throw new Error(`package: the entry bundle does not import ./${file} (the glue no longer imports ${APART[file]}?)`);
  }
  for (const f of out.outputFiles) {
    if (f.path.endsWith('.map')) {
      const map = JSON.parse(f.text);
      map.sources = map.sources.map((s) => `plugin-warden/${s.startsWith('apart:') ? s.slice('apart:'.length) : relative(glue, join(pkg, s))}`);
      writeFileSync(f.path, JSON.stringify(map));
    } else {
      writeFileSync(f.path, `${f.text}//# sourceMappingURL=index.js.map\n`);
    }
  }
}

// IndexedDB storage (src/web/idb.js) is used by hosts created with `storage: 'indexeddb'` (or
// `encrypt`) only, and was 0.85 KiB gzip of every host's first load; the API client's request
// (src/web/fetch.js) is sent only for a plugin whose manifest declares `network` or `routes`
// (whose install already loads the core's second part), and was 0.4 KiB of it; the check of a
// signature (src/web/crypto.js) runs only for a signed install, 0.2 KiB. The entry holds
// stand-ins for their functions, which import the snippet (shipped as pkg/<file>) at the first
// call and call through. Each of their functions answers a Promise (checked), so a stand-in
// answers the same; an import that fails rejects that call, and the next call tries again.
// The rejection says which file could not be loaded, with `code` MODULE_NOT_LOADED (the
// signature check answers that code), and the `kind` fetch.js gives a request that was not
// sent ('unreachable': NETWORK_ERROR, retried as the API client retries). Since an
// IndexedDB host imports ./idb.js before its mounts (src/web/index.js `loadIdb`), a plugin's
// call reaches its stand-in only after a successful import: that stand-in's own retry is a
// fallback (a host page that calls the glue directly), not a path plugins take.
function standIns(file) {
  const snippet = APART[file];
  const text = readFileSync(join(root, snippet), 'utf8');
  const exported = text.split('\n').filter((l) => l.startsWith('export '));
  const names = exported.map((l) => l.match(/^export async function (\w+)\(/)?.[1]);
  if (names.length === 0 || names.includes(undefined)) throw new Error(`package: every export of ${snippet} must be an \`export async function\` (its stand-in answers a Promise): ${exported.join(' | ')}`);
  return [
    'let m = null;',
    // Of the entry's build, or refused (src/web/index.js `sameBuild` says why).
    `const load = () => (m ??= import('./${file}').then((x) => { if (x.__pw_build?.() !== '${BUILD_PLACEHOLDER}') throw new Error('it is from another build of the package: reload the page'); return x; }).catch((e) => { m = null; throw Object.assign(new Error(\`plugin-warden: its module ${file} could not be loaded: \${e?.message ?? e}\`), { code: 'MODULE_NOT_LOADED', kind: 'unreachable' }); }));`,
    ...names.map((n) => `export function ${n}(...a) { return load().then((x) => x.${n}(...a)); }`),
  ].join('\n');
}

// The sanitizer module's glue and its snippet (crates/sanitizer/src/tree.js, the DOM builder of
// `host.setHTML`), bundled into the one minified plugin_warden_sanitizer.js in the same way:
// the first sanitize fetches one JS file, not a chain of two. Its literal
// `new URL('…_bg.wasm', import.meta.url)` URLs stay as they are.
async function bundleSanitizerGlue() {
  const dir = join(pkg, 'sanitizer');
  const glue = join(root, 'target/pkg-sanitizer-glue');
  if (existsSync(join(dir, 'snippets'))) {
    rmSync(glue, { recursive: true, force: true });
    mkdirSync(glue, { recursive: true });
    renameSync(join(dir, 'plugin_warden_sanitizer.js'), join(glue, 'plugin_warden_sanitizer.js'));
    renameSync(join(dir, 'snippets'), join(glue, 'snippets'));
  }
  if (!existsSync(join(glue, 'plugin_warden_sanitizer.js'))) throw new Error('package: no sanitizer glue in pkg/sanitizer/ or target/pkg-sanitizer-glue/: run scripts/build.sh');
  const out = await build({
    entryPoints: [join(glue, 'plugin_warden_sanitizer.js')], bundle: true, format: 'esm', platform: 'neutral',
    minify: true, sourcemap: 'external', write: false, outfile: join(dir, 'plugin_warden_sanitizer.js'), logLevel: 'error',
  });
  for (const f of out.outputFiles) {
    if (f.path.endsWith('.map')) {
      const map = JSON.parse(f.text);
      map.sources = map.sources.map((s) => `plugin-warden/sanitizer/${relative(glue, join(dir, s))}`);
      writeFileSync(f.path, JSON.stringify(map));
    } else {
      writeFileSync(f.path, `${f.text}//# sourceMappingURL=plugin_warden_sanitizer.js.map\n`);
    }
  }
}

// Cargo.toml is the one source of the package's identity. `repository`/`homepage` appear only
// when Cargo.toml has them (no placeholder URLs); `bugs` follows a GitHub repository.
const repository = field('repository');
const homepage = field('homepage') ?? repository;
const github = repository?.match(/^https:\/\/github\.com\/[^/]+\/[^/]+?(?:\.git)?\/?$/) ? repository.replace(/(\.git)?\/?$/, '') : undefined;

const manifest = {
  name: 'plugin-warden',
  version: field('version'),
  description: field('description'),
  license: field('license'),
  ...(repository ? { repository: { type: 'git', url: `git+${repository.replace(/\/?$/, '')}${github ? '.git' : ''}` } } : {}),
  ...(homepage ? { homepage } : {}),
  ...(github ? { bugs: { url: `${github}/issues` } } : {}),
  type: 'module',
  main: './index.js',
  module: './index.js',
  types: './index.d.ts',
  // index.js holds the bindings, which set `Symbol.dispose` on their class when they load
  // (the entry's own code has no side effects: its PluginHost is a subclass, not a patched
  // prototype). Everything else may be dropped when unused.
  sideEffects: ['./index.js', './sanitizer/plugin_warden_sanitizer.js'],
  exports: {
    '.': { types: './index.d.ts', default: './index.js' },
    './client': { types: './client/index.d.ts', default: './client/index.js' },
    './client/index.js': { types: './client/index.d.ts', default: './client/index.js' },
    './worker-runner.html': './worker-runner.html',
    './plugin_warden_bg.wasm': './plugin_warden_bg.wasm',
    // The core module's second part (`preload('checks')`), exported for bundlers like the rest.
    './plugin_warden_checks_bg.wasm': './plugin_warden_checks_bg.wasm',
    // The sanitizer module, loaded by index.js on first need; its wasm is exported for
    // bundlers that need the URL handed in (esbuild: `preload('sanitizer', url)`).
    './sanitizer/plugin_warden_sanitizer.js': './sanitizer/plugin_warden_sanitizer.js',
    './sanitizer/plugin_warden_sanitizer_bg.wasm': './sanitizer/plugin_warden_sanitizer_bg.wasm',
    // Its second part (`preload('sanitizer-rest')`): IDNA, errors, rare paths.
    './sanitizer/plugin_warden_sanitizer_rest_bg.wasm': './sanitizer/plugin_warden_sanitizer_rest_bg.wasm',
    './package.json': './package.json',
  },
  files: readdirSync(pkg).filter((f) => f !== 'package.json' && f !== '.gitignore'),
  keywords: ['plugin', 'plugins', 'sandbox', 'iframe', 'postMessage', 'web-worker', 'csp', 'rbac', 'sanitizer', 'wasm', 'trusted-types'],
};
writeFileSync(join(pkg, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
// Every module but the plugin-side client (which plugin frames load, whatever the host's build).
const buildId = stampBuild(shippedModules().filter((f) => !f.startsWith('client/')));
console.log(`package: pkg/ (plugin-warden ${manifest.version}, build ${buildId}; exports ${Object.keys(manifest.exports).join(' ')})`);

// The runner page (worker plugins, bundle iframes) is one self-contained file: the client's
// factory and the bootstrap inline, allowed by hash in the page's own <meta> policy, so it
// enforces that policy whatever its server sends and loads nothing else. Until the bootstrap
// adds the per-mount policy (src/core/csp.rs runner_csp) only the bootstrap runs.
async function runnerPage() {
  const bootstrap = readFileSync(join(root, 'src/web/worker-runner.js'), 'utf8');
  // Minified like the package's modules (a worker or bundle mount fetches this page): a
  // classic script, so its top-level `pluginWardenClient` keeps its name, and the bootstrap's
  // `pluginWardenClient.toString()` (the worker's copy of the client) is the minified factory.
  const script = transformSync(`const pluginWardenClient = ${pluginWardenClient.toString()};\n${bootstrap}`, {
    loader: 'js', minify: true, logLevel: 'error',
  }).code;
  if (/<\/script/i.test(script)) throw new Error('package: the runner script must not contain </script');
  const hash = createHash('sha256').update(script, 'utf8').digest('base64');
  const csp = [
    `script-src 'sha256-${hash}' blob:`, 'worker-src blob:', "connect-src 'none'", "frame-src 'none'",
    "form-action 'none'", "base-uri 'none'", "object-src 'none'",
  ].join('; ');
  const template = readFileSync(join(root, 'src/web/worker-runner.html'), 'utf8');
  return template.replace('%RUNNER_CSP%', () => csp).replace('%RUNNER_SCRIPT%', () => script);
}
