// A log of every byte a module instrumented by scripts/bench/instrument.mjs reads below `limit`
// (its stack and data, the start of its heap): `imports` answers the instrument's imports (each
// load through binaryen's instrument-memory `env.*`, each memory.copy through `pwmem.copy`),
// `note` logs a read made outside the module (the glue's), `runs()` answers what was read as
// [start, end) runs of addresses. Used in the page (www/bench/coverage.js) and in Node
// (scripts/bench/sanitizer-coverage.mjs).
export function readLog(limit) {
  const reads = new Uint8Array(limit);
  const note = (at, n) => { if (at < limit) reads.fill(1, at, Math.min(at + n, limit)); };
  const same = (_, v) => v;
  const env = {
    load_ptr: (_, bytes, offset, ptr) => { note((ptr >>> 0) + offset, bytes); return ptr; },
    store_ptr: (_, bytes, offset, ptr) => ptr,
    load_val_i32: same, load_val_i64: same, load_val_f32: same, load_val_f64: same,
    store_val_i32: same, store_val_i64: same, store_val_f32: same, store_val_f64: same,
    memory_grow_pre: same, memory_grow_post: same,
  };
  const runs = () => {
    const out = [];
    for (let at = 0; at < limit; at++) {
      if (!reads[at]) continue;
      const start = at;
      while (at < limit && reads[at]) at++;
      out.push([start, at]);
    }
    return out;
  };
  return { env, pwmem: { copy: (src, n) => note(src >>> 0, n >>> 0) }, note, runs };
}
