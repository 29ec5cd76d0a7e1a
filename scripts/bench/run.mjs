// The benchmark suite (DESIGN.md §8): serves www/bench on two loopback origins (host page
// cross-origin isolated), drives it in Debian's Chromium with playwright-core, and writes
// bench/results/results-<timestamp>.{json,md} plus latest.{json,md}. Needs pkg/ built
// (scripts/bench.sh does setup + build first).
//   node scripts/bench/run.mjs [--quick] [--suite <name>]... [--out <dir>] [--port <n>] [--no-profile]
// Suites: sanitize, sanitize-into-DOM, rpc, permission, mount, size.
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { launch, watch } from '../browser.mjs';
import { startBenchServers } from './serve.mjs';
import { buildCorpus } from './corpus.mjs';
import { sizeSuite } from './size.mjs';
import { profile } from './profile.mjs';
import { budgets, markdown } from './report.mjs';

export const SUITES = ['sanitize', 'sanitize-into-DOM', 'rpc', 'permission', 'mount', 'size'];
const root = new URL('../..', import.meta.url).pathname;

function parseArgs(argv) {
  const o = { quick: false, suites: [], out: join(root, 'bench/results'), port: 8750, profile: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--no-profile') o.profile = false;
    else if (a === '--suite') o.suites.push(argv[++i]);
    else if (a === '--out') o.out = argv[++i];
    else if (a === '--port') o.port = Number(argv[++i]);
    else throw new Error(`unknown argument ${a} (see the header of scripts/bench/run.mjs)`);
  }
  for (const s of o.suites) if (!SUITES.includes(s)) throw new Error(`unknown suite ${s}; suites: ${SUITES.join(', ')}`);
  if (!o.suites.length) o.suites = [...SUITES];
  return o;
}

const portFree = (port) => new Promise((resolve) => {
  const s = net.createServer();
  s.once('error', () => resolve(false));
  s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});

async function freePair(base) {
  for (let p = base; p < base + 10; p += 2) if (await portFree(p) && await portFree(p + 1)) return p;
  throw new Error(`no free port pair in ${base}-${base + 10}`);
}

function summary(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (f) => s[Math.min(s.length - 1, Math.floor(s.length * f))];
  return { n: s.length, median: q(0.5), p95: q(0.95), min: s[0], max: s[s.length - 1] };
}

/** A result case: candidates' samples summarized; `baselines` name the ratio columns. */
function kase(suite, name, unit, times, baselines, extra = {}) {
  const candidates = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, summary(v)]));
  for (const [k, v] of Object.entries(candidates)) {
    if (!(v.n > 0) || !Number.isFinite(v.median)) throw new Error(`${suite} / ${name}: ${k} produced no numbers`);
  }
  return { suite, case: name, unit, candidates, baselines, ...extra };
}

/** Run page-side candidates interleaved from here (each call answers a list of samples). */
async function interleaveRemote(names, rounds, warmup, runOne) {
  const out = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const n of order) {
      const v = await runOne(n);
      if (r >= warmup) out[n].push(...v);
    }
  }
  return out;
}

export async function main(argv = process.argv.slice(2)) {
  const opt = parseArgs(argv);
  const q = opt.quick;
  const started = new Date();
  const log = (m) => console.log(`bench: ${m}`);
  const corpus = opt.suites.some((s) => s.startsWith('sanitize')) ? await buildCorpus({ quick: q }) : null;
  const corpusJson = corpus ? JSON.stringify(corpus) : '{}';
  const port = await freePair(opt.port);
  const servers = await startBenchServers({ hostPort: port, pluginPort: port + 1, corpus: async () => corpusJson });
  const browser = await launch();
  const result = {
    schema: 'plugin-warden/bench@1',
    date: started.toISOString(),
    quick: q,
    suites: opt.suites,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
    browser: { version: browser.version() },
    cases: [],
    safety: {},
    notes: [],
    profiles: {},
  };
  let failure = null;
  try {
    const page = await browser.newPage();
    const seen = watch(page);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.exposeFunction('benchGc', () => cdp.send('HeapProfiler.collectGarbage').then(() => true));
    await page.exposeFunction('benchHeap', async () => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? null;
    });
    await page.goto(servers.benchUrl);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
    const bench = (fn, ...args) => page.evaluate(([f, a]) => window.bench[f](...a), [fn, args]);
    result.page = await bench('info');
    result.crossOriginIsolated = result.page.crossOriginIsolated;
    log(`page ready (crossOriginIsolated: ${result.crossOriginIsolated}, timer step ${result.page.timerResolutionMs} ms)`);

    if (corpus) {
      result.corpus = await bench('loadCorpus');
      result.allowList = corpus.allow;
    }
    for (const suite of opt.suites) {
      log(`suite ${suite}…`);
      const t = Date.now();
      await SUITE_RUNNERS[suite]({ bench, result, q, page, cdp, opt, corpus });
      log(`suite ${suite} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    result.budgets = budgets(result);
    if (opt.profile && !q) {
      for (const b of result.budgets.filter((x) => x.met === false && x.profile)) {
        log(`profiling the missed budget: ${b.budget}…`);
        result.profiles[b.budget] = await PROFILERS[b.profile]({ bench, cdp, page, result });
      }
    }
    result.violations = seen.violations;
    result.pageErrors = seen.pageErrors;
    const pwUnsafe = Object.entries(result.safety).filter(([, v]) => v['plugin-warden'] && !v['plugin-warden'].safe);
    if (pwUnsafe.length) failure = `plugin-warden's sanitizer output is UNSAFE on ${pwUnsafe.map(([k]) => k).join(', ')}`;
    if (seen.violations.length) failure = `CSP / Trusted Types violations on the bench page: ${seen.violations.slice(0, 3).join(' | ')}`;
  } finally {
    await browser.close().catch(() => {});
    await servers.close();
  }
  result.durationS = +((Date.now() - started.getTime()) / 1000).toFixed(1);
  mkdirSync(opt.out, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const md = markdown(result);
  const base = join(opt.out, `results-${stamp}`);
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(`${base}.md`, md);
  copyFileSync(`${base}.json`, join(opt.out, 'latest.json'));
  copyFileSync(`${base}.md`, join(opt.out, 'latest.md'));
  console.log(md);
  log(`written ${base}.{json,md} and latest.{json,md} in ${opt.out}`);
  if (failure) {
    console.error(`\nbench: FAILED: ${failure}`);
    process.exitCode = 1;
  }
  return result;
}

const SUITE_RUNNERS = {
  async sanitize(ctx) { await sanitizeSuite(ctx, 'string', 'sanitize'); },
  async 'sanitize-into-DOM'(ctx) { await sanitizeSuite(ctx, 'dom', 'sanitize-into-DOM'); },

  async rpc({ bench, result, q }) {
    const setup = await bench('rpcSetup');
    result.rpc = setup;
    const names = setup.candidates;
    const baselines = ['MessagePort', 'postMessage', 'Penpal', 'Comlink'];
    const calls = q ? 20 : 200;
    const rounds = q ? 2 : 10;
    const times = await interleaveRemote(names, rounds, 1, (c) => bench('rpcRun', c, 'k', calls));
    result.cases.push(kase('rpc', 'storage.get round trip (small value)', 'µs', toUs(times), baselines, {
      note: `per call, timed in the plugin frame (crossOriginIsolated there: ${setup.frameIsolated}); ${rounds} interleaved rounds of ${calls} sequential calls`,
    }));
    for (const key of ['p100', 'p1k', 'p16k', 'p64k']) {
      const t = await interleaveRemote(names, q ? 1 : 5, q ? 0 : 1, (c) => bench('rpcRun', c, key, q ? 10 : 100));
      result.cases.push(kase('rpc', `payload ${setup.sizes[key]} B`, 'µs', toUs(t), baselines,
        key === 'p64k' ? { note: `the largest value plugin-warden's storage.set accepts under the 64 KiB message limit: ${setup.sizes[key]} chars` } : {}));
    }
    for (const suspend of [true, false]) {
      const f = await bench('flood', { calls: q ? 12 : 40, suspend });
      const label = suspend ? 'flood (default limits: flooder suspended)' : 'flood (suspendAfter: 0: flooder refused, never suspended)';
      result.cases.push(kase('rpc', `victim storage.get, ${label}`, 'µs', toUs({
        'victim, no flood': f.quietSamples, 'victim, during flood': f.floodedSamples,
      }), ['victim, no flood'], { flood: { ...f, quietSamples: undefined, floodedSamples: undefined } }));
    }
  },

  async permission({ bench, result, q }) {
    const r = await bench('permission', { warmup: q ? 1 : 3, samples: q ? 3 : 15, iterations: q ? 100_000 : 1_000_000 });
    result.cases.push(kase('permission', 'permission check', 'ns/op', r.times, ['Set.has', 'object lookup (Grafana)'], {
      note: `${r.iterations} checks per sample over ${r.actions} actions, half held`,
    }));
  },

  async mount({ bench, result, q }) {
    const single = await bench('mountSingle', { warmup: q ? 1 : 2, samples: q ? 3 : 20 });
    result.cases.push(kase('mount', 'mount-to-ready, one plugin', 'ms', single.times, ['bare iframe + handshake'], {
      note: 'from the call to host.mount() resolving (worker: the runner frame said hello; shadow: no frame) vs a bare sandboxed iframe from the same plugin origin plus hello / port transfer / reply',
    }));
    for (const n of [1, 10, 100]) {
      const samples = q ? 1 : n === 100 ? 3 : 6;
      const r = await bench('mountMany', n, { warmup: q ? 0 : 1, samples, memory: !q });
      result.cases.push(kase('mount', `${n} plugin${n > 1 ? 's' : ''} at once`, 'ms', r.times, ['bare iframe + handshake'], {
        memory: r.memory,
      }));
    }
  },

  async size({ bench, result, q }) {
    const s = sizeSuite();
    const w = await bench('wasm', { warmup: q ? 1 : 2, samples: q ? 3 : 10 });
    result.size = s;
    result.cases.push(kase('size', 'wasm compile / instantiate', 'ms', w.times, [], { note: `${w.bytes} bytes of wasm, in the page` }));
  },
};

function toUs(times) {
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map((x) => x * 1000)]));
}

async function sanitizeSuite({ bench, result, q }, kind, suite) {
  for (const which of ['pages', 'fragments']) {
    const opts = which === 'pages' ? { warmup: 1, samples: q ? 2 : 7 } : { warmup: q ? 1 : 2, samples: q ? 3 : 15 };
    const r = await bench('sanitize', kind, which, opts);
    const label = which === 'pages' ? `${r.inputs} real pages (bodies)` : `${r.inputs} plugin-sized fragments (1-4 KiB)`;
    result.cases.push(kase(suite, label, 'ms', r.times, ['DOMPurify', 'native setHTML'], {
      bytes: r.bytes, inputs: r.inputs, corpus: which,
      note: kind === 'string'
        ? 'one sample = every input once; native has no string API: setHTML into a <template>, innerHTML read back'
        : 'one sample = every input once, into an element attached to the document (plugin-warden: innerHTML = host.trustedHTML(html); DOMPurify: RETURN_DOM_FRAGMENT appended; native: setHTML)',
    }));
    result.safety[`${which}`] = r.safety;
  }
}

const PROFILERS = {
  async 'sanitize-into-DOM'({ bench, cdp }) {
    const pages = await profile(cdp, () => bench('sanitizeLoop', 'dom', 'pages', 'plugin-warden', 4));
    const fragments = await profile(cdp, () => bench('sanitizeLoop', 'dom', 'fragments', 'plugin-warden', 4));
    return { 'plugin-warden, real pages, into DOM (4 s)': pages, 'plugin-warden, fragments, into DOM (4 s)': fragments };
  },
  async rpc({ bench, cdp }) {
    return { 'host page while the plugin calls storage.get 2000 times': await profile(cdp, () => bench('rpcRun', 'plugin-warden', 'k', 2000)) };
  },
  async mount({ bench, cdp }) {
    return { 'host page during 20 single iframe mounts (and baselines)': await profile(cdp, () => bench('mountSingle', { warmup: 0, samples: 10 })) };
  },
  async permission({ bench, cdp }) {
    return { 'permission loop': await profile(cdp, () => bench('permission', { warmup: 0, samples: 5, iterations: 1_000_000 })) };
  },
  async size() {
    return { note: 'size is not a CPU profile: see the size table (wasm code vs data) and the findings in docs/benchmarks.md' };
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => { console.error(`bench: ${e.stack || e}`); process.exit(1); });
}
