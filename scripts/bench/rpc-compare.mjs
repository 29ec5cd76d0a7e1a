// The rpc suite, two builds side by side in one run: the same bench page served from two
// package directories (e.g. main's pkg/ copied aside, and this checkout's pkg/), driven in one
// browser, rounds interleaved (A, B, B, A, …) so both see the same machine load. Per build and
// payload: the median of every candidate and plugin-warden's ratio to the raw MessagePort,
// Penpal and Comlink of the same page; and plugin-warden B / A.
//   node scripts/bench/rpc-compare.mjs --base <pkgDir> [--pkg <pkgDir>] [--rounds 6] [--calls 100]
//        [--port 8790] [--keys k,p100,p1k,p16k,p64k]
//        [--profile <size key> [--candidates plugin-warden,Penpal,MessagePort] [--top 18]]
//        (--profile: CPU profiles of the host page and of the plugin frame during 2000 calls
//        per candidate and build, instead of timing; names in wasm need bench/named-pkg)
//        [--handler]  (also: the host page's own time per message, every MessagePort `message`
//        listener timed without the postMessage calls it makes: less noisy than the round trip
//        on a busy machine. plugin-warden and the raw port reply inside the listener; Penpal
//        and Comlink reply from a promise after it returns, so theirs leaves that part out)
import { join } from 'node:path';
import { launch } from '../browser.mjs';
import { startBenchServers } from './serve.mjs';
import { profile, summarize } from './profile.mjs';

const root = new URL('../..', import.meta.url).pathname;
const args = process.argv.slice(2);
const arg = (name, d) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : d; };
const builds = { A: arg('--base'), B: arg('--pkg', join(root, 'pkg')) };
if (!builds.A) throw new Error('--base <pkgDir> is required');
const rounds = Number(arg('--rounds', 6));
const calls = Number(arg('--calls', 100));
const port = Number(arg('--port', 8790));
const profileKey = arg('--profile', null);
const KEYS = (arg('--keys', 'k,p100,p1k,p16k,p64k')).split(',');
const handler = args.includes('--handler');
// Every MessagePort `message` listener of the host page timed (wasm's through addEventListener,
// the baselines' through onmessage); the bench turns the recording on per run.
function timeListeners() {
  if (window.parent !== window) return;
  globalThis.__hT = [];
  // The listener's own time: without the postMessage calls made inside it (the browser's).
  let posting = 0;
  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function postMessage(...a) {
    const t = performance.now();
    try { return post.apply(this, a); } finally { posting += performance.now() - t; }
  };
  const wrap = (fn) => function listener(e) {
    const t = performance.now();
    const p0 = posting;
    try { return fn.call(this, e); } finally { globalThis.__hT.push(performance.now() - t - (posting - p0)); }
  };
  const add = MessagePort.prototype.addEventListener;
  MessagePort.prototype.addEventListener = function addEventListener(type, fn, o) {
    return add.call(this, type, type === 'message' && typeof fn === 'function' ? wrap(fn) : fn, o);
  };
  const d = Object.getOwnPropertyDescriptor(MessagePort.prototype, 'onmessage');
  Object.defineProperty(MessagePort.prototype, 'onmessage', {
    configurable: true, get() { return d.get.call(this); },
    set(fn) { d.set.call(this, typeof fn === 'function' ? wrap(fn) : fn); },
  });
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

const browser = await launch();
const servers = [];
try {
  const pages = {};
  let p = port;
  for (const [name, pkgDir] of Object.entries(builds)) {
    const s = await startBenchServers({ hostPort: p, pluginPort: p + 1, corpus: async () => '{}', pkgDir });
    servers.push(s);
    p += 2;
    const page = await browser.newPage();
    if (handler) await page.addInitScript(timeListeners);
    page.on('pageerror', (e) => console.error(`${name}: page error ${e}`));
    await page.goto(s.benchUrl);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
    const bench = (fn, ...a) => page.evaluate(([f, x]) => window.bench[f](...x), [fn, a]);
    const setup = await bench('rpcSetup');
    pages[name] = { page, bench, setup };
    console.log(`${name}: ${pkgDir} (largest value ${setup.sizes.p64k}, frame isolated ${setup.frameIsolated})`);
  }
  if (profileKey) {
    for (const [name, { page, bench }] of Object.entries(pages)) {
      const hostCdp = await page.context().newCDPSession(page);
      const frame = page.frames().find((f) => f.url().includes('/rpc.html'));
      let frameCdp = null;
      try { frameCdp = await page.context().newCDPSession(frame); } catch (e) { console.log(`${name}: no separate frame session (${e.message})`); }
      await bench('rpcRun', 'plugin-warden', profileKey, 300);
      for (const cand of arg('--candidates', 'plugin-warden,Penpal,MessagePort').split(',')) {
        const run = () => bench('rpcRun', cand, profileKey, 2000);
        let frameProfile = null;
        if (frameCdp) {
          await frameCdp.send('Profiler.enable');
          await frameCdp.send('Profiler.setSamplingInterval', { interval: 100 });
          await frameCdp.send('Profiler.start');
        }
        const host = await profile(hostCdp, run, { top: Number(arg('--top', 18)), intervalUs: 100 });
        if (frameCdp) {
          frameProfile = summarize((await frameCdp.send('Profiler.stop')).profile, 14);
        }
        console.log(`\n=== ${name} ${cand} ${profileKey}: HOST (total ${host.totalMs} ms, ${JSON.stringify(host.share)})`);
        for (const r of host.top) console.log(`  ${String(r.selfMs).padStart(8)} ms ${String(r.percent).padStart(5)} %  ${r.function}`);
        if (frameProfile) {
          console.log(`--- ${name} ${cand} ${profileKey}: PLUGIN FRAME (total ${frameProfile.totalMs} ms)`);
          for (const r of frameProfile.top) console.log(`  ${String(r.selfMs).padStart(8)} ms ${String(r.percent).padStart(5)} %  ${r.function}`);
        }
      }
    }
  } else {
    const names = pages.A.setup.candidates;
    const out = {};
    for (const key of KEYS) {
      out[key] = { A: Object.fromEntries(names.map((n) => [n, []])), B: Object.fromEntries(names.map((n) => [n, []])) };
      const hT = { A: Object.fromEntries(names.map((n) => [n, []])), B: Object.fromEntries(names.map((n) => [n, []])) };
      for (let r = 0; r < rounds + 1; r++) {
        const order = r % 2 ? ['B', 'A'] : ['A', 'B'];
        for (const b of order) {
          const cands = r % 2 ? [...names].reverse() : names;
          for (const c of cands) {
            if (handler) await pages[b].page.evaluate(() => { globalThis.__hT = []; });
            const t = await pages[b].bench('rpcRun', c, key, calls);
            if (r > 0) out[key][b][c].push(...t);
            if (handler && r > 0) hT[b][c].push(...await pages[b].page.evaluate(() => globalThis.__hT));
          }
        }
      }
      const row = (b) => {
        const m = Object.fromEntries(names.map((n) => [n, median(out[key][b][n])]));
        const pw = m['plugin-warden'];
        return `${b}: pw ${(pw * 1000).toFixed(0)} µs | ×port ${(pw / m.MessagePort).toFixed(3)} ×Penpal ${(pw / m.Penpal).toFixed(3)} ×Comlink ${(pw / m.Comlink).toFixed(3)} | port ${(m.MessagePort * 1000).toFixed(0)} Penpal ${(m.Penpal * 1000).toFixed(0)} Comlink ${(m.Comlink * 1000).toFixed(0)}`;
      };
      const bOverA = median(out[key].B['plugin-warden']) / median(out[key].A['plugin-warden']);
      console.log(`${key} (${pages.A.setup.sizes[key]} chars)\n  ${row('A')}\n  ${row('B')}\n  pw B/A ${bOverA.toFixed(3)}`);
      if (handler) {
        for (const b of ['A', 'B']) {
          // The clock is coarse (5 µs when isolated): the mean of many samples says more than
          // their median.
          const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
          console.log(`  ${b} host listener median / mean µs (without its postMessage): ${names.filter((n) => n !== 'postMessage').map((n) => `${n} ${(median(hT[b][n]) * 1000).toFixed(0)} / ${(mean(hT[b][n]) * 1000).toFixed(1)} (n ${hT[b][n].length})`).join(', ')}`);
        }
      }
    }
  }
} finally {
  await browser.close().catch(() => {});
  await Promise.all(servers.map((s) => s.close()));
}
