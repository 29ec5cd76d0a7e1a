// Plugin-to-plugin calls in Chromium through the public API: a caller worker calls a callee
// worker's exposed function; the host checks the caller's `consumes`, the callee's `exposes` and
// the current user's RBAC action; the callee's handler sees the true caller; undeclared targets
// and names are refused with PERMISSION_DENIED; a callee error reaches the caller as an error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost, until, hostCall } from './helpers.mjs';

let env, host, page;

before(async () => {
  env = await startEnv(19480);
  host = await openHost(env, 'scenario=none');
  page = host.page;
  await page.evaluate(() => window.e2e.create({ storage: 'memory', user: { role: 'Viewer' } }));
});

after(async () => {
  await host?.close();
  await env?.close();
});

const CALLEE = `
const sdk = await pluginWarden.connect();
sdk.plugins.handle('echo', (args, caller) => ({ args, caller }));
sdk.plugins.handle('secret', () => 'the secret');
sdk.plugins.handle('fail', () => { throw new Error('callee says no'); });
await sdk.events.emit('ready', {});
`;

// The caller runs what the test emits to it (`go` events name a target and a function) and
// reports each outcome.
const CALLER = `
const sdk = await pluginWarden.connect();
sdk.events.on('go', async ({ plugin, name, args }) => {
  try {
    const value = await sdk.plugins.call(plugin, name, args);
    await sdk.events.emit('result', { ok: true, value });
  } catch (e) {
    await sdk.events.emit('result', { ok: false, code: e.code, permission: e.permission ?? null, message: e.message });
  }
});
await sdk.events.on('go', () => {}).ready;
await sdk.events.emit('ready', {});
`;

const results = () => page.evaluate(() => window.e2e.state.events.filter((e) => e.pluginId === 'caller-app' && e.name === 'result').map((e) => e.data));

async function go(plugin, name, args) {
  const before = (await results()).length;
  assert.equal((await hostCall(page, 'emit', 'go', { plugin, name, args })).value, 1);
  const got = await until(async () => { const r = await results(); return r.length > before && r[before]; }, 10_000);
  assert.ok(got, `no result for ${plugin}.${name}`);
  return got;
}

async function installWorker(manifest, code) {
  const r = await page.evaluate(([m, c]) => window.e2e.install(m, { code: c }), [manifest, code]);
  assert.equal(r.ok, true, JSON.stringify(r));
  const m = await page.evaluate((id) => { window.e2e.mountWorker(id); return window.e2e.settled(id); }, manifest.id);
  assert.equal(m.ok, true, JSON.stringify(m));
  await until(() => page.evaluate((id) => window.e2e.state.events.some((e) => e.pluginId === id && e.name === 'ready'), manifest.id), 10_000);
}

test('a declared call reaches the callee, which sees the true caller', async () => {
  await installWorker({
    id: 'callee-app', name: 'Callee', version: '2.0.0', permissions: ['events'],
    exposes: [{ name: 'echo' }, { name: 'fail' }, { name: 'secret', action: 'callee-app.secret:read' }],
    roles: [{ role: { name: 'Secret reader', permissions: [{ action: 'callee-app.secret:read' }] }, grants: ['Admin'] }],
  }, CALLEE);
  await installWorker({
    id: 'caller-app', name: 'Caller', version: '1.3.0', permissions: ['events'],
    consumes: [
      { plugin: 'callee-app', name: 'echo' }, { plugin: 'callee-app', name: 'fail' },
      { plugin: 'callee-app', name: 'secret' }, { plugin: 'callee-app', name: 'hidden' },
    ],
  }, CALLER);
  const r = await go('callee-app', 'echo', { text: 'hi', caller: { pluginId: 'forged-app' } });
  assert.deepEqual(r, { ok: true, value: { args: { text: 'hi', caller: { pluginId: 'forged-app' } }, caller: { pluginId: 'caller-app', version: '1.3.0' } } });
  const audit = await page.evaluate(() => window.e2e.state.audits.filter((a) => a.method === 'plugins.call'));
  assert.equal(audit.at(-1).decision, 'allow');
});

test('undeclared targets and names, and a missing RBAC action, are refused with codes', async () => {
  let r = await go('other-app', 'echo', null);
  assert.equal(r.code, 'PERMISSION_DENIED');
  r = await go('callee-app', 'hidden', null);
  assert.equal(r.code, 'PERMISSION_DENIED', 'consumed but not exposed');
  r = await go('callee-app', 'secret', null);
  assert.equal(r.code, 'PERMISSION_DENIED');
  assert.equal(r.permission, 'callee-app.secret:read');
  await hostCall(page, 'setUser', { role: 'Admin' });
  r = await go('callee-app', 'secret', null);
  assert.deepEqual(r, { ok: true, value: 'the secret' });
  r = await go('callee-app', 'fail', null);
  assert.equal(r.ok, false);
  assert.match(r.message, /callee says no/);
  r = await go('Callee', 'echo', null);
  assert.equal(r.code, 'MESSAGE_REJECTED');
});
