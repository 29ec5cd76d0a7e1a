// The host side every scratch app runs, written as a user would after `npm install` of the
// tarball: one host, then a bundle iframe, a `src` iframe, a srcdoc frame, a worker and a
// remote-UI (shadow) panel; then a second host, on IndexedDB, whose worker stores a value; then
// a third, trusting one author's key, whose signed plugin sends a request through the host's API
// client. Each app's entry imports the package its own way and passes what it imported; the results land in `window.packageTest` for tests/e2e/package.test.mjs.
import { BUNDLE, WORKER, PANEL, STORED, fetcher, srcdocPage } from './plugins.js';

const slot = (name) => {
  const el = document.createElement('section');
  el.id = `slot-${name}`;
  document.getElementById('slots').append(el);
  return el;
};

const settle = (p) => p.then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e?.code, message: String(e?.message ?? e) }));

export async function run({ init, initArg, PluginHost, signedBytes, hostOptions = {}, preload }) {
  const state = { events: [], results: {}, errors: [] };
  window.packageTest = state;
  const pluginOrigin = new URL(location.href).searchParams.get('plugins');
  await init(initArg);
  // Apps whose bundler does not follow the package's `import('./sanitizer/…')` (esbuild) hand
  // the sanitizer's wasm URL over before the first mount that renders HTML.
  if (preload) await preload();
  const host = new PluginHost({
    hostVersion: '1.0.0',
    storage: 'memory',
    dangerous: { allowLoopbackHttp: true },
    onEvent: (e) => state.events.push({ pluginId: e.pluginId, name: e.name, data: e.data }),
    ...hostOptions,
  });
  state.host = host;
  const manifest = (id, permissions, extra = {}) => ({ id, name: id, version: '1.0.0', permissions, ...extra });
  const mount = async (id, options) => {
    state.results[id] = await settle(host.mount(id, slot(id), options));
  };

  await host.install(manifest('pkg-bundle', ['events']), { code: BUNDLE });
  await mount('pkg-bundle', { mode: 'iframe' });

  const src = `${pluginOrigin}/src-plugin/index.html`;
  await host.install(manifest('pkg-src', ['events'], { entry: { src } }));
  await mount('pkg-src', { src });

  await host.install(manifest('pkg-srcdoc', ['events']));
  const nonce = 'cGFja2FnZS10ZXN0LW5vbmNl';
  await mount('pkg-srcdoc', { srcdoc: srcdocPage(nonce), nonce });

  await host.install(manifest('pkg-worker', ['events']), { code: WORKER });
  await mount('pkg-worker', { mode: 'worker' });

  await host.install(manifest('pkg-panel', ['events', 'ui:render']), { code: PANEL });
  await mount('pkg-panel', { mode: 'worker', ui: 'shadow' });

  // A host on IndexedDB: the package imports its store (./idb.js) at the plugin's first storage
  // call, and the core's second part before the mount.
  const stored = new PluginHost({
    hostVersion: '1.0.0',
    storage: 'indexeddb',
    onEvent: (e) => state.events.push({ pluginId: e.pluginId, name: e.name, data: e.data }),
    ...hostOptions,
  });
  state.results['pkg-stored'] = await settle(stored.install(manifest('pkg-stored', ['events', 'storage']), { code: STORED })
    .then(() => stored.mount('pkg-stored', slot('pkg-stored'), { mode: 'worker' })));

  // A host that trusts one author's key (the core's second part, which reads `trustedKeys`, is
  // loaded by now: the IndexedDB host loaded it before its mount). The author signs the envelope
  // of manifest and code with WebCrypto, as `plugin-warden sign` would; the host imports its
  // signature check (./crypto.js) at this install, and its request (./fetch.js) at the plugin's
  // first api.fetch: the bundler must have followed both.
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const sign = async (m, code) => btoa(String.fromCharCode(...new Uint8Array(
    await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, signedBytes(m, code)))));
  const signed = new PluginHost({
    hostVersion: '1.0.0',
    storage: 'memory',
    requireSignatures: true,
    trustedKeys: [await crypto.subtle.exportKey('jwk', keys.publicKey)],
    dangerous: { allowLoopbackHttp: true },
    onEvent: (e) => state.events.push({ pluginId: e.pluginId, name: e.name, data: e.data }),
    ...hostOptions,
  });
  const code = fetcher(pluginOrigin);
  const signedManifest = manifest('pkg-signed', ['events', 'api:read'], { network: [`${pluginOrigin}/api/`] });
  const signature = await sign(signedManifest, code);
  // The same signature over a manifest that asks for more: refused, nothing installed.
  const widened = { ...signedManifest, id: 'pkg-widened', permissions: ['events', 'api:read', 'api:write'] };
  state.widened = await settle(signed.install(widened, { code, signature: await sign({ ...widened, permissions: ['events', 'api:read'] }, code) }));
  state.results['pkg-signed'] = await settle(signed.install(signedManifest, { code, signature })
    .then(() => signed.mount('pkg-signed', slot('pkg-signed'), { mode: 'iframe' })));

  state.hasPermission = host.hasPermission('pkg-bundle.things:read');
  // The remote-UI mount loaded the sanitizer module: the host's synchronous sanitizer works.
  state.sanitized = String(host.trustedHTML('<img src="x.png" onerror="alert(1)"><b>ok</b>'));
  // A link to a host that is not ASCII needs the sanitizer's second part (IDNA): loaded from
  // next to its glue, or from the URL the app handed to preload('sanitizer-rest').
  state.idn = String(host.trustedHTML('<a href="https://b\u00fccher.example/x" onclick="alert(1)">b\u00fccher</a>'));
  state.done = true;
  return state;
}
