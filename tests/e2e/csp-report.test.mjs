// CSP rollout in Chromium: the demo server (scripts/serve.mjs) serves `?report-only` pages with
// the SDK's policy as Content-Security-Policy-Report-Only plus Reporting-Endpoints (built by
// hostCsp({ reportOnly: true, reportTo })), collects the reports the browser posts to
// /csp-reports, and the demo inspector lists them. Chromium uses `report-to` (the Reporting API)
// and ignores `report-uri`; this headless Chromium queues Reporting-API reports without ever
// sending them (even with --short-reporting-delay), so delivery is proven on the other channel:
// `?report-only=report-uri` drops `report-to` (as a browser without the Reporting API would
// ignore it) and Chromium posts `application/csp-report` bodies to the same endpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, until, waitReady } from './helpers.mjs';

let env, browser;
before(async () => {
  env = await startEnv(19310);
  browser = env.browser;
});
after(async () => {
  await env?.close();
});

const endpoint = () => `${env.servers.hostOrigin}/csp-reports`;
const withoutNonce = (v) => v.replace(/'nonce-[^']+'/g, "'nonce-N'");

test('?report-only pages carry the same policy as Content-Security-Policy-Report-Only, with Reporting-Endpoints', async () => {
  const enforced = await fetch(`${env.servers.hostOrigin}/e2e.html`);
  const ro = await fetch(`${env.servers.hostOrigin}/e2e.html?report-only`);
  const policy = enforced.headers.get('content-security-policy');
  assert.ok(policy.startsWith("default-src 'self'"), policy);
  assert.equal(enforced.headers.get('content-security-policy-report-only'), null);
  assert.equal(enforced.headers.get('reporting-endpoints'), null, 'existing pages are unchanged');
  assert.equal(ro.headers.get('content-security-policy'), null, 'report-only mode enforces nothing');
  const reportOnly = ro.headers.get('content-security-policy-report-only');
  assert.equal(withoutNonce(reportOnly), `${withoutNonce(policy)}; report-uri ${endpoint()}; report-to csp-endpoint`);
  assert.equal(ro.headers.get('reporting-endpoints'), `csp-endpoint="${endpoint()}"`);
});

test('a violation on a report-only page is not blocked, and its report reaches the demo server', async () => {
  const page = await browser.newPage();
  try {
    const before = env.servers.cspReports.length;
    await page.goto(`${env.servers.hostOrigin}/e2e.html?report-only=report-uri&scenario=none`);
    await waitReady(page);
    const events = page.evaluate(() => new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve({ directive: e.effectiveDirective, disposition: e.disposition }), { once: true });
    }));
    // A string into innerHTML: Trusted Types would block it; report-only lets it through.
    const written = await page.evaluate(() => {
      const d = document.createElement('div');
      d.innerHTML = '<i>not trusted</i>';
      return d.textContent;
    });
    assert.equal(written, 'not trusted', 'report-only blocked the assignment');
    assert.deepEqual(await events, { directive: 'require-trusted-types-for', disposition: 'report' });
    const reports = await until(() => {
      const mine = env.servers.cspReports.slice(before).filter((r) => r.directive === 'require-trusted-types-for');
      return mine.length ? mine : null;
    }, 15_000);
    assert.ok(reports, `no report arrived: ${JSON.stringify(env.servers.cspReports)}`);
    assert.equal(reports[0].disposition, 'report');
    assert.equal(reports[0].via, 'report-uri');
    assert.match(reports[0].documentURL, /\/e2e\.html\?report-only=report-uri/);
  } finally {
    await page.close();
  }
});

test('the demo inspector lists the reports (?report-only demo page)', async () => {
  const page = await browser.newPage();
  try {
    const response = await page.goto(`${env.servers.hostOrigin}/?report-only=report-uri`);
    assert.ok(response.headers()['content-security-policy-report-only']);
    await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 30_000 });
    await page.evaluate(() => {
      // A fetch outside connect-src: reported (not blocked) as connect-src.
      fetch('http://127.0.0.1:9/never', { mode: 'no-cors' }).catch(() => {});
    });
    await page.waitForSelector('#csp-reports li[data-directive="connect-src"]', { timeout: 15_000 });
    const count = Number(await page.textContent('#csp-report-count'));
    assert.ok(count >= 1, `count ${count}`);
    const text = await page.textContent('#csp-reports li[data-directive="connect-src"]');
    assert.match(text, /connect-src report http:\/\/127\.0\.0\.1:9\/never via report-uri/);
    assert.equal(await page.evaluate(() => window.demo.host.status('demo-quotes').state), 'mounted');
  } finally {
    await page.close();
  }
});
