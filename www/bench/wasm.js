// Suite `size` (in-page part): compile and instantiate time of the package's wasm bytes.
import { interleave } from './lib.js';

export async function runWasm({ warmup, samples }) {
  const bytes = await (await fetch('/pkg/plugin_warden_bg.wasm')).arrayBuffer();
  const module = await WebAssembly.compile(bytes);
  // wasm-bindgen's imports are functions; stubs suffice to instantiate (nothing calls them here:
  // the package has no start function that calls out).
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] ??= {};
    if (imp.kind === 'function') imports[imp.module][imp.name] = () => { throw new Error('stub'); };
  }
  const times = await interleave({
    'compile (WebAssembly.compile)': async () => { const t0 = performance.now(); await WebAssembly.compile(bytes); return performance.now() - t0; },
    'instantiate (compiled module)': async () => { const t0 = performance.now(); await WebAssembly.instantiate(module, imports); return performance.now() - t0; },
    'compile + instantiate (bytes)': async () => { const t0 = performance.now(); await WebAssembly.instantiate(bytes, imports); return performance.now() - t0; },
  }, { warmup, samples });
  return { bytes: bytes.byteLength, times };
}
