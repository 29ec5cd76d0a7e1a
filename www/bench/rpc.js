// Suite `rpc`: a storage.get round trip through plugin-warden vs a raw MessagePort, a raw
// window.postMessage, Penpal and Comlink, all called from the same sandboxed plugin iframe
// (www/bench/plugin/rpc.js), all answering a get of a value from a Map here; payload scaling;
// and a flood: one plugin floods calls while another's storage.get latency is measured.
import { PluginHost } from '/pkg/index.js';
import { connect as penpalConnect, WindowMessenger } from '/vendor/penpal.mjs';
import * as Comlink from '/vendor/comlink.mjs';
import { sleep } from './lib.js';

export const SIZES = { k: 5, p100: 100, p1k: 1024, p16k: 16 * 1024, p64k: 64 * 1024 };

/** Wait for the next control message `op` from `win` (or throw on an error/timeout). */
function fromFrame(win, op, ms = 20_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { removeEventListener('message', on); reject(new Error(`no ${op} from the plugin frame within ${ms} ms`)); }, ms);
    function on(e) {
      if (e.source !== win || !e.data || e.data.bench !== true) return;
      if (e.data.op !== op && e.data.op !== 'error') return;
      clearTimeout(timer);
      removeEventListener('message', on);
      if (e.data.op === 'error') reject(new Error(`plugin frame: ${e.data.message}`)); else resolve(e.data);
    }
    addEventListener('message', on);
  });
}

/** Mount `id` from `page` on the plugin origin; answers { frame window, loaded message }. */
async function mountCaller(host, id, pluginOrigin, page, slot, manifestExtra = {}) {
  await host.install({ id, name: id, version: '1.0.0', permissions: ['storage'], ...manifestExtra });
  const el = document.createElement('div');
  slot.append(el);
  const url = `${pluginOrigin}/${page}?host=${encodeURIComponent(location.origin)}`;
  // The frame says `loaded` after its handshake; listen before mounting.
  let win = null;
  const loaded = new Promise((resolve) => {
    addEventListener('message', function on(e) {
      if (!win || e.source !== win || !e.data || e.data.op !== 'loaded') return;
      removeEventListener('message', on);
      resolve(e.data);
    });
  });
  const mounting = host.mount(id, el, { src: url });
  win = el.querySelector('iframe').contentWindow;
  await mounting;
  const info = await Promise.race([loaded, sleep(20_000).then(() => { throw new Error(`${id}: no loaded`); })]);
  return { win, el, info };
}

export async function setupRpc(pluginOrigin, slot) {
  const map = new Map(Object.entries(SIZES).map(([k, n]) => [k, 'x'.repeat(n)]));
  // Rate limits out of the way: this measures the round trip, not the limiter's refusals.
  const host = new PluginHost({ storage: 'memory', dangerous: { allowLoopbackHttp: true }, limits: { callsPerSecond: 1e9, burst: 1e9 } });
  const caller = await mountCaller(host, 'bench-rpc', pluginOrigin, 'rpc.html', slot, { allow: ['cross-origin-isolated'] });
  const { win } = caller;
  // Raw MessagePort.
  const raw = new MessageChannel();
  raw.port1.onmessage = (e) => raw.port1.postMessage({ id: e.data.id, value: map.get(e.data.key) });
  // Raw window.postMessage (the sandboxed frame's origin is opaque: target '*', check source).
  addEventListener('message', (e) => {
    if (e.source !== win || !e.data || e.data.raw === undefined) return;
    e.source.postMessage({ rawReply: e.data.raw, value: map.get(e.data.key) }, '*');
  });
  // Penpal (the frame's origin is "null": allowedOrigins '*').
  const penpal = penpalConnect({
    messenger: new WindowMessenger({ remoteWindow: win, allowedOrigins: ['*'] }),
    methods: { get: (key) => map.get(key) },
  });
  // Comlink over a transferred port.
  const cl = new MessageChannel();
  Comlink.expose({ get: (key) => map.get(key) }, cl.port1);
  const ready = fromFrame(win, 'ready');
  win.postMessage({ bench: 'setup', full: true, sizes: SIZES, largest: 'p64k' }, '*', [raw.port2, cl.port2]);
  const info = await ready;
  await penpal.promise;
  map.set('p64k', 'x'.repeat(info.sizes.p64k));
  return {
    host, win, info, sizes: info.sizes,
    frameIsolated: info.crossOriginIsolated,
    async run(candidate, key, n, intervalMs = 0) {
      const result = fromFrame(win, 'result', 60_000);
      win.postMessage({ bench: 'run', candidate, key, n, intervalMs }, '*');
      const r = await result;
      if (Object.keys(r.errors).length) throw new Error(`${candidate}: calls failed: ${JSON.stringify(r.errors)}`);
      if (r.length !== info.sizes[key]) throw new Error(`${candidate}: got ${r.length} chars for ${key}, expected ${info.sizes[key]}`);
      return r.times;
    },
    destroy() { host.destroy(); caller.el.remove(); },
  };
}

/**
 * The flood: a victim plugin's paced storage.get (40/s, under the default 50/s) is timed alone,
 * then while a second plugin floods calls (bursts of `burst` every `everyMs`). Default limits;
 * `suspendAfter: 0` keeps the flooder alive (refused, not suspended) for the whole measurement.
 * The victim's failed calls (e.g. TIMEOUT when the host cannot keep up) are counted.
 */
export async function flood(pluginOrigin, slot, { calls, suspend, burst = 100, everyMs = 10 }) {
  const limits = suspend ? {} : { suspendAfter: 0 };
  const host = new PluginHost({ storage: 'memory', dangerous: { allowLoopbackHttp: true }, limits });
  const els = [];
  try {
    const victim = await mountCaller(host, 'bench-victim', pluginOrigin, 'rpc.html', slot, { allow: ['cross-origin-isolated'] });
    els.push(victim.el);
    const ready = fromFrame(victim.win, 'ready');
    victim.win.postMessage({ bench: 'setup', full: false, sizes: { k: SIZES.k } }, '*');
    await ready;
    await sleep(1000); // let the setup's calls leave the rate bucket
    const paced = async () => {
      const r = fromFrame(victim.win, 'result', 60_000);
      victim.win.postMessage({ bench: 'run', candidate: 'plugin-warden', key: 'k', n: calls, intervalMs: 25 }, '*');
      return r;
    };
    const quiet = await paced();
    const flooder = await mountCaller(host, 'bench-flooder', pluginOrigin, 'flood.html', slot);
    els.push(flooder.el);
    let last = { sent: 0, codes: {} };
    const onFlood = (e) => { if (e.source === flooder.win && e.data && e.data.op === 'flooding') last = e.data; };
    addEventListener('message', onFlood);
    const t0 = performance.now();
    flooder.win.postMessage({ bench: 'flood', total: 1e6, burst, everyMs }, '*');
    const flooded = await paced();
    const elapsed = performance.now() - t0;
    removeEventListener('message', onFlood);
    const status = host.status('bench-flooder');
    const counts = host.inspect('bench-flooder').counts;
    const victimStatus = host.status('bench-victim');
    try { host.unmount('bench-flooder'); } catch { /* a suspended plugin is already down */ }
    return {
      quietSamples: quiet.times, floodedSamples: flooded.times,
      victimErrors: { quiet: quiet.errors, flooded: flooded.errors },
      floodMs: elapsed, floodRate: { burst, everyMs, callsPerSecond: (burst * 1000) / everyMs },
      flooder: { sentAtLeast: last.sent, repliesSeen: last.codes, state: status.state, code: status.code ?? null, hostCounts: counts },
      victimState: victimStatus.state,
    };
  } finally {
    // The flooder must not go on flooding in the plugin origin's renderer process (which later
    // suites' plugin frames share): remove every frame, not only the host.
    host.destroy();
    for (const el of els) el.remove();
  }
}
