// Vite: the wasm and the runner page are found through `new URL(…, import.meta.url)` inside
// the package, which Vite follows in dev and build. Nothing to configure.
import init, { PluginHost, signedBytes } from 'plugin-warden';
import { run } from '../shared/scenario.js';

run({ init, PluginHost, signedBytes }).catch((e) => { window.packageTest = { failed: `${e?.code ?? ''} ${e?.message ?? e}` }; });
