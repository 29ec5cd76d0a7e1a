// IndexedDB and WebCrypto for plugin-warden's `storage: 'indexeddb'` (and `encrypt: true`).
// Decisions are made in Rust (src/core/storage/deferred.rs); this file only moves bytes, in
// the transactions that contract describes. Database `plugin-warden`, version 1:
//   records: backend key -> { v: stored value (JSON text, or { iv, ct } when sealed), n: bytes }
//   usage:   namespace prefix -> bytes of its records
//   keys:    namespace prefix -> non-extractable AES-GCM CryptoKey
const RECORDS = 'records';
const USAGE = 'usage';
const KEYS = 'keys';
let opened = null;

function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function db() {
  if (!opened) {
    const r = indexedDB.open('plugin-warden', 1);
    r.onupgradeneeded = () => {
      for (const s of [RECORDS, USAGE, KEYS]) r.result.createObjectStore(s);
    };
    opened = req(r).catch((e) => { opened = null; throw e; });
  }
  return opened;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
    tx.onerror = () => {};
  });
}

/** The prefix range: every key starting with `prefix`. */
function range(prefix) {
  return IDBKeyRange.bound(prefix, `${prefix}\uffff`, false, false);
}

export async function pwIdbGet(encoded) {
  const d = await db();
  const rec = await req(d.transaction(RECORDS).objectStore(RECORDS).get(encoded));
  return rec === undefined ? undefined : rec.v;
}

/**
 * One readwrite transaction: read the namespace's usage and the old record's bytes, ask
 * `admit(usage, oldBytes)` (Rust; throws to refuse), then write the record and the new usage.
 * Any failure aborts the whole transaction.
 */
export async function pwIdbSet(encoded, prefix, stored, bytes, admit) {
  const d = await db();
  const tx = d.transaction([RECORDS, USAGE], 'readwrite');
  const finished = done(tx);
  const records = tx.objectStore(RECORDS);
  const usage = tx.objectStore(USAGE);
  let refused = null;
  const u = usage.get(prefix);
  u.onsuccess = () => {
    const old = records.get(encoded);
    old.onsuccess = () => {
      try {
        const next = admit(u.result ?? 0, old.result?.n ?? 0);
        records.put({ v: stored, n: bytes }, encoded);
        usage.put(next, prefix);
      } catch (e) {
        refused = e;
        tx.abort();
      }
    };
  };
  try {
    await finished;
  } catch (e) {
    throw refused ?? e;
  }
}

export async function pwIdbRemove(encoded, prefix) {
  const d = await db();
  const tx = d.transaction([RECORDS, USAGE], 'readwrite');
  const finished = done(tx);
  const records = tx.objectStore(RECORDS);
  const usage = tx.objectStore(USAGE);
  const old = records.get(encoded);
  old.onsuccess = () => {
    if (old.result === undefined) return;
    records.delete(encoded);
    const u = usage.get(prefix);
    u.onsuccess = () => usage.put(Math.max(0, (u.result ?? 0) - old.result.n), prefix);
  };
  await finished;
}

export async function pwIdbKeys(prefix) {
  const d = await db();
  return req(d.transaction(RECORDS).objectStore(RECORDS).getAllKeys(range(prefix)));
}

export async function pwIdbClear(prefix) {
  const d = await db();
  const tx = d.transaction([RECORDS, USAGE], 'readwrite');
  const finished = done(tx);
  tx.objectStore(RECORDS).delete(range(prefix));
  tx.objectStore(USAGE).put(0, prefix);
  await finished;
}

/** The namespace's AES-GCM key: created on first use, non-extractable, kept in IndexedDB. */
export async function pwPluginKey(prefix) {
  const d = await db();
  const existing = await req(d.transaction(KEYS).objectStore(KEYS).get(prefix));
  if (existing) return existing;
  const fresh = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  // Another tab may have created one meanwhile: `add` fails then, and that one is used.
  const tx = d.transaction(KEYS, 'readwrite');
  const finished = done(tx);
  tx.objectStore(KEYS).add(fresh, prefix).onerror = (e) => e.preventDefault();
  await finished.catch(() => {});
  return req(d.transaction(KEYS).objectStore(KEYS).get(prefix));
}

export async function pwSeal(key, aad, text) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, new TextEncoder().encode(text));
  return { iv, ct: new Uint8Array(ct) };
}

/** The plaintext, or an exception (the Rust side reports INTEGRITY_MISMATCH). */
export async function pwOpen(key, aad, stored) {
  if (!stored || !(stored.iv instanceof Uint8Array) || !(stored.ct instanceof Uint8Array)) {
    throw new Error('the stored value is not a sealed value');
  }
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: stored.iv, additionalData: aad }, key, stored.ct);
  return new TextDecoder('utf-8', { fatal: true }).decode(plain);
}

/** Forget the namespace's key (uninstall with removeData: its sealed values are gone too). */
export async function pwDropKey(prefix) {
  const d = await db();
  const tx = d.transaction(KEYS, 'readwrite');
  const finished = done(tx);
  tx.objectStore(KEYS).delete(prefix);
  await finished;
}
