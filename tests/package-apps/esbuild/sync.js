// The same app with named imports only and the synchronous initializer: nothing of the SDK may
// depend on a module side effect that `"sideEffects"` lets a bundler drop.
import { initSync, preload, PluginHost, signedBytes } from 'plugin-warden';
import wasm from 'plugin-warden/plugin_warden_bg.wasm';
import sanitizerWasm from 'plugin-warden/sanitizer/plugin_warden_sanitizer_bg.wasm';
import sanitizerRestWasm from 'plugin-warden/sanitizer/plugin_warden_sanitizer_rest_bg.wasm';
import checksWasm from 'plugin-warden/plugin_warden_checks_bg.wasm';
import runner from 'plugin-warden/worker-runner.html';
import { run } from '../shared/scenario.js';

// The core's second part as bytes, loaded before anything may need it.
const init = async (url) => {
  initSync({ module: await (await fetch(url)).arrayBuffer() });
  await preload('checks', await (await fetch(checksWasm)).arrayBuffer());
};
// The sanitizer's wasm as a `Response` this time (main.js passes the URL), its second part as
// a compiled module.
const sanitizer = async () => {
  await preload('sanitizer', await fetch(sanitizerWasm));
  await preload('sanitizer-rest', await WebAssembly.compileStreaming(fetch(sanitizerRestWasm)));
};
run({ init, initArg: wasm, PluginHost, signedBytes, hostOptions: { runner }, preload: sanitizer })
  .catch((e) => { window.packageTest = { failed: `${e?.code ?? ''} ${e?.message ?? e}` }; });
