// The `plugin-warden` entry module: the wasm-bindgen bindings, wrapped so that
//  - nothing here depends on a side effect: `PluginHost` is this module's own class (a subclass
//    of the bindings' class), `init`, `initSync` and the free functions are its own functions.
//    A bundler that drops side-effect-free modules (`"sideEffects"` in package.json) or
//    unused statements cannot separate the SDK from its JS half, whatever the app imports;
//  - any call before `init()` throws a coded `NOT_INITIALIZED` error instead of a TypeError
//    from inside the bindings;
//  - the sanitizer (ammonia and html5ever, most of the package's bytes) is a second wasm module,
//    fetched on first need: `preload('sanitizer')` / `host.preload('sanitizer')`, or a mount
//    that renders HTML (shadow, worker with `ui: 'shadow'`). Until then the synchronous
//    `sanitize` and `trustedHTML` throw a coded `MODULE_NOT_LOADED`, never return unsanitized
//    HTML;
//  - the core module itself is split in two by use (scripts/split-module.mjs): `init()` loads
//    what a host's first visit runs; the rest (`plugin_warden_checks_bg.wasm`) is loaded by
//    `preload('checks')`, or synchronously by the bindings' loader (src/web/split-loader.js)
//    at the first call that needs it. The sanitizer is split in the same way: its rest
//    (`plugin_warden_sanitizer_rest_bg.wasm`: IDNA, a host's own options, errors, rare paths) by
//    `preload('sanitizer-rest')` or at the first clean that needs it;
//  - the runner page (worker plugins, bundle iframes) is found next to this module
//    (`new URL('./worker-runner.html', import.meta.url)`, which Vite and webpack follow) or
//    wherever the host's `runner` option says (esbuild, CDNs).
import wasmInit, * as bindings from './plugin_warden.js';

// Everything the bindings export; the names declared below shadow their raw counterparts.
export * from './plugin_warden.js';

/** What an error says (its message), for a message of our own. */
const why = (e) => (e && e.message ? e.message : e);

function coded(code, message, cause) {
  const e = new Error(message, cause === undefined ? undefined : { cause });
  e.name = 'PluginWardenError';
  e.code = code;
  return e;
}

let initialized = false;

function ready(what) {
  if (initialized || bindings.__wasm !== undefined) return;
  throw coded('NOT_INITIALIZED', `plugin-warden: ${what} was called before the wasm module was loaded; call \`await init()\` first (or \`initSync({ module })\` with the wasm bytes)`);
}

const inNode = () => typeof window === 'undefined' && typeof process === 'object' && !!process?.versions?.node;

/**
 * Load the wasm module. In a browser with no argument it is fetched from next to this module;
 * `{ module_or_path }` takes a URL (esbuild: the `file` loader's import), a `Response`, bytes or a
 * `WebAssembly.Module`. In Node pass the bytes (Node's fetch cannot read `file:` URLs).
 */
export default async function init(input) {
  if (input === undefined && inNode() && import.meta.url.startsWith('file:')) {
    throw coded('INVALID_ARGUMENT', "plugin-warden: init() in Node cannot fetch the wasm from a file: URL; pass the wasm bytes: `await init({ module_or_path: await readFile(new URL(import.meta.resolve('plugin-warden/plugin_warden_bg.wasm'))) })` (readFile from node:fs/promises), or `initSync({ module: bytes })`");
  }
  try {
    const out = await wasmInit(input);
    initialized = true;
    lateTimers();
    return out;
  } catch (e) {
    if (e && typeof e.code === 'string') throw e;
    const where = input === undefined ? new URL('./plugin_warden_bg.wasm', import.meta.url).href : 'the given module_or_path';
    throw coded('NOT_INITIALIZED', `plugin-warden: init() could not load the wasm module from ${where}: ${why(e)}. Bundlers that do not follow \`new URL('…', import.meta.url)\` (esbuild) need the wasm URL passed in: \`import wasm from 'plugin-warden/plugin_warden_bg.wasm'\` with \`--loader:.wasm=file\`, then \`await init({ module_or_path: wasm })\``, e);
  }
}

/** Load the wasm module synchronously from its bytes or a compiled `WebAssembly.Module`. */
export function initSync(module) {
  const out = bindings.initSync(module);
  initialized = true;
  lateTimers();
  return out;
}

// The host's rare timers (a mount's handshake timeout, a refused page's grace, a notification's
// removal: src/web/later.js) load the core's second part asynchronously before their callback,
// which would otherwise load it synchronously on the main thread, and stop the host if that
// failed. Nothing to load: null. So do plugins' ports for a message the core refuses (a flood,
// one too large, too deep, not the protocol's: src/web/effects.rs `ahead`), which the core
// parses ahead in a call the loader cuts off where it would need that part.
function lateTimers() {
  const prepare = bindings.__pw_withoutLoading
    ? () => bindings.__pw_withoutLoading(bindings.__pw_prepare, false)
    : () => bindings.__pw_prepare();
  bindings.__pw_setLatePreload?.(() => (MODULES.checks.loaded() ? null : MODULES.checks.load()), prepare, MODULES.checks.loaded);
}

// Modules loaded on first need. Each loader gets preload()'s optional `input` (what wasm-bindgen's
// init takes: a URL, Response, bytes or WebAssembly.Module; in Node the bytes).
const MODULES = {
  // The core module's second part (scripts/split-module.mjs): what a first visit does not run.
  // A build whose core is not split (no loader in the glue) has it all in its first part.
  checks: {
    file: 'plugin_warden_checks_bg.wasm',
    loaded: () => bindings.__pw_checksLoaded?.() ?? true,
    async load(input) { await bindings.__pw_loadChecks?.(input); },
  },
  // The sanitizer module's first part: what cleaning real HTML runs.
  sanitizer: {
    file: 'sanitizer/plugin_warden_sanitizer_bg.wasm',
    loaded: () => bindings.__sanitizerLoaded(),
    async load(input) {
      // A literal relative specifier: Vite and webpack split it into its own chunk and rewrite
      // the wasm URL in it; esbuild bundles it (pass the wasm URL, see the docs).
      const m = sameBuild(await import('./sanitizer/plugin_warden_sanitizer.js'), 'the sanitizer module');
      await m.default(input === undefined ? undefined : { module_or_path: input });
      sanitizerGlue = m;
      bindings.__setSanitizerModule(m.Cleaner);
    },
  },
  // The sanitizer module's second part (scripts/split-module.mjs): IDNA for a URL whose host is
  // not ASCII, the code reading a host's own `sanitizer` options, a refused policy's errors,
  // rare parser paths. Without a preload, the first clean that needs it loads it synchronously.
  // Preloading it loads the first part first. A build whose sanitizer is not split (no loader
  // in its glue) has it all in the first part.
  'sanitizer-rest': {
    file: 'sanitizer/plugin_warden_sanitizer_rest_bg.wasm',
    loaded: () => sanitizerGlue !== null && (sanitizerGlue.__pw_restLoaded?.() ?? true),
    async load(input) {
      await preload('sanitizer');
      await sanitizerGlue.__pw_loadRest?.(input);
    },
  },
};
let sanitizerGlue = null; // the sanitizer module's glue, once loaded

// The IndexedDB store (`pkg/idb.js`, a module of its own: scripts/package.mjs), which hosts with
// `storage: 'indexeddb'` or `encrypt` use: the bindings' stand-ins import it at its first call;
// such a host imports it before its mounts (see PluginHost), so that a plugin's storage calls
// never wait for it, nor fail because it could not be fetched.
let idbLoaded = false;
let idbLoading = null;
const loadIdb = () => (idbLoading ??= import('./idb.js').then(
  (m) => { sameBuild(m, './idb.js'); idbLoaded = true; },
  (e) => {
    idbLoading = null; // a later mount tries again
    throw coded('MODULE_NOT_LOADED', `plugin-warden: cannot load ./idb.js, the IndexedDB store of a host with storage: 'indexeddb' or encrypt: ${why(e)}`, e);
  },
));
const loading = new Map();

/**
 * Load a part of the SDK that is fetched on first need, now: `'sanitizer'` (what `sanitize`,
 * `host.sanitize` and `host.trustedHTML` need synchronously), `'sanitizer-rest'` (the sanitizer
 * module's second part: IDNA for links to hosts that are not ASCII, errors, rare paths) or
 * `'checks'` (the core module's second part: install-time checks, diagnostics, error paths).
 * Without a second part, the first call that needs it loads it synchronously. Resolves when it
 * can be used; loading twice loads once.
 * `input` is for hosts whose bundler does not follow the package's relative URLs (esbuild) and
 * for Node: the module's wasm as a URL, `Response`, bytes or `WebAssembly.Module`
 * (`plugin-warden/sanitizer/plugin_warden_sanitizer_bg.wasm`,
 * `plugin-warden/sanitizer/plugin_warden_sanitizer_rest_bg.wasm`,
 * `plugin-warden/plugin_warden_checks_bg.wasm`).
 */
export function preload(name, input) {
  try {
    ready(`preload(${typeof name === 'string' ? JSON.stringify(name) : typeof name})`); // (a BigInt has no JSON)
  } catch (e) {
    return Promise.reject(e);
  }
  const module = typeof name === 'string' && Object.hasOwn(MODULES, name) ? MODULES[name] : undefined;
  if (module === undefined) {
    return Promise.reject(coded('INVALID_ARGUMENT', `preload: expected one of ${Object.keys(MODULES).map((k) => `'${k}'`).join(', ')}, found ${typeof name === 'string' ? JSON.stringify(name) : typeof name}`));
  }
  if (input !== undefined && !moduleInput(input)) {
    return Promise.reject(coded('INVALID_ARGUMENT', `preload('${name}', input): input must be the module's wasm as a URL (string or URL), a Response, bytes (ArrayBuffer or a typed array) or a WebAssembly.Module, found ${input === null ? 'null' : typeof input === 'object' ? Object.prototype.toString.call(input) : typeof input}`));
  }
  if (module.loaded()) return Promise.resolve();
  let p = loading.get(name);
  if (p === undefined) {
    p = module.load(input).catch((e) => {
      loading.delete(name);
      // Says why already: a part of another build, or (for 'sanitizer-rest') the sanitizer's own load.
      if (e && e.code === 'MODULE_NOT_LOADED') throw e;
      throw coded('MODULE_NOT_LOADED', `plugin-warden: could not load the ${name} module: ${why(e)}. If your bundler does not follow the package's \`import('./…')\` and \`new URL('…', import.meta.url)\` (esbuild), pass the wasm: \`await preload('${name}', url)\` with \`import url from 'plugin-warden/${module.file}'\` and \`--loader:.wasm=file\`; in Node pass its bytes`, e);
    });
    loading.set(name, p);
  }
  return p;
}

// What wasm-bindgen's init accepts as a module's wasm (its `InitInput`), checked at run time:
// TypeScript cannot (lib.dom's `WebAssembly.Module` is an empty interface, so it accepts anything).
function moduleInput(v) {
  return typeof v === 'string' || v instanceof URL || v instanceof ArrayBuffer || ArrayBuffer.isView(v)
    || (typeof Response === 'function' && v instanceof Response)
    || (typeof Request === 'function' && v instanceof Request)
    || v instanceof WebAssembly.Module
    || (v !== null && typeof v === 'object' && typeof v.then === 'function'); // a promise of one (fetch(url))
}

// The bindings' internal hooks, re-exported by `export *` above (not in the types): guarded like
// every other export, so a call before init() is a coded NOT_INITIALIZED, not a TypeError.
// `__setSanitizerModule` decides which cleaner runs: host page code is trusted (DESIGN §1);
// plugins never reach this module's scope.
export function __sanitizerLoaded() {
  ready('__sanitizerLoaded()');
  return bindings.__sanitizerLoaded();
}

export function __setSanitizerModule(cleanerClass) {
  ready('__setSanitizerModule()');
  return bindings.__setSanitizerModule(cleanerClass);
}

// The loader of the core module's second part (src/web/split-loader.js, in the bindings when the
// core is split): whether it is loaded, and load it (what `preload('checks')` calls).
export function __pw_checksLoaded() {
  ready('__pw_checksLoaded()');
  return MODULES.checks.loaded();
}

export function __pw_loadChecks(input) {
  ready('__pw_loadChecks()');
  return MODULES.checks.load(input);
}

// What the host's rare timers call to load the core's second part before they run, and plugins'
// ports with it (set by init() itself: see lateTimers; without arguments, set back so).
export function __pw_setLatePreload(...hooks) {
  ready('__pw_setLatePreload()');
  return hooks.length === 0 ? lateTimers() : bindings.__pw_setLatePreload(...hooks);
}

// Which build the core is of (split-loader.js).
export function __pw_build() {
  ready('__pw_build()');
  return bindings.__pw_build?.();
}

// `m`, a module the entry imported later, if it is of the entry's build (scripts/package-build.mjs):
// else refused, MODULE_NOT_LOADED, before anything of it runs. A page open while a new version
// was deployed at the same URLs (or a stale cache) would otherwise run that version's code with
// this one's. (A core whose glue names no build, as the bench's named copy, checks nothing.)
function sameBuild(m, what) {
  const build = bindings.__pw_build?.();
  if (build && m.__pw_build?.() !== build) throw coded('MODULE_NOT_LOADED', `plugin-warden: ${what} is from another build of the package: reload the page`);
  return m;
}

export function __pw_onLoadFailure(listener) {
  ready('__pw_onLoadFailure()');
  return bindings.__pw_onLoadFailure?.(listener);
}

// The core's read-ahead of a plugin's message (src/web/effects.rs `pw_prepare`), as the port's
// hook set by lateTimers calls it.
export function __pw_prepare() {
  ready('__pw_prepare()');
  return bindings.__pw_prepare();
}

// The loader's cut-off call (src/web/split-loader.js), as needsChecks uses it.
export function __pw_withoutLoading(call, otherwise) {
  ready('__pw_withoutLoading()');
  return bindings.__pw_withoutLoading(call, otherwise);
}

// The loader's load between calls (src/web/split-loader.js), as the synchronous calls use it.
export function __pw_loadNow() {
  ready('__pw_loadNow()');
  return bindings.__pw_loadNow();
}

// The core module's start function (it installs the browser's URL parser as the core's; it runs
// by itself when the module is instantiated, and again here does no harm).
export function __pw_start() {
  ready('__pw_start()');
  return bindings.__pw_start();
}

// A mount that puts HTML into the host page's DOM needs the sanitizer first: a shadow mount
// with `html`, a worker with a remote UI. Anything else (including malformed options, which
// the mount itself refuses with their own code) does not fetch it.
function mountNeedsSanitizer(options) {
  const mode = options?.mode ?? 'iframe';
  if (mode === 'worker') return options?.ui === 'shadow';
  return mode === 'shadow' && typeof options?.html === 'string';
}

/** `f(...args)` once init() has run (`ready`), its refusal of a non-string argument named (`named`). */
function call(label, f, ...args) {
  ready(label);
  try {
    return f(...args);
  } catch (e) {
    throw named(e, label);
  }
}

/** Sanitize HTML with the default allow-list. */
export function sanitize(html) {
  return call('sanitize()', bindings.sanitize, html);
}

/** Validate a manifest without installing it. */
export function validateManifest(manifest) {
  return call('validateManifest()', bindings.validateManifest, manifest);
}

/** Scan a plugin bundle for careless and obvious risks. */
export function analyzeBundle(code, options) {
  return call('analyzeBundle()', bindings.analyzeBundle, code, options);
}

/** The bytes a plugin author signs: the envelope over the manifest and the code. */
export function signedBytes(manifest, code) {
  return call('signedBytes()', bindings.signedBytes, manifest, code);
}

/** The host page's CSP for a set of plugin manifests. */
export function hostCsp(manifests, options) {
  return call('hostCsp()', bindings.hostCsp, manifests, options);
}

// ---- A host stopped by a failed load ------------------------------------------------------
// A synchronous load of the core's second part that fails throws out of the middle of the wasm
// (src/web/split-loader.js): the call it cut off never gives back the borrows of the host it
// was in, and may have left that host's state half changed. Such a host is stopped: its calls
// throw (its promises reject) MODULE_NOT_LOADED without entering the wasm, the promises it had
// pending reject so, and its Rust object is leaked, never dropped half changed (its events,
// timers and tasks do nothing: Host::live). The other hosts go on. Found by asking the core
// (`__pw_stuck`) after each failure, once the aborted task is over, and at a host's calls from
// then on (not from inside another host call); none of this runs before a load has failed. No
// call of the package loads the part while it holds a host's state (the synchronous calls that
// need it load it between calls, below): this is a safety net for one that would.
const proto = bindings.PluginHost.prototype;
const rawStuck = proto.__pw_stuck;
const stopped = new WeakMap(); // host → the error its calls get
const pending = new WeakMap(); // host → the reject functions of its pending promises
const hosts = new Set(); // WeakRefs of the hosts made
let failure = null; // the last failed load's error
let depth = 0; // host calls in progress

bindings.__pw_onLoadFailure?.((error) => {
  failure = error;
  setTimeout(() => {
    for (const ref of hosts) {
      const host = ref.deref();
      if (!host?.__wbg_ptr) hosts.delete(ref); // gone, freed or stopped
      else if (stuck(host)) stop(host);
    }
  });
});

function stuck(host) {
  try {
    return !!host.__wbg_ptr && rawStuck.call(host);
  } catch {
    return false; // cannot tell: the call goes on
  }
}

function stop(host) {
  const e = coded('MODULE_NOT_LOADED', `plugin-warden: this PluginHost stopped: a call into it was cut off when the core's second part could not be loaded (${failure.message}), leaving its state half changed. Create a new PluginHost (after \`await preload('checks')\`)`, failure);
  stopped.set(host, e);
  host.__destroy_into_raw(); // leaked: never dropped half changed, nor by the garbage collector
  pending.get(host)?.forEach((reject) => reject(e));
  return e;
}

// The glue's refusal of a string argument that is not one (split-loader.js `__pw_notString`)
// does not know which call it refused: named here.
const NOT_STRING = 'plugin-warden: expected a string argument';
function named(e, method) {
  if (e && e.code === 'INVALID_ARGUMENT' && typeof e.message === 'string' && e.message.startsWith(NOT_STRING)) {
    e.message = `plugin-warden: ${method}: ${e.message.slice('plugin-warden: '.length)}`;
  }
  return e;
}

// The calls that answer a Promise load the core's second part asynchronously first when they
// will need it, instead of by a synchronous request on the page's main thread in the middle of
// the call: `update` and `loadScript` (never on a first visit), an `install` with options
// (signatures, code) or with a manifest field beyond a first visit's plugin's (the parsers of
// `network`, `routes`, … and of fields the SDK does not know are in the second part), and a
// `mount` other than an iframe of a `src` page or on a host whose plugins' storage needs the part
// (IndexedDB, `encrypt`). An `install` of a first visit's fields loads it
// first too when the host may refuse it (its id is installed; the host has allowPlugins) or
// when install's parse refuses it: asked ahead (`__pw_manifestParses`) with the loader
// cutting the call off where it would need the part (a refusal's report is there). (A call
// may still need the part for a reason its arguments do not show: that loads it as before.)
// Calls made while such a load runs wait for it too, so they run in the order they were made;
// if it fails, the call that needed it rejects MODULE_NOT_LOADED (the host is unchanged and a
// later call tries again) and the others run. Node reads the part synchronously from its file,
// without blocking a page: there the calls go on at once.
const FIRST_VISIT_MANIFEST = new Set(['id', 'name', 'version', 'permissions', 'optionalPermissions', 'roles', 'includes']);
const FIRST_VISIT_MOUNT = new Set(['src', 'timeout', 'title']);
const NO_KEYS = new Set();
const onlyKeys = (v, keys) => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).every((k) => keys.has(k));
let checksFirst = null; // the load a call started, while it runs
const allowing = new WeakSet(); // the hosts created with allowPlugins
// The hosts created with `storage: 'indexeddb'` or `encrypt: true`: their plugins' storage
// calls run code of the second part (the IndexedDB store, sealing) and of pkg/idb.js, so their
// mounts load both first, and their construction starts those loads (see the constructor).
const storing = new WeakSet();

function needsChecks(host, name, args) {
  if (inNode() || MODULES.checks.loaded()) return false;
  if (name === 'update' || name === 'loadScript') return true;
  if (name === 'mount') {
    // A mount the host refuses (an id not installed, or mounted already): its report is there.
    return storing.has(host) || !(onlyKeys(args[2], FIRST_VISIT_MOUNT) && typeof args[2].src === 'string')
      || !rawPlugins.call(host).includes(args[0]) || host.status(args[0]).state !== 'installed';
  }
  if (name !== 'install') return false;
  const [manifest, options] = args;
  if (options !== undefined && !onlyKeys(options, NO_KEYS)) return true;
  let m = manifest;
  if (typeof m === 'string') {
    try {
      m = JSON.parse(m);
    } catch {
      return true; // its error's report is in the second part
    }
  }
  if (!onlyKeys(m, FIRST_VISIT_MANIFEST)) return true;
  // Refused for the host's state (an id installed already; a host with allowPlugins may refuse
  // it): the refusal's report is in the second part.
  if (allowing.has(host) || host.plugins().includes(m?.id)) return true;
  // Refused for a value: install's parse, run so that it is cut off where it needs the part.
  const text = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
  return bindings.__pw_withoutLoading(() => bindings.PluginHost.__pw_manifestParses(text), false) !== true;
}

// The synchronous calls load the part first, synchronously but between calls, when they will
// need it: every call but those a first visit makes (the inspector's, `grant`, `uninstall`, a
// route check, `cspHeader`, a scoped `hasPermission`, …), and those naming a plugin that is not
// installed (their `NOT_FOUND` report is in the part). A failed load then throws
// MODULE_NOT_LOADED before the call has touched the host, which goes on; loaded by the call
// itself, a failure would cut it off in the middle and stop the host. (A call may still need the
// part for a reason its arguments do not show, such as a `setUser` the host refuses: that loads
// it inside the call, before it holds the host's state, so a failure throws and the host goes
// on; `guard` gives the stack back.)
const FIRST_VISIT_SYNC = /^(free|destroy|emit|plugins|setUser|hasPermission|accessCache|sanitize|trustedHTML|__sanitizerCleaner|status|unmount|visibleIncludes)$/;
const BY_ID = /^(status|unmount|visibleIncludes)$/;
const rawPlugins = proto.plugins;
const guard = bindings.__pw_withoutLoading ? (call) => bindings.__pw_withoutLoading(call, 0, true) : (call) => call();

function syncNeedsChecks(host, name, args) {
  if (!bindings.__pw_loadNow || MODULES.checks.loaded()) return false;
  if (!FIRST_VISIT_SYNC.test(name) || (name === 'hasPermission' && args.length > 1)) return true;
  if (!BY_ID.test(name)) return false;
  try {
    return !rawPlugins.call(host).includes(args[0]);
  } catch {
    return false; // a freed host: the call itself says so
  }
}

for (const name of Object.getOwnPropertyNames(proto)) {
  const raw = proto[name];
  if (name === 'constructor' || name === '__destroy_into_raw' || name === '__pw_stuck' || typeof raw !== 'function') continue;
  const isAsync = /^(install|loadScript|mount|update)$/.test(name);
  const release = name === 'free' || name === 'destroy';
  proto[name] = function (...args) {
    const e = failure && (stopped.get(this) ?? (depth === 0 && stuck(this) ? stop(this) : null));
    if (e) {
      if (release) return undefined; // already released (leaked)
      if (isAsync) return Promise.reject(e);
      throw e;
    }
    if (!isAsync && syncNeedsChecks(this, name, args)) bindings.__pw_loadNow();
    if (isAsync && depth === 0) {
      let need;
      try {
        need = needsChecks(this, name, args);
      } catch {
        // Arguments that throw when read (a revoked Proxy, a getter): the call itself refuses
        // them, and its report is in the second part. Its type says Promise: never thrown here.
        need = true;
      }
      if (need || checksFirst) {
        checksFirst ??= preload('checks').finally(() => { checksFirst = null; });
        const run = () => proto[name].apply(this, args);
        return checksFirst.then(run, (x) => {
          if (need) throw x;
          return run();
        });
      }
    }
    depth++;
    try {
      // A synchronous load of the part that fails inside the call throws out of its frames:
      // the loader puts the stack pointer back, which they would otherwise hold for good.
      const out = guard(() => raw.apply(this, args));
      if (!isAsync) return out;
      let set = pending.get(this);
      if (!set) pending.set(this, (set = new Set()));
      return new Promise((resolve, reject) => {
        set.add(reject);
        // A task that resumed into a stopped host rejects before the sweep: stopped here.
        out.then((v) => { set.delete(reject); resolve(v); }, (x) => { set.delete(reject); reject(stopped.get(this) ?? (failure && stuck(this) ? stop(this) : x)); });
      });
    } catch (x) {
      const e = failure && depth === 1 && stuck(this) ? stop(this) : named(x, `PluginHost.${name}`);
      if (isAsync) return Promise.reject(e); // its type says Promise: refused, not thrown
      throw e;
    } finally {
      depth--;
    }
  };
}
if (typeof Symbol.dispose === 'symbol' && proto[Symbol.dispose]) proto[Symbol.dispose] = proto.free;

// hasPermission is called on every render of every link, and a call that copies the action
// string into wasm costs ~10x a JS Set.has. The wasm side keeps `accessCache()` — an object
// `{ exact: Set<string>, prefixes: string[] }` it rebuilds in place whenever the user or the
// installed plugins change — so the common answers come from JS. The invariant (tested in
// core::rbac): for a valid action a, wasm says yes iff exact.has(a) or a starts with a prefix.
// An exact hit is always a valid action; a prefix hit goes to wasm, which also validates.
const exactHasPermission = bindings.PluginHost.prototype.hasPermission;
const caches = new WeakMap();

function fastHasPermission(action, scope) {
  // A freed (or stopped) host answers as every other method does (it throws), never from a
  // stale cache.
  if (!this.__wbg_ptr) return exactHasPermission.call(this, action, scope);
  // Scoped checks go to wasm: the cache answers "held with any scope" only.
  if (scope !== undefined) {
    return typeof action === 'string' && typeof scope === 'string' && exactHasPermission.call(this, action, scope);
  }
  let cache = caches.get(this);
  if (cache === undefined) {
    cache = this.accessCache();
    caches.set(this, cache);
  }
  if (cache.exact.has(action)) return true;
  const prefixes = cache.prefixes;
  if (prefixes.length === 0 || typeof action !== 'string') return false;
  for (let i = 0; i < prefixes.length; i++) {
    if (action.startsWith(prefixes[i])) return exactHasPermission.call(this, action);
  }
  return false;
}

// Worker mounts and bundle iframes run in the package's own runner page (a self-contained
// file that enforces its own policy) unless the host names another one.
const RUNNER = new URL('./worker-runner.html', import.meta.url).href;
const rawMount = bindings.PluginHost.prototype.mount;

// The mounts that need more than the core (a first-party shadow mount with a `render` callback,
// a `srcdoc` frame, a worker fetched from `src`) are made by pkg/mounts.js (src/web/mounts.js),
// imported at the first one: a host that mounts none never fetches it. Once imported, it is
// used at once: only a page's first such mount waits for it. If it cannot be loaded, that mount
// fails MOUNT_FAILED and a later one tries again.
let mounts = null;
let mountsLoading = null;

function mountWith(runner, id, element, options) {
  const mode = options?.mode ?? 'iframe';
  if ((mode === 'shadow' && typeof options.render === 'function') || (mode === 'iframe' && typeof options?.srcdoc === 'string')
    || (mode === 'worker' && options.src !== undefined && options.code === undefined)) {
    const apart = (m) => m.pwMountApart(rawMount, coded, this, runner, id, element, options);
    if (mounts) return apart(mounts);
    mountsLoading ??= import('./mounts.js').then((m) => (mounts = sameBuild(m, './mounts.js')), (e) => {
      mountsLoading = null;
      throw coded('MOUNT_FAILED', `plugin-warden: cannot load ./mounts.js next to the entry module, which srcdoc, shadow render and worker src mounts need: ${why(e)}`, e);
    });
    return mountsLoading.then((m) => unreadable(() => apart(m)));
  }
  // Workers and bundle iframes (or the manifest's `entry.src`) run in the runner page, unless
  // the mount names another.
  const bundle = mode === 'iframe' && options?.src === undefined && options?.srcdoc === undefined;
  return rawMount.call(this, id, element, (bundle || mode === 'worker') && options?.runner === undefined ? { ...options, runner } : options);
}

function runnerUrl(value) {
  if (value === undefined) return RUNNER;
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw coded('INVALID_ARGUMENT', `PluginHost options: runner must be a URL string (the package's worker-runner.html), found ${value === null ? 'null' : typeof value}`);
  }
  try {
    return new URL(String(value), globalThis.document?.baseURI ?? RUNNER).href;
  } catch {
    throw coded('INVALID_ARGUMENT', `PluginHost options: runner ${JSON.stringify(String(value))} is not a URL`);
  }
}

/**
 * `f()`, a mount's Promise, with what it throws as a rejection: arguments that throw when read
 * (a revoked Proxy, a getter that throws) are refused, INVALID_ARGUMENT, not thrown.
 */
function unreadable(f) {
  try {
    return f();
  } catch (e) {
    if (e && e.name === 'PluginWardenError') return Promise.reject(e);
    return Promise.reject(coded('INVALID_ARGUMENT', `plugin-warden: PluginHost.mount: its arguments cannot be read: ${why(e)}`, e));
  }
}

/** The host side of plugin-warden: installs, mounts and polices plugins. */
export class PluginHost extends bindings.PluginHost {
  #runner;

  constructor(options) {
    ready('new PluginHost()');
    let rest = options;
    let runner;
    if (options !== null && typeof options === 'object' && Object.hasOwn(options, 'runner')) {
      ({ runner, ...rest } = options);
    }
    const url = runnerUrl(runner);
    super(rest);
    this.#runner = url;
    // Whether the host has allowPlugins, for the check before an install (needsChecks), and
    // whether its plugins' storage calls need the core's second part: then its mounts wait
    // for that part (needsChecks), whose load starts now, in the background. Without this, a
    // plugin's first storage call loaded it synchronously, in the middle of the host's answer,
    // and a failed load stopped the host.
    try {
      if (rest?.allowPlugins !== undefined) allowing.add(this);
      if (rest?.storage === 'indexeddb' || rest?.encrypt === true) {
        storing.add(this);
        if (!inNode() && !MODULES.checks.loaded()) preload('checks').catch(() => {}); // a mount tries again
        loadIdb().catch(() => {}); // likewise
      }
    } catch {
      // Read again only to decide what loads ahead: without it, as before.
    }
    if (hosts.size >= 64) for (const ref of hosts) if (!ref.deref()?.__wbg_ptr) hosts.delete(ref); // gone or freed
    hosts.add(new WeakRef(this));
  }

  mount(id, element, options) {
    return unreadable(() => this.#mount(id, element, options));
  }

  #mount(id, element, options) {
    // The container is handed to wasm unchecked (its Rust type is an Element): a string or a
    // text node failed the mount MOUNT_FAILED with the browser's words (`t.appendChild is not a
    // function`). An element of any document passes; whether it is attached, the mount says.
    if (element === null || typeof element !== 'object' || element.nodeType !== 1) {
      const found = element === null ? 'null' : typeof element !== 'object' ? typeof element
        : typeof element.nodeType === 'number' ? `a node of type ${element.nodeType} (${element.nodeName})` : Object.prototype.toString.call(element);
      return Promise.reject(coded('INVALID_ARGUMENT', `plugin-warden: PluginHost.mount: the container must be an Element, found ${found}`));
    }
    // A host whose plugins store in IndexedDB (or seal values) imports that store first.
    if (storing.has(this) && !idbLoaded) return loadIdb().then(() => unreadable(() => this.#mount(id, element, options)));
    if (!mountNeedsSanitizer(options)) return mountWith.call(this, this.#runner, id, element, options);
    // A remote UI's policy is read and cleaned by code of the sanitizer's second part (a host
    // that mounts none does not fetch it): loaded here, ahead of the first render. If it cannot
    // be loaded now, the mount goes on, and a render that needs it tries again (or is refused
    // MODULE_NOT_LOADED).
    const remoteUi = options?.mode === 'worker';
    const loaded = remoteUi ? MODULES['sanitizer-rest'].loaded() : bindings.__sanitizerLoaded();
    if (loaded) return mountWith.call(this, this.#runner, id, element, options);
    const ready = remoteUi ? preload('sanitizer').then(() => preload('sanitizer-rest').catch(() => {})) : preload('sanitizer');
    return ready.then(() => unreadable(() => mountWith.call(this, this.#runner, id, element, options)));
  }

  /** `preload(name, input)`: load a part of the SDK fetched on first need (`'sanitizer'`, `'sanitizer-rest'`, `'checks'`). */
  preload(name, input) {
    return preload(name, input);
  }

  hasPermission(action, scope) {
    return fastHasPermission.call(this, action, scope);
  }

  // The sanitizer module checks the target and builds the cleaned tree into it node by node
  // (crates/sanitizer/src/tree.js); where that tree as it is would not be the DOM the browser
  // builds from the cleaned text, it answers false and the text goes in through the policy.
  /** Sanitize `html` with this host's policy and replace `target`'s children with it, built node by node. */
  setHTML(target, html) {
    if (!this.__sanitizerCleaner().setHTML(target, html)) target.innerHTML = this.trustedHTML(html);
  }
}
