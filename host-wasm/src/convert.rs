//! Conversions between JS values and the core's types, and the two things a host reads from the world
//! (time and entropy) when the caller passes none.
//!
//! Values cross the boundary as JSON text: `JSON.stringify` on the way in, `serde_json` on the Rust
//! side, `serde_json::to_string` and `JSON.parse` on the way out. Key order is therefore the core's own
//! (the envelope's keys come in the contract's order), and a JS host sees exactly the bytes the native
//! core writes.
//!
//! Errors are JS `Error` objects whose one-line message starts with the field at fault
//! (`context.nodeId: ...`, `payload.new_status: ...`, `/payload/title: ...`).

use js_sys::{Error, JSON, Reflect};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// An optional argument: `undefined` when left out.
pub fn or_undefined(value: Option<JsValue>) -> JsValue {
    value.unwrap_or(JsValue::UNDEFINED)
}

/// A JS `Error` with `message`.
pub fn error(message: impl AsRef<str>) -> JsValue {
    Error::new(message.as_ref()).into()
}

/// A JS `Error` for `field`, as `field: reason`.
pub fn field_error(field: &str, reason: impl std::fmt::Display) -> JsValue {
    error(format!("{field}: {reason}"))
}

/// Serialises a core value and hands it to JS as plain objects, arrays, strings and numbers.
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| error(format!("cannot serialise the result: {e}")))?;
    json_to_js(&text)
}

/// Parses JSON text into a JS value.
pub fn json_to_js(text: &str) -> Result<JsValue, JsValue> {
    JSON::parse(text)
}

/// Reads a JS value as JSON. `undefined` reads as `null`; a value JSON cannot hold (a BigInt, a cycle)
/// is an error naming `field`.
pub fn from_js_json(field: &str, value: &JsValue) -> Result<Value, JsValue> {
    if value.is_undefined() {
        return Ok(Value::Null);
    }
    let text = JSON::stringify(value).map_err(|e| field_error(field, js_message(&e)))?;
    let text = text.as_string().unwrap_or_else(|| "null".to_string());
    serde_json::from_str(&text).map_err(|e| field_error(field, e))
}

/// Reads a JS value into a core type; a failure names the path inside `field` (`payload.wp_id`).
pub fn from_js<T: DeserializeOwned>(field: &str, value: &JsValue) -> Result<T, JsValue> {
    from_json(field, from_js_json(field, value)?).map_err(error)
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

/// The message of a thrown JS value.
pub fn js_message(value: &JsValue) -> String {
    if let Some(err) = value.dyn_ref::<Error>() {
        return String::from(err.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

/// `object[key]`, or `undefined` when `object` is not an object.
pub fn get(object: &JsValue, key: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

/// A required string.
pub fn string(field: &str, value: &JsValue) -> Result<String, JsValue> {
    value.as_string().ok_or_else(|| field_error(field, "expected a string"))
}

/// An optional string: `undefined` and `null` are absent.
pub fn optional_string(field: &str, value: &JsValue) -> Result<Option<String>, JsValue> {
    if is_absent(value) { Ok(None) } else { string(field, value).map(Some) }
}

/// A non-negative integer that a JS number holds exactly.
pub fn unsigned(field: &str, value: &JsValue) -> Result<u64, JsValue> {
    match value.as_f64() {
        Some(n) if (0.0..=MAX_SAFE_INTEGER).contains(&n) && n.fract() == 0.0 => Ok(n as u64),
        Some(n) => Err(field_error(field, format!("expected a non-negative integer up to 2^53-1, got {n}"))),
        None => Err(field_error(field, "expected a non-negative integer")),
    }
}

/// An optional non-negative integer: `undefined` and `null` are absent.
pub fn optional_unsigned(field: &str, value: &JsValue) -> Result<Option<u64>, JsValue> {
    if is_absent(value) { Ok(None) } else { unsigned(field, value).map(Some) }
}

/// Entropy as hex text (up to 32 digits; the core keeps the low 80 bits).
pub fn entropy_from_hex(field: &str, hex: &str) -> Result<u128, JsValue> {
    let digits = !hex.is_empty() && hex.len() <= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit());
    if !digits {
        return Err(field_error(field, format!("expected 1 to 32 hex digits, got `{hex}`")));
    }
    u128::from_str_radix(hex, 16).map_err(|e| field_error(field, e))
}

/// `nowMs`, or the host's clock (`Date.now()`) when absent.
pub fn now_ms_or_host(field: &str, value: &JsValue) -> Result<u64, JsValue> {
    match optional_unsigned(field, value)? {
        Some(ms) => Ok(ms),
        None => Ok(host_now_ms()),
    }
}

/// `entropyHex`, or 80 fresh random bits from the host (`crypto.getRandomValues`) when absent.
pub fn entropy_or_host(field: &str, value: &JsValue) -> Result<u128, JsValue> {
    match optional_string(field, value)? {
        Some(hex) => entropy_from_hex(field, &hex),
        None => host_entropy(),
    }
}

pub fn host_now_ms() -> u64 {
    let now = js_sys::Date::now();
    if now.is_finite() && now > 0.0 { now as u64 } else { 0 }
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub fn host_entropy() -> Result<u128, JsValue> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes[6..]).map_err(|e| error(format!("no random source: {e}")))?;
    Ok(u128::from_be_bytes(bytes))
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn host_entropy() -> Result<u128, JsValue> {
    Err(error("entropyHex is required outside a JS host"))
}

/// A random `u64`: a bigint, a hex string (1 to 16 digits) or an exact integer number; fresh random bits
/// from the host (`crypto.getRandomValues`) when absent.
pub fn random_u64_or_host(field: &str, value: &JsValue) -> Result<u64, JsValue> {
    if is_absent(value) {
        return u64::try_from(host_entropy()? & u128::from(u64::MAX)).map_err(|e| field_error(field, e));
    }
    if let Some(big) = value.dyn_ref::<js_sys::BigInt>() {
        let text = big.to_string(10).map(String::from).unwrap_or_default();
        return text
            .parse::<u64>()
            .map_err(|_| field_error(field, format!("expected a bigint from 0 to 2^64-1, got {text}")));
    }
    if let Some(hex) = value.as_string() {
        let digits = !hex.is_empty() && hex.len() <= 16 && hex.bytes().all(|c| c.is_ascii_hexdigit());
        if !digits {
            return Err(field_error(field, format!("expected 1 to 16 hex digits, got `{hex}`")));
        }
        return u64::from_str_radix(&hex, 16).map_err(|e| field_error(field, e));
    }
    unsigned(field, value)
}
