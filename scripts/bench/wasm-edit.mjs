// binaryen.js helpers the split tools share (coverage.mjs, split.mjs): read a module of this
// package, list its defined functions, turn functions into stubs, write it back.
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
 * A split's first module, in place: each defined function for which `keep(info, i)` is false
 * becomes a stub calling an import of its own (`split.<i>`, which loads the second module and
 * calls there); each kept one is exported as `k<i>` (the second module calls them). Then the
 * stubs' unused locals and whatever nothing refers to any more are removed.
 */
export function stubOut(mod, keep) {
  definedFunctions(mod).forEach(([ref, info], i) => {
    if (keep(info, i)) {
      mod.addFunctionExport(info.name, `k${i}`);
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
