// Harness page for tests/e2e/routes.test.mjs, served with the host CSP (its connect-src names
// the test API's origin, where the test runs the route's API). It exposes
// `window.routesHarness`: create a host with route values and secrets, install and mount a
// plugin from the plugin origin, and read the host's audit log. DOM writes use textContent.
import { PluginHost, attempt, pluginOrigin, slot, start } from './harness.js';

const harness = {
  pluginOrigin,
  host: null,
  audits: [],
  /** A fresh host (the previous one destroyed) whose onAudit events are kept in `audits`. */
  create(options) {
    harness.host?.destroy();
    harness.audits = [];
    return attempt(() => {
      harness.host = new PluginHost({ storage: 'memory', ...options, onAudit: (e) => harness.audits.push(e) });
      return true;
    });
  },
  install(manifest) {
    return attempt(() => harness.host.install(manifest));
  },
  /** Mount `id` from `path` on the plugin origin (an iframe in #slot-<id>). */
  mount(id, path) {
    return attempt(async () => {
      await harness.host.mount(id, slot(id), { mode: 'iframe', src: `${pluginOrigin}${path}` });
      return true;
    });
  },
  /** `host[method](...args)`, as `{ ok, value }` or `{ ok: false, error }`. */
  call(method, ...args) {
    return attempt(() => harness.host[method](...args));
  },
};

start('routesHarness', () => harness);
