// src/web/binary.js's encoder, in Node: its fast path (plain JSON, no replacer) must give the
// same text as the replacer path for everything it accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pwAheadHooks, pwEncodeInto, pwListen, pwPeekId, pwSetPortHooks } from '../../src/web/binary.js';

test('a toJSON that returns a typed array still gives binary data, not {"0":…}', () => {
  const buffers = [];
  const text = pwEncodeInto({ x: { toJSON: () => new Uint8Array([9, 8]) } }, false, buffers);
  assert.equal(buffers.length, 1);
  assert.deepEqual(JSON.parse(text).x, { '$pw:binary': 0, type: 'Uint8Array', bytes: 2 });
});

test('plain JSON takes the fast path and reads the same', () => {
  const buffers = [];
  const v = { a: [1, 'two', null, { b: true }], c: 'x' };
  assert.equal(pwEncodeInto(v, false, buffers), JSON.stringify(v));
  assert.equal(buffers.length, 0);
});

// pwListen: a small message's text is made in the listener, before the core's rate limiter.
// What it hands over must be what the other path (pwPeekId, then pwEncodeInto once admitted)
// would: the same id, the same text. Nothing a plugin posts may make it throw, and what it
// takes must stay small whatever is posted.
test('pwListen hands a small message over as the other path reads it, and nothing else', () => {
  let seed = 7;
  const rand = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const pick = (xs) => xs[rand(xs.length)];
  const strings = ['', 'k', 'storage.get', '"\\\n\u0001\u2028é😀', '\ud800', 'x'.repeat(256), 'x'.repeat(257), 'x'.repeat(17_000)];
  const names = ['v', 'id', 'method', 'params', 'key', 'event', 'value', '$pw:binary', '__proto__', 'toJSON', 'n'.repeat(257), 'n'.repeat(17_000)];
  function value(depth) {
    switch (rand(depth > 2 ? 9 : 14)) {
      case 0: return pick([0, 1, 7, -1, 1.5, -0, 2 ** 53 - 1, 2 ** 53, NaN, Infinity]);
      case 1: return pick(strings);
      case 2: return pick([true, false, null, undefined]);
      case 3: return BigInt(rand(5));
      case 4: return 'pong';
      case 5: return pick(strings);
      case 6: return rand(3);
      case 7: return 'storage.get';
      case 8: return 1;
      case 9: return Array.from({ length: rand(6) }, () => value(depth + 1));
      case 10: return pick([new Uint8Array(rand(3)), new Date(rand(2) ? 0 : NaN), new Map([[1, 2]])]);
      default: {
        const o = {};
        for (let i = rand(7); i > 0; i--) o[pick(names)] = value(depth + 1);
        return o;
      }
    }
  }
  function message() {
    const m = {};
    if (rand(4)) m.v = rand(4) ? 1 : value(1);
    if (rand(8)) m.id = rand(4) ? rand(1000) : value(1);
    if (rand(4)) m.method = rand(2) ? 'storage.get' : value(1);
    if (rand(5)) m.params = rand(2) ? { key: pick(strings) } : value(1);
    for (let i = rand(3) ? 0 : rand(3); i > 0; i--) m[pick(names)] = value(1);
    if (rand(20) === 0) return { event: 'pong', data: { seq: rand(9) }, id: rand(9) };
    return rand(30) === 0 ? value(0) : m;
  }
  let listener = null;
  const port = { addEventListener: (type, fn) => { assert.equal(type, 'message'); listener = fn; } };
  let got = null;
  const made = pwListen(port, (id, json, units, now) => { got = { id, json, units, now }; return true; }, (data) => { got = { data }; return true; }, () => assert.fail('unserved'), 1);
  assert.equal(made, listener);
  let small = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    let data;
    try { data = structuredClone(message()); } catch { continue; }
    got = null;
    listener({ data }); // never throws
    assert.ok(got, 'neither path was called');
    if ('data' in got) {
      assert.equal(got.data, data);
      continue;
    }
    small += 1;
    assert.equal(got.id, pwPeekId(data));
    assert.ok(got.id >= 0);
    const buffers = [];
    assert.equal(got.json, pwEncodeInto(data, data.method === 'storage.set', buffers));
    assert.equal(buffers.length, 0);
    assert.equal(got.units, got.json.length);
    assert.ok(Math.abs(got.now - Date.now()) < 1000);
    assert.ok(got.json.length < 16 * 1024, `${got.json.length} units taken before the rate limiter`);
  }
  // Both paths are reached often.
  assert.ok(small > n / 20 && small < n * 0.9, `${small} of ${n} small`);
});

test('pwListen with a polluted Object.prototype: still the other path\'s id and text', () => {
  let listener = null;
  let got = null;
  pwListen({ addEventListener: (_, fn) => { listener = fn; } }, (id, json) => { got = { id, json }; return true; }, (data) => { got = { data }; return true; }, () => assert.fail('unserved'), 1);
  const messages = [
    { v: 1, id: 3, method: 'storage.get', params: { key: 'k' } },
    { v: 1, id: 4, method: 'events.emit', params: { name: 'n' } },
    { v: 1, id: 5, method: 'storage.get', params: { key: 'k' }, x: 1 },
    { id: 6, method: 'storage.get', params: { key: 'k' } },
  ];
  // The page's own script may add enumerable properties (for…in sees them, JSON.stringify does
  // not) or a hidden toJSON (JSON.stringify calls it, on both paths).
  const pollutions = [
    () => { Object.prototype.extra = 'x'; return () => { delete Object.prototype.extra; }; },
    () => {
      Object.defineProperty(Object.prototype, 'toJSON', { configurable: true, value() { return { swapped: true }; } });
      return () => { delete Object.prototype.toJSON; };
    },
  ];
  for (const pollute of pollutions) {
    let small = 0;
    for (const m of messages) {
      const data = structuredClone(m);
      const undo = pollute();
      try {
        got = null;
        listener({ data });
        if ('json' in got) {
          small += 1;
          assert.equal(got.id, pwPeekId(data));
          assert.equal(got.json, pwEncodeInto(data, false, []));
        } else {
          assert.equal(got.data, data);
        }
      } finally {
        undo();
      }
    }
    assert.ok(small > 0, 'no message took the listener\'s own path');
  }
});

// pwEncodeInto's bound (`max`): a count made before any text, whose work `max` bounds. It must
// never call a message that fits too large (a lower bound of the text and its binary bytes),
// and it must refuse what is small on the wire but huge to walk without walking it.
test('with a bound, a value whose text and bytes fit is encoded as without one: the count is a lower bound', () => {
  let seed = 11;
  const rand = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const pick = (xs) => xs[rand(xs.length)];
  const strings = ['', 'k', '"\\\n\u0001\u2028é😀', '\ud800', 'x'.repeat(300), '\u0000'.repeat(40)];
  function value(depth) {
    switch (rand(depth > 3 ? 6 : 10)) {
      case 0: return pick([0, 7, -1, 1.5, -0, 2 ** 53, NaN, Infinity, 1e-300]);
      case 1: return pick(strings);
      case 2: return pick([true, false, null]);
      case 3: return new Uint8Array(rand(40));
      case 4: return pick([new Date(0), new String('boxed'), new Number(3), new Boolean(false)]);
      case 5: return pick([new ArrayBuffer(rand(9)), new DataView(new ArrayBuffer(3)), new Float64Array(2)]);
      case 6: case 7: {
        const a = Array.from({ length: rand(5) }, () => value(depth + 1));
        if (rand(4) === 0) a.length += rand(4); // holes: `null` in the text
        return a;
      }
      default: {
        const o = {};
        for (let i = rand(5); i > 0; i--) o[pick(['a', 'key', 'é', '"q"', 'x'.repeat(30), String(i)])] = value(depth + 1);
        return o;
      }
    }
  }
  for (let i = 0; i < 6000; i++) {
    // Half of them bare (no envelope's text to make up for a count that is too high).
    const data = value(0);
    const v = i % 2 ? data : { v: 1, id: i, method: 'events.emit', params: { name: 'e', data } };
    for (const inline of [false, true]) {
      const buffers = [];
      const text = pwEncodeInto(v, inline, buffers);
      const bytes = buffers.reduce((n, b) => n + b.byteLength, 0);
      const size = new TextEncoder().encode(text).length + bytes;
      const bounded = [];
      assert.equal(pwEncodeInto(v, inline, bounded, size), text, `case ${i}: refused at its own size ${size}`);
      assert.equal(bounded.length, buffers.length);
    }
  }
});

test('with a bound, values small on the wire but huge to walk are refused with a count past it, at once', () => {
  const holey = () => { const a = []; a.length = 2 ** 32 - 1; return a; };
  const shared = (leaf) => { let v = leaf; for (let i = 0; i < 40; i++) v = [v, v]; return v; };
  const objects = (leaf) => { let v = leaf; for (let i = 0; i < 40; i++) v = { l: v, r: v }; return v; };
  const undefinedKeys = () => { const o = {}; for (let i = 0; i < 1000; i++) o[`k${i}`] = undefined; let v = o; for (let i = 0; i < 40; i++) v = [v, v]; return v; };
  const cases = {
    holey: holey(),
    holeyDeep: { a: [1, { b: holey() }] },
    sharedString: shared('sixteen chars...'),
    sharedObjects: objects(1),
    sharedBytes: shared(new Uint8Array(1024)),
    sharedUndefinedKeys: undefinedKeys(),
  };
  for (const [name, v] of Object.entries(cases)) {
    for (const inline of [false, true]) {
      const buffers = [];
      const r = pwEncodeInto({ v: 1, id: 1, method: 'events.emit', params: { name: 'e', data: v } }, inline, buffers, 65536);
      assert.equal(typeof r, 'number', `${name}: ${typeof r}`);
      assert.ok(r > 65536, `${name}: ${r}`);
      assert.equal(buffers.length, 0, `${name}: buffers were copied`);
    }
  }
});

// pwListen holds what the core cannot take before its second part has loaded (a path answered
// false): that message and every later one of the port, in order, until the part has loaded
// (handed again) or could not be (handed again, and answered MODULE_NOT_LOADED if still not
// taken, and told to `unserved` with the method it names, for the audit log). Never lost,
// never reordered, never held without bound.
function holdingPort(accept) {
  let listener = null;
  const seen = [];
  const answered = [];
  const unserved = [];
  const port = {
    addEventListener: (_, fn) => { listener = fn; },
    removeEventListener: (_, fn) => { if (fn === listener) listener = null; },
    postMessage: (m) => answered.push(m),
  };
  const made = pwListen(port,
    (id) => { seen.push(id); return accept(id); },
    (data) => { seen.push(data.tag); return accept(data.tag); },
    (method) => unserved.push(method), 1);
  return {
    post: (data) => listener({ data }), seen, unserved, answered: () => answered.map((m) => [m.id, m.error.code]),
    remove: () => port.removeEventListener('message', made),
  };
}
const call = (id) => ({ v: 1, id, method: 'storage.get', params: { key: 'k' } });
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Port hooks whose load of the core's second part has not ended until the test ends it:
 * `load.loaded` is false until `await load.end()`, which also lets the listener hand on what it
 * held. (The test resets the hooks: `pwSetPortHooks(null)`.)
 */
function slowLoad() {
  let finish = null;
  const load = {
    loaded: false,
    async end() {
      load.loaded = true;
      finish();
      await settle();
    },
  };
  pwSetPortHooks(() => new Promise((resolve) => { finish = resolve; }));
  return load;
}

test('a plugin\'s message is read ahead (pwAheadHooks) only while the core\'s second part is not loaded', () => {
  let loaded = false;
  let prepared = 0;
  try {
    pwSetPortHooks(null);
    assert.equal(pwAheadHooks(), false, 'without hooks (an unsplit module): handed on as it is');
    pwSetPortHooks(() => null, () => { prepared++; return true; }, () => loaded);
    assert.equal(pwAheadHooks(), true, 'hooks, the part not loaded: read ahead');
    loaded = true;
    assert.equal(pwAheadHooks(), false, 'the part loaded: handed on as it is');
    assert.equal(prepared, 0, 'asking prepares nothing');
  } finally {
    pwSetPortHooks(null);
  }
});

test('pwListen holds a message the core cannot take yet, and the later ones, until the part loads', async () => {
  let loaded = false;
  let finish = null;
  let loads = 0;
  pwSetPortHooks(() => (loaded ? null : (loads++, new Promise((resolve) => { finish = () => { loaded = true; resolve(); }; }))));
  try {
    const port = holdingPort((id) => loaded || id !== 2);
    port.post(call(1));
    port.post(call(2)); // refused: needs the part
    port.post(call(3)); // would be taken, but must not overtake 2
    port.post({ tag: 'big', data: new Uint8Array(4) }); // the other path, held too
    assert.deepEqual(port.seen, [1, 2]);
    assert.equal(loads, 1);
    finish();
    await settle();
    assert.deepEqual(port.seen, [1, 2, 2, 3, 'big']);
    port.post(call(4));
    assert.deepEqual(port.seen.slice(5), [4]);
    assert.equal(loads, 1);
    assert.deepEqual(port.answered(), []);
  } finally {
    pwSetPortHooks(null);
  }
});

test('pwListen answers MODULE_NOT_LOADED what it still cannot hand over when the part cannot load, then goes on', async () => {
  let fail = true;
  pwSetPortHooks(() => Promise.reject(new Error('offline')));
  try {
    const port = holdingPort((id) => !fail || id % 2 === 1);
    port.post(call(1));
    port.post(call(2));
    port.post(call(3));
    port.post({ tag: 'no id' }); // refused too, with no id to answer
    await settle();
    assert.deepEqual(port.seen, [1, 2, 2, 3, 'no id']);
    assert.deepEqual(port.answered(), [[2, 'MODULE_NOT_LOADED']]);
    // Both told, for the audit log: the one answered and the one with no id to answer.
    assert.deepEqual(port.unserved, ['storage.get', undefined]);
    fail = false;
    port.post(call(6));
    assert.equal(port.seen.at(-1), 6);
  } finally {
    pwSetPortHooks(null);
  }
});

test('pwListen holds at most 256 messages; a flood past them is handed at once (and answered if not taken)', async () => {
  const load = slowLoad();
  try {
    const port = holdingPort(() => load.loaded);
    for (let i = 1; i <= 300; i++) port.post(call(i));
    // 1 … 256 held (1 was tried), 257 … 300 tried at once and answered.
    assert.deepEqual(port.seen.slice(1), Array.from({ length: 44 }, (_, i) => 257 + i));
    assert.deepEqual(port.answered().map(([id]) => id), Array.from({ length: 44 }, (_, i) => 257 + i));
    await load.end();
    assert.deepEqual(port.seen.slice(45), Array.from({ length: 256 }, (_, i) => i + 1));
    assert.equal(port.answered().length, 44);
    assert.equal(port.unserved.length, 44);
  } finally {
    pwSetPortHooks(null);
  }
});

test('pwListen tells the audit a message\'s method only when it is a method\'s name, whatever the plugin put there', async () => {
  const port = holdingPort(() => false);
  const methods = [
    'ui.render', 'x'.repeat(64), // names
    'x'.repeat(65), '', 'storage.get key=secret', '<img src=x>', 'storage\nget', // text
    7, null, { toString: () => 'storage.get' }, ['storage.get'], // not strings
  ];
  for (const method of methods) port.post({ v: 1, id: 1, method });
  port.post(7); // not even an object
  port.post({ v: 1, id: 1 }); // no method
  await settle();
  assert.deepEqual(port.unserved, ['ui.render', 'x'.repeat(64), ...Array(11).fill(undefined)]);
  assert.equal(port.answered().length, methods.length + 1);
});

test('pwListen with nothing to load hands a held message on once more, then answers it', async () => {
  const port = holdingPort(() => false);
  port.post(call(1));
  port.post(call(2));
  await settle();
  assert.deepEqual(port.seen, [1, 1, 2]);
  assert.deepEqual(port.answered(), [[1, 'MODULE_NOT_LOADED'], [2, 'MODULE_NOT_LOADED']]);
});

test('pwListen after a failed load: no new load for 0.5 s (doubling while they fail), held messages answered meanwhile', async () => {
  let loads = 0;
  let now = 1_000_000;
  const realNow = Date.now;
  Date.now = () => now;
  pwSetPortHooks(() => { loads++; return Promise.reject(new Error('offline')); });
  try {
    const port = holdingPort(() => false);
    port.post(call(1));
    await settle();
    assert.equal(loads, 1);
    now += 499;
    port.post(call(2));
    await settle();
    assert.equal(loads, 1, 'loaded again within 0.5 s of a failure');
    now += 2;
    port.post(call(3));
    await settle();
    assert.equal(loads, 2);
    now += 501;
    port.post(call(4));
    await settle();
    assert.equal(loads, 2, 'the wait did not double');
    now += 500;
    port.post(call(5));
    await settle();
    assert.equal(loads, 3);
    assert.deepEqual(port.answered().map(([id]) => id), [1, 2, 3, 4, 5], 'each answered once, in order');
  } finally {
    Date.now = realNow;
    pwSetPortHooks(null);
  }
});

// With the split module's hooks (the part's load, and whether it is loaded): what is read ahead
// while the part cannot load, each read-ahead cut off leaking what it built.
const outage = () => {
  let loaded = false;
  pwSetPortHooks(() => Promise.reject(new Error('offline')), () => true, () => loaded);
  return { load: () => { loaded = true; }, loaded: () => loaded };
};
const named = (id, method) => ({ v: 1, id, method, params: {} });

test('pwListen reads a message cut off ahead once while the part cannot load: not again on its last chance, unless the part has loaded meanwhile', async () => {
  const part = outage();
  try {
    const port = holdingPort((id) => part.loaded() || id % 2 === 1);
    port.post(call(1));
    port.post(call(2)); // cut off: not read again when it is answered
    port.post(call(3));
    await settle();
    assert.deepEqual(port.seen, [1, 2, 3]);
    assert.deepEqual(port.answered(), [[2, 'MODULE_NOT_LOADED']]);
    // Loaded by another path while one waits: handed over again, and taken.
    port.post(call(4)); // cut off
    part.load();
    await settle();
    assert.deepEqual(port.seen.slice(3), [4, 4]);
    assert.deepEqual(port.answered(), [[2, 'MODULE_NOT_LOADED']]);
  } finally {
    pwSetPortHooks(null);
  }
});

test('pwListen past 32 read-aheads cut off: a method the core took from the port before is still read ahead (until one call of it is cut off), any other answered without one', async () => {
  const part = outage();
  try {
    // The core takes storage.get and permissions.list, not api.fetch nor events.emit (they
    // need the part); ui.notify it takes only once.
    let notified = 0;
    const takes = { 'storage.get': () => true, 'permissions.list': () => true, 'ui.notify': () => notified++ === 0 };
    let listener = null;
    const seen = [];
    const answered = [];
    pwListen(
      { addEventListener: (_, fn) => { listener = fn; }, postMessage: (m) => answered.push(m.id) },
      (id, json) => { const { method } = JSON.parse(json); seen.push(id); return part.loaded() || (takes[method] ?? (() => false))(); },
      (data) => { seen.push(data.event); return true; }, () => {}, 1);
    const post = async (id, method) => { listener({ data: named(id, method) }); await settle(); };
    await post(1, 'storage.get');
    await post(2, 'ui.notify');
    for (let i = 0; i < 40; i++) await post(100 + i, 'api.fetch');
    // 32 read ahead (and cut off), the 8 past them answered without one.
    assert.deepEqual(seen.slice(2), Array.from({ length: 32 }, (_, i) => 100 + i));
    assert.deepEqual(answered, Array.from({ length: 40 }, (_, i) => 100 + i));
    await post(3, 'storage.get'); // taken before: read ahead, served
    await post(4, 'permissions.list'); // never taken from this port: answered at once
    await post(5, 'ui.notify'); // taken before: read ahead, and cut off …
    await post(6, 'ui.notify'); // … so not read again
    await post(7, 'storage.get');
    await post(8, 'events.emit');
    assert.deepEqual(seen.slice(34), [3, 5, 7]);
    assert.deepEqual(answered.slice(40), [4, 5, 6, 8]);
    // Pongs are read as ever; once the part is loaded, everything is.
    listener({ data: { event: 'pong', seq: 1 } });
    part.load();
    await post(9, 'events.emit');
    await post(10, 'permissions.list');
    assert.deepEqual(seen.slice(37), ['pong', 9, 10]);
  } finally {
    pwSetPortHooks(null);
  }
});

test('pwListen hands a pong over at once while messages wait for the part (a slow load must not fail a plugin that answers its pings)', async () => {
  const load = slowLoad();
  try {
    const port = holdingPort((tag) => load.loaded || tag !== 1);
    port.post(call(1)); // needs the part: held
    port.post(call(2)); // held behind it
    port.post({ tag: 'pong', event: 'pong', data: { seq: 1 } });
    assert.deepEqual(port.seen, [1, 'pong']);
    await load.end();
    assert.deepEqual(port.seen, [1, 'pong', 1, 2]);
    assert.deepEqual(port.answered(), []);
  } finally {
    pwSetPortHooks(null);
  }
});

test('pwListen holds messages for a load at most 5 s: then answers what still needs the part and hands the rest on; the load goes on, and serves the later ones', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const flush = () => new Promise((resolve) => setImmediate(resolve)); // (setTimeout is mocked)
  let finish = null;
  let loads = 0;
  let loaded = false;
  pwSetPortHooks(() => (loaded ? null : (loads++, new Promise((resolve) => { finish = resolve; }))));
  try {
    const port = holdingPort((id) => loaded || id % 2 === 1);
    port.post(call(2)); // needs the part
    port.post(call(3));
    t.mock.timers.tick(4_999);
    await flush();
    assert.deepEqual(port.seen, [2]);
    assert.deepEqual(port.answered(), []);
    t.mock.timers.tick(1);
    await flush();
    assert.deepEqual(port.seen, [2, 2, 3]);
    assert.deepEqual(port.answered(), [[2, 'MODULE_NOT_LOADED']]);
    assert.deepEqual(port.unserved, ['storage.get']);
    // The load ends later: nothing is handed over twice; the next messages are served.
    loaded = true;
    finish();
    await flush();
    port.post(call(4));
    assert.deepEqual(port.seen, [2, 2, 3, 4]);
    assert.deepEqual(port.answered(), [[2, 'MODULE_NOT_LOADED']]);
    assert.equal(loads, 1);
  } finally {
    pwSetPortHooks(null);
  }
});

test('pwListen, removed while it holds messages (the plugin unmounted): hands nothing more over, answers nothing', async () => {
  const load = slowLoad();
  try {
    const port = holdingPort(() => {
      if (load.loaded) throw new Error('closure invoked after being dropped');
      return false;
    });
    port.post(call(1));
    port.post(call(2));
    port.remove();
    await load.end();
    assert.deepEqual(port.seen, [1]);
    assert.deepEqual(port.answered(), []);
  } finally {
    pwSetPortHooks(null);
  }
});
