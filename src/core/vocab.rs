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
