// Harness page for tests/e2e/routes.test.mjs, served with the host CSP (the test adds the
// loopback API's origin to connect-src, as a host calling a route's API must). It exposes
// `window.routesHarness`: create a host with route values and secrets, install and mount a
// plugin from the plugin origin, and read the host's audit log. DOM writes use textContent.
import init, { PluginHost } from '/pkg/index.js';

const params = new URLSearchParams(location.search);
const pluginOrigin = params.get('plugins') ?? `http://localhost:${Number(location.port) + 1}`;

function plain(e) {
  return e && typeof e === 'object'
    ? { name: e.name, code: e.code, message: e.message, permission: e.permission }
    : { value: String(e) };
}

async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: plain(e) };
  }
}

function slot(id) {
  let box = document.getElementById(`slot-${id}`);
  if (!box) {
    box = document.createElement('div');
    box.className = 'slot';
    box.id = `slot-${id}`;
    document.getElementById('slots').append(box);
  }
  return box;
}

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

async function main() {
  await init();
  window.routesHarness = harness;
  document.body.dataset.ready = 'true';
}
main().catch((e) => { document.body.dataset.error = `${e?.code ?? ''} ${e?.message ?? e}`; });
