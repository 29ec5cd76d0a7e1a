//! The browser side of the host: mounts, the handshake, each plugin's port, and carrying out
//! what the engine decides.
//!
//! Security shape (DESIGN.md §5, §9): the host window listens for exactly one `hello` per
//! mount, accepted only when `event.source` is the very `WindowProxy` of the iframe this mount
//! created *and* it carries the mount's one-time nonce. The answer transfers a dedicated
//! `MessagePort`; after that nothing from the window is trusted and all traffic is on the port.
//! `event.origin` is never used to identify a plugin: every sandboxed frame posts as `"null"`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Element, MessageChannel, MessageEvent, MessagePort, ShadowRootInit, ShadowRootMode};

use super::mount::{create_iframe, Frame};
use super::remote_ui::RemoteUi;
use super::storage::WebStorage;
use super::sys::{deferred, describe, error, js_error, nonce_hex, window};
use super::trusted_types::{trusted_document, trusted_html};
use crate::core::binary::BinaryForm;
use crate::core::csp::RunnerKind;
use crate::core::engine::{
    Engine, FetchPlan, FetchResponse, Heartbeat, HostConfig, Outcome, PendingUpdate,
    PermissionChange, Status, VerifiedCode,
};
use crate::core::error::{ErrorCode, WardenError};
use crate::core::manifest::Capability;
use crate::core::mount::{plan, FrameSource, MountContext, MountOptions, MountPlan};
use crate::core::network::{AttemptOutcome, RetryPolicy, TransportFailure};
use crate::core::protocol::{event_message, FetchBody, Level, Reply, EVENT_PONG};
use crate::core::provenance::Provenance;
use crate::core::ratelimit::Clock;
use crate::core::sanitize::Sanitizer;
use crate::core::storage::{decode_key, MemoryBackend, StorageBackend};

const NS: &str = "plugin-warden";

#[wasm_bindgen(module = "/src/web/fetch.js")]
extern "C" {
    #[wasm_bindgen(js_name = pwFetchOnce, catch)]
    fn fetch_once(
        url: &str,
        method: &str,
        headers: &Array,
        body: &JsValue,
        binary: bool,
        timeout_ms: u32,
        max_bytes: f64,
    ) -> Result<Promise, JsValue>;
}

/// Functions from the host's options.
#[derive(Default)]
pub(crate) struct Callbacks {
    pub(crate) on_permission_request: Option<Function>,
    pub(crate) on_audit: Option<Function>,
    pub(crate) on_event: Option<Function>,
    pub(crate) on_notify: Option<Function>,
    pub(crate) on_update_consent: Option<Function>,
}

enum Phase {
    AwaitingHello {
        resolve: Function,
        reject: Function,
        _timer: Timeout,
    },
    Connected {
        port: MessagePort,
        _listener: EventListener,
    },
    Shadow {
        host_element: Element,
        /// The port of a first-party `render` callback's SDK, if any.
        port: Option<(MessagePort, EventListener)>,
    },
}

/// What the package's runner page runs for a worker or bundle mount (sent with the
/// `welcome`): the verified code, where it runs, and the policy the runner applies first.
struct RunnerJob {
    kind: RunnerKind,
    code: String,
    csp: String,
}

/// How long after a `src` page's `load` event the host waits for the client's `present` (or
/// `hello`) before concluding the page was refused. The client announces itself while the
/// page's scripts run, before `load`; the grace only covers the two messages arriving out of
/// order across processes.
const REFUSAL_GRACE_MS: u32 = 1_000;

struct Mount {
    /// The element the host mounted into, and the mount options as given: an update remounts
    /// the plugin with both.
    container: Element,
    options: JsValue,
    frame: Option<Frame>,
    nonce: String,
    phase: Phase,
    /// For worker and bundle mounts: what the runner page runs.
    runner: Option<RunnerJob>,
    /// For remote-UI worker mounts (`ui: 'shadow'`): the host-rendered UI, removed on drop.
    remote_ui: Option<RemoteUi>,
    /// The frame's `load` events: the first is the mounted document; any later one means the
    /// frame navigated away from it. Dropped (and so removed) with the mount.
    _load: Option<EventListener>,
    /// For `src` pages under an embedded CSP: the refusal message, used when the page's `load`
    /// comes without the client having announced itself.
    refusal: Option<String>,
    /// The client in the frame said `present` (it loaded), or the handshake began.
    announced: bool,
    /// The timer started by the first `load` of a page that had not announced itself.
    _grace: Option<Timeout>,
}

impl Mount {
    /// Tear down everything this mount created: listener, port, timer, element.
    fn dispose(self, code: ErrorCode, message: &str) {
        match self.phase {
            Phase::AwaitingHello { reject, .. } => {
                let _ = reject.call1(&JsValue::NULL, &error(code, message));
            }
            Phase::Connected { port, .. } => port.close(),
            Phase::Shadow { host_element, port } => {
                if let Some((port, _)) = port {
                    port.close();
                }
                host_element.remove();
            }
        }
        if let Some(frame) = self.frame {
            frame.remove();
        }
    }
}

type HostEngine = Engine<Box<dyn StorageBackend>>;

/// The browser host. Shared by `Rc`; event handlers hold `Weak` references so dropping the
/// host (or `destroy`) frees everything.
pub(crate) struct Host {
    pub(crate) engine: RefCell<HostEngine>,
    callbacks: Callbacks,
    pub(crate) sanitizer: Rc<Sanitizer>,
    pub(crate) policy_name: String,
    /// `encrypt: true`: values are sealed with AES-GCM.
    encrypt: bool,
    /// The `storage` option (`local`, `session`, `memory`, `indexeddb`).
    storage_kind: String,
    /// `dangerous.srcWithoutEmbeddedCsp`: mount `src` pages where the browser cannot impose
    /// the SDK's policy.
    src_without_embedded_csp: bool,
    mounts: RefCell<BTreeMap<String, Mount>>,
    window_listener: RefCell<Option<EventListener>>,
    /// The window's `storage` event: another tab changed plugin data in the same storage area.
    storage_listener: RefCell<Option<EventListener>>,
    /// The liveness timer (every `LivenessConfig::tick_ms`), dropped by `destroy`.
    heartbeat: RefCell<Option<Interval>>,
    ignored_messages: Cell<u64>,
    rejected_handshakes: Cell<u64>,
    audit_seq: Cell<u64>,
    /// `{ exact: Set<string>, prefixes: string[] }`, mutated in place whenever the user or the
    /// registered plugins change, so JS can answer `hasPermission` without entering wasm.
    pub(crate) access_cache: Object,
}

/// What a handshake timeout says: the page the frame loaded and the usual reasons it stays
/// silent, so the first thing a host developer reads points at the fix.
fn timeout_message(
    plugin: &str,
    timeout_ms: u32,
    page: Option<&(String, bool)>,
    announced: bool,
) -> String {
    let head = format!("plugin {plugin:?} did not complete the handshake within {timeout_ms} ms");
    if announced {
        return format!(
            "{head}: plugin-warden/client loaded in its frame but no `connect()` hello arrived (does the plugin call `connect()`, and does its code run to that point? see the browser console)"
        );
    }
    match page {
        Some((url, true)) => format!(
            "{head}: the runner page {url} never answered. Likely causes: it is not served there (a 404: with esbuild or a CDN pass `runner` to `new PluginHost`, see the package README); it is served with your page's CSP (serve it without one: it carries its own); your page's CSP has no `frame-src` for it (`hostCsp(…, {{ workerRunner: true }})`). See the browser console."
        ),
        Some((url, false)) => format!(
            "{head}: the page {url} loaded no plugin-warden client. Likely causes: its module scripts were blocked by CORS (plugin frames have the opaque origin `null`: the plugin's server must answer `Origin: null` with `Access-Control-Allow-Origin: *`); the page or the client is missing (a 404); the browser refused the page under the embedded CSP (its server must send `Allow-CSP-From`); your page's CSP has no `frame-src` for its origin. See the browser console."
        ),
        None => format!(
            "{head}: the srcdoc document never loaded the client (a script error, or a `nonce` that does not match its CSP?). See the browser console."
        ),
    }
}

/// Wall-clock time for the engine's `now_ms` arguments: audit timestamps (`Date.now()`). Rate
/// limits and durations run on [`PerformanceClock`], installed with `Engine::set_clock`.
fn now() -> f64 {
    js_sys::Date::now()
}

/// `performance.now()`: monotonic milliseconds, for the engine's rate limits and durations.
/// Without `performance` (never in a supporting browser) it reads NaN, which the engine treats
/// as "no time passed" (the safe side: nothing refills).
struct PerformanceClock(Option<web_sys::Performance>);

impl Clock for PerformanceClock {
    fn now_ms(&self) -> f64 {
        self.0.as_ref().map_or(f64::NAN, web_sys::Performance::now)
    }
}

/// A host freed while mounts are pending (its `PluginHost` was garbage-collected or `free()`d)
/// settles them: every timer and listener holds the host weakly, so nothing else ever would.
impl Drop for Host {
    fn drop(&mut self) {
        let mounts = std::mem::take(self.mounts.get_mut());
        for (_, m) in mounts {
            m.dispose(
                ErrorCode::MountFailed,
                "the PluginHost was freed (garbage-collected or free()d) before this mount settled: keep a reference to the host while its plugins run",
            );
        }
    }
}

impl Host {
    pub(crate) fn new(config: HostConfig, callbacks: Callbacks) -> Result<Rc<Host>, WardenError> {
        let win = window()?;
        let encrypt = config.encrypt.unwrap_or(false);
        let backend: Box<dyn StorageBackend> = match config.storage.as_deref().unwrap_or("local") {
            "memory" => Box::new(MemoryBackend::new()),
            // Plugin calls become `Outcome::Storage` plans performed on IndexedDB; the
            // engine's synchronous store stays empty.
            "indexeddb" => {
                super::storage::indexeddb_available(encrypt)
                    .map_err(|m| WardenError::new(ErrorCode::InvalidArgument, m))?;
                Box::new(MemoryBackend::new())
            }
            kind => Box::new(
                WebStorage::open(kind)
                    .map_err(|m| WardenError::new(ErrorCode::InvalidArgument, m))?,
            ),
        };
        let sanitizer = Rc::new(
            Sanitizer::new(&config.sanitizer.clone().unwrap_or_default())
                .map_err(|e| WardenError::from_coded(&e))?,
        );
        let policy_name = config
            .trusted_types_policy
            .clone()
            .unwrap_or_else(|| "plugin-warden".to_owned());
        let storage_kind = config.storage.clone().unwrap_or_else(|| "local".to_owned());
        if encrypt {
            if storage_kind == "memory" {
                return Err(WardenError::new(
                    ErrorCode::InvalidArgument,
                    "encrypt: true is for persistent storage ('local', 'session', 'indexeddb'); 'memory' keeps nothing at rest",
                ));
            }
            // The per-plugin keys live in IndexedDB, and sealing needs WebCrypto.
            super::storage::indexeddb_available(true)
                .map_err(|m| WardenError::new(ErrorCode::InvalidArgument, m))?;
        }
        let src_without_embedded_csp = config
            .dangerous
            .as_ref()
            .and_then(|d| d.src_without_embedded_csp)
            .unwrap_or(false);
        let mut engine = Engine::new(config, backend)?;
        engine.set_clock(Box::new(PerformanceClock(win.performance())));
        let access_cache = Object::new();
        let _ = Reflect::set(
            &access_cache,
            &"exact".into(),
            &js_sys::Set::new(&JsValue::UNDEFINED),
        );
        let _ = Reflect::set(&access_cache, &"prefixes".into(), &Array::new());
        let host = Rc::new(Host {
            engine: RefCell::new(engine),
            callbacks,
            sanitizer,
            policy_name,
            encrypt,
            storage_kind,
            src_without_embedded_csp,
            mounts: RefCell::new(BTreeMap::new()),
            window_listener: RefCell::new(None),
            storage_listener: RefCell::new(None),
            heartbeat: RefCell::new(None),
            ignored_messages: Cell::new(0),
            rejected_handshakes: Cell::new(0),
            audit_seq: Cell::new(0),
            access_cache,
        });
        host.refresh_access_cache();
        let weak = Rc::downgrade(&host);
        let listener = EventListener::new(&win, "message", move |event| {
            if let (Some(host), Some(event)) = (weak.upgrade(), event.dyn_ref::<MessageEvent>()) {
                host.on_window_message(event);
            }
        });
        *host.window_listener.borrow_mut() = Some(listener);
        // Another tab (or frame of this origin) wrote plugin data: the cached per-plugin byte
        // counts are stale, so the next quota check rescans. Without this a plugin open in N
        // tabs could store N times its quota.
        let weak = Rc::downgrade(&host);
        let storage_listener = EventListener::new(&win, "storage", move |event| {
            let Some(host) = weak.upgrade() else {
                return;
            };
            let key = Reflect::get(event, &"key".into())
                .ok()
                .and_then(|k| k.as_string());
            // `key` is null when the other tab called `clear()`.
            if key.as_deref().is_none_or(|k| decode_key(k).is_some()) {
                host.engine.borrow_mut().storage_changed_elsewhere();
            }
        });
        *host.storage_listener.borrow_mut() = Some(storage_listener);
        let tick_ms = host.engine.borrow().liveness_config().tick_ms();
        let weak = Rc::downgrade(&host);
        *host.heartbeat.borrow_mut() = Some(Interval::new(tick_ms, move || {
            if let Some(host) = weak.upgrade() {
                host.on_heartbeat();
            }
        }));
        Ok(host)
    }

    /// Rebuild the JS-side access cache from the engine's compiled access.
    pub(crate) fn refresh_access_cache(&self) {
        let engine = self.engine.borrow();
        let access = engine.compiled_access();
        if let Ok(set) = Reflect::get(&self.access_cache, &"exact".into()) {
            let set: js_sys::Set = set.unchecked_into();
            set.clear();
            for a in access.exact() {
                set.add(&JsValue::from_str(a));
            }
        }
        let prefixes: Array = access
            .prefixes()
            .iter()
            .map(|p| JsValue::from_str(p))
            .collect();
        let _ = Reflect::set(&self.access_cache, &"prefixes".into(), &prefixes);
    }

    pub(crate) fn ignored_messages(&self) -> u64 {
        self.ignored_messages.get()
    }

    pub(crate) fn rejected_handshakes(&self) -> u64 {
        self.rejected_handshakes.get()
    }

    /// Hand new audit events to `onAudit`. A throwing callback is ignored: the host's own
    /// listener must not break the bridge.
    pub(crate) fn deliver_audit(&self) {
        let Some(cb) = &self.callbacks.on_audit else {
            return;
        };
        let events = self.engine.borrow().audit_since(self.audit_seq.get());
        for e in events {
            self.audit_seq.set(e.seq);
            if let Ok(v) = super::sys::to_js(&e) {
                let _ = cb.call1(&JsValue::NULL, &v);
            }
        }
    }

    // ----- mounting -------------------------------------------------------------------------

    /// Start mounting; the promise settles when the plugin is ready or has failed.
    ///
    /// # Security
    /// Code given with the mount (`code`, with an optional `signature`) runs only once
    /// [`Host::verified_code`] passed it — the checks install-time code passes. A signature
    /// needs WebCrypto, so that path is asynchronous.
    pub(crate) fn mount(self: &Rc<Self>, id: &str, element: &Element, opts: JsValue) -> Promise {
        let result = match mount_time_code(&opts) {
            Ok(Some((code, signature, opts))) => {
                let (host, id, element) = (self.clone(), id.to_owned(), element.clone());
                return wasm_bindgen_futures::future_to_promise(async move {
                    let verified = host.verified_code(&id, code, signature).await;
                    let started =
                        verified.and_then(|v| host.start_mount(&id, &element, opts, Some(v)));
                    host.deliver_audit();
                    JsFuture::from(started.map_err(|e| js_error(&e))?).await
                });
            }
            Ok(None) => self.start_mount(id, element, opts, None),
            Err(e) => Err(e),
        };
        self.deliver_audit();
        match result {
            Ok(p) => p,
            Err(e) => Promise::reject(&js_error(&e)),
        }
    }

    /// Check code given at mount time (a worker's `code` or fetched `src`, a bundle iframe's
    /// `code`) exactly as install-time code: the signature, if any, over the envelope of the
    /// installed manifest and this code (WebCrypto), then `requireSignatures`,
    /// `entry.integrity` and bundle analysis in the engine. The one function every mount path
    /// that runs code it was handed calls; the result goes to `Engine::mount_code`.
    ///
    /// # Errors
    /// `NOT_FOUND`, `SIGNATURE_INVALID`, `INTEGRITY_MISMATCH`, `BUNDLE_REJECTED`.
    pub(crate) async fn verified_code(
        &self,
        id: &str,
        code: String,
        signature: Option<String>,
    ) -> Result<VerifiedCode, WardenError> {
        let check = self
            .engine
            .borrow()
            .mount_signature(id, &code, signature.as_deref());
        let provenance = match check {
            Err(e) => Err(e),
            Ok(None) => Ok(Provenance::Unsigned),
            Ok(Some(check)) => super::crypto::verify(check).await.map(Provenance::Signed),
        };
        let verified = self
            .engine
            .borrow_mut()
            .verify_code(id, code, provenance, now());
        verified
    }

    fn start_mount(
        self: &Rc<Self>,
        id: &str,
        element: &Element,
        opts: JsValue,
        provided: Option<VerifiedCode>,
    ) -> Result<Promise, WardenError> {
        let (allow, entry_src, assets, has_code) = {
            let engine = self.engine.borrow();
            if let Status::Failed { code, message } = engine.status(id)? {
                if engine.manifest(id).is_err() {
                    return Err(WardenError::new(
                        ErrorCode::MountFailed,
                        format!("plugin {id:?} failed to install ({code}: {message}) and cannot be mounted"),
                    ));
                }
            }
            let m = engine.manifest(id)?;
            (
                m.allow().to_vec(),
                m.entry().map(|e| e.src().to_owned()),
                m.assets().to_vec(),
                engine.mount_code(id, None).is_ok(),
            )
        };
        if self.mounts.borrow().contains_key(id) {
            return Err(WardenError::new(
                ErrorCode::AlreadyExists,
                format!("plugin {id:?} is already mounted; unmount it first"),
            ));
        }
        let given = opts.clone();
        // A `render` function (first-party shadow mounts) is not JSON: take it off first.
        let render = Reflect::get(&opts, &"render".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        let mut opts: MountOptions =
            super::sys::from_js(&opts, "mount options", ErrorCode::MountFailed)?;
        opts.render = render.is_some();
        let win = window()?;
        let internal = |e: JsValue| WardenError::new(ErrorCode::Internal, describe(&e));
        let host_url = win.location().href().map_err(internal)?;
        let host_origin = win.location().origin().map_err(internal)?;
        let ctx = MountContext {
            host_url: &host_url,
            plugin_id: id,
            allow: &allow,
            entry_src: entry_src.as_deref(),
            assets: &assets,
            has_code,
        };
        let planned = plan(&opts, &ctx).map_err(|e| WardenError::from_coded(&e))?;
        let document = win.document().ok_or_else(|| {
            WardenError::new(ErrorCode::MountFailed, "the window has no document")
        })?;
        // Mount-time code reaches here only as `provided`, verified by Host::mount; without
        // it, the code checked at install runs.
        let mut provided = provided;
        let mut job = |kind, code: Option<String>, csp| -> Result<Option<RunnerJob>, WardenError> {
            let provided = provided.take();
            if code.is_some() != provided.is_some() {
                // invariant: Host::mount verifies every mount-time `code` first.
                return Err(WardenError::new(
                    ErrorCode::Internal,
                    "mount-time code reached the mount unverified",
                ));
            }
            let code = self.engine.borrow().mount_code(id, provided)?;
            Ok(Some(RunnerJob {
                kind,
                code: code.as_str().to_owned(),
                csp,
            }))
        };
        let (plan, runner, ui) = match planned {
            MountPlan::Iframe(p) => (p, None, None),
            MountPlan::Worker {
                frame,
                code,
                csp,
                ui,
            } => (frame, job(RunnerKind::Worker, code, csp)?, ui),
            MountPlan::Bundle { frame, code, csp } => {
                (frame, job(RunnerKind::Frame, code, csp)?, None)
            }
            MountPlan::Shadow { html, .. } => {
                return self.mount_shadow(id, &document, element, &given, html.as_deref(), render)
            }
        };
        let refusal = match (&plan.source, &plan.csp) {
            (FrameSource::Src(url), Some(csp)) => Some(format!(
                "the plugin page {url} was not displayed: the browser refused it under the policy the SDK requires (CSP Embedded Enforcement), or it does not load plugin-warden/client with its document. The page's server must send the header `Allow-CSP-From: {host_origin}` (or `*`), or a Content-Security-Policy at least as strict as: {csp}"
            )),
            _ => None,
        };
        let nonce = nonce_hex()?;
        let bootstrap = format!("{NS}|1|{nonce}|{host_origin}");
        let srcdoc = match &plan.source {
            FrameSource::Srcdoc(doc) => {
                Some(trusted_document(&self.policy_name, &self.sanitizer, doc)?)
            }
            FrameSource::Src(_) => None,
        };
        let frame = create_iframe(
            &document,
            element,
            &plan,
            &bootstrap,
            runner
                .as_ref()
                .is_some_and(|r| r.kind == RunnerKind::Worker),
            srcdoc.as_ref(),
            self.src_without_embedded_csp,
        )?;
        let load = {
            let weak = Rc::downgrade(self);
            let plugin = id.to_owned();
            let mount_nonce = nonce.clone();
            let loads = Cell::new(0u32);
            EventListener::new(&frame.element, "load", move |_| {
                loads.set(loads.get().saturating_add(1));
                if let Some(host) = weak.upgrade() {
                    host.on_frame_load(&plugin, &mount_nonce, loads.get());
                }
            })
        };

        let remote_ui = match ui {
            Some(_) => Some(self.remote_ui(&document, element, id, &assets)?),
            None => None,
        };
        let (promise, resolve, reject) = deferred()?;
        let weak = Rc::downgrade(self);
        let plugin = id.to_owned();
        let timeout_ms = plan.timeout_ms;
        let page = match &plan.source {
            FrameSource::Src(url) => Some((url.clone(), runner.is_some())),
            FrameSource::Srcdoc(_) => None,
        };
        let timer = Timeout::new(timeout_ms, move || {
            if let Some(host) = weak.upgrade() {
                let announced = host
                    .mounts
                    .borrow()
                    .get(&plugin)
                    .is_some_and(|m| m.announced);
                let message = timeout_message(&plugin, timeout_ms, page.as_ref(), announced);
                host.fail(&plugin, ErrorCode::Timeout, &message);
            }
        });
        self.mounts.borrow_mut().insert(
            id.to_owned(),
            Mount {
                container: element.clone(),
                options: given.clone(),
                frame: Some(frame),
                nonce,
                phase: Phase::AwaitingHello {
                    resolve,
                    reject,
                    _timer: timer,
                },
                runner,
                remote_ui,
                _load: Some(load),
                refusal,
                announced: false,
                _grace: None,
            },
        );
        {
            let mut engine = self.engine.borrow_mut();
            engine.set_status(id, Status::Mounting, now())?;
            engine.set_mount_ui(id, ui)?;
        }
        Ok(promise)
    }

    /// A remote UI for plugin `id` in `element`, sanitizing with the host's policy narrowed to
    /// the plugin's asset origins; its `ui.action`s go to the plugin's port.
    fn remote_ui(
        self: &Rc<Self>,
        document: &web_sys::Document,
        element: &Element,
        id: &str,
        assets: &[String],
    ) -> Result<RemoteUi, WardenError> {
        let weak = Rc::downgrade(self);
        let plugin = id.to_owned();
        RemoteUi::new(
            document,
            element,
            id,
            Rc::new(self.sanitizer.for_remote_ui(assets)),
            &self.policy_name,
            move |data| {
                if let Some(host) = weak.upgrade() {
                    host.send_event(&plugin, "ui.action", &data);
                }
            },
        )
    }

    /// Post a host event to one connected plugin (nothing if it is not connected).
    fn send_event(&self, id: &str, name: &str, data: &serde_json::Value) {
        self.post_to(id, &event_message(name, data));
    }

    fn mount_shadow(
        self: &Rc<Self>,
        id: &str,
        document: &web_sys::Document,
        element: &Element,
        given: &JsValue,
        html: Option<&str>,
        render: Option<Function>,
    ) -> Result<Promise, WardenError> {
        let failed = |e: JsValue| WardenError::new(ErrorCode::MountFailed, describe(&e));
        let host_element = document.create_element("div").map_err(failed)?;
        let _ = host_element.set_attribute("data-plugin", id);
        // Closed: the page's other scripts (and plugin HTML) get no handle to the root.
        let root = host_element
            .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Closed))
            .map_err(failed)?;
        if let Some(html) = html {
            let trusted = trusted_html(&self.policy_name, &self.sanitizer, html)?;
            // innerHTML through Reflect so the TrustedHTML object (not a string) reaches the sink.
            Reflect::set(&root, &"innerHTML".into(), &trusted).map_err(failed)?;
        }
        element.append_child(&host_element).map_err(failed)?;
        let (port, theirs) = match &render {
            Some(_) => {
                let (ours, listener, theirs) = self.open_port(id)?;
                (Some((ours, listener)), Some(theirs))
            }
            None => (None, None),
        };
        self.mounts.borrow_mut().insert(
            id.to_owned(),
            Mount {
                container: element.clone(),
                options: given.clone(),
                frame: None,
                nonce: String::new(),
                phase: Phase::Shadow { host_element, port },
                runner: None,
                remote_ui: None,
                _load: None,
                refusal: None,
                announced: true,
                _grace: None,
            },
        );
        {
            let mut engine = self.engine.borrow_mut();
            engine.set_status(id, Status::Mounting, now())?;
            engine.set_status(id, Status::Mounted, now())?;
        }
        if let (Some(render), Some(theirs)) = (render, theirs) {
            let welcome = self.welcome(id, None)?;
            if let Err(e) = render.call3(&JsValue::NULL, &root, &theirs, &welcome) {
                let message = format!(
                    "the render callback of plugin {id:?} threw: {}",
                    describe(&e)
                );
                self.fail(id, ErrorCode::MountFailed, &message);
                return Err(WardenError::new(ErrorCode::MountFailed, message));
            }
        }
        Ok(Promise::resolve(&mount_info(id, "shadow")))
    }

    /// Mark a plugin failed and tear its mount down. Never throws: a plugin's failure is not
    /// the host's.
    pub(crate) fn fail(&self, id: &str, code: ErrorCode, message: &str) {
        let _ = self.engine.borrow_mut().set_status(
            id,
            Status::Failed {
                code,
                message: message.to_owned(),
            },
            now(),
        );
        let mount = self.mounts.borrow_mut().remove(id);
        if let Some(mount) = mount {
            mount.dispose(code, message);
        }
        self.deliver_audit();
    }

    /// Remove a plugin's mount and everything it created.
    pub(crate) fn unmount(&self, id: &str) -> Result<(), WardenError> {
        self.engine.borrow().status(id)?;
        let mount = self.mounts.borrow_mut().remove(id);
        if let Some(mount) = mount {
            mount.dispose(
                ErrorCode::MountFailed,
                "the plugin was unmounted before it was ready",
            );
        }
        let result = self
            .engine
            .borrow_mut()
            .set_status(id, Status::Installed, now());
        self.deliver_audit();
        result
    }

    /// Unmount (if mounted) and uninstall.
    pub(crate) fn uninstall(&self, id: &str, remove_data: bool) -> Result<(), WardenError> {
        if self.mounts.borrow().contains_key(id) {
            self.unmount(id)?;
        }
        let result = self.engine.borrow_mut().uninstall(id, remove_data, now());
        let indexeddb = self.storage_kind == "indexeddb";
        if result.is_ok() && remove_data && (indexeddb || self.encrypt) {
            // Asynchronous: IndexedDB data and the plugin's key go in the background.
            let (plugin, encrypt) = (id.to_owned(), self.encrypt);
            spawn_local(async move {
                let _ = super::storage::remove_plugin_data(&plugin, indexeddb, encrypt).await;
            });
        }
        self.refresh_access_cache();
        self.deliver_audit();
        result
    }

    /// Unmount everything and stop listening.
    pub(crate) fn destroy(&self) {
        let mounts = std::mem::take(&mut *self.mounts.borrow_mut());
        for (id, m) in mounts {
            m.dispose(ErrorCode::MountFailed, "the host was destroyed");
            let _ = self
                .engine
                .borrow_mut()
                .set_status(&id, Status::Installed, now());
        }
        self.window_listener.borrow_mut().take();
        self.storage_listener.borrow_mut().take();
        self.heartbeat.borrow_mut().take();
    }

    // ----- liveness, permission changes, updates -------------------------------------------

    /// The heartbeat timer: post the pings the engine asks for, fail the silent plugins. Never
    /// waits on a plugin.
    fn on_heartbeat(&self) {
        let beats = self.engine.borrow_mut().heartbeat(now());
        for beat in beats {
            match beat {
                Heartbeat::Ping { plugin, message } => self.post_to(&plugin, &message),
                Heartbeat::Unresponsive { plugin, message } => {
                    self.fail(&plugin, ErrorCode::Timeout, &message)
                }
            }
        }
    }

    /// Post JSON text on a connected plugin's port (nothing if it is not connected).
    fn post_to(&self, id: &str, json: &str) {
        self.post_to_with(id, json, &Array::new());
    }

    /// [`Self::post_to`] for text whose binary placeholders name `buffers` (handed over).
    fn post_to_with(&self, id: &str, json: &str, buffers: &Array) {
        let mounts = self.mounts.borrow();
        let port = match mounts.get(id).map(|m| &m.phase) {
            Some(Phase::Connected { port, .. }) => Some(port),
            Some(Phase::Shadow {
                port: Some((port, _)),
                ..
            }) => Some(port),
            _ => None,
        };
        if let Some(port) = port {
            super::binary::post(port, json, buffers, false);
        }
    }

    /// Tell plugins what they may do now (`permissions.changed`).
    pub(crate) fn post_permission_changes(&self, changes: Vec<PermissionChange>) {
        for c in changes {
            self.post_to(&c.plugin, &c.message());
        }
    }

    /// Ask whether an update that widens what the plugin may do may go on: the host's
    /// `onUpdateConsent`, or the default dialog. A throwing or rejecting callback is a "no".
    pub(crate) fn ask_update_consent(&self, pending: &PendingUpdate) -> Promise {
        let diff = pending.diff();
        let Some(cb) = &self.callbacks.on_update_consent else {
            let words: Vec<&str> = diff.added.iter().map(|c| c.words.as_str()).collect();
            return super::dialog::ask_update(pending.id(), pending.from(), pending.to(), &words);
        };
        let arg = Object::new();
        let _ = Reflect::set(&arg, &"pluginId".into(), &pending.id().into());
        let _ = Reflect::set(&arg, &"from".into(), &pending.from().into());
        let _ = Reflect::set(&arg, &"to".into(), &pending.to().into());
        for (key, list) in [("added", &diff.added), ("removed", &diff.removed)] {
            let v = super::sys::to_js(list).unwrap_or_else(|_| Array::new().into());
            let _ = Reflect::set(&arg, &key.into(), &v);
        }
        match cb.call1(&JsValue::NULL, &arg) {
            Ok(v) => Promise::resolve(&v),
            Err(_) => Promise::resolve(&JsValue::FALSE),
        }
    }

    /// After an update: remount a mounted plugin into the same element with the same options
    /// (minus a mount-time `code`, so the updated code runs). `None` when it was not mounted.
    pub(crate) fn remount(self: &Rc<Self>, id: &str) -> Option<Promise> {
        let (container, options) = {
            let mounts = self.mounts.borrow();
            let m = mounts.get(id)?;
            (m.container.clone(), m.options.clone())
        };
        let _ = self.unmount(id);
        let options = if options.is_object() {
            let copy = Object::assign(&Object::new(), options.unchecked_ref());
            let _ = Reflect::delete_property(&copy, &"code".into());
            copy.into()
        } else {
            options
        };
        Some(self.mount(id, &container, options))
    }

    /// Send a host event to every plugin subscribed to `name`. `buffers` is the binary side
    /// table of `data` (the host page's own buffers: each plugin gets a copy).
    pub(crate) fn emit(&self, name: &str, data: &serde_json::Value, buffers: &Array) -> usize {
        let subscribers = self.engine.borrow().subscribers(name);
        let message = event_message(name, data);
        let mounts = self.mounts.borrow();
        let mut sent = 0;
        for id in subscribers {
            if let Some(Mount {
                phase: Phase::Connected { port, .. },
                ..
            }) = mounts.get(&id)
            {
                super::binary::post(port, &message, buffers, true);
                sent += 1;
            }
        }
        sent
    }

    // ----- the handshake ------------------------------------------------------------------

    fn on_window_message(self: &Rc<Self>, event: &MessageEvent) {
        let data = event.data();
        let is_ours = data.is_object()
            && Reflect::get(&data, &"ns".into())
                .ok()
                .and_then(|v| v.as_string())
                .as_deref()
                == Some(NS);
        if !is_ours {
            self.ignored_messages.set(self.ignored_messages.get() + 1);
            return;
        }
        let kind = Reflect::get(&data, &"type".into())
            .ok()
            .and_then(|v| v.as_string());
        let nonce = Reflect::get(&data, &"nonce".into())
            .ok()
            .and_then(|v| v.as_string());
        let source = event.source();
        let found = self.mounts.borrow().iter().find_map(|(id, m)| {
            let frame = m.frame.as_ref()?;
            let same = source
                .as_ref()
                .is_some_and(|s| Object::is(s, frame.window.as_ref()));
            same.then(|| id.clone())
        });
        let Some(id) = found else {
            return self.reject_handshake(
                None,
                "a plugin-warden message from a window that is no mounted plugin",
            );
        };
        let version = Reflect::get(&data, &"v".into())
            .ok()
            .and_then(|v| v.as_f64());
        if kind.as_deref() == Some("present") && version == Some(1.0) {
            // The client loaded in that frame: a hint about timing only (it proves nothing and
            // grants nothing), so a refused page can be told from a slow one.
            if let Some(m) = self.mounts.borrow_mut().get_mut(&id) {
                m.announced = true;
            }
            return;
        }
        if kind.as_deref() == Some("crashed") && self.runs_in_runner(&id) {
            // Only the runner page reports crashes; a plugin frame saying so only fails
            // itself.
            let why = Reflect::get(&data, &"message".into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default();
            let why: String = why.chars().take(500).collect();
            return self.fail(
                &id,
                ErrorCode::MountFailed,
                &format!("the code of plugin {id:?} crashed: {why}"),
            );
        }
        if kind.as_deref() != Some("hello") || version != Some(1.0) {
            return self
                .reject_handshake(Some(&id), "a window message that is not a version-1 hello");
        }
        let mut mounts = self.mounts.borrow_mut();
        let Some(mount) = mounts.get_mut(&id) else {
            return;
        };
        if !matches!(mount.phase, Phase::AwaitingHello { .. }) {
            drop(mounts);
            return self.reject_handshake(
                Some(&id),
                "a second hello for a mount that already completed its handshake",
            );
        }
        if nonce.as_deref() != Some(mount.nonce.as_str()) {
            drop(mounts);
            return self.reject_handshake(Some(&id), "a hello with the wrong nonce");
        }
        let Some(frame) = mount.frame.as_ref() else {
            return;
        };
        mount.announced = true;
        mount._grace = None;
        let mode = match &mount.runner {
            Some(RunnerJob {
                kind: RunnerKind::Worker,
                ..
            }) => "worker",
            _ => "iframe",
        };
        let connected = match self.connect(&id, frame, mount.runner.as_ref()) {
            Ok(c) => c,
            Err(e) => {
                drop(mounts);
                return self.fail(&id, e.code, &e.message);
            }
        };
        let previous = std::mem::replace(&mut mount.phase, connected);
        drop(mounts);
        {
            let mut engine = self.engine.borrow_mut();
            let _ = engine.set_status(&id, Status::Mounted, now());
            // Frames and workers are watched; shadow mounts run no plugin code of their own.
            let _ = engine.watch_liveness(&id, now());
        }
        if let Phase::AwaitingHello { resolve, .. } = previous {
            let _ = resolve.call1(&JsValue::NULL, &mount_info(&id, mode));
        }
        self.deliver_audit();
    }

    fn runs_in_runner(&self, id: &str) -> bool {
        self.mounts
            .borrow()
            .get(id)
            .is_some_and(|m| m.runner.is_some())
    }

    /// A mount's frame finished loading a document. The first load is the document the SDK
    /// mounted; a `src` page that loaded without the client announcing itself was most likely
    /// refused by the browser (an error page loads instead), so it fails soon, not at the
    /// handshake timeout. Any later load means the frame navigated away: the plugin fails at
    /// once (the navigation's request has left; see docs/security.md).
    fn on_frame_load(self: &Rc<Self>, id: &str, nonce: &str, count: u32) {
        let mut mounts = self.mounts.borrow_mut();
        let Some(mount) = mounts.get_mut(id).filter(|m| m.nonce == nonce) else {
            return;
        };
        if count > 1 {
            drop(mounts);
            return self.fail(
                id,
                ErrorCode::MountFailed,
                &format!("plugin {id:?} navigated its frame away from the document the SDK mounted; the frame was removed"),
            );
        }
        if mount.announced || !matches!(mount.phase, Phase::AwaitingHello { .. }) {
            return;
        }
        let Some(message) = mount.refusal.clone() else {
            return;
        };
        let weak = Rc::downgrade(self);
        let plugin = id.to_owned();
        let mount_nonce = nonce.to_owned();
        mount._grace = Some(Timeout::new(REFUSAL_GRACE_MS, move || {
            let Some(host) = weak.upgrade() else {
                return;
            };
            let still_silent = host.mounts.borrow().get(&plugin).is_some_and(|m| {
                m.nonce == mount_nonce
                    && !m.announced
                    && matches!(m.phase, Phase::AwaitingHello { .. })
            });
            if still_silent {
                host.fail(&plugin, ErrorCode::MountFailed, &message);
            }
        }));
    }

    fn reject_handshake(&self, plugin: Option<&str>, why: &str) {
        self.rejected_handshakes
            .set(self.rejected_handshakes.get() + 1);
        self.engine
            .borrow_mut()
            .audit_handshake_rejected(plugin, why, now());
        self.deliver_audit();
    }

    /// Give the plugin its own port, answering the `hello`.
    fn connect(
        self: &Rc<Self>,
        id: &str,
        frame: &Frame,
        runner: Option<&RunnerJob>,
    ) -> Result<Phase, WardenError> {
        let (port, listener, theirs) = self.open_port(id)?;
        let welcome = self.welcome(id, runner)?;
        // "*" is the only target an opaque-origin frame can be addressed with; the recipient is
        // pinned by identity instead: the exact WindowProxy this mount created.
        frame
            .window
            .post_message_with_transfer(&welcome, "*", &Array::of1(&theirs))
            .map_err(|e| WardenError::new(ErrorCode::MountFailed, describe(&e)))?;
        Ok(Phase::Connected {
            port,
            _listener: listener,
        })
    }

    /// A dedicated channel for one plugin: our end listens (every message goes to the
    /// engine), the other end is for the plugin.
    fn open_port(
        self: &Rc<Self>,
        id: &str,
    ) -> Result<(MessagePort, EventListener, MessagePort), WardenError> {
        let channel = MessageChannel::new()
            .map_err(|e| WardenError::new(ErrorCode::MountFailed, describe(&e)))?;
        let port = channel.port1();
        let weak: Weak<Host> = Rc::downgrade(self);
        let plugin = id.to_owned();
        let reply_port = port.clone();
        let listener = EventListener::new(&port, "message", move |event| {
            if let (Some(host), Some(event)) = (weak.upgrade(), event.dyn_ref::<MessageEvent>()) {
                host.on_port_message(&plugin, &reply_port, event);
            }
        });
        port.start();
        Ok((port, listener, channel.port2()))
    }

    /// The `welcome` message: `{ ns, v, type: "welcome", pluginId, grants }`, and for the runner
    /// page `kind` (`"worker"` | `"frame"`), `code` and `csp`.
    fn welcome(&self, id: &str, runner: Option<&RunnerJob>) -> Result<JsValue, WardenError> {
        let info = self.engine.borrow().welcome_info(id)?;
        let welcome = Object::new();
        let _ = Reflect::set(&welcome, &"ns".into(), &NS.into());
        let _ = Reflect::set(&welcome, &"v".into(), &1.into());
        let _ = Reflect::set(&welcome, &"type".into(), &"welcome".into());
        let _ = Reflect::set(&welcome, &"pluginId".into(), &id.into());
        let strings =
            |list: &[&str]| -> Array { list.iter().map(|s| JsValue::from_str(s)).collect() };
        let actions: Vec<&str> = info.view.actions.iter().map(String::as_str).collect();
        let _ = Reflect::set(&welcome, &"grants".into(), &strings(&info.view.granted));
        let _ = Reflect::set(&welcome, &"actions".into(), &strings(&actions));
        let _ = Reflect::set(
            &welcome,
            &"version".into(),
            &info.version.map(JsValue::from).unwrap_or(JsValue::NULL),
        );
        let _ = Reflect::set(
            &welcome,
            &"previousVersion".into(),
            &info
                .previous_version
                .map(JsValue::from)
                .unwrap_or(JsValue::NULL),
        );
        if let Some(job) = runner {
            let kind = match job.kind {
                RunnerKind::Worker => "worker",
                RunnerKind::Frame => "frame",
            };
            let _ = Reflect::set(&welcome, &"kind".into(), &kind.into());
            let _ = Reflect::set(&welcome, &"code".into(), &job.code.as_str().into());
            let _ = Reflect::set(&welcome, &"csp".into(), &job.csp.as_str().into());
        }
        Ok(welcome.into())
    }

    // ----- calls ------------------------------------------------------------------------------

    fn on_port_message(self: &Rc<Self>, id: &str, port: &MessagePort, event: &MessageEvent) {
        let data = event.data();
        // A pong answering the outstanding ping is consumed here, before the rate limiter: the
        // heartbeat must not cost the plugin its call budget. Anything else shaped like a pong
        // goes on as any other message (rate-limited, then refused by the parser).
        if Reflect::get(&data, &"event".into())
            .ok()
            .and_then(|v| v.as_string())
            .as_deref()
            == Some(EVENT_PONG)
        {
            let seq = Reflect::get(&data, &"data".into())
                .and_then(|d| Reflect::get(&d, &"seq".into()))
                .ok()
                .and_then(|v| v.as_f64())
                .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= 9_007_199_254_740_991.0);
            if let Some(seq) = seq {
                if self.engine.borrow_mut().pong(id, seq as u64, now()) {
                    return;
                }
            }
        }
        // The id as sent (a safe integer), only to answer messages refused before parsing.
        let id_hint = Reflect::get(&data, &"id".into())
            .ok()
            .and_then(|v| v.as_f64())
            .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= 9_007_199_254_740_991.0)
            .map(|n| n as u64);
        // Rate limit first: a flood's refused messages are neither serialized nor parsed.
        let refused = self.engine.borrow_mut().admit(id, id_hint, now());
        let (outcome, buffers) = match refused {
            Some(outcome) => (outcome, Array::new()),
            None => {
                // Binary data goes to a side table (a stored value's inline, as base64); the
                // rest is JSON text, unreadable (None) on a cycle or a BigInt.
                let inline = Reflect::get(&data, &"method".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .as_deref()
                    == Some("storage.set");
                let encoded = super::binary::encode(&data, inline);
                let outcome = self.engine.borrow_mut().handle_admitted(
                    id,
                    encoded.as_ref().map(|e| e.text.as_str()),
                    id_hint,
                    now(),
                );
                (outcome, encoded.map(|e| e.buffers).unwrap_or_default())
            }
        };
        self.carry_out(id, port, outcome, &buffers);
        self.deliver_audit();
    }

    /// Carry out what the engine decided about one message; `buffers` is that message's
    /// binary side table (its placeholders may be in a relay, an event or a fetch body).
    fn carry_out(self: &Rc<Self>, id: &str, port: &MessagePort, outcome: Outcome, buffers: &Array) {
        match outcome {
            Outcome::Reply(reply) => post(port, &reply),
            Outcome::Drop => {}
            Outcome::Relay { to, message, reply } => {
                // A plugins.call to its callee, or the callee's answer to its caller: another
                // plugin's port, never the sender's.
                self.post_to_with(&to, &message, buffers);
                if !reply.is_empty() {
                    post(port, &reply);
                }
            }
            Outcome::Suspend { reply } => {
                if !reply.is_empty() {
                    post(port, &reply);
                }
                // The engine already marked it failed with RATE_LIMITED; tear the mount down.
                let mount = self.mounts.borrow_mut().remove(id);
                if let Some(m) = mount {
                    m.dispose(ErrorCode::RateLimited, "suspended for flooding");
                }
            }
            Outcome::Render { call_id, html } => {
                let rendered = match self
                    .mounts
                    .borrow()
                    .get(id)
                    .and_then(|m| m.remote_ui.as_ref())
                {
                    Some(ui) => ui.render(&html),
                    None => Err(WardenError::new(
                        ErrorCode::MountFailed,
                        format!("plugin {id:?} has no remote UI to render into"),
                    )),
                };
                let reply = match rendered {
                    Ok(()) => Reply::ok(call_id, Some(&serde_json::Value::Null)),
                    Err(e) => Reply::err(call_id, &e),
                };
                post(port, &reply);
            }
            Outcome::Notify {
                message,
                level,
                reply,
            } => {
                self.notify(id, &message, level);
                post(port, &reply);
            }
            Outcome::Emitted { name, data, reply } => {
                if let Some(cb) = &self.callbacks.on_event {
                    let arg = Object::new();
                    let _ = Reflect::set(&arg, &"pluginId".into(), &id.into());
                    let _ = Reflect::set(&arg, &"name".into(), &name.as_str().into());
                    // The host page gets the message's own buffers (nothing else uses them).
                    let value = serde_json::to_string(&data)
                        .ok()
                        .and_then(|text| super::binary::decode(&text, buffers, false))
                        .map_or(JsValue::NULL, |(v, _)| v);
                    let _ = Reflect::set(&arg, &"data".into(), &value);
                    let _ = cb.call1(&JsValue::NULL, &arg);
                }
                post(port, &reply);
            }
            Outcome::Storage { call_id, plan } => {
                let (host, port, encrypt) = (Rc::downgrade(self), port.clone(), self.encrypt);
                let kind = self.storage_kind.clone();
                spawn_local(async move {
                    let result = if kind == "indexeddb" {
                        super::storage::perform(&plan, encrypt).await
                    } else {
                        super::storage::perform_sealed_web(&kind, &plan).await
                    };
                    if let Some(host) = host.upgrade() {
                        let reply = host.engine.borrow_mut().storage_done(call_id, result);
                        post(&port, &reply);
                        host.deliver_audit();
                    }
                });
            }
            Outcome::Fetch(plan) => {
                let (host, port, id) = (Rc::downgrade(self), port.clone(), id.to_owned());
                let body = match &plan.body {
                    None => JsValue::UNDEFINED,
                    Some(FetchBody::Text(text)) => JsValue::from_str(text),
                    Some(FetchBody::Binary(r)) => match r.form {
                        BinaryForm::Table(i) => {
                            u32::try_from(i).map_or(JsValue::UNDEFINED, |i| buffers.get(i))
                        }
                        BinaryForm::Inline => JsValue::UNDEFINED,
                    },
                };
                spawn_local(async move {
                    let (result, table) = match perform_fetch(&plan, &body).await {
                        Ok((response, table)) => (Ok(response), table),
                        Err(e) => (Err(e), Array::new()),
                    };
                    if let Some(host) = host.upgrade() {
                        let reply =
                            host.engine
                                .borrow_mut()
                                .fetch_done(&id, plan.call_id, result, now());
                        super::binary::post(&port, &reply, &table, false);
                        host.deliver_audit();
                    }
                });
            }
            Outcome::AskPermission {
                call_id,
                permission,
                reason,
            } => {
                let (host, port, id) = (Rc::downgrade(self), port.clone(), id.to_owned());
                let ask = self.ask_permission(&id, permission, &reason);
                spawn_local(async move {
                    let granted =
                        matches!(JsFuture::from(ask).await, Ok(v) if v.as_bool() == Some(true));
                    if let Some(host) = host.upgrade() {
                        let reply = host.engine.borrow_mut().permission_answer(
                            &id,
                            call_id,
                            permission,
                            granted,
                            now(),
                        );
                        post(&port, &reply);
                        let changes = host.engine.borrow_mut().permission_changes();
                        host.post_permission_changes(changes);
                        host.deliver_audit();
                    }
                });
            }
        }
    }

    /// Ask the user through `onPermissionRequest`, or the default dialog. A throwing or
    /// rejecting callback counts as "no".
    fn ask_permission(&self, id: &str, permission: Capability, reason: &str) -> Promise {
        let Some(cb) = &self.callbacks.on_permission_request else {
            return super::dialog::ask(id, permission.as_str(), reason);
        };
        let arg = Object::new();
        let _ = Reflect::set(&arg, &"pluginId".into(), &id.into());
        let _ = Reflect::set(&arg, &"permission".into(), &permission.as_str().into());
        let _ = Reflect::set(&arg, &"reason".into(), &reason.into());
        match cb.call1(&JsValue::NULL, &arg) {
            Ok(v) => Promise::resolve(&v),
            Err(_) => Promise::resolve(&JsValue::FALSE),
        }
    }

    fn notify(&self, id: &str, message: &str, level: Level) {
        match &self.callbacks.on_notify {
            Some(cb) => {
                let arg = Object::new();
                let _ = Reflect::set(&arg, &"pluginId".into(), &id.into());
                let _ = Reflect::set(&arg, &"message".into(), &message.into());
                let _ = Reflect::set(&arg, &"level".into(), &level.as_str().into());
                let _ = cb.call1(&JsValue::NULL, &arg);
            }
            None => super::dialog::toast(id, message, level.as_str()),
        }
    }
}

fn mount_info(id: &str, mode: &str) -> JsValue {
    let info = Object::new();
    let _ = Reflect::set(&info, &"pluginId".into(), &id.into());
    let _ = Reflect::set(&info, &"mode".into(), &mode.into());
    info.into()
}

/// Post a reply (JSON text built by the core) on a port; a stored value's inline binary data
/// arrives as typed arrays ([`super::binary`]).
fn post(port: &MessagePort, json: &str) {
    super::binary::post(port, json, &Array::new(), false);
}

/// One API-client request, repeated as the core's [`RetryPolicy::retry_delay`] decides (which
/// methods, which outcomes, how long to wait); this layer only reports what each attempt came to.
/// With a binary response, the answer's side table holds the body (entry 0).
async fn perform_fetch(
    plan: &FetchPlan,
    body: &JsValue,
) -> Result<(FetchResponse, Array), WardenError> {
    let policy = RetryPolicy::default();
    let headers: Array = plan
        .headers
        .iter()
        .map(|(k, v)| JsValue::from(Array::of2(&k.as_str().into(), &v.as_str().into())))
        .collect();
    let mut attempt = 0u32;
    loop {
        let result = match fetch_once(
            &plan.url,
            &plan.method,
            &headers,
            body,
            plan.binary_response,
            plan.timeout_ms,
            plan.max_response_bytes as f64,
        ) {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        let (outcome, result) = match result {
            Ok(v) => {
                let (response, table) = read_response(&v);
                (
                    AttemptOutcome::Answered(response.status),
                    Ok((response, table)),
                )
            }
            Err(e) => {
                let (failure, message) = transport_failure(&e);
                (
                    AttemptOutcome::Failed(failure),
                    Err(WardenError::new(failure.code(), message)),
                )
            }
        };
        match policy.retry_delay(&plan.method, outcome, attempt, js_sys::Math::random()) {
            Some(delay) => gloo_timers::future::TimeoutFuture::new(delay).await,
            None => return result,
        }
        attempt += 1;
    }
}

fn read_response(v: &JsValue) -> (FetchResponse, Array) {
    let get = |k: &str| Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let body = get("body");
    let (binary, table) = match body.dyn_ref::<js_sys::ArrayBuffer>() {
        Some(buffer) => (
            Some(buffer.byte_length() as usize),
            Array::of1(buffer.as_ref()),
        ),
        None => (None, Array::new()),
    };
    let headers = Array::from(&get("headers"))
        .iter()
        .filter_map(|pair| {
            let pair = Array::from(&pair);
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect();
    let response = FetchResponse {
        status: get("status").as_f64().unwrap_or(0.0) as u16,
        headers,
        body: body.as_string().unwrap_or_default(),
        binary,
        url: get("url").as_string().unwrap_or_default(),
    };
    (response, table)
}

/// What `fetch.js` reported (its `kind`; see [`TransportFailure::from_kind`]) and its message.
fn transport_failure(e: &JsValue) -> (TransportFailure, String) {
    let kind = Reflect::get(e, &"kind".into())
        .ok()
        .and_then(|k| k.as_string())
        .unwrap_or_default();
    (TransportFailure::from_kind(&kind), describe(e))
}

/// Code a mount was handed (`code`, and its `signature`), with the options the core parses
/// (without `signature`, which only this layer reads). `None` when the mount names no code.
///
/// # Errors
/// `MOUNT_FAILED` for a non-string `code` or `signature`, or a `signature` without `code`.
fn mount_time_code(
    opts: &JsValue,
) -> Result<Option<(String, Option<String>, JsValue)>, WardenError> {
    if !opts.is_object() {
        return Ok(None);
    }
    let field = |name: &str| Reflect::get(opts, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let text = |name: &str, v: JsValue| -> Result<Option<String>, WardenError> {
        if v.is_undefined() || v.is_null() {
            return Ok(None);
        }
        v.as_string().map(Some).ok_or_else(|| {
            WardenError::new(
                ErrorCode::MountFailed,
                format!("mount options: `{name}` must be a string"),
            )
        })
    };
    let code = text("code", field("code"))?;
    let signature = text("signature", field("signature"))?;
    match (code, signature) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(WardenError::new(
            ErrorCode::MountFailed,
            "mount options: `signature` covers the mount's `code`, which is missing",
        )),
        (Some(code), signature) => {
            let rest = Object::assign(&Object::new(), opts.unchecked_ref());
            let _ = Reflect::delete_property(&rest, &"signature".into());
            Ok(Some((code, signature, rest.into())))
        }
    }
}
