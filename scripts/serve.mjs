// Serves the demo on four loopback origins, so host, plugins, API and a bystander never share one:
//   host      http://127.0.0.1:<hostPort>   www/host/ + /pkg/ (the built package)
//   plugins   http://localhost:<pluginPort> www/plugins/ + /client/ (pkg/client)
//   api       http://127.0.0.1:<apiPort>    a small JSON test API under /api/ (default hostPort+2),
//             CORS for the host origin only; every request it gets is recorded in `apiRequests`
//   unrelated http://127.0.0.1:<unrelatedPort> (any free port by default) an origin nothing
//             declares: it answers every request 200 (see sinkResponse), so that only the browser
//             or the SDK can be what stops a plugin from reaching it
// Host, plugins and unrelated record every request (WebSocket upgrades too) in `logs` — see
// startServers. Host pages carry a CSP with `require-trusted-types-for 'script'` (not with
// `?host-csp=none`: a careless host, for tests of what the SDK guarantees on its own); their
// connect-src names the API origin (plugins reach it only through the host's API client).
// Plugin pages carry NO CSP of their own: they send `Allow-CSP-From`, the header a plugin author
// sends to accept the policy the SDK imposes (CSP Embedded Enforcement), except under
// www/plugins/careless/ or with `?no-allow-csp-from` (a careless or hostile plugin server). The
// worker runner gets no header either: its own page holds its policy.
// Run directly: node scripts/serve.mjs [--host-port N] [--plugin-port N] [--api-port N] [--unrelated-port N]
import { createServer } from 'node:http';
import { createSocket } from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';
import { demoPlugins } from '../www/host/demo-plugins.js';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ts': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
};

/** The test API's default origin: loopback, on the port after the plugin origin's. */
export function defaultApiOrigin(pluginOrigin) {
  const port = Number(new URL(pluginOrigin).port);
  return port ? `http://127.0.0.1:${port + 1}` : null;
}

let sdk = null;

/** Load the built package into Node (once): the server builds page CSPs with its hostCsp. */
export async function loadSdk() {
  if (!sdk) {
    const m = await import(new URL('../pkg/index.js', import.meta.url).href);
    await m.default({ module_or_path: await readFile(join(root, 'pkg/plugin_warden_bg.wasm')) });
    sdk = m;
  }
  return sdk;
}

/**
 * The host page's CSP — built by the SDK (hostCsp) from the demo's plugin manifests
 * (www/host/demo-plugins.js) with this response's nonce. Call loadSdk() (startServers does) first.
 */
export function hostCsp(pluginOrigin, nonce, apiOrigin = defaultApiOrigin(pluginOrigin)) {
  if (!sdk) throw new Error('hostCsp: call loadSdk() first');
  const manifests = demoPlugins({ pluginOrigin, apiOrigin }).map((p) => p.manifest);
  return sdk.hostCsp(manifests, { nonce, allowLoopbackHttp: true, workerRunner: true });
}

/**
 * `?report-only` pages: the same policy as Content-Security-Policy-Report-Only, reporting to
 * `reportTo` (the host's /csp-reports), plus the Reporting-Endpoints header naming it.
 * `?report-only=report-uri` plays a browser without the Reporting API: the `report-to`
 * directive and Reporting-Endpoints are left out, so reports go through `report-uri` (what
 * Firefox and Safari use; headless Chromium here queues Reporting-API reports without sending).
 */
export function reportOnlyHeaders(pluginOrigin, nonce, apiOrigin, reportTo, legacy = false) {
  const manifests = demoPlugins({ pluginOrigin, apiOrigin }).map((p) => p.manifest);
  const h = sdk.hostCsp(manifests, { nonce, allowLoopbackHttp: true, workerRunner: true, reportOnly: true, reportTo });
  if (legacy) return { [h.name.toLowerCase()]: h.value.replace(/; report-to [^;]+$/, '') };
  return { [h.name.toLowerCase()]: h.value, 'reporting-endpoints': h.reportingEndpoints };
}

/**
 * POST /csp-reports collects violation reports (Reporting API `application/reports+json`
 * batches and legacy `application/csp-report` bodies) into `reports`, normalized to
 * { documentURL, blockedURL, directive, disposition, sample, via }; GET /csp-reports lists them
 * (the demo inspector shows them). At most 500 kept, bodies up to 64 KiB.
 */
export function cspReportEndpoint(reports) {
  return async (req, res, url) => {
    if (url.pathname !== '/csp-reports') return false;
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(reports));
      return true;
    }
    if (req.method !== 'POST') { res.writeHead(405); res.end(); return true; }
    const chunks = [];
    let size = 0;
    for await (const c of req) {
      size += c.length;
      if (size > 65536) { res.writeHead(413); res.end(); return true; }
      chunks.push(c);
    }
    let parsed = null;
    try { parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* counted as nothing */ }
    const list = Array.isArray(parsed) ? parsed.filter((r) => r && r.type === 'csp-violation').map((r) => [r.body, 'report-to'])
      : parsed && parsed['csp-report'] ? [[parsed['csp-report'], 'report-uri']] : [];
    for (const [b, via] of list) {
      if (!b || reports.length >= 500) continue;
      reports.push({
        documentURL: String(b.documentURL ?? b['document-uri'] ?? ''),
        blockedURL: String(b.blockedURL ?? b['blocked-uri'] ?? ''),
        directive: String(b.effectiveDirective ?? b['effective-directive'] ?? b['violated-directive'] ?? ''),
        disposition: String(b.disposition ?? ''),
        sample: String(b.sample ?? b['script-sample'] ?? '').slice(0, 80),
        via,
      });
    }
    res.writeHead(204);
    res.end();
    return true;
  };
}


/**
 * The file a URL path names under `mounts`: `[prefix, dir]` pairs (a directory means its
 * index.html; nothing outside `dir` is served) or `[prefix, { name: repo-relative path }]` maps.
 */
export async function fileFor(mounts, pathname) {
  for (const [prefix, target] of mounts) {
    if (!pathname.startsWith(prefix)) continue;
    const rel = pathname.slice(prefix.length);
    if (typeof target === 'object') {
      if (Object.hasOwn(target, rel)) return join(root, target[rel]);
      continue;
    }
    const full = normalize(join(target, decodeURIComponent(rel)));
    if (!full.startsWith(normalize(target) + sep) && full !== normalize(target)) return null;
    try {
      const s = await stat(full);
      return s.isDirectory() ? join(full, 'index.html') : full;
    } catch { return null; }
  }
  return null;
}

/** One entry of a request log: what a server saw of a request, before answering it. */
function logEntry(req) {
  return {
    method: req.method,
    url: req.url,
    origin: req.headers.origin ?? null,
    referer: req.headers.referer ?? null,
    upgrade: req.headers.upgrade ? String(req.headers.upgrade).toLowerCase() : null,
    cookie: req.headers.cookie ?? null,
    time: Date.now(),
  };
}

// A 1x1 transparent PNG: what an image request to a sink gets.
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** The body and content type a sink answers for a path, by its extension. */
function sinkBody(pathname) {
  const ext = extname(pathname);
  switch (ext) {
    case '.js': case '.mjs': return ['text/javascript; charset=utf-8', '/* sink */\n'];
    case '.css': return ['text/css; charset=utf-8', '/* sink */\n'];
    case '.png': case '.gif': case '.jpg': return ['image/png', PIXEL];
    case '.svg': return ['image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'];
    case '.woff': case '.woff2': case '.ttf': return ['font/woff2', Buffer.alloc(64)];
    case '.mp3': case '.wav': return ['audio/mpeg', Buffer.alloc(64)];
    case '.mp4': case '.webm': return ['video/mp4', Buffer.alloc(64)];
    case '.html': return ['text/html; charset=utf-8', '<!doctype html><title>sink</title><p>sink'];
    case '.json': return ['application/json', '{}'];
    case '.sse': return ['text/event-stream', 'data: sink\n\n'];
    default: return ['text/plain; charset=utf-8', 'sink'];
  }
}

/**
 * Answer any request 200 with permissive CORS (the request's Origin, `null` included, with
 * credentials), a plausible content type for its path's extension and headers that let any
 * document frame or embed it: so that a request is never stopped by the server's answer, only by
 * the browser or the SDK. Preflights get 204 and allow every method and header.
 */
export function sinkResponse(req, res) {
  const origin = req.headers.origin;
  const cors = {
    'access-control-allow-origin': origin ?? '*',
    ...(origin ? { 'access-control-allow-credentials': 'true', vary: 'Origin' } : {}),
    'access-control-expose-headers': '*',
    'cross-origin-resource-policy': 'cross-origin',
    'timing-allow-origin': '*',
    'allow-csp-from': '*',
    'cache-control': 'no-store',
  };
  if (req.method === 'OPTIONS') {
    res.writeHead(204, {
      ...cors,
      'access-control-allow-methods': req.headers['access-control-request-method'] ?? 'GET, POST, PUT, DELETE',
      'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
      'access-control-allow-private-network': 'true',
      'access-control-max-age': '0',
    });
    res.end();
    return;
  }
  const url = new URL(req.url, 'http://x');
  // `/sink/redirect…?to=<URL>`: a server of the plugin's that sends its requests elsewhere.
  if (url.pathname.startsWith('/sink/redirect') && url.searchParams.has('to')) {
    req.resume();
    res.writeHead(302, { ...cors, location: url.searchParams.get('to') });
    res.end();
    return;
  }
  const [type, body] = sinkBody(url.pathname);
  req.resume();
  res.writeHead(200, { ...cors, 'content-type': type });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Record WebSocket (and any other) upgrade requests in `log` and complete a WebSocket handshake,
 * so that a socket is never refused by the server; the connection is then closed.
 */
export function logUpgrades(server, log) {
  server.on('upgrade', (req, socket) => {
    if (log) log.push(logEntry(req));
    const key = req.headers['sec-websocket-key'];
    if (!key) { socket.destroy(); return; }
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    setTimeout(() => socket.destroy(), 200);
  });
  server.on('connection', (socket) => socket.on('error', () => {}));
}

/**
 * A static loopback server over `mounts` (see fileFor). `headersFor(file, url)` adds headers; a
 * `nonce` entry among them is not sent but put on every `<script` of the page. `dynamic` maps
 * exact paths to `async () => ({ type, body })`; `baseHeaders` go on every answer, 404s included.
 * With `log` (an array), every request (and WebSocket upgrade) is recorded there first, as
 * { method, url, origin, referer, upgrade, cookie, time }. Paths under `sinkPrefix` get sinkResponse.
 */
export function staticServer({ mounts, headersFor = () => ({}), port, dynamic = {}, baseHeaders = {}, log = null, sinkPrefix = null, handle }) {
  const server = createServer(async (req, res) => {
    try {
      if (log) log.push(logEntry(req));
      const url = new URL(req.url, 'http://x');
      if (sinkPrefix && url.pathname.startsWith(sinkPrefix)) { sinkResponse(req, res); return; }
      if (handle && await handle(req, res, url)) return;
      const common = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...baseHeaders };
      if (Object.hasOwn(dynamic, url.pathname)) {
        const { type, body } = await dynamic[url.pathname]();
        res.writeHead(200, { 'content-type': type, ...common });
        res.end(body);
        return;
      }
      const file = await fileFor(mounts, url.pathname);
      let body = file && await readFile(file).catch(() => null);
      if (!body) { res.writeHead(404, { 'content-type': 'text/plain', ...baseHeaders }); res.end('not found'); return; }
      const extra = { ...headersFor(file, url) };
      // A `:status` entry is not sent but is the answer's status (a hostile server's redirect).
      const status = Number(extra[':status'] ?? 200);
      delete extra[':status'];
      if (extra.nonce) {
        // A fresh nonce per response, on every <script> of the page (the page reads it back from
        // document.querySelector('script[nonce]').nonce, e.g. for srcdoc plugins).
        body = Buffer.from(body.toString('utf8').replaceAll('<script', `<script nonce="${extra.nonce}"`));
        delete extra.nonce;
      }
      res.writeHead(status, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', ...common, ...extra });
      res.end(body);
    } catch (e) {
      res.writeHead(500); res.end(String(e));
    }
  });
  logUpgrades(server, log);
  return listen(server, port);
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * The unrelated origin: every request logged in `log`, answered by sinkResponse; but `pages`
 * (exact paths to `async () => html`), pages of an attacker's own on this origin.
 */
export function serveUnrelated(port, log, pages = {}) {
  const server = createServer(async (req, res) => {
    const entry = logEntry(req);
    log.push(entry);
    const path = new URL(req.url, 'http://x').pathname;
    if (Object.hasOwn(pages, path)) {
      res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store', 'allow-csp-from': '*' });
      res.end(await pages[path]());
      return;
    }
    // What a request carried there (its first 8 KiB), as text: `entry.body` once it has all come.
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { if (size < 8192) chunks.push(c); size += c.length; });
    req.on('end', () => { entry.body = Buffer.concat(chunks).toString('utf8').slice(0, 8192); });
    sinkResponse(req, res);
  });
  logUpgrades(server, log);
  return listen(server, port);
}

const QUOTES = [
  { id: 1, text: 'Simplicity is prerequisite for reliability.', author: 'Edsger W. Dijkstra', category: 'design' },
  { id: 2, text: 'Make it work, make it right, make it fast.', author: 'Kent Beck', category: 'process' },
  { id: 3, text: 'The cheapest, fastest and most reliable components are those that aren\u2019t there.', author: 'Gordon Bell', category: 'design' },
];

/**
 * The local test API (loopback only). JSON under /api/:
 *   GET  /api/quotes            a few quotes
 *   POST /api/notes             echoes the JSON (or text) it was sent, 201
 *   GET  /api/redirect?to=URL   302 to URL (default /admin), for "redirects are never followed"
 *   GET  /admin                 outside /api/: no plugin may ever reach it
 * CORS answers only `corsOrigin` (the host page, whose API client makes the requests). Every
 * request, preflights included, is pushed to `log` as { method, url, headers } before it is
 * answered. Responses also carry a Set-Cookie and a token header that a plugin must never see.
 */
function serveApi(port, corsOrigin, log) {
  const server = createServer((req, res) => {
    log.push({ method: req.method, url: req.url, headers: { ...req.headers } });
    const cors = req.headers.origin === corsOrigin
      ? { 'access-control-allow-origin': corsOrigin, vary: 'Origin' } : { vary: 'Origin' };
    const send = (status, value, extra = {}) => {
      const body = value === undefined ? '' : JSON.stringify(value);
      res.writeHead(status, {
        ...cors,
        ...(body ? { 'content-type': 'application/json' } : {}),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...extra,
      });
      res.end(body);
    };
    const url = new URL(req.url, 'http://x');
    if (req.method === 'OPTIONS') {
      send(204, undefined, {
        'access-control-allow-methods': 'GET, HEAD, POST',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '0',
      });
      return;
    }
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /api/quotes' || route === 'HEAD /api/quotes') {
      send(200, { quotes: QUOTES }, { 'set-cookie': 'api_session=from-the-api; Path=/; SameSite=Lax', 'x-api-token': 'tok-never-for-plugins' });
    } else if (route === 'POST /api/notes') {
      const chunks = [];
      let size = 0;
      req.on('data', (c) => {
        size += c.length;
        if (size > 65536) { send(413, { error: 'too large' }); req.destroy(); return; }
        chunks.push(c);
      });
      req.on('end', () => {
        if (res.headersSent) return;
        const text = Buffer.concat(chunks).toString('utf8');
        let received = text;
        try { received = JSON.parse(text); } catch { /* echo as text */ }
        send(201, { received, contentType: req.headers['content-type'] ?? null });
      });
    } else if (route === 'POST /api/bytes') {
      // Binary echo: answers the request's bytes reversed, as application/octet-stream.
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).reverse();
        res.writeHead(200, { ...cors, 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(body);
      });
    } else if (route === 'GET /api/bytes') {
      // `n` bytes (at most 1 MiB), byte i = i % 251, as application/octet-stream.
      const n = Math.min(Number(url.searchParams.get('n')) || 0, 1 << 20);
      const body = Buffer.alloc(n);
      for (let i = 0; i < n; i++) body[i] = i % 251;
      res.writeHead(200, { ...cors, 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } else if (route === 'GET /api/redirect') {
      send(302, { redirect: true }, { location: url.searchParams.get('to') ?? '/admin' });
    } else if (route === 'GET /admin') {
      send(200, { admin: true, secret: 'not for plugins' });
    } else {
      send(404, { error: `no route ${route}` });
    }
  });
  return listen(server, port);
}

/**
 * A UDP socket on 127.0.0.1:`port` (the port of an origin's HTTP server: UDP ports are apart)
 * that records every datagram it gets in `log` as { time, from, packet } (`packet`: its first
 * 2 KiB as latin1 text) and answers none. What a WebRTC connection (ICE, STUN) sends there.
 */
export function udpSink(port, log) {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    log.push({ time: Date.now(), from: `${rinfo.address}:${rinfo.port}`, packet: msg.subarray(0, 2048).toString('latin1') });
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve({ close: (cb) => socket.close(cb) }));
  });
}

function closeServer(s) {
  return new Promise((r) => { s.closeAllConnections?.(); s.close(r); });
}

/**
 * Start the four servers; resolves with their URLs, `apiRequests` (every request the test API
 * received, in order: { method, url, headers }; clear it with `apiRequests.length = 0`), `logs`
 * ({ host, plugins, unrelated }: every request each of those origins received, WebSocket upgrades
 * included, as { method, url, origin, referer, upgrade, cookie, time }) and a close() function. If one
 * server cannot listen, those already started are closed. `unrelatedPort` 0 (the default) picks
 * any free port. Paths under `/sink/` on the host and plugin origins answer like the unrelated
 * origin does (sinkResponse), so a request that reaches them is never refused by their answer.
 * `udp: true` adds `udp` ({ host, plugins, unrelated }): every UDP datagram each origin's host
 * and port received (udpSink), for the channels outside HTTP (WebRTC).
 */
// `api`: a request handler `(req, res, { hostOrigin })` that takes the test API's place on
// apiPort (a test that needs an API of its own behind the host's connect-src).
export async function startServers({ hostPort = 8700, pluginPort = 8701, apiPort = pluginPort + 1, unrelatedPort = 0, api, udp = false } = {}) {
  await loadSdk();
  const hostOrigin = `http://127.0.0.1:${hostPort}`;
  const pluginOrigin = `http://localhost:${pluginPort}`;
  const apiOrigin = `http://127.0.0.1:${apiPort}`;
  const apiRequests = [];
  const logs = { host: [], plugins: [], unrelated: [] };
  const cspReports = [];
  const started = [];
  let udpLogs = null;
  try {
    started.push(await staticServer({
      port: hostPort,
      log: logs.host,
      sinkPrefix: '/sink/',
      mounts: [['/pkg/', join(root, 'pkg')], ['/', join(root, 'www/host')]],
      handle: cspReportEndpoint(cspReports),
      headersFor: (file, url) => {
        // The package is public code that opaque-origin frames and workers import (CORS).
        const cors = file.startsWith(join(root, 'pkg')) ? { 'access-control-allow-origin': '*' } : {};
        // The runner page carries its own policy (a <meta> allowing its inline bootstrap by
        // hash): it gets no header of ours, which is the case its own policy must hold in.
        if (!file.endsWith('.html') || file.endsWith('worker-runner.html')) return cors;
        if (url.searchParams.get('host-csp') === 'none') return cors;
        const nonce = randomBytes(16).toString('base64');
        const ro = url.searchParams.get('report-only');
        if (ro !== null) return { ...cors, nonce, ...reportOnlyHeaders(pluginOrigin, nonce, apiOrigin, `${hostOrigin}/csp-reports`, ro === 'report-uri') };
        return { ...cors, nonce, 'content-security-policy': hostCsp(pluginOrigin, nonce, apiOrigin) };
      },
    }));
    started.push(await staticServer({
      port: pluginPort,
      log: logs.plugins,
      sinkPrefix: '/sink/',
      mounts: [['/client/', join(root, 'pkg/client')], ['/', join(root, 'www/plugins')]],
      // The package's runner page on this origin too, as a host serves it from a site of its
      // own to keep bundles apart (a mount's `runner`; tests/e2e/lifecycle.test.mjs).
      dynamic: { '/runner/worker-runner.html': async () => ({ type: TYPES['.html'], body: await readFile(join(root, 'pkg/worker-runner.html')) }) },
      // Module scripts are fetched with CORS, and a sandboxed frame's origin is opaque ("null").
      headersFor: (file, url) => ({
        'access-control-allow-origin': '*',
        // The page accepts the policy the SDK imposes (CSP Embedded Enforcement); no CSP of
        // the server's own is needed for the plugin to be contained. `*`: the e2e tests mount
        // these pages from more than one host origin (a real plugin server may name its hosts).
        // www/plugins/careless/, and any page asked for with `?no-allow-csp-from`, play a server
        // that does not: the browser must refuse them.
        ...(file.endsWith('.html') && !file.includes(`${sep}careless${sep}`) && !url.searchParams.has('no-allow-csp-from')
          ? { 'allow-csp-from': '*' } : {}),
        // A hostile plugin server (tests/e2e/egress.test.mjs): the egress page, asked for with
        // `?server-headers=<JSON object>`, comes with those headers of the plugin's choosing.
        ...(file.endsWith('.html') && file.includes(`${sep}egress${sep}`) && url.searchParams.has('server-headers')
          ? JSON.parse(url.searchParams.get('server-headers')) : {}),
      }),
    }));
    started.push(api ? await listen(createServer((req, res) => api(req, res, { hostOrigin })), apiPort) : await serveApi(apiPort, hostOrigin, apiRequests));
    // The egress plugin's page as an attacker serves it from this origin, its scripts taken from
    // the plugins' origin (where its server redirects it: tests/e2e/egress.test.mjs).
    const elsewhere = async () => (await readFile(join(root, 'www/plugins/egress/index.html'), 'utf8'))
      .replaceAll('src="./', `src="${pluginOrigin}/egress/`);
    const unrelated = await serveUnrelated(unrelatedPort, logs.unrelated, { '/egress-elsewhere/': elsewhere });
    started.push(unrelated);
    unrelatedPort = unrelated.address().port;
    if (udp) {
      udpLogs = { host: [], plugins: [], unrelated: [] };
      for (const [name, port] of [['host', hostPort], ['plugins', pluginPort], ['unrelated', unrelatedPort]]) {
        started.push(await udpSink(port, udpLogs[name]));
      }
    }
  } catch (e) {
    await Promise.all(started.map(closeServer));
    throw e;
  }
  return {
    hostUrl: `${hostOrigin}/`,
    hostOrigin,
    pluginOrigin,
    apiOrigin,
    unrelatedOrigin: `http://127.0.0.1:${unrelatedPort}`,
    apiRequests,
    logs,
    ...(udpLogs ? { udp: udpLogs } : {}),
    cspReports,
    close: () => Promise.all(started.map(closeServer)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
  const hostPort = arg('--host-port', 8700);
  const pluginPort = arg('--plugin-port', hostPort + 1);
  const s = await startServers({ hostPort, pluginPort, apiPort: arg('--api-port', pluginPort + 1), unrelatedPort: arg('--unrelated-port', 0) });
  console.log(`demo: host    ${s.hostOrigin}  (www/host, CSP with require-trusted-types-for 'script')`);
  console.log(`demo: plugins ${s.pluginOrigin}  (www/plugins)`);
  console.log(`demo: api     ${s.apiOrigin}  (local test API: GET /api/quotes, POST /api/notes)`);
  console.log(`demo: unrelated ${s.unrelatedOrigin}  (answers anything 200; declared by no plugin)`);
  console.log(`\n  Open ${s.hostUrl} in a browser.  Ctrl-C stops.\n`);
}
