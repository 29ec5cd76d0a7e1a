// A host page's mistakes with argument types. Every exported function that takes a string hands
// it to wasm through the glue's passStringToWasm0, which used to read `arg.length` of anything:
// given a number, an object, an array or a symbol it grew a zero-byte block at a dangling
// address and the call trapped (`RuntimeError: memory access out of bounds`), and given
// undefined it threw a bare TypeError. Now each is refused before any of it reaches wasm memory,
// INVALID_ARGUMENT naming the call; a method whose type is a Promise rejects. Driven through
// every method of PluginHost and the package's functions, every argument position.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost, pluginFrame } from './helpers.mjs';

let env;
before(async () => {
  env = await startEnv(19760);
});
after(() => env?.close());

test('a non-string where a string goes: every PluginHost method and package function answers a coded error (INVALID_ARGUMENT naming the call where it takes a string), never a trap or a bare TypeError; the host and its plugin go on', async () => {
  const host = await openHost(env, 'scenario=none');
  try {
    const { page } = host;
    const mounted = await page.evaluate(async () => {
      await window.e2e.install(window.e2e.manifests.notes);
      return window.e2e.mountAndWait('notes', '/notes/');
    });
    assert.equal(mounted.ok, true, JSON.stringify(mounted));
    const r = await page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      const h = window.e2e.host;
      const WRONG = { number: 42, object: { id: 'notes' }, array: ['notes'], undefined, symbol: Symbol('notes'), bigint: 7n, null: null };
      const methods = new Set();
      for (let p = Object.getPrototypeOf(h); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
        for (const n of Object.getOwnPropertyNames(p)) if (typeof h[n] === 'function' && n !== 'constructor' && !n.startsWith('__')) methods.add(n);
      }
      // The calls that end the host run last (each on a fresh host), the rest on this one.
      const enders = ['destroy', 'free'];
      const calls = [...methods].filter((n) => !enders.includes(n)).map((n) => [`PluginHost.${n}`, (...a) => h[n](...a), 3]);
      for (const n of ['sanitize', 'validateManifest', 'analyzeBundle', 'signedBytes', 'hostCsp']) calls.push([`${n}()`, (...a) => pkg[n](...a), 2]);
      const outcomes = [];
      for (const [label, f, arity] of calls) {
        for (let at = 0; at < arity; at++) {
          for (const [kind, wrong] of Object.entries(WRONG)) {
            // The other arguments are strings of the right type naming nothing installed, so
            // that no call succeeds at changing the host (an uninstall of 'notes' would).
            // (mount's second is its container: an element.)
            const args = [label === 'PluginHost.mount' ? ['no-such-plugin', document.createElement('div')] : ['no-such-plugin', 'storage'], 'GET'].flat().slice(0, arity);
            args[at] = wrong;
            let outcome;
            try {
              const v = f(...args);
              outcome = v && typeof v.then === 'function'
                ? await v.then(() => ({ ok: true, async: true }), (e) => ({ ok: false, async: true, name: e?.name, code: e?.code, message: String(e?.message) }))
                : { ok: true };
            } catch (e) {
              outcome = { ok: false, name: e?.name, code: e?.code, message: String(e?.message) };
            }
            outcomes.push({ label, at, kind, ...outcome });
          }
        }
      }
      const after = { status: h.status('notes'), plugins: h.plugins() };
      return { outcomes, after, methods: [...methods] };
    });
    // Every refusal is coded; none is a trap or an uncoded TypeError.
    const uncoded = r.outcomes.filter((o) => !o.ok && (o.name !== 'PluginWardenError' || typeof o.code !== 'string'));
    assert.deepEqual(uncoded, [], JSON.stringify(uncoded.slice(0, 10), null, 1));
    // The methods that take a string there refuse a number, an object and undefined as
    // INVALID_ARGUMENT naming themselves (a Promise-typed one rejects).
    const takesString = {
      'PluginHost.status': [0], 'PluginHost.unmount': [0], 'PluginHost.visibleIncludes': [0], 'PluginHost.inspect': [0],
      'PluginHost.canAccessRoute': [0, 1, 2], 'PluginHost.emit': [0], 'PluginHost.mount': [0], 'PluginHost.grant': [0, 1],
      'PluginHost.revoke': [0, 1], 'PluginHost.uninstall': [0], 'PluginHost.update': [0], 'PluginHost.loadScript': [0],
      'analyzeBundle()': [0],
    };
    for (const [label, positions] of Object.entries(takesString)) {
      assert.ok(label.endsWith('()') || r.methods.includes(label.slice('PluginHost.'.length)), `${label} is not a method`);
      for (const at of positions) {
        for (const kind of ['number', 'object', 'array', 'undefined', 'symbol']) {
          const o = r.outcomes.find((x) => x.label === label && x.at === at && x.kind === kind);
          assert.equal(o.ok, false, `${label} took a ${kind} at ${at}`);
          assert.equal(o.code, 'INVALID_ARGUMENT', JSON.stringify(o));
          assert.ok(o.message.includes(`${label}: expected a string argument, found`), JSON.stringify(o));
          if (/\.(mount|update|loadScript)$/.test(label)) assert.equal(o.async, true, `${label} threw instead of rejecting: ${JSON.stringify(o)}`);
        }
      }
    }
    // A container that is not an element: refused before the mount starts, naming what it was.
    const containers = await page.evaluate(async () => {
      const h = window.e2e.host;
      const src = `${window.e2e.pluginOrigin}/notes/`;
      const wrong = { string: 'slot-notes', number: 1, null: null, undefined, object: { nodeName: 'DIV' }, text: document.createTextNode('x'), fragment: document.createDocumentFragment(), window };
      const out = {};
      for (const [kind, el] of Object.entries(wrong)) {
        for (const options of [{ src }, { mode: 'shadow', html: '<b>x</b>' }]) {
          try {
            await h.mount('notes', el, options);
            out[`${kind} ${options.mode ?? 'iframe'}`] = 'mounted';
          } catch (e) {
            out[`${kind} ${options.mode ?? 'iframe'}`] = `${e.code}: ${e.message}`;
          }
        }
      }
      return out;
    });
    for (const [what, outcome] of Object.entries(containers)) {
      assert.match(outcome, /^INVALID_ARGUMENT: plugin-warden: PluginHost\.mount: the container must be an Element, found /, `${what}: ${outcome}`);
    }
    assert.match(containers['text iframe'], /found a node of type 3 \(#text\)$/);
    assert.match(containers['fragment shadow'], /found a node of type 11 \(#document-fragment\)$/);
    // The host still answers, and its plugin still talks to it.
    assert.deepEqual(r.after.plugins, ['notes']);
    assert.equal(r.after.status.state, 'mounted', JSON.stringify(r.after));
    const notes = await pluginFrame(page, 'notes', { state: 'connected' });
    assert.deepEqual(await notes.evaluate(() => window.notes.run('storage.get', 'note')), { ok: true, value: { text: 'remember the milk', savedBy: 'notes' } });
    // destroy and free take no string: they end the host as ever.
    const ended = await page.evaluate(() => {
      const h = window.e2e.host;
      h.destroy();
      h.free();
      try { h.status('notes'); return 'answered'; } catch (e) { return e.name; }
    });
    assert.notEqual(ended, 'answered');
  } finally {
    await host.close();
  }
});

test('arguments that throw when read (a revoked Proxy, a getter or an ownKeys trap that throws), on a first visit\'s page: every method answers a coded error, the Promise-typed ones reject (never throw), and the host goes on', async () => {
  const host = await openHost(env, 'scenario=none');
  try {
    const r = await host.page.evaluate(async () => {
      const pkg = await import('/pkg/index.js');
      const h = window.e2e.host;
      const hostile = () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        const getter = { id: 'hostile', name: 'Hostile', version: '1.0.0' };
        Object.defineProperty(getter, 'src', { enumerable: true, get() { throw new Error('a getter threw'); } });
        Object.defineProperty(getter, 'permissions', { enumerable: true, get() { throw new Error('a getter threw'); } });
        const keys = new Proxy({ id: 'hostile', name: 'Hostile', version: '1.0.0' }, { ownKeys() { throw new Error('ownKeys threw'); } });
        return { revoked: proxy, getter, keys };
      };
      const settle = (f) => {
        try {
          const v = f();
          return v && typeof v.then === 'function'
            ? v.then(() => ({ ok: true, async: true }), (e) => ({ ok: false, async: true, name: e?.name, code: e?.code, message: String(e?.message) }))
            : { ok: true };
        } catch (e) {
          return { ok: false, name: e?.name, code: e?.code, message: String(e?.message) };
        }
      };
      const outcomes = [];
      // First, before anything loaded the core's second part: the calls whose arguments the
      // entry module reads to decide whether to load it.
      const firstVisit = pkg.__pw_checksLoaded();
      const div = document.createElement('div');
      for (const [kind, wrong] of Object.entries(hostile())) {
        outcomes.push({ label: 'PluginHost.install', at: 0, kind, ...await settle(() => h.install(wrong)) });
        outcomes.push({ label: 'PluginHost.install', at: 1, kind, ...await settle(() => h.install({ id: 'hostile', name: 'Hostile', version: '1.0.0' }, wrong)) });
        outcomes.push({ label: 'PluginHost.mount', at: 1, kind, ...await settle(() => h.mount('hostile', wrong, { src: `${window.e2e.pluginOrigin}/notes/` })) });
        outcomes.push({ label: 'PluginHost.mount', at: 2, kind, ...await settle(() => h.mount('hostile', div, wrong)) });
      }
      // Then every method and package function, every argument position.
      const methods = new Set();
      for (let p = Object.getPrototypeOf(h); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
        for (const n of Object.getOwnPropertyNames(p)) if (typeof h[n] === 'function' && n !== 'constructor' && !n.startsWith('__')) methods.add(n);
      }
      const calls = [...methods].filter((n) => !['destroy', 'free'].includes(n)).map((n) => [`PluginHost.${n}`, (...a) => h[n](...a), 3]);
      for (const n of ['sanitize', 'validateManifest', 'analyzeBundle', 'signedBytes', 'hostCsp']) calls.push([`${n}()`, (...a) => pkg[n](...a), 2]);
      for (const [label, f, arity] of calls) {
        for (let at = 0; at < arity; at++) {
          for (const [kind, wrong] of Object.entries(hostile())) {
            const args = [label === 'PluginHost.mount' ? ['no-such-plugin', div] : ['no-such-plugin', 'storage'], 'GET'].flat().slice(0, arity);
            args[at] = wrong;
            outcomes.push({ label, at, kind, ...await settle(() => f(...args)) });
          }
        }
      }
      await window.e2e.install(window.e2e.manifests.notes);
      const mounted = await window.e2e.mountAndWait('notes', '/notes/');
      return { firstVisit, outcomes, mounted, plugins: h.plugins() };
    });
    assert.equal(r.firstVisit, false, 'the page had loaded the core\'s second part already');
    const uncoded = r.outcomes.filter((o) => !o.ok && (o.name !== 'PluginWardenError' || typeof o.code !== 'string'));
    assert.deepEqual(uncoded, [], JSON.stringify(uncoded.slice(0, 10), null, 1));
    const thrown = r.outcomes.filter((o) => /\.(install|mount|update|loadScript)$/.test(o.label) && !o.async);
    assert.deepEqual(thrown, [], JSON.stringify(thrown.slice(0, 10), null, 1));
    // None of them installed anything; a real install and mount work afterwards.
    const installed = r.outcomes.filter((o) => o.label === 'PluginHost.install' && o.ok);
    assert.deepEqual(installed, []);
    assert.equal(r.mounted.ok, true, JSON.stringify(r.mounted));
    assert.deepEqual(r.plugins, ['notes']);
    const notes = await pluginFrame(host.page, 'notes', { state: 'connected' });
    assert.deepEqual(await notes.evaluate(() => window.notes.run('storage.get', 'note')), { ok: true, value: { text: 'remember the milk', savedBy: 'notes' } });
  } finally {
    await host.close();
  }
});
