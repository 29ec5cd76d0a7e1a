//! Host-approved plugin scripts: which `<script src>` the SDK's loader may insert.
//!
//! `host.loadScript(src, { integrity, nonce })` inserts a nonced `<script>` with Subresource
//! Integrity. The decision is made here: the URL must be absolute `https:` (loopback `http:`
//! only when the host opts in), its origin must be one the host approved — an installed
//! plugin's `entry.src` origin, or an origin listed in the host's `approvedScriptOrigins` —
//! and the integrity metadata must hold at least one supported hash, so the browser refuses
//! any other bytes. The browser layer then mints the `TrustedScriptURL` for exactly this URL.

use crate::core::collections::SortedSet;

use super::weburl::WebUrl;
use thiserror::Error;

use super::error::{Coded, ErrorCode};
use super::integrity::Integrity;

/// Why a script may not be loaded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptError {
    /// Not an absolute URL of an allowed scheme, or it carries credentials.
    #[error("script src {src:?}: {reason}")]
    BadUrl {
        /// What was given.
        src: String,
        /// What is wrong.
        reason: String,
    },
    /// The URL's origin is not one the host approved.
    #[error("script src {src:?}: origin {origin} is not approved (approved: {approved})")]
    NotApproved {
        /// What was given.
        src: String,
        /// Its origin.
        origin: String,
        /// The approved origins, comma-separated.
        approved: String,
    },
    /// The integrity metadata is missing or unusable.
    #[error("script src {src:?}: {reason}")]
    Integrity {
        /// What was given.
        src: String,
        /// What is wrong.
        reason: String,
    },
}

impl Coded for ScriptError {
    fn code(&self) -> ErrorCode {
        match self {
            ScriptError::BadUrl { .. } => ErrorCode::InvalidArgument,
            ScriptError::NotApproved { .. } => ErrorCode::PermissionDenied,
            ScriptError::Integrity { .. } => ErrorCode::IntegrityMismatch,
        }
    }
}

/// A script the loader may insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptLoad {
    /// The normalized URL.
    pub src: String,
    /// The integrity metadata (normalized).
    pub integrity: String,
}

/// Decide whether `src` may be loaded with `integrity`, given the approved origins.
///
/// # Errors
/// [`ScriptError`]: `INVALID_ARGUMENT` for a bad URL, `PERMISSION_DENIED` for an origin the
/// host did not approve, `INTEGRITY_MISMATCH` for missing or unusable integrity metadata.
///
/// ```
/// use plugin_warden::core::collections::SortedSet;
/// use plugin_warden::core::scripts::plan_script;
/// let approved = SortedSet::from(["https://plugins.acme.example".to_owned()]);
/// let sri = "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC";
/// let ok = plan_script("https://plugins.acme.example/a.js", sri, &approved, false).unwrap();
/// assert_eq!(ok.src, "https://plugins.acme.example/a.js");
/// assert!(plan_script("https://evil.example/a.js", sri, &approved, false).is_err());
/// assert!(plan_script("https://plugins.acme.example/a.js", "", &approved, false).is_err());
/// ```
pub fn plan_script(
    src: &str,
    integrity: &str,
    approved: &SortedSet<String>,
    allow_loopback_http: bool,
) -> Result<ScriptLoad, ScriptError> {
    let bad = |reason: &str| ScriptError::BadUrl {
        src: src.to_owned(),
        reason: reason.to_owned(),
    };
    let url = WebUrl::parse(src).map_err(|e| bad(&format!("not an absolute URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && super::network::is_loopback(&url) => {}
        other => {
            return Err(bad(&format!(
                "expected https (or loopback http when allowed), found {other:?}"
            )))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials in a script URL"));
    }
    let origin = url.origin().ascii_serialization();
    if !approved.contains(&origin) {
        return Err(ScriptError::NotApproved {
            src: src.to_owned(),
            origin,
            approved: approved.iter().cloned().collect::<Vec<_>>().join(", "),
        });
    }
    let parsed = Integrity::parse(integrity).map_err(|e| ScriptError::Integrity {
        src: src.to_owned(),
        reason: format!("integrity: {e}"),
    })?;
    Ok(ScriptLoad {
        src: url.into(),
        integrity: parsed.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRI: &str = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    fn approved() -> SortedSet<String> {
        SortedSet::from([
            "https://plugins.example".to_owned(),
            "http://localhost:8701".to_owned(),
        ])
    }

    #[test]
    fn only_approved_origins_with_integrity_load() {
        let ok = plan_script(
            "https://plugins.example/x/a.js?v=1",
            SRI,
            &approved(),
            false,
        )
        .unwrap();
        assert_eq!(ok.src, "https://plugins.example/x/a.js?v=1");
        for (src, code) in [
            ("https://evil.example/a.js", ErrorCode::PermissionDenied),
            (
                "https://plugins.example.evil.com/a.js",
                ErrorCode::PermissionDenied,
            ),
            (
                "https://plugins.example:8443/a.js",
                ErrorCode::PermissionDenied,
            ),
            ("http://plugins.example/a.js", ErrorCode::InvalidArgument),
            ("javascript:alert(1)", ErrorCode::InvalidArgument),
            ("data:text/javascript,alert(1)", ErrorCode::InvalidArgument),
            ("/relative.js", ErrorCode::InvalidArgument),
            (
                "https://u:p@plugins.example/a.js",
                ErrorCode::InvalidArgument,
            ),
        ] {
            assert_eq!(
                plan_script(src, SRI, &approved(), false)
                    .unwrap_err()
                    .code(),
                code,
                "{src}"
            );
        }
    }

    #[test]
    fn loopback_http_needs_the_opt_in() {
        assert!(plan_script("http://localhost:8701/a.js", SRI, &approved(), true).is_ok());
        assert!(plan_script("http://localhost:8701/a.js", SRI, &approved(), false).is_err());
    }

    #[test]
    fn integrity_is_required_and_checked() {
        for sri in ["", "sha1-abc", "sha384-notbase64!", "md5-xyz"] {
            let e =
                plan_script("https://plugins.example/a.js", sri, &approved(), false).unwrap_err();
            assert_eq!(e.code(), ErrorCode::IntegrityMismatch, "{sri}");
        }
    }
}
