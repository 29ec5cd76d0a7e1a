//! Semver compatibility: does a plugin's `compatibility` range admit the host version?
//!
//! The range comes from the plugin manifest and is written the way npm writes ranges, so it is
//! translated into the `semver` crate's (Cargo-flavoured) syntax before it is parsed:
//!
//! | npm range | meaning here |
//! | --- | --- |
//! | `^3.0.0`, `~1.2`, `1.x`, `*` | as in npm (and in the `semver` crate) |
//! | `>=1.0.0 <2.0.0` | whitespace-separated comparators all must match (npm's AND) |
//! | `1.2.3 - 2.3.4` | hyphen range, `>=1.2.3 <=2.3.4` |
//! | `1.2.3`, `=1.2.3`, `v1.2.3` | **exactly** 1.2.3 (npm's meaning, not Cargo's caret default) |
//! | `1.2` (bare, partial) | `1.2.x` |
//! | `a \|\| b` | any alternative matching passes |
//! | `>=1.0.0, <2.0.0` | the `semver` crate's comma form: the same AND as whitespace |
//!
//! # Grammar
//!
//! ```text
//! range       = alternative *( "||" alternative )       ; at most 16 alternatives, 256 bytes
//! alternative = hyphen / comparators
//! hyphen      = version SP "-" SP version               ; `1.2.3 - 2.3.4`
//! comparators = comparator *( (SP / ",") comparator )   ; all must match
//! comparator  = [ op [SP] ] ["v"] version               ; op: >= <= > < = ~ ^ ~>
//! version     = part [ "." part [ "." part ] ] [ "-" pre ] [ "+" build ] ; part: digits, x, X, *
//! ```
//!
//! Every alternative must hold at least one comparator: `""`, `"^1 ||"`, `"|| ^1"`,
//! `"^1 || || ^2"` and `"^1,,^2"` are errors whose reason names the empty part (npm would
//! read an empty alternative as "any version", which silently admits every host).
//!
//! `^0.2.3` means `>=0.2.3 <0.3.0` and `^0.0.3` means `=0.0.3`, as in npm.
//!
//! # Pre-releases
//!
//! A host version with a pre-release tag (`3.0.0-beta.1`) satisfies an alternative only if it
//! satisfies every comparator of that alternative **and** at least one comparator of it names
//! the same `major.minor.patch` with a pre-release tag (the `semver` crate's rule, which is
//! also npm's default). So `^3.0.0` does not admit `3.0.0-beta.1` nor `3.1.0-beta.1`, `*` does
//! not admit any pre-release, and `>=3.0.0-beta.0` admits `3.0.0-beta.1` but not
//! `3.1.0-beta.1`. Build metadata (`+build`) is ignored.
//!
//! # Which error for what
//!
//! - The range comes from a manifest (plugin-controlled): an unparsable range is
//!   [`CompatError::InvalidRange`] with code `INVALID_MANIFEST`.
//! - The host version comes from the host's own configuration (`hostVersion`): an unparsable
//!   one is [`CompatError::InvalidHostVersion`] with code `INVALID_ARGUMENT`. It must be a full
//!   `major.minor.patch[-pre][+build]` version; no `v` prefix, no partial versions.
//! - A well-formed range that excludes the host version is [`CompatError::Incompatible`]
//!   (`INCOMPATIBLE`), whose message names both.
//!
//! An empty (or all-whitespace) range is an error, not npm's "anything": a manifest that means
//! "any host" writes `*`.

use std::fmt;
use std::str::FromStr;

use semver::{Version, VersionReq};
use serde::{Serialize, Serializer};
use thiserror::Error;

use super::error::{Coded, ErrorCode};

/// The longest range accepted, in bytes (npm's own limit is 256 characters).
pub const MAX_RANGE_LEN: usize = 256;

/// The most `||` alternatives accepted in one range.
pub const MAX_ALTERNATIVES: usize = 16;

/// Why a compatibility check failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompatError {
    /// The manifest's range could not be parsed.
    #[error("compatibility range {range:?} is not a valid semver range: {reason}")]
    InvalidRange {
        /// The range as given.
        range: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The host's version could not be parsed.
    #[error("host version {version:?} is not a valid semver version (expected major.minor.patch[-pre][+build]): {reason}")]
    InvalidHostVersion {
        /// The version as given.
        version: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The range is valid but does not admit the host version.
    #[error("plugin requires host version {range:?}, but the host is {host_version}")]
    Incompatible {
        /// The plugin's range, as written in the manifest.
        range: String,
        /// The host's version.
        host_version: String,
    },
}

impl Coded for CompatError {
    fn code(&self) -> ErrorCode {
        match self {
            CompatError::InvalidRange { .. } => ErrorCode::InvalidManifest,
            CompatError::InvalidHostVersion { .. } => ErrorCode::InvalidArgument,
            CompatError::Incompatible { .. } => ErrorCode::Incompatible,
        }
    }
}

/// A parsed npm-style compatibility range: one or more `||` alternatives, each a
/// [`semver::VersionReq`].
///
/// A value of this type always holds at least one alternative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompatRange {
    source: String,
    alternatives: Vec<VersionReq>,
}

impl CompatRange {
    /// Parse an npm-style range (see the [module docs](self) for the accepted syntax).
    ///
    /// # Errors
    /// [`CompatError::InvalidRange`] (`INVALID_MANIFEST`) when the range is empty, longer than
    /// [`MAX_RANGE_LEN`], has more than [`MAX_ALTERNATIVES`] alternatives, an empty
    /// alternative, or any comparator the `semver` crate rejects (garbage, numbers that do not
    /// fit in `u64`, more than 32 comparators in one alternative).
    ///
    /// ```
    /// use plugin_warden::core::compat::CompatRange;
    /// use semver::Version;
    /// let r = CompatRange::parse(">=1.0.0 <2.0.0 || ^3.1").unwrap();
    /// assert_eq!(r.alternatives().len(), 2);
    /// assert!(r.matches(&Version::new(1, 9, 0)));
    /// assert!(r.matches(&Version::new(3, 4, 0)));
    /// assert!(!r.matches(&Version::new(2, 0, 0)));
    /// assert!(CompatRange::parse("").is_err());
    /// ```
    pub fn parse(range: &str) -> Result<Self, CompatError> {
        let invalid = |reason: String| CompatError::InvalidRange {
            range: range.to_owned(),
            reason,
        };
        if range.len() > MAX_RANGE_LEN {
            return Err(invalid(format!(
                "{} bytes long; at most {MAX_RANGE_LEN} are accepted",
                range.len()
            )));
        }
        if range.trim().is_empty() {
            return Err(invalid(
                "the range is empty; write \"*\" to accept any host version".to_owned(),
            ));
        }
        let parts: Vec<&str> = range.split("||").collect();
        if parts.len() > MAX_ALTERNATIVES {
            return Err(invalid(format!(
                "{} alternatives; at most {MAX_ALTERNATIVES} are accepted",
                parts.len()
            )));
        }
        let mut alternatives = Vec::with_capacity(parts.len());
        for part in parts {
            let translated = translate_alternative(part).map_err(&invalid)?;
            let req = VersionReq::parse(&translated)
                .map_err(|e| invalid(format!("in {:?}: {e}", part.trim())))?;
            alternatives.push(req);
        }
        Ok(CompatRange {
            source: range.to_owned(),
            alternatives,
        })
    }

    /// A range of exactly one alternative, from an already-parsed [`VersionReq`].
    ///
    /// Its [`Display`](fmt::Display) form is the `semver` crate's spelling of `req`.
    ///
    /// ```
    /// use plugin_warden::core::compat::CompatRange;
    /// use semver::{Version, VersionReq};
    /// let r = CompatRange::from_req(VersionReq::parse("^3").unwrap());
    /// assert!(r.matches(&Version::new(3, 2, 0)));
    /// ```
    pub fn from_req(req: VersionReq) -> Self {
        CompatRange {
            source: req.to_string(),
            alternatives: vec![req],
        }
    }

    /// The alternatives (joined by `||` in the source), each as a [`VersionReq`].
    pub fn alternatives(&self) -> &[VersionReq] {
        &self.alternatives
    }

    /// The range as it was written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `host` satisfies any alternative (see the module docs for pre-releases).
    ///
    /// ```
    /// use plugin_warden::core::compat::CompatRange;
    /// use semver::Version;
    /// let r = CompatRange::parse("^3.0.0").unwrap();
    /// assert!(r.matches(&Version::parse("3.2.0").unwrap()));
    /// assert!(!r.matches(&Version::parse("3.2.0-beta.1").unwrap()));
    /// ```
    pub fn matches(&self, host: &Version) -> bool {
        self.alternatives.iter().any(|req| req.matches(host))
    }

    /// Check `host` against the range.
    ///
    /// # Errors
    /// [`CompatError::Incompatible`] (`INCOMPATIBLE`) naming the range and the host version when
    /// no alternative admits `host`.
    ///
    /// ```
    /// use plugin_warden::core::compat::CompatRange;
    /// use plugin_warden::core::error::{Coded, ErrorCode};
    /// use semver::Version;
    /// let r = CompatRange::parse("~1.2").unwrap();
    /// assert!(r.check(&Version::new(1, 2, 9)).is_ok());
    /// let err = r.check(&Version::new(1, 3, 0)).unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::Incompatible);
    /// assert!(err.to_string().contains("~1.2") && err.to_string().contains("1.3.0"));
    /// ```
    pub fn check(&self, host: &Version) -> Result<(), CompatError> {
        if self.matches(host) {
            Ok(())
        } else {
            Err(CompatError::Incompatible {
                range: self.source.clone(),
                host_version: host.to_string(),
            })
        }
    }
}

impl FromStr for CompatRange {
    type Err = CompatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CompatRange::parse(s)
    }
}

impl Serialize for CompatRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl fmt::Display for CompatRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Parse the host's version strictly (`major.minor.patch[-pre][+build]`).
///
/// # Errors
/// [`CompatError::InvalidHostVersion`] (`INVALID_ARGUMENT`: the host, not a plugin, supplied
/// it) for anything else, including `v3.2.0`, `3.2`, surrounding whitespace and numbers that
/// do not fit in `u64`.
///
/// ```
/// use plugin_warden::core::compat::parse_host_version;
/// use plugin_warden::core::error::{Coded, ErrorCode};
/// assert_eq!(parse_host_version("3.2.0").unwrap(), semver::Version::new(3, 2, 0));
/// assert_eq!(parse_host_version("3.2").unwrap_err().code(), ErrorCode::InvalidArgument);
/// ```
pub fn parse_host_version(version: &str) -> Result<Version, CompatError> {
    Version::parse(version).map_err(|e| CompatError::InvalidHostVersion {
        version: version.to_owned(),
        reason: e.to_string(),
    })
}

/// Check a manifest's `compatibility` range against the host version.
///
/// # Errors
/// - [`CompatError::InvalidHostVersion`] (`INVALID_ARGUMENT`) when `host_version` is not a
///   full semver version; checked first, since it is the host's own mistake.
/// - [`CompatError::InvalidRange`] (`INVALID_MANIFEST`) when `range` is not a valid range.
/// - [`CompatError::Incompatible`] (`INCOMPATIBLE`) when the range excludes the host.
///
/// ```
/// use plugin_warden::core::compat::check;
/// use plugin_warden::core::error::{Coded, ErrorCode};
/// assert!(check("^3.0.0", "3.2.0").is_ok());
/// assert!(check("1.x || >=3.1.0 <4", "3.2.0").is_ok());
/// assert_eq!(check("^2", "3.2.0").unwrap_err().code(), ErrorCode::Incompatible);
/// assert_eq!(check("banana", "3.2.0").unwrap_err().code(), ErrorCode::InvalidManifest);
/// assert_eq!(check("^3", "three").unwrap_err().code(), ErrorCode::InvalidArgument);
/// ```
pub fn check(range: &str, host_version: &str) -> Result<(), CompatError> {
    let host = parse_host_version(host_version)?;
    CompatRange::parse(range)?.check(&host)
}

/// Translate one npm alternative (no `||`) into the `semver` crate's comma-separated syntax.
fn translate_alternative(part: &str) -> Result<String, String> {
    if part.trim().is_empty() {
        return Err(if part.is_empty() {
            "an empty alternative next to `||` (write \"*\" to accept any host version)".to_owned()
        } else {
            "an empty alternative between `||`".to_owned()
        });
    }
    let mut words: Vec<&str> = Vec::new();
    for (i, segment) in part.split(',').enumerate() {
        if segment.trim().is_empty() {
            return Err(format!(
                "an empty comparator {} a comma in {:?}",
                if i == 0 { "before" } else { "after" },
                part.trim()
            ));
        }
        words.extend(segment.split_whitespace());
    }
    // Hyphen range: `A - B` means `>=A <=B` (partial B is handled by semver's `<=1.2`).
    if let [lo, "-", hi] = words.as_slice() {
        if part.contains(',') {
            return Err("a hyphen range must be exactly `LOW - HIGH`".to_owned());
        }
        return Ok(format!(">={}, <={}", strip_v(lo, "")?, strip_v(hi, "")?));
    }
    if words.contains(&"-") {
        return Err("a hyphen range must be exactly `LOW - HIGH`".to_owned());
    }
    // Glue a lone operator to the version after it (`>= 1.0.0` is valid npm).
    let mut comparators: Vec<String> = Vec::with_capacity(words.len());
    words.reverse();
    while let Some(word) = words.pop() {
        let (op, rest) = split_op(word);
        let rest = if rest.is_empty() {
            match words.pop() {
                Some(next) => next,
                None => return Err(format!("operator {op:?} without a version")),
            }
        } else {
            rest
        };
        comparators.push(comparator(op, rest)?);
    }
    Ok(comparators.join(", "))
}

/// One npm comparator (`op` may be empty) in `semver` crate syntax.
fn comparator(op: &str, version: &str) -> Result<String, String> {
    let version = strip_v(version, op)?;
    let is_wildcard = version.split('.').any(|p| p == "x" || p == "X" || p == "*");
    let op = match op {
        // npm's bare version is exact; a bare wildcard (`1.x`) keeps its wildcard meaning.
        "" if is_wildcard => "",
        "" => "=",
        "=" if is_wildcard => "",
        "~>" => "~",
        other => other,
    };
    Ok(format!("{op}{version}"))
}

/// npm tolerates a leading `v` (`v1.2.3`, `>=v1.2.3`); the `semver` crate does not.
fn strip_v<'a>(version: &'a str, op: &str) -> Result<&'a str, String> {
    let v = version
        .strip_prefix('v')
        .or_else(|| version.strip_prefix('V'))
        .unwrap_or(version);
    if v.is_empty() {
        return Err(format!("operator {op:?} without a version"));
    }
    Ok(v)
}

fn split_op(word: &str) -> (&str, &str) {
    for op in ["~>", ">=", "<=", ">", "<", "=", "~", "^"] {
        if let Some(rest) = word.strip_prefix(op) {
            return (op, rest);
        }
    }
    ("", word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation() {
        let t = |s: &str| translate_alternative(s).unwrap();
        assert_eq!(t(">=1.0.0 <2.0.0"), ">=1.0.0, <2.0.0");
        assert_eq!(t(">= 1.0.0   < 2"), ">=1.0.0, <2");
        assert_eq!(t("1.2.3"), "=1.2.3");
        assert_eq!(t("v1.2.3"), "=1.2.3");
        assert_eq!(t("1.x"), "1.x");
        assert_eq!(t("=1.x"), "1.x");
        assert_eq!(t("1.2 - 2"), ">=1.2, <=2");
        assert!(translate_alternative("  ").is_err());
        assert!(translate_alternative(">=").is_err());
        assert!(translate_alternative("1 - 2 - 3").is_err());
        assert_eq!(t(">=1.0.0, <2.0.0"), ">=1.0.0, <2.0.0");
        assert_eq!(t(">=1.0.0,<2"), ">=1.0.0, <2");
        assert!(translate_alternative(">=1,,<2").is_err());
        assert!(translate_alternative(",1").is_err());
        assert!(translate_alternative("1,").is_err());
        assert!(translate_alternative("").is_err());
    }
}
