//! Typed values from JSON, through a deserializer of this crate's own.
//!
//! Why not `serde_json::from_value` / `from_str::<T>`: every path to
//! `serde_json::Error::invalid_type` or `invalid_value` formats serde's `Unexpected`, whose
//! `Float` arm links `<f64 as Display>` and its tables (about 19 KiB of wasm, 10 KB of the core
//! module's gzip: docs/benchmarks.md, "Issue 14"); every typed deserialization through serde_json
//! reaches one of them. Here a JSON text is parsed into a [`Value`] (which never calls them) and
//! the typed value is read from it by [`from_value`], whose [`JsonError`] writes the same
//! messages with floats formatted by serde_json's own `Number` (the shortest round-trip form the
//! serializer already links).
//!
//! The host's option structs (and the user, unit enums among the options) go further: they
//! implement [`FromJson`], a reader written per struct by `from_json_struct!`, so the browser
//! module carries no serde visitor for them at all (their `Deserialize` stays for Rust callers).
//!
//! The result and the messages are `serde_json::from_value`'s: `invalid type: string "x",
//! expected u32`, `missing field `a``, `unknown field `b`, expected one of …`, unit and
//! single-key-map enums, `null` for `Option::None`. A typed parse of a text therefore has no
//! "at line … column …" on a type error (a syntax error keeps it), and an object with a
//! repeated key keeps the last value (as `JSON.parse` does) instead of failing with
//! "duplicate field".

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, Expected, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Number, Value};

/// Why a JSON value is not the type asked for, or why a text is not JSON. The message is
/// serde_json's for the same input (see the [module](self) docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError(String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

impl de::Error for JsonError {
    #[cold]
    fn custom<T: fmt::Display>(msg: T) -> Self {
        JsonError(msg.to_string())
    }

    #[cold]
    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        JsonError(format!("invalid type: {}, expected {exp}", Shown(unexp)))
    }

    #[cold]
    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        JsonError(format!("invalid value: {}, expected {exp}", Shown(unexp)))
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

/// A `T` from parsed JSON, as `serde_json::from_value` reads it.
///
/// # Errors
/// [`JsonError`] when `value` does not have `T`'s shape.
///
/// ```
/// use plugin_warden::core::json::from_value;
/// let n: Option<u32> = from_value(serde_json::json!(7)).unwrap();
/// assert_eq!(n, Some(7));
/// let e = from_value::<u32>(serde_json::json!(1.5)).unwrap_err();
/// assert_eq!(e.to_string(), "invalid type: floating point `1.5`, expected u32");
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, JsonError> {
    T::deserialize(ValueDe(value))
}

/// A `T` from a JSON text: parsed into a [`Value`], then [`from_value`].
///
/// # Errors
/// [`JsonError`] with serde_json's message (and position) when `text` is not JSON, or as
/// [`from_value`].
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let value: Value = serde_json::from_str(text).map_err(|e| JsonError(e.to_string()))?;
    from_value(value)
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

/// A JSON value as a serde `Deserializer`. serde_json's `Value` refuses a value of the wrong
/// kind in each typed method (`deserialize_str`, `deserialize_seq`, …) before the visitor sees
/// it; here those go through `deserialize_any` and the visitor refuses it, with the same
/// `Unexpected` and so the same message, for every visitor that takes one kind of value.
/// Identifiers, whose visitors take two, are checked as serde_json checks them.
/// `tests/json.rs` holds both to the same results over generated values.
struct ValueDe(Value);

impl<'de> Deserializer<'de> for ValueDe {
    type Error = JsonError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => visitor.visit_u64(u),
                (None, Some(i)) => visitor.visit_i64(i),
                _ => visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => {
                let len = items.len();
                let mut seq = SeqDe(items.into_iter());
                let out = visitor.visit_seq(&mut seq)?;
                match seq.0.len() {
                    0 => Ok(out),
                    _ => Err(de::Error::invalid_length(len, &"fewer elements in array")),
                }
            }
            Value::Object(map) => {
                let len = map.len();
                let mut access = MapDe {
                    entries: map.into_iter(),
                    value: None,
                };
                let out = visitor.visit_map(&mut access)?;
                match access.entries.len() {
                    0 => Ok(out),
                    _ => Err(de::Error::invalid_length(len, &"fewer elements in map")),
                }
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        let (variant, value) = match self.0 {
            Value::String(variant) => (variant, None),
            Value::Object(map) => {
                let mut entries = map.into_iter();
                match (entries.next(), entries.next()) {
                    (Some((variant, value)), None) => (variant, Some(value)),
                    _ => {
                        return Err(de::Error::invalid_value(
                            Unexpected::Map,
                            &"map with a single key",
                        ))
                    }
                }
            }
            other => {
                return Err(de::Error::invalid_type(
                    unexpected(&other),
                    &"string or map",
                ))
            }
        };
        visitor.visit_enum(EnumDe { variant, value })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        visitor.visit_unit()
    }

    /// Only a string, as serde_json's `Value` has it: a field or variant identifier's visitor
    /// also takes the field's index as an integer, which serde_json refuses.
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        match self.0 {
            Value::String(s) => visitor.visit_string(s),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct
    }
}

/// An object key, or an enum's variant name: always read as a string (no map the core reads
/// has keys of another type).
struct KeyDe(String);

impl<'de> Deserializer<'de> for KeyDe {
    type Error = JsonError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        visitor.visit_string(self.0)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any option
        newtype_struct enum
    }
}

struct SeqDe(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for SeqDe {
    type Error = JsonError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, JsonError> {
        self.0
            .next()
            .map(|v| seed.deserialize(ValueDe(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapDe {
    entries: <Map<String, Value> as IntoIterator>::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for MapDe {
    type Error = JsonError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, JsonError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(KeyDe(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, JsonError> {
        match self.value.take() {
            Some(value) => seed.deserialize(ValueDe(value)),
            None => Err(de::Error::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum's variant name and, for a single-key map, its content.
struct EnumDe {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for EnumDe {
    type Error = JsonError;
    type Variant = ContentDe;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, ContentDe), JsonError> {
        let variant = seed.deserialize(KeyDe(self.variant))?;
        Ok((variant, ContentDe(self.value)))
    }
}

/// An enum variant's content: `None` for a variant written as a string.
struct ContentDe(Option<Value>);

impl<'de> VariantAccess<'de> for ContentDe {
    type Error = JsonError;

    fn unit_variant(self) -> Result<(), JsonError> {
        match self.0 {
            Some(value) => de::Deserialize::deserialize(ValueDe(value)),
            None => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, JsonError> {
        match self.0 {
            Some(value) => seed.deserialize(ValueDe(value)),
            None => Err(wrong_content(None, &"newtype variant")),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self.0 {
            Some(Value::Array(items)) if items.is_empty() => visitor.visit_unit(),
            Some(value @ Value::Array(_)) => ValueDe(value).deserialize_any(visitor),
            other => Err(wrong_content(other.as_ref(), &"tuple variant")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self.0 {
            Some(value @ Value::Object(_)) => ValueDe(value).deserialize_any(visitor),
            other => Err(wrong_content(other.as_ref(), &"struct variant")),
        }
    }
}

/// A variant's content of the wrong kind (`None`: the variant was written as a bare string).
fn wrong_content(content: Option<&Value>, expected: &'static &'static str) -> JsonError {
    de::Error::invalid_type(
        content.map_or(Unexpected::UnitVariant, unexpected),
        expected,
    )
}

/// A type the core reads from JSON by hand rather than through serde's derive: the host's
/// option structs. Their derived visitors (a field, a map and a sequence visitor per struct,
/// inlined into every caller) cost the core module 11.3 KB of gzip (298 969 → 287 692 bytes
/// once replaced by these readers); `from_json_struct!` writes one loop per struct.
///
/// Results and messages are those of the type's serde `Deserialize` (`tests/json.rs` compares
/// them over generated values), with one deliberate difference: a struct must be a JSON
/// object, where serde's derive also takes an array of the fields in declaration order.
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
            Value::Array(items) => items.into_iter().map(T::from_json_value).collect(),
            other => Err(wrong_type(&other, "a sequence")),
        }
    }
}

impl<T: FromJson> FromJson for crate::core::collections::SortedMap<String, T> {
    fn from_json_value(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| T::from_json_value(v).map(|v| (k, v)))
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
                    match key.as_str() {
                        $($name => out.$field = $crate::core::json::FromJson::from_json_value(value)?,)+
                        other => return Err($crate::core::json::unknown_field(other, FIELDS)),
                    }
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
