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

use std::fmt;

use serde::{Serialize, Serializer};

use super::RbacError;
use crate::core::manifest::Action;
use crate::core::permission::ActionPattern;

/// Longest scope accepted, in bytes.
pub const MAX_SCOPE_BYTES: usize = 256;

/// A validated scope (see the module docs for the rules).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(String);

impl Scope {
    /// Parse a scope.
    ///
    /// # Errors
    /// [`RbacError::InvalidScope`] (`INVALID_ARGUMENT`) saying which rule `s` breaks.
    ///
    /// ```
    /// use plugin_warden::core::rbac::Scope;
    /// assert!(Scope::parse("folders:uid:abc").is_ok());
    /// assert!(Scope::parse("users:*").is_ok());
    /// assert!(Scope::parse("*").is_ok());
    /// assert!(Scope::parse("users*").is_err());
    /// assert!(Scope::parse("a:*:b").is_err());
    /// assert!(Scope::parse("").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, RbacError> {
        let fail = |reason: String| {
            Err(RbacError::InvalidScope {
                input: super::shorten(s),
                reason,
            })
        };
        if s.is_empty() {
            return fail("expected 1 to 256 bytes, found an empty string".to_owned());
        }
        if s.len() > MAX_SCOPE_BYTES {
            return fail(format!(
                "expected at most {MAX_SCOPE_BYTES} bytes, found {}",
                s.len()
            ));
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return fail(format!(
                "expected no whitespace or control characters, found {c:?}"
            ));
        }
        if s.contains('?') {
            return fail("expected no `?` (scopes have no single-character wildcard)".to_owned());
        }
        let body = s.strip_suffix('*').unwrap_or(s);
        if body.contains('*') {
            return fail(
                "expected `*` only as the last character (`users:*`, `folders:uid:*`)".to_owned(),
            );
        }
        if s.ends_with('*') && !body.is_empty() && !body.ends_with([':', '/']) {
            return fail(
                "expected a trailing `*` right after `:` or `/` (`users:*`), or alone (`*`)"
                    .to_owned(),
            );
        }
        Ok(Scope(s.to_owned()))
    }

    /// A scope from a literal this crate knows to be valid (tested in `rbac::tests`).
    pub(super) fn literal(s: &'static str) -> Self {
        Scope(s.to_owned())
    }

    /// The scope as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For a wildcard scope, the prefix every covered target starts with (`""` for `*`,
    /// `"users:"` for `users:*`); `None` for a scope without `*`.
    ///
    /// ```
    /// use plugin_warden::core::rbac::Scope;
    /// assert_eq!(Scope::parse("users:*").unwrap().prefix(), Some("users:"));
    /// assert_eq!(Scope::parse("*").unwrap().prefix(), Some(""));
    /// assert_eq!(Scope::parse("users:1").unwrap().prefix(), None);
    /// ```
    pub fn prefix(&self) -> Option<&str> {
        self.0.strip_suffix('*')
    }

    /// Whether holding this scope satisfies a check on `target` (Grafana's `match`).
    ///
    /// ```
    /// use plugin_warden::core::rbac::Scope;
    /// let s = |x| Scope::parse(x).unwrap();
    /// assert!(s("users:*").covers(&s("users:id:1")));
    /// assert!(s("*").covers(&s("folders:uid:abc")));
    /// assert!(s("folders:*").covers(&s("folders:uid:*")));
    /// assert!(!s("folders:uid:abc").covers(&s("folders:uid:*")));
    /// assert!(!s("users:*").covers(&s("usersx:1")));
    /// ```
    pub fn covers(&self, target: &Scope) -> bool {
        match self.prefix() {
            Some(p) => target.0.starts_with(p),
            None => self.0 == target.0,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

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
