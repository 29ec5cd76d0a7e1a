//! Mounting: the frame, runner job or shadow root of each mount, and the browser handles the
//! host keeps for it. What a mount is (mode, nonce, handshake state) the engine records
//! ([`Engine::begin_mount`](crate::core::engine::Engine::begin_mount)).

use std::cell::Cell;
use std::rc::Rc;

use gloo_events::EventListener;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, MessagePort, ShadowRootInit, ShadowRootMode};

use super::binary::PortListener;
use super::handshake::timeout_head;
use super::host::{now, Host, NS};
use super::later::Later;
use super::mount::{create_iframe, Frame};
use super::remote_ui::RemoteUi;
use super::sys::{deferred, describe, error, js_error, nonce_hex, window};
use super::trusted_types::{trusted_document, trusted_html};
use crate::core::engine::{MountMode, MountSpec, RunnerJob, Status, VerifiedCode};
use crate::core::error::{cold_text, ErrorCode, WardenError};
use crate::core::mount::{plan, FrameSource, MountContext, MountOptions, MountPlan};
use crate::core::protocol::event_message;
use crate::core::provenance::Provenance;

pub(super) enum Phase {
    AwaitingHello {
        resolve: Function,
        reject: Function,
        _timer: Later,
    },
    Connected {
        port: MessagePort,
        _listener: PortListener,
    },
    Shadow {
        host_element: Element,
        /// The port of a first-party `render` callback's SDK, if any.
        port: Option<(MessagePort, PortListener)>,
    },
}

/// What a mount fails with when the browser refused its `src` page under the embedded CSP:
/// kept as its parts, and written only then (not on every mount, and not by the code of the
/// core's first part: the grace timer loads the second part first).
#[derive(Clone)]
pub(super) struct Refusal {
    url: String,
    host_origin: String,
    csp: String,
}

impl Refusal {
    #[inline(never)]
    pub(super) fn message(&self) -> String {
        let Refusal {
            url,
            host_origin,
            csp,
        } = self;
        format!(
            "the plugin page {url} was not displayed: the browser refused it under the policy the SDK requires (CSP Embedded Enforcement), or it does not load plugin-warden/client with its document. The page's server must send the header `Allow-CSP-From: {host_origin}` (or `*`), or a Content-Security-Policy at least as strict as: {csp}; and it must not forbid framing (`X-Frame-Options`, or `frame-ancestors` in its own Content-Security-Policy)"
        )
    }
}

pub(crate) struct Mount {
    /// The element the host mounted into, and the mount options as given: an update remounts
    /// the plugin with both.
    pub(super) container: Element,
    pub(super) options: JsValue,
    pub(super) frame: Option<Frame>,
    pub(super) phase: Phase,
    /// For remote-UI worker mounts (`ui: 'shadow'`): the host-rendered UI, removed on drop.
    pub(super) remote_ui: Option<RemoteUi>,
    /// The frame's `load` events: the first is the mounted document; any later one means the
    /// frame navigated away from it. Dropped (and so removed) with the mount.
    pub(super) _load: Option<EventListener>,
    /// For `src` pages under an embedded CSP: what the refusal says, used when the page's `load`
    /// comes without the client having announced itself.
    pub(super) refusal: Option<Refusal>,
    /// The timer started by the first `load` of a page that had not announced itself.
    pub(super) _grace: Option<Later>,
}

impl Mount {
    /// Tear down everything this mount created: listener, port, timer, element.
    pub(super) fn dispose(self, code: ErrorCode, message: &str) {
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

impl Host {
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
                    // A stopped host (Host::stuck) is not touched: the entry module rejects.
                    if host.stuck() {
                        return Err(JsValue::UNDEFINED);
                    }
                    let verified = host.verified_code(&id, code, signature).await;
                    if host.stuck() {
                        return Err(JsValue::UNDEFINED);
                    }
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
        if self.stuck() {
            // Stopped while WebCrypto ran (Host::stuck): the entry module rejects the mount.
            return Err(WardenError::new(ErrorCode::ModuleNotLoaded, String::new()));
        }
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
        let mut job = |code: Option<String>, csp| -> Result<RunnerJob, WardenError> {
            let provided = provided.take();
            if code.is_some() != provided.is_some() {
                // invariant: Host::mount verifies every mount-time `code` first.
                return Err(WardenError::new(
                    ErrorCode::Internal,
                    "mount-time code reached the mount unverified",
                ));
            }
            let code = self.engine.borrow().mount_code(id, provided)?;
            Ok(RunnerJob { code, csp })
        };
        let (plan, mode, ui) = match planned {
            MountPlan::Iframe(p) => (p, MountMode::Iframe, None),
            MountPlan::Worker {
                frame,
                code,
                csp,
                ui,
            } => (frame, MountMode::Worker(job(code, csp)?), ui),
            MountPlan::Bundle { frame, code, csp } => {
                (frame, MountMode::Bundle(job(code, csp)?), None)
            }
            MountPlan::Shadow { html, .. } => {
                return self.mount_shadow(id, &document, element, &given, html.as_deref(), render)
            }
        };
        let refusal = match (&plan.source, &plan.csp) {
            (FrameSource::Src(url), Some(csp)) => Some(Refusal {
                url: url.clone(),
                host_origin: host_origin.clone(),
                csp: csp.clone(),
            }),
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
            matches!(mode, MountMode::Worker(_)),
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
                if let Some(host) = Host::live(&weak) {
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
            FrameSource::Src(url) => Some((
                url.clone(),
                matches!(mode, MountMode::Worker(_) | MountMode::Bundle(_)),
            )),
            FrameSource::Srcdoc(_) => None,
        };
        // Failed on time even while the core's second part, which says why, cannot be loaded
        // (the network gone): a pending mount would otherwise wait for the network.
        let timer = Later::urgent(timeout_ms, move |loaded| {
            if let Some(host) = Host::live(&weak) {
                let message = if loaded {
                    host.timeout_message(&plugin, timeout_ms, page.as_ref())
                } else {
                    timeout_head(
                        &plugin,
                        timeout_ms,
                        " (the rest of the core module, which would say why, could not be loaded)",
                    )
                };
                host.fail(&plugin, ErrorCode::Timeout, &message);
            }
        });
        let spec = MountSpec {
            mode,
            nonce: Some(nonce),
            ui,
        };
        if let Err(e) = self.engine.borrow_mut().begin_mount(id, spec, now()) {
            frame.remove();
            return Err(e);
        }
        self.mounts.borrow_mut().insert(
            id.to_owned(),
            Mount {
                container: element.clone(),
                options: given.clone(),
                frame: Some(frame),
                phase: Phase::AwaitingHello {
                    resolve,
                    reject,
                    _timer: timer,
                },
                remote_ui,
                _load: Some(load),
                refusal,
                _grace: None,
            },
        );
        Ok(promise)
    }

    /// A remote UI for plugin `id` in `element`, sanitizing with the host's policy narrowed to
    /// the plugin's asset origins; its `ui.action`s go to the plugin's port.
    // This, `mount_shadow` and `trusted_document` are kept out of `start_mount` (not inlined):
    // the browser's split (scripts/split-module.mjs) then leaves the modes a first visit does
    // not use (worker UI, shadow, srcdoc) out of the part every host loads.
    #[inline(never)]
    fn remote_ui(
        self: &Rc<Self>,
        document: &web_sys::Document,
        element: &Element,
        id: &str,
        assets: &[String],
    ) -> Result<RemoteUi, WardenError> {
        let weak = Rc::downgrade(self);
        let plugin = id.to_owned();
        // A render's cleans keep to a time limit, measured on the clean clock: installed here,
        // where the first time-limited clean is planned, not on every host's first visit.
        super::sanitizer::install_clean_clock();
        // The engine's policy for this UI, time limit included: the Trusted Types policy
        // cleans each render a second time.
        let policy = self.sanitizer.for_remote_ui(assets);
        let clean_ms = self.engine.borrow().render_clean_ms();
        RemoteUi::new(
            document,
            element,
            id,
            Rc::new(policy.with_time_limit(clean_ms).unwrap_or(policy)),
            &self.policy_name,
            move |data| {
                if let Some(host) = Host::live(&weak) {
                    host.send_event(&plugin, "ui.action", &data);
                }
            },
        )
    }

    /// Post a host event to one connected plugin (nothing if it is not connected).
    fn send_event(&self, id: &str, name: &str, data: &serde_json::Value) {
        self.post_to(id, &event_message(name, data));
    }

    #[inline(never)]
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
        let spec = MountSpec {
            mode: MountMode::Shadow,
            nonce: None,
            ui: None,
        };
        if let Err(e) = self.engine.borrow_mut().begin_mount(id, spec, now()) {
            host_element.remove();
            return Err(e);
        }
        self.mounts.borrow_mut().insert(
            id.to_owned(),
            Mount {
                container: element.clone(),
                options: given.clone(),
                frame: None,
                phase: Phase::Shadow { host_element, port },
                remote_ui: None,
                _load: None,
                refusal: None,
                _grace: None,
            },
        );
        let welcome = self.engine.borrow_mut().connect_shadow(id, now())?;
        if let (Some(render), Some(theirs)) = (render, theirs) {
            let welcome = js_sys::JSON::parse(&welcome)
                .map_err(|e| WardenError::new(ErrorCode::Internal, describe(&e)))?;
            if let Err(e) = render.call3(&JsValue::NULL, &root, &theirs, &welcome) {
                let message = format!(
                    "the render callback of plugin {id:?} threw: {}",
                    describe(&e)
                );
                self.fail(id, ErrorCode::MountFailed, &message);
                return Err(WardenError::new(ErrorCode::MountFailed, message));
            }
        }
        Ok(Promise::resolve(&mount_info(id, MountMode::Shadow.name())))
    }
}

pub(super) fn mount_info(id: &str, mode: &str) -> JsValue {
    let info = Object::new();
    let _ = Reflect::set(&info, &"pluginId".into(), &id.into());
    let _ = Reflect::set(&info, &"mode".into(), &mode.into());
    info.into()
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
            cold_text!("mount options: `signature` covers the mount's `code`, which is missing"),
        )),
        (Some(code), signature) => {
            let rest = Object::assign(&Object::new(), opts.unchecked_ref());
            let _ = Reflect::delete_property(&rest, &"signature".into());
            Ok(Some((code, signature, rest.into())))
        }
    }
}
