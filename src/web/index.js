// The `plugin-warden` entry module: the wasm-bindgen bindings, plus a JS fast path for
// `PluginHost.prototype.hasPermission`.
//
// hasPermission is called on every render of every link, and a call that copies the action
// string into wasm costs ~10x a JS Set.has. The wasm side keeps `accessCache()` — an object
// `{ exact: Set<string>, prefixes: string[] }` it rebuilds in place whenever the user or the
// installed plugins change — so the common answers come from JS. The invariant (tested in
// core::rbac): for a valid action a, wasm says yes iff exact.has(a) or a starts with a prefix.
// An exact hit is always a valid action; a prefix hit goes to wasm, which also validates.
import init, * as bindings from './plugin_warden.js';
import { pluginWardenClient, fromPort } from './client/index.js';

export * from './plugin_warden.js';
export default init;

const proto = bindings.PluginHost.prototype;
const exactHasPermission = proto.hasPermission;
const caches = new WeakMap();

proto.hasPermission = function hasPermission(action, scope) {
  // A freed host answers as every other method does (it throws), never from a stale cache.
  if (!this.__wbg_ptr) return exactHasPermission.call(this, action, scope);
  // Scoped checks go to wasm: the cache answers "held with any scope" only.
  if (scope !== undefined) {
    return typeof action === 'string' && typeof scope === 'string' && exactHasPermission.call(this, action, scope);
  }
  let cache = caches.get(this);
  if (cache === undefined) {
    cache = this.accessCache();
    caches.set(this, cache);
  }
  if (cache.exact.has(action)) return true;
  const prefixes = cache.prefixes;
  if (prefixes.length === 0 || typeof action !== 'string') return false;
  for (let i = 0; i < prefixes.length; i++) {
    if (action.startsWith(prefixes[i])) return exactHasPermission.call(this, action);
  }
  return false;
};

// Worker mounts and bundle iframes run in the package's own runner page (a self-contained
// file that enforces its own policy) unless the host names another one, and
// `{ mode: 'worker', src }` is fetched here (by the host, under its CSP's connect-src) and
// started as `code`, which the host checks against the manifest's `entry.integrity`.
const RUNNER = new URL('./worker-runner.html', import.meta.url).href;
const rawMount = proto.mount;

// A srcdoc plugin gets the client inline as `self.pluginWarden` (with the host's nonce, when
// given), ahead of its own markup: under its nonce-only CSP it could not import it.
function withClient(srcdoc, nonce) {
  const doctype = srcdoc.match(/^\s*<!doctype[^>]*>/i);
  const rest = doctype ? srcdoc.slice(doctype[0].length) : srcdoc;
  const attr = typeof nonce === 'string' ? ` nonce="${nonce.replace(/[^A-Za-z0-9+/=_-]/g, '')}"` : '';
  return `<script${attr}>self.pluginWarden = (${pluginWardenClient.toString()})();</script>${rest}`;
}

proto.mount = function mount(id, element, options) {
  if (options && options.mode === 'shadow' && typeof options.render === 'function') {
    // First-party code only: the callback gets the closed root and an SDK scoped to the
    // plugin's permissions (its calls go through the same port, limits and policy).
    const render = options.render;
    const shim = (root, port, welcome) => render(root, fromPort(port, welcome));
    return rawMount.call(this, id, element, { ...options, render: shim });
  }
  if (options && typeof options.srcdoc === 'string' && (options.mode ?? 'iframe') === 'iframe') {
    return rawMount.call(this, id, element, { ...options, srcdoc: withClient(options.srcdoc, options.nonce) });
  }
  const mode = options?.mode ?? 'iframe';
  if (mode === 'iframe' && options?.src === undefined && options?.srcdoc === undefined && options?.runner === undefined) {
    // A bundle iframe (or the manifest's `entry.src`): bundles run in the runner page too.
    return rawMount.call(this, id, element, { ...options, runner: RUNNER });
  }
  if (mode !== 'worker') return rawMount.call(this, id, element, options);
  const opts = { ...options };
  if (opts.runner === undefined) opts.runner = RUNNER;
  if (opts.src === undefined || opts.code !== undefined) return rawMount.call(this, id, element, opts);
  const src = opts.src;
  delete opts.src;
  return fetch(src, { credentials: 'omit', cache: 'no-store' })
    .then((res) => {
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return res.text();
    })
    .then(
      (code) => rawMount.call(this, id, element, { ...opts, code }),
      (e) => {
        throw Object.assign(new Error(`cannot fetch the worker script ${src}: ${e.message}`), {
          name: 'PluginWardenError', code: 'MOUNT_FAILED',
        });
      },
    );
};
