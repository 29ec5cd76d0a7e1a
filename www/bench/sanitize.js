// Suites `sanitize` (string in, string out) and `sanitize-into-DOM` (string in, nodes in an
// attached element): plugin-warden vs DOMPurify vs the native Element.setHTML, all configured
// with plugin-warden's default allow-list (read from src/core/sanitize.rs by the runner).
import { sanitize as pwSanitize } from '/pkg/index.js';
import DOMPurify from '/vendor/purify.es.mjs';
import { interleave, scanDom } from './lib.js';

/** DOMPurify's configuration for the same allow-list. */
export function purifyConfig(allow) {
  const attrs = new Set(allow.generic);
  for (const list of Object.values(allow.perElement)) for (const a of list) attrs.add(a);
  const schemes = allow.urlSchemes.join('|');
  return {
    ALLOWED_TAGS: allow.elements,
    ALLOWED_ATTR: [...attrs].sort(),
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    KEEP_CONTENT: true,
    FORBID_CONTENTS: allow.dropWithContent,
    // Like plugin-warden: the listed schemes and relative URLs only.
    ALLOWED_URI_REGEXP: new RegExp(`^(?:(?:${schemes}):|[^a-z]|[a-z+.\\-]+(?:[^a-z+.\\-:]|$))`, 'i'),
  };
}

/** The native Sanitizer's configuration for the same allow-list (WICG Sanitizer API). */
export function nativeConfig(allow, tagNames) {
  const allowed = new Set(allow.elements);
  const dropped = new Set(allow.dropWithContent);
  return {
    elements: allow.elements.map((name) => ({ name, attributes: allow.perElement[name] ?? [] })),
    attributes: allow.generic,
    // ammonia unwraps every other element (keeps its children); the native Sanitizer removes
    // unlisted elements with their content, so name every other element seen in the corpus
    // (except `html`, which the Sanitizer refuses there and a fragment never contains).
    replaceWithChildrenElements: tagNames.filter((t) => !allowed.has(t) && !dropped.has(t) && t !== 'html'),
    comments: false,
    dataAttributes: false,
  };
}

/** Set up the three candidates for one allow-list; answers what each can do. */
export function setupSanitizers(host, corpus) {
  const purify = purifyConfig(corpus.allow);
  const purifyFragment = { ...purify, RETURN_DOM_FRAGMENT: true };
  const hasSetHTML = typeof Element.prototype.setHTML === 'function';
  let native = null;
  let nativeNote = 'Element.setHTML is missing';
  if (hasSetHTML) {
    try {
      native = { sanitizer: new Sanitizer(nativeConfig(corpus.allow, corpus.tagNames)) };
      nativeNote = 'setHTML with a Sanitizer configured from the same allow-list';
    } catch (e) {
      native = {};
      nativeNote = `the Sanitizer rejected the aligned configuration (${e.message}); safe default used`;
    }
  }
  const target = document.getElementById('target');
  // A document without a browsing context: its elements load nothing and run nothing, so the
  // `inert` kind times sanitizing + building the DOM without image fetches or CSP reports.
  const inertTarget = document.implementation.createHTMLDocument('').body;
  const tpl = document.createElement('template');
  return {
    nativeNote,
    purifyVersion: DOMPurify.version,
    string: {
      'plugin-warden': (html) => pwSanitize(html),
      DOMPurify: (html) => DOMPurify.sanitize(html, purify),
      // No native string API: setHTML into an inert <template>, then read innerHTML back.
      ...(native ? { 'native setHTML': (html) => { tpl.setHTML(html, native); return tpl.innerHTML; } } : {}),
    },
    dom: {
      'plugin-warden': (html) => { target.innerHTML = host.trustedHTML(html); },
      'plugin-warden setHTML': (html) => { host.setHTML(target, html); },
      DOMPurify: (html) => { target.replaceChildren(DOMPurify.sanitize(html, purifyFragment)); },
      ...(native ? { 'native setHTML': (html) => { target.setHTML(html, native); } } : {}),
    },
    inert: {
      'plugin-warden': (html) => { inertTarget.innerHTML = host.trustedHTML(html); },
      'plugin-warden setHTML': (html) => { host.setHTML(inertTarget, html); },
      DOMPurify: (html) => { inertTarget.replaceChildren(DOMPurify.sanitize(html, purifyFragment)); },
      ...(native ? { 'native setHTML': (html) => { inertTarget.setHTML(html, native); } } : {}),
    },
    clear() { target.replaceChildren(); inertTarget.replaceChildren(); },
    /** plugin-warden's string API gives exactly what its DOM path (trustedHTML) inserts. */
    sameAsTrusted: (html) => String(host.trustedHTML(html)) === pwSanitize(html),
    /** Each candidate's DOM for `html`, in an inert template (nothing loads), for the scan. */
    scan: {
      'plugin-warden': (t, html) => { t.innerHTML = host.trustedHTML(html); },
      // Built in an element of the inert document, then moved into the template.
      'plugin-warden setHTML': (t, html) => {
        const holder = inertTarget.ownerDocument.createElement('div');
        host.setHTML(holder, html);
        t.content.replaceChildren(...holder.childNodes);
      },
      // Adopted into the template's inert document (an importNode would make images load).
      DOMPurify: (t, html) => { t.content.replaceChildren(DOMPurify.sanitize(html, purifyFragment)); },
      ...(native ? { 'native setHTML': (t, html) => { t.setHTML(html, native); } } : {}),
    },
  };
}

/** Scan every candidate's output on every input. */
export function safety(s, inputs) {
  const out = {};
  for (const [name, into] of Object.entries(s.scan)) {
    const agg = { safe: true, findings: [], styleAttributes: 0, elements: 0, textChars: 0 };
    for (const html of inputs) {
      const t = document.createElement('template');
      into(t, html);
      const r = scanDom(t.content);
      agg.safe &&= r.safe;
      if (!r.safe && agg.findings.length < 10) agg.findings.push(...r.findings);
      agg.styleAttributes += r.styleAttributes;
      agg.elements += r.elements;
      agg.textChars += r.textChars;
    }
    out[name] = agg;
  }
  // The scan looks at DOM; the string API's output is the same string (checked here), and
  // DOMPurify's string and fragment modes run one configuration.
  out['plugin-warden'].stringApiSameAsScanned = inputs.every((h) => s.sameAsTrusted(h));
  return out;
}

/**
 * Time each candidate over the whole input list (one sample = every input once), interleaved.
 * `kind` is 'string', 'dom' (an attached element) or 'inert' (an element of a document without
 * a browsing context). Answers { candidates: { name: { samplesMs, bytes } }, … }.
 */
export async function runSanitize(s, kind, inputs, { warmup, samples }) {
  const fns = s[kind];
  const bytes = inputs.reduce((n, x) => n + x.length, 0);
  const candidates = {};
  for (const [name, fn] of Object.entries(fns)) {
    candidates[name] = () => {
      let sink = 0;
      const t0 = performance.now();
      for (let i = 0; i < inputs.length; i++) {
        const r = fn(inputs[i]);
        if (r !== undefined) sink += r.length;
      }
      const dt = performance.now() - t0;
      s.clear();
      if (kind === 'string' && sink === 0 && bytes > 0) throw new Error(`${name}: empty output`);
      return dt;
    };
  }
  const times = await interleave(candidates, { warmup, samples });
  return { bytes, inputs: inputs.length, times };
}
