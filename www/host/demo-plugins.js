// The demo's plugins, shared by the host page (www/host/app.js) and the demo server
// (scripts/serve.mjs), which builds the page's CSP from these manifests with the SDK's hostCsp:
// frame-src from each `entry.src` origin, connect-src from each `network` origin.
export function demoPlugins({ pluginOrigin, apiOrigin }) {
  return [
  {
    manifest: {
      id: 'demo-hello', name: 'Hello plugin', version: '1.0.0', permissions: ['storage', 'events'],
      entry: { src: `${pluginOrigin}/hello/` },
    },
    mount: { src: `${pluginOrigin}/hello/` },
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
    manifest: { id: 'demo-panel', name: 'Panel (shadow, sanitized HTML)', version: '1.0.0', permissions: [] },
    mount: {
      mode: 'shadow',
      html: '<h4>Release notes</h4><p>Plugin HTML is <b>sanitized</b> and enters a closed shadow root through the Trusted Types policy.</p>'
        + '<img src="/favicon.svg" width="16" height="16" onerror="alert(1)" onload="alert(1)" alt="shield"><script>alert(2)<' + '/script>'
        + '<a href="javascript:alert(3)">a javascript: link (neutralized)</a>',
    },
  },
  {
    // Reads the local test API through sdk.api.fetch: only URLs under `network` are reachable,
    // only GET/HEAD with api:read (its POST is refused), no cookies, no redirects followed.
    manifest: {
      id: 'demo-quotes', name: 'Quotes (api.fetch to the local API)', version: '1.0.0',
      permissions: ['api:read', 'storage'], network: [`${apiOrigin}/api/`],
      entry: { src: `${pluginOrigin}/quotes/` },
    },
    mount: { src: `${pluginOrigin}/quotes/?api=${encodeURIComponent(apiOrigin)}` },
  },
];
}
