// A plugin that reads from an HTTP API, only through the host's API client: it has no network
// of its own (its CSP has no connect-src, its frame is sandboxed). Manifest: network
// [`<api>/api/`], permissions ['api:read', 'storage'] — reading is allowed, writing is not.
// It remembers the user's preferred category in its storage (`prefs`), and filters the quotes
// it fetched once by it.
//
// The API origin comes from the frame's query string (`?api=http://127.0.0.1:8702`), set by the
// host that mounted it (www/host/demo-plugins.js).
import { connect } from '/client/index.js';

const api = new URLSearchParams(location.search).get('api') ?? `http://127.0.0.1:${Number(location.port) + 1}`;
const out = document.getElementById('out');
const list = document.getElementById('quotes');
const last = document.getElementById('last');
const write = document.getElementById('write');
const select = document.getElementById('category');
const prefsEl = document.getElementById('prefs');

let quotes = [];

function show(category) {
  list.replaceChildren();
  for (const q of quotes) {
    if (category !== 'all' && q.category !== category) continue;
    const li = document.createElement('li');
    li.textContent = `“${q.text}” — ${q.author}`;
    list.append(li);
  }
}

function status(text, refused) {
  prefsEl.textContent = text;
  prefsEl.className = refused ? 'refused' : '';
}

try {
  const sdk = await connect();
  const previous = await sdk.storage.get('lastQuote');
  const prefs = await sdk.storage.get('prefs');
  const url = `${api}/api/quotes`;
  const res = await sdk.api.fetch(url);
  if (res.status !== 200) throw Object.assign(new Error(`GET ${url} answered ${res.status}`), { code: 'HTTP_STATUS' });
  quotes = JSON.parse(res.body).quotes;
  out.textContent = `GET ${url} through the host's API client: ${res.status}, ${quotes.length} quotes (${res.headers['content-type']}).`;

  for (const c of [...new Set(quotes.map((q) => q.category).filter(Boolean))]) {
    const o = document.createElement('option');
    o.value = c;
    o.textContent = c;
    select.append(o);
  }
  const preferred = prefs && typeof prefs.category === 'string' ? prefs.category : 'all';
  select.value = [...select.options].some((o) => o.value === preferred) ? preferred : 'all';
  status(prefs ? `remembered: ${select.value}` : 'none saved yet');
  show(select.value);
  select.disabled = false;
  // Saving needs `storage`: if the host revoked it, the refusal (and its code) is shown here.
  select.addEventListener('change', async () => {
    const category = select.value;
    show(category);
    document.body.dataset.saved = 'pending';
    try {
      await sdk.storage.set('prefs', { category });
      status(`saved: ${category}`);
      document.body.dataset.saved = 'ok';
    } catch (e) {
      status(`not saved: ${e.code}${e.permission ? ` (${e.permission})` : ''}`, true);
      document.body.dataset.saved = e.code;
    }
  });

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
