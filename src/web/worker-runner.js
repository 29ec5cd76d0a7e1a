// The worker runner: a hidden `sandbox="allow-scripts"` frame (opaque origin) that PluginHost
// mounts for a `worker` plugin. It completes the handshake like any plugin frame, receives the
// plugin's code (the bytes the install step checked) with the dedicated port, starts the code
// in a dedicated worker from a blob: URL — so the worker has an opaque origin too: no storage,
// no host cookies, no same-origin fetches — and hands the port to the worker once it says hello.
// A crash is reported to the host, which tears the frame (and so the worker) down.
const NS = 'plugin-warden';
const V = 1;

const parts = String(self.name || '').split('|');
self.name = '';
if (parts.length !== 4 || parts[0] !== NS || parts[1] !== String(V)) {
  throw new Error('plugin-warden worker runner: no bootstrap (this page is mounted by PluginHost)');
}
const [, , nonce, hostOrigin] = parts;
const clientUrl = new URL('./client/index.js', import.meta.url).href;

function crashed(message) {
  parent.postMessage({ ns: NS, v: V, type: 'crashed', message: String(message).slice(0, 500) }, hostOrigin);
}

window.addEventListener('message', function onWelcome(event) {
  if (event.source !== parent || event.origin !== hostOrigin) return;
  const d = event.data;
  if (!d || d.ns !== NS || d.v !== V || d.type !== 'welcome' || typeof d.code !== 'string') return;
  const port = event.ports && event.ports[0];
  if (!port) return;
  window.removeEventListener('message', onWelcome);
  // The client is provided to the plugin's module as the binding `pluginWarden`.
  const source = `import * as pluginWarden from ${JSON.stringify(clientUrl)};\n${d.code}`;
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  let worker;
  try {
    worker = new Worker(url, { type: 'module', name: String(d.pluginId) });
  } catch (e) {
    crashed(`the worker could not start: ${e && e.message}`);
    return;
  }
  worker.addEventListener('error', (e) => {
    e.preventDefault();
    crashed(e.message || 'the worker threw');
  });
  worker.addEventListener('message', function onHello(e) {
    if (!e.data || e.data.ns !== NS || e.data.type !== 'hello') return;
    worker.removeEventListener('message', onHello);
    URL.revokeObjectURL(url);
    worker.postMessage({ ns: NS, v: V, type: 'welcome', pluginId: d.pluginId, grants: d.grants }, [port]);
  });
});
parent.postMessage({ ns: NS, v: V, type: 'hello', nonce }, hostOrigin);
