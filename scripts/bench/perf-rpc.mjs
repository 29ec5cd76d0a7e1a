// A native profile of the RPC round trip: Linux `perf record` over the whole machine (every
// browser process and thread, the kernel included) while the rpc bench page runs one candidate's
// storage.get calls, one recording per candidate. The CDP profiles (rpc-compare.mjs --profile)
// see only JS and wasm, and file the browser's own work as "(program)"; this sees all of it,
// by process and thread. V8 writes /tmp/perf-<pid>.map (--perf-basic-prof), so `perf report`
// names JS and wasm functions; Debian's chromium binary is stripped, so its own functions
// (Blink, mojo, and V8's builtins and interpreter) stay addresses in `chromium`.
//   node scripts/bench/perf-rpc.mjs [--key p16k] [--calls 5000] [--warmup 8000] [--freq 10000]
//        [--candidates plugin-warden,Penpal,MessagePort] [--pkg <pkgDir>] [--out /tmp/perfrpc]
// then, per candidate (the host renderer is the process whose perf map names wasm functions):
//   perf report -i /tmp/perfrpc/<candidate>.data --no-children --sort pid,dso -n --stdio -g none
// Needs perf (Debian linux-perf) and root (system-wide recording); on this machine only the
// cpu-clock software event is available. Sampling inflates the round trip (~1.4x at 10 kHz).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { CHROMIUM } from '../browser.mjs';
import { startBenchServers } from './serve.mjs';

const args = process.argv.slice(2);
const arg = (name, d) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : d; };
const key = arg('--key', 'p16k');
const calls = Number(arg('--calls', 5000));
const out = arg('--out', '/tmp/perfrpc');
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    '--js-flags=--perf-basic-prof --interpreted-frames-native-stack'],
});
const s = await startBenchServers({
  hostPort: 8890, pluginPort: 8891, corpus: async () => '{}',
  pkgDir: arg('--pkg', new URL('../../pkg', import.meta.url).pathname),
});
try {
  const page = await browser.newPage();
  await page.goto(s.benchUrl);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
  const bench = (fn, ...a) => page.evaluate(([f, x]) => window.bench[f](...x), [fn, a]);
  await bench('rpcSetup');
  for (const cand of arg('--candidates', 'plugin-warden,Penpal,MessagePort').split(',')) {
    // Warm up past V8's tier-up of the hot functions (background compiles show as thread-pool time).
    await bench('rpcRun', cand, key, Number(arg('--warmup', 8000)));
    const perf = spawn('perf', ['record', '-a', '-g', '-e', 'cpu-clock', '-F', arg('--freq', '10000'), '-o', `${out}/${cand}.data`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    const t = await bench('rpcRun', cand, key, calls);
    const ms = Date.now() - t0;
    perf.kill('SIGINT');
    await new Promise((r) => perf.on('exit', r));
    const sorted = [...t].sort((a, b) => a - b);
    console.log(`${cand} ${key}: ${calls} calls in ${ms} ms, median ${(sorted[sorted.length >> 1] * 1000).toFixed(0)} µs (under perf) -> ${out}/${cand}.data`);
  }
} finally {
  await browser.close();
  await s.close();
}
