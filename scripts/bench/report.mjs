// DESIGN.md §8 budgets over a bench result, and the Markdown report.

const KiB = 1024;

function fmt(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  return x.toFixed(3);
}
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);

function find(result, suite, pred) {
  return result.cases.filter((c) => c.suite === suite && pred(c));
}

/**
 * A budget row: `value` against `limit` (`atMost`: value ≤ limit, else value ≥ limit). A missed
 * row says by how much (`missedBy`, in the budget's unit and in percent of the limit).
 */
function row(budget, measured, value, limit, { atMost = true, unit = '×', profile, stretch } = {}) {
  const met = Number.isFinite(value) ? (atMost ? value <= limit : value >= limit) : null;
  const r = { budget, measured, value, limit, atMost, unit, met, profile };
  if (met === false) {
    const over = atMost ? value - limit : limit - value;
    r.missedBy = `${fmt(over)}${unit === '×' ? '×' : ` ${unit}`} (${(100 * over / limit).toFixed(0)} % ${atMost ? 'over' : 'under'} the budget)`;
  }
  if (stretch !== undefined && Number.isFinite(value)) {
    const ok = atMost ? value <= stretch : value >= stretch;
    r.stretch = { limit: stretch, met: ok, ...(ok ? {} : { missedBy: `${fmt(atMost ? value - stretch : stretch - value)}${unit === '×' ? '×' : ` ${unit}`}` }) };
  }
  return r;
}

/** "plugin_warden_bg.wasm 494.2 KiB + 7 JS files 28.0 KiB" (gzip) for a list of fetched files. */
function describeFetched(files) {
  const wasm = files.filter((f) => f.path.endsWith('.wasm'));
  const js = files.filter((f) => !f.path.endsWith('.wasm'));
  const parts = wasm.map((f) => `${f.path.replace(/^.*\//, '')} ${fmt(f.gzip / KiB)} KiB`);
  if (js.length) parts.push(`${js.length} JS file${js.length > 1 ? 's' : ''} ${fmt(js.reduce((t, f) => t + f.gzip, 0) / KiB)} KiB`);
  return parts.join(' + ') || 'nothing';
}

/**
 * "; per round 2.41–3.02×": the range of `a / b` over the case's rounds (a round's sample, or
 * for RPC its median call), each candidate's round taken back to back (interleaved), so both saw
 * the same machine state. The budget is judged on the ratio of medians; this says how far one
 * round's ratio strays.
 */
export function spread(c, a, b) {
  const xs = c.rounds?.[a]?.map((x, i) => ratio(x, c.rounds[b]?.[i])).filter(Number.isFinite) ?? [];
  if (xs.length < 2) return '';
  return `; per round ${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}× (${xs.length} rounds)`;
}

/**
 * "; trimmed means 0.99× Penpal, 0.98× Comlink": `a` over each of `bs` by the mean of the middle
 * 80 % of their samples. Context for a ratio of medians near its budget: a median is a multiple
 * of the page's timer step (5 µs when isolated, ~1.7 % of a round trip), the trimmed mean is not.
 * The budget is still judged on the medians.
 */
function trimmed(c, a, bs) {
  const t = (name) => c.candidates[name]?.tmean;
  const parts = bs.map((b) => [b, ratio(t(a), t(b))]).filter(([, r]) => Number.isFinite(r));
  return parts.length ? `; trimmed means ${parts.map(([b, r]) => `${fmt(r)}× ${b}`).join(', ')}` : '';
}

/** One row per DESIGN.md §8 budget (and issue 14 goal) that the run measured. */
export function budgets(result) {
  const rows = [];
  const med = (c, name) => c.candidates[name]?.median;
  for (const c of find(result, 'sanitize-into-DOM', () => true)) {
    const pw = med(c, 'plugin-warden');
    const thr = ratio(med(c, 'DOMPurify'), pw);
    // host.setHTML (the DOM built from the cleaned tree) beside it, as context: the rows judge
    // `innerHTML = host.trustedHTML(html)`, the path every earlier run measured.
    const built = med(c, 'plugin-warden setHTML');
    const also = (r) => (Number.isFinite(r) ? `; host.setHTML ${fmt(r)}×` : '');
    rows.push(row(`sanitize-into-DOM ≥ 3× DOMPurify throughput (${c.case})`, `${fmt(thr)}× DOMPurify's throughput${also(ratio(med(c, 'DOMPurify'), built))}${spread(c, 'DOMPurify', 'plugin-warden')}`, thr, 3, { atMost: false, profile: 'sanitize-into-DOM' }));
    const nat = ratio(pw, med(c, 'native setHTML'));
    rows.push(row(`sanitize-into-DOM ≤ 1.5× native setHTML time (${c.case})`, `${fmt(nat)}× native setHTML's time${also(ratio(built, med(c, 'native setHTML')))}${spread(c, 'plugin-warden', 'native setHTML')}`, nat, 1.5, { profile: 'sanitize-into-DOM' }));
  }
  for (const c of find(result, 'rpc', (x) => x.case.startsWith('storage.get round trip'))) {
    const r = ratio(med(c, 'plugin-warden'), med(c, 'MessagePort'));
    rows.push(row('storage.get round trip ≤ 1.3× raw MessagePort', `${fmt(r)}× (${fmt(med(c, 'plugin-warden'))} vs ${fmt(med(c, 'MessagePort'))} µs median)${spread(c, 'plugin-warden', 'MessagePort')}`, r, 1.3, { profile: 'rpc' }));
  }
  // Issue 14: at every payload size, ≤ 1.0× Penpal and Comlink (judged on the slower of the
  // two ratios) and ≤ 1.3× the raw port.
  for (const c of find(result, 'rpc', (x) => x.case.startsWith('storage.get round trip') || x.case.startsWith('payload '))) {
    const size = c.case.startsWith('payload ') ? c.case : 'small value';
    const pw = med(c, 'plugin-warden');
    const [penpal, comlink] = [ratio(pw, med(c, 'Penpal')), ratio(pw, med(c, 'Comlink'))];
    const worse = penpal >= comlink ? 'Penpal' : 'Comlink';
    const lib = Math.max(penpal, comlink);
    rows.push(row(`storage.get ≤ 1.0× Penpal and Comlink (issue 14; ${size})`, `${fmt(penpal)}× Penpal, ${fmt(comlink)}× Comlink${spread(c, 'plugin-warden', worse)}${trimmed(c, 'plugin-warden', ['Penpal', 'Comlink'])}`, lib, 1, { profile: 'rpc' }));
    if (size !== 'small value') {
      const port = ratio(pw, med(c, 'MessagePort'));
      rows.push(row(`storage.get ≤ 1.3× raw MessagePort (issue 14; ${size})`, `${fmt(port)}×${spread(c, 'plugin-warden', 'MessagePort')}`, port, 1.3, { profile: 'rpc' }));
    }
  }
  for (const c of find(result, 'permission', () => true)) {
    const r = ratio(med(c, 'plugin-warden hasPermission'), med(c, 'Set.has'));
    rows.push(row('hasPermission ≤ 2× JS Set.has', `${fmt(r)}× (${fmt(med(c, 'plugin-warden hasPermission'))} vs ${fmt(med(c, 'Set.has'))} ns/op)`, r, 2, { profile: 'permission' }));
  }
  for (const c of find(result, 'mount', (x) => x.case.startsWith('mount-to-ready'))) {
    for (const [name, label] of [['plugin-warden iframe', 'client imported as a module'], ['plugin-warden iframe, client bundled', 'client bundled into the plugin script']]) {
      if (!c.candidates[name]) continue;
      const r = ratio(med(c, name), med(c, 'bare iframe + handshake'));
      rows.push(row(`mount-to-ready (iframe, ${label}) ≤ 1.2× bare sandboxed iframe + handshake`, `${fmt(r)}× (${fmt(med(c, name))} vs ${fmt(med(c, 'bare iframe + handshake'))} ms median)`, r, 1.2, { profile: 'mount' }));
    }
  }
  if (result.size) {
    const s = result.size;
    const g = s.total.gzip / KiB;
    const byModule = (s.modules ?? []).map((m) => `${m.module} ${fmt(m.gzip / KiB)}`).join(', ');
    rows.push(row('package (wasm + JS) gzip ≤ 300 KiB', `${fmt(g)} KiB gzip, every module (${byModule || `wasm ${fmt(s.wasm.gzip / KiB)}, JS ${fmt(s.js.gzip / KiB)}`})`, g, 300, { unit: 'KiB', profile: 'size' }));
    const fl = s.firstLoad;
    if (fl) {
      const m = fl.toMount.gzip / KiB;
      rows.push(row('first load to mount an iframe plugin ≤ 150 KiB gzip (issue 14; stretch 100)',
        `${fmt(m)} KiB gzip: ${describeFetched(fl.toMount.files)} fetched by the page`,
        m, 150, { unit: 'KiB', profile: 'size', stretch: 100 }));
      const a = fl.afterSanitize.gzip / KiB;
      rows.push(row('after the first sanitize ≤ 450 KiB gzip (issue 14)',
        `${fmt(a)} KiB gzip: the first load, then preload('sanitizer') + the first trustedHTML fetched ${describeFetched(fl.afterSanitize.files.filter((f) => fl.afterSanitize.added.includes(f.path)))}`,
        a, 450, { unit: 'KiB', profile: 'size' }));
    }
  }
  return rows;
}

/** The met / missed cell of a budget row. */
export function verdict(b) {
  if (b.met === null || b.met === undefined) return 'n/a';
  const main = b.met ? 'met' : `**missed** by ${b.missedBy}`;
  if (!b.stretch) return main;
  return `${main}; stretch ${b.stretch.limit}${b.unit === '×' ? '×' : ` ${b.unit}`}: ${b.stretch.met ? 'met' : `missed by ${b.stretch.missedBy}`}`;
}

function caseTable(c, isolated) {
  const lines = [];
  const bl = c.baselines.filter((b) => c.candidates[b]);
  const mb = c.bytes ? ' | MB/s' : '';
  lines.push(`| candidate | median ${c.unit} | p95 ${c.unit} | n${mb}${bl.map((b) => ` | × ${b}`).join('')} |`);
  lines.push(`| --- | ---: | ---: | ---:${c.bytes ? ' | ---:' : ''}${bl.map(() => ' | ---:').join('')} |`);
  for (const [name, s] of Object.entries(c.candidates)) {
    const rate = c.bytes ? ` | ${fmt(c.bytes / 1e6 / (s.median / 1e3))}` : '';
    const rs = bl.map((b) => ` | ${b === name ? '1' : fmt(ratio(s.median, c.candidates[b].median))}`).join('');
    lines.push(`| ${name}${isolated ? '' : ' **(not isolated)**'} | ${fmt(s.median)} | ${fmt(s.p95)} | ${s.n}${rate}${rs} |`);
  }
  return lines.join('\n');
}

export function markdown(r) {
  const out = [];
  const isolated = r.crossOriginIsolated === true;
  out.push(`# plugin-warden benchmark, ${r.date}${r.quick ? ' (--quick: smoke run, too few samples to judge)' : ''}`);
  out.push('');
  out.push(`Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB; Chromium ${r.browser.version} headless; Node ${r.machine.node}.`);
  if (r.page) {
    out.push(`Host page \`crossOriginIsolated\`: **${r.page.crossOriginIsolated}** (timer step ${fmt(r.page.timerResolutionMs * 1000)} µs)${r.rpc ? `; RPC plugin frame isolated: **${r.rpc.frameIsolated}**` : ''}. Suites: ${r.suites.join(', ')}. Run took ${r.durationS} s.`);
  }
  out.push('');
  out.push('Ratios are median over median (lower is better for times); `×` columns divide by the named baseline. Candidates run interleaved, order reversed every round.');
  out.push('');
  for (const [suite, e] of Object.entries(r.errors ?? {})) {
    out.push(`**Suite ${suite} failed:** ${e}`);
    out.push('');
  }
  if (r.budgets?.length) {
    out.push('## Budgets (DESIGN.md §8)');
    out.push('');
    out.push('| budget | measured | met / missed |');
    out.push('| --- | --- | --- |');
    for (const b of r.budgets) out.push(`| ${b.budget} | ${b.measured} | ${verdict(b)} |`);
    out.push('');
  }
  let suite = null;
  for (const c of r.cases) {
    if (c.suite !== suite) { suite = c.suite; out.push(`## ${suite}`); out.push(''); }
    out.push(`### ${c.case}`);
    out.push('');
    out.push(caseTable(c, isolated));
    out.push('');
    if (c.note) { out.push(c.note + '.'); out.push(''); }
    if (c.flood) {
      const f = c.flood;
      out.push(`Flooder: state **${f.flooder.state}**${f.flooder.code ? ` (${f.flooder.code})` : ''}, host counted ${JSON.stringify(f.flooder.hostCounts)}; replies it saw: ${JSON.stringify(f.flooder.repliesSeen)} of ≥ ${f.flooder.sentAtLeast} sent. Victim stayed **${f.victimState}**; its failed calls: ${JSON.stringify(f.victimErrors.flooded)} during the flood, ${JSON.stringify(f.victimErrors.quiet)} without.`);
      out.push('');
    }
    if (c.memory) {
      const m = c.memory;
      for (const view of ['renderers', 'page']) {
        const none = m.none?.[view];
        if (!none) continue;
        const rows = Object.entries(m).filter(([k]) => k !== 'none').map(([k, v]) => {
          const x = v?.[view];
          return `${k}: ${x ? `+${fmt((x.bytes - none.bytes) / 2 ** 20)} MiB${x.processes ? ` (${x.processes} renderer processes)` : ''}` : 'n/a'}`;
        });
        out.push(`Memory over the empty page, ${none.method}${view === 'page' ? ' (host page agent only: cross-site plugin frames are other processes)' : ''}: ${rows.join('; ')}.`);
        out.push('');
      }
    }
  }
  if (r.size) {
    const sz = r.size;
    const compile = Object.fromEntries(r.cases.filter((c) => c.suite === 'size' && c.module).map((c) => [c.module, c]));
    if (sz.modules) {
      out.push('## size (modules)');
      out.push('');
      out.push('Each module of the package: its files summed. Compile / instantiate: median ms in the page, from the module\'s bytes (see the `size` cases above).');
      out.push('');
      out.push('| module | files | raw KiB | gzip -9 KiB | brotli 11 KiB | compile ms | instantiate ms |');
      out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
      for (const m of sz.modules) {
        const c = compile[m.module];
        const ms = (k) => (c ? fmt(c.candidates[k]?.median) : '—');
        out.push(`| ${m.module} (${m.what}) | ${m.files.map((f) => f.replace(/^pkg\//, '')).join(', ')} | ${fmt(m.raw / KiB)} | ${fmt(m.gzip / KiB)} | ${fmt(m.brotli / KiB)} | ${ms('compile (WebAssembly.compile)')} | ${ms('instantiate (compiled module)')} |`);
      }
      out.push(`| **the whole package** | ${sz.files.length} files | ${fmt(sz.total.raw / KiB)} | ${fmt(sz.total.gzip / KiB)} | ${fmt(sz.total.brotli / KiB)} | | |`);
      out.push('');
    }
    if (sz.firstLoad) {
      const fl = sz.firstLoad;
      out.push('## size (first load)');
      out.push('');
      out.push('What a fresh page (new browser context, nothing cached; `www/bench/firstload.html`) fetched of the package, by Resource Timing in the page, each file sized as in the tables here. Before `preload(\'sanitizer\')`, `host.trustedHTML` threw `' + fl.trustedHTMLBeforePreload + '`.');
      out.push('');
      out.push('| step | file | raw KiB | gzip -9 KiB | brotli 11 KiB |');
      out.push('| --- | --- | ---: | ---: | ---: |');
      const extra = new Set(fl.afterSanitize.added);
      for (const f of fl.afterSanitize.files) {
        out.push(`| ${extra.has(f.path) ? "+ preload('sanitizer'), first trustedHTML" : 'init, install, mount one iframe plugin'} | ${f.path}${f.notPackageFile ? ' (not a package file: decoded size)' : ''} | ${fmt(f.raw / KiB)} | ${fmt(f.gzip / KiB)} | ${fmt(f.brotli / KiB)} |`);
      }
      out.push(`| **first load to mount an iframe plugin** | ${fl.toMount.files.length} files | ${fmt(fl.toMount.raw / KiB)} | ${fmt(fl.toMount.gzip / KiB)} | ${fmt(fl.toMount.brotli / KiB)} |`);
      out.push(`| **after the first sanitize** | ${fl.afterSanitize.files.length} files | ${fmt(fl.afterSanitize.raw / KiB)} | ${fmt(fl.afterSanitize.gzip / KiB)} | ${fmt(fl.afterSanitize.brotli / KiB)} |`);
      out.push('');
    }
    out.push('## size (files)');
    out.push('');
    out.push('| file | raw KiB | gzip -9 KiB | brotli 11 KiB |');
    out.push('| --- | ---: | ---: | ---: |');
    for (const f of sz.files) out.push(`| ${f.file} | ${fmt(f.raw / KiB)} | ${fmt(f.gzip / KiB)} | ${fmt(f.brotli / KiB)} |`);
    out.push(`| **plugin-warden total** | ${fmt(sz.total.raw / KiB)} | ${fmt(sz.total.gzip / KiB)} | ${fmt(sz.total.brotli / KiB)} |`);
    for (const [name, b] of Object.entries(sz.baselines)) {
      out.push(`| ${name} ${sz.versions[name]} (${b.files.map((f) => f.replace(/^node_modules\//, '')).join(', ')}) | ${fmt(b.raw / KiB)} | ${fmt(b.gzip / KiB)} | ${fmt(b.brotli / KiB)} |`);
    }
    out.push('');
    out.push(sz.wasmNameSection
      ? 'The release wasm modules keep their `name` section: wasm functions show their Rust names in profiles.'
      : 'The release wasm modules have no `name` section: profiles of them show wasm functions by index only.');
    out.push('');
  }
  if (Object.keys(r.safety ?? {}).length) {
    out.push('## Safety agreement');
    out.push('');
    out.push('Every candidate\'s output DOM scanned for script-capable content (script-like or embedding elements, `on*` attributes, `srcdoc`, `javascript:`/`vbscript:`/`data:text/html` URLs).');
    out.push('');
    out.push('| corpus | candidate | safe | elements kept | text chars | style attrs | findings |');
    out.push('| --- | --- | --- | ---: | ---: | ---: | --- |');
    for (const [corpus, byCand] of Object.entries(r.safety)) {
      for (const [name, s] of Object.entries(byCand)) {
        out.push(`| ${corpus} | ${name} | ${s.safe ? 'yes' : '**NO**'} | ${s.elements} | ${s.textChars} | ${s.styleAttributes} | ${s.findings.join(' ').replace(/\|/g, '\\|') || '—'} |`);
      }
    }
    out.push('');
    if (r.corpus) out.push(`Corpus: ${r.corpus.source}; native: ${r.corpus.nativeNote}; DOMPurify ${r.corpus.purifyVersion}.`);
    out.push('');
  }
  if (Object.keys(r.profiles ?? {}).length) {
    out.push('## Profiles of missed budgets');
    out.push('');
    for (const [budget, profs] of Object.entries(r.profiles)) {
      out.push(`### ${budget}`);
      out.push('');
      for (const [label, p] of Object.entries(profs)) {
        if (p && p.crates) {
          out.push(`${label}: code ${fmt(p.codeBytes / KiB)} KiB in ${p.functions} functions, data ${fmt(p.dataBytes / KiB)} KiB (function bodies and data as stored, before compression).`);
          out.push('');
          out.push('| crate | code KiB | % of code | functions | of which generic code of core/alloc/serde… instantiated for it, KiB |');
          out.push('| --- | ---: | ---: | ---: | ---: |');
          for (const c of p.crates) out.push(`| ${c.crate} | ${fmt(c.codeBytes / KiB)} | ${c.percent} | ${c.functions ?? ''} | ${c.genericCodeFor ? fmt(c.genericCodeFor / KiB) : '—'} |`);
          if (p.otherCrates) out.push(`| (every other crate) | ${fmt(p.otherCrates / KiB)} | ${(100 * p.otherCrates / p.codeBytes).toFixed(1)} | | |`);
          out.push('');
          out.push('The last column is not added to the crate\'s row: it is the part of the generic crates\' rows whose type arguments name that crate (code instantiated for a generic `K, V` with no crate in its name stays unattributed).');
          out.push('');
          if (p.monomorphized?.length) {
            out.push('| generic function (core, alloc, serde…): every monomorphized copy | copies | code KiB | % of code |');
            out.push('| --- | ---: | ---: | ---: |');
            for (const g of p.monomorphized) out.push(`| \`${g.function.replace(/\|/g, '\\|').slice(0, 140)}\` | ${g.copies} | ${fmt(g.codeBytes / KiB)} | ${g.percent} |`);
            out.push('');
          }
          if (p.own?.length) {
            out.push('| this project\'s code by module | code KiB | % of code |');
            out.push('| --- | ---: | ---: |');
            for (const o of p.own) out.push(`| \`${o.path}\` | ${fmt(o.codeBytes / KiB)} | ${o.percent} |`);
            out.push('');
          }
          continue;
        }
        if (!p || !p.top) { out.push(`${label}: ${JSON.stringify(p)}`); out.push(''); continue; }
        out.push(`${label}: ${p.totalMs} ms sampled; self time wasm ${p.share.wasm}%, JS ${p.share.js}%, engine ${p.share.other}%.`);
        out.push('');
        out.push('| function | self ms | % |');
        out.push('| --- | ---: | ---: |');
        for (const t of p.top) out.push(`| \`${t.function.replace(/\|/g, '\\|').slice(0, 140)}\` | ${t.selfMs} | ${t.percent} |`);
        out.push('');
      }
    }
  }
  if (r.profileBuild) {
    out.push(`Profiled build: ${r.profileBuild.note} (wasm names: ${r.profileBuild.names}).`);
    out.push('');
  }
  if (r.blockedImageLoads) {
    out.push(`${r.blockedImageLoads} image loads of sanitized pages were blocked by the page's \`img-src 'self'\` (expected: nothing leaves loopback).`);
    out.push('');
  }
  if (Object.keys(r.violationsBy ?? {}).length) {
    out.push(`CSP / Trusted Types reports by cause: ${Object.entries(r.violationsBy).map(([k, n]) => `${k} ${n}`).join(', ')}.`);
    out.push('');
  }
  if (r.violations?.length || r.pageErrors?.length) {
    out.push('## Problems');
    out.push('');
    for (const v of [...(r.violations ?? []).slice(0, 10), ...(r.pageErrors ?? [])]) out.push(`- ${v}`);
    out.push('');
  }
  return out.join('\n');
}
