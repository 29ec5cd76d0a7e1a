// The package as users consume it (issue 18): `npm pack` of pkg/, `npm install` of the tarball
// into scratch apps (tests/package-apps/, copied to the gitignored tests/package-apps/.work/),
// built and served by their own tools — Vite (dev server, and `vite build` + `vite preview`),
// esbuild (`--bundle` with the package README's loaders, served by `esbuild --servedir`), and
// no bundler (an import map over node_modules) — then driven in Chromium: a bundle iframe, a
// `src` iframe, a srcdoc frame, a worker and a remote-UI shadow panel must each complete the
// handshake and say `ready`; an IndexedDB host's worker stores a value; a host trusting one key
// installs a signed plugin whose request goes through the host's API client (the package's
// `import('./idb.js')`, `import('./crypto.js')` and `import('./fetch.js')` followed by each
// bundler). Also: `tsc --strict` over a TypeScript host and plugin against the
// installed package, the tarball's contents, and the coded errors in Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import net from 'node:net';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join, extname, normalize } from 'node:path';
import { envWith, openPage, until } from './helpers.mjs';
import { customSections } from '../../scripts/bench/size.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const APPS = join(ROOT, 'tests/package-apps');
const WORK = join(APPS, '.work');
const BIN = {
  vite: join(ROOT, 'node_modules/vite/bin/vite.js'),
  esbuild: join(ROOT, 'node_modules/esbuild/bin/esbuild'),
  tsc: join(ROOT, 'node_modules/typescript/bin/tsc'),
};
const PLUGIN_IDS = ['pkg-bundle', 'pkg-src', 'pkg-srcdoc', 'pkg-worker', 'pkg-panel', 'pkg-stored', 'pkg-signed'];

let env, plugins, tarball;
const children = [];
const servers = [];

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css',
};

/** A static server over `dir`; `headers` are added to every answer; each path asked is pushed on `log`. */
function staticServer(dir, headers = {}, routes = {}, log = []) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    log.push(`${req.method} ${path}`);
    const mapped = Object.entries(routes).find(([prefix]) => path.startsWith(prefix));
    const base = mapped ? mapped[1] : dir;
    const rel = mapped ? path.slice(mapped[0].length) : path;
    const file = normalize(join(base, rel.endsWith('/') ? `${rel}index.html` : rel));
    if (!file.startsWith(base) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, headers);
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', ...headers });
    res.end(readFileSync(file));
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Start a long-running tool (a dev or preview server) and resolve once `url` answers. */
async function serve(cmd, args, cwd, url) {
  // Node scripts run under this Node; esbuild's bin is native or a `#!/usr/bin/env node` shim.
  const [exe, argv] = cmd.endsWith('.js') ? [process.execPath, [cmd, ...args]] : [cmd, args];
  const child = spawn(exe, argv, { cwd, stdio: ['pipe', 'pipe', 'pipe'] }); // esbuild serves while stdin is open
  children.push(child);
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const up = await until(async () => {
    if (child.exitCode !== null) return 'exited';
    try { return (await fetch(url)).ok; } catch { return false; }
  }, 30_000, 200);
  assert.equal(up, true, `${cmd} ${args.join(' ')} did not serve ${url}:\n${output}`);
  return child;
}

function run(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout}\n${e.stderr}`);
  }
}

before(async () => {
  assert.ok(existsSync(join(ROOT, 'pkg/package.json')), 'pkg/ is not built: run scripts/build.sh');
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  for (const dir of readdirSync(APPS)) if (dir !== '.work') cpSync(join(APPS, dir), join(WORK, dir), { recursive: true });
  writeFileSync(join(WORK, 'package.json'), JSON.stringify({ name: 'package-test-apps', private: true, type: 'module' }));
  const packed = JSON.parse(run('npm', ['pack', join(ROOT, 'pkg'), '--pack-destination', WORK, '--json', '--silent'], WORK));
  tarball = packed[0];
  run('npm', ['install', join(WORK, tarball.filename), '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--loglevel=error'], WORK);
  // The plugin author's server: the `src` plugin page and the package's client next to it,
  // answering the frame's `Origin: null` module requests and opting in to the embedded CSP.
  // Its API (api/answer.json) answers the host's API client, which sends no credentials.
  const log = [];
  plugins = { log, origin: await staticServer(join(WORK, 'plugin-server'), {
    'access-control-allow-origin': '*', 'allow-csp-from': '*',
  }, { '/client/': join(WORK, 'node_modules/plugin-warden/client') }, log) };
  // The apps' servers are this file's (static servers, preview processes), started as tests
  // need them; the environment closes them with the browser.
  env = await envWith({
    async close() {
      for (const c of children) c.kill();
      for (const s of servers) s.close();
    },
  });
});

after(async () => {
  if (env) await env.close();
  else {
    for (const c of children) c.kill();
    for (const s of servers) s.close();
  }
});

/** Open the app, wait for the scenario, and check every plugin is ready in its mode. */
async function exercise(appUrl, { keep = false } = {}) {
  plugins.log.length = 0;
  const { page, seen, context } = await openPage(env, `${appUrl}?plugins=${encodeURIComponent(plugins.origin)}`, { ready: false });
  try {
    const state = await until(() => page.evaluate(() => window.packageTest?.failed || window.packageTest?.done ? window.packageTest : null).catch(() => null), 45_000, 200);
    const dump = () => JSON.stringify({ state, seen }, (k, v) => (k === 'host' ? undefined : v), 1);
    assert.ok(state, `the scenario did not finish: ${JSON.stringify(seen)}`);
    assert.equal(state.failed, undefined, dump());
    for (const id of PLUGIN_IDS) assert.equal(state.results[id]?.ok, true, `${id}: ${dump()}`);
    const ready = await until(async () => {
      const events = await page.evaluate(() => window.packageTest.events.filter((e) => e.name === 'ready').map((e) => e.pluginId));
      return PLUGIN_IDS.every((id) => events.includes(id)) ? events : null;
    }, 15_000);
    assert.ok(ready, `not every plugin said ready: ${dump()}`);
    assert.deepEqual(await page.evaluate(() => window.packageTest.events.find((e) => e.pluginId === 'pkg-src' && e.name === 'ready').data), { mode: 'src', pluginId: 'pkg-src' });
    // The IndexedDB host's plugin stored a value and read it back through the package's store.
    assert.deepEqual(await page.evaluate(() => window.packageTest.events.find((e) => e.pluginId === 'pkg-stored' && e.name === 'ready').data), { mode: 'indexeddb', value: { n: 42, list: ['a', 'b'] }, keys: ['answer'] });
    // The signed plugin installed under the host's one trusted key, and its API client sent the
    // request its manifest covers; the one it does not cover never left the page.
    assert.deepEqual(await page.evaluate(() => window.packageTest.events.find((e) => e.pluginId === 'pkg-signed' && e.name === 'ready').data), {
      mode: 'signed', status: 200, type: 'application/json', body: { answer: 42, from: 'the plugin author\'s API' }, refused: 'NETWORK_DENIED',
    });
    assert.ok(plugins.log.includes('GET /api/answer.json'), plugins.log.join('\n'));
    assert.deepEqual(plugins.log.filter((l) => l.includes('/private/')), []);
    // The same signature over a manifest asking for more: refused, nothing installed.
    assert.equal(state.widened.ok, false, dump());
    assert.equal(state.widened.code, 'SIGNATURE_INVALID', dump());
    // The shadow panel is on the page and answers a click through the worker.
    const panel = page.locator('#slot-pkg-panel [data-remote-ui]');
    assert.equal(await panel.count(), 1);
    assert.ok((await panel.boundingBox()).height > 10, 'the panel takes space');
    await panel.click({ position: { x: 10, y: 8 } });
    const clicked = await until(() => page.evaluate(() => window.packageTest.events.find((e) => e.name === 'clicked')?.data), 10_000);
    assert.deepEqual(clicked, { clicks: 1 });
    // The remote-UI mount loaded the sanitizer module (or the app preloaded it): it cleans.
    assert.equal(state.sanitized, '<img src="x.png"><b>ok</b>');
    assert.match(state.idn, /^<a href="[^"]*"[^>]*>b\u00fccher<\/a>$/, 'the IDN link, cleaned by the sanitizer\'s second part');
    assert.ok(!state.idn.includes('onclick'), state.idn);
    assert.deepEqual(seen.pageErrors, []);
    return page;
  } finally {
    if (!keep) await context.close();
  }
}

test('the tarball: licences, README, every exported file, no runner script to copy', () => {
  const files = tarball.files.map((f) => f.path);
  for (const f of ['LICENSE-MIT', 'LICENSE-APACHE', 'README.md', 'index.js', 'index.d.ts', 'client/index.js', 'client/index.d.ts', 'worker-runner.html', 'plugin_warden_bg.wasm',
    'plugin_warden_checks_bg.wasm', 'sanitizer/plugin_warden_sanitizer.js', 'sanitizer/plugin_warden_sanitizer_bg.wasm', 'sanitizer/plugin_warden_sanitizer_rest_bg.wasm']) {
    assert.ok(files.includes(f), `${f} is not in the tarball: ${files.join(', ')}`);
  }
  assert.ok(!files.includes('worker-runner.js'), 'the runner page is self-contained');
  // Every JS module ships minified with its source map, which holds the unminified text. The
  // entry is one bundle of the entry, the core's glue and its snippets (one file to fetch); the
  // sanitizer's glue likewise with its snippet; the IndexedDB store, the API client's request and
  // the signature check are modules of their own.
  const modules = files.filter((f) => f.endsWith('.js')).sort();
  assert.deepEqual(modules, ['client/index.js', 'crypto.js', 'fetch.js', 'idb.js', 'index.js', 'mounts.js', 'sanitizer/plugin_warden_sanitizer.js']);
  for (const f of modules) {
    const text = readFileSync(join(WORK, 'node_modules/plugin-warden', f), 'utf8');
    const mapName = `${f.split('/').at(-1)}.map`;
    assert.ok(text.endsWith(`//# sourceMappingURL=${mapName}\n`), `${f} does not name its source map`);
    assert.ok(files.includes(`${f}.map`), `${f}.map is not in the tarball`);
    const map = JSON.parse(readFileSync(join(WORK, 'node_modules/plugin-warden', `${f}.map`), 'utf8'));
    // The sanitizer's glue is one bundle of the glue and its snippet (crates/sanitizer/src/tree.js);
    // the entry holds stand-ins for the functions of the snippets shipped apart (the IndexedDB
    // store, the API client's request, the signature check: scripts/package.mjs).
    const sources = f === 'index.js'
      ? ['plugin-warden/index.js', 'plugin-warden/plugin_warden.js', ...['binary', 'crypto-stand-ins', 'fetch-stand-ins', 'idb-stand-ins', 'later'].map((s) => `src/web/${s}.js`)]
      : f === 'sanitizer/plugin_warden_sanitizer.js' ? [f, 'src/tree.js'] : [f];
    assert.equal(map.sources.length, sources.length, `${f}: ${map.sources}`);
    for (const s of sources) assert.ok(map.sources.some((x) => x.endsWith(s.replace(/^plugin-warden\//, ''))), `${f}: no ${s} among ${map.sources}`);
    assert.equal(map.sourcesContent.length, sources.length, f);
    const unminified = map.sourcesContent.reduce((n, t) => n + t.length, 0);
    assert.ok(unminified > text.length, `${f}: the map's sources are not the unminified text`);
  }
  // No module imports a file the package does not ship (the bundle left only the lazy modules).
  for (const f of modules) {
    const text = readFileSync(join(WORK, 'node_modules/plugin-warden', f), 'utf8');
    for (const [, spec] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)["'](\.\.?\/[\w./-]+\.js)["']/g)) {
      const target = join(f, '..', spec);
      assert.ok(files.includes(target), `${f} imports ${spec}, which is not in the tarball`);
    }
  }
  // Every wasm file names the build it is of (one id for the package: src/web/split-loader.js
  // refuses a part of another build), and carries no toolchain metadata (`producers`,
  // `target_features`: bytes of every first load that no browser reads) nor names.
  const wasmFiles = files.filter((f) => f.endsWith('.wasm'));
  assert.equal(wasmFiles.length, 4, wasmFiles.join());
  const builds = new Set();
  for (const f of wasmFiles) {
    const module = new WebAssembly.Module(readFileSync(join(WORK, 'node_modules/plugin-warden', f)));
    const sections = customSections(readFileSync(join(WORK, 'node_modules/plugin-warden', f)));
    assert.deepEqual(sections, ['pw'], `${f}: custom sections ${sections}`);
    const [id] = WebAssembly.Module.customSections(module, 'pw');
    assert.match(Buffer.from(id).toString('latin1'), /^[0-9a-f]{12}$/, f);
    builds.add(Buffer.from(id).toString('latin1'));
  }
  assert.equal(builds.size, 1, `the wasm files name different builds: ${[...builds]}`);
  const meta = JSON.parse(readFileSync(join(WORK, 'node_modules/plugin-warden/package.json'), 'utf8'));
  for (const [name, target] of Object.entries(meta.exports)) {
    const paths = typeof target === 'string' ? [target] : Object.values(target);
    for (const p of paths) assert.ok(existsSync(join(WORK, 'node_modules/plugin-warden', p)), `exports ${name} → ${p} is missing`);
  }
  assert.ok(meta.keywords.length > 3);
  assert.equal(meta.license, 'MIT OR Apache-2.0');
  // The TS ErrorCode unions (host and client) list exactly the Rust codes.
  const rust = [...readFileSync(join(ROOT, 'src/core/error.rs'), 'utf8').matchAll(/ErrorCode::\w+ => "([A-Z_]+)"/g)].map((m) => m[1]).sort();
  for (const dts of ['plugin_warden.d.ts', 'client/index.d.ts']) {
    const text = readFileSync(join(WORK, 'node_modules/plugin-warden', dts), 'utf8');
    const union = text.match(/export type ErrorCode =([^;]+);/)[1];
    assert.deepEqual([...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]).sort(), rust, `${dts}: ErrorCode`);
  }
  const readme = readFileSync(join(WORK, 'node_modules/plugin-warden/README.md'), 'utf8');
  for (const needle of ['Access-Control-Allow-Origin', 'Allow-CSP-From', '--loader:.wasm=file', 'webpack', 'importmap', 'npm install',
    "preload('sanitizer'", 'plugin-warden/sanitizer/plugin_warden_sanitizer_bg.wasm', 'MODULE_NOT_LOADED']) {
    assert.ok(readme.includes(needle), `the package README does not mention ${needle}`);
  }
});

test('Node: coded errors before init(), for init() without bytes, before the sanitizer module, and for a host outside a window', async () => {
  const script = `
    import init, { PluginHost, preload, sanitize, validateManifest, analyzeBundle, hostCsp } from 'plugin-warden';
    import { readFile } from 'node:fs/promises';
    const out = [];
    const attempt = (f) => { try { f(); out.push('no error'); } catch (e) { out.push(e.name + ' ' + e.code + ' ' + e.message); } };
    const settle = (p) => p.then(() => 'no error', (e) => e.name + ' ' + e.code + ' ' + e.message);
    attempt(() => new PluginHost());
    attempt(() => sanitize('<b>x</b>'));
    attempt(() => validateManifest({ id: 'x', name: 'x' }));
    attempt(() => analyzeBundle('x'));
    attempt(() => hostCsp([], { nonce: 'AAAAAAAAAAAAAAAAAAAAAA==' }));
    // Every function the package exports (a new binding included) is guarded the same way:
    // it throws NOT_INITIALIZED, or (preload) answers a promise that rejects with it.
    const all = await import('plugin-warden');
    const unguarded = [];
    for (const [name, f] of Object.entries(all)) {
      if (typeof f !== 'function' || ['default', 'initSync'].includes(name)) continue;
      try {
        const r = name === 'PluginHost' ? new f() : f();
        if (r && typeof r.then === 'function') await r;
        unguarded.push(name);
      } catch (e) { if (e.code !== 'NOT_INITIALIZED') unguarded.push(name + ': ' + e.message); }
    }
    out.push('unguarded: ' + unguarded.join(', '));
    await init().then(() => out.push('no error'), (e) => out.push(e.code + ' ' + e.message));
    const wasm = async (path) => readFile(new URL(import.meta.resolve('plugin-warden/' + path)));
    await init({ module_or_path: await wasm('plugin_warden_bg.wasm') });
    // The sanitizer is a module of its own: not there until preload hands it its bytes.
    attempt(() => sanitize('<b onclick="x()">ok</b>'));
    out.push(await settle(preload('sanitizer')));
    out.push(await settle(preload('nope')));
    await preload('sanitizer', await wasm('sanitizer/plugin_warden_sanitizer_bg.wasm'));
    out.push(sanitize('<b onclick="x()">ok</b>'));
    attempt(() => new PluginHost());
    // A link to a host that is not ASCII: the sanitizer's second part, read synchronously from
    // the file next to its glue (Node >= 20.16).
    out.push(sanitize('<a href="https://b\u00fccher.example/" onclick="x()">b</a>'));
    console.log(JSON.stringify(out));`;
  const file = join(WORK, 'node-check.mjs');
  writeFileSync(file, script);
  const out = JSON.parse(run(process.execPath, [file], WORK));
  for (const line of out.slice(0, 5)) {
    assert.match(line, /^PluginWardenError NOT_INITIALIZED .*call `await init\(\)` first/);
  }
  assert.equal(out[5], 'unguarded: ', 'wrap these exports in src/web/index.js (a call before init() must throw NOT_INITIALIZED)');
  assert.match(out[6], /^INVALID_ARGUMENT .*pass the wasm bytes/);
  assert.match(out[7], /^PluginWardenError MODULE_NOT_LOADED .*await (host\.)?preload\('sanitizer'\)/);
  assert.match(out[8], /^PluginWardenError MODULE_NOT_LOADED plugin-warden: could not load the sanitizer module: .*in Node pass its bytes/);
  assert.match(out[9], /^PluginWardenError INVALID_ARGUMENT preload: expected one of 'checks', 'sanitizer', 'sanitizer-rest', found "nope"/);
  assert.equal(out[10], '<b>ok</b>');
  assert.match(out[11], /^PluginWardenError INVALID_ARGUMENT new PluginHost\(\): the host runs in a browser window/);
  assert.match(out[12], /^<a href="[^"]*"[^>]*>b<\/a>$/);
});

test('TypeScript: tsc --strict over a host and a plugin using both entry points of the installed package', () => {
  run(process.execPath, [BIN.tsc, '-p', join(WORK, 'ts')], WORK);
});

test('Vite production build (vite build + vite preview): every mode mounts', async () => {
  const dir = join(WORK, 'vite');
  run(process.execPath, [BIN.vite, 'build'], dir);
  const emitted = readdirSync(join(dir, 'dist/assets'));
  assert.ok(emitted.some((f) => /^worker-runner.*\.html$/.test(f)), `vite build did not emit the runner page: ${emitted}`);
  assert.ok(emitted.some((f) => /^plugin_warden_bg.*\.wasm$/.test(f)), `vite build did not emit the core wasm: ${emitted}`);
  // The sanitizer stays a module of its own, fetched on first need: its own chunk and wasm.
  assert.ok(emitted.some((f) => /^plugin_warden_sanitizer_bg.*\.wasm$/.test(f)), `vite build did not emit the sanitizer's wasm: ${emitted}`);
  const sanitizerChunk = emitted.find((f) => /^plugin_warden_sanitizer.*\.js$/.test(f));
  // So do the modules imported at first use: the IndexedDB store, the request, the signature
  // check, and the mounts apart (the srcdoc frame imports it).
  for (const name of ['idb', 'fetch', 'crypto', 'mounts']) {
    assert.ok(emitted.some((f) => new RegExp(`^${name}-.*\\.js$`).test(f)), `vite build did not emit ${name}.js as a chunk: ${emitted}`);
  }
  assert.ok(sanitizerChunk, `vite build did not split the sanitizer into a chunk: ${emitted}`);
  // Its wasm is named by its own chunk (whose glue loads it), not by the entry chunk.
  const sanitizerWasm = emitted.find((f) => /^plugin_warden_sanitizer_bg.*\.wasm$/.test(f));
  const read = (f) => readFileSync(join(dir, 'dist/assets', f), 'utf8');
  assert.ok(read(sanitizerChunk).includes(sanitizerWasm), `${sanitizerChunk} does not load ${sanitizerWasm}`);
  for (const f of emitted.filter((e) => e.endsWith('.js') && e !== sanitizerChunk)) {
    assert.ok(!read(f).includes(sanitizerWasm), `the sanitizer's glue was bundled into ${f}`);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  await serve(BIN.vite, ['preview', '--port', String(port)], dir, url);
  await exercise(url);
});

test('Vite dev server: every mode mounts', async () => {
  const dir = join(WORK, 'vite');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  await serve(BIN.vite, ['--port', String(port)], dir, url);
  await exercise(url);
});

test('esbuild (the README recipe: --loader:.wasm=file --loader:.html=file; init and initSync) served by esbuild --servedir: every mode mounts', async () => {
  const dir = join(WORK, 'esbuild');
  run(BIN.esbuild, ['main.js', 'sync.js', '--bundle', '--format=esm', '--outdir=dist', '--loader:.wasm=file', '--loader:.html=file', '--log-level=warning'], dir);
  for (const page of ['index.html', 'sync.html']) cpSync(join(dir, page), join(dir, 'dist', page));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  await serve(BIN.esbuild, ['--servedir=dist', `--serve=127.0.0.1:${port}`], dir, url);
  await exercise(url);
  // Named imports only (`{ initSync, PluginHost }`): what tree-shaking used to break.
  await exercise(`${url}sync.html`);
});

test('no bundler (an import map over node_modules): every mode mounts; a missing runner times out naming its URL', async () => {
  const origin = await staticServer(WORK);
  const page = await exercise(`${origin}/plain/index.html`, { keep: true });
  try {
    const r = await page.evaluate(async () => {
      const Host = window.packageTest.host.constructor;
      // Kept reachable: a host the page drops is freed, and its pending mounts with it.
      const host = window.lostHost = new Host({ storage: 'memory', runner: '/nowhere/worker-runner.html' });
      await host.install({ id: 'lost', name: 'Lost', permissions: [] }, { code: 'await pluginWarden.connect()' });
      const el = document.body.appendChild(document.createElement('div'));
      return host.mount('lost', el, { mode: 'worker', timeout: 1500 }).then(() => ({ ok: true }), (e) => ({ code: e.code, message: e.message }));
    });
    assert.equal(r.code, 'TIMEOUT', JSON.stringify(r));
    assert.match(r.message, new RegExp(`runner page ${origin}/nowhere/worker-runner\\.html never answered`));
    assert.match(r.message, /pass `runner`/);
  } finally {
    await page.context().close();
  }
});
