// Host option allowPlugins in Chromium, through the public API: only ids matching an exact id or
// a `prefix*` pattern install; any other id is refused with PERMISSION_DENIED before anything
// else is checked (a manifest that is invalid in every other way, a bundle that would be
// rejected); with a list, an unreadable id is INVALID_MANIFEST; bad patterns throw
// INVALID_ARGUMENT from the constructor. Harness page www/host/rbac.html.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv } from './helpers.mjs';

let env, page;
before(async () => {
  env = await startEnv(19350);
  page = await env.browser.newPage();
  await page.goto(`${env.servers.hostUrl}rbac.html`);
  await page.waitForFunction(() => document.body.dataset.ready || document.body.dataset.error, null, { timeout: 30_000 });
});
after(async () => {
  await env?.close();
});

test('allowPlugins: allowed ids install; others are PERMISSION_DENIED before validation, signature or bundle checks', async () => {
  const r = await page.evaluate(async () => {
    const H = window.rbacHarness;
    const host = new H.PluginHost({ storage: 'memory', allowPlugins: ['acme-*', 'grafana-clock-panel'] });
    const m = (id, extra = {}) => ({ id, name: 'P', version: '1.0.0', permissions: ['storage'], ...extra });
    const out = {};
    out.acme = await H.attempt(() => host.install(m('acme-patents-app')));
    out.exact = await H.attempt(() => host.install(m('grafana-clock-panel')));
    out.near = await H.attempt(() => host.install(m('grafana-clock-panel2')));
    out.bare = await H.attempt(() => host.install(m('acme')));
    // Invalid in every other respect, with code that bundle analysis would reject and a
    // signature that could never verify: the allow-list answers first.
    out.evil = await H.attempt(() => host.install(
      { id: 'evil-app', name: 7, permissions: ['root'], network: ['http://x'] },
      { code: 'eval(atob("YWxlcnQoMSk="))', signature: 'AAAA', publicKey: 'nope' },
    ));
    out.evilStatus = H.attemptSync(() => host.status('evil-app'));
    out.unreadable = await H.attempt(() => host.install('{"name":"no id"}'));
    out.badId = await H.attempt(() => host.install(m('Acme-App')));
    out.plugins = [...host.plugins()].sort();
    out.audit = host.auditLog().filter((e) => e.plugin === 'evil-app').map((e) => ({ kind: e.kind, decision: e.decision, code: e.code }));
    return out;
  });
  assert.equal(r.acme.ok, true, JSON.stringify(r.acme));
  assert.equal(r.exact.ok, true, JSON.stringify(r.exact));
  for (const k of ['near', 'bare', 'evil']) {
    assert.equal(r[k].ok, false, k);
    assert.equal(r[k].error.code, 'PERMISSION_DENIED', `${k}: ${JSON.stringify(r[k].error)}`);
    assert.match(r[k].error.message, /allowPlugins/);
  }
  assert.deepEqual(r.evilStatus.value?.state, 'failed');
  assert.equal(r.evilStatus.value?.code, 'PERMISSION_DENIED');
  assert.equal(r.unreadable.error.code, 'INVALID_MANIFEST');
  assert.equal(r.badId.error.code, 'INVALID_MANIFEST');
  assert.deepEqual(r.plugins, ['acme-patents-app', 'grafana-clock-panel']);
  assert.deepEqual(r.audit, [{ kind: 'install', decision: 'deny', code: 'PERMISSION_DENIED' }]);
});

test('allowPlugins: bad patterns throw INVALID_ARGUMENT at construction; [] installs nothing', async () => {
  const r = await page.evaluate(async () => {
    const H = window.rbacHarness;
    const make = (allowPlugins) => H.attemptSync(() => new H.PluginHost({ storage: 'memory', allowPlugins }));
    const locked = new H.PluginHost({ storage: 'memory', allowPlugins: [] });
    return {
      star: make(['*']),
      mid: make(['ac*me']),
      upper: make(['ACME-*']),
      notList: make('acme-*'),
      locked: await H.attempt(() => locked.install({ id: 'acme-app', name: 'A' })),
    };
  });
  for (const k of ['star', 'mid', 'upper', 'notList']) {
    assert.equal(r[k].ok, false, k);
    assert.equal(r[k].error.code, 'INVALID_ARGUMENT', `${k}: ${JSON.stringify(r[k].error)}`);
  }
  assert.match(r.star.error.message, /allowPlugins\[0\].*bare/);
  assert.equal(r.locked.error.code, 'PERMISSION_DENIED');
});
