//! The `#[wasm_bindgen]` facade: converts values and errors, calls the core, nothing more.

use std::rc::Rc;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::Element;

use crate::core::error::{ErrorCode, WardenError};
use crate::web::host::Host;
use crate::web::sys::{error, js_error};

fn to_js<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| {
            error(
                ErrorCode::Internal,
                format!("cannot convert a value for JS: {e}"),
            )
        })
}

fn coded(e: WardenError) -> JsValue {
    js_error(&e)
}

/// The host side of plugin-warden: installs, mounts and polices plugins.
#[wasm_bindgen]
pub struct PluginHost {
    host: Rc<Host>,
}

#[wasm_bindgen]
impl PluginHost {
    /// Create a host. `options` follows DESIGN.md §6.
    ///
    /// # Errors
    /// Throws `INVALID_ARGUMENT` for malformed options.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<PluginHost, JsValue> {
        if !(options.is_undefined() || options.is_null() || options.is_object()) {
            return Err(error(
                ErrorCode::InvalidArgument,
                "PluginHost options: expected an object",
            ));
        }
        Ok(PluginHost {
            host: Host::new().map_err(coded)?,
        })
    }

    /// Install a plugin from its manifest (an object or JSON text). Resolves with `{ id, status }`.
    pub fn install(&self, manifest: JsValue, _options: JsValue) -> Promise {
        let text = if let Some(s) = manifest.as_string() {
            Ok(s)
        } else {
            js_sys::JSON::stringify(&manifest)
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| {
                    error(
                        ErrorCode::InvalidManifest,
                        "manifest: expected an object or JSON text",
                    )
                })
        };
        let result = text.and_then(|t| {
            let mut engine = self.host.engine.borrow_mut();
            let id = engine.install(&t).map_err(coded)?;
            let info = Object::new();
            Reflect::set(&info, &"id".into(), &id.as_str().into())?;
            Reflect::set(
                &info,
                &"status".into(),
                &to_js(engine.status(&id).map_err(coded)?)?,
            )?;
            Ok(JsValue::from(info))
        });
        match result {
            Ok(v) => Promise::resolve(&v),
            Err(e) => Promise::reject(&e),
        }
    }

    /// Mount an installed plugin into `element`. Resolves once the plugin is ready; rejects
    /// with `MOUNT_FAILED` or `TIMEOUT`.
    pub fn mount(&self, id: &str, element: &Element, options: JsValue) -> Promise {
        self.host.mount(id, element, options)
    }

    /// The plugin's status: `{ state: 'installed' | 'mounting' | 'mounted' | 'failed', code?, message? }`.
    ///
    /// # Errors
    /// Throws `NOT_FOUND` for an unknown id.
    pub fn status(&self, id: &str) -> Result<JsValue, JsValue> {
        to_js(self.host.engine.borrow().status(id).map_err(coded)?)
    }

    /// Remove a plugin's mount and every listener, port and element it created.
    ///
    /// # Errors
    /// Throws `NOT_FOUND` for an unknown id.
    pub fn unmount(&self, id: &str) -> Result<(), JsValue> {
        self.host.unmount(id).map_err(coded)
    }

    /// Counters of window traffic the host refused: `{ ignoredMessages, rejectedHandshakes }`.
    #[wasm_bindgen(js_name = bridgeStats)]
    pub fn bridge_stats(&self) -> Result<JsValue, JsValue> {
        let o = Object::new();
        Reflect::set(
            &o,
            &"ignoredMessages".into(),
            &(self.host.ignored_messages() as f64).into(),
        )?;
        Reflect::set(
            &o,
            &"rejectedHandshakes".into(),
            &(self.host.rejected_handshakes() as f64).into(),
        )?;
        Ok(o.into())
    }

    /// Unmount every plugin and stop listening. The host is unusable afterwards.
    pub fn destroy(&self) {
        self.host.destroy();
    }
}
