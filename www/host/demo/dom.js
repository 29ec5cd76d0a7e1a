// DOM building for the demo host. The page enforces Trusted Types (`require-trusted-types-for
// 'script'`), so nothing here ever writes an HTML string: elements are created one by one and
// text goes through textContent / Text nodes.

/**
 * `el('a', { href: '#/', class: 'x', dataset: { id: 'p' }, onclick: fn }, 'text', child)`.
 * `text` sets textContent; `on<event>` adds a listener; other props become attributes.
 */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

/** `HH:MM:SS.mmm` of a `Date.now()`-style time. */
export function clock(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
