// Where a wasm module's bytes go: code size per crate (function bodies, by the name section's
// function names) and data size, from a wasm that keeps its names (bench/named-pkg).
//   node scripts/bench/wasm-sizes.mjs <file.wasm>...
import { readFileSync } from 'node:fs';

function reader(bytes, at) {
  const r = {
    at,
    u() { let v = 0; let s = 0; for (;;) { const b = bytes[r.at++]; v += (b & 0x7f) * 2 ** s; s += 7; if (b < 0x80) return v; } },
    str() { const n = r.u(); const t = bytes.subarray(r.at, r.at + n).toString('utf8'); r.at += n; return t; },
  };
  return r;
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
/** The "crate" of an exported function's shim (its body is the export's inlined code). */
export const EXPORTS = '(exported functions: bindgen shims with inlined bodies)';
// A Rust path's first segment: `crate::…`, or v0-demangled `crate[0123abcd]::…`.
const PATH_START = new RegExp(`^(${IDENT})(?:\\[[0-9a-f]+\\])?::`);
// Crates whose generic code is instantiated by its users (monomorphized): their bytes are paid
// for by whoever instantiates them, so the breakdown also says for which crate's types.
export const GENERIC_HOSTS = new Set(['core', 'alloc', 'std', 'serde', 'serde_core', 'serde_json', 'hashbrown', 'serde_wasm_bindgen']);

/** A legacy-mangled name's first path segment (`_ZN13plugin_warden4core…E` → plugin_warden). */
function legacyCrate(name) {
  const m = name.match(/^_ZN(\d+)/);
  if (!m) return null;
  const len = Number(m[1]);
  const start = 3 + m[1].length;
  const seg = name.slice(start, start + len);
  // Trait impls are mangled as one segment `_$LT$Self$u20$as$u20$Trait$GT$`.
  if (seg.startsWith('_$LT$')) return crateOf(seg.slice(1).replace(/\$LT\$/g, '<').replace(/\$GT\$/g, '>').replace(/\$u20\$/g, ' ').replace(/\.\./g, '::').replace(/\$[A-Z]+\$/g, ''));
  return seg;
}

/** A v0-mangled name's first crate root (`_RNvXs_NtCsgXGp5_4core3fmt…` → core). */
function v0Crate(name) {
  const m = name.match(/C(?:s[0-9A-Za-z]*_)?(\d+)/);
  if (!m) return null;
  const start = m.index + m[0].length;
  return name.slice(start, start + Number(m[1]));
}

/**
 * The crate a Rust function name belongs to: demangled (`plugin_warden::core::x::h0123…`,
 * `<alloc::vec::Vec<T> as core::ops::Drop>::drop`, v0's `core[c5930c85]::fmt::…`), or still
 * mangled as in cargo's raw output (legacy `_ZN…E`, v0 `_R…`). An impl on a type of its own
 * crate counts for that crate; an impl on a primitive or a generic type (`<usize as
 * core::fmt::LowerHex>`, `<&T as core::fmt::Display>`) for the trait's crate.
 */
export function crateOf(name) {
  if (/^_ZN/.test(name)) return legacyCrate(name) ?? '(other)';
  if (/^_R/.test(name)) return v0Crate(name) ?? '(other)';
  if (/^__wbg|^__wbindgen|^__externref|wasm_bindgen/.test(name) && !PATH_START.test(name.replace(/^<+/, ''))) return 'wasm_bindgen';
  // wasm-bindgen's adapters: an export's (`pluginhost_new externref shim`), which wasm-opt
  // fills with the inlined bodies of what it calls, and the closure / conversion adapters.
  if (/^(Closure\(|Ref\(|[A-Z][A-Za-z]*\(.*-> )/.test(name)) return 'wasm_bindgen';
  if (/^[A-Za-z_][A-Za-z0-9_]*( externref shim| multivalue shim)+$/.test(name)) return EXPORTS;
  // An inherent method of a primitive type (`<char>::escape_debug_ext`, `<[u8]>::starts_with`).
  if (/^<(\[?[a-z0-9]+\]?|str|char)>::/.test(name)) return 'core';
  let n = name;
  while (n.startsWith('<')) {
    // `<Self as Trait>::…`: Self if it is a path, else the trait.
    const inner = n.slice(1).replace(/^(dyn |impl |&mut |&|\*const |\*mut )+/, '');
    const self = inner.match(PATH_START);
    if (self) return self[1];
    const as = inner.match(new RegExp(` as (?:dyn |&mut |&)*(${IDENT})(?:\\[[0-9a-f]+\\])?::`));
    if (as) return as[1];
    if (inner.startsWith('<')) { n = inner; continue; }
    break;
  }
  const m = n.match(PATH_START);
  if (m) return m[1];
  if (/^(__rust_|__rdl_|__rg_|rust_begin_unwind|rust_panic)/.test(n)) return 'std';
  if (/^(__|memcpy|memmove|memset|memcmp|bcmp|strlen)/.test(n)) return 'compiler_builtins';
  return '(other)';
}

/** This project's crates, broken down by module path too. */
const OWN = new Set(['plugin_warden', 'plugin_warden_sanitizer']);

/** `crate::a::b` of an own-crate function (the first path of it that starts with the crate). */
function ownPath(name, crate) {
  const m = name.match(new RegExp(`${crate}(?:\\[[0-9a-f]+\\])?((?:::${IDENT}){0,2})`));
  if (!m) return crate;
  // Drop a trailing type or function name: module paths are lower case.
  const segs = m[1].split('::').filter(Boolean).filter((x, i, a) => !(i === a.length - 1 && /^[A-Z_]|^h[0-9a-f]{16}$/.test(x)));
  return [crate, ...segs].join('::');
}

/**
 * For a function of a GENERIC_HOSTS crate: the first other crate named in its name (the type it
 * was instantiated for: `core::ptr::drop_in_place<plugin_warden::…>` → plugin_warden), or null.
 */
export function instantiatedFor(name, crate) {
  if (!GENERIC_HOSTS.has(crate)) return null;
  for (const m of name.matchAll(new RegExp(`(?:^|[^A-Za-z0-9_:])(${IDENT})(?:\\[[0-9a-f]+\\])?::`, 'g'))) {
    if (!GENERIC_HOSTS.has(m[1]) && m[1] !== crate && m[1] !== 'impl') return m[1];
  }
  return null;
}

/**
 * Code bytes per crate of a wasm that keeps its name section (function bodies as stored, so
 * before compression), the top `top` crates; `genericCodeFor` is the code of GENERIC_HOSTS
 * crates (core, alloc, serde…) instantiated for that crate's types, already counted under
 * those crates.
 */
export function wasmBreakdown(path, top = 15) {
  const bytes = readFileSync(path);
  const r = reader(bytes, 8);
  let imported = 0;
  const bodies = [];
  let dataBytes = 0;
  const names = new Map();
  const exported = new Set();
  while (r.at < bytes.length) {
    const id = bytes[r.at++];
    const size = r.u();
    const end = r.at + size;
    if (id === 2) { // imports: count function imports (they take the first indices)
      const n = r.u();
      for (let i = 0; i < n; i++) {
        r.str(); r.str();
        const kind = bytes[r.at++];
        if (kind === 0) { r.u(); imported++; } else if (kind === 1) { r.at++; const f = r.u(); r.u(); if (f & 1) r.u(); } else if (kind === 2) { const f = r.u(); r.u(); if (f & 1) r.u(); } else if (kind === 3) { r.at += 2; } else { r.at = end; break; }
      }
    } else if (id === 7) { // exports: which function indices are exported
      const n = r.u();
      for (let i = 0; i < n; i++) { r.str(); const kind = bytes[r.at++]; const idx = r.u(); if (kind === 0) exported.add(idx); }
    } else if (id === 10) {
      const n = r.u();
      for (let i = 0; i < n; i++) { const s = r.u(); bodies.push(s); r.at += s; }
    } else if (id === 11) {
      dataBytes = size;
    } else if (id === 0) {
      const name = r.str();
      if (name === 'name') {
        while (r.at < end) {
          const sub = bytes[r.at++];
          const len = r.u();
          const subEnd = r.at + len;
          if (sub === 1) { const n = r.u(); for (let i = 0; i < n; i++) { const idx = r.u(); names.set(idx, r.str()); } }
          r.at = subEnd;
        }
      }
    }
    r.at = end;
  }
  const byCrate = new Map();
  // Generic code of GENERIC_HOSTS crates, by the crate whose types it was instantiated for.
  const forCrate = new Map();
  const ownModules = new Map();
  const copies = new Map();
  let unnamed = 0;
  bodies.forEach((size, i) => {
    const name = names.get(imported + i);
    if (name === undefined) unnamed++;
    let c = name === undefined ? '(no name)' : crateOf(name);
    if (c === '(other)' && exported.has(imported + i)) c = EXPORTS;
    const e = byCrate.get(c) ?? { codeBytes: 0, functions: 0 };
    e.codeBytes += size;
    e.functions++;
    byCrate.set(c, e);
    if (OWN.has(c)) {
      const m = ownPath(name, c);
      ownModules.set(m, (ownModules.get(m) ?? 0) + size);
    }
    if (name !== undefined && GENERIC_HOSTS.has(c)) {
      // One generic function's monomorphized copies share a name up to the hash.
      const key = name.replace(/::h[0-9a-f]{16}$/, '');
      const g = copies.get(key) ?? { codeBytes: 0, copies: 0 };
      g.codeBytes += size;
      g.copies++;
      copies.set(key, g);
    }
    const inst = name === undefined ? null : instantiatedFor(name, c);
    if (inst) forCrate.set(inst, (forCrate.get(inst) ?? 0) + size);
  });
  const code = bodies.reduce((a, b) => a + b, 0);
  const pct = (b) => +(100 * b / code).toFixed(1);
  return {
    codeBytes: code,
    dataBytes,
    functions: bodies.length,
    unnamedFunctions: unnamed,
    crates: [...byCrate.entries()].sort((a, b) => b[1].codeBytes - a[1].codeBytes).slice(0, top)
      .map(([crate, e]) => ({ crate, codeBytes: e.codeBytes, functions: e.functions, percent: pct(e.codeBytes), genericCodeFor: forCrate.get(crate) ?? 0 })),
    // This project's own code by module path (`plugin_warden::core::analysis`, …).
    own: [...ownModules.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([path, b]) => ({ path, codeBytes: b, percent: pct(b) })),
    // Generic functions of GENERIC_HOSTS crates with the most bytes over all their copies.
    monomorphized: [...copies.entries()].filter(([, g]) => g.copies > 1).sort((a, b) => b[1].codeBytes - a[1].codeBytes).slice(0, 10)
      .map(([fn, g]) => ({ function: fn, copies: g.copies, codeBytes: g.codeBytes, percent: pct(g.codeBytes) })),
    otherCrates: [...byCrate.entries()].sort((a, b) => b[1].codeBytes - a[1].codeBytes).slice(top).reduce((t, [, e]) => t + e.codeBytes, 0),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const path of process.argv.slice(2)) console.log(path, JSON.stringify(wasmBreakdown(path, 15), null, 1));
}
