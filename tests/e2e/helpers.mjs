// The one set-up of every end-to-end test file: the loopback servers (scripts/serve.mjs: host,
// plugins, test API and an unrelated origin, with a request log on each in `env.servers.logs`)
// on free ports, Debian's Chromium through playwright-core (scripts/browser.mjs), pages with
// their CSP / Trusted Types violations, console errors and page errors collected (`openPage`
// for any www/host page, `openHost` for the e2e host page www/host/e2e.html, which exposes
// `window.e2e`), frame polling that works in offscreen cross-origin frames (`waitInFrame`), and
// teardown (`env.close()`). A file starts with
//   let env; before(async () => { env = await startEnv(<base port>); }); after(() => env?.close());
import net from 'node:net';
import { mkdirSync } from 'node:fs';
import { startServers } from '../../scripts/serve.mjs';
import { launch, watch } from '../../scripts/browser.mjs';

export const RESULTS_DIR = new URL('../../test-results/', import.meta.url).pathname;

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * Start the servers on the first free pair of ports from `basePort` (host, plugins; the API takes
 * the next port, the unrelated origin any free one), and a browser. `serverOptions` go to
 * startServers (e.g. `api`, a handler of the test's own API on the API origin). `browser: false`
 * starts no browser (tests that drive one through a child process).
 */
export async function startEnv(basePort, { browser = true, ...serverOptions } = {}) {
  let servers = null;
  let lastError = null;
  for (let port = basePort; port < basePort + 40 && !servers; port += 2) {
    if (!(await portFree(port)) || !(await portFree(port + 1))) continue;
    try {
      servers = await startServers({ ...serverOptions, hostPort: port, pluginPort: port + 1 });
    } catch (e) {
      lastError = e;
    }
  }
  if (!servers) throw new Error(`no free port pair from ${basePort}: ${lastError}`);
  return envWith(servers, { browser });
}

/**
 * An environment of already started `servers` (anything with `hostOrigin` and `close()`, e.g.
 * docs-examples-lib.mjs's startSites) and a browser: { servers, browser, close() }.
 */
export async function envWith(servers, { browser: withBrowser = true } = {}) {
  const browser = withBrowser ? await launch().catch(async (e) => { await servers.close(); throw e; }) : null;
  return {
    servers,
    browser,
    async close() {
      await browser?.close().catch(() => {});
      await servers.close();
    },
  };
}

/** The first of `n` consecutive free loopback ports from `basePort` (scanning 40 ports). */
export async function freePorts(basePort, n) {
  for (let port = basePort; port < basePort + 40; port += n) {
    let free = true;
    for (let i = 0; i < n && free; i++) free = await portFree(port + i);
    if (free) return port;
  }
  throw new Error(`no ${n} free consecutive ports from ${basePort}`);
}

/**
 * Open www/host/e2e.html?<query> in a fresh context (or `context`), wait until its scenario is
 * set up, and collect violations: `seen` is scripts/browser.mjs's watch(page) (every frame);
 * `hostViolations()` keeps those of the host page (not of plugin frames) plus the host
 * document's own securitypolicyviolation events.
 */
export async function openHost(env, query = 'scenario=none', { context } = {}) {
  const ctx = context ?? await env.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await ctx.newPage();
  const seen = watch(page);
  const located = [];
  page.on('console', (m) => {
    if (/Content Security Policy|TrustedHTML|TrustedScript|Trusted Type/i.test(m.text())) {
      located.push({ text: m.text(), url: m.location()?.url ?? '' });
    }
  });
  await gotoHost(page, env, query);
  return {
    context: ctx,
    page,
    seen,
    async hostViolations() {
      const fromConsole = located.filter((v) => !v.url.startsWith(env.servers.pluginOrigin));
      const fromDocument = await page.evaluate(() => window.e2e.state.violations).catch(() => ['page gone']);
      return { fromConsole, fromDocument };
    },
    async close() {
      if (!context) await ctx.close();
      else await page.close();
    },
  };
}

/** Navigate `page` to the e2e host page and wait for its scenario. */
export async function gotoHost(page, env, query) {
  await page.goto(`${env.servers.hostOrigin}/e2e.html?${query}`);
  await waitReady(page);
}

/**
 * Wait until a www/host test page (www/host/harness.js) is set up: body[data-ready] is `true`,
 * or `error` (thrown here, with what the page reported).
 */
export async function waitReady(page, { timeout = 30_000 } = {}) {
  await page.waitForFunction(() => document.body && document.body.dataset.ready, null, { timeout });
  const setupError = await page.evaluate(() => (document.body.dataset.ready === 'true' ? null
    : window.harnessError ?? document.body.dataset.error ?? `data-ready=${document.body.dataset.ready}`));
  if (setupError) throw new Error(`page set-up failed: ${JSON.stringify(setupError)}`);
}

/**
 * Open `path` (relative to the host origin, e.g. `dialog.html?x=1`, or a whole URL) in a fresh context (or in
 * `context`), with `seen` = watch(page) (CSP / Trusted Types violations, console errors, page
 * errors of every frame); wait for the page's harness to be ready unless `ready: false`.
 * `beforeGoto(page)` runs first (e.g. page.route). Answers { page, seen, response, context, close() }.
 */
export async function openPage(env, path, { context, ready = true, origin = env.servers.hostOrigin, beforeGoto } = {}) {
  const ctx = context ?? await env.browser.newContext();
  const page = await ctx.newPage();
  const seen = watch(page);
  if (beforeGoto) await beforeGoto(page);
  const response = await page.goto(/^https?:/.test(path) ? path : `${origin}/${path.replace(/^\//, '')}`);
  if (ready) await waitReady(page);
  return {
    page,
    seen,
    response,
    context: ctx,
    async close() {
      if (!context) await ctx.close();
      else await page.close();
    },
  };
}

/**
 * frame.waitForFunction polling on a timer: Playwright's default (requestAnimationFrame) stalls
 * in cross-origin frames Chromium has scrolled out of view.
 */
export function waitInFrame(frame, fn, arg, { timeout = 15_000 } = {}) {
  return frame.waitForFunction(fn, arg, { polling: 100, timeout });
}

/** The Playwright frame of plugin `id`'s iframe, once its document set body[data-state]. */
export async function pluginFrame(page, id, { state } = {}) {
  const handle = await page.waitForSelector(`#slot-${id} iframe`, { state: 'attached', timeout: 15_000 });
  const frame = await handle.contentFrame();
  if (!frame) throw new Error(`plugin ${id}: iframe has no frame`);
  await waitInFrame(
    frame,
    (want) => document.body && document.body.dataset.state && (!want || document.body.dataset.state === want),
    state,
  );
  return frame;
}

/** Run `host[method](...args)` in the page: `{ ok, value }` or `{ ok: false, error }`. */
export function hostCall(page, method, ...args) {
  return page.evaluate(([m, a]) => window.e2e.call(m, ...a), [method, args]);
}

/** The first audit-log entries of `plugin` matching `pred` fields (e.g. { kind, code }). */
export function auditMatching(log, fields) {
  return log.filter((e) => Object.entries(fields).every(([k, v]) => e[k] === v));
}

/** Poll `fn` (async) until it returns a truthy value or `ms` pass; answers the last value. */
export async function until(fn, ms = 5000, step = 100) {
  const end = Date.now() + ms;
  let v = await fn();
  while (!v && Date.now() < end) {
    await new Promise((r) => setTimeout(r, step));
    v = await fn();
  }
  return v;
}

export function screenshotPath(name) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return `${RESULTS_DIR}${name}`;
}
