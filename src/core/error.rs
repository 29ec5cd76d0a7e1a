//! Stable error codes.
//!
//! Every error the SDK reports — to a plugin in a reply, to the host as a thrown `Error`, to
//! a reviewer from the CLI — carries one [`ErrorCode`]. The codes are API: their spelling
//! never changes. Messages are not API; they say what was expected and what was found.

use std::fmt;

use serde::Serialize;

/// A stable, machine-readable error code (`SCREAMING_SNAKE_CASE` on the wire and in JS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// A manifest failed to parse or broke a rule of DESIGN.md §4.
    InvalidManifest,
    /// The caller lacks a capability or RBAC action.
    PermissionDenied,
    /// The policy refused a request: a URL outside the plugin's declared `network` allowlist
    /// (or a route's rules), a redirect answer. Never a transport failure.
    NetworkDenied,
    /// The policy allowed a request and the transport failed: DNS, connection refused or
    /// reset, TLS, a CORS refusal. A request that got no answer in time is [`ErrorCode::Timeout`].
    NetworkError,
    /// Too many calls too fast.
    RateLimited,
    /// A storage key, value or namespace is over its limit.
    QuotaExceeded,
    /// A message was malformed, too large, too deep or named an unknown method.
    MessageRejected,
    /// Bytes did not match their Subresource Integrity hash.
    IntegrityMismatch,
    /// A signature did not verify against the given key.
    SignatureInvalid,
    /// The plugin's compatibility range excludes the host version.
    Incompatible,
    /// Bundle analysis refused the plugin's code.
    BundleRejected,
    /// A plugin could not be mounted.
    MountFailed,
    /// Something did not answer in time.
    Timeout,
    /// No such plugin, key or resource.
    NotFound,
    /// An argument given by the host (not a plugin) was malformed.
    InvalidArgument,
    /// A plugin with this id is already installed or mounted.
    AlreadyExists,
    /// The Trusted Types policy could not be created or used.
    TrustedTypes,
    /// The feature exists in the API but is not implemented yet.
    NotImplemented,
    /// The SDK was used before its wasm module was loaded (`await init()` first). Raised by the
    /// package's entry module, which runs before any wasm exists; listed here so the code list
    /// is one.
    NotInitialized,
    /// A part of the SDK that loads on first use (the sanitizer module) was needed by a
    /// synchronous call before it was loaded: `await host.preload('sanitizer')` first.
    ModuleNotLoaded,
    /// A bug in plugin-warden; please report it.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 21] = [
        ErrorCode::InvalidManifest,
        ErrorCode::PermissionDenied,
        ErrorCode::NetworkDenied,
        ErrorCode::NetworkError,
        ErrorCode::RateLimited,
        ErrorCode::QuotaExceeded,
        ErrorCode::MessageRejected,
        ErrorCode::IntegrityMismatch,
        ErrorCode::SignatureInvalid,
        ErrorCode::Incompatible,
        ErrorCode::BundleRejected,
        ErrorCode::MountFailed,
        ErrorCode::Timeout,
        ErrorCode::NotFound,
        ErrorCode::InvalidArgument,
        ErrorCode::AlreadyExists,
        ErrorCode::TrustedTypes,
        ErrorCode::NotImplemented,
        ErrorCode::NotInitialized,
        ErrorCode::ModuleNotLoaded,
        ErrorCode::Internal,
    ];

    /// The code as it appears on the wire and on JS `Error` objects.
    ///
    /// ```
    /// use plugin_warden::core::error::ErrorCode;
    /// assert_eq!(ErrorCode::PermissionDenied.as_str(), "PERMISSION_DENIED");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidManifest => "INVALID_MANIFEST",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::NetworkDenied => "NETWORK_DENIED",
            ErrorCode::NetworkError => "NETWORK_ERROR",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::QuotaExceeded => "QUOTA_EXCEEDED",
            ErrorCode::MessageRejected => "MESSAGE_REJECTED",
            ErrorCode::IntegrityMismatch => "INTEGRITY_MISMATCH",
            ErrorCode::SignatureInvalid => "SIGNATURE_INVALID",
            ErrorCode::Incompatible => "INCOMPATIBLE",
            ErrorCode::BundleRejected => "BUNDLE_REJECTED",
            ErrorCode::MountFailed => "MOUNT_FAILED",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::TrustedTypes => "TRUSTED_TYPES",
            ErrorCode::NotImplemented => "NOT_IMPLEMENTED",
            ErrorCode::NotInitialized => "NOT_INITIALIZED",
            ErrorCode::ModuleNotLoaded => "MODULE_NOT_LOADED",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that maps to a stable [`ErrorCode`]. Every module's error enum implements it.
pub trait Coded: std::error::Error {
    /// The stable code for this error.
    fn code(&self) -> ErrorCode;
    /// The capability or action that was missing, for `PERMISSION_DENIED`.
    fn permission(&self) -> Option<&str> {
        None
    }
}

/// A coded error flattened for crossing a boundary (a plugin reply, a JS `Error`, CLI output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WardenError {
    /// The stable code.
    pub code: ErrorCode,
    /// What was expected and what was found.
    pub message: String,
    /// The missing capability or action, for `PERMISSION_DENIED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

/// The text `$text` (an error's message), read by a function of its own that is cold and
/// never inlined, so that the text is reached by that function alone. The browser's core module
/// is split by use (scripts/split-module.mjs): where a function that may fail runs on a host's
/// first visit, a message written in its own body would keep its text in the part every host
/// loads (LLVM's hot/cold splitting, which moves most such blocks out, does not move every one);
/// read here, the text goes with this function to the part loaded when first needed.
/// (`black_box` keeps wasm-opt from inlining the function back into its one caller, as it does
/// with any function of a few instructions: Cargo.toml's `--one-caller-inline-max-function-size`.)
macro_rules! cold_text {
    ($text:literal) => {{
        #[cold]
        #[inline(never)]
        fn cold_text() -> &'static str {
            ::core::hint::black_box($text)
        }
        cold_text()
    }};
}
pub(crate) use cold_text;

impl WardenError {
    /// A new error with no permission attached.
    // Cold, as the other error constructors: LLVM's hot/cold splitting moves each block that
    // leads only to such a call out of its function, and the browser's split then leaves it out
    // of the part every host loads (scripts/core-release.toml).
    #[cold]
    #[inline(never)]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        WardenError {
            code,
            message: message.into(),
            permission: None,
        }
    }

    /// Flatten any coded error.
    pub fn from_coded<E: Coded + ?Sized>(e: &E) -> Self {
        // Only the trait calls are generic: the message is written through `fmt::Arguments`
        // (a pointer to `E`'s `Display`), the rest is one function for every error type.
        Self::flat(e.code(), format_args!("{e}"), e.permission())
    }

    fn flat(code: ErrorCode, message: fmt::Arguments<'_>, permission: Option<&str>) -> Self {
        WardenError {
            code,
            message: fmt::format(message),
            permission: permission.map(str::to_owned),
        }
    }
}

impl fmt::Display for WardenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for WardenError {}

impl Coded for WardenError {
    fn code(&self) -> ErrorCode {
        self.code
    }
    fn permission(&self) -> Option<&str> {
        self.permission.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_wire_spelling() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("invariant: a unit enum serializes");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
        }
    }
}
