// binaryen.js helpers to read, cut and write the package's core wasm module: the build's split of
// the core by use (scripts/split-core.mjs) and the bench tool that measures it
// (scripts/bench/coverage.mjs) share them.
//
// A split (`splitByUse`) turns one module into two that together run exactly as it does:
//  - the first holds the functions a profile names (what a host's first visit runs). Every
//    other function becomes an import of its own, `split.<i>` (i: its index among the
//    original's defined functions; a stub calling it where a table holds the function), which
//    the loader (src/web/split-loader.js) answers from the second module. It also exports the
//    kept functions the second calls (`k<i>`), its tables (`t<i>`) and globals (`g<i>`);
//  - the second holds every other function, exported as `s<i>` if the first calls it; it
//    defines no memory, table or global of its own and imports them, with the first's
//    functions, from the module `primary` (the first's exports), plus the same JS imports as
//    the original. It has no data or element segments: the first initialized memory and tables.
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

/**
 * A split's first module, in place: each defined function for which `keep(info, i)` is false
 * becomes an import of its own (`split.<i>`, which loads the second module and calls there):
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
      if (exported(i)) mod.addFunctionExport(info.name, `k${i}`);
      return;
    }
    if (!inTable.has(info.name)) {
      mod.removeFunction(info.name);
      mod.addFunctionImport(info.name, 'split', String(i), info.params, info.results);
      return;
    }
    mod.addFunctionImport(`split_${i}`, 'split', String(i), info.params, info.results);
    const args = binaryen.expandType(info.params).map((t, j) => mod.local.get(j, t));
    binaryen.Function.setBody(ref, mod.call(`split_${i}`, args, info.results));
  });
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
function secondPart(bytes, keep, exported) {
  const b = read(bytes);
  const tableExports = new Map(exportsOf(b).filter((e) => e.kind === binaryen.ExternalTable).map((e) => [e.value, e.name]));
  for (const e of exportsOf(b)) b.removeExport(e.name);
  for (const seg of each(b.getNumElementSegments(), (i) => binaryen.getElementSegmentInfo(b.getElementSegmentByIndex(i)))) b.removeElementSegment(seg.name);
  const mem = b.getMemoryInfo();
  b.setMemory(mem.initial, mem.max ?? -1, null, [], mem.shared, mem.is64, '0'); // no data: the first's
  b.addMemoryImport('0', 'primary', 'memory', mem.shared);
  tablesOf(b).forEach((t, i) => b.addTableImport(t.name, 'primary', tableExports.get(t.name) ?? `t${i}`));
  globalsOf(b).forEach((g, i) => {
    b.removeGlobal(g.name);
    b.addGlobalImport(g.name, 'primary', `g${i}`, g.type, g.mutable);
  });
  definedFunctions(b).forEach(([, info], i) => {
    if (keep(i)) {
      b.removeFunction(info.name);
      b.addFunctionImport(info.name, 'primary', `k${i}`, info.params, info.results);
    } else if (exported(i)) {
      b.addFunctionExport(info.name, `s${i}`);
    }
  });
  b.runPasses(['remove-unused-module-elements']);
  return b;
}

/**
 * Split `bytes` (a module with its name section) in two: the first keeps each defined function
 * whose index `keep(i)` accepts. Answers { first, second } (bytes, without names) and the
 * counts of functions kept and moved. Each part exports only what the other uses: the second
 * is built once with every moved function exported to learn which kept functions it calls,
 * then again with only the moved functions the first part's stubs still call.
 */
export function splitByUse(bytes, keep) {
  const probe = secondPart(bytes, keep, () => true);
  const calledBySecond = importedFrom(probe, 'primary');
  probe.dispose();

  // The first: each function not kept an import, or a stub calling one (see stubOut).
  const a = read(bytes);
  const count = definedFunctions(a).length;
  let moved = 0;
  stubOut(a, (_, i) => { const k = keep(i); if (!k) moved++; return k; }, (i) => calledBySecond.has(`k${i}`));
  const exportedA = new Set(exportsOf(a).map((e) => `${e.value}:${e.kind}`));
  tablesOf(a).forEach((t, i) => { if (!exportedA.has(`${t.name}:${binaryen.ExternalTable}`)) a.addTableExport(t.name, `t${i}`); });
  globalsOf(a).forEach((g, i) => a.addGlobalExport(g.name, `g${i}`));
  a.runPasses(['reorder-locals', 'remove-unused-module-elements']);
  const stubsCalled = importedFrom(a, 'split');
  const first = emit(a, 'split: the first module');

  const second = emit(secondPart(bytes, keep, (i) => stubsCalled.has(String(i))), 'split: the second module');
  return { first, second, kept: count - moved, moved };
}
