// Test page for host.loadScript, driven by tests/e2e/scripts.test.mjs.
import { PluginHost, outcome, pageNonce, pluginOrigin, start } from './harness.js';

start('scriptsHarness', async () => {
  const host = new PluginHost({ storage: 'memory', dangerous: { allowLoopbackHttp: true } });
  await host.install({
    id: 'approved', name: 'Approved', permissions: [],
    entry: { src: `${pluginOrigin}/approved/` },
  });
  return {
    pluginOrigin,
    nonce: pageNonce,
    load: (src, options) => outcome(host.loadScript(src, options)).then(({ ok, code, message }) => (ok ? { ok } : { ok, code, message })),
    runs: () => window.approvedScriptRuns || 0,
    requested: (part) => performance.getEntriesByType('resource').filter((e) => e.name.includes(part)).length,
  };
});
