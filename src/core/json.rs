//! Typed values from JSON, read by hand: the host's options and the user.
//!
//! Why not serde's derived `Deserialize` through `serde_json::from_value` / `from_str::<T>`:
//! - every typed read through serde_json reaches `serde_json::Error::invalid_type` or
//!   `invalid_value`, which format serde's `Unexpected`, whose `Float` arm links
//!   `<f64 as Display>` and its tables: 5.5 KB of the core module's gzip
//!   (docs/benchmarks.md, "Issue 14");
//! - each derived struct brings a field visitor, a map visitor and a sequence visitor, inlined
//!   into every caller: 11.3 KB more for the option structs.
//!
//! A type the core reads implements [`FromJson`] instead (`from_json_struct!` writes the
//! reader of a struct, `from_json_unit_enum!` of an enum of unit variants), from a
//! [`Value`] that serde_json parsed (its parser never calls the two functions above). A
//! [`JsonError`] writes serde_json's messages, floats formatted by serde_json's own `Number`.
//! So a new typed read in the core module should be a `FromJson`, not a `serde_json::from_*`
//! into a derived type, or float formatting comes back.
//!
//! The results and the messages are those of the types' derived `Deserialize`, which they keep
//! for Rust callers (`tests/json.rs` compares both over generated values), with the path of the
//! field in front (`limits.maxDepth: …`, which serde's messages never say): `invalid type:
//! string "x", expected u32`, `unknown field `b`, expected one of …`, unit variants as a name
//! or a one-key object, `null` for `None`. The differences: a struct given as a JSON array is
//! refused (the derive reads its fields by position), a type error carries no "at line …
//! column …" (a syntax error keeps it), and an object with a repeated key keeps the last value
//! (as `JSON.parse` does) instead of failing with "duplicate field".

use std::fmt;

use serde::de::{self, Expected, Unexpected};
use serde_json::{Map, Number, Value};

/// Why a JSON value is not the type asked for: where (the path of the field, element or map
/// entry, as in `limits.maxDepth` or `routes["acme.app"].secretOrigins[0]`) and what (serde's
/// message for the same value, see the [module](self) docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    path: String,
    message: String,
}

impl JsonError {
    fn new(message: String) -> Self {
        JsonError {
            path: String::new(),
            message,
        }
    }

    /// What was wrong, as serde words it, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where in the value it was wrong (`""` for the value itself).
    pub fn path(&self) -> &str {
        self.path.strip_prefix('.').unwrap_or(&self.path)
    }

    /// The same error one level down, under `segment` (`.name`, `[3]`, `["key"]`).
    #[cold]
    fn under(mut self, segment: &str) -> Self {
        self.path.insert_str(0, segment);
        self
    }

    /// Under the field `name` of a struct.
    #[doc(hidden)]
    #[cold]
    pub fn in_field(self, name: &str) -> Self {
        self.under(&format!(".{name}"))
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path() {
            "" => f.write_str(&self.message),
            path => write!(f, "{path}: {}", self.message),
        }
    }
}

impl std::error::Error for JsonError {}

impl de::Error for JsonError {
    #[cold]
    fn custom<T: fmt::Display>(msg: T) -> Self {
        JsonError::new(msg.to_string())
    }

    #[cold]
    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        JsonError::new(format!("invalid type: {}, expected {exp}", Shown(unexp)))
    }

    #[cold]
    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        JsonError::new(format!("invalid value: {}, expected {exp}", Shown(unexp)))
    }
}

/// serde's `Unexpected` written as serde_json writes it (`null` for unit), without serde's
/// own `Display` (whose float arm is what this module exists to avoid).
struct Shown<'a>(Unexpected<'a>);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Unexpected::Bool(b) => write!(f, "boolean `{b}`"),
            Unexpected::Unsigned(n) => write!(f, "integer `{n}`"),
            Unexpected::Signed(n) => write!(f, "integer `{n}`"),
            Unexpected::Float(x) => match Number::from_f64(x) {
                Some(n) => write!(f, "floating point `{n}`"),
                None => f.write_str("floating point"),
            },
            Unexpected::Char(c) => write!(f, "character `{c}`"),
            Unexpected::Str(s) => write!(f, "string {s:?}"),
            Unexpected::Bytes(_) => f.write_str("byte array"),
            Unexpected::Unit => f.write_str("null"),
            Unexpected::Option => f.write_str("Option value"),
            Unexpected::NewtypeStruct => f.write_str("newtype struct"),
            Unexpected::Seq => f.write_str("sequence"),
            Unexpected::Map => f.write_str("map"),
            Unexpected::Enum => f.write_str("enum"),
            Unexpected::UnitVariant => f.write_str("unit variant"),
            Unexpected::NewtypeVariant => f.write_str("newtype variant"),
            Unexpected::TupleVariant => f.write_str("tuple variant"),
            Unexpected::StructVariant => f.write_str("struct variant"),
            Unexpected::Other(other) => f.write_str(other),
        }
    }
}

/// What a value is, for an error about it (serde_json's `Value::unexpected`).
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (None, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// A type the core reads from JSON by hand (see the [module](self) docs).
pub trait FromJson: Sized {
    /// Read `value` as `Self`.
    ///
    /// # Errors
    /// [`JsonError`] with the message serde would give for the same value.
    fn from_json_value(value: Value) -> Result<Self, JsonError>;
}

fn wrong_type(value: &Value, expected: &'static str) -> JsonError {
    de::Error::invalid_type(unexpected(value), &expected)
}

impl FromJson for Value {
    fn from_json_value(value: Value) -> Result<Self, JsonError> {
        Ok(value)
    }
}

impl FromJson for bool {
    fn from_json_value(value: Value) -> Result<Self, JsonError> {
        value
            .as_bool()
            .ok_or_else(|| wrong_type(&value, "a boolean"))
    }
}

impl FromJson for String {
    fn from_json_value(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::String(s) => Ok(s),
            other => Err(wrong_type(&other, "a string")),
        }
    }
}

impl FromJson for f64 {
    fn from_json_value(value: Value) -> Result<Self, JsonError> {
        value.as_f64().ok_or_else(|| wrong_type(&value, "f64"))
    }
}

/// An unsigned integer of at most `max`, refused as serde refuses it (`expected` names the
/// Rust type: `u32`, `usize`).
fn unsigned(value: &Value, max: u64, expected: &'static str) -> Result<u64, JsonError> {
    match value {
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) if u <= max => Ok(u),
            (Some(u), _) => Err(de::Error::invalid_value(Unexpected::Unsigned(u), &expected)),
            (None, Some(i)) => Err(de::Error::invalid_value(Unexpected::Signed(i), &expected)),
            _ => Err(wrong_type(value, expected)),
        },
        other => Err(wrong_type(other, expected)),
    }
}

impl FromJson for u32 {
    fn from_json_value(value: Value) -> Result<Self, JsonError> {
        // invariant: `unsigned` returns at most u32::MAX.
        unsigned(&value, u32::MAX.into(), "u32").map(|u| u as u32)
    }
}

impl FromJson for usize {
    fn from_json_value(value: Value) -> Result<Self, JsonError> {
        // invariant: `unsigned` returns at most usize::MAX.
        unsigned(&value, usize::MAX as u64, "usize").map(|u| u as usize)
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json_value(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::Null => Ok(None),
            other => T::from_json_value(other).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json_value(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| T::from_json_value(v).map_err(|e| e.under(&format!("[{i}]"))))
                .collect(),
            other => Err(wrong_type(&other, "a sequence")),
        }
    }
}

impl<T: FromJson> FromJson for crate::core::collections::SortedMap<String, T> {
    fn from_json_value(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| match T::from_json_value(v) {
                    Ok(v) => Ok((k, v)),
                    Err(e) => Err(e.under(&format!("[{k:?}]"))),
                })
                .collect(),
            other => Err(wrong_type(&other, "a map")),
        }
    }
}

/// The entries of a JSON object for the struct `expecting` (`"struct HostLimits"`), or serde's
/// error for a value that is not an object.
#[doc(hidden)]
pub fn object_entries(
    value: Value,
    expecting: &'static str,
) -> Result<Map<String, Value>, JsonError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(wrong_type(&other, expecting)),
    }
}

/// serde's error for a field a `deny_unknown_fields` struct does not have.
#[doc(hidden)]
#[cold]
pub fn unknown_field(field: &str, fields: &'static [&'static str]) -> JsonError {
    de::Error::unknown_field(field, fields)
}

/// `impl FromJson` for a struct with `Default`, from its JSON field names: fields absent from
/// the object keep their default, an unknown field is an error (serde's
/// `deny_unknown_fields`), each present field is read with its type's [`FromJson`].
///
/// ```ignore
/// from_json_struct!(HostLimits, "struct HostLimits", {
///     max_message_bytes: "maxMessageBytes",
///     max_depth: "maxDepth",
/// });
/// ```
macro_rules! from_json_struct {
    ($ty:ty, $expecting:literal, { $($field:ident : $name:literal),+ $(,)? }) => {
        impl $crate::core::json::FromJson for $ty {
            fn from_json_value(
                value: ::serde_json::Value,
            ) -> Result<Self, $crate::core::json::JsonError> {
                const FIELDS: &[&str] = &[$($name),+];
                let mut out = <$ty as Default>::default();
                for (key, value) in $crate::core::json::object_entries(value, $expecting)? {
                    let read = match key.as_str() {
                        $($name => $crate::core::json::FromJson::from_json_value(value)
                            .map(|v| out.$field = v),)+
                        other => return Err($crate::core::json::unknown_field(other, FIELDS)),
                    };
                    // One error path for every field: the error learns where it happened.
                    read.map_err(|e| e.in_field(&key))?;
                }
                Ok(out)
            }
        }
    };
}
pub(crate) use from_json_struct;

/// The index in `variants` of a unit variant as serde reads one from JSON: its name, or a
/// one-key object whose value is `null`; serde's messages for everything else.
#[doc(hidden)]
pub fn unit_variant(value: Value, variants: &'static [&'static str]) -> Result<usize, JsonError> {
    let (name, content) = match value {
        Value::String(name) => (name, None),
        Value::Object(map) => {
            let mut entries = map.into_iter();
            match (entries.next(), entries.next()) {
                (Some((name, content)), None) => (name, Some(content)),
                _ => {
                    return Err(de::Error::invalid_value(
                        Unexpected::Map,
                        &"map with a single key",
                    ))
                }
            }
        }
        other => return Err(wrong_type(&other, "string or map")),
    };
    let index = variants
        .iter()
        .position(|v| *v == name)
        .ok_or_else(|| de::Error::unknown_variant(&name, variants))?;
    match content {
        None | Some(Value::Null) => Ok(index),
        Some(other) => Err(wrong_type(&other, "unit")),
    }
}

/// `impl FromJson` for an enum of unit variants, from their JSON names.
macro_rules! from_json_unit_enum {
    ($ty:ty, { $($variant:expr => $name:literal),+ $(,)? }) => {
        impl $crate::core::json::FromJson for $ty {
            fn from_json_value(
                value: ::serde_json::Value,
            ) -> Result<Self, $crate::core::json::JsonError> {
                const VARIANTS: &[&str] = &[$($name),+];
                const ALL: &[$ty] = &[$($variant),+];
                let index = $crate::core::json::unit_variant(value, VARIANTS)?;
                // invariant: `unit_variant` returns a position in VARIANTS, as long as ALL.
                Ok(ALL[index])
            }
        }
    };
}
pub(crate) use from_json_unit_enum;
