//! The one entry into the core per plugin message ([`Engine::receive`]), per completed
//! asynchronous job ([`Engine::complete`]) and per window message from a mount's frame
//! ([`Engine::handshake`]), each answering the [`Effect`]s the browser layer carries out, in
//! order. The mount registry and the handshake's state machine live here too.
//!
//! # Audit delivery
//! Every function here ends its effects with one [`Effect::Audit`] holding the audit events
//! recorded since the last delivery (the engine keeps the cursor), so what a message caused —
//! the refusal, the call, the suspension — is in the very list a test asserts. Engine calls
//! that answer no effects (install, mount progress) leave their events for the next drain:
//! the browser layer ends each `carry_out` with [`Engine::undelivered_audit`], so no event is
//! delivered twice or forgotten, and no call site has to remember to deliver. A host without
//! an audit listener ([`Engine::set_audit_listener`]) gets no [`Effect::Audit`] at all.

use serde_json::Value;

use super::calls::Planned;
use super::{
    not_found, Engine, FetchPlan, FetchResponse, Outcome, PermissionChange, Status, VerifiedCode,
};
use crate::core::audit::AuditEvent;
use crate::core::error::{cold_text, ErrorCode, WardenError};
use crate::core::manifest::Capability;
use crate::core::mount::UiMode;
use crate::core::protocol::{
    parse_call, parse_hello, welcome_message, Call, Level, Limits, ProtocolError, Reply,
    RunnerWelcome, Welcome, EVENT_PONG, MAX_SAFE_INTEGER, PROTOCOL_VERSION,
};
use crate::core::storage::deferred::StoragePlan;
use crate::core::storage::{StorageBackend, StorageError};

/// One message from a plugin's port, as the browser layer received it.
///
/// Built with [`Incoming::json`] / [`Incoming::unreadable`] / [`Incoming::later`] and
/// [`Incoming::with_id_hint`] / [`Incoming::with_pong`]; more fields may come (it is
/// `#[non_exhaustive]`), none of which changes the JSON text, which reaches the protocol
/// parser unchanged.
///
/// # Performance
/// With [`Incoming::later`] the text is made only once the rate limiter admitted the message:
/// a flood's refused messages are never serialized, copied into the core or parsed.
#[derive(Default)]
#[non_exhaustive]
pub struct Incoming<'a> {
    /// The message as JSON text (`JSON.stringify` of `event.data`); `None` when it could not
    /// be serialized (a cycle, a `BigInt`): it is then refused, answered through `id_hint`.
    pub text: Option<String>,
    /// The call id as the browser layer read it off the received object without parsing (a
    /// safe integer), so a message refused before its id could be parsed is still answered.
    pub id_hint: Option<u64>,
    /// For a message shaped like a pong (`{event: "pong", data: {seq}}`), the `seq` the
    /// browser layer read off it (with lazy text, the core cannot read it from the text).
    pub pong: Option<u64>,
    later: Option<Box<dyn FnOnce() -> Result<String, Unread> + 'a>>,
    prepared: Option<Prepared>,
}

/// A plugin message as [`Engine::receive`] serves it once admitted: the call it parsed into, or
/// why it is refused with the reply that says so. Made by [`Incoming::prepare`] from nothing but
/// the message and the protocol's limits.
#[derive(Debug)]
pub(crate) enum Prepared {
    /// A call to decide and serve.
    Call(Call),
    /// A call decided by reading the engine ([`Incoming::plan`]), to carry out.
    Planned(Planned),
    /// Refused before it was served (unreadable, too large, not the protocol): audited as a
    /// refusal, answered with `reply` when a call id could be read.
    Refused {
        /// Why (`MESSAGE_REJECTED`).
        error: WardenError,
        /// The error reply to post, if the message's call id is known.
        reply: Option<String>,
    },
}

impl Prepared {
    /// What the message `text` (or why it has none) comes to under `limits`; `id_hint` answers
    /// a refusal whose text gives no call id.
    fn of(text: Result<&str, &Unread>, id_hint: Option<u64>, limits: &Limits) -> Prepared {
        match text {
            Ok(text) => match parse_call(text, limits) {
                Ok(call) => Prepared::Call(call),
                Err(e) => Prepared::refused(id_hint, Err(e)),
            },
            Err(unread) => Prepared::refused(id_hint, Ok(unread_error(unread, limits))),
        }
    }

    /// A refusal, for the protocol's error (answered with its call id, else `id_hint`) or with
    /// `error`. Out of line: the code of a refusal is not a first visit's (src/web/split-loader.js).
    #[cold]
    #[inline(never)]
    fn refused(id_hint: Option<u64>, error: Result<WardenError, ProtocolError>) -> Prepared {
        let (error, reply) = match error {
            Ok(error) => (error, None),
            Err(e) => (WardenError::from_coded(&e), Reply::rejected(&e)),
        };
        let reply = reply.or_else(|| id_hint.map(|cid| Reply::err(cid, &error)));
        Prepared::Refused { error, reply }
    }
}

/// Why a message that reached the core without its text is refused.
#[cold]
#[inline(never)]
fn unread_error(unread: &Unread, limits: &Limits) -> WardenError {
    match unread {
        Unread::TooLarge { at_least } => WardenError::new(
            ErrorCode::MessageRejected,
            format!(
                "message: expected at most {} bytes, found at least {at_least} (not read)",
                limits.max_message_bytes
            ),
        ),
        Unread::NoJsonForm => WardenError::new(
            ErrorCode::MessageRejected,
            "the message has no JSON form: it holds a cycle, a BigInt, or a Map, Set, \
             Blob, RegExp or Error (binary data must be an ArrayBuffer, a typed array or a \
             DataView)",
        ),
    }
}

/// Why a message reaches the core without its JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unread {
    /// It has no JSON form (`JSON.stringify` threw: a cycle, a `BigInt`, a `Map`, …).
    NoJsonForm,
    /// Its text is longer than [`Engine::max_message_bytes`], seen before it was copied into
    /// the core: at least this many bytes (its length in UTF-16 units, which no UTF-8
    /// encoding is shorter than; or, for a message the browser layer measured before making
    /// its text, a lower bound of that length and its binary bytes). A hostile plugin's huge
    /// message never enters wasm memory, which would keep that size for the rest of the
    /// page's life.
    TooLarge {
        /// A lower bound of the text's UTF-8 length.
        at_least: usize,
    },
}

impl std::fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("text", &self.text)
            .field("id_hint", &self.id_hint)
            .field("pong", &self.pong)
            .field("later", &self.later.is_some())
            .finish()
    }
}

impl<'a> Incoming<'a> {
    /// A message with its JSON text.
    pub fn json(text: impl Into<String>) -> Self {
        Incoming::new(Some(text.into()))
    }

    /// A message that could not be turned into JSON text.
    pub fn unreadable() -> Self {
        Incoming::default()
    }

    /// A message with `text` (`None`: unreadable).
    pub fn new(text: Option<String>) -> Self {
        Incoming {
            text,
            ..Incoming::default()
        }
    }

    /// A message whose JSON text `make` produces (`None`: unreadable), called only if the
    /// message is admitted.
    pub fn later(make: impl FnOnce() -> Option<String> + 'a) -> Self {
        Incoming::later_checked(move || make().ok_or(Unread::NoJsonForm))
    }

    /// [`Incoming::later`] for a maker that may also find the text too long to copy
    /// ([`Unread::TooLarge`]; the browser layer checks the JS string's length against
    /// [`Engine::max_message_bytes`] first).
    pub fn later_checked(make: impl FnOnce() -> Result<String, Unread> + 'a) -> Self {
        Incoming {
            later: Some(Box::new(make)),
            ..Incoming::default()
        }
    }

    /// With the call id read off the received object.
    #[must_use]
    pub fn with_id_hint(mut self, id_hint: Option<u64>) -> Self {
        self.id_hint = id_hint;
        self
    }

    /// With the `seq` of a pong-shaped message, read off the received object.
    #[must_use]
    pub fn with_pong(mut self, seq: Option<u64>) -> Self {
        self.pong = seq;
        self
    }

    /// Parse it now as [`Engine::receive`] would once the message is admitted (a `Prepared`),
    /// making its text first if it is made later; a pong ([`Incoming::is_pong`]) is left as it
    /// is. Depends on nothing but the message and `limits` (the
    /// engine's, [`Engine::limits`]): the browser layer calls it outside the engine, where a
    /// call that needs code not yet loaded can be cut off without leaving the engine half
    /// changed (src/web/effects.rs).
    pub fn prepare(&mut self, limits: &Limits) {
        if self.is_pong() || self.prepared.is_some() {
            return;
        }
        let text = self.take_text();
        self.prepared = Some(Prepared::of(text.as_deref(), self.id_hint, limits));
    }

    /// Decide it now as [`Engine::receive`] would once it is admitted, after
    /// [`Incoming::prepare`]: a call is checked against plugin `plugin`'s mount, policy and
    /// state by reading `engine` alone (`Engine::plan`), so that code a call needs to be
    /// refused or answered is known to be needed before the engine changes (the browser layer
    /// runs it where a call that needs code not yet loaded can be cut off, src/web/effects.rs).
    /// `receive` must be called next, on the same engine, with nothing in between.
    pub fn plan<B: StorageBackend>(&mut self, engine: &Engine<B>, plugin: &str) {
        if let Some(Prepared::Call(_)) = self.prepared {
            if let Some(Prepared::Call(call)) = self.prepared.take() {
                self.prepared = Some(Prepared::Planned(engine.plan(plugin, call)));
            }
        }
    }

    /// Whether [`Engine::receive`] reads it as a pong, before the rate limiter.
    pub fn is_pong(&self) -> bool {
        self.pong.is_some() || self.text.as_deref().and_then(pong_seq).is_some()
    }

    /// What [`Engine::receive`] serves once the message is admitted.
    fn into_prepared(mut self, limits: &Limits) -> Prepared {
        if let Some(prepared) = self.prepared.take() {
            return prepared;
        }
        let text = self.take_text();
        Prepared::of(text.as_deref(), self.id_hint, limits)
    }

    /// The JSON text (made now, for a message built with [`Incoming::later`]).
    fn take_text(&mut self) -> Result<String, Unread> {
        match self.later.take() {
            Some(make) => make(),
            None => self.text.take().ok_or(Unread::NoJsonForm),
        }
    }
}

/// Something the browser layer must do, answered by [`Engine::receive`], [`Engine::complete`]
/// and [`Engine::handshake`]. Carried out in order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Effect {
    /// Post `message` (JSON text: a reply, a relayed call or its answer, a host event) on
    /// plugin `to`'s port; nothing when `to` is not connected.
    Post {
        /// The plugin whose port it goes to.
        to: String,
        /// JSON text.
        message: String,
    },
    /// Perform this request, then `complete` it with [`Completion::Fetch`].
    Fetch {
        /// The plugin that asked.
        plugin: String,
        /// What to send.
        plan: FetchPlan,
    },
    /// Perform this plan on the asynchronous backend (`storage: 'indexeddb'` or
    /// `encrypt: true`), then `complete` it with [`Completion::Storage`].
    Storage {
        /// The plugin that asked.
        plugin: String,
        /// The call to answer.
        call_id: u64,
        /// What to do.
        plan: StoragePlan,
    },
    /// Ask the user (the host's `onPermissionRequest`, or the default dialog), then
    /// `complete` with [`Completion::Permission`].
    AskPermission {
        /// The plugin that asked.
        plugin: String,
        /// The call to answer.
        call_id: u64,
        /// The capability asked for.
        permission: Capability,
        /// The plugin's reason, to show to the user.
        reason: String,
    },
    /// Show a notification (the host's `onNotify`, or the default toast).
    Notify {
        /// The plugin that notifies.
        plugin: String,
        /// The text.
        message: String,
        /// Its level.
        level: Level,
    },
    /// Hand an event the plugin emitted to the host's `onEvent`.
    Emit {
        /// The plugin that emitted it.
        plugin: String,
        /// Event name.
        name: String,
        /// Event data.
        data: Value,
    },
    /// Replace the plugin's remote UI with this HTML (already sanitized by the plugin's
    /// remote-UI policy; the browser inserts it through the Trusted Types policy, which
    /// sanitizes it again), then `complete` with [`Completion::Render`].
    Render {
        /// The plugin.
        plugin: String,
        /// The call to answer.
        call_id: u64,
        /// The sanitized HTML.
        html: String,
        /// The time, on the clean clock, by which the browser's clean of `html` must be over
        /// (run it in [`cleans_ending_by`]): the one deadline of the render's cleans, which
        /// together may take at most `limits.renderCleanMs`. `None` without a clean clock.
        ///
        /// [`cleans_ending_by`]: crate::core::sanitize::cleans_ending_by
        clean_by: Option<f64>,
    },
    /// The handshake succeeded: give the plugin its own port, answering its hello with
    /// `message` (the `welcome`, JSON text) and the port transferred, and settle the mount.
    Welcome {
        /// The plugin.
        plugin: String,
        /// The welcome's JSON text.
        message: String,
        /// The mode the mount reports (`"iframe"`, `"worker"`).
        mode: &'static str,
    },
    /// The mount ended in the engine (its status says why): tear down everything the browser
    /// created for it, rejecting a pending mount with `code` and `reason`.
    TearDown {
        /// The plugin.
        plugin: String,
        /// Why, as a code.
        code: ErrorCode,
        /// Why, in words.
        reason: String,
    },
    /// What plugins may do changed: post each change's message on its plugin's port, and
    /// rebuild the host's access cache.
    PermissionsChanged(Vec<PermissionChange>),
    /// Hand these audit events to the host's `onAudit`, in order.
    Audit(Vec<AuditEvent>),
}

/// An asynchronous job an [`Effect`] asked for, finished ([`Engine::complete`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Completion {
    /// An [`Effect::Storage`] plan was performed.
    Storage {
        /// The call to answer.
        call_id: u64,
        /// The value read (`None` for a missing key), or why it failed.
        result: Result<Option<Value>, StorageError>,
    },
    /// An [`Effect::Fetch`] came back.
    Fetch {
        /// The call to answer.
        call_id: u64,
        /// The response, or the transport's coded failure.
        result: Result<FetchResponse, WardenError>,
    },
    /// The user answered an [`Effect::AskPermission`].
    Permission {
        /// The call to answer.
        call_id: u64,
        /// The capability asked for.
        permission: Capability,
        /// Whether the user said yes.
        granted: bool,
    },
    /// The user could not be asked for an [`Effect::AskPermission`] (the host's dialog could not
    /// be shown): the call fails with `error`, audited as a refusal, and nothing is remembered —
    /// no one said no, so the plugin may ask again.
    Unasked {
        /// The call to answer.
        call_id: u64,
        /// Why no one was asked.
        error: WardenError,
    },
    /// An [`Effect::Render`] was inserted, or could not be.
    Render {
        /// The call to answer.
        call_id: u64,
        /// Whether the browser could render it.
        result: Result<(), WardenError>,
    },
}

/// Code the package's runner page runs for a worker or bundle mount, with the policy it
/// applies to itself first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunnerJob {
    /// The code, verified for this plugin ([`Engine::mount_code`]).
    pub code: VerifiedCode,
    /// The runner's policy ([`crate::core::csp::runner_csp`]).
    pub csp: String,
}

/// How a plugin is mounted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MountMode {
    /// A plugin page in an iframe (`src` or `srcdoc`).
    Iframe,
    /// Code in a worker started by the runner frame.
    Worker(RunnerJob),
    /// Code in the runner frame's own document (a bundle iframe).
    Bundle(RunnerJob),
    /// First-party HTML in a closed shadow root (no handshake: [`Engine::connect_shadow`]).
    Shadow,
}

impl MountMode {
    /// The mode a settled mount reports: `"worker"` for a worker, `"shadow"`, else `"iframe"`.
    pub fn name(&self) -> &'static str {
        match self {
            MountMode::Worker(_) => "worker",
            MountMode::Shadow => "shadow",
            MountMode::Iframe | MountMode::Bundle(_) => "iframe",
        }
    }

    fn runner(&self) -> Option<(&'static str, &RunnerJob)> {
        match self {
            MountMode::Worker(job) => Some(("worker", job)),
            MountMode::Bundle(job) => Some(("frame", job)),
            MountMode::Iframe | MountMode::Shadow => None,
        }
    }
}

/// A mount as the browser layer starts it ([`Engine::begin_mount`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountSpec {
    /// How it is mounted.
    pub mode: MountMode,
    /// The one-time nonce its hello must carry (frame mounts; `None` for shadow mounts).
    pub nonce: Option<String>,
    /// A host-rendered UI (`ui: 'shadow'` worker mounts).
    pub ui: Option<UiMode>,
}

/// Where a mount's handshake is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MountState {
    /// Waiting for the plugin's hello.
    Pending,
    /// Welcomed (or a shadow mount connected): the plugin talks over its port.
    Live,
    /// The mount failed (its status says why).
    Failed,
    /// The host unmounted it.
    Unmounted,
}

/// The engine's record of a plugin's current (or last) mount.
#[derive(Clone, Debug)]
pub(super) struct MountRecord {
    mode: MountMode,
    nonce: Option<String>,
    state: MountState,
    /// The client said `present` (it loaded in its frame), or the handshake began: a timing
    /// hint only (it proves nothing and grants nothing).
    announced: bool,
}

impl MountRecord {
    /// The status change `status` ends this mount with, if it does.
    pub(super) fn on_status(&mut self, status: &Status) {
        let active = matches!(self.state, MountState::Pending | MountState::Live);
        match status {
            Status::Failed { .. } if active => self.state = MountState::Failed,
            Status::Installed if active => self.state = MountState::Unmounted,
            _ => {}
        }
    }
}

/// The longest window message (a hello, `present`, a runner's `crashed` report of at most 500
/// characters) that is read at all; the browser layer does not copy a longer one in.
pub const MAX_WINDOW_MESSAGE_BYTES: usize = 8 * 1024;

/// A pong is `{v:1, event:"pong", data:{seq}}`: small, so anything longer is not read as one.
const MAX_PONG_BYTES: usize = 256;

/// The `seq` of a message shaped like a pong (`event` = `"pong"`, `data.seq` a safe integer);
/// whether it answers a ping is the liveness module's business.
fn pong_seq(text: &str) -> Option<u64> {
    if text.len() > MAX_PONG_BYTES || !text.contains(EVENT_PONG) {
        return None;
    }
    let v = crate::core::json::parse_value(text).ok()?;
    if v.get("event")?.as_str()? != EVENT_PONG {
        return None;
    }
    let seq = v.get("data")?.get("seq")?;
    match seq.as_u64() {
        Some(n) => Some(n),
        // `JSON.stringify` writes 1.0 as `1`, but a number parsed from elsewhere may be `1.0`.
        None => seq
            .as_f64()
            .filter(|n| n.fract() == 0.0 && *n >= 0.0)
            .map(|n| n as u64),
    }
    .filter(|n| *n <= MAX_SAFE_INTEGER)
}

impl<B: StorageBackend> Engine<B> {
    /// One message from plugin `plugin`'s port, end to end: a pong answering the outstanding
    /// ping is consumed (before the rate limiter: the heartbeat costs no call budget);
    /// anything else is rate-limited, parsed with limits, decided and served. Answers what the
    /// browser must do, ending with the audit events it caused.
    ///
    /// # Security
    /// The JSON text reaches the protocol parser unchanged. The browser layer serializes every
    /// message before the rate limiter sees it: `postMessage` already made the structured
    /// clone of the same size, so a flood's refused messages cost at most that again, and a
    /// flood is suspended after [`crate::core::ratelimit::RateLimitConfig`]'s threshold.
    pub fn receive(&mut self, plugin: &str, message: Incoming<'_>, now_ms: f64) -> Vec<Effect> {
        let pong = message
            .pong
            .or_else(|| message.text.as_deref().and_then(pong_seq));
        if let Some(seq) = pong {
            if self.pong(plugin, seq, now_ms) {
                return self.with_audit(Vec::new());
            }
        }
        // The rate limiter first: a refused message's text is never made (`Incoming::later`)
        // nor parsed.
        let max_bytes = self.limits.max_message_bytes;
        let id_hint = message.id_hint.or_else(|| {
            message
                .text
                .as_deref()
                .and_then(|t| super::calls::peek_id(t, max_bytes))
        });
        let outcome = match self.admit(plugin, id_hint, now_ms) {
            Some(refused) => refused,
            None => {
                let prepared = message.into_prepared(&self.limits);
                self.handle_admitted(plugin, prepared, now_ms)
            }
        };
        let mut effects = Vec::new();
        outcome_effects(plugin, outcome, &mut effects);
        self.with_audit(effects)
    }

    /// Charge plugin `id`'s render budget with the render admitted last, now over.
    pub(super) fn render_done(&mut self, id: &str, now_ms: f64) {
        let ended = self.monotonic_ms(now_ms);
        if let Some(plugin) = self.plugins.get_mut(id) {
            if let Some(started) = plugin.render_started.take() {
                plugin.render_budget.spent(started, ended);
            }
        }
    }

    /// An asynchronous job an earlier effect asked for finished: the reply to post, the
    /// permission changes a user's yes caused, and the audit events.
    pub fn complete(&mut self, plugin: &str, done: Completion, now_ms: f64) -> Vec<Effect> {
        let mut effects = Vec::new();
        let (reply, answered) = match done {
            Completion::Storage { call_id, result } => (self.storage_done(call_id, result), false),
            Completion::Fetch { call_id, result } => {
                (self.fetch_done(plugin, call_id, result, now_ms), false)
            }
            Completion::Permission {
                call_id,
                permission,
                granted,
            } => (
                self.permission_answer(plugin, call_id, permission, granted, now_ms),
                true,
            ),
            Completion::Unasked { call_id, error } => {
                if let Some(p) = self.plugins.get_mut(plugin) {
                    p.in_flight.end();
                }
                self.refuse(plugin, Some("permissions.request"), &error, now_ms);
                (Reply::err(call_id, &error), false)
            }
            Completion::Render { call_id, result } => {
                self.render_done(plugin, now_ms);
                match result {
                    Ok(()) => (Reply::ok(call_id, Some(&Value::Null)), false),
                    // Audited like a refusal in the core (a failed fetch too): the browser's
                    // clean past the render's deadline (`TIMEOUT`), the Trusted Types policy's.
                    Err(e) => {
                        self.refuse(plugin, Some("ui.render"), &e, now_ms);
                        (Reply::err(call_id, &e), false)
                    }
                }
            }
        };
        effects.push(Effect::Post {
            to: plugin.to_owned(),
            message: reply,
        });
        if answered {
            // Only the user's answer changes what a plugin may do.
            let changes = self.permission_changes();
            if !changes.is_empty() {
                effects.push(Effect::PermissionsChanged(changes));
            }
        }
        self.with_audit(effects)
    }

    /// Audit events recorded since the last delivery, as one [`Effect::Audit`] (or none).
    pub fn undelivered_audit(&mut self) -> Vec<Effect> {
        self.with_audit(Vec::new())
    }

    /// Whether anyone receives [`Effect::Audit`] (the host's `onAudit`; on by default).
    /// Without a listener the engine makes no delivery copy of its events — the log itself
    /// (`audit_log`, counts, `inspect`) records exactly the same — and the events recorded
    /// meanwhile count as delivered: a listener set later gets the events recorded from then
    /// on, as one that was there all along would have (the browser layer dropped them before).
    pub fn set_audit_listener(&mut self, listening: bool) {
        self.audit_listener = listening;
    }

    /// `effects`, then the undelivered audit events (none without a listener).
    pub(super) fn with_audit(&mut self, mut effects: Vec<Effect>) -> Vec<Effect> {
        if !self.audit_listener {
            // Per message, the events a call recorded would be cloned out of the log only to
            // be dropped: move the cursor instead.
            self.audit_delivered = self.audit.last_seq();
            return effects;
        }
        if self.audit.last_seq() > self.audit_delivered {
            let events = self.audit.since(self.audit_delivered);
            self.audit_delivered = self.audit.last_seq();
            if !events.is_empty() {
                effects.push(Effect::Audit(events));
            }
        }
        effects
    }

    // ----- mounts and the handshake -------------------------------------------------------

    /// Start a mount of `id` (status `mounting`): its mode, the nonce its hello must carry,
    /// its host-rendered UI.
    ///
    /// # Errors
    /// `NOT_FOUND`; `ALREADY_EXISTS` while another mount of `id` is pending or live.
    pub fn begin_mount(
        &mut self,
        id: &str,
        spec: MountSpec,
        now_ms: f64,
    ) -> Result<(), WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        if p.mount
            .as_ref()
            .is_some_and(|m| matches!(m.state, MountState::Pending | MountState::Live))
        {
            return Err(WardenError::new(
                ErrorCode::AlreadyExists,
                format!("plugin {id:?} is already mounted; unmount it first"),
            ));
        }
        self.set_status(id, Status::Mounting, now_ms)?;
        self.set_mount_ui(id, spec.ui)?;
        let p = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        p.mount = Some(MountRecord {
            announced: matches!(spec.mode, MountMode::Shadow),
            mode: spec.mode,
            nonce: spec.nonce,
            state: MountState::Pending,
        });
        Ok(())
    }

    /// Where `id`'s current (or last) mount is; `None` when it was never mounted through
    /// [`Engine::begin_mount`].
    pub fn mount_state(&self, id: &str) -> Option<MountState> {
        self.plugins.get(id)?.mount.as_ref().map(|m| m.state)
    }

    /// Whether the client in `id`'s pending mount announced itself (`present`) or began the
    /// handshake: a timing hint for the browser's messages, never a permission.
    pub fn mount_announced(&self, id: &str) -> bool {
        self.plugins
            .get(id)
            .and_then(|p| p.mount.as_ref())
            .is_some_and(|m| m.announced)
    }

    /// Whether `nonce` is the nonce of `id`'s current mount (so a late event from an earlier
    /// mount's frame is told apart).
    pub fn is_current_mount(&self, id: &str, nonce: &str) -> bool {
        self.plugins
            .get(id)
            .and_then(|p| p.mount.as_ref())
            .is_some_and(|m| {
                m.nonce.as_deref() == Some(nonce)
                    && matches!(m.state, MountState::Pending | MountState::Live)
            })
    }

    /// Handshakes refused since the host started.
    pub fn rejected_handshakes(&self) -> u64 {
        self.rejected_handshakes
    }

    /// A window message from the frame of `id`'s mount (the browser layer checked that
    /// `event.source` is that very frame's `WindowProxy`, which only it can), as JSON text:
    ///
    /// - `present` (the client loaded): noted, nothing answered;
    /// - `crashed` from the package's runner page: the mount fails (`MOUNT_FAILED`);
    /// - `hello`: parsed ([`parse_hello`]), then accepted only while the mount is pending,
    ///   with the nonce it was issued, once: the plugin becomes `mounted`, its heartbeat starts
    ///   and [`Effect::Welcome`] carries the welcome.
    ///
    /// Anything else, and every refused hello, is audited (`handshake_rejected`) and counted.
    pub fn handshake(&mut self, id: &str, message: Incoming<'_>, now_ms: f64) -> Vec<Effect> {
        match self.handshake_step(id, message.text.as_deref(), now_ms) {
            Ok(effects) => self.with_audit(effects),
            Err(why) => self.refuse_handshake(Some(id), &why, now_ms),
        }
    }

    fn handshake_step(
        &mut self,
        id: &str,
        text: Option<&str>,
        now_ms: f64,
    ) -> Result<Vec<Effect>, String> {
        let not_hello = || "a window message that is not a version-1 hello".to_owned();
        let Some(record) = self.plugins.get_mut(id).and_then(|p| p.mount.as_mut()) else {
            return Err(format!(
                "a window message for plugin {id:?}, which has no mount"
            ));
        };
        let text = text.ok_or_else(not_hello)?;
        let envelope: Value = (text.len() <= MAX_WINDOW_MESSAGE_BYTES)
            .then(|| crate::core::json::parse_value(text).ok())
            .flatten()
            .ok_or_else(not_hello)?;
        let kind = envelope.get("type").and_then(Value::as_str);
        let v1 = envelope.get("v").and_then(Value::as_u64) == Some(PROTOCOL_VERSION);
        let active = matches!(record.state, MountState::Pending | MountState::Live);
        match kind {
            Some("present") if v1 => {
                // A hint about timing only, so a refused page can be told from a slow one.
                if record.state == MountState::Pending {
                    record.announced = true;
                }
                return Ok(Vec::new());
            }
            Some("crashed") if active && record.mode.runner().is_some() => {
                // Only the runner page reports crashes; a plugin frame saying so only fails
                // itself.
                let why = envelope
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let why: String = why.chars().take(500).collect();
                let reason = format!("the code of plugin {id:?} crashed: {why}");
                return Ok(self.fail(id, ErrorCode::MountFailed, &reason, now_ms));
            }
            Some("hello") => {}
            _ => return Err(not_hello()),
        }
        match record.state {
            MountState::Pending => {}
            MountState::Live => {
                return Err(cold_text!(
                    "a second hello for a mount that already completed its handshake"
                )
                .to_owned())
            }
            MountState::Failed | MountState::Unmounted => {
                return Err(format!("a hello for plugin {id:?}, whose mount has ended"))
            }
        }
        if matches!(record.mode, MountMode::Shadow) {
            return Err(format!(
                "a hello for plugin {id:?}, whose shadow mount has no handshake"
            ));
        }
        let hello = parse_hello(text).map_err(|e| format!("a malformed hello: {e}"))?;
        if record.nonce.as_deref() != Some(hello.nonce.as_str()) {
            return Err("a hello with the wrong nonce".to_owned());
        }
        let mode = record.mode.name();
        let message = self.welcome(id).map_err(|e| e.message)?;
        if let Some(record) = self.plugins.get_mut(id).and_then(|p| p.mount.as_mut()) {
            record.state = MountState::Live;
            record.announced = true;
        }
        let _ = self.set_status(id, Status::Mounted, now_ms);
        // Frames and workers are watched; shadow mounts run no plugin code of their own.
        let _ = self.watch_liveness(id, now_ms);
        Ok(vec![Effect::Welcome {
            plugin: id.to_owned(),
            message,
            mode,
        }])
    }

    /// A shadow mount of `id` (begun with [`MountMode::Shadow`]) is in place: it is `mounted`,
    /// and the welcome (JSON text) goes to its `render` callback, if any.
    ///
    /// # Errors
    /// `NOT_FOUND`; `MOUNT_FAILED` when `id` has no pending shadow mount.
    pub fn connect_shadow(&mut self, id: &str, now_ms: f64) -> Result<String, WardenError> {
        let p = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        match p.mount.as_mut() {
            Some(m) if m.mode == MountMode::Shadow && m.state == MountState::Pending => {
                m.state = MountState::Live;
            }
            _ => {
                return Err(WardenError::new(
                    ErrorCode::MountFailed,
                    format!("plugin {id:?} has no pending shadow mount"),
                ))
            }
        }
        let message = self.welcome(id)?;
        self.set_status(id, Status::Mounted, now_ms)?;
        Ok(message)
    }

    /// Record a refused handshake (audited, counted): `plugin` is `None` for a message from a
    /// window that is no mount's frame, which only the browser layer can tell.
    pub fn refuse_handshake(
        &mut self,
        plugin: Option<&str>,
        why: &str,
        now_ms: f64,
    ) -> Vec<Effect> {
        self.rejected_handshakes = self.rejected_handshakes.saturating_add(1);
        self.audit_handshake_rejected(plugin, why, now_ms);
        self.with_audit(Vec::new())
    }

    /// Fail `id`'s mount (status `failed`, audited): the browser tears it down.
    pub fn fail(&mut self, id: &str, code: ErrorCode, reason: &str, now_ms: f64) -> Vec<Effect> {
        let _ = self.set_status(
            id,
            Status::Failed {
                code,
                message: reason.to_owned(),
            },
            now_ms,
        );
        self.with_audit(vec![Effect::TearDown {
            plugin: id.to_owned(),
            code,
            reason: reason.to_owned(),
        }])
    }

    /// The welcome for `id` (JSON text): what it may do now, its versions, and for the runner
    /// page what to run.
    fn welcome(&self, id: &str) -> Result<String, WardenError> {
        let info = self.welcome_info(id)?;
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        let runner = p
            .mount
            .as_ref()
            .and_then(|m| m.mode.runner())
            .map(|(kind, job)| RunnerWelcome {
                kind,
                code: job.code.as_str(),
                csp: &job.csp,
            });
        Ok(welcome_message(&Welcome {
            plugin_id: id,
            grants: &info.view.granted,
            actions: &info.view.actions,
            version: info.version.as_deref(),
            previous_version: info.previous_version.as_deref(),
            runner,
        }))
    }
}

/// What the browser does for one [`Outcome`] of plugin `plugin`'s message.
fn outcome_effects(plugin: &str, outcome: Outcome, out: &mut Vec<Effect>) {
    let post = |to: &str, message: String| Effect::Post {
        to: to.to_owned(),
        message,
    };
    match outcome {
        Outcome::Reply(reply) => out.push(post(plugin, reply)),
        Outcome::Drop => {}
        Outcome::Fetch(plan) => out.push(Effect::Fetch {
            plugin: plugin.to_owned(),
            plan,
        }),
        Outcome::AskPermission {
            call_id,
            permission,
            reason,
        } => out.push(Effect::AskPermission {
            plugin: plugin.to_owned(),
            call_id,
            permission,
            reason,
        }),
        Outcome::Notify {
            message,
            level,
            reply,
        } => {
            out.push(Effect::Notify {
                plugin: plugin.to_owned(),
                message,
                level,
            });
            out.push(post(plugin, reply));
        }
        Outcome::Emitted { name, data, reply } => {
            out.push(Effect::Emit {
                plugin: plugin.to_owned(),
                name,
                data,
            });
            out.push(post(plugin, reply));
        }
        Outcome::Render {
            call_id,
            html,
            clean_by,
        } => out.push(Effect::Render {
            plugin: plugin.to_owned(),
            call_id,
            html,
            clean_by,
        }),
        Outcome::Relay { to, message, reply } => {
            // A plugins.call to its callee, or the callee's answer to its caller: another
            // plugin's port, never the sender's.
            out.push(post(&to, message));
            if !reply.is_empty() {
                out.push(post(plugin, reply));
            }
        }
        Outcome::Suspend { reply } => {
            if !reply.is_empty() {
                out.push(post(plugin, reply));
            }
            // The engine already marked it failed with RATE_LIMITED.
            out.push(Effect::TearDown {
                plugin: plugin.to_owned(),
                code: ErrorCode::RateLimited,
                reason: "suspended for flooding".to_owned(),
            });
        }
        Outcome::Storage { call_id, plan } => out.push(Effect::Storage {
            plugin: plugin.to_owned(),
            call_id,
            plan,
        }),
    }
}
