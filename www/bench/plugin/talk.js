// scripts/bench/coverage.mjs's plugin: the calls a plugin makes on a first visit — store a
// value, read it back (and a larger one), emit an event, and one call its manifest does not
// allow, and a message outside the protocol — and the calls it makes soon after (below), then
// tells the host page.
import { connect } from '/client/index.js';

const hostOrigin = new URLSearchParams(location.search).get('host');
const sdk = await connect();
// A message to the host window outside the protocol (other libraries in a plugin page do this):
// the host refuses it.
parent.postMessage({ hello: 'not the protocol' }, hostOrigin);
await sdk.storage.set('greeting', { text: 'hello', n: 1 });
const got = await sdk.storage.get('greeting');
// A larger value, and text beyond ASCII: what a plugin's saved state often is.
await sdk.storage.set('draft', { text: 'Grüße, 世界 — '.repeat(2000) });
await sdk.storage.get('draft');
await sdk.events.emit('opened', { at: 'home' });
let denied = null;
try { await sdk.api.fetch('/api/anything'); } catch (e) { denied = e.code ?? String(e); }
// What a plugin does next on most visits: list, read a missing key, store structured data
// (arrays, nesting, fractions, null; a computed double such as 0.1 + 0.2 has 17 digits, which
// takes the exact float parse's long path) and remove it, clear its storage; ask what it may do, and
// for an optional permission the user refuses; check a fetch before making it; a notification it
// may not show; listen for the host's events (the host emits one, which it reports), and stop
// listening for one.
const keys = await sdk.storage.keys();
await sdk.storage.get('missing');
await sdk.storage.set('list', { items: [1, 'two', { three: 3.5, total: 0.1 + 0.2 }], done: false, at: null });
await sdk.storage.get('list');
await sdk.storage.remove('list');
await sdk.storage.set('scratch', 1);
await sdk.storage.clear();
await sdk.storage.set('greeting', got);
const may = [await sdk.permissions.has('storage'), (await sdk.permissions.list()).length];
// (Failed when the host could not ask the user: coverage.js's step where its dialog cannot load.)
const asked = await sdk.permissions.request('ui:notify', 'to say when a note is saved').catch((e) => e.code ?? String(e));
const canFetch = await sdk.api.canFetch('/api/anything');
let notify = null;
try { await sdk.ui.notify('saved'); } catch (e) { notify = e.code ?? String(e); }
const heard = new Promise((resolve) => { sdk.events.on('refresh', resolve); });
await sdk.events.on('refresh', () => {}).ready;
// and stops listening for one (its unsubscribe is answered before the call after it)
const closing = () => {};
await sdk.events.on('closing', closing).ready;
sdk.events.off('closing', closing);
// What it sends when the host emits `hold` (coverage.js: a step where the host cannot take a
// message before the rest of its core has loaded): a small call and a larger one.
await sdk.events.on('hold', async () => {
  const codes = await Promise.all([sdk.storage.get('greeting'), sdk.storage.set('draft', { text: 'é'.repeat(4000) })]
    .map((p) => p.then(() => 'ok', (e) => e.code ?? String(e))));
  parent.postMessage({ coverage: 'held', codes }, hostOrigin);
}).ready;
parent.postMessage({ coverage: true, got, denied, keys, may, asked, canFetch, notify }, hostOrigin);
const refresh = await heard;
parent.postMessage({ coverage: 'heard', refresh }, hostOrigin);
