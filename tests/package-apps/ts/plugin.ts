// A TypeScript plugin page against the installed package's client entry point.
import { connect, PluginWardenError } from 'plugin-warden/client';
import type { PluginSdk } from 'plugin-warden/client';

export async function plugin(): Promise<number> {
  const sdk: PluginSdk = await connect({ timeout: 5000 });
  try {
    await sdk.storage.set('n', 1);
  } catch (e) {
    if (e instanceof PluginWardenError && e.code === 'PERMISSION_DENIED') return 0;
  }
  return (await sdk.storage.get<number>('n')) ?? 0;
}
