// Suite `size` (in-page part): compile and instantiate time of each of the package's wasm
// modules (the core, fetched by init(); the sanitizer, fetched on first need), from their bytes.
import { interleave } from './lib.js';

export const WASM_MODULES = {
  core: '/pkg/plugin_warden_bg.wasm',
  sanitizer: '/pkg/sanitizer/plugin_warden_sanitizer_bg.wasm',
};

/** Answers { module: { bytes, times: { candidate: [ms…] } } } for every module. */
export async function runWasm({ warmup, samples }) {
  const out = {};
  for (const [name, path] of Object.entries(WASM_MODULES)) {
    const res = await fetch(path);
    if (!res.ok) throw new Error(`wasm: ${path} answered ${res.status}`);
    const bytes = await res.arrayBuffer();
    const module = await WebAssembly.compile(bytes);
    // wasm-bindgen's imports are functions; stubs suffice to instantiate (nothing calls them
    // here: neither module has a start function that calls out).
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
    out[name] = { path, bytes: bytes.byteLength, times };
  }
  return out;
}
