//! Grafana scopes and held permissions (`{ action, scope? }`).
//!
//! # Scopes
//!
//! A scope names the resources an action applies to: `users:*`, `folders:uid:abc`,
//! `dashboards:uid:*`, or `*`. The rules are Grafana's (`accesscontrol.ValidateScope` and the
//! evaluator's `match`):
//!
//! - A scope is 1 to [`MAX_SCOPE_BYTES`] bytes of printable text without whitespace.
//! - `*` may appear only as the **last** character, and then either alone (`*`, every scope)
//!   or right after a `:` or a `/` (`users:*`, `folders:uid:*`, `files:path/*`). `?` may not
//!   appear at all. Anything else (`users*`, `a:*:b`, `folders:uid:ab*`) is refused.
//! - A held scope ending in `*` **covers** every target that starts with the text before the
//!   `*` (`users:*` covers `users:1`, `users:id:1` and `users:*` itself, not `usersx:1`); a
//!   held scope without `*` covers exactly the identical target. Targets are compared as text:
//!   `folders:*` covers the target `folders:uid:*`, while `folders:uid:abc` does not.
//!
//! # Held permissions
//!
//! A [`Permission`] is an action pattern (see [`crate::core::permission`]) and an optional
//! scope. As in Grafana, a permission **without** a scope satisfies only checks without a
//! scope: `hasPermission('users:read')` is true, `hasPermission('users:read', 'users:1')` is
//! not. Hold `{ action, scope: '*' }` to satisfy every scoped check of an action.

use serde::{Serialize, Serializer};

use crate::core::manifest::Action;
use crate::core::permission::ActionPattern;

pub use crate::core::vocab::{Scope, ScopeError, MAX_SCOPE_BYTES};

/// A held permission: an action pattern and an optional scope. Serializes as the bare action
/// string when unscoped, else as `{ "action", "scope" }` (the two shapes a user context takes).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    action: ActionPattern,
    scope: Option<Scope>,
}

impl Permission {
    /// A permission on `action`, with `scope` (or unscoped).
    pub fn new(action: ActionPattern, scope: Option<Scope>) -> Self {
        Permission { action, scope }
    }

    /// The action pattern.
    pub fn action(&self) -> &ActionPattern {
        &self.action
    }

    /// The scope, `None` when unscoped.
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    /// Whether this permission satisfies a check of `action` with `target` (`None`: any scope,
    /// so an unscoped check is satisfied by every scope and by none).
    ///
    /// ```
    /// use plugin_warden::core::manifest::Action;
    /// use plugin_warden::core::permission::ActionPattern;
    /// use plugin_warden::core::rbac::{Permission, Scope};
    /// let p = Permission::new(ActionPattern::parse("users:read").unwrap(), Some(Scope::parse("users:*").unwrap()));
    /// let a = Action::parse("users:read").unwrap();
    /// assert!(p.satisfies(&a, None));
    /// assert!(p.satisfies(&a, Some(&Scope::parse("users:7").unwrap())));
    /// let unscoped = Permission::new(ActionPattern::parse("users:read").unwrap(), None);
    /// assert!(!unscoped.satisfies(&a, Some(&Scope::parse("users:7").unwrap())));
    /// ```
    pub fn satisfies(&self, action: &Action, target: Option<&Scope>) -> bool {
        self.action.matches(action)
            && match target {
                None => true,
                Some(t) => self.scope.as_ref().is_some_and(|s| s.covers(t)),
            }
    }
}

impl From<ActionPattern> for Permission {
    fn from(action: ActionPattern) -> Self {
        Permission {
            action,
            scope: None,
        }
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.scope {
            None => self.action.serialize(s),
            Some(scope) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("action", &self.action)?;
                m.serialize_entry("scope", scope)?;
                m.end()
            }
        }
    }
}
