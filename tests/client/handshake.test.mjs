// The handshake from the plugin's side (DESIGN.md §5): hello → welcome + port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, HOST_ORIGIN, NONCE, NAME, track, sleep } from './harness.mjs';

/** Run `fn(h)` with a fresh harness and always dispose it. */
async function withHarness(opts, fn) {
  const h = createHarness(opts);
  try { return await fn(h); } finally { h.dispose(); }
}

test('frame: hello is exactly {ns, v, type, nonce}, posted once to the announced host origin', () =>
  withHarness({}, async (h) => {
    const p = h.client.connect({ timeout: 500 });
    assert.equal(h.hellos.length, 1);
    assert.deepEqual(h.hellos[0].msg, { ns: 'plugin-warden', v: 1, type: 'hello', nonce: NONCE });
    assert.deepEqual(Object.keys(h.hellos[0].msg), ['ns', 'v', 'type', 'nonce']);
    assert.equal(h.hellos[0].targetOrigin, HOST_ORIGIN);
    assert.notEqual(h.hellos[0].targetOrigin, '*');
    h.welcome({ pluginId: 'acme-patents-app', grants: ['storage', 'events'] });
    const sdk = await p;
    h.sdk = sdk;
    assert.equal(sdk.pluginId, 'acme-patents-app');
    assert.deepEqual([...sdk.grants], ['storage', 'events']);
    assert.equal(h.hellos.length, 1, 'one hello only');
    assert.equal(h.listenerCount, 0, 'the window listener is removed after the welcome');
  }));

test('frame: window.name is cleared once the bootstrap is read', () =>
  withHarness({}, async (h) => {
    assert.equal(h.self.name, NAME());
    const p = track(h.client.connect({ timeout: 500 }));
    assert.equal(h.self.name, '', 'the nonce must not survive in window.name');
    h.welcome();
    await p.promise;
    h.sdk = p.value;
  }));

test('frame: a second welcome after the first is not processed (listener gone)', () =>
  withHarness({}, async (h) => {
    const p = h.client.connect({ timeout: 500 });
    h.welcome({ pluginId: 'first' });
    h.welcome({ pluginId: 'second' });
    const sdk = await p;
    h.sdk = sdk;
    assert.equal(sdk.pluginId, 'first');
  }));

// Each of these welcomes must be ignored: connect stays pending, then rejects TIMEOUT.
const ignoredWelcomes = {
  'wrong source (not our parent)': { event: { source: {} } },
  'source null': { event: { source: null } },
  'wrong origin': { event: { origin: 'http://evil.example' } },
  'origin differing only by port': { event: { origin: 'http://host.example:8080' } },
  'origin null': { event: { origin: 'null' } },
  'no port': { event: { ports: [] } },
  'ports missing': { event: { ports: undefined } },
  'wrong ns': { data: { ns: 'other' } },
  'ns missing': { data: { ns: undefined } },
  'v 2': { data: { v: 2 } },
  "v '1' (a string)": { data: { v: '1' } },
  'type hello': { data: { type: 'hello' } },
  'type missing': { data: { type: undefined } },
};

for (const [what, welcome] of Object.entries(ignoredWelcomes)) {
  test(`frame: welcome with ${what} is ignored → TIMEOUT`, () =>
    withHarness({}, async (h) => {
      const p = track(h.client.connect({ timeout: 40 }));
      h.welcome(welcome);
      await sleep(10);
      assert.equal(p.state, 'pending', 'connect must still be pending after an ignored welcome');
      await assert.rejects(p.promise, (e) => {
        assert.ok(e instanceof h.client.PluginWardenError);
        assert.ok(e instanceof Error);
        assert.equal(e.name, 'PluginWardenError');
        assert.equal(e.code, 'TIMEOUT');
        return true;
      });
      assert.equal(h.listenerCount, 0, 'the listener is removed on timeout');
    }));
}

test('frame: non-object message data (string, null, number) is ignored', () =>
  withHarness({}, async (h) => {
    const p = track(h.client.connect({ timeout: 40 }));
    const { clientPort } = h.channel();
    for (const data of ['welcome', null, undefined, 1, []]) {
      h.dispatch({ source: h.parent, origin: HOST_ORIGIN, data, ports: [clientPort] });
    }
    await sleep(10);
    assert.equal(p.state, 'pending');
    await assert.rejects(p.promise, { code: 'TIMEOUT' });
  }));

test('frame: an ignored welcome does not prevent a later valid one', () =>
  withHarness({}, async (h) => {
    const p = h.client.connect({ timeout: 500 });
    h.welcome({ event: { origin: 'http://evil.example' }, pluginId: 'evil' });
    h.welcome({ pluginId: 'good' });
    const sdk = await p;
    h.sdk = sdk;
    assert.equal(sdk.pluginId, 'good');
  }));

for (const [what, name] of Object.entries({
  'no window.name': '',
  'a foreign window.name': 'some-other-frame',
  'wrong namespace': 'other|1|n|http://host.example',
  'wrong version': `plugin-warden|2|${NONCE}|${HOST_ORIGIN}`,
  'too few parts': `plugin-warden|1|${NONCE}`,
  'too many parts': `plugin-warden|1|${NONCE}|${HOST_ORIGIN}|x`,
})) {
  test(`frame: ${what} → rejects MOUNT_FAILED without posting`, () =>
    withHarness({ name }, async (h) => {
      await assert.rejects(h.client.connect({ timeout: 40 }), (e) => {
        assert.ok(e instanceof h.client.PluginWardenError);
        assert.equal(e.code, 'MOUNT_FAILED');
        return true;
      });
      assert.equal(h.hellos.length, 0);
      assert.equal(h.listenerCount, 0);
    }));
}

// The bootstrap's host origin is where the nonce is sent; a target origin of '*' would hand the
// nonce to whatever document the parent window holds. The host always writes location.origin
// (src/web/host.rs), never '*', so the client should refuse a '*' instead of broadcasting.
test("frame: a bootstrap announcing host origin '*' is refused (never postMessage to '*')", () =>
  withHarness({ name: NAME(NONCE, '*') }, async (h) => {
    const p = track(h.client.connect({ timeout: 40 }));
    await sleep(0);
    assert.deepEqual(h.hellos.map((x) => x.targetOrigin), [], "no hello may be posted to '*'");
    await assert.rejects(p.promise, { code: 'MOUNT_FAILED' });
  }));

// An opaque-origin host page (file://, sandboxed host) has location.origin 'null'; a browser's
// postMessage throws a SyntaxError for targetOrigin 'null'. connect() should then reject with a
// PluginWardenError (MOUNT_FAILED) and not leave its window listener and timer behind.
test("frame: host origin 'null' rejects with a PluginWardenError and cleans up", () =>
  withHarness({ name: NAME(NONCE, 'null') }, async (h) => {
    const p = track(h.client.connect({ timeout: 200 }));
    await sleep(0);
    assert.equal(p.state, 'rejected');
    assert.ok(p.error instanceof h.client.PluginWardenError, `got ${p.error}`);
    assert.equal(p.error.code, 'MOUNT_FAILED');
    assert.equal(h.listenerCount, 0, 'no listener left behind');
  }));

test('worker: hello is {ns, v, type} posted to the runner, and the welcome port connects', () =>
  withHarness({ mode: 'worker' }, async (h) => {
    const p = h.client.connect({ timeout: 500 });
    assert.equal(h.hellos.length, 1);
    assert.deepEqual(h.hellos[0].msg, { ns: 'plugin-warden', v: 1, type: 'hello' });
    const host = h.welcome({ pluginId: 'acme-worker', grants: ['storage'] });
    const sdk = await p;
    h.sdk = sdk;
    assert.equal(sdk.pluginId, 'acme-worker');
    assert.deepEqual([...sdk.grants], ['storage']);
    assert.equal(h.listenerCount, 0);
    // The port works end to end.
    const got = sdk.storage.keys();
    const call = await host.next();
    assert.deepEqual(call, { v: 1, id: 1, method: 'storage.keys', params: {} });
    host.send({ v: 1, id: 1, ok: true, value: ['a'] });
    assert.deepEqual(await got, ['a']);
  }));

test('worker: no window.name bootstrap is needed, and a malformed welcome is ignored → TIMEOUT', () =>
  withHarness({ mode: 'worker' }, async (h) => {
    const p = track(h.client.connect({ timeout: 40 }));
    h.welcome({ data: { type: 'hello' } });
    h.welcome({ event: { ports: [] } });
    h.welcome({ data: { ns: 'x' } });
    await sleep(10);
    assert.equal(p.state, 'pending');
    await assert.rejects(p.promise, { code: 'TIMEOUT' });
  }));

test('frame: default handshake timeout is long (still pending after 50 ms)', () =>
  withHarness({}, async (h) => {
    const p = track(h.client.connect());
    await sleep(50);
    assert.equal(p.state, 'pending');
    h.welcome();
    await p.promise;
    h.sdk = p.value;
  }));
