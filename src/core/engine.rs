//! The engine: the host's plugin registry, lifecycle and call handling, with no browser in it.
//!
//! The browser layer (`web`) feeds it what happened (a manifest to install, a window message
//! from a mount's frame, a message from a plugin, a finished fetch) and carries out what it
//! answers: one entry per event ([`Engine::receive`], [`Engine::handshake`],
//! [`Engine::complete`]), answering [`Effect`]s. Every decision — the handshake, parse limits,
//! rate limits, permissions, storage namespacing, network allowlist, RBAC — is made here and
//! tested natively.
//!
//! Submodules by job: `config` (host options), `install` (install and update checks), `steps`
//! (install and update as step machines: [`Engine::install_begin`], [`Engine::update_begin`]),
//! `lifecycle` (status, liveness, grants), `calls` (serving one call, and the answers to planned
//! work, behind [`Engine::receive`] and [`Engine::complete`]), `receive` (the entries, effects
//! and mount registry), `host_csp` (the host page's CSP).
//!
//! `api.fetch` with `url` = `route:<path>` calls a manifest route (Grafana-style proxied
//! routes, with host-held values and secrets filled in): see [`super::routes`] for the wire
//! form and the checks, and [`HostConfig::routes`] for the host option.

use crate::core::collections::{SortedMap, SortedSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::allow_plugins::AllowPlugins;
use super::analysis::{analyze, AnalysisOptions, AnalysisReport};
use super::audit::{AuditDecision, AuditEvent, AuditKind, AuditLog};
use super::binary::BinaryRef;
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
    event_message, FetchBody, Level, Limits, Method, Reply, EVENT_PERMISSIONS_CHANGED, EVENT_PING,
    EVENT_PLUGINS_CALL,
};
use super::provenance::{
    key_from_value, Envelope, LazyDigest, ManifestDigest, Provenance, SignatureCheck, TrustedKeys,
};
use super::ratelimit::{BusyBudget, Clock, InFlight, RateDecision, RateLimitConfig, RateLimiter};
use super::rbac::{CompiledAccess, IncludeView, Rbac, UserContext};
use super::routes::{self, RouteConfig, RouteError};
use super::sanitize::{Sanitizer, SanitizerConfig};
use super::signature::{decode_signature, PublicKey};
use super::storage::deferred::{self, StoragePlan};
use super::storage::{NamespacedStore, StorageBackend, StorageLimits, Write};
use super::update::{check_version, Change, ManifestDiff};

mod calls;
mod config;
mod host_csp;
mod install;
mod lifecycle;
mod receive;
mod steps;

use calls::Outcome;
pub use calls::{FetchPlan, FetchResponse};
pub use config::{BundlePolicy, Dangerous, HostConfig, HostLimits};
pub use host_csp::{host_csp, host_csp_header};
pub use receive::{
    Completion, Effect, Incoming, MountMode, MountSpec, MountState, RunnerJob, Unread,
    MAX_WINDOW_MESSAGE_BYTES,
};
use receive::{MountRecord, Prepared};
pub use steps::{InstallNext, InstallToken, Step, UpdateNext, UpdateToken};

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

crate::core::json::from_json_struct!(InstallInput, "struct InstallInput", {
    code: "code",
    src: "src",
    integrity: "integrity",
    signature: "signature",
    public_key: "publicKey",
});

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
    digest: LazyDigest,
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
    pub counts: SortedMap<String, u64>,
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
    digest: LazyDigest,
    /// The key the install's signature verified under: mount-time signatures must use it.
    signed_by: Option<PublicKey>,
    /// The code checked at install (signature, integrity, analysis), run by worker mounts.
    code: Option<VerifiedCode>,
    perms: PermissionSet,
    allowlist: Allowlist,
    status: Status,
    limiter: RateLimiter,
    in_flight: InFlight,
    subscriptions: SortedSet<String>,
    denied_requests: SortedSet<Capability>,
    allowed_calls: u64,
    /// When this plugin's last `RATE_LIMITED` refusal was written to the audit log, and how many
    /// refusals since then were only counted: a flood costs one audit event per second, not one
    /// per message.
    rate_audit: (f64, u64),
    /// When its last message not served was written to the audit log ([`Engine::unserved`]).
    unserved_audit: f64,
    /// Fetches awaiting [`Engine::fetch_done`], by call id: how `fetch_done` checks the answer.
    fetches: SortedMap<u64, PendingFetch>,
    /// The remote-UI policy of the current mount, when it has a host-rendered UI
    /// ([`Engine::set_mount_ui`]); cleared when the mount ends.
    remote_ui: Option<Sanitizer>,
    /// The host page's time its renders took (sanitizing in the core and in the browser layer,
    /// inserting): a `ui.render` is refused while they took more than their share of it
    /// ([`RateLimitConfig::render_share`]).
    render_budget: BusyBudget,
    /// When the render being carried out was admitted (monotonic ms), until it completes.
    render_started: Option<f64>,
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
    digest: LazyDigest,
}

impl CheckedManifest {
    /// The parsed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The SHA-256 of its canonical JSON ([`super::provenance`]), computed when first asked for.
    ///
    /// # Errors
    /// `SIGNATURE_INVALID` if the text were not JSON (never for a manifest that parsed).
    pub fn digest(&self) -> Result<ManifestDigest, WardenError> {
        self.digest.get().map_err(coded)
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
    plugins: SortedMap<String, Plugin>,
    failed: SortedMap<String, Status>,
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
    approved_script_origins: SortedSet<String>,
    allow_loopback_http: bool,
    /// Host option `requireSignatures`: code without a verified signature never runs.
    require_signatures: bool,
    /// Host option `trustedKeys`.
    trusted_keys: Option<TrustedKeys>,
    /// Route template values by plugin id.
    routes: SortedMap<String, RouteConfig>,
    /// Every route secret value, longest first: scrubbed from every fetch answer.
    route_secrets: Vec<String>,
    allow_plugins: Option<AllowPlugins>,
    /// Storage calls are planned for an asynchronous backend rather than served here.
    deferred_storage: bool,
    /// The heartbeat's timing.
    liveness: LivenessConfig,
    /// Plugin-to-plugin calls awaiting an answer, by the host's relay id.
    relays: SortedMap<u64, Relay>,
    next_relay: u64,
    /// The monotonic clock for rate limits and durations ([`Engine::set_clock`]); without
    /// one, the `now_ms` the caller passes (wall-clock, for audit timestamps) is used.
    clock: Option<Box<dyn Clock>>,
    /// The latest monotonic time seen: durations are measured on it, so it never runs back.
    mono_ms: f64,
    /// The `seq` of the last audit event handed out in an [`Effect::Audit`] (or passed over
    /// while no one listens).
    audit_delivered: u64,
    /// Whether the host has an audit listener (`onAudit`): without one, no [`Effect::Audit`]
    /// is made ([`Engine::set_audit_listener`]).
    audit_listener: bool,
    /// Handshakes refused ([`Engine::refuse_handshake`]).
    rejected_handshakes: u64,
    /// Per source of refused hellos (a plugin's id, or "" for windows that are no mount): when
    /// the last one was audited (monotonic ms), and how many since were only counted.
    handshake_audit: SortedMap<String, (f64, u64)>,
}

fn coded<E: Coded>(e: E) -> WardenError {
    WardenError::from_coded(&e)
}

/// Read a user for [`Engine::switch_user`]: the half of [`Engine::set_user`] that can fail,
/// apart so a caller checks the user before it holds the engine.
///
/// # Errors
/// `INVALID_ARGUMENT` for a malformed user.
#[inline(always)]
pub fn read_user(user: Value) -> Result<UserContext, WardenError> {
    UserContext::from_value(user).map_err(|e| invalid(format!("user: {e}")))
}

#[cold]
#[inline(never)]
fn invalid(message: impl Into<String>) -> WardenError {
    WardenError::new(ErrorCode::InvalidArgument, message)
}

fn not_found(id: &str) -> WardenError {
    WardenError::new(
        ErrorCode::NotFound,
        format!("no plugin {id:?} is installed"),
    )
}

impl<B: StorageBackend> Engine<B> {
    /// The longest JSON text a plugin's message may have, in UTF-8 bytes (`maxMessageBytes`).
    /// The browser layer compares a message's JS length with it before copying the text in.
    pub fn max_message_bytes(&self) -> usize {
        self.limits.max_message_bytes
    }

    /// The protocol's limits a plugin's messages are parsed with ([`Incoming::prepare`]).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the rate limiter would refuse plugin `id`'s message arriving at `now_ms`
    /// (`RATE_LIMITED`, or the plugin suspended), were it handed to [`Engine::receive`] now (a
    /// pong excepted: `receive` reads it first). False for a plugin that is not mounted (its
    /// messages are dropped). Changes nothing.
    pub fn would_refuse(&self, id: &str, now_ms: f64) -> bool {
        self.plugins.get(id).is_some_and(|p| {
            matches!(p.status, Status::Mounted)
                && !p.limiter.would_allow(self.monotonic_peek(now_ms))
        })
    }

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
        // (Checked without formatting the number: float formatting would link ~10 KiB of
        // `core::fmt` into the module for this one message.)
        if let Some(v) = l.render_share {
            if !(v > 0.0 && v <= 1.0) {
                return Err(invalid(
                    "limits.renderShare: expected a share of the page's time above 0 and at most 1",
                ));
            }
            rate.render_share = v;
        }
        if let Some(v) = l.render_burst_ms {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(
                    "limits.renderBurstMs: expected milliseconds, 0 or more",
                ));
            }
            rate.render_burst_ms = v;
        }
        if let Some(v) = l.render_clean_ms {
            if !(1..=crate::core::sanitize::MAX_TIME_LIMIT_MS).contains(&v) {
                return Err(invalid(
                    "limits.renderCleanMs: expected milliseconds from 1 to 60000",
                ));
            }
            rate.render_clean_ms = v;
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
                super::weburl::WebUrl::parse(o)
                    .map(|u| u.origin().ascii_serialization())
                    .map_err(|e| {
                        invalid(format!("approvedScriptOrigins: {o:?} is not a URL ({e})"))
                    })
            })
            .collect::<Result<SortedSet<_>, _>>()?;
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
            plugins: SortedMap::new(),
            failed: SortedMap::new(),
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
            relays: SortedMap::new(),
            next_relay: 0,
            clock: None,
            mono_ms: f64::NEG_INFINITY,
            audit_delivered: 0,
            audit_listener: true,
            rejected_handshakes: 0,
            handshake_audit: SortedMap::new(),
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

    /// The longest one clean of a remote UI's render may take, in ms (`limits.renderCleanMs`):
    /// the browser layer gives its Trusted Types policy's second clean the same limit.
    pub fn render_clean_ms(&self) -> u32 {
        self.rate.render_clean_ms
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

    /// [`Engine::monotonic_ms`] without moving the clock: what it would answer for `now_ms`.
    fn monotonic_peek(&self, now_ms: f64) -> f64 {
        let t = self.clock.as_ref().map_or(now_ms, |c| c.now_ms());
        let m = if t.is_finite() && t > self.mono_ms {
            t
        } else {
            self.mono_ms
        };
        if m.is_finite() {
            m
        } else {
            0.0
        }
    }

    // ----- RBAC -----------------------------------------------------------------------------

    /// Replace the current user; every RBAC answer changes at once. Answers the
    /// `permissions.changed` events owed to plugins whose declared actions the switch changed.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a malformed user.
    pub fn set_user(&mut self, user: Value) -> Result<Vec<PermissionChange>, WardenError> {
        Ok(self.switch_user(read_user(user)?))
    }

    /// Replace the current user by one [`read_user`] read; answers what
    /// [`Engine::set_user`] answers.
    #[inline(always)]
    pub fn switch_user(&mut self, user: UserContext) -> Vec<PermissionChange> {
        self.rbac.set_user(user);
        self.permission_changes()
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

    /// The reply to an [`Effect::Storage`] plan the browser performed ([`Engine::complete`]
    /// with [`Completion::Storage`]): the value read (`None` for a missing key: no value), or
    /// the coded error (`QUOTA_EXCEEDED`, `INTEGRITY_MISMATCH`, …).
    fn storage_done(
        &mut self,
        call_id: u64,
        result: Result<Option<Value>, super::storage::StorageError>,
    ) -> String {
        match result {
            // A missing key answers no value (`undefined`), as the synchronous backends do.
            Ok(v) => Reply::ok(call_id, v.as_ref()),
            Err(e) => Reply::err(call_id, &coded(e)),
        }
    }

    /// Storage usage changed outside this engine (another tab): forget cached sizes.
    pub fn storage_changed_elsewhere(&mut self) {
        self.store.invalidate_usage();
    }
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
