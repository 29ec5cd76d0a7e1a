// binaryen.js helpers to read, cut and write the package's wasm modules: the build's split of
// the core and of the sanitizer by use (scripts/split-module.mjs) and the bench tools that
// measure them (scripts/bench/coverage.mjs, scripts/bench/sanitizer-coverage.mjs) share them.
//
// A split (`splitByUse`) turns one module into two that together run exactly as it does:
//  - the first holds the functions a profile names (what a host's first visit runs). Every
//    other function becomes an import of its own, `s.<i>` (i: its index among the
//    original's defined functions, in base 36 in every name (`id`); a stub calling it where a table
//    holds the function), which
//    the loader (src/web/split-loader.js) answers from the second module. It also exports the
//    kept functions the second calls (`k<i>`), its tables (`t<i>`) and globals (`g<i>`);
//  - the second holds every other function, exported as `s<i>` if the first calls it; it
//    defines no memory, table or global of its own and imports them, with the first's
//    functions, from the module `primary` (the first's exports), plus the same JS imports as
//    the original. It has no element segments: the first initialized the tables.
// Given the link map (`readLinkMap`), the data is split too (`dataByUse`): the first part's data
// segments hold the data objects its functions can reach, and the second's the rest, which its
// instantiation writes into the shared memory before any of its functions runs.
import { readFileSync } from 'node:fs';
import binaryen from 'binaryen';

// What the release build enables (Cargo.toml's wasm-opt flags; wasm-bindgen's multivalue
// shims), and nothing newer: binaryen would write, e.g., compact imports Chromium refuses.
const F = binaryen.Features;
const FEATURES = F.MutableGlobals | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt | F.SignExt | F.ReferenceTypes | F.Multivalue | F.CallIndirectOverlong;

export function read(bytes) {
  const mod = binaryen.readBinary(bytes);
  mod.setFeatures(FEATURES);
  return mod;
}

/** `read`, from the text format. */
export function parseText(text) {
  const mod = binaryen.parseText(text);
  mod.setFeatures(FEATURES);
  return mod;
}

/** The module's defined functions (imports skipped), in order: [FunctionRef, info]. */
export function definedFunctions(mod) {
  const fns = [];
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const ref = mod.getFunctionByIndex(i);
    const info = binaryen.getFunctionInfo(ref);
    if (!info.module) fns.push([ref, info]);
  }
  return fns;
}

/**
 * A name that survives rebuilds of unchanged code: the demangled name without rustc's hashes
 * (legacy `::h<16 hex>`, v0's crate disambiguators `[<hex>]`), then `#<n>` for the n-th function
 * of the module with that name (generic instances demangle alike). Profiles store these.
 */
export function stableNames(names) {
  const seen = new Map();
  return names.map((name) => {
    const base = name.replace(/::h[0-9a-f]{16}$/, '').replace(/\[[0-9a-f]{8,}\]/g, '');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return `${base}#${n}`;
  });
}

/** The import module of a split's first part that holds its stubs (src/web/split-loader.js). */
export const STUBS = 's';

// The name of a function in the split's imports and exports: its index, in base 36 (a
// thousand names in each part's import and export sections: base 10 took 0.5 KiB gzip more of
// a first load; base 64, shorter, gzips no smaller).
export const id = (i) => i.toString(36);

/**
 * A split's first module, in place: each defined function for which `keep(info, i)` is false
 * becomes an import of its own (`s.<i>`, `i` in base 36 as in every name here: 1 000 or so of
 * them; it loads the second module and calls there):
 * the import itself where only calls and exports name the function, or a stub calling it
 * where a table's element segment holds the function (binaryen cannot point a segment's
 * `ref.func` at an import: their types are exact). Each kept function is exported as `k<i>`
 * (the second module calls them) if `exported(i)` (default: all). The caller then runs
 * binaryen's `reorder-locals` (the stubs' unused locals) and `remove-unused-module-elements`.
 */
export function stubOut(mod, keep, exported = () => true) {
  const inTable = new Set();
  for (let s = 0; s < mod.getNumElementSegments(); s++) {
    for (const name of binaryen.getElementSegmentInfo(mod.getElementSegmentByIndex(s)).data) inTable.add(name);
  }
  definedFunctions(mod).forEach(([ref, info], i) => {
    if (keep(info, i)) {
      if (exported(i)) mod.addFunctionExport(info.name, `k${id(i)}`);
      return;
    }
    if (!inTable.has(info.name)) {
      mod.removeFunction(info.name);
      mod.addFunctionImport(info.name, STUBS, id(i), info.params, info.results);
      return;
    }
    mod.addFunctionImport(`split_${i}`, STUBS, id(i), info.params, info.results);
    const args = binaryen.expandType(info.params).map((t, j) => mod.local.get(j, t));
    binaryen.Function.setBody(ref, mod.call(`split_${i}`, args, info.results));
  });
}

/**
 * `bytes` with each function import of `module` renamed: module `to`, field `fields.get(field)`
 * (every field must have a new name). Keeps the name section.
 */
export function renameImports(bytes, module, to, fields) {
  const mod = read(bytes);
  const imports = each(mod.getNumFunctions(), (i) => binaryen.getFunctionInfo(mod.getFunctionByIndex(i))).filter((f) => f.module === module);
  for (const f of imports) {
    const base = fields.get(f.base);
    if (!base) throw new Error(`split: the glue has no import named ${f.base} (from ${module})`);
    mod.removeFunction(f.name);
    mod.addFunctionImport(f.name, to, base, f.params, f.results);
  }
  if (!mod.validate()) throw new Error('split: the module with renamed imports does not validate');
  binaryen.setDebugInfo(true);
  const out = mod.emitBinary();
  binaryen.setDebugInfo(false);
  mod.dispose();
  return { bytes: out, renamed: imports.length };
}

/** The names of the module's exports of `kind` ('function', 'table', 'memory', 'global'). */
export function exportNames(bytes, kind) {
  return WebAssembly.Module.exports(new WebAssembly.Module(bytes)).filter((e) => e.kind === kind).map((e) => e.name);
}

/**
 * The module with each function export named as `names` says (old name → new name): every one
 * of them must be there. Names are kept, as in renameImports.
 */
export function renameExports(bytes, names) {
  const mod = read(bytes);
  let renamed = 0;
  for (const e of exportsOf(mod)) {
    const to = names.get(e.name);
    if (to === undefined) continue;
    if (e.kind !== binaryen.ExternalFunction) throw new Error(`split: ${e.name} is not a function export`);
    mod.removeExport(e.name);
    mod.addFunctionExport(e.value, to);
    renamed++;
  }
  if (renamed !== names.size) throw new Error(`split: ${names.size - renamed} of the exports the glue names are not in the module`);
  if (!mod.validate()) throw new Error('split: the module with renamed exports does not validate');
  binaryen.setDebugInfo(true);
  const out = mod.emitBinary();
  binaryen.setDebugInfo(false);
  mod.dispose();
  return out;
}

/** The module's bytes, without names (validated first); the module is disposed. */
export function emit(mod, what) {
  if (!mod.validate()) throw new Error(`${what} does not validate`);
  binaryen.setDebugInfo(false);
  const bytes = mod.emitBinary();
  mod.dispose();
  return bytes;
}

const each = (n, get) => Array.from({ length: n }, (_, i) => get(i));
const globalsOf = (mod) => each(mod.getNumGlobals(), (i) => binaryen.getGlobalInfo(mod.getGlobalByIndex(i)));
const tablesOf = (mod) => each(mod.getNumTables(), (i) => binaryen.getTableInfo(mod.getTableByIndex(i)));
const exportsOf = (mod) => each(mod.getNumExports(), (i) => binaryen.getExportInfo(mod.getExportByIndex(i)));

/**
 * The names of a module's defined functions, in order, from its name section; a function the
 * section does not name (binaryen then names it by its index: wasm-bindgen's `__wbindgen_start`)
 * by its export, `export <name>`, when it has one.
 */
export function namesOf(mod) {
  const exported = new Map(exportsOf(mod).filter((e) => e.kind === binaryen.ExternalFunction).map((e) => [e.value, e.name]));
  return definedFunctions(mod).map(([, info]) => (/^\d+$/.test(info.name) && exported.has(info.name) ? `export ${exported.get(info.name)}` : info.name));
}

/** The stable names a profile file lists (one per line; `#` starts a comment line). */
export function readProfile(path) {
  return new Set(readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')));
}

/** `namesOf` the module in `bytes`. */
export function functionNames(bytes) {
  const mod = read(bytes);
  const names = namesOf(mod);
  mod.dispose();
  return names;
}

/** The `base` names of a module's function imports from `module`. */
function importedFrom(mod, module) {
  const bases = new Set();
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (info.module === module) bases.add(info.base);
  }
  return bases;
}

/**
 * The second part: the functions the first does not hold, each exported as `s<i>` if
 * `exported(i)`; everything else imported from the first. Answers the module (not emitted).
 */
function secondPart(bytes, keep, exported, data = []) {
  const b = read(bytes);
  const tableExports = new Map(exportsOf(b).filter((e) => e.kind === binaryen.ExternalTable).map((e) => [e.value, e.name]));
  for (const e of exportsOf(b)) b.removeExport(e.name);
  for (const seg of each(b.getNumElementSegments(), (i) => binaryen.getElementSegmentInfo(b.getElementSegmentByIndex(i)))) b.removeElementSegment(seg.name);
  const mem = b.getMemoryInfo();
  // Only the data the first part left out; the first's data is in memory already.
  setData(b, data);
  b.addMemoryImport('0', 'primary', 'memory', mem.shared);
  tablesOf(b).forEach((t, i) => b.addTableImport(t.name, 'primary', tableExports.get(t.name) ?? `t${i}`));
  globalsOf(b).forEach((g, i) => {
    b.removeGlobal(g.name);
    b.addGlobalImport(g.name, 'primary', `g${i}`, g.type, g.mutable);
  });
  definedFunctions(b).forEach(([, info], i) => {
    if (keep(i)) {
      b.removeFunction(info.name);
      b.addFunctionImport(info.name, 'primary', `k${id(i)}`, info.params, info.results);
    } else if (exported(i)) {
      b.addFunctionExport(info.name, `s${id(i)}`);
    }
  });
  b.runPasses(['remove-unused-module-elements']);
  return b;
}

/**
 * wasm-ld's link map (`--Map`, written for the core by build.rs): each input data section (one
 * data object: a constant, a static, a vtable) as [start, end), sorted, and the areas of merged
 * strings (`<internal>`: the linker's merged NUL-terminated constants, such as `format_args!`
 * templates, where one string may be the tail of another), as [start, end).
 */
export function readLinkMap(text) {
  const objects = [];
  const merged = [];
  for (const line of text.split('\n')) {
    // Input sections are indented one column more than output sections, one less than symbols.
    const m = line.match(/^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+) {9}(\S.*)$/);
    if (!m) continue;
    const start = parseInt(m[1], 16);
    const range = [start, start + parseInt(m[2], 16)];
    if (m[3].startsWith('<internal>:')) merged.push(range);
    else objects.push(range);
  }
  objects.sort((x, y) => x[0] - y[0]);
  return { objects, merged };
}

/** Every active data segment of `mod` as { offset, data }. */
function dataSegmentsOf(mod) {
  return each(mod.getNumDataSegments(), (i) => mod.getDataSegmentInfo(mod.getDataSegmentByIndex(i)))
    .map((d) => {
      if (d.passive) throw new Error('split: a passive data segment (the split knows only active ones)');
      return { offset: d.offset, data: new Uint8Array(d.data) };
    });
}

/**
 * The numbers each defined function's code names (`i32.const`, a load's or store's `offset=`),
 * and of those, the constants an `i32.add` or `i32.sub` takes (the base of a computed address).
 */
function constantsOf(mod) {
  const lists = [];
  const bases = [];
  let cur = null;
  const lines = mod.emitText().split('\n');
  const indent = (l) => l.length - l.trimStart().length;
  lines.forEach((line, n) => {
    if (line.startsWith(' (func ')) { lists.push((cur = [])); bases.push(new Set()); }
    else if (line.startsWith(' (') && !line.startsWith(' (local')) cur = null;
    if (!cur) return;
    for (const m of line.matchAll(/(?:i32\.const |offset=)(\d+)/g)) cur.push(Number(m[1]));
    const c = line.match(/^\s*\(i32\.const (\d+)\)$/);
    if (!c) return;
    // Its parent: the nearest line above it that is indented less.
    let p = n - 1;
    while (p > 0 && indent(lines[p]) >= indent(line)) p--;
    if (/^\s*\(i32\.(add|sub)$/.test(lines[p])) bases[bases.length - 1].add(Number(c[1]));
  });
  return { lists, bases };
}

const GAP = 8; // zero bytes worth a segment boundary (a segment's header costs ~5 bytes)

/**
 * Which of the module's data the functions `keep(i)` accepts can reach, given the link map:
 * answers the data segments of the first part (what they reach, the bytes between close runs
 * included) and of the second (every other byte, none the first's), their byte counts,
 * `keptAt(address)` and `inData(address)`. An address a kept function's code names, a global
 * holds, or a kept object holds (4 aligned bytes read as an address in the data), reaches: in
 * a merged-string area, the bytes up to its string's NUL; elsewhere the whole object holding
 * it, or, where the map places no object, the bytes up to the next address anything names; an
 * address the code adds an index to also reaches the object that ends there. A wrong guess
 * would be a read of zeros before the second part loads: `coverage.mjs --check-profile` runs a
 * first visit with every read of the data logged and fails on one outside what this keeps
 * (tests/e2e/bench), and tests/e2e/lazy-modules compares the split's answers with the unsplit
 * module's. What this cannot see: a table indexed from a base far from it (html5ever reads
 * C1_REPLACEMENTS from 0x200 bytes below it), which is why the sanitizer's split moves no data.
 */
export function dataByUse(mod, keep, linkMap) {
  const segs = dataSegmentsOf(mod);
  if (segs.length === 0) return null;
  const lo = Math.min(...segs.map((d) => d.offset));
  const hi = Math.max(...segs.map((d) => d.offset + d.data.length));
  const mem = new Uint8Array(hi - lo);
  const present = new Uint8Array(hi - lo);
  for (const d of segs) { mem.set(d.data, d.offset - lo); present.fill(1, d.offset - lo, d.offset - lo + d.data.length); }
  const inData = (v) => v >= lo && v < hi;
  const word = (at) => (mem[at - lo] | (mem[at - lo + 1] << 8) | (mem[at - lo + 2] << 16) | (mem[at - lo + 3] << 24)) >>> 0;
  const { objects, merged } = linkMap;
  const covered = objects.concat(merged).reduce((n, [a, b]) => n + Math.max(0, Math.min(b, hi) - Math.max(a, lo)), 0);
  if (covered < (hi - lo) * 0.9) throw new Error(`split: the link map places ${covered} of the module's ${hi - lo} data bytes: is it this module's map?`);

  const { lists: constants, bases } = constantsOf(mod);
  if (constants.length !== definedFunctions(mod).length) throw new Error('split: could not read the code of every function');
  const firstAtOrAfter = (list, v, key = (x) => x) => {
    let a = 0;
    let b = list.length;
    while (a < b) { const m = (a + b) >> 1; if (key(list[m]) < v) a = m + 1; else b = m; }
    return a;
  };
  const named = new Set();
  constants.forEach((list) => list.forEach((v) => inData(v) && named.add(v)));
  for (let at = lo; at + 4 <= hi; at += 4) if (inData(word(at))) named.add(word(at));
  const sorted = [...named].sort((x, y) => x - y);
  const nextNamed = (v) => { const i = firstAtOrAfter(sorted, v + 1); return i < sorted.length ? sorted[i] : hi; };

  const kept = new Uint8Array(hi - lo);
  const todo = [];
  const reach = (a, b) => {
    for (let at = Math.max(a, lo); at < Math.min(b, hi); at++) {
      if (kept[at - lo]) continue;
      kept[at - lo] = 1;
      if (at % 4 === 0 && at + 4 <= hi && inData(word(at))) todo.push(word(at));
    }
  };
  const seen = new Set();
  const visit = (v) => {
    if (seen.has(v)) return;
    seen.add(v);
    const area = merged.find(([a, b]) => v >= a && v < b);
    if (area) {
      let end = v;
      while (end < area[1] && mem[end - lo] !== 0) end++;
      return reach(v, end + 1);
    }
    const i = firstAtOrAfter(objects, v + 1, (o) => o[1]);
    if (i < objects.length && objects[i][0] <= v) return reach(objects[i][0], objects[i][1]);
    return reach(v, nextNamed(v));
  };
  // A computed address may start past the end of what it reads: a loop that counts a negative
  // index up to 0 adds it to the address just past its array (rustc does this; found in the
  // sanitizer module). For a constant the code adds to, the object ending there (within 8 bytes
  // of padding) is reached too.
  const endingAt = (v) => {
    const j = firstAtOrAfter(objects, v + 1, (o) => o[1]) - 1;
    return j >= 0 && objects[j][1] <= v && v - objects[j][1] < 8 ? objects[j] : null;
  };
  constants.forEach((list, i) => {
    if (!keep(i)) return;
    for (const v of list) {
      if (!inData(v)) continue;
      todo.push(v);
      const before = bases[i].has(v) ? endingAt(v) : null;
      if (before) todo.push(before[0]);
    }
  });
  for (const g of globalsOf(mod)) {
    const init = binaryen.getExpressionInfo(g.init);
    if (init.id === binaryen.ConstId && typeof init.value === 'number' && inData(init.value)) todo.push(init.value);
  }
  while (todo.length) visit(todo.pop());

  // The bytes `take` accepts as segments: without runs of more than GAP zeros (memory starts
  // zeroed, and nothing but the second part writes what it holds before it loads); with
  // `bridge`, pieces at most GAP bytes apart are joined, the bytes between included.
  const segments = (take, bridge) => {
    const pieces = [];
    for (let at = 0; at < mem.length;) {
      if (!(present[at] && take(at) && mem[at] !== 0)) { at++; continue; }
      let end = at + 1;
      let zeros = 0;
      while (end < mem.length && present[end] && take(end) && zeros <= GAP) { zeros = mem[end] === 0 ? zeros + 1 : 0; end++; }
      while (mem[end - 1] === 0) end--;
      const last = pieces[pieces.length - 1];
      if (bridge && last && at - last[1] <= GAP) last[1] = end;
      else pieces.push([at, end]);
      at = end;
    }
    return pieces.map(([a, b]) => ({ offset: lo + a, data: mem.slice(a, b) }));
  };
  const first = segments((at) => kept[at] === 1, true);
  const second = segments((at) => kept[at] === 0, false);
  const count = (list) => list.reduce((n, d) => n + d.data.length, 0);
  const keptAt = (at) => !inData(at) || !present[at - lo] || kept[at - lo] === 1;
  return { first, second, keptBytes: count(first), movedBytes: count(second), keptAt, inData: (at) => inData(at) && present[at - lo] === 1 };
}

/** `mod`'s memory with `segments` as its data (and no other). */
function setData(mod, segments) {
  const mem = mod.getMemoryInfo();
  mod.setMemory(mem.initial, mem.max ?? -1, null,
    segments.map((d) => ({ offset: mod.i32.const(d.offset), data: d.data, passive: false })), mem.shared, mem.is64, '0');
}

/**
 * Split `bytes` (a module with its name section) in two: the first keeps each defined function
 * whose index `keep(i)` accepts. Answers { first, second } (bytes, without names), the
 * counts of functions kept and moved, and `stackPointer`: the first part's export of the stack
 * pointer global (null if the module names none). Each part exports only what the other uses:
 * the second is built once with every moved function exported to learn which kept functions it calls,
 * then again with only the moved functions the first part's stubs still call. With the link
 * map (`readLinkMap`), the data the first part cannot reach moves to the second (`dataByUse`).
 */
export function splitByUse(bytes, keep, linkMap = null) {
  const probe = secondPart(bytes, keep, () => true);
  const calledBySecond = importedFrom(probe, 'primary');
  probe.dispose();

  // The first: each function not kept an import, or a stub calling one (see stubOut).
  const a = read(bytes);
  const count = definedFunctions(a).length;
  const data = linkMap ? dataByUse(a, keep, linkMap) : null;
  if (data) setData(a, data.first);
  let moved = 0;
  stubOut(a, (_, i) => { const k = keep(i); if (!k) moved++; return k; }, (i) => calledBySecond.has(`k${id(i)}`));
  const exportedA = new Set(exportsOf(a).map((e) => `${e.value}:${e.kind}`));
  tablesOf(a).forEach((t, i) => { if (!exportedA.has(`${t.name}:${binaryen.ExternalTable}`)) a.addTableExport(t.name, `t${i}`); });
  const globals = globalsOf(a);
  globals.forEach((g, i) => a.addGlobalExport(g.name, `g${i}`));
  // wasm-ld's stack pointer, by its name: the loader may put it back after a failed load.
  const sp = globals.findIndex((g) => g.name === '__stack_pointer' && g.mutable);
  a.runPasses(['reorder-locals', 'remove-unused-module-elements']);
  const stubsCalled = importedFrom(a, STUBS);
  const first = emit(a, 'split: the first module');

  const b = secondPart(bytes, keep, (i) => stubsCalled.has(id(i)), data ? data.second : []);
  const second = emit(b, 'split: the second module');
  return { first, second, kept: count - moved, moved, data, stackPointer: sp < 0 ? null : `g${sp}` };
}
