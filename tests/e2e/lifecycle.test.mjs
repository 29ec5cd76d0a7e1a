// Plugin lifecycle in Chromium through the public API: permission changes the plugin sees
// (sdk.permissions.onChange after grant, revoke and a user switch), updates (accepted with the
// storage kept and the previous version handed over, refused with the old version still
// running, the default consent dialog, version and id refusals), and liveness (a worker in an
// endless loop and a frame that stops answering are failed with TIMEOUT within the configured
// window while another plugin keeps working).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost, until, hostCall } from './helpers.mjs';

let env, host, page;

before(async () => {
  env = await startEnv(19460);
  host = await openHost(env, 'scenario=none');
  page = host.page;
});

after(async () => {
  await host?.close();
  await env?.close();
});

// A worker plugin that reports what it sees as events (the host's onEvent records them).
const REPORTER = `
const sdk = await pluginWarden.connect();
sdk.permissions.onChange(async (granted, { actions }) => {
  await sdk.events.emit('changed', { granted, actions, list: await sdk.permissions.list(), version: sdk.version });
});
const stored = await sdk.storage.get('data');
await sdk.storage.set('data', 'written by ' + sdk.version);
await sdk.events.emit('ready', { grants: sdk.grants, version: sdk.version, previousVersion: sdk.previousVersion, stored });
`;

const manifest = (id, version, extra = {}) => ({
  id, name: 'Lifecycle', version,
  permissions: ['storage', 'events'], optionalPermissions: ['ui:notify'],
  roles: [{ role: { name: 'Reader', permissions: [{ action: `${id}.docs:read` }] }, grants: ['Editor'] }],
  ...extra,
});

/** A fresh host; `consent` (true/false) installs an onUpdateConsent that records and answers. */
async function fresh(options = {}, consent) {
  await page.evaluate(([o, c]) => {
    window.consentRequests = [];
    const opts = { storage: 'memory', ...o };
    if (c !== undefined) opts.onUpdateConsent = (req) => { window.consentRequests.push(req); return c; };
    window.e2e.state.events.length = 0;
    window.e2e.state.audits.length = 0;
    return window.e2e.create(opts);
  }, [options, consent]);
}

async function installAndMount(m, code, mountOptions = {}) {
  const r = await page.evaluate(([m, c]) => window.e2e.install(m, { code: c }), [m, code]);
  assert.equal(r.ok, true, JSON.stringify(r));
  const mounted = await page.evaluate(([id, o]) => { window.e2e.mountWorker(id, o); return window.e2e.settled(id); }, [m.id, mountOptions]);
  assert.equal(mounted.ok, true, JSON.stringify(mounted));
}

const events = (id, name) => page.evaluate(
  ([p, n]) => window.e2e.state.events.filter((e) => e.pluginId === p && e.name === n).map((e) => e.data), [id, name]);

async function nth(id, name, n) {
  const got = await until(async () => { const l = await events(id, name); return l.length >= n && l; }, 10_000);
  assert.ok(got, `expected ${n} ${name} events from ${id}, got ${JSON.stringify(await events(id, name))}`);
  return got[n - 1];
}

const update = (id, m, options) => page.evaluate(async ([id, m, o]) => {
  try { return { ok: true, value: await window.e2e.host.update(id, m, o) }; } catch (e) { return { ok: false, error: { code: e.code, message: e.message } }; }
}, [id, m, options]);

// ----- permission changes ------------------------------------------------------------------------

test('onChange fires after grant, revoke and a user switch, and permissions.list agrees', async () => {
  await fresh();
  await installAndMount(manifest('life', '1.0.0'), REPORTER);
  const ready = await nth('life', 'ready', 1);
  assert.deepEqual(ready.grants, ['events', 'permissions', 'storage']);
  assert.equal(ready.version, '1.0.0');
  assert.equal(ready.previousVersion, null);

  assert.equal((await hostCall(page, 'grant', 'life', 'ui:notify')).ok, true);
  let c = await nth('life', 'changed', 1);
  assert.deepEqual(c.granted, ['events', 'permissions', 'storage', 'ui:notify']);
  assert.deepEqual(c.list, c.granted);

  // Granting again changes nothing: no event (checked after the next real change).
  await hostCall(page, 'grant', 'life', 'ui:notify');
  await hostCall(page, 'revoke', 'life', 'ui:notify');
  c = await nth('life', 'changed', 2);
  assert.deepEqual(c.granted, ['events', 'permissions', 'storage']);
  assert.deepEqual(c.list, c.granted);

  await hostCall(page, 'setUser', { role: 'Editor' });
  c = await nth('life', 'changed', 3);
  assert.deepEqual(c.actions, ['life.docs:read']);
  await hostCall(page, 'setUser', { role: 'Viewer' });
  c = await nth('life', 'changed', 4);
  assert.deepEqual(c.actions, []);
  assert.equal((await events('life', 'changed')).length, 4, 'one event per real change');
});

// ----- updates -----------------------------------------------------------------------------------

test('an accepted update keeps storage, remounts in the same element and hands over the previous version', async () => {
  await fresh({}, true);
  await installAndMount(manifest('life', '1.0.0'), REPORTER);
  await nth('life', 'ready', 1);
  const next = manifest('life', '1.1.0', { optionalPermissions: ['ui:notify', 'api:write'] });
  const r = await update('life', next, { code: REPORTER });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.from, '1.0.0');
  assert.equal(r.value.to, '1.1.0');
  assert.equal(r.value.remounted, true);
  assert.deepEqual(r.value.added.map((c) => [c.kind, c.value]), [['optionalPermission', 'api:write']]);
  const asked = await page.evaluate(() => window.consentRequests);
  assert.equal(asked.length, 1);
  assert.equal(asked[0].pluginId, 'life');
  assert.equal(asked[0].added[0].words, 'ask you for the capability \u201capi:write\u201d');
  const ready = await nth('life', 'ready', 2);
  assert.equal(ready.version, '1.1.0');
  assert.equal(ready.previousVersion, '1.0.0');
  assert.equal(ready.stored, 'written by 1.0.0', 'storage survived the update');
  assert.equal(await page.evaluate(() => window.e2e.iframes('life')), 1, 'one frame, in the same slot');
  assert.equal((await hostCall(page, 'status', 'life')).value.state, 'mounted');
  const audit = await page.evaluate(() => window.e2e.state.audits.filter((a) => a.kind === 'update'));
  assert.deepEqual(audit.map((a) => a.decision), ['allow']);
});

test('a refused update leaves the old version running, unchanged; narrowing needs no consent', async () => {
  await fresh({}, false);
  await installAndMount(manifest('life', '1.0.0'), REPORTER);
  await nth('life', 'ready', 1);
  const wider = manifest('life', '2.0.0', { permissions: ['storage', 'events', 'api:read'], network: ['https://api.example/'] });
  const r = await update('life', wider, { code: REPORTER });
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'PERMISSION_DENIED');
  assert.equal((await hostCall(page, 'status', 'life')).value.state, 'mounted');
  // The old instance still answers (its onChange reports version 1.0.0).
  await hostCall(page, 'grant', 'life', 'ui:notify');
  const c = await nth('life', 'changed', 1);
  assert.equal(c.version, '1.0.0');
  assert.equal((await events('life', 'ready')).length, 1, 'not remounted');
  // Narrowing: dropping the role asks nobody.
  const narrower = manifest('life', '1.0.1', { roles: [] });
  const n = await update('life', narrower, { code: REPORTER });
  assert.equal(n.ok, true, JSON.stringify(n));
  assert.equal(n.value.consentNeeded, false);
  assert.equal((await page.evaluate(() => window.consentRequests)).length, 1, 'only the widening update asked');
  const ready = await nth('life', 'ready', 2);
  assert.equal(ready.stored, 'written by 1.0.0');
  const audit = await page.evaluate(() => window.e2e.state.audits.filter((a) => a.kind === 'update'));
  assert.deepEqual(audit.map((a) => [a.decision, a.code ?? null]), [['deny', 'PERMISSION_DENIED'], ['allow', null]]);
});

test('same or lower version is INCOMPATIBLE, an unknown id NOT_FOUND, a bad manifest INVALID_MANIFEST', async () => {
  await fresh({}, true);
  const r0 = await page.evaluate(([m, c]) => window.e2e.install(m, { code: c }), [manifest('life', '1.2.0'), REPORTER]);
  assert.equal(r0.ok, true);
  for (const v of ['1.2.0', '1.1.0']) {
    const r = await update('life', manifest('life', v), { code: REPORTER });
    assert.equal(r.error?.code, 'INCOMPATIBLE', v);
  }
  assert.equal((await update('ghost', manifest('ghost', '9.0.0'), {})).error?.code, 'NOT_FOUND');
  assert.equal((await update('life', { ...manifest('life', '2.0.0'), permissions: ['root'] }, {})).error?.code, 'INVALID_MANIFEST');
  assert.equal((await update('life', manifest('life', '2.0.0'), { code: 'eval("1")' })).error?.code, 'BUNDLE_REJECTED');
  assert.equal((await page.evaluate(() => window.consentRequests)).length, 0);
});

test('without onUpdateConsent, an accessible dialog lists each addition in words', async () => {
  await fresh();
  await installAndMount(manifest('life', '1.0.0'), REPORTER);
  await nth('life', 'ready', 1);
  const wider = manifest('life', '1.1.0', { network: ['https://api.acme.example/v1/'], permissions: ['storage', 'events', 'api:read'] });
  const pending = update('life', wider, { code: REPORTER });
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ timeout: 10_000 });
  const heading = dialog.getByRole('heading');
  assert.equal(await heading.textContent(), 'Update life from 1.0.0 to 1.1.0?');
  assert.equal(await dialog.getAttribute('aria-labelledby'), await heading.getAttribute('id'));
  const items = await dialog.getByRole('listitem').allTextContents();
  assert.deepEqual(items, ['use the capability \u201capi:read\u201d', 'send requests to https://api.acme.example/v1/']);
  await dialog.getByRole('button', { name: 'Deny' }).click();
  assert.equal((await pending).error?.code, 'PERMISSION_DENIED');
  // Again, accepted this time.
  const second = update('life', wider, { code: REPORTER });
  await page.getByRole('dialog').waitFor({ timeout: 10_000 });
  await page.getByRole('dialog').getByRole('button', { name: 'Update' }).click();
  const r = await second;
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal((await nth('life', 'ready', 2)).previousVersion, '1.0.0');
  assert.equal(await page.getByRole('dialog').count(), 0);
});

// ----- liveness ----------------------------------------------------------------------------------

const SPIN = `
const sdk = await pluginWarden.connect();
await sdk.events.emit('ready', {});
sdk.events.on('spin', () => { for (;;) {} });
await sdk.events.on('spin', () => {}).ready;
await sdk.events.emit('armed', {});
`;

const CLOSE = `
const sdk = await pluginWarden.connect();
await sdk.events.emit('ready', {});
setTimeout(() => sdk.close(), 100);
`;

async function failedWithin(id, ms) {
  const start = Date.now();
  const status = await until(async () => {
    const s = (await hostCall(page, 'status', id)).value;
    return s.state === 'failed' && s;
  }, ms + 3_000, 50);
  return { status, elapsed: Date.now() - start };
}

test('a worker in an endless loop is failed with TIMEOUT within the window and torn down; the other plugin keeps working', async () => {
  await fresh({ limits: { heartbeatMs: 200, unresponsiveAfterMs: 1000 } });
  await installAndMount(manifest('steady', '1.0.0'), REPORTER);
  await installAndMount(manifest('spinner', '1.0.0', { permissions: ['events'] }), SPIN);
  await nth('spinner', 'armed', 1);
  // Healthy plugins stay mounted across many heartbeats.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await hostCall(page, 'status', 'spinner')).value.state, 'mounted');
  assert.equal((await hostCall(page, 'emit', 'spin', {})).value, 1);
  const { status, elapsed } = await failedWithin('spinner', 1000);
  assert.ok(status, 'the spinning worker was failed');
  assert.equal(status.code, 'TIMEOUT');
  assert.match(status.message, /did not answer/);
  assert.ok(elapsed <= 1000 + 1000, `failed after ${elapsed} ms`);
  assert.equal(await page.evaluate(() => window.e2e.iframes('spinner')), 0, 'its runner frame (and so its worker) is gone');
  const info = (await hostCall(page, 'inspect', 'spinner')).value;
  assert.equal(info.status.state, 'failed');
  // The other plugin still works.
  assert.equal((await hostCall(page, 'status', 'steady')).value.state, 'mounted');
  await hostCall(page, 'grant', 'steady', 'ui:notify');
  assert.ok((await nth('steady', 'changed', 1)).granted.includes('ui:notify'));
  const audit = await page.evaluate(() => window.e2e.state.audits.filter((a) => a.kind === 'failure' && a.plugin === 'spinner'));
  assert.equal(audit[0]?.code, 'TIMEOUT');
});

test('a frame that stops answering (closed its port) is failed with TIMEOUT', async () => {
  await fresh({ limits: { heartbeatMs: 200, unresponsiveAfterMs: 1000 } });
  await installAndMount(manifest('steady', '1.0.0'), REPORTER);
  await installAndMount(manifest('quitter', '1.0.0', { permissions: ['events'] }), CLOSE, { mode: 'iframe' });
  await nth('quitter', 'ready', 1);
  const { status, elapsed } = await failedWithin('quitter', 1100);
  assert.equal(status?.code, 'TIMEOUT');
  assert.ok(elapsed <= 2_500, `failed after ${elapsed} ms`);
  assert.equal(await page.evaluate(() => window.e2e.iframes('quitter')), 0);
  assert.equal((await hostCall(page, 'status', 'steady')).value.state, 'mounted');
});

test('pings do not count against the rate limit', async () => {
  // One call per 10 s sustained, burst 2: 20 heartbeats later the plugin still has its budget.
  await fresh({ limits: { heartbeatMs: 50, unresponsiveAfterMs: 400, callsPerSecond: 0.1, burst: 3 } });
  await installAndMount(manifest('frugal', '1.0.0', { permissions: ['events'] }), `
    const sdk = await pluginWarden.connect();
    sdk.events.on('go', () => sdk.events.emit('went', {}));
  `);
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal((await hostCall(page, 'status', 'frugal')).value.state, 'mounted');
  assert.equal((await hostCall(page, 'emit', 'go', {})).value, 1);
  await nth('frugal', 'went', 1);
  const refused = await page.evaluate(() => window.e2e.state.audits.filter((a) => a.plugin === 'frugal' && a.code === 'RATE_LIMITED'));
  assert.equal(refused.length, 0);
});

// Chromium 156 puts each plugin frame in a process apart from the host page's, but groups
// sandboxed frames by site: every runner frame of a host (bundle iframes, and the windows of
// worker mounts) is on the package's origin, so they share one renderer process and its main
// thread, while a `src` page of another site has its own. A documented residual
// (docs/security.md, "Plugins that share a process"), pinned here from the hostile plugin's side
// (if a browser comes to isolate each frame, these tests say so and the text must change).
const SPIN_BUNDLE = `
const sdk = await pluginWarden.connect();
sdk.events.on('spin', () => { for (;;) {} });
await sdk.events.on('spin', () => {}).ready;
await sdk.events.emit('armed', {});
`;
const QUIET_BUNDLE = "const sdk = await pluginWarden.connect();\nawait sdk.events.emit('ready', {});";

/** Install each [manifest, code | null, mount options] on page `p`'s host, mount it, wait for it. */
async function mountAll(p, plans) {
  for (const [m, code, mount] of plans) {
    const r = await p.evaluate(([m, c, o]) => window.e2e.install(m, c === null ? undefined : { code: c }).then((res) => {
      if (!res.ok) return res;
      const here = (u) => u && u.replace('PLUGINS', window.e2e.pluginOrigin);
      window.e2e.mountWith(m.id, { ...o, src: here(o.src), runner: here(o.runner) });
      return window.e2e.settled(m.id);
    }), [m, code, mount]);
    assert.equal(r.ok, true, `${m.id}: ${JSON.stringify(r)}`);
  }
}
const bystanderPlans = () => [
  [manifest('steady', '1.0.0'), REPORTER, { mode: 'worker' }],
  [manifest('bystander', '1.0.0', { permissions: ['events'] }), QUIET_BUNDLE, { mode: 'iframe' }],
  [{ id: 'notes-src', name: 'Notes', version: '1.0.0', permissions: ['storage', 'events'] }, null, { mode: 'iframe', src: 'PLUGINS/notes/' }],
  // A bundle whose runner page is served from another site (the mount's `runner`): the way a
  // host keeps bundles apart.
  [manifest('apart', '1.0.0', { permissions: ['events'] }), QUIET_BUNDLE, { mode: 'iframe', runner: 'PLUGINS/runner/worker-runner.html' }],
];

test('a bundle plugin that blocks its main thread fails the other bundle plugins (its process, its main thread); a worker plugin, a src plugin of another site and a bundle whose runner is on another site go on', async () => {
  await fresh({ limits: { heartbeatMs: 200, unresponsiveAfterMs: 1000 } });
  await mountAll(page, [...bystanderPlans(), [manifest('spinner', '1.0.0', { permissions: ['events'] }), SPIN_BUNDLE, { mode: 'iframe' }]]);
  assert.ok(await until(() => page.evaluate(() => window.e2e.state.events.some((e) => e.pluginId === 'spinner' && e.name === 'armed')), 5000));
  assert.equal((await hostCall(page, 'emit', 'spin', {})).value, 1);
  const { status } = await failedWithin('spinner', 1000);
  assert.equal(status?.code, 'TIMEOUT', JSON.stringify(status));
  await new Promise((r) => setTimeout(r, 1500));
  const states = await page.evaluate(() => Object.fromEntries(['bystander', 'steady', 'notes-src', 'apart'].map((id) => [id, window.e2e.host.status(id).code ?? window.e2e.host.status(id).state])));
  // The other bundle's window shares the spinner's main thread: frozen, so failed. A worker's
  // own code runs on a thread of its own, and its port is there: it answers. So does the bundle
  // whose runner is on another site.
  assert.deepEqual(states, { bystander: 'TIMEOUT', steady: 'mounted', 'notes-src': 'mounted', apart: 'mounted' });
});

test('a plugin whose frame\'s renderer crashes is failed with TIMEOUT; so are the plugins that share its process; the host page, a src plugin of another site and a bundle whose runner is on another site go on', async () => {
  // Its own page: Playwright calls a page crashed once any of its frames' processes is, so the
  // host page is read through a CDP session of its own from then on.
  const own = await openHost(env, 'scenario=none');
  try {
    const p = own.page;
    await p.evaluate(() => window.e2e.create({ storage: 'memory', limits: { heartbeatMs: 200, unresponsiveAfterMs: 1000 } }));
    await mountAll(p, [...bystanderPlans(), [manifest('crasher', '1.0.0', { permissions: ['events'] }), QUIET_BUNDLE, { mode: 'iframe' }]]);
    // The crasher's frame: the runner frame whose plugin code said it is 'crasher'.
    let target = null;
    for (const f of p.frames()) {
      if (f.url().includes('worker-runner') && await f.evaluate(() => self.pluginWarden?.connect().then((sdk) => sdk.pluginId)).catch(() => null) === 'crasher') target = f;
    }
    assert.ok(target, "the crasher's frame was not found");
    const cdp = await p.context().newCDPSession(p);
    const read = async (expression) => (await cdp.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })).result.value;
    const frameCdp = await p.context().newCDPSession(target);
    frameCdp.send('Page.crash').catch(() => {}); // answered by nobody: the process is gone
    const failed = await until(() => read("(() => { const s = window.e2e.host.status('crasher'); return s.state === 'failed' && s; })()"), 4000, 50);
    assert.ok(failed, `the crashed plugin was not failed: ${JSON.stringify(await read("window.e2e.host.status('crasher')"))}`);
    assert.equal(failed.code, 'TIMEOUT');
    assert.equal(await read("window.e2e.iframes('crasher')"), 0, 'its frame was not removed');
    await new Promise((r) => setTimeout(r, 1500));
    // The process held every runner frame: the other bundle and the worker's runner (its worker
    // with it) are gone too. The page of another site, and the host page, go on.
    const states = await read("Object.fromEntries(['bystander', 'steady', 'notes-src', 'apart'].map((id) => [id, window.e2e.host.status(id).code ?? window.e2e.host.status(id).state]))");
    assert.deepEqual(states, { bystander: 'TIMEOUT', steady: 'TIMEOUT', 'notes-src': 'mounted', apart: 'mounted' });
  } finally {
    await own.close().catch(() => {});
  }
});
