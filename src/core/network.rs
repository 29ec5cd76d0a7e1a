//! The network allowlist: which URLs a plugin's API client may reach.
//!
//! Decisions are made on URLs parsed by the WHATWG parser ([`WebUrl`]: the `url` crate natively,
//! the browser's own in the browser), never on strings.
//! The URL that [`Allowlist::check`] returns is the one to fetch: the decision and the
//! request never see two different parses of the same string.
//!
//! # Security
//!
//! A request URL matches an entry iff it has the same scheme, the same host (exact, after
//! WHATWG host parsing and IDNA normalization), the same effective port, and a path under the
//! entry's path on a segment boundary. On top of what the parser does, [`Allowlist::check`]
//! refuses input a different parser (a proxy, a server framework, a log reader) could read
//! differently: see [`Allowlist::check`] for the list.

use thiserror::Error;

use super::weburl::{Host, WebUrl};

use super::error::{Coded, ErrorCode};

/// Options for parsing `network` entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkOptions {
    /// Allow plain `http:` for loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`). Off by default.
    pub allow_loopback_http: bool,
}

/// Why a `network` entry or a requested URL was refused.
///
/// Every variant maps to [`ErrorCode::NetworkDenied`]; the message names the URL and says why.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkError {
    /// Not an absolute URL (relative and protocol-relative URLs included: there is no base).
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
    #[error("{input:?} contains credentials (a user name or password); URLs with credentials are refused")]
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
    /// A host the allowlist refuses on its own terms (a trailing dot).
    #[error("{input:?} has host {host:?}: {reason}")]
    Host {
        /// What was given.
        input: String,
        /// The host after parsing.
        host: String,
        /// Why it is refused.
        reason: String,
    },
    /// Input that different URL parsers could read differently (tabs, newlines, backslashes,
    /// control characters, surrounding spaces).
    #[error("{input:?} is ambiguous: {reason}; send the URL in its plain form")]
    Ambiguous {
        /// What was given.
        input: String,
        /// What was found.
        reason: String,
    },
    /// A path segment a server could decode into a separator or a dot segment.
    #[error(
        "{input:?} has path segment {segment:?}, which a server could decode into {what}; refused"
    )]
    EncodedPath {
        /// What was given.
        input: String,
        /// The offending segment, as parsed.
        segment: String,
        /// What it could turn into.
        what: String,
    },
    /// A well-formed URL that no allowlist entry covers.
    #[error("{input:?} is not in the network allowlist: {reason}")]
    NotAllowed {
        /// What was given.
        input: String,
        /// Why no entry matched.
        reason: String,
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
    url: WebUrl,
}

impl NetworkEntry {
    /// Parse and validate a manifest `network` entry.
    ///
    /// # Errors
    /// [`NetworkError`] when the entry is not an absolute `https:` URL (or loopback `http:` when
    /// `opts.allow_loopback_http`), carries credentials, has a query or fragment, has a host
    /// ending in a dot, or is written ambiguously (see [`Allowlist::check`]).
    ///
    /// ```
    /// use plugin_warden::core::network::{NetworkEntry, NetworkOptions};
    /// let e = NetworkEntry::parse("https://api.acme.example/v1/", NetworkOptions::default()).unwrap();
    /// assert_eq!(e.origin(), "https://api.acme.example");
    /// assert!(NetworkEntry::parse("http://api.acme.example/", NetworkOptions::default()).is_err());
    /// ```
    pub fn parse(input: &str, opts: NetworkOptions) -> Result<Self, NetworkError> {
        refuse_ambiguous_input(input)?;
        let url = WebUrl::parse(input).map_err(|e| NetworkError::Unparsable {
            input: input.to_owned(),
            reason: e.to_string(),
        })?;
        refuse_missing_slashes(input, &url)?;
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
        refuse_trailing_dot(input, &url)?;
        refuse_encoded_path(input, &url)?;
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

    /// Same scheme, host and effective port.
    fn same_origin(&self, url: &WebUrl) -> bool {
        self.url.scheme() == url.scheme()
            && self.url.host() == url.host()
            && self.url.port_or_known_default() == url.port_or_known_default()
    }

    /// `path` is the entry's path or below it, on a segment boundary: entry `/v1` and `/v1/`
    /// both cover `/v1`, `/v1/` and `/v1/x`, never `/v10` or `/v1x`.
    fn covers_path(&self, path: &str) -> bool {
        let prefix = self.url.path().trim_end_matches('/');
        match path.strip_prefix(prefix) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

/// The set of URLs one plugin may reach: the union of its validated `network` entries.
///
/// ```
/// use plugin_warden::core::network::{Allowlist, NetworkEntry, NetworkOptions};
/// let entry = NetworkEntry::parse("https://api.acme.example/v1/", NetworkOptions::default()).unwrap();
/// let list = Allowlist::new(vec![entry]);
/// assert!(list.check("https://api.acme.example/v1/patents?q=x").is_ok());
/// assert!(list.check("https://api.acme.example/v10").is_err());
/// assert!(list.check("https://api.acme.example@evil.example/v1/").is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowlist {
    entries: Vec<NetworkEntry>,
}

impl From<Vec<NetworkEntry>> for Allowlist {
    fn from(entries: Vec<NetworkEntry>) -> Self {
        Allowlist::new(entries)
    }
}

impl Allowlist {
    /// An allowlist of these entries. An empty allowlist refuses every URL.
    pub fn new(entries: Vec<NetworkEntry>) -> Self {
        Allowlist { entries }
    }

    /// The entries, in the order given.
    pub fn entries(&self) -> &[NetworkEntry] {
        &self.entries
    }

    /// Check a URL a plugin asked for; return the parsed URL to fetch.
    ///
    /// # Errors
    /// [`NetworkError`] (code `NETWORK_DENIED`) naming the URL and the reason when:
    /// - the input is not an absolute URL: relative (`/v1/x`), protocol-relative (`//evil`) —
    ///   there is no base;
    /// - an `http(s):` URL is not written `scheme://…` (`https:evil.example` and
    ///   `https:/evil.example` are valid WHATWG but read differently elsewhere);
    /// - the raw input holds an ASCII tab, LF or CR (WHATWG strips them silently, other parsers
    ///   do not), a backslash (WHATWG reads it as `/` in special URLs, other parsers do not),
    ///   any other control character, or leading/trailing spaces;
    /// - the scheme is not the entry's (`data:`, `javascript:`, `blob:`, `file:`, and `http:`
    ///   unless an entry is loopback `http:`);
    /// - it carries a user name or password (`https://api.acme.example@evil.com` is user
    ///   `api.acme.example` at host `evil.com`, and is refused for both reasons);
    /// - the host ends with a dot (`api.acme.example.`): it is a different origin to the
    ///   browser, and servers and certificates treat it inconsistently;
    /// - after the parser resolved `.`/`..` (including `%2e` forms), a path segment still
    ///   contains `%2e`, `%2f` or `%5c` (any case), also when encoded more than once (`%252f`),
    ///   or is `.`/`..` followed by `;` parameters (`..;`, which Tomcat-style servers treat as
    ///   `..`). A server that decodes before routing could turn these into `..` or `/` and
    ///   escape the path prefix. The cost: a plugin must send a literal `.` instead of `%2e`;
    ///   a `/` or `\` inside one segment cannot be sent at all;
    /// - no entry has the same scheme, host and effective port with the path under the entry's
    ///   path on a segment boundary. Hosts compare after WHATWG/IDNA normalization, so a
    ///   homograph (`аpi` with a Cyrillic `а`) is a different host; `:443` on `https:` equals
    ///   the default port and is allowed.
    ///
    /// ```
    /// use plugin_warden::core::network::{Allowlist, NetworkEntry, NetworkOptions};
    /// use plugin_warden::core::error::{Coded, ErrorCode};
    /// let entry = NetworkEntry::parse("https://api.acme.example/v1", NetworkOptions::default()).unwrap();
    /// let list = Allowlist::new(vec![entry]);
    /// let url = list.check("https://API.acme.example:443/v1/a/../b").unwrap();
    /// assert_eq!(url.as_str(), "https://api.acme.example/v1/b");
    /// let err = list.check("https://api.acme.example/v1/%2e%2e/admin").unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::NetworkDenied);
    /// assert!(err.to_string().contains("/admin"));
    /// ```
    pub fn check(&self, url: &str) -> Result<WebUrl, NetworkError> {
        refuse_ambiguous_input(url)?;
        let parsed = WebUrl::parse(url).map_err(|e| NetworkError::Unparsable {
            input: url.to_owned(),
            reason: e.to_string(),
        })?;
        refuse_missing_slashes(url, &parsed)?;
        self.check_parsed(url, parsed)
    }

    /// Check the `Location` of a redirect answered to a request for `base`; return the
    /// resolved URL to follow.
    ///
    /// `location` may be relative; it is resolved against `base` (the URL that answered the
    /// redirect) and the result must pass every rule of [`Allowlist::check`]. A redirect that
    /// leaves the allowlist — another host, a scheme downgrade, a path outside the prefixes —
    /// is refused.
    ///
    /// # Errors
    /// As for [`Allowlist::check`], on the resolved URL.
    ///
    /// ```
    /// use plugin_warden::core::network::{Allowlist, NetworkEntry, NetworkOptions};
    /// let entry = NetworkEntry::parse("https://api.acme.example/v1/", NetworkOptions::default()).unwrap();
    /// let list = Allowlist::new(vec![entry]);
    /// let base = list.check("https://api.acme.example/v1/a/b").unwrap();
    /// assert_eq!(list.check_redirect("c", &base).unwrap().as_str(), "https://api.acme.example/v1/a/c");
    /// assert!(list.check_redirect("//evil.example/v1/", &base).is_err());
    /// assert!(list.check_redirect("/admin", &base).is_err());
    /// ```
    pub fn check_redirect(&self, location: &str, base: &WebUrl) -> Result<WebUrl, NetworkError> {
        refuse_ambiguous_input(location)?;
        let parsed = base.join(location).map_err(|e| NetworkError::Unparsable {
            input: location.to_owned(),
            reason: e.to_string(),
        })?;
        self.check_parsed(location, parsed)
    }

    fn check_parsed(&self, input: &str, url: WebUrl) -> Result<WebUrl, NetworkError> {
        if !matches!(url.scheme(), "https" | "http") {
            return Err(NetworkError::Scheme {
                input: input.to_owned(),
                scheme: url.scheme().to_owned(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(NetworkError::Credentials {
                input: input.to_owned(),
            });
        }
        refuse_trailing_dot(input, &url)?;
        refuse_encoded_path(input, &url)?;
        let same_origin: Vec<&NetworkEntry> = self
            .entries
            .iter()
            .filter(|e| e.same_origin(&url))
            .collect();
        if same_origin.iter().any(|e| e.covers_path(url.path())) {
            return Ok(url);
        }
        let origin = url.origin().ascii_serialization();
        let reason = if same_origin.is_empty() {
            if url.scheme() == "http"
                && self
                    .entries
                    .iter()
                    .any(|e| e.url.scheme() == "https" && e.url.host() == url.host())
            {
                format!("scheme \"http\" is refused; {origin} is only allowed over https")
            } else {
                format!(
                    "origin {origin} is not allowed (allowed: {})",
                    self.describe()
                )
            }
        } else {
            let prefixes: Vec<&str> = same_origin.iter().map(|e| e.path()).collect();
            format!(
                "path {:?} is not under an allowed prefix of {origin} ({})",
                url.path(),
                prefixes.join(", ")
            )
        };
        Err(NetworkError::NotAllowed {
            input: input.to_owned(),
            reason,
        })
    }

    fn describe(&self) -> String {
        if self.entries.is_empty() {
            return "nothing; the allowlist is empty".to_owned();
        }
        let list: Vec<&str> = self.entries.iter().map(NetworkEntry::as_str).collect();
        list.join(", ")
    }
}

fn refuse_ambiguous_input(input: &str) -> Result<(), NetworkError> {
    let reason = if input.contains(['\t', '\n', '\r']) {
        Some("it contains a tab or newline, which URL parsers disagree on")
    } else if input.contains('\\') {
        Some("it contains a backslash, which URL parsers disagree on")
    } else if input.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if input.starts_with(' ') || input.ends_with(' ') {
        Some("it has leading or trailing spaces")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(NetworkError::Ambiguous {
            input: input.to_owned(),
            reason: reason.to_owned(),
        }),
        None => Ok(()),
    }
}

/// WHATWG accepts `https:host/x` and `https:/host/x` for special schemes; other parsers read
/// them as opaque or relative. For absolute input only the plain `scheme://` form is accepted.
fn refuse_missing_slashes(input: &str, url: &WebUrl) -> Result<(), NetworkError> {
    let after_scheme = input.get(url.scheme().len()..).unwrap_or_default();
    if matches!(url.scheme(), "https" | "http") && !after_scheme.starts_with("://") {
        return Err(NetworkError::Ambiguous {
            input: input.to_owned(),
            reason: "the scheme is not followed by \"://\"".to_owned(),
        });
    }
    Ok(())
}

fn refuse_trailing_dot(input: &str, url: &WebUrl) -> Result<(), NetworkError> {
    if let Some(Host::Domain(d)) = url.host() {
        if d.ends_with('.') {
            return Err(NetworkError::Host {
                input: input.to_owned(),
                host: d.to_owned(),
                reason: "a host ending with a dot is a different origin; write it without the dot"
                    .to_owned(),
            });
        }
    }
    Ok(())
}

/// How many rounds of percent-decoding to look through before giving up (and refusing).
const MAX_DECODE_ROUNDS: usize = 8;

fn refuse_encoded_path(input: &str, url: &WebUrl) -> Result<(), NetworkError> {
    let refuse = |segment: &str, what: &str| NetworkError::EncodedPath {
        input: input.to_owned(),
        segment: segment.to_owned(),
        what: what.to_owned(),
    };
    // Special URLs always have a hierarchical path; anything else was refused by scheme.
    let Some(segments) = url.path_segments() else {
        return Ok(());
    };
    for segment in segments {
        let before_params = segment.split(';').next().unwrap_or(segment);
        if segment.contains(';') && matches!(before_params, "." | "..") {
            return Err(refuse(
                segment,
                "a dot segment (servers drop `;` parameters)",
            ));
        }
        let mut current = segment.to_owned();
        let mut rounds = 0;
        loop {
            let lower = current.to_ascii_lowercase();
            if lower.contains("%2e") {
                return Err(refuse(segment, "a dot (`%2e`)"));
            }
            if lower.contains("%2f") || lower.contains("%5c") {
                return Err(refuse(segment, "a path separator (`%2f` or `%5c`)"));
            }
            let decoded = percent_decode_lossy(&current);
            if decoded == current {
                break;
            }
            rounds += 1;
            if rounds >= MAX_DECODE_ROUNDS {
                return Err(refuse(
                    segment,
                    "something else after many rounds of decoding",
                ));
            }
            current = decoded;
        }
    }
    Ok(())
}

/// Decode `%XX` escapes; bytes that do not form UTF-8 become U+FFFD, malformed escapes stay.
fn percent_decode_lossy(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                // Two hex digits are at most 0xFF: the cast cannot truncate.
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn is_loopback(url: &WebUrl) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether an HTTP method is idempotent per RFC 9110 §9.2.2: `GET`, `HEAD`, `OPTIONS`,
/// `TRACE`, `PUT`, `DELETE`.
///
/// Methods are case-sensitive (RFC 9110 §9.1): `get` is not `GET` here. Callers normalize as
/// `fetch` does before asking; an unnormalized name only ever answers `false`, the safe way.
///
/// # Security
/// Idempotent is not the same as "safe to retry automatically": the API client retries only
/// [`is_retryable`] methods (`GET`, `HEAD`, `OPTIONS`). A `PUT` or `DELETE` is idempotent on
/// paper, but a retry after a timeout can still race another writer, so it is not repeated
/// behind the plugin's back.
///
/// ```
/// use plugin_warden::core::network::{is_idempotent, is_retryable};
/// assert!(is_idempotent("PUT") && is_idempotent("DELETE") && is_idempotent("GET"));
/// assert!(!is_idempotent("POST") && !is_idempotent("PATCH") && !is_idempotent("get"));
/// assert!(!is_retryable("PUT"));
/// ```
pub fn is_idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
    )
}

/// Whether the API client retries a failed request with this method: `GET`, `HEAD` and
/// `OPTIONS` only (case-sensitive, as [`is_idempotent`]).
///
/// ```
/// use plugin_warden::core::network::is_retryable;
/// assert!(is_retryable("GET") && is_retryable("HEAD") && is_retryable("OPTIONS"));
/// assert!(!is_retryable("DELETE") && !is_retryable("POST") && !is_retryable("TRACE"));
/// ```
pub fn is_retryable(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// Response header names a plugin may see (lowercase).
pub const SAFE_RESPONSE_HEADERS: [&str; 8] = [
    "content-type",
    "content-length",
    "content-language",
    "cache-control",
    "etag",
    "last-modified",
    "expires",
    "pragma",
];

/// Keep only the response headers on [`SAFE_RESPONSE_HEADERS`], names lowercased, in order.
///
/// # Security
/// Everything else is dropped — `set-cookie`, `www-authenticate`, `authorization`, custom
/// `x-*` headers that may carry tokens — as is any header whose value holds CR, LF or NUL.
///
/// ```
/// use plugin_warden::core::network::safe_response_headers;
/// let kept = safe_response_headers(vec![
///     ("Content-Type", "application/json"),
///     ("Set-Cookie", "sid=1"),
///     ("ETag", "\"x\""),
/// ]);
/// assert_eq!(kept, vec![
///     ("content-type".to_owned(), "application/json".to_owned()),
///     ("etag".to_owned(), "\"x\"".to_owned()),
/// ]);
/// ```
pub fn safe_response_headers<I, K, V>(headers: I) -> Vec<(String, String)>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    headers
        .into_iter()
        .filter_map(|(name, value)| {
            let name = name.as_ref().trim().to_ascii_lowercase();
            let value = value.as_ref();
            let allowed = SAFE_RESPONSE_HEADERS.contains(&name.as_str());
            let clean = !value.contains(['\r', '\n', '\0']);
            (allowed && clean).then(|| (name, value.to_owned()))
        })
        .collect()
}

/// Exponential backoff with jitter for retrying [`is_retryable`] requests.
///
/// ```
/// use plugin_warden::core::network::RetryPolicy;
/// let p = RetryPolicy::default();
/// assert_eq!(p.max_retries, 3);
/// assert!(p.should_retry(2) && !p.should_retry(3));
/// // the delay grows, stays within [ceiling/2, ceiling) and never exceeds max_delay_ms
/// assert_eq!(p.delay_for(0, 0.0), p.base_delay_ms / 2);
/// assert!(p.delay_for(1, 0.5) > p.delay_for(0, 0.5));
/// assert!(p.delay_for(60, 0.999) <= p.max_delay_ms);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 3).
    pub max_retries: u32,
    /// The ceiling of the first retry's delay, in milliseconds (default 250).
    pub base_delay_ms: u32,
    /// The largest delay ever returned, in milliseconds (default 5000).
    pub max_delay_ms: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay_ms: 250,
            max_delay_ms: 5_000,
        }
    }
}

impl RetryPolicy {
    /// Whether retry number `attempt` (0 for the first retry) is allowed.
    pub fn should_retry(&self, attempt: u32) -> bool {
        attempt < self.max_retries
    }

    /// The delay before retry number `attempt` (0 for the first retry), in milliseconds.
    ///
    /// The ceiling is `min(max_delay_ms, base_delay_ms * 2^attempt)` (saturating); the delay is
    /// "equal jitter": `ceiling/2 + jitter * ceiling/2`, so it lies in `[ceiling/2, ceiling]`
    /// and never collapses to zero. `jitter` is expected in `[0, 1)` (from the host's RNG);
    /// values outside are clamped and NaN counts as 0, so the function is total and pure.
    pub fn delay_for(&self, attempt: u32, jitter: f64) -> u32 {
        let factor = 1u64.checked_shl(attempt.min(63)).unwrap_or(u64::MAX);
        let ceiling = u64::from(self.base_delay_ms)
            .saturating_mul(factor)
            .min(u64::from(self.max_delay_ms));
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        let half = ceiling / 2;
        let spread = ceiling - half;
        // spread <= u32::MAX and jitter in [0, 1]: the product fits, truncation is the floor.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let extra = (spread as f64 * jitter) as u64;
        u32::try_from((half + extra).min(ceiling)).unwrap_or(self.max_delay_ms)
    }
}

/// How one attempt of an allowed request failed, as the transport (the browser's `fetch`)
/// reports it. The adapter says what happened; [`TransportFailure::code`] and
/// [`RetryPolicy::retry_delay`] decide what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportFailure {
    /// No answer within the timeout: `TIMEOUT`, transient.
    Timeout,
    /// The request never got an answer: DNS failure, connection refused or reset, TLS failure,
    /// a CORS refusal (the browser does not tell these apart): `NETWORK_ERROR`, transient.
    Unreachable,
    /// The server answered with a redirect, which is never followed: the policy refuses the
    /// answer, `NETWORK_DENIED`, final.
    Redirect,
    /// The response is over the size limit: `QUOTA_EXCEEDED`, final.
    TooLarge,
}

impl TransportFailure {
    /// Every failure, for exhaustive tests.
    pub const ALL: [TransportFailure; 4] = [
        TransportFailure::Timeout,
        TransportFailure::Unreachable,
        TransportFailure::Redirect,
        TransportFailure::TooLarge,
    ];

    /// The adapter's name for the failure (`timeout`, `unreachable`, `redirect`, `too-large`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TransportFailure::Timeout => "timeout",
            TransportFailure::Unreachable => "unreachable",
            TransportFailure::Redirect => "redirect",
            TransportFailure::TooLarge => "too-large",
        }
    }

    /// The failure the adapter named `kind`. Anything else (an adapter bug, or an exception
    /// `fetch` threw that is not one of ours) is [`TransportFailure::Unreachable`]: the request
    /// was allowed and did not complete, which is all that is known.
    ///
    /// ```
    /// use plugin_warden::core::network::TransportFailure;
    /// assert_eq!(TransportFailure::from_kind("timeout"), TransportFailure::Timeout);
    /// assert_eq!(TransportFailure::from_kind("???"), TransportFailure::Unreachable);
    /// ```
    pub fn from_kind(kind: &str) -> Self {
        TransportFailure::ALL
            .into_iter()
            .find(|f| f.as_str() == kind)
            .unwrap_or(TransportFailure::Unreachable)
    }

    /// The code the plugin gets.
    ///
    /// ```
    /// use plugin_warden::core::error::ErrorCode;
    /// use plugin_warden::core::network::TransportFailure;
    /// assert_eq!(TransportFailure::Unreachable.code(), ErrorCode::NetworkError);
    /// assert_eq!(TransportFailure::Timeout.code(), ErrorCode::Timeout);
    /// assert_eq!(TransportFailure::Redirect.code(), ErrorCode::NetworkDenied);
    /// ```
    pub const fn code(self) -> ErrorCode {
        match self {
            TransportFailure::Timeout => ErrorCode::Timeout,
            TransportFailure::Unreachable => ErrorCode::NetworkError,
            TransportFailure::Redirect => ErrorCode::NetworkDenied,
            TransportFailure::TooLarge => ErrorCode::QuotaExceeded,
        }
    }

    /// Whether the same request may succeed if sent again (timeouts and unreachable hosts).
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            TransportFailure::Timeout | TransportFailure::Unreachable
        )
    }
}

/// What one attempt of a request came to: an HTTP answer (its status) or a [`TransportFailure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The server answered with this status.
    Answered(u16),
    /// The transport failed.
    Failed(TransportFailure),
}

impl AttemptOutcome {
    /// Whether the attempt is worth repeating: a 5xx answer or a transient failure.
    ///
    /// ```
    /// use plugin_warden::core::network::{AttemptOutcome, TransportFailure};
    /// assert!(AttemptOutcome::Answered(503).is_transient());
    /// assert!(!AttemptOutcome::Answered(404).is_transient());
    /// assert!(AttemptOutcome::Failed(TransportFailure::Unreachable).is_transient());
    /// assert!(!AttemptOutcome::Failed(TransportFailure::Redirect).is_transient());
    /// ```
    pub const fn is_transient(self) -> bool {
        match self {
            AttemptOutcome::Answered(status) => status >= 500,
            AttemptOutcome::Failed(f) => f.is_transient(),
        }
    }
}

impl RetryPolicy {
    /// Whether and when to repeat a request: `Some(delay_ms)` before retry number `attempt`
    /// (0 for the first retry) when `method` [`is_retryable`], the `outcome` is transient
    /// ([`AttemptOutcome::is_transient`]) and [`RetryPolicy::should_retry`] allows it;
    /// otherwise `None` and the outcome is the answer. `jitter` as in
    /// [`RetryPolicy::delay_for`].
    ///
    /// ```
    /// use plugin_warden::core::network::{AttemptOutcome, RetryPolicy, TransportFailure};
    /// let p = RetryPolicy::default();
    /// let down = AttemptOutcome::Failed(TransportFailure::Unreachable);
    /// assert!(p.retry_delay("GET", down, 0, 0.5).is_some());
    /// assert_eq!(p.retry_delay("POST", down, 0, 0.5), None);
    /// assert_eq!(p.retry_delay("GET", down, 3, 0.5), None);
    /// assert_eq!(p.retry_delay("GET", AttemptOutcome::Answered(200), 0, 0.5), None);
    /// ```
    pub fn retry_delay(
        &self,
        method: &str,
        outcome: AttemptOutcome,
        attempt: u32,
        jitter: f64,
    ) -> Option<u32> {
        (is_retryable(method) && outcome.is_transient() && self.should_retry(attempt))
            .then(|| self.delay_for(attempt, jitter))
    }
}
