// Suite `permission`: host.hasPermission(action) vs a JS Set.has vs Grafana's object lookup
// (`user.permissions?.[action]` over an object map), on the same actions (half held, half not),
// many calls per sample; answers ns per call.
import { PluginHost } from '/pkg/index.js';
import { interleave } from './lib.js';

export async function runPermission({ warmup, samples, iterations }) {
  const held = Array.from({ length: 64 }, (_, i) => `bench-app.thing${i}:read`);
  const missing = Array.from({ length: 64 }, (_, i) => `bench-app.thing${i}:write`);
  const actions = [];
  for (let i = 0; i < 64; i++) actions.push(held[i], missing[i]);
  const host = new PluginHost({ storage: 'memory', user: { role: 'Viewer', permissions: held } });
  const set = new Set(held);
  const user = { permissions: Object.fromEntries(held.map((a) => [a, true])) };
  const loop = (check) => () => {
    let yes = 0;
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) if (check(actions[i & 127])) yes++;
    const dt = performance.now() - t0;
    // Every candidate must answer alike (and the count keeps the loop from being optimized out).
    if (yes !== iterations / 2) throw new Error(`permission check answered yes ${yes} times of ${iterations}, expected half`);
    return (dt * 1e6) / iterations;
  };
  try {
    const times = await interleave({
      'plugin-warden hasPermission': loop((a) => host.hasPermission(a)),
      'Set.has': loop((a) => set.has(a)),
      'object lookup (Grafana)': loop((a) => user.permissions?.[a] === true),
    }, { warmup, samples });
    return { iterations, actions: actions.length, times };
  } finally {
    host.destroy();
  }
}
