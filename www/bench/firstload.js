// Suite `size` (first load): a page that does what a host mounting one iframe plugin does —
// load the package, create a host, install, mount an iframe plugin until ready — and records
// which package files the page actually fetched (Resource Timing); then it loads the sanitizer
// (`await host.preload('sanitizer')`) and sanitizes once (`host.trustedHTML`), and records what
// those fetched in addition. Run in a fresh browser context, so nothing is cached.
import init, { PluginHost } from '/pkg/index.js';

const pluginOrigin = new URLSearchParams(location.search).get('plugin');
const entries = () => performance.getEntriesByType('resource')
  .filter((e) => new URL(e.name).origin === location.origin && new URL(e.name).pathname.startsWith('/pkg/'));
const fetched = (seen) => entries()
  .filter((e) => !seen.has(e.name))
  .map((e) => ({ path: new URL(e.name).pathname, transferSize: e.transferSize, encodedBodySize: e.encodedBodySize, decodedBodySize: e.decodedBodySize }));

try {
  // The default Resource Timing buffer (250 entries) is far more than this page fetches; a full
  // buffer would silently drop entries, so say so instead.
  let overflow = false;
  performance.addEventListener('resourcetimingbufferfull', () => { overflow = true; });
  await init();
  const host = new PluginHost({ storage: 'memory', dangerous: { allowLoopbackHttp: true } });
  await host.install({ id: 'first-load', name: 'First load', version: '1.0.0', permissions: ['storage'] });
  await host.mount('first-load', document.getElementById('slot'), { src: `${pluginOrigin}/ready.html` });
  const toMount = fetched(new Set());
  const seen = new Set(entries().map((e) => e.name));
  // Before the sanitizer is loaded the synchronous call must refuse (never unsanitized HTML).
  let before = null;
  try { host.trustedHTML('<p>x</p>'); before = 'returned'; } catch (e) { before = e.code ?? String(e); }
  await host.preload('sanitizer');
  const slot = document.createElement('div');
  slot.innerHTML = host.trustedHTML('<p onclick="alert(1)">first <b>sanitize</b></p>');
  // A Resource Timing entry is queued when its response ends, as a task: let them land.
  await new Promise((r) => setTimeout(r, 200));
  const afterSanitize = fetched(seen);
  window.firstLoad = { toMount, afterSanitize, sanitized: slot.innerHTML, trustedHTMLBeforePreload: before, overflow };
  document.body.dataset.ready = 'true';
} catch (e) {
  window.firstLoad = { error: String((e && e.message) || e) };
  document.body.dataset.ready = 'true';
}
