//! Grafana-style RBAC for the host: basic roles, plugin roles and their grants, the current
//! user, `hasPermission`, and gating of includes and routes.
//!
//! # Model
//!
//! - **Basic roles** `Viewer ⊂ Editor ⊂ Admin`. A plugin role granted to `Viewer` is held by
//!   Editors and Admins too. A user with no basic role (`"None"` or absent) holds no granted
//!   role. Grafana's `Grafana Admin` grant is satisfied by no basic role (see
//!   [`Grant::GrafanaAdmin`]).
//! - **Folder action sets.** Basic roles carry Grafana's folder sets: Viewer holds
//!   `folders:view`, Editor `folders:edit`, Admin `folders:admin`. A user holding a set —
//!   through the basic role, an explicit permission, or a wildcard such as `folders:*` — holds
//!   every smaller set (`admin ⊃ edit ⊃ view`) and every action any registered plugin appended
//!   to those sets (manifest `actionSets`).
//! - **Assigned roles** ([`UserContext`] `roles`) name plugin roles either by display name
//!   (`"Patents Reader"`, exact, case-sensitive; matches that name in *every* registered
//!   plugin) or by qualified name `plugins:<id>:<slug>` (`plugins:acme-patents-app:patents-reader`;
//!   matches one plugin). Prefer the qualified form when names may collide.
//! - **Direct permissions** ([`UserContext`] `permissions`): action patterns, wildcards allowed
//!   (`acme-app.patents:*`), bare `*` rejected (see [`crate::core::permission`]).
//! - Role permission scopes are not evaluated.
//!
//! # Compiled access
//!
//! Everything the user holds is compiled into a [`CompiledAccess`] whenever the user or the
//! set of registered plugins changes. [`Rbac::has_permission`] answers from that same form, so
//! the copy handed to JS (for a `Set.has`-cheap check) can never disagree with Rust.
//!
//! # Includes and routes
//!
//! An include with an `action` is visible when the user holds it; without one but with a
//! `role`, when the user's basic role includes it; otherwise to everyone (Grafana gives `action`
//! precedence over `role` the same way). Routes work alike with `reqAction`/`reqRole`. A route
//! is found by exact path; a route with the request's method (case-insensitive) wins over one
//! without a method (absent or `*`, meaning any method).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

use super::error::{Coded, ErrorCode};
#[cfg(doc)]
use super::manifest::Grant;
use super::manifest::{Action, Manifest, PluginId};
use super::permission::{ActionPattern, FolderActionSet};

/// Most entries a [`UserContext`]'s `roles` or `permissions` may hold.
pub const MAX_USER_ENTRIES: usize = 4096;

/// Why an RBAC operation failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RbacError {
    /// A user context (or a basic role name) given by the host is malformed.
    #[error("invalid user context: {reason}")]
    InvalidUser {
        /// What was expected and what was found.
        reason: String,
    },
    /// No plugin with this id is registered.
    #[error("no plugin {id:?} is registered")]
    UnknownPlugin {
        /// The id asked for.
        id: String,
    },
    /// The plugin declares no route for this path and method.
    #[error("plugin {id:?} declares no route {method} {path:?}")]
    UnknownRoute {
        /// The plugin.
        id: String,
        /// The path asked for.
        path: String,
        /// The method asked for.
        method: String,
    },
    /// A plugin with this id is already registered.
    #[error("plugin {id:?} is already registered; unregister it first")]
    AlreadyRegistered {
        /// The id.
        id: String,
    },
}

impl Coded for RbacError {
    fn code(&self) -> ErrorCode {
        match self {
            RbacError::InvalidUser { .. } => ErrorCode::InvalidArgument,
            RbacError::UnknownPlugin { .. } | RbacError::UnknownRoute { .. } => ErrorCode::NotFound,
            RbacError::AlreadyRegistered { .. } => ErrorCode::AlreadyExists,
        }
    }
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

// ---------------------------------------------------------------------------------------------

/// A basic role (defined in [`super::vocab`]); its parsers with RBAC errors live here.
pub use super::vocab::BasicRole;

impl BasicRole {
    /// Parse `Viewer`, `Editor` or `Admin` (exact case).
    ///
    /// # Errors
    /// [`RbacError::InvalidUser`] for anything else, including `None` (use
    /// [`BasicRole::parse_optional`] where "no basic role" is allowed).
    ///
    /// ```
    /// use plugin_warden::core::rbac::BasicRole;
    /// assert_eq!(BasicRole::parse("Editor").unwrap(), BasicRole::Editor);
    /// assert!(BasicRole::parse("editor").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, RbacError> {
        BasicRole::from_name(s).ok_or_else(|| RbacError::InvalidUser {
            reason: format!(
                "expected a basic role \"Viewer\", \"Editor\" or \"Admin\", found {:?}",
                shorten(s)
            ),
        })
    }

    /// Like [`BasicRole::parse`], but `None` means no basic role.
    ///
    /// # Errors
    /// [`RbacError::InvalidUser`] for anything but the three roles and `None`.
    ///
    /// ```
    /// use plugin_warden::core::rbac::BasicRole;
    /// assert_eq!(BasicRole::parse_optional("None").unwrap(), None);
    /// assert_eq!(BasicRole::parse_optional("Admin").unwrap(), Some(BasicRole::Admin));
    /// ```
    pub fn parse_optional(s: &str) -> Result<Option<Self>, RbacError> {
        if s == "None" {
            Ok(None)
        } else {
            BasicRole::parse(s).map(Some)
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// The current user, as the host describes it:
/// `{ role?: "Viewer"|"Editor"|"Admin"|"None", roles?: string[], permissions?: string[] }`.
///
/// Deserializing (from JSON or through serde-wasm-bindgen) rejects unknown fields, a bad
/// basic role, empty or control-character role names, invalid action patterns (bare `*`
/// included) and more than [`MAX_USER_ENTRIES`] entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawUser")]
pub struct UserContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<BasicRole>,
    roles: Vec<String>,
    permissions: Vec<ActionPattern>,
}

/// The wire shape. Deserialized by hand because a derived struct visitor also accepts a
/// sequence (`[]` would be a valid user); this one takes only a map and denies unknown fields.
#[derive(Default)]
struct RawUser {
    role: Option<String>,
    roles: Option<Vec<String>>,
    permissions: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for RawUser {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const FIELDS: &[&str] = &["role", "roles", "permissions"];
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawUser;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with optional fields role, roles, permissions")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawUser, A::Error> {
                let mut raw = RawUser::default();
                let (mut role, mut roles, mut permissions) = (false, false, false);
                while let Some(key) = map.next_key::<String>()? {
                    let (seen, name) = match key.as_str() {
                        "role" => (&mut role, "role"),
                        "roles" => (&mut roles, "roles"),
                        "permissions" => (&mut permissions, "permissions"),
                        other => return Err(de::Error::unknown_field(other, FIELDS)),
                    };
                    if std::mem::replace(seen, true) {
                        return Err(de::Error::duplicate_field(name));
                    }
                    match name {
                        "role" => raw.role = map.next_value()?,
                        "roles" => raw.roles = map.next_value()?,
                        _ => raw.permissions = map.next_value()?,
                    }
                }
                Ok(raw)
            }
        }
        d.deserialize_map(V)
    }
}

impl TryFrom<RawUser> for UserContext {
    type Error = RbacError;

    fn try_from(raw: RawUser) -> Result<Self, RbacError> {
        let role = match raw.role {
            Some(r) => BasicRole::parse_optional(&r)?,
            None => None,
        };
        let mut user = UserContext::new(role);
        let roles = raw.roles.unwrap_or_default();
        let permissions = raw.permissions.unwrap_or_default();
        for (field, n) in [("roles", roles.len()), ("permissions", permissions.len())] {
            if n > MAX_USER_ENTRIES {
                return Err(RbacError::InvalidUser {
                    reason: format!(
                        "{field}: expected at most {MAX_USER_ENTRIES} entries, found {n}"
                    ),
                });
            }
        }
        for (i, name) in roles.into_iter().enumerate() {
            user = user.with_role_name(&name).map_err(|e| match e {
                RbacError::InvalidUser { reason } => RbacError::InvalidUser {
                    reason: format!("roles[{i}]: {reason}"),
                },
                other => other,
            })?;
        }
        for (i, p) in permissions.iter().enumerate() {
            let pattern = ActionPattern::parse(p).map_err(|e| RbacError::InvalidUser {
                reason: format!("permissions[{i}]: {e}"),
            })?;
            user = user.with_permission(pattern);
        }
        Ok(user)
    }
}

impl UserContext {
    /// A user with this basic role (or none) and nothing else.
    pub fn new(role: Option<BasicRole>) -> Self {
        UserContext {
            role,
            roles: Vec::new(),
            permissions: Vec::new(),
        }
    }

    /// Parse the JS-shaped JSON.
    ///
    /// # Errors
    /// [`RbacError::InvalidUser`] (`INVALID_ARGUMENT`) naming the field and what was wrong.
    ///
    /// ```
    /// use plugin_warden::core::rbac::{BasicRole, UserContext};
    /// let u = UserContext::from_json(r#"{"role":"Viewer","permissions":["acme-app.patents:read"]}"#).unwrap();
    /// assert_eq!(u.basic_role(), Some(BasicRole::Viewer));
    /// assert!(UserContext::from_json(r#"{"role":"Viewer","admin":true}"#).is_err());
    /// assert!(UserContext::from_json(r#"{"permissions":["*"]}"#).is_err());
    /// ```
    pub fn from_json(json: &str) -> Result<Self, RbacError> {
        serde_json::from_str(json).map_err(|e| RbacError::InvalidUser {
            reason: e.to_string(),
        })
    }

    /// Parse an already-parsed JSON value.
    ///
    /// # Errors
    /// As [`UserContext::from_json`].
    pub fn from_value(value: serde_json::Value) -> Result<Self, RbacError> {
        serde_json::from_value(value).map_err(|e| RbacError::InvalidUser {
            reason: e.to_string(),
        })
    }

    /// Add an assigned plugin role, by display or qualified name.
    ///
    /// # Errors
    /// [`RbacError::InvalidUser`] when the name is empty, over 256 bytes or has control
    /// characters.
    pub fn with_role_name(mut self, name: &str) -> Result<Self, RbacError> {
        if name.trim().is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
            return Err(RbacError::InvalidUser {
                reason: format!(
                    "expected a role name of 1 to 256 bytes without control characters, found {:?}",
                    shorten(name)
                ),
            });
        }
        if !self.roles.iter().any(|r| r == name) {
            self.roles.push(name.to_owned());
        }
        Ok(self)
    }

    /// Add a direct permission.
    pub fn with_permission(mut self, pattern: ActionPattern) -> Self {
        if !self.permissions.contains(&pattern) {
            self.permissions.push(pattern);
        }
        self
    }

    /// The basic role, if any.
    pub fn basic_role(&self) -> Option<BasicRole> {
        self.role
    }

    /// Assigned plugin role names.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Direct permissions.
    pub fn permissions(&self) -> &[ActionPattern] {
        &self.permissions
    }
}

// ---------------------------------------------------------------------------------------------

/// The user's access, flattened for a cheap check (and for JS).
///
/// Invariant, for every valid action `a`:
/// `has_permission(a) == exact.contains(a) || prefixes.iter().any(|p| a.starts_with(p))`.
/// `exact` is sorted and deduplicated and holds only concrete actions not already covered by a
/// prefix; each prefix is a wildcard's `<namespace>:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CompiledAccess {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl CompiledAccess {
    /// Concrete actions held, sorted.
    pub fn exact(&self) -> &[String] {
        &self.exact
    }

    /// Wildcard prefixes held (`"roles:"` for `roles:*`), sorted.
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// The check itself: `exact` contains `action`, or it starts with a prefix. Meaningful for
    /// valid actions; [`Rbac::has_permission`] validates first.
    pub fn allows(&self, action: &str) -> bool {
        self.exact
            .binary_search_by(|e| e.as_str().cmp(action))
            .is_ok()
            || self.prefixes.iter().any(|p| action.starts_with(p.as_str()))
    }

    fn from_patterns(patterns: &[ActionPattern]) -> Self {
        let prefixes: BTreeSet<&str> = patterns.iter().filter_map(ActionPattern::prefix).collect();
        let exact: BTreeSet<&str> = patterns
            .iter()
            .filter(|p| !p.is_wildcard())
            .map(ActionPattern::as_str)
            .filter(|a| !prefixes.iter().any(|p| a.starts_with(p)))
            .collect();
        CompiledAccess {
            exact: exact.into_iter().map(str::to_owned).collect(),
            prefixes: prefixes.into_iter().map(str::to_owned).collect(),
        }
    }
}

/// An include as the host shows it (from [`Rbac::visible_includes`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IncludeView {
    /// `type` (`page`, `dashboard`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Path with `%PLUGIN_ID%` replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `addToNav`.
    pub add_to_nav: bool,
    /// `defaultNav`.
    pub default_nav: bool,
}

/// The RBAC registry: registered plugins' roles, includes, routes and action sets, the current
/// user, and the user's compiled access.
#[derive(Clone, Debug, Default)]
pub struct Rbac {
    plugins: BTreeMap<PluginId, Manifest>,
    user: UserContext,
    compiled: CompiledAccess,
}

impl Rbac {
    /// An empty registry with an anonymous user (no basic role, nothing held).
    pub fn new() -> Self {
        Rbac::default()
    }

    /// Register a plugin's roles, includes, routes and action sets.
    ///
    /// # Errors
    /// [`RbacError::AlreadyRegistered`] (`ALREADY_EXISTS`) when the id is registered.
    ///
    /// ```
    /// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
    /// use plugin_warden::core::rbac::{BasicRole, Rbac, UserContext};
    /// let m = Manifest::parse(r#"{"id":"acme-app","name":"A","roles":[{"role":{"name":"Reader",
    ///     "permissions":[{"action":"acme-app.docs:read"}]},"grants":["Editor"]}]}"#,
    ///     &ManifestOptions::default()).unwrap();
    /// let mut rbac = Rbac::new();
    /// rbac.register(&m).unwrap();
    /// rbac.set_user(UserContext::new(Some(BasicRole::Viewer)));
    /// assert!(!rbac.has_permission("acme-app.docs:read"));
    /// rbac.set_user(UserContext::new(Some(BasicRole::Admin)));
    /// assert!(rbac.has_permission("acme-app.docs:read"));
    /// assert!(rbac.register(&m).is_err());
    /// ```
    pub fn register(&mut self, manifest: &Manifest) -> Result<(), RbacError> {
        if self.plugins.contains_key(manifest.id()) {
            return Err(RbacError::AlreadyRegistered {
                id: manifest.id().to_string(),
            });
        }
        self.plugins.insert(manifest.id().clone(), manifest.clone());
        self.recompile();
        Ok(())
    }

    /// Remove a plugin; its roles and action-set additions stop applying at once.
    ///
    /// # Errors
    /// [`RbacError::UnknownPlugin`] (`NOT_FOUND`) when it was not registered.
    pub fn unregister(&mut self, id: &PluginId) -> Result<(), RbacError> {
        self.plugins
            .remove(id)
            .ok_or_else(|| RbacError::UnknownPlugin { id: id.to_string() })?;
        self.recompile();
        Ok(())
    }

    /// Whether `id` is registered.
    pub fn is_registered(&self, id: &PluginId) -> bool {
        self.plugins.contains_key(id)
    }

    /// Replace the current user; applies at once.
    pub fn set_user(&mut self, user: UserContext) {
        self.user = user;
        self.recompile();
    }

    /// The current user.
    pub fn user(&self) -> &UserContext {
        &self.user
    }

    /// Whether the current user holds `action`. A string that is not a valid action is never
    /// held.
    ///
    /// ```
    /// use plugin_warden::core::rbac::{Rbac, UserContext};
    /// let mut rbac = Rbac::new();
    /// rbac.set_user(UserContext::from_json(r#"{"permissions":["acme-app.patents:*"]}"#).unwrap());
    /// assert!(rbac.has_permission("acme-app.patents:read"));
    /// assert!(!rbac.has_permission("acme-app.patents"));
    /// assert!(!rbac.has_permission("acme-app.patents:read extra"));
    /// ```
    pub fn has_permission(&self, action: &str) -> bool {
        Action::is_valid(action) && self.compiled.allows(action)
    }

    /// Whether the current user holds a parsed action.
    pub fn holds(&self, action: &Action) -> bool {
        self.compiled.allows(action.as_str())
    }

    /// The user's compiled access (see [`CompiledAccess`] for the invariant).
    pub fn compiled(&self) -> &CompiledAccess {
        &self.compiled
    }

    /// The plugin's includes the current user may see, in manifest order.
    ///
    /// # Errors
    /// [`RbacError::UnknownPlugin`] (`NOT_FOUND`) when `id` is not registered.
    pub fn visible_includes(&self, id: &PluginId) -> Result<Vec<IncludeView>, RbacError> {
        let m = self.plugin(id)?;
        Ok(m.includes()
            .iter()
            .filter(|inc| self.gate(inc.action(), inc.role()))
            .map(|inc| IncludeView {
                kind: inc.kind().to_owned(),
                name: inc.name().to_owned(),
                path: inc.path().map(str::to_owned),
                add_to_nav: inc.add_to_nav(),
                default_nav: inc.default_nav(),
            })
            .collect())
    }

    /// Whether the current user may use the plugin's route `path` with `method`.
    ///
    /// # Errors
    /// [`RbacError::UnknownPlugin`] or [`RbacError::UnknownRoute`] (`NOT_FOUND`) when the
    /// plugin is not registered or declares no route for that exact path and method.
    ///
    /// ```
    /// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
    /// use plugin_warden::core::rbac::{Rbac, UserContext};
    /// let m = Manifest::parse(r#"{"id":"acme-app","name":"A","routes":[
    ///     {"path":"api/docs","method":"GET","reqAction":"acme-app.docs:read"}]}"#,
    ///     &ManifestOptions::default()).unwrap();
    /// let mut rbac = Rbac::new();
    /// rbac.register(&m).unwrap();
    /// assert_eq!(rbac.can_access_route(m.id(), "api/docs", "get"), Ok(false));
    /// rbac.set_user(UserContext::from_json(r#"{"permissions":["acme-app.docs:read"]}"#).unwrap());
    /// assert_eq!(rbac.can_access_route(m.id(), "api/docs", "GET"), Ok(true));
    /// assert!(rbac.can_access_route(m.id(), "api/docs", "POST").is_err());
    /// ```
    pub fn can_access_route(
        &self,
        id: &PluginId,
        path: &str,
        method: &str,
    ) -> Result<bool, RbacError> {
        let m = self.plugin(id)?;
        let same_path = || m.routes().iter().filter(|r| r.path() == path);
        let route = same_path()
            .find(|r| r.method().is_some_and(|rm| rm.eq_ignore_ascii_case(method)))
            .or_else(|| same_path().find(|r| r.method().is_none()))
            .ok_or_else(|| RbacError::UnknownRoute {
                id: id.to_string(),
                path: shorten(path),
                method: shorten(method),
            })?;
        Ok(self.gate(route.req_action(), route.req_role()))
    }

    fn plugin(&self, id: &PluginId) -> Result<&Manifest, RbacError> {
        self.plugins
            .get(id)
            .ok_or_else(|| RbacError::UnknownPlugin { id: id.to_string() })
    }

    /// Action first, then minimum basic role, else open.
    fn gate(&self, action: Option<&Action>, role: Option<BasicRole>) -> bool {
        match (action, role) {
            (Some(a), _) => self.holds(a),
            (None, Some(min)) => self.user.role.is_some_and(|r| r.includes(min)),
            (None, None) => true,
        }
    }

    /// Every pattern the current user holds, before flattening.
    fn patterns(&self) -> Vec<ActionPattern> {
        let user = &self.user;
        let mut out: Vec<ActionPattern> = user.permissions.clone();
        if let Some(r) = user.role {
            out.extend(folder_pattern(r.folder_set()));
        }
        for m in self.plugins.values() {
            for reg in m.roles() {
                let role = reg.role();
                let by_grant = reg.grants().iter().any(|g| g.held_by(user.role));
                let by_name = user
                    .roles
                    .iter()
                    .any(|n| n == role.name() || n == role.qualified_name());
                if by_grant || by_name {
                    out.extend(
                        role.permissions()
                            .iter()
                            .map(|p| ActionPattern::from(p.action().clone())),
                    );
                }
            }
        }
        // The largest folder set held decides which smaller sets and plugin additions follow.
        let level = FolderActionSet::ALL.into_iter().rev().find(|f| {
            folder_pattern(*f).is_some_and(|fp| out.iter().any(|p| p.matches(fp.action())))
        });
        if let Some(level) = level {
            for f in FolderActionSet::ALL
                .into_iter()
                .filter(|f| level.includes(*f))
            {
                out.extend(folder_pattern(f));
                for m in self.plugins.values() {
                    for ext in m.action_sets().iter().filter(|e| e.action() == f) {
                        out.extend(ext.actions().iter().cloned().map(ActionPattern::from));
                    }
                }
            }
        }
        out
    }

    fn recompile(&mut self) {
        self.compiled = CompiledAccess::from_patterns(&self.patterns());
    }
}

fn folder_pattern(f: FolderActionSet) -> Option<ActionPattern> {
    // `folders:view` etc. are valid actions; `None` here would only skip an addition.
    ActionPattern::parse(f.as_str()).ok()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::manifest::ManifestOptions;
    use proptest::prelude::*;

    const APP: &str = r#"{
        "id": "acme-app", "name": "Acme",
        "roles": [
            {"role": {"name": "Docs Reader", "permissions": [{"action": "acme-app.docs:read"}]}, "grants": ["Viewer"]},
            {"role": {"name": "Docs Admin", "permissions": [{"action": "acme-app.docs:*"}]}, "grants": ["Admin"]},
            {"role": {"name": "Secret", "permissions": [{"action": "acme-app.secret:read"}]}}
        ],
        "actionSets": [
            {"action": "folders:view", "actions": ["acme-app.folder:peek"]},
            {"action": "folders:edit", "actions": ["acme-app.folder:write"]},
            {"action": "folders:admin", "actions": ["acme-app.folder:own"]}
        ]
    }"#;

    fn rbac() -> Rbac {
        let m =
            Manifest::parse(APP, &ManifestOptions::default()).expect("invariant: test manifest");
        let mut r = Rbac::new();
        r.register(&m).expect("fresh");
        r
    }

    fn reference(r: &Rbac, a: &str) -> bool {
        Action::parse(a).is_ok_and(|a| r.patterns().iter().any(|p| p.matches(&a)))
    }

    #[test]
    fn roles_by_name_and_qualified_name() {
        let mut r = rbac();
        assert!(!r.has_permission("acme-app.secret:read"));
        r.set_user(UserContext::new(None).with_role_name("Secret").expect("ok"));
        assert!(r.has_permission("acme-app.secret:read"));
        r.set_user(
            UserContext::new(None)
                .with_role_name("plugins:acme-app:secret")
                .expect("ok"),
        );
        assert!(r.has_permission("acme-app.secret:read"));
        r.set_user(UserContext::new(None).with_role_name("secret").expect("ok"));
        assert!(!r.has_permission("acme-app.secret:read"));
    }

    #[test]
    fn folder_sets_follow_basic_roles_and_hierarchy() {
        let mut r = rbac();
        r.set_user(UserContext::new(Some(BasicRole::Editor)));
        assert!(r.has_permission("folders:view"));
        assert!(r.has_permission("folders:edit"));
        assert!(!r.has_permission("folders:admin"));
        assert!(r.has_permission("acme-app.folder:peek"));
        assert!(r.has_permission("acme-app.folder:write"));
        assert!(!r.has_permission("acme-app.folder:own"));
        r.set_user(UserContext::from_json(r#"{"permissions":["folders:*"]}"#).expect("ok"));
        assert!(r.has_permission("acme-app.folder:own"));
        let id = PluginId::parse("acme-app").expect("ok");
        r.unregister(&id).expect("registered");
        assert!(!r.has_permission("acme-app.folder:own"));
        assert!(r.unregister(&id).is_err());
    }

    #[test]
    fn compiled_form_is_minimal_and_sorted() {
        let mut r = rbac();
        r.set_user(UserContext::new(Some(BasicRole::Admin)));
        let c = r.compiled();
        assert!(c.prefixes().contains(&"acme-app.docs:".to_owned()));
        assert!(
            !c.exact().contains(&"acme-app.docs:read".to_owned()),
            "covered by prefix"
        );
        let mut sorted = c.exact().to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, c.exact());
    }

    #[test]
    fn user_context_errors_are_invalid_argument() {
        for bad in [
            r#"{"role":"Owner"}"#,
            r#"{"role":"viewer"}"#,
            r#"{"roles":[""]}"#,
            r#"{"permissions":["*"]}"#,
            r#"{"permissions":[1]}"#,
            r#"{"extra":1}"#,
            r#"[]"#,
        ] {
            let e = UserContext::from_json(bad).expect_err(bad);
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
        }
        let none = UserContext::from_json(r#"{"role":"None"}"#).expect("None is no role");
        assert_eq!(none.basic_role(), None);
    }

    fn action_strategy() -> impl Strategy<Value = String> {
        let ns = prop::sample::select(vec![
            "acme-app.docs",
            "acme-app.folder",
            "acme-app.secret",
            "folders",
            "roles",
            "rolesx",
            "x.y",
        ]);
        let verb = prop::sample::select(vec![
            "read", "write", "peek", "own", "view", "edit", "admin", "*",
        ]);
        (ns, verb).prop_map(|(n, v)| format!("{n}:{v}"))
    }

    proptest! {
        #[test]
        fn compiled_agrees_with_patterns(
            role in prop::sample::select(vec![None, Some("Viewer"), Some("Editor"), Some("Admin"), Some("None")]),
            roles in prop::collection::vec(prop::sample::select(vec!["Docs Reader", "Secret", "plugins:acme-app:docs-admin", "Nope"]), 0..3),
            perms in prop::collection::vec(action_strategy(), 0..5),
            queries in prop::collection::vec(prop_oneof![action_strategy(), ".{0,20}"], 1..20),
        ) {
            let mut json = serde_json::json!({"roles": roles, "permissions": perms});
            if let (Some(role), Some(obj)) = (role, json.as_object_mut()) {
                obj.insert("role".into(), role.into());
            }
            let mut r = rbac();
            r.set_user(UserContext::from_value(json).expect("generated users are valid"));
            let c = r.compiled().clone();
            for q in &queries {
                let via_compiled = Action::is_valid(q)
                    && (c.exact().iter().any(|e| e == q) || c.prefixes().iter().any(|p| q.starts_with(p.as_str())));
                prop_assert_eq!(r.has_permission(q), via_compiled, "query {}", q);
                prop_assert_eq!(r.has_permission(q), reference(&r, q), "query {}", q);
            }
        }
    }
}
