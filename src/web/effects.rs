//! Carrying out what the core decides: every plugin message enters the core once
//! ([`Engine::receive`](crate::core::engine::Engine::receive)) and comes back as [`Effect`]s, which `carry_out` performs in order;
//! an asynchronous effect's result goes back through [`Engine::complete`](crate::core::engine::Engine::complete) and its effects
//! through `carry_out` again. Nothing here decides.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::host::{now, Host, HostEngine};
use super::mounting::Phase;
use super::sys::describe;
use crate::core::audit::AuditEvent;
use crate::core::engine::{Completion, Effect, FetchPlan, FetchResponse, Incoming};
use crate::core::error::{ErrorCode, WardenError};
use crate::core::manifest::Capability;
use crate::core::network::{AttemptOutcome, RetryPolicy, TransportFailure};
use crate::core::protocol::{FetchBody, Level, Limits};
use crate::core::sanitize::cleans_ending_by;
use crate::core::storage::deferred::StoragePlan;
use crate::core::storage::{BackendError, StorageError};

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

impl Host {
    /// One message on plugin `id`'s port: into the core once, then carry out what it answers.
    /// `false` when it needs the core's second part, not loaded yet: its listener holds it, and
    /// hands it again once that part has loaded ([`Self::ahead`]).
    pub(super) fn on_port_message(self: &Rc<Self>, id: &str, data: &JsValue) -> bool {
        // Read in one call into JS: the id as sent (a safe integer), only to answer messages
        // refused before parsing; a pong's seq (the core decides whether it answers the ping).
        let peeked = super::binary::peek(data);
        // The JSON text is made only if the rate limiter admits the message. Binary data
        // goes to a side table (a stored value's inline, as base64); a cycle or a BigInt makes
        // the message unreadable, and a text longer than the message limit is refused before
        // it is copied into wasm (`Unread`).
        let buffers: Rc<RefCell<Option<Array>>> = Rc::default();
        let max_bytes = self.engine.borrow().max_message_bytes();
        let (data, into) = (data.clone(), buffers.clone());
        let message = Incoming::later_checked(move || {
            let inline = super::binary::is_storage_set(&data);
            let encoded = super::binary::encode(&data, inline, max_bytes)?;
            *into.borrow_mut() = Some(encoded.buffers);
            Ok(encoded.text)
        })
        .with_id_hint(peeked.id)
        .with_pong(peeked.pong_seq);
        let now_ms = now();
        let Some(message) = self.ahead(id, message, now_ms) else {
            return false;
        };
        let effects = self.engine.borrow_mut().receive(id, message, now_ms);
        let buffers = buffers.take().unwrap_or_default();
        self.carry_out_with(effects, &buffers);
        true
    }

    /// One small message on plugin `id`'s port whose JSON text the listener made
    /// ([`super::binary::PortListener`]): into the core as [`Self::on_port_message`] would hand
    /// it over — the same id, the same text, refused unread when longer than the message limit
    /// (`units`: its length in UTF-16 units) — without the calls into JS that read and encode
    /// it there, nor one for the clock (`now_ms`: the listener's `Date.now()`). `false` as
    /// there.
    pub(super) fn on_port_text(
        self: &Rc<Self>,
        id: &str,
        call_id: Option<u64>,
        text: String,
        units: usize,
        now_ms: f64,
    ) -> bool {
        let max_bytes = self.engine.borrow().max_message_bytes();
        let message = Incoming::later_checked(move || {
            super::binary::within_limit(units, max_bytes)?;
            Ok(text)
        })
        .with_id_hint(call_id);
        let Some(message) = self.ahead(id, message, now_ms) else {
            return false;
        };
        let effects = self.engine.borrow_mut().receive(id, message, now_ms);
        self.carry_out_with(effects, &Array::new());
        true
    }

    /// A plugin's message made ready for [`Engine::receive`] before the engine is borrowed, so
    /// that whatever it needs of the core's second part is known before anything changes.
    ///
    /// `receive` runs code of the core's second part (src/web/split-loader.js) for whatever a
    /// first visit does not: to refuse a message (a flood's `RATE_LIMITED`; the
    /// `MESSAGE_REJECTED` of a message too large, too deep, not the protocol's), and to answer
    /// or refuse a call off a first visit's path (a key too long or over the quota, a URL not
    /// declared, a request not allowed, an RBAC action asked about, an unsubscribe, …). Loaded
    /// then, that part came synchronously, on the page's main thread, in the middle of the
    /// engine's change; a failed load left the engine borrowed, and the host stopped. So, while
    /// that part is not loaded (the entry module's hooks, src/web/binary.js, say so): the rate
    /// limiter is asked first without changing it ([`Engine::would_refuse`]), and an admitted
    /// message is parsed ([`Incoming::prepare`]) and its call decided by reading the engine
    /// alone ([`Incoming::plan`]: every check serving it makes, and the answer of a call that
    /// changes nothing) in a static call the loader cuts off where it would need the part. A
    /// message that needs the part is not received (`None`): its listener holds it, and every
    /// later one, in order, until the part has loaded asynchronously (src/web/binary.js
    /// `pwListen`), and answers it `MODULE_NOT_LOADED` if it cannot be loaded. Without the
    /// hooks (an unsplit module), and once the part has loaded (nothing it needs can be missing
    /// then; the read-ahead cost every message of a loaded host a few µs), the message is
    /// handed on as it is.
    fn ahead(
        &self,
        id: &str,
        message: Incoming<'static>,
        now_ms: f64,
    ) -> Option<Incoming<'static>> {
        if !super::binary::ahead_hooks() {
            return Some(message);
        }
        let (refused, limits) = {
            let engine = self.engine.borrow();
            (engine.would_refuse(id, now_ms), *engine.limits())
        };
        if refused {
            return super::binary::part_loaded().then_some(message);
        }
        ahead_slot(Some(Ahead {
            message,
            limits,
            plugin: id.to_owned(),
        }));
        // `true` once prepared and planned (a pong is left as it is); cut off (or trapped),
        // the slot is empty (the message leaked with the call's frames). The engine is lent
        // by a borrow held here, in a frame a cut-off of the call does not end.
        let done = {
            let engine = self.engine.borrow();
            PLANNING.set(&engine, super::binary::prepare_ahead)
        };
        ahead_slot(None).filter(|_| done).map(|ahead| ahead.message)
    }

    /// Carry out `effects` in order, then deliver the audit events of any engine call that
    /// answered no effects (so a host callback that mounts or installs is delivered too).
    /// The engine keeps the delivery cursor: an event is delivered once, in `seq` order.
    pub(crate) fn carry_out(self: &Rc<Self>, effects: Vec<Effect>) {
        self.carry_out_with(effects, &Array::new());
    }

    /// [`Self::carry_out`] for effects whose binary placeholders name `buffers`, the side
    /// table of the message (or fetch answer) they came from ([`super::binary`]).
    pub(crate) fn carry_out_with(self: &Rc<Self>, effects: Vec<Effect>, buffers: &Array) {
        for effect in effects {
            self.carry_out_one(effect, buffers);
        }
        let rest = self.engine.borrow_mut().undelivered_audit();
        for effect in rest {
            self.carry_out_one(effect, buffers);
        }
    }

    fn carry_out_one(self: &Rc<Self>, effect: Effect, buffers: &Array) {
        match effect {
            Effect::Post { to, message } => {
                self.post_to_with(&to, &message, buffers, false);
            }
            Effect::Fetch { plugin, plan } => self.start_fetch(plugin, plan, buffers),
            Effect::Storage {
                plugin,
                call_id,
                plan: StoragePlan::Get { key, encoded },
            } if self.stored_area.is_some() => self.post_stored(&plugin, call_id, &key, &encoded),
            Effect::Storage {
                plugin,
                call_id,
                plan,
            } => self.start_storage(plugin, call_id, plan),
            Effect::AskPermission {
                plugin,
                call_id,
                permission,
                reason,
            } => {
                let host = Rc::downgrade(self);
                let (ask, by_dialog) = self.ask_permission(&plugin, permission, &reason);
                spawn_local(async move {
                    let answer = JsFuture::from(ask).await;
                    if let Some(host) = Host::live(&host) {
                        let done = match answer {
                            // The package's dialog could not be shown (`default_ask`).
                            Ok(v) if by_dialog && v.is_null() => Completion::Unasked {
                                call_id,
                                error: dialog_not_loaded(),
                            },
                            answer => Completion::Permission {
                                call_id,
                                permission,
                                granted: matches!(answer, Ok(v) if v.as_bool() == Some(true)),
                            },
                        };
                        let effects = host.engine.borrow_mut().complete(&plugin, done, now());
                        host.carry_out(effects);
                    }
                });
            }
            Effect::Notify {
                plugin,
                message,
                level,
            } => self.notify(&plugin, &message, level),
            Effect::Emit { plugin, name, data } => {
                if let Some(cb) = &self.callbacks.on_event {
                    let arg = Object::new();
                    let _ = Reflect::set(&arg, &"pluginId".into(), &plugin.as_str().into());
                    let _ = Reflect::set(&arg, &"name".into(), &name.as_str().into());
                    // The host page gets the message's own buffers (nothing else uses them).
                    let value = serde_json::to_string(&data)
                        .ok()
                        .and_then(|text| super::binary::decode(&text, buffers, false))
                        .map_or(JsValue::NULL, |(v, _)| v);
                    let _ = Reflect::set(&arg, &"data".into(), &value);
                    let _ = cb.call1(&JsValue::NULL, &arg);
                }
            }
            Effect::Render {
                plugin,
                call_id,
                html,
                clean_by,
            } => self.render(&plugin, call_id, &html, clean_by),
            Effect::Welcome {
                plugin,
                message,
                mode,
            } => self.welcome(&plugin, &message, mode),
            Effect::TearDown {
                plugin,
                code,
                reason,
            } => {
                let mount = self.mounts.borrow_mut().remove(&plugin);
                if let Some(m) = mount {
                    m.dispose(code, &reason);
                }
            }
            Effect::PermissionsChanged(changes) => {
                for c in changes {
                    self.post_to(&c.plugin, &c.message());
                }
                self.refresh_access_cache();
            }
            Effect::Audit(events) => self.deliver(&events),
        }
    }

    /// Send a plugin's checked request ([`Effect::Fetch`]) and hand its answer to the engine.
    /// Not inlined, as [`Self::start_storage`]: a first visit sends none (the split leaves them
    /// out of the part every host loads).
    #[inline(never)]
    fn start_fetch(self: &Rc<Self>, plugin: String, plan: FetchPlan, buffers: &Array) {
        let host = Rc::downgrade(self);
        let body = match &plan.body {
            None => JsValue::UNDEFINED,
            Some(FetchBody::Text(text)) => JsValue::from_str(text),
            Some(FetchBody::Binary(r)) => {
                u32::try_from(r.index).map_or(JsValue::UNDEFINED, |i| buffers.get(i))
            }
        };
        spawn_local(async move {
            let (result, table) = match perform_fetch(&plan, &body).await {
                Ok((response, table)) => (Ok(response), table),
                Err(e) => (Err(e), Array::new()),
            };
            if let Some(host) = Host::live(&host) {
                let done = Completion::Fetch {
                    call_id: plan.call_id,
                    result,
                };
                let effects = host.engine.borrow_mut().complete(&plugin, done, now());
                host.carry_out_with(effects, &table);
            }
        });
    }

    /// Carry out a storage plan on the asynchronous store ([`Effect::Storage`]), and hand its
    /// answer to the engine.
    #[inline(never)]
    fn start_storage(self: &Rc<Self>, plugin: String, call_id: u64, plan: StoragePlan) {
        let (host, encrypt) = (Rc::downgrade(self), self.encrypt);
        let kind = self.storage_kind.clone();
        spawn_local(async move {
            let result = if kind == "indexeddb" {
                super::storage::perform(&plan, encrypt).await
            } else {
                super::storage::perform_sealed_web(&kind, &plan).await
            };
            if let Some(host) = Host::live(&host) {
                let done = Completion::Storage { call_id, result };
                let effects = host.engine.borrow_mut().complete(&plugin, done, now());
                host.carry_out(effects);
            }
        });
    }

    /// A worker plugin's `ui.render`: a function of its own (the split leaves it out of the part
    /// every host loads, as `remote_ui` in web::mounting says).
    /// Its clean as it enters the DOM ends by the engine's deadline (`clean_by`): the render's
    /// two cleans together keep to `limits.renderCleanMs`.
    #[inline(never)]
    fn render(self: &Rc<Self>, plugin: &str, call_id: u64, html: &str, clean_by: Option<f64>) {
        let rendered = match self
            .mounts
            .borrow()
            .get(plugin)
            .and_then(|m| m.remote_ui.as_ref())
        {
            Some(ui) => cleans_ending_by(clean_by, || ui.render(html)),
            None => Err(WardenError::new(
                ErrorCode::MountFailed,
                format!("plugin {plugin:?} has no remote UI to render into"),
            )),
        };
        let done = Completion::Render {
            call_id,
            result: rendered,
        };
        let effects = self.engine.borrow_mut().complete(plugin, done, now());
        self.carry_out(effects);
    }

    /// Hand audit events to `onAudit`. A throwing callback is ignored: the host's own listener
    /// must not break the bridge.
    fn deliver(&self, events: &[AuditEvent]) {
        let Some(cb) = &self.callbacks.on_audit else {
            return;
        };
        for e in events {
            if let Ok(v) = super::sys::to_js(e) {
                let _ = cb.call1(&JsValue::NULL, &v);
            }
        }
    }

    /// A `storage.get` the core planned for a backend the browser reads itself
    /// ([`crate::core::storage::StorageBackend::read_by_caller`]): the value goes from the
    /// area to the plugin's port, its text never in wasm. A stored text that is not one JSON
    /// value, or an area that throws, is answered through the core as an asynchronous
    /// backend's would be (`INTERNAL`, with the key).
    fn post_stored(self: &Rc<Self>, plugin: &str, call_id: u64, key: &str, encoded: &str) {
        let outcome = {
            let mounts = self.mounts.borrow();
            let (Some(area), Some(port)) =
                (self.stored_area.as_ref(), connected_port(&mounts, plugin))
            else {
                return;
            };
            super::binary::post_stored(port, call_id, area, &self.stored_key(encoded))
        };
        let error = match outcome {
            super::binary::Stored::Posted => return,
            super::binary::Stored::NotJson => StorageError::Corrupt {
                key: key.to_owned(),
            },
            super::binary::Stored::Failed(m) => StorageError::Backend(BackendError::Failure(m)),
        };
        let done = Completion::Storage {
            call_id,
            result: Err(error),
        };
        let effects = self.engine.borrow_mut().complete(plugin, done, now());
        self.carry_out(effects);
    }

    /// Backend key `encoded` as a JS string, kept for the last [`STORED_KEYS`] keys read: a
    /// string made from wasm memory is a `TextDecoder` call, ~1 µs per small `storage.get`
    /// (profiled). Strings are immutable: a hit is the very text.
    fn stored_key(&self, encoded: &str) -> JsValue {
        let mut keys = self.stored_keys.borrow_mut();
        if let Some((_, js)) = keys.iter().find(|(k, _)| k == encoded) {
            return js.clone();
        }
        let js = JsValue::from_str(encoded);
        if keys.len() >= STORED_KEYS {
            keys.remove(0);
        }
        keys.push((encoded.to_owned(), js.clone()));
        js
    }

    /// Post JSON text on a connected plugin's port; `false` (and nothing posted) if it is not
    /// connected.
    pub(super) fn post_to(&self, id: &str, json: &str) -> bool {
        self.post_to_with(id, json, &Array::new(), false)
    }

    /// [`Self::post_to`] for text whose binary placeholders name `buffers`: handed over, or
    /// copies with `copy` (data sent to several plugins, or the host page's own buffers).
    pub(super) fn post_to_with(&self, id: &str, json: &str, buffers: &Array, copy: bool) -> bool {
        let mounts = self.mounts.borrow();
        match connected_port(&mounts, id) {
            Some(port) => {
                super::binary::post(port, json, buffers, copy);
                true
            }
            None => false,
        }
    }

    /// Ask the user through `onPermissionRequest`, or the default dialog (then `true`). A
    /// throwing or rejecting callback counts as "no".
    fn ask_permission(&self, id: &str, permission: Capability, reason: &str) -> (Promise, bool) {
        let Some(cb) = &self.callbacks.on_permission_request else {
            return (default_ask(id, permission, reason), true);
        };
        let arg = Object::new();
        let _ = Reflect::set(&arg, &"pluginId".into(), &id.into());
        let _ = Reflect::set(&arg, &"permission".into(), &permission.as_str().into());
        let _ = Reflect::set(&arg, &"reason".into(), &reason.into());
        let answer = match cb.call1(&JsValue::NULL, &arg) {
            Ok(v) => Promise::resolve(&v),
            Err(_) => Promise::resolve(&JsValue::FALSE),
        };
        (answer, false)
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

/// The package's own dialog asks the user (a host without `onPermissionRequest`): the user's
/// answer, or `null` if the dialog could not be shown. The dialog is code of the core's second
/// part, seldom needed on a first visit: it opens once that part has loaded (asynchronously, a
/// moment later when it is loaded already). If it cannot be loaded (the network gone), the call
/// fails at once by code of the first part (www/bench/coverage.js records it; no one said no, so
/// nothing is remembered), rather than a synchronous load in the middle of a plugin's call,
/// which would fail and leave the call unanswered.
fn default_ask(id: &str, permission: Capability, reason: &str) -> Promise {
    let Ok((promise, resolve, _)) = super::sys::deferred() else {
        return Promise::resolve(&JsValue::FALSE);
    };
    let (id, reason) = (id.to_owned(), reason.to_owned());
    super::later::Later::urgent(0, move |loaded| {
        let answer = if loaded {
            JsValue::from(super::dialog::ask(&id, permission.as_str(), &reason))
        } else {
            JsValue::NULL
        };
        let _ = resolve.call1(&JsValue::NULL, &answer);
    })
    .forget();
    promise
}

/// Why a plugin's `permissions.request` failed on a host without `onPermissionRequest`.
fn dialog_not_loaded() -> WardenError {
    WardenError::new(
        ErrorCode::ModuleNotLoaded,
        "the user could not be asked: the rest of the core module, with the permission dialog, could not be loaded",
    )
}

/// How many backend keys [`Host::stored_key`] keeps as JS strings.
const STORED_KEYS: usize = 32;

/// Plugin `id`'s port, if it is connected.
fn connected_port<'a>(
    mounts: &'a crate::core::collections::SortedMap<String, super::mounting::Mount>,
    id: &str,
) -> Option<&'a web_sys::MessagePort> {
    match mounts.get(id).map(|m| &m.phase) {
        Some(Phase::Connected { port, .. }) => Some(port),
        Some(Phase::Shadow {
            port: Some((port, _)),
            ..
        }) => Some(port),
        _ => None,
    }
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

/// What [`Host::ahead`] leaves for [`pw_prepare`]: a plugin's message, the limits it is parsed
/// with, and the plugin it is planned for.
struct Ahead {
    message: Incoming<'static>,
    limits: Limits,
    plugin: String,
}

thread_local! {
    /// The message [`pw_prepare`] prepares, and what for.
    static AHEAD: RefCell<Option<Ahead>> = const { RefCell::new(None) };
}

scoped_tls::scoped_thread_local! {
    /// The engine [`pw_prepare`] plans with, lent by [`Host::ahead`], which holds its borrow
    /// meanwhile: a cut-off of `pw_prepare` leaves no borrow of its own behind.
    static PLANNING: HostEngine
}

/// Put `ahead` in [`pw_prepare`]'s slot, answering what was there (`None` takes it out).
fn ahead_slot(ahead: Option<Ahead>) -> Option<Ahead> {
    AHEAD.with(|slot| slot.replace(ahead))
}

/// Prepare the message [`Host::ahead`] left for it ([`Incoming::prepare`]), then plan it with the
/// engine it lent ([`Incoming::plan`]); `true` once done. Static, and it takes no borrow: cut off
/// by the loader, it leaves nothing half changed, only the message taken out of its slot (and
/// leaked).
#[wasm_bindgen(js_name = __pw_prepare, skip_typescript)]
pub fn pw_prepare() -> bool {
    let Some(mut ahead) = ahead_slot(None) else {
        return false;
    };
    ahead.message.prepare(&ahead.limits);
    if PLANNING.is_set() {
        PLANNING.with(|engine| ahead.message.plan(engine, &ahead.plugin));
    }
    ahead_slot(Some(ahead));
    true
}
