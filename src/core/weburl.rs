//! Parsed URLs for the core, from whichever WHATWG URL parser is installed.
//!
//! Every URL decision in the core (the network allowlist, routes, CSP origins, mount sources,
//! manifest URLs) reads a [`WebUrl`]: the parts of a URL after WHATWG parsing. Who parses is a
//! capability behind [`UrlParser`]:
//! - natively (tests, the CLI, the sanitizer module) the `url` crate does, compiled in with the
//!   `native-url` feature ([`NativeUrlParser`]);
//! - the browser's core module is built without it: the browser layer installs an adapter
//!   that hands the core the browser's own parse (`new URL(input, base)`), so the module carries
//!   no `url`/IDNA code. `tests/weburl.rs` and the browser test `tests/web/weburl.rs` prove
//!   that both give the same [`WebUrl`] on the WPT URL corpus.
//!
//! Without a parser (a build with neither), parsing fails with [`UrlParseErrorKind::NoParser`]
//! (code `INTERNAL`), never a panic and never an unparsed string.
//!
//! # Security
//! A [`WebUrl`] is built from one parse: its parts are never re-derived from a string by
//! another parser. [`WebUrl::from_parts`] (what a foreign parser's getters go through) reads
//! query and fragment presence from the serialization, where `search`/`hash` getters cannot
//! tell "none" from "empty".

use std::cell::RefCell;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::error::{cold_text, Coded, ErrorCode};

/// A URL's host after WHATWG host parsing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Host {
    /// A domain (ASCII, IDNA-mapped to punycode for special schemes) or an opaque host.
    Domain(String),
    /// An IPv4 address (special schemes only).
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
}

/// A URL's origin, as the WHATWG URL standard defines it.
#[derive(Clone, Debug)]
pub enum Origin {
    /// Scheme, serialized host (IPv6 bracketed) and effective port.
    Tuple(String, String, Option<u16>),
    /// An opaque origin: equal to no origin, itself included (as the `url` crate's origins
    /// from separate parses are).
    Opaque,
}

impl PartialEq for Origin {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Origin::Tuple(s1, h1, p1), Origin::Tuple(s2, h2, p2)) => {
                s1 == s2 && h1 == h2 && p1 == p2
            }
            _ => false,
        }
    }
}

impl Origin {
    /// Whether this is a tuple origin (not opaque).
    pub fn is_tuple(&self) -> bool {
        matches!(self, Origin::Tuple(..))
    }

    /// `scheme://host[:port]` (the port only when not the scheme's default), or `null` for an
    /// opaque origin.
    pub fn ascii_serialization(&self) -> String {
        match self {
            Origin::Tuple(scheme, host, port) => match port {
                Some(p) if default_port(scheme) != Some(*p) => format!("{scheme}://{host}:{p}"),
                _ => format!("{scheme}://{host}"),
            },
            Origin::Opaque => "null".to_owned(),
        }
    }
}

/// What kind of parse failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UrlParseErrorKind {
    /// The input has no scheme and no base was given (the `url` crate's
    /// `RelativeUrlWithoutBase`): a relative reference.
    RelativeWithoutBase,
    /// Any other failure of the WHATWG parser.
    Invalid,
    /// No URL parser is installed or compiled in.
    NoParser,
}

/// Why a URL did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlParseError {
    /// What kind of failure.
    pub kind: UrlParseErrorKind,
    /// The parser's complaint.
    pub message: String,
}

impl UrlParseError {
    /// A failure of `kind` with `message`.
    pub fn new(kind: UrlParseErrorKind, message: impl Into<String>) -> Self {
        UrlParseError {
            kind,
            message: message.into(),
        }
    }

    fn no_parser() -> Self {
        UrlParseError::new(
            UrlParseErrorKind::NoParser,
            cold_text!("no URL parser installed (the browser layer installs one when the core module starts)"),
        )
    }
}

impl fmt::Display for UrlParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UrlParseError {}

impl Coded for UrlParseError {
    fn code(&self) -> ErrorCode {
        match self.kind {
            UrlParseErrorKind::NoParser => ErrorCode::Internal,
            _ => ErrorCode::InvalidArgument,
        }
    }
}

/// A WHATWG URL parser: `new URL(input, base)`.
pub trait UrlParser {
    /// Parse `input`, resolved against `base` when given (a base that does not parse is a
    /// failure).
    ///
    /// # Errors
    /// [`UrlParseError`] when the URL (or the base) does not parse; kind
    /// [`UrlParseErrorKind::RelativeWithoutBase`] for a relative reference without a base.
    fn parse(&self, input: &str, base: Option<&str>) -> Result<WebUrl, UrlParseError>;
}

thread_local! {
    static PARSER: RefCell<Option<Rc<dyn UrlParser>>> = const { RefCell::new(None) };
}

/// Install the parser every [`WebUrl::parse`] on this thread uses (the browser layer does, when
/// the core module starts); `None` goes back to the default ([`NativeUrlParser`] with the
/// `native-url` feature, none without).
pub fn set_url_parser(parser: Option<Rc<dyn UrlParser>>) {
    PARSER.with(|p| *p.borrow_mut() = parser);
}

/// Whether URLs can be parsed now: a parser is installed or compiled in.
pub fn url_parser_available() -> bool {
    PARSER.with(|p| p.borrow().is_some()) || default_parser().is_some()
}

fn default_parser() -> Option<Rc<dyn UrlParser>> {
    #[cfg(feature = "native-url")]
    {
        Some(Rc::new(NativeUrlParser))
    }
    #[cfg(not(feature = "native-url"))]
    {
        None
    }
}

fn installed_parser() -> Option<Rc<dyn UrlParser>> {
    PARSER.with(|p| p.borrow().clone()).or_else(default_parser)
}

/// A URL after WHATWG parsing: what the core reads of it.
///
/// Equality compares every part (all are functions of the serialization).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WebUrl {
    href: String,
    scheme: String,
    username: String,
    password: Option<String>,
    /// The WHATWG `hostname`: IPv6 bracketed, empty when there is no host (or an empty one).
    hostname: String,
    host: Option<Host>,
    /// Explicit and not the scheme's default.
    port: Option<u16>,
    path: String,
    query: Option<String>,
    fragment: Option<String>,
    opaque_path: bool,
}

/// Schemes the WHATWG URL standard calls special, with their default ports.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// The URL standard's forbidden domain code points.
fn forbidden_in_domain(c: char) -> bool {
    c <= ' '
        || matches!(
            c,
            '#' | '%' | '/' | ':' | '<' | '>' | '?' | '@' | '[' | '\\' | ']' | '^' | '|' | '\u{7f}'
        )
}

/// `text` as dotted decimal (four numbers 0–255, no leading zero), or `None`: what
/// `text.parse::<Ipv4Addr>()` answers (tested against it), without std's general address
/// parser, which a first visit would otherwise load (it reads a host of every URL).
pub(crate) fn dotted_ipv4(text: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?.as_bytes();
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut n = 0u16;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u16::from(b - b'0');
        }
        *octet = u8::try_from(n).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

fn is_special(scheme: &str) -> bool {
    default_port(scheme).is_some() || scheme == "file"
}

/// Whether `input` starts with a URL scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`)
/// once the WHATWG parser's preprocessing is applied (leading and trailing C0 controls and
/// spaces trimmed, ASCII tabs and newlines removed). Without a base, a WHATWG parse of input
/// without a scheme fails as [`UrlParseErrorKind::RelativeWithoutBase`]: an adapter whose
/// parser does not say why it failed classifies its failures with this.
pub fn has_scheme(input: &str) -> bool {
    let trimmed = input.trim_matches(|c: char| c <= ' ');
    let mut chars = trimmed.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r'));
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    for c in chars {
        match c {
            ':' => return true,
            c if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.') => {}
            _ => return false,
        }
    }
    false
}

/// Why a WHATWG parse of `input` (against `base`, when given) failed, for an adapter whose
/// parser does not say: [`UrlParseErrorKind::RelativeWithoutBase`] when there is nothing to
/// resolve against — no base and `input` has no scheme, or a base that has no scheme itself —
/// and [`UrlParseErrorKind::Invalid`] otherwise (the `url` crate's classification; a relative
/// reference against an opaque-path base such as `mailto:x` is `Invalid`).
///
/// `base` is the base as given and its parse (`None` when it did not parse).
pub fn failure_kind(input: &str, base: Option<(&str, Option<&WebUrl>)>) -> UrlParseErrorKind {
    let relative = match base {
        None => !has_scheme(input),
        Some((text, None)) => !has_scheme(text),
        Some((_, Some(_))) => false,
    };
    if relative {
        UrlParseErrorKind::RelativeWithoutBase
    } else {
        UrlParseErrorKind::Invalid
    }
}

impl WebUrl {
    /// Parse an absolute URL with the installed parser.
    ///
    /// # Errors
    /// [`UrlParseError`]: the input does not parse, is relative
    /// ([`UrlParseErrorKind::RelativeWithoutBase`]), or no parser is installed.
    ///
    /// ```
    /// use plugin_warden::core::weburl::{Host, WebUrl};
    /// let u = WebUrl::parse("HTTPS://API.example:443/a/../b?q#f").unwrap();
    /// assert_eq!(u.as_str(), "https://api.example/b?q#f");
    /// assert_eq!(u.host(), Some(&Host::Domain("api.example".into())));
    /// assert_eq!(u.port_or_known_default(), Some(443));
    /// assert_eq!(u.origin().ascii_serialization(), "https://api.example");
    /// ```
    pub fn parse(input: &str) -> Result<WebUrl, UrlParseError> {
        Self::parse_with_base(input, None)
    }

    /// Parse `input` against `base` (a serialized URL) with the installed parser.
    ///
    /// # Errors
    /// As for [`WebUrl::parse`].
    pub fn parse_with_base(input: &str, base: Option<&str>) -> Result<WebUrl, UrlParseError> {
        match installed_parser() {
            Some(p) => p.parse(input, base),
            None => Err(UrlParseError::no_parser()),
        }
    }

    /// Resolve `input` against this URL (the `url` crate's `Url::join`).
    ///
    /// # Errors
    /// As for [`WebUrl::parse`].
    pub fn join(&self, input: &str) -> Result<WebUrl, UrlParseError> {
        Self::parse_with_base(input, Some(&self.href))
    }

    /// Build a URL from the WHATWG URL API's getters of one parse (`href`, `protocol`,
    /// `username`, `password`, `hostname`, `port`, `pathname`; `search` and `hash` are not
    /// needed: their presence and content are read from `href`).
    ///
    /// # Errors
    /// [`UrlParseErrorKind::Invalid`] when the parts are inconsistent (a `protocol` without
    /// `:`, an `href` that does not start with the scheme, a port that is not a number, an
    /// IPv6 hostname that is not an address), or when a special URL's domain holds a code
    /// point the URL standard forbids in one (`%`, space, `^`, …): a parser that escapes
    /// these instead of failing, as Chromium does, fails here as the standard does.
    pub fn from_parts(
        href: &str,
        protocol: &str,
        username: &str,
        password: &str,
        hostname: &str,
        port: &str,
        pathname: &str,
    ) -> Result<WebUrl, UrlParseError> {
        let bad = |what: &str| {
            UrlParseError::new(
                UrlParseErrorKind::Invalid,
                format!("inconsistent URL parts for {href:?}: {what}"),
            )
        };
        let scheme = protocol
            .strip_suffix(':')
            .ok_or_else(|| bad("protocol does not end with ':'"))?;
        let after_scheme = href
            .strip_prefix(scheme)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or_else(|| bad("href does not start with the scheme"))?;
        let port = match port {
            "" => None,
            p => Some(p.parse::<u16>().map_err(|_| bad("port is not a number"))?),
        };
        let host = match hostname {
            "" => None,
            h if h.starts_with('[') => {
                let inner = h
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .ok_or_else(|| bad("unbalanced IPv6 brackets"))?;
                Some(Host::Ipv6(
                    inner.parse().map_err(|_| bad("IPv6 host is no address"))?,
                ))
            }
            // The standard's host parser never gives a special URL a domain holding a
            // forbidden domain code point; Chromium percent-escapes some instead of failing
            // (`http://a b/` is `http://a%20b/` there). Such a URL fails here, as in the spec.
            h if is_special(scheme) && h.chars().any(forbidden_in_domain) => {
                return Err(UrlParseError::new(
                    UrlParseErrorKind::Invalid,
                    format!(
                        "{href:?} has a host with a character the URL standard forbids in a domain"
                    ),
                ))
            }
            h if is_special(scheme) && scheme != "file" => match dotted_ipv4(h) {
                // The WHATWG serializer writes IPv4 hosts as dotted decimal; a domain never
                // consists of four decimal numbers.
                Some(ip) => Some(Host::Ipv4(ip)),
                None => Some(Host::Domain(h.to_owned())),
            },
            h => Some(Host::Domain(h.to_owned())),
        };
        // `#` and `?` are percent-encoded everywhere before the query and the fragment, so the
        // first of each in the serialization is where they start.
        let (before_fragment, fragment) = match href.split_once('#') {
            Some((b, f)) => (b, Some(f.to_owned())),
            None => (href, None),
        };
        let query = before_fragment.split_once('?').map(|(_, q)| q.to_owned());
        Ok(WebUrl {
            href: href.to_owned(),
            scheme: scheme.to_owned(),
            username: username.to_owned(),
            password: (!password.is_empty()).then(|| password.to_owned()),
            hostname: hostname.to_owned(),
            host,
            port,
            path: pathname.to_owned(),
            query,
            fragment,
            opaque_path: !after_scheme.starts_with('/'),
        })
    }

    /// The serialization (WHATWG `href`).
    pub fn as_str(&self) -> &str {
        &self.href
    }

    /// The scheme, lowercase, without `:`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The user name, percent-encoded; empty when none.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password, percent-encoded; `None` when none (or empty).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The host, `None` when the URL has none (or an empty one).
    pub fn host(&self) -> Option<&Host> {
        self.host.as_ref()
    }

    /// The host serialized (IPv6 bracketed), `None` when there is none.
    pub fn host_str(&self) -> Option<&str> {
        (!self.hostname.is_empty()).then_some(self.hostname.as_str())
    }

    /// The port when explicit and not the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port, or the scheme's default (`None` for schemes without one).
    pub fn port_or_known_default(&self) -> Option<u16> {
        self.port.or_else(|| default_port(&self.scheme))
    }

    /// The path (WHATWG `pathname`): `/`-separated segments, or an opaque path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path's segments (after the leading `/`), `None` for an opaque path.
    pub fn path_segments(&self) -> Option<std::str::Split<'_, char>> {
        if self.opaque_path {
            return None;
        }
        Some(self.path.strip_prefix('/').unwrap_or(&self.path).split('/'))
    }

    /// Whether the path is opaque (`mailto:x`, `data:,x`, `javascript:x`).
    pub fn has_opaque_path(&self) -> bool {
        self.opaque_path
    }

    /// The query without `?`: `None` when absent, `Some("")` for a bare `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The fragment without `#`: `None` when absent, `Some("")` for a bare `#`.
    pub fn fragment(&self) -> Option<&str> {
        self.fragment.as_deref()
    }

    /// The origin: a tuple for `http`, `https`, `ws`, `wss`, `ftp`, the inner URL's for a
    /// `blob:` of an `http(s)` URL, opaque otherwise.
    pub fn origin(&self) -> Origin {
        match self.scheme.as_str() {
            "http" | "https" | "ws" | "wss" | "ftp" => Origin::Tuple(
                self.scheme.clone(),
                self.hostname.clone(),
                self.port_or_known_default(),
            ),
            "blob" => match WebUrl::parse(&self.path) {
                Ok(inner) if matches!(inner.scheme(), "http" | "https") => inner.origin(),
                _ => Origin::Opaque,
            },
            _ => Origin::Opaque,
        }
    }

    /// Replace the query (`None` removes it), percent-encoding `query` as the WHATWG `search`
    /// setter and the `url` crate's `set_query` do: tabs and newlines removed; C0 controls,
    /// space, `"`, `#`, `<`, `>`, DEL and non-ASCII (and `'` in special schemes) encoded.
    pub fn set_query(&mut self, query: Option<&str>) {
        let fragment_at = self.href.find('#').unwrap_or(self.href.len());
        let fragment = self.href.split_off(fragment_at);
        if let Some(q_at) = self.href.find('?') {
            self.href.truncate(q_at);
        }
        self.query = query.map(|q| {
            let special = is_special(&self.scheme);
            let mut out = String::with_capacity(q.len());
            for c in q.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')) {
                let encode = !('!'..='~').contains(&c)
                    || matches!(c, '"' | '#' | '<' | '>')
                    || (special && c == '\'');
                if encode {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{b:02X}"));
                    }
                } else {
                    out.push(c);
                }
            }
            out
        });
        if let Some(q) = &self.query {
            self.href.push('?');
            self.href.push_str(q);
        }
        self.href.push_str(&fragment);
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.href)
    }
}

impl From<WebUrl> for String {
    fn from(u: WebUrl) -> String {
        u.href
    }
}

/// The `url` crate as the parser (the `native-url` feature).
#[cfg(feature = "native-url")]
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeUrlParser;

#[cfg(feature = "native-url")]
impl UrlParser for NativeUrlParser {
    fn parse(&self, input: &str, base: Option<&str>) -> Result<WebUrl, UrlParseError> {
        let error = |e: url::ParseError| {
            let kind = match e {
                url::ParseError::RelativeUrlWithoutBase => UrlParseErrorKind::RelativeWithoutBase,
                _ => UrlParseErrorKind::Invalid,
            };
            UrlParseError::new(kind, e.to_string())
        };
        let parsed = match base {
            None => url::Url::parse(input).map_err(error)?,
            Some(b) => {
                let base = url::Url::parse(b).map_err(error)?;
                base.join(input).map_err(error)?
            }
        };
        Ok(from_url(&parsed))
    }
}

#[cfg(feature = "native-url")]
fn from_url(u: &url::Url) -> WebUrl {
    let host = match u.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => Some(Host::Domain(d.to_owned())),
        Some(url::Host::Domain(_)) | None => None,
        Some(url::Host::Ipv4(ip)) => Some(Host::Ipv4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(Host::Ipv6(ip)),
    };
    WebUrl {
        href: u.as_str().to_owned(),
        scheme: u.scheme().to_owned(),
        username: u.username().to_owned(),
        password: u.password().filter(|p| !p.is_empty()).map(str::to_owned),
        hostname: u.host_str().unwrap_or_default().to_owned(),
        host,
        port: u.port(),
        path: u.path().to_owned(),
        query: u.query().map(str::to_owned),
        fragment: u.fragment().map(str::to_owned),
        opaque_path: u.cannot_be_a_base(),
    }
}

#[cfg(all(test, not(feature = "native-url")))]
mod without_a_parser {
    use super::*;

    #[test]
    fn parsing_fails_internal_until_a_parser_is_installed() {
        assert!(!url_parser_available());
        let err = WebUrl::parse("https://a.example/").unwrap_err();
        assert_eq!(err.kind, UrlParseErrorKind::NoParser);
        assert_eq!(err.code(), ErrorCode::Internal);
        assert!(err.to_string().contains("no URL parser installed"));
        let list = crate::core::network::Allowlist::default();
        assert!(list.check("https://a.example/").is_err());
    }
}

#[cfg(all(test, feature = "native-url"))]
mod tests {
    use super::*;

    #[test]
    fn set_query_encodes_as_the_url_crate_does() {
        for (base, q) in [
            ("https://a.example/p?old#frag", "x=1&y= \"#<>'\u{e9}\t\n"),
            ("foo://a.example/p", "'#\u{7f}"),
            ("https://a.example/p#f", ""),
        ] {
            let mut mine = WebUrl::parse(base).unwrap();
            mine.set_query(Some(q));
            let mut theirs = url::Url::parse(base).unwrap();
            theirs.set_query(Some(q));
            assert_eq!(mine, from_url(&theirs), "{base} {q:?}");
            mine.set_query(None);
            theirs.set_query(None);
            assert_eq!(mine, from_url(&theirs), "{base} none");
        }
    }

    #[test]
    fn an_installed_parser_is_used_and_none_restores_the_default() {
        struct Refuse;
        impl UrlParser for Refuse {
            fn parse(&self, _: &str, _: Option<&str>) -> Result<WebUrl, UrlParseError> {
                Err(UrlParseError::no_parser())
            }
        }
        set_url_parser(Some(Rc::new(Refuse)));
        let err = WebUrl::parse("https://a.example/").unwrap_err();
        set_url_parser(None);
        assert_eq!(err.code(), ErrorCode::Internal);
        assert!(err.to_string().contains("no URL parser installed"));
        assert!(WebUrl::parse("https://a.example/").is_ok());
    }
}

#[cfg(test)]
mod dotted_ipv4_tests {
    use super::dotted_ipv4;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    #[test]
    fn dotted_ipv4_answers_as_std_on_the_edges() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "127.0.0.1",
            "10.1.20.255",
            "256.0.0.1",
            "1.2.3.999",
            "01.2.3.4",
            "1.2.3.00",
            "1.2.3.0",
            "0001.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3.4",
            "1..2.3",
            "1.2.3.4.5",
            "+1.2.3.4",
            "-1.2.3.4",
            "1.2.3.4 ",
            " 1.2.3.4",
            "\u{661}.2.3.4",
            "0x7f.0.0.1",
            "",
            "example.com",
            "1.2.3.4a",
        ] {
            assert_eq!(dotted_ipv4(text), text.parse::<Ipv4Addr>().ok(), "{text:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn dotted_ipv4_answers_as_std(text in "[0-9.]{0,18}|[0-9.a+\\- \u{661}]{0,12}|([0-9]{1,4}\\.){3}[0-9]{1,4}") {
            prop_assert_eq!(dotted_ipv4(&text), text.parse::<Ipv4Addr>().ok(), "{:?}", text);
        }
    }
}
