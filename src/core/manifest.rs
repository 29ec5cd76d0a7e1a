//! The plugin manifest (`plugin.json`, DESIGN.md §4): parsing and validation.
//!
//! [`Manifest::parse`] walks the JSON itself instead of deriving `Deserialize`, so that it can
//! collect **every** problem in one pass and name each by its JSON path
//! (`roles[1].role.permissions[0].action`). A [`Manifest`] that exists is valid.
//!
//! # Rules
//!
//! - Known fields are validated strictly: a wrong type is a problem. `null` in an *optional*
//!   field counts as absent. Unknown fields — top-level (`$schema`, `info`, `dependencies`,
//!   `backend`, …) and inside roles, includes and routes — are ignored, so real Grafana
//!   `plugin.json` files load. Unknown top-level fields are kept ([`Manifest::extra`]) but
//!   never serialized. A key that differs from a known key only in case, `_` or `-`
//!   (`reqaction`, `add_to_nav`) is a problem, because silently ignoring a misspelled
//!   `reqAction` would leave a route unprotected.
//! - `id`: a [`PluginId`]. Every role, include, route and action-set action is in the plugin's
//!   own namespace, `<id>.`; a plugin never declares core actions for itself.
//! - `version`: optional; a semver version or Grafana's `%VERSION%` placeholder. When absent,
//!   Grafana's `info.version` is used (same rule). A top-level `version` wins over `info.version`.
//! - `compatibility`: optional [`Compatibility`] range, npm syntax accepted, `||` supported.
//!   Grafana's `dependencies.grafanaDependency` is a range over *Grafana's* version, not this
//!   host's, and is not used.
//! - `permissions` / `optionalPermissions`: known [`Capability`] names, no duplicates, and a
//!   capability may not be listed in both (it would be unclear whether it needs a runtime
//!   grant). `permissions` cannot be optional: it is implied by a non-empty
//!   `optionalPermissions`.
//! - `network`: [`NetworkEntry::parse`]; duplicates (after normalization) are problems.
//! - `entry`: optional `{src, integrity?}`; `src` is an absolute `https:` URL without
//!   credentials (loopback `http:` with [`ManifestOptions::allow_loopback_http`]); `integrity`
//!   is a space-separated list of `sha256-`/`sha384-`/`sha512-` + base64 digests of the right
//!   length.
//! - `assets`: origins (not URLs) the plugin's frame or remote UI may load images, fonts,
//!   styles and media from: each an absolute `https:` URL with no path but `/`, no
//!   credentials, query or fragment (loopback `http:` with
//!   [`ManifestOptions::allow_loopback_http`]). Normalized to `scheme://host[:port]`, default
//!   port dropped ([`Manifest::assets`]); two entries naming the same origin after
//!   normalization are a problem, like every other duplicate.
//! - `allow`: Permissions-Policy feature names, tokens `[a-z0-9-]+`.
//! - `roles[].grants`: `Viewer`, `Editor`, `Admin`, and Grafana's `Grafana Admin`, which no
//!   plugin-warden basic role satisfies (the role is then held only by users assigned it by
//!   name: narrower, never wider, than in Grafana). `None` is not a grant.
//! - `includes[].path`: `%PLUGIN_ID%` is replaced by the id; a path may not carry a URL scheme
//!   or start with `//` or contain `\`, so a nav link cannot become `javascript:`.
//! - `actionSets`: only `folders:view`, `folders:edit`, `folders:admin` may be extended, each
//!   at most once, with at least one namespaced action; extension is append-only by construction.
//! - Wildcard actions (`<id>.patents:*`) are allowed only where something is *granted*
//!   (role permissions, action-set actions); a *requirement* (include `action`, route
//!   `reqAction`) must be a concrete action.
//! - Duplicates (role names, grants, role actions, include names+types, route path+method,
//!   action-set targets and actions, capabilities, network entries, asset origins, `allow`
//!   tokens) are
//!   problems.
//!
//! # Limits
//!
//! Input text ≤ [`MAX_MANIFEST_BYTES`]; every array ≤ [`MAX_ITEMS`] entries; every string ≤
//! [`MAX_STRING_BYTES`] (actions ≤ [`MAX_ACTION_BYTES`]); at most [`MAX_PROBLEMS`] problems are
//! reported, followed by one saying how many more were left out. JSON nesting is bounded by
//! `serde_json`'s recursion limit. Any input gives a value or an error, never a panic.

use crate::core::collections::SortedSet;
use std::fmt;

use super::weburl::WebUrl;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use thiserror::Error;

use super::error::{cold_text, Coded, ErrorCode};
use super::network::{NetworkEntry, NetworkOptions};
use super::vocab::{fold_to_ascii, BasicRole, FolderActionSet, Scope, MAX_SCOPE_BYTES};

/// Largest manifest text [`Manifest::parse`] accepts, in bytes (1 MiB).
pub const MAX_MANIFEST_BYTES: usize = 1 << 20;
/// Most entries any manifest array may hold (roles, includes, routes, grants, …).
pub const MAX_ITEMS: usize = 256;
/// Longest string any manifest field may hold, in bytes.
pub const MAX_STRING_BYTES: usize = 4096;
/// Longest [`Action`], in bytes.
pub const MAX_ACTION_BYTES: usize = 256;
/// Most problems a [`ManifestError`] lists before summarizing the rest.
pub const MAX_PROBLEMS: usize = 256;

const VERSION_PLACEHOLDER: &str = "%VERSION%";
const ID_PLACEHOLDER: &str = "%PLUGIN_ID%";

/// Core RBAC namespaces a plugin id may not take: with id `folders` a plugin could declare
/// `folders.permissions:write` "in its own namespace".
const RESERVED_IDS: &[&str] = &[
    "alert",
    "annotations",
    "apikeys",
    "dashboards",
    "datasources",
    "folders",
    "grafana",
    "ldap",
    "library",
    "licensing",
    "org",
    "orgs",
    "plugins",
    "provisioning",
    "reports",
    "roles",
    "server",
    "serviceaccounts",
    "settings",
    "snapshots",
    "support",
    "teams",
    "users",
    "warden",
];

/// Options for [`Manifest::parse`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ManifestOptions {
    /// Allow plain `http:` loopback URLs in `network` and `entry.src`. Off by default.
    pub allow_loopback_http: bool,
}

/// One thing wrong with a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ManifestProblem {
    /// JSON path of the offending field (`roles[1].role.permissions[0].action`), `$` for the
    /// whole document.
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A manifest (or one of its values) broke the rules; code `INVALID_MANIFEST`.
///
/// It lists **all** problems found (up to [`MAX_PROBLEMS`]), never just the first.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub struct ManifestError {
    /// Every problem, in document order. Never empty.
    pub problems: Vec<ManifestProblem>,
}

impl ManifestError {
    fn one(path: &str, message: impl Into<String>) -> Self {
        ManifestError {
            problems: vec![ManifestProblem {
                path: path.to_owned(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid manifest ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n- {p}")?;
        }
        Ok(())
    }
}

impl Coded for ManifestError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidManifest
    }
}

/// Quote a found value for a message, shortened so a hostile manifest cannot make huge errors.
fn show(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        format!("{s:?}")
    } else {
        let mut end = MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!(
            "{:?}… ({} bytes)",
            s.get(..end).unwrap_or_default(),
            s.len()
        )
    }
}

/// "a string", "an object", … for messages about a JSON value.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_text(s: &str, max: usize) -> Result<(), String> {
    if s.len() > max {
        return Err(format!(
            "expected at most {max} bytes, found {} bytes",
            s.len()
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(format!("expected no control characters, found {}", show(s)));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// PluginId

/// A plugin id: lowercase `[a-z0-9-]`, 3 to 64 characters, not a reserved core namespace.
///
/// # Security
/// The id is the plugin's RBAC namespace (`<id>.`). Ids that equal a core RBAC namespace
/// (`folders`, `dashboards`, `teams`, …) are refused, since `folders.permissions:write` would
/// otherwise count as "the plugin's own" action.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PluginId(String);

impl PluginId {
    /// Parse a plugin id.
    ///
    /// # Errors
    /// [`ManifestError`] (path `id`) when the id breaks the pattern, length or is reserved.
    ///
    /// ```
    /// use plugin_warden::core::manifest::PluginId;
    /// assert_eq!(PluginId::parse("acme-patents-app").unwrap().as_str(), "acme-patents-app");
    /// assert!(PluginId::parse("Acme").is_err());
    /// assert!(PluginId::parse("ab").is_err());
    /// assert!(PluginId::parse("folders").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, ManifestError> {
        validate_id(s)
            .map(|()| PluginId(s.to_owned()))
            .map_err(|m| ManifestError::one("id", m))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The plugin's action namespace, `<id>.`.
    ///
    /// ```
    /// use plugin_warden::core::manifest::PluginId;
    /// assert_eq!(PluginId::parse("acme-app").unwrap().namespace(), "acme-app.");
    /// ```
    pub fn namespace(&self) -> String {
        format!("{}.", self.0)
    }

    /// Whether `action` lies in this plugin's namespace.
    ///
    /// ```
    /// use plugin_warden::core::manifest::{Action, PluginId};
    /// let id = PluginId::parse("acme-app").unwrap();
    /// assert!(id.owns(&Action::parse("acme-app.docs:read").unwrap()));
    /// assert!(!id.owns(&Action::parse("acme-app-x.docs:read").unwrap()));
    /// assert!(!id.owns(&Action::parse("dashboards:read").unwrap()));
    /// ```
    pub fn owns(&self, action: &Action) -> bool {
        action
            .as_str()
            .strip_prefix(self.0.as_str())
            .is_some_and(|rest| rest.starts_with('.'))
    }
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn validate_id(s: &str) -> Result<(), String> {
    let n = s.chars().count();
    if !(3..=64).contains(&n) {
        return Err(format!(
            "expected 3 to 64 characters of [a-z0-9-], found {} ({n} characters)",
            show(s)
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "expected only lowercase [a-z0-9-], found {}",
            show(s)
        ));
    }
    if RESERVED_IDS.contains(&s) {
        return Err(format!(
            "{} is reserved: it is a core RBAC namespace",
            show(s)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Action

/// An RBAC action such as `acme-patents-app.patents:read`, or a wildcard such as `roles:*`.
///
/// Form: `<namespace>:<verb>` with exactly one `:`. The namespace is one or more non-empty
/// `.`-separated segments of `[A-Za-z0-9_-]`; the verb is `[A-Za-z0-9_.-]+` or exactly `*`
/// (a wildcard, see [`crate::core::permission`]). At most [`MAX_ACTION_BYTES`] bytes. A bare
/// `*` is not an action.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Action(String);

impl Action {
    /// Parse an action.
    ///
    /// # Errors
    /// [`ManifestError`] (path `$`) naming what was wrong.
    ///
    /// ```
    /// use plugin_warden::core::manifest::Action;
    /// assert!(Action::parse("acme-app.patents:read").is_ok());
    /// assert!(Action::parse("roles:*").unwrap().is_wildcard());
    /// for bad in ["", "*", "read", "a:b:c", "a b:read", "x:re*d", "*:read", "a..b:read"] {
    ///     assert!(Action::parse(bad).is_err(), "{bad}");
    /// }
    /// ```
    pub fn parse(s: &str) -> Result<Self, ManifestError> {
        validate_action(s)
            .map(|()| Action(s.to_owned()))
            .map_err(|m| ManifestError::one("$", m))
    }

    /// Whether `s` would parse, without allocating.
    ///
    /// ```
    /// use plugin_warden::core::manifest::Action;
    /// assert!(Action::is_valid("a.b:c"));
    /// assert!(!Action::is_valid("a.b"));
    /// ```
    pub fn is_valid(s: &str) -> bool {
        validate_action(s).is_ok()
    }

    /// The action as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a wildcard (`ns:*`).
    pub fn is_wildcard(&self) -> bool {
        self.0.ends_with(":*")
    }

    /// The part before the `:` (`acme-app.patents` for `acme-app.patents:read`).
    pub fn namespace(&self) -> &str {
        self.0.split_once(':').map_or("", |(ns, _)| ns)
    }

    /// The part after the `:` (`read`, or `*` for a wildcard).
    pub fn verb(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, v)| v)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn validate_action(s: &str) -> Result<(), String> {
    const FORM: &str = "expected an action like \"ns.thing:verb\" or \"ns:*\"";
    if s.is_empty() {
        return Err(format!("{FORM}, found an empty string"));
    }
    if s.len() > MAX_ACTION_BYTES {
        return Err(format!(
            "{FORM} of at most {MAX_ACTION_BYTES} bytes, found {} bytes",
            s.len()
        ));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{FORM}, found {} with whitespace or control characters",
            show(s)
        ));
    }
    let Some((ns, verb)) = s.split_once(':') else {
        return Err(format!("{FORM}, found {} without ':'", show(s)));
    };
    if verb.contains(':') {
        return Err(format!("{FORM}, found {} with more than one ':'", show(s)));
    }
    let seg_ok = |seg: &str| {
        !seg.is_empty()
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if !ns.split('.').all(seg_ok) {
        return Err(format!(
            "{FORM}, found {} whose namespace is not non-empty '.'-separated [A-Za-z0-9_-] segments",
            show(s)
        ));
    }
    let verb_ok = verb == "*"
        || (!verb.is_empty()
            && verb
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'));
    if !verb_ok {
        return Err(format!(
            "{FORM}, found {} whose verb is not [A-Za-z0-9_.-]+ or exactly '*'",
            show(s)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Capability

/// An SDK capability a plugin may be granted (DESIGN.md §4). Ordered by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Capability {
    /// `api:read`: `GET`/`HEAD` through the API client.
    ApiRead,
    /// `api:write`: other methods through the API client.
    ApiWrite,
    /// `events`: subscribe to and emit events.
    Events,
    /// `permissions`: ask for optional capabilities at runtime.
    Permissions,
    /// `storage`: the plugin's own storage namespace.
    Storage,
    /// `ui:notify`: show notifications.
    UiNotify,
    /// `ui:render`: render sanitized HTML into the host's shadow root (remote-UI mounts,
    /// `{ mode: 'worker', ui: 'shadow' }`).
    UiRender,
}

impl Capability {
    /// Every capability, sorted by name.
    pub const ALL: [Capability; 7] = [
        Capability::ApiRead,
        Capability::ApiWrite,
        Capability::Events,
        Capability::Permissions,
        Capability::Storage,
        Capability::UiNotify,
        Capability::UiRender,
    ];

    /// Parse a capability name.
    ///
    /// # Errors
    /// [`ManifestError`] (path `$`) listing the known names.
    ///
    /// ```
    /// use plugin_warden::core::manifest::Capability;
    /// assert_eq!(Capability::parse("api:read").unwrap(), Capability::ApiRead);
    /// assert_eq!(Capability::parse("ui:notify").unwrap().as_str(), "ui:notify");
    /// assert_eq!(Capability::parse("ui:render").unwrap(), Capability::UiRender);
    /// assert!(Capability::parse("camera").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, ManifestError> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                ManifestError::one(
                    "$",
                    format!(
                        "expected a known capability (storage, api:read, api:write, events, ui:notify, ui:render, permissions), found {}",
                        show(s)
                    ),
                )
            })
    }

    /// The capability's wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Capability::ApiRead => "api:read",
            Capability::ApiWrite => "api:write",
            Capability::Events => "events",
            Capability::Permissions => "permissions",
            Capability::Storage => "storage",
            Capability::UiNotify => "ui:notify",
            Capability::UiRender => "ui:render",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Capability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Compatibility

/// A semver range over the host version, from the manifest's `compatibility`: the one range
/// type of the crate, [`CompatRange`](super::compat::CompatRange) (grammar and errors in
/// [`compat`](super::compat)); the manifest, the engine's install check and the CLI all use it.
pub use super::compat::CompatRange as Compatibility;

// ---------------------------------------------------------------------------------------------
// Parts of a manifest

/// The manifest's `entry`: where the plugin's page or script lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    src: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    integrity: Option<String>,
}

impl Entry {
    /// The absolute URL, normalized by the WHATWG URL parser.
    pub fn src(&self) -> &str {
        &self.src
    }
    /// The Subresource Integrity value as written (format-checked only; see `integrity.rs`).
    pub fn integrity(&self) -> Option<&str> {
        self.integrity.as_deref()
    }
}

/// A basic role a plugin role is granted to (`roles[].grants[]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Grant {
    /// `Viewer`, `Editor` or `Admin`: held by users with that basic role or a higher one.
    Basic(BasicRole),
    /// Grafana's server administrator, `Grafana Admin`. plugin-warden has no such tier: no
    /// basic role satisfies it, so the role is held only by users assigned it by name.
    GrafanaAdmin,
}

impl Grant {
    /// Parse a grant.
    ///
    /// # Errors
    /// [`ManifestError`] (path `$`) for anything but `Viewer`, `Editor`, `Admin`,
    /// `Grafana Admin` (including `None`).
    ///
    /// ```
    /// use plugin_warden::core::manifest::Grant;
    /// use plugin_warden::core::rbac::BasicRole;
    /// assert_eq!(Grant::parse("Editor").unwrap(), Grant::Basic(BasicRole::Editor));
    /// assert!(Grant::parse("None").is_err());
    /// assert!(Grant::parse("admin").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, ManifestError> {
        match s {
            "Grafana Admin" => Ok(Grant::GrafanaAdmin),
            _ => match BasicRole::from_name(s) {
                Some(b) => Ok(Grant::Basic(b)),
                None => Err(ManifestError::one(
                    "$",
                    format!(
                        "expected a basic role (\"Viewer\", \"Editor\", \"Admin\" or \"Grafana Admin\"), found {}",
                        show(s)
                    ),
                )),
            },
        }
    }

    /// The grant as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            Grant::Basic(b) => b.as_str(),
            Grant::GrafanaAdmin => "Grafana Admin",
        }
    }

    /// Whether a user with basic role `role` is granted through this.
    ///
    /// ```
    /// use plugin_warden::core::manifest::Grant;
    /// use plugin_warden::core::rbac::BasicRole;
    /// assert!(Grant::Basic(BasicRole::Viewer).held_by(Some(BasicRole::Admin)));
    /// assert!(!Grant::Basic(BasicRole::Admin).held_by(Some(BasicRole::Editor)));
    /// assert!(!Grant::GrafanaAdmin.held_by(Some(BasicRole::Admin)));
    /// ```
    pub fn held_by(self, role: Option<BasicRole>) -> bool {
        match (self, role) {
            (Grant::Basic(g), Some(r)) => r.includes(g),
            _ => false,
        }
    }
}

impl Serialize for Grant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One permission of a plugin role: an action in the plugin's namespace, and an optional
/// Grafana scope (validated by [`crate::core::rbac::Scope::parse`]: `*` only last, after `:` or
/// `/`, or alone). Holding the role holds the action on that scope; without a scope, the action
/// answers only unscoped checks (see [`crate::core::rbac::scope`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RolePermission {
    action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<Scope>,
}

impl RolePermission {
    /// The action (may be a wildcard such as `<id>.patents:*`).
    pub fn action(&self) -> &Action {
        &self.action
    }
    /// The scope, if any.
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }
}

/// A plugin role: a named bundle of the plugin's own actions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Role {
    name: String,
    #[serde(skip)]
    qualified_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    permissions: Vec<RolePermission>,
}

impl Role {
    /// The display name (`Patents Reader`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The qualified name, Grafana-style `plugins:<id>:<slug of name>`
    /// (`plugins:acme-patents-app:patents-reader`).
    pub fn qualified_name(&self) -> &str {
        &self.qualified_name
    }
    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    /// The permissions.
    pub fn permissions(&self) -> &[RolePermission] {
        &self.permissions
    }
}

/// The slug used in a role's qualified name: lowercase ASCII alphanumerics, other runs become `-`.
///
/// ```
/// use plugin_warden::core::manifest::role_slug;
/// assert_eq!(role_slug("Patents Reader"), "patents-reader");
/// assert_eq!(role_slug("  Research / Papers  "), "research-papers");
/// ```
pub fn role_slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A `roles[]` entry: a role and the basic roles it is granted to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleRegistration {
    role: Role,
    grants: Vec<Grant>,
}

impl RoleRegistration {
    /// The role.
    pub fn role(&self) -> &Role {
        &self.role
    }
    /// Who holds it by basic role.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }
}

/// An `includes[]` entry: a page, dashboard or other contribution, optionally gated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Include {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<Action>,
    add_to_nav: bool,
    default_nav: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<BasicRole>,
}

impl Include {
    /// `type` (`page`, `dashboard`, …).
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The path, with `%PLUGIN_ID%` already replaced.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }
    /// The action a user must hold to see it (concrete, in the plugin's namespace).
    pub fn action(&self) -> Option<&Action> {
        self.action.as_ref()
    }
    /// `addToNav` (default `false`).
    pub fn add_to_nav(&self) -> bool {
        self.add_to_nav
    }
    /// `defaultNav` (default `false`).
    pub fn default_nav(&self) -> bool {
        self.default_nav
    }
    /// The minimum basic role, used only when `action` is absent (as in Grafana).
    pub fn role(&self) -> Option<BasicRole> {
        self.role
    }
}

/// A header a route adds (`{name, content}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteHeader {
    name: String,
    content: String,
}

impl RouteHeader {
    /// The header name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The header value (may hold Grafana template placeholders).
    pub fn content(&self) -> &str {
        &self.content
    }
}

/// A `routes[]` entry: a plugin route gated by an action or basic role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    req_action: Option<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    req_role: Option<BasicRole>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    headers: Vec<RouteHeader>,
}

impl Route {
    /// The route path, matched exactly.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The HTTP method, upper-case; `None` (absent or `*`) means any method.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }
    /// The action a user must hold (concrete, in the plugin's namespace).
    pub fn req_action(&self) -> Option<&Action> {
        self.req_action.as_ref()
    }
    /// The minimum basic role, used only when `reqAction` is absent (as in Grafana).
    pub fn req_role(&self) -> Option<BasicRole> {
        self.req_role
    }
    /// The proxy target as written, with Grafana templates. It is not part of the plugin's own
    /// `network` allowlist: only `api.fetch("route:<path>")` reaches it, through the host, for
    /// users who hold `reqAction`, with host-held values filled in (see `core::routes`).
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }
    /// Headers the route adds.
    pub fn headers(&self) -> &[RouteHeader] {
        &self.headers
    }
}

/// An `actionSets[]` entry: plugin actions appended to a folder action set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionSetExtension {
    action: FolderActionSet,
    actions: Vec<Action>,
}

impl ActionSetExtension {
    /// The folder action set extended.
    pub fn action(&self) -> FolderActionSet {
        self.action
    }
    /// The plugin's actions added to it.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }
}

// ---------------------------------------------------------------------------------------------
// Manifest

/// A parsed, validated plugin manifest. Serializes (camelCase, like the input) without the
/// unknown fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    id: PluginId,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip)]
    semver: Option<semver::Version>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compatibility: Option<Compatibility>,
    permissions: Vec<Capability>,
    optional_permissions: Vec<Capability>,
    #[serde(serialize_with = "serialize_network")]
    network: Vec<NetworkEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<Entry>,
    assets: Vec<String>,
    allow: Vec<String>,
    roles: Vec<RoleRegistration>,
    includes: Vec<Include>,
    routes: Vec<Route>,
    action_sets: Vec<ActionSetExtension>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    exposes: Vec<Exposure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    consumes: Vec<Consumption>,
    #[serde(skip)]
    extra: Map<String, Value>,
}

/// An `exposes[]` entry: a function other plugins may call (`sdk.plugins.handle(name, …)`),
/// optionally only for users holding `action` (in the plugin's own namespace).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exposure {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<Action>,
}

impl Exposure {
    /// The function's name (`[A-Za-z0-9._:-]{1,64}`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The RBAC action the current user must hold for a call, if any.
    pub fn action(&self) -> Option<&Action> {
        self.action.as_ref()
    }
}

/// A `consumes[]` entry: another plugin's function this plugin calls (`sdk.plugins.call`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Consumption {
    plugin: PluginId,
    name: String,
}

impl Consumption {
    /// The plugin called.
    pub fn plugin(&self) -> &PluginId {
        &self.plugin
    }
    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn serialize_network<S: Serializer>(v: &[NetworkEntry], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(NetworkEntry::as_str))
}

impl Manifest {
    /// Parse and validate manifest JSON text.
    ///
    /// # Errors
    /// [`ManifestError`] listing every problem, when the text is over [`MAX_MANIFEST_BYTES`],
    /// is not JSON, or breaks any rule in the module docs.
    ///
    /// ```
    /// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
    /// let m = Manifest::parse(
    ///     r#"{"id":"acme-app","name":"Acme","permissions":["storage"],"info":{"x":1}}"#,
    ///     &ManifestOptions::default(),
    /// ).unwrap();
    /// assert_eq!(m.id().as_str(), "acme-app");
    /// assert!(m.extra().contains_key("info"));
    ///
    /// let e = Manifest::parse(r#"{"id":"X","name":7}"#, &ManifestOptions::default()).unwrap_err();
    /// assert_eq!(e.problems.len(), 2);
    /// assert_eq!(e.problems[0].path, "id");
    /// ```
    pub fn parse(json: &str, opts: &ManifestOptions) -> Result<Manifest, ManifestError> {
        if json.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::one(
                "$",
                format!(
                    "expected at most {MAX_MANIFEST_BYTES} bytes of JSON, found {} bytes",
                    json.len()
                ),
            ));
        }
        let value = crate::core::json::parse_value(json)
            .map_err(|e| ManifestError::one("$", format!("expected JSON, found an error: {e}")))?;
        Manifest::from_value(value, opts)
    }

    /// Validate an already-parsed JSON value.
    ///
    /// # Errors
    /// [`ManifestError`] listing every problem.
    ///
    /// ```
    /// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
    /// let e = Manifest::from_value(serde_json::json!([1, 2]), &ManifestOptions::default()).unwrap_err();
    /// assert!(e.to_string().contains("expected an object, found an array"));
    /// ```
    pub fn from_value(value: Value, opts: &ManifestOptions) -> Result<Manifest, ManifestError> {
        let Value::Object(obj) = value else {
            return Err(ManifestError::one(
                "$",
                format!("expected an object, found {}", kind(&value)),
            ));
        };
        let mut cx = Cx::default();
        let parsed = parse_manifest(&mut cx, &obj, opts);
        match (parsed, cx.finish()) {
            (Some(mut m), None) => {
                // `insert` rather than `collect`: the map's `FromIterator` sorts what it is
                // given (a whole stable sort instantiated for this one call); the keys come
                // in order already.
                for (k, v) in obj {
                    if !TOP_KEYS.contains(&k.as_str()) {
                        m.extra.insert(k, v);
                    }
                }
                Ok(m)
            }
            (_, Some(e)) => Err(e),
            (None, None) => Err(ManifestError::one("$", "invalid manifest")),
        }
    }

    /// `id`.
    pub fn id(&self) -> &PluginId {
        &self.id
    }
    /// `name`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// `version` (or Grafana's `info.version`), possibly the `%VERSION%` placeholder.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    /// The version as semver, `None` when absent or a placeholder.
    pub fn semver(&self) -> Option<&semver::Version> {
        self.semver.as_ref()
    }
    /// `compatibility`.
    pub fn compatibility(&self) -> Option<&Compatibility> {
        self.compatibility.as_ref()
    }
    /// `permissions`: capabilities held from install.
    pub fn permissions(&self) -> &[Capability] {
        &self.permissions
    }
    /// `optionalPermissions`: capabilities that need a runtime grant.
    pub fn optional_permissions(&self) -> &[Capability] {
        &self.optional_permissions
    }
    /// `network`.
    pub fn network(&self) -> &[NetworkEntry] {
        &self.network
    }
    /// `entry`.
    pub fn entry(&self) -> Option<&Entry> {
        self.entry.as_ref()
    }
    /// `assets`: the origins the plugin may load images, fonts, styles and media from,
    /// normalized (`https://cdn.example`, `http://127.0.0.1:8701`; no trailing slash, default
    /// port dropped), in manifest order, without duplicates.
    ///
    /// ```
    /// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
    /// let m = Manifest::parse(
    ///     r#"{"id":"acme-app","name":"A","assets":["https://CDN.example:443/"]}"#,
    ///     &ManifestOptions::default(),
    /// ).unwrap();
    /// assert_eq!(m.assets(), ["https://cdn.example"]);
    /// ```
    pub fn assets(&self) -> &[String] {
        &self.assets
    }
    /// `allow`: Permissions-Policy feature names for the iframe.
    pub fn allow(&self) -> &[String] {
        &self.allow
    }
    /// `roles`.
    pub fn roles(&self) -> &[RoleRegistration] {
        &self.roles
    }
    /// `includes`.
    pub fn includes(&self) -> &[Include] {
        &self.includes
    }
    /// `routes`.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
    /// `actionSets`.
    pub fn action_sets(&self) -> &[ActionSetExtension] {
        &self.action_sets
    }

    /// `exposes`: the functions other plugins may call.
    ///
    /// ```
    /// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
    /// let m = Manifest::parse(r#"{"id":"acme-app","name":"A","exposes":[{"name":"docs.search",
    ///     "action":"acme-app.docs:read"}],"consumes":[{"plugin":"other-app","name":"ping"}]}"#,
    ///     &ManifestOptions::default()).unwrap();
    /// assert_eq!(m.exposes()[0].name(), "docs.search");
    /// assert_eq!(m.consumes()[0].plugin().as_str(), "other-app");
    /// assert!(Manifest::parse(r#"{"id":"acme-app","name":"A","exposes":[{"name":"x",
    ///     "action":"other-app.docs:read"}]}"#, &ManifestOptions::default()).is_err());
    /// ```
    pub fn exposes(&self) -> &[Exposure] {
        &self.exposes
    }

    /// `consumes`: the other plugins' functions this plugin calls.
    pub fn consumes(&self) -> &[Consumption] {
        &self.consumes
    }
    /// Unknown top-level fields, kept as found and otherwise ignored.
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }
}

// ---------------------------------------------------------------------------------------------
// The walker

const TOP_KEYS: &[&str] = &[
    "id",
    "name",
    "version",
    "compatibility",
    "permissions",
    "optionalPermissions",
    "network",
    "entry",
    "assets",
    "allow",
    "roles",
    "includes",
    "routes",
    "actionSets",
    "exposes",
    "consumes",
];

#[derive(Default)]
struct Cx {
    problems: Vec<ManifestProblem>,
    omitted: usize,
}

impl Cx {
    #[cold]
    #[inline(never)]
    fn push(&mut self, path: &str, message: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(ManifestProblem {
                path: path.to_owned(),
                message: message.into(),
            });
        } else {
            self.omitted += 1;
        }
    }

    fn finish(mut self) -> Option<ManifestError> {
        if self.omitted > 0 {
            self.problems.push(ManifestProblem {
                path: "$".to_owned(),
                message: format!("{} more problems not listed", self.omitted),
            });
        }
        (!self.problems.is_empty()).then_some(ManifestError {
            problems: self.problems,
        })
    }

    /// Flag keys that look like a known key but are spelled differently (`reqaction`).
    fn near_misses(&mut self, obj: &Map<String, Value>, path: &str, known: &[&str]) {
        let norm = |s: &str| -> String {
            s.chars()
                .filter(|c| *c != '_' && *c != '-')
                .map(fold_to_ascii)
                .collect()
        };
        for key in obj.keys().take(MAX_ITEMS * 4) {
            if known.contains(&key.as_str()) {
                continue;
            }
            let n = norm(key);
            if let Some(k) = known.iter().find(|k| norm(k) == n) {
                self.push(
                    &field(path, key),
                    format!("unknown field {}; did you mean {k:?}?", show(key)),
                );
            }
        }
    }

    fn string<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        path: &str,
        key: &str,
        required: bool,
        max: usize,
    ) -> Option<&'a str> {
        let p = field(path, key);
        match obj.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.push(
                        &p,
                        "expected a string, found nothing (the field is required)",
                    );
                }
                None
            }
            Some(Value::String(s)) => match check_text(s, max) {
                Ok(()) => Some(s),
                Err(m) => {
                    self.push(&p, m);
                    None
                }
            },
            Some(v) => {
                self.push(&p, format!("expected a string, found {}", kind(v)));
                None
            }
        }
    }

    fn boolean(&mut self, obj: &Map<String, Value>, path: &str, key: &str) -> bool {
        match obj.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.push(
                    &field(path, key),
                    format!("expected a boolean, found {}", kind(v)),
                );
                false
            }
        }
    }

    fn array<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<&'a [Value]> {
        let p = field(path, key);
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) if a.len() > MAX_ITEMS => {
                self.push(
                    &p,
                    format!("expected at most {MAX_ITEMS} entries, found {}", a.len()),
                );
                None
            }
            Some(Value::Array(a)) => Some(a),
            Some(v) => {
                self.push(&p, format!("expected an array, found {}", kind(v)));
                None
            }
        }
    }

    /// `(path, string)` for each string element of an optional array; other elements are
    /// problems.
    fn strings<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        path: &str,
        key: &str,
        max: usize,
    ) -> Vec<(String, &'a str)> {
        let mut out = Vec::new();
        let p = field(path, key);
        for (i, v) in self
            .array(obj, path, key)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let ip = format!("{p}[{i}]");
            match v {
                Value::String(s) => match check_text(s, max) {
                    Ok(()) => out.push((ip, s.as_str())),
                    Err(m) => self.push(&ip, m),
                },
                v => self.push(&ip, format!("expected a string, found {}", kind(v))),
            }
        }
        out
    }

    fn object<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(o) => Some(o),
            v => {
                self.push(path, format!("expected an object, found {}", kind(v)));
                None
            }
        }
    }

    /// Parse an action at `path`, optionally requiring it concrete and in `ns`.
    fn action(
        &mut self,
        s: &str,
        path: &str,
        id: Option<&PluginId>,
        concrete: bool,
    ) -> Option<Action> {
        let a = match Action::parse(s) {
            Ok(a) => a,
            Err(e) => {
                for p in e.problems {
                    self.push(path, p.message);
                }
                return None;
            }
        };
        let mut ok = true;
        if concrete && a.is_wildcard() {
            self.push(
                path,
                format!(
                    "expected a concrete action (a requirement cannot be a wildcard), found {}",
                    show(s)
                ),
            );
            ok = false;
        }
        if let Some(id) = id {
            if !id.owns(&a) {
                self.push(
                    path,
                    format!(
                        "{} is outside this plugin's namespace {:?}",
                        show(s),
                        id.namespace()
                    ),
                );
                ok = false;
            }
        }
        ok.then_some(a)
    }
}

fn field(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The id for namespace checks; `None` (skip them) when the id itself is invalid.
type Ns<'a> = Option<&'a PluginId>;

fn parse_manifest(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    opts: &ManifestOptions,
) -> Option<Manifest> {
    cx.near_misses(obj, "", TOP_KEYS);

    let id = cx
        .string(obj, "", "id", true, 64 * 4)
        .and_then(|s| match validate_id(s) {
            Ok(()) => Some(PluginId(s.to_owned())),
            Err(m) => {
                cx.push("id", m);
                None
            }
        });
    let ns: Ns<'_> = id.as_ref();

    let name = cx.string(obj, "", "name", true, 256).and_then(|s| {
        if s.trim().is_empty() {
            cx.push("name", "expected a non-empty name, found an empty string");
            None
        } else {
            Some(s.to_owned())
        }
    });

    let (version, semver) = parse_version(cx, obj);

    let compatibility = cx
        .string(obj, "", "compatibility", false, MAX_ACTION_BYTES)
        .and_then(|s| match Compatibility::parse(s) {
            Ok(c) => Some(c),
            Err(e) => {
                cx.push("compatibility", e.to_string());
                None
            }
        });

    let permissions = parse_capabilities(cx, obj, "permissions");
    let optional_permissions = parse_capabilities(cx, obj, "optionalPermissions");
    for (i, c) in optional_permissions.iter().enumerate() {
        let p = format!("optionalPermissions[{i}]");
        if permissions.contains(c) {
            cx.push(
                &p,
                format!("{c:?} is listed in both permissions and optionalPermissions; expected one of them", c = c.as_str()),
            );
        }
        if *c == Capability::Permissions {
            cx.push(
                &p,
                cold_text!("\"permissions\" cannot be optional: it is implied by a non-empty optionalPermissions"),
            );
        }
    }

    let network = section(cx, obj, "network", |cx| parse_network(cx, obj, opts));
    let entry = section(cx, obj, "entry", |cx| parse_entry(cx, obj, opts));
    let assets = section(cx, obj, "assets", |cx| parse_assets(cx, obj, opts));
    let allow = section(cx, obj, "allow", |cx| parse_allow(cx, obj));
    let roles = parse_roles(cx, obj, ns);
    let includes = parse_includes(cx, obj, ns);
    let routes = section(cx, obj, "routes", |cx| parse_routes(cx, obj, ns));
    let action_sets = section(cx, obj, "actionSets", |cx| parse_action_sets(cx, obj, ns));
    let exposes = section(cx, obj, "exposes", |cx| parse_exposes(cx, obj, ns));
    let consumes = section(cx, obj, "consumes", |cx| parse_consumes(cx, obj));

    Some(Manifest {
        id: id?,
        name: name?,
        version,
        semver,
        compatibility,
        permissions,
        optional_permissions,
        network,
        entry,
        assets,
        allow,
        roles,
        includes,
        routes,
        action_sets,
        exposes,
        consumes,
        extra: Map::new(),
    })
}

/// `parse(cx)` when the manifest has `key`, else nothing (what each section's parser answers
/// for a missing key). The sections passed here are parsed by functions of their own
/// (`#[inline(never)]`), run only for a manifest that has them: the browser's core module is
/// split by use (scripts/split-module.mjs), and a function its recorded first visit never runs
/// is left out of the part every host loads.
fn section<T: Default>(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    key: &str,
    parse: impl FnOnce(&mut Cx) -> T,
) -> T {
    if obj.contains_key(key) {
        parse(cx)
    } else {
        T::default()
    }
}

fn parse_version(
    cx: &mut Cx,
    obj: &Map<String, Value>,
) -> (Option<String>, Option<semver::Version>) {
    let (raw, path) = if obj.get("version").is_some_and(|v| !v.is_null()) {
        (cx.string(obj, "", "version", false, 256), "version")
    } else if let Some(Value::Object(info)) = obj.get("info") {
        (
            cx.string(info, "info", "version", false, 256),
            "info.version",
        )
    } else {
        (None, "version")
    };
    let Some(raw) = raw else {
        return (None, None);
    };
    if raw == VERSION_PLACEHOLDER {
        return (Some(raw.to_owned()), None);
    }
    match semver::Version::parse(raw.strip_prefix(['v', 'V']).unwrap_or(raw)) {
        Ok(v) => (Some(raw.to_owned()), Some(v)),
        Err(e) => {
            cx.push(
                path,
                format!(
                    "expected a semver version like \"1.2.0\" (or {VERSION_PLACEHOLDER:?}), found {} ({e})",
                    show(raw)
                ),
            );
            (None, None)
        }
    }
}

fn parse_capabilities(cx: &mut Cx, obj: &Map<String, Value>, key: &str) -> Vec<Capability> {
    let mut out: Vec<Capability> = Vec::new();
    for (p, s) in cx.strings(obj, "", key, 64) {
        match Capability::parse(s) {
            Ok(c) if out.contains(&c) => cx.push(&p, format!("duplicate capability {}", show(s))),
            Ok(c) => out.push(c),
            Err(e) => {
                for pr in e.problems {
                    cx.push(&p, pr.message);
                }
            }
        }
    }
    out
}

#[inline(never)]
fn parse_network(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    opts: &ManifestOptions,
) -> Vec<NetworkEntry> {
    let nopts = NetworkOptions {
        allow_loopback_http: opts.allow_loopback_http,
    };
    let mut out: Vec<NetworkEntry> = Vec::new();
    for (p, s) in cx.strings(obj, "", "network", MAX_STRING_BYTES) {
        match NetworkEntry::parse(s, nopts) {
            Ok(e) if out.iter().any(|o| o.as_str() == e.as_str()) => {
                cx.push(&p, format!("duplicate network entry {}", show(e.as_str())));
            }
            Ok(e) => out.push(e),
            Err(e) => cx.push(&p, format!("expected an absolute https: URL; {e}")),
        }
    }
    out
}

#[inline(never)]
fn parse_entry(cx: &mut Cx, obj: &Map<String, Value>, opts: &ManifestOptions) -> Option<Entry> {
    let v = obj.get("entry").filter(|v| !v.is_null())?;
    let e = cx.object(v, "entry")?;
    cx.near_misses(e, "entry", &["src", "integrity"]);
    let src = cx
        .string(e, "entry", "src", true, MAX_STRING_BYTES)
        .and_then(|s| match check_entry_src(s, opts) {
            Ok(u) => Some(u),
            Err(m) => {
                cx.push("entry.src", m);
                None
            }
        });
    let integrity = cx
        .string(e, "entry", "integrity", false, MAX_STRING_BYTES)
        .and_then(|s| match check_integrity(s) {
            Ok(()) => Some(s.to_owned()),
            Err(m) => {
                cx.push("entry.integrity", m);
                None
            }
        });
    Some(Entry {
        src: src?,
        integrity,
    })
}

fn check_entry_src(s: &str, opts: &ManifestOptions) -> Result<String, String> {
    let url = WebUrl::parse(s)
        .map_err(|e| format!("expected an absolute URL, found {} ({e})", show(s)))?;
    let loopback = match url.host() {
        Some(super::weburl::Host::Domain(d)) => d == "localhost",
        Some(super::weburl::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(super::weburl::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if opts.allow_loopback_http && loopback => {}
        other => {
            return Err(format!(
                "expected an https: URL, found scheme {} in {}",
                show(other),
                show(s)
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "expected a URL without credentials, found {}",
            show(s)
        ));
    }
    Ok(url.into())
}

#[inline(never)]
fn parse_assets(cx: &mut Cx, obj: &Map<String, Value>, opts: &ManifestOptions) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (p, s) in cx.strings(obj, "", "assets", MAX_STRING_BYTES) {
        match asset_origin(s, opts) {
            Ok(o) if out.contains(&o) => {
                cx.push(&p, format!("duplicate asset origin {}", show(&o)));
            }
            Ok(o) => out.push(o),
            Err(m) => cx.push(&p, m),
        }
    }
    out
}

/// An `assets` entry as a serialized origin. The URL rules (scheme, loopback `http:`,
/// credentials, query, fragment, ambiguous spelling, trailing-dot hosts) are the `network`
/// entry's, so both lists read URLs the same way; on top, the path must be empty or `/`.
fn asset_origin(s: &str, opts: &ManifestOptions) -> Result<String, String> {
    let nopts = NetworkOptions {
        allow_loopback_http: opts.allow_loopback_http,
    };
    let e = NetworkEntry::parse(s, nopts)
        .map_err(|e| format!("expected an origin like \"https://cdn.example\"; {e}"))?;
    if e.path() != "/" {
        return Err(format!(
            "expected an origin without a path (like \"https://cdn.example\"), found path {} in {}",
            show(e.path()),
            show(s)
        ));
    }
    Ok(e.origin())
}

fn check_integrity(s: &str) -> Result<(), String> {
    let mut n = 0;
    for token in s.split_ascii_whitespace() {
        n += 1;
        let (len, b64) = if let Some(b) = token.strip_prefix("sha256-") {
            (44, b)
        } else if let Some(b) = token.strip_prefix("sha384-") {
            (64, b)
        } else if let Some(b) = token.strip_prefix("sha512-") {
            (88, b)
        } else {
            return Err(format!(
                "expected sha256-, sha384- or sha512- followed by base64, found {}",
                show(token)
            ));
        };
        let body = b64.trim_end_matches('=');
        let padding = b64.len() - body.len();
        let ok = b64.len() == len
            && padding <= 2
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
        if !ok {
            return Err(format!(
                "expected {len} characters of base64 after the algorithm, found {}",
                show(token)
            ));
        }
    }
    if n == 0 {
        return Err(
            "expected at least one sha256-/sha384-/sha512- hash, found an empty string".to_owned(),
        );
    }
    Ok(())
}

#[inline(never)]
fn parse_allow(cx: &mut Cx, obj: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (p, s) in cx.strings(obj, "", "allow", 64) {
        if s.is_empty()
            || !s
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            cx.push(
                &p,
                format!(
                    "expected a Permissions-Policy feature name [a-z0-9-]+, found {}",
                    show(s)
                ),
            );
        } else if out.iter().any(|o| o == s) {
            cx.push(&p, format!("duplicate feature {}", show(s)));
        } else {
            out.push(s.to_owned());
        }
    }
    out
}

fn parse_roles(cx: &mut Cx, obj: &Map<String, Value>, ns: Ns<'_>) -> Vec<RoleRegistration> {
    let mut out = Vec::new();
    let mut names = SortedSet::new();
    let mut slugs = SortedSet::new();
    for (i, v) in cx
        .array(obj, "", "roles")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let p = format!("roles[{i}]");
        let Some(reg) = cx.object(v, &p) else {
            continue;
        };
        cx.near_misses(reg, &p, &["role", "grants"]);
        let rp = field(&p, "role");
        let role = match reg.get("role") {
            None | Some(Value::Null) => {
                cx.push(
                    &rp,
                    "expected an object, found nothing (the field is required)",
                );
                None
            }
            Some(rv) => cx
                .object(rv, &rp)
                .and_then(|r| parse_role(cx, r, &rp, ns, &mut names, &mut slugs)),
        };
        let mut grants: Vec<Grant> = Vec::new();
        for (gp, s) in cx.strings(reg, &p, "grants", 64) {
            match Grant::parse(s) {
                Ok(g) if grants.contains(&g) => {
                    cx.push(&gp, format!("duplicate grant {}", show(s)))
                }
                Ok(g) => grants.push(g),
                Err(e) => {
                    for pr in e.problems {
                        cx.push(&gp, pr.message);
                    }
                }
            }
        }
        if let Some(role) = role {
            out.push(RoleRegistration { role, grants });
        }
    }
    out
}

fn parse_role(
    cx: &mut Cx,
    r: &Map<String, Value>,
    rp: &str,
    ns: Ns<'_>,
    names: &mut SortedSet<String>,
    slugs: &mut SortedSet<String>,
) -> Option<Role> {
    cx.near_misses(r, rp, &["name", "description", "permissions"]);
    let name = cx.string(r, rp, "name", true, 256).and_then(|s| {
        let slug = role_slug(s);
        if slug.is_empty() {
            cx.push(
                &field(rp, "name"),
                format!(
                    "expected a name with at least one letter or digit, found {}",
                    show(s)
                ),
            );
            None
        } else if !names.insert(s.to_owned()) {
            cx.push(
                &field(rp, "name"),
                format!("duplicate role name {}", show(s)),
            );
            None
        } else if !slugs.insert(slug.clone()) {
            cx.push(
                &field(rp, "name"),
                format!(
                    "role name {} has the same qualified form ({slug}) as an earlier role",
                    show(s)
                ),
            );
            None
        } else {
            Some(s.to_owned())
        }
    });
    let description = cx
        .string(r, rp, "description", false, MAX_STRING_BYTES)
        .map(str::to_owned);
    let pp = field(rp, "permissions");
    let mut permissions: Vec<RolePermission> = Vec::new();
    for (j, pv) in cx
        .array(r, rp, "permissions")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let ep = format!("{pp}[{j}]");
        let Some(po) = cx.object(pv, &ep) else {
            continue;
        };
        cx.near_misses(po, &ep, &["action", "scope"]);
        let action = cx
            .string(po, &ep, "action", true, MAX_ACTION_BYTES * 4)
            .and_then(|s| cx.action(s, &field(&ep, "action"), ns, false));
        let scope = cx
            .string(po, &ep, "scope", false, MAX_SCOPE_BYTES * 4)
            .and_then(|s| match Scope::parse(s) {
                Ok(scope) => Some(scope),
                Err(e) => {
                    cx.push(&field(&ep, "scope"), e.to_string());
                    None
                }
            });
        if let Some(action) = action {
            if permissions
                .iter()
                .any(|q| q.action == action && q.scope == scope)
            {
                cx.push(
                    &field(&ep, "action"),
                    format!("duplicate permission {}", show(action.as_str())),
                );
            } else {
                permissions.push(RolePermission { action, scope });
            }
        }
    }
    let qualified_name = match (ns, &name) {
        (Some(id), Some(n)) => format!("plugins:{id}:{}", role_slug(n)),
        _ => String::new(),
    };
    Some(Role {
        name: name?,
        qualified_name,
        description,
        permissions,
    })
}

fn basic_role_field(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Option<BasicRole> {
    let s = cx.string(obj, path, key, false, 64)?;
    match BasicRole::parse(s) {
        Ok(r) => Some(r),
        Err(_) => {
            cx.push(
                &field(path, key),
                format!(
                    "expected \"Viewer\", \"Editor\" or \"Admin\", found {}",
                    show(s)
                ),
            );
            None
        }
    }
}

fn check_path(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("expected a non-empty path, found an empty string".to_owned());
    }
    if s.chars().any(char::is_whitespace) || s.contains('\\') || s.starts_with("//") {
        return Err(format!(
            "expected a path without whitespace or '\\' that does not start with \"//\", found {}",
            show(s)
        ));
    }
    let scheme_like = s
        .split_once(':')
        .is_some_and(|(head, _)| !head.contains('/') && !head.is_empty());
    if scheme_like {
        return Err(format!(
            "expected a path, found {} with a URL scheme",
            show(s)
        ));
    }
    Ok(())
}

fn parse_includes(cx: &mut Cx, obj: &Map<String, Value>, ns: Ns<'_>) -> Vec<Include> {
    const KEYS: &[&str] = &[
        "type",
        "name",
        "path",
        "action",
        "addToNav",
        "defaultNav",
        "role",
    ];
    let mut out: Vec<Include> = Vec::new();
    for (i, v) in cx
        .array(obj, "", "includes")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let p = format!("includes[{i}]");
        let Some(o) = cx.object(v, &p) else { continue };
        cx.near_misses(o, &p, KEYS);
        let kind = cx.string(o, &p, "type", true, 64).and_then(|s| {
            if !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                Some(s.to_owned())
            } else {
                cx.push(
                    &field(&p, "type"),
                    format!(
                        "expected a type such as \"page\" or \"dashboard\", found {}",
                        show(s)
                    ),
                );
                None
            }
        });
        let name = cx.string(o, &p, "name", true, 256).map(str::to_owned);
        let path = cx
            .string(o, &p, "path", false, MAX_STRING_BYTES)
            .and_then(|s| {
                let s = match ns {
                    Some(id) => s.replace(ID_PLACEHOLDER, id.as_str()),
                    None => s.to_owned(),
                };
                match check_path(&s) {
                    Ok(()) => Some(s),
                    Err(m) => {
                        cx.push(&field(&p, "path"), m);
                        None
                    }
                }
            });
        let action = cx
            .string(o, &p, "action", false, MAX_ACTION_BYTES * 4)
            .and_then(|s| cx.action(s, &field(&p, "action"), ns, true));
        let add_to_nav = cx.boolean(o, &p, "addToNav");
        let default_nav = cx.boolean(o, &p, "defaultNav");
        let role = basic_role_field(cx, o, &p, "role");
        if let (Some(kind), Some(name)) = (kind, name) {
            if out.iter().any(|x| x.kind == kind && x.name == name) {
                cx.push(
                    &field(&p, "name"),
                    format!("duplicate {kind} include {}", show(&name)),
                );
                continue;
            }
            out.push(Include {
                kind,
                name,
                path,
                action,
                add_to_nav,
                default_nav,
                role,
            });
        }
    }
    out
}

#[inline(never)]
fn parse_routes(cx: &mut Cx, obj: &Map<String, Value>, ns: Ns<'_>) -> Vec<Route> {
    const KEYS: &[&str] = &["path", "method", "reqAction", "reqRole", "url", "headers"];
    let mut out: Vec<Route> = Vec::new();
    for (i, v) in cx
        .array(obj, "", "routes")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let p = format!("routes[{i}]");
        let Some(o) = cx.object(v, &p) else { continue };
        cx.near_misses(o, &p, KEYS);
        let path = cx
            .string(o, &p, "path", true, MAX_STRING_BYTES)
            .and_then(|s| {
                if s.is_empty() || s.chars().any(char::is_whitespace) {
                    cx.push(
                        &field(&p, "path"),
                        format!(
                            "expected a non-empty path without whitespace, found {}",
                            show(s)
                        ),
                    );
                    None
                } else {
                    Some(s.to_owned())
                }
            });
        let mut method_ok = true;
        let method = cx.string(o, &p, "method", false, 32).and_then(|s| {
            if s == "*" {
                None
            } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic()) {
                Some(s.to_ascii_uppercase())
            } else {
                cx.push(
                    &field(&p, "method"),
                    format!(
                        "expected an HTTP method like \"GET\" or \"*\", found {}",
                        show(s)
                    ),
                );
                method_ok = false;
                None
            }
        });
        let req_action = cx
            .string(o, &p, "reqAction", false, MAX_ACTION_BYTES * 4)
            .and_then(|s| cx.action(s, &field(&p, "reqAction"), ns, true));
        let req_role = basic_role_field(cx, o, &p, "reqRole");
        // Grafana route URLs hold templates such as `https://{{ .JsonData.host }}/api`, with
        // spaces: only length and control characters are checked.
        let url = cx
            .string(o, &p, "url", false, MAX_STRING_BYTES)
            .map(str::to_owned);
        let mut headers = Vec::new();
        let hp = field(&p, "headers");
        for (j, hv) in cx
            .array(o, &p, "headers")
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let ep = format!("{hp}[{j}]");
            let Some(h) = cx.object(hv, &ep) else {
                continue;
            };
            cx.near_misses(h, &ep, &["name", "content"]);
            let name = cx.string(h, &ep, "name", true, 256);
            let content = cx.string(h, &ep, "content", true, MAX_STRING_BYTES);
            if let (Some(name), Some(content)) = (name, content) {
                headers.push(RouteHeader {
                    name: name.to_owned(),
                    content: content.to_owned(),
                });
            }
        }
        if let (Some(path), true) = (path, method_ok) {
            if out.iter().any(|r| r.path == path && r.method == method) {
                cx.push(
                    &p,
                    format!(
                        "duplicate route {} {}",
                        method.as_deref().unwrap_or("*"),
                        show(&path)
                    ),
                );
                continue;
            }
            out.push(Route {
                path,
                method,
                req_action,
                req_role,
                url,
                headers,
            });
        }
    }
    out
}

#[inline(never)]
fn parse_action_sets(cx: &mut Cx, obj: &Map<String, Value>, ns: Ns<'_>) -> Vec<ActionSetExtension> {
    let mut out: Vec<ActionSetExtension> = Vec::new();
    for (i, v) in cx
        .array(obj, "", "actionSets")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let p = format!("actionSets[{i}]");
        let Some(o) = cx.object(v, &p) else { continue };
        cx.near_misses(o, &p, &["action", "actions"]);
        let target = cx.string(o, &p, "action", true, MAX_ACTION_BYTES * 4).and_then(|s| {
            match FolderActionSet::parse(s) {
                Some(t) if out.iter().any(|x| x.action == t) => {
                    cx.push(&field(&p, "action"), format!("{} is extended twice; expected one entry per action set", show(s)));
                    None
                }
                Some(t) => Some(t),
                None => {
                    cx.push(
                        &field(&p, "action"),
                        format!("expected \"folders:view\", \"folders:edit\" or \"folders:admin\" (the only extensible action sets), found {}", show(s)),
                    );
                    None
                }
            }
        });
        let ap = field(&p, "actions");
        match o.get("actions") {
            None | Some(Value::Null) => cx.push(
                &ap,
                "expected an array of actions, found nothing (the field is required)",
            ),
            Some(Value::Array(a)) if a.is_empty() => {
                cx.push(&ap, "expected at least one action, found an empty array");
            }
            _ => {}
        }
        let mut actions: Vec<Action> = Vec::new();
        for (sp, s) in cx.strings(o, &p, "actions", MAX_ACTION_BYTES * 4) {
            if let Some(a) = cx.action(s, &sp, ns, false) {
                if actions.contains(&a) {
                    cx.push(&sp, format!("duplicate action {}", show(s)));
                } else {
                    actions.push(a);
                }
            }
        }
        if let Some(action) = target {
            out.push(ActionSetExtension { action, actions });
        }
    }
    out
}

/// A function name of `exposes` / `consumes`: `[A-Za-z0-9._:-]{1,64}`.
fn function_name(cx: &mut Cx, o: &Map<String, Value>, p: &str) -> Option<String> {
    let s = cx.string(o, p, "name", true, 64)?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if !ok {
        cx.push(
            &field(p, "name"),
            format!(
                "expected 1 to 64 characters of [A-Za-z0-9._:-], found {}",
                show(s)
            ),
        );
        return None;
    }
    Some(s.to_owned())
}

#[inline(never)]
fn parse_exposes(cx: &mut Cx, obj: &Map<String, Value>, ns: Ns<'_>) -> Vec<Exposure> {
    let mut out: Vec<Exposure> = Vec::new();
    for (i, v) in cx
        .array(obj, "", "exposes")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let p = format!("exposes[{i}]");
        let Some(o) = cx.object(v, &p) else { continue };
        cx.near_misses(o, &p, &["name", "action"]);
        let name = function_name(cx, o, &p);
        let action = cx
            .string(o, &p, "action", false, MAX_ACTION_BYTES * 4)
            .and_then(|s| cx.action(s, &field(&p, "action"), ns, true));
        let had_action = o.get("action").is_some_and(|v| !v.is_null());
        if let Some(name) = name {
            if out.iter().any(|e| e.name == name) {
                cx.push(
                    &field(&p, "name"),
                    format!("{} is exposed twice", show(&name)),
                );
            } else if action.is_some() || !had_action {
                out.push(Exposure { name, action });
            }
        }
    }
    out
}

#[inline(never)]
fn parse_consumes(cx: &mut Cx, obj: &Map<String, Value>) -> Vec<Consumption> {
    let mut out: Vec<Consumption> = Vec::new();
    for (i, v) in cx
        .array(obj, "", "consumes")
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let p = format!("consumes[{i}]");
        let Some(o) = cx.object(v, &p) else { continue };
        cx.near_misses(o, &p, &["plugin", "name"]);
        let plugin = cx
            .string(o, &p, "plugin", true, 64 * 4)
            .and_then(|s| match validate_id(s) {
                Ok(()) => Some(PluginId(s.to_owned())),
                Err(m) => {
                    cx.push(&field(&p, "plugin"), m);
                    None
                }
            });
        let name = function_name(cx, o, &p);
        if let (Some(plugin), Some(name)) = (plugin, name) {
            if out.iter().any(|c| c.plugin == plugin && c.name == name) {
                cx.push(
                    &p,
                    format!("{}/{} is listed twice", plugin.as_str(), show(&name)),
                );
            } else {
                out.push(Consumption { plugin, name });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sections `section` parses only when present: absent or `null` they read as empty,
    /// present they are parsed and checked as every other field (a problem in each is reported
    /// at its path).
    #[test]
    fn sections_parsed_only_when_present_are_still_checked() {
        const BASE: &str =
            r#""id":"acme-app","name":"A","version":"1.0.0","permissions":["api:read"]"#;
        let opts = ManifestOptions::default();
        let parse = |extra: &str| Manifest::parse(&format!("{{{BASE}{extra}}}"), &opts);
        let empty = |m: &Manifest| {
            m.network().is_empty()
                && m.entry().is_none()
                && m.assets().is_empty()
                && m.allow().is_empty()
                && m.routes().is_empty()
                && m.action_sets().is_empty()
                && m.exposes().is_empty()
                && m.consumes().is_empty()
        };
        assert!(empty(&parse("").unwrap()));
        let nulls = r#","network":null,"entry":null,"assets":null,"allow":null,"routes":null,"actionSets":null,"exposes":null,"consumes":null"#;
        assert!(empty(&parse(nulls).unwrap()));

        let valid = parse(concat!(
            r#","network":["https://api.example/v1/"],"#,
            r#""entry":{"src":"https://cdn.example/p.js"},"assets":["https://cdn.example"],"#,
            r#""allow":["clipboard-write"],"routes":[{"path":"api/items"}],"#,
            r#""actionSets":[{"action":"folders:edit","actions":["acme-app.docs:write"]}],"#,
            r#""exposes":[{"name":"docs.search","action":"acme-app.docs:read"}],"#,
            r#""consumes":[{"plugin":"other-app","name":"ping"}]"#
        ))
        .unwrap();
        assert_eq!(valid.network().len(), 1);
        assert_eq!(
            valid.entry().map(Entry::src),
            Some("https://cdn.example/p.js")
        );
        assert_eq!(valid.assets(), ["https://cdn.example"]);
        assert_eq!(valid.allow(), ["clipboard-write"]);
        assert_eq!(
            (
                valid.routes().len(),
                valid.action_sets().len(),
                valid.exposes().len(),
                valid.consumes().len()
            ),
            (1, 1, 1, 1)
        );

        for (extra, path) in [
            (r#","network":["ftp://api.example/"]"#, "network[0]"),
            (r#","network":5"#, "network"),
            (r#","entry":{"src":"http://cdn.example/p.js"}"#, "entry.src"),
            (r#","entry":[]"#, "entry"),
            (r#","assets":["https://cdn.example/path"]"#, "assets[0]"),
            (r#","allow":["Clipboard Write"]"#, "allow[0]"),
            (r#","routes":[{"path":"has space"}]"#, "routes[0].path"),
            (r#","routes":{}"#, "routes"),
            (
                r#","actionSets":[{"action":"folders:nope","actions":["acme-app.docs:read"]}]"#,
                "actionSets[0].action",
            ),
            (
                r#","exposes":[{"name":"","action":"acme-app.docs:read"}]"#,
                "exposes[0].name",
            ),
            (
                r#","consumes":[{"plugin":"X","name":"ping"}]"#,
                "consumes[0].plugin",
            ),
        ] {
            let e = parse(extra).expect_err(extra);
            assert!(
                e.problems.iter().any(|p| p.path == path),
                "{extra}: {:?}",
                e.problems
            );
        }
    }

    #[test]
    fn npm_ranges_convert() {
        for (npm, yes, no) in [
            ("^3.0.0", "3.2.0", "4.0.0"),
            (">=10.0.3", "11.0.0", "10.0.2"),
            (">=1.0.0 <2.0.0", "1.9.9", "2.0.0"),
            (">= 1.0.0 < 2.0.0", "1.0.0", "2.0.0"),
            ("1.x", "1.5.0", "2.0.0"),
            ("1.2", "1.2.9", "1.3.0"),
            ("1", "1.9.0", "2.0.0"),
            ("1.2.3", "1.2.3", "1.2.4"),
            ("v1.2.3", "1.2.3", "1.2.4"),
            ("1.0.0 - 2.0.0", "2.0.0", "2.0.1"),
            ("~1.2.3", "1.2.9", "1.3.0"),
            ("*", "0.0.1", "1.0.0-alpha"),
            (">=1.0.0, <2.0.0", "1.0.0", "2.0.0"),
            ("^1 || ^3", "3.0.0", "2.0.0"),
        ] {
            let c = Compatibility::parse(npm).unwrap_or_else(|e| panic!("{npm}: {e}"));
            let yes = semver::Version::parse(yes).expect("invariant: test literal");
            let no = semver::Version::parse(no).expect("invariant: test literal");
            assert!(c.matches(&yes), "{npm} should match {yes}");
            assert!(!c.matches(&no), "{npm} should not match {no}");
        }
        for bad in [
            "banana",
            ">=",
            "1.2.3.4",
            "^^1",
            "1 ||| 2",
            "^9.0.0 ||",
            "",
            "|| ^1.0.0",
        ] {
            assert!(Compatibility::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn show_truncates_on_char_boundary() {
        let s = "é".repeat(100);
        let shown = show(&s);
        assert!(shown.contains("200 bytes"));
    }

    #[test]
    fn integrity_lengths() {
        let h256 = format!("sha256-{}=", "A".repeat(43));
        assert!(check_integrity(&h256).is_ok());
        assert!(check_integrity(&format!("{h256} sha384-{}", "B".repeat(64))).is_ok());
        assert!(check_integrity("sha256-abc").is_err());
        assert!(check_integrity("md5-abc").is_err());
        assert!(check_integrity(&format!("sha256-{}!", "A".repeat(43))).is_err());
        assert!(check_integrity("   ").is_err());
    }

    #[test]
    fn paths_cannot_carry_schemes() {
        for bad in [
            "javascript:alert(1)",
            "//evil.example/x",
            "/a\\b",
            "",
            "data:text/html,x",
            "/a b",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        for ok in ["/a/acme-app/patents", "dashboards/overview.json", "/a/x:y"] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
    }
}
