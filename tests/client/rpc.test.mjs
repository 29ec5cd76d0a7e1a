// RPC behaviour of the SDK over the port: timeouts, the in-flight limit, close(), events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, track, sleep } from './harness.mjs';

async function withSdk(options, fn) {
  const h = createHarness();
  try {
    const { sdk, host } = await h.connect(options);
    return await fn(sdk, host, h);
  } finally {
    h.dispose();
  }
}

const isPWE = (h, code) => (e) => {
  assert.ok(e instanceof h.client.PluginWardenError, `expected a PluginWardenError, got ${e}`);
  assert.equal(e.code, code);
  return true;
};

/** Subscribe `name` and let the host accept it. */
async function subscribed(sdk, host, name, handler) {
  const off = sdk.events.on(name, handler);
  const sub = await host.next();
  assert.deepEqual(sub, { v: 1, id: sub.id, method: 'events.subscribe', params: { name } });
  host.send({ v: 1, id: sub.id, ok: true, value: null });
  await off.ready;
  return off;
}

/** Wait until everything the host sent before now has been processed (ordered port). */
async function flush(sdk, host) {
  const t = track(sdk.storage.keys());
  const m = await host.next();
  host.send({ v: 1, id: m.id, ok: true, value: [] });
  await t.promise;
}

// ---------------------------------------------------------------------------------------------
// per-call timeout

test('a call without a reply rejects TIMEOUT after callTimeout; a late reply is ignored', () =>
  withSdk({ callTimeout: 300, maxInFlight: 1 }, async (sdk, host, h) => {
    const t = track(sdk.storage.get('k'));
    const call = await host.next();
    await sleep(10);
    assert.equal(t.state, 'pending');
    await assert.rejects(t.promise, isPWE(h, 'TIMEOUT'));
    assert.match(t.error.message, /storage\.get/);
    // The pending entry is gone: with maxInFlight 1, a new call is accepted at once.
    const t2 = track(sdk.storage.keys());
    const call2 = await host.next();
    assert.equal(call2.id, call.id + 1);
    // The late reply for the timed-out id settles nothing and throws nothing.
    host.send({ v: 1, id: call.id, ok: true, value: 'late' });
    host.send({ v: 1, id: call.id, ok: false, error: { code: 'NOT_FOUND', message: 'late' } });
    host.send({ v: 1, id: call2.id, ok: true, value: ['k'] });
    assert.deepEqual(await t2.promise, ['k']);
    assert.equal(t.error.code, 'TIMEOUT');
    assert.deepEqual(h.uncaught, []);
  }));

test('each call has its own timer: an answered call does not time out', () =>
  withSdk({ callTimeout: 400 }, async (sdk, host) => {
    const a = track(sdk.storage.keys());
    const b = track(sdk.storage.keys());
    const ca = await host.next();
    await host.next();
    host.send({ v: 1, id: ca.id, ok: true, value: ['a'] });
    await a.promise;
    await assert.rejects(b.promise, { code: 'TIMEOUT' });
    await sleep(50);
    assert.equal(a.state, 'resolved');
    assert.deepEqual(a.value, ['a']);
  }));

test('staggered calls time out each at its own deadline (one shared timer for the table)', () =>
  withSdk({ callTimeout: 300 }, async (sdk, host) => {
    const t0 = performance.now();
    const a = track(sdk.storage.keys());
    await host.next();
    await sleep(150);
    const b = track(sdk.storage.keys());
    await host.next();
    await assert.rejects(a.promise, { code: 'TIMEOUT' });
    const aAt = performance.now() - t0;
    assert.equal(b.state, 'pending', 'the later call is still waiting when the first expires');
    await assert.rejects(b.promise, { code: 'TIMEOUT' });
    const bAt = performance.now() - t0;
    assert.ok(aAt >= 295, `first call timed out early, at ${aAt} ms`);
    assert.ok(bAt >= 445, `second call timed out early, at ${bAt} ms`);
    // After both expired, a new call still gets its own deadline.
    const c = track(sdk.storage.keys());
    const sent = await host.next();
    host.send({ v: 1, id: sent.id, ok: true, value: [] });
    await c.promise;
    assert.equal(c.state, 'resolved');
  }));

// ---------------------------------------------------------------------------------------------
// in-flight limit

test('maxInFlight 3: the 4th call rejects RATE_LIMITED at once, unsent; after a reply one more is accepted', () =>
  withSdk({ maxInFlight: 3 }, async (sdk, host, h) => {
    const calls = [1, 2, 3].map(() => track(sdk.storage.keys()));
    const sent = [await host.next(), await host.next(), await host.next()];
    assert.deepEqual(sent.map((m) => m.id), [1, 2, 3]);
    const fourth = track(sdk.storage.get('x'));
    await Promise.resolve();
    assert.equal(fourth.state, 'rejected', 'rejected without waiting for anything');
    isPWE(h, 'RATE_LIMITED')(fourth.error);
    assert.ok(await host.quiet(20), 'the refused call is not posted');
    // Other calls are unaffected.
    for (const c of calls) assert.equal(c.state, 'pending');
    host.send({ v: 1, id: 2, ok: true, value: [] });
    await calls[1].promise;
    const fifth = track(sdk.storage.get('y'));
    const m = await host.next();
    assert.deepEqual(m, { v: 1, id: 4, method: 'storage.get', params: { key: 'y' } }, 'the refused call used no id');
    // Full again.
    await assert.rejects(sdk.storage.keys(), isPWE(h, 'RATE_LIMITED'));
    host.send({ v: 1, id: 4, ok: true, value: 1 });
    assert.equal(await fifth.promise, 1);
  }));

test('an error reply also frees an in-flight slot', () =>
  withSdk({ maxInFlight: 1 }, async (sdk, host, h) => {
    const a = track(sdk.storage.keys());
    const m = await host.next();
    await assert.rejects(sdk.storage.keys(), isPWE(h, 'RATE_LIMITED'));
    host.send({ v: 1, id: m.id, ok: false, error: { code: 'QUOTA_EXCEEDED', message: 'full' } });
    await assert.rejects(a.promise, isPWE(h, 'QUOTA_EXCEEDED'));
    const b = track(sdk.storage.keys());
    const m2 = await host.next();
    host.send({ v: 1, id: m2.id, ok: true, value: [] });
    assert.deepEqual(await b.promise, []);
  }));

test('params that cannot be cloned reject MESSAGE_REJECTED and free their slot', () =>
  withSdk({ maxInFlight: 1 }, async (sdk, host, h) => {
    await assert.rejects(sdk.storage.set('k', { f() {} }), isPWE(h, 'MESSAGE_REJECTED'));
    const t = track(sdk.storage.keys());
    const m = await host.next();
    assert.equal(m.method, 'storage.keys');
    host.send({ v: 1, id: m.id, ok: true, value: [] });
    await t.promise;
  }));

test('api.fetch and api.canFetch with init null or left out send the URL alone, as fetch() takes them', () =>
  withSdk({}, async (sdk, host) => {
    for (const [method, run] of [['api.fetch', (init) => sdk.api.fetch('https://api.acme.example/', init)], ['api.canFetch', (init) => sdk.api.canFetch('https://api.acme.example/', init)]]) {
      for (const init of [null, undefined]) {
        const t = track(run(init));
        const m = await host.next();
        assert.equal(m.method, method);
        assert.deepEqual(m.params, { url: 'https://api.acme.example/' });
        host.send({ v: 1, id: m.id, ok: true, value: false });
        await t.promise;
      }
    }
  }));

// ---------------------------------------------------------------------------------------------
// close()

test('close() rejects pending calls with MOUNT_FAILED, and every later call too', () =>
  withSdk({}, async (sdk, host, h) => {
    const a = track(sdk.storage.get('a'));
    const b = track(sdk.api.fetch('https://api.acme.example/'));
    await host.next();
    await host.next();
    sdk.close();
    await assert.rejects(a.promise, isPWE(h, 'MOUNT_FAILED'));
    await assert.rejects(b.promise, isPWE(h, 'MOUNT_FAILED'));
    await assert.rejects(sdk.storage.keys(), isPWE(h, 'MOUNT_FAILED'));
    await assert.rejects(sdk.events.emit('x', 1), isPWE(h, 'MOUNT_FAILED'));
    assert.ok(await host.quiet(20), 'nothing is posted after close()');
    // A reply arriving after close() changes nothing (the port is closed anyway).
    host.send({ v: 1, id: 1, ok: true, value: 'late' });
    await sleep(10);
    assert.equal(a.error.code, 'MOUNT_FAILED');
    // Closing twice is harmless.
    sdk.close();
  }));

test('close() clears the per-call timers (no TIMEOUT after MOUNT_FAILED)', () =>
  withSdk({ callTimeout: 20 }, async (sdk, host, h) => {
    const a = track(sdk.storage.keys());
    await host.next();
    sdk.close();
    await a.promise.catch(() => {});
    await sleep(40);
    assert.equal(a.error.code, 'MOUNT_FAILED');
    assert.deepEqual(h.uncaught, []);
  }));

// ---------------------------------------------------------------------------------------------
// events

test('events: every handler of a name gets the data; a throwing handler does not stop the others', () =>
  withSdk({}, async (sdk, host, h) => {
    const got = [];
    const boom = new Error('handler bug');
    await subscribed(sdk, host, 'theme', (d) => got.push(['first', d]));
    const offBad = sdk.events.on('theme', () => { throw boom; });
    await offBad.ready;
    sdk.events.on('theme', (d) => got.push(['third', d]));
    sdk.events.on('other', (d) => got.push(['other', d]));
    const sub = await host.next(); // 'other' subscribes; 'theme' subscribed once only
    assert.deepEqual(sub.params, { name: 'other' });
    host.send({ v: 1, id: sub.id, ok: true, value: null });
    host.send({ v: 1, event: 'theme', data: { dark: true } });
    host.send({ v: 1, event: 'theme', data: 2 });
    await flush(sdk, host);
    assert.deepEqual(got, [['first', { dark: true }], ['third', { dark: true }], ['first', 2], ['third', 2]]);
    // The error is reported asynchronously (as an uncaught error in the page), not swallowed.
    await sleep(5);
    assert.deepEqual(h.uncaught, [boom, boom]);
  }));

test('events: off() removes a handler; the last off() unsubscribes once', () =>
  withSdk({}, async (sdk, host) => {
    const got = [];
    const off1 = await subscribed(sdk, host, 'theme', (d) => got.push(['a', d]));
    const off2 = sdk.events.on('theme', (d) => got.push(['b', d]));
    off1();
    assert.ok(await host.quiet(10), 'no unsubscribe while a handler is left');
    host.send({ v: 1, event: 'theme', data: 1 });
    await flush(sdk, host);
    assert.deepEqual(got, [['b', 1]]);
    off2();
    const unsub = await host.next();
    assert.deepEqual(unsub, { v: 1, id: unsub.id, method: 'events.unsubscribe', params: { name: 'theme' } });
    host.send({ v: 1, id: unsub.id, ok: true, value: null });
    off2(); // twice: nothing more is sent
    host.send({ v: 1, event: 'theme', data: 2 });
    await flush(sdk, host);
    assert.deepEqual(got, [['b', 1]]);
  }));

test('events: a refused subscribe rejects off.ready with the host error and removes the handler', () =>
  withSdk({}, async (sdk, host, h) => {
    const got = [];
    const off = sdk.events.on('secret', (d) => got.push(d));
    const sub = await host.next();
    assert.equal(sub.method, 'events.subscribe');
    host.send({ v: 1, id: sub.id, ok: false, error: { code: 'PERMISSION_DENIED', message: 'needs events', permission: 'events' } });
    await assert.rejects(off.ready, (e) => {
      isPWE(h, 'PERMISSION_DENIED')(e);
      assert.equal(e.permission, 'events');
      assert.equal(e.message, 'needs events');
      return true;
    });
    host.send({ v: 1, event: 'secret', data: 1 });
    await flush(sdk, host);
    assert.deepEqual(got, [], 'the handler was removed');
    // off() afterwards is a no-op (nothing to unsubscribe).
    off();
    assert.ok(await host.quiet(10));
    // A new on() for the name subscribes again.
    const off2 = sdk.events.on('secret', () => {});
    const sub2 = await host.next();
    assert.deepEqual(sub2.params, { name: 'secret' });
    host.send({ v: 1, id: sub2.id, ok: true, value: null });
    await off2.ready;
  }));

// A second on() for a name whose subscribe is still in flight gets `ready = Promise.resolve()`,
// and if that subscribe is then refused, `handlers.delete(name)` drops the second handler too:
// the plugin was told it is subscribed, and its handler silently never runs.
test('events: a second on() while the subscribe is in flight shares its outcome', () =>
  withSdk({}, async (sdk, host) => {
    const off1 = sdk.events.on('theme', () => {});
    const sub = await host.next();
    const off2 = sdk.events.on('theme', () => {});
    const ready2 = track(off2.ready);
    await sleep(5);
    assert.equal(ready2.state, 'pending', 'ready must wait for the host to accept the subscription');
    host.send({ v: 1, id: sub.id, ok: false, error: { code: 'PERMISSION_DENIED', message: 'no', permission: 'events' } });
    await assert.rejects(off1.ready, { code: 'PERMISSION_DENIED' });
    await assert.rejects(off2.ready, { code: 'PERMISSION_DENIED' });
  }));

// on → off → on again before the first subscribe is answered: the first subscribe's refusal
// must not remove the handler registered (and separately subscribed) by the second on().
test('events: a stale refused subscribe does not remove a newer subscription', () =>
  withSdk({}, async (sdk, host) => {
    const got = [];
    const off1 = sdk.events.on('theme', () => {});
    const sub1 = await host.next();
    off1();
    const unsub = await host.next();
    assert.equal(unsub.method, 'events.unsubscribe');
    const off2 = sdk.events.on('theme', (d) => got.push(d));
    const sub2 = await host.next();
    assert.equal(sub2.method, 'events.subscribe');
    host.send({ v: 1, id: sub1.id, ok: false, error: { code: 'RATE_LIMITED', message: 'slow down' } });
    host.send({ v: 1, id: unsub.id, ok: true, value: null });
    host.send({ v: 1, id: sub2.id, ok: true, value: null });
    await assert.rejects(off1.ready, { code: 'RATE_LIMITED' });
    await off2.ready;
    host.send({ v: 1, event: 'theme', data: 'dark' });
    await flush(sdk, host);
    assert.deepEqual(got, ['dark']);
  }));

test('events: an event for a name with no handler is ignored and settles nothing', () =>
  withSdk({}, async (sdk, host) => {
    const t = track(sdk.storage.keys());
    const m = await host.next();
    host.send({ v: 1, event: 'nobody', data: 1 });
    host.send({ v: 1, event: 'nobody', data: 1, id: m.id });
    await sleep(10);
    assert.equal(t.state, 'pending');
    host.send({ v: 1, id: m.id, ok: true, value: [] });
    await t.promise;
  }));

test('events.emit sends {name, data}; errors come back as PluginWardenError', () =>
  withSdk({}, async (sdk, host, h) => {
    const t = track(sdk.events.emit('acme:doc.saved', { id: 7 }));
    const m = await host.next();
    assert.deepEqual(m, { v: 1, id: m.id, method: 'events.emit', params: { name: 'acme:doc.saved', data: { id: 7 } } });
    host.send({ v: 1, id: m.id, ok: false, error: { code: 'PERMISSION_DENIED', message: 'needs events', permission: 'events' } });
    await assert.rejects(t.promise, isPWE(h, 'PERMISSION_DENIED'));
  }));

// ---------------------------------------------------------------------------------------------
// remote UI

test('ui.render sends {html}; ui.onAction gets ui.action events unsubscribed, until off()', () =>
  withSdk({}, async (sdk, host, h) => {
    const r = track(sdk.ui.render('<button data-action="go">Go</button>'));
    const m = await host.next();
    assert.deepEqual(m, { v: 1, id: m.id, method: 'ui.render', params: { html: '<button data-action="go">Go</button>' } });
    host.send({ v: 1, id: m.id, ok: true, value: null });
    await r.promise;
    assert.equal(r.value, null);

    const got = [];
    const off = sdk.ui.onAction((a) => got.push(['a', a]));
    sdk.ui.onAction((a) => got.push(['b', a.action]));
    assert.ok(await host.quiet(10), 'onAction subscribes to nothing on the wire');
    host.send({ v: 1, event: 'ui.action', data: { action: 'go', type: 'click' } });
    host.send({ v: 1, event: 'other', data: 1 });
    host.send({ v: 1, event: 'ui.action', data: { action: 'x', __proto__: null, constructor: 1 } });
    await flush(sdk, host);
    assert.deepEqual(got, [['a', { action: 'go', type: 'click' }], ['b', 'go']]);
    off();
    off();
    host.send({ v: 1, event: 'ui.action', data: { action: 'save', type: 'submit', form: { q: 'x' } } });
    await flush(sdk, host);
    assert.deepEqual(got.slice(2), [['b', 'save']]);
    assert.throws(() => sdk.ui.onAction('nope'), isPWE(h, 'INVALID_ARGUMENT'));
  }));

test('ui.render refused by the host rejects with its code', () =>
  withSdk({}, async (sdk, host, h) => {
    const r = sdk.ui.render('<b>x</b>');
    const m = await host.next();
    host.send({ v: 1, id: m.id, ok: false, error: { code: 'PERMISSION_DENIED', message: 'ui.render needs a remote-UI mount' } });
    await assert.rejects(r, isPWE(h, 'PERMISSION_DENIED'));
  }));
