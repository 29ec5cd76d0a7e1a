//! The engine: the host's plugin registry, lifecycle and call handling, with no browser in it.
//!
//! The browser layer (`web`) feeds it what happened (a manifest to install, a handshake, a
//! message from a plugin, a failure) and carries out what it answers ([`Outcome`]). Every
//! decision — parse limits, rate limits, permissions, storage namespacing, network allowlist,
//! RBAC — is made here and tested natively.
//!
//! `api.fetch` with `url` = `route:<path>` calls a manifest route (Grafana-style proxied
//! routes, with host-held values and secrets filled in): see [`super::routes`] for the wire
//! form and the checks, and [`HostConfig::routes`] for the host option.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::allow_plugins::AllowPlugins;
use super::analysis::{analyze, AnalysisOptions, AnalysisReport};
use super::audit::{AuditDecision, AuditEvent, AuditKind, AuditLog};
use super::compat::parse_host_version;
use super::csp::{CspBuilder, CspHeader, Nonce, Reporting};
use super::error::{Coded, ErrorCode, WardenError};
use super::integrity::Integrity;
use super::liveness::{Beat, Liveness, LivenessConfig};
use super::manifest::{Capability, Manifest, ManifestOptions, PluginId};
use super::mount::UiMode;
use super::network::Allowlist;
use super::permission::{declared_actions, PermissionSet};
use super::policy::{decide, decide_for_mount, Decision};
use super::protocol::{
    event_message, parse_call, Level, Limits, Method, Reply, EVENT_PERMISSIONS_CHANGED, EVENT_PING,
    EVENT_PLUGINS_CALL,
};
use super::provenance::{
    key_from_value, Envelope, ManifestDigest, Provenance, SignatureCheck, TrustedKeys,
};
use super::ratelimit::{Clock, InFlight, RateDecision, RateLimitConfig, RateLimiter};
use super::rbac::{CompiledAccess, IncludeView, Rbac, UserContext};
use super::routes::{self, RouteConfig, RouteError};
use super::sanitize::{Sanitizer, SanitizerConfig};
use super::signature::{decode_signature, PublicKey};
use super::storage::deferred::{self, StoragePlan};
use super::storage::{NamespacedStore, StorageBackend, StorageLimits};
use super::update::{check_version, Change, ManifestDiff};

mod receive;

use receive::MountRecord;
pub use receive::{Completion, Effect, Incoming, MountMode, MountSpec, MountState, RunnerJob};

/// Where a plugin is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Status {
    /// Installed and checked; not mounted.
    Installed,
    /// A mount is waiting for the plugin's handshake.
    Mounting,
    /// Handshake done; the plugin talks over its port.
    Mounted,
    /// Failed, with the reason. A failed plugin gets no more calls until it is mounted again.
    Failed {
        /// Why.
        code: ErrorCode,
        /// What happened.
        message: String,
    },
}

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
}

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

/// The data part of the `PluginHost` options (functions are taken by the browser layer).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostConfig {
    /// The host's version, for manifests' `compatibility` ranges.
    pub host_version: Option<String>,
    /// The current user (`{ role, roles, permissions }`).
    pub user: Option<Value>,
    /// `"local"` (default), `"session"`, `"memory"` or `"indexeddb"` (asynchronous: storage
    /// calls become [`Outcome::Storage`] plans).
    pub storage: Option<String>,
    /// Seal plugin values with AES-GCM under a per-plugin key (browser layer; any persistent
    /// `storage`): storage calls become [`Outcome::Storage`] plans.
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
    /// strings); see [`super::provenance`]. Without it, each install's `publicKey` is used.
    pub trusted_keys: Option<Vec<Value>>,
    /// Audit events kept in memory (1000).
    pub audit_capacity: Option<usize>,
    /// Origins `loadScript` may load from, besides installed plugins' `entry.src` origins.
    pub approved_script_origins: Option<Vec<String>>,
    /// Values for the manifests' route templates, by plugin id:
    /// `{ [pluginId]: { data?: {key: value}, secrets?: {key: value}, secretOrigins?: [origin] } }`
    /// (see [`super::routes`]). Secrets are registered with the audit log, never answered to
    /// the plugin, and sent only to `secretOrigins` (required with `secrets`).
    pub routes: Option<BTreeMap<String, RouteConfig>>,
    /// Which plugin ids may be installed at all: exact ids and `prefix*` patterns (see
    /// [`super::allow_plugins`]); checked before anything else. Absent: every id.
    pub allow_plugins: Option<Vec<String>>,
}

/// What `install` was given besides the manifest.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallInput {
    /// The plugin's code (a worker script or the entry document), checked by SRI and analysis.
    pub code: Option<String>,
    /// Where the code comes from (informational; the browser layer fetches it).
    pub src: Option<String>,
    /// An SRI string for `code`; defaults to the manifest's `entry.integrity`.
    pub integrity: Option<String>,
    /// A base64 signature over the envelope of the manifest and `code` ([`super::provenance`]),
    /// checked between [`Engine::check_manifest`] and [`Engine::finish_install`].
    pub signature: Option<String>,
    /// The public key for `signature` (JWK object or SPKI base64/PEM); optional when the host
    /// has `trustedKeys`, and then one of them.
    pub public_key: Option<Value>,
}

/// The result of a successful install.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallInfo {
    /// The plugin's id.
    pub id: String,
    /// Its status (always `installed`).
    pub status: Status,
    /// Non-fatal findings: bundle-analysis warnings and anything the host chose to tolerate.
    pub warnings: Vec<String>,
}

/// An update that passed every check, awaiting consent ([`Engine::prepare_update`] →
/// [`Engine::finish_update`]).
#[derive(Clone, Debug)]
pub struct PendingUpdate {
    manifest: Manifest,
    digest: ManifestDigest,
    signed_by: Option<PublicKey>,
    code: Option<VerifiedCode>,
    diff: ManifestDiff,
    from: String,
    to: String,
    warnings: Vec<String>,
}

impl PendingUpdate {
    /// The plugin.
    pub fn id(&self) -> &str {
        self.manifest.id().as_str()
    }
    /// The installed version.
    pub fn from(&self) -> &str {
        &self.from
    }
    /// The new version.
    pub fn to(&self) -> &str {
        &self.to
    }
    /// What the update adds and removes.
    pub fn diff(&self) -> &ManifestDiff {
        &self.diff
    }
    /// Whether it widens what the plugin may do, so the user must consent.
    pub fn needs_consent(&self) -> bool {
        self.diff.widens()
    }
}

/// The result of a successful update.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInfo {
    /// The plugin.
    pub id: String,
    /// The version replaced.
    pub from: String,
    /// The version now installed.
    pub to: String,
    /// Entries the update added (each needed consent).
    pub added: Vec<Change>,
    /// Entries the update removed.
    pub removed: Vec<Change>,
    /// Whether consent was needed (and so given).
    pub consent_needed: bool,
    /// Non-fatal findings of the install checks.
    pub warnings: Vec<String>,
    /// Whether a mounted plugin was remounted with the new version (set by the browser layer).
    pub remounted: bool,
}

/// What the heartbeat timer must do ([`Engine::heartbeat`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heartbeat {
    /// Post `message` (a `ping` event) on the plugin's port.
    Ping {
        /// The plugin.
        plugin: String,
        /// The event's JSON text.
        message: String,
    },
    /// Fail the plugin with `TIMEOUT` and tear its mount down.
    Unresponsive {
        /// The plugin.
        plugin: String,
        /// Why, for its status and the audit log.
        message: String,
    },
}

/// What the browser layer must do after [`Engine::handle`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// Post this reply on the plugin's port.
    Reply(String),
    /// Nothing can be answered (no call id could be read); already audited.
    Drop,
    /// Perform this request, then call [`Engine::fetch_done`].
    Fetch(FetchPlan),
    /// Ask the user (through the host's `onPermissionRequest`), then call
    /// [`Engine::permission_answer`].
    AskPermission {
        /// The call to answer.
        call_id: u64,
        /// The capability asked for.
        permission: Capability,
        /// The plugin's reason, to show to the user.
        reason: String,
    },
    /// Show a notification, then post the reply.
    Notify {
        /// The text.
        message: String,
        /// Its level.
        level: Level,
        /// The reply to post.
        reply: String,
    },
    /// The plugin emitted an event for the host, then post the reply.
    Emitted {
        /// Event name.
        name: String,
        /// Event data.
        data: Value,
        /// The reply to post.
        reply: String,
    },
    /// Replace the plugin's remote UI with this HTML (already sanitized by the plugin's
    /// remote-UI policy; the browser inserts it through the Trusted Types policy, which
    /// sanitizes it again with the same policy), then post `Reply::ok(call_id, null)`, or
    /// `Reply::err(call_id, …)` if the browser could not.
    Render {
        /// The call to answer.
        call_id: u64,
        /// The sanitized HTML.
        html: String,
    },
    /// A plugin-to-plugin call: post `message` on plugin `to`'s port (a `plugins.call` event to
    /// the callee, or the answer to the caller), then `reply` (when not empty) on the sender's.
    Relay {
        /// The plugin to post `message` to.
        to: String,
        /// JSON text.
        message: String,
        /// The reply to the sender, or empty.
        reply: String,
    },
    /// The plugin kept flooding: post the reply, then tear its mount down (status is `failed`).
    Suspend {
        /// The reply to post.
        reply: String,
    },
    /// Perform this storage plan on the asynchronous backend (`storage: 'indexeddb'` or
    /// `encrypt: true`), then
    /// post [`Engine::storage_done`]'s reply (see [`super::storage::deferred`]).
    Storage {
        /// The call to answer.
        call_id: u64,
        /// What to do.
        plan: StoragePlan,
    },
}

/// A request the API client may send on a plugin's behalf (already checked).
///
/// # Security
/// For a route request (`route` is `Some`) the URL and headers hold the host's route secrets:
/// hand them to the API client and nowhere else. `Debug` prints only the origin and the
/// header names of a route request.
#[derive(Clone, PartialEq, Eq)]
pub struct FetchPlan {
    /// The call to answer.
    pub call_id: u64,
    /// The URL, parsed and allowed.
    pub url: String,
    /// The HTTP method (upper case).
    pub method: String,
    /// Request headers from the plugin.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<String>,
    /// Whether the method may be retried (idempotent).
    pub retryable: bool,
    /// Timeout in milliseconds.
    pub timeout_ms: u32,
    /// Largest response body accepted.
    pub max_response_bytes: usize,
    /// For a route request (`route:<path>`), the manifest route's path.
    pub route: Option<String>,
}

impl std::fmt::Debug for FetchPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("FetchPlan");
        d.field("call_id", &self.call_id);
        if self.route.is_some() {
            let origin = url::Url::parse(&self.url)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default();
            let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
            d.field("route", &self.route)
                .field("origin", &origin)
                .field("header_names", &names);
        } else {
            d.field("url", &self.url).field("headers", &self.headers);
        }
        d.field("method", &self.method)
            .field("body", &self.body)
            .field("retryable", &self.retryable)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// A response from the API client, before it reaches the plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers (filtered to safe ones here).
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// The final URL after redirects (checked against the allowlist again; for a route
    /// request, against the route URL's origin).
    pub url: String,
}

/// What the inspector shows about one plugin.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginInfo {
    /// The id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The status.
    pub status: Status,
    /// Capabilities held now.
    pub granted: Vec<&'static str>,
    /// Capabilities the manifest lists as optional.
    pub optional: Vec<&'static str>,
    /// Capabilities the manifest requires.
    pub required: Vec<&'static str>,
    /// Refusals by code since install.
    pub counts: BTreeMap<String, u64>,
    /// Calls allowed since install.
    pub allowed_calls: u64,
}

/// What a plugin may do now, as it was last told (the welcome, then `permissions.changed`
/// events): its capabilities and the RBAC actions it declares that the current user holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PermissionView {
    /// Capabilities held now, sorted.
    pub granted: Vec<&'static str>,
    /// The plugin's own declared actions (roles, includes, routes, action sets) the current
    /// user holds, sorted.
    pub actions: Vec<String>,
}

/// A mounted plugin's [`PermissionView`] changed (a grant, a revocation, a user switch): post
/// [`PermissionChange::message`] on its port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionChange {
    /// The plugin.
    pub plugin: String,
    /// What it may do now.
    pub view: PermissionView,
}

impl PermissionChange {
    /// The host event `{v:1, event:"permissions.changed", data:{granted, actions}}`.
    pub fn message(&self) -> String {
        event_message(
            EVENT_PERMISSIONS_CHANGED,
            &json!({ "granted": self.view.granted, "actions": self.view.actions }),
        )
    }
}

/// What the welcome tells a plugin about itself besides its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WelcomeInfo {
    /// What it may do now.
    pub view: PermissionView,
    /// The installed manifest's `version`.
    pub version: Option<String>,
    /// The version an update replaced (so the plugin can migrate its data); `None` until the
    /// plugin is first updated.
    pub previous_version: Option<String>,
}

const DEFAULT_FETCH_TIMEOUT_MS: u32 = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES: usize = 5 * 1024 * 1024;

struct Plugin {
    manifest: Manifest,
    /// The digest of the manifest as installed: what signatures over mount-time code cover.
    digest: ManifestDigest,
    /// The key the install's signature verified under: mount-time signatures must use it.
    signed_by: Option<PublicKey>,
    /// The code checked at install (signature, integrity, analysis), run by worker mounts.
    code: Option<VerifiedCode>,
    perms: PermissionSet,
    allowlist: Allowlist,
    status: Status,
    limiter: RateLimiter,
    in_flight: InFlight,
    subscriptions: BTreeSet<String>,
    denied_requests: BTreeSet<Capability>,
    allowed_calls: u64,
    /// When this plugin's last `RATE_LIMITED` refusal was written to the audit log, and how many
    /// refusals since then were only counted: a flood costs one audit event per second, not one
    /// per message.
    rate_audit: (f64, u64),
    /// Fetches awaiting [`Engine::fetch_done`], by call id: how `fetch_done` checks the answer.
    fetches: BTreeMap<u64, PendingFetch>,
    /// The remote-UI policy of the current mount, when it has a host-rendered UI
    /// ([`Engine::set_mount_ui`]); cleared when the mount ends.
    remote_ui: Option<Sanitizer>,
    /// What the current mount was last told it may do (`None` while not mounted).
    announced: Option<PermissionView>,
    /// The version the last update replaced.
    previous_version: Option<String>,
    /// The heartbeat of the current iframe or worker mount ([`Engine::watch_liveness`]).
    liveness: Option<Liveness>,
    /// The current (or last) mount and its handshake ([`Engine::begin_mount`]).
    mount: Option<MountRecord>,
}

/// How [`Engine::fetch_done`] checks the answer to a planned fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PendingFetch {
    /// Plain fetches with this call id (a plugin may reuse ids; each is checked by the allowlist).
    Plain(u32),
    /// A route request: the answer must come from `origin`.
    Route {
        /// The manifest route's path (for messages).
        path: String,
        /// The final URL's origin.
        origin: String,
    },
}

/// A manifest that passed [`Engine::check_manifest`], with the digest a signature covers.
#[derive(Clone, Debug)]
pub struct CheckedManifest {
    manifest: Manifest,
    digest: ManifestDigest,
}

impl CheckedManifest {
    /// The parsed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The SHA-256 of its canonical JSON ([`super::provenance`]).
    pub fn digest(&self) -> &ManifestDigest {
        &self.digest
    }
}

/// Code that passed every check the host applies before code runs — signature
/// (`requireSignatures`, `trustedKeys`), `entry.integrity`, bundle analysis — for one plugin.
/// Only the engine makes one ([`Engine::finish_install`], [`Engine::verify_code`]); a mount
/// runs nothing else ([`Engine::mount_code`]).
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedCode {
    plugin: String,
    code: String,
    signed: bool,
    warnings: Vec<String>,
}

impl VerifiedCode {
    /// The plugin it was verified for.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Whether a signature over it (and the manifest) verified.
    pub fn is_signed(&self) -> bool {
        self.signed
    }

    /// Bundle-analysis warnings.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl std::fmt::Debug for VerifiedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCode")
            .field("plugin", &self.plugin)
            .field("bytes", &self.code.len())
            .field("signed", &self.signed)
            .finish_non_exhaustive()
    }
}
/// The code an install or update checked, as the plugin will keep it, and the key that
/// signed it.
fn verified_input(
    id: &str,
    input: &InstallInput,
    provenance: &Provenance,
    warnings: &[String],
) -> (Option<VerifiedCode>, Option<PublicKey>) {
    let signed_by = match provenance {
        Provenance::Signed(s) => Some(s.key().clone()),
        Provenance::Unsigned => None,
    };
    let code = input.code.clone().map(|code| VerifiedCode {
        plugin: id.to_owned(),
        code,
        signed: matches!(provenance, Provenance::Signed(_)),
        warnings: warnings.to_vec(),
    });
    (code, signed_by)
}

/// A `plugins.call` relayed to its callee and not answered yet.
#[derive(Clone, Debug)]
struct Relay {
    caller: String,
    call_id: u64,
    callee: String,
}

/// Plugin-to-plugin calls awaiting their callee's answer, host-wide.
const MAX_RELAYS: usize = 1024;

/// The host's state: installed plugins, the current user, storage and the audit log.
pub struct Engine<B: StorageBackend> {
    plugins: BTreeMap<String, Plugin>,
    failed: BTreeMap<String, Status>,
    rbac: Rbac,
    store: NamespacedStore<B>,
    audit: AuditLog,
    limits: Limits,
    rate: RateLimitConfig,
    host_version: Option<semver::Version>,
    manifest_opts: ManifestOptions,
    sanitizer: Sanitizer,
    bundle_policy: BundlePolicy,
    fetch_timeout_ms: u32,
    max_response_bytes: usize,
    approved_script_origins: BTreeSet<String>,
    allow_loopback_http: bool,
    /// Host option `requireSignatures`: code without a verified signature never runs.
    require_signatures: bool,
    /// Host option `trustedKeys`.
    trusted_keys: Option<TrustedKeys>,
    /// Route template values by plugin id.
    routes: BTreeMap<String, RouteConfig>,
    /// Every route secret value, longest first: scrubbed from every fetch answer.
    route_secrets: Vec<String>,
    allow_plugins: Option<AllowPlugins>,
    /// Storage calls are planned for an asynchronous backend rather than served here.
    deferred_storage: bool,
    /// The heartbeat's timing.
    liveness: LivenessConfig,
    /// Plugin-to-plugin calls awaiting an answer, by the host's relay id.
    relays: BTreeMap<u64, Relay>,
    next_relay: u64,
    /// The monotonic clock for rate limits and durations ([`Engine::set_clock`]); without
    /// one, the `now_ms` the caller passes (wall-clock, for audit timestamps) is used.
    clock: Option<Box<dyn Clock>>,
    /// The latest monotonic time seen: durations are measured on it, so it never runs back.
    mono_ms: f64,
    /// The `seq` of the last audit event handed out in an [`Effect::Audit`].
    audit_delivered: u64,
    /// Handshakes refused ([`Engine::refuse_handshake`]).
    rejected_handshakes: u64,
}

fn coded<E: Coded>(e: E) -> WardenError {
    WardenError::from_coded(&e)
}

fn invalid(message: impl Into<String>) -> WardenError {
    WardenError::new(ErrorCode::InvalidArgument, message)
}

/// Where an `api.fetch` may go.
enum FetchTarget {
    /// A manifest route, resolved (its path, and URL and headers with templates filled).
    Route {
        path: String,
        resolved: routes::Resolved,
    },
    /// A URL the plugin's network allowlist admits.
    Plain(url::Url),
}

/// The policy `api.fetch` applies to a URL and method, shared with `api.canFetch` so the two
/// can never disagree: a `route:` URL must name a manifest route the current user may use
/// (RBAC) and whose templates resolve; any other URL must pass the plugin's network allowlist.
/// (The capability is checked before, by the policy module.)
fn fetch_target(
    plugin: &Plugin,
    rbac: &Rbac,
    route_config: Option<&RouteConfig>,
    route_secrets: &[String],
    allow_loopback_http: bool,
    url: &str,
    method: &str,
) -> Result<FetchTarget, WardenError> {
    let Some(request) = routes::parse_request(url) else {
        return plugin
            .allowlist
            .check(url)
            .map(FetchTarget::Plain)
            .map_err(coded);
    };
    let request = request.map_err(coded)?;
    let route = routes::find(&plugin.manifest, request.path, method).map_err(coded)?;
    let allowed = rbac
        .can_access_route(plugin.manifest.id(), request.path, method)
        .map_err(coded)?;
    if !allowed {
        let path = route.path().to_owned();
        return Err(coded(match route.req_action() {
            Some(a) => RouteError::ActionDenied {
                path,
                action: a.as_str().to_owned(),
            },
            None => RouteError::RoleDenied {
                path,
                role: route.req_role().map(|r| r.to_string()).unwrap_or_default(),
            },
        }));
    }
    let empty = RouteConfig::default();
    let resolved = routes::resolve(
        route,
        route_config.unwrap_or(&empty),
        request.query,
        allow_loopback_http,
    )
    .map_err(|e| scrubbed(coded(e), route_secrets))?;
    Ok(FetchTarget::Route {
        path: route.path().to_owned(),
        resolved,
    })
}

/// The manifest's `id`, read without validating anything else (for `allowPlugins`).
fn read_id(manifest_json: &str) -> Result<PluginId, WardenError> {
    let id = serde_json::from_str::<Value>(manifest_json)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
    let Some(id) = id else {
        return Err(WardenError::new(
            ErrorCode::InvalidManifest,
            "id: expected a JSON object with a string `id` (checked first: this host has allowPlugins)",
        ));
    };
    PluginId::parse(&id).map_err(coded)
}

fn not_found(id: &str) -> WardenError {
    WardenError::new(
        ErrorCode::NotFound,
        format!("no plugin {id:?} is installed"),
    )
}

impl<B: StorageBackend> Engine<B> {
    /// A host with `config`, keeping plugin data in `backend`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a malformed host version, user or limit.
    pub fn new(config: HostConfig, backend: B) -> Result<Self, WardenError> {
        let l = config.limits.clone().unwrap_or_default();
        let mut limits = Limits::default();
        if let Some(v) = l.max_message_bytes {
            limits.max_message_bytes = v;
        }
        if let Some(v) = l.max_depth {
            limits.max_depth = v;
        }
        let mut rate = RateLimitConfig::default();
        if let Some(v) = l.calls_per_second {
            rate.calls_per_second = v;
        }
        if let Some(v) = l.burst {
            rate.burst = v;
        }
        if let Some(v) = l.max_in_flight {
            rate.max_in_flight = v;
        }
        if let Some(v) = l.suspend_after {
            rate.suspend_after = v;
        }
        let mut storage_limits = StorageLimits::default();
        if config.storage.as_deref() == Some("indexeddb") {
            storage_limits.quota_bytes_per_plugin = super::storage::INDEXEDDB_QUOTA_BYTES;
        }
        if let Some(v) = l.storage_quota_bytes {
            storage_limits.quota_bytes_per_plugin = v;
        }
        if let Some(v) = l.max_value_bytes {
            storage_limits.max_value_bytes = v;
        }
        let host_version = config
            .host_version
            .as_deref()
            .map(parse_host_version)
            .transpose()
            .map_err(|e| invalid(format!("hostVersion: {e}")))?;
        let mut rbac = Rbac::new();
        if let Some(user) = config.user {
            rbac.set_user(
                UserContext::from_value(user).map_err(|e| invalid(format!("user: {e}")))?,
            );
        }
        let sanitizer = Sanitizer::new(&config.sanitizer.unwrap_or_default()).map_err(coded)?;
        let approved_script_origins = config
            .approved_script_origins
            .unwrap_or_default()
            .iter()
            .map(|o| {
                url::Url::parse(o)
                    .map(|u| u.origin().ascii_serialization())
                    .map_err(|e| {
                        invalid(format!("approvedScriptOrigins: {o:?} is not a URL ({e})"))
                    })
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        let trusted_keys = config
            .trusted_keys
            .as_deref()
            .map(TrustedKeys::parse)
            .transpose()
            .map_err(|e| invalid(e.to_string()))?;
        let liveness =
            LivenessConfig::new(l.heartbeat_ms, l.unresponsive_after_ms).map_err(coded)?;
        let dangerous = config.dangerous.unwrap_or_default();
        // IndexedDB is asynchronous, and so is sealing (WebCrypto): both are planned here and
        // performed by the browser.
        let deferred_storage =
            config.storage.as_deref() == Some("indexeddb") || config.encrypt == Some(true);
        let mut route_configs = config.routes.unwrap_or_default();
        routes::validate_configs(
            &mut route_configs,
            dangerous.allow_loopback_http.unwrap_or(false),
        )
        .map_err(coded)?;
        let mut audit = AuditLog::with_capacity(config.audit_capacity.unwrap_or(1000));
        let mut route_secrets = Vec::new();
        for c in route_configs.values() {
            for s in c.secret_values() {
                // invariant: validate_configs refused empty secrets, add_secret's only error.
                audit.add_secret(s).map_err(coded)?;
                route_secrets.push(s.to_owned());
            }
        }
        routes::order_secrets(&mut route_secrets);
        let allow_plugins = config
            .allow_plugins
            .as_deref()
            .map(AllowPlugins::parse)
            .transpose()
            .map_err(coded)?;
        Ok(Engine {
            plugins: BTreeMap::new(),
            failed: BTreeMap::new(),
            rbac,
            store: NamespacedStore::new(backend, storage_limits),
            audit,
            limits,
            rate,
            host_version,
            manifest_opts: ManifestOptions {
                allow_loopback_http: dangerous.allow_loopback_http.unwrap_or(false),
            },
            sanitizer,
            bundle_policy: dangerous.bundle_policy.unwrap_or_default(),
            approved_script_origins,
            allow_loopback_http: dangerous.allow_loopback_http.unwrap_or(false),
            require_signatures: config.require_signatures.unwrap_or(false),
            trusted_keys,
            fetch_timeout_ms: l.fetch_timeout_ms.unwrap_or(DEFAULT_FETCH_TIMEOUT_MS),
            max_response_bytes: l.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
            routes: route_configs,
            route_secrets,
            allow_plugins,
            deferred_storage,
            liveness,
            relays: BTreeMap::new(),
            next_relay: 0,
            clock: None,
            mono_ms: f64::NEG_INFINITY,
            audit_delivered: 0,
            rejected_handshakes: 0,
        })
    }

    /// Set (replace) the values plugin `id`'s route templates refer to; the plugin need not
    /// be installed yet. Applies to the next route request.
    ///
    /// # Security
    /// Secrets stay registered with the audit log (and scrubbed from fetch answers) after they
    /// are replaced: a value once secret is never logged.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for an id that is not a plugin id, a key that is not an identifier,
    /// an empty secret, an oversized value, or secrets without valid `secretOrigins`.
    pub fn set_route_config(
        &mut self,
        id: &str,
        mut config: RouteConfig,
    ) -> Result<(), WardenError> {
        routes::validate_entry(id, &mut config, self.allow_loopback_http).map_err(coded)?;
        for s in config.secret_values() {
            self.audit.add_secret(s).map_err(coded)?;
            self.route_secrets.push(s.to_owned());
        }
        routes::order_secrets(&mut self.route_secrets);
        self.routes.insert(id.to_owned(), config);
        Ok(())
    }

    /// Measure rate limits and durations on `clock` (the browser adapter passes
    /// `performance.now()`), not on the `now_ms` arguments, which stay wall-clock time for audit
    /// timestamps (`Date.now()`).
    ///
    /// # Security
    /// Whatever the source, the engine's monotonic time never runs backwards (a backwards or
    /// non-finite reading counts as the latest time seen), so neither a clock set back nor a
    /// wall clock's correction refills a plugin's token bucket or restarts a flood window.
    pub fn set_clock(&mut self, clock: Box<dyn Clock>) {
        self.clock = Some(clock);
    }

    /// The monotonic time: the clock's reading (or `now_ms` without a clock), clamped so it
    /// never decreases. 0 until a finite time was seen.
    fn monotonic_ms(&mut self, now_ms: f64) -> f64 {
        let t = self.clock.as_ref().map_or(now_ms, |c| c.now_ms());
        if t.is_finite() && t > self.mono_ms {
            self.mono_ms = t;
        }
        if self.mono_ms.is_finite() {
            self.mono_ms
        } else {
            0.0
        }
    }

    // ----- install ------------------------------------------------------------------------

    /// First install step: the `allowPlugins` check (on the id alone), then parse and
    /// validate the manifest (`INVALID_MANIFEST` lists every problem). Then
    /// [`Engine::install_signature`] says which signature the adapter must verify, and
    /// [`Engine::finish_install`] does the rest.
    ///
    /// # Errors
    /// `PERMISSION_DENIED` for an id outside `allowPlugins` (and `INVALID_MANIFEST` when there
    /// is a list and the id cannot be read); `INVALID_MANIFEST`; `ALREADY_EXISTS` when the id
    /// is installed and not failed.
    pub fn check_manifest(
        &mut self,
        manifest_json: &str,
        now_ms: f64,
    ) -> Result<CheckedManifest, WardenError> {
        if let Some(allow) = &self.allow_plugins {
            let refused = match read_id(manifest_json) {
                Err(e) => Some((None, e)),
                Ok(id) if !allow.allows(id.as_str()) => {
                    let shown: Vec<&str> =
                        allow.entries().iter().take(5).map(String::as_str).collect();
                    let more = if allow.entries().len() > 5 {
                        ", …"
                    } else {
                        ""
                    };
                    let e = WardenError::new(
                        ErrorCode::PermissionDenied,
                        format!(
                            "plugin {:?} is not in this host's allowPlugins [{}{more}]; nothing else was checked",
                            id.as_str(),
                            shown.join(", ")
                        ),
                    );
                    Some((Some(id), e))
                }
                Ok(_) => None,
            };
            if let Some((id, e)) = refused {
                self.record_failed_install(id.as_ref().map(PluginId::as_str), &e, now_ms);
                return Err(e);
            }
        }
        let manifest = match Manifest::parse(manifest_json, &self.manifest_opts) {
            Ok(m) => m,
            Err(e) => {
                let id = serde_json::from_str::<Value>(manifest_json)
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
                let err = coded(e);
                self.record_failed_install(id.as_deref(), &err, now_ms);
                return Err(err);
            }
        };
        let id = manifest.id().as_str();
        if self.plugins.contains_key(id) {
            return Err(WardenError::new(
                ErrorCode::AlreadyExists,
                format!("plugin {id:?} is already installed; uninstall it first"),
            ));
        }
        // invariant: the manifest parsed, so the text is JSON.
        let digest = ManifestDigest::of_json(manifest_json).map_err(coded)?;
        Ok(CheckedManifest { manifest, digest })
    }

    /// Second install step: the signature the adapter must verify before
    /// [`Engine::finish_install`], or `None` when the install carries none.
    ///
    /// # Errors
    /// `SIGNATURE_INVALID` for a signature without `code`, a `publicKey` without a signature,
    /// a signature with no key to check it (no `publicKey`, no `trustedKeys`), a key that is
    /// not one of the host's `trustedKeys`, a malformed signature; `INVALID_ARGUMENT` for a
    /// `publicKey` that does not parse.
    pub fn install_signature(
        &self,
        checked: &CheckedManifest,
        input: &InstallInput,
    ) -> Result<Option<SignatureCheck>, WardenError> {
        match (&input.signature, &input.code) {
            (None, _) if input.public_key.is_some() => Err(WardenError::new(
                ErrorCode::SignatureInvalid,
                "`publicKey` was given without a `signature`",
            )),
            (None, _) => Ok(None),
            (Some(_), None) => Err(WardenError::new(
                ErrorCode::SignatureInvalid,
                "a signature needs the `code` it covers (with the manifest)",
            )),
            (Some(sig), Some(code)) => {
                let given = input
                    .public_key
                    .as_ref()
                    .map(key_from_value)
                    .transpose()
                    .map_err(|e| WardenError::new(e.code(), format!("publicKey: {e}")))?;
                self.signature_check(&checked.digest, code, sig, given)
                    .map(Some)
            }
        }
    }

    /// The check of `signature` over the envelope of `digest` and `code`, under the keys this
    /// host accepts.
    fn signature_check(
        &self,
        digest: &ManifestDigest,
        code: &str,
        signature: &str,
        given: Option<PublicKey>,
    ) -> Result<SignatureCheck, WardenError> {
        let keys = match (&self.trusted_keys, given) {
            (Some(trusted), given) => trusted.candidates(given).map_err(coded)?,
            (None, Some(k)) => vec![k],
            (None, None) => {
                return Err(WardenError::new(
                    ErrorCode::SignatureInvalid,
                    "a signature needs `publicKey` (or the host option `trustedKeys`)",
                ))
            }
        };
        let raw = decode_signature(signature.as_bytes()).map_err(coded)?;
        SignatureCheck::new(Envelope::new(*digest, code.as_bytes()), &raw, keys).map_err(coded)
    }

    /// Last install step: signature (`requireSignatures`), integrity, bundle analysis and
    /// compatibility, then registration. `provenance` is what the adapter made of
    /// [`Engine::install_signature`]'s check ([`Provenance::Unsigned`] when there was none).
    ///
    /// # Errors
    /// `SIGNATURE_INVALID` (a signature was required and none verified, or the signed envelope
    /// is not this manifest and code), `INTEGRITY_MISMATCH`, `BUNDLE_REJECTED`, `INCOMPATIBLE`;
    /// the plugin is then recorded as failed.
    pub fn finish_install(
        &mut self,
        checked: CheckedManifest,
        input: &InstallInput,
        provenance: Provenance,
        now_ms: f64,
    ) -> Result<InstallInfo, WardenError> {
        let CheckedManifest { manifest, digest } = checked;
        let id = manifest.id().as_str().to_owned();
        let checks = self
            .code_checks(
                &manifest,
                &digest,
                input.code.as_deref(),
                input.integrity.as_deref(),
                &provenance,
            )
            .and_then(|warnings| self.compatibility(&manifest).map(|()| warnings));
        match checks {
            Ok(warnings) => {
                let (code, signed_by) = verified_input(&id, input, &provenance, &warnings);
                self.rbac.register(&manifest).map_err(coded)?;
                let perms = PermissionSet::from_manifest(&manifest);
                let allowlist = Allowlist::new(manifest.network().to_vec());
                self.failed.remove(&id);
                self.plugins.insert(
                    id.clone(),
                    Plugin {
                        perms,
                        allowlist,
                        status: Status::Installed,
                        limiter: RateLimiter::new(&self.rate),
                        in_flight: InFlight::new(self.rate.max_in_flight),
                        subscriptions: BTreeSet::new(),
                        denied_requests: BTreeSet::new(),
                        allowed_calls: 0,
                        rate_audit: (f64::NEG_INFINITY, 0),
                        fetches: BTreeMap::new(),
                        remote_ui: None,
                        code,
                        digest,
                        signed_by,
                        announced: None,
                        previous_version: None,
                        liveness: None,
                        mount: None,
                        manifest,
                    },
                );
                self.audit.push(
                    AuditEvent::new(AuditKind::Install, now_ms)
                        .with_plugin(id.clone())
                        .with_decision(AuditDecision::Allow)
                        .with_detail(json!({ "warnings": warnings.len() })),
                );
                Ok(InstallInfo {
                    id,
                    status: Status::Installed,
                    warnings,
                })
            }
            Err(e) => {
                self.record_failed_install(Some(&id), &e, now_ms);
                Err(e)
            }
        }
    }

    /// The checks every piece of code passes before it may run, at install and at mount alike:
    /// the signature (`requireSignatures`; a signed envelope must cover exactly this manifest
    /// and code), SRI (`integrity`, else the manifest's `entry.integrity`), bundle analysis.
    fn code_checks(
        &self,
        manifest: &Manifest,
        digest: &ManifestDigest,
        code: Option<&str>,
        integrity: Option<&str>,
        provenance: &Provenance,
    ) -> Result<Vec<String>, WardenError> {
        let mut warnings = Vec::new();
        match provenance {
            Provenance::Signed(signed) => {
                let covered = code.is_some_and(|c| signed.envelope().covers(digest, c.as_bytes()));
                if !covered {
                    return Err(WardenError::new(
                        ErrorCode::SignatureInvalid,
                        "the signature verified over another manifest or code than these",
                    ));
                }
            }
            Provenance::Unsigned if self.require_signatures => {
                let keys = if self.trusted_keys.is_some() {
                    "(by one of the host's trustedKeys)"
                } else {
                    "and `publicKey`"
                };
                return Err(WardenError::new(
                    ErrorCode::SignatureInvalid,
                    format!("this host requires signed plugins: give `code`, `signature` {keys}"),
                ));
            }
            Provenance::Unsigned => {}
        }
        let sri = integrity.or_else(|| manifest.entry().and_then(|e| e.integrity()));
        if let (Some(sri), Some(code)) = (sri, code) {
            let parsed = Integrity::parse(sri).map_err(coded)?;
            parsed.verify(code.as_bytes()).map_err(coded)?;
        } else if integrity.is_some() {
            return Err(WardenError::new(
                ErrorCode::IntegrityMismatch,
                "`integrity` was given without the `code` it covers",
            ));
        }
        if let Some(code) = code {
            let report =
                analyze(code, &AnalysisOptions::from_network(manifest.network())).map_err(coded)?;
            warnings.extend(describe_findings(&report));
            if self.bundle_policy == BundlePolicy::Reject {
                report.check().map_err(coded)?;
            }
        }
        Ok(warnings)
    }

    fn compatibility(&self, manifest: &Manifest) -> Result<(), WardenError> {
        match (manifest.compatibility(), &self.host_version) {
            (Some(range), Some(host)) => range.check(host).map_err(|e| {
                WardenError::new(
                    e.code(),
                    format!("plugin {:?}: {e}", manifest.id().as_str()),
                )
            }),
            _ => Ok(()),
        }
    }

    /// Record that installing `manifest` failed outside the engine (e.g. its signature did
    /// not verify in the browser): status `failed` with the code, audited.
    pub fn fail_install(&mut self, manifest: &Manifest, e: &WardenError, now_ms: f64) {
        self.record_failed_install(Some(manifest.id().as_str()), e, now_ms);
    }

    fn record_failed_install(&mut self, id: Option<&str>, e: &WardenError, now_ms: f64) {
        let mut event = AuditEvent::new(AuditKind::Install, now_ms)
            .with_decision(AuditDecision::Deny)
            .with_code(e.code)
            .with_detail(json!({ "message": e.message }));
        if let Some(id) = id.filter(|id| !self.plugins.contains_key(*id)) {
            // Only ids that look like ids are remembered, so a hostile manifest cannot grow
            // the failure table with arbitrary keys.
            if id.len() <= 64 {
                if self.failed.len() >= 256 {
                    self.failed.pop_first();
                }
                self.failed.insert(
                    id.to_owned(),
                    Status::Failed {
                        code: e.code,
                        message: e.message.clone(),
                    },
                );
            }
            event = event.with_plugin(id);
        }
        self.audit.push(event);
    }

    /// Remove a plugin; with `remove_data`, its storage namespace too.
    ///
    /// # Errors
    /// `NOT_FOUND`; storage failures.
    pub fn uninstall(
        &mut self,
        id: &str,
        remove_data: bool,
        now_ms: f64,
    ) -> Result<(), WardenError> {
        let plugin = self.plugins.remove(id).ok_or_else(|| not_found(id))?;
        let _ = self.rbac.unregister(plugin.manifest.id());
        // `info().counts` are refusals since install: a reinstalled plugin starts from zero.
        self.audit.forget(id);
        if remove_data {
            self.store.remove_all(id).map_err(coded)?;
        }
        self.audit
            .push(AuditEvent::new(AuditKind::Uninstall, now_ms).with_plugin(id));
        Ok(())
    }

    // ----- update -------------------------------------------------------------------------

    /// First update step: parse the new manifest of installed plugin `id` and check that its
    /// version increases. Then [`Engine::install_signature`] says which signature the adapter
    /// must verify before [`Engine::prepare_update`]. A refusal is audited (kind `update`,
    /// deny).
    ///
    /// # Errors
    /// `NOT_FOUND` for an id that is not installed; `INVALID_MANIFEST`; `INCOMPATIBLE` for the
    /// same or a lower version; `INVALID_ARGUMENT` for a manifest of another plugin.
    pub fn check_update(
        &mut self,
        id: &str,
        manifest_json: &str,
        now_ms: f64,
    ) -> Result<CheckedManifest, WardenError> {
        let old = &self.plugins.get(id).ok_or_else(|| not_found(id))?.manifest;
        let result = Manifest::parse(manifest_json, &self.manifest_opts)
            .map_err(coded)
            .and_then(|m| check_version(old, &m).map(|()| m).map_err(coded))
            .and_then(|manifest| {
                // invariant: the manifest parsed, so the text is JSON.
                let digest = ManifestDigest::of_json(manifest_json).map_err(coded)?;
                Ok(CheckedManifest { manifest, digest })
            });
        if let Err(e) = &result {
            self.refuse_update(id, e, now_ms);
        }
        result
    }

    /// Second update step: the install checks (signature requirement, integrity, bundle
    /// analysis, compatibility) on the new version, and the difference from the installed one.
    /// Nothing changes yet: the installed version keeps running.
    ///
    /// # Errors
    /// As [`Engine::check_update`], and the install checks' codes; audited.
    pub fn prepare_update(
        &mut self,
        checked: CheckedManifest,
        input: &InstallInput,
        provenance: Provenance,
        now_ms: f64,
    ) -> Result<PendingUpdate, WardenError> {
        let CheckedManifest { manifest, digest } = checked;
        let id = manifest.id().as_str().to_owned();
        let result = self
            .plugins
            .get(&id)
            .ok_or_else(|| not_found(&id))
            .and_then(|old| {
                check_version(&old.manifest, &manifest).map_err(coded)?;
                let warnings = self.code_checks(
                    &manifest,
                    &digest,
                    input.code.as_deref(),
                    input.integrity.as_deref(),
                    &provenance,
                )?;
                self.compatibility(&manifest)?;
                let (code, signed_by) = verified_input(&id, input, &provenance, &warnings);
                Ok(PendingUpdate {
                    diff: ManifestDiff::between(&old.manifest, &manifest),
                    from: old.manifest.version().unwrap_or_default().to_owned(),
                    to: manifest.version().unwrap_or_default().to_owned(),
                    code,
                    signed_by,
                    digest,
                    warnings,
                    manifest,
                })
            });
        if let Err(e) = &result {
            self.refuse_update(&id, e, now_ms);
        }
        result
    }

    /// Last update step: apply `pending` when it narrows, or when it widens and `consented`.
    /// Storage is kept (it is keyed by the id), so are runtime grants and revocations of
    /// capabilities the new manifest still lists; the welcome of the next mount carries the
    /// previous version. Audited either way. The browser layer remounts a mounted plugin.
    ///
    /// # Errors
    /// `PERMISSION_DENIED` when the update widens and was not consented to (nothing changes:
    /// the installed version keeps running); `NOT_FOUND` / `INCOMPATIBLE` when the plugin was
    /// uninstalled or updated while consent was asked; RBAC registration errors.
    pub fn finish_update(
        &mut self,
        pending: PendingUpdate,
        consented: bool,
        now_ms: f64,
    ) -> Result<UpdateInfo, WardenError> {
        let id = pending.manifest.id().as_str().to_owned();
        let result = self.apply_update(&id, pending, consented);
        match &result {
            Ok(info) => {
                self.audit.push(
                    AuditEvent::new(AuditKind::Update, now_ms)
                        .with_plugin(id.clone())
                        .with_decision(AuditDecision::Allow)
                        .with_detail(json!({
                            "from": info.from,
                            "to": info.to,
                            "added": info.added.iter().map(|c| &c.value).collect::<Vec<_>>(),
                            "removed": info.removed.iter().map(|c| &c.value).collect::<Vec<_>>(),
                            "consented": info.consent_needed,
                        })),
                );
            }
            Err(e) => self.refuse_update(&id, e, now_ms),
        }
        result
    }

    fn apply_update(
        &mut self,
        id: &str,
        pending: PendingUpdate,
        consented: bool,
    ) -> Result<UpdateInfo, WardenError> {
        let plugin = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        if plugin.manifest.version().unwrap_or_default() != pending.from {
            return Err(WardenError::new(
                ErrorCode::Incompatible,
                format!(
                    "plugin {id:?} is no longer at version {} (another update came first)",
                    pending.from
                ),
            ));
        }
        let PendingUpdate {
            manifest,
            digest,
            signed_by,
            code,
            diff,
            from,
            to,
            warnings,
        } = pending;
        let consent_needed = diff.widens();
        if consent_needed && !consented {
            let words: Vec<&str> = diff.added.iter().map(|c| c.words.as_str()).collect();
            return Err(WardenError::new(
                ErrorCode::PermissionDenied,
                format!(
                    "the update of plugin {id:?} from {from} to {to} asks to {} and was not consented to; version {from} keeps running",
                    words.join("; ")
                ),
            ));
        }
        let _ = self.rbac.unregister(manifest.id());
        if let Err(e) = self.rbac.register(&manifest) {
            // invariant: the installed manifest registered before; put it back as it was.
            let _ = self.rbac.register(&plugin.manifest);
            return Err(coded(e));
        }
        plugin.perms = plugin.perms.carried_over(&manifest);
        let perms = &plugin.perms;
        plugin.denied_requests.retain(|c| perms.is_optional(*c));
        plugin.allowlist = Allowlist::new(manifest.network().to_vec());
        plugin.previous_version = Some(from.clone());
        plugin.code = code;
        plugin.digest = digest;
        plugin.signed_by = signed_by;
        plugin.manifest = manifest;
        Ok(UpdateInfo {
            id: id.to_owned(),
            from,
            to,
            added: diff.added,
            removed: diff.removed,
            consent_needed,
            warnings,
            remounted: false,
        })
    }

    /// Record that updating `id` failed outside the engine (e.g. its signature did not verify
    /// in the browser): audited; the installed version is untouched.
    pub fn fail_update(&mut self, id: &str, e: &WardenError, now_ms: f64) {
        self.refuse_update(id, e, now_ms);
    }

    fn refuse_update(&mut self, id: &str, e: &WardenError, now_ms: f64) {
        self.audit.push(
            AuditEvent::new(AuditKind::Update, now_ms)
                .with_plugin(id)
                .with_decision(AuditDecision::Deny)
                .with_code(e.code)
                .with_detail(json!({ "message": e.message })),
        );
    }

    // ----- lifecycle ----------------------------------------------------------------------

    /// The plugin's status (also for plugins whose install failed).
    ///
    /// # Errors
    /// `NOT_FOUND` for an id never seen.
    pub fn status(&self, id: &str) -> Result<&Status, WardenError> {
        match self.plugins.get(id) {
            Some(p) => Ok(&p.status),
            None => self.failed.get(id).ok_or_else(|| not_found(id)),
        }
    }

    /// The installed plugin's manifest.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub fn manifest(&self, id: &str) -> Result<&Manifest, WardenError> {
        self.plugins
            .get(id)
            .map(|p| &p.manifest)
            .ok_or_else(|| not_found(id))
    }

    /// The signature the adapter must verify for `code` given at mount time (a worker's `code`
    /// or fetched `src`, a bundle iframe's `code`), or `None` without a `signature`. The
    /// envelope covers the manifest as installed and this code.
    ///
    /// # Security
    /// The key is the one the plugin's install was signed with (pinned), else one of the
    /// host's `trustedKeys`; a mount never brings its own key.
    ///
    /// # Errors
    /// `NOT_FOUND`; as [`Engine::install_signature`].
    pub fn mount_signature(
        &self,
        id: &str,
        code: &str,
        signature: Option<&str>,
    ) -> Result<Option<SignatureCheck>, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        let Some(signature) = signature else {
            return Ok(None);
        };
        self.signature_check(&p.digest, code, signature, p.signed_by.clone())
            .map(Some)
    }

    /// Check code given at mount time exactly as install-time code is checked
    /// (`requireSignatures`, `entry.integrity`, bundle analysis); `provenance` is what the
    /// adapter made of [`Engine::mount_signature`] (its error, if that or the signature
    /// verification failed). A refusal is audited (`mount`, `deny`, with the code).
    ///
    /// # Security
    /// Every path that runs code not checked at install goes through here: worker `code` and
    /// `src`, bundle-iframe `code`. Code that would not install does not mount.
    ///
    /// # Errors
    /// `NOT_FOUND`; `SIGNATURE_INVALID`, `INTEGRITY_MISMATCH`, `BUNDLE_REJECTED`, or the error
    /// `provenance` carries.
    pub fn verify_code(
        &mut self,
        id: &str,
        code: String,
        provenance: Result<Provenance, WardenError>,
        now_ms: f64,
    ) -> Result<VerifiedCode, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        let checked = provenance.and_then(|provenance| {
            let warnings =
                self.code_checks(&p.manifest, &p.digest, Some(&code), None, &provenance)?;
            Ok(VerifiedCode {
                plugin: id.to_owned(),
                code,
                signed: matches!(provenance, Provenance::Signed(_)),
                warnings,
            })
        });
        if let Err(e) = &checked {
            self.audit.push(
                AuditEvent::new(AuditKind::Mount, now_ms)
                    .with_plugin(id)
                    .with_decision(AuditDecision::Deny)
                    .with_code(e.code)
                    .with_detail(json!({ "message": e.message, "codeGivenAtMount": true })),
            );
        }
        checked
    }

    /// The code a mount runs: `provided` (from [`Engine::verify_code`] for this plugin), else
    /// the code checked at install.
    ///
    /// # Errors
    /// `NOT_FOUND`; `MOUNT_FAILED` when there is no code, or `provided` was verified for
    /// another plugin.
    pub fn mount_code(
        &self,
        id: &str,
        provided: Option<VerifiedCode>,
    ) -> Result<VerifiedCode, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        match provided {
            Some(code) if code.plugin == id => Ok(code),
            Some(code) => Err(WardenError::new(
                ErrorCode::MountFailed,
                format!(
                    "code verified for plugin {:?} cannot run as plugin {id:?}",
                    code.plugin
                ),
            )),
            None => p.code.clone().ok_or_else(|| {
                WardenError::new(
                    ErrorCode::MountFailed,
                    format!("plugin {id:?} has no code: give `code` to install or to the mount"),
                )
            }),
        }
    }

    /// Set a plugin's status (mount progress, failure, unmount), audited.
    ///
    /// # Errors
    /// `NOT_FOUND` for an id that is not installed.
    pub fn set_status(&mut self, id: &str, status: Status, now_ms: f64) -> Result<(), WardenError> {
        if !self.plugins.contains_key(id) {
            return Err(not_found(id));
        }
        if matches!(
            status,
            Status::Installed | Status::Failed { .. } | Status::Mounting
        ) {
            // Calls to or from this mount will never be answered: forget them (the caller's
            // client times them out), and free the callers' in-flight slots.
            let gone: Vec<(u64, String)> = self
                .relays
                .iter()
                .filter(|(_, r)| r.callee == id || r.caller == id)
                .map(|(k, r)| (*k, r.caller.clone()))
                .collect();
            for (k, caller) in gone {
                self.relays.remove(&k);
                if caller != id {
                    if let Some(c) = self.plugins.get_mut(&caller) {
                        c.in_flight.end();
                    }
                }
            }
        }
        let plugin = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        let event = match &status {
            Status::Mounted => Some(AuditEvent::new(AuditKind::Mount, now_ms)),
            Status::Installed if plugin.status != Status::Installed => {
                Some(AuditEvent::new(AuditKind::Unmount, now_ms))
            }
            Status::Failed { code, message } => Some(
                AuditEvent::new(AuditKind::Failure, now_ms)
                    .with_code(*code)
                    .with_detail(json!({ "message": message })),
            ),
            _ => None,
        };
        if matches!(status, Status::Installed | Status::Failed { .. }) {
            // The mount ended: so did its UI.
            plugin.remote_ui = None;
        }
        if !matches!(status, Status::Mounted) {
            plugin.liveness = None;
        }
        plugin.announced = match status {
            // The welcome (built just before) told the plugin what it may do now.
            Status::Mounted => Some(view_of(plugin, &self.rbac)),
            _ => None,
        };
        if let Some(m) = plugin.mount.as_mut() {
            m.on_status(&status);
        }
        if matches!(status, Status::Mounting) {
            // A mount begun without `begin_mount` (tests) has no record.
            plugin.mount = None;
            // A fresh mount starts with fresh counters: a plugin suspended for flooding may
            // be mounted again by the host.
            plugin.limiter = RateLimiter::new(&self.rate);
            plugin.in_flight = InFlight::new(self.rate.max_in_flight);
            plugin.rate_audit = (f64::NEG_INFINITY, 0);
            plugin.subscriptions.clear();
            plugin.fetches.clear();
        }
        plugin.status = status;
        if let Some(e) = event {
            self.audit.push(e.with_plugin(id));
        }
        Ok(())
    }

    /// The heartbeat's timing (the browser layer's timer runs every
    /// [`LivenessConfig::tick_ms`]).
    pub fn liveness_config(&self) -> LivenessConfig {
        self.liveness
    }

    /// Start the heartbeat of `id`'s current mount (an iframe or worker that just connected);
    /// it stops when the mount ends.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub fn watch_liveness(&mut self, id: &str, now_ms: f64) -> Result<(), WardenError> {
        let plugin = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        plugin.liveness = Some(Liveness::new(self.liveness, now_ms));
        Ok(())
    }

    /// One heartbeat tick: the pings to post and the plugins to fail with `TIMEOUT` now.
    pub fn heartbeat(&mut self, now_ms: f64) -> Vec<Heartbeat> {
        let mut out = Vec::new();
        for (id, p) in self.plugins.iter_mut() {
            let Some(l) = p.liveness.as_mut() else {
                continue;
            };
            match l.tick(now_ms) {
                Beat::Idle => {}
                Beat::Ping(seq) => out.push(Heartbeat::Ping {
                    plugin: id.clone(),
                    message: event_message(EVENT_PING, &json!({ "seq": seq })),
                }),
                Beat::Unresponsive { silent_ms } => {
                    p.liveness = None;
                    out.push(Heartbeat::Unresponsive {
                        plugin: id.clone(),
                        message: format!(
                            "plugin {id:?} did not answer the host's pings for {} ms (limits.unresponsiveAfterMs = {}); it was stopped",
                            silent_ms.round(),
                            self.liveness.unresponsive_after_ms
                        ),
                    });
                }
            }
        }
        out
    }

    /// A `pong` with `seq` came from `id`'s port. `true` when it answered a ping (it is then
    /// consumed: no rate limit, no reply); `false` for anything else, which the caller handles
    /// as any other message.
    pub fn pong(&mut self, id: &str, seq: u64, now_ms: f64) -> bool {
        self.plugins
            .get_mut(id)
            .filter(|p| matches!(p.status, Status::Mounted))
            .and_then(|p| p.liveness.as_mut())
            .is_some_and(|l| l.pong(seq, now_ms))
    }

    /// Give the current mount of `id` a host-rendered UI (`Some`, from the mount plan) or none.
    /// With one, `ui.render` is served, sanitized by [`Sanitizer::for_remote_ui`] of the host's
    /// policy with the manifest's `assets` origins; the UI ends with the mount (status
    /// `installed` or `failed`), whatever the order of this call and [`Engine::set_status`].
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown plugin.
    pub fn set_mount_ui(&mut self, id: &str, ui: Option<UiMode>) -> Result<(), WardenError> {
        let plugin = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        plugin.remote_ui =
            ui.map(|UiMode::Shadow| self.sanitizer.for_remote_ui(plugin.manifest.assets()));
        Ok(())
    }

    /// Record a refused handshake or an ignored window message.
    pub fn audit_handshake_rejected(&mut self, plugin: Option<&str>, why: &str, now_ms: f64) {
        let mut e = AuditEvent::new(AuditKind::HandshakeRejected, now_ms)
            .with_decision(AuditDecision::Deny)
            .with_code(ErrorCode::MessageRejected)
            .with_detail(json!({ "reason": why }));
        if let Some(p) = plugin {
            e = e.with_plugin(p);
        }
        self.audit.push(e);
    }

    /// Capabilities granted now, as names.
    ///
    /// # Errors
    /// `NOT_FOUND` for an id that is not installed.
    pub fn grants(&self, id: &str) -> Result<Vec<&'static str>, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        Ok(p.perms
            .granted()
            .into_iter()
            .map(Capability::as_str)
            .collect())
    }

    /// Grant a capability the manifest lists (e.g. an optional one), effective at once.
    /// Answers the `permissions.changed` events to post (none when nothing changed).
    ///
    /// # Errors
    /// `NOT_FOUND`; `PERMISSION_DENIED` when the manifest does not list it; `INVALID_ARGUMENT`
    /// for an unknown capability.
    pub fn grant(
        &mut self,
        id: &str,
        permission: &str,
        now_ms: f64,
    ) -> Result<Vec<PermissionChange>, WardenError> {
        let cap = Capability::parse(permission).map_err(|e| invalid(e.to_string()))?;
        let p = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        p.perms.grant(cap).map_err(coded)?;
        p.denied_requests.remove(&cap);
        self.audit.push(
            AuditEvent::new(AuditKind::Grant, now_ms)
                .with_plugin(id)
                .with_detail(json!({ "permission": cap.as_str() })),
        );
        Ok(self.permission_changes())
    }

    /// Revoke a capability, effective for the plugin's very next message. Answers the
    /// `permissions.changed` events to post (none when nothing changed).
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_ARGUMENT` for an unknown capability.
    pub fn revoke(
        &mut self,
        id: &str,
        permission: &str,
        now_ms: f64,
    ) -> Result<Vec<PermissionChange>, WardenError> {
        let cap = Capability::parse(permission).map_err(|e| invalid(e.to_string()))?;
        let p = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        p.perms.revoke(cap);
        if p.perms.is_optional(cap) {
            // The host took it back: the plugin may not re-prompt the user until the host grants it.
            p.denied_requests.insert(cap);
        }
        if cap == Capability::Events {
            p.subscriptions.clear();
        }
        self.audit.push(
            AuditEvent::new(AuditKind::Revoke, now_ms)
                .with_plugin(id)
                .with_detail(json!({ "permission": cap.as_str() })),
        );
        Ok(self.permission_changes())
    }

    /// The `permissions.changed` events owed to mounted plugins: each one whose
    /// [`PermissionView`] differs from what it was last told, which becomes what it was told.
    /// [`Engine::grant`], [`Engine::revoke`] and [`Engine::set_user`] answer these themselves;
    /// call this after [`Engine::permission_answer`].
    pub fn permission_changes(&mut self) -> Vec<PermissionChange> {
        let rbac = &self.rbac;
        let mut out = Vec::new();
        for (id, p) in self.plugins.iter_mut() {
            let Some(announced) = &p.announced else {
                continue;
            };
            let view = view_of(p, rbac);
            if *announced != view {
                p.announced = Some(view.clone());
                out.push(PermissionChange {
                    plugin: id.clone(),
                    view,
                });
            }
        }
        out
    }

    /// What the welcome tells plugin `id`: its permission view, version and previous version.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub fn welcome_info(&self, id: &str) -> Result<WelcomeInfo, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        Ok(WelcomeInfo {
            view: view_of(p, &self.rbac),
            version: p.manifest.version().map(str::to_owned),
            previous_version: p.previous_version.clone(),
        })
    }

    // ----- calls --------------------------------------------------------------------------

    /// Handle one message from a plugin's port: `message` is its JSON text (`None` when it
    /// could not be serialized). Parse with limits, rate-limit, decide, then serve.
    pub fn handle(&mut self, id: &str, message: Option<&str>, now_ms: f64) -> Outcome {
        self.handle_with_id_hint(id, message, None, now_ms)
    }

    /// [`Engine::handle`], with the call id as the browser layer read it off the received
    /// object (without parsing the message): a message refused before its id could be parsed
    /// (too large, too deep) is still answered, so the plugin gets `MESSAGE_REJECTED` rather
    /// than a timeout (DESIGN.md §7: a plugin over a limit gets an error reply).
    pub fn handle_with_id_hint(
        &mut self,
        id: &str,
        message: Option<&str>,
        id_hint: Option<u64>,
        now_ms: f64,
    ) -> Outcome {
        let max_bytes = self.limits.max_message_bytes;
        if let Some(refused) = self.admit_with(
            id,
            || id_hint.or_else(|| message.and_then(|m| peek_id(m, max_bytes))),
            now_ms,
        ) {
            return refused;
        }
        self.handle_admitted(id, message, id_hint, now_ms)
    }

    /// The rate limiter alone, before the message is even serialized: `None` when the call may
    /// go on to [`Engine::handle_admitted`], else what to do with it (a `RATE_LIMITED` reply to
    /// `id_hint`, a suspension, or nothing for a plugin that is not mounted). The browser layer
    /// calls this first, so a flood's refused messages cost no `JSON.stringify` and no parse.
    pub fn admit(&mut self, id: &str, id_hint: Option<u64>, now_ms: f64) -> Option<Outcome> {
        self.admit_with(id, || id_hint, now_ms)
    }

    fn admit_with(
        &mut self,
        id: &str,
        call_id: impl FnOnce() -> Option<u64>,
        now_ms: f64,
    ) -> Option<Outcome> {
        let mono_ms = self.monotonic_ms(now_ms);
        let Some(plugin) = self.plugins.get_mut(id) else {
            return Some(Outcome::Drop);
        };
        if !matches!(plugin.status, Status::Mounted) {
            return Some(Outcome::Drop);
        }
        let decision = plugin.limiter.check(mono_ms);
        if decision == RateDecision::Allow {
            return None;
        }
        let err = plugin
            .limiter
            .error(decision)
            .map(coded)
            .unwrap_or_else(|| WardenError::new(ErrorCode::RateLimited, "too many calls"));
        let reply = call_id().map(|cid| Reply::err(cid, &err));
        // One audit event per second of flood (plus the suspension); the rest are counted.
        let (last_ms, unaudited) = plugin.rate_audit;
        if decision == RateDecision::Limited && mono_ms - last_ms < 1000.0 {
            plugin.rate_audit.1 = unaudited.saturating_add(1);
            self.audit.count(id, ErrorCode::RateLimited);
        } else {
            plugin.rate_audit = (mono_ms, 0);
            let detail = if unaudited == 0 {
                json!({ "message": err.message })
            } else {
                json!({ "message": err.message, "unauditedBefore": unaudited })
            };
            self.audit.push(
                AuditEvent::new(AuditKind::Refusal, now_ms)
                    .with_plugin(id)
                    .with_decision(AuditDecision::Deny)
                    .with_code(err.code)
                    .with_detail(detail),
            );
        }
        if decision == RateDecision::Suspend {
            let msg = format!("suspended for flooding: {}", err.message);
            let _ = self.set_status(
                id,
                Status::Failed {
                    code: ErrorCode::RateLimited,
                    message: msg,
                },
                now_ms,
            );
            return Some(Outcome::Suspend {
                reply: reply.unwrap_or_default(),
            });
        }
        Some(reply.map(Outcome::Reply).unwrap_or(Outcome::Drop))
    }

    /// [`Engine::handle_with_id_hint`] after [`Engine::admit`] let the call through: parse with
    /// limits, decide, serve. Calling it without `admit` skips the rate limiter.
    pub fn handle_admitted(
        &mut self,
        id: &str,
        message: Option<&str>,
        id_hint: Option<u64>,
        now_ms: f64,
    ) -> Outcome {
        let Some(plugin) = self.plugins.get_mut(id) else {
            return Outcome::Drop;
        };
        if !matches!(plugin.status, Status::Mounted) {
            return Outcome::Drop;
        }
        let Some(text) = message else {
            let err = WardenError::new(
                ErrorCode::MessageRejected,
                "the message is not JSON-serializable",
            );
            self.refuse(id, None, &err, now_ms);
            return id_hint
                .map(|cid| Outcome::Reply(Reply::err(cid, &err)))
                .unwrap_or(Outcome::Drop);
        };
        let call = match parse_call(text, &self.limits) {
            Ok(call) => call,
            Err(e) => {
                let err = coded(e.clone());
                self.refuse(id, None, &err, now_ms);
                return Reply::rejected(&e)
                    .or_else(|| id_hint.map(|cid| Reply::err(cid, &err)))
                    .map(Outcome::Reply)
                    .unwrap_or(Outcome::Drop);
            }
        };
        let method_name = call.method.name();
        let ui = plugin.remote_ui.as_ref().map(|_| UiMode::Shadow);
        if let Decision::Deny(e) = decide_for_mount(&plugin.perms, &call.method, ui) {
            let err = coded(e);
            self.refuse(id, Some(method_name), &err, now_ms);
            return Outcome::Reply(Reply::err(call.id, &err));
        }
        let outcome = self.serve(id, call.id, call.method);
        let (decision, code) = match &outcome {
            Ok(_) => (AuditDecision::Allow, None),
            Err(e) => (AuditDecision::Deny, Some(e.code)),
        };
        let mut event = AuditEvent::new(AuditKind::Call, now_ms)
            .with_plugin(id)
            .with_method(method_name)
            .with_decision(decision);
        if let Ok(Outcome::Fetch(FetchPlan {
            route: Some(path), ..
        })) = &outcome
        {
            event = event.with_detail(json!({ "route": path }));
        }
        if let Err(e) = &outcome {
            // Why it was refused, e.g. the URL an allowlist refused (the log redacts URL
            // credentials, sensitive query parameters and declared secrets on the way in).
            event = event.with_detail(json!({ "message": e.message }));
        }
        if let Some(c) = code {
            event = event.with_code(c);
        } else if let Some(p) = self.plugins.get_mut(id) {
            p.allowed_calls += 1;
        }
        self.audit.push(event);
        match outcome {
            Ok(o) => o,
            Err(e) => Outcome::Reply(Reply::err(call.id, &e)),
        }
    }

    fn refuse(&mut self, id: &str, method: Option<&str>, err: &WardenError, now_ms: f64) {
        let mut e = AuditEvent::new(AuditKind::Refusal, now_ms)
            .with_plugin(id)
            .with_decision(AuditDecision::Deny)
            .with_code(err.code)
            .with_detail(json!({ "message": err.message }));
        if let Some(m) = method {
            e = e.with_method(m);
        }
        self.audit.push(e);
    }

    fn serve(&mut self, id: &str, call_id: u64, method: Method) -> Result<Outcome, WardenError> {
        let method = match method {
            Method::PluginsCall { plugin, name, args } => {
                return self.plugins_call(id, call_id, &plugin, &name, args)
            }
            Method::PluginsRespond { call, result } => {
                return self.plugins_respond(id, call_id, call, result)
            }
            m => m,
        };
        let ok = |v: Option<&Value>| Ok(Outcome::Reply(Reply::ok(call_id, v)));
        let plugin = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        if self.deferred_storage {
            let limits = self.store.limits();
            let plan = match &method {
                Method::StorageGet { key } => Some(deferred::plan_get(&limits, id, key)),
                Method::StorageSet { key, value } => {
                    Some(deferred::plan_set(&limits, id, key, value).map(StoragePlan::Set))
                }
                Method::StorageRemove { key } => Some(deferred::plan_remove(&limits, id, key)),
                Method::StorageKeys => Some(deferred::plan_namespace(id, false)),
                Method::StorageClear => Some(deferred::plan_namespace(id, true)),
                _ => None,
            };
            if let Some(plan) = plan {
                let plan = plan.map_err(coded)?;
                return Ok(Outcome::Storage { call_id, plan });
            }
        }
        match method {
            Method::StorageGet { key } => {
                let v = self.store.get(id, &key).map_err(coded)?;
                ok(v.as_ref())
            }
            Method::StorageSet { key, value } => {
                self.store.set(id, &key, &value).map_err(coded)?;
                ok(Some(&Value::Null))
            }
            Method::StorageRemove { key } => {
                self.store.remove(id, &key).map_err(coded)?;
                ok(Some(&Value::Null))
            }
            Method::StorageKeys => {
                let keys = self.store.keys(id).map_err(coded)?;
                ok(Some(&json!(keys)))
            }
            Method::StorageClear => {
                self.store.clear(id).map_err(coded)?;
                ok(Some(&Value::Null))
            }
            Method::PermissionsList => {
                let granted: Vec<&str> = plugin
                    .perms
                    .granted()
                    .into_iter()
                    .map(Capability::as_str)
                    .collect();
                ok(Some(&json!(granted)))
            }
            Method::PermissionsHas { permission } => {
                // A plugin learns its own capabilities and the user's actions in its own
                // namespace (`<pluginId>.…`), nothing more: the user's core RBAC
                // (`folders:admin`) and other plugins' actions answer `false`, so a plugin
                // cannot fingerprint who is using it. `host.hasPermission` is unaffected.
                let has = match Capability::parse(&permission) {
                    Ok(cap) => plugin.perms.has(cap),
                    Err(_) => {
                        permission
                            .strip_prefix(id)
                            .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1)
                            && self.rbac.has_permission(&permission, None)
                    }
                };
                ok(Some(&Value::Bool(has)))
            }
            Method::PermissionsRequest { permission, reason } => {
                let cap = Capability::parse(&permission).map_err(|_| {
                    WardenError::new(
                        ErrorCode::PermissionDenied,
                        format!("{permission:?} is not a capability; ask for one of the manifest's optionalPermissions"),
                    )
                })?;
                if plugin.perms.has(cap) {
                    return ok(Some(&Value::Bool(true)));
                }
                if !plugin.perms.is_optional(cap) {
                    let mut e = WardenError::new(
                        ErrorCode::PermissionDenied,
                        format!("{permission:?} is not in plugin {id:?}'s optionalPermissions, so it cannot be requested"),
                    );
                    e.permission = Some(cap.as_str().to_owned());
                    return Err(e);
                }
                if plugin.denied_requests.contains(&cap) {
                    // Remembered: a plugin cannot spam the user with the same prompt.
                    return ok(Some(&Value::Bool(false)));
                }
                if !plugin.in_flight.try_begin() {
                    return Err(WardenError::new(
                        ErrorCode::RateLimited,
                        "too many calls in flight",
                    ));
                }
                Ok(Outcome::AskPermission {
                    call_id,
                    permission: cap,
                    reason,
                })
            }
            Method::ApiFetch {
                url,
                method,
                headers,
                body,
            } => {
                let method = method.unwrap_or_else(|| "GET".to_owned());
                if body.is_some() && (method == "GET" || method == "HEAD") {
                    return Err(WardenError::new(
                        ErrorCode::MessageRejected,
                        format!("api.fetch: a {method} request cannot have a body"),
                    ));
                }
                let target = fetch_target(
                    plugin,
                    &self.rbac,
                    self.routes.get(id),
                    &self.route_secrets,
                    self.manifest_opts.allow_loopback_http,
                    &url,
                    &method,
                )?;
                let (path, resolved) = match target {
                    FetchTarget::Route { path, resolved } => (path, resolved),
                    FetchTarget::Plain(url) => {
                        if matches!(
                            plugin.fetches.get(&call_id),
                            Some(PendingFetch::Route { .. })
                        ) {
                            return Err(duplicate_fetch(call_id));
                        }
                        if !plugin.in_flight.try_begin() {
                            return Err(WardenError::new(
                                ErrorCode::RateLimited,
                                "too many calls in flight",
                            ));
                        }
                        let pending = plugin
                            .fetches
                            .entry(call_id)
                            .or_insert(PendingFetch::Plain(0));
                        if let PendingFetch::Plain(n) = pending {
                            *n = n.saturating_add(1);
                        }
                        return Ok(Outcome::Fetch(FetchPlan {
                            call_id,
                            url: url.into(),
                            retryable: super::network::is_retryable(&method),
                            method,
                            headers: headers.unwrap_or_default().into_iter().collect(),
                            body,
                            timeout_ms: self.fetch_timeout_ms,
                            max_response_bytes: self.max_response_bytes,
                            route: None,
                        }));
                    }
                };
                if plugin.fetches.contains_key(&call_id) {
                    return Err(duplicate_fetch(call_id));
                }
                if !plugin.in_flight.try_begin() {
                    return Err(WardenError::new(
                        ErrorCode::RateLimited,
                        "too many calls in flight",
                    ));
                }
                plugin.fetches.insert(
                    call_id,
                    PendingFetch::Route {
                        path: path.clone(),
                        origin: resolved.url.origin().ascii_serialization(),
                    },
                );
                Ok(Outcome::Fetch(FetchPlan {
                    call_id,
                    url: resolved.url.into(),
                    retryable: super::network::is_retryable(&method),
                    method,
                    headers: routes::merge_headers(headers.unwrap_or_default(), resolved.headers),
                    body,
                    timeout_ms: self.fetch_timeout_ms,
                    max_response_bytes: self.max_response_bytes,
                    route: Some(path),
                }))
            }
            Method::ApiCanFetch { url, method } => {
                // The same two decisions `api.fetch` makes, and nothing sent: the capability
                // (a missing one answers false), then `fetch_target`.
                let probe = Method::ApiFetch {
                    url: url.clone(),
                    method: method.clone(),
                    headers: None,
                    body: None,
                };
                let method = method.unwrap_or_else(|| "GET".to_owned());
                let allowed = matches!(decide(&plugin.perms, &probe), Decision::Allow)
                    && fetch_target(
                        plugin,
                        &self.rbac,
                        self.routes.get(id),
                        &self.route_secrets,
                        self.manifest_opts.allow_loopback_http,
                        &url,
                        &method,
                    )
                    .is_ok();
                ok(Some(&Value::Bool(allowed)))
            }
            Method::EventsSubscribe { name } => {
                if plugin.subscriptions.len() >= 256 && !plugin.subscriptions.contains(&name) {
                    return Err(WardenError::new(
                        ErrorCode::QuotaExceeded,
                        "at most 256 event subscriptions",
                    ));
                }
                plugin.subscriptions.insert(name);
                ok(Some(&Value::Null))
            }
            Method::EventsUnsubscribe { name } => {
                plugin.subscriptions.remove(&name);
                ok(Some(&Value::Null))
            }
            Method::EventsEmit { name, data } => Ok(Outcome::Emitted {
                name,
                data,
                reply: Reply::ok(call_id, Some(&Value::Null)),
            }),
            Method::UiNotify { message, level } => Ok(Outcome::Notify {
                message,
                level: level.unwrap_or(Level::Info),
                reply: Reply::ok(call_id, Some(&Value::Null)),
            }),
            Method::PluginsCall { .. } | Method::PluginsRespond { .. } => Err(WardenError::new(
                ErrorCode::Internal,
                "plugins.* calls are served by plugins_call / plugins_respond",
            )),
            Method::UiRender { html } => {
                // invariant: the policy allowed ui.render only with a remote UI; refuse otherwise.
                let Some(ui) = &plugin.remote_ui else {
                    return Err(WardenError::new(
                        ErrorCode::PermissionDenied,
                        format!("plugin {id:?} has no remote UI to render into"),
                    ));
                };
                let html = ui.try_sanitize(&html).map_err(coded)?;
                Ok(Outcome::Render { call_id, html })
            }
        }
    }

    /// `plugins.call` from `caller`: both declarations (the caller's `consumes`, the callee's
    /// `exposes`) and the current user's RBAC action of the exposure are checked, then the
    /// call is relayed to the callee with the true caller `{pluginId, version}`.
    fn plugins_call(
        &mut self,
        caller: &str,
        call_id: u64,
        callee: &str,
        name: &str,
        args: Value,
    ) -> Result<Outcome, WardenError> {
        let denied = |message: String| WardenError::new(ErrorCode::PermissionDenied, message);
        let c = self.plugins.get(caller).ok_or_else(|| not_found(caller))?;
        let declared = c
            .manifest
            .consumes()
            .iter()
            .any(|x| x.plugin().as_str() == callee && x.name() == name);
        if !declared {
            return Err(denied(format!(
                "plugin {caller:?} does not declare {{\"plugin\": {callee:?}, \"name\": {name:?}}} in its manifest's consumes"
            )));
        }
        let caller_version = c.manifest.version().map(str::to_owned);
        let target = self.plugins.get(callee).ok_or_else(|| not_found(callee))?;
        let Some(exposure) = target.manifest.exposes().iter().find(|x| x.name() == name) else {
            return Err(denied(format!(
                "plugin {callee:?} does not expose {name:?}"
            )));
        };
        if let Some(action) = exposure.action() {
            if !self.rbac.holds(action) {
                let mut e = denied(format!(
                    "{callee:?}.{name} needs the action {:?}, which the current user does not hold",
                    action.as_str()
                ));
                e.permission = Some(action.as_str().to_owned());
                return Err(e);
            }
        }
        if !matches!(target.status, Status::Mounted) {
            return Err(WardenError::new(
                ErrorCode::NotFound,
                format!("plugin {callee:?} is not running"),
            ));
        }
        if self.relays.len() >= MAX_RELAYS {
            return Err(WardenError::new(
                ErrorCode::RateLimited,
                "too many plugin-to-plugin calls in flight",
            ));
        }
        let c = self
            .plugins
            .get_mut(caller)
            .ok_or_else(|| not_found(caller))?;
        if !c.in_flight.try_begin() {
            return Err(WardenError::new(
                ErrorCode::RateLimited,
                "too many calls in flight",
            ));
        }
        self.next_relay += 1;
        let relay = self.next_relay;
        self.relays.insert(
            relay,
            Relay {
                caller: caller.to_owned(),
                call_id,
                callee: callee.to_owned(),
            },
        );
        Ok(Outcome::Relay {
            to: callee.to_owned(),
            message: event_message(
                EVENT_PLUGINS_CALL,
                &json!({
                    "call": relay,
                    "name": name,
                    "args": args,
                    "caller": { "pluginId": caller, "version": caller_version },
                }),
            ),
            reply: String::new(),
        })
    }

    /// `plugins.respond` from `callee`: the answer to relayed call `relay`, passed to its caller.
    fn plugins_respond(
        &mut self,
        callee: &str,
        call_id: u64,
        relay: u64,
        result: Result<Value, String>,
    ) -> Result<Outcome, WardenError> {
        let Some(r) = self.relays.get(&relay).filter(|r| r.callee == callee) else {
            return Err(WardenError::new(
                ErrorCode::NotFound,
                format!("no plugins.call {relay} is waiting for an answer from plugin {callee:?}"),
            ));
        };
        let Relay {
            caller,
            call_id: caller_call,
            ..
        } = r.clone();
        self.relays.remove(&relay);
        if let Some(c) = self.plugins.get_mut(&caller) {
            c.in_flight.end();
        }
        let answer = match result {
            Ok(v) => Reply::ok(caller_call, Some(&v)),
            Err(m) => Reply::err(
                caller_call,
                &WardenError::new(
                    ErrorCode::Internal,
                    format!("plugin {callee:?} answered with an error: {m}"),
                ),
            ),
        };
        Ok(Outcome::Relay {
            to: caller,
            message: answer,
            reply: Reply::ok(call_id, Some(&Value::Null)),
        })
    }

    /// The user's answer to a [`Outcome::AskPermission`]; answers the reply to post.
    pub fn permission_answer(
        &mut self,
        id: &str,
        call_id: u64,
        permission: Capability,
        granted: bool,
        now_ms: f64,
    ) -> String {
        let Some(plugin) = self.plugins.get_mut(id) else {
            return Reply::err(call_id, &not_found(id));
        };
        plugin.in_flight.end();
        let granted = granted && plugin.perms.grant(permission).is_ok();
        if granted {
            plugin.denied_requests.remove(&permission);
        } else {
            plugin.denied_requests.insert(permission);
        }
        let kind = if granted {
            AuditKind::Grant
        } else {
            AuditKind::Refusal
        };
        let mut e = AuditEvent::new(kind, now_ms)
            .with_plugin(id)
            .with_method("permissions.request")
            .with_decision(if granted {
                AuditDecision::Allow
            } else {
                AuditDecision::Deny
            })
            .with_detail(json!({ "permission": permission.as_str(), "byUser": true }));
        if !granted {
            e = e.with_code(ErrorCode::PermissionDenied);
        }
        self.audit.push(e);
        Reply::ok(call_id, Some(&Value::Bool(granted)))
    }

    /// The outcome of a [`Outcome::Fetch`]; answers the reply to post. The final URL is
    /// checked against the allowlist again — for a route request, against the route URL's
    /// origin instead — and headers are filtered to safe ones.
    ///
    /// # Security
    /// Every route secret the host holds is scrubbed from the reply (error message, header
    /// values and body), so neither an error that quotes the URL nor an upstream that echoes
    /// a header hands a secret to the plugin.
    pub fn fetch_done(
        &mut self,
        id: &str,
        call_id: u64,
        result: Result<FetchResponse, WardenError>,
        now_ms: f64,
    ) -> String {
        let Some(plugin) = self.plugins.get_mut(id) else {
            return Reply::err(call_id, &not_found(id));
        };
        plugin.in_flight.end();
        let route = match plugin.fetches.remove(&call_id) {
            Some(PendingFetch::Plain(n)) if n > 1 => {
                plugin.fetches.insert(call_id, PendingFetch::Plain(n - 1));
                None
            }
            Some(PendingFetch::Route { path, origin }) => Some((path, origin)),
            _ => None,
        };
        let secrets = &self.route_secrets;
        let result = result
            .map_err(|e| match &route {
                Some((path, _)) => WardenError {
                    message: format!("route {path:?}: {}", e.message),
                    ..e
                },
                None => e,
            })
            .and_then(|r| {
                match &route {
                    Some((path, origin)) => {
                        let same = url::Url::parse(&r.url)
                            .is_ok_and(|u| u.origin().ascii_serialization() == *origin);
                        if !same {
                            return Err(coded(RouteError::Escaped { path: path.clone() }));
                        }
                    }
                    None => {
                        plugin.allowlist.check(&r.url).map_err(coded)?;
                    }
                }
                let headers: BTreeMap<String, String> =
                    super::network::safe_response_headers(r.headers)
                        .into_iter()
                        .map(|(k, v)| (k, routes::scrub(&v, secrets)))
                        .collect();
                Ok(json!({
                    "status": r.status,
                    "headers": headers,
                    "body": routes::scrub(&r.body, secrets),
                }))
            })
            .map_err(|e| scrubbed(e, secrets));
        match result {
            Ok(v) => Reply::ok(call_id, Some(&v)),
            Err(e) => {
                self.refuse(id, Some("api.fetch"), &e, now_ms);
                Reply::err(call_id, &e)
            }
        }
    }

    /// Plugins subscribed to `name` that may receive events now.
    pub fn subscribers(&self, name: &str) -> Vec<String> {
        self.plugins
            .iter()
            .filter(|(_, p)| {
                matches!(p.status, Status::Mounted)
                    && p.perms.has(Capability::Events)
                    && p.subscriptions.contains(name)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    // ----- RBAC -----------------------------------------------------------------------------

    /// Replace the current user; every RBAC answer changes at once. Answers the
    /// `permissions.changed` events owed to plugins whose declared actions the switch changed.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a malformed user.
    pub fn set_user(&mut self, user: Value) -> Result<Vec<PermissionChange>, WardenError> {
        let user = UserContext::from_value(user).map_err(|e| invalid(format!("user: {e}")))?;
        self.rbac.set_user(user);
        Ok(self.permission_changes())
    }

    /// Whether the current user holds `action`: with any scope when `scope` is `None`, else
    /// with a scope covering it (see [`crate::core::rbac::scope`]).
    pub fn has_permission(&self, action: &str, scope: Option<&str>) -> bool {
        self.rbac.has_permission(action, scope)
    }

    /// The current user's access, compiled for a JS-side cache.
    pub fn compiled_access(&self) -> &CompiledAccess {
        self.rbac.compiled()
    }

    /// The plugin's includes the current user may see.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub fn visible_includes(&self, id: &str) -> Result<Vec<IncludeView>, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        self.rbac.visible_includes(p.manifest.id()).map_err(coded)
    }

    /// Whether the current user may call the plugin's route.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown plugin or route.
    pub fn can_access_route(
        &self,
        id: &str,
        path: &str,
        method: &str,
    ) -> Result<bool, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        self.rbac
            .can_access_route(p.manifest.id(), path, method)
            .map_err(coded)
    }

    // ----- HTML and CSP ---------------------------------------------------------------------

    /// The host's sanitizer.
    pub fn sanitizer(&self) -> &Sanitizer {
        &self.sanitizer
    }

    /// The host page's CSP for the installed plugins.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a bad nonce or policy name.
    pub fn csp_header(&self, nonce: &str, policy: &str) -> Result<String, WardenError> {
        self.csp_headers(nonce, policy, &Reporting::default())
            .map(|h| h.value)
    }

    /// [`Engine::csp_header`] as headers: enforced or report-only, with a reporting endpoint
    /// (see [`super::csp::CspHeader`]).
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a bad nonce or policy name.
    pub fn csp_headers(
        &self,
        nonce: &str,
        policy: &str,
        reporting: &Reporting,
    ) -> Result<CspHeader, WardenError> {
        // A plugin installed with code can be mounted as a worker, in the runner frame.
        let workers = self.plugins.values().any(|p| p.code.is_some());
        // The API client (in the host page) also calls the plugins' routes: their origins, as
        // the host's values resolve them, need `connect-src` too. A route that does not
        // resolve (yet) adds nothing.
        let empty = RouteConfig::default();
        let mut route_origins = Vec::new();
        for p in self.plugins.values() {
            let config = self.routes.get(p.manifest.id().as_str()).unwrap_or(&empty);
            for r in p.manifest.routes() {
                if let Ok(resolved) =
                    routes::resolve(r, config, None, self.manifest_opts.allow_loopback_http)
                {
                    route_origins.push(resolved.url.origin().ascii_serialization());
                }
            }
        }
        host_csp_header(
            self.plugins.values().map(|p| &p.manifest),
            nonce,
            policy,
            workers,
            &route_origins,
            reporting,
        )
    }

    /// Whether `loadScript` may insert `src` with `integrity`: approved origins are installed
    /// plugins' `entry.src` origins and the host's `approvedScriptOrigins`.
    ///
    /// # Errors
    /// See [`super::scripts::plan_script`].
    pub fn plan_script(
        &self,
        src: &str,
        integrity: &str,
    ) -> Result<super::scripts::ScriptLoad, WardenError> {
        let mut approved = self.approved_script_origins.clone();
        for p in self.plugins.values() {
            if let Some(Ok(u)) = p.manifest.entry().map(|e| url::Url::parse(e.src())) {
                approved.insert(u.origin().ascii_serialization());
            }
        }
        super::scripts::plan_script(src, integrity, &approved, self.allow_loopback_http)
            .map_err(coded)
    }

    // ----- inspection -----------------------------------------------------------------------

    /// Audit events newer than `seq`.
    pub fn audit_since(&self, seq: u64) -> Vec<AuditEvent> {
        self.audit.since(seq)
    }

    /// All audit events held.
    pub fn audit_log(&self) -> Vec<AuditEvent> {
        self.audit.snapshot()
    }

    /// What the inspector shows about a plugin.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub fn info(&self, id: &str) -> Result<PluginInfo, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        let names = |caps: Vec<Capability>| caps.into_iter().map(Capability::as_str).collect();
        Ok(PluginInfo {
            id: id.to_owned(),
            name: p.manifest.name().to_owned(),
            status: p.status.clone(),
            granted: names(p.perms.granted()),
            optional: names(p.perms.optional()),
            required: names(p.perms.required()),
            counts: self.audit.counts(id),
            allowed_calls: p.allowed_calls,
        })
    }

    /// Ids of installed plugins.
    pub fn plugin_ids(&self) -> Vec<String> {
        self.plugins.keys().cloned().collect()
    }

    /// The reply to an [`Outcome::Storage`] plan the browser performed: the value read (or
    /// `null`), or the coded error (`QUOTA_EXCEEDED`, `INTEGRITY_MISMATCH`, …).
    pub fn storage_done(
        &mut self,
        call_id: u64,
        result: Result<Value, super::storage::StorageError>,
    ) -> String {
        match result {
            Ok(v) => Reply::ok(call_id, Some(&v)),
            Err(e) => Reply::err(call_id, &coded(e)),
        }
    }

    /// Storage usage changed outside this engine (another tab): forget cached sizes.
    pub fn storage_changed_elsewhere(&mut self) {
        self.store.invalidate_usage();
    }
}

/// The host page's CSP for a set of plugin manifests (DESIGN.md §6 `cspHeader`), usable
/// without a host (e.g. on the server that sends the page): `frame-src` from the manifests'
/// `entry.src` origins (plus `'self'` for the worker runner when `worker_runner`),
/// `connect-src` from their `network` origins and `extra_connect_origins` (e.g. resolved
/// route origins), deduplicated.
///
/// # Errors
/// `INVALID_ARGUMENT` for a malformed nonce, policy name or origin.
///
/// ```
/// use plugin_warden::core::engine::host_csp;
/// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
/// let m = Manifest::parse(r#"{"id":"acme","name":"A","permissions":[],
///     "network":["https://api.acme.example/v1/"],
///     "entry":{"src":"https://plugins.acme.example/a/"}}"#, &ManifestOptions::default()).unwrap();
/// let csp = host_csp([&m], "AAAAAAAAAAAAAAAAAAAAAA==", "plugin-warden", false, &[]).unwrap();
/// assert!(csp.contains("frame-src https://plugins.acme.example;"));
/// assert!(csp.contains("connect-src 'self' https://api.acme.example;"));
/// ```
pub fn host_csp<'a>(
    manifests: impl IntoIterator<Item = &'a Manifest>,
    nonce: &str,
    policy: &str,
    worker_runner: bool,
    extra_connect_origins: &[String],
) -> Result<String, WardenError> {
    host_csp_header(
        manifests,
        nonce,
        policy,
        worker_runner,
        extra_connect_origins,
        &Reporting::default(),
    )
    .map(|h| h.value)
}

/// [`host_csp`] as headers, enforced or report-only per `reporting` (the one builder behind
/// `hostCsp`, `host.cspHeader` and the CLI's `csp`).
///
/// # Errors
/// As [`host_csp`].
///
/// ```
/// use plugin_warden::core::csp::{ReportEndpoint, Reporting};
/// use plugin_warden::core::engine::host_csp_header;
/// let r = Reporting { report_only: true, endpoint: Some(ReportEndpoint::new("https://h.example/r").unwrap()) };
/// let h = host_csp_header([], "AAAAAAAAAAAAAAAAAAAAAA==", "plugin-warden", false, &[], &r).unwrap();
/// assert_eq!(h.name, "Content-Security-Policy-Report-Only");
/// assert!(h.value.ends_with("; report-uri https://h.example/r; report-to csp-endpoint"));
/// ```
pub fn host_csp_header<'a>(
    manifests: impl IntoIterator<Item = &'a Manifest>,
    nonce: &str,
    policy: &str,
    worker_runner: bool,
    extra_connect_origins: &[String],
    reporting: &Reporting,
) -> Result<CspHeader, WardenError> {
    let nonce = Nonce::parse(nonce).map_err(coded)?;
    let mut b = CspBuilder::new()
        .nonce(&nonce)
        .trusted_types_policy(policy)
        .map_err(coded)?
        .worker_runner(worker_runner);
    for m in manifests {
        if let Some(entry) = m.entry() {
            if let Ok(url) = url::Url::parse(entry.src()) {
                b = b
                    .plugin_frame_origin(&url.origin().ascii_serialization())
                    .map_err(coded)?;
            }
        }
        for n in m.network() {
            b = b.plugin_connect_origin(&n.origin()).map_err(coded)?;
        }
        for a in m.assets() {
            b = b.plugin_asset_origin(a).map_err(coded)?;
        }
    }
    for o in extra_connect_origins {
        b = b.plugin_connect_origin(o).map_err(coded)?;
    }
    Ok(b.header(reporting))
}

/// `err` with every route secret scrubbed from its message.
fn scrubbed(mut err: WardenError, secrets: &[String]) -> WardenError {
    if !secrets.is_empty() {
        err.message = routes::scrub(&err.message, secrets);
    }
    err
}

fn duplicate_fetch(call_id: u64) -> WardenError {
    WardenError::new(
        ErrorCode::MessageRejected,
        format!("call id {call_id} is already in flight for a route request; use a fresh id"),
    )
}

/// What `plugin` may do now: its capabilities, and the actions its manifest declares that the
/// current user holds.
fn view_of(plugin: &Plugin, rbac: &Rbac) -> PermissionView {
    PermissionView {
        granted: plugin
            .perms
            .granted()
            .into_iter()
            .map(Capability::as_str)
            .collect(),
        actions: declared_actions(&plugin.manifest)
            .into_iter()
            .filter(|a| rbac.holds(a))
            .map(|a| a.as_str().to_owned())
            .collect(),
    }
}

fn describe_findings(report: &AnalysisReport) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}:{} {} {}: {}",
                f.line,
                f.column,
                f.rule.as_str(),
                f.severity.as_str(),
                f.message
            )
        })
        .collect()
}

/// Read a call id from raw JSON cheaply (for refusals before parsing), if it is plainly there.
/// A message over the host's `max_message_bytes` is never parsed, here as in `parse_call`:
/// a flood of oversized messages must stay as cheap to refuse as any other.
fn peek_id(text: &str, max_bytes: usize) -> Option<u64> {
    if text.len() > max_bytes.min(1 << 20) {
        return None;
    }
    let v: Value = serde_json::from_str(text).ok()?;
    v.get("id")?.as_u64()
}
