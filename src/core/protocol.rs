//! The wire protocol between a plugin and the host (DESIGN.md §5).
//!
//! In the browser the host receives `event.data` on a plugin's `MessagePort`, JS turns it into
//! a string with `JSON.stringify` (a throw there is a rejection) and hands the string to
//! [`parse_call`]. Parsing is linear and bounded, in three steps:
//!
//! 1. the byte length is compared with [`Limits::max_message_bytes`];
//! 2. one pass over the bytes measures the nesting depth, so a `[[[[…` never reaches a
//!    recursive parser ([`Limits::max_depth`]);
//! 3. serde_json drives a checking visitor that builds the value while it enforces the string,
//!    key-count and array-length limits, rejects duplicate keys and the keys `__proto__`,
//!    `constructor` and `prototype` at any depth; then the envelope and the method's `params`
//!    are matched field by field against the table of DESIGN.md §5.
//!
//! Every failure is a [`ProtocolError`] with code `MESSAGE_REJECTED` whose message names the
//! path (`params.headers["x-a"]`) and says what was expected and what was found. When the call's
//! `id` could be read before the failure, [`ProtocolError::id`] returns it so the host can answer
//! that call ([`Reply::rejected`]).
//!
//! # Decisions
//!
//! - `id` is a JSON number whose value is an integer in `0..=2^53-1`. Strings are refused: the
//!   client numbers its calls, and one id type keeps replies unambiguous. `1.0` is accepted as
//!   `1` because `JSON.parse` cannot tell them apart and the JS tests run the same vectors.
//! - `v` follows the same number rule and must equal `1`.
//! - Duplicate keys are refused everywhere (envelope, params, stored values, event data).
//!   `JSON.stringify` never produces them, and serde_json would keep the last one while other
//!   readers may keep the first: a smuggling vector with no legitimate use.
//! - Optional fields (`method`, `headers`, `body`, `level`) are either absent or of their type;
//!   `null` is a wrong type. The client omits `undefined` fields (as `JSON.stringify` does).
//! - `storage.set`'s `value` and `events.emit`'s `data` are required (`null` is a value).
//! - `api.fetch`'s `method` is an HTTP token; the six methods that `fetch()` normalizes
//!   (`DELETE GET HEAD OPTIONS POST PUT`) are upper-cased here too, so the capability decision
//!   sees what the browser will send; `CONNECT`, `TRACE` and `TRACK` are refused (`fetch()`
//!   throws on them).
//! - `permission` strings are 1..=256 bytes; their meaning is the permission module's business.
//!   Human-facing texts (`reason` ≤ 1024, `message` ≤ 4096) are measured in Unicode scalar
//!   values (what JS `[...s].length` counts); a `reason` must not be blank.
//! - Storage keys and URLs are only type-checked here; their limits belong to the storage and
//!   network modules.
//! - `ui.render`'s `html` is a string, possibly empty (it clears the UI); its size is bounded by
//!   the message limit and its tag count by the sanitizer's `maxTags` (checked where it is
//!   sanitized). Whether the plugin may render at all (capability `ui:render`, a remote-UI
//!   mount) is the policy's business, not the parser's.
//! - `api.canFetch {url, method?}` answers a boolean: whether `api.fetch` with that URL and
//!   method would pass every policy check (capability, network allowlist or `route:` rules and
//!   the user's RBAC), decided by the very function `api.fetch` uses, and nothing is sent. It
//!   needs no capability itself: a plugin without `api:read`/`api:write` gets `false`, never
//!   an error. `method` follows `api.fetch`'s rule (normalized, `CONNECT`/`TRACE`/`TRACK`
//!   refused); the URL is only type-checked here, like `api.fetch`'s.

use crate::core::collections::SortedMap;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use super::binary::{placeholder, BadBinary, BinaryCount, BinaryRef, TableRef};
use super::error::{cold_text, Coded, ErrorCode, WardenError};
use super::json::{Exact, NumberTexts};
use super::manifest::Capability;

/// The protocol version this module speaks (`v` in every message).
pub const PROTOCOL_VERSION: u64 = 1;

/// The namespace of handshake messages on `window.postMessage` (`ns`).
pub const NAMESPACE: &str = "plugin-warden";

/// Host event: a plugin's capabilities or declared actions changed; data
/// `{granted: string[], actions: string[]}` (`sdk.permissions.onChange`).
pub const EVENT_PERMISSIONS_CHANGED: &str = "permissions.changed";

/// Host event: a liveness probe, data `{seq}`; the client answers [`EVENT_PONG`] by itself.
pub const EVENT_PING: &str = "ping";

/// Plugin → host: the answer to a [`EVENT_PING`], `{v:1, event:"pong", data:{seq}}` (not a
/// call: no id, no reply, not rate-limited when it answers the outstanding ping).
pub const EVENT_PONG: &str = "pong";

/// Host event to a callee: another plugin called one of its `exposes`; data
/// `{call, name, args, caller: {pluginId, version}}`; the client answers with `plugins.respond`.
pub const EVENT_PLUGINS_CALL: &str = "plugins.call";

/// The largest integer JS represents exactly (`Number.MAX_SAFE_INTEGER`, 2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Object keys refused at any depth of any message: JS treats them specially when objects are
/// merged or assigned (DESIGN.md §9, an own `__proto__` survives `JSON.parse` and cloning).
pub const FORBIDDEN_KEYS: [&str; 3] = ["__proto__", "constructor", "prototype"];

/// `api.fetch`'s request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchBody {
    /// A string.
    Text(String),
    /// Binary data: the message's side-table entry ([`super::binary`]); never inline bytes.
    Binary(TableRef),
}

/// Every method of DESIGN.md §5, by wire name.
pub const METHOD_NAMES: [&str; 17] = [
    "storage.get",
    "storage.set",
    "storage.remove",
    "storage.keys",
    "storage.clear",
    "api.fetch",
    "api.canFetch",
    "permissions.list",
    "permissions.has",
    "permissions.request",
    "events.subscribe",
    "events.unsubscribe",
    "events.emit",
    "ui.notify",
    "ui.render",
    "plugins.call",
    "plugins.respond",
];

const MAX_PERMISSION_BYTES: usize = 256;
const MAX_REASON_CHARS: usize = 1024;
const MAX_NOTIFY_CHARS: usize = 4096;
const MAX_EVENT_NAME: usize = 128;
const MAX_ERROR_CODE_BYTES: usize = 64;
const NONCE_MIN: usize = 16;
const NONCE_MAX: usize = 128;
/// How much of an offending string an error message quotes.
const QUOTE_CHARS: usize = 64;

/// Size and shape limits applied to every incoming message (DESIGN.md §7).
///
/// Deserializes from the host's `limits` option in camelCase (`maxMessageBytes`, `maxDepth`,
/// `maxStringBytes`, `maxKeys`, `maxArrayLen`); missing fields keep their defaults and unknown
/// fields are ignored, because the same object also carries the rate-limit and storage options.
///
/// # Security
/// The defaults are safe. Raising `max_depth` above 128 has no effect: serde_json's own
/// recursion limit still applies, so no setting can make parsing overflow the stack.
///
/// ```
/// use plugin_warden::core::protocol::Limits;
/// let l = Limits::default();
/// assert_eq!((l.max_message_bytes, l.max_depth, l.max_keys), (65536, 32, 1024));
/// let o: Limits = serde_json::from_str(r#"{"maxMessageBytes": 1024, "burst": 5}"#).unwrap();
/// assert_eq!((o.max_message_bytes, o.max_depth), (1024, 32));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Limits {
    /// Largest message, in UTF-8 bytes of its JSON text.
    pub max_message_bytes: usize,
    /// Deepest nesting of objects and arrays; the envelope object itself is depth 1.
    pub max_depth: usize,
    /// Longest single string (keys included), in UTF-8 bytes after unescaping.
    pub max_string_bytes: usize,
    /// Most keys in one object.
    pub max_keys: usize,
    /// Most elements in one array.
    pub max_array_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 65536,
            max_depth: 32,
            max_string_bytes: 65536,
            max_keys: 1024,
            max_array_len: 10_000,
        }
    }
}

/// Limits for the handshake: a `hello` is small and flat.
const HELLO_LIMITS: Limits = Limits {
    max_message_bytes: 1024,
    max_depth: 1,
    max_string_bytes: 256,
    max_keys: 8,
    max_array_len: 0,
};

/// Why a message was rejected. Every variant has code `MESSAGE_REJECTED`.
///
/// ```
/// use plugin_warden::core::error::{Coded, ErrorCode};
/// use plugin_warden::core::protocol::{parse_call, Limits};
/// let e = parse_call(r#"{"v":1,"id":7,"method":"storage.get","params":{}}"#, &Limits::default())
///     .unwrap_err();
/// assert_eq!(e.code(), ErrorCode::MessageRejected);
/// assert_eq!(e.id(), Some(7));
/// assert_eq!(e.to_string(), "params.key: expected a string, found nothing");
/// ```
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The JSON text is longer than [`Limits::max_message_bytes`].
    #[error("message: expected at most {max} bytes, found {size}")]
    TooLarge {
        /// The message's length in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Objects and arrays nest deeper than [`Limits::max_depth`].
    #[error("{location}: expected nesting at most {max} deep, found deeper")]
    TooDeep {
        /// The call's id, when it was read before the failure.
        id: Option<u64>,
        /// Where: a path, or a byte offset when found by the pre-scan.
        location: String,
        /// The limit.
        max: usize,
    },
    /// Not JSON.
    #[error("message: expected JSON, found a syntax error ({detail})")]
    Syntax {
        /// The call's id, when it was read before the failure.
        id: Option<u64>,
        /// The parser's complaint, with line and column.
        detail: String,
    },
    /// A string, object or array over its limit.
    #[error("{path}: expected at most {max} {what}, found more")]
    OverLimit {
        /// The call's id, when it was read before the failure.
        id: Option<u64>,
        /// Where.
        path: String,
        /// What was counted (`string bytes`, `object keys`, `array elements`).
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// A key named `__proto__`, `constructor` or `prototype`.
    #[error("{path}: expected no key named __proto__, constructor or prototype, found one")]
    ForbiddenKey {
        /// The call's id, when it was read before the failure.
        id: Option<u64>,
        /// Where, ending with the offending key.
        path: String,
    },
    /// The same key twice in one object.
    #[error("{path}: expected each key once, found a duplicate")]
    DuplicateKey {
        /// The call's id, when it was read before the failure (never, for a duplicate `id`).
        id: Option<u64>,
        /// Where, ending with the duplicated key.
        path: String,
    },
    /// A required field is absent.
    #[error("{path}: expected {expected}, found nothing")]
    Missing {
        /// The call's id, when it could be read.
        id: Option<u64>,
        /// The missing field.
        path: String,
        /// What should be there.
        expected: &'static str,
    },
    /// A field that the method does not take.
    #[error("{path}: expected no such field (allowed: {allowed}), found one")]
    UnknownField {
        /// The call's id, when it could be read.
        id: Option<u64>,
        /// The unexpected field.
        path: String,
        /// The fields that are allowed there.
        allowed: &'static str,
    },
    /// An object holding the reserved key `$pw:binary` that is not a valid binary
    /// placeholder, or binary data where its form is not allowed ([`super::binary`]).
    #[error("{path}: {detail}")]
    BadBinary {
        /// The call's id, when it was read before the failure.
        id: Option<u64>,
        /// Where: the placeholder object.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A field of the wrong type or value.
    #[error("{path}: expected {expected}, found {found}")]
    Invalid {
        /// The call's id, when it could be read.
        id: Option<u64>,
        /// The field.
        path: String,
        /// What was expected.
        expected: &'static str,
        /// A short description of what was found (strings are quoted and truncated; header
        /// values are never quoted).
        found: String,
    },
}

impl ProtocolError {
    /// The id of the rejected call, when it could be read before the failure, so the host can
    /// send an error reply to it. `None` for size and pre-scan failures, for a duplicate `id`,
    /// and for everything parsed by [`parse_hello`] and [`parse_reply`].
    ///
    /// ```
    /// use plugin_warden::core::protocol::{parse_call, Limits};
    /// let l = Limits::default();
    /// assert_eq!(parse_call(r#"{"v":2,"id":3,"method":"storage.keys","params":{}}"#, &l)
    ///     .unwrap_err().id(), Some(3));
    /// assert_eq!(parse_call("[]", &l).unwrap_err().id(), None);
    /// ```
    pub fn id(&self) -> Option<u64> {
        match self {
            ProtocolError::TooLarge { .. } => None,
            ProtocolError::TooDeep { id, .. }
            | ProtocolError::Syntax { id, .. }
            | ProtocolError::OverLimit { id, .. }
            | ProtocolError::ForbiddenKey { id, .. }
            | ProtocolError::DuplicateKey { id, .. }
            | ProtocolError::Missing { id, .. }
            | ProtocolError::UnknownField { id, .. }
            | ProtocolError::BadBinary { id, .. }
            | ProtocolError::Invalid { id, .. } => *id,
        }
    }
}

impl Coded for ProtocolError {
    fn code(&self) -> ErrorCode {
        ErrorCode::MessageRejected
    }
}

/// A parsed, validated call from a plugin.
///
/// ```
/// use plugin_warden::core::protocol::{parse_call, Call, Limits, Method};
/// let call = parse_call(
///     r#"{"v":1,"id":1,"method":"storage.get","params":{"key":"prefs"}}"#,
///     &Limits::default(),
/// ).unwrap();
/// assert_eq!(call, Call { id: 1, method: Method::StorageGet { key: "prefs".into() } });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The plugin's id for this call; the reply carries it back.
    pub id: u64,
    /// What the plugin asks for.
    pub method: Method,
}

impl Call {
    /// Encode the call as the wire envelope `{v:1, id, method, params}` (what the plugin-side
    /// client sends). [`parse_call`] of the result gives back an equal call.
    ///
    /// ```
    /// use plugin_warden::core::protocol::{parse_call, Call, Limits, Method};
    /// let call = Call { id: 9, method: Method::StorageKeys };
    /// assert_eq!(call.to_json(), r#"{"v":1,"id":9,"method":"storage.keys","params":{}}"#);
    /// assert_eq!(parse_call(&call.to_json(), &Limits::default()).unwrap(), call);
    /// ```
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Envelope<'a> {
            v: u64,
            id: u64,
            method: &'static str,
            params: &'a Value,
        }
        let params = self.method.params();
        to_json_or_internal(
            &Envelope {
                v: PROTOCOL_VERSION,
                id: self.id,
                method: self.method.name(),
                params: &params,
            },
            Some(self.id),
        )
    }
}

/// The level of a `ui.notify` notification.
///
/// ```
/// use plugin_warden::core::protocol::Level;
/// assert_eq!(Level::Warning.as_str(), "warning");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Neutral information.
    Info,
    /// Something worked.
    Success,
    /// Something needs attention.
    Warning,
    /// Something failed.
    Error,
}

impl Level {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    fn parse(s: &str) -> Option<Level> {
        match s {
            "info" => Some(Level::Info),
            "success" => Some(Level::Success),
            "warning" => Some(Level::Warning),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

/// A method of DESIGN.md §5 with its validated `params`.
///
/// ```
/// use plugin_warden::core::manifest::Capability;
/// use plugin_warden::core::protocol::Method;
/// let m = Method::EventsEmit { name: "theme".into(), data: serde_json::json!({"dark": true}) };
/// assert_eq!(m.name(), "events.emit");
/// assert_eq!(m.required_capability(), Some(Capability::Events));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `storage.get {key}`.
    StorageGet {
        /// The key, in the plugin's own namespace.
        key: String,
    },
    /// `storage.set {key, value}`.
    StorageSet {
        /// The key, in the plugin's own namespace.
        key: String,
        /// Any JSON value (checked against the limits and forbidden keys).
        value: Value,
    },
    /// `storage.remove {key}`.
    StorageRemove {
        /// The key, in the plugin's own namespace.
        key: String,
    },
    /// `storage.keys {}`.
    StorageKeys,
    /// `storage.clear {}`.
    StorageClear,
    /// `api.fetch {url, method?, headers?, body?}`.
    ApiFetch {
        /// The URL, not yet checked against the network allowlist.
        url: String,
        /// An HTTP token; the six methods `fetch()` normalizes are upper-cased. Absent means GET.
        method: Option<String>,
        /// Header names are HTTP tokens; values contain no CR, LF or NUL.
        headers: Option<SortedMap<String, String>>,
        /// The request body: text, or binary data (a side-table placeholder).
        body: Option<FetchBody>,
        /// `responseType: "arraybuffer"`: answer the body as an `ArrayBuffer` (absent or
        /// `"text"`: as text).
        binary_response: bool,
    },
    /// `api.canFetch {url, method?}`: would `api.fetch` be allowed? Answers a boolean.
    ApiCanFetch {
        /// The URL, as `api.fetch` would get it.
        url: String,
        /// As `api.fetch`'s `method` (normalized; absent means GET).
        method: Option<String>,
    },
    /// `permissions.list {}`.
    PermissionsList,
    /// `permissions.has {permission}`.
    PermissionsHas {
        /// A capability or an RBAC action (1..=256 bytes).
        permission: String,
    },
    /// `permissions.request {permission, reason}`.
    PermissionsRequest {
        /// The optional capability asked for (1..=256 bytes).
        permission: String,
        /// Shown to the user: not blank, at most 1024 characters.
        reason: String,
    },
    /// `events.subscribe {name}`.
    EventsSubscribe {
        /// `[a-zA-Z0-9._:-]{1,128}`.
        name: String,
    },
    /// `events.unsubscribe {name}`.
    EventsUnsubscribe {
        /// `[a-zA-Z0-9._:-]{1,128}`.
        name: String,
    },
    /// `events.emit {name, data}`.
    EventsEmit {
        /// `[a-zA-Z0-9._:-]{1,128}`.
        name: String,
        /// Any JSON value (checked against the limits and forbidden keys).
        data: Value,
    },
    /// `ui.notify {message, level?}`.
    UiNotify {
        /// At most 4096 characters.
        message: String,
        /// Absent means the UI's default.
        level: Option<Level>,
    },
    /// `ui.render {html}`: replace the remote UI's content (remote-UI mounts only).
    UiRender {
        /// Plugin HTML, sanitized by the host on the way into its shadow root.
        html: String,
    },
    /// `plugins.call {plugin, name, args}`: call another plugin's exposed function.
    PluginsCall {
        /// The plugin called (`[a-z0-9-]{3,64}`, checked against the manifests by the engine).
        plugin: String,
        /// The function (`[A-Za-z0-9._:-]{1,64}`).
        name: String,
        /// Any JSON value.
        args: Value,
    },
    /// `plugins.respond {call, value}` or `{call, error}`: a callee's answer to a
    /// `plugins.call` event.
    PluginsRespond {
        /// The host's id of the relayed call (from the event).
        call: u64,
        /// The value, or the error message (at most 1024 characters).
        result: Result<Value, String>,
    },
}

impl Method {
    /// The wire name, e.g. `"storage.get"` (one of [`METHOD_NAMES`]).
    ///
    /// ```
    /// use plugin_warden::core::protocol::Method;
    /// assert_eq!(Method::PermissionsList.name(), "permissions.list");
    /// ```
    pub const fn name(&self) -> &'static str {
        match self {
            Method::StorageGet { .. } => "storage.get",
            Method::StorageSet { .. } => "storage.set",
            Method::StorageRemove { .. } => "storage.remove",
            Method::StorageKeys => "storage.keys",
            Method::StorageClear => "storage.clear",
            Method::ApiFetch { .. } => "api.fetch",
            Method::ApiCanFetch { .. } => "api.canFetch",
            Method::PermissionsList => "permissions.list",
            Method::PermissionsHas { .. } => "permissions.has",
            Method::PermissionsRequest { .. } => "permissions.request",
            Method::EventsSubscribe { .. } => "events.subscribe",
            Method::EventsUnsubscribe { .. } => "events.unsubscribe",
            Method::EventsEmit { .. } => "events.emit",
            Method::UiNotify { .. } => "ui.notify",
            Method::UiRender { .. } => "ui.render",
            Method::PluginsCall { .. } => "plugins.call",
            Method::PluginsRespond { .. } => "plugins.respond",
        }
    }

    /// The capability a plugin must hold to make this call, or `None` when the call needs none.
    ///
    /// `storage.*` → `storage`; `api.fetch` → `api:read` for GET and HEAD (and when `method` is
    /// absent), `api:write` for any other method; `permissions.request` → `permissions` (implied
    /// for every plugin, DESIGN.md §4); `permissions.list`, `permissions.has` and
    /// `api.canFetch` → `None` (a plugin may always ask what it holds); `events.*` → `events`; `ui.notify` → `ui:notify`;
    /// `ui.render` → `ui:render`.
    ///
    /// # Security
    /// The method name was normalized by [`parse_call`], so `"get"` is already `"GET"`; any
    /// other spelling (e.g. `"Get"` is also normalized, `"GETX"` is not GET) counts as a write.
    ///
    /// ```
    /// use plugin_warden::core::manifest::Capability;
    /// use plugin_warden::core::protocol::Method;
    /// let fetch = |m: Option<&str>| Method::ApiFetch {
    ///     url: "https://a.example/".into(), method: m.map(Into::into), headers: None, body: None,
    ///     binary_response: false,
    /// };
    /// assert_eq!(fetch(None).required_capability(), Some(Capability::ApiRead));
    /// assert_eq!(fetch(Some("HEAD")).required_capability(), Some(Capability::ApiRead));
    /// assert_eq!(fetch(Some("POST")).required_capability(), Some(Capability::ApiWrite));
    /// assert_eq!(Method::PermissionsList.required_capability(), None);
    /// ```
    pub fn required_capability(&self) -> Option<Capability> {
        match self {
            Method::StorageGet { .. }
            | Method::StorageSet { .. }
            | Method::StorageRemove { .. }
            | Method::StorageKeys
            | Method::StorageClear => Some(Capability::Storage),
            Method::ApiFetch { method, .. } => match method.as_deref() {
                None | Some("GET") | Some("HEAD") => Some(Capability::ApiRead),
                Some(_) => Some(Capability::ApiWrite),
            },
            Method::PermissionsList
            | Method::PermissionsHas { .. }
            | Method::ApiCanFetch { .. } => None,
            Method::PermissionsRequest { .. } => Some(Capability::Permissions),
            Method::EventsSubscribe { .. }
            | Method::EventsUnsubscribe { .. }
            | Method::EventsEmit { .. } => Some(Capability::Events),
            Method::UiNotify { .. } => Some(Capability::UiNotify),
            Method::UiRender { .. } => Some(Capability::UiRender),
            // Gated by the manifests' `consumes` / `exposes` and the user's RBAC instead.
            Method::PluginsCall { .. } | Method::PluginsRespond { .. } => None,
        }
    }

    /// The method's `params` as a JSON object, optional fields omitted when absent (for
    /// encoding, audit and tests; not on the hot path).
    ///
    /// ```
    /// use plugin_warden::core::protocol::Method;
    /// let m = Method::UiNotify { message: "Saved".into(), level: None };
    /// assert_eq!(m.params(), serde_json::json!({"message": "Saved"}));
    /// ```
    pub fn params(&self) -> Value {
        let mut p = Map::new();
        let mut put = |k: &str, v: Value| {
            p.insert(k.to_owned(), v);
        };
        match self {
            Method::StorageGet { key } | Method::StorageRemove { key } => {
                put("key", Value::String(key.clone()))
            }
            Method::StorageSet { key, value } => {
                put("key", Value::String(key.clone()));
                put("value", value.clone());
            }
            Method::StorageKeys | Method::StorageClear | Method::PermissionsList => {}
            Method::ApiFetch {
                url,
                method,
                headers,
                body,
                binary_response,
            } => {
                put("url", Value::String(url.clone()));
                if let Some(m) = method {
                    put("method", Value::String(m.clone()));
                }
                if let Some(h) = headers {
                    let h = h
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    put("headers", Value::Object(h));
                }
                match body {
                    Some(FetchBody::Text(b)) => put("body", Value::String(b.clone())),
                    Some(FetchBody::Binary(r)) => {
                        put("body", BinaryRef::table_value(r.index, r.kind, r.bytes));
                    }
                    None => {}
                }
                if *binary_response {
                    put("responseType", Value::from("arraybuffer"));
                }
            }
            Method::ApiCanFetch { url, method } => {
                put("url", Value::String(url.clone()));
                if let Some(m) = method {
                    put("method", Value::String(m.clone()));
                }
            }
            Method::PermissionsHas { permission } => {
                put("permission", Value::String(permission.clone()))
            }
            Method::PermissionsRequest { permission, reason } => {
                put("permission", Value::String(permission.clone()));
                put("reason", Value::String(reason.clone()));
            }
            Method::EventsSubscribe { name } | Method::EventsUnsubscribe { name } => {
                put("name", Value::String(name.clone()))
            }
            Method::EventsEmit { name, data } => {
                put("name", Value::String(name.clone()));
                put("data", data.clone());
            }
            Method::UiNotify { message, level } => {
                put("message", Value::String(message.clone()));
                if let Some(l) = level {
                    put("level", Value::String(l.as_str().to_owned()));
                }
            }
            Method::UiRender { html } => put("html", Value::String(html.clone())),
            Method::PluginsCall { plugin, name, args } => {
                put("plugin", Value::String(plugin.clone()));
                put("name", Value::String(name.clone()));
                put("args", args.clone());
            }
            Method::PluginsRespond { call, result } => {
                put("call", Value::from(*call));
                match result {
                    Ok(v) => put("value", v.clone()),
                    Err(m) => put("error", Value::String(m.clone())),
                }
            }
        }
        Value::Object(p)
    }
}

/// Parse one call envelope `{v:1, id, method, params}` from the JSON text of a port message.
///
/// # Errors
/// [`ProtocolError`] (code `MESSAGE_REJECTED`) when the text is over a [`Limits`] bound, is not
/// JSON, contains a duplicate key or a `__proto__`/`constructor`/`prototype` key anywhere, or
/// does not match the envelope and the method's `params` exactly (missing, extra or mistyped
/// fields, unknown method, `v` other than 1, `id` not a safe non-negative integer, or a value
/// outside the rules of the module docs). [`ProtocolError::id`] gives the call's id when it
/// could be read before the failure.
///
/// # Security
/// Linear in the input: the size is checked first, the depth by a non-recursive pre-scan, and
/// everything else in a single bounded pass. Nothing here panics on any input.
///
/// ```
/// use plugin_warden::core::protocol::{parse_call, Limits, Method};
/// let l = Limits::default();
/// let call = parse_call(
///     r#"{"v":1,"id":4,"method":"api.fetch","params":{"url":"https://a.example/","method":"post"}}"#,
///     &l,
/// ).unwrap();
/// assert!(matches!(&call.method, Method::ApiFetch { method: Some(m), .. } if m == "POST"));
/// assert_eq!(call.method.required_capability(), Some(plugin_warden::core::manifest::Capability::ApiWrite));
///
/// let bad = r#"{"v":1,"id":5,"method":"storage.set","params":{"key":"k","value":{"__proto__":{}}}}"#;
/// let e = parse_call(bad, &l).unwrap_err();
/// assert_eq!(e.to_string(),
///     "params.value.__proto__: expected no key named __proto__, constructor or prototype, found one");
/// assert_eq!(e.id(), Some(5));
/// assert!(parse_call(&"[".repeat(1 << 20), &l).is_err());
/// ```
pub fn parse_call(json: &str, limits: &Limits) -> Result<Call, ProtocolError> {
    if let Some(call) = storage_get_as_stringified(json, limits) {
        return Ok(call);
    }
    parse_call_checked(json, limits)
}

/// The envelope of a `storage.get` call as `JSON.stringify` writes it, up to the call id.
const GET_HEAD: &str = "{\"v\":1,\"id\":";
/// … from the call id to the key's string.
const GET_MIDDLE: &str = ",\"method\":\"storage.get\",\"params\":{\"key\":";

/// The most frequent call, a `storage.get`, read without building a [`Value`]: only the exact
/// text the client's `JSON.stringify` writes (`{"v":1,"id":<digits>,"method":"storage.get",
/// "params":{"key":<one JSON string>}}`, no other key, no whitespace) within `limits`; `None`
/// for anything else, which [`parse_call_checked`] then parses. Whenever this answers a call,
/// that parse answers the same one: the layout has four distinct keys, none forbidden, two
/// levels, no binary data; the id is a safe integer written without leading zeros; the key is
/// decoded by serde_json (escapes, surrogates) and held to `max_string_bytes` like any string.
fn storage_get_as_stringified(json: &str, limits: &Limits) -> Option<Call> {
    if json.len() > limits.max_message_bytes
        || limits.max_depth < 2
        || limits.max_keys < 4
        || limits.max_string_bytes < "storage.get".len()
    {
        return None;
    }
    let rest = json.strip_prefix(GET_HEAD)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let number = rest.get(..digits)?;
    if number.is_empty() || number.len() > 16 || (number.len() > 1 && number.starts_with('0')) {
        return None;
    }
    let id = number
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= MAX_SAFE_INTEGER)?;
    let key = rest
        .get(digits..)?
        .strip_prefix(GET_MIDDLE)?
        .strip_suffix("}}")?;
    if !(key.starts_with('"') && key.ends_with('"')) {
        return None;
    }
    let serde_json::Value::String(key) = super::json::parse_value(key).ok()? else {
        return None;
    };
    (key.len() <= limits.max_string_bytes).then_some(Call {
        id,
        method: Method::StorageGet { key },
    })
}

/// [`parse_call`] for any call: the checked parse into a value, then the envelope and params.
fn parse_call_checked(json: &str, limits: &Limits) -> Result<Call, ProtocolError> {
    let (root, binary) = parse_checked(json, limits, true)?;
    let env = into_object(root, None)?;
    let id = env.get("id").and_then(safe_integer);
    let mut f = Fields::new(env, "", id);

    let v = f.required("v", "the number 1")?;
    if safe_integer(&v) != Some(PROTOCOL_VERSION) {
        return Err(f.invalid("v", "the number 1", describe(&v)));
    }
    let raw_id = f.required("id", "a non-negative safe integer")?;
    let Some(id) = safe_integer(&raw_id) else {
        return Err(f.invalid("id", "a non-negative safe integer", describe(&raw_id)));
    };
    let method = f.required_str("method", "a method name")?;
    let params = f.required("params", "an object")?;
    let Value::Object(params) = params else {
        return Err(f.invalid("params", "an object", describe(&params)));
    };
    f.finish("v, id, method, params")?;

    let method = parse_method(&method, params, id)?;
    // Binary forms (super::binary): a stored value carries its bytes inline, everything else
    // in the side table. The host's own browser layer writes both; a mismatch is refused.
    let bad = |path: &str, detail: &str| ProtocolError::BadBinary {
        id: Some(id),
        path: path.to_owned(),
        detail: detail.to_owned(),
    };
    match &method {
        Method::StorageSet { .. } if binary.table > 0 => {
            return Err(bad(
                "params.value",
                cold_text!("binary data in a stored value must be inline (base64)"),
            ));
        }
        Method::StorageSet { .. } => {}
        _ if binary.inline > 0 => {
            return Err(bad(
                "params",
                "inline binary data is only for stored values",
            ));
        }
        _ => {}
    }
    Ok(Call { id, method })
}

fn parse_method(name: &str, params: Map<String, Value>, id: u64) -> Result<Method, ProtocolError> {
    let mut p = Fields::new(params, "params", Some(id));
    let method = match name {
        "storage.get" => Method::StorageGet {
            key: p.required_str("key", "a string")?,
        },
        "storage.set" => Method::StorageSet {
            key: p.required_str("key", "a string")?,
            value: p.required("value", "a JSON value")?,
        },
        "storage.remove" => Method::StorageRemove {
            key: p.required_str("key", "a string")?,
        },
        "storage.keys" => Method::StorageKeys,
        "storage.clear" => Method::StorageClear,
        "api.fetch" | "api.canFetch" => {
            let url = p.required_str("url", "a string")?;
            let method = match p.optional_str("method", "an HTTP method token")? {
                None => None,
                Some(m) => Some(http_method(m).map_err(|e| p.invalid("method", e.0, e.1))?),
            };
            if name == "api.canFetch" {
                p.finish(allowed_params(name))?;
                return Ok(Method::ApiCanFetch { url, method });
            }
            let headers = p.optional_headers()?;
            let body = p.fetch_body()?;
            let binary_response =
                match p.optional_str("responseType", "\"text\" or \"arraybuffer\"")? {
                    None => false,
                    Some(t) if t == "text" => false,
                    Some(t) if t == "arraybuffer" => true,
                    Some(t) => {
                        return Err(p.invalid(
                            "responseType",
                            "\"text\" or \"arraybuffer\"",
                            describe_str(&t),
                        ))
                    }
                };
            Method::ApiFetch {
                url,
                method,
                headers,
                body,
                binary_response,
            }
        }
        "permissions.list" => Method::PermissionsList,
        "permissions.has" => Method::PermissionsHas {
            permission: p.permission()?,
        },
        "permissions.request" => {
            let permission = p.permission()?;
            let reason = p.required_str("reason", "a non-blank string")?;
            if reason.trim().is_empty() {
                return Err(p.invalid(
                    "reason",
                    "a non-blank string of at most 1024 characters",
                    describe_str(&reason),
                ));
            }
            if reason.chars().count() > MAX_REASON_CHARS {
                return Err(p.invalid(
                    "reason",
                    "a non-blank string of at most 1024 characters",
                    format!("{} characters", reason.chars().count()),
                ));
            }
            Method::PermissionsRequest { permission, reason }
        }
        "events.subscribe" => Method::EventsSubscribe {
            name: p.event_name()?,
        },
        "events.unsubscribe" => Method::EventsUnsubscribe {
            name: p.event_name()?,
        },
        "events.emit" => Method::EventsEmit {
            name: p.event_name()?,
            data: p.required("data", "a JSON value")?,
        },
        "ui.notify" => {
            let message = p.required_str("message", "a string")?;
            if message.chars().count() > MAX_NOTIFY_CHARS {
                return Err(p.invalid(
                    "message",
                    "a string of at most 4096 characters",
                    format!("{} characters", message.chars().count()),
                ));
            }
            let level = match p.optional_str("level", "one of info, success, warning, error")? {
                None => None,
                Some(l) => Some(Level::parse(&l).ok_or_else(|| {
                    p.invalid(
                        "level",
                        "one of info, success, warning, error",
                        describe_str(&l),
                    )
                })?),
            };
            Method::UiNotify { message, level }
        }
        "ui.render" => Method::UiRender {
            html: p.required_str("html", "a string of HTML")?,
        },
        // Plugin-to-plugin calls, rarer than the rest: functions of their own (`section` in
        // core::manifest says why).
        "plugins.call" => plugins_call(&mut p)?,
        "plugins.respond" => plugins_respond(&mut p)?,
        other => {
            return Err(ProtocolError::Invalid {
                id: Some(id),
                path: "method".to_owned(),
                expected: cold_text!(
                    "a known method (storage.get|set|remove|keys|clear, api.fetch|canFetch, \
                     permissions.list|has|request, events.subscribe|unsubscribe|emit, \
                     ui.notify|render, plugins.call|respond)"
                ),
                found: describe_str(other),
            })
        }
    };
    p.finish(allowed_params(name))?;
    Ok(method)
}

#[inline(never)]
fn plugins_call(p: &mut Fields) -> Result<Method, ProtocolError> {
    const PLUGIN: &str = "a plugin id ([a-z0-9-]{3,64})";
    const NAME: &str = "a function name matching [A-Za-z0-9._:-]{1,64}";
    let plugin = p.required_str("plugin", PLUGIN)?;
    let plugin_ok = (3..=64).contains(&plugin.len())
        && plugin
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !plugin_ok {
        return Err(p.invalid("plugin", PLUGIN, describe_str(&plugin)));
    }
    let name = p.required_str("name", NAME)?;
    if name.len() > 64 || !is_event_name(&name) {
        return Err(p.invalid("name", NAME, describe_str(&name)));
    }
    Ok(Method::PluginsCall {
        plugin,
        name,
        args: p.required("args", "a JSON value")?,
    })
}

#[inline(never)]
fn plugins_respond(p: &mut Fields) -> Result<Method, ProtocolError> {
    const CALL: &str = "the call id of a plugins.call event";
    let raw = p.required("call", CALL)?;
    let Some(call) = safe_integer(&raw) else {
        return Err(p.invalid("call", CALL, describe(&raw)));
    };
    let error = p.optional_str("error", "a string of at most 1024 characters")?;
    let result = match error {
        Some(m) if m.chars().count() > MAX_REASON_CHARS => {
            return Err(p.invalid(
                "error",
                "a string of at most 1024 characters",
                format!("{} characters", m.chars().count()),
            ))
        }
        Some(m) => Err(m),
        None => Ok(p.required("value", "a JSON value (or an error string)")?),
    };
    Ok(Method::PluginsRespond { call, result })
}

fn allowed_params(name: &str) -> &'static str {
    match name {
        "storage.get" | "storage.remove" => "key",
        "storage.set" => "key, value",
        "api.fetch" => "url, method, headers, body, responseType",
        "api.canFetch" => "url, method",
        "permissions.has" => "permission",
        "permissions.request" => "permission, reason",
        "events.subscribe" | "events.unsubscribe" => "name",
        "events.emit" => "name, data",
        "ui.notify" => "message, level",
        "ui.render" => "html",
        "plugins.call" => "plugin, name, args",
        "plugins.respond" => "call, value | error",
        _ => "none",
    }
}

/// Encoders for the host's messages on a plugin's port. Never instantiated.
///
/// All encoders serialize with serde_json directly, without an intermediate `Value`.
pub enum Reply {}

/// Text that is exactly one JSON value (checked when made, without building it), to be carried
/// into a reply as it is.
///
/// ```
/// use plugin_warden::core::protocol::JsonText;
/// assert_eq!(JsonText::new(r#"{"a":[1,"x"]}"#.to_owned()).unwrap().as_str(), r#"{"a":[1,"x"]}"#);
/// assert!(JsonText::new("{\"a\":".to_owned()).is_err());
/// assert!(JsonText::new("1 2".to_owned()).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    /// Check that `text` is one JSON value (trailing whitespace allowed).
    ///
    /// # Errors
    /// serde_json's syntax error.
    pub fn new(text: String) -> Result<JsonText, serde_json::Error> {
        serde_json::from_str::<de::IgnoredAny>(&text)?;
        Ok(JsonText(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Reply {
    /// [`Reply::ok`] of a value held as JSON text (a stored value), without parsing it into a
    /// `Value` and serializing it again; the same text [`Reply::ok`] of the parsed value gives
    /// for compact text.
    ///
    /// ```
    /// use plugin_warden::core::protocol::{JsonText, Reply};
    /// use serde_json::json;
    /// let text = JsonText::new(r#"{"a":1}"#.to_owned()).unwrap();
    /// assert_eq!(Reply::ok_text(3, &text), Reply::ok(3, Some(&json!({"a": 1}))));
    /// ```
    pub fn ok_text(id: u64, value: &JsonText) -> String {
        let body = value.as_str().trim_end();
        let mut out = String::with_capacity(body.len() + 48);
        let _ = write!(
            out,
            "{{\"v\":{PROTOCOL_VERSION},\"id\":{id},\"ok\":true,\"value\":"
        );
        out.push_str(body);
        out.push('}');
        out
    }

    /// A success reply `{"v":1,"id":..,"ok":true,"value":..}`; `None` (JS `undefined`, e.g. a
    /// missing storage key) omits `value`.
    ///
    /// ```
    /// use plugin_warden::core::protocol::Reply;
    /// use serde_json::json;
    /// assert_eq!(Reply::ok(3, Some(&json!({"a":1}))), r#"{"v":1,"id":3,"ok":true,"value":{"a":1}}"#);
    /// assert_eq!(Reply::ok(3, None), r#"{"v":1,"id":3,"ok":true}"#);
    /// ```
    pub fn ok(id: u64, value: Option<&Value>) -> String {
        #[derive(Serialize)]
        struct Ok<'a> {
            v: u64,
            id: u64,
            ok: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            value: Option<&'a Value>,
        }
        to_json_or_internal(
            &Ok {
                v: PROTOCOL_VERSION,
                id,
                ok: true,
                value,
            },
            Some(id),
        )
    }

    /// An error reply `{"v":1,"id":..,"ok":false,"error":{"code":..,"message":..,"permission":..?}}`.
    ///
    /// ```
    /// use plugin_warden::core::error::{ErrorCode, WardenError};
    /// use plugin_warden::core::protocol::Reply;
    /// let e = WardenError::new(ErrorCode::NotFound, "no such key");
    /// assert_eq!(Reply::err(2, &e),
    ///     r#"{"v":1,"id":2,"ok":false,"error":{"code":"NOT_FOUND","message":"no such key"}}"#);
    /// ```
    pub fn err(id: u64, error: &WardenError) -> String {
        #[derive(Serialize)]
        struct Err<'a> {
            v: u64,
            id: u64,
            ok: bool,
            error: &'a WardenError,
        }
        to_json_or_internal(
            &Err {
                v: PROTOCOL_VERSION,
                id,
                ok: false,
                error,
            },
            Some(id),
        )
    }

    /// The error reply for a rejected call, when its id is known (otherwise there is no call
    /// to answer and the client's timeout applies).
    ///
    /// ```
    /// use plugin_warden::core::protocol::{parse_call, Limits, Reply};
    /// let e = parse_call(r#"{"v":1,"id":8,"method":"nope","params":{}}"#, &Limits::default())
    ///     .unwrap_err();
    /// assert!(Reply::rejected(&e).unwrap().starts_with(
    ///     r#"{"v":1,"id":8,"ok":false,"error":{"code":"MESSAGE_REJECTED","#));
    /// ```
    pub fn rejected(error: &ProtocolError) -> Option<String> {
        error
            .id()
            .map(|id| Reply::err(id, &WardenError::from_coded(error)))
    }
}

/// A host event `{"v":1,"event":name,"data":data}`.
///
/// ```
/// use plugin_warden::core::protocol::event_message;
/// assert_eq!(event_message("theme", &serde_json::json!("dark")),
///     r#"{"v":1,"event":"theme","data":"dark"}"#);
/// ```
pub fn event_message(name: &str, data: &Value) -> String {
    #[derive(Serialize)]
    struct Event<'a> {
        v: u64,
        event: &'a str,
        data: &'a Value,
    }
    to_json_or_internal(
        &Event {
            v: PROTOCOL_VERSION,
            event: name,
            data,
        },
        None,
    )
}

/// The handshake message a plugin sends on `window.postMessage`.
///
/// ```
/// use plugin_warden::core::protocol::parse_hello;
/// let h = parse_hello(r#"{"ns":"plugin-warden","v":1,"type":"hello","nonce":"abcdefABCDEF0123-_"}"#)
///     .unwrap();
/// assert_eq!(h.nonce, "abcdefABCDEF0123-_");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The one-time nonce the host issued for this mount (not yet compared with it).
    pub nonce: String,
}

/// Parse a handshake `{ns:"plugin-warden", v:1, type:"hello", nonce}`.
///
/// # Errors
/// [`ProtocolError`] when the text is over 1 KiB, nested, not JSON, has a wrong, missing or
/// extra field, or the nonce is not 16..=128 characters of `[A-Za-z0-9_-]` (base64url or hex),
/// optionally followed by up to two `=` of padding.
///
/// # Security
/// This only checks the shape. The caller must still check that the message came from the
/// exact `contentWindow` it created and that the nonce equals the one it issued, once.
///
/// ```
/// use plugin_warden::core::protocol::parse_hello;
/// assert!(parse_hello(r#"{"ns":"plugin-warden","v":1,"type":"hello","nonce":"short"}"#).is_err());
/// assert!(parse_hello(r#"{"ns":"other","v":1,"type":"hello","nonce":"0123456789abcdef"}"#).is_err());
/// ```
pub fn parse_hello(json: &str) -> Result<Hello, ProtocolError> {
    let (root, _) = parse_checked(json, &HELLO_LIMITS, false)?;
    let mut f = Fields::new(into_object(root, None)?, "", None);
    let ns = f.required_str("ns", "\"plugin-warden\"")?;
    if ns != NAMESPACE {
        return Err(f.invalid("ns", "\"plugin-warden\"", describe_str(&ns)));
    }
    let v = f.required("v", "the number 1")?;
    if safe_integer(&v) != Some(PROTOCOL_VERSION) {
        return Err(f.invalid("v", "the number 1", describe(&v)));
    }
    let ty = f.required_str("type", "\"hello\"")?;
    if ty != "hello" {
        return Err(f.invalid("type", "\"hello\"", describe_str(&ty)));
    }
    let nonce = f.required_str("nonce", "a nonce")?;
    if !is_nonce(&nonce) {
        return Err(f.invalid(
            "nonce",
            "16..=128 characters of [A-Za-z0-9_-], optionally padded with '='",
            describe_str(&nonce),
        ));
    }
    f.finish("ns, v, type, nonce")?;
    Ok(Hello { nonce })
}

/// What a `welcome` tells a plugin besides the envelope ([`welcome_message`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Welcome<'a> {
    /// The plugin's id.
    pub plugin_id: &'a str,
    /// Capabilities held now.
    pub grants: &'a [&'a str],
    /// The plugin's declared RBAC actions the current user holds.
    pub actions: &'a [String],
    /// The installed manifest's `version` (`null` without one).
    pub version: Option<&'a str>,
    /// The version an update replaced (`null` until the first update).
    pub previous_version: Option<&'a str>,
    /// For the package's runner page (worker and bundle mounts): what it runs.
    pub runner: Option<RunnerWelcome<'a>>,
}

/// The runner page's part of a `welcome`: `kind` (`"worker"` | `"frame"`), the verified
/// `code` and the `csp` the runner applies to itself first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RunnerWelcome<'a> {
    /// `"worker"` or `"frame"`.
    pub kind: &'a str,
    /// The verified code.
    pub code: &'a str,
    /// The runner's policy.
    pub csp: &'a str,
}

/// The host's answer to a valid hello, sent with the transferred `MessagePort`:
/// `{ns, v, type:"welcome", pluginId, grants, actions, version, previousVersion}`, and for the
/// runner page `kind`, `code` and `csp` (DESIGN.md §5).
///
/// ```
/// use plugin_warden::core::protocol::{welcome_message, Welcome};
/// let w = Welcome { plugin_id: "acme-app", grants: &["storage", "events"], actions: &[],
///     version: Some("1.2.0"), previous_version: None, runner: None };
/// assert_eq!(welcome_message(&w),
///     r#"{"ns":"plugin-warden","v":1,"type":"welcome","pluginId":"acme-app","grants":["storage","events"],"actions":[],"version":"1.2.0","previousVersion":null}"#);
/// ```
pub fn welcome_message(welcome: &Welcome<'_>) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Wire<'a> {
        ns: &'static str,
        v: u64,
        r#type: &'static str,
        plugin_id: &'a str,
        grants: &'a [&'a str],
        actions: &'a [String],
        version: Option<&'a str>,
        previous_version: Option<&'a str>,
        #[serde(flatten)]
        runner: Option<RunnerWelcome<'a>>,
    }
    to_json_or_internal(
        &Wire {
            ns: NAMESPACE,
            v: PROTOCOL_VERSION,
            r#type: "welcome",
            plugin_id: welcome.plugin_id,
            grants: welcome.grants,
            actions: welcome.actions,
            version: welcome.version,
            previous_version: welcome.previous_version,
            runner: welcome.runner,
        },
        None,
    )
}

/// An error as a plugin receives it in a reply. `code` is kept as a string: a newer host may
/// send codes this version does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyError {
    /// A `SCREAMING_SNAKE_CASE` code.
    pub code: String,
    /// What was expected and what was found.
    pub message: String,
    /// The missing capability or action, for `PERMISSION_DENIED`.
    pub permission: Option<String>,
}

/// A message from the host on a plugin's port, as parsed by [`parse_reply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostMessage {
    /// The answer to call `id`: a value (`None` = `undefined`) or an error.
    Reply {
        /// The call's id.
        id: u64,
        /// `ok: true` with its optional value, or `ok: false` with its error.
        result: Result<Option<Value>, ReplyError>,
    },
    /// A host event.
    Event {
        /// The event name (`[a-zA-Z0-9._:-]{1,128}`).
        name: String,
        /// The event's data.
        data: Value,
    },
}

/// Parse what the host sends on a port: a reply or an event (for the Rust-side tests and any
/// Rust client). The same limits and key rules as [`parse_call`] apply.
///
/// # Errors
/// [`ProtocolError`] when the text is over a limit, not JSON, or not exactly one of
/// `{v:1, id, ok:true, value?}`, `{v:1, id, ok:false, error:{code, message, permission?}}` or
/// `{v:1, event, data}`.
///
/// ```
/// use plugin_warden::core::protocol::{parse_reply, HostMessage, Limits, Reply};
/// let msg = parse_reply(&Reply::ok(1, None), &Limits::default()).unwrap();
/// assert_eq!(msg, HostMessage::Reply { id: 1, result: Ok(None) });
/// ```
pub fn parse_reply(json: &str, limits: &Limits) -> Result<HostMessage, ProtocolError> {
    let (root, _) = parse_checked(json, limits, false)?;
    let mut f = Fields::new(into_object(root, None)?, "", None);
    let v = f.required("v", "the number 1")?;
    if safe_integer(&v) != Some(PROTOCOL_VERSION) {
        return Err(f.invalid("v", "the number 1", describe(&v)));
    }
    if f.map.contains_key("event") {
        let name = f.required_str("event", "an event name")?;
        if !is_event_name(&name) {
            return Err(f.invalid("event", "an event name", describe_str(&name)));
        }
        let data = f.required("data", "a JSON value")?;
        f.finish("v, event, data")?;
        return Ok(HostMessage::Event { name, data });
    }
    let raw_id = f.required("id", "a non-negative safe integer")?;
    let Some(id) = safe_integer(&raw_id) else {
        return Err(f.invalid("id", "a non-negative safe integer", describe(&raw_id)));
    };
    let ok = f.required("ok", "a boolean")?;
    let result = match ok {
        Value::Bool(true) => {
            let value = f.map.remove("value");
            f.finish("v, id, ok, value")?;
            Ok(value)
        }
        Value::Bool(false) => {
            let error = f.required("error", "an object")?;
            let Value::Object(error) = error else {
                return Err(f.invalid("error", "an object", describe(&error)));
            };
            f.finish("v, id, ok, error")?;
            let mut e = Fields::new(error, "error", None);
            let code = e.required_str("code", "an error code")?;
            if !is_error_code(&code) {
                return Err(e.invalid("code", "a SCREAMING_SNAKE_CASE code", describe_str(&code)));
            }
            let message = e.required_str("message", "a string")?;
            let permission = e.optional_str("permission", "a string")?;
            e.finish("code, message, permission")?;
            Err(ReplyError {
                code,
                message,
                permission,
            })
        }
        other => return Err(f.invalid("ok", "a boolean", describe(&other))),
    };
    Ok(HostMessage::Reply { id, result })
}

// ---------------------------------------------------------------------------------------------
// Field access with precise errors.

struct Fields {
    map: Map<String, Value>,
    prefix: &'static str,
    id: Option<u64>,
}

impl Fields {
    fn new(map: Map<String, Value>, prefix: &'static str, id: Option<u64>) -> Self {
        Fields { map, prefix, id }
    }

    fn path(&self, field: &str) -> String {
        let mut s = String::from(self.prefix);
        push_key(&mut s, field);
        s
    }

    #[cold]
    #[inline(never)]
    fn invalid(&self, field: &str, expected: &'static str, found: String) -> ProtocolError {
        ProtocolError::Invalid {
            id: self.id,
            path: self.path(field),
            expected,
            found,
        }
    }

    fn required(&mut self, field: &str, expected: &'static str) -> Result<Value, ProtocolError> {
        self.map
            .remove(field)
            .ok_or_else(|| ProtocolError::Missing {
                id: self.id,
                path: self.path(field),
                expected,
            })
    }

    fn required_str(
        &mut self,
        field: &str,
        expected: &'static str,
    ) -> Result<String, ProtocolError> {
        match self.map.remove(field) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(self.invalid(field, expected, describe(&other))),
            None => Err(ProtocolError::Missing {
                id: self.id,
                path: self.path(field),
                expected,
            }),
        }
    }

    /// `api.fetch`'s `body`: a string or one side-table binary placeholder.
    fn fetch_body(&mut self) -> Result<Option<FetchBody>, ProtocolError> {
        const EXPECTED: &str = "a string, an ArrayBuffer or a typed array";
        match self.map.remove("body") {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(FetchBody::Text(s))),
            Some(Value::Object(m)) => match placeholder(&m).map(|r| r.and_then(|r| r.in_table())) {
                Ok(Some(r)) => Ok(Some(FetchBody::Binary(r))),
                _ => Err(self.invalid("body", EXPECTED, "an object".to_owned())),
            },
            Some(other) => Err(self.invalid("body", EXPECTED, describe(&other))),
        }
    }

    fn optional_str(
        &mut self,
        field: &str,
        expected: &'static str,
    ) -> Result<Option<String>, ProtocolError> {
        match self.map.remove(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.invalid(field, expected, describe(&other))),
        }
    }

    fn permission(&mut self) -> Result<String, ProtocolError> {
        const EXPECTED: &str = "a permission of 1..=256 bytes";
        let p = self.required_str("permission", EXPECTED)?;
        if p.is_empty() || p.len() > MAX_PERMISSION_BYTES {
            return Err(self.invalid("permission", EXPECTED, describe_str(&p)));
        }
        Ok(p)
    }

    fn event_name(&mut self) -> Result<String, ProtocolError> {
        const EXPECTED: &str = "an event name matching [a-zA-Z0-9._:-]{1,128}";
        let name = self.required_str("name", EXPECTED)?;
        if !is_event_name(&name) {
            return Err(self.invalid("name", EXPECTED, describe_str(&name)));
        }
        Ok(name)
    }

    fn optional_headers(&mut self) -> Result<Option<SortedMap<String, String>>, ProtocolError> {
        const EXPECTED: &str = "an object of header names to string values";
        let raw = match self.map.remove("headers") {
            None => return Ok(None),
            Some(Value::Object(m)) => m,
            Some(other) => return Err(self.invalid("headers", EXPECTED, describe(&other))),
        };
        self.headers(raw).map(Some)
    }

    /// The checked `headers` of an `api.fetch`: a function of its own, run only for a call that
    /// has them (`section` in core::manifest says why).
    #[inline(never)]
    fn headers(&self, raw: Map<String, Value>) -> Result<SortedMap<String, String>, ProtocolError> {
        let mut out = SortedMap::new();
        for (name, value) in raw {
            let path = || {
                let mut p = self.path("headers");
                push_key(&mut p, &name);
                p
            };
            if !is_token(&name) {
                return Err(ProtocolError::Invalid {
                    id: self.id,
                    path: path(),
                    expected: "a header name that is an HTTP token",
                    found: describe_str(&name),
                });
            }
            // Header values are never quoted back: they may carry credentials, and error
            // messages reach the audit log.
            let Value::String(value) = value else {
                return Err(ProtocolError::Invalid {
                    id: self.id,
                    path: path(),
                    expected: "a string header value",
                    found: kind_of(&value).to_owned(),
                });
            };
            if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
                return Err(ProtocolError::Invalid {
                    id: self.id,
                    path: path(),
                    expected: "a header value without CR, LF or NUL",
                    found: "a value containing one".to_owned(),
                });
            }
            out.insert(name, value);
        }
        Ok(out)
    }

    /// Fails on the first field left over (in key order, so the message is deterministic).
    fn finish(self, allowed: &'static str) -> Result<(), ProtocolError> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(extra) => Err(ProtocolError::UnknownField {
                id: self.id,
                path: self.path(extra),
                allowed,
            }),
        }
    }
}

fn into_object(root: Value, id: Option<u64>) -> Result<Map<String, Value>, ProtocolError> {
    match root {
        Value::Object(m) => Ok(m),
        other => Err(ProtocolError::Invalid {
            id,
            path: "message".to_owned(),
            expected: "a JSON object",
            found: describe(&other),
        }),
    }
}

/// The value of a JSON number that is an integer in `0..=MAX_SAFE_INTEGER`, as JS sees it
/// (`1.0` and `-0` are integers there).
fn safe_integer(v: &Value) -> Option<u64> {
    let Value::Number(n) = v else { return None };
    if let Some(u) = n.as_u64() {
        return (u <= MAX_SAFE_INTEGER).then_some(u);
    }
    if n.is_i64() {
        return None;
    }
    let f = n.as_f64()?;
    // 2^53 - 1 is exactly representable in f64.
    let max = MAX_SAFE_INTEGER as f64;
    if f.fract() == 0.0 && (0.0..=max).contains(&f) {
        // In range and integral, so the cast is exact (and -0.0 becomes 0).
        return Some(f as u64);
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Validation of small strings.

/// RFC 9110 `token`: one or more `tchar`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Normalizes the way `fetch()` does; refuses what `fetch()` throws on.
fn http_method(m: String) -> Result<String, (&'static str, String)> {
    const EXPECTED: &str = "an HTTP method token other than CONNECT, TRACE or TRACK";
    if !is_token(&m) {
        return Err((EXPECTED, describe_str(&m)));
    }
    for forbidden in ["CONNECT", "TRACE", "TRACK"] {
        if m.eq_ignore_ascii_case(forbidden) {
            return Err((EXPECTED, describe_str(&m)));
        }
    }
    for normalized in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if m.eq_ignore_ascii_case(normalized) {
            return Ok(normalized.to_owned());
        }
    }
    Ok(m)
}

fn is_event_name(s: &str) -> bool {
    (1..=MAX_EVENT_NAME).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn is_nonce(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len() - body.len() <= 2
        && (NONCE_MIN..=NONCE_MAX).contains(&body.len())
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_error_code(s: &str) -> bool {
    let mut bytes = s.bytes();
    s.len() <= MAX_ERROR_CODE_BYTES
        && bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

// ---------------------------------------------------------------------------------------------
// Describing what was found, briefly and safely.

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => describe_str(s),
        Value::Array(a) => format!("an array of {} elements", a.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A string quoted as JSON, cut after [`QUOTE_CHARS`] characters.
fn describe_str(s: &str) -> String {
    let mut out = String::from("string ");
    push_quoted(&mut out, s);
    out
}

fn push_quoted(out: &mut String, s: &str) {
    let cut: String = s.chars().take(QUOTE_CHARS).collect();
    let truncated = cut.len() < s.len();
    // Serializing a str cannot fail; fall back to a placeholder rather than panic.
    out.push_str(&serde_json::to_string(&cut).unwrap_or_else(|_| "\"?\"".to_owned()));
    if truncated {
        out.push('…');
    }
}

/// Appends `.key` when the key looks like an identifier, else `["key"]`.
fn push_key(path: &mut String, key: &str) {
    let ident = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && key.len() <= QUOTE_CHARS
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        if path.is_empty() {
            path.push_str("message");
        }
        path.push('[');
        push_quoted(path, key);
        path.push(']');
    }
}

fn to_json_or_internal<T: Serialize>(value: &T, id: Option<u64>) -> String {
    // Serializing these borrowed structs of strings, integers and `Value`s cannot fail (no
    // non-string map keys, no fallible Serialize impls). Should it ever, answer with INTERNAL
    // rather than panic inside the host.
    serde_json::to_string(value).unwrap_or_else(|_| match id {
        Some(id) => format!(
            r#"{{"v":1,"id":{id},"ok":false,"error":{{"code":"INTERNAL","message":"reply could not be encoded"}}}}"#
        ),
        None => r#"{"v":1,"event":"error","data":null}"#.to_owned(),
    })
}

// ---------------------------------------------------------------------------------------------
// Bounded parsing: size check, depth pre-scan, checking visitor.

/// Parses `json` into a `Value` under `limits`, refusing duplicate and forbidden keys and
/// malformed binary placeholders; answers what binary data it found. Side-table bytes count
/// with the text against [`Limits::max_message_bytes`].
fn parse_checked(
    json: &str,
    limits: &Limits,
    track_id: bool,
) -> Result<(Value, BinaryCount), ProtocolError> {
    if json.len() > limits.max_message_bytes {
        return Err(ProtocolError::TooLarge {
            size: json.len(),
            max: limits.max_message_bytes,
        });
    }
    if let Some(offset) = depth_exceeded(json.as_bytes(), limits.max_depth) {
        return Err(ProtocolError::TooDeep {
            id: None,
            location: format!("message (byte {offset})"),
            max: limits.max_depth,
        });
    }
    let mut ctx = Ctx {
        limits: *limits,
        violation: None,
        track_id,
        id: None,
        binary: BinaryCount::default(),
        numbers: NumberTexts::new(json),
    };
    let mut de = serde_json::Deserializer::from_str(json);
    let result = Checked {
        ctx: &mut ctx,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match result {
        Ok(_) if json.len().saturating_add(ctx.binary.table_bytes) > limits.max_message_bytes => {
            Err(ProtocolError::OverLimit {
                id: ctx.id,
                path: "message".to_owned(),
                what: "bytes of JSON text and binary data",
                max: limits.max_message_bytes,
            })
        }
        Ok(v) => Ok((v, ctx.binary)),
        Err(e) => Err(match ctx.violation.take() {
            Some(v) => v.into_error(ctx.id, limits),
            None => ProtocolError::Syntax {
                id: ctx.id,
                detail: e.to_string(),
            },
        }),
    }
}

/// The byte offset of the first bracket that opens a container deeper than `max`, scanning
/// strings correctly for valid JSON. Invalid JSON may be mis-measured here; serde_json then
/// rejects it, and the visitor re-checks depth on what it actually builds.
fn depth_exceeded(bytes: &[u8], max: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

struct Ctx<'t> {
    limits: Limits,
    violation: Option<Violation>,
    track_id: bool,
    id: Option<u64>,
    binary: BinaryCount,
    numbers: NumberTexts<'t>,
}

enum Seg {
    Key(String),
    Index(usize),
}

enum ViolationKind {
    Forbidden,
    Duplicate,
    TooDeep,
    Limit(&'static str, usize),
    Binary(String),
}

struct Violation {
    kind: ViolationKind,
    /// Innermost segment first: each enclosing container appends its own on the way out, so
    /// the happy path never builds a path.
    rev_path: Vec<Seg>,
}

impl Violation {
    #[cold]
    #[inline(never)]
    fn into_error(self, id: Option<u64>, limits: &Limits) -> ProtocolError {
        let mut path = String::new();
        for seg in self.rev_path.iter().rev() {
            match seg {
                Seg::Key(k) => push_key(&mut path, k),
                Seg::Index(i) => {
                    if path.is_empty() {
                        path.push_str("message");
                    }
                    let _ = write!(path, "[{i}]");
                }
            }
        }
        if path.is_empty() {
            path.push_str("message");
        }
        match self.kind {
            ViolationKind::Forbidden => ProtocolError::ForbiddenKey { id, path },
            ViolationKind::Duplicate => ProtocolError::DuplicateKey { id, path },
            ViolationKind::TooDeep => ProtocolError::TooDeep {
                id,
                location: path,
                max: limits.max_depth,
            },
            ViolationKind::Limit(what, max) => ProtocolError::OverLimit {
                id,
                path,
                what,
                max,
            },
            ViolationKind::Binary(detail) => ProtocolError::BadBinary { id, path, detail },
        }
    }
}

/// Builds a `Value` while enforcing the limits; `depth` is the number of containers around it.
struct Checked<'c, 't> {
    ctx: &'c mut Ctx<'t>,
    depth: usize,
}

impl Checked<'_, '_> {
    fn fail<E: de::Error>(&mut self, kind: ViolationKind, rev_path: Vec<Seg>) -> E {
        self.ctx.violation = Some(Violation { kind, rev_path });
        E::custom("message violates the protocol limits")
    }

    fn string<E: de::Error>(&mut self, s: String) -> Result<Value, E> {
        let max = self.ctx.limits.max_string_bytes;
        if s.len() > max {
            return Err(self.fail(ViolationKind::Limit("string bytes", max), Vec::new()));
        }
        Ok(Value::String(s))
    }

    fn enter<E: de::Error>(&mut self) -> Result<usize, E> {
        let depth = self.depth + 1;
        if depth > self.ctx.limits.max_depth {
            return Err(self.fail(ViolationKind::TooDeep, Vec::new()));
        }
        Ok(depth)
    }

    fn push_seg(&mut self, seg: Seg) {
        if let Some(v) = &mut self.ctx.violation {
            v.rev_path.push(seg);
        }
    }
}

impl<'de> DeserializeSeed<'de> for Checked<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    // Scalars as `core::json::parse_value` builds them (doubles mended from their text).
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Exact(&mut self.ctx.numbers).visit_i64(n)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Exact(&mut self.ctx.numbers).visit_u64(n)
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Exact(&mut self.ctx.numbers).visit_f64(n)
    }

    fn visit_str<E: de::Error>(mut self, s: &str) -> Result<Value, E> {
        if s.len() > self.ctx.limits.max_string_bytes {
            let max = self.ctx.limits.max_string_bytes;
            return Err(self.fail(ViolationKind::Limit("string bytes", max), Vec::new()));
        }
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(mut self, s: String) -> Result<Value, E> {
        self.string(s)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.enter()?;
        let max = self.ctx.limits.max_array_len;
        let mut out = Vec::new();
        loop {
            let index = out.len();
            let next = seq.next_element_seed(Checked {
                ctx: &mut *self.ctx,
                depth,
            });
            match next {
                Ok(Some(v)) => {
                    if index >= max {
                        return Err(self.fail(
                            ViolationKind::Limit("array elements", max),
                            vec![Seg::Index(index)],
                        ));
                    }
                    out.push(v);
                }
                Ok(None) => return Ok(Value::Array(out)),
                Err(e) => {
                    self.push_seg(Seg::Index(index));
                    return Err(e);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.enter()?;
        let limits = self.ctx.limits;
        let mut out = Map::new();
        let mut count = 0usize;
        while let Some(key) = map.next_key::<String>()? {
            count += 1;
            if FORBIDDEN_KEYS.contains(&key.as_str()) {
                return Err(self.fail(ViolationKind::Forbidden, vec![Seg::Key(key)]));
            }
            if key.len() > limits.max_string_bytes {
                return Err(self.fail(
                    ViolationKind::Limit("string bytes", limits.max_string_bytes),
                    vec![Seg::Key(key)],
                ));
            }
            if count > limits.max_keys {
                return Err(self.fail(ViolationKind::Limit("object keys", limits.max_keys), vec![]));
            }
            let top_level_id = self.depth == 0 && self.ctx.track_id && key == "id";
            if out.contains_key(&key) {
                if top_level_id {
                    // Two ids: no way to know which call to answer.
                    self.ctx.id = None;
                }
                return Err(self.fail(ViolationKind::Duplicate, vec![Seg::Key(key)]));
            }
            let value = match map.next_value_seed(Checked {
                ctx: &mut *self.ctx,
                depth,
            }) {
                Ok(v) => v,
                Err(e) => {
                    self.push_seg(Seg::Key(key));
                    return Err(e);
                }
            };
            if top_level_id {
                self.ctx.id = safe_integer(&value);
            }
            out.insert(key, value);
        }
        match placeholder(&out) {
            Ok(None) => {}
            Ok(Some(r)) => self.ctx.binary.add(&r),
            Err(BadBinary(detail)) => return Err(self.fail(ViolationKind::Binary(detail), vec![])),
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json::Decimal;

    /// A small deterministic generator (xorshift), so the differential cases are reproducible.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            let n = from.len() as u64;
            from.get((self.next() % n) as usize)
                .copied()
                .unwrap_or_default()
        }
    }

    /// Pieces of key text: plain, escapes (good and bad), quotes and braces, non-ASCII, control
    /// characters, surrogate escapes (paired and lone).
    const KEY_PARTS: [&str; 22] = [
        "k",
        "prefs",
        "a b",
        "\\\"",
        "\\\\",
        "\\n",
        "\\u0041",
        "\\ud83d\\ude00",
        "\\ud800",
        "\\udc00x",
        "\\x",
        "\"",
        "}}",
        "\",\"x\":\"",
        "é",
        "😀",
        "\u{1}",
        "\t",
        "__proto__",
        "\\u",
        "{",
        "\\/",
    ];

    fn text(g: &mut Gen) -> String {
        let key: String = (0..(g.next() % 5)).map(|_| g.pick(&KEY_PARTS)).collect();
        let id = g.pick(&[
            "0",
            "7",
            "01",
            "9007199254740991",
            "9007199254740992",
            "1.0",
            "-1",
            "",
            "12345678901234567",
        ]);
        let head = g.pick(&[
            GET_HEAD,
            GET_HEAD,
            GET_HEAD,
            "{\"v\":2,\"id\":",
            "{ \"v\":1,\"id\":",
            "{\"id\":",
        ]);
        let middle = g.pick(&[
            GET_MIDDLE,
            GET_MIDDLE,
            GET_MIDDLE,
            ",\"method\":\"storage.set\",\"params\":{\"key\":",
            ",\"method\":\"storage.get\",\"params\":{\"key\": ",
            ",\"method\":\"storage.get\",\"params\":{\"__proto__\":1,\"key\":",
            ",\"v\":1,\"method\":\"storage.get\",\"params\":{\"key\":",
        ]);
        let tail = g.pick(&[
            "}}",
            "}}",
            "}}",
            "} }",
            "}}}",
            "},\"x\":1}",
            ",\"key\":\"k\"}}",
            ",\"value\":1}}",
        ]);
        // Half keep the stringified layout and vary only the id and the key.
        if g.next() % 2 == 0 {
            return format!("{GET_HEAD}{id}{GET_MIDDLE}\"{key}\"}}}}");
        }
        format!("{head}{id}{middle}\"{key}\"{tail}")
    }

    #[test]
    fn the_storage_get_fast_path_answers_only_what_the_checked_parse_answers() {
        let limits = [
            Limits::default(),
            Limits {
                max_depth: 1,
                ..Limits::default()
            },
            Limits {
                max_keys: 3,
                ..Limits::default()
            },
            Limits {
                max_string_bytes: 12,
                ..Limits::default()
            },
            Limits {
                max_string_bytes: 10,
                ..Limits::default()
            },
            Limits {
                max_message_bytes: 70,
                ..Limits::default()
            },
        ];
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        let (mut fast, mut total) = (0, 0);
        for _ in 0..20_000 {
            let t = text(&mut g);
            for l in &limits {
                total += 1;
                let checked = parse_call_checked(&t, l);
                match storage_get_as_stringified(&t, l) {
                    Some(call) => {
                        fast += 1;
                        assert_eq!(checked.as_ref().ok(), Some(&call), "{t}");
                    }
                    None => {
                        // Declined: the checked parse decides, and parse_call is exactly it.
                        assert_eq!(
                            parse_call(&t, l).map_err(|e| e.to_string()),
                            checked.map_err(|e| e.to_string()),
                            "{t}"
                        );
                    }
                }
            }
        }
        // The generator reaches both paths often.
        assert!(fast > total / 50 && fast < total / 2, "{fast} of {total}");
    }

    #[test]
    fn the_fast_path_reads_what_json_stringify_writes() {
        let l = Limits::default();
        let call = |t: &str| storage_get_as_stringified(t, &l);
        let get = |id: u64, key: &str| {
            Some(Call {
                id,
                method: Method::StorageGet {
                    key: key.to_owned(),
                },
            })
        };
        assert_eq!(
            call(r#"{"v":1,"id":3,"method":"storage.get","params":{"key":"prefs"}}"#),
            get(3, "prefs")
        );
        assert_eq!(
            call(r#"{"v":1,"id":0,"method":"storage.get","params":{"key":""}}"#),
            get(0, "")
        );
        assert_eq!(
            call(
                r#"{"v":1,"id":9007199254740991,"method":"storage.get","params":{"key":"a\"}}\\\u00e9\ud83d\ude00"}}"#
            ),
            get(MAX_SAFE_INTEGER, "a\"}}\\é😀")
        );
        // Declined (the checked parse decides): a lone surrogate, an unsafe id, whitespace.
        assert_eq!(
            call(r#"{"v":1,"id":1,"method":"storage.get","params":{"key":"\ud800"}}"#),
            None
        );
        assert_eq!(
            call(r#"{"v":1,"id":9007199254740992,"method":"storage.get","params":{"key":"k"}}"#),
            None
        );
        assert_eq!(
            call(r#"{"v":1,"id":1,"method":"storage.get","params":{"key": "k"}}"#),
            None
        );
        assert!(parse_call(
            r#"{"v":1,"id":1,"method":"storage.get","params":{"key":"\ud800"}}"#,
            &l
        )
        .is_err());
        assert!(parse_call(
            r#"{"v":1,"id":1,"method":"storage.get","params":{"key":"k","__proto__":1}}"#,
            &l
        )
        .is_err());
    }

    /// A value a plugin sends is written out again (stored, passed on): every double must come
    /// back the same. serde_json's default float parse rounded 0.1 + 0.002 to 0.102, and about 3
    /// random doubles in 10 one unit off ([`NumberTexts`] mends them).
    #[test]
    fn every_double_a_plugin_sends_is_written_out_unchanged() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        let mut doubles = vec![
            0.1 + 0.2,
            0.1 + 0.002,
            1.0 / 3.0,
            5e-324,
            1e-323,
            2.225_073_858_507_201e-308,
            2.225_073_858_507_201_4e-308,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e21,
            1e-7,
            9_007_199_254_740_993.0,
            123_456_789_012_345_680_000.0,
            -0.0,
        ];
        while doubles.len() < 200_000 {
            let bits = g.next();
            let d = f64::from_bits(bits);
            if d.is_finite() {
                doubles.push(d);
                doubles.push((g.next() % 100_000) as f64 / 100.0 + 0.07);
                // Small and subnormal doubles, and integers past u64.
                doubles.push(f64::from_bits(bits >> 12));
                doubles.push((g.next() >> (g.next() % 64)) as f64 * 1e5);
            }
        }
        let limits = Limits {
            max_message_bytes: 1 << 24,
            max_array_len: 1 << 20,
            ..Limits::default()
        };
        // As serde_json writes them (`1e21`, `1.5e-7`) and as JSON.stringify does (`1e+21`,
        // `1.5e-7`, `123456789012345680000`).
        for js in [false, true] {
            let texts: Vec<String> = doubles
                .iter()
                .map(|d| {
                    let t = serde_json::to_string(d).expect("finite");
                    if js {
                        js_number_text(&t)
                    } else {
                        t
                    }
                })
                .collect();
            // Numbers among strings that hold digits and quotes, ints and keys, so the texts of
            // the message's numbers are found in order.
            let value = format!(
                "[{}]",
                texts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!(r#"{{"n\"1-2":{i},"d":{t},"s":"{i}.5e3\"-1"}}"#))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let json = format!(
                r#"{{"v":1,"id":1,"method":"storage.set","params":{{"key":"k","value":{value}}}}}"#
            );
            let call = parse_call(&json, &limits);
            let Ok(Call {
                method: Method::StorageSet { value: parsed, .. },
                ..
            }) = call
            else {
                panic!("the call parses: {call:?}");
            };
            let Value::Array(items) = parsed else {
                panic!("an array")
            };
            let mut changed = Vec::new();
            for (i, (item, (d, t))) in items.iter().zip(doubles.iter().zip(&texts)).enumerate() {
                assert_eq!(item["n\"1-2"].as_u64(), Some(i as u64));
                let back = item["d"].as_f64().expect("a number");
                // -0 is the one double whose sign the text keeps but JSON.stringify drops.
                if back.to_bits() != d.to_bits() && !(*d == 0.0 && back == 0.0) {
                    changed.push(format!("{t} came back as {back:e}"));
                }
                // The texts are right: std's exact parse reads each as its double.
                assert_eq!(t.parse::<f64>().ok(), Some(*d), "{t}");
            }
            assert_eq!(items.len(), doubles.len());
            assert!(
                changed.is_empty(),
                "{} of {} changed: {:?}",
                changed.len(),
                doubles.len(),
                &changed[..changed.len().min(5)]
            );
        }
    }

    /// Objects keep their keys' order, as `JSON.parse` does (a repeated key keeps its first
    /// place and its last value there; the checked parse refuses it): a plugin reads back the
    /// object it stored, not one sorted by key.
    #[test]
    #[cfg(feature = "host")] // serde_json's `preserve_order` comes with it (Cargo.toml)
    fn objects_keep_their_key_order() {
        let value = r#"{"zeta":1,"alpha":{"y":[{"q":1,"a":2}],"b":null},"mid":"m","2":0,"10":1}"#;
        let json = format!(
            r#"{{"v":1,"id":1,"method":"storage.set","params":{{"key":"k","value":{value}}}}}"#
        );
        let Ok(Call {
            method: Method::StorageSet { value: parsed, .. },
            ..
        }) = parse_call(&json, &Limits::default())
        else {
            panic!("the call parses");
        };
        assert_eq!(serde_json::to_string(&parsed).ok().as_deref(), Some(value));
        let v = crate::core::json::parse_value(value).expect("JSON");
        assert_eq!(serde_json::to_string(&v).ok().as_deref(), Some(value));
        let repeated = crate::core::json::parse_value(r#"{"b":1,"a":2,"b":3}"#).expect("JSON");
        assert_eq!(repeated.to_string(), r#"{"b":3,"a":2}"#);
    }

    /// A double's text as `JSON.stringify` writes it, from serde_json's shortest digits:
    /// positional from 1e-7 up to 1e21, else one digit before the point and a signed exponent.
    fn js_number_text(serde: &str) -> String {
        let (negative, rest) = match serde.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, serde),
        };
        let d = Decimal::of(rest).expect("a number");
        let sign = if negative { "-" } else { "" };
        if d.len == 0 {
            return "0".to_owned();
        }
        let digits = String::from_utf8(d.digits[..d.len].to_vec()).expect("ASCII");
        let n = digits.len() as i64;
        // The power of ten of the first digit.
        let point = n + d.exponent;
        if (-5..=21).contains(&point) {
            if d.exponent >= 0 {
                format!("{sign}{digits}{}", "0".repeat(d.exponent as usize))
            } else if point > 0 {
                let (a, b) = digits.split_at(point as usize);
                format!("{sign}{a}.{b}")
            } else {
                format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
            }
        } else {
            let (a, b) = digits.split_at(1);
            let e = point - 1;
            let frac = if b.is_empty() {
                String::new()
            } else {
                format!(".{b}")
            };
            format!("{sign}{a}{frac}e{}{e}", if e > 0 { "+" } else { "" })
        }
    }

    #[test]
    fn decimals_compare_by_value() {
        let same = |a: &str, b: &str| {
            Decimal::of(a)
                .zip(Decimal::of(b))
                .is_some_and(|(a, b)| a.same_value(&b))
        };
        assert!(same("1.50e+3", "1500"));
        assert!(same("15e2", "1500.000"));
        assert!(same("0.00012", "1.2e-4"));
        assert!(same("-0", "0.0e99"));
        assert!(same("1E-7", "0.0000001"));
        assert!(!same("1.5", "15"));
        assert!(!same("105", "15e1"));
        for bad in [
            "1e",
            ".5",
            "1e99999999999999999999",
            "1..5",
            "1x",
            "-",
            "",
            "1e+",
        ] {
            assert!(Decimal::of(bad).is_none(), "{bad}");
        }
        assert!(Decimal::of(&"1".repeat(33)).is_none());
        assert!(Decimal::of(&format!("1{}", "0".repeat(40))).is_some());
        // serde_json's fast parse is exact for these, and only these.
        let exact = |t: &str| Decimal::of(t).is_some_and(|d| d.parsed_exactly());
        assert!(exact("123456789012345") && exact("0.000123456789012345") && exact("1e22"));
        assert!(exact("1.5e-21") && exact("100") && exact("0"));
        assert!(!exact("1234567890123456") && !exact("1e23") && !exact("1.5e-22"));
        assert!(!exact("1000000000000000") && !exact("0.10200000000000001"));
        assert_eq!(js_number_text("1e21"), "1e+21");
        assert_eq!(
            js_number_text("1.2345678901234568e20"),
            "123456789012345680000"
        );
        assert_eq!(js_number_text("1.5e-7"), "1.5e-7");
        assert_eq!(js_number_text("1e-7"), "1e-7");
        assert_eq!(js_number_text("1.5e-6"), "0.0000015");
        assert_eq!(js_number_text("-0.1"), "-0.1");
        assert_eq!(js_number_text("100.0"), "100");
    }
}
