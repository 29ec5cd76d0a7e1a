// Mistakes the types must reject (`tsc` fails on an unused `@ts-expect-error`, so each line
// proves one rejection). Run by scripts/test.sh with the rest of tests/contract.
import init, { PluginHost, preload, validateManifest, hostCsp } from 'plugin-warden';
import type { Manifest, MountOptions, ErrorCode } from 'plugin-warden';
import { connect } from 'plugin-warden/client';

export async function mistakes(el: HTMLElement): Promise<void> {
  await init();
  const host = new PluginHost();

  // @ts-expect-error a misspelled capability
  await host.install({ id: 'acme-notes', name: 'Notes', permissions: ['storag'] });
  // @ts-expect-error a misspelled optional capability
  validateManifest({ id: 'acme-notes', name: 'Notes', optionalPermissions: ['ui:notfy'] });
  // @ts-expect-error a manifest field of the wrong type
  validateManifest({ id: 'acme-notes', name: 'Notes', network: 'https://api.example/' });
  // @ts-expect-error roles grant only basic roles
  hostCsp([{ id: 'acme-notes', name: 'Notes', roles: [{ role: { name: 'R', permissions: [] }, grants: ['Superuser'] }] }], { nonce: 'n' });
  // @ts-expect-error grant takes a capability
  host.grant('acme-notes', 'storage:write');
  // @ts-expect-error revoke takes a capability
  host.revoke('acme-notes', 'admin');
  // @ts-expect-error an unknown mount mode
  await host.mount('acme-notes', el, { mode: 'popup' });
  // @ts-expect-error a worker mount takes no sandbox tokens
  const worker: MountOptions = { mode: 'worker', sandbox: ['allow-forms'] };
  // @ts-expect-error `ui` is 'shadow' or absent
  await host.mount('acme-notes', el, { mode: 'worker', ui: 'iframe' });
  // @ts-expect-error an unknown host option
  new PluginHost({ hostVersoin: '1.0.0' });
  // @ts-expect-error the storage backend is one of four
  new PluginHost({ storage: 'disk' });
  // @ts-expect-error a code that does not exist
  const code: ErrorCode = 'NOT_INITIALISED';
  // @ts-expect-error trustedHTML takes a string
  host.trustedHTML(el);
  // @ts-expect-error setHTML takes a string of HTML
  host.setHTML(el, el);
  // @ts-expect-error setHTML's target is an element or a shadow root
  host.setHTML('#slot', '<b>x</b>');
  // @ts-expect-error 'sanitizer' is the one module loaded on first need
  await preload('nope');
  // @ts-expect-error the same, from a host
  await host.preload('sanitiser');
  // @ts-expect-error a module's wasm is a URL, a Response, bytes or a WebAssembly.Module, not null
  await preload('sanitizer', null);
  // (Any other object, or a number, still type-checks: lib.dom's `WebAssembly.Module` is an empty
  // interface, so every non-null value is assignable to it, as with wasm-bindgen's `InitInput`.)
  // @ts-expect-error preload resolves to nothing (not the module)
  const cleaner: { clean(html: string): string } = await preload('sanitizer');
  const sdk = await connect();
  // @ts-expect-error notify levels are a closed set
  await sdk.ui.notify('x', 'fatal');
  // @ts-expect-error responseType is 'text' or 'arraybuffer'
  await sdk.api.fetch('https://api.acme.example/', { responseType: 'blob' });
  // @ts-expect-error a text answer's body is a string, not an ArrayBuffer
  const body: ArrayBuffer = (await sdk.api.fetch('https://api.acme.example/')).body;
  // @ts-expect-error a Blob is not binary data the bridge carries (no structured bytes)
  await sdk.storage.set('k', new Blob(['x']));
  const m: Manifest = { id: 'acme-notes', name: 'Notes' };
  console.log(worker, code, m, body, cleaner);
}
