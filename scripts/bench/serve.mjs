// Serves the benchmark on two loopback origins (host and plugins never share an origin):
//   host    http://127.0.0.1:<hostPort>   www/bench/ + /pkg/ (the built package) + /vendor/
//   plugins http://localhost:<pluginPort> www/bench/plugin/ + /client/ (pkg/client) + /vendor/
// plus /bench-data/corpus.json on the host (the sanitize corpus, built by corpus.mjs).
//
// Cross-origin isolation: the host page is sent with COOP `same-origin` and COEP `require-corp`,
// so `performance.now()` has fine resolution and `crossOriginIsolated` is true. Under
// require-corp every framed document must itself send COEP, and every response loaded into the
// isolated page (frames, scripts, wasm) must be CORS-enabled or carry a CORP that allows it; so
// both servers send `Cross-Origin-Resource-Policy: cross-origin`, COEP `require-corp` on every
// HTML document, and `Access-Control-Allow-Origin: *` (sandboxed frames have an opaque origin and
// load module scripts with CORS). That covers plugin iframes, the package's worker runner frame
// (pkg/worker-runner.html, sandboxed, on the host origin) and its blob: worker. `pkgDir` serves
// another build of the package (the profiler's copy with wasm function names). The host page
// also runs under a Trusted Types CSP (`require-trusted-types-for 'script'`) like a real host.
//   node scripts/bench/serve.mjs [--host-port 8750] [--plugin-port 8751] [--no-isolation]
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { staticServer } from '../serve.mjs';

const root = new URL('../..', import.meta.url).pathname;
// Third-party candidates, served as the ES modules their packages ship.
export const VENDOR = {
  'purify.es.mjs': 'node_modules/dompurify/dist/purify.es.mjs',
  'penpal.mjs': 'node_modules/penpal/dist/penpal.mjs',
  'comlink.mjs': 'node_modules/comlink/dist/esm/comlink.mjs',
};

/** The host page's CSP: Trusted Types enforced (policies of plugin-warden and DOMPurify). */
export function benchHostCsp(pluginOrigin) {
  return [
    "default-src 'none'",
    // 'unsafe-inline' although the page has no inline script or style: Chromium checks the CSP
    // for every on* and style attribute the HTML parser meets, even in the inert documents
    // DOMPurify and setHTML parse into, and reports a violation for each (console message +
    // event), which would dominate their time on real pages. plugin-warden parses in wasm and
    // never pays it. Nothing inline runs: every output is sanitized, and Trusted Types stay
    // enforced. (docs/benchmarks.md says more.)
    "script-src 'self' 'wasm-unsafe-eval' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    // Sanitized corpus pages keep <img src>: only same-origin loads (they 404 at once); nothing
    // ever leaves loopback.
    "img-src 'self'",
    "connect-src 'self'",
    `frame-src 'self' ${pluginOrigin}`,
    "worker-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    'trusted-types plugin-warden dompurify',
    "require-trusted-types-for 'script'",
  ].join('; ');
}

// Plugin documents: their own scripts (and the shared vendor modules), no network.
const PLUGIN_CSP = "default-src 'none'; script-src 'self'; base-uri 'none'; form-action 'none'";

/** Every answer may load into the isolated page: CORP cross-origin, and CORS for module scripts. */
const BASE_HEADERS = { 'cross-origin-resource-policy': 'cross-origin', 'access-control-allow-origin': '*' };

async function bundledReady(pkgDir) {
  const { pluginWardenClient } = await import(pathToFileURL(join(pkgDir, 'client/index.js')).href);
  return `// plugin-warden/client, bundled (served by scripts/bench/serve.mjs)\nconst pluginWarden = (${pluginWardenClient.toString()})();\nawait pluginWarden.connect();\n`;
}

function closeServer(s) {
  return new Promise((r) => { s.closeAllConnections?.(); s.close(r); });
}

/**
 * Start both servers. `corpus` is a function answering the corpus JSON (built lazily, once).
 * `isolation: false` drops COOP/COEP everywhere (to compare, or where isolation cannot work).
 */
export async function startBenchServers({ hostPort = 8750, pluginPort = hostPort + 1, corpus, isolation = true, pkgDir = join(root, 'pkg') } = {}) {
  const hostOrigin = `http://127.0.0.1:${hostPort}`;
  const pluginOrigin = `http://localhost:${pluginPort}`;
  const isolate = (file) => {
    const h = {};
    if (isolation && file.endsWith('.html')) h['cross-origin-embedder-policy'] = 'require-corp';
    return h;
  };
  const started = [];
  try {
    started.push(await staticServer({
      port: hostPort,
      baseHeaders: BASE_HEADERS,
      mounts: [['/pkg/', pkgDir], ['/vendor/', VENDOR], ['/', join(root, 'www/bench')]],
      dynamic: corpus ? { '/bench-data/corpus.json': async () => ({ type: 'application/json', body: await corpus() }) } : {},
      headersFor: (file) => {
        const h = isolate(file);
        if (!file.endsWith('.html') || file.endsWith('worker-runner.html')) return h; // the runner carries its own policy
        if (isolation) h['cross-origin-opener-policy'] = 'same-origin';
        return { ...h, 'content-security-policy': benchHostCsp(pluginOrigin) };
      },
    }));
    started.push(await staticServer({
      port: pluginPort,
      baseHeaders: BASE_HEADERS,
      mounts: [['/client/', join(pkgDir, 'client')], ['/vendor/', VENDOR], ['/', join(root, 'www/bench/plugin')]],
      // The mount suite's plugin with the client bundled into its one script (as a bundler would
      // ship it): the same client code, without the module import's extra request.
      dynamic: { '/ready-bundled.js': async () => ({ type: 'text/javascript; charset=utf-8', body: await bundledReady(pkgDir) }) },
      headersFor: (file) => ({ ...isolate(file), ...(file.endsWith('.html') ? { 'content-security-policy': PLUGIN_CSP, 'allow-csp-from': '*' } : {}) }),
    }));
  } catch (e) {
    await Promise.all(started.map(closeServer));
    throw e;
  }
  return {
    hostOrigin,
    pluginOrigin,
    benchUrl: `${hostOrigin}/index.html?plugin=${encodeURIComponent(pluginOrigin)}`,
    close: () => Promise.all(started.map(closeServer)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
  const { buildCorpus } = await import('./corpus.mjs');
  const hostPort = arg('--host-port', 8750);
  let cached = null;
  const s = await startBenchServers({
    hostPort, pluginPort: arg('--plugin-port', hostPort + 1),
    isolation: !process.argv.includes('--no-isolation'),
    corpus: async () => (cached ??= JSON.stringify(await buildCorpus({ quick: false }))),
  });
  console.log(`bench: host ${s.hostOrigin}, plugins ${s.pluginOrigin}\n  Open ${s.benchUrl}  (Ctrl-C stops)`);
}
