// Drives the demo in headless Chromium and prints what it did; saves a screenshot.
import { mkdirSync } from 'node:fs';
import { startServers } from './serve.mjs';
import { launch, watch } from './browser.mjs';

const out = process.env.DEMO_ARTIFACTS ?? 'artifacts';
mkdirSync(out, { recursive: true });
const hostPort = Number(process.env.HOST_PORT ?? 8700);
const pluginPort = Number(process.env.PLUGIN_PORT ?? hostPort + 1);
const servers = await startServers({ hostPort, pluginPort, apiPort: Number(process.env.API_PORT ?? pluginPort + 1) });
const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  const seen = watch(page);
  await page.goto(servers.hostUrl);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 30_000 });
  // The quotes plugin fetches after its handshake: wait until it says how that went.
  await page.frameLocator('iframe[src*="/quotes/"]').locator('body[data-state]').waitFor({ timeout: 15_000 }).catch(() => {});
  await page.waitForTimeout(300); // let plugin frames paint their last state
  const report = await page.evaluate(() => ({
    events: window.demo.events,
    statuses: Object.fromEntries([...document.querySelectorAll('.slot')].map((s) => [
      s.querySelector('h3 span').textContent, s.querySelector('.state').textContent])),
    stats: window.demo.host.bridgeStats(),
  }));
  const frames = [];
  for (const f of page.frames().slice(1)) {
    frames.push({ url: f.url(), text: (await f.locator('body').innerText().catch(() => '')).trim() });
  }
  console.log(`demo: ${servers.hostUrl} (plugins from ${servers.pluginOrigin}, local API ${servers.apiOrigin})`);
  for (const [name, state] of Object.entries(report.statuses)) console.log(`  plugin  ${name}: ${state}`);
  for (const e of report.events) console.log(`  ${e.kind === 'ok' ? 'ok     ' : 'refused'} ${e.text}`);
  for (const f of frames) console.log(`  frame   ${f.url}\n          ${f.text.replace(/\n+/g, ' | ')}`);
  console.log(`  api     ${servers.apiOrigin} received ${servers.apiRequests.length} request(s)${servers.apiRequests.length ? '' : ' (none: the quotes plugin did not reach it)'}`);
  for (const r of servers.apiRequests) {
    const h = r.headers;
    console.log(`          ${r.method} ${r.url}  origin: ${h.origin ?? '-'}, cookie: ${h.cookie ?? 'none'}, authorization: ${h.authorization ?? 'none'}, referer: ${h.referer ?? 'none'}`);
  }
  console.log(`  bridge  ignored window messages: ${report.stats.ignoredMessages}, rejected handshakes: ${report.stats.rejectedHandshakes}`);
  console.log(`  csp     violations: ${seen.violations.length}${seen.violations.length ? '\n          ' + seen.violations.join('\n          ') : ''}`);
  if (seen.pageErrors.length) console.log(`  errors  ${seen.pageErrors.join('\n          ')}`);
  await page.screenshot({ path: `${out}/demo.png`, fullPage: true });
  console.log(`  screenshot: ${out}/demo.png`);
  failed = seen.violations.length > 0 || seen.pageErrors.length > 0
    || Object.values(report.statuses).some((s) => !s.startsWith('mounted'))
    || !servers.apiRequests.some((r) => r.method === 'GET' && r.url === '/api/quotes');
} finally {
  await browser.close();
  await servers.close();
}
process.exit(failed ? 1 : 0);
