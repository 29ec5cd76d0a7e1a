//! Updates: what a new manifest changes compared with the installed one, and whether that needs
//! the user's consent.
//!
//! `host.update(id, manifest, { code, signature })` runs the install checks on the new version
//! (manifest, signature, integrity, bundle analysis, compatibility), then this module:
//!
//! 1. [`check_version`]: the new version must be strictly greater (semver) than the installed
//!    one — the same or a lower version is refused with `INCOMPATIBLE` (a rollback to an older,
//!    possibly vulnerable build is not an update; the code is the one an installer already
//!    handles for "this build does not fit here", and the message says which versions met);
//! 2. [`ManifestDiff::between`]: every entry the new manifest adds or drops, by kind
//!    (capabilities, optional capabilities, network entries, asset origins, roles and their
//!    grants, routes, includes, action-set extensions), each with words a consent dialog can
//!    show as they are;
//! 3. [`ManifestDiff::widens`]: anything added needs consent (the host's `onUpdateConsent`, or
//!    the default dialog); a pure narrowing does not.
//!
//! ```
//! use plugin_warden::core::manifest::{Manifest, ManifestOptions};
//! use plugin_warden::core::update::{ChangeKind, ManifestDiff};
//! let m = |perms: &str| Manifest::parse(&format!(
//!     r#"{{"id":"acme-app","name":"A","version":"1.0.0","permissions":{perms}}}"#),
//!     &ManifestOptions::default()).unwrap();
//! let diff = ManifestDiff::between(&m(r#"["storage"]"#), &m(r#"["storage","api:write"]"#));
//! assert!(diff.widens());
//! assert_eq!(diff.added[0].kind, ChangeKind::Permission);
//! assert_eq!(diff.added[0].value, "api:write");
//! assert!(!ManifestDiff::between(&m(r#"["storage","events"]"#), &m(r#"["storage"]"#)).widens());
//! ```

use crate::core::collections::SortedSet;

use serde::Serialize;
use thiserror::Error;

use super::error::{Coded, ErrorCode};
use super::manifest::Manifest;

/// Why an update was refused before its diff was even computed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateError {
    /// The new manifest is for another plugin.
    #[error("the update's manifest is for plugin {found:?}, not {expected:?}")]
    OtherPlugin {
        /// The id updated.
        expected: String,
        /// The id in the new manifest.
        found: String,
    },
    /// One of the two manifests has no semver `version`.
    #[error("an update needs a semver `version` in both manifests (installed: {from}, new: {to})")]
    NoVersion {
        /// The installed version, or `none`.
        from: String,
        /// The new version, or `none`.
        to: String,
    },
    /// The new version is not greater than the installed one.
    #[error(
        "version {to} is not newer than the installed {from}: an update must increase the version"
    )]
    NotNewer {
        /// The installed version.
        from: String,
        /// The refused version.
        to: String,
    },
}

impl Coded for UpdateError {
    fn code(&self) -> ErrorCode {
        match self {
            UpdateError::OtherPlugin { .. } => ErrorCode::InvalidArgument,
            UpdateError::NoVersion { .. } => ErrorCode::InvalidManifest,
            UpdateError::NotNewer { .. } => ErrorCode::Incompatible,
        }
    }
}

/// Check that `new` may replace `old`: same id, and a strictly greater semver version.
///
/// # Errors
/// [`UpdateError`]: `INVALID_ARGUMENT` (another id), `INVALID_MANIFEST` (no semver version),
/// `INCOMPATIBLE` (same or lower version).
///
/// ```
/// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
/// use plugin_warden::core::update::check_version;
/// use plugin_warden::core::error::{Coded, ErrorCode};
/// let m = |v: &str| Manifest::parse(&format!(r#"{{"id":"acme-app","name":"A","version":"{v}"}}"#),
///     &ManifestOptions::default()).unwrap();
/// assert!(check_version(&m("1.2.0"), &m("1.10.0")).is_ok());
/// assert_eq!(check_version(&m("1.2.0"), &m("1.2.0")).unwrap_err().code(), ErrorCode::Incompatible);
/// assert_eq!(check_version(&m("1.2.0"), &m("1.1.9")).unwrap_err().code(), ErrorCode::Incompatible);
/// assert!(check_version(&m("1.2.0-beta.1"), &m("1.2.0")).is_ok());
/// ```
pub fn check_version(old: &Manifest, new: &Manifest) -> Result<(), UpdateError> {
    if old.id() != new.id() {
        return Err(UpdateError::OtherPlugin {
            expected: old.id().as_str().to_owned(),
            found: new.id().as_str().to_owned(),
        });
    }
    let show = |m: &Manifest| m.version().unwrap_or("none").to_owned();
    match (old.semver(), new.semver()) {
        (Some(from), Some(to)) if to > from => Ok(()),
        (Some(_), Some(_)) => Err(UpdateError::NotNewer {
            from: show(old),
            to: show(new),
        }),
        _ => Err(UpdateError::NoVersion {
            from: show(old),
            to: show(new),
        }),
    }
}

/// What a changed manifest entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ChangeKind {
    /// A required capability (`permissions`).
    Permission,
    /// An optional capability (`optionalPermissions`).
    OptionalPermission,
    /// A `network` entry.
    Network,
    /// An `assets` origin.
    Asset,
    /// A role and its actions (`roles[].role`).
    Role,
    /// A basic role a role is granted to (`roles[].grants[]`).
    RoleGrant,
    /// A proxied route (`routes[]`).
    Route,
    /// A page or other contribution (`includes[]`).
    Include,
    /// An action added to a folder action set (`actionSets[]`).
    ActionSet,
}

/// One added or removed manifest entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    /// What it is.
    pub kind: ChangeKind,
    /// The entry, in a stable textual form (`api:write`, `https://api.acme.example/v1/`,
    /// `GET api/patents -> https://… (acme-app.patents:read)`).
    pub value: String,
    /// A sentence for the user, e.g. `use the capability "api:write"`.
    pub words: String,
}

impl Change {
    fn new(kind: ChangeKind, value: String) -> Self {
        let words = match kind {
            ChangeKind::Permission => format!("use the capability \u{201c}{value}\u{201d}"),
            ChangeKind::OptionalPermission => {
                format!("ask you for the capability \u{201c}{value}\u{201d}")
            }
            ChangeKind::Network => format!("send requests to {value}"),
            ChangeKind::Asset => format!("load images, fonts, styles and media from {value}"),
            ChangeKind::Role => format!("define the role {value}"),
            ChangeKind::RoleGrant => format!("grant the role {value}"),
            ChangeKind::Route => format!("call the host-proxied route {value}"),
            ChangeKind::Include => format!("add the {value}"),
            ChangeKind::ActionSet => format!("extend the action set {value}"),
        };
        Change { kind, value, words }
    }
}

/// The difference between an installed manifest and its update.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ManifestDiff {
    /// Entries only the new manifest has (each widens what the plugin may do).
    pub added: Vec<Change>,
    /// Entries only the installed manifest has.
    pub removed: Vec<Change>,
}

impl ManifestDiff {
    /// Compare two manifests entry by entry (sorted by kind, then value).
    pub fn between(old: &Manifest, new: &Manifest) -> Self {
        let (a, b) = (entries(old), entries(new));
        let collect = |x: &SortedSet<(ChangeKind, String)>, y: &SortedSet<(ChangeKind, String)>| {
            x.difference(y)
                .map(|(k, v)| Change::new(*k, v.clone()))
                .collect()
        };
        ManifestDiff {
            added: collect(&b, &a),
            removed: collect(&a, &b),
        }
    }

    /// Whether the update widens what the plugin may do, so it needs consent.
    pub fn widens(&self) -> bool {
        !self.added.is_empty()
    }
}

/// Every entry of `m` that the diff compares, as `(kind, value)`.
fn entries(m: &Manifest) -> SortedSet<(ChangeKind, String)> {
    let mut out = SortedSet::new();
    let mut add = |k: ChangeKind, v: String| {
        out.insert((k, v));
    };
    let required: SortedSet<_> = m.permissions().iter().copied().collect();
    for c in &required {
        add(ChangeKind::Permission, c.as_str().to_owned());
    }
    for c in m.optional_permissions() {
        if !required.contains(c) {
            add(ChangeKind::OptionalPermission, c.as_str().to_owned());
        }
    }
    for n in m.network() {
        add(ChangeKind::Network, n.as_str().to_owned());
    }
    for a in m.assets() {
        add(ChangeKind::Asset, a.clone());
    }
    for r in m.roles() {
        let role = r.role();
        let mut actions: Vec<String> = role
            .permissions()
            .iter()
            .map(|p| match p.scope() {
                Some(s) => format!("{} on {s}", p.action().as_str()),
                None => p.action().as_str().to_owned(),
            })
            .collect();
        crate::core::collections::sort_by(&mut actions, |a, b| a < b);
        add(
            ChangeKind::Role,
            format!("\u{201c}{}\u{201d} ({})", role.name(), actions.join(", ")),
        );
        for g in r.grants() {
            add(
                ChangeKind::RoleGrant,
                format!("\u{201c}{}\u{201d} to {}", role.name(), g.as_str()),
            );
        }
    }
    for r in m.routes() {
        let mut v = format!(
            "{} {} -> {}",
            r.method().unwrap_or("*"),
            r.path(),
            r.url().unwrap_or("(no url)")
        );
        if let Some(a) = r.req_action() {
            v.push_str(&format!(" (needs {})", a.as_str()));
        }
        if let Some(role) = r.req_role() {
            v.push_str(&format!(" (needs role {})", role.as_str()));
        }
        add(ChangeKind::Route, v);
    }
    for i in m.includes() {
        let mut v = format!("{} \u{201c}{}\u{201d}", i.kind(), i.name());
        if let Some(p) = i.path() {
            v.push_str(&format!(" at {p}"));
        }
        if let Some(a) = i.action() {
            v.push_str(&format!(" (needs {})", a.as_str()));
        }
        add(ChangeKind::Include, v);
    }
    for s in m.action_sets() {
        for a in s.actions() {
            add(
                ChangeKind::ActionSet,
                format!("{} with {}", s.action().as_str(), a.as_str()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::manifest::ManifestOptions;
    use serde_json::{json, Value};

    fn m(extra: Value) -> Manifest {
        let mut v = json!({"id": "acme-app", "name": "A", "version": "1.0.0"});
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        Manifest::parse(&v.to_string(), &ManifestOptions::default()).expect("valid manifest")
    }

    fn kinds(c: &[Change]) -> Vec<(ChangeKind, &str)> {
        c.iter().map(|c| (c.kind, c.value.as_str())).collect()
    }

    #[test]
    fn identical_manifests_differ_in_nothing() {
        let a = m(json!({"permissions": ["storage"], "network": ["https://a.example/"]}));
        assert_eq!(ManifestDiff::between(&a, &a), ManifestDiff::default());
    }

    #[test]
    fn every_kind_is_compared() {
        let old = m(json!({}));
        let new = m(json!({
            "permissions": ["storage"],
            "optionalPermissions": ["api:write"],
            "network": ["https://api.acme.example/v1/"],
            "assets": ["https://cdn.acme.example"],
            "roles": [{"role": {"name": "Reader", "permissions": [{"action": "acme-app.docs:read"}]},
                       "grants": ["Viewer"]}],
            "routes": [{"path": "api/docs", "method": "GET", "reqAction": "acme-app.docs:read",
                        "url": "https://api.acme.example/v1/docs"}],
            "includes": [{"type": "page", "name": "Docs", "path": "/a/acme-app/docs",
                          "action": "acme-app.docs:read"}],
            "actionSets": [{"action": "folders:edit", "actions": ["acme-app.docs:create"]}],
        }));
        let d = ManifestDiff::between(&old, &new);
        assert!(d.widens());
        assert!(d.removed.is_empty());
        let got: SortedSet<ChangeKind> = d.added.iter().map(|c| c.kind).collect();
        assert_eq!(got.len(), 9, "{:?}", kinds(&d.added));
        // `permissions` is implied by optionalPermissions, listed once as a required capability.
        assert!(kinds(&d.added).contains(&(ChangeKind::Permission, "storage")));
        assert!(kinds(&d.added).contains(&(ChangeKind::OptionalPermission, "api:write")));
        assert!(
            kinds(&d.added).contains(&(ChangeKind::RoleGrant, "\u{201c}Reader\u{201d} to Viewer"))
        );
        // The reverse is a pure narrowing: no consent needed.
        let back = ManifestDiff::between(&new, &old);
        assert!(!back.widens());
        assert_eq!(back.removed.len(), d.added.len());
    }

    #[test]
    fn a_moved_entry_is_one_removal_and_one_addition() {
        let old = m(json!({"network": ["https://api.acme.example/v1/"]}));
        let new = m(json!({"network": ["https://api.acme.example/v2/"]}));
        let d = ManifestDiff::between(&old, &new);
        assert_eq!(
            kinds(&d.added),
            vec![(ChangeKind::Network, "https://api.acme.example/v2/")]
        );
        assert_eq!(
            kinds(&d.removed),
            vec![(ChangeKind::Network, "https://api.acme.example/v1/")]
        );
        assert_eq!(
            d.added[0].words,
            "send requests to https://api.acme.example/v2/"
        );
    }

    #[test]
    fn a_role_gaining_an_action_or_a_grant_widens() {
        let role = |actions: &[&str], grants: &[&str]| {
            let perms: Vec<Value> = actions.iter().map(|a| json!({"action": a})).collect();
            m(json!({"roles": [{"role": {"name": "R", "permissions": perms}, "grants": grants}]}))
        };
        let base = role(&["acme-app.x:read"], &["Viewer"]);
        assert!(ManifestDiff::between(
            &base,
            &role(&["acme-app.x:read", "acme-app.x:write"], &["Viewer"])
        )
        .widens());
        assert!(
            ManifestDiff::between(&base, &role(&["acme-app.x:read"], &["Viewer", "Editor"]))
                .widens()
        );
        assert!(!ManifestDiff::between(&base, &role(&["acme-app.x:read"], &[])).widens());
    }

    #[test]
    fn a_required_capability_made_optional_is_a_change_both_ways() {
        let old = m(json!({"permissions": ["storage", "api:write"]}));
        let new = m(json!({"permissions": ["storage"], "optionalPermissions": ["api:write"]}));
        let d = ManifestDiff::between(&old, &new);
        // Asking the user for it is new: that needs consent too.
        assert!(kinds(&d.added).contains(&(ChangeKind::OptionalPermission, "api:write")));
        assert!(kinds(&d.removed).contains(&(ChangeKind::Permission, "api:write")));
    }

    #[test]
    fn versions_must_increase() {
        let v = |s: &str| m(json!({"version": s}));
        assert!(check_version(&v("1.0.0"), &v("1.0.1")).is_ok());
        for (from, to) in [
            ("1.0.0", "1.0.0"),
            ("2.0.0", "1.9.9"),
            ("1.0.0", "1.0.0-rc.1"),
        ] {
            let e = check_version(&v(from), &v(to)).unwrap_err();
            assert_eq!(e.code(), ErrorCode::Incompatible, "{from} -> {to}");
            assert!(e.to_string().contains(to), "{e}");
        }
        let none = Manifest::parse(
            r#"{"id":"acme-app","name":"A"}"#,
            &ManifestOptions::default(),
        )
        .expect("valid");
        assert_eq!(
            check_version(&none, &v("1.0.0")).unwrap_err().code(),
            ErrorCode::InvalidManifest
        );
        let other = Manifest::parse(
            r#"{"id":"other-app","name":"A","version":"9.0.0"}"#,
            &ManifestOptions::default(),
        )
        .expect("valid");
        assert_eq!(
            check_version(&v("1.0.0"), &other).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }
}
