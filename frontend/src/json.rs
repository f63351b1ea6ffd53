//! The app's JSON: the one place every message is decoded and encoded.
//!
//! - [`Json`]: a parsed document ([`Json::parse`], [`Json::encode`]).
//! - [`FromJson`] / [`ToJson`]: a `shared` wire type from / to a [`Json`],
//!   implemented in [`wire`] for every type the app receives or sends.
//!
//! Why not `serde_json`: serde's derived decoders for the protocols'
//! internally tagged enums buffer every message into serde's `Content` and
//! are instantiated once per type and source; they were a quarter of the
//! app's wasm (121 KiB of the 478 KiB gzip first load; docs/benchmarks.md,
//! "App size"). These decoders are plain code over one parsed value. They
//! accept everything serde's would (a missing field of a type with an empty
//! value, such as a string, number, list or option, reads as that value),
//! and the tests check them against serde on every protocol example.

pub mod wire;

use std::fmt;

/// A JSON value. Objects keep their order (and are small: a linear search
/// finds a field).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Json {
    #[default]
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// Why a text could not be decoded: where, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonError {
    fn expected(what: &str) -> Self {
        Self(["expected ", what].concat())
    }

    /// The same error, inside field `key`.
    fn within(self, key: &str) -> Self {
        Self([key, ": ", &self.0].concat())
    }
}

/// JSON text → `T`: the app's one decode.
pub fn decode<T: FromJson>(text: &str) -> Result<T, JsonError> {
    T::from_json(Json::parse(text)?)
}

/// `T` → JSON text: the app's one encode.
pub fn encode<T: ToJson + ?Sized>(value: &T) -> String {
    value.to_json().encode()
}

impl Json {
    /// Parses a whole JSON text.
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.bad());
        }
        Ok(v)
    }

    /// Field `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets field `key` of an object (added at the end if new); nothing for
    /// other values.
    pub fn set(&mut self, key: &str, value: Json) {
        if let Json::Obj(fields) = self {
            match fields.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => fields.push((key.to_owned(), value)),
            }
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Obj(fields) => fields.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Json::Obj(_))
    }

    /// The JSON text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => write_number(*n, out),
            Json::Str(s) => write_string(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Numbers are written without the float formatter (which is large): an
/// integer as digits, anything else to six decimals, trailing zeros cut.
fn write_number(n: f64, out: &mut String) {
    if !n.is_finite() {
        out.push_str("null");
        return;
    }
    if n < 0.0 {
        out.push('-');
    }
    let n = n.abs();
    if n.fract() == 0.0 && n < 1e18 {
        write_digits(n as u64, out);
        return;
    }
    let scaled = (n * 1e6).round() as u64;
    write_digits(scaled / 1_000_000, out);
    let mut frac = scaled % 1_000_000;
    if frac > 0 {
        out.push('.');
        let mut width = 6;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        let digits = frac.to_string();
        for _ in digits.len()..width {
            out.push('0');
        }
        out.push_str(&digits);
    }
}

fn write_digits(n: u64, out: &mut String) {
    out.push_str(&n.to_string());
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Nesting deeper than this is refused (the stack is small in wasm).
const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn bad(&self) -> JsonError {
        JsonError(["invalid JSON at byte ", &self.i.to_string()].concat())
    }

    fn ws(&mut self) {
        while self
            .s
            .get(self.i)
            .is_some_and(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
        {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&b);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn word(&mut self, w: &[u8], v: Json) -> Result<Json, JsonError> {
        if self.s[self.i..].starts_with(w) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(self.bad())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.bad());
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'n') => self.word(b"null", Json::Null),
            Some(b't') => self.word(b"true", Json::Bool(true)),
            Some(b'f') => self.word(b"false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Ok(Json::Arr(items));
                    }
                    if !self.eat(b',') {
                        return Err(self.bad());
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                if self.eat(b'}') {
                    return Ok(Json::Obj(fields));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.bad());
                    }
                    let key = self.string()?;
                    if !self.eat(b':') {
                        return Err(self.bad());
                    }
                    let v = self.value(depth + 1)?;
                    fields.push((key, v));
                    if self.eat(b'}') {
                        return Ok(Json::Obj(fields));
                    }
                    if !self.eat(b',') {
                        return Err(self.bad());
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.bad()),
        }
    }

    /// A number, read without the standard float parser (which is large):
    /// exact for integers up to 2^53, within an ulp or two otherwise.
    fn number(&mut self) -> Result<Json, JsonError> {
        let negative = self.s.get(self.i) == Some(&b'-');
        if negative {
            self.i += 1;
        }
        let start = self.i;
        let mut mantissa = 0f64;
        let mut exp = 0i32;
        while let Some(d) = self.digit() {
            mantissa = mantissa * 10.0 + d;
        }
        if self.i == start {
            return Err(self.bad());
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            let from = self.i;
            while let Some(d) = self.digit() {
                mantissa = mantissa * 10.0 + d;
                exp -= 1;
            }
            if self.i == from {
                return Err(self.bad());
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            let sign = match self.s.get(self.i) {
                Some(b'-') => {
                    self.i += 1;
                    -1
                }
                Some(b'+') => {
                    self.i += 1;
                    1
                }
                _ => 1,
            };
            let from = self.i;
            let mut e = 0i32;
            while let Some(d) = self.digit() {
                e = e.saturating_mul(10).saturating_add(d as i32);
            }
            if self.i == from {
                return Err(self.bad());
            }
            exp = exp.saturating_add(sign * e);
        }
        let n = match exp {
            0 => mantissa,
            e if e > 0 => mantissa * 10f64.powi(e),
            // Dividing by an exact power of ten rounds better than
            // multiplying by an inexact negative one.
            e if e >= -22 => mantissa / 10f64.powi(-e),
            e => mantissa / 1e22 / 10f64.powi(-e - 22),
        };
        Ok(Json::Num(if negative { -n } else { n }))
    }

    fn digit(&mut self) -> Option<f64> {
        let b = *self.s.get(self.i)?;
        b.is_ascii_digit().then(|| {
            self.i += 1;
            f64::from(b - b'0')
        })
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut n = 0;
        for _ in 0..4 {
            let d = self
                .s
                .get(self.i)
                .and_then(|b| (*b as char).to_digit(16))
                .ok_or_else(|| self.bad())?;
            n = n * 16 + d;
            self.i += 1;
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1; // the opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while self
                .s
                .get(self.i)
                .is_some_and(|b| *b != b'"' && *b != b'\\' && *b >= 0x20)
            {
                self.i += 1;
            }
            // The input is a `&str` and the run stops only at ASCII bytes,
            // so it is whole UTF-8.
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.bad())?);
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi)
                                && self.s[self.i..].starts_with(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            continue;
                        }
                        _ => return Err(self.bad()),
                    };
                    out.push(c);
                    self.i += 1;
                }
                _ => return Err(self.bad()),
            }
        }
    }
}

/// A wire type read from a [`Json`].
pub trait FromJson: Sized {
    fn from_json(v: Json) -> Result<Self, JsonError>;

    /// The value of a missing field, for types that have an empty one.
    fn missing() -> Option<Self> {
        None
    }

    /// A tagged enum's tags, in declaration order (checked against serde's
    /// list in the tests).
    const TAGS: &'static [&'static str] = &[];
}

/// A wire type written as a [`Json`].
pub trait ToJson {
    fn to_json(&self) -> Json;
}

/// An object being read field by field.
pub struct Fields(Vec<(String, Json)>);

impl Fields {
    pub fn of(v: Json) -> Result<Self, JsonError> {
        match v {
            Json::Obj(fields) => Ok(Self(fields)),
            _ => Err(JsonError::expected("an object")),
        }
    }

    fn take(&mut self, key: &str) -> Option<Json> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.swap_remove(i).1)
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Field `key` as `T`.
    pub fn field<T: FromJson>(&mut self, key: &str) -> Result<T, JsonError> {
        match self.take(key) {
            Some(v) => T::from_json(v).map_err(|e| e.within(key)),
            None => T::missing().ok_or_else(|| JsonError::expected("a value").within(key)),
        }
    }

    /// What is left, as an object.
    pub fn rest(self) -> Json {
        Json::Obj(self.0)
    }
}

/// An object being written field by field.
#[derive(Default)]
pub struct Object(Vec<(String, Json)>);

impl Object {
    /// Adds `key`; a null is left out (an absent option, as `shared`'s
    /// `skip_serializing_if = "Option::is_none"`: the server reads a missing
    /// option as `None` either way).
    pub fn field<T: ToJson + ?Sized>(mut self, key: &str, value: &T) -> Self {
        let v = value.to_json();
        if v != Json::Null {
            self.0.push((key.to_owned(), v));
        }
        self
    }

    pub fn json(self) -> Json {
        Json::Obj(self.0)
    }
}

impl FromJson for Json {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        Ok(v)
    }
    fn missing() -> Option<Self> {
        Some(Json::Null)
    }
}

impl ToJson for Json {
    fn to_json(&self) -> Json {
        self.clone()
    }
}

impl FromJson for String {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        match v {
            Json::Str(s) => Ok(s),
            _ => Err(JsonError::expected("a string")),
        }
    }
    fn missing() -> Option<Self> {
        Some(String::new())
    }
}

impl ToJson for String {
    fn to_json(&self) -> Json {
        Json::Str(self.clone())
    }
}

impl ToJson for str {
    fn to_json(&self) -> Json {
        Json::Str(self.to_owned())
    }
}

impl FromJson for bool {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        match v {
            Json::Bool(b) => Ok(b),
            _ => Err(JsonError::expected("true or false")),
        }
    }
    fn missing() -> Option<Self> {
        Some(false)
    }
}

impl ToJson for bool {
    fn to_json(&self) -> Json {
        Json::Bool(*self)
    }
}

fn number(v: Json) -> Result<f64, JsonError> {
    match v {
        Json::Num(n) => Ok(n),
        _ => Err(JsonError::expected("a number")),
    }
}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: Json) -> Result<Self, JsonError> {
                number(v).map(|n| n as $t)
            }
            fn missing() -> Option<Self> {
                Some(0 as $t)
            }
        }
        impl ToJson for $t {
            fn to_json(&self) -> Json {
                Json::Num(*self as f64)
            }
        }
    )*};
}
numbers!(u8, u32, u64, usize, i64, f64);

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        match v {
            Json::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
    fn missing() -> Option<Self> {
        Some(None)
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Json {
        self.as_ref().map_or(Json::Null, T::to_json)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        match v {
            Json::Arr(items) => items.into_iter().map(T::from_json).collect(),
            _ => Err(JsonError::expected("a list")),
        }
    }
    fn missing() -> Option<Self> {
        Some(Vec::new())
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Json {
        Json::Arr(self.iter().map(T::to_json).collect())
    }
}

/// A wire field's name: the Rust field's, or the literal given.
macro_rules! wire_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident $key:literal) => {
        $key
    };
}

/// `FromJson` for structs read field by field:
/// `Type { field, field: "wireName" }`. Before the type, `#[default]`: a
/// missing one reads as `Default::default()`; `#[to]`: `ToJson` too.
macro_rules! objects {
    ($($(#[$marker:ident])* $ty:path { $($body:tt)* })*) => {$(
        $crate::json::object_from!($ty { $($body)* } $($marker)*);
        $crate::json::object_extra!([$($marker)*] $ty { $($body)* });
    )*};
}

macro_rules! object_from {
    ($ty:path { $($field:ident $(: $key:literal)?),* $(,)? } $($marker:ident)*) => {
        impl $crate::json::FromJson for $ty {
            fn from_json(v: $crate::json::Json) -> Result<Self, $crate::json::JsonError> {
                let mut _o = $crate::json::Fields::of(v)?;
                Ok(Self { $($field: _o.field($crate::json::wire_name!($field $($key)?))?,)* })
            }
            $($crate::json::missing_fn!($marker);)*
        }
    };
}

/// Inside `FromJson`: `#[default]` gives `missing`.
macro_rules! missing_fn {
    (default) => {
        fn missing() -> Option<Self> {
            Some(Self::default())
        }
    };
    (to) => {};
}

/// Beside `FromJson`: `#[to]` gives `ToJson`.
macro_rules! object_extra {
    ([] $ty:path { $($body:tt)* }) => {};
    ([default $($rest:ident)*] $ty:path { $($body:tt)* }) => {
        $crate::json::object_extra!([$($rest)*] $ty { $($body)* });
    };
    ([to $($rest:ident)*] $ty:path { $($field:ident $(: $key:literal)?),* $(,)? }) => {
        impl $crate::json::ToJson for $ty {
            fn to_json(&self) -> $crate::json::Json {
                $crate::json::Object::default()
                    $(.field($crate::json::wire_name!($field $($key)?), &self.$field))*
                    .json()
            }
        }
        $crate::json::object_extra!([$($rest)*] $ty { $($field $(: $key)?),* });
    };
}

/// `FromJson` for enums written as a string: `Type { Variant = "wire", .. }`;
/// `#[to]` before the type: `ToJson` too.
macro_rules! strings {
    ($($(#[$marker:ident])? $ty:path { $($body:tt)* })*) => {$(
        $crate::json::string_from!($ty { $($body)* });
        $crate::json::string_to!([$($marker)?] $ty { $($body)* });
    )*};
}

macro_rules! string_from {
    ($ty:path { $($variant:ident = $name:literal),* $(,)? }) => {
        impl $crate::json::FromJson for $ty {
            fn from_json(v: $crate::json::Json) -> Result<Self, $crate::json::JsonError> {
                #[allow(dead_code)]
                fn every_variant_is_listed(v: $ty) {
                    type T = $ty;
                    match v { $(T::$variant => {})* }
                }
                type T = $ty;
                match v.as_str() {
                    $(Some($name) => Ok(T::$variant),)*
                    _ => Err($crate::json::JsonError(
                        concat!("expected one of:" $(, " ", $name)*).to_owned(),
                    )),
                }
            }
        }
    };
}

macro_rules! string_to {
    ([] $ty:path { $($body:tt)* }) => {};
    ([to] $ty:path { $($variant:ident = $name:literal),* $(,)? }) => {
        impl $crate::json::ToJson for $ty {
            fn to_json(&self) -> $crate::json::Json {
                type T = $ty;
                $crate::json::Json::Str(match self { $(T::$variant => $name,)* }.to_owned())
            }
        }
    };
}

/// `FromJson` for internally tagged enums: `Type, "type" { Variant { field,
/// .. } = "wire", Newtype(Inner) = "wire", Unit = "wire" }`; a newtype
/// variant reads the rest of the object. `#[to]` before the type: `ToJson`
/// too.
macro_rules! tagged {
    ($($(#[$marker:ident])? $ty:path, $tag:literal { $($body:tt)* })*) => {$(
        $crate::json::tagged_from!($ty, $tag { $($body)* });
        $crate::json::tagged_to!([$($marker)?] $ty, $tag { $($body)* });
    )*};
}

macro_rules! tagged_from {
    ($ty:path, $tag:literal {
        $($variant:ident $({ $($field:ident $(: $key:literal)?),* $(,)? })? $(($inner:ty))? = $name:literal),* $(,)?
    }) => {
        impl $crate::json::FromJson for $ty {
            const TAGS: &'static [&'static str] = &[$($name),*];
            fn from_json(v: $crate::json::Json) -> Result<Self, $crate::json::JsonError> {
                #[allow(dead_code)]
                fn every_variant_is_listed(v: &$ty) {
                    type T = $ty;
                    match v { $(T::$variant { .. } => {})* }
                }
                let mut _o = $crate::json::Fields::of(v)?;
                let tag: String = _o.field($tag)?;
                match tag.as_str() {
                    $($name => Ok(Self::$variant
                        $({ $($field: _o.field($crate::json::wire_name!($field $($key)?))?,)* })?
                        $((<$inner as $crate::json::FromJson>::from_json(_o.rest())?))?
                    ),)*
                    _ => Err($crate::json::JsonError(["unknown ", $tag, " ", &tag].concat())),
                }
            }
        }
    };
}

macro_rules! tagged_to {
    ([] $ty:path, $tag:literal { $($body:tt)* }) => {};
    ([to] $ty:path, $tag:literal {
        $($variant:ident $({ $($field:ident $(: $key:literal)?),* $(,)? })? = $name:literal),* $(,)?
    }) => {
        impl $crate::json::ToJson for $ty {
            fn to_json(&self) -> $crate::json::Json {
                match self {
                    $(Self::$variant $({ $($field),* })? => $crate::json::Object::default()
                        .field($tag, $name)
                        $($(.field($crate::json::wire_name!($field $($key)?), $field))*)?
                        .json(),)*
                }
            }
        }
    };
}

/// A `serde_json` value as a [`Json`] (tests write their JSON with `json!`).
#[cfg(test)]
pub(crate) fn from_serde(v: serde_json::Value) -> Json {
    Json::parse(&v.to_string()).unwrap()
}

pub(crate) use {
    missing_fn, object_extra, object_from, objects, string_from, string_to, strings, tagged,
    tagged_from, tagged_to, wire_name,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_parse_and_encode_back() {
        let text = r#"{"a":[1,-2.5,true,false,null],"b":"x\"y\\z\n\u00e9\ud83d\ude00","c":{}}"#;
        let v = Json::parse(text).unwrap();
        assert_eq!(v.get("b").and_then(Json::as_str), Some("x\"y\\z\né😀"));
        let back: serde_json::Value = serde_json::from_str(&v.encode()).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }

    #[test]
    fn numbers_read_as_serde_reads_them() {
        for text in [
            "0",
            "7",
            "-3",
            "0.5",
            "0.7",
            "1e3",
            "2.5E-3",
            "123456789012",
            "0.1234",
        ] {
            let mine = match Json::parse(text).unwrap() {
                Json::Num(n) => n,
                other => panic!("{other:?}"),
            };
            let theirs: f64 = serde_json::from_str(text).unwrap();
            assert!(
                (mine - theirs).abs() <= theirs.abs() * 1e-15,
                "{text}: {mine} vs {theirs}"
            );
        }
        for (n, text) in [(0.7, "0.7"), (12.0, "12"), (-0.05, "-0.05"), (1.5, "1.5")] {
            assert_eq!(Json::Num(n).encode(), text);
        }
    }

    #[test]
    fn bad_texts_are_refused_with_where() {
        for text in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "tru",
            "\"open",
            "1.",
            "{} x",
            "-",
        ] {
            assert!(Json::parse(text).is_err(), "{text}");
        }
        assert_eq!(
            Json::parse("[1, x]").unwrap_err().0,
            "invalid JSON at byte 4"
        );
        let deep = "[".repeat(1000);
        assert!(Json::parse(&deep).is_err());
    }
}
