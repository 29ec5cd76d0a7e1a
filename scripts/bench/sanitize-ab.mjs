// Two builds' sanitizer modules side by side in Node: the clean's speed on the whole
// htmlparser-benchmark corpus (258 real pages), pages interleaved A, B then B, A so both see the
// same machine load, and every page's output compared (a build change must not change what is
// kept). Steadier than the browser's whole-page ratios, which move by up to ±40 % between full
// runs on this machine (docs/benchmarks.md). Each directory is a package (pkg/ or a copy of it)
// holding sanitizer/plugin_warden_sanitizer{.js,_bg.wasm}; the default policy is used.
//   node scripts/bench/sanitize-ab.mjs --base <pkgDir> [--pkg pkg] [--rounds 5] [--pages 258]
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('../..', import.meta.url).pathname;
const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : d; };
const base = arg('--base', null);
if (!base) throw new Error('usage: node scripts/bench/sanitize-ab.mjs --base <pkgDir> [--pkg pkg] [--rounds 5] [--pages 258]');
const dirs = [resolve(root, base), resolve(root, arg('--pkg', 'pkg'))];
const rounds = Number(arg('--rounds', 5));

const cleaners = [];
for (const [i, dir] of dirs.entries()) {
  // The query makes each build its own module instance even when both paths are the same.
  const m = await import(`${pathToFileURL(`${dir}/sanitizer/plugin_warden_sanitizer.js`).href}?build=${i}`);
  m.initSync({ module: readFileSync(`${dir}/sanitizer/plugin_warden_sanitizer_bg.wasm`) });
  cleaners.push(new m.Cleaner('{"config":{}}'));
}
const corpus = resolve(root, 'node_modules/htmlparser-benchmark/files');
const pages = readdirSync(corpus).sort().slice(0, Number(arg('--pages', 258))).map((f) => readFileSync(`${corpus}/${f}`, 'utf8'));
const bytes = pages.reduce((n, p) => n + p.length, 0);

for (const p of pages) for (const c of cleaners) c.clean(p); // warm-up: both builds tiered up
const ms = [0, 0];
for (let r = 0; r < rounds; r++) {
  const round = [0, 0];
  pages.forEach((page, i) => {
    const order = (i + r) % 2 ? [1, 0] : [0, 1];
    const out = [];
    for (const k of order) {
      const t = performance.now();
      out[k] = cleaners[k].clean(page);
      round[k] += performance.now() - t;
    }
    if (out[0] !== out[1]) throw new Error(`sanitize-ab: page ${i} is cleaned differently by the two builds`);
  });
  ms[0] += round[0];
  ms[1] += round[1];
  console.log(`round ${r + 1}: A ${round[0].toFixed(0)} ms, B ${round[1].toFixed(0)} ms, B/A ${(round[1] / round[0]).toFixed(3)}`);
}
console.log(`A ${dirs[0]}\nB ${dirs[1]}\n${pages.length} pages (${(bytes / 1e6).toFixed(1)} M chars), ${rounds} rounds, the same output on every page: B/A ${(ms[1] / ms[0]).toFixed(3)}`);
