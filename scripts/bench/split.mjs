// A split of the core module by use, end to end, as a measurement (the package does not ship
// it): from the names of the functions a first visit ran (scripts/bench/coverage.mjs's
// coverage.json), the first module (what ran; every other function a stub calling the import
// `split.<i>`) and the second module (the rest; everything else — memory, tables, globals and
// the functions that ran — imported from the first), then www/bench/split.html runs the first
// visit and then calls a first visit never makes (validateManifest, analyzeBundle, inspect,
// hostCsp, an install with code, RBAC), with a loader that fetches and instantiates the second
// module synchronously on the first stub call. The same calls on the unsplit package must give
// the same answers, and the first visit must not fetch the second module.
//   node scripts/bench/split.mjs [--pkg bench/named-pkg] [--coverage /tmp/coverage/coverage.json]
//        [--step talk] [--out /tmp/split] [--port 8820]
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import binaryen from 'binaryen';
import { visitPage } from './visit.mjs';
import { definedFunctions, emit, read, stubOut } from './wasm-edit.mjs';

const root = new URL('../..', import.meta.url).pathname;
const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : d; };
const pkg = resolve(root, arg('--pkg', 'bench/named-pkg'));
const coverage = JSON.parse(readFileSync(arg('--coverage', '/tmp/coverage/coverage.json'), 'utf8'));
const step = arg('--step', 'talk');
const out = arg('--out', '/tmp/split');
const port = Number(arg('--port', '8820'));
const CORE = 'plugin_warden_bg.wasm';
const SECOND = 'plugin_warden_core2_bg.wasm';
const each = (n, get) => Array.from({ length: n }, (_, i) => get(i));
const globalsOf = (mod) => each(mod.getNumGlobals(), (i) => binaryen.getGlobalInfo(mod.getGlobalByIndex(i)));
const tablesOf = (mod) => each(mod.getNumTables(), (i) => binaryen.getTableInfo(mod.getTableByIndex(i)));
const exportsOf = (mod) => each(mod.getNumExports(), (i) => binaryen.getExportInfo(mod.getExportByIndex(i)));

const original = readFileSync(join(pkg, CORE));
const names = coverage.names;
const ran = new Set(coverage.snapshots[step].map((i) => names[i]));

// The first module: stubs for what did not run; its tables and globals exported for the second.
function first() {
  const mod = read(original);
  stubOut(mod, (info) => ran.has(info.name));
  const exported = new Set(exportsOf(mod).map((e) => e.value + ':' + e.kind));
  tablesOf(mod).forEach((t, i) => { if (!exported.has(`${t.name}:${binaryen.ExternalTable}`)) mod.addTableExport(t.name, `t${i}`); });
  globalsOf(mod).forEach((g, i) => mod.addGlobalExport(g.name, `g${i}`));
  mod.runPasses(['reorder-locals', 'remove-unused-module-elements']);
  return emit(mod, 'split: the first module');
}

// The second module: what did not run, defined; everything else imported from the first.
function second() {
  const mod = read(original);
  const fns = definedFunctions(mod);
  const tableExports = new Map(exportsOf(mod).filter((e) => e.kind === binaryen.ExternalTable).map((e) => [e.value, e.name]));
  for (const e of exportsOf(mod)) mod.removeExport(e.name);
  for (const seg of each(mod.getNumElementSegments(), (i) => binaryen.getElementSegmentInfo(mod.getElementSegmentByIndex(i)))) mod.removeElementSegment(seg.name);
  // The memory, with none of its data (the first module initialized it), imported.
  const mem = mod.getMemoryInfo();
  mod.setMemory(mem.initial, mem.max ?? -1, null, [], mem.shared, mem.is64, '0'); // -1: no maximum, as the first's
  mod.addMemoryImport('0', 'primary', 'memory', mem.shared);
  tablesOf(mod).forEach((t, i) => mod.addTableImport(t.name, 'primary', tableExports.get(t.name) ?? `t${i}`));
  globalsOf(mod).forEach((g, i) => {
    mod.removeGlobal(g.name);
    mod.addGlobalImport(g.name, 'primary', `g${i}`, g.type, g.mutable);
  });
  fns.forEach(([, info], i) => {
    if (ran.has(info.name)) {
      mod.removeFunction(info.name);
      mod.addFunctionImport(info.name, 'primary', `k${i}`, info.params, info.results);
    } else {
      mod.addFunctionExport(info.name, `s${i}`);
    }
  });
  mod.runPasses(['remove-unused-module-elements']);
  return emit(mod, 'split: the second module');
}

const a = first();
const b = second();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const splitPkg = join(out, 'pkg');
cpSync(pkg, splitPkg, { recursive: true });
writeFileSync(join(splitPkg, CORE), a);
writeFileSync(join(splitPkg, SECOND), b);
const gz = (x) => gzipSync(x, { level: 9 }).length;
const kib = (n) => (n / 1024).toFixed(1);
console.log(`split by what ran by the end of "${step}": first module ${kib(a.length)} KiB raw, ${kib(gz(a))} KiB gzip; second ${kib(b.length)} KiB raw, ${kib(gz(b))} KiB gzip (the unsplit module without names: see coverage.mjs)`);

/** www/bench/split.html on `dir`: what it recorded. */
const visit = (dir, splitOn) => visitPage({
  pkgDir: dir, port, path: `/split.html?split=${splitOn ? 1 : 0}`, name: 'splitResult', what: `split: the ${splitOn ? 'split' : 'whole'} visit`,
});

const whole = await visit(pkg, false);
const parts = await visit(splitPkg, true);
if (parts.secondBeforeBeyond) throw new Error(`split: the first visit loaded the second module, for ${parts.calledInVisit.map((i) => names[i]).join(', ')}`);
if (!parts.secondAfterBeyond) throw new Error('split: the calls beyond the first visit never loaded the second module');
const differ = Object.keys(whole.answers).filter((k) => JSON.stringify(whole.answers[k]) !== JSON.stringify(parts.answers[k]));
if (differ.length) throw new Error(`split: answers differ from the unsplit package: ${differ.map((k) => `${k}: ${JSON.stringify(whole.answers[k])} vs ${JSON.stringify(parts.answers[k])}`).join('; ')}`);
console.log(`The first visit ran on the first module alone; ${Object.keys(whole.answers).length} calls beyond it loaded the second module (synchronously, ${parts.loadMs.toFixed(1)} ms) and answered as the unsplit package does.`);
