// The shared harness of the www/host test pages (e2e, dialog, install, modes, rbac, routes,
// scripts, xss — not the demo): it loads the package, runs the page's set-up, exposes what the
// set-up returns on `window` for page.evaluate, and reports readiness the same way on every
// page — body[data-ready="true"], or body[data-ready="error"] with body[data-error] and
// `window.harnessError` saying why (tests/e2e/helpers.mjs openPage waits for it). DOM writes
// use textContent only: the pages run under `require-trusted-types-for 'script'`.
import init, { PluginHost } from '/pkg/index.js';

export { PluginHost };
export * as pkg from '/pkg/index.js';

export const params = new URLSearchParams(location.search);
/** The plugin origin: `?plugins=<origin>`, or the port after this page's on localhost (serve.mjs). */
export const pluginOrigin = params.get('plugins') ?? `http://localhost:${Number(location.port) + 1}`;
/** The nonce this page's scripts carry (the server adds one per response). */
export const pageNonce = document.querySelector('script[nonce]')?.nonce;

/** A thrown value as plain data (page.evaluate can return it). */
export function plain(e) {
  if (!e || typeof e !== 'object') return { value: String(e) };
  const out = { name: e.name, code: e.code, message: String(e.message), isError: e instanceof Error };
  if (e.permission !== undefined) out.permission = e.permission;
  return out;
}

/** `{ ok: true, value }` from `fn()` (awaited), or `{ ok: false, error }`. */
export async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: plain(e) };
  }
}

/** Same, synchronously (for checks that must run in one tick). */
export function attemptSync(fn) {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return { ok: false, error: plain(e) };
  }
}

/** A promise's outcome flattened: `{ ok: true, value }` or `{ ok: false, code, message }`. */
export function outcome(promise) {
  return Promise.resolve(promise).then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e?.code, message: e?.message }));
}

/**
 * The mount element of plugin `id`: `#slot-<id>` in `#slots` (created on first use, with an
 * `<h3>` naming the id and a `.body` element to mount into when `heading` is set).
 */
export function slot(id, { heading = false } = {}) {
  let box = document.getElementById(`slot-${id}`);
  if (!box) {
    box = document.createElement('div');
    box.className = 'slot';
    box.id = `slot-${id}`;
    if (heading) {
      const h = document.createElement('h3');
      h.textContent = id;
      const body = document.createElement('div');
      body.className = 'body';
      box.append(h, body);
    }
    document.getElementById('slots').append(box);
  }
  return box.querySelector('.body') ?? box;
}

/** A fresh anonymous mount element appended to `#slots`. */
export function freshSlot() {
  return document.getElementById('slots').appendChild(document.createElement('div'));
}

/**
 * Load the package, run `setUp()` and expose its result as `window[name]`, then mark the page
 * ready; any failure marks it `error` instead.
 */
export async function start(name, setUp) {
  try {
    await init();
    const api = await setUp();
    if (name) window[name] = api;
    document.body.dataset.ready = 'true';
  } catch (e) {
    window.harnessError = plain(e);
    document.body.dataset.error = `${e?.code ?? ''} ${e?.message ?? e}`.trim();
    document.body.dataset.ready = 'error';
  }
}
