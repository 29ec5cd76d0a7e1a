// Serves the demo on two loopback origins, so host and plugins never share an origin:
//   host    http://127.0.0.1:<hostPort>   www/host/ + /pkg/ (the built package)
//   plugins http://localhost:<pluginPort> www/plugins/ + /client/ (pkg/client)
// Host pages carry a CSP with `require-trusted-types-for 'script'`.
// Run directly: node scripts/serve.mjs [--host-port N] [--plugin-port N]
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ts': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
};

/** The host page's CSP, given the plugin origin it frames and this response's nonce. */
export function hostCsp(pluginOrigin, nonce) {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'wasm-unsafe-eval'`,
    "object-src 'none'",
    "base-uri 'none'",
    // 'self' for the worker runner frame (pkg/worker-runner.html; sandboxed, so opaque).
    `frame-src 'self' ${pluginOrigin}`,
    `connect-src 'self' ${pluginOrigin}`,
    "style-src 'self'",
    "form-action 'none'",
    "require-trusted-types-for 'script'",
    'trusted-types plugin-warden',
  ].join('; ');
}

// The worker runner (pkg/worker-runner.html) is a sandboxed frame that starts a blob: worker;
// its own scripts come from the package ('self'), the worker from blob:, and neither has any
// network: plugins reach the network only through the host's API client.
export const RUNNER_CSP = "default-src 'none'; script-src 'self' blob:; worker-src blob:; connect-src 'none'; base-uri 'none'; form-action 'none'";

// Plugin documents: their own scripts only, no network but through the host's bridge.
const PLUGIN_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

async function fileFor(mounts, pathname) {
  for (const [prefix, dir] of mounts) {
    if (!pathname.startsWith(prefix)) continue;
    let rel = decodeURIComponent(pathname.slice(prefix.length));
    const full = normalize(join(dir, rel));
    if (!full.startsWith(normalize(dir) + sep) && full !== normalize(dir)) return null;
    try {
      const s = await stat(full);
      return s.isDirectory() ? join(full, 'index.html') : full;
    } catch { return null; }
  }
  return null;
}

function serve(mounts, headersFor, port) {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const file = await fileFor(mounts, url.pathname);
      let body = file && await readFile(file).catch(() => null);
      if (!body) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found'); return; }
      const extra = headersFor(file);
      if (extra.nonce) {
        // A fresh nonce per response, on every <script> of the page (the page reads it back from
        // document.querySelector('script[nonce]').nonce, e.g. for srcdoc plugins).
        body = Buffer.from(body.toString('utf8').replaceAll('<script', `<script nonce="${extra.nonce}"`));
        delete extra.nonce;
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] || 'application/octet-stream',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...extra,
      });
      res.end(body);
    } catch (e) {
      res.writeHead(500); res.end(String(e));
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Start both servers; resolves with their URLs and a close() function. */
export async function startServers({ hostPort = 8700, pluginPort = 8701 } = {}) {
  const hostOrigin = `http://127.0.0.1:${hostPort}`;
  const pluginOrigin = `http://localhost:${pluginPort}`;
  const host = await serve(
    [['/pkg/', join(root, 'pkg')], ['/', join(root, 'www/host')]],
    (file) => {
      // The package is public code that opaque-origin frames and workers import (CORS).
      const cors = file.startsWith(join(root, 'pkg')) ? { 'access-control-allow-origin': '*' } : {};
      if (file.endsWith('worker-runner.html')) return { ...cors, 'content-security-policy': RUNNER_CSP };
      if (!file.endsWith('.html')) return cors;
      const nonce = randomBytes(16).toString('base64');
      return { ...cors, nonce, 'content-security-policy': hostCsp(pluginOrigin, nonce) };
    },
    hostPort,
  );
  const plugins = await serve(
    [['/client/', join(root, 'pkg/client')], ['/', join(root, 'www/plugins')]],
    // Module scripts are fetched with CORS, and a sandboxed frame's origin is opaque ("null").
    (file) => ({
      'access-control-allow-origin': '*',
      ...(file.endsWith('.html') ? { 'content-security-policy': PLUGIN_CSP } : {}),
    }),
    pluginPort,
  );
  return {
    hostUrl: `${hostOrigin}/`,
    hostOrigin,
    pluginOrigin,
    close: () => Promise.all([host, plugins].map((s) => new Promise((r) => { s.closeAllConnections?.(); s.close(r); }))),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
  const s = await startServers({ hostPort: arg('--host-port', 8700), pluginPort: arg('--plugin-port', 8701) });
  console.log(`demo: host    ${s.hostOrigin}  (www/host, CSP with require-trusted-types-for 'script')`);
  console.log(`demo: plugins ${s.pluginOrigin}  (www/plugins)`);
  console.log(`\n  Open ${s.hostUrl} in a browser.  Ctrl-C stops.\n`);
}
