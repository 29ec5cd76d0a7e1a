//! Binary data across the bridge (the forms: [`crate::core::binary`]): `binary.js` takes every
//! `ArrayBuffer`, typed array and `DataView` out of a message into a side table before the core
//! reads its JSON text, and puts them back (transferred) when a result is posted.

use crate::core::engine::Unread;
use crate::core::utf8::{encode_resuming, surely_longer, Progress};
use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::MessagePort;

#[wasm_bindgen(module = "/src/web/binary.js")]
extern "C" {
    #[wasm_bindgen(js_name = pwDecode, catch)]
    fn pw_decode(text: &str, buffers: &JsValue, copy: bool) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = pwEncodeInto, catch)]
    fn pw_encode_into(
        value: &JsValue,
        inline: bool,
        buffers: &Array,
        max: f64,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = pwUtf8Into)]
    fn pw_utf8_into(text: &JsValue, from: f64, into: &mut [u8]) -> f64;
    #[wasm_bindgen(js_name = pwUtf8Read)]
    fn pw_utf8_read() -> f64;
    #[wasm_bindgen(js_name = pwPeek)]
    fn pw_peek(data: &JsValue) -> Array;
    #[wasm_bindgen(js_name = pwPeekId)]
    fn pw_peek_id(data: &JsValue) -> f64;
    #[wasm_bindgen(js_name = pwListen)]
    fn pw_listen(
        port: &MessagePort,
        text: &JsValue,
        other: &JsValue,
        unserved: &JsValue,
        v: f64,
    ) -> js_sys::Function;
    #[wasm_bindgen(js_name = pwIsStorageSet)]
    fn pw_is_storage_set(data: &JsValue) -> bool;
    /// Set what a port listener calls to load the core's second part for the messages it
    /// holds (`() => Promise | null`, as later.js's), and the hooks a plugin's message is made
    /// ready with (`Host::ahead`, src/web/effects.rs): `prepare()` and `loaded()`.
    #[wasm_bindgen(js_name = pwSetPortHooks)]
    pub(crate) fn set_port_hooks(load: &JsValue, prepare: &JsValue, loaded: &JsValue);
    /// Whether a message is to be made ready ahead: the entry module set those hooks (then the
    /// two below may be called) and the core's second part is not loaded. Without them (an
    /// unsplit module's tests), or once that part has loaded, a message goes to the engine as
    /// it is.
    #[wasm_bindgen(js_name = pwAheadHooks)]
    pub(crate) fn ahead_hooks() -> bool;
    /// `prepare()`: whether the message in the slot of
    /// [`pw_prepare`](super::effects::pw_prepare) was prepared, not cut off.
    #[wasm_bindgen(js_name = pwPrepareAhead)]
    pub(crate) fn prepare_ahead() -> bool;
    /// `loaded()`: whether the core's second part is loaded (true without the hooks).
    #[wasm_bindgen(js_name = pwPartLoaded)]
    pub(crate) fn part_loaded() -> bool;
    /// `JSON.stringify(value)`, or undefined when that throws or the text is surely longer
    /// than `max` (counted first, with work bounded by `max`: binary.js `sizeAtLeast`).
    #[wasm_bindgen(js_name = pwJsonText)]
    pub(crate) fn pw_json_text(value: &JsValue, max: f64) -> JsValue;
    #[wasm_bindgen(js_name = pwOptionsText, catch)]
    pub(crate) fn pw_options_text(value: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = pwShortString)]
    fn pw_short_string(v: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = pwPost)]
    fn pw_post(port: &MessagePort, text: &str, buffers: &JsValue, copy: bool) -> bool;
    #[wasm_bindgen(js_name = pwPostStored)]
    fn pw_post_stored(port: &MessagePort, v: f64, id: f64, area: &JsValue, key: &JsValue) -> f64;
    #[wasm_bindgen(js_name = pwStoredError)]
    fn pw_stored_error() -> String;
}

/// What [`post_stored`] came to.
pub(crate) enum Stored {
    /// The reply is posted (with the value, or without one for a missing key).
    Posted,
    /// The stored text is not one JSON value: nothing posted.
    NotJson,
    /// The area threw (the message): nothing posted.
    Failed(String),
}

/// Read backend key `key` from `area` (a Web Storage area or a JS `Map`) and post the success
/// reply `{v, id, ok: true, value}` for it on `port` — `value` as [`post`] would decode it from
/// a reply carrying that text — or `{v, id, ok: true}` when the key is missing.
pub(crate) fn post_stored(port: &MessagePort, id: u64, area: &JsValue, key: &JsValue) -> Stored {
    let v = crate::core::protocol::PROTOCOL_VERSION as f64;
    let out = pw_post_stored(port, v, id as f64, area, key);
    if out < 0.5 {
        Stored::Posted
    } else if out < 1.5 {
        Stored::NotJson
    } else {
        Stored::Failed(pw_stored_error())
    }
}

/// What the host reads off a plugin's port message before the core, without property names
/// made per message: the call id and a pong's `seq`, each when it is a safe non-negative
/// integer (the only ids and seqs the core answers).
pub(crate) struct Peeked {
    /// `data.id`.
    pub(crate) id: Option<u64>,
    /// `data.data.seq` when `data.event` is `"pong"`.
    pub(crate) pong_seq: Option<u64>,
}

/// [`Peeked`] for a port message: one call into JS returning a number, and for a pong-shaped
/// message (the heartbeat's, every few seconds) a second that reads its `seq`.
pub(crate) fn peek(data: &JsValue) -> Peeked {
    let id = pw_peek_id(data);
    if id >= 0.0 {
        return Peeked {
            id: safe_integer(id),
            pong_seq: None,
        };
    }
    if id > -1.5 {
        return Peeked {
            id: None,
            pong_seq: None,
        };
    }
    let a = pw_peek(data);
    Peeked {
        id: a.get(0).as_f64().and_then(safe_integer),
        pong_seq: a.get(1).as_f64().and_then(safe_integer),
    }
}

/// Whether a port message is a `storage.set` (whose binary data is inlined, see [`encode`]).
pub(crate) fn is_storage_set(data: &JsValue) -> bool {
    pw_is_storage_set(data)
}

/// A plugin port's `message` listener (`pwListen`), removed when dropped: a small message
/// reaches `text` as the call id and JSON text `binary.js` read off it, the text's length in
/// UTF-16 units and the time it arrived (`Date.now()`, as [`super::host::now`] reads it);
/// every other message reaches `other` as its data.
///
/// Each answers `false` for a message it cannot take before the core's second part has loaded
/// (`Host::ahead`, src/web/effects.rs): the listener then holds it, and every later message, in
/// order, loads that part asynchronously and hands them again; if it cannot be loaded, the
/// listener answers those still refused itself (`MODULE_NOT_LOADED`), and tells `unserved`
/// of each, with the method it names if any, for the audit log.
pub(crate) struct PortListener {
    port: MessagePort,
    listener: js_sys::Function,
    _text: Closure<dyn Fn(f64, String, f64, f64) -> bool>,
    _other: Closure<dyn Fn(JsValue) -> bool>,
    _unserved: Closure<dyn Fn(JsValue) -> bool>,
}

impl PortListener {
    pub(crate) fn new(
        port: &MessagePort,
        text: impl Fn(Option<u64>, String, usize, f64) -> bool + 'static,
        other: impl Fn(JsValue) -> bool + 'static,
        unserved: impl Fn(Option<String>) + 'static,
    ) -> Self {
        let text = Closure::<dyn Fn(f64, String, f64, f64) -> bool>::new(
            move |id: f64, json, units: f64, now_ms: f64| {
                text(safe_integer(id), json, units as usize, now_ms)
            },
        );
        let other = Closure::<dyn Fn(JsValue) -> bool>::new(other);
        // The type of `other`'s closure, so that the module has no second invoker for it.
        let unserved = Closure::<dyn Fn(JsValue) -> bool>::new(move |method: JsValue| {
            unserved(method.as_string());
            true
        });
        let version = crate::core::protocol::PROTOCOL_VERSION as f64;
        let listener = pw_listen(
            port,
            text.as_ref(),
            other.as_ref(),
            unserved.as_ref(),
            version,
        );
        PortListener {
            port: port.clone(),
            listener,
            _text: text,
            _other: other,
            _unserved: unserved,
        }
    }
}

impl Drop for PortListener {
    fn drop(&mut self) {
        let _ = self
            .port
            .remove_event_listener_with_callback("message", &self.listener);
    }
}

/// `n` when it is a safe non-negative integer (`Number.isSafeInteger(n) && n >= 0`).
fn safe_integer(n: f64) -> Option<u64> {
    let max = crate::core::protocol::MAX_SAFE_INTEGER as f64;
    (n.fract() == 0.0 && n >= 0.0 && n <= max).then_some(n as u64)
}

/// A value as the core reads it: JSON text with placeholders, and the side table.
pub(crate) struct Encoded {
    /// The JSON text.
    pub(crate) text: String,
    /// The buffers the placeholders name, by index.
    pub(crate) buffers: Array,
}

/// Encode `value` for the core; `inline` for a stored value (bytes as base64 in the text).
/// [`Unread::NoJsonForm`] when it has none (a cycle, a BigInt), as `JSON.stringify` would
/// throw; [`Unread::TooLarge`] when it is surely longer than `max_bytes`: either a count made
/// before the text (`binary.js` `sizeAtLeast`: its work bounded by `max_bytes`, so a value that
/// is small on the wire but huge to walk, a holey array or many paths to one object, never
/// reaches `JSON.stringify`), or the text's UTF-16 units. The text is then not copied into wasm
/// memory (which never shrinks).
pub(crate) fn encode(value: &JsValue, inline: bool, max_bytes: usize) -> Result<Encoded, Unread> {
    let buffers = Array::new();
    let text = pw_encode_into(value, inline, &buffers, max_bytes as f64)
        .map_err(|_| Unread::NoJsonForm)?;
    if let Some(at_least) = text.as_f64() {
        return Err(Unread::TooLarge {
            at_least: at_least as usize,
        });
    }
    let units = text
        .dyn_ref::<js_sys::JsString>()
        .map_or(0, |t| t.length() as usize);
    within_limit(units, max_bytes)?;
    let text = string_of(&text).ok_or(Unread::NoJsonForm)?;
    Ok(Encoded { text, buffers })
}

/// [`Unread::TooLarge`] for a message text of `units` UTF-16 units that is surely longer than
/// `max_bytes` in UTF-8, checked before the text is copied into wasm or parsed.
pub(crate) fn within_limit(units: usize, max_bytes: usize) -> Result<(), Unread> {
    if surely_longer(units, max_bytes) {
        return Err(Unread::TooLarge { at_least: units });
    }
    Ok(())
}

/// The Rust copy of a JS string (`None` for anything else), as `JsValue::as_string` makes it
/// (lone surrogates become U+FFFD): short text (most messages) in one call into JS by
/// wasm-bindgen's copy; long text by the browser's `TextEncoder.encodeInto` into wasm memory,
/// a byte per UTF-16 unit first and then only the rest ([`encode_resuming`]). wasm-bindgen's
/// own copy runs a JS loop over every ASCII character (in Chromium ~6 µs per KiB, against ~1
/// for `encodeInto`; docs/benchmarks.md). No other copy stands behind it: a mistake in the
/// encoder's calls shows as `None` (a refused message) in the tests, not as a silent slow path.
pub(crate) fn string_of(value: &JsValue) -> Option<String> {
    if let Some(short) = pw_short_string(value) {
        return Some(short);
    }
    let units = value.dyn_ref::<js_sys::JsString>()?.length() as usize;
    encode_resuming(units, &mut |from, room| {
        let written = pw_utf8_into(value, from as f64, room) as usize;
        Progress {
            read: pw_utf8_read() as usize,
            written,
        }
    })
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

/// Post JSON text from the core on `port`, binary data transferred (see [`decode`]), in one
/// call into JS (nothing read back); text that is not JSON (never written by the core) is not
/// posted.
pub(crate) fn post(port: &MessagePort, json: &str, buffers: &Array, copy: bool) {
    let _ = pw_post(port, json, buffers, copy);
}
