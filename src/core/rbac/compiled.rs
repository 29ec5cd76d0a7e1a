//! The user's access flattened for cheap checks ([`CompiledAccess`]).

use crate::core::collections::{SortedMap, SortedSet};

use serde::Serialize;

use super::scope::{Permission, Scope};

/// The user's access, flattened for a cheap check (and for JS).
///
/// Invariants, for every valid action `a` and valid scope `s`:
///
/// - `has_permission(a, None) == exact.contains(a) || prefixes.iter().any(|p| a.starts_with(p))`
///   — the unscoped ("any scope") answer, which is all the JS fast path needs. `exact` is sorted
///   and deduplicated and holds only concrete actions not already covered by a prefix; each
///   prefix is a wildcard's `<namespace>:`. An action held with any scope (or none) counts.
/// - `has_permission(a, Some(s))` is true when a scoped entry for `a` (by exact action or by
///   wildcard prefix) covers `s`: every scope, `s` itself, or a prefix of `s` (a `kind:*`
///   scope's text before the `*`). Unscoped permissions never answer a scoped check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CompiledAccess {
    exact: Vec<String>,
    prefixes: Vec<String>,
    /// Scoped grants by concrete action.
    #[serde(skip)]
    scoped_exact: SortedMap<String, ScopeSet>,
    /// Scoped grants by wildcard action prefix.
    #[serde(skip)]
    scoped_prefixes: Vec<(String, ScopeSet)>,
}

/// The scopes held for one action key, flattened like the actions are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ScopeSet {
    /// `*` is held.
    all: bool,
    /// Concrete scopes not covered by a prefix, sorted.
    exact: SortedSet<String>,
    /// `kind:*`-style prefixes (the text before the `*`), sorted.
    prefixes: SortedSet<String>,
}

impl ScopeSet {
    fn add(&mut self, scope: &Scope) {
        match scope.prefix() {
            Some("") => self.all = true,
            Some(p) => {
                self.prefixes.insert(p.to_owned());
            }
            None => {
                self.exact.insert(scope.as_str().to_owned());
            }
        }
    }

    fn minimize(&mut self) {
        if self.all {
            self.exact.clear();
            self.prefixes.clear();
            return;
        }
        let prefixes = self.prefixes.clone();
        self.exact
            .retain(|e| !prefixes.iter().any(|p| e.starts_with(p.as_str())));
    }

    fn covers(&self, target: &str) -> bool {
        self.all
            || self.exact.contains(target)
            || self.prefixes.iter().any(|p| target.starts_with(p.as_str()))
    }
}

impl CompiledAccess {
    /// Concrete actions held (with any scope or none), sorted.
    pub fn exact(&self) -> &[String] {
        &self.exact
    }

    /// Wildcard prefixes held (`"roles:"` for `roles:*`), sorted.
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// The unscoped check: `exact` contains `action`, or it starts with a prefix. Meaningful
    /// for valid actions; [`super::Rbac::has_permission`] validates first.
    pub fn allows(&self, action: &str) -> bool {
        self.exact
            .binary_search_by(|e| e.as_str().cmp(action))
            .is_ok()
            || self.prefixes.iter().any(|p| action.starts_with(p.as_str()))
    }

    /// The scoped check: some permission on `action` has a scope covering `target`.
    /// Meaningful for valid actions.
    pub fn allows_scoped(&self, action: &str, target: &Scope) -> bool {
        let t = target.as_str();
        self.scoped_exact.get(action).is_some_and(|s| s.covers(t))
            || self
                .scoped_prefixes
                .iter()
                .any(|(p, s)| action.starts_with(p.as_str()) && s.covers(t))
    }

    /// Whether any held permission carries a scope (the JS fast path never needs to know;
    /// scoped checks always go to wasm).
    pub fn has_scopes(&self) -> bool {
        !self.scoped_exact.is_empty() || !self.scoped_prefixes.is_empty()
    }

    pub(super) fn from_permissions(held: &[Permission]) -> Self {
        let prefixes: SortedSet<&str> = held.iter().filter_map(|p| p.action().prefix()).collect();
        let exact: SortedSet<&str> = held
            .iter()
            .filter(|p| !p.action().is_wildcard())
            .map(|p| p.action().as_str())
            .filter(|a| !prefixes.iter().any(|p| a.starts_with(p)))
            .collect();
        let mut scoped_exact: SortedMap<String, ScopeSet> = SortedMap::new();
        let mut scoped_prefixes: SortedMap<String, ScopeSet> = SortedMap::new();
        for p in held {
            let Some(scope) = p.scope() else { continue };
            let set = match p.action().prefix() {
                Some(pre) => scoped_prefixes.entry(pre.to_owned()).or_default(),
                None => scoped_exact
                    .entry(p.action().as_str().to_owned())
                    .or_default(),
            };
            set.add(scope);
        }
        for s in scoped_exact
            .values_mut()
            .chain(scoped_prefixes.values_mut())
        {
            s.minimize();
        }
        CompiledAccess {
            exact: exact.into_iter().map(str::to_owned).collect(),
            prefixes: prefixes.into_iter().map(str::to_owned).collect(),
            scoped_exact,
            scoped_prefixes: scoped_prefixes.into_iter().collect(),
        }
    }
}
