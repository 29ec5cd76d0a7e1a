// Binary data on the bridge (src/core/binary.rs says the why and the forms).
//
// pwEncodeInto(value, inline, buffers) — the JSON text the core reads, with every ArrayBuffer,
//   typed array and DataView taken out: into the side table `buffers` (placeholders
//   {"$pw:binary": i, type, bytes}) or, with `inline` (a stored value), as base64 in the text.
//   A plugin's own object holding the reserved key becomes {"$pw:binary": null}, which the core
//   refuses with the path. Throws (like JSON.stringify) on cycles and BigInt.
// pwDecode(text, buffers) — the value to post, with every placeholder turned back into its typed
//   array (side-table bytes are used once and then copied), and the transfer list: buffers the
//   host owns and hands over instead of copying.
// pwListen(port, text, other, unserved, v) — a plugin's port listener: a small message's text
//   made in one call, the rest left to the core's rate limiter first; a message the core cannot
//   take before its second part has loaded is held, with every later one (but pongs), until it
//   has (pwSetPortHooks), and answered (and told to `unserved`, for the audit log) if it cannot
//   or has not within 5 s.
// pwPeekId(data) / pwPeek(data), pwPost(port, text, buffers, copy) — a plugin's port message's
//   id (and pong seq) read, and a reply decoded and posted, each in one call: nothing for wasm
//   to read back by property name (each name read from wasm is a string decoded per call: a
//   measurable part of a round trip, docs/benchmarks.md).
// pwUtf8Into(text, from, into), pwUtf8Read() — a long JS string's UTF-8 into wasm memory, from a
//   given UTF-16 unit (binary.rs `string_of`, core::utf8::encode_resuming decides the calls).
// pwOptionsText(value) — a host's options as JSON text, lone surrogates as U+FFFD (sys.rs).
// pwJsonText(value, max) — a window message's JSON text, unless surely longer than `max`.
// pwPostStored(port, v, id, area, key), pwStoredError() — a storage.get answered from the
//   value where it is stored (src/web/storage.rs), its text never in wasm.
const KEY = '$pw:binary';
const TYPES = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  ...(typeof Float16Array === 'function' ? { Float16Array } : {}),
};

function typeName(v) {
  if (v instanceof ArrayBuffer) return 'ArrayBuffer';
  if (v instanceof DataView) return 'DataView';
  if (ArrayBuffer.isView(v)) {
    const name = v[Symbol.toStringTag];
    return TYPES[name] === v.constructor ? name : null;
  }
  return null;
}

function bytesOf(v) {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function toBase64(bytes) {
  if (typeof bytes.toBase64 === 'function') return bytes.toBase64();
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * Whether `JSON.stringify(v)` is the encoding as it is: only primitives, arrays and plain
 * objects (no binary data, no reserved key, nothing the replacer refuses), at most `depth`
 * levels (deeper, or a cycle: the replacer's path decides). Most messages are; JSON.stringify
 * without a replacer is several times faster than with one.
 */
function plain(v, depth) {
  // A function may be a `toJSON`, whose result (a typed array?) only the replacer sees.
  if (typeof v === 'function') return false;
  if (v === null || typeof v !== 'object') return true;
  if (depth > 32) return false;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return false;
    for (let i = 0; i < v.length; i++) if (!plain(v[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.prototype.hasOwnProperty.call(v, KEY)) return false;
  for (const k in v) if (!plain(v[k], depth + 1)) return false;
  return true;
}

/**
 * At least how long `value`'s message is, found without making its text: the UTF-16 units of
 * its JSON text (no UTF-8 encoding is shorter) plus the bytes of its binary leaves, which the
 * core counts against the same limit. The count stops as soon as it passes `max`, so what it
 * costs is bounded by `max`, whatever `value` is.
 *
 * What a plugin sends is structured-cloned, and cloning keeps two shapes that are a few bytes on
 * the wire but billions of steps to any walk of the value: an array whose `length` is 2^32 - 1
 * with nothing stored in it (a loop over its length), and one object referenced from many places
 * (`[o, o]` nested 30 deep is 2^30 paths to its leaves). `JSON.stringify` and `plain` follow both,
 * and froze the host page for minutes on one such message. This count charges an array its
 * length before it looks inside (each element's text is at least one unit: `null` for a hole)
 * and an object each time a path reaches it, so neither gets past it once it answers `max` or
 * less. A key whose value is undefined counts one unit although JSON leaves it out: an
 * encoder still visits it, so its keys must be bounded too (the count can then exceed the text
 * by one unit per such key; elsewhere it never exceeds it: tests/client/binary-encode).
 */
function sizeAtLeast(value, max) {
  let n = 0;
  const walk = (v) => {
    if (typeof v === 'string') {
      n += v.length + 2;
      return;
    }
    if (v === null || typeof v !== 'object') {
      n += 1;
      return;
    }
    if (Array.isArray(v)) {
      n += v.length + 1; // the brackets and the commas; each element adds at least one more
      for (let i = 0; i < v.length && n <= max; i++) walk(v[i]);
      return;
    }
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
      n += v.byteLength;
      return;
    }
    if (v instanceof String) {
      n += v.length + 2;
      return;
    }
    if (v instanceof Number || v instanceof Boolean) {
      n += 1;
      return;
    }
    n += 2;
    for (const k in v) {
      if (n > max) return;
      const x = v[k];
      if (x === undefined) {
        n += 1; // left out of the text, but a walk still visits it
        continue;
      }
      n += k.length + 1; // its quotes and colon add two more
      walk(x);
    }
  };
  walk(value);
  return n;
}

/**
 * `JSON.stringify(value)`, or undefined when that throws (a cycle, a BigInt) or when the text is
 * surely longer than `max` (`sizeAtLeast`: counted first, so a value that is small on the wire
 * but huge to walk is never stringified). For window messages, which any frame may post.
 */
export function pwJsonText(value, max) {
  try {
    return sizeAtLeast(value, max) > max ? undefined : JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * The JSON text for the core; side-table entries are pushed onto `buffers`. With `max`, a number
 * (a lower bound of its size, `sizeAtLeast`) instead when the message is surely longer than
 * `max` UTF-8 bytes: then no text is made, and no buffer is copied. They are the very buffers of
 * `value` when a view covers its whole (plain) buffer, else a copy of the view's bytes: the
 * caller decides whether they may later be transferred (a plugin's message: the host's own
 * structured-clone copy; the host page's own data: never, see pwDecode's `copy`).
 */
export function pwEncodeInto(value, inline, buffers, max) {
  if (max !== undefined) {
    const least = sizeAtLeast(value, max);
    if (least > max) return least;
  }
  if (plain(value, 0)) return JSON.stringify(value);
  const made = new WeakSet();
  const text = JSON.stringify(value, function replacer(key, v) {
    if (v === null || typeof v !== 'object' || made.has(v)) return v;
    // Values JSON would silently turn into {}: refused instead (the message is unreadable).
    if (v instanceof Map || v instanceof Set || v instanceof RegExp || v instanceof Error
      || (typeof Blob === 'function' && v instanceof Blob)) {
      throw new TypeError(`${Object.prototype.toString.call(v)} has no JSON form`);
    }
    const type = typeName(v);
    if (type) {
      const bytes = bytesOf(v);
      let out;
      if (inline) {
        out = { [KEY]: toBase64(bytes), type, bytes: bytes.byteLength };
      } else {
        const whole = v instanceof ArrayBuffer
          || (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength);
        buffers.push(whole ? (v instanceof ArrayBuffer ? v : v.buffer) : bytes.slice().buffer);
        out = { [KEY]: buffers.length - 1, type, bytes: bytes.byteLength };
      }
      made.add(out);
      return out;
    }
    if (!Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, KEY)) {
      // A plugin's own object with the reserved key: the core refuses it, naming the path.
      const out = { [KEY]: null };
      made.add(out);
      return out;
    }
    return v;
  });
  return text;
}

/**
 * The call id a plugin's port message carries, as one number (no array made, nothing read
 * back): the id when it is a safe non-negative integer, -1 when there is none, -2 for a
 * message shaped like a pong (`event` "pong"), which pwPeek reads in full.
 */
export function pwPeekId(data) {
  if (data === null || typeof data !== 'object') return -1;
  if (data.event === 'pong') return -2; // core::protocol::EVENT_PONG
  const id = data.id;
  return Number.isSafeInteger(id) && id >= 0 ? id : -1;
}

/**
 * A plugin's port listener. A small message (`small` below: a `storage.get` as the client writes
 * it is one) has its JSON text made here, before the core sees it, and enters wasm in one call:
 * `text(id, json, units, now)`, with the id pwPeekId reads, the text pwEncodeInto makes (a plain
 * value's `JSON.stringify`), its length and `Date.now()` (the host's clock), so the core gets
 * what the other path would hand it. Every other message goes to `other(data)`, which makes the
 * text only once the rate limiter admitted it (a flood's large messages are never serialized).
 * A small message's text is bounded (`small`), so making it first costs a flood little.
 * Answers the listener, for removeEventListener.
 */
export function pwListen(port, text, other, unserved, v) {
  // Messages the core could not take before its second part has loaded (`text` or `other`
  // answered false), and every later one but pongs, in order: handed again once it has loaded.
  // If it could not load (or has not within MAX_WAIT_MS), those it still cannot take are
  // answered here, MODULE_NOT_LOADED (the code that would answer or refuse them is what could
  // not be loaded), told to `unserved` (with the method the message names, for the audit log),
  // and the port goes on.
  const held = [];
  let waiting = false;
  // Each time the core could not take a message before its part loaded, the read-ahead was cut
  // off, which leaks what it built (the message's text and its parse, about the message's size):
  // a message cut off is not read ahead again until the part has loaded, and once MAX_CUT of
  // this port's messages were, its later ones (but pongs, the heartbeat's) are read ahead only
  // when they call a method the core took from this port before (`taken`), each method until a
  // call of it is cut off; the rest are answered as the part's (a plugin flooding calls that
  // need the part while it cannot load would otherwise grow the host's memory without bound,
  // and its calls the first part serves go on being served).
  let cut = 0;
  const taken = new Set();
  let removed = false; // the listener was removed (the plugin unmounted): its callbacks are gone
  const take = (message, lastChance) => {
    if (removed) return true;
    try {
      if (message.deliver()) return true;
    } catch (e) {
      setTimeout(() => { throw e; }); // reported as the listener's own would be; the rest go on
      return true;
    }
    if (lastChance) {
      if (message.id >= 0) port.postMessage({ v, id: message.id, ok: false, error: { code: 'MODULE_NOT_LOADED', message: NOT_SERVED } });
      // A method's name, not whatever text a plugin puts there (the log redacts it as well).
      const method = message.method;
      unserved(method !== null && /^[\w.]{1,64}$/.test(method) ? method : undefined);
    }
    return lastChance;
  };
  const drain = (lastChance) => {
    waiting = false;
    while (held.length > 0 && take(held[0], lastChance)) held.shift();
    if (held.length > 0) wait();
  };
  const wait = () => {
    if (waiting) return;
    waiting = true;
    // Nothing to load (loaded, nothing can load it, or a load failed moments ago): hand them
    // on, answered if need be.
    const loading = loadPart();
    if (!loading) {
      queueMicrotask(() => drain(true));
      return;
    }
    // A load that takes longer than MAX_WAIT_MS (a stalled network) goes on, but the messages
    // it holds are handed on then, answered if need be: the plugin has its answer before its
    // client's own timeout, and no call held is applied long after the plugin gave up on it.
    let timer = 0;
    const done = (lastChance) => {
      if (timer === 0) return;
      clearTimeout(timer);
      timer = 0;
      drain(lastChance);
    };
    timer = setTimeout(() => done(true), MAX_WAIT_MS);
    loading.then(() => done(false), () => done(true));
  };
  const listener = (event) => {
    const data = event.data;
    const id = pwPeekId(data);
    let go;
    if (id >= 0 && small(data)) {
      const json = JSON.stringify(data);
      const at = Date.now();
      go = () => text(id, json, json.length, at);
    } else {
      go = () => other(data);
    }
    const method = methodOf(data);
    let once = false; // cut off before
    const deliver = () => {
      if ((once || (cut >= MAX_CUT && !taken.has(method))) && id !== -2 && !pwPartLoaded()) return false;
      if (go()) {
        if (method !== null && taken.size < MAX_TAKEN) taken.add(method);
        return true;
      }
      cut++;
      once = true;
      taken.delete(method);
      return false;
    };
    const message = { id, deliver, method };
    // A pong is handed over at once even while messages wait for the part (it only says the
    // plugin is alive): a slow load must not make the heartbeat fail a plugin that answers.
    if (held.length === 0 || id === -2) {
      if (deliver()) return;
    } else if (held.length >= MAX_HELD) {
      // A flood while the part loads: not held without bound; answered now if it needs it.
      take(message, true);
      return;
    }
    held.push(message);
    wait();
  };
  port.addEventListener('message', listener);
  // The port is the host's own end of the plugin's channel, never handed out. Removing this
  // listener (PortListener's drop, src/web/binary.rs) also drops what it held: `text` and
  // `other` are freed with it, and would throw if a load that ends later handed them anything.
  const remove = port.removeEventListener;
  port.removeEventListener = function (type, fn, ...rest) {
    if (fn === listener) {
      removed = true;
      held.length = 0;
    }
    return remove.call(this, type, fn, ...rest);
  };
  return listener;
}

const NOT_SERVED = 'not served: the code that answers it is not loaded';
// At most this many messages of one plugin wait for the core's second part (pwListen), for at
// most this long each time (under the client's default call timeout, 10 s).
const MAX_HELD = 256;
const MAX_WAIT_MS = 5_000;
// One plugin's messages read ahead and cut off while the core's second part is not loaded
// (pwListen): this many of any method, then one more of each method in `taken` at most, whose
// names are at most MAX_TAKEN (17 in the protocol): ~4 MiB leaked per plugin at most at the
// default message limit.
const MAX_CUT = 32;
const MAX_TAKEN = 32;
/** The method a plugin's message names, as a key (null: none, or not a name's length). */
const methodOf = (data) => {
  const method = data?.method;
  return typeof method === 'string' && method.length <= 64 ? method : null;
};
let portPreload = null; // () => a Promise of the core's second part loaded, or null when it is
// After a failed load, none before `retryAt` (0.5 s later, doubling up to 30 s while they fail).
let retryAt = 0;
let retryMs = 0;
// What a plugin's message is made ready with before the engine (src/web/effects.rs `ahead`):
// `prepare()`, the core's `__pw_prepare` in a call the loader cuts off where it would load the
// part (false then); `loaded()`, whether the part is loaded. Null in an unsplit module's tests.
let ahead = null;

/**
 * Set what pwListen calls to load the core's second part (a function, or null), and the hooks
 * a plugin's message is made ready with (both functions, or neither).
 */
export function pwSetPortHooks(load, prepare, loaded) {
  portPreload = typeof load === 'function' ? load : null;
  ahead = typeof prepare === 'function' ? { prepare, loaded } : null;
  retryAt = 0;
  retryMs = 0;
}

/**
 * Load the core's second part (asynchronously): its Promise, or null when it is loaded, nothing
 * can load it, or a load failed moments ago. Not again at once after a failure: else each
 * message a plugin sends while the network is gone (or each heartbeat) would fetch it again.
 */
function loadPart() {
  const loading = portPreload !== null && Date.now() >= retryAt ? portPreload() : null;
  return loading && loading.then(() => { retryMs = 0; }, (e) => {
    retryMs = Math.min(Math.max(retryMs * 2, 500), 30_000);
    retryAt = Date.now() + retryMs;
    throw e;
  });
}

/**
 * Whether a plugin's message is to be made ready ahead: the entry module set the hooks of
 * `ahead` (then the two below may be called) and the core's second part is not loaded yet.
 * Once it is, a message goes to the engine as it is (nothing it needs can be missing).
 */
export function pwAheadHooks() {
  return ahead !== null && ahead.loaded() === false;
}

/** Whether the message `__pw_prepare` is to prepare was prepared (not cut off). */
export function pwPrepareAhead() {
  return ahead.prepare() === true;
}

/** Whether the core's second part is loaded (or the module is not split: no hooks). */
export function pwPartLoaded() {
  return ahead === null || ahead.loaded() !== false;
}

// What `small` admits: property names and strings of at most SMALL_STRING UTF-16 units, at most
// SMALL_KEYS properties per object, primitives everywhere but `params` (one plain object of
// primitives): a text of at most a few KiB, whatever a plugin sends.
const SMALL_KEYS = 4;
const SMALL_STRING = 256;

// Only what JSON.stringify writes without throwing (a BigInt throws: the other path answers it).
function primitive(v) {
  const t = typeof v;
  return v === null || t === 'number' || t === 'boolean' || t === 'undefined'
    || (t === 'string' && v.length <= SMALL_STRING);
}

/** Whether `data`'s JSON text is small and made by JSON.stringify as it is (`plain`). */
function small(data) {
  // An array's `for…in` skips its holes, and `plain` would then loop over its whole length (up
  // to 2^32 - 1): arrays go the other way, where sizeAtLeast bounds them.
  if (Array.isArray(data)) return false;
  let n = 0;
  for (const k in data) {
    if (++n > SMALL_KEYS || k.length > SMALL_STRING) return false;
    const v = data[k];
    if (primitive(v)) continue;
    if (k !== 'params' || v === null || typeof v !== 'object' || Array.isArray(v)) return false;
    let m = 0;
    for (const j in v) {
      if (++m > SMALL_KEYS || j.length > SMALL_STRING || !primitive(v[j])) return false;
    }
  }
  return plain(data, 0);
}

/** Whether a plugin's port message is a storage.set (its binary data goes inline). */
export function pwIsStorageSet(data) {
  return data !== null && typeof data === 'object' && data.method === 'storage.set';
}

/** A lone surrogate becomes U+FFFD, as in every string wasm-bindgen hands the core. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const wellFormed = typeof String.prototype.toWellFormed === 'function'
  ? (s) => s.toWellFormed()
  : (s) => s.replace(LONE_SURROGATE, '\ufffd');

/**
 * The JSON text of a host's options object (sys.rs `from_js`), every string value well formed:
 * `JSON.stringify` writes a lone surrogate as an escape (`"\ud800"`) that the core's JSON
 * parser refuses, so a mount's `html` holding one failed the mount with a parser message.
 * Throws (like JSON.stringify) on cycles and BigInt.
 */
export function pwOptionsText(value) {
  return JSON.stringify(value, (key, v) => (typeof v === 'string' ? wellFormed(v) : v));
}

/** `v` when it is a string shorter than 1024 UTF-16 units, else undefined (binary.rs `string_of`). */
export function pwShortString(v) {
  return typeof v === 'string' && v.length < 1024 ? v : undefined;
}

/**
 * What the host reads off a plugin's port message before the core: `[id, pong seq, whether it
 * is a storage.set]`, each as sent (the core's layer checks them).
 */
export function pwPeek(data) {
  if (data === null || typeof data !== 'object') return [undefined, undefined, false];
  const d = data.event === 'pong' ? data.data : undefined; // core::protocol::EVENT_PONG
  return [data.id, d !== null && typeof d === 'object' ? d.seq : undefined, data.method === 'storage.set'];
}

/** Post the core's JSON text on `port` as pwDecode decodes it; false if it is not JSON. */
export function pwPost(port, text, buffers, copy) {
  try {
    const out = pwDecode(text, buffers, copy);
    if (out.transfer.length === 0) port.postMessage(out.value);
    else port.postMessage(out.value, out.transfer);
    return true;
  } catch {
    return false;
  }
}

function isPlaceholder(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, KEY)
    && Object.keys(v).length === 3 && typeof v.type === 'string' && Number.isSafeInteger(v.bytes);
}

function view(type, buffer) {
  if (type === 'ArrayBuffer') return buffer;
  if (type === 'DataView') return new DataView(buffer);
  const Ctor = TYPES[type];
  return Ctor ? new Ctor(buffer) : buffer;
}

/**
 * The value to post for the core's JSON text, and its transfer list. Side-table entries are
 * handed over (and taken out of the table) unless `copy`, which hands over fresh copies and
 * leaves the table as it was (for a value sent to several plugins, or built from the host
 * page's own buffers). Inline base64 becomes a fresh buffer. A placeholder naming no entry of
 * the right size (never written by the host) becomes null.
 */
export function pwDecode(text, buffers, copy) {
  // Most messages hold no binary data: a plain parse (a reviver makes JSON.parse several times
  // slower). The key cannot appear in the text but as a key or inside a string; either way the
  // reviver below decides.
  if (!text.includes('"$pw:binary"')) return { value: JSON.parse(text), transfer: [] };
  const transfer = [];
  const taken = new Map();
  const value = JSON.parse(text, (key, v) => {
    if (!isPlaceholder(v)) return v;
    const m = v[KEY];
    let buffer;
    if (typeof m === 'string') {
      buffer = fromBase64(m).buffer;
    } else if (taken.has(m)) {
      buffer = taken.get(m).slice(0);
    } else if (Number.isSafeInteger(m) && buffers && buffers[m] instanceof ArrayBuffer && buffers[m].byteLength === v.bytes) {
      buffer = copy ? buffers[m].slice(0) : buffers[m];
      taken.set(m, buffers[m]);
      if (!copy) buffers[m] = null;
    } else {
      return null;
    }
    transfer.push(buffer);
    return view(v.type, buffer);
  });
  return { value, transfer };
}

// What the area threw in the last pwPostStored that answered 2 (pwStoredError takes it).
let storedError = '';

/**
 * Read backend key `key` from `area` (a Web Storage area or a Map of JSON text) and post the
 * success reply for it: `{v, id, ok: true, value}` (the value decoded as pwPost decodes a reply
 * carrying that text), or `{v, id, ok: true}` for a missing key. 0 when posted, 1 when the
 * stored text is not one JSON value (nothing posted), 2 when the area threw (nothing posted;
 * pwStoredError answers the message). A number, so wasm reads it without another call.
 */
export function pwPostStored(port, v, id, area, key) {
  let text;
  try {
    text = area instanceof Map ? area.get(key) : area.getItem(key);
  } catch (e) {
    storedError = String((e && e.message) || e);
    return 2;
  }
  if (text === null || text === undefined) {
    port.postMessage({ v, id, ok: true });
    return 0;
  }
  text = String(text);
  // The value parsed from this very text at the last read of `key`, if it was (no binary data:
  // nothing to transfer). Only postMessage ever reads it, and it posts a copy.
  const hit = parsed.get(key);
  if (hit !== undefined && hit.text === text) {
    port.postMessage({ v, id, ok: true, value: hit.value });
    return 0;
  }
  let out;
  try {
    out = pwDecode(text, [], false);
  } catch {
    return 1;
  }
  const reply = { v, id, ok: true, value: out.value };
  if (out.transfer.length === 0) {
    if (parsed.size >= PARSED_KEYS && !parsed.has(key)) parsed.delete(parsed.keys().next().value);
    parsed.set(key, { text, value: out.value });
    port.postMessage(reply);
  } else {
    parsed.delete(key);
    port.postMessage(reply, out.transfer);
  }
  return 0;
}

// pwPostStored's last parse per backend key (at most PARSED_KEYS keys): a value read again
// unchanged is posted without parsing its text again (JSON.parse makes a fresh copy of every
// string in it, ~1 KiB or more of garbage per read).
const PARSED_KEYS = 32;
const parsed = new Map();

/** The message of what the area threw in the pwPostStored call that answered 2. */
export function pwStoredError() {
  const m = storedError;
  storedError = '';
  return m;
}

const ENCODER = new TextEncoder();
let utf8Read = 0;

/** `text`'s UTF-8 from UTF-16 unit `from` into `into` (a view of wasm memory): the bytes written (pwUtf8Read: the units read). */
export function pwUtf8Into(text, from, into) {
  const r = ENCODER.encodeInto(from === 0 ? text : text.substring(from), into);
  utf8Read = r.read;
  return r.written;
}

/** The UTF-16 units the last pwUtf8Into read. */
export function pwUtf8Read() {
  return utf8Read;
}
