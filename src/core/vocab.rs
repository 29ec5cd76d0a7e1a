//! The leaf vocabulary the manifest, permission and RBAC modules share: basic roles and the
//! folder action sets. It imports none of them, so `manifest` → `vocab` ← `permission` /
//! `rbac` has no cycle (before, `manifest`, `permission` and `rbac` imported each other). The
//! old paths (`core::rbac::BasicRole`, `core::permission::FolderActionSet`) re-export these.

use std::fmt;

use serde::{Serialize, Serializer};

// ---------------------------------------------------------------------------------------------
// Basic roles

/// A basic role. Ordered `Viewer < Editor < Admin`; a larger role includes the smaller ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BasicRole {
    /// `Viewer`.
    Viewer,
    /// `Editor` (includes `Viewer`).
    Editor,
    /// `Admin` (includes `Editor`).
    Admin,
}

impl BasicRole {
    /// `Viewer`, `Editor` or `Admin` (exact case); anything else is `None` (the RBAC module's
    /// `BasicRole::parse` turns that into its error).
    ///
    /// ```
    /// use plugin_warden::core::vocab::BasicRole;
    /// assert_eq!(BasicRole::from_name("Editor"), Some(BasicRole::Editor));
    /// assert_eq!(BasicRole::from_name("editor"), None);
    /// ```
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "Viewer" => Some(BasicRole::Viewer),
            "Editor" => Some(BasicRole::Editor),
            "Admin" => Some(BasicRole::Admin),
            _ => None,
        }
    }

    /// The role's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            BasicRole::Viewer => "Viewer",
            BasicRole::Editor => "Editor",
            BasicRole::Admin => "Admin",
        }
    }

    /// Whether this role includes `other` (`Admin` includes `Viewer`).
    ///
    /// ```
    /// use plugin_warden::core::rbac::BasicRole;
    /// assert!(BasicRole::Admin.includes(BasicRole::Viewer));
    /// assert!(!BasicRole::Viewer.includes(BasicRole::Editor));
    /// ```
    pub fn includes(self, other: BasicRole) -> bool {
        self >= other
    }

    /// The folder action set the role carries.
    pub const fn folder_set(self) -> FolderActionSet {
        match self {
            BasicRole::Viewer => FolderActionSet::View,
            BasicRole::Editor => FolderActionSet::Edit,
            BasicRole::Admin => FolderActionSet::Admin,
        }
    }
}

impl fmt::Display for BasicRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for BasicRole {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Folder action sets

/// One of the three folder action sets plugins may extend. Ordered `View < Edit < Admin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FolderActionSet {
    /// `folders:view`.
    View,
    /// `folders:edit` (includes `folders:view`).
    Edit,
    /// `folders:admin` (includes `folders:edit`).
    Admin,
}

impl FolderActionSet {
    /// All three, smallest first.
    pub const ALL: [FolderActionSet; 3] = [
        FolderActionSet::View,
        FolderActionSet::Edit,
        FolderActionSet::Admin,
    ];

    /// Parse `folders:view`, `folders:edit` or `folders:admin`; anything else is `None`.
    ///
    /// ```
    /// use plugin_warden::core::permission::FolderActionSet;
    /// assert_eq!(FolderActionSet::parse("folders:edit"), Some(FolderActionSet::Edit));
    /// assert_eq!(FolderActionSet::parse("teams:read"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        FolderActionSet::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The action set's action name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FolderActionSet::View => "folders:view",
            FolderActionSet::Edit => "folders:edit",
            FolderActionSet::Admin => "folders:admin",
        }
    }

    /// Whether holding `self` holds `other` (`Admin ⊃ Edit ⊃ View`).
    ///
    /// ```
    /// use plugin_warden::core::permission::FolderActionSet::*;
    /// assert!(Admin.includes(View));
    /// assert!(!View.includes(Edit));
    /// ```
    pub fn includes(self, other: FolderActionSet) -> bool {
        self >= other
    }
}

impl Serialize for FolderActionSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Grafana scopes (the rules are documented in `core::rbac::scope`)

/// A scope that breaks Grafana's scope rules: what was given (possibly shortened) and which
/// rule it breaks. The RBAC module turns it into `RbacError::InvalidScope`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeError {
    /// What was given (possibly shortened).
    pub input: String,
    /// Which rule it breaks.
    pub reason: String,
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a scope: {}", self.input, self.reason)
    }
}

/// Longest scope accepted, in bytes.
pub const MAX_SCOPE_BYTES: usize = 256;

/// A validated scope (see the module docs for the rules).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(String);

impl Scope {
    /// Parse a scope.
    ///
    /// # Errors
    /// [`ScopeError`] (`INVALID_ARGUMENT` once it is an RBAC or manifest error) saying which
    /// rule `s` breaks.
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
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        let fail = |reason: String| {
            let mut input: String = s.chars().take(80).collect();
            if input.len() < s.len() {
                input.push('…');
            }
            Err(ScopeError { input, reason })
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
    pub(crate) fn literal(s: &'static str) -> Self {
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

// ---------------------------------------------------------------------------------------------
// Case folding for matching against ASCII words

/// `c` as `char::to_lowercase` gives it wherever that is ASCII (the ASCII letters, and the
/// Kelvin sign `K` → `k`); any other character is kept. Matching the result against ASCII words
/// finds what matching `to_lowercase`'s result finds (the one other mapping with an ASCII part,
/// `İ` → `i` + U+0307, always leaves a non-ASCII character after that `i`), without linking
/// Unicode's case tables into the core module (~6 KiB gzip). Used by the manifest's near-miss
/// check and the audit log's secret-key check.
pub(crate) fn fold_to_ascii(c: char) -> char {
    if c == '\u{212A}' {
        'k'
    } else {
        c.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_to_ascii_is_to_lowercase_where_that_is_ascii() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let lower: String = c.to_lowercase().collect();
            if lower.is_ascii() {
                assert_eq!(fold_to_ascii(c).to_string(), lower, "{c:?}");
            } else {
                assert!(!fold_to_ascii(c).is_ascii(), "{c:?}");
            }
            // The only lowercase with an ASCII part that is not all ASCII: `İ` → `i` + U+0307,
            // where the `i` is never last.
            if !lower.is_ascii() && lower.chars().any(|l| l.is_ascii()) {
                assert_eq!(c, '\u{130}');
                assert_eq!(lower, "i\u{307}");
            }
        }
    }
}
