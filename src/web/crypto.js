// Signature verification through WebCrypto, for PluginHost.install.
// RSASSA-PKCS1-v1_5 with SHA-256, or ECDSA P-256 with SHA-256 (raw r||s signatures, as
// WebCrypto and `plugin-warden sign` produce). The algorithm comes from the key, never from
// the plugin: a JWK's `kty`, or for SPKI (base64 or PEM) the key's own algorithm identifier.
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
const EC = { name: 'ECDSA', namedCurve: 'P-256' };

function b64(text) {
  const clean = String(text).replace(/-----[^-]+-----/g, '').replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(clean + '='.repeat((4 - (clean.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function importKey(publicKey) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw Object.assign(new Error('WebCrypto (crypto.subtle) is not available: a secure context is required'), { code: 'SIGNATURE_INVALID' });
  if (publicKey && typeof publicKey === 'object') {
    const alg = publicKey.kty === 'RSA' ? RSA : publicKey.kty === 'EC' && publicKey.crv === 'P-256' ? EC : null;
    if (!alg) throw Object.assign(new Error(`publicKey: expected an RSA or P-256 EC JWK, found kty ${JSON.stringify(publicKey.kty)}`), { code: 'SIGNATURE_INVALID' });
    return { key: await subtle.importKey('jwk', publicKey, alg, false, ['verify']), alg };
  }
  const der = b64(publicKey);
  for (const alg of [RSA, EC]) {
    try { return { key: await subtle.importKey('spki', der, alg, false, ['verify']), alg }; } catch { /* try the next */ }
  }
  throw Object.assign(new Error('publicKey: not an RSA or P-256 SPKI key (base64 or PEM)'), { code: 'SIGNATURE_INVALID' });
}

export async function pwVerify(code, signature, publicKey) {
  const { key, alg } = await importKey(publicKey);
  if (alg === RSA && key.algorithm.modulusLength < 2048) {
    throw Object.assign(new Error(`RSA keys under 2048 bits are refused (this one has ${key.algorithm.modulusLength})`), { code: 'SIGNATURE_INVALID' });
  }
  const params = alg === RSA ? RSA : { name: 'ECDSA', hash: 'SHA-256' };
  return globalThis.crypto.subtle.verify(params, key, b64(signature), new TextEncoder().encode(code));
}
