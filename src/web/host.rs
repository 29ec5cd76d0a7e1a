//! The browser side of the host: mounts, the handshake and each plugin's port.
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
use gloo_timers::callback::Timeout;
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, MessageChannel, MessageEvent, MessagePort};

use super::mount::{create_iframe, Frame};
use super::sys::{describe, error, from_js, js_error, nonce_hex, window};
use crate::core::engine::{Engine, Status};
use crate::core::error::{ErrorCode, WardenError};
use crate::core::mount::{plan, MountContext, MountOptions, MountPlan};

const NS: &str = "plugin-warden";

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
}

struct Mount {
    frame: Frame,
    nonce: String,
    phase: Phase,
}

impl Mount {
    /// Tear down everything this mount created: listener, port, timer, element.
    fn dispose(self) {
        match self.phase {
            Phase::AwaitingHello { reject, .. } => {
                let _ = reject.call1(
                    &JsValue::NULL,
                    &error(
                        ErrorCode::MountFailed,
                        "the plugin was unmounted before it was ready",
                    ),
                );
            }
            Phase::Connected { port, .. } => port.close(),
        }
        self.frame.remove();
    }
}

/// The browser host. Shared by `Rc`; event handlers hold `Weak` references so dropping the
/// host (or `destroy`) frees everything.
pub(crate) struct Host {
    pub(crate) engine: RefCell<Engine>,
    mounts: RefCell<BTreeMap<String, Mount>>,
    window_listener: RefCell<Option<EventListener>>,
    ignored_messages: Cell<u64>,
    rejected_handshakes: Cell<u64>,
}

impl Host {
    pub(crate) fn new() -> Result<Rc<Host>, WardenError> {
        let win = window()?;
        let host = Rc::new(Host {
            engine: RefCell::new(Engine::new()),
            mounts: RefCell::new(BTreeMap::new()),
            window_listener: RefCell::new(None),
            ignored_messages: Cell::new(0),
            rejected_handshakes: Cell::new(0),
        });
        let weak = Rc::downgrade(&host);
        let listener = EventListener::new(&win, "message", move |event| {
            if let (Some(host), Some(event)) = (weak.upgrade(), event.dyn_ref::<MessageEvent>()) {
                host.on_window_message(event);
            }
        });
        *host.window_listener.borrow_mut() = Some(listener);
        Ok(host)
    }

    /// Count of window messages that were not plugin-warden handshakes (ignored).
    pub(crate) fn ignored_messages(&self) -> u64 {
        self.ignored_messages.get()
    }

    /// Count of handshakes refused (unknown source, wrong nonce, replay).
    pub(crate) fn rejected_handshakes(&self) -> u64 {
        self.rejected_handshakes.get()
    }

    /// Start mounting; the promise settles when the plugin is ready or has failed.
    pub(crate) fn mount(self: &Rc<Self>, id: &str, element: &Element, opts: JsValue) -> Promise {
        match self.start_mount(id, element, opts) {
            Ok(p) => p,
            Err(e) => Promise::reject(&js_error(&e)),
        }
    }

    fn start_mount(
        self: &Rc<Self>,
        id: &str,
        element: &Element,
        opts: JsValue,
    ) -> Result<Promise, WardenError> {
        self.engine.borrow().status(id)?;
        if self.mounts.borrow().contains_key(id) {
            return Err(WardenError::new(
                ErrorCode::AlreadyExists,
                format!("plugin {id:?} is already mounted; unmount it first"),
            ));
        }
        let opts: MountOptions = from_js(&opts, "mount options", ErrorCode::MountFailed)?;
        let win = window()?;
        let host_url = win
            .location()
            .href()
            .map_err(|e| WardenError::new(ErrorCode::Internal, describe(&e)))?;
        let host_origin = win
            .location()
            .origin()
            .map_err(|e| WardenError::new(ErrorCode::Internal, describe(&e)))?;
        let ctx = MountContext {
            host_url: &host_url,
            plugin_id: id,
            allow: &[],
            entry_src: None,
        };
        let MountPlan::Iframe(plan) = plan(&opts, &ctx).map_err(|e| WardenError::from_coded(&e))?;
        let document = win.document().ok_or_else(|| {
            WardenError::new(ErrorCode::MountFailed, "the window has no document")
        })?;
        let nonce = nonce_hex()?;
        let bootstrap = format!("{NS}|1|{nonce}|{host_origin}");
        let frame = create_iframe(&document, element, &plan, &bootstrap)?;

        let mut settle: Option<(Function, Function)> = None;
        let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
        let (resolve, reject) = settle.ok_or_else(|| {
            // invariant: the Promise constructor runs its executor synchronously.
            WardenError::new(ErrorCode::Internal, "Promise executor did not run")
        })?;
        let weak = Rc::downgrade(self);
        let plugin = id.to_owned();
        let timeout_ms = plan.timeout_ms;
        let timer = Timeout::new(timeout_ms, move || {
            if let Some(host) = weak.upgrade() {
                host.fail(
                    &plugin,
                    ErrorCode::Timeout,
                    &format!(
                        "plugin {plugin:?} did not complete the handshake within {timeout_ms} ms"
                    ),
                );
            }
        });
        self.mounts.borrow_mut().insert(
            id.to_owned(),
            Mount {
                frame,
                nonce,
                phase: Phase::AwaitingHello {
                    resolve,
                    reject,
                    _timer: timer,
                },
            },
        );
        self.engine.borrow_mut().set_status(id, Status::Mounting)?;
        Ok(promise)
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
        );
        let mount = self.mounts.borrow_mut().remove(id);
        if let Some(mount) = mount {
            if let Phase::AwaitingHello { reject, .. } = &mount.phase {
                let _ = reject.call1(&JsValue::NULL, &error(code, message));
            }
            if let Phase::Connected { port, .. } = &mount.phase {
                port.close();
            }
            mount.frame.remove();
        }
    }

    /// Remove a plugin's mount and everything it created.
    pub(crate) fn unmount(&self, id: &str) -> Result<(), WardenError> {
        self.engine.borrow().status(id)?;
        let mount = self.mounts.borrow_mut().remove(id);
        if let Some(mount) = mount {
            mount.dispose();
        }
        self.engine.borrow_mut().set_status(id, Status::Installed)
    }

    /// Unmount everything and stop listening.
    pub(crate) fn destroy(&self) {
        let mounts = std::mem::take(&mut *self.mounts.borrow_mut());
        for (_, m) in mounts {
            m.dispose();
        }
        self.window_listener.borrow_mut().take();
    }

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
            let same = source
                .as_ref()
                .is_some_and(|s| Object::is(s, m.frame.window.as_ref()));
            same.then(|| id.clone())
        });
        let Some(id) = found else {
            return self.reject_handshake(
                "a plugin-warden message from a window that is no mounted plugin",
            );
        };
        if kind.as_deref() != Some("hello")
            || Reflect::get(&data, &"v".into())
                .ok()
                .and_then(|v| v.as_f64())
                != Some(1.0)
        {
            return self.reject_handshake("a window message that is not a version-1 hello");
        }
        let mut mounts = self.mounts.borrow_mut();
        let Some(mount) = mounts.get_mut(&id) else {
            return;
        };
        if !matches!(mount.phase, Phase::AwaitingHello { .. }) {
            drop(mounts);
            return self.reject_handshake(
                "a second hello for a mount that already completed its handshake",
            );
        }
        if nonce.as_deref() != Some(mount.nonce.as_str()) {
            drop(mounts);
            return self.reject_handshake("a hello with the wrong nonce");
        }
        let connected = match self.connect(&id, &mount.frame) {
            Ok(c) => c,
            Err(e) => {
                drop(mounts);
                return self.fail(&id, e.code, &e.message);
            }
        };
        let previous = std::mem::replace(&mut mount.phase, connected);
        drop(mounts);
        let _ = self.engine.borrow_mut().set_status(&id, Status::Mounted);
        if let Phase::AwaitingHello { resolve, .. } = previous {
            let info = Object::new();
            let _ = Reflect::set(&info, &"pluginId".into(), &id.as_str().into());
            let _ = Reflect::set(&info, &"mode".into(), &"iframe".into());
            let _ = resolve.call1(&JsValue::NULL, &info);
        }
    }

    fn reject_handshake(&self, _why: &str) {
        self.rejected_handshakes
            .set(self.rejected_handshakes.get() + 1);
    }

    /// Give the plugin its own port, answering the `hello`.
    fn connect(self: &Rc<Self>, id: &str, frame: &Frame) -> Result<Phase, WardenError> {
        let internal = |e: JsValue| WardenError::new(ErrorCode::MountFailed, describe(&e));
        let channel = MessageChannel::new().map_err(internal)?;
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
        let grants = self.engine.borrow().grants(id)?;
        let welcome = Object::new();
        let _ = Reflect::set(&welcome, &"ns".into(), &NS.into());
        let _ = Reflect::set(&welcome, &"v".into(), &1.into());
        let _ = Reflect::set(&welcome, &"type".into(), &"welcome".into());
        let _ = Reflect::set(&welcome, &"pluginId".into(), &id.into());
        let grants_js: Array = grants.iter().map(|g| JsValue::from_str(g)).collect();
        let _ = Reflect::set(&welcome, &"grants".into(), &grants_js);
        // "*" is the only target an opaque-origin frame can be addressed with; the recipient is
        // pinned by identity instead: the exact WindowProxy this mount created.
        frame
            .window
            .post_message_with_transfer(&welcome, "*", &Array::of1(&channel.port2()))
            .map_err(internal)?;
        Ok(Phase::Connected {
            port,
            _listener: listener,
        })
    }

    fn on_port_message(&self, id: &str, port: &MessagePort, event: &MessageEvent) {
        let text = js_sys::JSON::stringify(&event.data())
            .ok()
            .and_then(|s| s.as_string());
        let reply = self.engine.borrow_mut().handle(id, text.as_deref());
        if let Some(reply) = reply {
            if let Ok(value) = js_sys::JSON::parse(&reply) {
                let _ = port.post_message(&value);
            }
        }
    }
}
