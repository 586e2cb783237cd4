//! The JS face (feature `js`): wasm-bindgen exports over the host-neutral operations of this crate.
//!
//! Every export is a typed entry point into the table of [`crate::ops`], which the plain-ABI module
//! serves too. Values cross the boundary as JSON text: `JSON.stringify` on the way in, `serde_json` on the Rust
//! side, `serde_json::to_string` and `JSON.parse` on the way out. Key order is therefore the core's own
//! (the envelope's keys come in the contract's order), and a JS host sees exactly the bytes the native
//! core writes.
//!
//! Errors are JS `Error` objects whose one-line message starts with the field at fault
//! (`context.nodeId: ...`, `payload.new_status: ...`, `/payload/title: ...`).

mod board;
mod clock;
mod events;
mod orchestrate;
mod plans;
mod sync;
mod workflow;

use crate::args::{Arg, Error};
use js_sys::{JSON, Reflect};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = include_str!("../types.d.ts");

/// A JS host's arguments: `undefined` and `null` are absent; time and entropy come from `Date.now()`
/// and `crypto.getRandomValues`.
impl Arg for JsValue {
    fn absent() -> Self {
        JsValue::UNDEFINED
    }
    fn is_absent(&self) -> bool {
        self.is_undefined() || self.is_null()
    }
    fn is_object(&self) -> bool {
        JsValue::is_object(self)
    }
    fn is_function(&self) -> bool {
        JsValue::is_function(self)
    }
    fn as_string(&self) -> Option<String> {
        JsValue::as_string(self)
    }
    fn has_lone_surrogate(&self) -> bool {
        self.dyn_ref::<js_sys::JsString>().is_some_and(|text| !text.is_valid_utf16())
    }
    fn as_f64(&self) -> Option<f64> {
        JsValue::as_f64(self)
    }
    fn as_bool(&self) -> Option<bool> {
        JsValue::as_bool(self)
    }
    fn bigint_text(&self) -> Option<String> {
        let big = self.dyn_ref::<js_sys::BigInt>()?;
        Some(big.to_string(10).map(String::from).unwrap_or_default())
    }
    fn call_method(&self, field: &str, name: &str) -> Result<(), Error> {
        let method = self.prop(field, name)?;
        let method = method
            .dyn_ref::<js_sys::Function>()
            .ok_or_else(|| Error::field(field, format!("{name} is not a function")))?;
        method.call0(self).map(|_| ()).map_err(|e| Error::field(field, js_message(&e)))
    }
    fn prop(&self, parent: &str, key: &str) -> Result<Self, Error> {
        if !JsValue::is_object(self) {
            return Ok(JsValue::UNDEFINED);
        }
        Reflect::get(self, &JsValue::from_str(key))
            .map_err(|e| Error::field(&format!("{parent}.{key}"), js_message(&e)))
    }
    /// `undefined` reads as `null`; a value JSON cannot hold (a BigInt, a cycle) is an error naming `field`.
    fn to_json(&self, field: &str) -> Result<Value, Error> {
        if self.is_undefined() {
            return Ok(Value::Null);
        }
        let text = JSON::stringify(self).map_err(|e| Error::field(field, js_message(&e)))?;
        let text = text.as_string().unwrap_or_else(|| "null".to_string());
        serde_json::from_str(&text).map_err(|e| Error::field(field, unreadable_json(&e)))
    }
    fn host_now_ms(_field: &str) -> Result<u64, Error> {
        let now = js_sys::Date::now();
        Ok(if now.is_finite() && now > 0.0 { now as u64 } else { 0 })
    }
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    fn host_entropy(_field: &str) -> Result<u128, Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes[6..]).map_err(|e| Error::new(format!("no random source: {e}")))?;
        Ok(u128::from_be_bytes(bytes))
    }
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    fn host_entropy(_field: &str) -> Result<u128, Error> {
        Err(Error::new("entropyHex is required outside a JS host"))
    }
}

/// Why `JSON.stringify`'s text did not parse. It is well-formed JSON, so the usual cause is a string
/// holding a lone UTF-16 surrogate (half of a pair: JS allows it, JSON text and UTF-8 cannot carry it),
/// which serde_json words as a hex escape at a line and column of text the caller never saw.
fn unreadable_json(err: &serde_json::Error) -> String {
    let text = err.to_string();
    if text.contains("surrogate") || text.contains("hex escape") {
        crate::args::LONE_SURROGATE.to_string()
    } else if text.contains("recursion limit") {
        "nested too deeply (at most 128 levels)".to_string()
    } else {
        text
    }
}

/// An optional argument: `undefined` when left out.
pub fn or_undefined(value: Option<JsValue>) -> JsValue {
    value.unwrap_or(JsValue::UNDEFINED)
}

/// The JS `Error` for a refused input; an invalid event's issues also go on it as `issues`.
pub fn js_error(err: Error) -> JsValue {
    let js: JsValue = js_sys::Error::new(&err.message).into();
    if let Some(issues) = &err.issues
        && let Ok(list) = to_js(issues)
    {
        let _ = Reflect::set(&js, &JsValue::from_str("issues"), &list);
    }
    js
}

/// Runs `op` of the shared table ([`crate::ops`]) and hands its answer to JS.
pub fn call(op: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    answer(crate::ops::call(op, args))
}

/// An answer of the table, as JS values (`JSON.parse`), or the thrown `Error`.
pub fn answer(result: Result<String, Error>) -> Result<JsValue, JsValue> {
    json_to_js(&result.map_err(js_error)?)
}

/// Serialises a core value and hands it to JS as plain objects, arrays, strings and numbers.
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text =
        serde_json::to_string(value).map_err(|e| js_error(Error::new(format!("cannot serialise the result: {e}"))))?;
    json_to_js(&text)
}

/// Parses JSON text into a JS value.
pub fn json_to_js(text: &str) -> Result<JsValue, JsValue> {
    JSON::parse(text)
}

/// The message of a thrown JS value.
pub fn js_message(value: &JsValue) -> String {
    if let Some(err) = value.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}
