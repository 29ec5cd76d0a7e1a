// scripts/bench/coverage.mjs drives this page on a copy of the package whose core wasm calls
// the import `pwcov.mark(i)` on entry to its i-th defined function. It does what
// firstload.js does — load the package, create a host, install, mount one iframe plugin —
// plus what that plugin then does on a first visit and soon after (its storage, permission and
// event calls, a denied call), the host's emit, the heartbeat, the first sanitize, then what a
// host does around its plugins (RBAC, their state, a second plugin, an unmount and a remount,
// a plugin that stops answering the heartbeat, destroy and free), and records which functions
// ran by the end of each step.
import { readLog } from './read-log.js';

const seen = new Set();
const snapshots = {};
const mark = (i) => { seen.add(i); };
// The split's first module (coverage.mjs) calls `s.<i>` for a function it does not hold.
const split = new Proxy({}, { get: (_, name) => () => { throw new Error(`coverage: split function ${String(name)} was called`); } });
// Every read of the core's memory below 2 MiB (its stack and data, the start of its heap), one
// byte each: coverage.mjs also instruments its loads (binaryen's instrument-memory, imports
// `env.*`) and its memory.copy (`pwmem.copy`), and checks that the data the journey read is
// data the build's split keeps in the first part.
const { env, pwmem, note, runs: readRuns } = readLog(2 * 1024 * 1024);
// The glue's reads: strings the core hands JS by address (a static one read in place).
let coreMemory = null;
const decode = TextDecoder.prototype.decode;
TextDecoder.prototype.decode = function (input, options) {
  if (coreMemory && ArrayBuffer.isView(input) && input.buffer === coreMemory.buffer) note(input.byteOffset, input.byteLength);
  return decode.call(this, input, options);
};
// The wasm-bindgen glue builds its own imports object: add the instrument's imports to it.
for (const name of ['instantiate', 'instantiateStreaming']) {
  const original = WebAssembly[name];
  WebAssembly[name] = async (source, imports = {}) => {
    const result = await original.call(WebAssembly, source, { ...imports, pwcov: { mark }, s: split, pwmem, env: { ...imports.env, ...env } });
    const exports = (result.instance ?? result).exports;
    if (exports.pluginhost_new) coreMemory = exports.memory;
    return result;
  };
}
const snap = (step) => { snapshots[step] = [...seen]; };

const { default: init, PluginHost, __pw_prepare, __pw_setLatePreload } = await import('/pkg/index.js');
const pluginOrigin = new URLSearchParams(location.search).get('plugin');
// A first visit runs before the core's second part has loaded: a plugin's message is then made
// ready ahead of the engine (src/web/effects.rs `ahead`), which it is not once the part has
// loaded. This copy of the core is not split, and so says it is loaded: the journey's hooks say
// it is not (nothing to load, a message prepared as the entry's would be), so that what the
// read-ahead runs is recorded, and kept in the split's first part.
const firstVisitHooks = () => __pw_setLatePreload(() => null, () => __pw_prepare(), () => false);
try {
  await init();
  firstVisitHooks();
  snap('init');
  // The options a host usually gives (README): a version, a user, its callbacks.
  const host = new PluginHost({
    hostVersion: '1.0.0', user: { role: 'Viewer' }, storage: 'memory', dangerous: { allowLoopbackHttp: true },
    onAudit: () => {}, onEvent: () => {}, onNotify: () => {}, onPermissionRequest: async () => false,
  });
  // The other options hosts give: a second host, kept, never used. Not `sanitizer`,
  // `trustedKeys` or `encrypt` (+9 KiB gzip to the split's first part: hosts that give them
  // load the rest of the core when they create their host, or preload it).
  window.coverageOptionsHost = new PluginHost({
    hostVersion: '3.2.0',
    user: { role: 'Editor', roles: ['plugins:acme-app:reader'], permissions: ['acme-app.docs:*'] },
    storage: 'session',
    runner: '/worker-runner.html',
    trustedTypesPolicy: 'plugin-warden-coverage',
    limits: {
      maxMessageBytes: 65536, maxDepth: 32, callsPerSecond: 50, burst: 100, maxInFlight: 64,
      suspendAfter: 200, storageQuotaBytes: 1048576, maxValueBytes: 65536,
      maxResponseBytes: 5242880, fetchTimeoutMs: 10000, heartbeatMs: 5000, unresponsiveAfterMs: 15000,
    },
    requireSignatures: false,
    dangerous: { allowLoopbackHttp: false, bundlePolicy: 'reject', srcWithoutEmbeddedCsp: false },
    auditCapacity: 1000,
    approvedScriptOrigins: ['https://cdn.acme.example'],
    routes: { 'acme-app': { data: { host: 'api.acme.example' }, secrets: { apiKey: 'k-123' }, secretOrigins: ['https://api.acme.example'] } },
    allowPlugins: ['acme-*', 'first-load'],
    onPermissionRequest: async () => false, onAudit: () => {}, onEvent: () => {}, onNotify: () => {}, onUpdateConsent: async () => false,
  });
  // The persistent stores (the default, `'local'`, and `'indexeddb'`): a host created with one
  // read code of the second part until 2026-12-05, loaded synchronously by `new PluginHost()`.
  window.coverageStoreHosts = [{}, { storage: 'local' }, { storage: 'indexeddb' }].map((o) => new PluginHost({ hostVersion: '1.0.0', user: { role: 'Viewer' }, ...o }));
  snap('options');
  // Kept reachable: a host the page drops is freed whenever the garbage collector runs its
  // finalizer, code a first visit need not run (and that made the recorded path differ by run).
  window.coverageHost = host;
  // A manifest of the usual shape: a few permissions, an optional one, a role and a page.
  const manifest = {
    id: 'first-load', name: 'First load', version: '1.0.0',
    permissions: ['storage', 'events'], optionalPermissions: ['ui:notify', 'api:read'],
    roles: [{ role: { name: 'First load reader', permissions: [{ action: 'first-load.pages:read' }] }, grants: ['Viewer'] }],
    includes: [{ type: 'page', name: 'Home', path: '/a/%PLUGIN_ID%/home', action: 'first-load.pages:read', addToNav: true }],
  };
  // What the package's entry asks before such an install while the core's second part is not
  // loaded (src/web/index.js needsChecks): this copy of the core is not split, so it does not
  // ask it here.
  if (PluginHost.__pw_manifestParses(JSON.stringify(manifest)) !== true) throw new Error('coverage: install\'s parse refused the manifest');
  await host.install(manifest);
  snap('install');
  // The plugins' frames are sandboxed (an opaque origin, 'null'): known by their windows instead.
  const fromPlugin = (kind, slot = document.getElementById('slot')) => new Promise((resolve) => {
    const listener = (e) => {
      const frame = slot.querySelector('iframe');
      if (frame && e.source === frame.contentWindow && e.data && e.data.coverage === kind) {
        window.removeEventListener('message', listener);
        resolve(e.data);
      }
    };
    window.addEventListener('message', listener);
  });
  const talkUrl = `${pluginOrigin}/talk.html?host=${encodeURIComponent(location.origin)}`;
  let talked = fromPlugin(true);
  await host.mount('first-load', document.getElementById('slot'), { src: talkUrl });
  snap('mount');
  const talk = await talked;
  snap('talk');
  // The host's own events to its plugins.
  const heard = fromPlugin('heard');
  host.emit('refresh', { at: 'home' });
  talk.refresh = (await heard).refresh;
  snap('emit');
  // The heartbeat: every host with a plugin frame pings it (every 3.75 s by default) and reads
  // its pong. Two rounds: a host with a mounted plugin must not load the split's second part at
  // its first tick (it did, synchronously, while the journey stopped before it).
  await new Promise((resolve) => setTimeout(resolve, 8_000));
  snap('heartbeat');
  // A host that calls trustedHTML too early gets MODULE_NOT_LOADED (firstload.js checks it).
  try { host.trustedHTML('<p>x</p>'); } catch { /* expected */ }
  await host.preload('sanitizer');
  const out = host.trustedHTML('<p onclick="alert(1)">first <b>sanitize</b></p>').toString();
  // The same HTML built into the page node by node (host.setHTML), as a host does for its own
  // elements; its target refused once, as a host's mistake would be.
  const built = document.createElement('div');
  host.setHTML(built, '<p onclick="alert(1)">first <b>sanitize</b></p>');
  try { host.setHTML(document.createElement('script'), '<b>x</b>'); } catch { /* expected */ }
  // A clean whose part of the sanitizer cannot be loaded (the second part, for a link to an IDN
  // host, with the network gone): the core reports it without needing its own second part.
  // Simulated here: the sanitizer module throws as its loader would.
  const { Cleaner } = await import('/pkg/sanitizer/plugin_warden_sanitizer.js');
  const clean = Cleaner.prototype.clean;
  Cleaner.prototype.clean = () => { throw Object.assign(new Error('simulated: the second part could not be loaded'), { name: 'PluginWardenError', code: 'MODULE_NOT_LOADED' }); };
  try { host.trustedHTML('<a href="https://b\u00fccher.example/">b</a>'); } catch { /* expected */ }
  Cleaner.prototype.clean = clean;
  snap('sanitize');
  // What a host does around its plugins on most pages: RBAC for its routes and links, the
  // plugins' state, an unmount. (Not the audit log, an inspector's: +2 KiB gzip to the split's
  // first part.)
  host.setUser({ role: 'Editor', permissions: ['plugins:read'] });
  const rbac = [host.hasPermission('plugins:read'), host.hasPermission('plugins:write'), host.visibleIncludes('first-load').length];
  snap('rbac');
  const state = { status: host.status('first-load'), plugins: host.plugins().length };
  // What the entry module asks of each host after a synchronous load of the core's second part
  // failed (whether a cut-off call left it stopped): it must not need that second part itself.
  state.stuck = host.__pw_stuck();
  snap('state');
  // A second plugin beside the first, then the first unmounted and mounted again (a route
  // change), and the host destroyed with both installed (a single-page app leaving the page that
  // held it). Not `uninstall` (a marketplace page's: +1.7 KiB gzip to the split's first part).
  await host.install({ id: 'second', name: 'Second', version: '0.1.0', permissions: ['storage'] });
  const second = document.createElement('div');
  document.body.append(second);
  await host.mount('second', second, { src: `${pluginOrigin}/ready.html` });
  snap('second');
  host.unmount('first-load');
  snap('unmount');
  talked = fromPlugin(true);
  await host.mount('first-load', document.getElementById('slot'), { src: talkUrl });
  await talked;
  snap('remount');
  // A plugin's messages that the core cannot take before its second part has loaded (a flood's,
  // or one it refuses: src/web/effects.rs `ahead`), while that part cannot load: held by the
  // port's listener, then answered MODULE_NOT_LOADED without the engine. This copy of the core
  // is not split, so nothing would be held here: the entry's hooks are replaced for the step by
  // ones that say so, as a cut-off parse and a failed load would.
  __pw_setLatePreload(() => Promise.reject(new Error('simulated: the second part could not be loaded')), () => false, () => false);
  const held = fromPlugin('held');
  host.emit('hold', {});
  const heldCodes = (await held).codes;
  firstVisitHooks(); // the journey's own hooks again
  if (heldCodes.join() !== 'MODULE_NOT_LOADED,MODULE_NOT_LOADED') throw new Error(`coverage: the held messages were answered ${heldCodes}`);
  snap('held');
  // A mount whose page never answers, timed out while the core's second part cannot load: failed
  // TIMEOUT on time, its frame torn down, by code a first visit holds (src/web/later.rs
  // `urgent`), rather than left pending until the network is back.
  const late = new PluginHost({ hostVersion: '1.0.0', user: { role: 'Viewer' }, storage: 'memory', onAudit: () => {}, onEvent: () => {} });
  await late.install({ id: 'silent', name: 'Silent', version: '0.1.0', permissions: ['storage'] });
  const lateSlot = document.createElement('div');
  document.body.append(lateSlot);
  __pw_setLatePreload(() => Promise.reject(new Error('simulated: the second part could not be loaded')), () => false, () => false);
  const timedOut = await late.mount('silent', lateSlot, { src: `${pluginOrigin}/silent.html`, timeout: 150 }).then(() => null, (e) => e);
  firstVisitHooks();
  if (timedOut?.code !== 'TIMEOUT' || !/could not be loaded/.test(timedOut.message) || lateSlot.querySelector('iframe')) throw new Error(`coverage: the silent mount was not failed: ${timedOut?.code} ${timedOut?.message}`);
  snap('timed out');
  // A plugin that stops answering the heartbeat (its page hung): failed TIMEOUT and its frame
  // torn down, by code a first visit holds, so that it is failed on time even while the core's
  // second part cannot load.
  const quick = new PluginHost({ hostVersion: '1.0.0', user: { role: 'Viewer' }, storage: 'memory', limits: { heartbeatMs: 50, unresponsiveAfterMs: 200 }, onAudit: () => {}, onEvent: () => {} });
  await quick.install({ id: 'mute', name: 'Mute', version: '0.1.0', permissions: ['storage'] });
  const muteSlot = document.createElement('div');
  document.body.append(muteSlot);
  await quick.mount('mute', muteSlot, { src: `${pluginOrigin}/mute.html` });
  for (let i = 0; i < 100 && quick.status('mute').state !== 'failed'; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const muted = quick.status('mute');
  if (muted.state !== 'failed' || muted.code !== 'TIMEOUT' || muteSlot.querySelector('iframe')) throw new Error(`coverage: the silent plugin was not failed: ${JSON.stringify(muted)}`);
  quick.destroy();
  late.destroy();
  snap('silent');
  // The default store ('local'): a host that names none, its plugin's first calls (the plugin
  // stores, reads and lists keys as above, in localStorage now).
  const local = new PluginHost({ hostVersion: '1.0.0', user: { role: 'Viewer' }, onAudit: () => {}, onEvent: () => {}, onNotify: () => {}, onPermissionRequest: async () => false });
  await local.install(manifest);
  const localSlot = document.createElement('div');
  document.body.append(localSlot);
  const localTalked = fromPlugin(true, localSlot);
  await local.mount('first-load', localSlot, { src: talkUrl });
  await localTalked;
  local.destroy();
  snap('local store');
  // A host that gives neither `onPermissionRequest` nor `onNotify`. (1) Its plugin asks for a
  // permission while the core's second part cannot load: the package's dialog (code of that
  // part) does not open, and the call fails MODULE_NOT_LOADED by code a first visit holds. (2) Its plugin's
  // notification is the package's toast, shown by code a first visit holds (and removed by JS).
  __pw_setLatePreload(() => Promise.reject(new Error('simulated: the second part could not be loaded')), () => __pw_prepare(), () => false);
  const asking = new PluginHost({ hostVersion: '1.0.0', user: { role: 'Viewer' }, storage: 'memory' });
  await asking.install(manifest);
  const askingSlot = document.createElement('div');
  document.body.append(askingSlot);
  const askingTalked = fromPlugin(true, askingSlot);
  await asking.mount('first-load', askingSlot, { src: talkUrl });
  const askingTalk = await askingTalked;
  firstVisitHooks();
  if (askingTalk.asked !== 'MODULE_NOT_LOADED' || document.querySelector('dialog')) throw new Error(`coverage: the default dialog's answer went wrong: ${JSON.stringify({ asked: askingTalk.asked, dialog: !!document.querySelector('dialog') })}`);
  asking.destroy();
  const plain = new PluginHost({ hostVersion: '1.0.0', user: { role: 'Viewer' }, storage: 'memory' });
  await plain.install({ ...manifest, permissions: [...manifest.permissions, 'ui:notify'], optionalPermissions: ['api:read'] });
  const plainSlot = document.createElement('div');
  document.body.append(plainSlot);
  const plainTalked = fromPlugin(true, plainSlot);
  await plain.mount('first-load', plainSlot, { src: talkUrl });
  const plainTalk = await plainTalked;
  const toasts = [...document.querySelectorAll('[data-plugin-warden-toasts] > *')].map((t) => t.textContent);
  if (plainTalk.notify !== null || !toasts.includes('first-load: saved') || document.querySelector('dialog')) throw new Error(`coverage: the default toast went wrong: ${JSON.stringify({ notify: plainTalk.notify, toasts, dialog: !!document.querySelector('dialog') })}`);
  plain.destroy();
  snap('default UI');
  host.destroy();
  snap('destroy');
  // Its memory given back (what the garbage collector's finalizer does for a host the page drops),
  // and so for the host with the other options, which never sanitized (the first one's Trusted
  // Types policy still holds its sanitizer: this one's is dropped here).
  host.free();
  window.coverageOptionsHost.destroy();
  window.coverageOptionsHost.free();
  for (const h of [...window.coverageStoreHosts, local, quick, late, asking, plain]) h.free();
  snap('free');
  window.coverage = { snapshots, talk, sanitized: out, built: built.innerHTML, rbac, state, reads: readRuns() };
} catch (e) {
  window.coverage = { error: String((e && e.message) || e), stack: String(e && e.stack), snapshots };
}
document.body.dataset.ready = 'true';
