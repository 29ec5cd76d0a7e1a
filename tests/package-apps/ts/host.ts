// A TypeScript host against the installed package (not the repository's pkg/): both entry
// points resolve through the package's `exports`, under `--strict` and no extra `lib`.
import init, { PluginHost, preload, validateManifest } from 'plugin-warden';
import type { Manifest, Capability, MountOptions, PluginWardenError, ErrorCode } from 'plugin-warden';
import runner from 'plugin-warden/worker-runner.html';
import wasm from 'plugin-warden/plugin_warden_bg.wasm';
import sanitizerWasm from 'plugin-warden/sanitizer/plugin_warden_sanitizer_bg.wasm';

export async function start(slot: HTMLElement): Promise<void> {
  await init({ module_or_path: wasm });
  await preload('sanitizer', sanitizerWasm);
  const host = new PluginHost({ runner });
  const again: Promise<void> = host.preload('sanitizer', new URL(sanitizerWasm, location.href));
  await again;
  const manifest: Manifest = { id: 'acme-notes', name: 'Notes', permissions: ['storage', 'events'] };
  const extra: Capability = 'ui:notify';
  if (!validateManifest(manifest).valid) return;
  await host.install({ ...manifest, optionalPermissions: [extra] }, { code: 'await pluginWarden.connect()' });
  const options: MountOptions = { mode: 'worker', ui: 'shadow' };
  try {
    await host.mount('acme-notes', slot, options);
  } catch (e) {
    const code: ErrorCode = (e as PluginWardenError).code;
    console.log(code);
  }
  host.grant('acme-notes', extra);
  slot.innerHTML = host.trustedHTML('<p>Notes</p>');
  // @ts-expect-error 'sanitizer' is the one module loaded on first need
  await host.preload('nope');
  host[Symbol.dispose]();
  // @ts-expect-error a misspelled capability is a type error
  host.revoke('acme-notes', 'storag');
}
