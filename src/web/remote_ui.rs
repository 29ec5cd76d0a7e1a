//! Remote UI: a worker plugin's UI, drawn by the host (the remote-UI pattern of Shopify's UI
//! extensions). The plugin's code runs in its worker; what it shows is HTML it sends with
//! `ui.render`, put by the host into a **closed** shadow root in the mount element.
//!
//! Security shape: the HTML was sanitized by the engine with the plugin's remote-UI policy
//! (`Sanitizer::for_remote_ui`: URLs only into the manifest's `assets` origins) and enters the
//! DOM only through the Trusted Types policy, whose `createHTML` sanitizes it again with that
//! same policy. The root is closed, so neither the page's other scripts nor the plugin HTML
//! get a handle to it. Interaction goes the other way as data only: `click`, `input`, `change`
//! and `submit` on elements with `data-action` become `{action, type, value?, form?}` values
//! for the plugin's `ui.action` event. Every `submit` is prevented, so a form never navigates
//! the host page, and a click on a `data-action` link does not follow it.
//!
//! [`RemoteUi`] is an RAII handle: dropping it removes its element and its listeners.

use std::rc::Rc;

use gloo_events::{EventListener, EventListenerOptions};
use js_sys::Reflect;
use serde_json::{Map, Value};
use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, Event, FormData, HtmlFormElement, HtmlInputElement, ShadowRoot,
    ShadowRootInit, ShadowRootMode,
};

use super::sys::describe;
use super::trusted_types::trusted_html;
use crate::core::error::{ErrorCode, WardenError};
use crate::core::protocol::FORBIDDEN_KEYS;
use crate::core::sanitize::Sanitizer;

/// The events the UI reports, as their DOM names.
const EVENTS: [&str; 4] = ["click", "input", "change", "submit"];

/// `<input type>`s whose click is the interaction (the others report `input`/`change`).
const CLICK_INPUT_TYPES: [&str; 3] = ["button", "submit", "reset"];

/// A plugin's host-rendered UI: a `<div data-plugin>` with a closed shadow root.
pub(crate) struct RemoteUi {
    host_element: Element,
    root: ShadowRoot,
    sanitizer: Rc<Sanitizer>,
    policy_name: String,
    _listeners: Vec<EventListener>,
}

impl RemoteUi {
    /// Create the UI's element and closed root in `parent`; `on_action` gets each
    /// `ui.action` payload.
    ///
    /// # Errors
    /// `MOUNT_FAILED` when the element or its shadow root cannot be created.
    pub(crate) fn new(
        document: &Document,
        parent: &Element,
        plugin_id: &str,
        sanitizer: Rc<Sanitizer>,
        policy_name: &str,
        on_action: impl Fn(Value) + 'static,
    ) -> Result<RemoteUi, WardenError> {
        let failed = |e: wasm_bindgen::JsValue| {
            WardenError::new(
                ErrorCode::MountFailed,
                format!("cannot create the remote UI: {}", describe(&e)),
            )
        };
        let host_element = document.create_element("div").map_err(failed)?;
        let _ = host_element.set_attribute("data-plugin", plugin_id);
        let _ = host_element.set_attribute("data-remote-ui", "");
        let root = host_element
            .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Closed))
            .map_err(failed)?;
        let on_action = Rc::new(on_action);
        let listeners = EVENTS
            .iter()
            .map(|&kind| {
                let on_action = on_action.clone();
                EventListener::new_with_options(
                    &root,
                    kind,
                    EventListenerOptions::enable_prevent_default(),
                    move |event| {
                        if let Some(data) = action(kind, event) {
                            on_action(data);
                        }
                    },
                )
            })
            .collect();
        parent.append_child(&host_element).map_err(failed)?;
        Ok(RemoteUi {
            host_element,
            root,
            sanitizer,
            policy_name: policy_name.to_owned(),
            _listeners: listeners,
        })
    }

    /// Replace the UI's content with `html` (sanitized on the way in, through Trusted Types).
    ///
    /// # Errors
    /// `TRUSTED_TYPES` when the policy cannot be created or refuses; `INTERNAL` when the
    /// browser refuses the assignment.
    pub(crate) fn render(&self, html: &str) -> Result<(), WardenError> {
        let trusted = trusted_html(&self.policy_name, &self.sanitizer, html)?;
        // innerHTML through Reflect so the TrustedHTML object (not a string) reaches the sink.
        Reflect::set(&self.root, &"innerHTML".into(), &trusted)
            .map_err(|e| WardenError::new(ErrorCode::Internal, describe(&e)))?;
        Ok(())
    }
}

impl Drop for RemoteUi {
    fn drop(&mut self) {
        self.host_element.remove();
    }
}

/// The `ui.action` payload for one DOM event, if it concerns a `data-action` element.
/// Prevents every `submit`, and the default of clicks on `data-action` links.
fn action(kind: &str, event: &Event) -> Option<Value> {
    if kind == "submit" {
        // Whatever the form, the host page never navigates.
        event.prevent_default();
    }
    let target: Element = event.target()?.dyn_into().ok()?;
    let el = target.closest("[data-action]").ok()??;
    let name = el.get_attribute("data-action")?;
    let tag = el.tag_name().to_ascii_lowercase();
    let mut data = Map::new();
    data.insert("action".into(), Value::String(name));
    data.insert("type".into(), Value::String(kind.to_owned()));
    match kind {
        "click" => {
            let input_type = el
                .dyn_ref::<HtmlInputElement>()
                .map(|i| i.type_().to_ascii_lowercase());
            match (tag.as_str(), input_type.as_deref()) {
                // A form reports its submit; value-bearing inputs their input/change.
                ("form", _) => return None,
                ("input", Some(t)) if !CLICK_INPUT_TYPES.contains(&t) => return None,
                ("a", _) => event.prevent_default(),
                _ => {}
            }
            if let Some(v) = el.get_attribute("value") {
                data.insert("value".into(), Value::String(v));
            }
        }
        "input" | "change" => {
            // The control that changed, under the data-action element (itself, or a fieldset).
            let input = target.dyn_ref::<HtmlInputElement>()?;
            let t = input.type_().to_ascii_lowercase();
            let value = if (t == "checkbox" || t == "radio") && !input.checked() {
                String::new()
            } else {
                input.value()
            };
            data.insert("value".into(), Value::String(value));
        }
        "submit" => {
            let form = el.dyn_ref::<HtmlFormElement>()?;
            data.insert("form".into(), Value::Object(form_fields(form)));
        }
        _ => return None,
    }
    Some(Value::Object(data))
}

/// The form's fields as `{name: value}` strings, read by `new FormData(form)` (so named
/// controls cannot clobber what is read); files and forbidden keys are skipped, and of
/// repeated names the last value wins.
fn form_fields(form: &HtmlFormElement) -> Map<String, Value> {
    let mut out = Map::new();
    let Ok(data) = FormData::new_with_form(form) else {
        return out;
    };
    let Ok(Some(entries)) = js_sys::try_iter(&data) else {
        return out;
    };
    for entry in entries.flatten() {
        let pair = js_sys::Array::from(&entry);
        let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            continue;
        };
        if FORBIDDEN_KEYS.contains(&name.as_str()) {
            continue;
        }
        out.insert(name, Value::String(value));
    }
    out
}
