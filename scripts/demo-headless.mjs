// `scripts/demo.sh --headless`: drives the demo in headless Chromium the way a user would —
// switches users (nav and pages follow RBAC), answers a plugin's permission prompt (Allow),
// revokes and re-grants a capability in the inspector, lets the hostile plugin attack and then
// flood — and prints what happened: plugins (mode, state), calls allowed / refused by code per
// plugin (audit log), the hostile plugin's attempts with their refusal codes, the requests the
// local API received, CSP violations. Saves artifacts/demo.png. Exits 1 if anything that
// should work did not (or anything that should be refused was not).
import { mkdirSync } from 'node:fs';
import { startServers } from './serve.mjs';
import { launch } from './browser.mjs';
import {
  openDemo, pluginFrame, rbacMatrix, EXPECTED_ACCESS, answerPermissionPrompt, waitCard, inspectorAct,
  quotesPickCategory, hostileAttempts, hostileDirect, HOSTILE_EXPECTED, hostileFlood, panelReport, watchViolations, auditSummary, switchUser, screenshotAll,
} from './demo-journeys.mjs';

const out = process.env.DEMO_ARTIFACTS ?? 'artifacts';
mkdirSync(out, { recursive: true });
const hostPort = Number(process.env.HOST_PORT ?? 8700);
const pluginPort = Number(process.env.PLUGIN_PORT ?? hostPort + 1);
const servers = await startServers({ hostPort, pluginPort, apiPort: Number(process.env.API_PORT ?? pluginPort + 1) });
const browser = await launch();
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); return ok; };
const line = (...a) => console.log(...a);

try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const seen = watchViolations(page, servers.pluginOrigin);
  await openDemo(page, servers.hostUrl);
  await pluginFrame(page, 'demo-quotes', 'loaded').catch((e) => problems.push(`quotes plugin did not load: ${e.message}`));
  // The hostile plugin attacks on load; its direct network attempt needs a click.
  const attempts = await hostileAttempts(page).then(() => hostileDirect(page))
    .catch((e) => { problems.push(`hostile plugin did not finish: ${e.message}`); return []; });

  line(`demo: ${servers.hostUrl} (plugins from ${servers.pluginOrigin}, local API ${servers.apiOrigin})`);
  const mounted = await page.evaluate(() => window.demo.plugins.map((id) => ({ id, status: window.demo.host.status(id) })));
  const modes = await page.evaluate(() => Object.fromEntries(window.demo.plugins.map((id) => [id, document.querySelector(`#slot-${id} iframe`) ? 'iframe' : null])));
  const declared = Object.fromEntries((await import('../www/host/demo-plugins.js')).demoPlugins({ pluginOrigin: '', apiOrigin: '' }).map((p) => [p.manifest.id, p.mount.mode ?? 'iframe']));
  line('\nplugins');
  for (const { id, status } of mounted) {
    line(`  ${id.padEnd(14)} ${declared[id].padEnd(7)} ${status.state}${status.code ? ` (${status.code})` : ''}`);
    check(status.state === 'mounted', `${id} is ${status.state}, not mounted`);
    if (declared[id] === 'iframe') check(modes[id] === 'iframe', `${id} has no iframe`);
  }

  // RBAC: every user, every page.
  line('\nusers (nav links; pages: + open, - "no access")');
  const matrix = await rbacMatrix(page);
  for (const [key, r] of Object.entries(matrix)) {
    const pages = Object.entries(r.pages).map(([n, ok]) => `${ok ? '+' : '-'}${n}`).join(' ');
    line(`  ${key.padEnd(8)} nav: ${r.nav.join(' | ')}\n           pages: ${pages}`);
    check(JSON.stringify(r.nav) === JSON.stringify(EXPECTED_ACCESS[key].nav), `${key}: nav ${r.nav.join(',')}`);
    check(JSON.stringify(r.pages) === JSON.stringify(EXPECTED_ACCESS[key].pages), `${key}: pages ${JSON.stringify(r.pages)}`);
  }
  line(`  e.g. viewer on "Curate": ${matrix.viewer.reasons.curate?.replace(/^Curate/, '').trim()}`);
  await switchUser(page, 'admin');

  // The optional permission: the hello plugin asks for ui:notify with a reason; we click Allow.
  const prompt = await answerPermissionPrompt(page, 'Allow');
  const helloCard = await waitCard(page, 'demo-hello', (c) => c.perms['ui:notify'] === 'granted');
  line(`\npermission prompt\n  dialog: "${prompt.prompt}"\n  answered Allow → plugin: ${prompt.text}\n  inspector: ui:notify ${helloCard.perms['ui:notify']}`);
  check(prompt.notify === 'granted' && helloCard.perms['ui:notify'] === 'granted', 'the allowed ui:notify was not granted');

  // The inspector: revoke storage from the quotes plugin, its next save is refused; grant it back.
  await inspectorAct(page, 'demo-quotes', 'revoke', 'storage');
  const refused = await quotesPickCategory(page, 'process');
  await inspectorAct(page, 'demo-quotes', 'grant', 'storage');
  const allowed = await quotesPickCategory(page, 'design');
  line(`\ninspector revoke / grant (demo-quotes, storage)\n  after Revoke: ${refused.text}\n  after Grant:  ${allowed.text}`);
  check(refused.saved === 'PERMISSION_DENIED', `save after revoke: ${refused.saved}`);
  check(allowed.saved === 'ok', `save after grant: ${allowed.saved}`);

  // The hostile plugin: its attempts, then a flood.
  line('\nhostile plugin attempts');
  for (const a of attempts) {
    const [want, code] = HOSTILE_EXPECTED[a.id] ?? ['?', '?'];
    line(`  ${(a.outcome === 'refused' ? `refused ${a.code}` : a.outcome).padEnd(26)} ${a.label}`);
    if (a.note) line(`  ${''.padEnd(26)}   ${a.note.replace(/\s+/g, ' ').slice(0, 110)}`);
    check(a.outcome === want && a.code === code, `hostile ${a.id}: ${a.outcome} ${a.code}, expected ${want} ${code}`);
  }
  check(attempts.length === Object.keys(HOSTILE_EXPECTED).length, `hostile attempts: ${attempts.length}`);
  const panel = await panelReport(page, 'demo-hostile');
  line(`  its HTML panel after the host's sanitizer: tags [${panel?.tags.join(', ')}], event handlers ${panel?.handlers.length}, javascript: links ${panel?.jsLinks}, script ran: ${panel?.pwned ? 'YES' : 'no'}`);
  check(panel && !panel.tags.includes('script') && !panel.tags.includes('iframe') && panel.handlers.length === 0 && panel.jsLinks === 0 && !panel.pwned, 'hostile panel HTML not neutralized');
  // The screenshot shows every plugin, the hostile one with its attempts, before the flood.
  await screenshotAll(page, `${out}/demo.png`);
  const started = Date.now();
  const suspended = await hostileFlood(page);
  const pingMs = await page.evaluate(async () => { const t = performance.now(); await new Promise((r) => setTimeout(r, 0)); window.demo.host.hasPermission('folders:view'); return performance.now() - t; });
  line(`  flood of 10,000 calls → ${suspended.state} (${suspended.code}) after ${Date.now() - started} ms; host still answers (${pingMs.toFixed(1)} ms round trip)`);
  check(suspended.state === 'failed' && suspended.code === 'RATE_LIMITED', 'hostile flood not suspended');
  check(await page.evaluate(() => window.demo.host.status('demo-quotes').state) === 'mounted', 'quotes plugin affected by the flood');

  // Audit log: every decision of every plugin, as the inspector received it.
  await page.waitForTimeout(300);
  const events = await page.evaluate(() => window.demo.inspector.events);
  // Counted by the host (inspect(id): every call, including the flood's refusals, which the
  // audit log records once per second), and as audit events the inspector streamed.
  const ids = Object.keys(auditSummary(events));
  const counted = await page.evaluate((list) => Object.fromEntries(list.map((id) => {
    const info = window.demo.host.inspect(id);
    return [id, { allowed: info.allowedCalls, counts: info.counts }];
  })), ids);
  line('\ncalls per plugin (host counters: allowed / refused by code; audit events streamed)');
  for (const [id, s] of Object.entries(auditSummary(events))) {
    const c = counted[id];
    const refusedN = Object.values(c.counts).reduce((a, b) => a + b, 0);
    const codes = Object.entries(c.counts).map(([k, n]) => `${k} ${n}`).join(', ');
    line(`  ${id.padEnd(14)} allowed ${String(c.allowed).padStart(3)}  refused ${String(refusedN).padStart(4)}${codes ? `  (${codes})` : ''}  audit events ${s.allowed + s.refused}`);
  }
  const hostileCard = await waitCard(page, 'demo-hostile', (c) => c.rateLimited > 0);
  line(`  inspector counters for demo-hostile: refused ${hostileCard.refused}, rate-limited ${hostileCard.rateLimited}`);
  check(hostileCard.rateLimited > 0, 'no rate-limit hits counted');

  line(`\nlocal API ${servers.apiOrigin} received ${servers.apiRequests.length} request(s)`);
  for (const r of servers.apiRequests) {
    const h = r.headers;
    line(`  ${r.method} ${r.url}  origin: ${h.origin ?? '-'}, cookie: ${h.cookie ?? 'none'}, authorization: ${h.authorization ?? 'none'}`);
  }
  check(servers.apiRequests.some((r) => r.method === 'GET' && r.url === '/api/quotes'), 'the quotes plugin did not reach the API');
  check(servers.apiRequests.every((r) => r.url.startsWith('/api/quotes')), 'the API received something else than GET /api/quotes');

  line(`\nCSP / Trusted Types violations on the host page: ${seen.host.length}`);
  for (const v of seen.host) line(`  ${v.text}`);
  line(`  in plugin frames (their own CSP blocking them): ${seen.frames.length}`);
  for (const v of seen.frames) line(`  ${v.text.slice(0, 160)}`);
  check(seen.host.length === 0, 'CSP violations on the host page');
  check(seen.frames.every((v) => v.url.includes('/demo-hostile/')), 'a CSP violation in a benign plugin frame');
  if (seen.pageErrors.length) line(`page errors: ${seen.pageErrors.join('\n  ')}`);
  check(seen.pageErrors.length === 0, 'page errors');

  await screenshotAll(page, `${out}/demo-suspended.png`);
  line(`\nscreenshots: ${out}/demo.png, ${out}/demo-suspended.png (after the flood)`);
} catch (e) {
  problems.push(`driver failed: ${e.stack ?? e}`);
} finally {
  await browser.close();
  await servers.close();
}
if (problems.length) {
  console.log(`\nFAILED (${problems.length}):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('\nOK: everything that should work worked, everything hostile was refused or contained.');
