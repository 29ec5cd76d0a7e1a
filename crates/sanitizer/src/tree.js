// The sanitizer module's DOM builder (lib.rs `Cleaner::set_html`): a cleaned tree
// (src/core/html_tree.rs, `HtmlTree`) built into a target node by node with createElement,
// setAttribute and createTextNode, into a fragment that then replaces the target's children.
// No string reaches an HTML parser here, so nothing is parsed differently from what the
// sanitizer checked, and no Trusted Types sink is involved: the names are the sanitizer's
// allow-listed elements and attributes, the values and text are set as data.
//
// `ops`: the names table (n, then n pairs of start, end into `text`), then the nodes:
// 1 name count (name start end)* opens an element, 2 start end is a text node, 3 closes.
// Ranges are UTF-16 indexes into `text`.
// Targets: an HTML element of an HTML document, or a shadow root; not an element whose content
// is not markup (script, style, template, textarea, title, …) or that holds another document.
const NOT_TARGETS = new Set(['embed', 'frame', 'frameset', 'head', 'html', 'iframe', 'noembed', 'noframes', 'noscript', 'object', 'plaintext', 'script', 'style', 'template', 'textarea', 'title', 'xmp']);
const HTML = 'http://www.w3.org/1999/xhtml';

function refused(message) {
  const e = new Error(`setHTML: ${message}`);
  e.name = 'PluginWardenError';
  e.code = 'INVALID_ARGUMENT';
  return e;
}

/**
 * The clock of time-limited cleans (lib.rs `Cleaner::new`): `performance.now()`, standing still
 * while a part of a module loads synchronously (the split's loader adds each load's time under
 * this symbol). The core module's clean clock is the same (its src/web/later.js `pwCleanNow`).
 */
export function pwNow() {
  return performance.now() - (globalThis[Symbol.for('plugin-warden: synchronous loads, ms')] ?? 0);
}

/** The error of a clean stopped by its policy's time limit (lib.rs `clean`). */
export function pwTimedOut(message) {
  const e = new Error(message);
  e.name = 'PluginWardenError';
  e.code = 'TIMEOUT';
  return e;
}

/** Throws INVALID_ARGUMENT unless `target` may take markup and `html` is a string. */
export function pwCheck(target, html) {
  const shadow = Object.prototype.toString.call(target) === '[object ShadowRoot]';
  const element = !shadow && target !== null && typeof target === 'object' && target.nodeType === 1;
  if (!(shadow || (element && target.namespaceURI === HTML && !NOT_TARGETS.has(target.localName)))
    || target.ownerDocument?.contentType !== 'text/html') {
    const what = element ? `<${target.localName}>${target.namespaceURI === HTML ? '' : ` (${target.namespaceURI})`}` : target === null ? 'null' : typeof target === 'object' ? Object.prototype.toString.call(target) : typeof target;
    throw refused(`the target must be an HTML element of an HTML document (not script, style, template, textarea, title, iframe, …) or a shadow root, found ${what}`);
  }
  if (typeof html !== 'string') throw refused(`expected a string of HTML, found ${html === null ? 'null' : typeof html}`);
}

export function pwBuild(target, ops, text) {
  const doc = target.ownerDocument;
  const n = ops[0];
  const names = new Array(n);
  for (let i = 0; i < n; i++) names[i] = text.slice(ops[1 + 2 * i], ops[2 + 2 * i]);
  const root = doc.createDocumentFragment();
  let parent = root;
  for (let i = 1 + 2 * n; i < ops.length;) {
    const op = ops[i];
    if (op === 1) {
      const el = doc.createElement(names[ops[i + 1]]);
      const count = ops[i + 2];
      i += 3;
      for (let a = 0; a < count; a++, i += 3) el.setAttribute(names[ops[i]], text.slice(ops[i + 1], ops[i + 2]));
      parent.appendChild(el);
      parent = el;
    } else if (op === 2) {
      parent.appendChild(doc.createTextNode(text.slice(ops[i + 1], ops[i + 2])));
      i += 3;
    } else if (op === 3 && parent !== root) {
      parent = parent.parentNode;
      i += 1;
    } else {
      throw new Error(`plugin-warden: malformed DOM instructions at ${i}`);
    }
  }
  if (parent !== root) throw new Error('plugin-warden: malformed DOM instructions (an element left open)');
  target.replaceChildren(root);
}
