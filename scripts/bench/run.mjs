// The benchmark suite (DESIGN.md §8): serves www/bench on two loopback origins (host page
// cross-origin isolated), drives it in Debian's Chromium with playwright-core, and writes
// bench/results/results-<timestamp>.{json,md} plus latest.{json,md}. Needs pkg/ built
// (scripts/bench.sh does setup + build first).
//   node scripts/bench/run.mjs [--quick] [--suite <name>]... [--out <dir>] [--port <n>] [--no-profile]
//                              [--all-pages]  (every corpus page; default every 4th)
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
import { namedPackage, WASM_BUILDS } from './named-pkg.mjs';
import { rendererPss } from './procmem.mjs';
import { wasmBreakdown } from './wasm-sizes.mjs';
import { budgets, markdown } from './report.mjs';

export const SUITES = ['sanitize', 'sanitize-into-DOM', 'rpc', 'permission', 'mount', 'size'];
const root = new URL('../..', import.meta.url).pathname;
const log = (m) => console.log(`bench: ${m}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv) {
  const o = { quick: false, allPages: false, suites: [], out: join(root, 'bench/results'), port: 8750, profile: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--no-profile') o.profile = false;
    else if (a === '--all-pages') o.allPages = true;
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
  // The mean of the middle 80 %: unlike the median, not a multiple of the page's timer step (5 µs
  // when cross-origin isolated), so two candidates a step apart are told apart.
  const cut = Math.floor(s.length * 0.1);
  const mid = s.slice(cut, s.length - cut);
  const tmean = mid.length ? mid.reduce((t, x) => t + x, 0) / mid.length : NaN;
  return { n: s.length, median: q(0.5), p95: q(0.95), min: s[0], max: s[s.length - 1], tmean };
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

  const corpus = opt.suites.some((s) => s.startsWith('sanitize')) ? await buildCorpus({ quick: q, allPages: opt.allPages }) : null;
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
    errors: {},
  };
  let failure = null;
  try {
    const page = await browser.newPage();
    const seen = watch(page);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.exposeFunction('benchGc', () => cdp.send('HeapProfiler.collectGarbage').then(() => true));
    await page.exposeFunction('benchRendererPss', () => rendererPss());
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
    // CSP / Trusted Types reports, by who caused them. Blocked image loads are expected
    // (sanitized real pages keep <img src>; img-src 'self' keeps every load on loopback).
    const reports = () => seen.violations.filter((v) => !/^Loading the image /.test(v));
    result.violationsBy = {};
    for (const suite of opt.suites) {
      log(`suite ${suite}…`);
      const t = Date.now();
      const before = reports().length;
      try {
        await SUITE_RUNNERS[suite]({ bench, result, q, page, cdp, opt, corpus });
      } catch (e) {
        // Keep the other suites' results; the run still fails.
        log(`suite ${suite} FAILED: ${e.message}`);
        result.errors[suite] = String(e.message);
        await page.evaluate(() => window.bench.mountTeardown()).catch(() => {});
      }
      await sleep(300);
      if (suite.startsWith('sanitize') && reports().length > before) {
        // Which sanitizer? Run each alone once more over both corpora and count.
        for (const name of ['plugin-warden', 'DOMPurify', 'native setHTML']) {
          const n0 = reports().length;
          for (const which of ['pages', 'fragments']) await bench('sanitizeLoop', 'string', which, name, 0);
          await sleep(300);
          result.violationsBy[name] = reports().length - n0;
        }
      } else if (reports().length > before) {
        result.violationsBy[suite] = reports().length - before;
      }
      log(`suite ${suite} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    result.budgets = budgets(result);
    result.blockedImageLoads = seen.violations.length - reports().length;
    result.violations = [...new Set(reports())];
    result.pageErrors = seen.pageErrors;
    if (Object.keys(result.errors).length) failure = `suites failed: ${Object.entries(result.errors).map(([k, v]) => `${k}: ${v}`).join('; ')}`;
    const pwUnsafe = Object.entries(result.safety).filter(([, v]) => v['plugin-warden'] && !v['plugin-warden'].safe);
    if (pwUnsafe.length) failure = `plugin-warden's sanitizer output is UNSAFE on ${pwUnsafe.map(([k]) => k).join(', ')}`;
    // DOMPurify's own reports (it touches the text of <script> elements in its parse document,
    // which Trusted Types report and block) are recorded; any other is a failure.
    const others = Object.entries(result.violationsBy).filter(([k, n]) => k !== 'DOMPurify' && n > 0);
    if (others.length) failure = `CSP / Trusted Types violations caused by ${others.map(([k, n]) => `${k} (${n})`).join(', ')}: ${result.violations.slice(0, 3).join(' | ')}`;
    const missed = result.budgets.filter((x) => x.met === false && x.profile);
    if (opt.profile && !q && missed.length) await profileMissed({ browser, result, missed, corpusJson, port, corpus });
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
  async 'sanitize-into-DOM'(ctx) {
    await sanitizeSuite(ctx, 'dom', 'sanitize-into-DOM');
    await sanitizeSuite(ctx, 'inert', 'sanitize-into-DOM');
  },

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
      rounds: roundMedians(toUs(times), calls),
    }));
    log(`  rpc: small value done (frame isolated: ${setup.frameIsolated}; largest value ${setup.sizes.p64k})`);
    for (const key of ['p100', 'p1k', 'p16k', 'p64k']) {
      log(`  rpc: payload ${key}`);
      const perRound = q ? 10 : 100;
      // As many rounds as the small value: each goal row is judged on the ratio of their medians.
      const t = await interleaveRemote(names, q ? 1 : 10, q ? 0 : 1, (c) => bench('rpcRun', c, key, perRound));
      result.cases.push(kase('rpc', `payload ${setup.sizes[key]} B`, 'µs', toUs(t), baselines, {
        rounds: roundMedians(toUs(t), perRound),
        ...(key === 'p64k' ? { note: `the largest value plugin-warden's storage.set accepts under the 64 KiB message limit: ${setup.sizes[key]} chars` } : {}),
      }));
    }
    await bench('rpcTeardown');
    for (const suspend of [true, false]) {
      log(`  rpc: flood (suspension ${suspend ? 'on' : 'off'})`);
      // Suspended: the flooder may send as fast as it likes. Never suspended: 1000 calls/s
      // (20× the allowed rate) for the victim's whole measurement.
      const rate = suspend ? { burst: 100, everyMs: 10 } : { burst: 10, everyMs: 10 };
      const f = await bench('flood', { calls: q ? 12 : 40, suspend, ...rate });
      const label = suspend
        ? `flood of ${(rate.burst * 1000) / rate.everyMs} calls/s (default limits: flooder suspended)`
        : `flood of ${(rate.burst * 1000) / rate.everyMs} calls/s (suspendAfter: 0: flooder refused, never suspended)`;
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
    // --quick skips 100 at once (tens of seconds on 2 busy cores).
    for (const n of q ? [1, 10] : [1, 10, 100]) {
      const samples = q ? 1 : n === 100 ? 3 : 6;
      log(`  mount: ${n} at once`);
      const r = await bench('mountMany', n, { warmup: q ? 0 : 1, samples, memory: !q });
      result.cases.push(kase('mount', `${n} plugin${n > 1 ? 's' : ''} at once`, 'ms', r.times, ['bare iframe + handshake'], {
        memory: r.memory,
      }));
    }
  },

  async size({ bench, result, q, page }) {
    const s = sizeSuite();
    const w = await bench('wasm', { warmup: q ? 1 : 2, samples: q ? 3 : 10 });
    s.firstLoad = await firstLoad(page, s);
    result.size = s;
    for (const [name, m] of Object.entries(w)) {
      result.cases.push(kase('size', `wasm compile / instantiate, ${name} module`, 'ms', m.times, [], {
        module: `${name} wasm`, note: `${m.bytes} bytes of wasm (${m.path}), in the page`,
      }));
    }
  },
};

/**
 * What a host page fetches of the package to mount one iframe plugin, and then to load the
 * sanitizer and sanitize once (www/bench/firstload.html, in a fresh context so nothing is
 * cached): the files by path, with the raw / gzip / brotli sizes of the same files as the `size`
 * suite measures them (a fetched file that is not a package file counts its decoded size).
 */
async function firstLoad(benchPage, s) {
  const plugin = new URL(benchPage.url()).searchParams.get('plugin');
  const context = await benchPage.context().browser().newContext();
  try {
    const page = await context.newPage();
    await page.goto(new URL(`/firstload.html?plugin=${encodeURIComponent(plugin)}`, benchPage.url()).href);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
    const r = await page.evaluate(() => window.firstLoad);
    if (r.error) throw new Error(`first-load page: ${r.error}`);
    if (r.overflow) throw new Error('first-load page: the Resource Timing buffer filled up (entries were dropped)');
    if (r.trustedHTMLBeforePreload !== 'MODULE_NOT_LOADED') {
      throw new Error(`first-load page: host.trustedHTML before preload('sanitizer') gave ${r.trustedHTMLBeforePreload}, expected a MODULE_NOT_LOADED error`);
    }
    if (/onclick|alert/.test(r.sanitized) || !/<b>sanitize<\/b>/.test(r.sanitized)) throw new Error(`first-load page: unexpected sanitized output ${r.sanitized}`);
    const byFile = new Map(s.files.map((f) => [`/${f.file}`, f]));
    const step = (list) => {
      const files = list.map((e) => ({ ...e, ...(byFile.get(e.path) ?? { raw: e.decodedBodySize, gzip: e.decodedBodySize, brotli: e.decodedBodySize, notPackageFile: true }) }));
      return { files, raw: files.reduce((t, f) => t + f.raw, 0), gzip: files.reduce((t, f) => t + f.gzip, 0), brotli: files.reduce((t, f) => t + f.brotli, 0) };
    };
    const toMount = step(r.toMount);
    const extra = step(r.afterSanitize);
    return {
      toMount,
      afterSanitize: {
        files: [...toMount.files, ...extra.files], raw: toMount.raw + extra.raw, gzip: toMount.gzip + extra.gzip, brotli: toMount.brotli + extra.brotli,
        added: extra.files.map((f) => f.path), addedSize: { raw: extra.raw, gzip: extra.gzip, brotli: extra.brotli },
      },
      trustedHTMLBeforePreload: r.trustedHTMLBeforePreload,
    };
  } finally {
    await context.close();
  }
}

/** Each candidate's median of each round (`size` samples per round, in order). */
function roundMedians(times, size) {
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k,
    Array.from({ length: Math.floor(v.length / size) }, (_, i) => summary(v.slice(i * size, (i + 1) * size)).median)]));
}

function toUs(times) {
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map((x) => x * 1000)]));
}

async function sanitizeSuite({ bench, result, q }, kind, suite) {
  for (const which of ['pages', 'fragments']) {
    // Whole pages: 10 rounds (the ratios moved by up to ±40 % between runs of 6); each round's
    // samples are kept, so the report can give the spread of the paired per-round ratios.
    // Two rounds of warm-up: after one, the first rounds of whole pages still ran ~1.8× slower
    // than the later ones (the sanitizer's wasm not yet tiered up).
    const opts = which === 'pages' ? { warmup: q ? 1 : 2, samples: q ? 2 : 10 } : { warmup: q ? 1 : 2, samples: q ? 3 : 15 };
    const r = await bench('sanitize', kind, which, { ...opts, scan: !result.safety[which] });
    const label = (which === 'pages' ? `${r.inputs} real pages (bodies, ${(r.bytes / 1e6).toFixed(1)} MB)` : `${r.inputs} plugin-sized fragments (1-4 KiB)`)
      + (kind === 'dom' ? ', attached element' : kind === 'inert' ? ', inert document' : '');
    const into = '(plugin-warden: innerHTML = host.trustedHTML(html); DOMPurify: RETURN_DOM_FRAGMENT appended; native: setHTML)';
    result.cases.push(kase(suite, label, 'ms', r.times, ['DOMPurify', 'native setHTML'], {
      bytes: r.bytes, inputs: r.inputs, corpus: which, kind, rounds: r.times,
      note: {
        string: 'one sample = every input once; native has no string API: setHTML into a <template>, innerHTML read back',
        dom: `one sample = every input once, into an element attached to the document ${into}; kept <img> start loading (same-origin 404s, or blocked by img-src 'self')`,
        inert: `one sample = every input once, into an element of a document without a browsing context (nothing loads) ${into}`,
      }[kind],
    }));
    if (r.safety) result.safety[which] = r.safety;
  }
}

/**
 * CPU profiles of plugin-warden's candidate for each missed budget, on a fresh page served with
 * a copy of the package that keeps wasm function names (named-pkg.mjs) when the release wasm
 * has none.
 */
async function profileMissed({ browser, result, missed, corpusJson, port, corpus }) {
  let pkgDir;
  const released = result.size?.wasmNameSection;
  if (!released) {
    log('profiling: building a copy of the package with wasm function names (bench/named-pkg)…');
    const named = namedPackage();
    result.profileBuild = named.skipped ? { names: false, note: named.skipped } : {
      names: named.names,
      note: `bench/named-pkg: each module's cargo release wasm (as scripts/build.sh builds it) → wasm-bindgen → wasm-opt with its Cargo.toml's arguments and -g; ${named.sameCodeAsRelease ? 'code and data sections the same size as the release pkg/' : `**differs from the release**: ${named.differs.join('; ')}`}`,
    };
    pkgDir = named.dir;
  }
  const p = await freePair(port + 2);
  const servers = await startBenchServers({ hostPort: p, pluginPort: p + 1, corpus: async () => corpusJson, ...(pkgDir ? { pkgDir } : {}) });
  try {
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await page.goto(servers.benchUrl);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
    const bench = (fn, ...args) => page.evaluate(([f, a]) => window.bench[f](...a), [fn, args]);
    if (corpus) await bench('loadCorpus');
    for (const kind of new Set(missed.map((b) => b.profile))) {
      log(`profiling plugin-warden for the missed budget(s) of ${kind}…`);
      result.profiles[kind] = await PROFILERS[kind]({ bench, cdp, pkgDir });
    }
    await page.close();
  } finally {
    await servers.close();
  }
}

const PROFILERS = {
  async 'sanitize-into-DOM'({ bench, cdp }) {
    // The inert kind: no image loads or CSP reports in the way of the sanitizer's own time.
    const pages = await profile(cdp, () => bench('sanitizeLoop', 'inert', 'pages', 'plugin-warden', 4));
    const fragments = await profile(cdp, () => bench('sanitizeLoop', 'inert', 'fragments', 'plugin-warden', 4));
    return { 'plugin-warden, real pages into an inert document (≥ 4 s)': pages, 'plugin-warden, fragments into an inert document (≥ 4 s)': fragments };
  },
  async rpc({ bench, cdp }) {
    await bench('rpcSetup');
    // The raw MessagePort run is the reference: what the host page does for the same number of
    // round trips without plugin-warden.
    return {
      'host page while the plugin calls storage.get 2000 times': await profile(cdp, () => bench('rpcRun', 'plugin-warden', 'k', 2000)),
      'reference: host page during 2000 raw MessagePort round trips': await profile(cdp, () => bench('rpcRun', 'MessagePort', 'k', 2000)),
    };
  },
  async mount({ bench, cdp }) {
    return { 'host page during 10 rounds of single mounts (every mount kind and the bare baseline)': await profile(cdp, () => bench('mountSingle', { warmup: 0, samples: 10 })) };
  },
  async permission({ bench, cdp }) {
    return { 'permission loop': await profile(cdp, () => bench('permission', { warmup: 0, samples: 5, iterations: 1_000_000 })) };
  },
  async size({ pkgDir }) {
    // Not a CPU profile: where each wasm module's bytes go, by crate (needs function names).
    const dir = pkgDir ?? join(root, 'pkg');
    const out = {};
    for (const b of WASM_BUILDS) {
      // The named build's core is the module before scripts/split-module.mjs splits it in two.
      const whole = b.module === 'core' ? ', both parts (before the split)' : '';
      out[`${b.module} module (${join(b.outDir, `${b.outName}_bg.wasm`).replace(/^\.\//, '')}${whole}): code by crate, name section of the profiled build`] = wasmBreakdown(join(dir, b.outDir, `${b.outName}_bg.wasm`), 15);
    }
    return out;
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => { console.error(`bench: ${e.stack || e}`); process.exit(1); });
}
