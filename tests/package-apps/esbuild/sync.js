// The same app with named imports only and the synchronous initializer: nothing of the SDK may
// depend on a module side effect that `"sideEffects"` lets a bundler drop.
import { initSync, PluginHost } from 'plugin-warden';
import wasm from 'plugin-warden/plugin_warden_bg.wasm';
import runner from 'plugin-warden/worker-runner.html';
import { run } from '../shared/scenario.js';

const init = async (url) => initSync({ module: await (await fetch(url)).arrayBuffer() });
run({ init, initArg: wasm, PluginHost, hostOptions: { runner } })
  .catch((e) => { window.packageTest = { failed: `${e?.code ?? ''} ${e?.message ?? e}` }; });
