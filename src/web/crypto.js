// The raw WebCrypto step of signature verification (src/web/crypto.rs). Everything else —
// which keys, which bytes (the signed envelope over manifest and code), the signature's
// encoding, key sizes — is decided in Rust (src/core/provenance.rs). The key arrives as SPKI
// DER and its algorithm name from the core, never from a plugin.
const IMPORT = {
  'RSASSA-PKCS1-v1_5': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  ECDSA: { name: 'ECDSA', namedCurve: 'P-256' },
};
const VERIFY = {
  'RSASSA-PKCS1-v1_5': { name: 'RSASSA-PKCS1-v1_5' },
  ECDSA: { name: 'ECDSA', hash: 'SHA-256' },
};

/** Whether `signature` verifies over `message` under the SPKI key; rejects when WebCrypto is missing or refuses the key. */
export async function pwVerifyRaw(spki, algorithm, signature, message) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('WebCrypto (crypto.subtle) is not available: a secure context is required');
  if (!IMPORT[algorithm]) throw new Error(`unknown algorithm ${algorithm}`);
  const key = await subtle.importKey('spki', spki, IMPORT[algorithm], false, ['verify']);
  return subtle.verify(VERIFY[algorithm], key, signature, message);
}
