//! The host options the engine takes ([`HostConfig`]).

use serde::Deserialize;

use super::*;

/// The `limits` host option (DESIGN.md §7); every field optional.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostLimits {
    /// Largest message from a plugin, in bytes (64 KiB).
    pub max_message_bytes: Option<usize>,
    /// Deepest nesting in a message (32).
    pub max_depth: Option<usize>,
    /// Sustained calls per second per plugin (50).
    pub calls_per_second: Option<f64>,
    /// Burst of calls per plugin (100).
    pub burst: Option<f64>,
    /// Calls awaiting an answer per plugin (64).
    pub max_in_flight: Option<u32>,
    /// Refusals within the flood window that suspend a plugin (200).
    pub suspend_after: Option<u32>,
    /// Storage bytes per plugin (1 MiB).
    pub storage_quota_bytes: Option<usize>,
    /// Largest storage value in bytes (64 KiB).
    pub max_value_bytes: Option<usize>,
    /// Largest `api.fetch` response body in bytes (5 MiB).
    pub max_response_bytes: Option<usize>,
    /// `api.fetch` timeout in milliseconds (10 s).
    pub fetch_timeout_ms: Option<u32>,
    /// How often iframe and worker plugins are pinged, in ms (5 s; at least 50).
    pub heartbeat_ms: Option<u32>,
    /// How long a plugin may leave pings unanswered before it is failed with `TIMEOUT`, in ms
    /// (15 s, or three heartbeats if that is longer; at least two heartbeats).
    pub unresponsive_after_ms: Option<u32>,
    /// The share of the page's time a plugin's remote-UI renders may take (0.25; above 0, at
    /// most 1), after a first burst of `render_burst_ms` (250 ms).
    pub render_share: Option<f64>,
    /// See `render_share`.
    pub render_burst_ms: Option<f64>,
    /// The longest one clean of a remote UI's render may take, in ms (100; 1 to 60 000): past
    /// it the render is refused with `TIMEOUT`.
    pub render_clean_ms: Option<u32>,
}

crate::core::json::from_json_struct!(HostLimits, "struct HostLimits", {
    max_message_bytes: "maxMessageBytes",
    max_depth: "maxDepth",
    calls_per_second: "callsPerSecond",
    burst: "burst",
    max_in_flight: "maxInFlight",
    suspend_after: "suspendAfter",
    storage_quota_bytes: "storageQuotaBytes",
    max_value_bytes: "maxValueBytes",
    max_response_bytes: "maxResponseBytes",
    fetch_timeout_ms: "fetchTimeoutMs",
    heartbeat_ms: "heartbeatMs",
    unresponsive_after_ms: "unresponsiveAfterMs",
    render_share: "renderShare",
    render_burst_ms: "renderBurstMs",
    render_clean_ms: "renderCleanMs",
});

/// What bundle analysis does with error findings.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum BundlePolicy {
    /// Error findings fail the install with `BUNDLE_REJECTED` (default).
    #[default]
    Reject,
    /// Findings are reported as warnings; the install goes on.
    Warn,
}

crate::core::json::from_json_unit_enum!(BundlePolicy, {
    BundlePolicy::Reject => "reject",
    BundlePolicy::Warn => "warn",
});

/// The host options that weaken a default, grouped so that each use reads as what it is
/// (`dangerous: { … }`, in the spirit of rustls' `dangerous()`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dangerous {
    /// Accept plain `http:` loopback URLs in manifests (`network`, `assets`, `entry.src`),
    /// routes and `loadScript` (development only).
    pub allow_loopback_http: Option<bool>,
    /// What bundle-analysis errors do (`warn` lets flagged code install).
    pub bundle_policy: Option<BundlePolicy>,
    /// Mount `src` pages in browsers without the iframe `csp` attribute (CSP Embedded
    /// Enforcement), where the SDK cannot impose its policy: read by the browser layer.
    pub src_without_embedded_csp: Option<bool>,
}

crate::core::json::from_json_struct!(Dangerous, "struct Dangerous", {
    allow_loopback_http: "allowLoopbackHttp",
    bundle_policy: "bundlePolicy",
    src_without_embedded_csp: "srcWithoutEmbeddedCsp",
});

/// The data part of the `PluginHost` options (functions are taken by the browser layer).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostConfig {
    /// The host's version, for manifests' `compatibility` ranges.
    pub host_version: Option<String>,
    /// The current user (`{ role, roles, permissions }`).
    pub user: Option<Value>,
    /// `"local"` (default), `"session"`, `"memory"` or `"indexeddb"` (asynchronous: storage
    /// calls become [`Effect::Storage`] plans).
    pub storage: Option<String>,
    /// Seal plugin values with AES-GCM under a per-plugin key (browser layer; any persistent
    /// `storage`): storage calls become [`Effect::Storage`] plans.
    pub encrypt: Option<bool>,
    /// The Trusted Types policy name (default `plugin-warden`): read by the browser layer.
    pub trusted_types_policy: Option<String>,
    /// Limits (DESIGN.md §7).
    pub limits: Option<HostLimits>,
    /// The sanitizer's allow-list, within safe bounds.
    pub sanitizer: Option<SanitizerConfig>,
    /// Every opt-in that weakens a default (DESIGN §6).
    pub dangerous: Option<Dangerous>,
    /// Refuse plugins whose code comes without a valid signature (at install and at mount).
    pub require_signatures: Option<bool>,
    /// The only public keys whose signatures are accepted (JWK objects or PEM / base64 SPKI
    /// strings); see [`crate::core::provenance`]. Without it, each install's `publicKey` is used.
    pub trusted_keys: Option<Vec<Value>>,
    /// Audit events kept in memory (1000).
    pub audit_capacity: Option<usize>,
    /// Origins `loadScript` may load from, besides installed plugins' `entry.src` origins.
    pub approved_script_origins: Option<Vec<String>>,
    /// Values for the manifests' route templates, by plugin id:
    /// `{ [pluginId]: { data?: {key: value}, secrets?: {key: value}, secretOrigins?: [origin] } }`
    /// (see [`crate::core::routes`]). Secrets are registered with the audit log, never answered to
    /// the plugin, and sent only to `secretOrigins` (required with `secrets`).
    pub routes: Option<SortedMap<String, RouteConfig>>,
    /// Which plugin ids may be installed at all: exact ids and `prefix*` patterns (see
    /// [`crate::core::allow_plugins`]); checked before anything else. Absent: every id.
    pub allow_plugins: Option<Vec<String>>,
}

crate::core::json::from_json_struct!(HostConfig, "struct HostConfig", {
    host_version: "hostVersion",
    user: "user",
    storage: "storage",
    encrypt: "encrypt",
    trusted_types_policy: "trustedTypesPolicy",
    limits: "limits",
    sanitizer: "sanitizer",
    dangerous: "dangerous",
    require_signatures: "requireSignatures",
    trusted_keys: "trustedKeys",
    audit_capacity: "auditCapacity",
    approved_script_origins: "approvedScriptOrigins",
    routes: "routes",
    allow_plugins: "allowPlugins",
});
