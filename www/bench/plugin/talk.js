// scripts/bench/coverage.mjs's plugin: the calls a plugin makes on a first visit — store a
// value, read it back, emit an event, and one call its manifest does not allow — then tells the
// host page.
import { connect } from '/client/index.js';

const hostOrigin = new URLSearchParams(location.search).get('host');
const sdk = await connect();
await sdk.storage.set('greeting', { text: 'hello', n: 1 });
const got = await sdk.storage.get('greeting');
await sdk.events.emit('opened', { at: 'home' });
let denied = null;
try { await sdk.api.fetch('/api/anything'); } catch (e) { denied = e.code ?? String(e); }
parent.postMessage({ coverage: true, got, denied }, hostOrigin);
