// The runner page's bootstrap: the package's `worker-runner.html` carries it inline, after the
// plugin-side client's factory (`pluginWardenClient`), and allows exactly this script by hash
// in its own `<meta>` policy — so the page enforces its policy whatever its server sends, and
// loads no file besides itself.
//
// PluginHost mounts this page in a `sandbox="allow-scripts"` frame (opaque origin) for
//   - `worker` plugins (`kind: "worker"`): the verified code runs in a dedicated worker started
//     from a blob: URL — an opaque origin too: no storage, no host cookies;
//   - bundle iframes (`kind: "frame"`): the verified code runs in this document.
// It completes the handshake like any plugin frame, receives the code, the kind and the
// policy for this mount (built by the host's core) with the dedicated port, adds that policy to
// itself (policies only ever add restrictions, and removing the element does not lift one),
// and only then runs the plugin's code. A crash is reported to the host, which tears the frame
// (and so the worker) down.
(() => {
  // No WebRTC here: an RTCPeerConnection sends UDP to any host and port, and no policy an
  // embedder can set governs it (not CSP, the sandbox or Permissions Policy, in Chromium 156).
  // Its interfaces go before any other code of this page runs, so a bundle's code never has
  // them. Nor can it reach a window that still has them: a frame it adds is of another opaque
  // origin (out of its reach), and runs no script at all (the frame inherits the per-mount
  // policy, blob: scripts only, and a blob: URL of the plugin's does not load there). A worker
  // has none to begin with.
  for (const name of Object.getOwnPropertyNames(self)) {
    if (/^(webkit)?RTC/.test(name)) delete self[name];
  }

  const NS = 'plugin-warden';
  const V = 1;

  const parts = String(self.name || '').split('|');
  self.name = '';
  if (parts.length !== 4 || parts[0] !== NS || parts[1] !== String(V)) {
    throw new Error('plugin-warden runner: no bootstrap (this page is mounted by PluginHost)');
  }
  const [, , nonce, hostOrigin] = parts;

  function crashed(message) {
    parent.postMessage({ ns: NS, v: V, type: 'crashed', message: String(message).slice(0, 500) }, hostOrigin);
  }

  function lockDown(csp) {
    const meta = document.createElement('meta');
    meta.httpEquiv = 'Content-Security-Policy';
    meta.content = csp;
    document.head.append(meta);
  }

  // The plugin's code runs inside an async function, so `await` works at its top level; a
  // throw or a rejection of that function is a crash.
  const wrap = (code, onFailure) => `(async () => {\n${code}\n})().catch(${onFailure});\n`;

  function runInFrame(code, port, welcome) {
    const client = pluginWardenClient();
    const sdk = client.fromPort(port, welcome);
    Object.defineProperty(self, 'pluginWarden', {
      value: Object.freeze({ connect: () => Promise.resolve(sdk), PluginWardenError: client.PluginWardenError }),
    });
    Object.defineProperty(self, '__pluginWardenCrashed', { value: (e) => crashed(e && e.message ? e.message : e) });
    const url = URL.createObjectURL(new Blob([wrap(code, 'self.__pluginWardenCrashed')], { type: 'text/javascript' }));
    window.addEventListener('error', (e) => { if (e.filename === url) crashed(e.message); });
    const script = document.createElement('script');
    script.src = url;
    script.onerror = () => crashed('the plugin code could not be loaded');
    document.head.append(script);
  }

  function runInWorker(code, port, welcome, pluginId) {
    // A classic worker: Chromium does not load module workers from blob: URLs in an opaque
    // origin. The client is provided as `pluginWarden` — the same client code, no import.
    const source = `const pluginWarden = (${pluginWardenClient.toString()})();\n`
      + wrap(code, '(e) => { setTimeout(() => { throw e; }); }');
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    let worker;
    try {
      worker = new Worker(url, { name: String(pluginId) });
    } catch (e) {
      crashed(`the worker could not start: ${e && e.message}`);
      return;
    }
    worker.addEventListener('error', (e) => {
      e.preventDefault();
      crashed(e.message || 'the worker threw or its script failed to load');
    });
    worker.addEventListener('message', function onHello(e) {
      if (!e.data || e.data.ns !== NS || e.data.type !== 'hello') return;
      worker.removeEventListener('message', onHello);
      URL.revokeObjectURL(url);
      worker.postMessage(welcome, [port]);
    });
  }

  window.addEventListener('message', function onWelcome(event) {
    if (event.source !== parent || event.origin !== hostOrigin) return;
    const d = event.data;
    if (!d || d.ns !== NS || d.v !== V || d.type !== 'welcome') return;
    if (typeof d.code !== 'string' || typeof d.csp !== 'string' || (d.kind !== 'worker' && d.kind !== 'frame')) return;
    const port = event.ports && event.ports[0];
    if (!port) return;
    window.removeEventListener('message', onWelcome);
    lockDown(d.csp);
    const welcome = {
      ns: NS, v: V, type: 'welcome', pluginId: d.pluginId, grants: d.grants,
      actions: d.actions, version: d.version, previousVersion: d.previousVersion,
    };
    if (d.kind === 'frame') runInFrame(d.code, port, welcome);
    else runInWorker(d.code, port, welcome, d.pluginId);
  });
  parent.postMessage({ ns: NS, v: V, type: 'hello', nonce }, hostOrigin);
})();
