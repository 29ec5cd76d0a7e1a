//! Plugin signatures: public keys, signature formats, and the [`Verifier`] that checks them.
//!
//! A plugin bundle may be signed by its author; the host (or a marketplace reviewer) holds the
//! author's **public key** and checks the signature before the plugin is installed
//! (DESIGN.md §3: parse manifest → verify signature → check SRI → …). *What* is signed — one
//! envelope over the manifest and the code — and which keys the host accepts (`trustedKeys`)
//! are decided in [`super::provenance`]; this module is keys, encodings and the [`Verifier`].
//!
//! # Algorithms
//!
//! Exactly two, and the algorithm always follows from the **key type**, never from a string
//! a plugin or a user supplies (no `alg: none`, no RSA/HMAC confusion):
//!
//! | key | algorithm | JOSE name | WebCrypto |
//! | --- | --- | --- | --- |
//! | RSA, 2048..=8192 bits | RSASSA-PKCS1-v1_5 with SHA-256 | `RS256` | `{name:'RSASSA-PKCS1-v1_5'}` imported with `hash:'SHA-256'` |
//! | EC on P-256 | ECDSA with SHA-256 | `ES256` | `{name:'ECDSA', hash:'SHA-256'}`, key `{name:'ECDSA', namedCurve:'P-256'}` |
//!
//! RSA keys under [`MIN_RSA_BITS`] are refused (they are breakable); keys over
//! [`MAX_RSA_BITS`] too (verification cost grows with the modulus, and no one needs them).
//!
//! # Formats
//!
//! - **Public keys** ([`PublicKey::parse`]): PEM `PUBLIC KEY` (SubjectPublicKeyInfo, what
//!   `openssl pkey -pubout` writes), PEM `RSA PUBLIC KEY` (PKCS#1), raw SPKI DER, base64 text
//!   of SPKI DER, or a JWK (`{"kty":"RSA","n","e"}` / `{"kty":"EC","crv":"P-256","x","y"}`).
//!   [`KeyFormat::detect`] tells them apart by their first bytes. This one rule serves the CLI
//!   (a key file's bytes) and the browser (`publicKey` / `trustedKeys` text, or a JWK object:
//!   [`crate::core::provenance::key_from_value`]), so both accept exactly the same keys; every
//!   key reaches WebCrypto as SPKI DER ([`PublicKey::to_spki_der`]), a PKCS#1 key included. A private key (PEM `PRIVATE KEY`, a JWK with `d`)
//!   is refused: a public key is expected, and a secret should not travel this path.
//! - **Signatures** ([`decode_signature`]): standard or URL-safe base64, padded or not, with
//!   surrounding whitespace — or raw binary, when the input is not base64.
//! - **ECDSA signature encoding.** WebCrypto signs and verifies the raw, fixed-size `r || s`
//!   (64 bytes for P-256, IEEE P1363), **not** the ASN.1 DER `SEQUENCE { r, s }` that OpenSSL
//!   writes (`openssl dgst -sha256 -sign ec.pem`). Signers in this crate produce the raw form,
//!   so `crypto.subtle.verify({name:'ECDSA',hash:'SHA-256'}, key, sig, data)` accepts them.
//!   Verifiers accept both: [`webcrypto_signature`] turns a DER signature into the raw form
//!   first. The rule: exactly 64 bytes is raw; anything else must be strict DER (minimal
//!   lengths and integers, no trailing bytes). Accepting both is safe: both encode the same
//!   `(r, s)`, and which encoding arrived changes nothing about what was signed.
//!
//! # What is pure and what is not
//!
//! Everything in this module except `NativeVerifier` and `SigningKey` (feature `cli` only) is
//! pure Rust with no cryptography of its own: parsing, format detection, bounds and
//! normalization. The arithmetic is behind the [`Verifier`] trait. The native command-line
//! tool (feature `cli`) implements it with RustCrypto (`rsa`, `p256`); in the browser, the web
//! adapter implements it with WebCrypto, importing [`PublicKey::to_spki_der`] as `'spki'` and passing
//! [`webcrypto_signature`]'s output to `crypto.subtle.verify`.
//!
//! # Which error code
//!
//! - The **key** is supplied by the host or the reviewer, not by a plugin: a key that does not
//!   parse, is of an unsupported type, or is too weak is [`SignatureError::InvalidKey`] /
//!   [`SignatureError::UnsupportedKey`] / [`SignatureError::WeakKey`], code
//!   `INVALID_ARGUMENT`.
//! - Anything about the **signature** or the **data** — malformed, wrong length, not made by
//!   this key over these bytes — is code `SIGNATURE_INVALID`.

use std::fmt;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;
use thiserror::Error;

use super::error::{Coded, ErrorCode};

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits.
pub const MAX_RSA_BITS: usize = 8192;
/// The largest key text ([`PublicKey::parse`]) accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 64 * 1024;
/// The largest signature input ([`decode_signature`]) accepted, in bytes.
pub const MAX_SIGNATURE_BYTES: usize = 16 * 1024;
/// The length of a raw P-256 ECDSA signature (`r || s`), as WebCrypto produces it.
pub const P256_RAW_SIGNATURE_LEN: usize = 64;

/// A signature algorithm. Chosen by the key's type ([`PublicKey::algorithm`]), never by input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`RS256`).
    RsaPkcs1v15Sha256,
    /// ECDSA on P-256 with SHA-256 (`ES256`), raw `r || s` signatures.
    EcdsaP256Sha256,
}

impl SignatureAlgorithm {
    /// The JOSE name (`RS256`, `ES256`).
    ///
    /// ```
    /// use plugin_warden::core::signature::SignatureAlgorithm;
    /// assert_eq!(SignatureAlgorithm::EcdsaP256Sha256.as_str(), "ES256");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaPkcs1v15Sha256 => "RS256",
            SignatureAlgorithm::EcdsaP256Sha256 => "ES256",
        }
    }

    /// The WebCrypto algorithm name (`RSASSA-PKCS1-v1_5`, `ECDSA`); the hash is always SHA-256.
    pub const fn webcrypto_name(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaPkcs1v15Sha256 => "RSASSA-PKCS1-v1_5",
            SignatureAlgorithm::EcdsaP256Sha256 => "ECDSA",
        }
    }

    /// A description for people (`RSASSA-PKCS1-v1_5 SHA-256`, `ECDSA P-256 SHA-256`).
    pub const fn description(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaPkcs1v15Sha256 => "RSASSA-PKCS1-v1_5 SHA-256",
            SignatureAlgorithm::EcdsaP256Sha256 => "ECDSA P-256 SHA-256",
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key or a signature was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The key could not be parsed.
    #[error(
        "public key is invalid: {reason}; expected a PEM \"PUBLIC KEY\" (SPKI), SPKI DER or a JWK"
    )]
    InvalidKey {
        /// What is wrong with it.
        reason: String,
    },
    /// The key parsed but is of a type or curve this SDK does not verify with.
    #[error("unsupported key: {found}; expected an RSA key or an EC key on P-256")]
    UnsupportedKey {
        /// What was found.
        found: String,
    },
    /// An RSA key outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`].
    #[error("RSA key of {bits} bits refused: expected {MIN_RSA_BITS} to {MAX_RSA_BITS} bits")]
    WeakKey {
        /// The modulus size found.
        bits: usize,
    },
    /// The signature is not in a format this algorithm uses (or not decodable at all).
    #[error("signature is malformed: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The algorithm asked for does not match the key's type.
    #[error("algorithm {requested} cannot be used with this key, whose algorithm is {key}")]
    AlgorithmMismatch {
        /// What the caller asked for.
        requested: SignatureAlgorithm,
        /// What the key's type implies.
        key: SignatureAlgorithm,
    },
    /// The signature is well-formed but was not made by this key over these bytes.
    #[error(
        "signature does not verify: it was not made over these bytes by the {algorithm} key given"
    )]
    Mismatch {
        /// The algorithm that was checked.
        algorithm: SignatureAlgorithm,
    },
    /// The host accepts only its `trustedKeys`, and the key given is not one of them.
    #[error("the public key given is not one of the host's trustedKeys")]
    UntrustedKey,
    /// Signing failed (only the native signer produces this).
    #[error("signing failed: {reason}")]
    Signing {
        /// What went wrong.
        reason: String,
    },
}

impl Coded for SignatureError {
    fn code(&self) -> ErrorCode {
        match self {
            SignatureError::InvalidKey { .. }
            | SignatureError::UnsupportedKey { .. }
            | SignatureError::WeakKey { .. } => ErrorCode::InvalidArgument,
            SignatureError::Signing { .. } => ErrorCode::Internal,
            SignatureError::Malformed { .. }
            | SignatureError::AlgorithmMismatch { .. }
            | SignatureError::UntrustedKey
            | SignatureError::Mismatch { .. } => ErrorCode::SignatureInvalid,
        }
    }
}

#[cold]
#[inline(never)]
fn invalid_key(reason: impl Into<String>) -> SignatureError {
    SignatureError::InvalidKey {
        reason: reason.into(),
    }
}

fn malformed(reason: impl Into<String>) -> SignatureError {
    SignatureError::Malformed {
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

/// Base64 text (standard or URL-safe, padding and ASCII whitespace optional) of DER: the
/// decoded bytes when they start with a `SEQUENCE` tag, else `None`.
fn base64_der(input: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = input
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let unpadded = compact
        .strip_suffix(b"==")
        .or_else(|| compact.strip_suffix(b"="));
    let unpadded = unpadded.unwrap_or(&compact);
    let der = STANDARD_NO_PAD
        .decode(unpadded)
        .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
        .ok()?;
    (der.first() == Some(&TAG_SEQUENCE)).then_some(der)
}

/// How a key is written, as [`KeyFormat::detect`] tells from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyFormat {
    /// RFC 7468 text: `-----BEGIN …-----`.
    Pem,
    /// Binary DER (starts with a `SEQUENCE` tag, `0x30`).
    Der,
    /// A JSON Web Key object (`{`).
    Jwk,
}

impl KeyFormat {
    /// Detect the format, ignoring leading ASCII whitespace (and a UTF-8 byte order mark).
    ///
    /// ```
    /// use plugin_warden::core::signature::KeyFormat;
    /// assert_eq!(KeyFormat::detect(b"-----BEGIN PUBLIC KEY-----\n"), Some(KeyFormat::Pem));
    /// assert_eq!(KeyFormat::detect(b"  {\"kty\":\"EC\"}"), Some(KeyFormat::Jwk));
    /// assert_eq!(KeyFormat::detect(&[0x30, 0x59]), Some(KeyFormat::Der));
    /// assert_eq!(KeyFormat::detect(b"ssh-rsa AAAA"), None);
    /// ```
    pub fn detect(input: &[u8]) -> Option<KeyFormat> {
        if input.first() == Some(&0x30) {
            return Some(KeyFormat::Der);
        }
        let text = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        let text = trim_ascii_start(text);
        if text.starts_with(b"-----BEGIN ") {
            Some(KeyFormat::Pem)
        } else if text.first() == Some(&b'{') {
            Some(KeyFormat::Jwk)
        } else {
            None
        }
    }
}

/// An RSA public key: modulus and public exponent, big-endian, without leading zero bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RsaPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaPublicKey {
    /// A key from its modulus and exponent (big-endian; leading zero bytes are ignored).
    ///
    /// # Errors
    /// [`SignatureError::WeakKey`] outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`];
    /// [`SignatureError::InvalidKey`] for an even modulus or an exponent that is even, below 3
    /// or over 2^33 − 1 (what RSA implementations, WebCrypto's included, accept).
    pub fn new(modulus: &[u8], exponent: &[u8]) -> Result<Self, SignatureError> {
        let n = strip_zeros(modulus);
        let e = strip_zeros(exponent);
        let bits = bit_len(n);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(SignatureError::WeakKey { bits });
        }
        if n.last().is_some_and(|b| b & 1 == 0) {
            return Err(invalid_key("the RSA modulus is even"));
        }
        let e_value = e
            .iter()
            .try_fold(0u64, |acc, &b| {
                acc.checked_mul(256).map(|v| v | u64::from(b))
            })
            .filter(|v| *v < (1 << 33));
        match e_value {
            Some(v) if v >= 3 && v % 2 == 1 => {}
            _ => {
                return Err(invalid_key(
                    "the RSA public exponent must be odd, at least 3 and below 2^33",
                ))
            }
        }
        Ok(RsaPublicKey {
            n: n.to_vec(),
            e: e.to_vec(),
        })
    }

    /// The modulus, big-endian, no leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// The public exponent, big-endian, no leading zeros.
    pub fn exponent(&self) -> &[u8] {
        &self.e
    }

    /// The modulus size in bits (2048 for an RSA-2048 key).
    pub fn bits(&self) -> usize {
        bit_len(&self.n)
    }

    /// The length in bytes of every signature this key verifies.
    pub fn signature_len(&self) -> usize {
        self.n.len()
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey({} bits)", self.bits())
    }
}

/// A P-256 public key as an uncompressed SEC1 point (`0x04 || x || y`, 65 bytes).
///
/// # Security
/// Only the encoding is checked here; whether the point is on the curve is checked by the
/// [`Verifier`] (RustCrypto's `p256` and WebCrypto both refuse points off the curve).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EcPublicKey {
    point: Vec<u8>,
}

impl EcPublicKey {
    /// A key from its SEC1 encoding: uncompressed (65 bytes, `0x04`) or compressed (33 bytes,
    /// `0x02`/`0x03`). A compressed point is kept as is.
    ///
    /// # Errors
    /// [`SignatureError::InvalidKey`] for any other length or prefix.
    pub fn from_sec1(point: &[u8]) -> Result<Self, SignatureError> {
        match (point.first(), point.len()) {
            (Some(0x04), 65) | (Some(0x02 | 0x03), 33) => Ok(EcPublicKey {
                point: point.to_vec(),
            }),
            _ => Err(invalid_key(format!(
                "a P-256 point is 65 bytes starting 0x04 (or 33 bytes starting 0x02/0x03), found {} bytes",
                point.len()
            ))),
        }
    }

    /// The key from JWK coordinates (32 bytes each).
    ///
    /// # Errors
    /// [`SignatureError::InvalidKey`] unless both are exactly 32 bytes.
    pub fn from_coordinates(x: &[u8], y: &[u8]) -> Result<Self, SignatureError> {
        if x.len() != 32 || y.len() != 32 {
            return Err(invalid_key(format!(
                "P-256 coordinates are 32 bytes each, found x: {} and y: {}",
                x.len(),
                y.len()
            )));
        }
        let mut point = Vec::with_capacity(65);
        point.push(0x04);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Ok(EcPublicKey { point })
    }

    /// The SEC1 encoding, as given.
    pub fn sec1(&self) -> &[u8] {
        &self.point
    }
}

impl fmt::Debug for EcPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcPublicKey(P-256, {} bytes)", self.point.len())
    }
}

/// A public key a signature is checked against. A value that exists has a supported type and
/// size; its algorithm follows from its type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PublicKey {
    /// An RSA key ([`SignatureAlgorithm::RsaPkcs1v15Sha256`]).
    Rsa(RsaPublicKey),
    /// A P-256 key ([`SignatureAlgorithm::EcdsaP256Sha256`]).
    EcP256(EcPublicKey),
}

const OID_RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const OID_PRIME256V1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const OID_SECP384R1: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
const OID_SECP521R1: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x23];
const OID_ED25519: &[u8] = &[0x2B, 0x65, 0x70];

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;

impl PublicKey {
    /// Parse a key in any supported format ([`KeyFormat::detect`]).
    ///
    /// # Errors
    /// [`SignatureError::InvalidKey`] (`INVALID_ARGUMENT`) when the format is unknown, the key
    /// does not parse, or it is a private key; [`SignatureError::UnsupportedKey`] for other key
    /// types and curves; [`SignatureError::WeakKey`] for RSA keys outside the accepted sizes.
    ///
    /// ```
    /// use plugin_warden::core::signature::{PublicKey, SignatureAlgorithm};
    /// let jwk = r#"{"kty":"EC","crv":"P-256",
    ///   "x":"CjlhtzHCELPqX5tKi0e_S8yoKgxlkbdoruL05-nIwfg",
    ///   "y":"_HHOU_VZfPzgIckdKB18xdI6bhkNQ1pgNrJGQrjCMLA"}"#;
    /// let key = PublicKey::parse(jwk.as_bytes()).unwrap();
    /// assert_eq!(key.algorithm(), SignatureAlgorithm::EcdsaP256Sha256);
    /// // The same key as SPKI DER parses back to an equal value.
    /// assert_eq!(PublicKey::parse(&key.to_spki_der()).unwrap(), key);
    /// assert!(PublicKey::parse(b"ssh-ed25519 AAAA").is_err());
    /// ```
    pub fn parse(input: &[u8]) -> Result<PublicKey, SignatureError> {
        if input.len() > MAX_KEY_BYTES {
            return Err(invalid_key(format!(
                "expected at most {MAX_KEY_BYTES} bytes, found {}",
                input.len()
            )));
        }
        match KeyFormat::detect(input) {
            Some(KeyFormat::Der) => PublicKey::from_spki_der(input),
            Some(KeyFormat::Pem) => {
                let text =
                    std::str::from_utf8(input).map_err(|_| invalid_key("PEM text is not UTF-8"))?;
                PublicKey::from_pem(text)
            }
            Some(KeyFormat::Jwk) => {
                let text =
                    std::str::from_utf8(input).map_err(|_| invalid_key("JWK text is not UTF-8"))?;
                PublicKey::from_jwk(text)
            }
            None => match base64_der(input) {
                Some(der) => PublicKey::from_spki_der(&der),
                None => Err(invalid_key(
                    "unrecognised format (not PEM, DER, base64 DER or a JWK object)",
                )),
            },
        }
    }

    /// Parse PEM: `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1). Text around the block is
    /// ignored; only the first block is read.
    ///
    /// # Errors
    /// As [`PublicKey::parse`]; a `PRIVATE KEY` block is refused with a hint to export the
    /// public key (`openssl pkey -in key.pem -pubout`).
    pub fn from_pem(text: &str) -> Result<PublicKey, SignatureError> {
        let (label, der) = decode_pem(text)?;
        match label {
            "PUBLIC KEY" => PublicKey::from_spki_der(&der),
            "RSA PUBLIC KEY" => PublicKey::from_pkcs1_der(&der),
            l if l.contains("PRIVATE KEY") => Err(invalid_key(format!(
                "found a PEM {l:?}, which is a private key; export its public key with `openssl pkey -in key.pem -pubout`"
            ))),
            l => Err(invalid_key(format!(
                "found a PEM {l:?} block; expected \"PUBLIC KEY\" or \"RSA PUBLIC KEY\""
            ))),
        }
    }

    /// Parse DER SubjectPublicKeyInfo (RFC 5280), strictly: minimal lengths, no trailing bytes.
    ///
    /// # Errors
    /// As [`PublicKey::parse`].
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, SignatureError> {
        let bad = |what: &str| invalid_key(format!("SPKI DER: {what}"));
        let mut outer = Der::new(der);
        let spki = outer
            .expect(TAG_SEQUENCE)
            .map_err(|_| bad("expected a SEQUENCE"))?;
        if !outer.is_empty() {
            return Err(bad("trailing bytes after the key"));
        }
        let mut spki = Der::new(spki);
        let algorithm = spki
            .expect(TAG_SEQUENCE)
            .map_err(|_| bad("expected an AlgorithmIdentifier"))?;
        let bits = spki
            .expect(TAG_BIT_STRING)
            .map_err(|_| bad("expected the subjectPublicKey BIT STRING"))?;
        if !spki.is_empty() {
            return Err(bad("trailing fields after the subjectPublicKey"));
        }
        let key = match bits.split_first() {
            Some((0, key)) => key,
            _ => return Err(bad("the subjectPublicKey BIT STRING has unused bits")),
        };
        let mut algorithm = Der::new(algorithm);
        let oid = algorithm
            .expect(TAG_OID)
            .map_err(|_| bad("expected an algorithm OID"))?;
        if oid == OID_RSA_ENCRYPTION {
            // RFC 3279 says the parameters are NULL; some encoders omit them. Accept both.
            if !algorithm.is_empty() {
                let params = algorithm
                    .expect(TAG_NULL)
                    .map_err(|_| bad("rsaEncryption parameters must be NULL"))?;
                if !params.is_empty() || !algorithm.is_empty() {
                    return Err(bad("rsaEncryption parameters must be NULL"));
                }
            }
            PublicKey::from_pkcs1_der(key)
        } else if oid == OID_EC_PUBLIC_KEY {
            let curve = algorithm
                .expect(TAG_OID)
                .map_err(|_| bad("expected a named curve OID"))?;
            if !algorithm.is_empty() {
                return Err(bad("trailing algorithm parameters"));
            }
            match curve {
                OID_PRIME256V1 => Ok(PublicKey::EcP256(EcPublicKey::from_sec1(key)?)),
                OID_SECP384R1 => Err(unsupported("an EC key on P-384")),
                OID_SECP521R1 => Err(unsupported("an EC key on P-521")),
                _ => Err(unsupported("an EC key on an unknown curve")),
            }
        } else if oid == OID_ED25519 {
            Err(unsupported("an Ed25519 key"))
        } else {
            Err(unsupported("a key of an unknown algorithm"))
        }
    }

    /// Parse DER PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus, publicExponent }`.
    ///
    /// # Errors
    /// As [`PublicKey::parse`].
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PublicKey, SignatureError> {
        let bad = |what: &str| invalid_key(format!("RSAPublicKey DER: {what}"));
        let mut outer = Der::new(der);
        let seq = outer
            .expect(TAG_SEQUENCE)
            .map_err(|_| bad("expected a SEQUENCE"))?;
        if !outer.is_empty() {
            return Err(bad("trailing bytes"));
        }
        let mut seq = Der::new(seq);
        let n = seq
            .unsigned_integer()
            .map_err(|_| bad("expected the modulus INTEGER"))?;
        let e = seq
            .unsigned_integer()
            .map_err(|_| bad("expected the exponent INTEGER"))?;
        if !seq.is_empty() {
            return Err(bad("trailing fields"));
        }
        Ok(PublicKey::Rsa(RsaPublicKey::new(n, e)?))
    }

    /// Parse a JSON Web Key (RFC 7517/7518): `kty` `RSA` with `n`, `e`, or `kty` `EC` with
    /// `crv` `P-256`, `x`, `y`. Values are base64url (padding tolerated). If present, `alg`
    /// must be `RS256`/`ES256` to match the key type, `use` must be `sig`, and `key_ops` must
    /// include `verify`. Other members are ignored.
    ///
    /// # Errors
    /// As [`PublicKey::parse`]; a JWK with a private member (`d`, `p`, `q`, …) is refused.
    ///
    /// ```
    /// use plugin_warden::core::signature::PublicKey;
    /// // A symmetric secret is never a public key.
    /// let err = PublicKey::from_jwk(r#"{"kty":"oct","k":"c2VjcmV0"}"#).unwrap_err();
    /// assert!(err.to_string().contains(r#"private member "k""#));
    /// let err = PublicKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","x":"AA"}"#).unwrap_err();
    /// assert!(err.to_string().contains("OKP"));
    /// ```
    pub fn from_jwk(text: &str) -> Result<PublicKey, SignatureError> {
        let bad = |what: String| invalid_key(format!("JWK: {what}"));
        let value: Value =
            crate::core::json::parse_value(text).map_err(|e| bad(format!("not JSON ({e})")))?;
        let Value::Object(jwk) = value else {
            return Err(bad("expected a JSON object".to_owned()));
        };
        let member = |name: &str| -> Result<Option<&str>, SignatureError> {
            match jwk.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(bad(format!("\"{name}\" must be a string"))),
            }
        };
        let required = |name: &str| -> Result<Vec<u8>, SignatureError> {
            let s = member(name)?.ok_or_else(|| bad(format!("\"{name}\" is missing")))?;
            decode_base64url(s).ok_or_else(|| bad(format!("\"{name}\" is not base64url")))
        };
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            if jwk.contains_key(private) {
                return Err(bad(format!(
                    "has the private member \"{private}\"; expected a public key only"
                )));
            }
        }
        if let Some(u) = member("use")? {
            if u != "sig" {
                return Err(bad(format!("\"use\" is {u:?}; expected \"sig\"")));
            }
        }
        if let Some(ops) = jwk.get("key_ops") {
            let verify = ops
                .as_array()
                .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")));
            if !verify {
                return Err(bad("\"key_ops\" does not include \"verify\"".to_owned()));
            }
        }
        let key = match member("kty")? {
            Some("RSA") => PublicKey::Rsa(RsaPublicKey::new(&required("n")?, &required("e")?)?),
            Some("EC") => match member("crv")? {
                Some("P-256") => PublicKey::EcP256(EcPublicKey::from_coordinates(
                    &required("x")?,
                    &required("y")?,
                )?),
                Some(crv) => return Err(unsupported(&format!("an EC JWK on curve {crv:?}"))),
                None => return Err(bad("\"crv\" is missing".to_owned())),
            },
            Some(kty) => return Err(unsupported(&format!("a JWK of kty {kty:?}"))),
            None => return Err(bad("\"kty\" is missing".to_owned())),
        };
        if let Some(alg) = member("alg")? {
            if alg != key.algorithm().as_str() {
                return Err(bad(format!(
                    "\"alg\" is {alg:?} but the key's algorithm is {}",
                    key.algorithm()
                )));
            }
        }
        Ok(key)
    }

    /// The algorithm this key verifies with: its type decides.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        match self {
            PublicKey::Rsa(_) => SignatureAlgorithm::RsaPkcs1v15Sha256,
            PublicKey::EcP256(_) => SignatureAlgorithm::EcdsaP256Sha256,
        }
    }

    /// The key as DER SubjectPublicKeyInfo, ready for WebCrypto's `importKey('spki', …)`.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let (algorithm, key) = match self {
            PublicKey::Rsa(k) => {
                let mut alg = tlv(TAG_OID, OID_RSA_ENCRYPTION);
                alg.extend(tlv(TAG_NULL, &[]));
                let mut ints = der_unsigned(&k.n);
                ints.extend(der_unsigned(&k.e));
                (alg, tlv(TAG_SEQUENCE, &ints))
            }
            PublicKey::EcP256(k) => {
                let mut alg = tlv(TAG_OID, OID_EC_PUBLIC_KEY);
                alg.extend(tlv(TAG_OID, OID_PRIME256V1));
                (alg, k.point.clone())
            }
        };
        let mut bits = Vec::with_capacity(key.len() + 1);
        bits.push(0);
        bits.extend(key);
        let mut body = tlv(TAG_SEQUENCE, &algorithm);
        body.extend(tlv(TAG_BIT_STRING, &bits));
        tlv(TAG_SEQUENCE, &body)
    }
}

fn unsupported(found: &str) -> SignatureError {
    SignatureError::UnsupportedKey {
        found: found.to_owned(),
    }
}

/// Decode the first PEM block: its label and its DER bytes.
fn decode_pem(text: &str) -> Result<(&str, Vec<u8>), SignatureError> {
    let bad = |what: &str| invalid_key(format!("PEM: {what}"));
    let start = text
        .find("-----BEGIN ")
        .ok_or_else(|| bad("no -----BEGIN line"))?;
    let rest = text.get(start + "-----BEGIN ".len()..).unwrap_or_default();
    let (label, rest) = rest
        .split_once("-----")
        .ok_or_else(|| bad("unterminated BEGIN line"))?;
    let end_line = format!("-----END {label}-----");
    let (body, _) = rest
        .split_once(end_line.as_str())
        .ok_or_else(|| bad(&format!("no {end_line} line")))?;
    if body.contains(':') {
        return Err(bad("encrypted or header-carrying PEM is not supported"));
    }
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let unpadded = compact.trim_end_matches('=');
    let der = STANDARD_NO_PAD
        .decode(unpadded)
        .map_err(|_| bad("the body is not base64"))?;
    Ok((label, der))
}

// ---------------------------------------------------------------------------------------------
// Signatures

/// Decode a signature as it arrives in a file or a message: base64 (standard or URL-safe,
/// padded or not, with any ASCII whitespace around or inside, as wrapped by `openssl base64`)
/// when the whole input is that, raw bytes otherwise.
///
/// # Errors
/// [`SignatureError::Malformed`] (`SIGNATURE_INVALID`) for an empty input or one over
/// [`MAX_SIGNATURE_BYTES`].
///
/// ```
/// use plugin_warden::core::signature::decode_signature;
/// assert_eq!(decode_signature(b"AQID\n").unwrap(), [1, 2, 3]);
/// assert_eq!(decode_signature(b"-_8").unwrap(), [0xfb, 0xff]);
/// assert_eq!(decode_signature(&[0x30, 0x06, 0x02]).unwrap(), [0x30, 0x06, 0x02]); // raw
/// assert!(decode_signature(b"  ").is_err());
/// ```
pub fn decode_signature(input: &[u8]) -> Result<Vec<u8>, SignatureError> {
    if input.len() > MAX_SIGNATURE_BYTES {
        return Err(malformed(format!(
            "expected at most {MAX_SIGNATURE_BYTES} bytes, found {}",
            input.len()
        )));
    }
    let trimmed = trim_ascii_start(trim_ascii_end(input));
    if trimmed.is_empty() {
        return Err(malformed("the signature is empty"));
    }
    // `openssl base64` (without -A) wraps lines at 64 characters: whitespace inside is dropped.
    if trimmed.is_ascii() {
        let compact: String = trimmed
            .iter()
            .filter(|b| !b.is_ascii_whitespace())
            .map(|&b| char::from(b))
            .collect();
        if let Some(bytes) = decode_base64_any(&compact) {
            return Ok(bytes);
        }
    }
    Ok(input.to_vec())
}

/// Base64 in either alphabet, padding optional and, if present, correct.
fn decode_base64_any(s: &str) -> Option<Vec<u8>> {
    let unpadded = s
        .strip_suffix("==")
        .or_else(|| s.strip_suffix('='))
        .unwrap_or(s);
    if s.len() % 4 != 0 && unpadded.len() != s.len() {
        return None; // padding present but wrong
    }
    if unpadded.contains(['-', '_']) {
        URL_SAFE_NO_PAD.decode(unpadded).ok()
    } else {
        STANDARD_NO_PAD.decode(unpadded).ok()
    }
    .filter(|b| !b.is_empty())
}

fn decode_base64url(s: &str) -> Option<Vec<u8>> {
    let unpadded = s.trim_end_matches('=');
    URL_SAFE_NO_PAD.decode(unpadded).ok()
}

/// The signature in the form WebCrypto's `verify` takes for `key`'s algorithm — what every
/// [`Verifier`] checks: for ECDSA the raw 64-byte `r || s` (a DER signature is converted), for
/// RSA the signature unchanged once its length is checked.
///
/// # Errors
/// [`SignatureError::AlgorithmMismatch`] when `alg` is not the key's algorithm;
/// [`SignatureError::Malformed`] (both `SIGNATURE_INVALID`) when an RSA signature is not exactly
/// as long as the modulus, or an ECDSA signature is neither 64 bytes nor strict DER with
/// `0 < r, s < 2^256`.
///
/// ```
/// use plugin_warden::core::signature::{webcrypto_signature, PublicKey, SignatureAlgorithm};
/// let key = PublicKey::parse(br#"{"kty":"EC","crv":"P-256",
///   "x":"CjlhtzHCELPqX5tKi0e_S8yoKgxlkbdoruL05-nIwfg",
///   "y":"_HHOU_VZfPzgIckdKB18xdI6bhkNQ1pgNrJGQrjCMLA"}"#).unwrap();
/// let alg = SignatureAlgorithm::EcdsaP256Sha256;
/// // DER SEQUENCE { INTEGER 1, INTEGER 2 } becomes 32-byte big-endian r || s.
/// let raw = webcrypto_signature(alg, &key, &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]).unwrap();
/// assert_eq!((raw.len(), raw[31], raw[63]), (64, 1, 2));
/// assert!(webcrypto_signature(alg, &key, &[0u8; 63]).is_err());
/// ```
pub fn webcrypto_signature(
    alg: SignatureAlgorithm,
    key: &PublicKey,
    sig: &[u8],
) -> Result<Vec<u8>, SignatureError> {
    if alg != key.algorithm() {
        return Err(SignatureError::AlgorithmMismatch {
            requested: alg,
            key: key.algorithm(),
        });
    }
    match key {
        PublicKey::Rsa(k) => {
            if sig.len() != k.signature_len() {
                return Err(malformed(format!(
                    "an RSA-{} signature is {} bytes, found {}",
                    k.bits(),
                    k.signature_len(),
                    sig.len()
                )));
            }
            Ok(sig.to_vec())
        }
        PublicKey::EcP256(_) => {
            if sig.len() == P256_RAW_SIGNATURE_LEN {
                return Ok(sig.to_vec());
            }
            ecdsa_der_to_raw(sig).ok_or_else(|| {
                malformed(format!(
                    "an ECDSA P-256 signature is 64 bytes (raw r || s, as WebCrypto makes) or DER \
                     SEQUENCE {{ r, s }} (as OpenSSL makes); found {} bytes that are neither",
                    sig.len()
                ))
            })
        }
    }
}

/// Strict DER `SEQUENCE { INTEGER r, INTEGER s }` to 64-byte `r || s`.
fn ecdsa_der_to_raw(sig: &[u8]) -> Option<Vec<u8>> {
    let mut outer = Der::new(sig);
    let seq = outer.expect(TAG_SEQUENCE).ok()?;
    if !outer.is_empty() {
        return None;
    }
    let mut seq = Der::new(seq);
    let r = seq.unsigned_integer().ok()?;
    let s = seq.unsigned_integer().ok()?;
    if !seq.is_empty() {
        return None;
    }
    let mut raw = vec![0u8; P256_RAW_SIGNATURE_LEN];
    for (int, half) in [r, s].into_iter().zip(raw.chunks_mut(32)) {
        let int = strip_zeros(int);
        if int.is_empty() || int.len() > 32 {
            return None;
        }
        let start = 32 - int.len();
        half.get_mut(start..)?.copy_from_slice(int);
    }
    Some(raw)
}

/// Checks a signature with some cryptography implementation.
///
/// Implementations: `NativeVerifier` (RustCrypto, feature `cli`); the browser adapter's,
/// over WebCrypto. Both receive raw signature bytes (already [`decode_signature`]d) and must
/// accept the same inputs, which [`webcrypto_signature`] normalizes.
pub trait Verifier {
    /// Check that `sig` was made over `data` by `key` with `alg`.
    ///
    /// # Errors
    /// [`SignatureError::AlgorithmMismatch`] when `alg` is not `key.algorithm()`;
    /// [`SignatureError::Malformed`] for a signature of the wrong shape;
    /// [`SignatureError::Mismatch`] when it does not verify. All `SIGNATURE_INVALID`.
    fn verify(
        &self,
        alg: SignatureAlgorithm,
        key: &PublicKey,
        data: &[u8],
        sig: &[u8],
    ) -> Result<(), SignatureError>;

    /// [`Verifier::verify`] with the algorithm the key's type implies.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    fn verify_with_key(
        &self,
        key: &PublicKey,
        data: &[u8],
        sig: &[u8],
    ) -> Result<(), SignatureError> {
        self.verify(key.algorithm(), key, data, sig)
    }
}

// ---------------------------------------------------------------------------------------------
// Native cryptography (feature `cli`)

#[cfg(feature = "cli")]
pub use native::{NativeVerifier, SigningKey};

#[cfg(feature = "cli")]
mod native {
    use p256::ecdsa::signature::{Signer as _, Verifier as _};
    use pkcs8::der::Decode as _;
    use rsa::pkcs1v15;
    use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
    use rsa::BigUint;
    use sha2::Sha256;

    use super::{
        invalid_key, unsupported, webcrypto_signature, PublicKey, SignatureAlgorithm,
        SignatureError, Verifier, MAX_RSA_BITS, OID_EC_PUBLIC_KEY, OID_PRIME256V1,
        OID_RSA_ENCRYPTION,
    };

    /// A [`Verifier`] backed by RustCrypto (`rsa`, `p256`). Native builds with feature `cli`.
    ///
    /// ```
    /// use plugin_warden::core::signature::{NativeVerifier, SigningKey, Verifier};
    /// # let pem = std::fs::read_to_string("tests/fixtures/cli/keys/p256.pem").unwrap();
    /// let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
    /// let sig = key.sign(b"bundle").unwrap();
    /// assert_eq!(sig.len(), 64); // raw r || s, as WebCrypto expects
    /// let public = key.public_key();
    /// assert!(NativeVerifier.verify_with_key(&public, b"bundle", &sig).is_ok());
    /// assert!(NativeVerifier.verify_with_key(&public, b"bundle!", &sig).is_err());
    /// ```
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct NativeVerifier;

    impl Verifier for NativeVerifier {
        fn verify(
            &self,
            alg: SignatureAlgorithm,
            key: &PublicKey,
            data: &[u8],
            sig: &[u8],
        ) -> Result<(), SignatureError> {
            let sig = webcrypto_signature(alg, key, sig)?;
            let mismatch = || SignatureError::Mismatch { algorithm: alg };
            match key {
                PublicKey::Rsa(k) => {
                    let public = rsa::RsaPublicKey::new_with_max_size(
                        BigUint::from_bytes_be(k.modulus()),
                        BigUint::from_bytes_be(k.exponent()),
                        MAX_RSA_BITS,
                    )
                    .map_err(|e| invalid_key(format!("RSA: {e}")))?;
                    let verifying = pkcs1v15::VerifyingKey::<Sha256>::new(public);
                    let signature =
                        pkcs1v15::Signature::try_from(sig.as_slice()).map_err(|_| mismatch())?;
                    rsa::signature::Verifier::verify(&verifying, data, &signature)
                        .map_err(|_| mismatch())
                }
                PublicKey::EcP256(k) => {
                    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(k.sec1())
                        .map_err(|_| invalid_key("the P-256 point is not on the curve"))?;
                    // `from_slice` refuses r or s equal to zero or not below the group order.
                    let signature =
                        p256::ecdsa::Signature::from_slice(&sig).map_err(|_| mismatch())?;
                    verifying.verify(data, &signature).map_err(|_| mismatch())
                }
            }
        }
    }

    /// A private key for signing bundles: RSA (RSASSA-PKCS1-v1_5 SHA-256) or P-256 (ECDSA
    /// SHA-256), the algorithm following from the key's type. Native builds with feature `cli`.
    pub struct SigningKey {
        inner: Inner,
        public: PublicKey,
    }

    enum Inner {
        Rsa(Box<pkcs1v15::SigningKey<Sha256>>),
        Ec(p256::ecdsa::SigningKey),
    }

    impl std::fmt::Debug for SigningKey {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            // Never print key material.
            write!(f, "SigningKey({})", self.algorithm())
        }
    }

    impl SigningKey {
        /// Read an unencrypted PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`, what
        /// `openssl genpkey` writes).
        ///
        /// # Errors
        /// [`SignatureError::InvalidKey`] for other PEM labels (with a conversion hint), for an
        /// unparsable key, or a public key; [`SignatureError::UnsupportedKey`] for other types
        /// and curves; [`SignatureError::WeakKey`] for RSA keys outside the accepted sizes.
        pub fn from_pkcs8_pem(text: &str) -> Result<SigningKey, SignatureError> {
            let (label, der) = super::decode_pem(text)?;
            match label {
                "PRIVATE KEY" => SigningKey::from_pkcs8_der(&der),
                "ENCRYPTED PRIVATE KEY" => Err(invalid_key(
                    "the private key is encrypted; decrypt it with `openssl pkcs8 -in key.pem -out plain.pem`",
                )),
                "RSA PRIVATE KEY" | "EC PRIVATE KEY" => Err(invalid_key(format!(
                    "found a PEM {label:?} (not PKCS#8); convert it with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out pkcs8.pem`"
                ))),
                "PUBLIC KEY" => Err(invalid_key(
                    "found a public key; signing needs the private key",
                )),
                other => Err(invalid_key(format!(
                    "found a PEM {other:?} block; expected \"PRIVATE KEY\" (PKCS#8)"
                ))),
            }
        }

        /// Read an unencrypted PKCS#8 DER private key.
        ///
        /// # Errors
        /// As [`SigningKey::from_pkcs8_pem`].
        pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, SignatureError> {
            let info = pkcs8::PrivateKeyInfo::from_der(der)
                .map_err(|e| invalid_key(format!("PKCS#8: {e}")))?;
            let oid = info.algorithm.oid.as_bytes();
            let (inner, public) = if oid == OID_RSA_ENCRYPTION {
                let key = rsa::RsaPrivateKey::try_from(info)
                    .map_err(|e| invalid_key(format!("RSA private key: {e}")))?;
                let n = rsa::traits::PublicKeyParts::n(&key).to_bytes_be();
                let e = rsa::traits::PublicKeyParts::e(&key).to_bytes_be();
                // The same size and exponent rules as for verification.
                let public = PublicKey::Rsa(super::RsaPublicKey::new(&n, &e)?);
                (
                    Inner::Rsa(Box::new(pkcs1v15::SigningKey::<Sha256>::new(key))),
                    public,
                )
            } else if oid == OID_EC_PUBLIC_KEY {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map_err(|_| invalid_key("PKCS#8: an EC key without a named curve"))?;
                if curve.as_bytes() != OID_PRIME256V1 {
                    return Err(unsupported("an EC key on a curve other than P-256"));
                }
                let secret = p256::SecretKey::try_from(info)
                    .map_err(|e| invalid_key(format!("P-256 private key: {e}")))?;
                let signing = p256::ecdsa::SigningKey::from(secret);
                let point = signing.verifying_key().to_encoded_point(false);
                let public = PublicKey::EcP256(super::EcPublicKey::from_sec1(point.as_bytes())?);
                (Inner::Ec(signing), public)
            } else {
                return Err(unsupported("a private key of an unsupported algorithm"));
            };
            Ok(SigningKey { inner, public })
        }

        /// The algorithm this key signs with.
        pub fn algorithm(&self) -> SignatureAlgorithm {
            match self.inner {
                Inner::Rsa(_) => SignatureAlgorithm::RsaPkcs1v15Sha256,
                Inner::Ec(_) => SignatureAlgorithm::EcdsaP256Sha256,
            }
        }

        /// The matching public key.
        pub fn public_key(&self) -> PublicKey {
            self.public.clone()
        }

        /// Sign `data`. ECDSA signatures are the raw 64-byte `r || s` WebCrypto verifies (not
        /// DER), deterministic per RFC 6979; RSA signatures are as long as the modulus and are
        /// computed with blinding from the OS random source.
        ///
        /// # Errors
        /// [`SignatureError::Signing`] (`INTERNAL`) when the RSA operation fails.
        pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignatureError> {
            match &self.inner {
                Inner::Rsa(k) => {
                    let sig = k
                        .try_sign_with_rng(&mut rsa::rand_core::OsRng, data)
                        .map_err(|e| SignatureError::Signing {
                            reason: e.to_string(),
                        })?;
                    Ok(sig.to_vec())
                }
                Inner::Ec(k) => {
                    let sig: p256::ecdsa::Signature = k.sign(data);
                    Ok(sig.to_bytes().to_vec())
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A strict DER reader and writer, just enough for keys and signatures.

/// Reads TLVs from a byte slice. Definite, minimal lengths only (DER), at most 64 KiB.
struct Der<'a> {
    rest: &'a [u8],
}

/// A DER structure was malformed (the caller says where).
struct DerError;

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Der { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The content of the next TLV, which must have tag `tag`.
    fn expect(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        let (&found, rest) = self.rest.split_first().ok_or(DerError)?;
        if found != tag {
            return Err(DerError);
        }
        let (&first, mut rest) = rest.split_first().ok_or(DerError)?;
        let len = match first {
            0..=0x7F => usize::from(first),
            0x81 => {
                let (&b, r) = rest.split_first().ok_or(DerError)?;
                rest = r;
                if b < 0x80 {
                    return Err(DerError); // not minimal
                }
                usize::from(b)
            }
            0x82 => {
                let (bytes, r) = rest.split_at_checked(2).ok_or(DerError)?;
                rest = r;
                let len = bytes
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
                if len < 0x100 {
                    return Err(DerError); // not minimal
                }
                len
            }
            _ => return Err(DerError), // indefinite, or longer than this reader allows
        };
        let (content, rest) = rest.split_at_checked(len).ok_or(DerError)?;
        self.rest = rest;
        Ok(content)
    }

    /// A non-negative, minimally encoded INTEGER's content (may keep one leading zero byte).
    fn unsigned_integer(&mut self) -> Result<&'a [u8], DerError> {
        let int = self.expect(TAG_INTEGER)?;
        match int {
            [] => Err(DerError),
            [b, ..] if b & 0x80 != 0 => Err(DerError), // negative
            [0, next, ..] if next & 0x80 == 0 => Err(DerError), // not minimal
            _ => Ok(int),
        }
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 4);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        // invariant: keys this module builds are far below 64 KiB (RSA-8192 is ~1 KiB).
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// An unsigned big-endian magnitude as a DER INTEGER (a zero byte added if the top bit is set).
fn der_unsigned(magnitude: &[u8]) -> Vec<u8> {
    let magnitude = strip_zeros(magnitude);
    let mut content = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(magnitude);
    tlv(TAG_INTEGER, &content)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

fn bit_len(magnitude: &[u8]) -> usize {
    let magnitude = strip_zeros(magnitude);
    match magnitude.first() {
        None => 0,
        Some(&top) => magnitude.len() * 8 - top.leading_zeros() as usize,
    }
}

fn trim_ascii_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

fn trim_ascii_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    bytes.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_reader_refuses_non_minimal_and_truncated_lengths() {
        assert!(Der::new(&[0x30, 0x81, 0x05, 1, 2, 3, 4, 5])
            .expect(0x30)
            .is_err());
        assert!(Der::new(&[0x30, 0x82, 0x00, 0x05]).expect(0x30).is_err());
        assert!(Der::new(&[0x30, 0x80, 0, 0]).expect(0x30).is_err());
        assert!(Der::new(&[0x30, 0x05, 1]).expect(0x30).is_err());
        assert!(Der::new(&[0x30]).expect(0x30).is_err());
        assert!(Der::new(&[0x02, 0x02, 0x00, 0x01])
            .unsigned_integer()
            .is_err());
        assert!(Der::new(&[0x02, 0x01, 0x80]).unsigned_integer().is_err());
        assert!(Der::new(&[0x02, 0x02, 0x00, 0x80])
            .unsigned_integer()
            .is_ok());
    }

    #[test]
    fn der_writer_round_trips_lengths() {
        for len in [0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1234] {
            let content = vec![7u8; len];
            let encoded = tlv(0x04, &content);
            assert_eq!(
                Der::new(&encoded).expect(0x04).ok(),
                Some(content.as_slice())
            );
        }
    }

    #[test]
    fn bit_len_counts_the_top_byte() {
        assert_eq!(bit_len(&[0, 0x01, 0]), 9);
        assert_eq!(bit_len(&[0x80]), 8);
        assert_eq!(bit_len(&[]), 0);
    }
}
