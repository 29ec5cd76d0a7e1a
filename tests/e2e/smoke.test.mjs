// Smoke: the demo host page loads under its CSP (require-trusted-types-for 'script'), the
// sample plugin on the second origin completes the handshake, and nothing is violated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openPage } from './helpers.mjs';

let env;
before(async () => { env = await startEnv(18600); });
after(() => env?.close());

test('the demo mounts a sandboxed plugin that completes the handshake, with zero CSP violations', async () => {
  // The demo (www/host/index.html) is not a harness page: it sets body[data-ready] once mounted.
  const { page, seen, response, close } = await openPage(env, '', { ready: false });
  assert.match(response.headers()['content-security-policy'], /require-trusted-types-for 'script'/);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 20_000 });
  const state = await page.locator('.slot .state').first().textContent();
  assert.equal(state, 'mounted');
  const frame = page.frameLocator('iframe').first();
  await frame.locator('body[data-state="connected"]').waitFor({ timeout: 10_000 });
  assert.match(await frame.locator('#out').textContent(), /Connected to the host as demo-hello/);
  const sandbox = await page.locator('iframe').first().getAttribute('sandbox');
  assert.equal(sandbox, 'allow-scripts');
  assert.deepEqual(seen.violations, []);
  assert.deepEqual(seen.pageErrors, []);
  await close();
});
