// The plugin side of DESIGN.md §6 (inside the iframe), written the way a plugin author would.
import { connect, PluginWardenError } from 'plugin-warden/client';
import type { PluginSdk, FetchResponse, Json } from 'plugin-warden/client';

export async function plugin(): Promise<void> {
  const sdk: PluginSdk = await connect({ timeout: 5000 });
  await sdk.storage.set('prefs', { theme: 'dark' });
  const prefs = await sdk.storage.get<{ theme: string }>('prefs');
  const theme: string | undefined = prefs?.theme;
  const res: FetchResponse = await sdk.api.fetch('https://api.acme.example/v1/patents?q=x');
  const may: boolean = await sdk.api.canFetch('route:api/patents', { method: 'POST' }) && await sdk.api.canFetch('https://api.acme.example/v1/');
  console.log(may);
  await sdk.api.fetch('https://api.acme.example/v1/patents', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  // Binary data: typed arrays and ArrayBuffers in values, bodies and answers.
  await sdk.storage.set('thumb', { png: new Uint8Array([137, 80]), at: 1 });
  const image: FetchResponse<ArrayBuffer> = await sdk.api.fetch('https://api.acme.example/v1/img', { responseType: 'arraybuffer' });
  const bytes: ArrayBuffer = image.body;
  await sdk.api.fetch('https://api.acme.example/v1/img', { method: 'PUT', body: new Uint8Array(bytes) });
  await sdk.events.emit('levels', [new Float32Array([0.5]), 'label']);
  const keys: string[] = await sdk.storage.keys();
  await sdk.storage.remove('prefs');
  await sdk.storage.clear();
  const granted: boolean = await sdk.permissions.request('api:write', 'to save your edits');
  const can: boolean = await sdk.permissions.has('acme-patents-app.patents:read');
  const off = sdk.events.on('theme', (data: Json) => console.log(data));
  await off.ready;
  off();
  await sdk.ui.notify('Saved');
  await sdk.ui.notify('Failed', 'error');
  await sdk.ui.render('<button data-action="add" value="1">Add one</button>');
  const stop: () => void = sdk.ui.onAction(({ action, type, value, form }) => console.log(action, type, value, form?.title));
  stop();
  try {
    await sdk.storage.get('x');
  } catch (e) {
    if (e instanceof PluginWardenError) console.log(e.code, e.permission);
  }
  const offHandle = sdk.plugins.handle('docs.search', async (args, caller) => ({ args, from: caller.pluginId, version: caller.version }));
  offHandle();
  const answer: { hits: number } = await sdk.plugins.call<{ hits: number }>('acme-search', 'docs.search', { q: 'x' });
  console.log(answer.hits);
  const offChange = sdk.permissions.onChange((now: string[], { actions }) => console.log(now, actions));
  offChange();
  const version: string | null = sdk.version;
  const previous: string | null = sdk.previousVersion;
  const actions: string[] = sdk.actions;
  console.log(theme, res.status, res.headers, res.body, keys, granted, can, version, previous, actions, sdk.grants);
}
