// A hostile plugin. It does NOT use the plugin-side client: it performs the handshake by hand
// so it keeps a raw handle on the port and can send anything. Every attack is a function in
// `attacks`; the end-to-end tests run them one by one (`window.hostile.attack(name)`, or the
// buttons for attacks that want a real user activation) and read the outcome, which is also
// written as JSON into <pre id="results">.
//
// With `?manual` in its URL the plugin waits for the test to run the handshake attacks and then
// `connect`; otherwise it connects at once.
const NS = 'plugin-warden';
const out = document.getElementById('out');
const resultsEl = document.getElementById('results');
const results = {};

function record(name, value) {
  results[name] = value;
  resultsEl.textContent = JSON.stringify(results, null, 1);
  return value;
}

function errorOf(e) {
  return { threw: true, name: e && e.name, message: String(e && e.message) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- the bootstrap, read like the real client does -------------------------------------------
const boot = (() => {
  const parts = String(self.name || '').split('|');
  if (parts.length !== 4 || parts[0] !== NS) return null;
  self.name = '';
  return { nonce: parts[2], hostOrigin: parts[3] };
})();
// Say `present` as the real client does when it loads (a hint the host uses to tell a page the
// browser refused from one that is merely slow to say hello).
if (boot) parent.postMessage({ ns: NS, v: 1, type: 'present' }, boot.hostOrigin);

// --- window messages: welcomes (and when they came) and the nested frame's report --------------
let phase = 'boot';
const welcomes = [];
let port = null;
let nestedReport = null;
self.addEventListener('message', (event) => {
  const d = event.data;
  if (d && d.kind === 'nested-report') { nestedReport = d; return; }
  if (event.source !== parent || !d || d.ns !== NS || d.type !== 'welcome') return;
  welcomes.push({ phase, pluginId: d.pluginId, grants: d.grants, ports: event.ports.length });
  if (!port && event.ports[0]) {
    port = event.ports[0];
    port.onmessage = onReply;
    port.start();
  }
});

const welcomesIn = (p) => welcomes.filter((w) => w.phase === p);

// --- raw calls on the port ----------------------------------------------------------------------
let nextId = 1;
const pending = new Map();
function onReply(event) {
  const d = event.data;
  // Hand-rolled, so it answers the host's heartbeat itself (as plugin-warden/client does).
  if (d && d.event === 'ping') {
    port.postMessage({ v: 1, event: 'pong', data: { seq: d.data && d.data.seq } });
    return;
  }
  const waiter = d && pending.get(d.id);
  if (waiter) { pending.delete(d.id); waiter(d); }
}

/** Send a raw envelope; resolves with `{ reply }` or `{ noReply: true }` after `timeout` ms. */
function raw(envelope, timeout = 2000) {
  const id = envelope.id;
  return new Promise((resolve) => {
    const timer = setTimeout(() => { pending.delete(id); resolve({ noReply: true }); }, timeout);
    pending.set(id, (reply) => { clearTimeout(timer); resolve({ reply }); });
    try {
      port.postMessage(envelope);
    } catch (e) {
      clearTimeout(timer);
      pending.delete(id);
      resolve({ postFailed: errorOf(e) });
    }
  });
}

function call(method, params, timeout) {
  return raw({ v: 1, id: nextId++, method, params }, timeout);
}

function hello(nonce) {
  parent.postMessage({ ns: NS, v: 1, type: 'hello', nonce }, boot.hostOrigin);
}

/** Nest an iframe pointed at `script` (srcdoc: the plugin CSP allows no framed URLs). */
function nestedFrame(script, name) {
  const f = document.createElement('iframe');
  f.setAttribute('sandbox', 'allow-scripts');
  f.name = name;
  f.srcdoc = `<!doctype html><meta charset="utf-8"><script type="module" src="${new URL(script, import.meta.url)}"></script>`;
  f.style.display = 'none';
  document.body.append(f);
  return f;
}

function nested(depth) {
  let v = 'bottom';
  for (let i = 1; i < depth; i++) v = [v];
  return v;
}

// --- the attacks -------------------------------------------------------------------------------
const attacks = {
  /** A hello from a frame the host never created, with the real nonce and a guessed one. */
  async 'forge-nested'() {
    phase = 'forge-nested';
    nestedReport = null;
    const f = nestedFrame('./forge.js', `${boot.nonce}|${boot.hostOrigin}`);
    for (let i = 0; i < 50 && !nestedReport; i++) await sleep(100);
    f.remove();
    await sleep(200);
    return { nestedReport, welcomes: welcomesIn('forge-nested') };
  },

  /** A hello from the right window with a guessed nonce. */
  async 'wrong-nonce'() {
    phase = 'wrong-nonce';
    const guess = boot.nonce.replace(/./g, (c) => (c === 'a' ? 'b' : 'a'));
    hello(guess);
    hello('');
    await sleep(700);
    return { sent: 2, welcomes: welcomesIn('wrong-nonce') };
  },

  /** The real handshake. */
  async connect() {
    phase = 'connect';
    hello(boot.nonce);
    for (let i = 0; i < 50 && !port; i++) await sleep(100);
    return { connected: !!port, welcomes: welcomesIn('connect') };
  },

  /** Say hello again after connecting, hoping for a second port. */
  async replay() {
    phase = 'replay';
    hello(boot.nonce);
    await sleep(700);
    return { welcomes: welcomesIn('replay') };
  },

  /** Any one call, as the test writes it: `[method, params]`, or `[method, params, timeout ms]`. */
  async send([method, params, timeout]) {
    return call(method, params, timeout);
  },

  /** Values of 40 KiB stored under new keys until one is refused (a plugin over its quota). */
  async 'fill-storage'() {
    for (let i = 0; i < 64; i++) {
      const r = await call('storage.set', { key: `fill-${i}`, value: 'y'.repeat(40_000) }, 5000);
      if (!r.reply?.ok) return { stored: i, refused: r };
    }
    return { stored: 64 };
  },

  /** A method that is in no table: the client would never send it, a raw port does. */
  async 'undeclared-method'() {
    return call('admin.exec', {});
  },

  /** storage.set without `storage` in the manifest. */
  async 'missing-capability'() {
    return call('storage.set', { key: 'k', value: 1 });
  },

  /** A 70 KiB message (limit 64 KiB) made of short strings, so only the size limit applies. */
  async oversized() {
    const data = Array.from({ length: 100 }, (_, i) => `${i}:`.padEnd(700, 'x'));
    return call('events.emit', { name: 'big', data });
  },

  /**
   * Messages far over every limit, meant to grow the host's wasm memory (which never shrinks):
   * a 16 Mi-character call of three-byte characters (48 MiB of UTF-8), then window messages to
   * the host page with a 32 Mi-character `ns` and a hello with a 32 Mi-character nonce.
   */
  async huge() {
    const call16 = await call('events.emit', { name: 'huge', data: '\u65e5'.repeat(16 * 1024 * 1024) }, 20_000);
    parent.postMessage({ ns: 'x'.repeat(32 * 1024 * 1024) }, boot.hostOrigin);
    parent.postMessage({ ns: NS, v: 1, type: 'hello', nonce: 'x'.repeat(32 * 1024 * 1024) }, boot.hostOrigin);
    // Something small after them on the same port, to know the host read past them (refused:
    // an undeclared method, so the host's events stay untouched for the later tests).
    const after = await call('admin.exec', {});
    return { call16, after };
  },

  /**
   * Values a few bytes long on the wire that take billions of steps to walk (structured cloning
   * keeps both shapes): arrays whose `length` is 2^32 - 1 with nothing stored (as an event's
   * data, deeper in it, as a stored value, as the call's params, and as the envelope itself,
   * which is then a "small" message to the host's listener), and one value referenced from
   * every branch of a tree 30 deep (2^30 paths to a string, to an object, to 1 KiB of bytes).
   * Each answer with the time until its reply came back: the host page's main thread makes
   * the reply, so a host busy walking one of them answers late or never.
   */
  async 'walk-bombs'() {
    const holey = () => { const a = []; a.length = 4294967295; return a; };
    const shared = (leaf) => { let v = leaf; for (let i = 0; i < 30; i++) v = [v, v]; return v; };
    const timed = async (envelope) => {
      const t0 = performance.now();
      const r = await raw(envelope, 30_000);
      return { ...r, ms: Math.round(performance.now() - t0) };
    };
    const send = (method, params) => timed({ v: 1, id: nextId++, method, params });
    const envelope = holey();
    Object.assign(envelope, { v: 1, id: nextId++, method: 'events.emit' });
    return {
      holeyData: await send('events.emit', { name: 'bomb', data: holey() }),
      holeyDeeper: await send('events.emit', { name: 'bomb', data: { list: [1, holey()] } }),
      holeyStored: await send('storage.set', { key: 'bomb', value: holey() }),
      holeyParams: await send('events.emit', holey()),
      holeyEnvelope: await timed(envelope),
      sharedString: await send('events.emit', { name: 'bomb', data: shared('sixteen chars...') }),
      sharedObject: await send('events.emit', { name: 'bomb', data: shared({ a: 1, b: 'two' }) }),
      sharedBytes: await send('storage.set', { key: 'bomb', value: shared(new Uint8Array(1024)) }),
      // The same as window messages to the host page, as hellos (which any frame may post).
      windowMessages: (() => {
        parent.postMessage({ ns: NS, v: 1, type: 'hello', nonce: boot.nonce, pad: holey() }, boot.hostOrigin);
        parent.postMessage({ ns: NS, v: 1, type: 'hello', nonce: boot.nonce, pad: shared('sixteen chars...') }, boot.hostOrigin);
        return 2;
      })(),
      after: await send('permissions.list', {}),
    };
  },

  /** Nesting depth 40 (limit 32) in a payload that is otherwise small and valid. */
  async deep() {
    return call('events.emit', { name: 'deep', data: nested(40) });
  },

  /** Own `__proto__` / `constructor` / `prototype` keys (they survive structured cloning). */
  async 'prototype-pollution'() {
    return {
      inData: await call('events.emit', { name: 'p', data: JSON.parse('{"__proto__":{"polluted":"yes"}}') }),
      inParams: await raw({ v: 1, id: nextId++, method: 'events.emit',
        params: JSON.parse('{"name":"p","data":1,"__proto__":{"polluted":"yes"}}') }),
      constructorKey: await call('events.emit', { name: 'p', data: { constructor: { prototype: { polluted: 'yes' } } } }),
      envelope: await raw(JSON.parse(`{"v":1,"id":${nextId++},"method":"permissions.list","params":{},"__proto__":{"polluted":"yes"}}`)),
    };
  },

  /**
   * Small messages, whose JSON text the host's port listener makes itself (src/web/binary.js
   * `small`), at the edges of what it takes: each must be answered as the core answers any
   * message, and none may throw on the host page.
   */
  async 'small-messages'() {
    const id = () => nextId++;
    return {
      bigintTop: await raw({ v: 1, id: id(), method: 'permissions.list', params: {}, n: 1n }),
      bigintParams: await raw({ v: 1, id: id(), method: 'storage.get', params: { key: 'k', n: 1n } }),
      protoTop: await raw(JSON.parse(`{"v":1,"id":${id()},"method":"permissions.list","params":{},"__proto__":1}`)),
      protoParams: await raw({ v: 1, id: id(), method: 'storage.get', params: JSON.parse('{"key":"k","__proto__":"x"}') }),
      reservedKey: await raw({ v: 1, id: id(), method: 'storage.get', params: { key: 'k', '$pw:binary': 0 } }),
      typedParams: await raw({ v: 1, id: id(), method: 'storage.get', params: new Uint8Array(2) }),
      version: await raw({ v: 2, id: id(), method: 'permissions.list', params: {} }),
      undeclared: await raw({ v: 1, id: id(), method: 'admin.exec', params: {} }),
      noStorage: await raw({ v: 1, id: id(), method: 'storage.get', params: { key: 'k' } }),
      listed: await raw({ v: 1, id: id(), method: 'permissions.list', params: {} }),
    };
  },

  /** As a storage value (for a plugin that holds `storage`). */
  async 'prototype-pollution-storage'() {
    return call('storage.set', { key: 'p', value: JSON.parse('{"__proto__":{"polluted":"yes"}}') });
  },

  /** Read and list keys another plugin stored (only for a plugin that holds `storage`). */
  async 'read-other-storage'(key) {
    return {
      get: await call('storage.get', { key }),
      keys: await call('storage.keys', {}),
      setSameKey: await call('storage.set', { key, value: 'overwritten by hostile-spy' }),
    };
  },

  /** api.fetch of origins and paths the manifest does not declare. */
  async 'fetch-undeclared'(declared) {
    return {
      hostPage: await call('api.fetch', { url: `${boot.hostOrigin}/e2e.html` }),
      dotDot: await call('api.fetch', { url: `${declared}../hostile/index.html` }),
      prefixSibling: await call('api.fetch', { url: declared.replace(/\/$/, '') + 'x/data.json' }),
    };
  },

  /** The sandbox: an opaque origin, no storage of its own origin, no reach into the parent. */
  async 'reach-parent'() {
    const attempt = (fn) => { try { return { value: String(fn()) }; } catch (e) { return errorOf(e); } };
    return {
      origin: self.origin,
      parentDocument: attempt(() => parent.document.title),
      topDocumentCookie: attempt(() => top.document.cookie),
      parentGlobal: attempt(() => parent.e2e.host),
      ownLocalStorage: attempt(() => localStorage.length),
      ownCookie: attempt(() => document.cookie),
    };
  },

  /**
   * A flood, part 1: 150 calls at once (burst 100), waiting for every reply. Some must come
   * back RATE_LIMITED, and 50 refusals are not yet a flood (the host suspends at 200 in 2 s).
   */
  async 'flood-probe'() {
    const first = [];
    for (let i = 0; i < 150; i++) first.push(call('permissions.list', {}, 3000));
    const codes = {};
    for (const r of await Promise.all(first)) {
      const k = r.reply ? (r.reply.ok ? 'ok' : r.reply.error && r.reply.error.code) : 'noReply';
      codes[k] = (codes[k] || 0) + 1;
    }
    return codes;
  },

  /**
   * A flood, part 2: the other 9,850 calls of 10,000 without waiting. The host is expected to
   * suspend this plugin, which removes this frame, so nothing here can be reported back: the
   * test watches the host. Scheduled after the attack returns, so the test gets its answer.
   */
  async 'flood-rest'() {
    setTimeout(() => {
      for (let i = 0; i < 9850; i++) {
        port.postMessage({ v: 1, id: nextId++, method: 'permissions.list', params: {} });
      }
    }, 0);
    return { scheduled: 9850 };
  },
};

async function attack(name, arg) {
  if (!attacks[name]) return record(name, { unknownAttack: true });
  try {
    return record(name, await attacks[name](arg));
  } catch (e) {
    return record(name, { attackThrew: errorOf(e) });
  }
}

// Attacks that want a real click (user activation), so only the sandbox can stop them.
document.getElementById('attack-top-navigation').addEventListener('click', () => {
  const target = new URL('/hostile/pwned.html', location.href).href;
  const tries = {};
  const attempt = (how, fn) => { try { const v = fn(); tries[how] = { threw: false, value: v === undefined ? 'undefined' : String(v) }; } catch (e) { tries[how] = errorOf(e); } };
  attempt('top.location=', () => { top.location = target; });
  attempt('top.location.href=', () => { top.location.href = target; });
  attempt('top.location.replace', () => top.location.replace(target));
  attempt('window.open _top', () => window.open(target, '_top'));
  record('top-navigation', { target, tries });
});

document.getElementById('attack-popup').addEventListener('click', () => {
  const target = new URL('/hostile/pwned.html', location.href).href;
  let w;
  try { w = window.open(target, '_blank'); } catch (e) { record('popup', errorOf(e)); return; }
  record('popup', { isNull: w === null, type: typeof w });
});

window.hostile = { attack, results, welcomes: () => welcomes.slice(), get connected() { return !!port; } };

if (!boot) {
  out.textContent = 'hostile plugin: no bootstrap in window.name (not mounted by a host)';
  document.body.dataset.state = 'no-bootstrap';
} else if (new URLSearchParams(location.search).has('manual')) {
  out.textContent = 'hostile plugin: waiting for the test to run the handshake attacks';
  document.body.dataset.state = 'manual';
} else {
  const r = await attack('connect');
  out.textContent = r.connected ? 'hostile plugin: connected, ready to misbehave' : 'hostile plugin: no welcome';
  document.body.dataset.state = r.connected ? 'connected' : 'failed';
}
