// The sanitize suites' inputs and the allow-list every candidate is configured with.
//
// Corpus: the ~250 real web pages of the npm package `htmlparser-benchmark` (pinned in
// package.json), body content only (the sanitizers take fragments). Plugin-sized fragments are
// deterministic 1-4 KiB slices of those bodies, cut at a tag boundary.
//
// Allow-list: read from plugin-warden's own source (src/core/sanitize.rs, DEFAULT_* constants),
// so DOMPurify and the native Sanitizer are configured from the same list the package enforces.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const PAGES = join(root, 'node_modules/htmlparser-benchmark/files');

function constStrings(src, name) {
  const m = src.match(new RegExp(`const ${name}: &\\[&str\\] = &\\[([\\s\\S]*?)\\];`));
  if (!m) throw new Error(`src/core/sanitize.rs: no ${name}`);
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

/** plugin-warden's default policy, as read from src/core/sanitize.rs. */
export function allowList() {
  const src = readFileSync(join(root, 'src/core/sanitize.rs'), 'utf8');
  const m = src.match(/const DEFAULT_ELEMENT_ATTRIBUTES: &\[\(&str, &\[&str\]\)\] = &\[([\s\S]*?)\n\];/);
  if (!m) throw new Error('src/core/sanitize.rs: no DEFAULT_ELEMENT_ATTRIBUTES');
  const perElement = {};
  for (const e of m[1].matchAll(/\("([a-z0-9]+)",\s*&\[([^\]]*)\]\)/g)) {
    perElement[e[1]] = [...e[2].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
  }
  return {
    elements: constStrings(src, 'DEFAULT_ELEMENTS'),
    generic: constStrings(src, 'DEFAULT_GENERIC_ATTRIBUTES'),
    perElement,
    dropWithContent: constStrings(src, 'CLEAN_CONTENT_ELEMENTS'),
    urlSchemes: constStrings(src, 'URL_SCHEMES'),
  };
}

function body(html) {
  const m = html.match(/<body[^>]*>([\s\S]*)<\/body>/i);
  return m ? m[1] : html;
}

/** Slices of about `size` characters starting and ending at a `<`. */
function slices(text, size, count) {
  const out = [];
  let at = text.indexOf('<');
  while (at >= 0 && out.length < count && at < text.length) {
    const end = text.indexOf('<', at + size);
    if (end < 0) break;
    out.push(text.slice(at, end));
    at = text.indexOf('<', end + size * 4);
  }
  return out;
}

/**
 * { pages, fragments, allow, tagNames }: `pages` are body strings, `fragments` 1-4 KiB slices, `tagNames` every element name seen in the corpus (the
 * native Sanitizer needs unknown-but-harmless elements listed to unwrap them like ammonia).
 */
export async function buildCorpus({ quick = false, allPages = false } = {}) {
  const files = readdirSync(PAGES).filter((f) => f.endsWith('.html')).sort();
  const all = files.map((f) => body(readFileSync(join(PAGES, f), 'utf8')));
  // Every 4th page by default (~5 MB: a full run stays within minutes on 2 cores), every 32nd
  // with --quick, all of them with --all-pages.
  const step = allPages ? 1 : quick ? 32 : 4;
  const pages = all.filter((_, i) => i % step === 0);
  const fragments = [];
  all.forEach((b, i) => {
    if (fragments.length >= (quick ? 40 : 250)) return;
    fragments.push(...slices(b, 1024 + (i % 4) * 1024, 1));
  });
  const tagNames = new Set();
  for (const b of all) for (const t of b.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)) tagNames.add(t[1].toLowerCase());
  return {
    step,
    source: `htmlparser-benchmark ${JSON.parse(readFileSync(join(root, 'node_modules/htmlparser-benchmark/package.json'), 'utf8')).version}`,
    pages,
    fragments,
    allow: allowList(),
    tagNames: [...tagNames].sort(),
  };
}
