// Mount modes beyond iframe+src, through the package's entry module, on a host page served with
// require-trusted-types-for 'script' and a per-response nonce.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openPage } from './helpers.mjs';

let env, page, seen;
before(async () => {
  env = await startEnv(18960);
  ({ page, seen } = await openPage(env, 'modes.html'));
});
after(() => env?.close());

test('shadow + render: first-party code gets the closed root and an SDK scoped to the manifest', async () => {
  const r = await page.evaluate(() => window.modes.shadowRender());
  assert.equal(r.seen.mode, 'closed');
  assert.equal(r.publicRoot, null, 'the shadow root is reachable from the page');
  assert.equal(r.seen.text, 'hello there');
  assert.equal(r.seen.img, null, 'the plugin HTML was not sanitized');
  assert.deepEqual(r.calls.set, { ok: true, value: null });
  assert.deepEqual(r.calls.get, { ok: true, value: { n: 1 } });
  assert.deepEqual(r.calls.list, { ok: true, value: ['storage', 'ui:notify'] });
  assert.equal(r.calls.fetch.ok, false);
  assert.equal(r.calls.fetch.code, 'PERMISSION_DENIED');
  assert.deepEqual(r.status, { state: 'mounted' });
});

test('shadow + render: a throwing render callback fails that plugin with MOUNT_FAILED', async () => {
  const r = await page.evaluate(() => window.modes.throwingRender());
  assert.equal(r.ok, false);
  assert.equal(r.code, 'MOUNT_FAILED');
  assert.match(r.message, /boom/);
  assert.equal(r.status.state, 'failed');
});

test('srcdoc: the document runs under its own CSP with the host nonce and completes the handshake', async () => {
  const r = await page.evaluate(() => window.modes.srcdoc());
  assert.deepEqual(r, { ok: true, value: { pluginId: 'inline', mode: 'iframe' }, status: { state: 'mounted' } });
  // The frame's URL becomes about:srcdoc once its document commits: poll (bounded).
  let frame;
  for (let i = 0; i < 50 && !frame; i++) {
    frame = page.frames().find((f) => f.url() === 'about:srcdoc');
    if (!frame) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(frame, `no srcdoc frame among ${page.frames().map((f) => f.url()).join(', ')}`);
  await frame.locator('#out', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
  assert.equal(await frame.locator('#out').textContent(), 'connected 2');
  assert.equal(await frame.evaluate(() => self.origin), 'null');
});

test('worker: the install-checked code runs in a worker with an opaque origin and uses the bridge', async () => {
  const r = await page.evaluate(() => window.modes.worker());
  assert.deepEqual(r, { ok: true, value: { pluginId: 'compute', mode: 'worker' }, status: { state: 'mounted' } });
  await page.waitForFunction(() => window.modes.notes.length > 0, null, { timeout: 10_000 });
  assert.deepEqual(await page.evaluate(() => window.modes.notes[0]), { pluginId: 'compute', message: 'worker says 42', level: 'info' });
  const runner = await page.locator('iframe[title="plugin compute (worker)"]');
  assert.equal(await runner.getAttribute('sandbox'), 'allow-scripts');
  assert.equal(await runner.evaluate((f) => f.hidden), true);
});

test('worker: a worker that throws fails its plugin with MOUNT_FAILED and is torn down', async () => {
  await page.evaluate(() => window.modes.crashingWorker());
  await page.waitForFunction(() => window.modes.host.status('crasher').state === 'failed', null, { timeout: 10_000 });
  const status = await page.evaluate(() => window.modes.host.status('crasher'));
  assert.equal(status.code, 'MOUNT_FAILED');
  assert.match(status.message, /bad plugin/);
  assert.equal(await page.locator('iframe[title="plugin crasher (worker)"]').count(), 0);
});

test('no CSP or Trusted Types violation on the host page', () => {
  assert.deepEqual(seen.violations, []);
  assert.deepEqual(seen.pageErrors, []);
});
