// The bench page (host origin, cross-origin isolated, Trusted Types enforced). Loads the
// package and the third-party candidates and exposes `window.bench` for scripts/bench/run.mjs,
// which drives it with playwright-core and writes the results.
import init, { PluginHost, preload } from '/pkg/index.js';
import { setupSanitizers, runSanitize, safety } from './sanitize.js';
import { setupRpc, flood } from './rpc.js';
import { runPermission } from './perm.js';
import { setupMount, runSingle, runMany, teardownMount } from './mount.js';
import { runWasm } from './wasm.js';
import { sleep } from './lib.js';

const status = document.getElementById('status');
const pluginOrigin = new URLSearchParams(location.search).get('plugin');
const slots = document.getElementById('slots');
const t0 = performance.now();
await init();
const initMs = performance.now() - t0;

let corpus = null;
let sanitizers = null;
let rpc = null;

/**
 * Memory, two ways: the page's own view (performance.measureUserAgentSpecificMemory() when
 * isolated, else CDP's JSHeapUsedSize) — which only covers the host page's agent, not the
 * out-of-process (cross-site) plugin frames — and the Pss of every renderer process, measured
 * by the runner from /proc, which does include them.
 */
async function measureMemory() {
  const out = { page: null, renderers: null };
  if (self.crossOriginIsolated && typeof performance.measureUserAgentSpecificMemory === 'function') {
    const pending = performance.measureUserAgentSpecificMemory();
    // Chromium measures at the next GC: the runner triggers one through CDP.
    if (typeof window.benchGc === 'function') await window.benchGc();
    const r = await Promise.race([pending, sleep(30_000).then(() => null)]);
    if (r) out.page = { method: 'performance.measureUserAgentSpecificMemory()', bytes: r.bytes };
  }
  if (!out.page && typeof window.benchHeap === 'function') {
    out.page = { method: 'CDP Performance.getMetrics JSHeapUsedSize', bytes: await window.benchHeap() };
  }
  if (typeof window.benchRendererPss === 'function') {
    const r = await window.benchRendererPss();
    if (r) out.renderers = { method: 'Pss of all renderer processes (/proc)', bytes: r.bytes, processes: r.processes };
  }
  return out;
}

window.bench = {
  info: () => ({
    crossOriginIsolated: self.crossOriginIsolated,
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    initMs,
    setHTML: typeof Element.prototype.setHTML === 'function',
    measureUserAgentSpecificMemory: typeof performance.measureUserAgentSpecificMemory === 'function',
    timerResolutionMs: (() => {
      // The smallest non-zero step performance.now() takes.
      let min = Infinity;
      for (let i = 0; i < 2000; i++) {
        const a = performance.now();
        let b = performance.now();
        while (b === a) b = performance.now();
        min = Math.min(min, b - a);
      }
      return min;
    })(),
  }),

  async loadCorpus() {
    corpus = await (await fetch('/bench-data/corpus.json')).json();
    // The sanitizer is a second wasm module fetched on first need; the synchronous sanitize()
    // and host.trustedHTML() the sanitize suites time need it loaded. Loaded once here, outside
    // every timed region (the size suite's first-load page measures what loading it costs).
    await preload('sanitizer');
    const probe = new PluginHost({ storage: 'memory' });
    sanitizers = setupSanitizers(probe, corpus);
    return {
      source: corpus.source, pages: corpus.pages.length, fragments: corpus.fragments.length,
      pageBytes: corpus.pages.reduce((n, s) => n + s.length, 0),
      fragmentBytes: corpus.fragments.reduce((n, s) => n + s.length, 0),
      nativeNote: sanitizers.nativeNote, purifyVersion: sanitizers.purifyVersion,
    };
  },
  async sanitize(kind, which, opts) {
    const inputs = corpus[which];
    const r = await runSanitize(sanitizers, kind, inputs, opts);
    return { ...r, safety: opts.scan ? safety(sanitizers, inputs) : null };
  },
  /** One candidate alone (profiler, violation attribution): passes for at least `seconds`. */
  async sanitizeLoop(kind, which, name, seconds) {
    const fn = sanitizers[kind][name];
    const end = performance.now() + seconds * 1000;
    let passes = 0;
    do { for (const h of corpus[which]) fn(h); passes++; } while (performance.now() < end);
    sanitizers.clear();
    return passes;
  },

  async rpcSetup() {
    rpc = await setupRpc(pluginOrigin, slots);
    return { sizes: rpc.sizes, frameIsolated: rpc.frameIsolated, candidates: rpc.info.candidates };
  },
  rpcRun: (candidate, key, n) => rpc.run(candidate, key, n),
  rpcTeardown() { rpc?.destroy(); rpc = null; },
  flood: (opts) => flood(pluginOrigin, slots, opts),

  permission: (opts) => runPermission(opts),

  async mountSingle(opts) {
    await setupMount(pluginOrigin, slots);
    try { return await runSingle(opts); } finally { teardownMount(); }
  },
  async mountMany(n, opts) {
    await setupMount(pluginOrigin, slots);
    try { return await runMany(n, { ...opts, measure: opts.memory ? measureMemory : null }); } finally { teardownMount(); }
  },
  mountTeardown: () => teardownMount(),

  wasm: (opts) => runWasm(opts),
};
status.textContent = `ready (crossOriginIsolated: ${self.crossOriginIsolated})`;
document.body.dataset.ready = 'true';
