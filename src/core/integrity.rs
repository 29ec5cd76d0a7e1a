//! Subresource Integrity (SRI): parse `integrity` metadata and check bytes against it.
//!
//! Follows the W3C SRI "parse metadata" and "do bytes match metadataList" algorithms, with two
//! deliberate differences for an install-time check (browsers stay the judge at load time):
//!
//! - **A hash of a supported algorithm must be well-formed.** The spec keeps a malformed value
//!   and lets it never match; here `sha384-!!!` or a digest of the wrong length is an error at
//!   parse time, so a reviewer sees the typo instead of a mismatch.
//! - **No supported hash is an error, not "no integrity".** The spec treats metadata with no
//!   recognised algorithm as if there were no `integrity` attribute at all, which would turn a
//!   typo (`sha-384-…`) into silently unchecked code. An [`Integrity`] always holds at least one
//!   supported hash; a caller for whom integrity is optional holds an `Option<Integrity>`.
//!
//! Everything else is as specified: tokens are separated by ASCII whitespace; each token is
//! `<alg>-<base64>` optionally followed by `?<options>`, which are ignored; algorithm names are
//! the lowercase `sha256`, `sha384`, `sha512` and any other name (including `SHA384`, `md5`) is
//! skipped; only the **strongest** algorithm present is checked, and any of its hashes matching
//! passes. Digests are accepted in the standard or URL-safe base64 alphabet, with or without
//! `=` padding (as browsers accept them), but must be canonical (no stray trailing bits).
//!
//! # Which error code
//!
//! Every [`IntegrityError`] has the code `INTEGRITY_MISMATCH`: the bytes could not be shown to
//! match the metadata, whether the bytes or the metadata are at fault, and install fails either
//! way. The variant and message say which. A manifest validator that wants a malformed
//! `entry.integrity` reported as `INVALID_MANIFEST` calls [`Integrity::parse`] itself and maps
//! the error, naming the field.
//!
//! Signature verification (`SIGNATURE_INVALID`) lives elsewhere: [`super::signature`] decides
//! what is signed and checks the key; the browser verifies with WebCrypto and the CLI with
//! RustCrypto.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use thiserror::Error;

use super::error::{Coded, ErrorCode};

/// The most hashes one metadata string may list (Firefox allows 256 alternates per algorithm).
pub const MAX_HASHES: usize = 256;

/// A hash algorithm SRI supports, ordered by strength (`Sha256 < Sha384 < Sha512`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SriAlgorithm {
    /// SHA-256 (32-byte digest).
    Sha256,
    /// SHA-384 (48-byte digest); what the manifest examples use.
    Sha384,
    /// SHA-512 (64-byte digest).
    Sha512,
}

impl SriAlgorithm {
    /// Every algorithm, weakest first.
    pub const ALL: [SriAlgorithm; 3] = [
        SriAlgorithm::Sha256,
        SriAlgorithm::Sha384,
        SriAlgorithm::Sha512,
    ];

    /// The token used in metadata (`sha256`, `sha384`, `sha512`).
    ///
    /// ```
    /// use plugin_warden::core::integrity::SriAlgorithm;
    /// assert_eq!(SriAlgorithm::Sha384.as_str(), "sha384");
    /// assert!(SriAlgorithm::Sha256 < SriAlgorithm::Sha512);
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            SriAlgorithm::Sha256 => "sha256",
            SriAlgorithm::Sha384 => "sha384",
            SriAlgorithm::Sha512 => "sha512",
        }
    }

    /// The digest length in bytes.
    ///
    /// ```
    /// use plugin_warden::core::integrity::SriAlgorithm;
    /// assert_eq!(SriAlgorithm::Sha384.digest_len(), 48);
    /// ```
    pub const fn digest_len(self) -> usize {
        match self {
            SriAlgorithm::Sha256 => 32,
            SriAlgorithm::Sha384 => 48,
            SriAlgorithm::Sha512 => 64,
        }
    }

    /// The algorithm named by a metadata token, matched exactly (lowercase), as SRI does.
    ///
    /// ```
    /// use plugin_warden::core::integrity::SriAlgorithm;
    /// assert_eq!(SriAlgorithm::from_token("sha512"), Some(SriAlgorithm::Sha512));
    /// assert_eq!(SriAlgorithm::from_token("SHA512"), None);
    /// assert_eq!(SriAlgorithm::from_token("md5"), None);
    /// ```
    pub fn from_token(token: &str) -> Option<Self> {
        SriAlgorithm::ALL.into_iter().find(|a| a.as_str() == token)
    }

    /// The digest of `bytes` under this algorithm.
    ///
    /// ```
    /// use plugin_warden::core::integrity::SriAlgorithm;
    /// assert_eq!(SriAlgorithm::Sha256.digest(b"").len(), 32);
    /// ```
    pub fn digest(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            SriAlgorithm::Sha256 => Sha256::digest(bytes).to_vec(),
            SriAlgorithm::Sha384 => Sha384::digest(bytes).to_vec(),
            SriAlgorithm::Sha512 => Sha512::digest(bytes).to_vec(),
        }
    }
}

impl fmt::Display for SriAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why integrity metadata was refused or bytes did not match it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntegrityError {
    /// A token names a supported algorithm but its digest is not valid base64.
    #[error("integrity token {token:?}: the {algorithm} digest is not valid base64")]
    BadBase64 {
        /// The token, without options.
        token: String,
        /// Its algorithm.
        algorithm: SriAlgorithm,
    },
    /// A token's digest decodes to the wrong number of bytes for its algorithm.
    #[error("integrity token {token:?}: a {algorithm} digest is {expected} bytes, found {found}")]
    BadLength {
        /// The token, without options.
        token: String,
        /// Its algorithm.
        algorithm: SriAlgorithm,
        /// The digest length of `algorithm`.
        expected: usize,
        /// What the base64 decoded to.
        found: usize,
    },
    /// The metadata holds no hash of a supported algorithm (it may be empty).
    #[error("integrity metadata {metadata:?} has no sha256, sha384 or sha512 hash")]
    NoSupportedHash {
        /// The metadata as given (truncated to 200 characters).
        metadata: String,
    },
    /// More than [`MAX_HASHES`] tokens.
    #[error("integrity metadata lists {found} tokens; at most {MAX_HASHES} are accepted")]
    TooManyHashes {
        /// How many tokens were found.
        found: usize,
    },
    /// The bytes match none of the strongest algorithm's hashes.
    #[error("bytes do not match the integrity metadata: expected {expected}, found {found}")]
    Mismatch {
        /// The algorithm that was checked (the strongest present).
        algorithm: SriAlgorithm,
        /// The hashes of that algorithm, space-separated.
        expected: String,
        /// The hash of the bytes under that algorithm.
        found: String,
    },
}

impl Coded for IntegrityError {
    fn code(&self) -> ErrorCode {
        ErrorCode::IntegrityMismatch
    }
}

/// One well-formed SRI hash: a supported algorithm and a digest of the right length.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SriHash {
    algorithm: SriAlgorithm,
    digest: Vec<u8>,
}

impl SriHash {
    /// Parse one token, `sha384-<base64>[?options]`; options are ignored.
    ///
    /// # Errors
    /// - [`IntegrityError::NoSupportedHash`] when the token does not name a supported algorithm
    ///   (so a single token behaves like a one-token [`Integrity`]).
    /// - [`IntegrityError::BadBase64`] / [`IntegrityError::BadLength`] when the digest is not
    ///   canonical base64 or has the wrong length for the algorithm.
    ///
    /// ```
    /// use plugin_warden::core::integrity::{SriAlgorithm, SriHash};
    /// let h = SriHash::parse("sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=?ct=js").unwrap();
    /// assert_eq!(h.algorithm(), SriAlgorithm::Sha256);
    /// assert!(h.matches(b""));
    /// assert!(SriHash::parse("sha256-AAAA").is_err()); // 3 bytes, not 32
    /// ```
    pub fn parse(token: &str) -> Result<Self, IntegrityError> {
        match parse_token(token)? {
            Some(hash) => Ok(hash),
            None => Err(IntegrityError::NoSupportedHash {
                metadata: truncate(token),
            }),
        }
    }

    /// The hash of `bytes` under `algorithm`.
    ///
    /// ```
    /// use plugin_warden::core::integrity::{SriAlgorithm, SriHash};
    /// let h = SriHash::compute(b"plugin", SriAlgorithm::Sha512);
    /// assert!(h.matches(b"plugin"));
    /// assert!(!h.matches(b"plugin "));
    /// ```
    pub fn compute(bytes: &[u8], algorithm: SriAlgorithm) -> Self {
        SriHash {
            algorithm,
            digest: algorithm.digest(bytes),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> SriAlgorithm {
        self.algorithm
    }

    /// The raw digest (exactly [`SriAlgorithm::digest_len`] bytes).
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// Whether `bytes` hash to this digest. The comparison looks at every byte (no early exit).
    pub fn matches(&self, bytes: &[u8]) -> bool {
        digests_equal(&self.digest, &self.algorithm.digest(bytes))
    }
}

impl fmt::Display for SriHash {
    /// The canonical form: `alg-` and padded standard base64.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.algorithm, STANDARD.encode(&self.digest))
    }
}

impl fmt::Debug for SriHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SriHash({self})")
    }
}

impl FromStr for SriHash {
    type Err = IntegrityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SriHash::parse(s)
    }
}

/// Parsed integrity metadata: one or more [`SriHash`]es (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Integrity {
    hashes: Vec<SriHash>,
}

impl Integrity {
    /// Parse whitespace-separated metadata, skipping tokens of unknown algorithms.
    ///
    /// # Errors
    /// - [`IntegrityError::BadBase64`] / [`IntegrityError::BadLength`] for a malformed token of a
    ///   supported algorithm, even beside other valid tokens.
    /// - [`IntegrityError::NoSupportedHash`] when no supported hash remains (including `""`).
    /// - [`IntegrityError::TooManyHashes`] over [`MAX_HASHES`] tokens.
    ///
    /// # Security
    /// Treating "nothing recognised" as an error (rather than as "no integrity", as the SRI spec
    /// does) means a typo can never switch the check off.
    ///
    /// ```
    /// use plugin_warden::core::integrity::{Integrity, SriAlgorithm};
    /// let i = Integrity::parse(
    ///     "md5-xxxx sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    /// ).unwrap();
    /// assert_eq!(i.hashes().len(), 1);
    /// assert_eq!(i.strongest(), SriAlgorithm::Sha256);
    /// assert!(Integrity::parse("md5-xxxx").is_err());
    /// assert!(Integrity::parse("").is_err());
    /// ```
    pub fn parse(metadata: &str) -> Result<Self, IntegrityError> {
        let mut hashes = Vec::new();
        for (n, token) in metadata.split_ascii_whitespace().enumerate() {
            if n >= MAX_HASHES {
                return Err(IntegrityError::TooManyHashes {
                    found: metadata.split_ascii_whitespace().count(),
                });
            }
            if let Some(hash) = parse_token(token)? {
                hashes.push(hash);
            }
        }
        if hashes.is_empty() {
            return Err(IntegrityError::NoSupportedHash {
                metadata: truncate(metadata),
            });
        }
        Ok(Integrity { hashes })
    }

    /// Metadata holding exactly `hashes`.
    ///
    /// # Errors
    /// [`IntegrityError::NoSupportedHash`] when `hashes` is empty;
    /// [`IntegrityError::TooManyHashes`] when it is longer than [`MAX_HASHES`].
    pub fn from_hashes(hashes: Vec<SriHash>) -> Result<Self, IntegrityError> {
        if hashes.is_empty() {
            return Err(IntegrityError::NoSupportedHash {
                metadata: String::new(),
            });
        }
        if hashes.len() > MAX_HASHES {
            return Err(IntegrityError::TooManyHashes {
                found: hashes.len(),
            });
        }
        Ok(Integrity { hashes })
    }

    /// The supported hashes, in the order written.
    pub fn hashes(&self) -> &[SriHash] {
        &self.hashes
    }

    /// The strongest algorithm present: the only one [`Integrity::verify`] checks.
    pub fn strongest(&self) -> SriAlgorithm {
        self.hashes
            .iter()
            .map(SriHash::algorithm)
            .max()
            // invariant: `hashes` is never empty (checked by every constructor)
            .unwrap_or(SriAlgorithm::Sha256)
    }

    /// Check `bytes` against the metadata: only the strongest algorithm present counts, and
    /// any of its hashes matching passes. Returns the algorithm that was checked.
    ///
    /// # Errors
    /// [`IntegrityError::Mismatch`] (`INTEGRITY_MISMATCH`) naming the expected hashes and the
    /// hash actually found.
    ///
    /// # Security
    /// A weaker hash that matches never rescues a stronger one that does not (SRI's rule), so an
    /// attacker who can add a `sha256-…` token for their own bytes gains nothing while a
    /// `sha512-…` token is present.
    ///
    /// ```
    /// use plugin_warden::core::integrity::{sri, Integrity, SriAlgorithm};
    /// let code = b"console.log('hi')";
    /// let i = Integrity::parse(&sri(code, SriAlgorithm::Sha384)).unwrap();
    /// assert_eq!(i.verify(code), Ok(SriAlgorithm::Sha384));
    /// assert!(i.verify(b"console.log('pwned')").is_err());
    /// ```
    pub fn verify(&self, bytes: &[u8]) -> Result<SriAlgorithm, IntegrityError> {
        let algorithm = self.strongest();
        let actual = algorithm.digest(bytes);
        let candidates = self.hashes.iter().filter(|h| h.algorithm == algorithm);
        // Fold over every candidate rather than stopping at the first match: the result is all
        // that leaks, not which token matched.
        let matched = candidates
            .clone()
            .fold(false, |acc, h| digests_equal(&h.digest, &actual) | acc);
        if matched {
            return Ok(algorithm);
        }
        Err(IntegrityError::Mismatch {
            algorithm,
            expected: candidates
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            found: SriHash {
                algorithm,
                digest: actual,
            }
            .to_string(),
        })
    }
}

impl FromStr for Integrity {
    type Err = IntegrityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Integrity::parse(s)
    }
}

impl fmt::Display for Integrity {
    /// The canonical form: the supported hashes, space-separated (unknown tokens and options
    /// dropped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, h) in self.hashes.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{h}")?;
        }
        Ok(())
    }
}

/// The SRI string of `bytes` under `algorithm`, e.g. `sha384-<base64>`.
///
/// ```
/// use plugin_warden::core::integrity::{sri, SriAlgorithm};
/// // echo -n "" | openssl dgst -sha256 -binary | openssl base64 -A
/// assert_eq!(
///     sri(b"", SriAlgorithm::Sha256),
///     "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
/// );
/// ```
pub fn sri(bytes: &[u8], algorithm: SriAlgorithm) -> String {
    SriHash::compute(bytes, algorithm).to_string()
}

/// One token: `Ok(None)` for an unknown algorithm (skipped, as SRI says).
fn parse_token(token: &str) -> Result<Option<SriHash>, IntegrityError> {
    let expression = token.split_once('?').map_or(token, |(e, _options)| e);
    // Split on the first `-` only: the URL-safe alphabet uses `-` inside the digest.
    let (name, value) = expression.split_once('-').unwrap_or((expression, ""));
    let Some(algorithm) = SriAlgorithm::from_token(name) else {
        return Ok(None);
    };
    let bad_base64 = || IntegrityError::BadBase64 {
        token: expression.to_owned(),
        algorithm,
    };
    let unpadded = value
        .strip_suffix("==")
        .or_else(|| value.strip_suffix('='))
        .unwrap_or(value);
    let standard: String = unpadded
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    let digest = STANDARD_NO_PAD
        .decode(standard.as_bytes())
        .map_err(|_| bad_base64())?;
    if digest.is_empty() {
        return Err(bad_base64());
    }
    if digest.len() != algorithm.digest_len() {
        return Err(IntegrityError::BadLength {
            token: expression.to_owned(),
            algorithm,
            expected: algorithm.digest_len(),
            found: digest.len(),
        });
    }
    Ok(Some(SriHash { algorithm, digest }))
}

/// Equal length and equal bytes, looking at every byte.
fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}
