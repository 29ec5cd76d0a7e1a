//! The decision: may this plugin make this call now?
//!
//! Asked for every message after it parsed and passed the rate limit. The answer depends only
//! on the plugin's permission set at this moment, so a revocation applies to the very next call.

use thiserror::Error;

use super::error::{Coded, ErrorCode};
use super::manifest::Capability;
use super::mount::UiMode;
use super::permission::PermissionSet;
use super::protocol::Method;

/// What the policy says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused, with the reason.
    Deny(PolicyError),
}

/// Why a call was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The method needs a capability the plugin does not hold now.
    #[error("{method} needs the {capability:?} permission, which plugin {plugin:?} {why}")]
    Missing {
        /// The wire method.
        method: &'static str,
        /// The capability needed.
        capability: &'static str,
        /// The plugin.
        plugin: String,
        /// "does not declare", "has not been granted" or "has had revoked".
        why: &'static str,
    },
    /// `ui.render` from a mount without a host-rendered UI.
    #[error("{method} needs a remote-UI mount, and plugin {plugin:?} is not mounted with one: the host must mount it with {{ mode: 'worker', ui: 'shadow' }}")]
    NoRemoteUi {
        /// The wire method.
        method: &'static str,
        /// The plugin.
        plugin: String,
    },
}

impl Coded for PolicyError {
    fn code(&self) -> ErrorCode {
        ErrorCode::PermissionDenied
    }
    fn permission(&self) -> Option<&str> {
        match self {
            PolicyError::Missing { capability, .. } => Some(capability),
            PolicyError::NoRemoteUi { .. } => None,
        }
    }
}

/// Decide whether the plugin holding `perms` may call `method` now.
///
/// ```
/// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
/// use plugin_warden::core::permission::PermissionSet;
/// use plugin_warden::core::policy::{decide, Decision};
/// use plugin_warden::core::protocol::Method;
/// let m = Manifest::parse(r#"{"id":"acme","name":"A","permissions":["storage"]}"#,
///     &ManifestOptions::default()).unwrap();
/// let mut perms = PermissionSet::from_manifest(&m);
/// let get = Method::StorageGet { key: "k".into() };
/// assert_eq!(decide(&perms, &get), Decision::Allow);
/// perms.revoke(plugin_warden::core::manifest::Capability::Storage);
/// assert!(matches!(decide(&perms, &get), Decision::Deny(_)));
/// ```
pub fn decide(perms: &PermissionSet, method: &Method) -> Decision {
    let Some(cap) = method.required_capability() else {
        return Decision::Allow;
    };
    if perms.has(cap) {
        return Decision::Allow;
    }
    let why = if !perms.is_listed(cap)
        && (cap != Capability::Permissions || perms.optional().is_empty())
    {
        "does not declare in its manifest"
    } else if perms.is_optional(cap) {
        "has not been granted (it is optional: ask with permissions.request)"
    } else {
        "has had revoked"
    };
    deny(perms, method, cap.as_str(), why)
}

/// [`decide`], then the mount's part: `ui.render` only where the mount has a host-rendered UI
/// (`ui`, from the mount plan; `None` for iframe, shadow and plain worker mounts). The
/// capability is checked first, so a plugin without `ui:render` learns what to declare.
///
/// ```
/// use plugin_warden::core::error::{Coded, ErrorCode};
/// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
/// use plugin_warden::core::mount::UiMode;
/// use plugin_warden::core::permission::PermissionSet;
/// use plugin_warden::core::policy::{decide_for_mount, Decision};
/// use plugin_warden::core::protocol::Method;
/// let m = Manifest::parse(r#"{"id":"acme","name":"A","permissions":["ui:render"]}"#,
///     &ManifestOptions::default()).unwrap();
/// let perms = PermissionSet::from_manifest(&m);
/// let render = Method::UiRender { html: "<b>hi</b>".into() };
/// assert_eq!(decide_for_mount(&perms, &render, Some(UiMode::Shadow)), Decision::Allow);
/// let Decision::Deny(e) = decide_for_mount(&perms, &render, None) else { panic!() };
/// assert_eq!(e.code(), ErrorCode::PermissionDenied);
/// assert!(e.to_string().contains("ui: 'shadow'"));
/// ```
pub fn decide_for_mount(perms: &PermissionSet, method: &Method, ui: Option<UiMode>) -> Decision {
    match decide(perms, method) {
        Decision::Allow if matches!(method, Method::UiRender { .. }) && ui.is_none() => {
            Decision::Deny(PolicyError::NoRemoteUi {
                method: method.name(),
                plugin: perms.plugin_id().as_str().to_owned(),
            })
        }
        d => d,
    }
}

fn deny(perms: &PermissionSet, method: &Method, capability: &str, why: &'static str) -> Decision {
    let capability = Capability::parse(capability)
        .map(Capability::as_str)
        .unwrap_or("unknown");
    Decision::Deny(PolicyError::Missing {
        method: method.name(),
        capability,
        plugin: perms.plugin_id().as_str().to_owned(),
        why,
    })
}
