// Test page for the default permission dialog (a host with no onPermissionRequest), driven by
// tests/e2e/dialog.test.mjs through a first-party shadow mount's SDK.
import { PluginHost, outcome, start } from './harness.js';

start('dialogHarness', async () => {
  const host = new PluginHost({ storage: 'memory' });
  await host.install({ id: 'asker', name: 'Asker', permissions: [], optionalPermissions: ['ui:notify', 'events', 'storage'] });
  let sdk;
  await host.mount('asker', document.getElementById('slot'), { mode: 'shadow', render: (_root, s) => { sdk = s; } });
  return {
    host,
    request: (permission, reason) => outcome(sdk.permissions.request(permission, reason)).then((r) => (r.ok ? r : { ok: false, code: r.code })),
    list: () => sdk.permissions.list(),
  };
});
