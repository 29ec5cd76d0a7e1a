// esbuild does not follow `new URL(…, import.meta.url)`: import the two files the SDK loads by
// URL, and build with `--loader:.wasm=file --loader:.html=file` (the package README's recipe).
import init, { PluginHost } from 'plugin-warden';
import wasm from 'plugin-warden/plugin_warden_bg.wasm';
import runner from 'plugin-warden/worker-runner.html';
import { run } from '../shared/scenario.js';

run({ init, initArg: { module_or_path: wasm }, PluginHost, hostOptions: { runner } })
  .catch((e) => { window.packageTest = { failed: `${e?.code ?? ''} ${e?.message ?? e}` }; });
