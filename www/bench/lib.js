// Shared helpers of the bench page: statistics, interleaved sampling, and the safety scan.

export function quantile(xs, q) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))];
}

/** { n, median, p95, mean, min, max } of a list of numbers. */
export function summary(xs) {
  const n = xs.length;
  return {
    n,
    median: quantile(xs, 0.5),
    p95: quantile(xs, 0.95),
    mean: n ? xs.reduce((a, b) => a + b, 0) / n : NaN,
    min: n ? Math.min(...xs) : NaN,
    max: n ? Math.max(...xs) : NaN,
  };
}

/**
 * Run every candidate `warmup + samples` rounds, interleaved: each round runs each candidate
 * once, and the order is reversed every other round (so no candidate always runs first, right
 * after another one's garbage). `candidates` maps a name to an async function answering one
 * sample (a number) or several (an array). Answers { name: [samples…] }.
 */
export async function interleave(candidates, { warmup = 1, samples = 10 } = {}) {
  const names = Object.keys(candidates);
  const out = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < warmup + samples; round++) {
    const order = round % 2 ? [...names].reverse() : names;
    for (const name of order) {
      const v = await candidates[name]();
      if (round >= warmup) out[name].push(...(Array.isArray(v) ? v : [v]));
    }
    // Let the event loop (and any pending GC/idle work) run between rounds.
    await new Promise((r) => setTimeout(r, 0));
  }
  return out;
}

const UNSAFE_ELEMENTS = new Set([
  'script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'meta', 'link',
  'style', 'svg', 'math', 'template', 'form', 'noscript', 'xmp', 'plaintext', 'noembed', 'noframes',
]);
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'cite', 'data', 'poster', 'background', 'xlink:href', 'codebase']);
const BAD_URL = /^(javascript|vbscript|data\s*:\s*text\/html)/i;

/**
 * Scan a DOM result for anything that could run script: script-like or embedding elements,
 * `on*` handlers, `srcdoc`, `javascript:`/`vbscript:`/`data:text/html` URLs. `style`
 * attributes are counted apart (off every candidate's allow-list, but not script).
 * Answers { safe, findings: [first few], styleAttributes, elements, textChars }.
 * Reads through Element.prototype getters (DOM clobbering cannot hide anything).
 */
export function scanDom(root) {
  const findings = [];
  const policy = [];
  let elements = 0;
  const getAttrNames = Element.prototype.getAttributeNames;
  const getAttr = Element.prototype.getAttribute;
  const localName = Object.getOwnPropertyDescriptor(Element.prototype, 'localName').get;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
  for (let el = walker.nextNode(); el; el = walker.nextNode()) {
    elements++;
    const name = localName.call(el);
    if (UNSAFE_ELEMENTS.has(name)) findings.push(`<${name}>`);
    for (const a of getAttrNames.call(el)) {
      const value = getAttr.call(el, a) ?? '';
      if (/^on/i.test(a)) findings.push(`${name}[${a}]`);
      else if (a === 'srcdoc') findings.push(`${name}[${a}]`);
      else if (a === 'style') policy.push(`${name}[style]`);
      // eslint-disable-next-line no-control-regex
      else if (URL_ATTRIBUTES.has(a) && BAD_URL.test(value.replace(/[\u0000-\u0020]/g, ''))) findings.push(`${name}[${a}=${value.slice(0, 40)}]`);
    }
    if (findings.length > 20) break;
  }
  return {
    safe: findings.length === 0, findings: findings.slice(0, 10), styleAttributes: policy.length,
    elements, textChars: root.textContent.length,
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
