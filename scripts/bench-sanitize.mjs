// Benchmark entry for sanitize-into-DOM (DESIGN.md §8: ≤ 1.5× the native Element.setHTML).
// Serves the bench page on loopback, runs it in Debian's Chromium, prints a Markdown table and
// writes bench/results/sanitize.json. Needs the package built (scripts/build.sh).
//   node scripts/bench-sanitize.mjs [--samples N]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { startServers } from './serve.mjs';
import { launch } from './browser.mjs';

const root = new URL('..', import.meta.url).pathname;
const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
const samples = arg('--samples', 30);
const vectors = readFileSync(`${root}tests/data/vectors.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).payload);
// A plugin-sized fragment: a typical panel of text, lists, links and a table.
const row = (i) => `<tr><td>${i}</td><td><a href="https://example.com/item/${i}">Item ${i}</a></td><td><b>ok</b> <i>fine</i></td></tr>`;
const fragment = `<h2>Release notes</h2><p>Plugin <em>panel</em> with <code>code</code> and <a href="/docs">links</a>.</p>`
  + `<ul>${Array.from({ length: 20 }, (_, i) => `<li>entry ${i} <span title="t${i}">detail</span></li>`).join('')}</ul>`
  + `<table><tbody>${Array.from({ length: 40 }, (_, i) => row(i)).join('')}</tbody></table>`;
const corpora = { 'xss corpus (362 vectors)': vectors, 'plugin panel x 50': Array(50).fill(fragment) };

const servers = await startServers({ hostPort: 18950, pluginPort: 18951 });
const browser = await launch();
const results = {};
try {
  const page = await browser.newPage();
  await page.goto(`${servers.hostUrl}bench-sanitize.html`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 20_000 });
  for (const [name, inputs] of Object.entries(corpora)) {
    results[name] = await page.evaluate(([i, s]) => window.bench(i, { samples: s }), [inputs, samples]);
  }
} finally {
  await browser.close();
  await servers.close();
}
console.log(`| corpus | candidate | median ms | p95 ms | MB/s | ratio to native setHTML |`);
console.log(`| --- | --- | ---: | ---: | ---: | ---: |`);
for (const [corpus, r] of Object.entries(results)) {
  const base = r['native setHTML']?.medianMs;
  for (const [name, m] of Object.entries(r)) {
    const ratio = base ? (m.medianMs / base).toFixed(2) + '×' : 'n/a';
    console.log(`| ${corpus} | ${name} | ${m.medianMs.toFixed(2)} | ${m.p95Ms.toFixed(2)} | ${m.mbPerS.toFixed(1)} | ${ratio} |`);
  }
}
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(`${root}bench/results/sanitize.json`, JSON.stringify({ samples, results }, null, 2) + '\n');
console.log(`\nbudget (DESIGN.md §8): plugin-warden ≤ 1.5× native setHTML. Written: bench/results/sanitize.json`);
