// Install harness page for tests/e2e/install.test.mjs, served with the host CSP. It exposes
// plugin-warden and small WebCrypto helpers (key generation, signing, SRI) to the test, which
// drives host.install() scenarios through page.evaluate. Nothing here touches an HTML sink.
import { PluginHost, pkg, plain, start } from './harness.js';

const enc = new TextEncoder();
const subtle = crypto.subtle;

function b64(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

const ALGS = {
  ecdsa: {
    gen: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' },
  },
  rsa: {
    gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
};

/** A fresh key pair of `kind` ('ecdsa' | 'rsa') with its public key as JWK and SPKI base64. */
async function keyPair(kind) {
  const pair = await subtle.generateKey(ALGS[kind].gen, true, ['sign', 'verify']);
  return {
    kind,
    privateKey: pair.privateKey,
    jwk: await subtle.exportKey('jwk', pair.publicKey),
    spki: b64(await subtle.exportKey('spki', pair.publicKey)),
  };
}

/**
 * The signed envelope (src/core/provenance.rs, format v1), computed here independently of the
 * SDK: the manifest's canonical JSON (members sorted by UTF-16 code units — what Array#sort
 * does —, JSON.stringify's escapes), SHA-256 of it and of the code, as lowercase hex lines.
 */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function sha256Hex(bytes) {
  return [...new Uint8Array(await subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function envelope(manifest, code) {
  const m = typeof manifest === 'string' ? JSON.parse(manifest) : manifest;
  const text = 'plugin-warden/signature/v1\n'
    + `manifest-sha256 ${await sha256Hex(enc.encode(canonical(m)))}\n`
    + `code-sha256 ${await sha256Hex(enc.encode(code))}\n`;
  return enc.encode(text);
}

/** Base64 signature over the envelope of `manifest` and `code` (ECDSA: raw r||s, as WebCrypto produces). */
async function sign(pair, manifest, code) {
  return b64(await subtle.sign(ALGS[pair.kind].sign, pair.privateKey, await envelope(manifest, code)));
}

/** `sha384-<base64>` of `code`'s UTF-8 bytes. */
async function sri(code, alg = 'SHA-384') {
  return `${alg.replace('-', '').toLowerCase()}-${b64(await subtle.digest(alg, enc.encode(code)))}`;
}

/** `code` with one byte changed (the byte at `at`, ASCII, flipped to another ASCII letter). */
function tamper(code, at = code.length - 2) {
  const c = code.charCodeAt(at);
  return code.slice(0, at) + String.fromCharCode(c === 0x41 ? 0x42 : 0x41) + code.slice(at + 1);
}

const stage = document.getElementById('stage');

/**
 * Install, then report: the outcome (info or error), host.status(id) and what a shadow mount
 * of the id does. The mount element is attached to the document.
 */
async function attempt(host, manifest, options, { mount = true } = {}) {
  const id = typeof manifest === 'string' ? JSON.parse(manifest).id : manifest.id;
  const out = { id };
  try {
    out.info = await host.install(manifest, options);
  } catch (e) {
    out.error = plain(e);
    out.isError = e instanceof Error;
  }
  try { out.status = host.status(id); } catch (e) { out.statusError = plain(e); }
  if (mount) {
    const el = document.createElement('div');
    stage.append(el);
    try {
      out.mount = await host.mount(id, el, { mode: 'shadow', html: '<p>hello</p>' });
      try { out.mountedStatus = host.status(id); host.unmount(id); out.afterUnmount = host.status(id); } catch (e) { out.unmountError = plain(e); }
    } catch (e) {
      out.mountError = plain(e);
    }
    el.remove();
  }
  return out;
}

let seq = 0;
/** A valid minimal manifest with a fresh id. */
function manifest(extra = {}) {
  seq += 1;
  return { id: `good-plugin-${seq}`, name: `Good ${seq}`, version: '1.0.0', ...extra };
}

start('installHarness', () => ({ PluginHost, signedBytes: pkg.signedBytes, keyPair, sign, envelope, sri, tamper, attempt, manifest, b64 }));
