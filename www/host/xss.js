// XSS harness page for tests/e2e/xss.test.mjs. Served with the host CSP
// (`require-trusted-types-for 'script'; trusted-types plugin-warden`). Every payload goes through
// host.trustedHTML() into a live, attached element via the TT-checked `innerHTML` sink; the page
// then inspects the resulting DOM and reports what it saw. Nothing here writes a string to an
// HTML sink, so the page itself never triggers a Trusted Types violation.
import { PluginHost, start } from './harness.js';

// ---- traps: installed before any payload is inserted ------------------------------------------
const hits = [];          // { vid, what, args }
let currentBatch = null;  // ids of the batch being inserted (attribution of untargeted events)
function trap(what) {
  return function trapped(...args) {
    hits.push({ what, args: args.map((a) => String(a).slice(0, 200)), batch: currentBatch });
    return what === 'prompt' ? '' : what === 'confirm' ? false : undefined;
  };
}
for (const name of ['alert', 'confirm', 'prompt', 'print', 'open']) {
  Object.defineProperty(window, name, { value: trap(name), writable: false, configurable: false });
}
// Globals a payload (or a test vector rewritten for this harness) might call.
for (const name of ['__xssTrap', 'xss', 'XSS', 'pwned']) {
  Object.defineProperty(window, name, { value: trap(name), writable: false, configurable: false });
}
// Captured before any payload: plugin HTML with `name=` could clobber document properties.
const createElement = Document.prototype.createElement.bind(document);
const titleGetter = Object.getOwnPropertyDescriptor(Document.prototype, 'title').get;
const titleOf = () => titleGetter.call(document);
const CLOBBER_PROBES = ['createElement', 'getElementById', 'querySelector', 'body', 'forms', 'cookie', 'defaultView', 'title', 'location'];
const documentValue = (name) => { const d = Object.getOwnPropertyDescriptor(Document.prototype, name); return d && (d.get ? d.get.call(document) : d.value); };
function clobbered() {
  return CLOBBER_PROBES.filter((n) => {
    try { return n === 'location' ? document.location !== window.location : document[n] !== documentValue(n); } catch { return true; }
  });
}
const originalTitle = titleOf();
const originalName = window.name;
let unloading = false;
addEventListener('pagehide', () => { unloading = true; });
addEventListener('beforeunload', () => { unloading = true; });

const violations = [];    // securitypolicyviolation events, attributed to a container if possible
document.addEventListener('securitypolicyviolation', (e) => {
  const target = e.target instanceof Element ? e.target : null;
  const box = target && Element.prototype.closest.call(target, '[data-vid]');
  violations.push({
    vid: box ? Element.prototype.getAttribute.call(box, 'data-vid') : null,
    batch: currentBatch,
    directive: e.effectiveDirective,
    blockedURI: e.blockedURI,
    sample: e.sample,
    disposition: e.disposition,
  });
}, true);
const pageErrors = [];
addEventListener('error', (e) => { if (e instanceof ErrorEvent) pageErrors.push({ batch: currentBatch, message: String(e.message) }); }, true);

// ---- the allow-list the DOM is judged against ---------------------------------------------------
// The documented default policy of src/core/sanitize.rs (WICG safe default, HTML namespace, minus
// html/head/body/title, plus img). The harness judges the live DOM against it independently.
const ALLOWED_ELEMENTS = new Set(('a abbr address article aside b bdi bdo blockquote br caption cite code col '
  + 'colgroup data dd del dfn div dl dt em figcaption figure footer h1 h2 h3 h4 h5 h6 header hgroup hr i img '
  + 'ins kbd li main mark menu nav ol p pre q rp rt ruby s samp search section small span strong sub sup '
  + 'table tbody td tfoot th thead time tr u ul var wbr').split(' '));
const GENERIC_ATTRIBUTES = new Set(['dir', 'lang', 'title']);
const ELEMENT_ATTRIBUTES = {
  a: ['href', 'hreflang', 'type', 'rel'], blockquote: ['cite'], col: ['span'], colgroup: ['span'],
  data: ['value'], del: ['cite', 'datetime'], img: ['alt', 'height', 'src', 'width'], ins: ['cite', 'datetime'],
  li: ['value'], ol: ['reversed', 'start', 'type'], q: ['cite'], td: ['colspan', 'headers', 'rowspan'],
  th: ['abbr', 'colspan', 'headers', 'rowspan', 'scope'], time: ['datetime'],
};
// What a host may add (sanitize.rs EXTRA_*), used when the page runs with ?config=max.
const MAX_CONFIG = {
  allowElements: ['acronym', 'details', 'rb', 'rtc', 'strike', 'summary', 'tt'],
  allowAttributes: { '*': ['aria-*', 'class', 'hidden', 'id', 'role', 'translate'], details: ['open'], img: ['decoding', 'loading'] },
  allowDataImages: true,
  linkTarget: 'blank',
};
const DATA_IMAGE = /^data:image\/(png|gif|jpeg|webp|avif)[;,]/i;
// Never acceptable, whatever the allow-list says (DESIGN.md §9; the brief's explicit list).
const FORBIDDEN_ELEMENTS = new Set(('svg math script style iframe frame frameset object embed applet form input '
  + 'button select option textarea template base meta link xmp noscript noembed noframes plaintext title '
  + 'html head body annotation-xml foreignobject set animate use image').split(' '));
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'cite', 'data', 'poster',
  'background', 'srcset', 'codebase', 'dynsrc', 'lowsrc', 'ping', 'longdesc', 'manifest', 'usemap', 'profile']);
const BAD_SCHEMES = ['javascript:', 'vbscript:', 'data:'];
const HTML_NS = 'http://www.w3.org/1999/xhtml';

// DOM getters read through the prototypes (plugin HTML may clobber instance properties).
const get = (proto, prop) => Object.getOwnPropertyDescriptor(proto, prop).get;
const localNameOf = get(Element.prototype, 'localName');
const namespaceOf = get(Element.prototype, 'namespaceURI');
const attributesOf = get(Element.prototype, 'attributes');
const qsa = Element.prototype.querySelectorAll;

function badScheme(name, value, options) {
  // Trim and drop control characters/whitespace the URL parser ignores, case-insensitive.
  const squashed = String(value).replace(/[\u0000-\u0020\u007f-\u009f\u00a0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff]/g, '').toLowerCase();
  let parsed = null;
  try { parsed = new URL(String(value), location.href).protocol; } catch { /* unparsable: not navigable */ }
  for (const scheme of BAD_SCHEMES) {
    if (squashed.startsWith(scheme) || parsed === scheme) {
      if (scheme === 'data:' && options.allowDataImages && options.element === 'img' && name === 'src') return null;
      return scheme;
    }
  }
  // Entity/escape leftovers of a scheme (e.g. `javascript&colon;`) that a later decode could revive.
  if (/^(java|vb)script(&colon;|&#0*58;?|&#x0*3a;?|%3a)/i.test(squashed)) return squashed.slice(0, 20);
  return null;
}

/**
 * Inspect one container: return a list of problems (strings). `config` is the host's sanitizer
 * option object (undefined for the default policy).
 */
export function inspect(container, config) {
  const problems = [];
  const extraElements = new Set(config?.allowElements ?? []);
  const extraAttrs = config?.allowAttributes ?? {};
  const all = qsa.call(container, '*');
  for (const el of all) {
    const ns = namespaceOf.call(el);
    const name = localNameOf.call(el);
    if (ns !== HTML_NS) problems.push(`element <${name}> in namespace ${ns}`);
    if (FORBIDDEN_ELEMENTS.has(name.toLowerCase())) problems.push(`forbidden element <${name}>`);
    else if (!ALLOWED_ELEMENTS.has(name) && !extraElements.has(name)) problems.push(`element <${name}> is not on the allow-list`);
    const allowedHere = new Set([...GENERIC_ATTRIBUTES, ...(ELEMENT_ATTRIBUTES[name] ?? []),
      ...(extraAttrs['*'] ?? []), ...(extraAttrs[name] ?? []),
      ...(config?.linkTarget === 'blank' && name === 'a' ? ['target'] : [])]);
    for (const attr of attributesOf.call(el)) {
      const an = attr.name.toLowerCase();
      if (an.startsWith('on')) problems.push(`<${name}> has event handler attribute ${attr.name}="${attr.value.slice(0, 80)}"`);
      else if (!allowedHere.has(an) && !(an.startsWith('aria-') && allowedHere.has('aria-*'))) problems.push(`<${name}> has attribute ${attr.name} outside the allow-list`);
      if (an === 'id' && !attr.value.startsWith('user-content-')) problems.push(`<${name}> has id "${attr.value.slice(0, 40)}" without the user-content- prefix`);
      if (an === 'target' && attr.value !== '_blank') problems.push(`<a> has target="${attr.value.slice(0, 40)}"`);
      if (URL_ATTRIBUTES.has(an) || an.endsWith(':href')) {
        // The URL parser strips leading/trailing C0 controls and spaces, so judge the type after that.
        const trimmed = attr.value.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '');
        const allowData = config?.allowDataImages && name === 'img' && an === 'src' && DATA_IMAGE.test(trimmed);
        const s = badScheme(an, attr.value, { allowDataImages: allowData, element: name });
        if (s) problems.push(`<${name} ${attr.name}="${attr.value.slice(0, 80)}"> uses scheme ${s}`);
      }
    }
    if (name === 'a' && !/\bnoopener\b/.test(Element.prototype.getAttribute.call(el, 'rel') ?? '')) problems.push('<a> without rel=noopener');
    if (el.shadowRoot) problems.push(`<${name}> carries an open shadow root`);
  }
  return problems;
}

const tick = (ms) => new Promise((r) => setTimeout(r, ms));
const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));

let host = null;
let hostConfig;
const stage = document.getElementById('stage');

/**
 * Run a batch of vectors: sanitize, wrap, insert each into its own attached container, wait once,
 * then judge every container. Returns one result per vector.
 */
const inertDocument = document.implementation.createHTMLDocument('');

async function runBatch(vectors, { waitMs = 300, via = 'trustedHTML' } = {}) {
  const ids = vectors.map((v) => v.id);
  currentBatch = ids;
  const hitsBefore = hits.length;
  const violationsBefore = violations.length;
  const errorsBefore = pageErrors.length;
  const root = createElement('section');
  stage.append(root);
  const results = [];
  for (const v of vectors) {
    const r = { id: v.id, problems: [], output: null };
    results.push(r);
    const box = createElement('div');
    box.setAttribute('data-vid', v.id);
    root.append(box);
    try {
      const out = host.sanitize(v.payload);
      r.output = out;
      const again = host.sanitize(out);
      if (again !== out) r.problems.push(`not idempotent: sanitize(out) = ${JSON.stringify(again.slice(0, 300))}`);
      const t = host.trustedHTML(v.payload);
      if (window.trustedTypes && !trustedTypes.isHTML(t)) r.problems.push(`trustedHTML returned a ${typeof t}, not a TrustedHTML`);
      if (String(t) !== out) r.problems.push(`trustedHTML differs from sanitize: ${JSON.stringify(String(t).slice(0, 300))}`);
      if (via === 'setHTML') {
        // Built node by node from the cleaned tree: the DOM must be the one the text path
        // builds (compared in a document without a browsing context: nothing loads there).
        host.setHTML(box, v.payload);
        const ref = inertDocument.createElement('div');
        ref.setAttribute('data-vid', v.id);
        ref.innerHTML = t;
        if (!box.isEqualNode(ref)) r.problems.push(`setHTML built another DOM than innerHTML = trustedHTML: ${JSON.stringify(box.innerHTML.slice(0, 300))}`);
      } else {
        box.innerHTML = t; // Trusted Types-checked sink: only a TrustedHTML gets through.
      }
    } catch (e) {
      r.problems.push(`threw ${e?.name}: ${e?.code ?? ''} ${e?.message}`);
    }
  }
  await frames();
  await tick(waitMs);
  await frames();
  currentBatch = null;
  for (const r of results) {
    const box = Element.prototype.querySelector.call(root, `[data-vid="${CSS.escape(r.id)}"]`);
    r.problems.push(...inspect(box, hostConfig));
  }
  // Script, handlers, violations, page state.
  const newHits = hits.slice(hitsBefore);
  const newViolations = violations.slice(violationsBefore);
  const newErrors = pageErrors.slice(errorsBefore);
  const byId = new Map(results.map((r) => [r.id, r]));
  const batchWide = [];
  for (const h of newHits) batchWide.push(`script ran: ${h.what}(${h.args.join(', ')})`);
  const tolerated = [];
  for (const v of newViolations) {
    // An <img src="http(s)://elsewhere"> is allowed by the sanitizer; the host CSP's img-src is the
    // designed layer that stops the request. Anything else means an unsanitized sink was hit.
    // Likewise a raster data: image where the host opted into allowDataImages.
    if (v.directive === 'img-src' && (/^https?:/.test(v.blockedURI) || (hostConfig?.allowDataImages && v.blockedURI === 'data'))) { tolerated.push(v); continue; }
    const msg = `CSP violation ${v.directive} blocked=${v.blockedURI} sample=${JSON.stringify(v.sample)}`;
    if (v.vid && byId.has(v.vid)) byId.get(v.vid).problems.push(msg); else batchWide.push(msg);
  }
  for (const e of newErrors) batchWide.push(`page error: ${e.message}`);
  if (titleOf() !== originalTitle) batchWide.push(`document.title changed to ${JSON.stringify(titleOf())}`);
  const shadowed = clobbered();
  if (shadowed.length) batchWide.push(`DOM clobbering: document.${shadowed.join(', document.')} shadowed by markup`);
  if (window.name !== originalName) batchWide.push(`window.name changed to ${JSON.stringify(window.name)}`);
  if (unloading) batchWide.push('the page started to navigate away');
  // Script side effects we cannot attribute: blame every vector of the batch (the test then
  // bisects by re-running the batch one vector at a time).
  if (batchWide.length) for (const r of results) r.batchProblems = batchWide;
  root.remove();
  return { results, tolerated: tolerated.map((v) => `${v.vid}: ${v.directive} ${v.blockedURI}`) };
}

/**
 * Control: the same inspection must flag a DOM built with known-bad content. Built with DOM APIs
 * that are not Trusted Types sinks (under this CSP even `setAttribute('onerror', …)` needs a
 * TrustedScript, which the page reports as `handlerAttribute`).
 */
async function controlDom() {
  const box = createElement('div');
  box.setAttribute('data-vid', 'control-dom');
  stage.append(box);
  const violationsBefore = violations.length;
  const img = createElement('img');
  img.setAttribute('src', '/no-such-image.png');
  let handlerAttribute = 'set';
  try { img.setAttribute('onerror', '__xssTrap("control")'); } catch (e) { handlerAttribute = `${e.name}: ${e.message}`; }
  const a = createElement('a');
  a.setAttribute('href', ' \tJaVa\nScRiPt:__xssTrap(1)');
  const div = createElement('div');
  div.setAttribute('style', 'position:fixed');
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  const form = createElement('form');
  const frame = createElement('iframe');
  frame.src = 'http://evil.example/'; // not the plugin origin: frame-src refuses it
  box.append(img, a, div, svg, form, frame);
  await tick(300);
  const problems = inspect(box);
  const newViolations = violations.slice(violationsBefore);
  box.remove();
  return { problems, violations: newViolations, handlerAttribute };
}

/** Control: under this page's CSP, a string (not TrustedHTML) cannot reach innerHTML. */
function controlRawString(payload) {
  const box = createElement('div');
  stage.append(box);
  const out = { rawInsert: null, createPolicy: null, defaultPolicy: null };
  try { box.innerHTML = payload; out.rawInsert = 'no error'; } catch (e) { out.rawInsert = `${e.name}: ${e.message}`; }
  try { trustedTypes.createPolicy('xss-control', { createHTML: (s) => s }); out.createPolicy = 'created'; } catch (e) { out.createPolicy = `${e.name}: ${e.message}`; }
  try { trustedTypes.createPolicy('default', { createHTML: (s) => s }); out.defaultPolicy = 'created'; } catch (e) { out.defaultPolicy = `${e.name}: ${e.message}`; }
  out.inserted = box.childNodes.length;
  box.remove();
  return out;
}

/** Control (only where the CSP lists `xss-control`): insert raw payloads and judge them. */
let controlPolicy = null;
async function controlPermissive(vectors) {
  controlPolicy ??= trustedTypes.createPolicy('xss-control', { createHTML: (s) => s });
  const policy = controlPolicy;
  const realHost = host;
  // Same harness, but the "sanitizer" is the identity through a permissive policy.
  host = {
    sanitize: (s) => s,
    trustedHTML: (s) => policy.createHTML(s),
  };
  try {
    return await runBatch(vectors);
  } finally {
    host = realHost;
  }
}

start('xssHarness', async () => {
  const config = new URLSearchParams(location.search).get('config');
  hostConfig = config === 'max' ? MAX_CONFIG : undefined;
  host = new PluginHost({ hostVersion: '3.2.0', storage: 'memory', ...(hostConfig ? { sanitizer: hostConfig } : {}) });
  // The sanitizer is a module of its own, fetched on first need; trustedHTML is synchronous.
  await host.preload('sanitizer');
  return {
    PluginHost, config: config ?? 'default', hostConfig, host: () => host,
    runBatch, controlDom, controlRawString, controlPermissive,
    state: () => ({ hits: hits.length, violations: violations.length, title: titleOf(), name: window.name, clobbered: clobbered() }),
  };
});
