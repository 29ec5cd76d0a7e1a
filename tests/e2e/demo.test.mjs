// The real demo page (www/host/index.html + app.js) under its CSP: the hello plugin mounts on
// the second origin, says it is connected, nothing is violated; a screenshot goes to
// test-results/demo.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, screenshotPath } from './helpers.mjs';
import { watch } from '../../scripts/browser.mjs';

let env;
before(async () => { env = await startEnv(18700); });
after(async () => { await env?.close(); });

test('the demo mounts the hello plugin: "mounted", "Connected", zero violations', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1200, height: 800 } });
  try {
    const page = await context.newPage();
    const seen = watch(page);
    const response = await page.goto(env.servers.hostUrl);
    assert.match(response.headers()['content-security-policy'], /require-trusted-types-for 'script'/);
    await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.ready), 'true');

    const slot = page.locator('.slot', { has: page.locator('iframe[src*="/hello/"]') });
    assert.equal(await slot.count(), 1, 'no slot holds the hello plugin');
    assert.equal((await slot.locator('.state').textContent()).trim(), 'mounted');
    const iframe = slot.locator('iframe');
    assert.equal(await iframe.getAttribute('sandbox'), 'allow-scripts');
    assert.ok((await iframe.getAttribute('src')).startsWith(env.servers.pluginOrigin));

    const frame = page.frameLocator('iframe[src*="/hello/"]');
    await frame.locator('body[data-state="connected"]').waitFor({ timeout: 15_000 });
    assert.match(await frame.locator('#out').textContent(), /Connected/);
    assert.equal(await page.evaluate(() => window.demo.host.status('demo-hello').state), 'mounted');

    await page.waitForTimeout(200); // let the frame paint its last state
    await page.screenshot({ path: screenshotPath('demo.png'), fullPage: true });
    assert.deepEqual(seen.violations, []);
    assert.deepEqual(seen.pageErrors, []);
  } finally {
    await context.close();
  }
});
