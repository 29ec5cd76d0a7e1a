// The JavaScript half of the browser tests (tests/web/*.rs), one module so that the test page
// loads one file for all of it: bare-protocol plugins, recording host options, fetch stubs, key
// pairs and envelopes made with WebCrypto, and Trusted Types probes.
// ---- plugins, recorders, messages, fetch stubs (support.rs) ----
// A first-party plugin as bare protocol: the `render` callback of a shadow mount gets the raw
// MessagePort and welcome (no client SDK), and `call` sends `{v:1,id,method,params}` on it and
// resolves with the host's raw reply. Events the host posts are kept in `events`; the heartbeat
// is answered.
export function miniPlugin() {
  const p = { port: null, welcome: null, root: null, events: [], waiting: new Map(), next: 1 };
  p.render = (root, port, welcome) => {
    p.root = root;
    p.port = port;
    p.welcome = welcome;
    port.onmessage = (e) => {
      const d = e.data;
      if (!d || typeof d !== 'object') return;
      if ('event' in d) {
        if (d.event === 'ping') {
          port.postMessage({ v: 1, event: 'pong', data: { seq: d.data && d.data.seq } });
          return;
        }
        p.events.push({ name: d.event, data: d.data });
        return;
      }
      const w = p.waiting.get(d.id);
      if (w) { p.waiting.delete(d.id); w(d); }
    };
    port.start();
  };
  // A call the host never answers resolves with `{ noReply: true }` after 5 s (a test fails
  // on it instead of hanging).
  p.call = (method, params) => new Promise((resolve) => {
    const id = p.next++;
    p.waiting.set(id, resolve);
    setTimeout(() => { if (p.waiting.delete(id)) resolve({ v: 1, id, noReply: true }); }, 5000);
    p.port.postMessage({ v: 1, id, method, params });
  });
  return p;
}

// Host options (JSON-like `base`) with every callback recording what it was given.
// onPermissionRequest answers from `answers[permission]` (default: no).
export function recorder(base, answers) {
  const r = { notes: [], events: [], asks: [], audits: [] };
  r.options = {
    ...base,
    onNotify: (n) => r.notes.push(n),
    onEvent: (e) => r.events.push(e),
    onAudit: (a) => r.audits.push(a),
    onPermissionRequest: (q) => { r.asks.push(q); return Promise.resolve(answers ? answers[q.permission] === true : false); },
  };
  return r;
}

// The next window message whose data has `pwTest === tag` (hand-rolled srcdoc plugins report
// here; the host counts such messages as ignored), or `{ pwTest: tag, timedOut: true }` after 5 s.
export function nextTestMessage(tag) {
  return new Promise((resolve) => {
    const on = (e) => {
      if (e.data && e.data.pwTest === tag) { removeEventListener('message', on); resolve(e.data); }
    };
    addEventListener('message', on);
    setTimeout(() => { removeEventListener('message', on); resolve({ pwTest: tag, timedOut: true }); }, 5000);
  });
}

// The page's own fetch, kept before any test stubs it.
const REAL_FETCH = globalThis.fetch;
// A panicking test (panic=abort: no Drop) leaves its stub behind; the next stub starts clean.
export function restoreFetch() { globalThis.fetch = REAL_FETCH; }

// Replace `fetch` for a while: 'count' passes through, counting; 'hang' never answers (until
// aborted, as a real fetch does); 'endless' answers 200 with a body that never ends and no
// Content-Length (`bytes`: how much of it was produced). `restore()` puts the real one back.
export function stubFetch(mode) {
  const real = REAL_FETCH;
  const s = { calls: 0, urls: [], bytes: 0, restore() { globalThis.fetch = real; } };
  globalThis.fetch = (url, init) => {
    s.calls++;
    s.urls.push(String(url));
    if (mode === 'hang') {
      return new Promise((_, reject) => {
        init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    }
    if (mode === 'endless') {
      const body = new ReadableStream({ pull(c) { s.bytes += 1024; c.enqueue(new Uint8Array(1024).fill(65)); } });
      return Promise.resolve(new Response(body, { status: 200 }));
    }
    return real(url, init);
  };
  return s;
}

// ---- keys and signed envelopes (crypto.rs) ----
const ALGS = {
  ecdsa: { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  rsa: {
    gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
};
const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
const enc = new TextEncoder();
// The signed envelope (format v1), computed here independently of the SDK: the manifest's
// canonical JSON (members sorted by UTF-16 code units), SHA-256 of it and of the code.
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}
const hex = async (bytes) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
async function envelope(manifestText, code) {
  return enc.encode('plugin-warden/signature/v1\n'
    + `manifest-sha256 ${await hex(enc.encode(canonical(JSON.parse(manifestText))))}\n`
    + `code-sha256 ${await hex(enc.encode(code))}\n`);
}
// A fresh key pair of `kind`: { sign(bytes) -> base64, spki (base64), jwk }.
export async function keyPair(kind) {
  const pair = await crypto.subtle.generateKey(ALGS[kind].gen, true, ['sign', 'verify']);
  return {
    spki: b64(await crypto.subtle.exportKey('spki', pair.publicKey)),
    jwk: await crypto.subtle.exportKey('jwk', pair.publicKey),
    sign: async (manifestText, code) => b64(await crypto.subtle.sign(ALGS[kind].sign, pair.privateKey, await envelope(manifestText, code))),
  };
}

// ---- Trusted Types probes (trusted_types.rs) ----
export function isTrustedHTML(v) { return !!(globalThis.trustedTypes && trustedTypes.isHTML(v)); }
export function limitPolicyNames(names) {
  const meta = document.createElement('meta');
  meta.httpEquiv = 'Content-Security-Policy';
  meta.content = `trusted-types ${names}`;
  document.head.append(meta);
}
export function pageMakesPolicy(name) {
  try { trustedTypes.createPolicy(name, { createHTML: (s) => s }); return 'created'; } catch (e) { return e.name; }
}
export function innerHTML(root) { return root.innerHTML; }
