// The demo's plugins, shared by the host page (www/host/app.js) and the demo server
// (scripts/serve.mjs), which builds the page's CSP from these manifests with the SDK's hostCsp:
// frame-src from each `entry.src` origin, connect-src from each `network` origin.
//
// The Quotes app plugin also carries Grafana-style RBAC: plugin roles granted to basic roles
// (or assigned to a user by name, `user.roles`), nav `includes` gated by those roles' actions,
// and `routes` whose `reqAction` gates the host's pages (www/host/demo/nav.js).
export const QUOTES_ID = 'demo-quotes';

export function demoPlugins({ pluginOrigin, apiOrigin }) {
  return [
  {
    // Asks for an optional capability (ui:notify) at runtime, with a reason; the host answers
    // with the SDK's default permission dialog.
    manifest: {
      id: 'demo-hello', name: 'Hello (asks for ui:notify)', version: '1.1.0', permissions: ['storage', 'events'],
      optionalPermissions: ['ui:notify'],
      entry: { src: `${pluginOrigin}/hello/` },
    },
    mount: { src: `${pluginOrigin}/hello/` },
  },
  {
    // Reads the local test API through sdk.api.fetch: only URLs under `network` are reachable,
    // only GET/HEAD with api:read (its POST is refused), no cookies, no redirects followed. It
    // remembers the user's preferred category in its storage.
    manifest: {
      id: QUOTES_ID, name: 'Quotes (storage + api.fetch)', version: '1.1.0',
      permissions: ['api:read', 'storage'], network: [`${apiOrigin}/api/`],
      entry: { src: `${pluginOrigin}/quotes/` },
      roles: [
        { role: { name: 'Quotes Reader', description: 'Browse the quotes', permissions: [{ action: `${QUOTES_ID}.quotes:read` }] }, grants: ['Viewer'] },
        { role: { name: 'Quotes Editor', description: 'Suggest quotes', permissions: [{ action: `${QUOTES_ID}.quotes:write` }] }, grants: ['Editor'] },
        { role: { name: 'Quotes Curator', description: 'Curate the collection', permissions: [{ action: `${QUOTES_ID}.collection:curate` }] }, grants: ['Admin'] },
      ],
      includes: [
        { type: 'page', name: 'Browse quotes', path: '/a/%PLUGIN_ID%/browse', action: `${QUOTES_ID}.quotes:read`, addToNav: true, defaultNav: true },
        { type: 'page', name: 'Suggest a quote', path: '/a/%PLUGIN_ID%/suggest', action: `${QUOTES_ID}.quotes:write`, addToNav: true },
        { type: 'page', name: 'Curate', path: '/a/%PLUGIN_ID%/curate', action: `${QUOTES_ID}.collection:curate`, addToNav: true },
      ],
      routes: [
        { path: 'api/quotes', method: 'GET', reqAction: `${QUOTES_ID}.quotes:read`, url: `${apiOrigin}/api/quotes` },
        { path: 'api/notes', method: 'POST', reqAction: `${QUOTES_ID}.quotes:write`, url: `${apiOrigin}/api/notes` },
        { path: 'api/collection', method: 'DELETE', reqAction: `${QUOTES_ID}.collection:curate`, url: `${apiOrigin}/api/collection` },
      ],
    },
    mount: { src: `${pluginOrigin}/quotes/?api=${encodeURIComponent(apiOrigin)}` },
  },
  {
    // The host fetches the worker's code from the plugin origin (hence `network`), checks it at
    // install, and runs it in a worker.
    manifest: {
      id: 'demo-primes', name: 'Primes (worker plugin)', version: '1.0.0', permissions: ['storage', 'ui:notify'],
      network: [`${pluginOrigin}/primes/`],
    },
    codeFrom: `${pluginOrigin}/primes/worker.js`,
    mount: { mode: 'worker' },
  },
  {
    // Shows, live, what it may do (sdk.permissions.onChange): revoke or grant in the inspector
    // and watch its list change. The slot's "Update to 1.1.0" button asks for a new permission
    // and a network origin: the SDK's consent dialog lists both; accepted, the plugin restarts
    // with its storage and shows the version it was updated from.
    manifest: {
      id: 'demo-lifecycle', name: 'Lifecycle (permission changes, updates)', version: '1.0.0',
      permissions: ['storage', 'events'], optionalPermissions: ['ui:notify'],
      entry: { src: `${pluginOrigin}/lifecycle/` },
    },
    mount: { src: `${pluginOrigin}/lifecycle/` },
    update: { label: 'Update to 1.1.0', manifest: { version: '1.1.0', permissions: ['storage', 'events', 'api:read'], network: [`${apiOrigin}/api/`] } },
  },
  {
    // A worker that hangs in an endless loop when the slot's "Freeze it" button emits `freeze`:
    // the host's heartbeat notices, fails it with TIMEOUT and terminates it; the inspector and
    // the slot show it failed while every other plugin keeps working.
    manifest: {
      id: 'demo-freeze', name: 'Freezer (liveness)', version: '1.0.0', permissions: ['events', 'ui:notify'],
      network: [`${pluginOrigin}/freeze/`],
    },
    codeFrom: `${pluginOrigin}/freeze/worker.js`,
    mount: { mode: 'worker' },
    action: { label: 'Freeze it (endless loop)', event: 'freeze' },
  },
  {
    // Offers `define` to other plugins (manifest `exposes`); the host tells it the true caller.
    manifest: {
      id: 'demo-dictionary', name: 'Dictionary (exposes define)', version: '1.0.0', permissions: [],
      exposes: [{ name: 'define' }], network: [`${pluginOrigin}/dictionary/`],
    },
    codeFrom: `${pluginOrigin}/dictionary/worker.js`,
    mount: { mode: 'worker' },
  },
  {
    // Calls the Dictionary through the host (manifest `consumes`) when "Look up" is pressed.
    manifest: {
      id: 'demo-reader', name: 'Reader (calls the Dictionary)', version: '1.0.0', permissions: ['events', 'ui:notify'],
      consumes: [{ plugin: 'demo-dictionary', name: 'define' }], network: [`${pluginOrigin}/reader/`],
    },
    codeFrom: `${pluginOrigin}/reader/worker.js`,
    mount: { mode: 'worker' },
    action: { label: 'Look up "warden" in the Dictionary', event: 'lookup', data: { word: 'warden' }, repeat: true },
  },
  {
    manifest: { id: 'demo-panel', name: 'Panel (shadow, sanitized HTML)', version: '1.0.0', permissions: [] },
    mount: {
      mode: 'shadow',
      html: '<h4>Release notes</h4><p>Plugin HTML is <b>sanitized</b> and enters a closed shadow root through the Trusted Types policy.</p>'
        + '<img src="/favicon.svg" width="16" height="16" onerror="alert(1)" onload="alert(1)" alt="shield"><script>alert(2)<' + '/script>'
        + '<a href="javascript:alert(3)">a javascript: link (neutralized)</a>',
    },
  },
  {
    // Tries to exfiltrate, escalate, read other plugins' storage, flood and inject script
    // (www/plugins/demo-hostile/). Its manifest is modest on purpose: everything it tries beyond
    // it is refused.
    manifest: {
      id: 'demo-hostile', name: 'Hostile plugin (attacks the host)', version: '1.0.0',
      permissions: ['storage', 'api:read', 'events', 'ui:notify', 'permissions'], network: [`${apiOrigin}/api/`],
      entry: { src: `${pluginOrigin}/demo-hostile/` },
    },
    mount: { src: `${pluginOrigin}/demo-hostile/?api=${encodeURIComponent(apiOrigin)}` },
  },
];
}
