// The default permission dialog: with no onPermissionRequest, the host asks the user in an
// accessible modal <dialog> naming the plugin, the permission and the plugin's reason; the
// safe choice has focus; a "no" is remembered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openPage } from './helpers.mjs';

let env, page, seen;
before(async () => {
  env = await startEnv(18930);
  ({ page, seen } = await openPage(env, 'dialog.html'));
});
after(() => env?.close());

test('the dialog names plugin, permission and reason; Allow grants', async () => {
  const answer = page.evaluate(() => window.dialogHarness.request('ui:notify', 'to tell you when the export is done'));
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ timeout: 10_000 });
  const heading = dialog.getByRole('heading');
  assert.match(await heading.textContent(), /asker asks for .ui:notify./);
  assert.equal(await dialog.getAttribute('aria-labelledby'), await heading.getAttribute('id'));
  assert.match(await dialog.textContent(), /to tell you when the export is done/);
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Deny', 'the safe choice has focus');
  await dialog.getByRole('button', { name: 'Allow' }).click();
  assert.deepEqual(await answer, { ok: true, value: true });
  assert.equal(await page.getByRole('dialog').count(), 0, 'the dialog is gone');
  assert.ok((await page.evaluate(() => window.dialogHarness.list())).includes('ui:notify'));
});

test('Deny refuses, and the refusal is remembered (no second prompt)', async () => {
  const answer = page.evaluate(() => window.dialogHarness.request('events', 'to follow theme changes'));
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ timeout: 10_000 });
  await dialog.getByRole('button', { name: 'Deny' }).click();
  assert.deepEqual(await answer, { ok: true, value: false });
  const again = await page.evaluate(() => window.dialogHarness.request('events', 'please'));
  assert.deepEqual(again, { ok: true, value: false });
  assert.equal(await page.getByRole('dialog').count(), 0, 'a remembered "no" must not prompt again');
  const audit = await page.evaluate(() => window.dialogHarness.host.auditLog());
  assert.ok(audit.some((e) => e.plugin === 'asker' && e.kind === 'grant' && e.detail?.permission === 'ui:notify'));
  assert.ok(audit.some((e) => e.plugin === 'asker' && e.kind === 'refusal' && e.code === 'PERMISSION_DENIED' && e.detail?.permission === 'events'));
});

test('Escape closes the dialog as a "no"', async () => {
  const answer = page.evaluate(() => window.dialogHarness.request('storage', 'to keep your drafts'));
  await page.getByRole('dialog').waitFor({ timeout: 10_000 });
  await page.keyboard.press('Escape');
  assert.deepEqual(await answer, { ok: true, value: false });
  assert.equal(await page.getByRole('dialog').count(), 0);
});

test('after the host revokes a granted optional capability, the plugin cannot re-prompt', async () => {
  await page.evaluate(() => window.dialogHarness.host.grant('asker', 'events'));
  await page.evaluate(() => window.dialogHarness.host.revoke('asker', 'events'));
  // After a host revoke the plugin may not re-prompt: the host decides (no dialog, false).
  assert.deepEqual(await page.evaluate(() => window.dialogHarness.request('events', 'again')), { ok: true, value: false });
  assert.equal(await page.getByRole('dialog').count(), 0);
});

test('no CSP or Trusted Types violation', () => {
  assert.deepEqual(seen.violations, []);
  assert.deepEqual(seen.pageErrors, []);
});
