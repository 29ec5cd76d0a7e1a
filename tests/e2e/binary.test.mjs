// Binary data on the bridge, in Chromium through the public API: ArrayBuffers, typed arrays and
// DataViews in event data (both ways), stored values (every backend, encrypted too), plugin-to-
// plugin arguments and answers, and api.fetch bodies and `responseType: 'arraybuffer'` answers
// arrive as the same types with the same bytes, from 1 byte to the size limit; one byte over the
// limit is refused with a code; a plugin cannot forge the placeholder the host uses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost, until, hostCall } from './helpers.mjs';

let env, host, page;

before(async () => {
  env = await startEnv(19620);
  host = await openHost(env, 'scenario=none');
  page = host.page;
});

after(async () => {
  await host?.close();
  await env?.close();
});

// A worker plugin that runs the scenario the test names: `run` events carry its name and
// arguments, and the answer (or the error's code and message) comes back as a `done` event. `describe` turns binary data into { type, bytes: [...] }
// (or, for big ones, a length and a checksum) so it survives the trip back as plain data.
const RUNNER = `
const sdk = await pluginWarden.connect();
const describe = (v) => {
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    const u8 = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    let sum = 0;
    for (const b of u8) sum = (sum * 31 + b) >>> 0;
    return { type: v.constructor.name, length: u8.length, sum, head: [...u8.slice(0, 8)], own: v instanceof ArrayBuffer || v.byteLength === v.buffer.byteLength };
  }
  if (Array.isArray(v)) return v.map(describe);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describe(x)]));
  return v;
};
const received = [];
sdk.events.on('host-data', (data) => received.push(describe(data)));
sdk.plugins.handle('bytes', (args) => ({ got: describe(args), reply: new Uint16Array([7, 8, 9]) }));
const make = (n) => { const u = new Uint8Array(n); for (let i = 0; i < n; i++) u[i] = (i * 7 + 3) % 256; return u; };
// The largest n for which step(n) succeeds (it may fail only with MESSAGE_REJECTED).
const largest = async (hi, step) => {
  let lo = 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try { await step(mid); lo = mid; } catch (e) {
      if (e.code !== 'MESSAGE_REJECTED') throw e;
      hi = mid - 1;
    }
  }
  return lo;
};
const codeOf = async (p) => { try { await p; return 'ok'; } catch (e) { return { code: e.code, message: e.message }; } };
const SCENARIOS = {
  async events() {
    const buf = new ArrayBuffer(4); new Uint8Array(buf).set([1, 2, 3, 4]);
    const big = new Uint8Array(10); big.set([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    await sdk.events.emit('bin', {
      buf, u8: new Uint8Array([250, 251]), i16: new Int16Array([-2, 300]), f64: new Float64Array([Math.PI]),
      big64: new BigInt64Array([-5n]), dv: new DataView(buf, 1, 2), slice: big.subarray(2, 5),
      nested: [{ deep: new Uint8Array([42]) }], text: 'still JSON', n: 1,
    });
  },
  received() { return received; },
  async storage() {
    await sdk.storage.clear();
    const out = {};
    for (const n of [1, 2, 3, 1000]) {
      await sdk.storage.set('k' + n, { bytes: make(n), n });
      const back = await sdk.storage.get('k' + n);
      out[n] = { n: back.n, d: describe(back.bytes) };
    }
    await sdk.storage.set('mixed', [new Float64Array([0.25]), new DataView(new ArrayBuffer(2)), 'text']);
    out.mixed = describe(await sdk.storage.get('mixed'));
    // The largest value whose message fits: stored binary is base64 (4 characters per 3 bytes).
    const max = await largest(8192, (n) => sdk.storage.set('max', make(n)));
    await sdk.storage.set('max', make(max));
    out.max = { n: max, d: describe(await sdk.storage.get('max')) };
    out.over = (await codeOf(sdk.storage.set('over', make(max + 3)))).code;
    out.overKept = (await sdk.storage.get('over')) === undefined ? 'missing' : 'present';
    return out;
  },
  async limit() {
    const max = await largest(4096, (n) => sdk.events.emit('size', make(n)));
    await sdk.events.emit('size', make(max));
    return { max, over: await codeOf(sdk.events.emit('size', make(max + 1))) };
  },
  async forged() {
    const out = [];
    for (const forged of [
      { '$pw:binary': 0, type: 'Uint8Array', bytes: 3 },
      { '$pw:binary': 'AAEC', type: 'Uint8Array', bytes: 3 },
      { deep: [{ '$pw:binary': null }] },
    ]) {
      out.push(await codeOf(sdk.events.emit('forged', forged)));
      out.push(await codeOf(sdk.storage.set('forged', forged)));
    }
    return out;
  },
  async lossy() {
    const out = [];
    for (const v of [new Map([[1, 2]]), new Set([1]), new Blob(['x']), /x/, new Error('e')]) {
      out.push(await codeOf(sdk.events.emit('lossy', { v })));
      out.push(await codeOf(sdk.storage.set('lossy', [v])));
    }
    return out;
  },
  async call() {
    const answer = await sdk.plugins.call('bin-callee', 'bytes', { a: new Uint8Array([5, 6]), b: new ArrayBuffer(3) });
    return describe(answer);
  },
  async fetch({ api }) {
    const echo = await sdk.api.fetch(api + '/api/bytes', { method: 'POST', body: new Uint8Array([1, 2, 0, 255]), responseType: 'arraybuffer' });
    const full = await sdk.api.fetch(api + '/api/bytes?n=65536', { responseType: 'arraybuffer' });
    const over = (await codeOf(sdk.api.fetch(api + '/api/bytes?n=65537', { responseType: 'arraybuffer' }))).code;
    const text = await sdk.api.fetch(api + '/api/quotes');
    const badType = (await codeOf(sdk.api.fetch(api + '/api/quotes', { responseType: 'blob' }))).code;
    return { echo: { status: echo.status, body: describe(echo.body) }, full: describe(full.body), over, textType: typeof text.body, badType };
  },
};
sdk.events.on('run', async ({ n, name, args }) => {
  try {
    const value = await SCENARIOS[name](args);
    await sdk.events.emit('done', { n, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    await sdk.events.emit('done', { n, ok: false, code: e.code ?? null, message: String(e.message) });
  }
});
await sdk.events.on('run', () => {}).ready;
await sdk.events.on('host-data', () => {}).ready;
await sdk.events.emit('ready', {});
`;

// Describe binary data in the host page the same way (the onEvent data).
const DESCRIBE_IN_PAGE = `(v) => {
  const d = (v) => {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
      const u8 = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      let sum = 0;
      for (const b of u8) sum = (sum * 31 + b) >>> 0;
      return { type: v.constructor.name, length: u8.length, sum, head: [...u8.slice(0, 8)] };
    }
    if (Array.isArray(v)) return v.map(d);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, d(x)]));
    return v;
  };
  return d(v);
}`;

let counter = 0;

/** Run scenario `name` in plugin `id`; answers its `done` data. */
async function run(id, name, args = null) {
  const n = ++counter;
  assert.equal((await hostCall(page, 'emit', 'run', { n, name, args })).value >= 1, true);
  const done = await until(() => page.evaluate(([id, n]) => window.e2e.state.events.find((e) => e.pluginId === id && e.name === 'done' && e.data.n === n)?.data ?? null, [id, n]), 15_000);
  assert.ok(done, `no answer from ${id} for run ${n}`);
  return done;
}

async function installRunner(id, extra = {}) {
  const manifest = { id, name: id, version: '1.0.0', permissions: ['events', 'storage'], ...extra };
  const r = await page.evaluate(([m, c]) => window.e2e.install(m, { code: c }), [manifest, RUNNER]);
  assert.equal(r.ok, true, JSON.stringify(r));
  const m = await page.evaluate((id) => { window.e2e.mountWorker(id); return window.e2e.settled(id); }, id);
  assert.equal(m.ok, true, JSON.stringify(m));
  await until(() => page.evaluate((id) => window.e2e.state.events.some((e) => e.pluginId === id && e.name === 'ready'), id), 10_000);
}

async function freshHost(options) {
  await page.evaluate((o) => { window.e2e.state.events.length = 0; return window.e2e.create(o); }, options);
}

// The bytes the plugin's make(n) builds: byte i = (i * 7 + 3) % 256.
const sumOf = (n) => { let s = 0; for (let i = 0; i < n; i++) s = (s * 31 + ((i * 7 + 3) % 256)) >>> 0; return s; };

test('event data from a plugin: every binary type arrives in onEvent as itself, byte for byte', async () => {
  await freshHost({ storage: 'memory' });
  await installRunner('bin-events');
  const r = await run('bin-events', 'events');
  assert.equal(r.ok, true, JSON.stringify(r));
  const got = await page.evaluate(`(${DESCRIBE_IN_PAGE})(window.e2e.state.events.find((e) => e.name === 'bin').data)`);
  assert.deepEqual(got.buf, { type: 'ArrayBuffer', length: 4, sum: got.buf.sum, head: [1, 2, 3, 4] });
  assert.deepEqual(got.u8.head, [250, 251]);
  assert.equal(got.u8.type, 'Uint8Array');
  assert.deepEqual([got.i16.type, got.i16.length], ['Int16Array', 4]);
  assert.deepEqual(await page.evaluate(() => [...window.e2e.state.events.find((e) => e.name === 'bin').data.i16]), [-2, 300]);
  assert.deepEqual(await page.evaluate(() => window.e2e.state.events.find((e) => e.name === 'bin').data.f64[0]), Math.PI);
  assert.equal(await page.evaluate(() => String(window.e2e.state.events.find((e) => e.name === 'bin').data.big64[0])), '-5');
  assert.deepEqual([got.dv.type, got.dv.head], ['DataView', [2, 3]]);
  assert.deepEqual([got.slice.type, got.slice.head], ['Uint8Array', [7, 6, 5]]);
  assert.deepEqual(got.nested, [{ deep: { type: 'Uint8Array', length: 1, sum: 42, head: [42] } }]);
  assert.equal(got.text, 'still JSON');
});

test('host.emit with binary data: each plugin gets its own copy and the host page keeps its buffer', async () => {
  const r = await page.evaluate(() => {
    const data = { u8: new Uint8Array([1, 2, 3]), f32: new Float32Array([1.5]) };
    const sent = window.e2e.host.emit('host-data', data);
    return { sent, stillAttached: data.u8.byteLength, first: data.u8[0] };
  });
  assert.deepEqual(r, { sent: 1, stillAttached: 3, first: 1 });
  const received = await until(async () => {
    const a = await run('bin-events', 'received');
    return a.value.length ? a.value : null;
  }, 10_000);
  assert.deepEqual(received[0].u8.head, [1, 2, 3]);
  assert.equal(received[0].u8.type, 'Uint8Array');
  assert.deepEqual([received[0].f32.type, received[0].f32.length], ['Float32Array', 4]);
});

for (const storage of ['memory', 'local', 'indexeddb', 'encrypted']) {
  test(`storage (${storage}): binary values round-trip from 1 byte to the limit; one byte more is refused`, async () => {
    const options = storage === 'encrypted' ? { storage: 'indexeddb', encrypt: true } : { storage };
    // A small message limit keeps the test quick: 8 KiB; the value limit stays the default.
    await freshHost({ ...options, limits: { maxMessageBytes: 8192 } });
    await installRunner(`bin-store-${storage}`);
    const id = `bin-store-${storage}`;
    const r = await run(id, 'storage');
    assert.equal(r.ok, true, JSON.stringify(r));
    for (const n of [1, 2, 3, 1000]) {
      assert.deepEqual(r.value[n], { n, d: { type: 'Uint8Array', length: n, sum: sumOf(n), head: r.value[n].d.head, own: true } });
    }
    assert.deepEqual(r.value.mixed.map((d) => d.type ?? d), ['Float64Array', 'DataView', 'text']);
    assert.ok(r.value.max.n > 5000 && r.value.max.n < 6144, `largest stored binary value ${r.value.max.n} bytes for an 8 KiB message`);
    assert.deepEqual(r.value.max.d, { type: 'Uint8Array', length: r.value.max.n, sum: sumOf(r.value.max.n), head: r.value.max.d.head, own: true });
    assert.equal(r.value.over, 'MESSAGE_REJECTED');
    assert.equal(r.value.overKept, 'missing');
  });
}

test('event data: binary counts against the message limit (text + bytes); one byte over is refused', async () => {
  await freshHost({ storage: 'memory', limits: { maxMessageBytes: 4096 } });
  await installRunner('bin-limit');
  const r = await run('bin-limit', 'limit');
  assert.equal(r.ok, true, JSON.stringify(r));
  // The placeholder's JSON text is under 100 bytes: nearly all of the limit is binary.
  assert.ok(r.value.max > 3900 && r.value.max < 4096, `largest binary event ${r.value.max}`);
  assert.equal(r.value.over.code, 'MESSAGE_REJECTED');
  assert.match(r.value.over.message, /at most 4096 bytes of JSON text and binary data/);
  const last = await page.evaluate(`(${DESCRIBE_IN_PAGE})(window.e2e.state.events.filter((e) => e.name === 'size').at(-1).data)`);
  assert.equal(last.length, r.value.max);
  assert.equal(last.sum, sumOf(r.value.max));
});

test('a plugin cannot forge the binary placeholder: refused with the path, nothing delivered', async () => {
  const r = await run('bin-limit', 'forged');
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.length, 6);
  for (const o of r.value) {
    assert.equal(o.code, 'MESSAGE_REJECTED', JSON.stringify(o));
    assert.match(o.message, /reserved for binary data/);
  }
  assert.match(r.value[4].message, /^params\.data\.deep\[0\]/);
  assert.equal(await page.evaluate(() => window.e2e.state.events.filter((e) => e.name === 'forged').length), 0);
});

test('values JSON would turn into {} (Map, Set, Blob, RegExp, Error) are refused, never stored or delivered empty', async () => {
  const r = await run('bin-limit', 'lossy');
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.length, 10);
  for (const o of r.value) {
    assert.equal(o.code, 'MESSAGE_REJECTED', JSON.stringify(o));
    assert.match(o.message, /no JSON form/);
  }
  assert.equal(await page.evaluate(() => window.e2e.state.events.filter((e) => e.name === 'lossy').length), 0);
});

test('plugin-to-plugin calls carry binary arguments and answers', async () => {
  await freshHost({ storage: 'memory' });
  await installRunner('bin-callee', { exposes: [{ name: 'bytes' }] });
  await installRunner('bin-caller', { consumes: [{ plugin: 'bin-callee', name: 'bytes' }] });
  // Watch what the host page posts to plugins: binary data must be transferred, not copied.
  await page.evaluate(() => {
    window.transfers = [];
    const post = MessagePort.prototype.postMessage;
    MessagePort.prototype.postMessage = function (message, transfer) {
      const list = Array.isArray(transfer) ? transfer : (transfer?.transfer ?? []);
      window.transfers.push(list.map((b) => b.byteLength));
      return post.apply(this, arguments);
    };
  });
  const r = await run('bin-caller', 'call');
  const transfers = await page.evaluate(() => window.transfers.filter((t) => t.length > 0));
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.value.got.a, { type: 'Uint8Array', length: 2, sum: 5 * 31 + 6, head: [5, 6], own: true });
  assert.deepEqual([r.value.got.b.type, r.value.got.b.length], ['ArrayBuffer', 3]);
  assert.deepEqual([r.value.reply.type, r.value.reply.length, r.value.reply.head], ['Uint16Array', 6, [7, 0, 8, 0, 9, 0]]);
  // The arguments went to the callee, and the answer to the caller, as transferred buffers.
  assert.deepEqual(transfers, [[2, 3], [6]]);
});

test('api.fetch: a binary body is sent as bytes, and responseType arraybuffer answers an ArrayBuffer up to maxResponseBytes', async () => {
  const api = env.servers.apiOrigin;
  await freshHost({ storage: 'memory', dangerous: { allowLoopbackHttp: true }, limits: { maxResponseBytes: 65536 } });
  await installRunner('bin-fetch', { permissions: ['events', 'api:read', 'api:write'], network: [`${api}/api/`] });
  env.servers.apiRequests.length = 0;
  const r = await run('bin-fetch', 'fetch', { api });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.echo.status, 200);
  assert.deepEqual(r.value.echo.body.head, [255, 0, 2, 1]);
  assert.equal(r.value.echo.body.type, 'ArrayBuffer');
  let sum = 0;
  for (let i = 0; i < 65536; i++) sum = (sum * 31 + (i % 251)) >>> 0;
  assert.deepEqual([r.value.full.type, r.value.full.length, r.value.full.sum], ['ArrayBuffer', 65536, sum]);
  assert.equal(r.value.over, 'QUOTA_EXCEEDED');
  assert.equal(r.value.textType, 'string');
  assert.equal(r.value.badType, 'MESSAGE_REJECTED');
  const post = env.servers.apiRequests.find((q) => q.method === 'POST' && q.url.startsWith('/api/bytes'));
  assert.ok(post, 'the binary POST reached the API');
});
