//! The current user as the host describes it ([`UserContext`]).

use std::fmt;

use crate::core::json::FromJson;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::scope::{Permission, Scope};
use super::{shorten, BasicRole, RbacError, MAX_USER_ENTRIES};
use crate::core::manifest::kind;
use crate::core::permission::ActionPattern;

/// The current user, as the host describes it:
/// `{ role?: "Viewer"|"Editor"|"Admin"|"None", roles?: string[],
/// permissions?: (string | { action: string, scope?: string })[] }`.
///
/// A `permissions` entry is an action pattern, unscoped (`"acme-app.docs:read"`, or
/// `{ "action": "acme-app.docs:read" }`), or an action pattern with a Grafana scope
/// (`{ "action": "users:read", "scope": "users:*" }`, see [`super::scope`]).
///
/// Reading one ([`UserContext::from_json`], [`UserContext::from_value`], or serde's
/// `Deserialize`) rejects unknown fields, a bad
/// basic role, empty or control-character role names, invalid action patterns (bare `*`
/// included) or scopes, permission objects with other fields, and more than [`MAX_USER_ENTRIES`] entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawUser")]
pub struct UserContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<BasicRole>,
    roles: Vec<String>,
    permissions: Vec<Permission>,
}

/// The wire shape. Deserialized by hand because a derived struct visitor also accepts a
/// sequence (`[]` would be a valid user); this one takes only a map and denies unknown fields.
#[derive(Default)]
struct RawUser {
    role: Option<String>,
    roles: Option<Vec<String>>,
    permissions: Option<Vec<Value>>,
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

// The browser layer and `from_value` read a user by hand (smaller code than the serde visitor
// above, which stays for `Deserialize`); both take only an object and deny unknown fields.
crate::core::json::from_json_struct!(RawUser, "an object with optional fields role, roles, permissions", {
    role: "role",
    roles: "roles",
    permissions: "permissions",
});

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
            let permission = parse_permission(p).map_err(|reason| RbacError::InvalidUser {
                reason: format!("permissions[{i}]{reason}"),
            })?;
            user = user.with_scoped_permission(permission);
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
    /// let scoped = UserContext::from_json(
    ///     r#"{"permissions":[{"action":"users:read","scope":"users:*"}]}"#).unwrap();
    /// assert_eq!(scoped.permissions()[0].scope().map(|s| s.as_str()), Some("users:*"));
    /// assert!(UserContext::from_json(r#"{"permissions":[{"action":"users:read","scope":"users*"}]}"#).is_err());
    /// ```
    pub fn from_json(json: &str) -> Result<Self, RbacError> {
        let value = crate::core::json::parse_value(json).map_err(|e| RbacError::InvalidUser {
            reason: e.to_string(),
        })?;
        Self::from_value(value)
    }

    /// Parse an already-parsed JSON value.
    ///
    /// # Errors
    /// As [`UserContext::from_json`].
    pub fn from_value(value: serde_json::Value) -> Result<Self, RbacError> {
        let raw = RawUser::from_json_value(value).map_err(|e| RbacError::InvalidUser {
            reason: e.to_string(),
        })?;
        UserContext::try_from(raw)
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

    /// Add a direct unscoped permission.
    pub fn with_permission(self, pattern: ActionPattern) -> Self {
        self.with_scoped_permission(Permission::from(pattern))
    }

    /// Add a direct permission, scoped or not.
    pub fn with_scoped_permission(mut self, permission: Permission) -> Self {
        if !self.permissions.contains(&permission) {
            self.permissions.push(permission);
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
    pub fn permissions(&self) -> &[Permission] {
        &self.permissions
    }
}

/// One `permissions` entry: a string, or `{ action, scope? }` and nothing else. The error is
/// the rest of a path (`""`, `.scope`, …) and the reason, after a `: `.
fn parse_permission(v: &Value) -> Result<Permission, String> {
    let action = |s: &str, at: &str| ActionPattern::parse(s).map_err(|e| format!("{at}: {e}"));
    match v {
        Value::String(s) => action(s, "").map(Permission::from),
        Value::Object(o) => {
            if let Some(k) = o.keys().find(|k| *k != "action" && *k != "scope") {
                return Err(format!(
                    ": expected only the fields action and scope, found {:?}",
                    shorten(k)
                ));
            }
            let a = match o.get("action") {
                Some(Value::String(s)) => action(s, ".action")?,
                Some(other) => {
                    return Err(format!(".action: expected a string, found {}", kind(other)))
                }
                None => return Err(".action: expected an action, found nothing".to_owned()),
            };
            let scope = match o.get("scope") {
                None => None,
                Some(Value::String(s)) => {
                    Some(Scope::parse(s).map_err(|e| format!(".scope: {e}"))?)
                }
                Some(other) => {
                    return Err(format!(".scope: expected a string, found {}", kind(other)))
                }
            };
            Ok(Permission::new(a, scope))
        }
        other => Err(format!(
            ": expected an action string or an object {{ action, scope? }}, found {}",
            kind(other)
        )),
    }
}
