// scripts/bench/coverage.mjs's plugin: the calls a plugin makes on a first visit — store a
// value, read it back (and a larger one), emit an event, and one call its manifest does not
// allow, and a message outside the protocol — then tells the host page.
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
parent.postMessage({ coverage: true, got, denied }, hostOrigin);
