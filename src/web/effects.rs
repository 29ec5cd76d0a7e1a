//! Carrying out what the core decides: every plugin message enters the core once
//! ([`Engine::receive`](crate::core::engine::Engine::receive)) and comes back as [`Effect`]s, which `carry_out` performs in order;
//! an asynchronous effect's result goes back through [`Engine::complete`](crate::core::engine::Engine::complete) and its effects
//! through `carry_out` again. Nothing here decides.

use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{MessageEvent, MessagePort};

use super::host::{now, Host};
use super::mounting::Phase;
use super::sys::describe;
use crate::core::audit::AuditEvent;
use crate::core::engine::{Completion, Effect, FetchPlan, FetchResponse, Incoming};
use crate::core::error::{ErrorCode, WardenError};
use crate::core::manifest::Capability;
use crate::core::network::{AttemptOutcome, RetryPolicy, TransportFailure};
use crate::core::protocol::Level;

#[wasm_bindgen(module = "/src/web/fetch.js")]
extern "C" {
    #[wasm_bindgen(js_name = pwFetchOnce, catch)]
    fn fetch_once(
        url: &str,
        method: &str,
        headers: &Array,
        body: Option<String>,
        timeout_ms: u32,
        max_bytes: f64,
    ) -> Result<Promise, JsValue>;
}

impl Host {
    /// One message on plugin `id`'s port: into the core once, then carry out what it answers.
    pub(super) fn on_port_message(self: &Rc<Self>, id: &str, event: &MessageEvent) {
        let data = event.data();
        // The id as sent (a safe integer), only to answer messages refused before parsing.
        let id_hint = Reflect::get(&data, &"id".into())
            .ok()
            .and_then(|v| v.as_f64())
            .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= 9_007_199_254_740_991.0)
            .map(|n| n as u64);
        // JSON.stringify throws on cycles and BigInt; that message is then unreadable.
        let text = js_sys::JSON::stringify(&data)
            .ok()
            .and_then(|s| s.as_string());
        let message = Incoming::new(text).with_id_hint(id_hint);
        let effects = self.engine.borrow_mut().receive(id, message, now());
        self.carry_out(effects);
    }

    /// Carry out `effects` in order, then deliver the audit events of any engine call that
    /// answered no effects (so a host callback that mounts or installs is delivered too).
    /// The engine keeps the delivery cursor: an event is delivered once, in `seq` order.
    pub(crate) fn carry_out(self: &Rc<Self>, effects: Vec<Effect>) {
        for effect in effects {
            self.carry_out_one(effect);
        }
        let rest = self.engine.borrow_mut().undelivered_audit();
        for effect in rest {
            self.carry_out_one(effect);
        }
    }

    fn carry_out_one(self: &Rc<Self>, effect: Effect) {
        match effect {
            Effect::Post { to, message } => {
                self.post_to(&to, &message);
            }
            Effect::Fetch { plugin, plan } => {
                let host = Rc::downgrade(self);
                spawn_local(async move {
                    let result = perform_fetch(&plan).await;
                    if let Some(host) = host.upgrade() {
                        let done = Completion::Fetch {
                            call_id: plan.call_id,
                            result,
                        };
                        let effects = host.engine.borrow_mut().complete(&plugin, done, now());
                        host.carry_out(effects);
                    }
                });
            }
            Effect::Storage {
                plugin,
                call_id,
                plan,
            } => {
                let (host, encrypt) = (Rc::downgrade(self), self.encrypt);
                let kind = self.storage_kind.clone();
                spawn_local(async move {
                    let result = if kind == "indexeddb" {
                        super::storage::perform(&plan, encrypt).await
                    } else {
                        super::storage::perform_sealed_web(&kind, &plan).await
                    };
                    if let Some(host) = host.upgrade() {
                        let done = Completion::Storage { call_id, result };
                        let effects = host.engine.borrow_mut().complete(&plugin, done, now());
                        host.carry_out(effects);
                    }
                });
            }
            Effect::AskPermission {
                plugin,
                call_id,
                permission,
                reason,
            } => {
                let host = Rc::downgrade(self);
                let ask = self.ask_permission(&plugin, permission, &reason);
                spawn_local(async move {
                    let granted =
                        matches!(JsFuture::from(ask).await, Ok(v) if v.as_bool() == Some(true));
                    if let Some(host) = host.upgrade() {
                        let done = Completion::Permission {
                            call_id,
                            permission,
                            granted,
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
                    let _ = Reflect::set(
                        &arg,
                        &"data".into(),
                        &super::sys::to_js(&data).unwrap_or(JsValue::NULL),
                    );
                    let _ = cb.call1(&JsValue::NULL, &arg);
                }
            }
            Effect::Render {
                plugin,
                call_id,
                html,
            } => {
                let rendered = match self
                    .mounts
                    .borrow()
                    .get(&plugin)
                    .and_then(|m| m.remote_ui.as_ref())
                {
                    Some(ui) => ui.render(&html),
                    None => Err(WardenError::new(
                        ErrorCode::MountFailed,
                        format!("plugin {plugin:?} has no remote UI to render into"),
                    )),
                };
                let done = Completion::Render {
                    call_id,
                    result: rendered,
                };
                let effects = self.engine.borrow_mut().complete(&plugin, done, now());
                self.carry_out(effects);
            }
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

    /// Post JSON text on a connected plugin's port; `false` (and nothing posted) if it is not
    /// connected.
    pub(super) fn post_to(&self, id: &str, json: &str) -> bool {
        let mounts = self.mounts.borrow();
        let port = match mounts.get(id).map(|m| &m.phase) {
            Some(Phase::Connected { port, .. }) => Some(port),
            Some(Phase::Shadow {
                port: Some((port, _)),
                ..
            }) => Some(port),
            _ => None,
        };
        match port {
            Some(port) => {
                post(port, json);
                true
            }
            None => false,
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

/// Post a reply (JSON text built by the core) on a port.
fn post(port: &MessagePort, json: &str) {
    if let Ok(value) = js_sys::JSON::parse(json) {
        let _ = port.post_message(&value);
    }
}

/// One API-client request, repeated as the core's [`RetryPolicy::retry_delay`] decides (which
/// methods, which outcomes, how long to wait); this layer only reports what each attempt came to.
async fn perform_fetch(plan: &FetchPlan) -> Result<FetchResponse, WardenError> {
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
            plan.body.clone(),
            plan.timeout_ms,
            plan.max_response_bytes as f64,
        ) {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        let (outcome, result) = match result {
            Ok(v) => {
                let response = read_response(&v);
                (AttemptOutcome::Answered(response.status), Ok(response))
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

fn read_response(v: &JsValue) -> FetchResponse {
    let get = |k: &str| Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let headers = Array::from(&get("headers"))
        .iter()
        .filter_map(|pair| {
            let pair = Array::from(&pair);
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect();
    FetchResponse {
        status: get("status").as_f64().unwrap_or(0.0) as u16,
        headers,
        body: get("body").as_string().unwrap_or_default(),
        url: get("url").as_string().unwrap_or_default(),
    }
}

/// What `fetch.js` reported (its `kind`; see [`TransportFailure::from_kind`]) and its message.
fn transport_failure(e: &JsValue) -> (TransportFailure, String) {
    let kind = Reflect::get(e, &"kind".into())
        .ok()
        .and_then(|k| k.as_string())
        .unwrap_or_default();
    (TransportFailure::from_kind(&kind), describe(e))
}
