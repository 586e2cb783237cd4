//! Reading a host's arguments into the core's types, once for every host.
//!
//! A host hands its arguments over as values of its own kind: `JsValue`s from wasm-bindgen (feature
//! `js`), `serde_json::Value`s from a host that speaks JSON text (the plain-ABI module
//! `host-wasm/abi`, run by wasmtime). [`Arg`] is the little each kind must answer (is it a string, a
//! number, what is under this key); the readers here and the operations built on them are written once
//! against it, so every host checks the same things in the same order and words its errors the same.
//!
//! Errors are one line that starts with the field at fault (`context.nodeId: ...`,
//! `payload.new_status: ...`); a JS host throws them as `Error`s, a JSON host answers `{"error": ...}`.

use serde::de::DeserializeOwned;
use serde_json::Value;
use spec_kitty_core::validation::ValidationIssue;
use std::fmt;

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// `null`, for the keys and arguments a JSON host leaves out.
pub static NULL: Value = Value::Null;

/// A refused input or operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// One line, starting with the field at fault, long values cut ([`one_line`]).
    pub message: String,
    /// An invalid event's failed rules (a JS host also puts them on the error as `issues`).
    pub issues: Option<Vec<ValidationIssue>>,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error { message: one_line(&message.into()), issues: None }
    }

    /// `field: reason`.
    pub fn field(field: &str, reason: impl fmt::Display) -> Error {
        Error::new(format!("{field}: {reason}"))
    }

    /// The message of any error the core returns.
    pub fn from_display(err: impl fmt::Display) -> Error {
        Error::new(err.to_string())
    }
}

/// The most characters of a quoted value an error message repeats.
pub const MAX_VALUE_CHARS: usize = 64;
/// The most characters of a whole error message, values cut or not.
pub const MAX_MESSAGE_CHARS: usize = 400;

/// An error message as a host shows it: one line (line breaks and control characters become spaces),
/// each quoted value (`"..."` or `` `...` ``) cut to its first [`MAX_VALUE_CHARS`] characters and
/// `…`, serde's Rust wording replaced by the JS one, and at most [`MAX_MESSAGE_CHARS`] characters.
/// A caller's 10 MiB `wp_id` must not come back as a 10 MiB message.
pub fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS + 8));
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' || c == '`' {
            out.push(c);
            let mut kept = 0;
            let mut escaped = false;
            for inner in chars.by_ref() {
                let closing = inner == c && !escaped;
                escaped = c == '"' && inner == '\\' && !escaped;
                if closing {
                    if kept > MAX_VALUE_CHARS {
                        out.push('…');
                    }
                    out.push(c);
                    break;
                }
                kept += 1;
                if kept <= MAX_VALUE_CHARS {
                    out.push(visible(inner));
                }
            }
        } else {
            out.push(visible(c));
        }
        if out.chars().count() > MAX_MESSAGE_CHARS + MAX_VALUE_CHARS + 4 {
            break;
        }
    }
    let mut out = without_rust_names(&out);
    for (rust, js) in BINDING_WORDS {
        out = out.replace(rust, js);
    }
    if out.chars().count() > MAX_MESSAGE_CHARS {
        format!("{}…", out.chars().take(MAX_MESSAGE_CHARS).collect::<String>())
    } else {
        out
    }
}

/// Rust's and wasm-bindgen's wordings a JS user meets, in the JS user's terms. The wasm-bindgen ones
/// come from a getter or `toJSON` of an argument that frees or reuses one of the package's objects
/// while a call is using it.
const BINDING_WORDS: [(&str, &str); 4] = [
    ("out of range integral type conversion attempted", "out of range"),
    (
        "attempted to take ownership of Rust value while it was borrowed",
        "an object of this package was freed while a call was using it",
    ),
    (
        "recursive use of an object detected which would lead to unsafe aliasing in rust",
        "an object of this package was used from inside a call that was using it",
    ),
    ("null pointer passed to rust", "an object of this package was used after free() or the end of its using block"),
];

/// serde names the Rust type it expected (`expected struct WpStatusChanged`, `expected internally
/// tagged enum RunEvent`); a JS user knows it as an object.
fn without_rust_names(message: &str) -> String {
    const RUST: [&str; 4] = [
        "expected struct ",
        "expected internally tagged enum ",
        "expected adjacently tagged enum ",
        "expected tuple struct ",
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some((at, rust)) = RUST.iter().filter_map(|rust| rest.find(rust).map(|at| (at, *rust))).min() {
        out.push_str(&rest[..at]);
        out.push_str("expected an object");
        rest = rest[at + rust.len()..].trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
    }
    out.push_str(rest);
    out
}

fn visible(c: char) -> char {
    if c.is_control() || c == '\u{2028}' || c == '\u{2029}' { ' ' } else { c }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// One argument as a host passes it, and the two readings of the world the host makes when the
/// caller passes none (the time and entropy).
pub trait Arg: Sized {
    /// The value of a left-out argument (`undefined` in JS, `null` in JSON).
    fn absent() -> Self;
    /// Left out: `undefined` or `null`.
    fn is_absent(&self) -> bool;
    /// An object or an array (JS's `typeof x === 'object'`, without `null`).
    fn is_object(&self) -> bool;
    /// A callable; only a JS host has them.
    fn is_function(&self) -> bool {
        false
    }
    fn as_string(&self) -> Option<String>;
    /// A string holding half of a UTF-16 surrogate pair, which a Rust `String` cannot hold: reading
    /// it would silently put U+FFFD in its place (only a JS host has such strings).
    fn has_lone_surrogate(&self) -> bool {
        false
    }
    fn as_f64(&self) -> Option<f64>;
    fn as_bool(&self) -> Option<bool>;
    /// The decimal digits of a bigint; only a JS host has them.
    fn bigint_text(&self) -> Option<String> {
        None
    }
    /// Calls `self.name()`, for an object of the host's (only a JS host has them); `field` names
    /// `self` in an error.
    fn call_method(&self, field: &str, name: &str) -> Result<(), Error> {
        Err(Error::field(field, format!("{name} is not a function")))
    }
    /// `self[key]`; absent when `self` is not an object or has no such key. A getter or Proxy trap
    /// that throws is an error naming `{parent}.{key}`, not a silent absent value (which would put a
    /// default such as the host's clock in place of what the caller meant to pass).
    fn prop(&self, parent: &str, key: &str) -> Result<Self, Error>;
    /// The value as JSON; absent reads as `null`. A value JSON cannot hold is an error naming `field`.
    fn to_json(&self, field: &str) -> Result<Value, Error>;
    /// The host's clock, in Unix milliseconds, for a `field` the caller left out.
    fn host_now_ms(field: &str) -> Result<u64, Error>;
    /// 80 fresh random bits from the host, for a `field` the caller left out.
    fn host_entropy(field: &str) -> Result<u128, Error>;
}

/// A JSON host: arguments are parsed JSON text. It has no clock and no random source of its own, so
/// time and entropy must be passed (the parity cases always do): leaving them out is an error rather
/// than a silent fixed value.
impl Arg for &Value {
    fn absent() -> Self {
        &NULL
    }
    fn is_absent(&self) -> bool {
        self.is_null()
    }
    fn is_object(&self) -> bool {
        Value::is_object(self) || self.is_array()
    }
    fn as_string(&self) -> Option<String> {
        self.as_str().map(String::from)
    }
    fn as_f64(&self) -> Option<f64> {
        Value::as_f64(self)
    }
    fn as_bool(&self) -> Option<bool> {
        Value::as_bool(self)
    }
    fn prop(&self, _parent: &str, key: &str) -> Result<Self, Error> {
        // Value::get on an array with a string key, or on a scalar, is None: absent, as in JS.
        Ok(self.get(key).unwrap_or(&NULL))
    }
    fn to_json(&self, _field: &str) -> Result<Value, Error> {
        Ok((*self).clone())
    }
    fn host_now_ms(field: &str) -> Result<u64, Error> {
        Err(Error::field(field, "required: this host has no clock"))
    }
    fn host_entropy(field: &str) -> Result<u128, Error> {
        Err(Error::field(field, "required: this host has no random source"))
    }
}

/// Reads an argument into a core type; a failure names the path inside `field` (`payload.wp_id`).
pub fn from_arg<T: DeserializeOwned, A: Arg>(field: &str, value: &A) -> Result<T, Error> {
    from_json(field, value.to_json(field)?).map_err(Error::new)
}

/// Reads JSON into a core type, naming the path of the failure inside `field`.
pub fn from_json<T: DeserializeOwned>(field: &str, value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| path_message(field, e.path(), e.inner()))
}

fn path_message(field: &str, path: &serde_path_to_error::Path, inner: &serde_json::Error) -> String {
    let path = path.to_string();
    if path == "." || path.is_empty() {
        format!("{field}: {inner}")
    } else if path.starts_with('[') {
        format!("{field}{path}: {inner}")
    } else {
        format!("{field}.{path}: {inner}")
    }
}

/// A required string.
pub fn string<A: Arg>(field: &str, value: &A) -> Result<String, Error> {
    if value.has_lone_surrogate() {
        return Err(Error::field(field, LONE_SURROGATE));
    }
    value.as_string().ok_or_else(|| Error::field(field, "expected a string"))
}

/// Why a string with half of a UTF-16 surrogate pair is refused, wherever it is (refused rather than
/// read as U+FFFD, which would give two different inputs one node id or one event).
pub const LONE_SURROGATE: &str = "a lone UTF-16 surrogate (half of a pair, such as \\uD800 alone) in a string, which UTF-8 and JSON text cannot carry: use well-formed strings (String.prototype.toWellFormed)";

/// An optional string: `undefined` and `null` are absent.
pub fn optional_string<A: Arg>(field: &str, value: &A) -> Result<Option<String>, Error> {
    if value.is_absent() { Ok(None) } else { string(field, value).map(Some) }
}

/// A non-negative integer that a JS number holds exactly.
pub fn unsigned<A: Arg>(field: &str, value: &A) -> Result<u64, Error> {
    match value.as_f64() {
        Some(n) if (0.0..=MAX_SAFE_INTEGER).contains(&n) && n.fract() == 0.0 => Ok(n as u64),
        Some(n) => Err(Error::field(field, format!("expected a non-negative integer up to 2^53-1, got {n}"))),
        None => Err(Error::field(field, "expected a non-negative integer")),
    }
}

/// An optional non-negative integer: `undefined` and `null` are absent.
pub fn optional_unsigned<A: Arg>(field: &str, value: &A) -> Result<Option<u64>, Error> {
    if value.is_absent() { Ok(None) } else { unsigned(field, value).map(Some) }
}

/// An optional boolean, false when absent.
pub fn flag<A: Arg>(field: &str, value: &A) -> Result<bool, Error> {
    if value.is_absent() {
        return Ok(false);
    }
    value.as_bool().ok_or_else(|| Error::field(field, "expected a boolean"))
}

/// Entropy as hex text (up to 32 digits; the core keeps the low 80 bits).
pub fn entropy_from_hex(field: &str, hex: &str) -> Result<u128, Error> {
    let digits = !hex.is_empty() && hex.len() <= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit());
    if !digits {
        return Err(Error::field(field, format!("expected 1 to 32 hex digits, got `{hex}`")));
    }
    u128::from_str_radix(hex, 16).map_err(|e| Error::field(field, e))
}

/// `nowMs`, or the host's clock when absent.
pub fn now_ms_or_host<A: Arg>(field: &str, value: &A) -> Result<u64, Error> {
    match optional_unsigned(field, value)? {
        Some(ms) => Ok(ms),
        None => A::host_now_ms(field),
    }
}

/// `entropyHex`, or 80 fresh random bits from the host when absent.
pub fn entropy_or_host<A: Arg>(field: &str, value: &A) -> Result<u128, Error> {
    match optional_string(field, value)? {
        Some(hex) => entropy_from_hex(field, &hex),
        None => A::host_entropy(field),
    }
}

/// A random `u64`: a bigint, a hex string (1 to 16 digits) or an exact integer number; fresh random bits
/// from the host when absent.
pub fn random_u64_or_host<A: Arg>(field: &str, value: &A) -> Result<u64, Error> {
    if value.is_absent() {
        return u64::try_from(A::host_entropy(field)? & u128::from(u64::MAX)).map_err(|e| Error::field(field, e));
    }
    if let Some(text) = value.bigint_text() {
        return text
            .parse::<u64>()
            .map_err(|_| Error::field(field, format!("expected a bigint from 0 to 2^64-1, got {text}")));
    }
    if let Some(hex) = value.as_string() {
        let digits = !hex.is_empty() && hex.len() <= 16 && hex.bytes().all(|c| c.is_ascii_hexdigit());
        if !digits {
            return Err(Error::field(field, format!("expected 1 to 16 hex digits, got `{hex}`")));
        }
        return u64::from_str_radix(&hex, 16).map_err(|e| Error::field(field, e));
    }
    unsigned(field, value)
}
