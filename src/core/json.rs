//! JSON text into values: [`parse_value`], the core's one reader of JSON text into a `Value`
//! (its doubles exact), and typed values read by hand from those: the host's options and the
//! user.
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

/// `text` parsed into a [`Value`] as `serde_json::from_str` parses it (the same errors; a
/// repeated key keeps the last value), except that each double is the nearest to its text.
/// serde_json's default float parse may miss it by a unit in the last place (about 3 random
/// doubles in 10); the core writes out again what it parses (a stored value read back, the
/// host's event data), and must not change anyone's numbers. Every JSON text the core reads
/// into a `Value` goes through here (the checked parse of a plugin's messages, in
/// `core::protocol`, mends its doubles the same way).
///
/// ```
/// use plugin_warden::core::json::parse_value;
/// let v = parse_value("[0.10200000000000001, 1e-7, 3]").unwrap();
/// assert_eq!(v[0].as_f64(), Some(0.1 + 0.002));
/// assert_eq!(serde_json::to_string(&v).unwrap(), "[0.10200000000000001,1e-7,3]");
/// assert!(parse_value("[1,]").is_err());
/// ```
///
/// # Errors
/// serde_json's, for a text that is not JSON.
pub fn parse_value(text: &str) -> serde_json::Result<Value> {
    let mut numbers = NumberTexts::new(text);
    let mut de = serde_json::Deserializer::from_str(text);
    let value = de::DeserializeSeed::deserialize(Exact(&mut numbers), &mut de)?;
    de.end()?;
    Ok(value)
}

/// Builds a [`Value`] as serde_json's own visitor does, doubles mended.
pub(crate) struct Exact<'c, 't>(pub(crate) &'c mut NumberTexts<'t>);

impl<'de> de::DeserializeSeed<'de> for Exact<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for Exact<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        self.0.integer();
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        self.0.integer();
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        // serde_json never yields a non-finite number; refuse one rather than invent a value.
        Number::from_f64(self.0.exact(n))
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Exact(&mut *self.0))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Exact(&mut *self.0))?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// The text of each number of a JSON text, found when a double needs it.
///
/// serde_json's float parse (without its `float_roundtrip` feature, whose exact parse would cost
/// the core's first part 4.2 KiB gzip; this costs 1.1) is fast but may miss the nearest double
/// by a unit or two in the last place: 0.1 + 0.002, written `0.10200000000000001`, read as 0.102, and so did about 3
/// random doubles in 10. The core writes out again what it parsed (a stored value, an event's
/// data), so that would change a plugin's numbers. [`NumberTexts::exact`] mends the double from
/// its text: `JSON.stringify` writes a double's shortest round-trip digits, so the right double
/// is the one near serde_json's whose shortest digits (serde_json's own formatting) are those.
pub(crate) struct NumberTexts<'t> {
    text: &'t [u8],
    /// Where to go on looking for numbers, and how many were found before it.
    at: usize,
    found: usize,
    /// How many numbers the parse has reported (`visit_u64`, `visit_i64`, `visit_f64`): one per
    /// number of the text, in the text's order.
    seen: usize,
}

impl<'t> NumberTexts<'t> {
    pub(crate) fn new(json: &'t str) -> Self {
        NumberTexts {
            text: json.as_bytes(),
            at: 0,
            found: 0,
            seen: 0,
        }
    }

    /// The parse reported a number that is not a double: skip its text.
    pub(crate) fn integer(&mut self) {
        self.seen += 1;
    }

    /// The parse reported `parsed` for its next number: the nearest double to that number's
    /// text. A text that is not some double's shortest digits (never `JSON.stringify`'s) keeps
    /// serde_json's value.
    pub(crate) fn exact(&mut self, parsed: f64) -> f64 {
        self.seen += 1;
        let Some(text) = self.nth(self.seen - 1) else {
            return parsed;
        };
        let Some(want) = Decimal::of(text).filter(|d| !d.parsed_exactly()) else {
            return parsed;
        };
        // serde_json's value is within three units in the last place of the nearest double: its
        // digits as a double (half a unit), a power of ten (half a unit, another past 1e308) and
        // their product (half a unit). Over 30 million doubles, subnormal and huge ones
        // included, it was at most two off.
        let bits = parsed.to_bits();
        for step in [0i64, 1, -1, 2, -2, 3, -3] {
            let Some(b) = bits.checked_add_signed(step) else {
                continue;
            };
            let candidate = f64::from_bits(b);
            // Within one sign: stepping below +0 or -0 leaves the finite doubles.
            if !candidate.is_finite() || candidate.is_sign_negative() != parsed.is_sign_negative() {
                continue;
            }
            let written = serde_json::Number::from_f64(candidate).map(|n| n.to_string());
            if let Some(got) = written.as_deref().and_then(Decimal::of) {
                if got.same_value(&want) {
                    return candidate;
                }
            }
        }
        parsed
    }

    /// The text of the message's `n`th number (from 0), scanning on from the last one found.
    fn nth(&mut self, n: usize) -> Option<&'t str> {
        let t = self.text;
        let mut in_string = false;
        let mut escaped = false;
        let mut i = self.at;
        while i < t.len() {
            let b = t[i];
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                i += 1;
                continue;
            }
            if b == b'"' {
                in_string = true;
                i += 1;
                continue;
            }
            if b == b'-' || b.is_ascii_digit() {
                let start = i;
                while i < t.len() && matches!(t[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                self.found += 1;
                self.at = i;
                if self.found == n + 1 {
                    // invariant: the span is ASCII, so it is a char boundary on both sides.
                    return std::str::from_utf8(&t[start..i]).ok();
                }
                continue;
            }
            i += 1;
        }
        self.at = i;
        None
    }
}

/// A decimal number's value, sign apart: its significant digits (at most 32; zero has none),
/// the power of ten of the last one, and how many zeros were written after it (`1.50e+3` is
/// `15`, 2 and one zero; `1500` is `15`, 2 and two zeros).
pub(crate) struct Decimal {
    pub(crate) digits: [u8; 32],
    pub(crate) len: usize,
    pub(crate) exponent: i64,
    zeros: usize,
}

impl Decimal {
    /// `None` for a text that is not a JSON number, or has more than 32 significant digits.
    pub(crate) fn of(text: &str) -> Option<Decimal> {
        let b = text.as_bytes();
        let mut d = Decimal {
            digits: [0; 32],
            len: 0,
            exponent: 0,
            zeros: 0,
        };
        let mut i = usize::from(b.first() == Some(&b'-'));
        let (mut any, mut point, mut fraction) = (false, false, 0i64);
        while let Some(&c) = b.get(i) {
            match c {
                b'0'..=b'9' => {
                    any = true;
                    fraction += i64::from(point);
                    if c != b'0' {
                        for digit in std::iter::repeat_n(b'0', d.zeros).chain([c]) {
                            *d.digits.get_mut(d.len)? = digit;
                            d.len += 1;
                        }
                        d.zeros = 0;
                    } else if d.len > 0 {
                        d.zeros += 1;
                    }
                }
                b'.' if any && !point => point = true,
                _ => break,
            }
            i += 1;
        }
        let mut exp = 0i64;
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            let negative = b.get(i) == Some(&b'-');
            i += usize::from(matches!(b.get(i), Some(b'-' | b'+')));
            let start = i;
            while let Some(&c @ b'0'..=b'9') = b.get(i) {
                exp = exp.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
                i += 1;
            }
            any &= i > start;
            if negative {
                exp = -exp;
            }
        }
        if !any || i != b.len() {
            return None;
        }
        if d.len > 0 {
            d.exponent = exp.checked_sub(fraction)?.checked_add(d.zeros as i64)?;
        }
        Some(d)
    }

    pub(crate) fn same_value(&self, other: &Decimal) -> bool {
        self.digits[..self.len] == other.digits[..other.len] && self.exponent == other.exponent
    }

    /// Whether serde_json's fast float parse reads this exactly: at most 15 digits as written
    /// (exact as a double) times or over a power of ten up to 10^22 (exact too), so its one
    /// operation rounds once, to the nearest double. Most fractions people write are like this.
    pub(crate) fn parsed_exactly(&self) -> bool {
        self.len + self.zeros <= 15 && (-22..=22).contains(&(self.exponent - self.zeros as i64))
    }
}

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
