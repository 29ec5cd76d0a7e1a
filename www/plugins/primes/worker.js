// A worker plugin: real computation off the host's thread, in a worker with an opaque origin.
// The runner provides the client as the module binding `pluginWarden`.
const sdk = await pluginWarden.connect();
const below = 2_000_000;
const composite = new Uint8Array(below);
let count = 0;
for (let i = 2; i < below; i++) {
  if (composite[i]) continue;
  count++;
  for (let j = i * i; j < below; j += i) composite[j] = 1;
}
await sdk.storage.set('primes', { below, count });
await sdk.ui.notify(`${count} primes below ${below.toLocaleString('en')}, computed in a worker`, 'success');
