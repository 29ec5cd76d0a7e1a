// The mounts that need more than the core, for plugin-warden's entry module (src/web/index.js
// `mountWith`), shipped as pkg/mounts.js and imported at the first one: a first-party shadow
// mount with a `render` callback, a `srcdoc` frame (the plugin-side client inlined into it) and
// a worker fetched from `src`. A host that mounts `src` pages, bundles or workers given as code
// never fetches this file, nor the plugin-side client it imports for the first two.
//
// `mount` is the core's raw `PluginHost.prototype.mount` and `coded(code, message, cause)` the
// entry's error maker; `runner` the host's runner page.

// The plugin-side client (./client/index.js, next to this file), needed by a srcdoc mount
// (inlined into the document) and a first-party shadow `render` (its SDK over the mount's port).
let client = null;
function withClient(coded, then) {
  client ??= import('./client/index.js').catch((e) => {
    client = null; // a later mount tries again
    throw coded('MOUNT_FAILED', `plugin-warden: cannot load its plugin-side client (./client/index.js next to the entry module), which srcdoc and shadow render mounts need: ${e && e.message ? e.message : e}`, e);
  });
  return client.then(then);
}

// A srcdoc plugin gets the client inline as `self.pluginWarden` (with the host's nonce, when
// given), ahead of its own markup: under its nonce-only CSP it could not import it.
function inlined(pluginWardenClient, srcdoc, nonce) {
  const doctype = srcdoc.match(/^\s*<!doctype[^>]*>/i);
  const rest = doctype ? srcdoc.slice(doctype[0].length) : srcdoc;
  const attr = typeof nonce === 'string' ? ` nonce="${nonce.replace(/[^A-Za-z0-9+/=_-]/g, '')}"` : '';
  return `<script${attr}>self.pluginWarden = (${pluginWardenClient.toString()})();</script>${rest}`;
}

/** Mount `id` as `options` says: one of the three mounts above (index.js `mountWith` chose it). */
export async function pwMountApart(mount, coded, host, runner, id, element, options) {
  if (options.mode === 'shadow') {
    // First-party code only: the callback gets the closed root and an SDK scoped to the
    // plugin's permissions (its calls go through the same port, limits and policy).
    const render = options.render;
    return withClient(coded, ({ fromPort }) => {
      const shim = (root, port, welcome) => render(root, fromPort(port, welcome));
      return mount.call(host, id, element, { ...options, render: shim });
    });
  }
  if (typeof options.srcdoc === 'string') {
    return withClient(coded, ({ pluginWardenClient }) => mount.call(host, id, element, {
      ...options, srcdoc: inlined(pluginWardenClient, options.srcdoc, options.nonce),
    }));
  }
  // `{ mode: 'worker', src }`: fetched here (by the host, under its CSP's connect-src) and
  // started as `code`, which the host checks against the manifest's `entry.integrity`.
  const { src, ...opts } = options;
  if (opts.runner === undefined) opts.runner = runner;
  let code;
  try {
    const res = await fetch(src, { credentials: 'omit', cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    code = await res.text();
  } catch (e) {
    throw coded('MOUNT_FAILED', `cannot fetch the worker script ${src}: ${e.message}`);
  }
  return mount.call(host, id, element, { ...opts, code });
}
