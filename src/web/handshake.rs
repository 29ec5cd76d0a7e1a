//! The handshake, browser side: a window message is handed to the core only once the browser
//! has checked what only it can — that `event.source` is the very `WindowProxy` of a mount's
//! frame. The core decides the rest ([`Engine::handshake`](crate::core::engine::Engine::handshake): version, nonce, once); a welcome
//! it answers is posted here with the plugin's own port transferred.

use std::rc::{Rc, Weak};

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageChannel, MessageEvent, MessagePort};

use super::binary::PortListener;
use super::host::{now, Host, NS};
use super::later::Later;
use super::mount::Frame;
use super::mounting::{mount_info, Phase};
use super::sys::describe;
use crate::core::engine::{Incoming, MountState, MAX_WINDOW_MESSAGE_BYTES};
use crate::core::error::{cold_text, ErrorCode, WardenError};
use crate::core::protocol::Reply;
use crate::core::utf8::surely_longer;

/// How long after a `src` page's `load` event the host waits for the client's `present` (or
/// `hello`) before concluding the page was refused. The client announces itself while the
/// page's scripts run, before `load`; the grace only covers the two messages arriving out of
/// order across processes.
const REFUSAL_GRACE_MS: u32 = 1_000;

/// How a handshake timeout's message starts, then `rest` (all of it when the core's second
/// part, which explains, cannot be loaded).
pub(super) fn timeout_head(plugin: &str, timeout_ms: u32, rest: &str) -> String {
    format!("plugin {plugin:?} did not complete the handshake within {timeout_ms} ms{rest}")
}

/// What a handshake timeout says: the page the frame loaded and the usual reasons it stays
/// silent, so the first thing a host developer reads points at the fix.
fn timeout_message(
    plugin: &str,
    timeout_ms: u32,
    page: Option<&(String, bool)>,
    announced: bool,
) -> String {
    let head = timeout_head(plugin, timeout_ms, "");
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

impl Host {
    /// What `plugin`'s handshake timeout says (code of the core's second part: never inlined
    /// into the timer's callback, which the first part holds).
    #[inline(never)]
    pub(super) fn timeout_message(
        &self,
        plugin: &str,
        timeout_ms: u32,
        page: Option<&(String, bool)>,
    ) -> String {
        let announced = self.engine.borrow().mount_announced(plugin);
        timeout_message(plugin, timeout_ms, page, announced)
    }

    pub(super) fn on_window_message(self: &Rc<Self>, event: &MessageEvent) {
        let data = event.data();
        // Any window may post here: its `ns` is compared without copying it into wasm first
        // (a huge one would grow wasm memory for good).
        let is_ours = data.is_object()
            && Reflect::get(&data, &"ns".into()).ok().is_some_and(|v| {
                v.dyn_ref::<js_sys::JsString>()
                    .is_some_and(|s| s.length() as usize == NS.len() && *s == NS)
            });
        if !is_ours {
            self.ignored_messages.set(self.ignored_messages.get() + 1);
            return;
        }
        // The one check only the browser can make: which mount's frame posted this.
        let source = event.source();
        let found = self.mounts.borrow().iter().find_map(|(id, m)| {
            let frame = m.frame.as_ref()?;
            let same = source
                .as_ref()
                .is_some_and(|s| Object::is(s, frame.window.as_ref()));
            same.then(|| id.clone())
        });
        let effects = match found {
            None => self.engine.borrow_mut().refuse_handshake(
                None,
                cold_text!("a plugin-warden message from a window that is no mounted plugin"),
                now(),
            ),
            Some(id) => {
                // No text for a cycle or a BigInt, nor for a message surely longer than the core
                // reads: counted before any text is made, so a value that is small on the wire
                // but huge to walk (a holey array, one object on many paths) is never walked,
                // and a huge hello is not copied into wasm. The core refuses `None`.
                let text = super::binary::pw_json_text(&data, MAX_WINDOW_MESSAGE_BYTES as f64)
                    .dyn_into::<js_sys::JsString>()
                    .ok()
                    .filter(|s| !surely_longer(s.length() as usize, MAX_WINDOW_MESSAGE_BYTES))
                    .and_then(|s| s.as_string());
                self.engine
                    .borrow_mut()
                    .handshake(&id, Incoming::new(text), now())
            }
        };
        self.carry_out(effects);
    }

    /// The core welcomed `id`: give it its own port with the welcome, and settle the mount.
    pub(super) fn welcome(self: &Rc<Self>, id: &str, welcome: &str, mode: &str) {
        let mut mounts = self.mounts.borrow_mut();
        let Some(mount) = mounts.get_mut(id) else {
            return;
        };
        let Some(frame) = mount.frame.as_ref() else {
            return;
        };
        if !matches!(mount.phase, Phase::AwaitingHello { .. }) {
            return;
        }
        mount._grace = None;
        let connected = match self.connect(id, frame, welcome) {
            Ok(c) => c,
            Err(e) => {
                drop(mounts);
                return self.fail(id, e.code, &e.message);
            }
        };
        let previous = std::mem::replace(&mut mount.phase, connected);
        drop(mounts);
        if let Phase::AwaitingHello { resolve, .. } = previous {
            let _ = resolve.call1(&JsValue::NULL, &mount_info(id, mode));
        }
    }

    /// A mount's frame finished loading a document. The first load is the document the SDK
    /// mounted; a `src` page that loaded without the client announcing itself was most likely
    /// refused by the browser (an error page loads instead), so it fails soon, not at the
    /// handshake timeout. Any later load means the frame navigated away: the plugin fails at
    /// once (the navigation's request has left; see docs/security.md).
    pub(super) fn on_frame_load(self: &Rc<Self>, id: &str, nonce: &str, count: u32) {
        if !self.engine.borrow().is_current_mount(id, nonce) {
            return;
        }
        if count > 1 {
            return self.fail(
                id,
                ErrorCode::MountFailed,
                &format!("plugin {id:?} navigated its frame away from the document the SDK mounted; the frame was removed"),
            );
        }
        let pending = {
            let engine = self.engine.borrow();
            !engine.mount_announced(id) && engine.mount_state(id) == Some(MountState::Pending)
        };
        if !pending {
            return;
        }
        let mut mounts = self.mounts.borrow_mut();
        let Some(mount) = mounts.get_mut(id) else {
            return;
        };
        let Some(refusal) = mount.refusal.clone() else {
            return;
        };
        let weak = Rc::downgrade(self);
        let plugin = id.to_owned();
        let mount_nonce = nonce.to_owned();
        mount._grace = Some(Later::new(REFUSAL_GRACE_MS, move || {
            let Some(host) = Host::live(&weak) else {
                return;
            };
            let still_silent = {
                let engine = host.engine.borrow();
                engine.is_current_mount(&plugin, &mount_nonce)
                    && !engine.mount_announced(&plugin)
                    && engine.mount_state(&plugin) == Some(MountState::Pending)
            };
            if still_silent {
                host.fail(&plugin, ErrorCode::MountFailed, &refusal.message());
            }
        }));
    }

    /// Give the plugin its own port, answering the `hello` with `welcome` (JSON text).
    fn connect(
        self: &Rc<Self>,
        id: &str,
        frame: &Frame,
        welcome: &str,
    ) -> Result<Phase, WardenError> {
        let welcome = js_sys::JSON::parse(welcome)
            .map_err(|e| WardenError::new(ErrorCode::Internal, describe(&e)))?;
        let (port, listener, theirs) = self.open_port(id)?;
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
    pub(super) fn open_port(
        self: &Rc<Self>,
        id: &str,
    ) -> Result<(MessagePort, PortListener, MessagePort), WardenError> {
        let channel = MessageChannel::new()
            .map_err(|e| WardenError::new(ErrorCode::MountFailed, describe(&e)))?;
        let port = channel.port1();
        let (weak, plugin): (Weak<Host>, String) = (Rc::downgrade(self), id.to_owned());
        let (weak2, plugin2) = (weak.clone(), plugin.clone());
        let (weak3, plugin3) = (weak.clone(), plugin.clone());
        let (port1, port2) = (port.clone(), port.clone());
        let listener = PortListener::new(
            &port,
            move |call_id, text, units, now_ms| {
                let Some(host) = weak.upgrade() else {
                    return true;
                };
                if host.stuck() {
                    answer_stopped(&port1, call_id);
                    return true;
                }
                host.on_port_text(&plugin, call_id, text, units, now_ms)
            },
            move |data| {
                let Some(host) = weak2.upgrade() else {
                    return true;
                };
                if host.stuck() {
                    answer_stopped(&port2, super::binary::peek(&data).id);
                    return true;
                }
                host.on_port_message(&plugin2, &data)
            },
            move |method| {
                if let Some(host) = Host::live(&weak3) {
                    host.unserved(&plugin3, method.as_deref());
                }
            },
        );
        port.start();
        Ok((port, listener, channel.port2()))
    }
}

/// A plugin's call to a stopped host ([`Host::stuck`]): answered `MODULE_NOT_LOADED` at once,
/// without touching the host's state (else the call would wait out the client's timeout).
/// Inlined into the port's listeners, which are first-visit code: it must run without the
/// core's second part, which may be what could not be loaded.
#[inline(always)]
fn answer_stopped(port: &MessagePort, call_id: Option<u64>) {
    if let Some(id) = call_id {
        // A literal, not `WardenError::new`: that generic's `&str` instance is second-part code
        // (tests/e2e/lazy-modules checks that a stopped host fetches nothing more).
        let e = WardenError {
            code: ErrorCode::ModuleNotLoaded,
            message: String::from("the host stopped when part of its code could not be loaded: it answers no more calls"),
            permission: None,
        };
        super::binary::post(port, &Reply::err(id, &e), &Array::new(), false);
    }
}
