// Benchmark entry: sanitize-into-DOM. plugin-warden (ammonia in wasm behind the Trusted Types
// policy, then innerHTML) against the browser's native Element.setHTML (the HTML Sanitizer
// API's safe default), on the same inputs, interleaved, in one page. Driven by
// scripts/bench-sanitize.mjs; results are ratios (this machine is noisy).
import init, { PluginHost } from '/pkg/index.js';

await init();
const host = new PluginHost({ storage: 'memory' });

function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }
function p95(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]; }

window.bench = async function run(inputs, { samples = 30, warmup = 5 } = {}) {
  const target = document.getElementById('out');
  const candidates = {
    'plugin-warden': (html) => { target.innerHTML = host.trustedHTML(html); },
    'native setHTML': typeof target.setHTML === 'function' ? (html) => { target.setHTML(html); } : null,
  };
  const times = Object.fromEntries(Object.keys(candidates).map((k) => [k, []]));
  for (let round = 0; round < warmup + samples; round++) {
    // Interleave, and alternate the order each round.
    const order = Object.keys(candidates);
    if (round % 2) order.reverse();
    for (const name of order) {
      const fn = candidates[name];
      if (!fn) continue;
      const t0 = performance.now();
      for (const html of inputs) fn(html);
      const dt = performance.now() - t0;
      if (round >= warmup) times[name].push(dt);
    }
  }
  target.textContent = '';
  const bytes = inputs.reduce((n, s) => n + s.length, 0);
  return Object.fromEntries(Object.entries(times).filter(([, t]) => t.length).map(([name, t]) => [name, {
    medianMs: median(t), p95Ms: p95(t), mbPerS: bytes / 1e6 / (median(t) / 1e3),
  }]));
};
document.body.dataset.ready = 'true';
