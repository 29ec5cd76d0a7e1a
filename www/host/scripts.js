// Test page for host.loadScript, driven by tests/e2e/scripts.test.mjs.
import init, { PluginHost } from '/pkg/index.js';

await init();
const pluginOrigin = `http://localhost:${Number(location.port) + 1}`;
const nonce = document.querySelector('script[nonce]')?.nonce;
const host = new PluginHost({ storage: 'memory', dangerous: { allowLoopbackHttp: true } });
await host.install({
  id: 'approved', name: 'Approved', permissions: [],
  entry: { src: `${pluginOrigin}/approved/` },
});
const outcome = (p) => p.then(() => ({ ok: true }), (e) => ({ ok: false, code: e.code, message: e.message }));
window.scriptsHarness = {
  pluginOrigin,
  nonce,
  load: (src, options) => outcome(host.loadScript(src, options)),
  runs: () => window.approvedScriptRuns || 0,
  requested: (part) => performance.getEntriesByType('resource').filter((e) => e.name.includes(part)).length,
};
document.body.dataset.ready = 'true';
