// The machinery behind tests/e2e/docs-examples.test.mjs (and readme.test.mjs): find the fenced
// examples in Markdown, serve them, run them, and compare what they log with what the document
// says next to them.
//
// Markup (HTML comments, invisible on GitHub):
//
//   <!-- example: host id=quick-start -->      a page on the host origin (http://127.0.0.1:8700/<id>/)
//   ```js … ```                                with <div id="slot"> in its body
//   <!-- expect: ["mounted", ["storage"]] -->  what it console.logs, in order (JSON)
//
//   <!-- example: plugin id=hello host=quick-start -->   a plugin page, http://localhost:8701/<id>/,
//                                                        run when host example `quick-start` mounts it
//   <!-- example: worker id=primes host=worker-mount --> a script, http://localhost:8701/<id>.js,
//                                                        fetched by host example `worker-mount`
//   <!-- example: node id=csp -->              a Node ES module with `plugin-warden` installed
//   <!-- example: shell id=sri -->             a bash script, run from the repository root with
//                                              the CLI (target/debug) on PATH; expect
//                                              {"exit": 0, "output": ["regex", …]}
//   <!-- example: manifest id=full -->         a ```json manifest; expect {"valid": true} or
//                                              {"valid": false, "paths": ["id", …]}
//   <!-- example: none (why it cannot run) --> explicitly not run
//
// Every ```js / ```sh block of docs/*.md must carry one of these (see `unmarkedBlocks`).
// Browser pages get an import map (`plugin-warden` → /pkg/index.js, `plugin-warden/client` →
// /client/index.js), so the code runs byte for byte as printed. A value logged with one argument
// is recorded as that value, several arguments as an array; values are compared as JSON.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { loadSdk } from '../../scripts/serve.mjs';
import { watch } from '../../scripts/browser.mjs';
import { freePorts } from './helpers.mjs';

export const ROOT = new URL('../../', import.meta.url).pathname;
// The origins the documents name. The tests serve them on free ports (startSites) and rewrite
// these origins in what they serve, so the examples run as printed but for the port numbers.
export const HOST_PORT = 8700;
export const PLUGIN_PORT = 8701;
export const API_PORT = 8702;
export const HOST_ORIGIN = `http://127.0.0.1:${HOST_PORT}`;
export const PLUGIN_ORIGIN = `http://localhost:${PLUGIN_PORT}`;
export const API_ORIGIN = `http://127.0.0.1:${API_PORT}`;
/** The documented origins, as served when the sites listen on the documented ports. */
const DOCUMENTED = { hostOrigin: HOST_ORIGIN, pluginOrigin: PLUGIN_ORIGIN, apiOrigin: API_ORIGIN, rewrite: (text) => text };

/** Fence languages that must be marked in docs/. */
export const CODE_LANGS = new Set(['js', 'javascript', 'mjs', 'sh', 'bash', 'shell', 'console', 'ts', 'typescript']);
const KIND_LANGS = {
  host: ['js', 'javascript'], plugin: ['js', 'javascript'], worker: ['js', 'javascript'],
  script: ['js', 'javascript'], node: ['js', 'javascript', 'mjs'], shell: ['sh', 'bash'],
  manifest: ['json'],
};
/** Kinds that run on their own and need an `expect`. */
const SELF_CHECKED = new Set(['host', 'node', 'shell', 'manifest']);
/** Kinds served for a host example and checked by it. */
const SERVED = new Set(['plugin', 'worker', 'script']);

/**
 * Every fenced block of `text`, with the example marker before it and the expect comment after
 * it, if any: { file, line, lang, code, marker, expect, expectError }.
 */
export function parseBlocks(text, file) {
  const blocks = [];
  const fence = /^( {0,3})(```+)([^\n`]*)\n([\s\S]*?)^\1\2[ \t]*$/gm;
  let m;
  while ((m = fence.exec(text))) {
    const lang = m[3].trim().split(/\s+/)[0].toLowerCase();
    const before = text.slice(0, m.index).trimEnd();
    const line = text.slice(0, m.index).split('\n').length;
    let marker = null;
    if (before.endsWith('-->')) {
      const start = before.lastIndexOf('<!--');
      const comment = before.slice(start);
      const mm = comment.match(/^<!--\s*example:\s*([\s\S]*?)\s*-->$/);
      if (mm) marker = parseMarker(mm[1]);
    }
    const after = text.slice(m.index + m[0].length);
    let expect;
    let expectError = null;
    const em = after.match(/^\s*<!--\s*expect:\s*([\s\S]*?)\s*-->/);
    if (em) {
      try { expect = JSON.parse(em[1]); } catch (e) { expectError = `expect is not JSON: ${e.message}`; }
    }
    blocks.push({ file, line, lang, code: m[4], marker, expect, expectError });
  }
  return blocks;
}

/** `host id=a host=b` → { kind: 'host', id: 'a', host: 'b' }; `none (why)` → { kind: 'none', reason }. */
export function parseMarker(body) {
  const none = body.match(/^none\s*\((.+)\)$/s);
  if (none) return { kind: 'none', reason: none[1].trim() };
  const [kind, ...rest] = body.split(/\s+/);
  const out = { kind };
  for (const part of rest) {
    const kv = part.match(/^([a-z]+)=(\S+)$/);
    if (!kv) return { kind, invalid: `cannot read ${JSON.stringify(part)} (expected key=value)` };
    out[kv[1]] = kv[2];
  }
  return out;
}

/** The Markdown files whose examples are checked: docs/*.md (strict) and README.md. */
export function docFiles() {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md') && f !== 'package-README.md').sort();
  return docs.map((f) => `docs/${f}`);
}

/** Every block of the given repository-relative files. */
export function collect(files) {
  return files.flatMap((f) => parseBlocks(readFileSync(join(ROOT, f), 'utf8'), f));
}

/** Where a served example lives. */
export function servedUrl(ex) {
  return ex.marker.kind === 'plugin' ? `${PLUGIN_ORIGIN}/${ex.marker.id}/` : `${PLUGIN_ORIGIN}/${ex.marker.id}.js`;
}

/**
 * Problems with the markup: unmarked code blocks (in `strictFiles`), unknown kinds, missing ids
 * or expects, duplicate ids, served examples no host example uses. An empty list is clean.
 */
export function markupProblems(blocks, strictFiles = new Set()) {
  const problems = [];
  const where = (b) => `${b.file}:${b.line}`;
  const ids = new Map();
  for (const b of blocks) {
    if (!b.marker) {
      if (strictFiles.has(b.file) && CODE_LANGS.has(b.lang)) {
        problems.push(`${where(b)}: a \`\`\`${b.lang} block without an <!-- example: … --> marker (mark it, or <!-- example: none (reason) -->)`);
      }
      continue;
    }
    const { kind } = b.marker;
    if (b.marker.invalid) { problems.push(`${where(b)}: ${b.marker.invalid}`); continue; }
    if (kind === 'none') continue;
    // README.md's quick-start markers carry no id: readme.test.mjs runs them with its own checks.
    if (!strictFiles.has(b.file) && !b.marker.id) continue;
    if (!KIND_LANGS[kind]) { problems.push(`${where(b)}: unknown example kind ${JSON.stringify(kind)}`); continue; }
    if (!KIND_LANGS[kind].includes(b.lang)) problems.push(`${where(b)}: a ${kind} example must be a ${KIND_LANGS[kind][0]} block, found ${JSON.stringify(b.lang)}`);
    if (!b.marker.id || !/^[a-z0-9][a-z0-9-]*$/.test(b.marker.id)) { problems.push(`${where(b)}: a ${kind} example needs id=<lowercase-id>`); continue; }
    if (ids.has(b.marker.id)) problems.push(`${where(b)}: duplicate example id ${b.marker.id} (also ${ids.get(b.marker.id)})`);
    ids.set(b.marker.id, where(b));
    if (b.expectError) problems.push(`${where(b)}: ${b.expectError}`);
    if (SELF_CHECKED.has(kind) && b.expect === undefined && !b.expectError) problems.push(`${where(b)}: a ${kind} example needs an <!-- expect: … --> comment after it`);
    if (kind === 'host' || kind === 'node') {
      if (b.expect !== undefined && !Array.isArray(b.expect)) problems.push(`${where(b)}: expect must be the JSON array of logged values`);
    }
    if (kind === 'shell' && b.expect !== undefined && (typeof b.expect !== 'object' || !Array.isArray(b.expect.output ?? []))) {
      problems.push(`${where(b)}: expect must be {"exit": n, "output": ["regex", …]}`);
    }
    if (kind === 'plugin' && b.expect !== undefined && !Array.isArray(b.expect)) problems.push(`${where(b)}: expect must be the JSON array of logged values`);
    if ((kind === 'worker' || kind === 'script') && b.expect !== undefined) problems.push(`${where(b)}: a ${kind} example is checked by its host example; give the expect there`);
    if (SERVED.has(kind) && !b.marker.host) problems.push(`${where(b)}: a ${kind} example needs host=<id of the host example that runs it>`);
  }
  for (const b of blocks) {
    if (!b.marker || !SERVED.has(b.marker.kind) || !b.marker.host) continue;
    const host = blocks.find((h) => h.marker?.kind === 'host' && h.marker.id === b.marker.host);
    if (!host) { problems.push(`${where(b)}: host=${b.marker.host} names no host example`); continue; }
    const url = servedUrl(b);
    const path = url.slice(PLUGIN_ORIGIN.length);
    if (!host.code.includes(url) && !host.code.includes(`'${path}`)) problems.push(`${where(b)}: host example ${b.marker.host} never uses ${url}`);
  }
  return problems;
}

/** Examples (marked, not `none`) of the blocks, by kind. */
export function examplesOf(blocks, kind) {
  return blocks.filter((b) => b.marker?.kind === kind && b.marker.id);
}

// ---------------------------------------------------------------------------------------------
// Servers: host, plugins and a small JSON API, on loopback, all generated pages in memory.

// What every page loads before its example: console.log, errors and CSP violations recorded.
const PRELUDE = `
const docs = (self.__docs = { log: [], errors: [], violations: [] });
const original = console.log.bind(console);
console.log = (...args) => {
  const json = JSON.stringify(args.length === 1 ? args[0] : args);
  docs.log.push(json === undefined ? null : JSON.parse(json));
  original(...args);
};
self.addEventListener('error', (e) => docs.errors.push(String(e.message)));
self.addEventListener('unhandledrejection', (e) => docs.errors.push(String(e.reason && e.reason.message || e.reason)));
document.addEventListener('securitypolicyviolation', (e) => docs.violations.push(e.violatedDirective + ' ' + e.blockedURI));
`;

const pluginCsp = (nonce) => `default-src 'none'; script-src 'self' 'nonce-${nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'`;
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json', '.ts': 'text/plain; charset=utf-8' };

function page(title, imports, main = './main.js') {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>`
    + `<script type="importmap">${JSON.stringify({ imports })}</script>`
    + '<script type="module" src="/_prelude.js"></script>'
    + `<script type="module" src="${main}"></script></head><body><div id="slot"></div></body></html>`;
}

/** The generated files of each origin for these examples: Map<path, text>. */
export function siteFiles(examples) {
  const host = new Map([['/_prelude.js', PRELUDE]]);
  const plugin = new Map([['/_prelude.js', PRELUDE]]);
  for (const ex of examples) {
    const { kind, id } = ex.marker;
    if (kind === 'host') {
      host.set(`/${id}/`, page(`docs example ${id}`, { 'plugin-warden': '/pkg/index.js', 'plugin-warden/client': '/pkg/client/index.js' }));
      host.set(`/${id}/main.js`, ex.code);
    } else if (kind === 'plugin') {
      plugin.set(`/${id}/`, page(`docs plugin ${id}`, { 'plugin-warden/client': '/client/index.js' }));
      plugin.set(`/${id}/main.js`, ex.code);
    } else if (kind === 'worker' || kind === 'script') {
      plugin.set(`/${id}.js`, ex.code);
    }
  }
  return { host, plugin };
}

async function packageFile(prefix, dir, pathname) {
  if (!pathname.startsWith(prefix)) return null;
  const full = normalize(join(dir, decodeURIComponent(pathname.slice(prefix.length))));
  if (!full.startsWith(normalize(dir) + sep)) return null;
  try {
    if (!(await stat(full)).isFile()) return null;
    return full;
  } catch { return null; }
}

function listen(handler, port) {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((e) => { res.writeHead(500); res.end(String(e)); });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function close(server) {
  return new Promise((r) => { server.closeAllConnections?.(); server.close(r); });
}

/**
 * The host page's CSP, built by the SDK's own hostCsp for one manifest that names what the
 * examples use: plugin pages on the plugin origin (frame-src), the API and the plugin origin
 * (connect-src, for worker `src` fetches), and the worker runner.
 */
let sdk = null;
export function examplesCsp(nonce, { pluginOrigin, apiOrigin } = DOCUMENTED) {
  const manifest = {
    id: 'docs-examples', name: 'docs examples',
    entry: { src: `${pluginOrigin}/` },
    network: [`${apiOrigin}/api/`, `${pluginOrigin}/`],
  };
  return sdk.hostCsp([manifest], { nonce, allowLoopbackHttp: true, workerRunner: true });
}

/** The route secret of the host guide's routes example. */
const ROUTE_KEY = 's3cr3t';

const QUOTES = [
  { id: 1, text: 'Simplicity is prerequisite for reliability.' },
  { id: 2, text: 'Make it work, make it right, make it fast.' },
];

/**
 * Start host, plugin and API servers for `files` (from siteFiles): on the first three free
 * consecutive ports from `basePort`, with the documented origins rewritten to those in every
 * generated file served (or, without `basePort`, on the documented ports themselves).
 * Resolves with { hostOrigin, pluginOrigin, apiOrigin, rewrite(text), close() }.
 */
export async function startSites(files, basePort) {
  sdk = await loadSdk();
  const [hostPort, pluginPort, apiPort] = basePort === undefined
    ? [HOST_PORT, PLUGIN_PORT, API_PORT]
    : await freePorts(basePort, 3).then((p) => [p, p + 1, p + 2]);
  const origins = {
    hostOrigin: `http://127.0.0.1:${hostPort}`,
    pluginOrigin: `http://localhost:${pluginPort}`,
    apiOrigin: `http://127.0.0.1:${apiPort}`,
  };
  const rewrite = (text) => text
    .replaceAll(`127.0.0.1:${HOST_PORT}`, `127.0.0.1:${hostPort}`)
    .replaceAll(`localhost:${PLUGIN_PORT}`, `localhost:${pluginPort}`)
    .replaceAll(`127.0.0.1:${API_PORT}`, `127.0.0.1:${apiPort}`);
  const started = [];
  const serveGenerated = (map, res, path, headers) => {
    const body = map.get(path);
    if (body === undefined) return false;
    let text = rewrite(body);
    const extra = { ...headers };
    if (path.endsWith('/')) {
      const nonce = randomBytes(16).toString('base64');
      text = text.replaceAll('<script', `<script nonce="${nonce}"`);
      extra['content-security-policy'] = extra.csp(nonce);
    }
    delete extra.csp;
    res.writeHead(200, {
      'content-type': path.endsWith('/') ? TYPES['.html'] : TYPES['.js'],
      'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra,
    });
    res.end(text);
    return true;
  };
  const sendFile = async (res, file, extra) => {
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] || 'application/octet-stream',
      'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra,
    });
    res.end(body);
  };
  const notFound = (res) => { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found'); };
  try {
    started.push(await listen(async (req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      const pkgFile = await packageFile('/pkg/', join(ROOT, 'pkg'), path);
      if (pkgFile) {
        const cors = { 'access-control-allow-origin': '*' };
        return sendFile(res, pkgFile, cors);
      }
      if (serveGenerated(files.host, res, path, { csp: (nonce) => examplesCsp(nonce, origins) })) return undefined;
      return notFound(res);
    }, hostPort));
    started.push(await listen(async (req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      const clientFile = await packageFile('/client/', join(ROOT, 'pkg/client'), path);
      if (clientFile) return sendFile(res, clientFile, { 'access-control-allow-origin': '*' });
      if (serveGenerated(files.plugin, res, path, { csp: pluginCsp, 'access-control-allow-origin': '*', 'allow-csp-from': '*' })) return undefined;
      return notFound(res);
    }, pluginPort));
    started.push(await listen((req, res) => {
      const cors = req.headers.origin === origins.hostOrigin ? { 'access-control-allow-origin': origins.hostOrigin, vary: 'Origin' } : { vary: 'Origin' };
      const send = (status, value) => {
        res.writeHead(status, { ...cors, 'content-type': 'application/json', 'cache-control': 'no-store', 'set-cookie': 'session=never-for-plugins' });
        res.end(JSON.stringify(value));
      };
      const path = new URL(req.url, 'http://x').pathname;
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { ...cors, 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type, x-api-key', 'access-control-max-age': '0' });
        return res.end();
      }
      if (req.method === 'GET' && path === '/api/quotes') return send(200, { quotes: QUOTES });
      // For proxied routes: did the host add the route's secret header? (The key is echoed so
      // the example can show that the host scrubs it from the answer.)
      if (req.method === 'GET' && path === '/api/whoami') {
        const key = req.headers['x-api-key'] ?? null;
        return send(200, { authorized: key === ROUTE_KEY, key });
      }
      if (req.method === 'GET' && path === '/admin') return send(200, { admin: true });
      return send(404, { error: `no route ${req.method} ${path}` });
    }, apiPort));
  } catch (e) {
    await Promise.all(started.map(close));
    throw new Error(`cannot start the example servers on ${hostPort}-${apiPort}: ${e.message}`);
  }
  return { ...origins, rewrite, close: () => Promise.all(started.map(close)) };
}

// ---------------------------------------------------------------------------------------------
// Running

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait until `read()` has `n` log entries (or errors), up to `ms`; answers the last read. */
async function settle(read, n, ms = 20_000) {
  const end = Date.now() + ms;
  let state = await read();
  while (state.log.length < n && state.errors.length === 0 && Date.now() < end) {
    await sleep(100);
    state = await read();
  }
  await sleep(300); // late extra entries are failures too
  return read();
}

const EMPTY = { log: [], errors: ['the page has no __docs (the prelude did not run)'], violations: [] };

/**
 * Run host example `ex` in `browser`; check the plugin examples it mounts (`served`), with the
 * origins `sites` (startSites) serves them on.
 * Answers { log, errors, violations, consoleViolations, csp (the page's header),
 * plugins: { id: { log, errors, violations } } }.
 */
export async function runHostExample(browser, ex, served, sites = DOCUMENTED) {
  const context = await browser.newContext();
  const p = await context.newPage();
  const { violations: consoleViolations, pageErrors } = watch(p);
  try {
    const response = await p.goto(`${sites.hostOrigin}/${ex.marker.id}/`);
    const csp = response?.headers()['content-security-policy'] ?? '';
    const read = () => p.evaluate(() => self.__docs ?? null).then((d) => d ?? EMPTY, () => EMPTY);
    const state = await settle(read, ex.expect.length);
    const plugins = {};
    for (const pl of served.filter((s) => s.marker.kind === 'plugin' && s.marker.host === ex.marker.id && s.expect)) {
      const url = sites.rewrite(servedUrl(pl));
      let frame;
      for (let i = 0; i < 100 && !frame; i++) {
        frame = p.frames().find((f) => f.url().startsWith(url));
        if (!frame) await sleep(100);
      }
      if (!frame) { plugins[pl.marker.id] = { log: [], errors: [`no frame loaded ${url}`] }; continue; }
      const readFrame = () => frame.evaluate(() => self.__docs ?? null).then((d) => d ?? EMPTY, () => EMPTY);
      plugins[pl.marker.id] = await settle(readFrame, pl.expect.length);
    }
    return { ...state, csp, errors: [...state.errors, ...pageErrors.filter((e) => !state.errors.some((s) => e.includes(s)))], consoleViolations, plugins };
  } finally {
    await context.close();
  }
}

/**
 * Run a Node example as an ES module in a temporary directory where `plugin-warden` resolves to
 * the built package (node_modules/plugin-warden → pkg/). Answers { log, errors, status }.
 */
export async function runNodeExample(ex, dir) {
  const { mkdirSync, writeFileSync, symlinkSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const work = join(dir, ex.marker.id);
  mkdirSync(join(work, 'node_modules'), { recursive: true });
  if (!existsSync(join(work, 'node_modules/plugin-warden'))) symlinkSync(join(ROOT, 'pkg'), join(work, 'node_modules/plugin-warden'));
  writeFileSync(join(work, 'main.mjs'), ex.code);
  // Loaded with --import before the example: records console.log, writes it out at exit.
  writeFileSync(join(work, 'prelude.mjs'), `import { writeFileSync } from 'node:fs';
const log = [];
const original = console.log.bind(console);
console.log = (...args) => {
  const json = JSON.stringify(args.length === 1 ? args[0] : args);
  log.push(json === undefined ? null : JSON.parse(json));
  original(...args);
};
process.on('exit', () => writeFileSync(process.env.DOCS_LOG_FILE, JSON.stringify(log)));
`);
  const logFile = join(work, 'log.json');
  const r = spawnSync(process.execPath, ['--import', './prelude.mjs', 'main.mjs'], {
    cwd: work, encoding: 'utf8', timeout: 60_000, env: { ...process.env, DOCS_LOG_FILE: logFile },
  });
  let log = [];
  try { log = JSON.parse(readFileSync(logFile, 'utf8')); } catch { /* no log: the status says why */ }
  return { log, status: r.status, errors: r.status === 0 ? [] : [r.stderr.trim() || `exit ${r.status}`] };
}

/**
 * Run a shell example with bash from the repository root, the CLI's build directory first on
 * PATH and TMPDIR inside `dir`. Answers { status, output }.
 */
export async function runShellExample(ex, dir, binDir) {
  const { mkdirSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const tmp = join(dir, `${ex.marker.id}-tmp`);
  mkdirSync(tmp, { recursive: true });
  const r = spawnSync('bash', ['-c', ex.code], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, PATH: `${binDir}:${process.env.PATH}`, TMPDIR: tmp },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** validateManifest over a manifest example's JSON: { valid, paths }. */
export async function checkManifestExample(ex) {
  const m = await loadSdk();
  const r = m.validateManifest(ex.code);
  return { valid: r.valid, paths: r.problems.map((p) => p.path) };
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to `-`. */
export function slug(heading) {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** Relative links of `files` whose file or `#anchor` does not exist: ["file: link", …]. */
export function brokenLinks(files) {
  const anchors = new Map();
  const anchorsOf = (file) => {
    if (!anchors.has(file)) {
      const text = readFileSync(join(ROOT, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
      anchors.set(file, new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1]))));
    }
    return anchors.get(file);
  };
  const broken = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue; // absolute URLs are not checked here
      const [path, anchor] = target.split('#');
      const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
      const resolved = path ? normalize(dir + path) : file;
      if (path && !existsSync(join(ROOT, resolved))) {
        broken.push(`${file}: ${target}`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) broken.push(`${file}: ${target}`);
    }
  }
  return broken;
}
