// Test page for the default permission dialog (a host with no onPermissionRequest), driven by
// tests/e2e/dialog.test.mjs through a first-party shadow mount's SDK.
import init, { PluginHost } from '/pkg/index.js';

await init();
const host = new PluginHost({ storage: 'memory' });
await host.install({ id: 'asker', name: 'Asker', permissions: [], optionalPermissions: ['ui:notify', 'events', 'storage'] });
let sdk;
await host.mount('asker', document.getElementById('slot'), { mode: 'shadow', render: (_root, s) => { sdk = s; } });
window.dialogHarness = {
  host,
  request: (permission, reason) => sdk.permissions.request(permission, reason).then((v) => ({ ok: true, value: v }), (e) => ({ ok: false, code: e.code })),
  list: () => sdk.permissions.list(),
};
document.body.dataset.ready = 'true';
