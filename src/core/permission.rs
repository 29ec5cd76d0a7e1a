//! Capabilities held by one installed plugin, action patterns, and folder action sets.
//!
//! # Capabilities ([`PermissionSet`])
//!
//! A plugin holds `(required ∪ runtime-granted optional) − revoked`, where *required* is the
//! manifest's `permissions` plus `permissions` itself whenever `optionalPermissions` is
//! non-empty (asking for optional capabilities is implied, DESIGN.md §4). Only a capability the
//! manifest lists (required, optional or implied) can be granted; the host can revoke anything
//! at any time, and a later grant re-enables it.
//!
//! # Action patterns ([`ActionPattern`])
//!
//! An action is `<namespace>:<verb>` with exactly one `:` (see [`Action`]). A pattern is an
//! action; it is either
//!
//! - **concrete** (`acme-app.patents:read`): matches only the identical action; or
//! - a **wildcard** `<namespace>:*` (`roles:*`, `acme-app.patents:*`): matches every action
//!   whose part up to and including the `:` is equal — so `roles:*` matches `roles:read` and
//!   `roles:*`, but not `rolesx:read`, not `roles.sub:read`, and not `roles` (which is not an
//!   action at all). Because an action has exactly one `:`, this is the same as
//!   `action.starts_with("roles:")`, which is what the compiled form handed to JS relies on.
//!
//! A bare `*` (and `*:*`, `*:read`) is not an action and is rejected everywhere — from plugins
//! and from the host's user context alike. "Everything" is not something plugin-warden can
//! enumerate safely (new plugins add actions), and a typo should not create a superuser; a
//! host lists the wildcards it means.
//!
//! # Folder action sets ([`FolderActionSet`])
//!
//! `folders:view` ⊂ `folders:edit` ⊂ `folders:admin`: holding a larger set holds the smaller
//! ones. Plugins may append their own actions to these three sets (manifest `actionSets`).

use crate::core::collections::SortedSet;
use std::fmt;

use serde::Serialize;
use thiserror::Error;

use super::error::{Coded, ErrorCode};
use super::manifest::{Action, Capability, Manifest, PluginId};

/// Why a permission operation was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PermissionError {
    /// The capability is not in the plugin's manifest, so it can never be granted.
    #[error("capability {capability:?} is not listed in the manifest's permissions or optionalPermissions; only listed capabilities can be granted", capability = capability.as_str())]
    NotListed {
        /// The capability asked for.
        capability: Capability,
    },
    /// A string was not a valid action pattern.
    #[error("{input:?} is not an action pattern: {reason}")]
    InvalidPattern {
        /// What was given (possibly shortened).
        input: String,
        /// What was expected.
        reason: String,
    },
}

impl Coded for PermissionError {
    fn code(&self) -> ErrorCode {
        match self {
            PermissionError::NotListed { .. } => ErrorCode::PermissionDenied,
            PermissionError::InvalidPattern { .. } => ErrorCode::InvalidArgument,
        }
    }

    fn permission(&self) -> Option<&str> {
        match self {
            PermissionError::NotListed { capability } => Some(capability.as_str()),
            PermissionError::InvalidPattern { .. } => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// A concrete action or a `<namespace>:*` wildcard, matched as the module docs describe.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ActionPattern(Action);

impl ActionPattern {
    /// Parse a pattern.
    ///
    /// # Errors
    /// [`PermissionError::InvalidPattern`] (`INVALID_ARGUMENT`) when `s` is not an action —
    /// including a bare `*`.
    ///
    /// ```
    /// use plugin_warden::core::manifest::Action;
    /// use plugin_warden::core::permission::ActionPattern;
    /// let p = ActionPattern::parse("roles:*").unwrap();
    /// assert!(p.matches(&Action::parse("roles:read").unwrap()));
    /// assert!(!p.matches(&Action::parse("rolesx:read").unwrap()));
    /// assert!(!p.matches(&Action::parse("roles.sub:read").unwrap()));
    /// assert!(ActionPattern::parse("*").is_err());
    /// assert!(ActionPattern::parse("roles").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, PermissionError> {
        Action::parse(s).map(ActionPattern).map_err(|e| {
            let mut input: String = s.chars().take(80).collect();
            if input.len() < s.len() {
                input.push('…');
            }
            let problems: Vec<String> = e.problems.into_iter().map(|p| p.message).collect();
            PermissionError::InvalidPattern {
                input,
                reason: crate::core::collections::join(&problems, "; "),
            }
        })
    }

    /// The pattern as an action (a wildcard one when [`Self::is_wildcard`]).
    pub fn action(&self) -> &Action {
        &self.0
    }

    /// The pattern as a string.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether it is a `<namespace>:*` wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.0.is_wildcard()
    }

    /// For a wildcard, the prefix every matching action starts with (`"roles:"` for
    /// `roles:*`); `None` for a concrete pattern.
    ///
    /// ```
    /// use plugin_warden::core::permission::ActionPattern;
    /// assert_eq!(ActionPattern::parse("roles:*").unwrap().prefix(), Some("roles:"));
    /// assert_eq!(ActionPattern::parse("roles:read").unwrap().prefix(), None);
    /// ```
    pub fn prefix(&self) -> Option<&str> {
        self.as_str()
            .strip_suffix('*')
            .filter(|_| self.is_wildcard())
    }

    /// Whether `action` is matched.
    ///
    /// ```
    /// use plugin_warden::core::manifest::Action;
    /// use plugin_warden::core::permission::ActionPattern;
    /// let a = |s| Action::parse(s).unwrap();
    /// let p = ActionPattern::parse("acme-app.patents:*").unwrap();
    /// assert!(p.matches(&a("acme-app.patents:read")));
    /// assert!(p.matches(&a("acme-app.patents:*")));
    /// assert!(!p.matches(&a("acme-app.patents2:read")));
    /// let c = ActionPattern::parse("acme-app.patents:read").unwrap();
    /// assert!(c.matches(&a("acme-app.patents:read")));
    /// assert!(!c.matches(&a("acme-app.patents:*")));
    /// ```
    pub fn matches(&self, action: &Action) -> bool {
        match self.prefix() {
            Some(prefix) => action.as_str().starts_with(prefix),
            None => self.0 == *action,
        }
    }
}

impl From<Action> for ActionPattern {
    fn from(a: Action) -> Self {
        ActionPattern(a)
    }
}

impl fmt::Display for ActionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------

/// One of the three folder action sets plugins may extend (defined in [`super::vocab`]).
pub use super::vocab::FolderActionSet;

// ---------------------------------------------------------------------------------------------

/// The capabilities one installed plugin holds, with runtime grants and revocations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionSet {
    plugin: PluginId,
    required: SortedSet<Capability>,
    optional: SortedSet<Capability>,
    granted: SortedSet<Capability>,
    revoked: SortedSet<Capability>,
}

impl PermissionSet {
    /// Start from a manifest: required capabilities held, optional ones not yet granted.
    ///
    /// ```
    /// use plugin_warden::core::manifest::{Capability, Manifest, ManifestOptions};
    /// use plugin_warden::core::permission::PermissionSet;
    /// let m = Manifest::parse(
    ///     r#"{"id":"acme-app","name":"A","permissions":["storage"],"optionalPermissions":["api:write"]}"#,
    ///     &ManifestOptions::default(),
    /// ).unwrap();
    /// let mut p = PermissionSet::from_manifest(&m);
    /// assert!(p.has(Capability::Storage));
    /// assert!(p.has(Capability::Permissions)); // implied by optionalPermissions
    /// assert!(!p.has(Capability::ApiWrite));
    /// p.grant(Capability::ApiWrite).unwrap();
    /// assert!(p.has(Capability::ApiWrite));
    /// p.revoke(Capability::ApiWrite);
    /// assert!(!p.has(Capability::ApiWrite));
    /// assert!(p.grant(Capability::UiNotify).is_err());
    /// ```
    pub fn from_manifest(manifest: &Manifest) -> Self {
        let mut required: SortedSet<Capability> = manifest.permissions().iter().copied().collect();
        let optional: SortedSet<Capability> = manifest
            .optional_permissions()
            .iter()
            .copied()
            .filter(|c| !required.contains(c))
            .collect();
        if !optional.is_empty() {
            required.insert(Capability::Permissions);
        }
        PermissionSet {
            plugin: manifest.id().clone(),
            required,
            optional,
            granted: SortedSet::new(),
            revoked: SortedSet::new(),
        }
    }

    /// The plugin these permissions belong to.
    pub fn plugin_id(&self) -> &PluginId {
        &self.plugin
    }

    /// Whether the plugin holds `cap` now.
    pub fn has(&self, cap: Capability) -> bool {
        (self.required.contains(&cap) || self.granted.contains(&cap))
            && !self.revoked.contains(&cap)
    }

    /// Grant `cap`: an optional capability becomes held, a revoked one is re-enabled.
    ///
    /// # Errors
    /// [`PermissionError::NotListed`] (`PERMISSION_DENIED`, naming the capability) when the
    /// manifest lists `cap` neither as required nor as optional.
    pub fn grant(&mut self, cap: Capability) -> Result<(), PermissionError> {
        if !self.is_listed(cap) {
            return Err(PermissionError::NotListed { capability: cap });
        }
        self.revoked.remove(&cap);
        if self.optional.contains(&cap) {
            self.granted.insert(cap);
        }
        Ok(())
    }

    /// Revoke `cap`, effective immediately. Revoking an unlisted capability is allowed and
    /// changes nothing observable.
    pub fn revoke(&mut self, cap: Capability) {
        self.granted.remove(&cap);
        self.revoked.insert(cap);
    }

    /// The capabilities held now, sorted by name.
    pub fn granted(&self) -> Vec<Capability> {
        Capability::ALL
            .into_iter()
            .filter(|c| self.has(*c))
            .collect()
    }

    /// The required capabilities (manifest `permissions`, plus implied `permissions`), sorted.
    pub fn required(&self) -> Vec<Capability> {
        self.required.iter().copied().collect()
    }

    /// The optional capabilities (manifest `optionalPermissions`), sorted.
    pub fn optional(&self) -> Vec<Capability> {
        self.optional.iter().copied().collect()
    }

    /// Whether `cap` is optional (needs a runtime grant).
    pub fn is_optional(&self, cap: Capability) -> bool {
        self.optional.contains(&cap)
    }

    /// The permissions of `manifest` (an update of this plugin), keeping what the host and the
    /// user decided that still applies: runtime grants of capabilities the new manifest still
    /// lists as optional, and revocations of capabilities it still lists.
    ///
    /// ```
    /// use plugin_warden::core::manifest::{Capability, Manifest, ManifestOptions};
    /// use plugin_warden::core::permission::PermissionSet;
    /// let m = |opt: &str| Manifest::parse(&format!(
    ///     r#"{{"id":"acme-app","name":"A","permissions":["storage"],"optionalPermissions":{opt}}}"#),
    ///     &ManifestOptions::default()).unwrap();
    /// let mut old = PermissionSet::from_manifest(&m(r#"["api:write","ui:notify"]"#));
    /// old.grant(Capability::ApiWrite).unwrap();
    /// old.grant(Capability::UiNotify).unwrap();
    /// old.revoke(Capability::Storage);
    /// let new = old.carried_over(&m(r#"["api:write"]"#));
    /// assert!(new.has(Capability::ApiWrite));
    /// assert!(!new.has(Capability::UiNotify)); // no longer declared
    /// assert!(!new.has(Capability::Storage)); // still revoked
    /// ```
    pub fn carried_over(&self, manifest: &Manifest) -> PermissionSet {
        let mut next = PermissionSet::from_manifest(manifest);
        for c in &self.granted {
            if next.optional.contains(c) {
                next.granted.insert(*c);
            }
        }
        for c in &self.revoked {
            if next.is_listed(*c) {
                next.revoked.insert(*c);
            }
        }
        next
    }

    /// Whether the manifest lists `cap` at all (required, implied or optional).
    pub fn is_listed(&self, cap: Capability) -> bool {
        self.required.contains(&cap) || self.optional.contains(&cap)
    }
}

/// Every action `manifest` declares in its own namespace: its roles' actions, its includes'
/// and routes' required actions, and what it adds to folder action sets, sorted.
///
/// ```
/// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
/// use plugin_warden::core::permission::declared_actions;
/// let m = Manifest::parse(r#"{"id":"acme-app","name":"A","includes":[{"type":"page","name":"P",
///     "path":"/a/acme-app/p","action":"acme-app.p:read"}]}"#, &ManifestOptions::default()).unwrap();
/// let names: Vec<_> = declared_actions(&m).iter().map(|a| a.as_str().to_owned()).collect();
/// assert_eq!(names, ["acme-app.p:read"]);
/// ```
pub fn declared_actions(manifest: &Manifest) -> SortedSet<Action> {
    let mut out = SortedSet::new();
    for r in manifest.roles() {
        out.extend(r.role().permissions().iter().map(|p| p.action().clone()));
    }
    out.extend(
        manifest
            .includes()
            .iter()
            .filter_map(|i| i.action().cloned()),
    );
    out.extend(
        manifest
            .routes()
            .iter()
            .filter_map(|r| r.req_action().cloned()),
    );
    for s in manifest.action_sets() {
        out.extend(s.actions().iter().cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::manifest::ManifestOptions;

    fn set(json: &str) -> PermissionSet {
        let m =
            Manifest::parse(json, &ManifestOptions::default()).expect("invariant: test manifest");
        PermissionSet::from_manifest(&m)
    }

    #[test]
    fn required_revoke_and_regrant() {
        let mut p = set(r#"{"id":"acme-app","name":"A","permissions":["storage","events"]}"#);
        assert_eq!(p.granted(), vec![Capability::Events, Capability::Storage]);
        assert!(
            !p.has(Capability::Permissions),
            "no optional ones, nothing implied"
        );
        p.revoke(Capability::Storage);
        assert!(!p.has(Capability::Storage));
        p.grant(Capability::Storage).expect("listed");
        assert!(p.has(Capability::Storage));
    }

    #[test]
    fn unlisted_cannot_be_granted_and_names_it() {
        let mut p = set(r#"{"id":"acme-app","name":"A"}"#);
        let e = p.grant(Capability::ApiWrite).unwrap_err();
        assert_eq!(e.code(), ErrorCode::PermissionDenied);
        assert_eq!(e.permission(), Some("api:write"));
        assert!(e.to_string().contains("api:write"));
        p.revoke(Capability::ApiWrite);
        assert!(p.granted().is_empty());
    }

    #[test]
    fn implied_permissions_can_be_revoked() {
        let mut p = set(r#"{"id":"acme-app","name":"A","optionalPermissions":["ui:notify"]}"#);
        assert!(p.has(Capability::Permissions));
        assert!(p.is_optional(Capability::UiNotify));
        assert!(!p.is_optional(Capability::Permissions));
        p.revoke(Capability::Permissions);
        assert!(!p.has(Capability::Permissions));
        assert_eq!(p.optional(), vec![Capability::UiNotify]);
        assert_eq!(p.required(), vec![Capability::Permissions]);
    }

    #[test]
    fn wildcard_edges() {
        let a = |s: &str| Action::parse(s).expect("invariant: test action");
        let p = ActionPattern::parse("roles:*").expect("valid");
        assert!(p.matches(&a("roles:read")));
        assert!(p.matches(&a("roles:*")));
        assert!(!p.matches(&a("rolesx:read")));
        assert!(!p.matches(&a("roles.x:read")));
        assert!(!p.matches(&a("xroles:read")));
        for bad in [
            "*",
            "*:*",
            "*:read",
            "roles",
            "roles:",
            ":read",
            "roles:re*",
            "roles:**",
        ] {
            assert!(ActionPattern::parse(bad).is_err(), "{bad}");
        }
        let e = ActionPattern::parse("*").unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
    }
}
