// Suite `mount`: mount-to-ready. plugin-warden's iframe, worker and shadow mounts (from the
// call to `await host.mount(...)` resolving) vs a bare sandboxed iframe of the same plugin
// origin plus a hand-rolled handshake (the frame posts hello, the host transfers a
// MessageChannel port, the frame replies on it: time until that reply); then 1, 10 and 100
// plugins at once, with memory.
import { PluginHost } from '/pkg/index.js';
import { interleave, sleep } from './lib.js';

let host = null;
let slot = null;
let pluginOrigin = '';
const installed = new Set();

async function ensure(id, extra = {}, options = undefined) {
  if (installed.has(id)) return;
  await host.install({ id, name: id, version: '1.0.0', permissions: ['storage'], ...extra }, options);
  installed.add(id);
}

export async function setupMount(origin, slotEl) {
  pluginOrigin = origin;
  slot = slotEl;
  host = new PluginHost({ storage: 'memory', dangerous: { allowLoopbackHttp: true } });
  installed.clear();
  // A shadow mount of HTML loads the sanitizer module on first need (once per page): load it
  // here, so no timed shadow mount (the warm-up included) pays for fetching it. The size suite's
  // first-load page measures that cost.
  await host.preload('sanitizer');
}

const readyUrl = () => `${pluginOrigin}/ready.html`;

async function pwMount(id, options) {
  const el = document.createElement('div');
  slot.append(el);
  const t0 = performance.now();
  await host.mount(id, el, options);
  return { dt: performance.now() - t0, el };
}

/** A bare sandboxed iframe + hand-rolled handshake; resolves with the element at the reply. */
function bareMount() {
  return new Promise((resolve, reject) => {
    const el = document.createElement('div');
    slot.append(el);
    const t0 = performance.now();
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', 'allow-scripts');
    frame.setAttribute('referrerpolicy', 'no-referrer');
    frame.title = 'bare plugin';
    frame.src = `${pluginOrigin}/bare.html?host=${encodeURIComponent(location.origin)}`;
    let loaded = false;
    let hello = false;
    frame.addEventListener('load', () => { loaded = true; });
    const timer = setTimeout(() => {
      removeEventListener('message', onHello);
      reject(new Error(`bare iframe: no reply in 60 s (frame loaded: ${loaded}, hello seen: ${hello})`));
    }, 60_000);
    function onHello(e) {
      if (e.source !== frame.contentWindow || !e.data || e.data.type !== 'hello') return;
      removeEventListener('message', onHello);
      hello = true;
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { clearTimeout(timer); resolve({ dt: performance.now() - t0, el, port: ch.port1 }); };
      frame.contentWindow.postMessage({ type: 'welcome' }, '*', [ch.port2]);
    }
    addEventListener('message', onHello);
    el.append(frame);
  });
}

const WORKER_CODE = 'const sdk = await pluginWarden.connect();\n';

const single = {
  // The plugin page imports plugin-warden/client as a module (one more request than bare.html).
  'plugin-warden iframe': async () => {
    await ensure('bench-mount-iframe');
    const r = await pwMount('bench-mount-iframe', { src: readyUrl() });
    host.unmount('bench-mount-iframe'); r.el.remove();
    return r.dt;
  },
  'plugin-warden iframe, client bundled': async () => {
    await ensure('bench-mount-bundled');
    const r = await pwMount('bench-mount-bundled', { src: `${pluginOrigin}/ready-bundled.html` });
    host.unmount('bench-mount-bundled'); r.el.remove();
    return r.dt;
  },
  'plugin-warden worker': async () => {
    await ensure('bench-mount-worker', {}, { code: WORKER_CODE });
    const r = await pwMount('bench-mount-worker', { mode: 'worker' });
    host.unmount('bench-mount-worker'); r.el.remove();
    return r.dt;
  },
  'plugin-warden shadow': async () => {
    await ensure('bench-mount-shadow', { permissions: [] });
    const r = await pwMount('bench-mount-shadow', { mode: 'shadow', html: '<p>ready</p>' });
    host.unmount('bench-mount-shadow'); r.el.remove();
    return r.dt;
  },
  'bare iframe + handshake': async () => {
    const r = await bareMount();
    r.port.close(); r.el.remove();
    return r.dt;
  },
};

export async function runSingle({ warmup, samples }) {
  return { times: await interleave(single, { warmup, samples }) };
}

/**
 * `n` plugins at once: time from the first call until every mount resolved (or every bare
 * handshake replied). With `memory`, `measure()` runs while they are all mounted.
 */
export async function runMany(n, { warmup, samples, measure }) {
  const ids = Array.from({ length: n }, (_, i) => `bench-many-${i}`);
  for (const id of ids) await ensure(id);
  // Each mounts all n at once and answers { dt, release }.
  const mountAll = {
    'plugin-warden iframe': async () => {
      const els = ids.map(() => { const el = document.createElement('div'); slot.append(el); return el; });
      const t0 = performance.now();
      // A generous handshake timeout: 100 frames at once on 2 busy cores can take > 10 s.
      await Promise.all(ids.map((id, i) => host.mount(id, els[i], { src: readyUrl(), timeout: 60_000 })));
      const dt = performance.now() - t0;
      return { dt, release: () => { for (const id of ids) host.unmount(id); for (const el of els) el.remove(); } };
    },
    'bare iframe + handshake': async () => {
      const t0 = performance.now();
      const all = await Promise.all(ids.map(() => bareMount()));
      const dt = performance.now() - t0;
      return { dt, release: () => { for (const r of all) { r.port.close(); r.el.remove(); } } };
    },
  };
  const candidates = Object.fromEntries(Object.entries(mountAll).map(([name, fn]) => [name, async () => {
    const r = await fn();
    r.release();
    await sleep(50); // let removed frames go before the next mount
    return r.dt;
  }]));
  const times = await interleave(candidates, { warmup, samples });
  // Memory: once per candidate, with all n mounted, against the page with none.
  let memory = null;
  if (measure) {
    memory = { none: await measure() };
    for (const [name, fn] of Object.entries(mountAll)) {
      const r = await fn();
      memory[name] = await measure();
      r.release();
      await sleep(200);
    }
  }
  return { n, times, memory };
}

export function teardownMount() { host?.destroy(); host = null; }
