// pwListen (src/web/binary.js) against a model, under random interleavings of what a plugin
// posts and how the core's second part loads: loads that succeed, fail or stall, the 5 s bound
// on a wait, the back-off after a failure. Whatever happens, for every message of the plugin:
// - a call (an id) is taken by the core exactly once or answered MODULE_NOT_LOADED exactly once,
//   never both, never neither once the part has loaded;
// - calls are settled (taken or answered) in the order they were posted (pongs may overtake);
// - while the part is not loaded, no message is read ahead and cut off twice, past the port's
//   32 cut-offs at most one more of each method, and 64 in all: the leak stays bounded;
// - before the port's 32 cut-offs, no call the first part serves is answered as the part's.
// Checked to fail with each of these rules taken out of the listener.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pwListen, pwSetPortHooks } from '../../src/web/binary.js';

// Methods whose calls the core's first part mostly serves (taken while the part is not loaded),
// and those whose calls mostly need the part; which one a call does is in its params (`part`),
// as a key too long or a URL not declared makes a call of the first kind need the part.
const FIRST = ['storage.get', 'permissions.list', 'events.subscribe'];
const SECOND = ['api.fetch', 'permissions.request', 'storage.set'];

/** A small seeded generator (mulberry32), so that a failure can be replayed by its seed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function run(seed, t) {
  const rand = random(seed);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const flush = () => new Promise((resolve) => setImmediate(resolve)); // (setTimeout is mocked)
  let now = 1_000_000 + seed * 1e7;
  Date.now = () => now; // the listener's back-off clock, this run's own
  let loaded = false;
  const loads = []; // pending loads: { resolve, reject }
  pwSetPortHooks(
    () => (loaded ? null : new Promise((resolve, reject) => { loads.push({ resolve, reject }); })),
    () => true,
    () => loaded,
  );
  let listener = null;
  const log = []; // ['take' | 'answer', seq]
  const attempts = new Map(); // seq → read-aheads cut off while not loaded
  let cuts = 0;
  const messages = new Map(); // seq → { method, part }
  const cutMethods = []; // the method of each read-ahead cut off, in order
  const core = (seq) => {
    const { method, part } = messages.get(seq);
    if (loaded || !part) {
      log.push(['take', seq]);
      return true;
    }
    cuts++;
    cutMethods.push(method);
    attempts.set(seq, (attempts.get(seq) ?? 0) + 1);
    return false;
  };
  pwListen(
    {
      addEventListener: (_, fn) => { listener = fn; },
      postMessage: (m) => log.push(['answer', m.id]),
    },
    (id) => core(id),
    (data) => (data.event === 'pong' ? true : core(data.id)),
    () => {},
    1,
  );
  let seq = 0;
  const post = () => {
    const r = rand();
    if (r < 0.1) {
      listener({ data: { v: 1, event: 'pong', data: { seq: 1 } } });
      return;
    }
    seq++;
    const first = r < 0.55;
    const method = first ? pick(FIRST) : pick(SECOND);
    const part = rand() < (first ? 0.15 : 0.85);
    // Some too large for the listener's small path: the other path, the same rules.
    const params = rand() < 0.2 ? { key: 'k'.repeat(300), part } : { key: 'k', part };
    messages.set(seq, { method, part });
    listener({ data: { v: 1, id: seq, method, params } });
  };
  const steps = 40 + Math.floor(rand() * 220);
  // A third of the runs are an outage: the part loads only at their end.
  const outage = rand() < 0.33;
  for (let i = 0; i < steps; i++) {
    const r = rand();
    if (r < 0.55) post();
    else if (r < 0.65 && loads.length > 0) {
      loads.shift().reject(new Error('offline'));
      await flush();
    } else if (r < 0.7 && loads.length > 0 && !outage) {
      loaded = true;
      for (const l of loads.splice(0)) l.resolve();
      await flush();
    } else if (r < 0.85) {
      const ms = Math.floor(rand() * 6000);
      now += ms;
      t.mock.timers.tick(ms);
      await flush();
    } else {
      await flush();
    }
  }
  // In the end the part loads, and every wait ends.
  loaded = true;
  for (const l of loads.splice(0)) l.resolve();
  for (let i = 0; i < 3; i++) {
    now += 6000;
    t.mock.timers.tick(6000);
    await flush();
  }
  const where = `seed ${seed}`;
  // Each call settled once: taken, or answered.
  const settled = new Map();
  for (const [kind, s] of log) {
    assert.ok(!settled.has(s), `${where}: call ${s} settled twice (${settled.get(s)}, then ${kind})`);
    settled.set(s, kind);
  }
  for (const s of messages.keys()) assert.ok(settled.has(s), `${where}: call ${s} (${messages.get(s).method}) never settled`);
  // In order.
  const order = log.map(([, s]) => s);
  assert.deepEqual(order, [...order].sort((a, b) => a - b), `${where}: settled out of order`);
  // Bounded read-aheads cut off.
  for (const [s, n] of attempts) assert.ok(n <= 1, `${where}: call ${s} cut off ${n} times`);
  assert.ok(cuts <= 64, `${where}: ${cuts} cut off`);
  // Past the port's 32 cut-offs, at most one more of each method.
  const past = cutMethods.slice(32);
  assert.equal(new Set(past).size, past.length, `${where}: past 32 cut-offs, ${JSON.stringify(past)}`);
  // A call the first part serves is never answered as the part's before the port's 32
  // cut-offs (past them, only a call of a method the port was served before is read ahead).
  if (cuts < 32) {
    for (const [s, kind] of settled) {
      if (!messages.get(s).part) assert.equal(kind, 'take', `${where}: call ${s} (${messages.get(s).method}) answered not served`);
    }
  }
  return { posted: seq, cuts, answered: [...settled.values()].filter((k) => k === 'answer').length, past: past.length };
}

test('pwListen under 300 random interleavings of messages and loads that succeed, fail or stall: each call settled once, in order; cut-offs bounded', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const realNow = Date.now;
  let totals = { posted: 0, cuts: 0, answered: 0, overBudget: 0 };
  try {
    for (let seed = 1; seed <= 300; seed++) {
      const r = await run(seed, t);
      totals = { posted: totals.posted + r.posted, cuts: totals.cuts + r.cuts, answered: totals.answered + r.answered, overBudget: totals.overBudget + (r.past > 0) };
    }
  } finally {
    Date.now = realNow;
    pwSetPortHooks(null);
  }
  // The runs did reach the paths under test: cut-offs, calls answered not served, and runs
  // with read-aheads cut off past the port's 32.
  assert.ok(totals.cuts > 300 && totals.answered > 100 && totals.overBudget >= 10, JSON.stringify(totals));
});
