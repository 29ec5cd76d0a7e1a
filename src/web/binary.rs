//! Binary data across the bridge (the forms: [`crate::core::binary`]): `binary.js` takes every
//! `ArrayBuffer`, typed array and `DataView` out of a message into a side table before the core
//! reads its JSON text, and puts them back (transferred) when a result is posted.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::MessagePort;

#[wasm_bindgen(module = "/src/web/binary.js")]
extern "C" {
    #[wasm_bindgen(js_name = pwEncode, catch)]
    fn pw_encode(value: &JsValue, inline: bool) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = pwDecode, catch)]
    fn pw_decode(text: &str, buffers: &JsValue, copy: bool) -> Result<JsValue, JsValue>;
}

/// A value as the core reads it: JSON text with placeholders, and the side table.
pub(crate) struct Encoded {
    /// The JSON text.
    pub(crate) text: String,
    /// The buffers the placeholders name, by index.
    pub(crate) buffers: Array,
}

/// Encode `value` for the core; `inline` for a stored value (bytes as base64 in the text).
/// `None` when it has no JSON form (a cycle, a BigInt), as `JSON.stringify` would throw.
pub(crate) fn encode(value: &JsValue, inline: bool) -> Option<Encoded> {
    let out = pw_encode(value, inline).ok()?;
    let text = Reflect::get(&out, &"text".into()).ok()?.as_string()?;
    let buffers = Reflect::get(&out, &"buffers".into())
        .ok()
        .map(|v| Array::from(&v))
        .unwrap_or_default();
    Some(Encoded { text, buffers })
}

/// The value for JSON text from the core, and its transfer list. Side-table entries are handed
/// over (and taken out of `buffers`) unless `copy`.
pub(crate) fn decode(json: &str, buffers: &Array, copy: bool) -> Option<(JsValue, Array)> {
    let out = pw_decode(json, buffers, copy).ok()?;
    let value = Reflect::get(&out, &"value".into()).ok()?;
    let transfer = Reflect::get(&out, &"transfer".into())
        .ok()
        .map(|v| Array::from(&v))
        .unwrap_or_default();
    Some((value, transfer))
}

/// Post JSON text from the core on `port`, binary data transferred (see [`decode`]).
pub(crate) fn post(port: &MessagePort, json: &str, buffers: &Array, copy: bool) {
    if let Some((value, transfer)) = decode(json, buffers, copy) {
        let _ = if transfer.length() == 0 {
            port.post_message(&value)
        } else {
            port.post_message_with_transferable(&value, &transfer)
        };
    }
}
