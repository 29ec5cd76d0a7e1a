//! Provenance: what a plugin signature covers, which keys may make it, and how the browser's
//! asynchronous WebCrypto fits between the engine's synchronous decisions.
//!
//! # The signed envelope (format v1)
//!
//! A signature covers the **manifest and the code together**, so neither can be swapped or
//! edited (a permission added, a network origin widened, one byte of code changed) without
//! breaking it. The bytes signed are ASCII text, exactly:
//!
//! ```text
//! plugin-warden/signature/v1\n
//! manifest-sha256 <64 lowercase hex digits>\n
//! code-sha256 <64 lowercase hex digits>\n
//! ```
//!
//! - the first line is a fixed domain-separation prefix ([`ENVELOPE_PREFIX`]): a signature over
//!   anything else (a bare bundle, another tool's payload) never verifies as an envelope;
//! - `manifest-sha256` is the SHA-256 of the manifest's **canonical JSON** ([`canonical_json`]):
//!   the manifest as JSON text, parsed, then written with no whitespace, object members sorted
//!   by key (UTF-16 code units, as RFC 8785 JCS sorts), strings escaped only where JSON requires
//!   (`"`, `\`, control characters; `\b \t \n \f \r` short forms, others `\u00xx`), numbers as
//!   `serde_json` writes them (integers in decimal). For manifests of the current schema, which
//!   hold no non-integer numbers, this is RFC 8785. Whitespace, member order and escapes of the
//!   signer's `plugin.json` do not matter; every value does;
//! - `code-sha256` is the SHA-256 of the code's UTF-8 bytes, as given to `install({ code })`,
//!   to a mount's `code`, or read from the bundle file by the CLI. (A byte order mark is part of
//!   the bytes: `fetch(…).text()` drops one, so do not ship bundles with a BOM.)
//!
//! The signature is RS256 or ES256 over these bytes, the algorithm following from the key
//! ([`super::signature`]). `plugin-warden sign --key k.pem --manifest plugin.json bundle.js`
//! makes it; `plugin-warden verify` and the browser check it, both through [`Envelope`].
//!
//! # Which keys
//!
//! Without the host option `trustedKeys`, the key arrives with each `install` (`publicKey`):
//! a signature then proves the code and manifest were not altered *after signing by whoever
//! holds that key* — nothing about who the author is, since anyone can sign with a fresh key
//! and send its public half along. With `trustedKeys` ([`TrustedKeys`]), only those keys verify:
//! `publicKey` may be omitted (each trusted key is tried) and, if given, must be one of them;
//! any other key is `SIGNATURE_INVALID`.
//!
//! # Pure decisions, raw crypto outside
//!
//! The engine decides everything: which candidate keys, which bytes, which signature encoding
//! ([`SignatureCheck`]). The adapter only answers "does candidate *i* verify?" — natively with
//! [`super::signature::Verifier`] ([`SignatureCheck::verify_with`]), in the browser with
//! WebCrypto, then [`SignatureCheck::confirm`]. Either way the result is a [`SignedEnvelope`],
//! which only this module can make and which names the exact manifest and code it covers: the
//! engine refuses it for any other code.

use std::fmt;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::error::{Coded as _, ErrorCode};
use super::signature::{webcrypto_signature, PublicKey, SignatureError, Verifier};

/// The first line of every envelope (domain separation; the version is part of it).
pub const ENVELOPE_PREFIX: &str = "plugin-warden/signature/v1\n";

/// The canonical JSON text of `value` (see the module docs): compact, members sorted by key in
/// UTF-16 code-unit order, minimal escapes.
///
/// ```
/// use plugin_warden::core::provenance::canonical_json;
/// let v: serde_json::Value = serde_json::from_str(r#"{ "b": [1, "x\u00e9\n"], "a": {"d": null, "c": true} }"#).unwrap();
/// assert_eq!(canonical_json(&v), "{\"a\":{\"c\":true,\"d\":null},\"b\":[1,\"xé\\n\"]}");
/// ```
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            crate::core::collections::sort_by(&mut members, |(a, _), (b, _)| {
                a.encode_utf16().lt(b.encode_utf16())
            });
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        // null, booleans and numbers: serde_json's own compact form.
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a manifest's canonical JSON: what an [`Envelope`] names.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ManifestDigest([u8; 32]);

impl ManifestDigest {
    /// The digest of manifest JSON text.
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] (`SIGNATURE_INVALID`) when the text is not JSON (a
    /// manifest that parsed is always JSON).
    ///
    /// ```
    /// use plugin_warden::core::provenance::ManifestDigest;
    /// let a = ManifestDigest::of_json(r#"{"id":"acme","name":"A"}"#).unwrap();
    /// let b = ManifestDigest::of_json("{ \"name\": \"A\",\n  \"id\": \"acme\" }").unwrap();
    /// assert_eq!(a, b); // layout and member order do not matter
    /// assert_ne!(a, ManifestDigest::of_json(r#"{"id":"acme","name":"B"}"#).unwrap());
    /// ```
    pub fn of_json(text: &str) -> Result<ManifestDigest, SignatureError> {
        let value =
            crate::core::json::parse_value(text).map_err(|e| SignatureError::Malformed {
                reason: format!("the manifest is not JSON ({e})"),
            })?;
        Ok(ManifestDigest::of_value(&value))
    }

    /// The digest of a parsed manifest value.
    pub fn of_value(value: &Value) -> ManifestDigest {
        ManifestDigest(sha256(canonical_json(value).as_bytes()))
    }

    /// The digest as lowercase hex.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Debug for ManifestDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManifestDigest({})", self.to_hex())
    }
}

/// A manifest's [`ManifestDigest`], computed the first time a signature needs it. Most plugins
/// are installed unsigned: hashing their manifest is then work, and code (SHA-256 and the
/// canonical JSON), that a host's first visit never needs, and the core's split leaves it out
/// of the part every host loads.
///
/// ```
/// use plugin_warden::core::provenance::{LazyDigest, ManifestDigest};
/// let text = r#"{"id":"acme","name":"A"}"#;
/// let lazy = LazyDigest::of_json(text);
/// assert_eq!(lazy.get().unwrap(), ManifestDigest::of_json(text).unwrap());
/// assert!(LazyDigest::of_json("not json").get().is_err());
/// ```
#[derive(Clone, Debug)]
pub struct LazyDigest {
    json: Box<str>,
    digest: std::cell::OnceCell<ManifestDigest>,
}

impl LazyDigest {
    /// The digest of manifest JSON text, to be computed when first asked for.
    pub fn of_json(json: &str) -> LazyDigest {
        LazyDigest {
            json: json.into(),
            digest: std::cell::OnceCell::new(),
        }
    }

    /// The digest ([`ManifestDigest::of_json`] of the text, computed once).
    ///
    /// # Errors
    /// As [`ManifestDigest::of_json`]: never for the text of a manifest that parsed.
    pub fn get(&self) -> Result<ManifestDigest, SignatureError> {
        if let Some(d) = self.digest.get() {
            return Ok(*d);
        }
        let d = ManifestDigest::of_json(&self.json)?;
        Ok(*self.digest.get_or_init(|| d))
    }
}

/// What a signature covers: one manifest and one code, by digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Envelope {
    manifest: ManifestDigest,
    code: [u8; 32],
}

impl Envelope {
    /// The envelope for `manifest` and `code`.
    pub fn new(manifest: ManifestDigest, code: &[u8]) -> Envelope {
        Envelope {
            manifest,
            code: sha256(code),
        }
    }

    /// The bytes that are signed (see the module docs).
    ///
    /// ```
    /// use plugin_warden::core::provenance::{Envelope, ManifestDigest};
    /// let m = ManifestDigest::of_json(r#"{"id":"acme","name":"A"}"#).unwrap();
    /// let text = String::from_utf8(Envelope::new(m, b"export {}").to_bytes()).unwrap();
    /// let lines: Vec<&str> = text.lines().collect();
    /// assert_eq!(lines[0], "plugin-warden/signature/v1");
    /// assert_eq!(lines[1], format!("manifest-sha256 {}", m.to_hex()));
    /// assert!(lines[2].starts_with("code-sha256 ") && lines[2].len() == 12 + 64);
    /// assert!(text.ends_with('\n'));
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "{ENVELOPE_PREFIX}manifest-sha256 {}\ncode-sha256 {}\n",
            self.manifest.to_hex(),
            hex(&self.code)
        )
        .into_bytes()
    }

    /// Whether this envelope covers exactly `manifest` and `code`.
    pub fn covers(&self, manifest: &ManifestDigest, code: &[u8]) -> bool {
        *self == Envelope::new(*manifest, code)
    }
}

/// A public key as the JS API takes it (`publicKey`, `trustedKeys[i]`): a JWK object, or a
/// string holding a PEM block or base64 SPKI DER.
///
/// # Errors
/// [`SignatureError::InvalidKey`] / `UnsupportedKey` / `WeakKey` (`INVALID_ARGUMENT`).
///
/// ```
/// use plugin_warden::core::provenance::key_from_value;
/// let jwk = serde_json::json!({"kty":"EC","crv":"P-256",
///   "x":"CjlhtzHCELPqX5tKi0e_S8yoKgxlkbdoruL05-nIwfg",
///   "y":"_HHOU_VZfPzgIckdKB18xdI6bhkNQ1pgNrJGQrjCMLA"});
/// let key = key_from_value(&jwk).unwrap();
/// use base64::Engine as _;
/// let b64 = base64::engine::general_purpose::STANDARD.encode(key.to_spki_der());
/// assert_eq!(key_from_value(&serde_json::Value::String(b64)).unwrap(), key);
/// assert!(key_from_value(&serde_json::json!(42)).is_err());
/// ```
pub fn key_from_value(value: &Value) -> Result<PublicKey, SignatureError> {
    match value {
        Value::Object(_) => PublicKey::from_jwk(&value.to_string()),
        // The CLI's rule for a key file's bytes: PEM, JWK text or base64 SPKI DER.
        Value::String(s) => PublicKey::parse(s.as_bytes()),
        _ => Err(SignatureError::InvalidKey {
            reason: "expected a JWK object or a PEM / JWK / base64 SPKI string".to_owned(),
        }),
    }
}

/// The host option `trustedKeys`: the only keys whose signatures the host accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    /// Parse the option's values.
    ///
    /// # Errors
    /// [`SignatureError::InvalidKey`] (`INVALID_ARGUMENT`) for an empty list (it would refuse
    /// every signature: leave the option out instead) or a key that does not parse; the
    /// message names its index.
    pub fn parse(values: &[Value]) -> Result<TrustedKeys, SignatureError> {
        if values.is_empty() {
            return Err(SignatureError::InvalidKey {
                reason: "trustedKeys is empty; give at least one key or leave the option out"
                    .to_owned(),
            });
        }
        let keys = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                key_from_value(v).map_err(|e| SignatureError::InvalidKey {
                    reason: format!("trustedKeys[{i}]: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedKeys { keys })
    }

    /// The keys, in the order given.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Which keys a signature is checked against, given the install's `publicKey` (if any).
    ///
    /// # Errors
    /// [`SignatureError::UntrustedKey`] (`SIGNATURE_INVALID`) when `given` is not one of them.
    pub fn candidates(&self, given: Option<PublicKey>) -> Result<Vec<PublicKey>, SignatureError> {
        match given {
            None => Ok(self.keys.clone()),
            Some(k) if self.keys.contains(&k) => Ok(vec![k]),
            Some(_) => Err(SignatureError::UntrustedKey),
        }
    }
}

/// One key a signature may verify under, with the signature in the form WebCrypto takes for
/// that key's algorithm ([`webcrypto_signature`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The key (import it as `'spki'` from [`PublicKey::to_spki_der`]).
    pub key: PublicKey,
    /// The signature, normalized for this key's algorithm.
    pub signature: Vec<u8>,
}

/// A signature to check: the envelope's bytes and the candidate keys. Made by the engine; the
/// adapter verifies it ([`SignatureCheck::verify_with`] or [`SignatureCheck::confirm`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureCheck {
    envelope: Envelope,
    message: Vec<u8>,
    candidates: Vec<Candidate>,
}

impl SignatureCheck {
    /// A check of `signature` (raw bytes, see [`super::signature::decode_signature`]) over
    /// `envelope` under each of `keys`.
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] (`SIGNATURE_INVALID`) when the signature has a shape none
    /// of the keys' algorithms uses (e.g. 64 bytes offered to an RSA-2048 key).
    pub fn new(
        envelope: Envelope,
        signature: &[u8],
        keys: Vec<PublicKey>,
    ) -> Result<SignatureCheck, SignatureError> {
        let mut first_error = None;
        let mut candidates = Vec::with_capacity(keys.len());
        for key in keys {
            match webcrypto_signature(key.algorithm(), &key, signature) {
                Ok(signature) => candidates.push(Candidate { key, signature }),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if candidates.is_empty() {
            return Err(first_error.unwrap_or(SignatureError::Malformed {
                reason: "no key to check the signature with".to_owned(),
            }));
        }
        Ok(SignatureCheck {
            message: envelope.to_bytes(),
            envelope,
            candidates,
        })
    }

    /// The bytes the signature must cover ([`Envelope::to_bytes`]).
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// The keys to try, in order.
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// The adapter's answer: candidate `index` verified the signature over [`Self::message`].
    ///
    /// # Errors
    /// [`SignatureError::Mismatch`] when `index` is `None` (no candidate verified) or out of
    /// range.
    pub fn confirm(mut self, index: Option<usize>) -> Result<SignedEnvelope, SignatureError> {
        let mismatch = |c: &[Candidate]| SignatureError::Mismatch {
            algorithm: c
                .first()
                .map(|c| c.key.algorithm())
                .unwrap_or(super::signature::SignatureAlgorithm::EcdsaP256Sha256),
        };
        let Some(i) = index else {
            return Err(mismatch(&self.candidates));
        };
        if i >= self.candidates.len() {
            return Err(mismatch(&self.candidates));
        }
        let key = self.candidates.swap_remove(i).key;
        Ok(SignedEnvelope {
            envelope: self.envelope,
            key,
        })
    }

    /// Verify natively (the CLI, tests): the first candidate that verifies wins.
    ///
    /// # Errors
    /// [`SignatureError::Mismatch`] when none verifies; a key the verifier cannot use
    /// (`INVALID_ARGUMENT`) is reported if no other candidate verified.
    pub fn verify_with(self, verifier: &impl Verifier) -> Result<SignedEnvelope, SignatureError> {
        let mut key_error = None;
        let mut found = None;
        for (i, c) in self.candidates.iter().enumerate() {
            match verifier.verify_with_key(&c.key, &self.message, &c.signature) {
                Ok(()) => {
                    found = Some(i);
                    break;
                }
                Err(e) if e.code() == ErrorCode::InvalidArgument => {
                    key_error.get_or_insert(e);
                }
                Err(_) => {}
            }
        }
        match (found, key_error) {
            (None, Some(e)) => Err(e),
            (found, _) => self.confirm(found),
        }
    }
}

/// Proof that a signature over an [`Envelope`] verified under a key. Only
/// [`SignatureCheck`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedEnvelope {
    envelope: Envelope,
    key: PublicKey,
}

impl SignedEnvelope {
    /// What was signed.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The key that verified it.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
}

/// Where code that is about to run comes from, as far as signatures go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// No signature was given.
    Unsigned,
    /// A signature verified ([`SignatureCheck`]).
    Signed(SignedEnvelope),
}
