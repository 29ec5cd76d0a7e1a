// The RPC suite's caller, in a sandboxed iframe on the plugin origin, mounted by PluginHost.
// It makes the same call — get a small value by key from a Map (or plugin-warden's storage) on
// the host side — through every candidate, one call at a time, and times each round trip here
// (performance.now() is fine-grained when this frame is cross-origin isolated too).
//   plugin-warden   sdk.storage.get(key) (plugin-warden/client over the mount's port)
//   MessagePort     a raw MessagePort round trip ({id, key} → {id, value})
//   postMessage     a raw window.postMessage round trip to the parent and back
//   Penpal          penpal v7 connect() over a WindowMessenger (parent's method `get`)
//   Comlink         Comlink.wrap() of a transferred MessagePort (parent exposes `get`)
// The host drives this page with control messages ({bench: …}) and gets results back.
import { connect as pwConnect } from '/client/index.js';
import { connect as penpalConnect, WindowMessenger } from '/vendor/penpal.mjs';
import * as Comlink from '/vendor/comlink.mjs';

const hostOrigin = new URLSearchParams(location.search).get('host');
const sdk = await pwConnect();
const callers = { 'plugin-warden': (key) => sdk.storage.get(key) };

const value = (n) => 'x'.repeat(n);
const tell = (msg) => parent.postMessage({ bench: true, ...msg }, hostOrigin);

/** The largest string value storage.set accepts (the 64 KiB message limit includes the envelope). */
async function largestAccepted(lo, hi) {
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try { await sdk.storage.set('probe', value(mid)); lo = mid; } catch { hi = mid - 1; }
  }
  await sdk.storage.remove('probe');
  return lo;
}

function portCaller(port) {
  const pending = new Map();
  let next = 1;
  port.onmessage = (e) => { const r = pending.get(e.data.id); pending.delete(e.data.id); r(e.data.value); };
  return (key) => new Promise((resolve) => { const id = next++; pending.set(id, resolve); port.postMessage({ id, key }); });
}

function windowCaller() {
  const pending = new Map();
  let next = 1;
  window.addEventListener('message', (e) => {
    if (e.source !== parent || e.origin !== hostOrigin || !e.data || e.data.rawReply === undefined) return;
    const r = pending.get(e.data.rawReply);
    pending.delete(e.data.rawReply);
    if (r) r(e.data.value);
  });
  return (key) => new Promise((resolve) => { const id = next++; pending.set(id, resolve); parent.postMessage({ raw: id, key }, hostOrigin); });
}

async function run({ candidate, key, n, intervalMs = 0 }) {
  const call = callers[candidate];
  const times = [];
  const errors = {};
  let length = -1;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    let v;
    try {
      v = await call(key);
    } catch (err) {
      // Counted, not timed (a TIMEOUT would only measure the client's timer).
      errors[err.code || 'ERROR'] = (errors[err.code || 'ERROR'] || 0) + 1;
      continue;
    }
    // Rounded to the nanosecond: the difference of two timestamps carries float error (23 steps
    // of 5 µs came out as 114.99999 or 115.00001), and two medians one step apart or equal must
    // compare so (the report judged a tie 1.0000001×, over a ≤ 1.0 budget). The clock's own
    // step (5 µs isolated) is far coarser: nothing it measured is lost.
    times.push(Math.round((performance.now() - t0) * 1e6) / 1e6);
    length = typeof v === 'string' ? v.length : -1;
    if (intervalMs) await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (performance.now() - t0))));
  }
  return { times, length, errors };
}

window.addEventListener('message', async (e) => {
  if (e.source !== parent || e.origin !== hostOrigin || !e.data || !e.data.bench) return;
  const d = e.data;
  try {
    if (d.bench === 'setup') {
      // Values of the payload sizes, in plugin-warden's storage (the host's Map has the same).
      const sizes = { ...d.sizes };
      if (d.largest) sizes[d.largest] = await largestAccepted(d.sizes[d.largest] - 1024, d.sizes[d.largest]);
      for (const [key, n] of Object.entries(sizes)) await sdk.storage.set(key, value(n));
      if (d.full) {
        callers.MessagePort = portCaller(e.ports[0]);
        callers.postMessage = windowCaller();
        const penpal = penpalConnect({ messenger: new WindowMessenger({ remoteWindow: parent, allowedOrigins: [hostOrigin] }), methods: {} });
        const remote = await penpal.promise;
        callers.Penpal = (key) => remote.get(key);
        const api = Comlink.wrap(e.ports[1]);
        callers.Comlink = (key) => api.get(key);
      }
      tell({ op: 'ready', sizes, crossOriginIsolated: self.crossOriginIsolated, candidates: Object.keys(callers) });
    } else if (d.bench === 'run') {
      tell({ op: 'result', ...(await run(d)) });
    }
  } catch (err) {
    tell({ op: 'error', message: String(err && (err.code || '') + ' ' + err.message) });
  }
});
tell({ op: 'loaded', crossOriginIsolated: self.crossOriginIsolated });
