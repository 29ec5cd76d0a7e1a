//! The network allowlist: which URLs a plugin's API client may reach.
//!
//! Decisions are made on URLs parsed by the `url` crate (WHATWG rules), never on strings.

use thiserror::Error;
use url::Url;

use super::error::{Coded, ErrorCode};

/// Options for parsing `network` entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkOptions {
    /// Allow plain `http:` for loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`). Off by default.
    pub allow_loopback_http: bool,
}

/// Why a `network` entry or a requested URL was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkError {
    /// Not an absolute URL.
    #[error("{input:?} is not an absolute URL: {reason}")]
    Unparsable {
        /// What was given.
        input: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A scheme other than `https:` (or loopback `http:` when allowed).
    #[error("{input:?} uses scheme {scheme:?}; expected \"https\"")]
    Scheme {
        /// What was given.
        input: String,
        /// The scheme found.
        scheme: String,
    },
    /// User name or password in the URL.
    #[error("{input:?} contains credentials; network entries must not")]
    Credentials {
        /// What was given.
        input: String,
    },
    /// A query or fragment in an allowlist entry.
    #[error("{input:?} has a query or fragment; a network entry is an origin plus a path prefix")]
    QueryOrFragment {
        /// What was given.
        input: String,
    },
}

impl Coded for NetworkError {
    fn code(&self) -> ErrorCode {
        ErrorCode::NetworkDenied
    }
}

/// One validated `network` entry: an origin plus a path prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkEntry {
    url: Url,
}

impl NetworkEntry {
    /// Parse and validate a manifest `network` entry.
    ///
    /// # Errors
    /// [`NetworkError`] when the entry is not an absolute `https:` URL (or loopback `http:` when
    /// `opts.allow_loopback_http`), carries credentials, or has a query or fragment.
    ///
    /// ```
    /// use plugin_warden::core::network::{NetworkEntry, NetworkOptions};
    /// let e = NetworkEntry::parse("https://api.acme.example/v1/", NetworkOptions::default()).unwrap();
    /// assert_eq!(e.origin(), "https://api.acme.example");
    /// assert!(NetworkEntry::parse("http://api.acme.example/", NetworkOptions::default()).is_err());
    /// ```
    pub fn parse(input: &str, opts: NetworkOptions) -> Result<Self, NetworkError> {
        let url = Url::parse(input).map_err(|e| NetworkError::Unparsable {
            input: input.to_owned(),
            reason: e.to_string(),
        })?;
        match url.scheme() {
            "https" => {}
            "http" if opts.allow_loopback_http && is_loopback(&url) => {}
            other => {
                return Err(NetworkError::Scheme {
                    input: input.to_owned(),
                    scheme: other.to_owned(),
                })
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(NetworkError::Credentials {
                input: input.to_owned(),
            });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(NetworkError::QueryOrFragment {
                input: input.to_owned(),
            });
        }
        Ok(NetworkEntry { url })
    }

    /// The entry's origin, serialized (`https://host[:port]`).
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// The entry's path prefix (always starts with `/`).
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// The entry as a normalized URL string.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
