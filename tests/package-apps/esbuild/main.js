// esbuild does not follow `new URL(…, import.meta.url)`: import the files the SDK loads by URL
// (the core wasm's two parts, the sanitizer's two and the runner page), and build with
// `--loader:.wasm=file --loader:.html=file` (the package README's recipe).
import init, { PluginHost, preload, signedBytes } from 'plugin-warden';
import wasm from 'plugin-warden/plugin_warden_bg.wasm';
import sanitizerWasm from 'plugin-warden/sanitizer/plugin_warden_sanitizer_bg.wasm';
import sanitizerRestWasm from 'plugin-warden/sanitizer/plugin_warden_sanitizer_rest_bg.wasm';
import checksWasm from 'plugin-warden/plugin_warden_checks_bg.wasm';
import runner from 'plugin-warden/worker-runner.html';
import { run } from '../shared/scenario.js';

// The core's second part: its loading starts right after init (not awaited, as in the README);
// a call that needs it sooner loads it synchronously from the same URL.
const initBoth = async (arg) => { await init(arg); preload('checks', checksWasm); };
// The sanitizer's second part likewise, once the sanitizer is loaded (not awaited).
const sanitizer = async () => { await preload('sanitizer', sanitizerWasm); preload('sanitizer-rest', sanitizerRestWasm); };
run({ init: initBoth, initArg: { module_or_path: wasm }, PluginHost, signedBytes, hostOptions: { runner }, preload: sanitizer })
  .catch((e) => { window.packageTest = { failed: `${e?.code ?? ''} ${e?.message ?? e}` }; });
