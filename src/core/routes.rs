//! Proxied manifest routes (Grafana-style plugin routes): a plugin asks the host to call a
//! URL its manifest declares, and the host fills in values — secrets included — the plugin
//! never sees.
//!
//! # Wire form
//!
//! No new method: a plugin calls `api.fetch` (DESIGN.md §5) with `url` = `route:<path>`,
//! optionally followed by `?<query>`, e.g. `sdk.api.fetch('route:api/patents?q=x')`. It needs
//! the same capability as any fetch (`api:read` for GET/HEAD, `api:write` otherwise). The host
//! then:
//!
//! 1. finds the manifest route with exactly that `path` and the request's method (a route
//!    with the method wins over one without; an absent or `*` method means any) — else
//!    `NOT_FOUND` naming the path;
//! 2. checks that the current user holds the route's `reqAction` (or, without one, its
//!    `reqRole`) — else `PERMISSION_DENIED` with `error.permission` = the action;
//! 3. fills the templates `{{ .JsonData.key }}` and `{{ .SecureJsonData.key }}` of the route's
//!    `url` and `headers[].content` from the host's [`RouteConfig`] for that plugin (option
//!    `routes: { [pluginId]: { data, secrets } }`) — an unknown key is `INVALID_ARGUMENT`
//!    naming it, never an empty string;
//! 4. requires the result to be an absolute `https:` URL (loopback `http:` only when the host
//!    allows it) without credentials or fragment — else `NETWORK_DENIED`; the plugin's query
//!    is appended to the route URL's own;
//! 5. when the route's `url` or headers use a secret (`{{ .SecureJsonData.key }}`), requires
//!    the URL's origin to be one of the host's `secretOrigins` for that plugin — else
//!    `NETWORK_DENIED` naming the origin, and nothing is sent;
//! 6. sends the plugin's headers, minus any whose name (case-insensitively) a route header
//!    has, plus the route's headers: a plugin can neither replace nor read a route header.
//!
//! The route URL is declared by the (reviewed) manifest and completed by the host, so it is
//! not checked against the plugin's `network` allowlist; the answer must come from the
//! route URL's origin (redirects are never followed anyway).
//!
//! # Where secrets may go
//!
//! A manifest names the URL its routes call; a manifest is written by the plugin's author. So
//! a host's secret goes only where the **host** says it may: `secretOrigins`, a list of origins
//! per plugin, next to the secrets themselves. A config with `secrets` and no
//! `secretOrigins` is refused when the host is built (or `setRouteConfig` called),
//! `INVALID_ARGUMENT` — a loud error while integrating rather than every secret-bearing
//! route failing later. A route that would send a secret elsewhere fails with
//! `NETWORK_DENIED` (where a request may go is a network decision, like every other URL
//! refusal here; `PERMISSION_DENIED` is kept for capabilities and RBAC actions, and carries
//! `error.permission`, which has no meaning here). Routes that use no secret are not limited.
//!
//! ```
//! use plugin_warden::core::routes::{substitute, RouteConfig};
//! let config: RouteConfig = serde_json::from_str(
//!     r#"{"data":{"host":"api.acme.example"},"secrets":{"key":"s3cr3t"}}"#).unwrap();
//! let out = substitute("https://{{ .JsonData.host }}/v1?k={{.SecureJsonData.key}}", &config).unwrap();
//! assert_eq!(out, "https://api.acme.example/v1?k=s3cr3t");
//! let err = substitute("{{ .SecureJsonData.missing }}", &config).unwrap_err();
//! assert!(err.to_string().contains("missing"));
//! ```
//!
//! # Security
//!
//! Secret values live only in the host's configuration, the [`crate::core::engine::FetchPlan`]
//! handed to the API client, and the request itself. Every error message here is written with
//! the route's *template*, never the substituted value; the engine registers every secret with
//! the audit log (redacted from every event) and scrubs every secret from what it answers the
//! plugin after a fetch ([`scrub`]) — error messages, response headers and body alike, so an
//! upstream that echoes a header cannot hand it to the plugin. `RouteConfig`'s `Debug` hides
//! secret values.
//!
//! Non-goals: Grafana's other template fields (`.URL`, `.PluginAppURL`, pipelines such as
//! `| urlquery`) are refused, not emulated; substituted values are inserted verbatim (the host
//! writes them), not percent-encoded.

use crate::core::collections::SortedMap;
use std::fmt;

use super::weburl::WebUrl;
use serde::Deserialize;
use thiserror::Error;

use super::error::{cold_text, Coded, ErrorCode};
use super::manifest::{Manifest, PluginId, Route};

/// The `url` prefix that makes an `api.fetch` a route request.
pub const ROUTE_PREFIX: &str = "route:";

/// What replaces a secret in text answered to a plugin.
pub const SCRUBBED: &str = "[REDACTED]";

/// Longest value in a [`RouteConfig`], in bytes.
const MAX_VALUE_BYTES: usize = 8192;
/// Most keys in one of a [`RouteConfig`]'s maps.
const MAX_KEYS: usize = 256;

/// Values one plugin's route templates refer to (host option `routes[pluginId]`).
///
/// `data` fills `{{ .JsonData.key }}`, `secrets` fills `{{ .SecureJsonData.key }}`. Keys are
/// identifiers (`[A-Za-z_][A-Za-z0-9_]*`, at most 256 per map); values are at most 8 KiB;
/// secrets are not empty. `secretOrigins` lists the origins a request carrying a secret may go
/// to (required with `secrets`; see the module docs).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteConfig {
    /// Plain values (`{{ .JsonData.key }}`).
    #[serde(default)]
    pub data: SortedMap<String, String>,
    /// Secret values (`{{ .SecureJsonData.key }}`): never shown to the plugin or the audit log.
    #[serde(default)]
    pub secrets: SortedMap<String, String>,
    /// Origins (`https://api.example`, loopback `http:` with `allowLoopbackHttp`) a route that
    /// uses a secret may call; normalized by [`RouteConfig::validate`].
    #[serde(default)]
    pub secret_origins: Vec<String>,
}

crate::core::json::from_json_struct!(RouteConfig, "struct RouteConfig", {
    data: "data",
    secrets: "secrets",
    secret_origins: "secretOrigins",
});

impl fmt::Debug for RouteConfig {
    /// Secret values are never printed, only their keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden: SortedMap<&str, &str> = self
            .secrets
            .keys()
            .map(|k| (k.as_str(), SCRUBBED))
            .collect();
        f.debug_struct("RouteConfig")
            .field("data", &self.data)
            .field("secrets", &hidden)
            .field("secret_origins", &self.secret_origins)
            .finish()
    }
}

impl RouteConfig {
    /// Check keys and values and normalize `secretOrigins`; `what` names the option in
    /// messages (e.g. `routes["acme-app"]`).
    ///
    /// # Errors
    /// [`RouteError::Config`] (`INVALID_ARGUMENT`) naming the key at fault (never a value),
    /// `secrets` without `secretOrigins`, or a `secretOrigins` entry that is not an `https:`
    /// origin (loopback `http:` with `allow_loopback_http`).
    pub fn validate(&mut self, what: &str, allow_loopback_http: bool) -> Result<(), RouteError> {
        for (map, name) in [(&self.data, "data"), (&self.secrets, "secrets")] {
            if map.len() > MAX_KEYS {
                return Err(RouteError::Config(format!(
                    "{what}.{name} has {} keys; at most {MAX_KEYS} are accepted",
                    map.len()
                )));
            }
            for (k, v) in map {
                if !is_key(k) {
                    return Err(RouteError::Config(format!(
                        "{what}.{name}: key {:?} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)",
                        shorten(k)
                    )));
                }
                if v.len() > MAX_VALUE_BYTES {
                    return Err(RouteError::Config(format!(
                        "{what}.{name}.{k} is {} bytes; at most {MAX_VALUE_BYTES} are accepted",
                        v.len()
                    )));
                }
                if name == "secrets" && v.is_empty() {
                    return Err(RouteError::Config(format!(
                        "{what}.secrets.{k} is empty; a secret must have a value"
                    )));
                }
            }
        }
        if !self.secrets.is_empty() && self.secret_origins.is_empty() {
            return Err(RouteError::Config(format!(
                "{what}{}",
                cold_text!(" has secrets but no secretOrigins: list the origins these secrets may be sent to (e.g. secretOrigins: [\"https://api.example.com\"])")
            )));
        }
        if self.secret_origins.len() > MAX_KEYS {
            return Err(RouteError::Config(format!(
                "{what}.secretOrigins has {} entries; at most {MAX_KEYS} are accepted",
                self.secret_origins.len()
            )));
        }
        for o in &mut self.secret_origins {
            *o = parse_origin(o, allow_loopback_http).map_err(|why| {
                RouteError::Config(format!("{what}.secretOrigins: {:?} {why}", shorten(o)))
            })?;
        }
        Ok(())
    }

    /// The secret values (to register with the audit log and scrub from replies).
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.secrets.values().map(String::as_str)
    }
}

/// Parse the host option `routes` (`{ [pluginId]: RouteConfig }`) keys and values.
///
/// # Errors
/// [`RouteError::Config`] for a key that is not a plugin id or an invalid [`RouteConfig`].
pub fn validate_configs(
    configs: &mut SortedMap<String, RouteConfig>,
    allow_loopback_http: bool,
) -> Result<(), RouteError> {
    for (id, config) in configs {
        validate_entry(id, config, allow_loopback_http)?;
    }
    Ok(())
}

/// Check one `routes[id]` entry.
///
/// # Errors
/// As [`validate_configs`].
pub fn validate_entry(
    id: &str,
    config: &mut RouteConfig,
    allow_loopback_http: bool,
) -> Result<(), RouteError> {
    PluginId::parse(id).map_err(|e| {
        RouteError::Config(format!("routes: {:?} is not a plugin id: {e}", shorten(id)))
    })?;
    config.validate(&format!("routes[{id:?}]"), allow_loopback_http)
}

/// `text` as a serialized origin (`https://host[:port]`), or why it is not one.
fn parse_origin(text: &str, allow_loopback_http: bool) -> Result<String, &'static str> {
    let url = WebUrl::parse(text).map_err(|_| "is not a URL")?;
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && super::network::is_loopback(&url) => {}
        "http" => {
            return Err(cold_text!(
                "is http:; expected https: (loopback http: only with dangerous.allowLoopbackHttp)"
            ))
        }
        _ => return Err("is not an https: origin"),
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(cold_text!(
            "is not an origin (no path, query, fragment or credentials)"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// Why a route request was refused. Messages name the route path, the template or the key,
/// never a substituted value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// `route:` URL malformed (empty path, whitespace, control characters, a fragment).
    #[error("{0}")]
    Malformed(String),
    /// No route with that path and method.
    #[error("plugin {id:?} declares no route {method} {path:?} (routes match their path exactly)")]
    NotFound {
        /// The plugin.
        id: String,
        /// The path asked for.
        path: String,
        /// The method asked for.
        method: String,
    },
    /// The current user lacks the route's action.
    #[error("route {path:?} needs the action {action:?}, which the current user does not hold")]
    ActionDenied {
        /// The route path.
        path: String,
        /// The action needed.
        action: String,
    },
    /// The current user lacks the route's minimum basic role.
    #[error("route {path:?} needs the basic role {role}, which the current user does not have")]
    RoleDenied {
        /// The route path.
        path: String,
        /// The role needed.
        role: String,
    },
    /// The route has no `url` to call.
    #[error("route {path:?} declares no url, so it cannot be fetched")]
    NoUrl {
        /// The route path.
        path: String,
    },
    /// A template the host cannot fill (unknown key, unsupported expression, unterminated).
    #[error("route {path:?}, {field} {template:?}: {problem}")]
    Template {
        /// The route path.
        path: String,
        /// `url` or `headers[i].content`.
        field: String,
        /// The template as written in the manifest (shortened).
        template: String,
        /// What is wrong (boxed: keeps `Result<_, RouteError>` small).
        problem: Box<TemplateError>,
    },
    /// The URL the template resolves to may not be called.
    #[error("route {path:?}: url template {template:?} {reason}")]
    Url {
        /// The route path.
        path: String,
        /// The template as written in the manifest (shortened).
        template: String,
        /// Why it is refused.
        reason: String,
    },
    /// A header value the template resolves to cannot be sent.
    #[error("route {path:?}: header {name:?} {reason}")]
    Header {
        /// The route path.
        path: String,
        /// The header name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The route uses a secret and its URL's origin is not one of the host's `secretOrigins`.
    #[error("route {path:?} would send a host secret to {origin}, which is not in this plugin's secretOrigins; nothing was sent")]
    SecretOrigin {
        /// The route path.
        path: String,
        /// The origin the route resolved to.
        origin: String,
    },
    /// The answer came from another origin than the route URL's.
    #[error(
        "route {path:?} was answered from another origin than its url's; the answer is refused"
    )]
    Escaped {
        /// The route path.
        path: String,
    },
    /// The host's `routes` option is malformed.
    #[error("{0}")]
    Config(String),
}

impl Coded for RouteError {
    fn code(&self) -> ErrorCode {
        match self {
            RouteError::Malformed(_) => ErrorCode::MessageRejected,
            RouteError::NotFound { .. } => ErrorCode::NotFound,
            RouteError::ActionDenied { .. } | RouteError::RoleDenied { .. } => {
                ErrorCode::PermissionDenied
            }
            // The host's configuration (or the reviewed manifest) cannot serve the request.
            RouteError::NoUrl { .. }
            | RouteError::Template { .. }
            | RouteError::Header { .. }
            | RouteError::Config(_) => ErrorCode::InvalidArgument,
            RouteError::Url { .. }
            | RouteError::SecretOrigin { .. }
            | RouteError::Escaped { .. } => ErrorCode::NetworkDenied,
        }
    }
    fn permission(&self) -> Option<&str> {
        match self {
            RouteError::ActionDenied { action, .. } => Some(action),
            _ => None,
        }
    }
}

/// Why a template could not be filled.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// `{{` without a closing `}}`.
    #[error("a \"{{{{\" at byte {at} has no closing \"}}}}\"")]
    Unterminated {
        /// Byte offset of the `{{`.
        at: usize,
    },
    /// An expression other than `.JsonData.key` / `.SecureJsonData.key`.
    #[error("{expr:?} is not supported; expected {{{{ .JsonData.key }}}} or {{{{ .SecureJsonData.key }}}}")]
    Unsupported {
        /// The expression between the braces (shortened).
        expr: String,
    },
    /// A key the host's configuration does not hold.
    #[error(
        "{object}.{key} is not set in the host's routes option for this plugin ({option}.{key})"
    )]
    UnknownKey {
        /// `JsonData` or `SecureJsonData`.
        object: &'static str,
        /// The key.
        key: String,
        /// `data` or `secrets`.
        option: &'static str,
    },
}

/// Fill `{{ .JsonData.key }}` and `{{ .SecureJsonData.key }}` (spaces inside the braces
/// optional) from `config`.
///
/// # Errors
/// [`TemplateError`] for an unterminated `{{`, another expression, or a key `config` lacks.
pub fn substitute(template: &str, config: &RouteConfig) -> Result<String, TemplateError> {
    fill(template, config).map(|(text, _)| text)
}

/// [`substitute`], and whether a secret was filled in.
fn fill(template: &str, config: &RouteConfig) -> Result<(String, bool), TemplateError> {
    let mut uses_secret = false;
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find("}}") else {
            return Err(TemplateError::Unterminated { at: offset + start });
        };
        let expr = after.get(..end).unwrap_or_default().trim();
        let (object, option, map, key) = if let Some(k) = expr.strip_prefix(".JsonData.") {
            ("JsonData", "data", &config.data, k)
        } else if let Some(k) = expr.strip_prefix(".SecureJsonData.") {
            ("SecureJsonData", "secrets", &config.secrets, k)
        } else {
            return Err(TemplateError::Unsupported {
                expr: shorten(expr),
            });
        };
        if !is_key(key) {
            return Err(TemplateError::Unsupported {
                expr: shorten(expr),
            });
        }
        let value = map.get(key).ok_or_else(|| TemplateError::UnknownKey {
            object,
            key: key.to_owned(),
            option,
        })?;
        uses_secret |= option == "secrets";
        out.push_str(value);
        let consumed = start + 2 + end + 2;
        offset += consumed;
        rest = rest.get(consumed..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok((out, uses_secret))
}

/// A parsed `route:<path>[?query]` request URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRequest<'a> {
    /// The route path, matched exactly against the manifest's.
    pub path: &'a str,
    /// The query to append to the route URL's, if any.
    pub query: Option<&'a str>,
}

/// `Some` when `url` is a route request (starts with `route:`), parsed.
///
/// # Errors
/// [`RouteError::Malformed`] (`MESSAGE_REJECTED`) for an empty path, whitespace or control
/// characters, a backslash, or a `#`.
///
/// ```
/// use plugin_warden::core::routes::parse_request;
/// assert!(parse_request("https://api.acme.example/").is_none());
/// let r = parse_request("route:api/patents?q=x").unwrap().unwrap();
/// assert_eq!((r.path, r.query), ("api/patents", Some("q=x")));
/// assert!(parse_request("route:").unwrap().is_err());
/// ```
pub fn parse_request(url: &str) -> Option<Result<RouteRequest<'_>, RouteError>> {
    let rest = url.strip_prefix(ROUTE_PREFIX)?;
    Some(parse_rest(rest))
}

fn parse_rest(rest: &str) -> Result<RouteRequest<'_>, RouteError> {
    let bad = |why: &str| {
        Err(RouteError::Malformed(format!(
            "route URL {:?} {why}; expected \"route:<path>\" or \"route:<path>?<query>\"",
            shorten(&format!("{ROUTE_PREFIX}{rest}"))
        )))
    };
    if rest
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return bad("contains whitespace, a control character or a backslash");
    }
    if rest.contains('#') {
        return bad("has a fragment");
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q).filter(|q| !q.is_empty())),
        None => (rest, None),
    };
    if path.is_empty() {
        return bad("has an empty path");
    }
    Ok(RouteRequest { path, query })
}

/// The manifest route for `path` and `method`: one with that method (case-insensitive) wins
/// over one for any method — the same lookup as [`crate::core::rbac::Rbac::can_access_route`].
///
/// # Errors
/// [`RouteError::NotFound`] naming the path and method.
pub fn find<'m>(manifest: &'m Manifest, path: &str, method: &str) -> Result<&'m Route, RouteError> {
    let same_path = || manifest.routes().iter().filter(|r| r.path() == path);
    same_path()
        .find(|r| r.method().is_some_and(|m| m.eq_ignore_ascii_case(method)))
        .or_else(|| same_path().find(|r| r.method().is_none()))
        .ok_or_else(|| RouteError::NotFound {
            id: manifest.id().to_string(),
            path: shorten(path),
            method: shorten(method),
        })
}

/// A route request ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The final URL (templates filled, plugin query appended).
    pub url: WebUrl,
    /// The route's headers, templates filled.
    pub headers: Vec<(String, String)>,
}

impl fmt::Debug for Resolved {
    /// Holds secrets: only the origin and the header names are printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Resolved")
            .field("origin", &self.url.origin().ascii_serialization())
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

/// Fill a route's templates from `config` and check the result.
///
/// # Errors
/// [`RouteError::NoUrl`], [`RouteError::Template`], [`RouteError::Url`] (not `https:` — or
/// loopback `http:` with `allow_loopback_http` —, credentials, fragment, ambiguous characters),
/// [`RouteError::Header`] (a value with CR, LF or NUL) and [`RouteError::SecretOrigin`] (a
/// secret bound for an origin not in `config.secret_origins`). Messages quote templates only.
pub fn resolve(
    route: &Route,
    config: &RouteConfig,
    query: Option<&str>,
    allow_loopback_http: bool,
) -> Result<Resolved, RouteError> {
    let path = route.path();
    let template = route.url().ok_or_else(|| RouteError::NoUrl {
        path: shorten(path),
    })?;
    let url_err = |reason: &str| RouteError::Url {
        path: shorten(path),
        template: shorten(template),
        reason: reason.to_owned(),
    };
    let (text, mut uses_secret) =
        fill(template, config).map_err(|problem| RouteError::Template {
            path: shorten(path),
            field: "url".to_owned(),
            template: shorten(template),
            problem: Box::new(problem),
        })?;
    if text.chars().any(|c| c.is_control() || c == '\\')
        || text.starts_with(' ')
        || text.ends_with(' ')
    {
        return Err(url_err(
            "resolves to a URL with control characters, a backslash or surrounding spaces",
        ));
    }
    let mut url = WebUrl::parse(&text)
        .map_err(|e| url_err(&format!("does not resolve to an absolute URL ({e})")))?;
    let after_scheme = text.get(url.scheme().len()..).unwrap_or_default();
    if !after_scheme.starts_with("://") {
        return Err(url_err("does not resolve to a URL written scheme://host"));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && super::network::is_loopback(&url) => {}
        "http" => {
            return Err(url_err(
                "resolves to an http: URL; expected https: (plain http only for loopback hosts when the host sets allowLoopbackHttp)",
            ))
        }
        _ => return Err(url_err("resolves to a URL whose scheme is not https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(url_err(
            "resolves to a URL with credentials (a user name or password); refused",
        ));
    }
    if url.fragment().is_some() {
        return Err(url_err("resolves to a URL with a fragment; refused"));
    }
    if let Some(q) = query {
        let joined = match url.query() {
            Some(own) if !own.is_empty() => format!("{own}&{q}"),
            _ => q.to_owned(),
        };
        url.set_query(Some(&joined));
    }
    let mut headers = Vec::with_capacity(route.headers().len());
    for (i, h) in route.headers().iter().enumerate() {
        let (value, secret) =
            fill(h.content(), config).map_err(|problem| RouteError::Template {
                path: shorten(path),
                field: format!("headers[{i}].content"),
                template: shorten(h.content()),
                problem: Box::new(problem),
            })?;
        if !is_token(h.name()) {
            return Err(RouteError::Header {
                path: shorten(path),
                name: shorten(h.name()),
                reason: "is not an HTTP header name".to_owned(),
            });
        }
        if value.contains(['\r', '\n', '\0']) {
            return Err(RouteError::Header {
                path: shorten(path),
                name: h.name().to_owned(),
                reason: "resolves to a value with CR, LF or NUL; refused".to_owned(),
            });
        }
        uses_secret |= secret;
        headers.push((h.name().to_owned(), value));
    }
    if uses_secret {
        let origin = url.origin().ascii_serialization();
        if !config.secret_origins.contains(&origin) {
            return Err(RouteError::SecretOrigin {
                path: shorten(path),
                origin,
            });
        }
    }
    Ok(Resolved { url, headers })
}

/// The headers to send: the plugin's, minus any whose name a route header has
/// (case-insensitively), then the route's. A plugin can neither replace nor remove a route
/// header.
///
/// ```
/// use plugin_warden::core::routes::merge_headers;
/// let plugin = [("x-api-key".to_owned(), "mine".to_owned()), ("accept".to_owned(), "text/csv".to_owned())];
/// let route = vec![("X-Api-Key".to_owned(), "host".to_owned())];
/// assert_eq!(merge_headers(plugin, route), vec![
///     ("accept".to_owned(), "text/csv".to_owned()),
///     ("X-Api-Key".to_owned(), "host".to_owned()),
/// ]);
/// ```
pub fn merge_headers(
    plugin: impl IntoIterator<Item = (String, String)>,
    route: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = plugin
        .into_iter()
        .filter(|(n, _)| !route.iter().any(|(r, _)| r.eq_ignore_ascii_case(n)))
        .collect();
    out.extend(route);
    out
}

/// Replace every secret (verbatim and percent-encoded, longest first) in `text` with
/// [`SCRUBBED`]. Cheap when `secrets` is empty.
///
/// ```
/// use plugin_warden::core::routes::scrub;
/// let secrets = vec!["k/1 2".to_owned()];
/// assert_eq!(scrub("GET https://a.example/?k=k%2F1%202 failed, key k/1 2", &secrets),
///            "GET https://a.example/?k=[REDACTED] failed, key [REDACTED]");
/// ```
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), SCRUBBED);
        }
        let encoded = super::audit::percent_encode_all(s);
        if encoded != *s && out.contains(&encoded) {
            out = out.replace(&encoded, SCRUBBED);
        }
        let plus = encoded.replace("%20", "+");
        if plus != encoded && out.contains(&plus) {
            out = out.replace(&plus, SCRUBBED);
        }
    }
    out
}

/// Sort secrets longest first (so a secret containing another is scrubbed whole), drop
/// duplicates.
pub fn order_secrets(secrets: &mut Vec<String>) {
    crate::core::collections::sort_by(secrets, |a, b| (b.len(), a) < (a.len(), b));
    secrets.dedup();
}

fn is_key(k: &str) -> bool {
    let mut chars = k.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && k.len() <= 128
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// At most 96 characters of `s`, for messages.
fn shorten(s: &str) -> String {
    const MAX: usize = 96;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}
