// Storage across tabs: two documents of the host origin share one localStorage, so a plugin
// open in both must still keep within one quota (the window's `storage` event tells each host
// that the other wrote).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost, pluginFrame } from './helpers.mjs';

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
    // Tab B counts the namespace (and caches the count) with a small write.
    assert.deepEqual(await run(b.notes, 'storage.set', 'small', 1), { ok: true, value: null });
    // Tab A fills most of the quota.
    assert.deepEqual(await run(a.notes, 'storage.set', 'big-a', big), { ok: true, value: null });
    // The storage event reaches tab B asynchronously.
    await b.page.waitForTimeout(300);
    const second = await run(b.notes, 'storage.set', 'big-b', big);
    assert.equal(second.ok, false, JSON.stringify(second));
    assert.equal(second.error.code, 'QUOTA_EXCEEDED');
    // Once tab A frees its space, tab B may write.
    assert.deepEqual(await run(a.notes, 'storage.remove', 'big-a'), { ok: true, value: null });
    await b.page.waitForTimeout(300);
    assert.deepEqual(await run(b.notes, 'storage.set', 'big-b', big), { ok: true, value: null });
  } finally {
    await context.close();
  }
});
