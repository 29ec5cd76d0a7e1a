// The bridge as a plugin author and a host developer rely on it: storage that survives a
// reload, revocation that applies to the very next call, unmount, the handshake timeout, and
// runtime permission requests with the user's answer remembered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost, gotoHost, pluginFrame, hostCall, auditMatching } from './helpers.mjs';

let env;
before(async () => { env = await startEnv(18720); });
after(async () => { await env?.close(); });

const run = (frame, method, ...args) => frame.evaluate(([m, a]) => window.notes.run(m, ...a), [method, args]);
const state = (page) => page.evaluate(() => window.e2e.state);

/** A fresh context (its own localStorage) with the `bridge` scenario: notes on storage:'local'. */
async function bridge(t) {
  const h = await openHost(env, 'scenario=bridge');
  t.after(() => h.close());
  const notes = await pluginFrame(h.page, 'notes', { state: 'connected' });
  return { ...h, notes };
}

test('storage: \'local\' keeps a plugin\'s data across a page reload', async (t) => {
  const h = await bridge(t);
  const value = { text: 'kept across reloads', n: Date.now() };
  assert.deepEqual(await run(h.notes, 'storage.set', 'persist', value), { ok: true, value: null });
  // It is in the host origin's localStorage, under the plugin's namespace.
  const keys = await h.page.evaluate(() => Object.keys(localStorage));
  assert.ok(keys.some((k) => k.startsWith('pw1:') && k.includes(':notes:') && k.endsWith('persist')), JSON.stringify(keys));

  await h.page.reload();
  await gotoHost(h.page, env, 'scenario=bridge');
  const notes = await pluginFrame(h.page, 'notes', { state: 'connected' });
  assert.deepEqual(await run(notes, 'storage.get', 'persist'), { ok: true, value });
  assert.deepEqual((await run(notes, 'storage.keys')).value.sort(), ['note', 'persist']);

  // storage: 'memory' on the same origin does not see it.
  await gotoHost(h.page, env, 'scenario=none&storage=memory');
  await h.page.evaluate((m) => window.e2e.install(m), await h.page.evaluate(() => window.e2e.manifests.notes));
  assert.equal((await h.page.evaluate(() => window.e2e.mountAndWait('notes', '/notes/'))).ok, true);
  const fresh = await pluginFrame(h.page, 'notes', { state: 'connected' });
  assert.deepEqual(await run(fresh, 'storage.get', 'persist'), { ok: true, value: undefined });
});

test('revoke(\'storage\'): the very next call is PERMISSION_DENIED naming storage; grant restores it', async (t) => {
  const h = await bridge(t);
  assert.deepEqual(await run(h.notes, 'storage.set', 'k', 1), { ok: true, value: null });

  assert.deepEqual(await hostCall(h.page, 'revoke', 'notes', 'storage'), { ok: true, value: undefined });
  const denied = await run(h.notes, 'storage.get', 'k');
  assert.equal(denied.ok, false, JSON.stringify(denied));
  assert.equal(denied.error.code, 'PERMISSION_DENIED');
  assert.equal(denied.error.permission, 'storage');
  assert.equal(denied.error.name, 'PluginWardenError');
  assert.equal((await run(h.notes, 'storage.set', 'k', 2)).error?.code, 'PERMISSION_DENIED');
  const listed = (await run(h.notes, 'permissions.list')).value;
  assert.ok(listed.includes('events') && !listed.includes('storage'), JSON.stringify(listed));
  const info = await hostCall(h.page, 'inspect', 'notes');
  assert.ok(!info.value.granted.includes('storage'), JSON.stringify(info.value.granted));
  assert.equal(info.value.counts.PERMISSION_DENIED, 2);

  assert.deepEqual(await hostCall(h.page, 'grant', 'notes', 'storage'), { ok: true, value: undefined });
  assert.deepEqual(await run(h.notes, 'storage.get', 'k'), { ok: true, value: 1 }, 'the denied set wrote something');
  assert.deepEqual(await run(h.notes, 'storage.set', 'k', 3), { ok: true, value: null });
  const log = await h.page.evaluate(() => window.e2e.host.auditLog());
  assert.equal(auditMatching(log, { plugin: 'notes', kind: 'revoke' }).length, 1);
  assert.equal(auditMatching(log, { plugin: 'notes', kind: 'grant' }).length, 1);
});

test('unmount removes the iframe; the plugin is installed again and can be remounted', async (t) => {
  const h = await bridge(t);
  assert.equal(await h.page.evaluate(() => window.e2e.iframes('notes')), 1);
  assert.deepEqual(await hostCall(h.page, 'unmount', 'notes'), { ok: true, value: undefined });
  assert.equal(await h.page.evaluate(() => window.e2e.iframes('notes')), 0);
  assert.ok(!h.page.frames().some((f) => f.url().includes('/notes/')), 'the plugin frame is still alive');
  assert.deepEqual(await h.page.evaluate(() => window.e2e.host.status('notes')), { state: 'installed' });
  assert.equal(await h.page.evaluate(() => window.e2e.host.emit('refresh', 1)), 0, 'an unmounted plugin still gets events');
  const log = await h.page.evaluate(() => window.e2e.host.auditLog());
  assert.equal(auditMatching(log, { plugin: 'notes', kind: 'unmount' }).length, 1);

  const again = await h.page.evaluate(() => window.e2e.mountAndWait('notes', '/notes/'));
  assert.equal(again.ok, true, JSON.stringify(again));
  const notes = await pluginFrame(h.page, 'notes', { state: 'connected' });
  assert.equal((await run(notes, 'storage.get', 'note')).value.text, 'remember the milk');
});

test('a plugin that never says hello: mount rejects TIMEOUT, status failed, frame removed', async (t) => {
  const h = await openHost(env, 'scenario=none');
  t.after(() => h.close());
  const installed = await h.page.evaluate(() => window.e2e.install(window.e2e.manifests.silent));
  assert.equal(installed.ok, true, JSON.stringify(installed));
  const r = await h.page.evaluate(() => window.e2e.mountAndWait('silent', '/silent/', { timeout: 1000 }));
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'TIMEOUT', JSON.stringify(r.error));
  const s = await h.page.evaluate(() => window.e2e.host.status('silent'));
  assert.equal(s.state, 'failed');
  assert.equal(s.code, 'TIMEOUT');
  assert.equal(await h.page.evaluate(() => window.e2e.iframes('silent')), 0);
  const log = await h.page.evaluate(() => window.e2e.host.auditLog());
  assert.equal(auditMatching(log, { plugin: 'silent', kind: 'failure', code: 'TIMEOUT' }).length, 1);
});

test('permissions.request: the reason reaches onPermissionRequest; yes grants, no is remembered', async (t) => {
  const h = await bridge(t);
  await h.page.evaluate(() => { window.e2e.state.permissionAnswers = { 'ui:notify': true, 'api:read': false }; });

  // Optional and not granted yet: refused, naming it.
  const before = await run(h.notes, 'ui.notify', 'too early');
  assert.equal(before.error?.code, 'PERMISSION_DENIED', JSON.stringify(before));
  assert.equal(before.error.permission, 'ui:notify');

  const reason = 'to tell you when a note is saved';
  assert.deepEqual(await run(h.notes, 'permissions.request', 'ui:notify', reason), { ok: true, value: true });
  assert.deepEqual((await state(h.page)).permissionRequests, [{ pluginId: 'notes', permission: 'ui:notify', reason }]);
  assert.ok((await run(h.notes, 'permissions.list')).value.includes('ui:notify'));
  assert.deepEqual(await run(h.notes, 'ui.notify', 'Saved', 'success'), { ok: true, value: null });
  assert.deepEqual((await state(h.page)).notifies, [{ pluginId: 'notes', message: 'Saved', level: 'success' }]);

  // The user says no; asking again answers false without asking the user again.
  assert.deepEqual(await run(h.notes, 'permissions.request', 'api:read', 'to load shared notes'), { ok: true, value: false });
  assert.equal((await state(h.page)).permissionRequests.length, 2);
  assert.deepEqual(await run(h.notes, 'permissions.request', 'api:read', 'pretty please'), { ok: true, value: false });
  assert.deepEqual(await run(h.notes, 'permissions.request', 'api:read', 'pretty please'), { ok: true, value: false });
  assert.equal((await state(h.page)).permissionRequests.length, 2, 'the user was asked again after saying no');
  assert.ok(!(await run(h.notes, 'permissions.list')).value.includes('api:read'));

  // Not in optionalPermissions: refused without asking anybody.
  const undeclared = await run(h.notes, 'permissions.request', 'api:write', 'I want it');
  assert.equal(undeclared.error?.code, 'PERMISSION_DENIED', JSON.stringify(undeclared));
  assert.equal((await state(h.page)).permissionRequests.length, 2);
});

test('events: host.emit reaches subscribers only; a plugin\'s events.emit reaches onEvent', async (t) => {
  const h = await bridge(t);
  assert.equal(await h.page.evaluate(() => window.e2e.host.emit('refresh', { n: 1 })), 1);
  assert.equal(await h.page.evaluate(() => window.e2e.host.emit('not-subscribed', { n: 2 })), 0);
  await h.notes.waitForFunction(() => window.notes.received.length === 1);
  assert.deepEqual(await h.notes.evaluate(() => window.notes.received), [{ name: 'refresh', data: { n: 1 } }]);

  assert.deepEqual(await run(h.notes, 'events.emit', 'note-saved', { id: 7 }), { ok: true, value: null });
  assert.deepEqual((await state(h.page)).events, [{ pluginId: 'notes', name: 'note-saved', data: { id: 7 } }]);

  // Without `events`, the subscription is gone too.
  await hostCall(h.page, 'revoke', 'notes', 'events');
  assert.equal(await h.page.evaluate(() => window.e2e.host.emit('refresh', { n: 3 })), 0);
  assert.equal((await run(h.notes, 'events.emit', 'x', 1)).error?.code, 'PERMISSION_DENIED');
});
