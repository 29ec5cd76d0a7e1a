// The demo page's lifecycle journeys (issue 16), on the real demo under its CSP:
//   (f) a revoked permission the plugin visibly reacts to (inspector revoke → the Lifecycle
//       plugin's list redraws through sdk.permissions.onChange; grant brings it back);
//   (g) an update that asks for a new permission: the SDK's consent dialog lists the additions;
//       Deny keeps 1.0.0 running, Update remounts 1.1.0 with its storage (run 2, "updated from");
//   (i) two plugins calling each other: the Reader's lookup reaches the Dictionary, which
//       answers with the true caller;
//   (h) an unresponsive plugin: "Freeze it" makes the worker spin; the heartbeat fails it with
//       TIMEOUT, the slot and the inspector show it failed, and the other plugins keep working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, screenshotPath } from './helpers.mjs';
import { openDemo, pluginFrame, inspectorAct, waitCard, watchViolations } from '../../scripts/demo-journeys.mjs';

let env, context, page, seen;
before(async () => {
  env = await startEnv(18760);
  context = await env.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  seen = watchViolations(page, env.servers.pluginOrigin);
  await openDemo(page, env.servers.hostUrl);
  assert.equal(await page.evaluate(() => document.body.dataset.ready), 'true');
});
after(async () => {
  assert.deepEqual(seen?.host ?? [], [], 'CSP / Trusted Types violations on the host page');
  await context?.close().catch(() => {});
  await env?.close();
});

const grantsShown = async (frame) => frame.evaluate(() => document.body.dataset.grants);

test('(f) a revoked permission: the plugin redraws what it may do, and again after a grant', async () => {
  let frame = await pluginFrame(page, 'demo-lifecycle', 'connected');
  assert.equal(await grantsShown(frame), 'events permissions storage');
  await inspectorAct(page, 'demo-lifecycle', 'revoke', 'storage');
  await frame.waitForFunction(() => document.body.dataset.grants === 'events permissions');
  assert.match(await frame.textContent('#changes'), /changed my permissions \(1×\)/);
  await inspectorAct(page, 'demo-lifecycle', 'grant', 'storage');
  await frame.waitForFunction(() => document.body.dataset.grants === 'events permissions storage');
  frame = await pluginFrame(page, 'demo-lifecycle', 'connected');
  await page.screenshot({ path: screenshotPath('demo-lifecycle-revoke.png') });
});

test('(g) an update asking for a new permission: consent shown; Deny keeps 1.0.0, Update moves to 1.1.0 with the data', async () => {
  const button = page.locator('#slot-demo-lifecycle button.update');
  await button.click();
  let dialog = page.getByRole('dialog');
  await dialog.waitFor({ timeout: 10_000 });
  assert.equal(await dialog.getByRole('heading').textContent(), 'Update demo-lifecycle from 1.0.0 to 1.1.0?');
  const items = await dialog.getByRole('listitem').allTextContents();
  assert.deepEqual(items, ['use the capability \u201capi:read\u201d', `send requests to ${env.servers.apiOrigin}/api/`]);
  await page.screenshot({ path: screenshotPath('demo-lifecycle-consent.png') });
  await dialog.getByRole('button', { name: 'Deny' }).click();
  await page.waitForFunction(() => window.demo.events.some((e) => /demo-lifecycle: update refused: PERMISSION_DENIED/.test(e.text)));
  let frame = await pluginFrame(page, 'demo-lifecycle', 'connected');
  assert.equal(await frame.evaluate(() => document.body.dataset.version), '1.0.0');

  await button.click();
  dialog = page.getByRole('dialog');
  await dialog.waitFor({ timeout: 10_000 });
  await dialog.getByRole('button', { name: 'Update' }).click();
  await page.waitForFunction(() => window.demo.events.some((e) => /demo-lifecycle updated 1\.0\.0 → 1\.1\.0/.test(e.text)));
  await page.waitForFunction(() => {
    const f = document.querySelector('#slot-demo-lifecycle iframe');
    return f && window.demo.host.status('demo-lifecycle').state === 'mounted';
  });
  frame = await pluginFrame(page, 'demo-lifecycle', 'connected');
  await frame.waitForFunction(() => document.body.dataset.version === '1.1.0');
  assert.match(await frame.textContent('#version'), /updated from 1\.0\.0/);
  assert.match(await frame.textContent('#out'), /run 2/);
  assert.equal(await grantsShown(frame), 'api:read events permissions storage');
  assert.equal(await page.locator('#slot-demo-lifecycle iframe').count(), 1);
});

test('(i) two plugins calling each other: the callee answers and names the true caller', async () => {
  await page.waitForFunction(() => ['demo-dictionary', 'demo-reader'].every((id) => window.demo.host.status(id).state === 'mounted'));
  await page.click('#slot-demo-reader button.action');
  await page.waitForFunction(() => window.demo.events.some((e) => /demo-reader says: "warden": .* \(answered by demo-dictionary 1\.0\.0 for demo-reader\)/.test(e.text)), null, { timeout: 10_000 });
  const audit = await page.evaluate(() => window.demo.host.auditLog().filter((e) => e.method === 'plugins.call').map((e) => [e.plugin, e.decision]));
  assert.deepEqual(audit, [['demo-reader', 'allow']]);
});

test('(h) an unresponsive plugin is failed with TIMEOUT and shown failed; the others keep working', async () => {
  await page.waitForFunction(() => window.demo.host.status('demo-freeze').state === 'mounted');
  await page.click('#slot-demo-freeze button.action');
  await page.waitForFunction(() => window.demo.host.status('demo-freeze').state === 'failed', null, { timeout: 10_000 });
  const status = await page.evaluate(() => window.demo.host.status('demo-freeze'));
  assert.equal(status.code, 'TIMEOUT');
  await page.waitForSelector('#slot-demo-freeze .state.failed');
  assert.match(await page.textContent('#slot-demo-freeze .state'), /failed \(TIMEOUT\)/);
  assert.equal(await page.locator('#slot-demo-freeze iframe').count(), 0, 'the runner frame (and its worker) is gone');
  // The card redraws when the failure is audited; wait for it rather than read it the same instant.
  const card = await waitCard(page, 'demo-freeze', (c) => c.state === 'failed');
  assert.equal(card.state, 'failed', JSON.stringify(card));
  assert.match(card.status, /failed \(TIMEOUT\)/);
  for (const id of ['demo-hello', 'demo-quotes', 'demo-lifecycle']) {
    assert.equal(await page.evaluate((i) => window.demo.host.status(i).state, id), 'mounted', id);
  }
  // The lifecycle plugin still answers: a revoke reaches it.
  await inspectorAct(page, 'demo-lifecycle', 'revoke', 'events');
  const frame = await pluginFrame(page, 'demo-lifecycle', 'connected');
  await frame.waitForFunction(() => !document.body.dataset.grants.split(' ').includes('events'));
  await page.screenshot({ path: screenshotPath('demo-lifecycle-freeze.png') });
});
