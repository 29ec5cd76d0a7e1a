//! The browser side of the host: the [`Host`] and its public methods. Its jobs live in
//! sibling modules: `mounting` (frames, shadow roots, runner jobs), `handshake` (the window
//! messages of a mount's frame), `effects` (each plugin message into the core, and carrying out
//! what the core answers), `liveness` (the heartbeat timer).
//!
//! Security shape (DESIGN.md §5, §9): the host window listens for exactly one `hello` per
//! mount, accepted only when `event.source` is the very `WindowProxy` of the iframe this mount
//! created *and* it carries the mount's one-time nonce (the second check, and the handshake's
//! states, are the core's: [`Engine::handshake`](crate::core::engine::Engine::handshake)). The answer transfers a dedicated
//! `MessagePort`; after that nothing from the window is trusted and all traffic is on the port.
//! `event.origin` is never used to identify a plugin: every sandboxed frame posts as `"null"`.

use crate::core::collections::SortedMap;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::MessageEvent;

use super::liveness::PerformanceClock;
use super::mounting::Mount;
use super::storage::WebStorage;
use super::sys::window;
use crate::core::engine::{Effect, Engine, HostConfig, PendingUpdate, PermissionChange, Status};
use crate::core::error::{cold_text, ErrorCode, WardenError};
use crate::core::protocol::event_message;
use crate::core::sanitize::Sanitizer;
use crate::core::storage::{decode_key, MemoryBackend, StorageBackend};

/// The namespace of every window message (`ns`), checked here only to count other messages;
/// the core parses what is ours.
pub(super) use crate::core::protocol::NAMESPACE as NS;

/// Functions from the host's options.
#[derive(Default)]
pub(crate) struct Callbacks {
    pub(crate) on_permission_request: Option<Function>,
    pub(crate) on_audit: Option<Function>,
    pub(crate) on_event: Option<Function>,
    pub(crate) on_notify: Option<Function>,
    pub(crate) on_update_consent: Option<Function>,
}

pub(super) type HostEngine = Engine<Box<dyn StorageBackend>>;

/// The browser host. Shared by `Rc`; event handlers hold `Weak` references so dropping the
/// host (or `destroy`) frees everything.
pub(crate) struct Host {
    pub(crate) engine: RefCell<HostEngine>,
    pub(super) callbacks: Callbacks,
    pub(crate) sanitizer: Rc<Sanitizer>,
    pub(crate) policy_name: String,
    /// `encrypt: true`: values are sealed with AES-GCM.
    pub(super) encrypt: bool,
    /// The `storage` option (`local`, `session`, `memory`, `indexeddb`).
    pub(super) storage_kind: String,
    /// The Web Storage area or JS `Map` `storage.get` values are read from by this layer
    /// (`local`, `session`, `memory` without `encrypt`).
    pub(super) stored_area: Option<JsValue>,
    /// Backend keys last read from `stored_area`, with their JS strings (`Host::stored_key`).
    pub(super) stored_keys: RefCell<Vec<(String, JsValue)>>,
    /// `dangerous.srcWithoutEmbeddedCsp`: mount `src` pages where the browser cannot impose
    /// the SDK's policy.
    pub(super) src_without_embedded_csp: bool,
    /// What the browser created for each mount (frames, ports, timers); the mount's facts
    /// (mode, nonce, handshake state) are the engine's.
    pub(super) mounts: RefCell<SortedMap<String, Mount>>,
    window_listener: RefCell<Option<EventListener>>,
    /// The window's `storage` event: another tab changed plugin data in the same storage area.
    storage_listener: RefCell<Option<EventListener>>,
    /// The liveness timer (every `LivenessConfig::tick_ms`), dropped by `destroy`.
    heartbeat: RefCell<Option<Interval>>,
    /// Window messages that were not plugin-warden's (never handed to the core).
    pub(super) ignored_messages: Cell<u64>,
    /// `{ exact: Set<string>, prefixes: string[] }`, mutated in place whenever the user or the
    /// registered plugins change, so JS can answer `hasPermission` without entering wasm.
    pub(crate) access_cache: Object,
}

/// Wall-clock time for the engine's `now_ms` arguments: audit timestamps (`Date.now()`). Rate
/// limits and durations run on [`PerformanceClock`], installed with `Engine::set_clock`.
pub(super) fn now() -> f64 {
    js_sys::Date::now()
}

/// A host freed while mounts are pending (its `PluginHost` was garbage-collected or `free()`d)
/// settles them: every timer and listener holds the host weakly, so nothing else ever would.
impl Drop for Host {
    fn drop(&mut self) {
        let mounts = std::mem::take(self.mounts.get_mut());
        for (_, m) in mounts {
            m.dispose(
                ErrorCode::MountFailed,
                cold_text!("the PluginHost was freed (garbage-collected or free()d) before this mount settled: keep a reference to the host while its plugins run"),
            );
        }
    }
}

impl Host {
    pub(crate) fn new(config: HostConfig, callbacks: Callbacks) -> Result<Rc<Host>, WardenError> {
        let win = window()?;
        let encrypt = config.encrypt.unwrap_or(false);
        // Where `storage.get` values are read by the browser layer, never through wasm
        // (`Host::post_stored`); none when the core plans reads (IndexedDB, sealed values).
        let mut stored_area = None;
        let backend: Box<dyn StorageBackend> = match config.storage.as_deref().unwrap_or("local") {
            "memory" => {
                let memory = super::storage::JsMemory::new();
                stored_area = Some(memory.area());
                Box::new(memory)
            }
            // Plugin calls become `Effect::Storage` plans performed on IndexedDB; the
            // engine's synchronous store stays empty.
            "indexeddb" => {
                super::storage::indexeddb_available(encrypt)
                    .map_err(|m| WardenError::new(ErrorCode::InvalidArgument, m))?;
                Box::new(MemoryBackend::new())
            }
            kind => {
                let area = WebStorage::open(kind)
                    .map_err(|m| WardenError::new(ErrorCode::InvalidArgument, m))?;
                stored_area = (!encrypt).then(|| area.area());
                Box::new(area)
            }
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
                    cold_text!("encrypt: true is for persistent storage ('local', 'session', 'indexeddb'); 'memory' keeps nothing at rest"),
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
        // No `onAudit`: the engine skips the per-message delivery copy of its audit events.
        engine.set_audit_listener(callbacks.on_audit.is_some());
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
            stored_area,
            stored_keys: RefCell::new(Vec::new()),
            src_without_embedded_csp,
            mounts: RefCell::new(SortedMap::new()),
            window_listener: RefCell::new(None),
            storage_listener: RefCell::new(None),
            heartbeat: RefCell::new(None),
            ignored_messages: Cell::new(0),
            access_cache,
        });
        host.refresh_access_cache();
        let weak = Rc::downgrade(&host);
        let listener = EventListener::new(&win, "message", move |event| {
            if let (Some(host), Some(event)) = (Host::live(&weak), event.dyn_ref::<MessageEvent>())
            {
                host.on_window_message(event);
            }
        });
        *host.window_listener.borrow_mut() = Some(listener);
        // Another tab (or frame of this origin) wrote plugin data: the cached per-plugin byte
        // counts are stale, so the next quota check rescans. Without this a plugin open in N
        // tabs could store N times its quota.
        let weak = Rc::downgrade(&host);
        let storage_listener = EventListener::new(&win, "storage", move |event| {
            let Some(host) = Host::live(&weak) else {
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
            if let Some(host) = Host::live(&weak) {
                host.on_heartbeat();
            }
        }));
        Ok(host)
    }

    /// Whether a call into this host was cut off mid-way and left its state borrowed. Between
    /// calls nothing is borrowed; a call that threw out of the middle of the wasm (a synchronous
    /// load of the core's second part that failed, src/web/split-loader.js) never gave its
    /// borrows back, and what it was changing may be half changed. Such a host is stopped: its
    /// events, timers and tasks do nothing ([`Host::live`]), and the package's entry module
    /// refuses its methods with `MODULE_NOT_LOADED` (src/web/index.js asks through
    /// `PluginHost.__pw_stuck`). Asked only where no call into this host can be running: at an
    /// event, a timer or a task's resumption, and by the entry module after a failed load.
    pub(crate) fn stuck(&self) -> bool {
        self.engine.try_borrow_mut().is_err()
            || self.mounts.try_borrow_mut().is_err()
            || self.stored_keys.try_borrow_mut().is_err()
            || self.window_listener.try_borrow_mut().is_err()
            || self.storage_listener.try_borrow_mut().is_err()
            || self.heartbeat.try_borrow_mut().is_err()
    }

    /// The host behind `weak` for an event, a timer or a resumed task: `None` when it is gone,
    /// or stopped ([`Host::stuck`]), where touching its state would trap (and leak the module's
    /// stack) on every plugin message and heartbeat.
    pub(crate) fn live(weak: &Weak<Host>) -> Option<Rc<Host>> {
        weak.upgrade().filter(|host| !host.stuck())
    }

    /// Rebuild the JS-side access cache from the engine's compiled access.
    pub(super) fn refresh_access_cache(&self) {
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
        self.engine.borrow().rejected_handshakes()
    }

    /// The installed plugins changed (install, update, uninstall): rebuild the access cache and
    /// deliver the audit events, as the core's [`Effect::PermissionsChanged`] does.
    pub(crate) fn access_changed(self: &Rc<Self>) {
        self.carry_out(vec![Effect::PermissionsChanged(Vec::new())]);
    }

    /// Deliver the audit events of engine calls that answer no effects (install, update,
    /// mount progress): the drain that ends every `carry_out`, with nothing else to do.
    pub(crate) fn deliver_audit(self: &Rc<Self>) {
        self.carry_out(Vec::new());
    }

    /// Audit plugin `id`'s message that its port's listener answered `MODULE_NOT_LOADED` (the
    /// core's second part could not be loaded), and deliver the event ([`Engine::unserved`]).
    pub(crate) fn unserved(self: &Rc<Self>, id: &str, method: Option<&str>) {
        self.engine.borrow_mut().unserved(id, method, now());
        self.deliver_audit();
    }

    /// Mark a plugin failed and tear its mount down. Never throws: a plugin's failure is not
    /// the host's.
    pub(crate) fn fail(self: &Rc<Self>, id: &str, code: ErrorCode, message: &str) {
        let effects = self.engine.borrow_mut().fail(id, code, message, now());
        self.carry_out(effects);
    }

    /// Remove a plugin's mount and everything it created.
    pub(crate) fn unmount(self: &Rc<Self>, id: &str) -> Result<(), WardenError> {
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
    pub(crate) fn uninstall(
        self: &Rc<Self>,
        id: &str,
        remove_data: bool,
    ) -> Result<(), WardenError> {
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
        self.access_changed();
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

    // ----- permission changes, updates, events ---------------------------------------------

    /// Carry out a grant's, revocation's or user switch's permission changes (and the audit
    /// events they recorded); answers the call's error, if any.
    pub(crate) fn permissions_changed(
        self: &Rc<Self>,
        changes: Result<Vec<PermissionChange>, WardenError>,
    ) -> Result<(), WardenError> {
        match changes {
            Ok(changes) => {
                self.carry_out(vec![Effect::PermissionsChanged(changes)]);
                Ok(())
            }
            Err(e) => {
                self.carry_out(Vec::new());
                Err(e)
            }
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

    /// Send a host event to every plugin subscribed to `name`.
    pub(crate) fn emit(&self, name: &str, data: &serde_json::Value, buffers: &Array) -> usize {
        let subscribers = self.engine.borrow().subscribers(name);
        let message = event_message(name, data);
        // Every connected port: frames, workers and a shadow mount's first-party `render` SDK.
        // `buffers` are the host page's own: every plugin gets a copy.
        subscribers
            .iter()
            .filter(|id| self.post_to_with(id, &message, buffers, true))
            .count()
    }
}
