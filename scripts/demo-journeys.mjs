// The demo's user journeys, driven through Playwright on the real demo page (www/host/index.html).
// Shared by the headless driver (scripts/demo-headless.mjs) and the e2e tests
// (tests/e2e/demo*.test.mjs), so both exercise exactly the same clicks.

/** Pages of the demo nav, by hash path. */
export const PAGES = {
  browse: '/a/demo-quotes/browse',
  suggest: '/a/demo-quotes/suggest',
  curate: '/a/demo-quotes/curate',
  settings: '/host/settings',
};

/**
 * What each demo user must see, derived by hand from the Quotes manifest (www/host/demo-plugins.js):
 * Quotes Reader → Viewer, Quotes Editor → Editor, Quotes Curator → Admin (and to "curator" by
 * name); Viewer ⊂ Editor ⊂ Admin; host settings need folders:admin (Admin only).
 */
export const EXPECTED_ACCESS = {
  viewer: { nav: ['Plugins', 'Browse quotes'], pages: { browse: true, suggest: false, curate: false, settings: false } },
  editor: { nav: ['Plugins', 'Browse quotes', 'Suggest a quote'], pages: { browse: true, suggest: true, curate: false, settings: false } },
  admin: { nav: ['Plugins', 'Browse quotes', 'Suggest a quote', 'Curate', 'Host settings'], pages: { browse: true, suggest: true, curate: true, settings: true } },
  curator: { nav: ['Plugins', 'Browse quotes', 'Curate'], pages: { browse: true, suggest: false, curate: true, settings: false } },
};

/** Open the demo and wait until every plugin was installed and mounted (or failed). */
export async function openDemo(page, hostUrl, { user } = {}) {
  const response = await page.goto(user ? `${hostUrl}?user=${user}` : hostUrl);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 30_000 });
  return response;
}

/** The Playwright frame of a mounted iframe plugin, once its page set body[data-state]. */
export async function pluginFrame(page, id, state) {
  const handle = await page.waitForSelector(`#slot-${id} iframe`, { state: 'attached', timeout: 15_000 });
  const frame = await handle.contentFrame();
  // Polled on a timer, not on animation frames: Chromium stops rendering (and so rAF) in
  // cross-origin frames scrolled out of view, and the demo has more plugins than one screen.
  await frame.waitForFunction((want) => document.body && document.body.dataset.state
    && (!want || document.body.dataset.state === want), state, { timeout: 20_000, polling: 100 });
  return frame;
}

/** Switch user with the switcher; answers the nav's link texts right after. */
export async function switchUser(page, key) {
  await page.selectOption('#user', key);
  return page.$$eval('#nav a', (as) => as.map((a) => a.textContent));
}

/** Open page `path` by its hash: `{ page, title, text }` of the rendered view. */
export async function visit(page, path) {
  await page.evaluate((p) => { location.hash = p; }, path);
  await page.waitForFunction((p) => document.getElementById('page').dataset.path === p, path);
  return page.$eval('#page', (s) => ({ page: s.dataset.page, title: s.querySelector('h2')?.textContent, text: s.textContent }));
}

/** For each user: nav links and access to each page. */
export async function rbacMatrix(page) {
  const out = {};
  for (const key of Object.keys(EXPECTED_ACCESS)) {
    const nav = await switchUser(page, key);
    const pages = {};
    const reasons = {};
    for (const [name, path] of Object.entries(PAGES)) {
      const v = await visit(page, path);
      pages[name] = v.page !== 'no-access';
      if (!pages[name]) reasons[name] = v.text;
    }
    out[key] = { nav, pages, reasons };
  }
  await visit(page, '/');
  return out;
}

/** Click the hello plugin's button, answer the host's permission dialog; answers the plugin's verdict. */
export async function answerPermissionPrompt(page, choice) {
  const hello = await pluginFrame(page, 'demo-hello', 'connected');
  await hello.click('#notify');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ timeout: 10_000 });
  const prompt = (await dialog.innerText()).replace(/\s+/g, ' ').replace(/\s*Allow\s*Deny\s*$/, '').trim();
  await dialog.getByRole('button', { name: choice }).click();
  await hello.waitForFunction(() => document.body.dataset.notify, null, { timeout: 10_000, polling: 100 });
  return { prompt, notify: await hello.evaluate(() => document.body.dataset.notify), text: await hello.textContent('#asked') };
}

/** The inspector card of plugin `id`: state, counters and permission states. */
export function inspectorCard(page, id) {
  return page.$eval(`.insp-card[data-plugin="${id}"]`, (c) => ({
    state: c.dataset.state,
    status: c.querySelector('.state')?.textContent,
    allowed: Number(c.querySelector('[data-count="allowed"]').textContent.replace(/\D+/g, '')),
    refused: Number(c.querySelector('[data-count="refused"]').textContent.replace(/\D+/g, '')),
    rateLimited: Number(c.querySelector('[data-count="rate-limited"]').textContent.replace(/\D+/g, '')),
    perms: Object.fromEntries([...c.querySelectorAll('.perms li')].map((li) => [li.dataset.perm, li.dataset.state])),
  }));
}

/**
 * The inspector card of `id` once `pred(card)` holds (cards refresh a few ms after an audit
 * event); the last card read if it never does within `ms`.
 */
export async function waitCard(page, id, pred, ms = 5000) {
  const end = Date.now() + ms;
  let card = await inspectorCard(page, id);
  while (!pred(card) && Date.now() < end) {
    await page.waitForTimeout(50);
    card = await inspectorCard(page, id);
  }
  return card;
}

/** Click the inspector's Revoke / Grant button of `perm` for plugin `id`. */
export async function inspectorAct(page, id, action, perm) {
  await page.click(`.insp-card[data-plugin="${id}"] button[data-action="${action}"][data-perm="${perm}"]`);
  await page.waitForSelector(`.insp-card[data-plugin="${id}"] li[data-perm="${perm}"][data-state="${action === 'revoke' ? 'not-granted' : 'granted'}"]`);
}

/** Pick a category in the quotes plugin (it saves it with sdk.storage.set); answers its verdict. */
export async function quotesPickCategory(page, category) {
  const quotes = await pluginFrame(page, 'demo-quotes', 'loaded');
  await quotes.selectOption('#category', category);
  await quotes.waitForFunction(() => document.body.dataset.saved && document.body.dataset.saved !== 'pending', null, { polling: 100 });
  return { saved: await quotes.evaluate(() => document.body.dataset.saved), text: await quotes.textContent('#prefs') };
}

/** Rows of the inspector's call table (the DOM, as a user sees it) for `plugin`. */
export function inspectorRows(page, plugin) {
  return page.$$eval(`#calls-body tr[data-plugin="${plugin}"]`, (rows) => rows.map((r) => ({ ...r.dataset })));
}

/** The hostile plugin's attempts, as its frame lists them, once a run finished. */
export async function hostileAttempts(page) {
  const frame = await pluginFrame(page, 'demo-hostile', 'done');
  return frame.$$eval('#attempts li', (lis) => lis.map((li) => ({
    id: li.dataset.attack, outcome: li.dataset.outcome, code: li.dataset.code, label: li.dataset.label, note: li.dataset.note, text: li.textContent,
  })));
}

/**
 * Click "Try direct network" (a fetch straight from the hostile frame, blocked by its own CSP —
 * which the browser reports as a violation in that frame, hence not run on load); answers the
 * attempts list once it was tried.
 */
export async function hostileDirect(page) {
  const frame = await pluginFrame(page, 'demo-hostile', 'done');
  // The button's own click event, not a pointer click at its position: the plugins above this
  // one still change height after the page loads (the shadow-mounted panel renders once the
  // sanitizer has arrived, the worker's UI once it answers), and a pointer click goes where the
  // button was when Playwright measured it. Once, on a clean run, the attempt never ran (still
  // "pending" 30 s later): the click had landed on the host page, not in the frame.
  await frame.waitForSelector('#direct:not([disabled])');
  await frame.dispatchEvent('#direct', 'click');
  await frame.waitForSelector('li[data-attack="direct-fetch"]:not([data-outcome="pending"])');
  return hostileAttempts(page);
}

/** Expected outcome of each hostile attempt (www/plugins/demo-hostile/hostile.js). */
export const HOSTILE_EXPECTED = {
  'api-evil': ['refused', 'NETWORK_DENIED'],
  'api-admin': ['refused', 'NETWORK_DENIED'],
  'direct-fetch': ['refused', 'CSP_BLOCKED'],
  'reach-parent': ['refused', 'SecurityError'],
  'undeclared-method': ['refused', 'MESSAGE_REJECTED'],
  'api-write': ['refused', 'PERMISSION_DENIED'],
  'request-undeclared': ['refused', 'PERMISSION_DENIED'],
  'forge-route': ['refused', 'NOT_FOUND'],
  'proto-params': ['refused', 'MESSAGE_REJECTED'],
  'proto-value': ['refused', 'MESSAGE_REJECTED'],
  'dotdot-key': ['contained', ''],
  'raw-key': ['contained', ''],
  overwrite: ['contained', ''],
  'notify-html': ['contained', ''],
  'panel-html': ['contained', ''],
  burst: ['refused', 'RATE_LIMITED'],
};

/** Click "Flood the host"; wait until the host suspended the plugin. Answers its status. */
export async function hostileFlood(page) {
  const frame = await pluginFrame(page, 'demo-hostile', 'done');
  // Click from inside the frame, after this evaluate returns: the host may suspend the plugin
  // and remove its frame while a Playwright click would still be waiting on that frame.
  await frame.$eval('#flood', (button) => { setTimeout(() => button.click(), 0); });
  await page.waitForFunction(() => window.demo.host.status('demo-hostile').state === 'failed', null, { timeout: 15_000 });
  return page.evaluate(() => window.demo.host.status('demo-hostile'));
}

/** The host page's state of its own HTML panel for `plugin` (what the sanitizer let through). */
export function panelReport(page, plugin) {
  return page.evaluate((id) => {
    const p = window.demo.panels[id];
    if (!p) return null;
    const all = [...p.root.querySelectorAll('*')];
    return {
      text: p.root.textContent,
      tags: [...new Set(all.map((e) => e.localName))].sort(),
      handlers: all.flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${e.localName}@${a.name}`)),
      jsLinks: all.filter((e) => /^\s*javascript:/i.test(e.getAttribute('href') ?? '')).length,
      pwned: document.body.dataset.pwned ?? null,
    };
  }, plugin);
}

/**
 * Collect CSP / Trusted Types violation messages of `page`, split by where they happened: the
 * host page itself (must stay empty) or a plugin frame (the hostile plugin's own CSP blocks).
 */
export function watchViolations(page, pluginOrigin) {
  const host = [];
  const frames = [];
  const pageErrors = [];
  page.on('console', (m) => {
    const t = m.text();
    if (!/Content Security Policy|TrustedHTML|TrustedScript|Trusted Type/i.test(t)) return;
    const url = m.location()?.url ?? '';
    (url.startsWith(pluginOrigin) ? frames : host).push({ text: t, url });
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return { host, frames, pageErrors };
}

/** Allowed / refused counts per plugin from audit events, refusals grouped by code. */
export function auditSummary(events) {
  const out = {};
  for (const e of events) {
    if (!e.plugin || !e.decision) continue;
    const s = out[e.plugin] ??= { allowed: 0, refused: 0, byCode: {}, methods: {} };
    if (e.decision === 'allow') s.allowed += 1;
    else {
      s.refused += 1;
      s.byCode[e.code ?? '?'] = (s.byCode[e.code ?? '?'] ?? 0) + 1;
    }
    const m = e.method ?? e.kind;
    s.methods[m] = (s.methods[m] ?? 0) + 1;
  }
  return out;
}

/**
 * A screenshot of the whole page. Plugin iframes live in other processes and a `fullPage`
 * capture leaves them blank, so the viewport is grown to the page's height instead.
 */
export async function screenshotAll(page, path) {
  const vp = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: vp.width, height: Math.min(Math.max(height, vp.height), 4000) });
  await page.waitForTimeout(400);
  await page.screenshot({ path });
  await page.setViewportSize(vp);
}
