//! Small bindings the rest of `web` shares: JS `Error`s with stable codes, randomness, time.

use js_sys::{Error as JsError, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::core::error::{ErrorCode, WardenError};

/// A JS `Error` with `name = "PluginWardenError"`, a stable `code` and, for
/// `PERMISSION_DENIED`, the missing `permission`.
#[cold]
#[inline(never)]
pub(crate) fn js_error(e: &WardenError) -> JsValue {
    let err = JsError::new(&e.message);
    err.set_name("PluginWardenError");
    // Reflect::set only fails on frozen or exotic targets; a fresh Error is neither.
    let _ = Reflect::set(&err, &"code".into(), &e.code.as_str().into());
    if let Some(p) = &e.permission {
        let _ = Reflect::set(&err, &"permission".into(), &p.into());
    }
    err.into()
}

/// Shorthand for [`js_error`] from a code and a message.
#[cold]
#[inline(never)]
pub(crate) fn error(code: ErrorCode, message: impl Into<String>) -> JsValue {
    js_error(&WardenError::new(code, message))
}

/// A readable description of any thrown JS value (an `Error`'s message, a string, or its
/// `String()` form), for wrapping foreign failures into coded errors.
pub(crate) fn describe(value: &JsValue) -> String {
    if let Some(e) = value.dyn_ref::<JsError>() {
        return String::from(e.message());
    }
    if let Some(s) = value.as_string() {
        return s;
    }
    js_sys::JsString::from(value.clone())
        .as_string()
        .unwrap_or_else(|| "an unprintable value".to_owned())
}

/// The global object as a `Window`, if this is a window (not a worker).
pub(crate) fn window() -> Result<web_sys::Window, WardenError> {
    web_sys::window().ok_or_else(|| {
        WardenError::new(
            ErrorCode::MountFailed,
            "plugin-warden's host runs in a window; found none",
        )
    })
}

/// `N` bytes from the browser's CSPRNG (`crypto.getRandomValues`).
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], WardenError> {
    let mut buf = [0u8; N];
    let crypto = window()?.crypto().map_err(|e| {
        WardenError::new(ErrorCode::Internal, format!("no crypto: {}", describe(&e)))
    })?;
    crypto
        .get_random_values_with_u8_array(&mut buf)
        .map_err(|e| {
            WardenError::new(
                ErrorCode::Internal,
                format!("getRandomValues failed: {}", describe(&e)),
            )
        })?;
    Ok(buf)
}

/// A fresh 128-bit nonce, hex-encoded (32 characters).
pub(crate) fn nonce_hex() -> Result<String, WardenError> {
    let bytes = random_bytes::<16>()?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Read a host-supplied JS value through JSON with its [`FromJson`](crate::core::json::FromJson)
/// reader, so every key is looked at (a misspelled option is an error, not silently ignored as
/// a reader of only the declared properties would). `undefined`/`null` give `T::default()`.
/// A lone surrogate in a string value becomes U+FFFD, as in every string wasm-bindgen hands
/// the core (a mount's `html` is cleaned like `sanitize`'s input); in a key it is refused.
pub(crate) fn from_js<T>(value: &JsValue, what: &str, code: ErrorCode) -> Result<T, WardenError>
where
    T: crate::core::json::FromJson + Default,
{
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    let text = super::binary::pw_options_text(value).map_err(|e| {
        WardenError::new(
            code,
            format!("{what}: cannot be read as JSON: {}", describe(&e)),
        )
    })?;
    let text = super::binary::string_of(&text).unwrap_or_default();
    let value: serde_json::Value = crate::core::json::parse_value(&text)
        .map_err(|e| WardenError::new(code, format!("{what}: {e}")))?;
    T::from_json_value(value).map_err(|e| WardenError::new(code, format!("{what}: {e}")))
}

/// Serialize a Rust value as plain JS data (objects, not `Map`s): as JSON text, then
/// `JSON.parse`. The module's serde_json serializer already covers every type that crosses
/// here, so no second serializer (serde-wasm-bindgen's: 11 KiB of the optimized module, with
/// its instantiations and its string cache's hash table) is linked. What JS receives is the
/// same plain data; `JSON.parse` makes every key an own data property, `__proto__` included.
pub(crate) fn to_js<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| {
        error(
            ErrorCode::Internal,
            format!("cannot convert a value for JS: {e}"),
        )
    })?;
    js_sys::JSON::parse(&text)
}

/// A pending `Promise` with the functions that settle it.
pub(crate) fn deferred(
) -> Result<(js_sys::Promise, js_sys::Function, js_sys::Function), WardenError> {
    let mut settle: Option<(js_sys::Function, js_sys::Function)> = None;
    let promise = js_sys::Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let (resolve, reject) = settle.ok_or_else(|| {
        // invariant: the Promise constructor runs its executor synchronously.
        WardenError::new(ErrorCode::Internal, "Promise executor did not run")
    })?;
    Ok((promise, resolve, reject))
}
