// A plugin that reads from an HTTP API, only through the host's API client: it has no network
// of its own (its CSP has no connect-src, its frame is sandboxed). Manifest: network
// [`<api>/api/`], permissions ['api:read', 'storage'] — reading is allowed, writing is not.
//
// The API origin comes from the frame's query string (`?api=http://127.0.0.1:8702`), set by the
// host that mounted it (www/host/app.js).
import { connect } from '/client/index.js';

const api = new URLSearchParams(location.search).get('api') ?? `http://127.0.0.1:${Number(location.port) + 1}`;
const out = document.getElementById('out');
const list = document.getElementById('quotes');
const last = document.getElementById('last');
const write = document.getElementById('write');

try {
  const sdk = await connect();
  const previous = await sdk.storage.get('lastQuote');
  const url = `${api}/api/quotes`;
  const res = await sdk.api.fetch(url);
  if (res.status !== 200) throw Object.assign(new Error(`GET ${url} answered ${res.status}`), { code: 'HTTP_STATUS' });
  const { quotes } = JSON.parse(res.body);
  out.textContent = `GET ${url} through the host's API client: ${res.status}, ${quotes.length} quotes (${res.headers['content-type']}).`;
  for (const q of quotes) {
    const li = document.createElement('li');
    li.textContent = `“${q.text}” — ${q.author}`;
    list.append(li);
  }
  const newest = quotes[quotes.length - 1];
  await sdk.storage.set('lastQuote', newest);
  const stored = await sdk.storage.get('lastQuote');
  last.textContent = previous
    ? `Stored the last quote (#${stored.id}); the previous visit had stored #${previous.id}.`
    : `Stored the last quote (#${stored.id}) in this plugin's storage.`;

  // Writing needs api:write, which this plugin does not hold: the host refuses before any request.
  try {
    await sdk.api.fetch(`${api}/api/notes`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ liked: newest.id }),
    });
    write.textContent = 'POST /api/notes was allowed (unexpected).';
  } catch (e) {
    write.textContent = `POST /api/notes refused by the host: ${e.code} (no api:write).`;
  }
  document.body.dataset.state = 'loaded';
} catch (e) {
  out.textContent = `Could not load quotes: ${e.code} ${e.message}`;
  document.body.dataset.state = 'failed';
}
