// The end-to-end tests' host page. It creates a PluginHost whose callbacks record into
// `e2e.state`, sets up the scenario named by `?scenario=`, and exposes `window.e2e` so the tests
// (tests/e2e/*.test.mjs) can drive the host with page.evaluate. DOM writes use textContent only
// (the page runs under `require-trusted-types-for 'script'`).
import { PluginHost, attempt, attemptSync, params, plain as plainError, pluginOrigin, slot as harnessSlot, start } from './harness.js';

const MAX_RECORDED = 5000;

const state = {
  audits: [],
  events: [],
  notifies: [],
  permissionRequests: [],
  /** What onPermissionRequest answers, by capability (default: deny). */
  permissionAnswers: {},
  /** securitypolicyviolation events of this document (CSP and Trusted Types). */
  violations: [],
};

document.addEventListener('securitypolicyviolation', (e) => {
  state.violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile });
});

function keep(list, item) {
  if (list.length < MAX_RECORDED) list.push(item);
}

const mounts = new Map();

/** Plugin `id`'s mount element: the body of its `#slot-<id>` box, headed by its id. */
const slot = (id) => harnessSlot(id, { heading: true });

const e2e = {
  pluginOrigin,
  hostOrigin: location.origin,
  host: null,
  state,
  ready: false,

  /** A fresh host (the previous one is destroyed) whose callbacks record into `state`. */
  create(options = {}) {
    if (e2e.host) e2e.host.destroy();
    e2e.host = new PluginHost({
      hostVersion: '1.0.0',
      user: { role: 'Viewer' },
      ...options,
      onPermissionRequest: async ({ pluginId, permission, reason }) => {
        keep(state.permissionRequests, { pluginId, permission, reason });
        return state.permissionAnswers[permission] === true;
      },
      onAudit: (event) => keep(state.audits, event),
      onEvent: ({ pluginId, name, data }) => keep(state.events, { pluginId, name, data }),
      onNotify: ({ pluginId, message, level }) => keep(state.notifies, { pluginId, message, level }),
    });
    return true;
  },

  /** install; answers `{ ok, value }` or `{ ok: false, error }` instead of throwing. */
  install(manifest, options) {
    return attempt(() => e2e.host.install(manifest, options));
  },

  /** Start mounting `id` from `path` on the plugin origin; `settled(id)` awaits the outcome. */
  mount(id, path, options = {}) {
    return e2e.mountWith(id, { src: `${pluginOrigin}${path}`, ...options });
  },

  /** Start mounting `id` with exactly `options` (no default `src`); `settled(id)` awaits it. */
  mountWith(id, options) {
    const p = e2e.host.mount(id, slot(id), options);
    mounts.set(id, p.then((value) => ({ ok: true, value }), (e) => ({ ok: false, error: plainError(e) })));
    return true;
  },

  /** A bare `sandbox="allow-scripts"` frame of `url`, mounted by no host (the tests' control). */
  rawFrame(id, url) {
    const f = document.createElement('iframe');
    f.setAttribute('sandbox', 'allow-scripts');
    f.src = url;
    slot(id).append(f);
    return true;
  },

  /** Start a worker mount of `id` (code from install) in its slot, e.g. `{ ui: 'shadow' }`. */
  mountWorker(id, options = {}) {
    return e2e.mountWith(id, { mode: 'worker', ...options });
  },

  settled(id) {
    return mounts.get(id);
  },

  async mountAndWait(id, path, options) {
    e2e.mount(id, path, options);
    return e2e.settled(id);
  },

  /** Call `host[method](...args)` and answer `{ ok, value }` / `{ ok: false, error }`. */
  call(method, ...args) {
    return attemptSync(() => e2e.host[method](...args));
  },

  iframes(id) {
    const box = document.getElementById(`slot-${id}`);
    return box ? box.querySelectorAll('iframe').length : 0;
  },

  iframeAttributes(id) {
    const f = document.querySelector(`#slot-${id} iframe`);
    return f && Object.fromEntries([...f.attributes].map((a) => [a.name, a.value]));
  },
};
window.e2e = e2e;

// Manifests the scenarios use (the tests use the same ones through e2e.manifests).
e2e.manifests = {
  notes: {
    id: 'notes', name: 'Notes', version: '1.0.0',
    permissions: ['storage', 'events'], optionalPermissions: ['ui:notify', 'api:read'],
  },
  // No `storage`: storage calls must be refused. Declares one loopback API prefix.
  hostile: {
    id: 'hostile', name: 'Hostile', version: '6.6.6',
    permissions: ['events', 'api:read'], network: [`${pluginOrigin}/api/`],
  },
  // The same hostile page with `storage`, to go after other plugins' data.
  'hostile-spy': { id: 'hostile-spy', name: 'Hostile spy', version: '6.6.6', permissions: ['storage'] },
  silent: { id: 'silent', name: 'Silent', version: '1.0.0', permissions: [] },
};

const scenarios = {
  /** Only the host; the test drives everything. */
  async none() {
    e2e.create({ storage: params.get('storage') ?? 'memory' });
  },
  /** The notes plugin on storage:'local' (data must survive a reload). */
  async bridge() {
    e2e.create({ storage: 'local' });
    await must(e2e.install(e2e.manifests.notes));
    await must(e2e.mountAndWait('notes', '/notes/'));
  },
  /** notes (good), hostile-spy (connects itself) and hostile (waits for the test to say hello). */
  async hostile() {
    e2e.create({ storage: 'memory', dangerous: { allowLoopbackHttp: true } });
    for (const id of ['notes', 'hostile', 'hostile-spy']) await must(e2e.install(e2e.manifests[id]));
    await must(e2e.mountAndWait('notes', '/notes/'));
    await must(e2e.mountAndWait('hostile-spy', '/hostile/'));
    e2e.mount('hostile', '/hostile/?manual', { timeout: 60_000 });
  },
};

async function must(promise) {
  const r = await promise;
  if (!r.ok) throw Object.assign(new Error(`scenario step failed: ${r.error.code} ${r.error.message}`), { code: r.error.code });
  return r.value;
}

start('e2e', async () => {
  const name = params.get('scenario') ?? 'none';
  try {
    if (!scenarios[name]) throw new Error(`unknown scenario ${name}`);
    await scenarios[name]();
  } catch (e) {
    e2e.setupError = plainError(e);
    document.getElementById('state').textContent = `setup failed: ${e.code ?? ''} ${e.message}`;
    throw e;
  }
  e2e.ready = true;
  document.getElementById('state').textContent = `scenario ${name}: ready`;
  return e2e;
});
