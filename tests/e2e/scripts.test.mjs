// host.loadScript: host-approved plugin scripts with a nonce and Subresource Integrity, their
// src minted through the Trusted Types policy, on a page with require-trusted-types-for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startEnv, openPage } from './helpers.mjs';

const root = new URL('../../', import.meta.url).pathname;
const sri = (alg) => `${alg}-${createHash(alg).update(readFileSync(`${root}www/plugins/approved/approved.js`)).digest('base64')}`;
let env, servers, page, seen, src;
before(async () => {
  env = await startEnv(18970);
  servers = env.servers;
  ({ page, seen } = await openPage(env, 'scripts.html'));
  src = `${servers.pluginOrigin}/approved/approved.js`;
});
after(() => env?.close());

const load = (url, options) => page.evaluate(([u, o]) => window.scriptsHarness.load(u, { ...o, nonce: o.nonce === null ? undefined : window.scriptsHarness.nonce }), [url, options]);

test('an approved script with the right integrity and the page nonce loads and runs', async () => {
  assert.deepEqual(await load(src, { integrity: sri('sha384') }), { ok: true });
  assert.equal(await page.evaluate(() => window.scriptsHarness.runs()), 1);
});

test('wrong integrity: the browser refuses the bytes; nothing runs', async () => {
  const r = await load(`${src}?v=2`, { integrity: 'sha384-' + 'A'.repeat(64) });
  assert.equal(r.ok, false);
  assert.equal(r.code, 'INTEGRITY_MISMATCH');
  assert.equal(await page.evaluate(() => window.scriptsHarness.runs()), 1);
});

test('refused before any request: unapproved origin, no integrity, not http(s)', async () => {
  const cases = [
    [`${servers.hostUrl}app.js`, { integrity: sri('sha256') }, 'PERMISSION_DENIED'],
    [`http://localhost:${Number(new URL(servers.pluginOrigin).port) + 5}/approved/approved.js`, { integrity: sri('sha256') }, 'PERMISSION_DENIED'],
    [`${src}?v=3`, {}, 'INTEGRITY_MISMATCH'],
    [`${src}?v=4`, { integrity: 'md5-abc' }, 'INTEGRITY_MISMATCH'],
    ['javascript:alert(1)', { integrity: sri('sha256') }, 'INVALID_ARGUMENT'],
    ['data:text/javascript,window.approvedScriptRuns=99', { integrity: sri('sha256') }, 'INVALID_ARGUMENT'],
  ];
  for (const [url, options, code] of cases) {
    const r = await load(url, options);
    assert.equal(r.ok, false, url);
    assert.equal(r.code, code, `${url}: ${r.message}`);
  }
  assert.equal(await page.evaluate(() => window.scriptsHarness.requested('?v=3') + window.scriptsHarness.requested('?v=4')), 0);
  assert.equal(await page.evaluate(() => window.scriptsHarness.runs()), 1);
});

test('without the page nonce the page CSP blocks the script', async () => {
  const before = seen.violations.length;
  const r = await load(`${src}?v=5`, { integrity: sri('sha384'), nonce: null });
  assert.equal(r.ok, false);
  assert.equal(await page.evaluate(() => window.scriptsHarness.runs()), 1);
  assert.ok(seen.violations.length > before, 'the CSP did not report the un-nonced script');
  seen.violations.splice(before);
});

test('no other CSP or Trusted Types violation on the page', () => {
  assert.deepEqual(seen.violations, []);
  assert.deepEqual(seen.pageErrors, []);
});
