//! The engine: the host's plugin registry, lifecycle and call handling, with no browser in it.
//!
//! The browser layer (`web`) feeds it what happened (a manifest to install, a window message
//! from a mount's frame, a message from a plugin, a finished fetch) and carries out what it
//! answers: one entry per event ([`Engine::receive`], [`Engine::handshake`],
//! [`Engine::complete`]), answering [`Effect`]s. Every decision — the handshake, parse limits,
//! rate limits, permissions, storage namespacing, network allowlist, RBAC — is made here and
//! tested natively.
//!
//! Submodules by job: `config` (host options), `install` (install and update), `calls`
//! (serving one call: [`Engine::handle`] and the answers to planned work), `receive` (the
//! entries, effects and mount registry), `host_csp` (the host page's CSP).
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

mod calls;
mod config;
mod host_csp;
mod install;
mod receive;

pub use calls::{FetchPlan, FetchResponse, Outcome};
pub use config::{BundlePolicy, Dangerous, HostConfig, HostLimits};
pub use host_csp::{host_csp, host_csp_header};
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
