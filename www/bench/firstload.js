// Suite `size` (first load): a page that does what a host mounting one iframe plugin does —
// load the package, create a host, install, mount an iframe plugin until ready — and records
// which package files the page actually fetched (Resource Timing); then sanitizes once and
// records what that fetched in addition. Run in a fresh browser context, so nothing is cached.
import init, { PluginHost } from '/pkg/index.js';

const pluginOrigin = new URLSearchParams(location.search).get('plugin');
const fetched = (seen) => performance.getEntriesByType('resource')
  .filter((e) => new URL(e.name).origin === location.origin && new URL(e.name).pathname.startsWith('/pkg/'))
  .filter((e) => !seen.has(e.name))
  .map((e) => ({ path: new URL(e.name).pathname, transferSize: e.transferSize, encodedBodySize: e.encodedBodySize, decodedBodySize: e.decodedBodySize }));

try {
  await init();
  const host = new PluginHost({ storage: 'memory', dangerous: { allowLoopbackHttp: true } });
  await host.install({ id: 'first-load', name: 'First load', version: '1.0.0', permissions: ['storage'] });
  await host.mount('first-load', document.getElementById('slot'), { src: `${pluginOrigin}/ready.html` });
  const toMount = fetched(new Set());
  const seen = new Set(performance.getEntriesByType('resource').map((e) => e.name));
  const slot = document.createElement('div');
  slot.innerHTML = host.trustedHTML('<p>first <b>sanitize</b></p>');
  // A module loaded on first use would show up here once it has been fetched.
  await new Promise((r) => setTimeout(r, 200));
  const afterSanitize = fetched(seen);
  window.firstLoad = { toMount, afterSanitize, sanitized: slot.innerHTML };
  document.body.dataset.ready = 'true';
} catch (e) {
  window.firstLoad = { error: String((e && e.message) || e) };
  document.body.dataset.ready = 'true';
}
