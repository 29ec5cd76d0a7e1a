// ---- plugin-warden: the second part of a wasm module ------------------------------------
// scripts/split-module.mjs appends this to a wasm-bindgen glue when it splits that glue's module
// in two by use (scripts/wasm-split.mjs), after a line that sets `__pw_split_config`:
//  - the core (plugin_warden.js): plugin_warden_bg.wasm, what `init()` loads, holds what a
//    host's first visit runs (create a host, install, mount, the plugin's calls, the first
//    sanitize); plugin_warden_checks_bg.wasm holds the rest (install-time checks: bundle
//    analysis, signatures, manifest diagnostics; the error paths; everything else);
//  - the sanitizer (sanitizer/plugin_warden_sanitizer.js): plugin_warden_sanitizer_bg.wasm holds
//    what cleaning real HTML runs; plugin_warden_sanitizer_rest_bg.wasm the rest (IDNA, for a
//    URL whose host is not ASCII; a host's own options; a refused policy's errors; rare paths).
// Each function the first part lacks calls the import `s.<i>`, answered here by the second
// part's export `s<i>`. The second part is loaded by `preload(<name>)` (asynchronously) or, if a
// call needs it before that, synchronously at that call: a synchronous XMLHttpRequest in
// browsers and workers, `fs.readFileSync` in Node (for a `file:` URL). The two parts share one
// memory, its tables and globals: together they are the module as built, function for function.
// Each part is of this glue's build or refused before it runs (each wasm file names its build,
// as this glue's config does: scripts/package-build.mjs `stampBuild`): the first part by the glue's
// init, a second part `MODULE_NOT_LOADED` before it is instantiated. A file of another version,
// fetched from a URL that now serves one (or from a stale cache), never runs on this build's
// memory nor with this glue.
// If that synchronous load fails, the call throws `MODULE_NOT_LOADED` out of the middle of the
// wasm. For a module no import calls back into (the sanitizer: `resetStack`), the stack pointer
// is then put back where it stands between calls, so later calls run as before (the aborted
// call's heap memory stays allocated); for the core the entry module runs each host call so
// that a throw puts it back where it stood at that call (`withoutLoading` with `load`), and an
// aborted call may have left a host's state borrowed: the listeners `onFailure` took (the entry
// module's) hear of each such failure, and stop the hosts it left so (no call of the package
// loads the part while it holds a host's state; a safety net).
const __pw_split = (() => {
  const LOAD_MS = 60_000; // an asynchronous load's time limit (its fetch, the body included)
  let primary = null; // the first part's exports
  let second = null; // the second part's instance
  let loading = null;
  let given = null; // the URL `preload(<name>, url)` was given: the synchronous load's too
  const config = __pw_split_config; // { preload, what, notYet, stack: the stack pointer's export or null, resetStack }
  let stackBase = null; // the stack pointer between calls
  const failureListeners = []; // told of each failed synchronous load (its error)
  // A literal URL, which Vite and webpack follow (they emit the file); split-module.mjs writes
  // each module's own file name into it.
  const url = () => given ?? new URL('plugin_warden_checks_bg.wasm', import.meta.url);

  function notLoaded(message, cause) {
    const e = new Error(message, cause === undefined ? undefined : { cause });
    e.name = 'PluginWardenError';
    e.code = 'MODULE_NOT_LOADED';
    return e;
  }
  const why = (e) => (e && e.message ? e.message : String(e));

  // Whether a module is of this glue's build: its `pw` custom section names the build the
  // config does (scripts/package-build.mjs `stampBuild` writes both).
  const ours = (module) => new TextDecoder().decode(WebAssembly.Module.customSections(module, 'pw')[0] ?? new Uint8Array()) === config.build;
  const stale = (what) => `plugin-warden: ${what} is from another build of the package: reload the page`;

  function instantiate(module) {
    if (second) return second;
    if (!primary) throw notLoaded(config.notYet);
    if (!ours(module)) throw notLoaded(stale(config.what));
    const imports = __wbg_get_imports_bindgen();
    imports.primary = primary;
    second = new WebAssembly.Instance(module, imports);
    return second;
  }

  function readSync(where) {
    if (where.protocol === 'file:') {
      const fs = globalThis.process?.getBuiltinModule?.('node:fs');
      if (!fs) throw new Error('this runtime cannot read a file: URL synchronously (Node 20.16 or later can)');
      return fs.readFileSync(where);
    }
    if (typeof XMLHttpRequest !== 'function') throw new Error('this runtime has no synchronous request (XMLHttpRequest)');
    const xhr = new XMLHttpRequest();
    xhr.open('GET', where.href, false);
    // A synchronous request cannot ask for an ArrayBuffer: bytes as the low bytes of characters.
    xhr.overrideMimeType('text/plain; charset=x-user-defined');
    xhr.send();
    if (xhr.status !== 200) throw new Error(`the server answered HTTP ${xhr.status}`);
    const text = xhr.responseText;
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  // The clock of time-limited cleans (src/web/later.js `pwCleanNow`, the sanitizer's tree.js
  // `pwNow`) stands still while a synchronous load runs: the time of each is added here, on
  // the page's global, where both modules' loaders and both clocks find it. A render's clean
  // that needed the sanitizer's second part then keeps its whole time limit for the HTML
  // (before, a load slower than `renderCleanMs` failed the render TIMEOUT), and since the
  // engine's deadlines and the cleans read one clock, no limit grows.
  const PAUSED = Symbol.for('plugin-warden: synchronous loads, ms');
  const clock = () => globalThis.performance?.now() ?? 0;

  function loadSync(between) {
    const where = url();
    const started = clock();
    try {
      let bytes;
      try {
        bytes = readSync(where);
      } catch {
        bytes = readSync(where); // once more: a failure here leaves the caller's state unusable
      }
      return instantiate(new WebAssembly.Module(bytes));
    } catch (e) {
      // Nothing of the aborted call runs again: its frames are gone once this throws.
      if (stackBase !== null) primary[config.stack].value = stackBase;
      const error = e && e.code === 'MODULE_NOT_LOADED' ? e
        : notLoaded(`plugin-warden: this call needs ${config.what}, which could not be loaded from ${where.href}: ${why(e)}. Load it ahead with \`await preload('${config.preload}')\` (esbuild: with the wasm's URL)`, e);
      // (`between` calls: nothing was cut off, so nothing to tell.)
      for (const listener of between === true ? [] : failureListeners) {
        try {
          listener(error);
        } catch {
          // A listener's failure must not replace the load's.
        }
      }
      throw error;
    } finally {
      try {
        globalThis[PAUSED] = (globalThis[PAUSED] ?? 0) + (clock() - started);
      } catch {
        // A frozen global: the clock runs on through the load, as it did before.
      }
    }
  }

  // One function per import the first part asks for; after the second part is loaded, each is
  // a direct call of its export.
  let split = false; // whether the first part imports anything of the second (an unsplit module, as tests run with this glue, does not)
  const imports = new Proxy({}, {
    get(_, name) {
      split = true; // read at instantiation, for each function the first part lacks
      const key = `s${String(name)}`;
      let f = null;
      return (...args) => (f ??= (second ?? need()).exports[key])(...args);
    },
  });
  let need = loadSync; // what a function of the second part does before that part is loaded

  // <cut-off> (the core's loader only: scripts/split-module.mjs leaves it out of the others)
  // Run `call()` so that it never loads the second part: where it would need it, the call is
  // cut off (its wasm frames dropped, the stack pointer put back as it was before the call) and
  // this answers `otherwise`; a call that throws anything else gets the stack pointer back too.
  // Only for a call that is safe to cut anywhere: one into a static function that changes
  // nothing but its own allocations (leaked when cut) and calls nothing back into the module.
  // A split module without a stack pointer to put back loads as ever. With `load`, the call
  // loads the part where it needs it, as ever, and only gets the stack pointer back if it
  // throws: the entry runs each host call so (a failed load would leak its frames' stack).
  const CUT_OFF = Symbol('cut off');
  function withoutLoading(call, otherwise, load) {
    const sp = config.stack === null || primary === null ? null : primary[config.stack];
    if (complete() || need !== loadSync || !(sp instanceof WebAssembly.Global)) return call();
    const at = sp.value;
    if (!load) need = () => { throw CUT_OFF; };
    try {
      return call();
    } catch (e) {
      sp.value = at; // cut off, or trapped: nothing of the call runs again
      if (e !== CUT_OFF) throw e;
      return otherwise;
    } finally {
      need = loadSync;
    }
  }
  // Load the second part now, synchronously, between calls (no frame of the module on the
  // stack): a failure throws here, before a call that would need the part has touched anything.
  const now = () => complete() || loadSync(true);
  // </cut-off>

  // Nothing to load: the second part is here, or the module was never split.
  const complete = () => second !== null || (primary !== null && !split);

  // `use(source)`, `source` fetched first if it is a URL or a Request (what wasm-bindgen's init
  // does with them). A URL (the package's, or one `init` or `preload` was handed) is fetched with
  // a time limit, its body included (until `use` has settled): a response that stalls would
  // otherwise hold this load, and every later one (they wait for it), for as long as the browser
  // keeps the request open; failed, a load is tried again at the next need. (A Request or a
  // Response handed in is the caller's, with its own signal.) The first part's glue loads through
  // this too (scripts/split-module.mjs), so `init()` and `preload('sanitizer')` give up alike.
  async function limited(source, use) {
    let stop = null;
    let abort = null;
    if (typeof source === 'string' || source instanceof URL) {
      abort = new AbortController();
      stop = setTimeout(() => abort.abort(new Error(`no answer within ${LOAD_MS / 1000} s`)), LOAD_MS);
      source = fetch(source, { signal: abort.signal });
    } else if (typeof Request === 'function' && source instanceof Request) {
      source = fetch(source);
    }
    try {
      return await use(await source);
    } catch (e) {
      // Given up mid-body, a streaming compile says only "aborted": say why.
      throw abort?.signal.aborted ? abort.signal.reason : e;
    } finally {
      clearTimeout(stop);
    }
  }

  async function load(input) {
    if (complete()) return;
    if (!primary) throw notLoaded(config.notYet);
    if (typeof input === 'string' || input instanceof URL) given = new URL(input, globalThis.location?.href ?? import.meta.url);
    loading ??= limited(input ?? url(), async (source) => {
      let module;
      if (typeof Response === 'function' && source instanceof Response) {
        if (!source.ok) throw new Error(`${source.url || 'the wasm'} answered HTTP ${source.status}`);
        module = await WebAssembly.compile(await source.arrayBuffer());
      } else {
        module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
      }
      instantiate(module);
    }).catch((e) => {
      loading = null; // a later call tries again
      throw e;
    });
    return loading;
  }

  return {
    imports,
    first(instance, module) {
      // (Thrown before the glue takes the instance: its init fails, and can be tried again.)
      if (!ours(module)) throw new Error(`${stale('the wasm')} (not its script's)`);
      primary = instance.exports;
      // (An unsplit module run with this glue, as the tests do, exports no stack pointer.)
      if (config.resetStack && primary[config.stack] instanceof WebAssembly.Global) stackBase = primary[config.stack].value;
    },
    loaded: complete,
    load,
    limited,
    // <cut-off>
    withoutLoading,
    now,
    // </cut-off>
    onFailure: (listener) => void failureListeners.push(listener),
  };
})();

/** Whether the second part of the module is loaded. */
export function __pw_checksLoaded() {
  return __pw_split.loaded();
}

/**
 * Have `listener(error)` called at each failed synchronous load of the second part, before the
 * aborted call throws `error`.
 */
export function __pw_onLoadFailure(listener) {
  __pw_split.onFailure(listener);
}

// <cut-off>
/**
 * `call()`, or `otherwise` if it needed the second part before that part was loaded: the call
 * is cut off there rather than load it (see `withoutLoading` above for the calls this is for).
 * With `load`, `call()` loads the part as ever, and gets the stack pointer back if it throws.
 */
export function __pw_withoutLoading(call, otherwise, load) {
  return __pw_split.withoutLoading(call, otherwise, load);
}

/** Load the second part now, synchronously, if it is not loaded (throws MODULE_NOT_LOADED). */
export function __pw_loadNow() {
  __pw_split.now();
}
// </cut-off>

/** The build this module is of (scripts/package-build.mjs `stampBuild`). */
export function __pw_build() {
  return __pw_split_config.build;
}

/** Load the second part of the module (`input`: its wasm, as wasm-bindgen's init takes). */
export function __pw_loadChecks(input) {
  return __pw_split.load(input);
}

/**
 * The error for a string argument of an exported function that is not a string. The glue's
 * passStringToWasm0 asks this first (scripts/split-module.mjs patches it in): it used to read
 * `arg.length` of anything, and a number or an object made it grow a zero-byte block at a
 * dangling address (a trap: `memory access out of bounds`). The entry module names the method.
 */
function __pw_notString(arg) {
  let found = typeof arg;
  try {
    if (arg === null) found = 'null';
    else if (Array.isArray(arg)) found = 'an array';
  } catch {
    // A revoked Proxy: Array.isArray throws on it. Still an object, and still refused.
  }
  const e = new Error(`plugin-warden: expected a string argument, found ${found}`);
  e.name = 'PluginWardenError';
  e.code = 'INVALID_ARGUMENT';
  return e;
}
