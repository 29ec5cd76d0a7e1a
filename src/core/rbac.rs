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
//! - **Scopes** ([`scope`]): every permission — a plugin role's, a direct one — may carry a
//!   Grafana scope (`users:*`, `folders:uid:abc`, `*`). `has_permission(action, None)` asks
//!   "held with any scope (or none)", as Grafana's frontend `hasPermission`;
//!   `has_permission(action, Some(scope))` asks whether a held scope covers that one. An
//!   unscoped permission satisfies only unscoped checks (Grafana's evaluator). Basic roles'
//!   folder sets are held on `folders:*`; a folder set held on a scope brings its smaller sets
//!   and plugin additions on the same scope.
//!
//! # Compiled access
//!
//! Everything the user holds is compiled into a [`CompiledAccess`] whenever the user or the
//! set of registered plugins changes. [`Rbac::has_permission`] answers from that same form, so
//! the copy handed to JS (for a `Set.has`-cheap check) can never disagree with Rust.
//!
//! # Includes and routes
//!
//! Grafana's plugin.json has no scope for includes (`action`, `role`) or routes (`reqAction`,
//! `reqRole`), so these gates ask for the action with any scope. An include with an `action`
//! is visible when the user holds it; without one but with a
//! `role`, when the user's basic role includes it; otherwise to everyone (Grafana gives `action`
//! precedence over `role` the same way). Routes work alike with `reqAction`/`reqRole`. A route
//! is found by exact path; a route with the request's method (case-insensitive) wins over one
//! without a method (absent or `*`, meaning any method).

mod compiled;
pub mod scope;
mod user;

use crate::core::collections::SortedMap;

use serde::Serialize;
use thiserror::Error;

pub use compiled::CompiledAccess;
pub use scope::{Permission, Scope, MAX_SCOPE_BYTES};
pub use user::UserContext;

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
    /// A scope breaks Grafana's scope rules (see [`scope`]).
    #[error("{input:?} is not a scope: {reason}")]
    InvalidScope {
        /// What was given (possibly shortened).
        input: String,
        /// Which rule it breaks.
        reason: String,
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
            RbacError::InvalidUser { .. } | RbacError::InvalidScope { .. } => {
                ErrorCode::InvalidArgument
            }
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

impl From<super::vocab::ScopeError> for RbacError {
    fn from(e: super::vocab::ScopeError) -> Self {
        RbacError::InvalidScope {
            input: e.input,
            reason: e.reason,
        }
    }
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
    plugins: SortedMap<PluginId, Manifest>,
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
    /// assert!(!rbac.has_permission("acme-app.docs:read", None));
    /// rbac.set_user(UserContext::new(Some(BasicRole::Admin)));
    /// assert!(rbac.has_permission("acme-app.docs:read", None));
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

    /// Whether the current user holds `action` — with any scope when `scope` is `None` (as
    /// Grafana's `hasPermission`), else with a scope covering `scope` (see [`scope`]). A string
    /// that is not a valid action, or a `scope` that is not a valid scope, is never held.
    ///
    /// ```
    /// use plugin_warden::core::rbac::{Rbac, UserContext};
    /// let mut rbac = Rbac::new();
    /// rbac.set_user(UserContext::from_json(r#"{"permissions":["acme-app.patents:*",
    ///     {"action":"users:read","scope":"users:*"}]}"#).unwrap());
    /// assert!(rbac.has_permission("acme-app.patents:read", None));
    /// assert!(!rbac.has_permission("acme-app.patents", None));
    /// assert!(!rbac.has_permission("acme-app.patents:read extra", None));
    /// assert!(rbac.has_permission("users:read", None));
    /// assert!(rbac.has_permission("users:read", Some("users:id:7")));
    /// assert!(!rbac.has_permission("users:read", Some("teams:id:7")));
    /// // Unscoped permissions answer unscoped checks only (Grafana's evaluator).
    /// assert!(!rbac.has_permission("acme-app.patents:read", Some("patents:1")));
    /// ```
    pub fn has_permission(&self, action: &str, scope: Option<&str>) -> bool {
        if !Action::is_valid(action) {
            return false;
        }
        match scope {
            None => self.compiled.allows(action),
            Some(s) => Scope::parse(s).is_ok_and(|t| self.compiled.allows_scoped(action, &t)),
        }
    }

    /// Whether the current user holds a parsed action with any scope.
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
            (None, Some(min)) => self.user.basic_role().is_some_and(|r| r.includes(min)),
            (None, None) => true,
        }
    }

    /// Every permission the current user holds, before flattening.
    fn patterns(&self) -> Vec<Permission> {
        let user = &self.user;
        let mut out: Vec<Permission> = user.permissions().to_vec();
        if let Some(r) = user.basic_role() {
            out.extend(folder_permission(r.folder_set(), Some(&all_folders())));
        }
        for m in self.plugins.values() {
            for reg in m.roles() {
                let role = reg.role();
                let by_grant = reg.grants().iter().any(|g| g.held_by(user.basic_role()));
                let by_name = user
                    .roles()
                    .iter()
                    .any(|n| n == role.name() || n == role.qualified_name());
                if by_grant || by_name {
                    out.extend(role.permissions().iter().map(|p| {
                        Permission::new(ActionPattern::from(p.action().clone()), p.scope().cloned())
                    }));
                }
            }
        }
        // A folder set held on a scope (or unscoped) brings the smaller sets and the plugins'
        // additions to them, on that same scope.
        let mut extra = Vec::new();
        for p in &out {
            let Some(level) = FolderActionSet::ALL
                .into_iter()
                .rev()
                .find(|f| folder_pattern(*f).is_some_and(|fp| p.action().matches(fp.action())))
            else {
                continue;
            };
            for f in FolderActionSet::ALL
                .into_iter()
                .filter(|f| level.includes(*f))
            {
                extra.extend(folder_permission(f, p.scope()));
                for m in self.plugins.values() {
                    for ext in m.action_sets().iter().filter(|e| e.action() == f) {
                        extra.extend(ext.actions().iter().map(|a| {
                            Permission::new(ActionPattern::from(a.clone()), p.scope().cloned())
                        }));
                    }
                }
            }
        }
        out.extend(extra);
        out
    }

    fn recompile(&mut self) {
        self.compiled = CompiledAccess::from_permissions(&self.patterns());
    }
}

/// `folders:*`, the scope basic roles hold their folder set on.
fn all_folders() -> Scope {
    Scope::literal("folders:*")
}

fn folder_permission(f: FolderActionSet, scope: Option<&Scope>) -> Option<Permission> {
    folder_pattern(f).map(|p| Permission::new(p, scope.cloned()))
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
            {"role": {"name": "Secret", "permissions": [{"action": "acme-app.secret:read"}]}},
            {"role": {"name": "Scoped", "permissions": [
                {"action": "acme-app.docs:read", "scope": "docs:uid:*"},
                {"action": "acme-app.docs:write", "scope": "docs:uid:a"},
                {"action": "acme-app.folder:*", "scope": "*"}
            ]}, "grants": ["Editor"]}
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

    /// Grafana's evaluator `match`, written out from its text: a trailing `*` is a prefix
    /// match, anything else equality.
    fn grafana_match(held: &str, target: &str) -> bool {
        match held.strip_suffix('*') {
            Some(prefix) => target.starts_with(prefix),
            None => held == target,
        }
    }

    /// The pattern rules, straight from the held permissions (no compiled form).
    fn reference(r: &Rbac, a: &str, scope: Option<&str>) -> bool {
        let Ok(a) = Action::parse(a) else {
            return false;
        };
        if scope.is_some_and(|s| Scope::parse(s).is_err()) {
            return false;
        }
        r.patterns().iter().any(|p| {
            p.action().matches(&a)
                && match scope {
                    None => true,
                    Some(t) => p.scope().is_some_and(|h| grafana_match(h.as_str(), t)),
                }
        })
    }

    fn has(r: &Rbac, a: &str) -> bool {
        r.has_permission(a, None)
    }

    #[test]
    fn literal_scopes_are_valid() {
        assert_eq!(Scope::parse("folders:*"), Ok(all_folders()));
    }

    #[test]
    fn roles_by_name_and_qualified_name() {
        let mut r = rbac();
        assert!(!has(&r, "acme-app.secret:read"));
        r.set_user(UserContext::new(None).with_role_name("Secret").expect("ok"));
        assert!(has(&r, "acme-app.secret:read"));
        r.set_user(
            UserContext::new(None)
                .with_role_name("plugins:acme-app:secret")
                .expect("ok"),
        );
        assert!(has(&r, "acme-app.secret:read"));
        r.set_user(UserContext::new(None).with_role_name("secret").expect("ok"));
        assert!(!has(&r, "acme-app.secret:read"));
    }

    #[test]
    fn folder_sets_follow_basic_roles_and_hierarchy() {
        let mut r = rbac();
        r.set_user(UserContext::new(Some(BasicRole::Editor)));
        assert!(has(&r, "folders:view"));
        assert!(has(&r, "folders:edit"));
        assert!(!has(&r, "folders:admin"));
        assert!(has(&r, "acme-app.folder:peek"));
        assert!(has(&r, "acme-app.folder:write"));
        assert!(r.has_permission("folders:edit", Some("folders:uid:x")));
        r.set_user(UserContext::from_json(r#"{"permissions":["folders:*"]}"#).expect("ok"));
        assert!(has(&r, "acme-app.folder:own"));
        assert!(!r.has_permission("acme-app.folder:own", Some("folders:uid:x")));
        let id = PluginId::parse("acme-app").expect("ok");
        r.unregister(&id).expect("registered");
        assert!(!has(&r, "acme-app.folder:own"));
        assert!(r.unregister(&id).is_err());
    }

    #[test]
    fn folder_sets_keep_their_scope() {
        let mut r = rbac();
        r.set_user(
            UserContext::from_json(
                r#"{"permissions":[{"action":"folders:edit","scope":"folders:uid:x"}]}"#,
            )
            .expect("ok"),
        );
        for a in [
            "folders:view",
            "folders:edit",
            "acme-app.folder:peek",
            "acme-app.folder:write",
        ] {
            assert!(r.has_permission(a, Some("folders:uid:x")), "{a}");
            assert!(!r.has_permission(a, Some("folders:uid:y")), "{a}");
            assert!(has(&r, a), "{a}");
        }
        assert!(!has(&r, "folders:admin"));
        assert!(!has(&r, "acme-app.folder:own"));
    }

    #[test]
    fn role_scopes_follow_grants() {
        let mut r = rbac();
        r.set_user(UserContext::new(Some(BasicRole::Editor)));
        assert!(r.has_permission("acme-app.docs:read", Some("docs:uid:zz")));
        assert!(r.has_permission("acme-app.docs:write", Some("docs:uid:a")));
        assert!(!r.has_permission("acme-app.docs:write", Some("docs:uid:b")));
        assert!(has(&r, "acme-app.docs:write"), "any scope");
        assert!(r.has_permission("acme-app.folder:anything", Some("anything:1")));
        assert!(
            !r.has_permission("acme-app.docs:read", Some("docs:uid:*x")),
            "invalid target"
        );
        r.set_user(UserContext::new(Some(BasicRole::Viewer)));
        assert!(has(&r, "acme-app.docs:read"));
        assert!(
            !r.has_permission("acme-app.docs:read", Some("docs:uid:zz")),
            "unscoped grant"
        );
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
        assert!(c.has_scopes());
        let mut sorted = c.exact().to_vec();
        crate::core::collections::sort_by(&mut sorted, |a, b| a < b);
        sorted.dedup();
        assert_eq!(sorted, c.exact());
    }

    #[test]
    fn user_context_errors_are_invalid_argument() {
        for (bad, says) in [
            (r#"{"role":"Owner"}"#, "basic role"),
            (r#"{"role":"viewer"}"#, "basic role"),
            (r#"{"roles":[""]}"#, "roles[0]"),
            (r#"{"permissions":["*"]}"#, "permissions[0]"),
            (
                r#"{"permissions":[1]}"#,
                "permissions[0]: expected an action string or an object",
            ),
            (
                r#"{"permissions":[{"scope":"users:*"}]}"#,
                "permissions[0].action",
            ),
            (
                r#"{"permissions":["a:b",{"action":"users:read","scope":"users*"}]}"#,
                "permissions[1].scope",
            ),
            (
                r#"{"permissions":[{"action":"users:read","scope":7}]}"#,
                "permissions[0].scope: expected a string",
            ),
            (
                r#"{"permissions":[{"action":"users:read","scopes":["users:*"]}]}"#,
                "only the fields action and scope",
            ),
            (r#"{"extra":1}"#, "extra"),
            (r#"[]"#, ""),
        ] {
            let e = UserContext::from_json(bad).expect_err(bad);
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
        let none = UserContext::from_json(r#"{"role":"None"}"#).expect("None is no role");
        assert_eq!(none.basic_role(), None);
    }

    #[test]
    fn user_context_round_trips_both_shapes() {
        let json =
            r#"{"roles":[],"permissions":["a.b:c",{"action":"users:read","scope":"users:*"}]}"#;
        let u = UserContext::from_json(json).expect("valid");
        assert_eq!(serde_json::to_string(&u).expect("serializes"), json);
        assert_eq!(
            UserContext::from_json(&serde_json::to_string(&u).expect("ok")),
            Ok(u)
        );
    }

    #[test]
    fn scope_rules() {
        for ok in [
            "*",
            "users:*",
            "folders:uid:*",
            "files:path/*",
            "folders:uid:abc",
            "dashboards",
            "a:b:c:d",
        ] {
            assert!(Scope::parse(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("users*", "after `:` or `/`"),
            ("a:*:b", "only as the last"),
            ("**", "only as the last"),
            ("folders:uid:ab*", "after `:` or `/`"),
            ("users:?", "`?`"),
            ("users: 1", "whitespace"),
            ("users:\u{7}", "control"),
        ] {
            let e = Scope::parse(bad).expect_err(bad);
            assert_eq!(
                RbacError::from(e.clone()).code(),
                ErrorCode::InvalidArgument
            );
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
        assert!(Scope::parse(&"a".repeat(MAX_SCOPE_BYTES)).is_ok());
        assert!(Scope::parse(&"a".repeat(MAX_SCOPE_BYTES + 1)).is_err());
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

    const SCOPES: [&str; 11] = [
        "*",
        "docs:*",
        "docs:uid:*",
        "docs:uid:a",
        "docs:uid:ab",
        "docs",
        "folders:*",
        "folders:uid:x",
        "folders:uid:*",
        "users:1",
        "users:*",
    ];

    fn permission_strategy() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            action_strategy().prop_map(serde_json::Value::from),
            (action_strategy(), prop::sample::select(SCOPES.to_vec()))
                .prop_map(|(a, s)| serde_json::json!({"action": a, "scope": s})),
        ]
    }

    fn query_scope() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            prop::sample::select(SCOPES.to_vec()).prop_map(|s| Some(s.to_owned())),
            "[a-z:/*?]{0,12}".prop_map(Some),
        ]
    }

    proptest! {
        #[test]
        fn compiled_agrees_with_patterns(
            role in prop::sample::select(vec![None, Some("Viewer"), Some("Editor"), Some("Admin"), Some("None")]),
            roles in prop::collection::vec(prop::sample::select(vec!["Docs Reader", "Secret", "Scoped", "plugins:acme-app:docs-admin", "Nope"]), 0..3),
            perms in prop::collection::vec(permission_strategy(), 0..6),
            queries in prop::collection::vec((prop_oneof![action_strategy(), ".{0,20}"], query_scope()), 1..20),
        ) {
            let mut json = serde_json::json!({"roles": roles, "permissions": perms});
            if let (Some(role), Some(obj)) = (role, json.as_object_mut()) {
                obj.insert("role".into(), role.into());
            }
            let mut r = rbac();
            r.set_user(UserContext::from_value(json).expect("generated users are valid"));
            let c = r.compiled().clone();
            for (q, scope) in &queries {
                let scope = scope.as_deref();
                // The JS cache's rule, for the unscoped (any scope) check.
                let via_js_cache = Action::is_valid(q)
                    && (c.exact().iter().any(|e| e == q) || c.prefixes().iter().any(|p| q.starts_with(p.as_str())));
                prop_assert_eq!(r.has_permission(q, None), via_js_cache, "query {}", q);
                prop_assert_eq!(r.has_permission(q, scope), reference(&r, q, scope), "query {} on {:?}", q, scope);
            }
        }
    }
}
