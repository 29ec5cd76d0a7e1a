// Storage across tabs: two documents of the host origin share one localStorage, so a plugin
// open in both must still keep within one quota (the window's `storage` event tells each host
// that the other wrote).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost, pluginFrame, hostCall, until } from './helpers.mjs';

let env;
before(async () => { env = await startEnv(18940); });
after(async () => { await env?.close(); });

const run = (frame, method, ...args) => frame.evaluate(([m, a]) => window.notes.run(m, ...a), [method, args]);

/** A host on storage:'local' with a small quota, the notes plugin mounted. */
async function tab(context) {
  const h = await openHost(env, 'scenario=none', { context });
  await h.page.evaluate(async () => {
    window.e2e.create({ storage: 'local', limits: { storageQuotaBytes: 400 } });
    const r = await window.e2e.install(window.e2e.manifests.notes);
    if (!r.ok) throw new Error(r.error.message);
  });
  const mounted = await h.page.evaluate(() => window.e2e.mountAndWait('notes', '/notes/'));
  assert.equal(mounted.ok, true, JSON.stringify(mounted));
  return { ...h, notes: await pluginFrame(h.page, 'notes', { state: 'connected' }) };
}

test('a plugin open in two tabs cannot store twice its quota', async () => {
  const context = await env.browser.newContext();
  try {
    const a = await tab(context);
    const b = await tab(context);
    const big = 'x'.repeat(250);
    // The storage events tab B's window receives. Its host listened first (at create), so once
    // an event is in this list, the host has handled it too.
    await b.page.evaluate(() => {
      window.storageEvents = [];
      window.addEventListener('storage', (e) => window.storageEvents.push({ key: e.key, removed: e.newValue === null }));
    });
    /** Wait until tab B's window got the storage event of `key` (written, or `removed`). */
    const reachedB = async (key, removed) => {
      const got = await until(() => b.page.evaluate(([k, r]) => window.storageEvents.some((e) => e.key?.endsWith(`:${k}`) && e.removed === r), [key, removed]), 10_000);
      assert.ok(got, `tab B never got the storage event of tab A's ${removed ? 'remove' : 'set'} of ${key}: ${JSON.stringify(await b.page.evaluate(() => window.storageEvents))}`);
    };
    // Tab B counts the namespace (and caches the count) with a small write.
    assert.deepEqual(await run(b.notes, 'storage.set', 'small', 1), { ok: true, value: null });
    // Tab A fills most of the quota.
    assert.deepEqual(await run(a.notes, 'storage.set', 'big-a', big), { ok: true, value: null });
    // The storage event reaches tab B asynchronously: wait for it, not for a fixed time.
    await reachedB('big-a', false);
    const second = await run(b.notes, 'storage.set', 'big-b', big);
    assert.equal(second.ok, false, JSON.stringify(second));
    assert.equal(second.error.code, 'QUOTA_EXCEEDED');
    // Once tab A frees its space, tab B may write.
    assert.deepEqual(await run(a.notes, 'storage.remove', 'big-a'), { ok: true, value: null });
    await reachedB('big-a', true);
    assert.deepEqual(await run(b.notes, 'storage.set', 'big-b', big), { ok: true, value: null });
  } finally {
    await context.close();
  }
});

/** A host on IndexedDB (sealed when `encrypt`) with the notes plugin mounted, in `context`. */
async function idbTab(context, { encrypt = false, quota = 1 << 20 } = {}) {
  const h = await openHost(env, 'scenario=none', { context });
  const created = await h.page.evaluate(async ([encrypt, quota]) => {
    try {
      window.e2e.create({ storage: 'indexeddb', encrypt, limits: { storageQuotaBytes: quota } });
    } catch (e) {
      return { ok: false, code: e.code, message: e.message };
    }
    const r = await window.e2e.install(window.e2e.manifests.notes);
    return r.ok ? { ok: true } : { ok: false, ...r.error };
  }, [encrypt, quota]);
  assert.deepEqual(created, { ok: true });
  const mounted = await h.page.evaluate(() => window.e2e.mountAndWait('notes', '/notes/'));
  assert.equal(mounted.ok, true, JSON.stringify(mounted));
  return { ...h, notes: await pluginFrame(h.page, 'notes', { state: 'connected' }) };
}

/**
 * Reach into the SDK's database as another script of the host origin could:
 * `inspect` a record, `flip` one ciphertext byte, or `copy` a record to another key.
 */
function onRecords(page, op, from, to) {
  return page.evaluate(async ([op, from, to]) => {
    const db = await new Promise((res, rej) => { const r = indexedDB.open('plugin-warden', 1); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const tx = db.transaction('records', 'readwrite');
    const store = tx.objectStore('records');
    const rec = await new Promise((res) => { const r = store.get(from); r.onsuccess = () => res(r.result); });
    let out = null;
    if (op === 'inspect') {
      out = { sealed: rec.v.iv instanceof Uint8Array && rec.v.ct instanceof Uint8Array, text: JSON.stringify(rec), decoded: new TextDecoder().decode(rec.v.ct ?? new Uint8Array()) };
    } else if (op === 'flip') {
      rec.v.ct[0] ^= 1;
      store.put(rec, from);
    } else if (op === 'copy') {
      store.put(rec, to);
    }
    await new Promise((res) => { tx.oncomplete = res; });
    db.close();
    return out;
  }, [op, from, to]);
}

test('storage: \'indexeddb\' round trip, quota, and data kept across a reload', async () => {
  const context = await env.browser.newContext();
  try {
    const t = await idbTab(context, { quota: 300 });
    const value = { text: 'in IndexedDB', list: [1, 2, 3] };
    assert.deepEqual(await run(t.notes, 'storage.set', 'doc', value), { ok: true, value: null });
    assert.deepEqual(await run(t.notes, 'storage.get', 'doc'), { ok: true, value });
    // A missing key answers no value, as the synchronous backends do (a stored null is null).
    assert.deepEqual(await run(t.notes, 'storage.get', 'missing'), { ok: true, value: undefined });
    const big = await run(t.notes, 'storage.set', 'big', 'x'.repeat(400));
    assert.equal(big.error?.code, 'QUOTA_EXCEEDED', JSON.stringify(big));
    // The refused write changed nothing: neither the record nor the namespace's byte count.
    const keys = (await run(t.notes, 'storage.keys')).value;
    assert.ok(keys.includes('doc') && !keys.includes('big'), JSON.stringify(keys));
    // Not in localStorage.
    assert.deepEqual(await t.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('pw1:'))), []);
    await t.page.reload();
    const again = await idbTab(context, { quota: 300 });
    assert.deepEqual(await run(again.notes, 'storage.get', 'doc'), { ok: true, value });
    assert.deepEqual(await run(again.notes, 'storage.remove', 'doc'), { ok: true, value: null });
    assert.deepEqual(await run(again.notes, 'storage.get', 'doc'), { ok: true, value: undefined });
    // uninstall({ removeData: true }) empties the plugin's IndexedDB namespace.
    assert.deepEqual(await run(again.notes, 'storage.set', 'doc', value), { ok: true, value: null });
    assert.equal((await hostCall(again.page, 'uninstall', 'notes', { removeData: true })).ok, true);
    const left = await until(() => again.page.evaluate(async () => {
      const db = await new Promise((res) => { const r = indexedDB.open('plugin-warden', 1); r.onsuccess = () => res(r.result); });
      const keys = await new Promise((res) => { const r = db.transaction('records').objectStore('records').getAllKeys(); r.onsuccess = () => res(r.result); });
      db.close();
      return keys.filter((k) => k.startsWith('pw1:5:notes:')).length === 0;
    }));
    assert.equal(left, true, 'the namespace is emptied');
  } finally {
    await context.close();
  }
});

test('encrypt: true seals values; a tampered or moved ciphertext is INTEGRITY_MISMATCH', async () => {
  const context = await env.browser.newContext();
  try {
    const t = await idbTab(context, { encrypt: true });
    assert.deepEqual(await run(t.notes, 'storage.set', 'a', 'secret note'), { ok: true, value: null });
    assert.deepEqual(await run(t.notes, 'storage.set', 'b', 'other'), { ok: true, value: null });
    assert.deepEqual(await run(t.notes, 'storage.get', 'a'), { ok: true, value: 'secret note' });
    // At rest: bytes, not the text.
    const atRest = await onRecords(t.page, 'inspect', 'pw1:5:notes:a');
    assert.equal(atRest.sealed, true);
    assert.ok(!atRest.text.includes('secret note') && !atRest.decoded.includes('secret note'));
    // Tamper with one ciphertext byte.
    await onRecords(t.page, 'flip', 'pw1:5:notes:a');
    const tampered = await run(t.notes, 'storage.get', 'a');
    assert.equal(tampered.error?.code, 'INTEGRITY_MISMATCH', JSON.stringify(tampered));
    // Move b's valid ciphertext under a's key: it is bound to b, so it does not open.
    await onRecords(t.page, 'copy', 'pw1:5:notes:b', 'pw1:5:notes:a');
    const moved = await run(t.notes, 'storage.get', 'a');
    assert.equal(moved.error?.code, 'INTEGRITY_MISMATCH', JSON.stringify(moved));
    // …nor under another plugin's namespace (another key, another AAD).
    await onRecords(t.page, 'copy', 'pw1:5:notes:b', 'pw1:7:notes-2:b');
    await t.page.evaluate(() => window.e2e.install({ ...window.e2e.manifests.notes, id: 'notes-2' }));
    assert.equal((await t.page.evaluate(() => window.e2e.mountAndWait('notes-2', '/notes/'))).ok, true);
    const other = await pluginFrame(t.page, 'notes-2', { state: 'connected' });
    const foreign = await run(other, 'storage.get', 'b');
    assert.equal(foreign.error?.code, 'INTEGRITY_MISMATCH', JSON.stringify(foreign));
    // b itself still opens, and survives a reload (the key is kept in IndexedDB).
    assert.deepEqual(await run(t.notes, 'storage.get', 'b'), { ok: true, value: 'other' });
    await t.page.reload();
    const again = await idbTab(context, { encrypt: true });
    assert.deepEqual(await run(again.notes, 'storage.get', 'b'), { ok: true, value: 'other' });
  } finally {
    await context.close();
  }
});

test('encrypt: true on localStorage: sealed text at rest, tampered or moved values refused, kept across a reload', async () => {
  const context = await env.browser.newContext();
  try {
    const open = async () => {
      const h = await openHost(env, 'scenario=none', { context });
      await h.page.evaluate(async () => {
        window.e2e.create({ storage: 'local', encrypt: true });
        const r = await window.e2e.install(window.e2e.manifests.notes);
        if (!r.ok) throw new Error(r.error.message);
      });
      assert.equal((await h.page.evaluate(() => window.e2e.mountAndWait('notes', '/notes/'))).ok, true);
      return { ...h, notes: await pluginFrame(h.page, 'notes', { state: 'connected' }) };
    };
    const t = await open();
    assert.deepEqual(await run(t.notes, 'storage.set', 'a', 'secret note'), { ok: true, value: null });
    assert.deepEqual(await run(t.notes, 'storage.set', 'b', 'other'), { ok: true, value: null });
    assert.deepEqual(await run(t.notes, 'storage.get', 'a'), { ok: true, value: 'secret note' });
    const stored = await t.page.evaluate(() => localStorage.getItem('pw1:5:notes:a'));
    assert.match(stored, /^pwe1\.[\w-]+\.[\w-]+$/);
    assert.ok(!stored.includes('secret'));
    // Tampered: one character of the ciphertext changed.
    await t.page.evaluate(() => {
      const v = localStorage.getItem('pw1:5:notes:a');
      const i = v.length - 3;
      localStorage.setItem('pw1:5:notes:a', v.slice(0, i) + (v[i] === 'A' ? 'B' : 'A') + v.slice(i + 1));
    });
    assert.equal((await run(t.notes, 'storage.get', 'a')).error?.code, 'INTEGRITY_MISMATCH');
    // Plaintext planted by another script.
    await t.page.evaluate(() => localStorage.setItem('pw1:5:notes:a', '"planted"'));
    assert.equal((await run(t.notes, 'storage.get', 'a')).error?.code, 'INTEGRITY_MISMATCH');
    // Moved: b's sealed value under a's key.
    await t.page.evaluate(() => localStorage.setItem('pw1:5:notes:a', localStorage.getItem('pw1:5:notes:b')));
    assert.equal((await run(t.notes, 'storage.get', 'a')).error?.code, 'INTEGRITY_MISMATCH');
    await t.page.reload();
    const again = await open();
    assert.deepEqual(await run(again.notes, 'storage.get', 'b'), { ok: true, value: 'other' });
  } finally {
    await context.close();
  }
});

test('encrypt: true with storage: \'memory\' is refused with INVALID_ARGUMENT', async () => {
  const h = await openHost(env, 'scenario=none');
  try {
    const r = await h.page.evaluate(() => {
      try { window.e2e.create({ storage: 'memory', encrypt: true }); return { ok: true }; } catch (e) { return { ok: false, code: e.code }; }
    });
    assert.deepEqual(r, { ok: false, code: 'INVALID_ARGUMENT' });
  } finally {
    await h.close();
  }
});

test('long text with characters of more than one byte round-trips through every backend, counted in UTF-8 bytes', async () => {
  // A plugin message or stored value over 1 KiB enters the core by TextEncoder.encodeInto: a
  // byte per UTF-16 unit first, then only the rest, from where that ran out of room
  // (core::utf8::encode_resuming). The values here run out of room at different places.
  const ascii = 'plain text. '.repeat(100); // 1200 units, all ASCII
  const values = {
    multiByteAtTheEnd: ascii + '日本語'.repeat(300),
    multiByteFirst: 'é' + ascii + 'ü'.repeat(500),
    astral: ascii + '😀𝄞'.repeat(300) + 'tail',
    nested: { title: 'Größe', body: ascii + 'ничего'.repeat(200), list: ['日本', 'x'.repeat(1100) + '€'] },
  };
  for (const storage of ['memory', 'local', 'indexeddb']) {
    const context = await env.browser.newContext();
    try {
      const h = await openHost(env, 'scenario=none', { context });
      await h.page.evaluate(async (storage) => {
        window.e2e.create({ storage, limits: { storageQuotaBytes: 30_000 } });
        const r = await window.e2e.install(window.e2e.manifests.notes);
        if (!r.ok) throw new Error(r.error.message);
      }, storage);
      const mounted = await h.page.evaluate(() => window.e2e.mountAndWait('notes', '/notes/'));
      assert.equal(mounted.ok, true, JSON.stringify(mounted));
      const notes = await pluginFrame(h.page, 'notes', { state: 'connected' });
      for (const [key, value] of Object.entries(values)) {
        assert.deepEqual(await run(notes, 'storage.set', key, value), { ok: true, value: null }, `${storage}: set ${key}`);
        assert.deepEqual(await run(notes, 'storage.get', key), { ok: true, value }, `${storage}: get ${key}`);
      }
      // Overwriting reads the old value back into the core (its bytes leave the count).
      const again = values.astral + 'ß';
      assert.deepEqual(await run(notes, 'storage.set', 'astral', again), { ok: true, value: null });
      assert.deepEqual(await run(notes, 'storage.get', 'astral'), { ok: true, value: again });
      // The quota counts UTF-8 bytes (key + JSON text). The values above are ~14 500 bytes;
      // 2 000 three-byte characters are ~6 000 more each: two fit in 30 000, a third does not
      // (counted in UTF-16 units, all three would).
      const heavy = '日'.repeat(2000);
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await run(notes, 'storage.set', `heavy${i}`, heavy));
      assert.deepEqual(answers.slice(0, 2), [{ ok: true, value: null }, { ok: true, value: null }], `${storage}: ${JSON.stringify(answers)}`);
      assert.equal(answers[2].ok, false, `${storage}: ${JSON.stringify(answers)}`);
      assert.equal(answers[2].error.code, 'QUOTA_EXCEEDED');
      assert.deepEqual(await run(notes, 'storage.get', 'heavy0'), { ok: true, value: heavy });
    } finally {
      await context.close();
    }
  }
});

test('values come back exactly as stored (every double, every key in its order), on every backend and through events both ways', async () => {
  // JSON.stringify writes a double's shortest round-trip text; a value that crosses the core
  // must read back as the same double, and an object with its keys in the same order. serde_json's default float parse is fast but not exact:
  // 0.1 + 0.002 (0.10200000000000001) came back as 0.102, and so did 3 in 10 random doubles.
  const doubles = [0.1 + 0.2, 0.1 + 0.002, 1 / 3, 2 / 3, Math.PI, Math.E, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
    9007199254740993, 123456789012345680000, 1e21, 1e-7, 4.35, 0.000001, 1.0715660391465826e-75, -1.603964615428183e+143, -0];
  // More from a fixed generator: random bit patterns, and cents as a shop would store them.
  let x = 0x9e3779b97f4a7c15n;
  const view = new DataView(new ArrayBuffer(8));
  while (doubles.length < 400) {
    x ^= (x << 13n) & 0xffffffffffffffffn; x ^= x >> 7n; x ^= (x << 17n) & 0xffffffffffffffffn;
    view.setBigUint64(0, x);
    const d = view.getFloat64(0);
    if (Number.isFinite(d)) doubles.push(d, Number(x % 100000n) / 100 + 0.07);
  }
  // -0 is the one double JSON has no text for: JSON.stringify writes it 0.
  const expected = doubles.map((d) => (Object.is(d, -0) ? 0 : d));
  const same = (got, label) => {
    assert.equal(got.length, expected.length, label);
    const wrong = [];
    got.forEach((d, i) => { if (!Object.is(d, expected[i])) wrong.push(`${expected[i]} came back as ${d}`); });
    assert.deepEqual(wrong, [], `${label}: ${wrong.length} of ${expected.length} numbers changed`);
  };
  // Sealed values are opened and parsed by the core on the way back.
  for (const [storage, encrypt] of [['memory', false], ['local', false], ['indexeddb', false], ['local', true], ['indexeddb', true]]) {
    const context = await env.browser.newContext();
    try {
      const h = await openHost(env, 'scenario=none', { context });
      await h.page.evaluate(async ([storage, encrypt]) => {
        window.e2e.create({ storage, encrypt, limits: { storageQuotaBytes: 100_000 } });
        const r = await window.e2e.install(window.e2e.manifests.notes);
        if (!r.ok) throw new Error(r.error.message);
      }, [storage, encrypt]);
      const mounted = await h.page.evaluate(() => window.e2e.mountAndWait('notes', '/notes/'));
      assert.equal(mounted.ok, true, JSON.stringify(mounted));
      const notes = await pluginFrame(h.page, 'notes', { state: 'connected' });
      assert.deepEqual(await run(notes, 'storage.set', 'doubles', doubles), { ok: true, value: null });
      const back = await run(notes, 'storage.get', 'doubles');
      assert.equal(back.ok, true, JSON.stringify(back.error));
      same(back.value, `${storage}${encrypt ? ' sealed' : ''}: storage.get`);
      // Keys in the order the plugin wrote them, not sorted (JSON.parse keeps the order; the
      // core's objects were sorted maps).
      const ordered = { zeta: 1, alpha: { y: [{ q: 1, a: 2 }], b: null }, mid: 'm', 10: 'ten', 2: 'two' };
      const orderOf = (v) => JSON.stringify(v);
      assert.deepEqual(await run(notes, 'storage.set', 'ordered', ordered), { ok: true, value: null });
      const backOrdered = await run(notes, 'storage.get', 'ordered');
      assert.equal(orderOf(backOrdered.value), orderOf(ordered), `${storage}${encrypt ? ' sealed' : ''}: key order`);
      // One at a time and nested, as a plugin keeps a setting.
      for (const d of [0.1 + 0.002, 1.0715660391465826e-75]) {
        assert.deepEqual(await run(notes, 'storage.set', 'one', { price: { amount: d } }), { ok: true, value: null });
        const one = await run(notes, 'storage.get', 'one');
        assert.ok(Object.is(one.value.price.amount, d), `${storage}: ${d} came back as ${one.value.price.amount}`);
      }
      if (storage === 'memory') {
        // Plugin to host: an event's data reaches the host's onEvent.
        assert.deepEqual(await run(notes, 'events.emit', 'numbers', { doubles }), { ok: true, value: null });
        const got = await until(() => h.page.evaluate(() => window.e2e.state.events.find((e) => e.name === 'numbers')?.data), 10_000);
        assert.ok(got, 'the host got the event');
        same(got.doubles, 'plugin to host event');
        assert.deepEqual(await run(notes, 'events.emit', 'ordered', ordered), { ok: true, value: null });
        const gotOrdered = await until(() => h.page.evaluate(() => window.e2e.state.events.find((e) => e.name === 'ordered')?.data), 10_000);
        assert.equal(orderOf(gotOrdered), orderOf(ordered), 'plugin to host event: key order');
        // Host to plugin: an event the plugin listens to.
        assert.deepEqual(await notes.evaluate(() => window.notes.listen('numbers')), { ok: true });
        await h.page.evaluate((doubles) => window.e2e.host.emit('numbers', { doubles }), doubles);
        const heard = await until(() => notes.evaluate(() => window.notes.received.find((e) => e.name === 'numbers')?.data), 10_000);
        assert.ok(heard, 'the plugin got the event');
        same(heard.doubles, 'host to plugin event');
        assert.deepEqual(await notes.evaluate(() => window.notes.listen('ordered')), { ok: true });
        await h.page.evaluate((ordered) => window.e2e.host.emit('ordered', ordered), ordered);
        const heardOrdered = await until(() => notes.evaluate(() => window.notes.received.find((e) => e.name === 'ordered')?.data), 10_000);
        assert.equal(orderOf(heardOrdered), orderOf(ordered), 'host to plugin event: key order');
      }
    } finally {
      await context.close();
    }
  }
});
