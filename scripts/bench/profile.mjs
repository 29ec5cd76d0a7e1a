// Chromium's CPU profiler through CDP: run a workload in the page and summarize self time by
// function (wasm functions show their names when the wasm keeps its name section).

/** Profile `fn()` (which drives the page) on `cdp`; answers the top `top` self-time entries. */
export async function profile(cdp, fn, { top = 15, intervalUs = 200 } = {}) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: intervalUs });
  await cdp.send('Profiler.start');
  let profileData;
  try {
    await fn();
  } finally {
    profileData = (await cdp.send('Profiler.stop')).profile;
    await cdp.send('Profiler.disable');
  }
  return summarize(profileData, top);
}

export function summarize({ nodes, samples, timeDeltas }, top = 15) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const dt = (timeDeltas[i] ?? 0) / 1000; // µs → ms
    total += dt;
    const n = byId.get(samples[i]);
    const cf = n.callFrame;
    const where = cf.url ? cf.url.replace(/^https?:\/\/[^/]+/, '') : '';
    const key = `${cf.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([fn, ms]) => ({ function: fn, selfMs: +ms.toFixed(2), percent: +(100 * ms / total).toFixed(1) }));
  // Share of time in wasm vs JS vs the engine's own entries ((program), (garbage collector)…).
  const kinds = { wasm: 0, js: 0, other: 0 };
  for (const [k, ms] of self) {
    if (/\.wasm$|wasm:\/\/|wasm-function\[/.test(k)) kinds.wasm += ms;
    else if (/^\(/.test(k)) kinds.other += ms;
    else kinds.js += ms;
  }
  const share = Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, +(100 * v / (total || 1)).toFixed(1)]));
  return { totalMs: +total.toFixed(1), share, top: rows };
}
