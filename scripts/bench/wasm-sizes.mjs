// Where the wasm's bytes go: code size per crate (function bodies, by the name section's
// function names) and data size, from a wasm that keeps its names (bench/named-pkg).
import { readFileSync } from 'node:fs';

function reader(bytes, at) {
  const r = {
    at,
    u() { let v = 0; let s = 0; for (;;) { const b = bytes[r.at++]; v += (b & 0x7f) * 2 ** s; s += 7; if (b < 0x80) return v; } },
    str() { const n = r.u(); const t = bytes.subarray(r.at, r.at + n).toString('utf8'); r.at += n; return t; },
  };
  return r;
}

/** The crate a (mangled-then-demangled) Rust function name belongs to. */
function crateOf(name) {
  const n = name.replace(/^<+/, '').replace(/^(dyn |impl |&mut |&)/, '');
  const m = n.match(/^([A-Za-z_][A-Za-z0-9_]*)(\[[0-9a-f]+\])?::/);
  if (m) return m[1];
  if (/^__wbg|^__wbindgen|^__externref|wasm_bindgen/.test(n)) return 'wasm_bindgen';
  return '(other)';
}

export function wasmBreakdown(path, top = 12) {
  const bytes = readFileSync(path);
  const r = reader(bytes, 8);
  let imported = 0;
  const bodies = [];
  let dataBytes = 0;
  const names = new Map();
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
  bodies.forEach((s, i) => {
    const c = crateOf(names.get(imported + i) ?? '');
    byCrate.set(c, (byCrate.get(c) ?? 0) + s);
  });
  const code = bodies.reduce((a, b) => a + b, 0);
  return {
    codeBytes: code,
    dataBytes,
    functions: bodies.length,
    crates: [...byCrate.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([crate, b]) => ({ crate, codeBytes: b, percent: +(100 * b / code).toFixed(1) })),
  };
}
