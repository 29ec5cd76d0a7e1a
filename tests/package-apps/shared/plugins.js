// The plugins the scratch apps mount. Each says `ready` over the SDK (an `events` emit), so the
// test knows its code ran and completed the handshake in that mode.
export const BUNDLE = `const sdk = await pluginWarden.connect();
await sdk.events.emit('ready', { mode: 'bundle', grants: sdk.grants });`;

export const WORKER = `const sdk = await pluginWarden.connect();
let n = 0;
for (let i = 0; i < 1e5; i++) n += i % 7;
await sdk.events.emit('ready', { mode: 'worker', n });`;

export const PANEL = `const sdk = await pluginWarden.connect();
let clicks = 0;
const draw = () => sdk.ui.render('<button data-action="more" value="1">Clicked ' + clicks + ' times</button>');
sdk.ui.onAction(async ({ action }) => {
  if (action !== 'more') return;
  clicks++;
  await draw();
  await sdk.events.emit('clicked', { clicks });
});
await draw();
await sdk.events.emit('ready', { mode: 'panel' });`;

// On an IndexedDB host: a value stored and read back (the host imports the package's IndexedDB
// store, `import('./idb.js')`, at the first storage call; the bundler must have followed it).
export const STORED = `const sdk = await pluginWarden.connect();
await sdk.storage.set('answer', { n: 42, list: ['a', 'b'] });
await sdk.events.emit('ready', { mode: 'indexeddb', value: await sdk.storage.get('answer'), keys: await sdk.storage.keys() });`;

export const srcdocPage = (nonce) => `<!doctype html><p id="out">waiting</p><script nonce="${nonce}">
  (async () => {
    const sdk = await pluginWarden.connect();
    await sdk.events.emit('ready', { mode: 'srcdoc' });
    document.getElementById('out').textContent = 'connected';
  })();
</script>`;

// On a host that trusts one author's key, installed signed (the host imports its signature
// check, `import('./crypto.js')`, at the first signed install): one request its manifest's
// `network` covers, one it does not (the host imports its API client's request,
// `import('./fetch.js')`, at the first one sent).
export const fetcher = (origin) => `const sdk = await pluginWarden.connect();
const res = await sdk.api.fetch(${JSON.stringify(`${origin}/api/answer.json`)});
let refused = null;
try { await sdk.api.fetch(${JSON.stringify(`${origin}/private/secret.json`)}); } catch (e) { refused = e.code; }
await sdk.events.emit('ready', { mode: 'signed', status: res.status, type: res.headers['content-type'], body: JSON.parse(res.body), refused });`;
