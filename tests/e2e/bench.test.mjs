// Smoke test of the benchmark suite (scripts/bench/run.mjs --quick): every suite runs in
// Chromium against the built package, the host page is cross-origin isolated, every candidate
// produced numbers, the sanitizers agree on safety, and the JSON/Markdown results are written.
// Needs pkg/ built. Numbers are not judged here (DESIGN.md §8: budgets are measured by the
// benchmark, never by timed tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './helpers.mjs';

const root = new URL('../..', import.meta.url).pathname;

// The runner starts its own servers and browser (scripts/bench/serve.mjs, scripts/browser.mjs);
// the shared e2e set-up gives it free ports.
test('bench --quick runs every suite and writes consistent results', { timeout: 120_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'pw-bench-'));
  const port = await freePorts(18760, 2);
  try {
    const run = spawnSync(process.execPath, [join(root, 'scripts/bench/run.mjs'), '--quick', '--out', out, '--port', String(port)], {
      cwd: root, encoding: 'utf8', timeout: 110_000,
    });
    assert.equal(run.status, 0, `bench exited ${run.status}:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`);

    const files = readdirSync(out);
    for (const f of ['latest.json', 'latest.md']) assert.ok(files.includes(f), `no ${f} in ${files}`);
    assert.equal(files.filter((f) => /^results-.*\.json$/.test(f)).length, 1);
    assert.equal(files.filter((f) => /^results-.*\.md$/.test(f)).length, 1);

    const r = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    assert.equal(r.schema, 'plugin-warden/bench@1');
    assert.equal(r.quick, true);
    assert.deepEqual(r.errors, {});
    assert.equal(r.crossOriginIsolated, true, 'the bench page must be cross-origin isolated');
    assert.deepEqual(r.suites, ['sanitize', 'sanitize-into-DOM', 'rpc', 'permission', 'mount', 'size']);
    // CSP / Trusted Types reports: only DOMPurify's own (it edits <script> text in its parse
    // document; Trusted Types block that) may occur.
    for (const [who, n] of Object.entries(r.violationsBy)) assert.ok(who === 'DOMPurify' || n === 0, `${who} caused ${n} reports: ${r.violations}`);
    assert.deepEqual(r.pageErrors, []);

    // Every suite has cases, and every candidate of every case produced numbers.
    for (const suite of r.suites) assert.ok(r.cases.some((c) => c.suite === suite), `no case for ${suite}`);
    for (const c of r.cases) {
      assert.ok(Object.keys(c.candidates).length >= 1, `${c.case}: no candidates`);
      for (const [name, s] of Object.entries(c.candidates)) {
        assert.ok(s.n >= 1 && Number.isFinite(s.median) && s.median >= 0 && Number.isFinite(s.p95), `${c.suite} / ${c.case} / ${name}: ${JSON.stringify(s)}`);
      }
      for (const b of c.baselines) assert.ok(c.candidates[b], `${c.case}: baseline ${b} has no numbers`);
    }
    const names = (suite) => new Set(r.cases.filter((c) => c.suite === suite).flatMap((c) => Object.keys(c.candidates)));
    assert.deepEqual([...names('sanitize')].sort(), ['DOMPurify', 'native setHTML', 'plugin-warden']);
    assert.deepEqual([...names('sanitize-into-DOM')].sort(), ['DOMPurify', 'native setHTML', 'plugin-warden', 'plugin-warden setHTML']);
    assert.deepEqual([...names('rpc')].filter((n) => !n.startsWith('victim')).sort(),
      ['Comlink', 'MessagePort', 'Penpal', 'plugin-warden', 'postMessage']);
    for (const n of [1, 10]) assert.ok(r.cases.some((c) => c.suite === 'mount' && c.case.startsWith(`${n} plugin`)), `no ${n}-plugin mount case`);

    // Safety agreement: every sanitizer's output is free of script-capable content.
    for (const corpus of ['pages', 'fragments']) {
      for (const name of ['plugin-warden', 'plugin-warden setHTML', 'DOMPurify', 'native setHTML']) {
        const s = r.safety[corpus][name];
        assert.equal(s.safe, true, `${corpus} / ${name}: ${JSON.stringify(s.findings)}`);
        assert.ok(s.elements > 0 && s.textChars > 0, `${corpus} / ${name} kept nothing`);
      }
      assert.equal(r.safety[corpus]['plugin-warden'].stringApiSameAsScanned, true);
    }

    // The flood: the flooder was refused (and, with default limits, suspended).
    const floods = r.cases.filter((c) => c.flood);
    assert.equal(floods.length, 2);
    for (const f of floods) {
      assert.ok((f.flood.flooder.hostCounts.RATE_LIMITED ?? 0) > 0, JSON.stringify(f.flood.flooder));
      assert.equal(f.flood.victimState, 'mounted');
    }
    assert.equal(floods[0].flood.flooder.state, 'failed');
    assert.equal(floods[0].flood.flooder.code, 'RATE_LIMITED');

    // Size: the package's files, each module, and the budgets table.
    assert.ok(r.size.files.some((f) => f.file === 'pkg/plugin_warden_bg.wasm' && f.gzip > 0 && f.brotli > 0));
    assert.ok(r.size.files.some((f) => f.file === 'pkg/sanitizer/plugin_warden_sanitizer_bg.wasm' && f.gzip > 0 && f.brotli > 0));
    assert.ok(r.size.files.some((f) => f.file === 'pkg/client/index.js'));
    const modules = Object.fromEntries(r.size.modules.map((m) => [m.module, m]));
    assert.deepEqual(Object.keys(modules), ['core wasm', 'core checks wasm', 'sanitizer wasm', 'sanitizer rest wasm', 'entry JS', 'sanitizer glue JS', 'IndexedDB JS', 'signature check JS', 'API client JS', 'mounts JS', 'client JS']);
    assert.deepEqual(modules['core wasm'].files, ['pkg/plugin_warden_bg.wasm']);
    assert.deepEqual(modules['core checks wasm'].files, ['pkg/plugin_warden_checks_bg.wasm']);
    assert.deepEqual(modules['sanitizer wasm'].files, ['pkg/sanitizer/plugin_warden_sanitizer_bg.wasm']);
    assert.deepEqual(modules['sanitizer rest wasm'].files, ['pkg/sanitizer/plugin_warden_sanitizer_rest_bg.wasm']);
    for (const m of r.size.modules) assert.ok(m.raw > 0 && m.gzip > 0 && m.brotli > 0 && m.gzip < m.raw, `${m.module}: ${JSON.stringify(m)}`);
    // The modules are the package: every file in exactly one, so they add up to the total.
    for (const k of ['raw', 'gzip', 'brotli']) assert.equal(r.size.modules.reduce((t, m) => t + m[k], 0), r.size.total[k], k);
    // Compile / instantiate time of each wasm module, in the page.
    for (const m of ['core', 'sanitizer']) {
      const c = r.cases.find((x) => x.suite === 'size' && x.module === `${m} wasm`);
      assert.ok(c, `no compile / instantiate case for the ${m} module`);
      assert.deepEqual(Object.keys(c.candidates).sort(), ['compile (WebAssembly.compile)', 'compile + instantiate (bytes)', 'instantiate (compiled module)']);
    }

    // First load, measured in a fresh page: mounting an iframe plugin fetched the core's first
    // part and neither its second part nor any file of the sanitizer module;
    // preload('sanitizer') + the first trustedHTML fetched exactly the sanitizer's glue and wasm
    // (its first part: not the rest).
    const fl = r.size.firstLoad;
    const mounted = fl.toMount.files.map((f) => f.path);
    assert.ok(mounted.includes('/pkg/plugin_warden_bg.wasm') && mounted.includes('/pkg/index.js'), `first load fetched ${mounted}`);
    assert.deepEqual(mounted.filter((p) => p.includes('sanitizer/')), [], `the first load fetched the sanitizer: ${mounted}`);
    assert.ok(!mounted.includes('/pkg/plugin_warden_checks_bg.wasm'), `the first load fetched the core's second part: ${mounted}`);
    // The plugin-side client is for srcdoc and shadow render mounts only (imported then).
    assert.ok(!mounted.includes('/pkg/client/index.js'), `an iframe src mount fetched the client: ${mounted}`);
    assert.deepEqual([...fl.afterSanitize.added].sort(), ['/pkg/sanitizer/plugin_warden_sanitizer.js', '/pkg/sanitizer/plugin_warden_sanitizer_bg.wasm']);
    assert.equal(fl.trustedHTMLBeforePreload, 'MODULE_NOT_LOADED');
    for (const f of [...fl.afterSanitize.files]) assert.ok(!f.notPackageFile && f.gzip > 0, `${f.path} is not a package file`);
    assert.equal(fl.toMount.gzip, fl.toMount.files.reduce((t, f) => t + f.gzip, 0));
    assert.equal(fl.afterSanitize.gzip, fl.toMount.gzip + modules['sanitizer wasm'].gzip + modules['sanitizer glue JS'].gzip);

    const budgetNames = r.budgets.map((b) => b.budget).join('\n');
    for (const b of ['DOMPurify throughput', 'native setHTML', 'MessagePort', 'Set.has', 'bare sandboxed iframe', 'gzip ≤ 300 KiB',
      'first load to mount an iframe plugin ≤ 150 KiB gzip', 'after the first sanitize ≤ 450 KiB gzip']) {
      assert.ok(budgetNames.includes(b), `no budget row for ${b}`);
    }
    const KiB = 1024;
    const byName = (p) => r.budgets.find((b) => b.budget.startsWith(p));
    assert.equal(byName('first load to mount').value, fl.toMount.gzip / KiB);
    assert.equal(byName('after the first sanitize').value, fl.afterSanitize.gzip / KiB);
    assert.equal(byName('package (wasm + JS)').value, r.size.total.gzip / KiB);
    // Issue 14's RPC goals, one row per payload size (the small value's port row is DESIGN's).
    const rpcRows = (p) => r.budgets.filter((b) => b.budget.startsWith(p)).map((b) => b.budget.replace(/.*; /, ''));
    assert.deepEqual(rpcRows('storage.get ≤ 1.0× Penpal and Comlink'), ['small value)', ...r.cases.filter((c) => c.suite === 'rpc' && c.case.startsWith('payload ')).map((c) => `${c.case})`)]);
    assert.equal(rpcRows('storage.get ≤ 1.3× raw MessagePort (issue 14').length, 4);
    // Beside the ratio of medians (multiples of the timer step), the ratio of trimmed means, which
    // is no multiple of it, and is the samples' own.
    for (const c of r.cases.filter((x) => x.suite === 'rpc' && (x.case.startsWith('payload ') || x.case.startsWith('storage.get')))) {
      const b = r.budgets.find((x) => x.budget.startsWith('storage.get ≤ 1.0× Penpal') && x.budget.endsWith(`${c.case.startsWith('payload ') ? c.case : 'small value'})`));
      assert.ok(b, `no Penpal/Comlink row for ${c.case}`);
      const t = (n) => c.candidates[n].tmean;
      assert.ok(t('plugin-warden') >= c.candidates['plugin-warden'].min && t('plugin-warden') <= c.candidates['plugin-warden'].max, c.case);
      const m = b.measured.match(/; trimmed means ([0-9.]+)× Penpal, ([0-9.]+)× Comlink$/);
      assert.ok(m, b.measured);
      assert.ok(Math.abs(Number(m[1]) - t('plugin-warden') / t('Penpal')) < 0.01, b.measured);
    }
    // The whole-page ratios say how far one round's paired ratio strays from the ratio of medians.
    for (const b of r.budgets.filter((x) => x.budget.startsWith('sanitize-into-DOM'))) assert.match(b.measured, /; per round [0-9.]+–[0-9.]+× \([0-9]+ rounds\)$/, b.budget);
    // host.setHTML's own ratio beside each, from its own median.
    for (const c of r.cases.filter((x) => x.suite === 'sanitize-into-DOM')) {
      const m = (name) => c.candidates[name].median;
      const row = (start) => r.budgets.find((x) => x.budget === `${start} (${c.case})`);
      const purify = row('sanitize-into-DOM ≥ 3× DOMPurify throughput');
      const native = row('sanitize-into-DOM ≤ 1.5× native setHTML time');
      assert.ok(purify && native, `${c.case}: no budget rows`);
      const got = (b) => Number(b.measured.match(/; host\.setHTML ([0-9.]+)×/)?.[1]);
      assert.ok(Math.abs(got(purify) - m('DOMPurify') / m('plugin-warden setHTML')) < 0.01 * got(purify), purify.measured);
      assert.ok(Math.abs(got(native) - m('plugin-warden setHTML') / m('native setHTML')) < 0.01 * got(native), native.measured);
    }
    // A missed budget says by how much.
    for (const b of r.budgets) if (b.met === false) assert.match(b.missedBy, /^[0-9.]+(×| KiB) \([0-9]+ % (over|under) the budget\)$/, b.budget);
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    assert.match(md, /## Budgets \(DESIGN\.md §8\)/);
    assert.match(md, /\| budget \| measured \| met \/ missed \|/);
    assert.match(md, /## size \(modules\)/);
    assert.match(md, /\| \*\*first load to mount an iframe plugin\*\* \|/);
    assert.match(md, /\| \*\*after the first sanitize\*\* \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

// scripts/bench/coverage.mjs on the release build's core before its split (target/split-core,
// kept by scripts/split-module.mjs): the instrumented journey runs, each step's modules (only what
// had run; the same as a split's first module) hold no more functions than the step after them,
// and the last step's two alone carry the journey again (the tool checks that itself and exits
// non-zero otherwise). With --check-profile it also fails if the journey ran a function
// scripts/core-profile.txt does not name: the build's split would then load its second part on
// a first visit (the profile is stale: record it again).
// The journey runs three times (the whole module, then two reduced ones), each waiting 8 s for
// two heartbeat rounds: ~75 s on the 2-core machine.
test('bench coverage: a module of only what the first visit ran carries that visit; the split\'s profile names all of it', { timeout: 180_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'pw-coverage-'));
  const port = await freePorts(18770, 2);
  try {
    const run = spawnSync(process.execPath, [join(root, 'scripts/bench/coverage.mjs'), '--pkg', 'pkg', '--core', 'target/split-core/plugin_warden_bg.wasm',
      '--out', out, '--port', String(port), '--check-profile'], { cwd: root, encoding: 'utf8', timeout: 170_000 });
    assert.equal(run.status, 0, `coverage exited ${run.status}:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`);
    assert.match(run.stdout, /The journey ran again on only-free\.wasm/);
    assert.match(run.stdout, /The journey ran again on split-free\.wasm/);
    assert.match(run.stdout, /scripts\/core-profile\.txt names all \d+ functions the journey ran/);
    const { rows, snapshots } = JSON.parse(readFileSync(join(out, 'coverage.json'), 'utf8'));
    assert.deepEqual(Object.keys(snapshots), ['init', 'options', 'install', 'mount', 'talk', 'emit', 'heartbeat', 'sanitize', 'rbac', 'state', 'second', 'unmount', 'remount', 'held', 'timed out', 'silent', 'local store', 'default UI', 'destroy', 'free']);
    const [whole, ...steps] = rows;
    for (let i = 0; i < steps.length; i++) {
      const next = steps[i + 1] ?? whole;
      assert.ok(steps[i].functions > 0 && steps[i].functions <= next.functions, `${steps[i].step}: ${steps[i].functions} functions, then ${next.functions}`);
      assert.ok(steps[i].raw < whole.raw, `${steps[i].step} is not smaller than the whole module`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

// scripts/bench/sanitizer-coverage.mjs on the release build's sanitizer before its split
// (target/split-sanitizer): cleaning pages of the bench corpus, SVG and the XSS corpus under the
// default policy, as text and as a tree, runs only functions scripts/sanitizer-profile.txt names (else
// the build's split would load its second part for ordinary HTML: record the profile again),
// and the first part of a split by what ran cleans every input alone exactly as the unsplit
// module does (the tool fails otherwise).
test('bench sanitizer coverage: ordinary HTML runs only what the sanitizer\'s first part holds; that part alone cleans it as the whole module', { timeout: 120_000 }, () => {
  const run = spawnSync(process.execPath, [join(root, 'scripts/bench/sanitizer-coverage.mjs'), '--quick', '--check-profile'], { cwd: root, encoding: 'utf8', timeout: 110_000 });
  assert.equal(run.status, 0, `sanitizer-coverage exited ${run.status}:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`);
  assert.match(run.stdout, /1 policies × \d+ inputs .* ran \d+ of \d+ functions/);
  assert.match(run.stdout, /cleaned all \d+ alone, as the unsplit module did/);
  assert.match(run.stdout, /scripts\/sanitizer-profile\.txt names all \d+ functions cleaning ran/);
});

// scripts/bench/sanitize-ab.mjs: two instances of one build clean the same pages the same way.
test('bench sanitize-ab: one build against itself cleans alike and reports a ratio', { timeout: 60_000 }, () => {
  const run = spawnSync(process.execPath, [join(root, 'scripts/bench/sanitize-ab.mjs'), '--base', 'pkg', '--pkg', 'pkg', '--rounds', '1', '--pages', '8'], {
    cwd: root, encoding: 'utf8', timeout: 50_000,
  });
  assert.equal(run.status, 0, `sanitize-ab exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /8 pages \([\d.]+ M chars\), 1 rounds, the same output on every page: B\/A \d+\.\d{3}/);
});

// scripts/bench/dom-build.mjs: the instruction-buffer experiment builds the very DOM the
// browser's parse of the cleaned string builds (else its timings would compare different work).
test('bench dom-build: the DOM built from the instruction buffer is the parsed one', { timeout: 90_000 }, () => {
  const run = spawnSync(process.execPath, [join(root, 'scripts/bench/dom-build.mjs'), '--rounds', '2', '--pages', '6'], {
    cwd: root, encoding: 'utf8', timeout: 80_000,
  });
  assert.equal(run.status, 0, `dom-build exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /^6 pages \([\d.]+ M chars cleaned\), inert target/m);
  assert.match(run.stdout, /build\/parse \d+\.\d{3}, frag\/parse \d+\.\d{3}/);
  assert.match(run.stdout, /the built DOM serializes as the parsed one on every page/);
  const bad = spawnSync(process.execPath, [join(root, 'scripts/bench/dom-build.mjs'), '--rounds', '0'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--rounds takes a whole number of at least 1, found 0/);
});
