//! Content Security Policy for the host page and for `srcdoc` plugin documents, and the
//! nonces both use.
//!
//! # The host policy ([`CspBuilder::build`])
//!
//! ```text
//! default-src 'self'; script-src 'self' 'nonce-N' 'wasm-unsafe-eval'; style-src 'self' 'nonce-N';
//! object-src 'none'; base-uri 'none'; frame-src <origins>|'none'; connect-src 'self' <origins>;
//! worker-src 'self' blob:; form-action 'self'; frame-ancestors 'self';
//! require-trusted-types-for 'script'; trusted-types <policy>
//! ```
//!
//! Decisions:
//! - `'wasm-unsafe-eval'` compiles the SDK's own module; there is no `'unsafe-eval'` or
//!   `'unsafe-inline'`. Without a nonce the `'nonce-…'` sources are left out.
//! - `style-src 'self' 'nonce-N'`: sanitized HTML carries no `style`; the host styles its own
//!   pages from files or nonced `<style>`. A `srcdoc` plugin's inline styles need the same nonce,
//!   since the frame inherits this policy (DESIGN §9).
//! - `worker-src 'self' blob:`: a `worker` plugin runs in a dedicated worker started from a
//!   `blob:` URL *inside* a sandboxed frame, so its origin is `"null"` (DESIGN §9). When that
//!   frame is a `srcdoc` document it inherits this policy, and the worker is checked against it;
//!   without `blob:` here no worker plugin could start. Allowing `blob:` workers gives injected
//!   markup nothing: building a blob and a worker already takes running script, which
//!   `script-src` and Trusted Types deny.
//! - `form-action 'self'`: `form-action` does not fall back to `default-src`; sanitized HTML has
//!   no forms, and the host's own forms may still post to its origin. (`'none'` would break
//!   hosts with a login form.)
//! - `frame-ancestors 'self'`: permission prompts must not be clickjacked from a foreign page.
//!   Only honoured in a header, not in `<meta>`.
//! - `img-src` falls back to `default-src 'self'`; [`CspBuilder::data_images`] adds
//!   `img-src 'self' data:` for hosts that let the sanitizer keep `data:` images, and
//!   [`CspBuilder::plugin_asset_origin`] adds the manifests' `assets` origins to `img-src` and
//!   `media-src` (remote-UI HTML keeps image URLs into those origins only).
//! - Plugin origins are parsed by the WHATWG parser ([`WebUrl`]),
//!   re-serialized (`origin().ascii_serialization()`) and checked against `^https?://[a-z0-9.-]+(:port)?$`, so a hostile manifest cannot inject a
//!   directive or a keyword.
//!
//! # Report-only rollout ([`Reporting`], [`CspHeader`])
//!
//! A host adopts the policy by first watching what it would break: [`CspBuilder::header`]
//! with [`Reporting::report_only`] names the header `Content-Security-Policy-Report-Only`
//! (the browser reports violations and blocks nothing). With a [`ReportEndpoint`] the policy
//! ends in `report-uri <url>; report-to <group>` and [`CspHeader::reporting_endpoints`] is the
//! `Reporting-Endpoints` header value `<group>="<url>"` that defines the group. Browsers with
//! the Reporting API (Chromium) use `report-to` and ignore `report-uri`; the others
//! (Firefox, Safari) use `report-uri`. The endpoint URL must be `https:` (or `http:` on a
//! loopback host, for development: browsers deliver reports only to potentially trustworthy
//! URLs), without credentials or fragment. Report-only policies are delivered as HTTP headers
//! only: `<meta>` cannot carry them, and `frame-ancestors` is honoured only in a header.
//!
//! # The `srcdoc` policy ([`srcdoc_csp`])
//!
//! See its documentation: `'none'` by default, no `'self'` (which would mean the host's origin).
//!
//! # Plugin frame policies ([`frame_csp`], [`runner_csp`])
//!
//! What a plugin frame may reach is decided here, per mount mode (DESIGN §1):
//! - an `iframe` + `src` page gets [`frame_csp`] as its `csp` attribute (CSP Embedded
//!   Enforcement): the browser refuses to display a page whose server does not accept it;
//! - the package's runner page (worker plugins and bundle iframes) applies [`runner_csp`] to
//!   itself before any plugin code runs.
//!
//! Both share one shape: `default-src 'none'`, `connect-src 'none'` (the network is the host's
//! `api.fetch`), no frames, no forms, no `<base>`, no plugins (`object-src`), and subresources
//! only from the plugin's own origin (a `src` page) and the manifest's `assets` origins.

use crate::core::collections::SortedSet;
use std::fmt;

use super::weburl::WebUrl;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use thiserror::Error;

use super::error::{cold_text, Coded, ErrorCode};

/// Bytes of randomness in a generated nonce (128 bits).
pub const NONCE_BYTES: usize = 16;

/// The longest nonce [`Nonce::parse`] accepts, in characters.
pub const MAX_NONCE_CHARS: usize = 128;

/// The longest Trusted Types policy name accepted.
pub const MAX_POLICY_NAME_CHARS: usize = 128;

/// The Trusted Types policy name used unless the host picks another (DESIGN §6).
pub const DEFAULT_TRUSTED_TYPES_POLICY: &str = "plugin-warden";

/// Why a nonce, policy name or origin was refused, or randomness failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CspError {
    /// The random source failed.
    #[error("the random number generator failed: {reason}")]
    Rng {
        /// What the source reported.
        reason: String,
    },
    /// A nonce that is not standard base64 of at least 16 bytes.
    #[error("nonce {input:?} is invalid: {reason}; expected standard base64 (with padding) of at least 16 bytes")]
    InvalidNonce {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A Trusted Types policy name outside the spec's grammar.
    #[error("trusted types policy name {input:?} is invalid: expected 1 to {max} characters from [A-Za-z0-9-#=_/@.%]")]
    InvalidPolicyName {
        /// What was given.
        input: String,
        /// The longest name accepted.
        max: usize,
    },
    /// A reporting endpoint URL that browsers would not deliver reports to, or that cannot be
    /// written into the headers safely.
    #[error("report endpoint {input:?} is invalid: {reason}; expected an https: URL (or http: on a loopback host) such as \"https://host.example/csp-reports\"")]
    InvalidReportUrl {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A reporting group name outside the header's key grammar.
    #[error("report group {input:?} is invalid: expected 1 to 64 characters, a lowercase letter first, then [a-z0-9_.-]")]
    InvalidReportGroup {
        /// What was given.
        input: String,
    },
    /// An origin that is not a plain `http(s)` origin.
    #[error("origin {input:?} is invalid: {reason}; expected an origin such as \"https://plugins.example\"")]
    InvalidOrigin {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl Coded for CspError {
    fn code(&self) -> ErrorCode {
        match self {
            CspError::Rng { .. } => ErrorCode::Internal,
            _ => ErrorCode::InvalidArgument,
        }
    }
}

/// A source of cryptographically secure random bytes. The browser adapter implements it with
/// `crypto.getRandomValues`.
///
/// # Errors
/// Implementations return [`CspError::Rng`] when no randomness is available; callers never fall
/// back to weaker sources.
pub trait Rng {
    /// Fill `buf` entirely with random bytes.
    ///
    /// # Errors
    /// [`CspError::Rng`] when the source fails.
    fn fill_bytes(&mut self, buf: &mut [u8]) -> Result<(), CspError>;
}

/// A **test double**: a deterministic [`Rng`] that counts up from a seed, one byte at a time.
///
/// # Security
/// Not random at all. Only for tests; never hand it to production code.
///
/// ```
/// use plugin_warden::core::csp::{CounterRng, Rng};
/// let mut rng = CounterRng::new(0);
/// let mut buf = [0u8; 3];
/// rng.fill_bytes(&mut buf).unwrap();
/// assert_eq!(buf, [0, 1, 2]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterRng {
    next: u8,
}

impl CounterRng {
    /// A counter starting at `seed`.
    pub fn new(seed: u8) -> Self {
        CounterRng { next: seed }
    }
}

impl Rng for CounterRng {
    fn fill_bytes(&mut self, buf: &mut [u8]) -> Result<(), CspError> {
        for b in buf.iter_mut() {
            *b = self.next;
            self.next = self.next.wrapping_add(1);
        }
        Ok(())
    }
}

/// A CSP nonce: at least 128 bits, written in standard base64 with padding.
///
/// # Security
/// A value that exists is valid: it can only contain `[A-Za-z0-9+/=]`, so it cannot break out
/// of a `'nonce-…'` source or an HTML attribute.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    /// A fresh nonce of [`NONCE_BYTES`] random bytes (24 base64 characters).
    ///
    /// # Errors
    /// [`CspError::Rng`] (`INTERNAL`) when the random source fails.
    ///
    /// ```
    /// use plugin_warden::core::csp::{CounterRng, Nonce};
    /// let n = Nonce::generate(&mut CounterRng::new(0)).unwrap();
    /// assert_eq!(n.as_str(), "AAECAwQFBgcICQoLDA0ODw==");
    /// assert_eq!(n.as_str().len(), 24);
    /// ```
    pub fn generate(rng: &mut impl Rng) -> Result<Nonce, CspError> {
        let mut bytes = [0u8; NONCE_BYTES];
        rng.fill_bytes(&mut bytes)?;
        Ok(Nonce(STANDARD.encode(bytes)))
    }

    /// Accept a nonce chosen elsewhere (e.g. by the server that renders the host page).
    ///
    /// # Errors
    /// [`CspError::InvalidNonce`] (`INVALID_ARGUMENT`) unless `input` is canonical standard
    /// base64 with padding, at most [`MAX_NONCE_CHARS`] long, decoding to at least 16 bytes.
    ///
    /// ```
    /// use plugin_warden::core::csp::Nonce;
    /// assert!(Nonce::parse("AAECAwQFBgcICQoLDA0ODw==").is_ok());
    /// assert!(Nonce::parse("AAECAwQFBgc=").is_err());               // 8 bytes
    /// assert!(Nonce::parse("AAECAwQFBgcICQoLDA0ODw==' 'unsafe-inline").is_err());
    /// assert!(Nonce::parse("AAECAwQFBgcICQoLDA0ODw").is_err());     // no padding
    /// ```
    pub fn parse(input: &str) -> Result<Nonce, CspError> {
        let invalid = |reason| CspError::InvalidNonce {
            input: input.to_owned(),
            reason,
        };
        if input.len() > MAX_NONCE_CHARS {
            return Err(invalid("too long"));
        }
        if !input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        {
            return Err(invalid("characters outside the base64 alphabet"));
        }
        let bytes = STANDARD
            .decode(input)
            .map_err(|_| invalid("not valid padded base64"))?;
        if bytes.len() < NONCE_BYTES {
            return Err(invalid("fewer than 16 bytes"));
        }
        Ok(Nonce(input.to_owned()))
    }

    /// The base64 text, as it goes into `'nonce-…'` and `nonce="…"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    // A nonce is only worth something while unknown to an attacker: keep it out of debug logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce(…)")
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds the host page's Content Security Policy.
///
/// # Security
/// Every input is validated by the setter that takes it; [`build`](Self::build) cannot fail and
/// its output contains no character a plugin chose except inside validated origins.
///
/// ```
/// use plugin_warden::core::csp::{CounterRng, CspBuilder, Nonce};
/// # fn main() -> Result<(), plugin_warden::core::csp::CspError> {
/// let nonce = Nonce::generate(&mut CounterRng::new(0))?;
/// let csp = CspBuilder::new()
///     .nonce(&nonce)
///     .plugin_frame_origin("https://plugins.acme.example")?
///     .plugin_connect_origin("https://api.acme.example:443")?
///     .build();
/// assert!(csp.contains("script-src 'self' 'nonce-AAECAwQFBgcICQoLDA0ODw==' 'wasm-unsafe-eval'"));
/// assert!(csp.contains("frame-src https://plugins.acme.example;"));
/// assert!(csp.contains("connect-src 'self' https://api.acme.example;"));
/// assert!(CspBuilder::new().plugin_frame_origin("https://a.example; script-src *").is_err());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CspBuilder {
    nonce: Option<Nonce>,
    trusted_types_policy: String,
    frame_origins: SortedSet<String>,
    connect_origins: SortedSet<String>,
    asset_origins: SortedSet<String>,
    data_images: bool,
    worker_runner: bool,
    report: Option<ReportEndpoint>,
}

impl Default for CspBuilder {
    fn default() -> Self {
        CspBuilder::new()
    }
}

impl CspBuilder {
    /// A builder with no nonce, no plugin origins and the policy name
    /// [`DEFAULT_TRUSTED_TYPES_POLICY`].
    pub fn new() -> Self {
        CspBuilder {
            nonce: None,
            trusted_types_policy: DEFAULT_TRUSTED_TYPES_POLICY.to_owned(),
            frame_origins: SortedSet::new(),
            connect_origins: SortedSet::new(),
            asset_origins: SortedSet::new(),
            data_images: false,
            worker_runner: false,
            report: None,
        }
    }

    /// Allow scripts and styles carrying this nonce.
    pub fn nonce(mut self, nonce: &Nonce) -> Self {
        self.nonce = Some(nonce.clone());
        self
    }

    /// The one Trusted Types policy name the page may create (replaces the default).
    ///
    /// # Errors
    /// [`CspError::InvalidPolicyName`] (`INVALID_ARGUMENT`) unless `name` is 1 to
    /// [`MAX_POLICY_NAME_CHARS`] characters from `[A-Za-z0-9-#=_/@.%]` (the Trusted Types
    /// `tt-policy-name` grammar; keywords such as `'allow-duplicates'` and `*` cannot pass).
    ///
    /// ```
    /// use plugin_warden::core::csp::CspBuilder;
    /// assert!(CspBuilder::new().trusted_types_policy("acme#1").unwrap().build()
    ///     .ends_with("trusted-types acme#1"));
    /// assert!(CspBuilder::new().trusted_types_policy("a 'allow-duplicates'").is_err());
    /// ```
    pub fn trusted_types_policy(mut self, name: &str) -> Result<Self, CspError> {
        let valid = !name.is_empty()
            && name.len() <= MAX_POLICY_NAME_CHARS
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(b, b'-' | b'#' | b'=' | b'_' | b'/' | b'@' | b'.' | b'%')
            });
        if !valid {
            return Err(CspError::InvalidPolicyName {
                input: name.to_owned(),
                max: MAX_POLICY_NAME_CHARS,
            });
        }
        name.clone_into(&mut self.trusted_types_policy);
        Ok(self)
    }

    /// Allow frames from a plugin's origin (`frame-src`). Call once per plugin; duplicates
    /// collapse.
    ///
    /// # Errors
    /// [`CspError::InvalidOrigin`] (`INVALID_ARGUMENT`) — see [`parse_origin`].
    pub fn plugin_frame_origin(mut self, origin: &str) -> Result<Self, CspError> {
        self.frame_origins.insert(parse_origin(origin)?);
        Ok(self)
    }

    /// Allow the host's API client to reach a plugin's declared origin (`connect-src`).
    ///
    /// # Errors
    /// [`CspError::InvalidOrigin`] (`INVALID_ARGUMENT`) — see [`parse_origin`].
    pub fn plugin_connect_origin(mut self, origin: &str) -> Result<Self, CspError> {
        self.connect_origins.insert(parse_origin(origin)?);
        Ok(self)
    }

    /// Add a manifest's `assets` origin to `img-src` and `media-src`: a remote-UI plugin's
    /// sanitized HTML (rendered in the host page) keeps image and media URLs into its declared
    /// asset origins only, and the host page must let them load.
    ///
    /// # Errors
    /// [`CspError::InvalidOrigin`] as for [`CspBuilder::plugin_frame_origin`].
    pub fn plugin_asset_origin(mut self, origin: &str) -> Result<Self, CspError> {
        self.asset_origins.insert(parse_origin(origin)?);
        Ok(self)
    }

    /// Add `img-src 'self' data:` (for hosts whose sanitizer keeps `data:` images).
    pub fn data_images(mut self, allow: bool) -> Self {
        self.data_images = allow;
        self
    }

    /// Allow the worker runner frame (`frame-src 'self'`): worker plugins run inside the
    /// package's own `worker-runner.html`, served from the host's origin and sandboxed.
    ///
    /// ```
    /// use plugin_warden::core::csp::CspBuilder;
    /// assert!(CspBuilder::new().worker_runner(true).build().contains("frame-src 'self';"));
    /// assert!(CspBuilder::new().build().contains("frame-src 'none';"));
    /// ```
    pub fn worker_runner(mut self, allow: bool) -> Self {
        self.worker_runner = allow;
        self
    }

    /// The policy, directives separated by `"; "`, origins sorted and deduplicated.
    ///
    /// ```
    /// use plugin_warden::core::csp::CspBuilder;
    /// assert_eq!(
    ///     CspBuilder::new().build(),
    ///     "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    ///      object-src 'none'; base-uri 'none'; frame-src 'none'; connect-src 'self'; \
    ///      worker-src 'self' blob:; form-action 'self'; frame-ancestors 'self'; \
    ///      require-trusted-types-for 'script'; trusted-types plugin-warden"
    /// );
    /// ```
    pub fn build(&self) -> String {
        let nonce = self
            .nonce
            .as_ref()
            .map(|n| format!(" 'nonce-{}'", n.as_str()))
            .unwrap_or_default();
        let frame_src = match (self.worker_runner, self.frame_origins.is_empty()) {
            (false, true) => "'none'".to_owned(),
            (false, false) => join(&self.frame_origins),
            (true, true) => "'self'".to_owned(),
            (true, false) => format!("'self' {}", join(&self.frame_origins)),
        };
        let mut connect_src = "'self'".to_owned();
        for o in &self.connect_origins {
            connect_src.push(' ');
            connect_src.push_str(o);
        }
        let mut directives = vec![
            "default-src 'self'".to_owned(),
            format!("script-src 'self'{nonce} 'wasm-unsafe-eval'"),
            format!("style-src 'self'{nonce}"),
            "object-src 'none'".to_owned(),
            "base-uri 'none'".to_owned(),
            format!("frame-src {frame_src}"),
            format!("connect-src {connect_src}"),
            "worker-src 'self' blob:".to_owned(),
            "form-action 'self'".to_owned(),
            "frame-ancestors 'self'".to_owned(),
        ];
        let assets: String = self.asset_origins.iter().map(|o| format!(" {o}")).collect();
        let data = if self.data_images { " data:" } else { "" };
        if self.data_images || !assets.is_empty() {
            directives.push(format!("img-src 'self'{data}{assets}"));
        }
        if !assets.is_empty() {
            directives.push(format!("media-src 'self'{assets}"));
        }
        directives.push("require-trusted-types-for 'script'".to_owned());
        directives.push(format!("trusted-types {}", self.trusted_types_policy));
        if let Some(r) = &self.report {
            directives.push(format!("report-uri {}", r.url));
            directives.push(format!("report-to {}", r.group));
        }
        directives.join("; ")
    }

    /// Send violation reports to `endpoint` (`report-uri` and `report-to`, see the module
    /// docs); replaces an earlier endpoint.
    ///
    /// ```
    /// use plugin_warden::core::csp::{CspBuilder, ReportEndpoint};
    /// let r = ReportEndpoint::new("https://host.example/csp-reports").unwrap();
    /// assert!(CspBuilder::new().report_to(&r).build().ends_with(
    ///     "; report-uri https://host.example/csp-reports; report-to csp-endpoint"));
    /// ```
    pub fn report_to(mut self, endpoint: &ReportEndpoint) -> Self {
        self.report = Some(endpoint.clone());
        self
    }

    /// The policy as the headers to send: enforced or report-only per `reporting`, with its
    /// endpoint (which replaces one set with [`CspBuilder::report_to`]).
    ///
    /// ```
    /// use plugin_warden::core::csp::{CspBuilder, ReportEndpoint, Reporting};
    /// let r = Reporting { report_only: true, endpoint: Some(ReportEndpoint::new("https://h.example/r").unwrap()) };
    /// let h = CspBuilder::new().header(&r);
    /// assert_eq!(h.name, "Content-Security-Policy-Report-Only");
    /// assert!(h.value.ends_with("report-to csp-endpoint"));
    /// assert_eq!(h.reporting_endpoints.as_deref(), Some("csp-endpoint=\"https://h.example/r\""));
    /// assert_eq!(CspBuilder::new().header(&Reporting::default()).name, "Content-Security-Policy");
    /// ```
    pub fn header(&self, reporting: &Reporting) -> CspHeader {
        let mut b = self.clone();
        if let Some(e) = &reporting.endpoint {
            b = b.report_to(e);
        }
        CspHeader {
            name: if reporting.report_only {
                REPORT_ONLY_HEADER
            } else {
                ENFORCE_HEADER
            },
            value: b.build(),
            reporting_endpoints: b
                .report
                .as_ref()
                .map(|r| format!("{}=\"{}\"", r.group, r.url)),
        }
    }
}

/// The enforcing header's name.
pub const ENFORCE_HEADER: &str = "Content-Security-Policy";
/// The report-only header's name.
pub const REPORT_ONLY_HEADER: &str = "Content-Security-Policy-Report-Only";
/// The reporting group [`ReportEndpoint::new`] uses.
pub const DEFAULT_REPORT_GROUP: &str = "csp-endpoint";

/// How a policy is delivered: enforced or report-only, and where reports go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reporting {
    /// `Content-Security-Policy-Report-Only` instead of `Content-Security-Policy`.
    pub report_only: bool,
    /// Where violation reports go, if anywhere.
    pub endpoint: Option<ReportEndpoint>,
}

/// A validated reporting endpoint: a group name and the URL reports are posted to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportEndpoint {
    group: String,
    url: String,
}

impl ReportEndpoint {
    /// An endpoint in the group [`DEFAULT_REPORT_GROUP`].
    ///
    /// # Errors
    /// [`CspError::InvalidReportUrl`] (`INVALID_ARGUMENT`) for anything but an absolute `https:`
    /// URL or an `http:` URL on a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`); for
    /// credentials or a fragment; and for a URL whose serialization holds a character that
    /// could end the CSP source or the header's quoted string (`"`, `\`, `;`, `,`, space).
    ///
    /// ```
    /// use plugin_warden::core::csp::ReportEndpoint;
    /// assert_eq!(ReportEndpoint::new("https://H.example:443/r?a=1").unwrap().url(), "https://h.example/r?a=1");
    /// assert!(ReportEndpoint::new("http://127.0.0.1:8080/csp-reports").is_ok());
    /// assert!(ReportEndpoint::new("http://h.example/r").is_err());
    /// assert!(ReportEndpoint::new("https://h.example/r; script-src *").is_err());
    /// assert!(ReportEndpoint::new("/csp-reports").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Self, CspError> {
        ReportEndpoint::with_group(DEFAULT_REPORT_GROUP, url)
    }

    /// An endpoint in the group `group` (1 to 64 characters, `[a-z][a-z0-9_.-]*`: a key of
    /// the `Reporting-Endpoints` structured header).
    ///
    /// # Errors
    /// [`CspError::InvalidReportGroup`] or as [`ReportEndpoint::new`].
    pub fn with_group(group: &str, url: &str) -> Result<Self, CspError> {
        let mut bytes = group.bytes();
        let group_ok = group.len() <= 64
            && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
            && bytes.all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            });
        if !group_ok {
            return Err(CspError::InvalidReportGroup {
                input: group.to_owned(),
            });
        }
        let invalid = |reason| CspError::InvalidReportUrl {
            input: url.to_owned(),
            reason,
        };
        if url.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | ';' | ',' | '\'')
        }) {
            return Err(invalid(
                "it contains whitespace, a control character, a quote, a backslash, `;` or `,`",
            ));
        }
        let parsed = WebUrl::parse(url).map_err(|_| invalid("not an absolute URL"))?;
        let loopback = match parsed.host() {
            Some(super::weburl::Host::Domain(d)) => d == "localhost",
            Some(super::weburl::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(super::weburl::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err(invalid("http: is accepted only on a loopback host")),
            _ => return Err(invalid("the scheme is not https:")),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid("it has credentials"));
        }
        if parsed.fragment().is_some() {
            return Err(invalid("it has a fragment"));
        }
        let serialized = parsed.to_string();
        if serialized
            .chars()
            .any(|c| matches!(c, '"' | '\\' | ';' | ',' | '\'' | '*') || c.is_whitespace())
        {
            return Err(invalid(
                "its serialization contains a character CSP or the header cannot carry",
            ));
        }
        Ok(ReportEndpoint {
            group: group.to_owned(),
            url: serialized,
        })
    }

    /// The reporting group name.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The normalized URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A policy as headers: `name: value`, plus `Reporting-Endpoints: reporting_endpoints` when
/// the policy reports to an endpoint. Serializes as `{ name, value, reportingEndpoints? }`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CspHeader {
    /// `Content-Security-Policy` or `Content-Security-Policy-Report-Only`.
    pub name: &'static str,
    /// The policy.
    pub value: String,
    /// The `Reporting-Endpoints` header value (`group="url"`), when reporting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporting_endpoints: Option<String>,
}

fn join(origins: &SortedSet<String>) -> String {
    origins
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parse and re-serialize an `http(s)` origin for use as a CSP source.
///
/// # Errors
/// [`CspError::InvalidOrigin`] (`INVALID_ARGUMENT`, naming the input) for whitespace, control
/// characters, quotes, `;`, `,` or `*` anywhere; anything the URL parser refuses; schemes other
/// than `http`/`https`; credentials; a path other than `/`, a query or a fragment; and hosts
/// CSP cannot express (IPv6 literals).
///
/// # Security
/// The result matches `^https?://[a-z0-9.-]+(:[0-9]+)?$`: it cannot add a directive, a keyword
/// or a wildcard. Default ports are dropped and Unicode hosts become punycode.
///
/// ```
/// use plugin_warden::core::csp::parse_origin;
/// assert_eq!(parse_origin("https://A.Example:443/").unwrap(), "https://a.example");
/// assert_eq!(parse_origin("https://bücher.example").unwrap(), "https://xn--bcher-kva.example");
/// assert!(parse_origin("'self'").is_err());
/// assert!(parse_origin("https://*.example").is_err());
/// ```
pub fn parse_origin(input: &str) -> Result<String, CspError> {
    let invalid = |reason| CspError::InvalidOrigin {
        input: input.to_owned(),
        reason,
    };
    if input.is_empty() {
        return Err(invalid("empty"));
    }
    if input
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '\'' | '"' | ';' | ',' | '*'))
    {
        return Err(invalid(cold_text!(
            "contains whitespace, a control character, a quote, ';', ',' or '*'"
        )));
    }
    let url = WebUrl::parse(input).map_err(|_| invalid("not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("scheme is not http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("contains credentials"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("has a path, query or fragment"));
    }
    if matches!(url.host(), Some(super::weburl::Host::Ipv6(_))) {
        return Err(invalid("IPv6 literals cannot be expressed as CSP sources"));
    }
    let origin = url.origin();
    if !origin.is_tuple() {
        return Err(invalid("not a tuple origin"));
    }
    let serialized = origin.ascii_serialization();
    // Belt and braces: whatever the URL parser accepted, only this shape reaches the policy.
    let rest = serialized
        .strip_prefix("https://")
        .or_else(|| serialized.strip_prefix("http://"))
        .ok_or_else(|| invalid("not an http(s) origin"))?;
    let (host, port) = match rest.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !host_ok || !port_ok {
        return Err(invalid("host or port has characters CSP cannot express"));
    }
    Ok(serialized)
}

/// The policy for a `srcdoc` plugin document, to put in its
/// `<meta http-equiv="Content-Security-Policy" content="…">` (the output has no `"`, `<` or `&`).
///
/// ```text
/// default-src 'none'; script-src 'nonce-N'; style-src 'nonce-N'; img-src data: blob:;
/// font-src data:; connect-src 'none'; worker-src blob:; base-uri 'none'; form-action 'none'
/// ```
///
/// With no nonce, `script-src` and `style-src` are `'unsafe-inline'`: the plugin's own inline
/// code may run (it is sandboxed and that is its purpose), but nothing is loaded from anywhere.
///
/// # Security
/// - A `srcdoc` frame inherits the host page's policy *and* enforces this one; what runs must
///   pass both. Pass the host page's nonce so nonced inline plugin code passes the inherited
///   `script-src` too (without a nonce, the host policy of [`CspBuilder`] blocks inline script
///   in the frame, whatever this policy says).
/// - No `'self'`: in an inherited policy it means the *host's* origin, and would let the
///   opaque frame load host-origin scripts (DESIGN §9).
/// - `connect-src 'none'`: the plugin reaches the network only through the host bridge
///   (`api.fetch`), where the manifest allowlist, rate limits and audit apply. Direct access
///   to its declared origins would bypass the path-prefix checks and the audit log.
/// - `img-src data: blob:` and `font-src data:` let a plugin show what it already has without
///   fetching anything; remote images would be an undeclared network channel.
/// - `worker-src blob:`: `worker` plugins start their worker from a `blob:` URL in such a frame.
///
/// ```
/// use plugin_warden::core::csp::{srcdoc_csp, CounterRng, Nonce};
/// let n = Nonce::generate(&mut CounterRng::new(0)).unwrap();
/// let csp = srcdoc_csp(Some(&n));
/// assert!(csp.starts_with("default-src 'none'; script-src 'nonce-AAECAwQFBgcICQoLDA0ODw=='"));
/// assert!(!csp.contains("'self'") && csp.contains("connect-src 'none'"));
/// assert!(srcdoc_csp(None).contains("script-src 'unsafe-inline'"));
/// ```
pub fn srcdoc_csp(nonce: Option<&Nonce>) -> String {
    let inline = match nonce {
        Some(n) => format!("'nonce-{}'", n.as_str()),
        None => "'unsafe-inline'".to_owned(),
    };
    [
        "default-src 'none'".to_owned(),
        format!("script-src {inline}"),
        format!("style-src {inline}"),
        "img-src data: blob:".to_owned(),
        "font-src data:".to_owned(),
        "connect-src 'none'".to_owned(),
        "worker-src blob:".to_owned(),
        "base-uri 'none'".to_owned(),
        "form-action 'none'".to_owned(),
    ]
    .join("; ")
}

/// Directives every plugin frame policy ends with: no network of its own, no nested frames,
/// no forms, no `<base>`, no plugins, no manifests.
const FRAME_LOCKDOWN: [&str; 6] = [
    "connect-src 'none'",
    "frame-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
    "object-src 'none'",
    "manifest-src 'none'",
];

/// Parse each origin (so nothing a manifest says can inject a directive) and join them with a
/// leading space, sorted and deduplicated: `" https://a.example https://b.example"`.
fn origin_sources<'a>(origins: impl IntoIterator<Item = &'a str>) -> Result<String, CspError> {
    let parsed = origins
        .into_iter()
        .map(parse_origin)
        .collect::<Result<SortedSet<_>, _>>()?;
    Ok(parsed.iter().map(|o| format!(" {o}")).collect())
}

/// The `csp` attribute of an `iframe` + `src` plugin frame (CSP Embedded Enforcement).
///
/// ```text
/// default-src 'none'; script-src <own> <assets> 'unsafe-inline' 'wasm-unsafe-eval';
/// style-src <own> <assets> 'unsafe-inline'; img-src <own> <assets> data: blob:;
/// font-src <own> <assets> data:; media-src <own> <assets> data: blob:; worker-src blob:;
/// connect-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none';
/// object-src 'none'; manifest-src 'none'
/// ```
///
/// `own` is the origin of the page's URL, `assets` the manifest's `assets` origins.
///
/// # Security
/// - The browser displays the page only if its server sends `Allow-CSP-From` naming the host
///   origin (or `*`), or a policy of its own at least as strict; otherwise it shows an error
///   page, which the SDK turns into a `MOUNT_FAILED` refusal.
/// - `connect-src 'none'`: `fetch`, XHR, WebSocket, EventSource, `sendBeacon` and `<a ping>`
///   reach nothing; the plugin's network is the host's `api.fetch`, where the manifest's
///   `network` allowlist, rate limits and the audit log apply.
/// - Inline script and WebAssembly are allowed: they reach nothing that the source lists do
///   not allow, and they let ordinary pages opt in. `'unsafe-eval'` is not.
/// - `worker-src blob:` only: a `blob:` worker inherits this policy; a worker loaded from a URL
///   would get its own (possibly empty) policy from its server.
/// - No `'self'`: the frame is sandboxed (opaque origin); the page's origin is named.
/// - What stays reachable: the page's own origin (it can always encode data into a URL it
///   loads from there) and one request per self-navigation (see docs/security.md).
///
/// # Errors
/// [`CspError::InvalidOrigin`] when `page` or an asset origin is not a plain `http(s)` origin.
///
/// ```
/// use plugin_warden::core::csp::frame_csp;
/// let csp = frame_csp("https://plugins.example/acme/index.html", &["https://cdn.example".into()]).unwrap();
/// assert!(csp.starts_with("default-src 'none'; script-src https://cdn.example https://plugins.example 'unsafe-inline'"));
/// assert!(csp.contains("; connect-src 'none'; frame-src 'none'; form-action 'none';"));
/// assert!(frame_csp("https://plugins.example/", &["https://x.example; script-src *".into()]).is_err());
/// ```
pub fn frame_csp(page: &str, assets: &[String]) -> Result<String, CspError> {
    let url = WebUrl::parse(page).map_err(|_| CspError::InvalidOrigin {
        input: page.to_owned(),
        reason: "not an absolute URL",
    })?;
    let own = url.origin().ascii_serialization();
    let sources =
        origin_sources(std::iter::once(own.as_str()).chain(assets.iter().map(String::as_str)))?;
    let mut directives = vec![
        "default-src 'none'".to_owned(),
        format!("script-src{sources} 'unsafe-inline' 'wasm-unsafe-eval'"),
        format!("style-src{sources} 'unsafe-inline'"),
        format!("img-src{sources} data: blob:"),
        format!("font-src{sources} data:"),
        format!("media-src{sources} data: blob:"),
        "worker-src blob:".to_owned(),
    ];
    directives.extend(FRAME_LOCKDOWN.iter().map(|d| (*d).to_owned()));
    Ok(crate::core::collections::join(&directives, "; "))
}

/// What the package's runner page runs: a worker (worker plugins, remote UI) or the plugin's
/// code in the frame itself (bundle iframes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunnerKind {
    /// The code runs in a dedicated `blob:` worker started by the runner frame.
    Worker,
    /// The code runs in the runner frame's own document (a bundle iframe).
    Frame,
}

/// The policy the runner page adds to itself (as a `<meta>` element, before any plugin code
/// runs) for one mount.
///
/// The page's own static policy (in the package's `worker-runner.html`) allows only its inline
/// bootstrap (by hash) and `blob:` scripts, and no network; it leaves images, fonts, styles and
/// media open because it cannot know a manifest's `assets`. This policy closes them:
///
/// ```text
/// worker: default-src 'none'; script-src blob:; worker-src blob:; connect-src 'none'; …
/// frame:  default-src 'none'; script-src blob:; style-src <assets> 'unsafe-inline';
///         img-src <assets> data: blob:; font-src <assets> data:; media-src <assets> data: blob:;
///         worker-src blob:; connect-src 'none'; …
/// ```
///
/// # Security
/// Policies only ever add restrictions: a load must pass the static policy *and* this one, so
/// plugin code cannot widen either (removing the `<meta>` element leaves the policy in force).
/// A `blob:` worker inherits both. A worker's policy ignores `assets`: it has no document.
///
/// # Errors
/// [`CspError::InvalidOrigin`] for an asset origin that is not a plain `http(s)` origin.
///
/// ```
/// use plugin_warden::core::csp::{runner_csp, RunnerKind};
/// let w = runner_csp(RunnerKind::Worker, &["https://cdn.example".into()]).unwrap();
/// assert!(w.starts_with("default-src 'none'; script-src blob:; worker-src blob:; connect-src 'none'"));
/// assert!(!w.contains("cdn.example"));
/// let f = runner_csp(RunnerKind::Frame, &["https://cdn.example".into()]).unwrap();
/// assert!(f.contains("img-src https://cdn.example data: blob:"));
/// ```
pub fn runner_csp(kind: RunnerKind, assets: &[String]) -> Result<String, CspError> {
    let mut directives = vec![
        "default-src 'none'".to_owned(),
        "script-src blob:".to_owned(),
    ];
    if kind == RunnerKind::Frame {
        let sources = origin_sources(assets.iter().map(String::as_str))?;
        directives.extend([
            format!("style-src{sources} 'unsafe-inline'"),
            format!("img-src{sources} data: blob:"),
            format!("font-src{sources} data:"),
            format!("media-src{sources} data: blob:"),
        ]);
    }
    directives.push("worker-src blob:".to_owned());
    directives.extend(FRAME_LOCKDOWN.iter().map(|d| (*d).to_owned()));
    Ok(crate::core::collections::join(&directives, "; "))
}
