// The instrument behind the split's profiles (scripts/bench/coverage.mjs for the core,
// scripts/bench/sanitizer-coverage.mjs for the sanitizer): a copy of a module that reports
// which of its functions run and which bytes of its memory it reads.
import binaryen from 'binaryen';
import { definedFunctions, namesOf, parseText, read } from '../wasm-split.mjs';
import { sectionsOf } from './size.mjs';
import { BUILD_SECTION } from '../package-build.mjs';

/**
 * The module with `pwcov.mark(i)` called first thing in its i-th defined function, and every
 * read of memory logged: each load by binaryen's instrument-memory pass (`env.load_ptr`…), each
 * `memory.copy` through a function of its own that first calls `pwmem.copy(source, length)`.
 */
export function instrument(bytes) {
  const plain = read(bytes);
  const count = definedFunctions(plain).length;
  const text = plain.emitText();
  plain.dispose();
  const copies = text.split('(memory.copy\n').length - 1;
  const withCopies = text
    .replace(/^(\(module[^\n]*\n)/, (head) => `${head} (import "pwmem" "copy" (func $__pw_copy_log (param i32 i32)))\n`)
    .replaceAll('(memory.copy\n', '(call $__pw_copy\n')
    .replace(/\)\n?$/, ' (func $__pw_copy (param i32 i32 i32) (call $__pw_copy_log (local.get 1) (local.get 2)) (memory.copy (local.get 0) (local.get 1) (local.get 2))))\n');
  const mod = parseText(withCopies);
  if (copies === 0 || withCopies.includes('(memory.copy $')) throw new Error('coverage: found no memory.copy to log (did binaryen change how it prints them?)');
  const fns = definedFunctions(mod).slice(0, count);
  mod.addFunctionImport('pwcov_mark', 'pwcov', 'mark', binaryen.i32, binaryen.none);
  fns.forEach(([ref, info], i) => {
    const call = mod.call('pwcov_mark', [mod.i32.const(i)], binaryen.none);
    binaryen.Function.setBody(ref, mod.block(null, [call, info.body], info.results));
  });
  mod.runPasses(['instrument-memory']);
  if (!mod.validate()) throw new Error('coverage: the instrumented module does not validate');
  const names = namesOf(mod).slice(0, count);
  // The text format has no custom sections: the build's id (scripts/package-build.mjs) is
  // carried over, so that the package's glue runs the instrumented module as it runs the build's.
  const binary = Buffer.concat([mod.emitBinary(), ...sectionsOf(bytes).filter((s) => s.name === BUILD_SECTION).map((s) => bytes.subarray(s.start, s.end))]);
  mod.dispose();
  return { binary, names };
}
