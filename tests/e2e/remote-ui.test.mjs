// Remote UI (worker logic, host-rendered UI): www/plugins/remote-ui/plugin.js runs in a worker
// mounted with `{ mode: 'worker', ui: 'shadow' }` and draws through `sdk.ui.render` into a closed
// shadow root of its slot; the user's clicks, typing and submits reach it through
// `sdk.ui.onAction`. Its HTML names three origins: the API origin (declared in `assets`), an
// unrelated loopback server with a request log (not declared), and the host page (a relative
// URL). The host page's CSP is loosened for this test to allow images from all of them and
// inline style attributes (and Local Network Access is granted), so the sanitizer alone decides
// what is requested; a control image and style set by the host page itself show that such a
// request would arrive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { startEnv, openHost, until, hostCall } from './helpers.mjs';

let env, host, page, unrelated, code;
const unrelatedLog = [];

function startUnrelated() {
  const server = createServer((req, res) => {
    unrelatedLog.push({ method: req.method, url: req.url });
    res.writeHead(200, { 'access-control-allow-origin': '*', 'content-type': 'image/png' });
    res.end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }));
  });
}

/** `csp` with images from `origins` and inline style attributes allowed. */
function loosened(csp, origins) {
  const kept = csp.split(';').map((d) => d.trim()).filter((d) => d && !/^(img-src|style-src-attr)\s/.test(d));
  return [...kept, `img-src 'self' ${origins.join(' ')}`, "style-src-attr 'unsafe-inline'"].join('; ');
}

const events = (pluginId, name) => page.evaluate(
  ([p, n]) => window.e2e.state.events.filter((e) => e.pluginId === p && e.name === n).map((e) => e.data),
  [pluginId, name],
);

async function waitEvent(pluginId, name, pred = () => true, ms = 10_000) {
  const found = await until(async () => (await events(pluginId, name)).find(pred), ms);
  assert.ok(found, `no ${name} event from ${pluginId} matching ${pred}; got ${JSON.stringify(await events(pluginId, name))}`);
  return found;
}

async function installAndMount(manifest, options, workerCode = code) {
  const installed = await page.evaluate(([m, c]) => window.e2e.install(m, { code: c }), [manifest, workerCode]);
  assert.equal(installed.ok, true, JSON.stringify(installed));
  return page.evaluate(([id, o]) => { window.e2e.mountWorker(id, o); return window.e2e.settled(id); }, [manifest.id, options]);
}

/** The page's long tasks (the main thread held > 50 ms at once) from now on: the function it
 * answers ends the watch and answers their durations in ms. */
async function watchLongTasks() {
  await page.evaluate(() => {
    window.__longTasks = [];
    window.__longTaskObserver = new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); });
    window.__longTaskObserver.observe({ type: 'longtask' });
  });
  return () => page.evaluate(() => { window.__longTaskObserver.disconnect(); return window.__longTasks; });
}

const manifest = (id, permissions) => ({ id, name: 'Remote UI', version: '1.0.0', permissions, assets: [env.servers.apiOrigin] });

before(async () => {
  env = await startEnv(19420);
  unrelated = await startUnrelated();
  const context = await env.browser.newContext({ viewport: { width: 1100, height: 900 } });
  // The fulfilled (rewritten) host page loses its loopback address space, so Chromium's Local
  // Network Access would block its image requests to loopback servers: grant them, so neither
  // it nor the CSP but only the sanitizer stands between the plugin's HTML and those origins.
  await context.grantPermissions(['local-network-access'], { origin: env.servers.hostOrigin });
  await context.route(`${env.servers.hostOrigin}/e2e.html**`, async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    headers['content-security-policy'] = loosened(headers['content-security-policy'],
      [env.servers.apiOrigin, unrelated.origin, env.servers.pluginOrigin]);
    await route.fulfill({ response, headers });
  });
  host = await openHost(env, 'scenario=none', { context });
  page = host.page;
  code = readFileSync(new URL('../../www/plugins/remote-ui/plugin.js', import.meta.url), 'utf8')
    .replaceAll('%ASSETS%', env.servers.apiOrigin)
    .replaceAll('%ELSEWHERE%', unrelated.origin);
  await page.evaluate(() => window.e2e.create({ storage: 'memory', dangerous: { allowLoopbackHttp: true } }));
});

after(async () => {
  await host?.close();
  await env?.close();
  await new Promise((r) => (unrelated ? unrelated.server.close(r) : r()));
});

test('render: the worker draws into a closed shadow root; typing, a checkbox, a submit and a click reach onAction', async () => {
  const r = await installAndMount(manifest('rui', ['ui:render', 'events']), { ui: 'shadow' });
  assert.deepEqual(r, { ok: true, value: { pluginId: 'rui', mode: 'worker' } });
  await waitEvent('rui', 'rendered', (d) => d.count === 0);
  const ui = page.locator('#slot-rui [data-remote-ui]');
  assert.equal(await ui.count(), 1);
  assert.equal(await ui.evaluate((el) => el.shadowRoot), null, 'the shadow root is closed');
  assert.ok((await ui.boundingBox()).height > 50, 'the rendered UI takes space on the page');

  // Keyboard, from the top of the page: "Add one", then the title input, then the checkbox.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.type('hello');
  await waitEvent('rui', 'action', (a) => a.action === 'title' && a.type === 'input' && a.value === 'hello');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Space');
  await waitEvent('rui', 'action', (a) => a.action === 'done' && a.type === 'change' && a.value === 'yes');
  await page.keyboard.press('Shift+Tab');
  const url = page.url();
  await page.keyboard.press('Enter'); // implicit submission
  const saved = await waitEvent('rui', 'action', (a) => a.action === 'save');
  assert.deepEqual(saved, { action: 'save', type: 'submit', form: { title: 'hello', done: 'yes' } });
  await waitEvent('rui', 'rendered', (d) => d.count === 0);
  assert.equal(page.url(), url, 'the submit did not navigate the host page');
  assert.equal(await page.evaluate(() => window.e2e.ready), true, 'the host page is the same document');

  // A mouse click on "Add one" (the UI's first element, at its top left).
  await ui.click({ position: { x: 12, y: 10 } });
  assert.deepEqual(await waitEvent('rui', 'action', (a) => a.action === 'add'), { action: 'add', type: 'click', value: '1' });
  await waitEvent('rui', 'rendered', (d) => d.count === 1);
  assert.deepEqual(await hostCall(page, 'status', 'rui'), { ok: true, value: { state: 'mounted' } });
});

/** The centre of the first element in any (closed) shadow root with `attr`=`value`, via CDP. */
async function centreOf(attr, value) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: -1, pierce: true });
    const find = (n) => {
      const a = n.attributes ?? [];
      for (let i = 0; i < a.length; i += 2) if (a[i] === attr && a[i + 1] === value) return n;
      for (const c of [...(n.children ?? []), ...(n.shadowRoots ?? [])]) {
        const f = find(c);
        if (f) return f;
      }
      return null;
    };
    const node = find(root);
    assert.ok(node, `no element with ${attr}=${value}`);
    const { model } = await cdp.send('DOM.getBoxModel', { backendNodeId: node.backendNodeId });
    const [x1, y1, , , x3, y3] = model.content;
    return { x: (x1 + x3) / 2, y: (y1 + y3) / 2 };
  } finally {
    await cdp.detach();
  }
}

test('links: a click on a link into the assets is an action, never a navigation (nor a new tab)', async () => {
  const url = page.url();
  const pages = page.context().pages().length;
  const { x, y } = await centreOf('data-action', 'docs');
  await page.mouse.click(x, y);
  assert.deepEqual(await waitEvent('rui', 'action', (a) => a.action === 'docs'), { action: 'docs', type: 'click' });
  await page.mouse.click(x, y, { button: 'middle' });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(page.url(), url);
  assert.equal(page.context().pages().length, pages, 'a middle click opened a tab');
  assert.deepEqual(env.servers.apiRequests.filter((q) => q.url.startsWith('/docs')), []);
});

test('URLs: the declared asset origin is requested; the undeclared origin never, not by img, style, link or form', async () => {
  const api = env.servers.apiRequests;
  const declared = await until(() => api.filter((q) => q.url.startsWith('/declared.png')).length >= 2, 10_000);
  assert.ok(declared, `the declared image (twice: count 0 and 1) never reached the asset origin: ${JSON.stringify(api.map((q) => q.url))}`);
  // Give anything that would load a moment to do so, then look at both logs.
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(unrelatedLog, [], 'a request reached the undeclared origin');
  assert.deepEqual(api.filter((q) => q.url.startsWith('/style')), [], 'a style attribute survived');

  // Control: the same kinds of request made by the host page itself do reach the unrelated origin.
  await page.evaluate((o) => {
    const img = document.createElement('img');
    img.src = `${o}/control.png`;
    const div = document.createElement('div');
    div.setAttribute('style', `width: 8px; height: 8px; background-image: url(${o}/control-style.png)`);
    document.body.append(img, div);
  }, unrelated.origin);
  const control = await until(() => ['/control.png', '/control-style.png'].every((u) => unrelatedLog.some((q) => q.url === u)), 10_000);
  assert.ok(control, `the control requests did not arrive: ${JSON.stringify(unrelatedLog)}`);
});

test('refused: a plugin without ui:render, and ui.render from a worker mounted without ui', async () => {
  await installAndMount(manifest('rui-nocap', ['events']), { ui: 'shadow' });
  const noCap = await waitEvent('rui-nocap', 'render-failed');
  assert.equal(noCap.code, 'PERMISSION_DENIED');
  assert.match(noCap.message, /ui:render/);

  const plain = await installAndMount(manifest('rui-plain', ['ui:render', 'events']), {});
  assert.equal(plain.ok, true, JSON.stringify(plain));
  const noUi = await waitEvent('rui-plain', 'render-failed');
  assert.equal(noUi.code, 'PERMISSION_DENIED');
  assert.match(noUi.message, /ui: 'shadow'/);
  assert.equal(await page.locator('#slot-rui-plain [data-remote-ui]').count(), 0);

  // `ui` belongs to worker mounts only.
  assert.equal((await page.evaluate((m) => window.e2e.install(m), manifest('rui-frame', ['ui:render']))).ok, true);
  const iframe = await page.evaluate(() => window.e2e.mountAndWait('rui-frame', '/hello/', { ui: 'shadow' }));
  assert.equal(iframe.ok, false);
  assert.equal(iframe.error.code, 'MOUNT_FAILED');
  assert.match(iframe.error.message, /`ui` is for worker mounts/);
});

test('a worker whose renders are slow (1 000 nested <div>: a quadratic parse) gets a quarter of the host page\'s time: its renders beyond that are RATE_LIMITED without being parsed; once the budget drains it renders again', async () => {
  // Each render under its clean's time limit (renderCleanMs, 100 ms: ~20 ms a clean here),
  // and 30 of them far over the budget (250 ms, then a quarter of the time).
  const bomb = `const sdk = await pluginWarden.connect();
    const deep = '<div>'.repeat(1000) + 'deep';
    const results = [];
    for (let i = 0; i < 30; i++) {
      try { await sdk.ui.render(deep); results.push('ok'); } catch (e) { results.push(e.code); }
    }
    await new Promise((r) => setTimeout(r, 2500));
    let later;
    try { await sdk.ui.render('<p id="small">small</p>'); later = 'ok'; } catch (e) { later = e.code; }
    await sdk.events.emit('bombed', { results, later });`;
  const mounted = await installAndMount(manifest('rui-deep', ['ui:render', 'events']), { ui: 'shadow' }, bomb);
  assert.equal(mounted.ok, true, JSON.stringify(mounted));
  const r = await waitEvent('rui-deep', 'bombed');
  assert.equal(r.results[0], 'ok', JSON.stringify(r.results));
  assert.ok(r.results.includes('RATE_LIMITED'), JSON.stringify(r.results));
  assert.deepEqual([...new Set(r.results)].sort(), ['RATE_LIMITED', 'ok'], JSON.stringify(r.results));
  assert.equal(r.later, 'ok');
  assert.equal(await page.evaluate(() => window.e2e.host.status('rui-deep').state), 'mounted');
  assert.equal(await hostCall(page, 'unmount', 'rui-deep').then((x) => x.ok), true);
});

test('one render that would hold the page (4 995 nested <ul><li>, 9 990 tags: seconds of quadratic parsing) is stopped after renderCleanMs and refused TIMEOUT: nothing of it shown, audited, the page\'s longest task a fraction of the parse; the worker renders again at once', async () => {
  const bomb = `const sdk = await pluginWarden.connect();
    const deep = '<ul><li>'.repeat(4995) + 'deep';
    let first;
    try { await sdk.ui.render(deep); first = 'ok'; } catch (e) { first = { code: e.code, message: e.message }; }
    let later;
    try { await sdk.ui.render('<p id="after-bomb">after</p>'); later = 'ok'; } catch (e) { later = e.code; }
    await sdk.events.emit('ul-bombed', { first, later });`;
  // The page's long tasks while the bomb is served.
  const longTasks = await watchLongTasks();
  const mounted = await installAndMount(manifest('rui-ul', ['ui:render', 'events']), { ui: 'shadow' }, bomb);
  assert.equal(mounted.ok, true, JSON.stringify(mounted));
  const r = await waitEvent('rui-ul', 'ul-bombed');
  assert.equal(r.first.code, 'TIMEOUT', JSON.stringify(r));
  assert.match(r.first.message, /longer than 100 ms to clean/);
  assert.equal(r.later, 'ok');
  // Nothing of the bomb reached the DOM (its thousands of nested lists would be metres tall);
  // the one-line render after it did. (The root is closed: its size is what the page sees.)
  const ui = page.locator('#slot-rui-ul [data-remote-ui]');
  assert.equal(await ui.count(), 1);
  const box = await ui.boundingBox();
  assert.ok(box.height > 5 && box.height < 200, `the UI is ${box.height} px high`);
  const audit = await page.evaluate(() => window.e2e.host.auditLog());
  assert.ok(audit.some((e) => e.plugin === 'rui-ul' && e.method === 'ui.render' && e.code === 'TIMEOUT'), JSON.stringify(audit.filter((e) => e.plugin === 'rui-ul')));
  // Unlimited, this render parses the HTML four times (the engine's clean and the Trusted
  // Types policy's, two passes each): ~0.8 s of main thread here. Stopped, it holds the page
  // about the limit. The bound is loose (a loaded machine is slower); the log says the time.
  const longest = Math.max(0, ...await longTasks());
  console.log(`# the page's longest task while the bomb was served: ${longest.toFixed(0)} ms`);
  assert.ok(longest < 500, `the page was held ${longest} ms at once`);
  assert.equal(await hostCall(page, 'unmount', 'rui-ul').then((x) => x.ok), true);
});

test('a render is cleaned twice on the page (the engine\'s clean, the Trusted Types policy\'s), by one deadline: renders of growing nesting are served until one is refused TIMEOUT, and none holds the page much past renderCleanMs (100 ms), where two cleans each under it took up to twice that', async () => {
  // Each step nests deeper (the parse is quadratic), until the render's cleans pass the limit.
  // It starts low: on a slow period of the test machine 900 levels already passed it (a fresh
  // clone's run on 2026-12-05; 1 500–1 600 on the same machine otherwise), and the test needs
  // served renders before the refused one.
  // A pause after each lets the render budget drain, so that only the time limit refuses.
  const grow = `const sdk = await pluginWarden.connect();
    const steps = [];
    for (let n = 300; n <= 12000; n += 100) {
      let got;
      try { await sdk.ui.render('<div>'.repeat(n) + n); got = 'ok'; } catch (e) { got = e.code; }
      if (got === 'RATE_LIMITED') { n -= 100; await new Promise((r) => setTimeout(r, 1000)); continue; }
      steps.push([n, got]);
      if (got !== 'ok') break;
      await new Promise((r) => setTimeout(r, 700));
    }
    await new Promise((r) => setTimeout(r, 1000));
    let later;
    try { await sdk.ui.render('<p id="after-growth">after</p>'); later = 'ok'; } catch (e) { later = e.code; }
    await sdk.events.emit('grown', { steps, later });`;
  const longTasks = await watchLongTasks();
  const mounted = await installAndMount(manifest('rui-grow', ['ui:render', 'events']), { ui: 'shadow' }, grow);
  assert.equal(mounted.ok, true, JSON.stringify(mounted));
  const { steps, later } = await waitEvent('rui-grow', 'grown', undefined, 60_000);
  const longest = Math.max(0, ...await longTasks());
  console.log(`# served up to ${steps.at(-2)?.[0]} levels, refused at ${steps.at(-1)[0]} (${steps.at(-1)[1]}); the page's longest task ${longest.toFixed(0)} ms`);
  assert.equal(steps.at(-1)[1], 'TIMEOUT', JSON.stringify(steps));
  assert.ok(steps.length >= 3 && steps.slice(0, -1).every(([, got]) => got === 'ok'), JSON.stringify(steps));
  // The largest render served took its two cleans close to the limit together; before they
  // shared a deadline it took them up to the limit each (about 200 ms here).
  assert.ok(longest < 160, `the page was held ${longest} ms at once`);
  // After the refused render the next one is served, and shown in place of the deep ones.
  assert.equal(later, 'ok');
  const box = await page.locator('#slot-rui-grow [data-remote-ui]').boundingBox();
  assert.ok(box.height > 5 && box.height < 200, `the UI is ${box.height} px high`);
  const audit = await page.evaluate(() => window.e2e.host.auditLog());
  assert.ok(audit.some((e) => e.plugin === 'rui-grow' && e.method === 'ui.render' && e.code === 'TIMEOUT'), JSON.stringify(audit.filter((e) => e.plugin === 'rui-grow' && e.code)));
  assert.equal(await hostCall(page, 'unmount', 'rui-grow').then((x) => x.ok), true);
});

test('unmount removes the UI with the worker', async () => {
  assert.equal((await hostCall(page, 'unmount', 'rui')).ok, true);
  assert.equal(await page.locator('#slot-rui [data-remote-ui]').count(), 0);
  assert.equal(await page.locator('#slot-rui iframe').count(), 0);
});

test('no CSP or Trusted Types violation on the host page', async () => {
  assert.deepEqual(await host.hostViolations(), { fromConsole: [], fromDocument: [] });
  assert.deepEqual(host.seen.pageErrors, []);
});
