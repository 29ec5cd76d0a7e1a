// Plugin frames under the SDK's own policy: bundle iframes (the verified code in the runner
// page), `src` pages under CSP Embedded Enforcement (a page whose server does not accept the
// policy is refused fast, with the header to send), and self-navigation failing the plugin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost } from './helpers.mjs';

let env, h;
const MANIFEST = { id: 'bundle', name: 'Bundle', version: '1.0.0', permissions: ['storage'] };

before(async () => {
  env = await startEnv(19310);
  h = await openHost(env);
});
after(async () => {
  await h?.close();
  await env?.close();
});

async function fresh(options = {}) {
  await h.page.evaluate((o) => window.e2e.create({ storage: 'memory', dangerous: { allowLoopbackHttp: true }, ...o }), options);
}

test('bundle iframe: the installed code runs in the runner page with the client as pluginWarden', async () => {
  await fresh();
  const code = `
    const sdk = await pluginWarden.connect();
    await sdk.storage.set('k', { n: 41 });
    const v = await sdk.storage.get('k');
    const p = document.createElement('p');
    p.id = 'out';
    p.textContent = 'value ' + (v.n + 1);
    p.dataset.origin = self.origin;
    document.body.append(p);`;
  const r = await h.page.evaluate(async ({ manifest, code }) => {
    const installed = await window.e2e.install(manifest, { code });
    const box = document.createElement('div');
    document.body.append(box);
    let mounted;
    try {
      mounted = { ok: true, value: await window.e2e.host.mount(manifest.id, box, {}) };
    } catch (e) {
      mounted = { ok: false, code: e.code, message: e.message };
    }
    const frame = box.querySelector('iframe');
    return { installed, mounted, sandbox: frame?.getAttribute('sandbox'), csp: frame?.getAttribute('csp'), src: frame?.src };
  }, { manifest: MANIFEST, code });
  assert.equal(r.installed.ok, true, JSON.stringify(r.installed));
  assert.equal(r.mounted.ok, true, JSON.stringify(r.mounted));
  assert.equal(r.sandbox, 'allow-scripts');
  assert.match(r.src, /\/pkg\/worker-runner\.html$/);
  const frame = h.page.frames().find((f) => f.url().endsWith('/pkg/worker-runner.html'));
  await frame.waitForSelector('#out');
  assert.equal(await frame.textContent('#out'), 'value 42');
  assert.equal(await frame.getAttribute('#out', 'data-origin'), 'null', 'the bundle frame is not opaque');
  await h.page.evaluate(() => window.e2e.host.unmount('bundle'));
});

test('bundle iframe: a top-level throw fails the plugin; mount-time code goes through the install checks', async () => {
  await fresh();
  const r = await h.page.evaluate(async (manifest) => {
    await window.e2e.install({ ...manifest, id: 'thrower' }, { code: 'await pluginWarden.connect(); throw new Error("bundle boom")' });
    const box = document.createElement('div');
    document.body.append(box);
    await window.e2e.host.mount('thrower', box, {}).catch(() => {});
    const deadline = Date.now() + 5000;
    while (window.e2e.host.status('thrower').state !== 'failed' && Date.now() < deadline) await new Promise((s) => setTimeout(s, 50));
    const status = window.e2e.host.status('thrower');
    // Code given at mount time is checked like install code: eval is a bundle-analysis error.
    await window.e2e.install({ ...manifest, id: 'late' }, {});
    const box2 = document.createElement('div');
    document.body.append(box2);
    let late;
    try {
      await window.e2e.host.mount('late', box2, { code: 'eval("1")' });
      late = { ok: true };
    } catch (e) {
      late = { ok: false, code: e.code };
    }
    return { status, frames: box.querySelectorAll('iframe').length, late, lateFrames: box2.querySelectorAll('iframe').length };
  }, MANIFEST);
  assert.equal(r.status.state, 'failed');
  assert.equal(r.status.code, 'MOUNT_FAILED');
  assert.match(r.status.message, /bundle boom/);
  assert.equal(r.frames, 0, 'the failed plugin frame was not torn down');
  assert.deepEqual(r.late, { ok: false, code: 'BUNDLE_REJECTED' });
  assert.equal(r.lateFrames, 0);
});

test('bundle iframe that navigates itself is failed at once and its frame removed', async () => {
  await fresh();
  const target = `${env.servers.pluginOrigin}/silent/index.html?navigated`;
  const r = await h.page.evaluate(async ({ manifest, target }) => {
    await window.e2e.install({ ...manifest, id: 'navver' }, { code: `await pluginWarden.connect(); setTimeout(() => { location.href = ${JSON.stringify(target)}; }, 100);` });
    const box = document.createElement('div');
    document.body.append(box);
    await window.e2e.host.mount('navver', box, {});
    const deadline = Date.now() + 5000;
    while (window.e2e.host.status('navver').state !== 'failed' && Date.now() < deadline) await new Promise((s) => setTimeout(s, 20));
    const audit = window.e2e.state.audits.filter((a) => a.plugin === 'navver' && a.kind === 'failure');
    return { status: window.e2e.host.status('navver'), frames: box.querySelectorAll('iframe').length, audit };
  }, { manifest: MANIFEST, target });
  assert.equal(r.status.state, 'failed');
  assert.equal(r.status.code, 'MOUNT_FAILED');
  assert.match(r.status.message, /navigated/);
  assert.equal(r.frames, 0);
  assert.ok(r.audit.length >= 1, 'the failure was not audited');
});

test('src page: the frame carries the csp attribute; a server without Allow-CSP-From is refused fast with the header to send', async () => {
  await fresh();
  const r = await h.page.evaluate(async ({ url }) => {
    await window.e2e.install({ id: 'careless', name: 'Careless', version: '1.0.0', permissions: [] });
    const box = document.createElement('div');
    document.body.append(box);
    const started = performance.now();
    const p = window.e2e.host.mount('careless', box, { src: url, timeout: 20000 });
    const csp = box.querySelector('iframe')?.getAttribute('csp');
    try {
      await p;
      return { ok: true, csp };
    } catch (e) {
      return { ok: false, code: e.code, message: e.message, ms: performance.now() - started, csp, frames: box.querySelectorAll('iframe').length };
    }
  }, { url: `${env.servers.pluginOrigin}/careless/` });
  assert.match(r.csp, /^default-src 'none'; script-src http:\/\/localhost:\d+ 'unsafe-inline'/);
  assert.match(r.csp, /connect-src 'none'/);
  assert.equal(r.ok, false);
  assert.equal(r.code, 'MOUNT_FAILED');
  assert.match(r.message, /Allow-CSP-From: http:\/\/127\.0\.0\.1:\d+/);
  assert.ok(r.ms < 8000, `refusal took ${r.ms} ms (handshake timeout 20000)`);
  assert.equal(r.frames, 0);
});

test('src page that accepts the policy mounts; one that navigates itself fails at once', async () => {
  await fresh();
  const r = await h.page.evaluate(async () => {
    await window.e2e.install(window.e2e.manifests.notes);
    const ok = await window.e2e.mountAndWait('notes', '/notes/');
    return { ok, csp: window.e2e.iframeAttributes('notes')?.csp };
  });
  assert.equal(r.ok.ok, true, JSON.stringify(r.ok));
  assert.match(r.csp, /^default-src 'none'; script-src http:\/\/localhost:\d+ 'unsafe-inline'/);
  // Navigate the notes frame away (as a hostile page would): the host sees the second load.
  const frame = h.page.frames().find((f) => f.url().includes('/notes/'));
  await frame.evaluate((to) => { location.href = to; }, `${env.servers.pluginOrigin}/silent/index.html`);
  await h.page.waitForFunction(() => window.e2e.host.status('notes').state === 'failed', null, { timeout: 5000 });
  const status = await h.page.evaluate(() => window.e2e.host.status('notes'));
  assert.equal(status.code, 'MOUNT_FAILED');
  assert.match(status.message, /navigated/);
  assert.equal(await h.page.evaluate(() => window.e2e.iframes('notes')), 0);
});

test('a browser without the csp attribute: src mounts are refused unless dangerous.srcWithoutEmbeddedCsp', async () => {
  const ctx = await env.browser.newContext();
  const page = await ctx.newPage();
  // Simulate such a browser before the page's scripts run.
  await page.addInitScript(() => { delete HTMLIFrameElement.prototype.csp; });
  await page.goto(`${env.servers.hostOrigin}/e2e.html?scenario=none`);
  await page.waitForFunction(() => window.e2e && window.e2e.ready === true);
  const r = await page.evaluate(async () => {
    const attempt = async (options) => {
      window.e2e.create({ storage: 'memory', dangerous: { allowLoopbackHttp: true, ...options } });
      await window.e2e.install(window.e2e.manifests.notes);
      return window.e2e.mountAndWait('notes', '/notes/');
    };
    return { refused: await attempt({}), allowed: await attempt({ srcWithoutEmbeddedCsp: true }) };
  });
  await ctx.close();
  assert.equal(r.refused.ok, false);
  assert.equal(r.refused.error.code, 'MOUNT_FAILED');
  assert.match(r.refused.error.message, /csp` attribute/);
  assert.equal(r.allowed.ok, true, JSON.stringify(r.allowed));
});
