// Issue 14's "whole pages into the DOM without a second parse", measured at its best case: can a
// JS loop that builds the DOM from a compact instruction buffer beat the browser's own parse of
// the sanitized string? Not a candidate of the bench (no such path ships): an experiment to
// re-run when the question comes back (docs/benchmarks.md, "Session of 2026-12-04, afternoon").
//
// The bench corpus's whole pages (every 4th, bodies) are cleaned in Node by the package's own
// sanitizer. In Chromium, per page, the cleaned string is parsed once (untimed) and its tree
// written as an instruction buffer of the shape a wasm encoder would write: an Int32Array of
// [1, name id, attribute count, (name id, value offset, value length)*] to open an element,
// [2, offset, length] for a text node, [3] to close; element and attribute names as ids into a
// fixed list (an allow-list is static), values and text as one string table, which the loop
// decodes from UTF-8 bytes (as it would come out of wasm memory) and slices. Then, interleaved
// per round, each pass over every page:
//   parse: target.innerHTML = cleaned          (today's path, after trustedHTML)
//   build: the loop, straight into the target
//   frag:  the loop into a DocumentFragment, appended once
// The target is an inert document's body or an attached element (`--target attached`). Exits 1
// if the built DOM of any page serializes differently from the parsed one.
//   node scripts/bench/dom-build.mjs [--target inert|attached] [--rounds 8] [--pages 65]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from '../browser.mjs';
import { buildCorpus } from './corpus.mjs';

const root = new URL('../..', import.meta.url).pathname;
const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : d; };
const target = arg('--target', 'inert');
if (!['inert', 'attached'].includes(target)) throw new Error('--target is inert or attached');
const count = (name, d) => {
  const n = Number(arg(name, d));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} takes a whole number of at least 1, found ${arg(name, d)}`);
  return n;
};
const rounds = count('--rounds', 8);
const warmup = Math.min(2, rounds - 1);

const sanitizer = await import(join(root, 'pkg/sanitizer/plugin_warden_sanitizer.js'));
sanitizer.initSync({ module: readFileSync(join(root, 'pkg/sanitizer/plugin_warden_sanitizer_bg.wasm')) });
const cleaner = new sanitizer.Cleaner('{"config":{}}');
const { pages } = await buildCorpus();
const cleaned = pages.slice(0, count('--pages', pages.length)).map((p) => cleaner.clean(p));

const browser = await launch();
try {
  const page = await browser.newPage();
  // A plain http page (about:blank measured differently), nothing else served.
  await page.route('**/*', (r) => (new URL(r.request().url()).pathname === '/'
    ? r.fulfill({ body: '<!doctype html><title>dom-build</title><body></body>', contentType: 'text/html' })
    : r.fulfill({ status: 404, body: '' })));
  await page.goto('http://dom-build.invalid/');
  const r = await page.evaluate(({ cleaned, target, rounds, warmup }) => {
    const inert = document.implementation.createHTMLDocument('');
    const holder = inert.createElement('template');
    const into = target === 'attached' ? document.body.appendChild(document.createElement('div')) : inert.body;
    const ids = new Map();
    const names = [];
    const nameId = (n) => { let i = ids.get(n); if (i === undefined) { i = names.length; ids.set(n, i); names.push(n); } return i; };
    function encode(html) {
      holder.innerHTML = html;
      const ops = [];
      let table = '';
      const text = (s) => { ops.push(table.length, s.length); table += s; };
      (function walk(node) {
        for (let c = node.firstChild; c; c = c.nextSibling) {
          if (c.nodeType === 1) {
            ops.push(1, nameId(c.localName), c.attributes.length);
            for (const a of c.attributes) { ops.push(nameId(a.name)); text(a.value); }
            walk(c);
            ops.push(3);
          } else if (c.nodeType === 3) {
            ops.push(2);
            text(c.data);
          } else {
            throw new Error(`node type ${c.nodeType} in cleaned output`);
          }
        }
      })(holder.content);
      return { ops: Int32Array.from(ops), bytes: new TextEncoder().encode(table) };
    }
    const decoder = new TextDecoder();
    function build(parent, { ops, bytes }) {
      const t = decoder.decode(bytes);
      const doc = parent.ownerDocument;
      const stack = [];
      let cur = parent;
      for (let i = 0; i < ops.length;) {
        const op = ops[i++];
        if (op === 1) {
          const el = doc.createElement(names[ops[i++]]);
          for (let n = ops[i++]; n > 0; n--) {
            el.setAttribute(names[ops[i]], t.substring(ops[i + 1], ops[i + 1] + ops[i + 2]));
            i += 3;
          }
          cur.appendChild(el);
          stack.push(cur);
          cur = el;
        } else if (op === 2) {
          cur.appendChild(doc.createTextNode(t.substring(ops[i], ops[i] + ops[i + 1])));
          i += 2;
        } else {
          cur = stack.pop();
        }
      }
    }
    const buffers = cleaned.map(encode);
    const run = {
      parse: (k) => { into.innerHTML = cleaned[k]; },
      build: (k) => { build(into, buffers[k]); },
      frag: (k) => { const f = into.ownerDocument.createDocumentFragment(); build(f, buffers[k]); into.append(f); },
    };
    const times = { parse: [], build: [], frag: [] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? ['frag', 'build', 'parse'] : ['parse', 'build', 'frag'];
      for (const name of order) {
        const t0 = performance.now();
        for (let k = 0; k < cleaned.length; k++) { run[name](k); into.replaceChildren(); }
        if (round >= warmup) times[name].push(performance.now() - t0);
      }
    }
    const differ = [];
    for (let k = 0; k < cleaned.length; k++) {
      into.innerHTML = cleaned[k];
      const parsed = into.innerHTML;
      into.replaceChildren();
      build(into, buffers[k]);
      if (into.innerHTML !== parsed) differ.push(k);
      into.replaceChildren();
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    return {
      ops: buffers.reduce((n, b) => n + b.ops.length, 0),
      tableBytes: buffers.reduce((n, b) => n + b.bytes.length, 0),
      names: names.length,
      differ,
      median: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])),
    };
  }, { cleaned, target, rounds, warmup });
  const chars = cleaned.reduce((n, s) => n + s.length, 0);
  console.log(`${cleaned.length} pages (${(chars / 1e6).toFixed(2)} M chars cleaned), ${target} target, ${rounds - warmup} rounds after ${warmup} of warm-up; buffer: ${r.ops} ints, ${(r.tableBytes / 1e6).toFixed(2)} MB of text, ${r.names} names`);
  console.log(`median ms per pass: parse ${r.median.parse.toFixed(1)}, build ${r.median.build.toFixed(1)}, frag ${r.median.frag.toFixed(1)}`);
  console.log(`build/parse ${(r.median.build / r.median.parse).toFixed(3)}, frag/parse ${(r.median.frag / r.median.parse).toFixed(3)}`);
  if (r.differ.length) {
    console.error(`the built DOM differs from the parsed one on ${r.differ.length} pages: ${r.differ.join(', ')}`);
    process.exitCode = 1;
  } else {
    console.log('the built DOM serializes as the parsed one on every page');
  }
} finally {
  await browser.close();
}
