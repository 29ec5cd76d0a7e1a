//! Binary data on the bridge: `ArrayBuffer`s, typed arrays and `DataView`s in what a plugin
//! sends (event data, stored values, `api.fetch` bodies, plugin-to-plugin arguments and
//! answers) and in what it receives.
//!
//! The core decides on JSON text, and binary data has no JSON form. So the browser layer
//! never stringifies the bytes: before a message reaches the core it takes every binary leaf
//! out into a side table and leaves a **placeholder** object in the text:
//!
//! ```text
//! {"$pw:binary": 0, "type": "Uint8Array", "bytes": 5}     the side table's entry 0
//! ```
//!
//! The core checks the placeholder's shape, counts its `bytes` against the message limit
//! (JSON text + binary bytes ≤ `maxMessageBytes`), and copies it like any value into replies,
//! relays and events. The browser layer puts the buffers back when it posts the result, and
//! transfers them (they are the host's own copies) instead of copying them again.
//!
//! Storage is the one place the bytes must become text: `localStorage` holds strings, and a
//! stored value outlives the message's side table. A `storage.set` value carries its binary
//! **inline**, the same object with the bytes as standard padded base64:
//!
//! ```text
//! {"$pw:binary": "BAUG", "type": "Uint8Array", "bytes": 3}
//! ```
//!
//! and is stored that way, so its size (the message limit and the storage quota) is the size
//! of what is stored. `storage.get` answers the stored text and the browser layer turns each
//! inline object back into its typed array.
//!
//! # Security
//! The key `$pw:binary` is reserved: the browser layer marks a plugin's own object that has
//! it (`{"$pw:binary": null}`), and the core refuses that and every placeholder of the wrong
//! shape with `MESSAGE_REJECTED` naming the path. So a plugin cannot forge a placeholder to
//! read another message's buffers, nor smuggle a stored "binary" that was never bytes.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::error::cold_text;

/// The reserved key that marks a binary placeholder.
pub const BINARY_KEY: &str = "$pw:binary";

/// The constructors whose instances cross the bridge as binary data, with their element size.
pub const BINARY_TYPES: [(&str, usize); 14] = [
    ("ArrayBuffer", 1),
    ("DataView", 1),
    ("Int8Array", 1),
    ("Uint8Array", 1),
    ("Uint8ClampedArray", 1),
    ("Int16Array", 2),
    ("Uint16Array", 2),
    ("Float16Array", 2),
    ("Int32Array", 4),
    ("Uint32Array", 4),
    ("Float32Array", 4),
    ("Float64Array", 8),
    ("BigInt64Array", 8),
    ("BigUint64Array", 8),
];

/// Where a placeholder's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryForm {
    /// In the message's side table, at this index (in transit).
    Table(usize),
    /// Inline, as base64 in the text (stored values).
    Inline,
}

/// A checked binary placeholder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinaryRef {
    /// Where the bytes are.
    pub form: BinaryForm,
    /// The constructor (one of [`BINARY_TYPES`]).
    pub kind: &'static str,
    /// The byte length.
    pub bytes: usize,
}

impl BinaryRef {
    /// The placeholder object for side-table entry `index` (what the core writes into a reply
    /// whose bytes the browser layer holds, such as an `api.fetch` binary response).
    ///
    /// ```
    /// use plugin_warden::core::binary::BinaryRef;
    /// assert_eq!(BinaryRef::table_value(0, "ArrayBuffer", 3),
    ///     serde_json::json!({ "$pw:binary": 0, "type": "ArrayBuffer", "bytes": 3 }));
    /// ```
    pub fn table_value(index: usize, kind: &str, bytes: usize) -> Value {
        let mut m = Map::new();
        m.insert(BINARY_KEY.to_owned(), Value::from(index));
        m.insert("type".to_owned(), Value::from(kind));
        m.insert("bytes".to_owned(), Value::from(bytes));
        Value::Object(m)
    }
}

/// A placeholder whose bytes are in the message's side table (in transit, never inline): what
/// an `api.fetch` body may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableRef {
    /// The side-table index.
    pub index: usize,
    /// The constructor (one of [`BINARY_TYPES`]).
    pub kind: &'static str,
    /// The byte length.
    pub bytes: usize,
}

impl BinaryRef {
    /// The side-table reference, for a placeholder in transit; `None` for inline bytes.
    pub fn in_table(&self) -> Option<TableRef> {
        match self.form {
            BinaryForm::Table(index) => Some(TableRef {
                index,
                kind: self.kind,
                bytes: self.bytes,
            }),
            BinaryForm::Inline => None,
        }
    }
}

/// Why an object with the reserved key is not a valid placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadBinary(pub String);

/// If `object` holds the reserved key, check it as a placeholder: `Ok(None)` for an ordinary
/// object, `Ok(Some(_))` for a valid placeholder, `Err` for anything else holding the key.
///
/// ```
/// use plugin_warden::core::binary::{placeholder, BinaryForm};
/// let m = |s: &str| serde_json::from_str::<serde_json::Map<_, _>>(s).unwrap();
/// let r = placeholder(&m(r#"{"$pw:binary":2,"type":"Uint16Array","bytes":4}"#)).unwrap().unwrap();
/// assert_eq!((r.form, r.kind, r.bytes), (BinaryForm::Table(2), "Uint16Array", 4));
/// assert!(placeholder(&m(r#"{"$pw:binary":"BAUG","type":"Uint8Array","bytes":3}"#)).unwrap().is_some());
/// assert!(placeholder(&m(r#"{"$pw:binary":null}"#)).is_err());          // a plugin's own key
/// assert!(placeholder(&m(r#"{"$pw:binary":"BAUG","type":"Uint8Array","bytes":4}"#)).is_err());
/// assert!(placeholder(&m(r#"{"$pw:binary":0,"type":"Uint32Array","bytes":6}"#)).is_err());
/// assert_eq!(placeholder(&m(r#"{"a":1}"#)), Ok(None));
/// ```
///
/// # Errors
/// [`BadBinary`] saying what is wrong: other keys, an unknown `type`, a `bytes` that is not a
/// safe integer or not a multiple of the element size, an index that is not a safe integer, or
/// inline base64 that is not exactly `bytes` bytes of standard padded base64.
pub fn placeholder(object: &Map<String, Value>) -> Result<Option<BinaryRef>, BadBinary> {
    let Some(marker) = object.get(BINARY_KEY) else {
        return Ok(None);
    };
    let bad = |s: &str| Err(BadBinary(s.to_owned()));
    if object.len() != 3 || !object.contains_key("type") || !object.contains_key("bytes") {
        return bad(cold_text!("the key \"$pw:binary\" is reserved for binary data (an object with exactly \"$pw:binary\", \"type\" and \"bytes\")"));
    }
    let Some((kind, size)) = object
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| BINARY_TYPES.iter().find(|(name, _)| *name == t))
    else {
        return bad(cold_text!(
            "binary data: \"type\" is not a typed array, DataView or ArrayBuffer"
        ));
    };
    let Some(bytes) = object
        .get("bytes")
        .and_then(Value::as_u64)
        .filter(|n| *n <= super::protocol::MAX_SAFE_INTEGER)
        .and_then(|n| usize::try_from(n).ok())
    else {
        return bad(cold_text!("binary data: \"bytes\" is not a byte length"));
    };
    if bytes % size != 0 {
        return bad(cold_text!(
            "binary data: \"bytes\" is not a multiple of the element size"
        ));
    }
    let form = match marker {
        Value::Number(n) => match n
            .as_u64()
            .filter(|i| *i <= super::protocol::MAX_SAFE_INTEGER)
        {
            Some(i) => BinaryForm::Table(usize::try_from(i).unwrap_or(usize::MAX)),
            None => {
                return bad(cold_text!(
                    "binary data: the side-table index is not a safe integer"
                ))
            }
        },
        Value::String(b64) => {
            if b64.len() != bytes.div_ceil(3) * 4
                || base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_or(true, |d| d.len() != bytes)
            {
                return bad(cold_text!(
                    "binary data: the inline bytes are not standard base64 of \"bytes\" bytes"
                ));
            }
            BinaryForm::Inline
        }
        _ => return bad("the key \"$pw:binary\" is reserved for binary data"),
    };
    Ok(Some(BinaryRef { form, kind, bytes }))
}

/// What one parse found: binary placeholders by form, and the side-table bytes they name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCount {
    /// Side-table placeholders.
    pub table: usize,
    /// Inline placeholders.
    pub inline: usize,
    /// The side-table placeholders' bytes (counted with the JSON text against the message
    /// limit; inline bytes are already in the text).
    pub table_bytes: usize,
}

impl BinaryCount {
    /// Count one placeholder.
    pub fn add(&mut self, r: &BinaryRef) {
        match r.form {
            BinaryForm::Table(_) => {
                self.table += 1;
                self.table_bytes = self.table_bytes.saturating_add(r.bytes);
            }
            BinaryForm::Inline => self.inline += 1,
        }
    }
}

/// Whether `value` holds a placeholder anywhere (values the core already checked).
pub fn contains_binary(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.contains_key(BINARY_KEY) || m.values().any(contains_binary),
        Value::Array(a) => a.iter().any(contains_binary),
        _ => false,
    }
}
