//! JS export: the Lamport clock as a class, with `clock.json` as its JSON form.

use super::{answer, js_error, or_undefined};
use crate::clock::Clock;
use crate::ops::{self, Object};
use wasm_bindgen::prelude::*;

/// A node's Lamport clock: `tick()` for a local event, `receive(remote)` for a value seen elsewhere.
#[wasm_bindgen(js_name = LamportClock)]
pub struct JsLamportClock {
    clock: Clock,
}

impl JsLamportClock {
    pub(crate) fn core_mut(&mut self) -> &mut Clock {
        &mut self.clock
    }

    fn construct(op: &str, args: &[JsValue]) -> Result<JsLamportClock, JsValue> {
        match ops::construct(op, args).map_err(js_error)? {
            Object::LamportClock(clock) => Ok(JsLamportClock { clock }),
            _ => unreachable!("`{op}` makes a LamportClock"),
        }
    }

    fn method(&mut self, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        answer(ops::clock_method(&mut self.clock, method, args))
    }
}

#[wasm_bindgen(js_class = LamportClock)]
impl JsLamportClock {
    /// A clock for `nodeId` (12 lowercase hex characters) at `value` (default 0).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = nodeId, unchecked_param_type = "string")] node_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] value: Option<JsValue>,
    ) -> Result<JsLamportClock, JsValue> {
        JsLamportClock::construct("new LamportClock", &[node_id, or_undefined(value)])
    }

    #[wasm_bindgen(getter)]
    pub fn value(&self) -> f64 {
        self.clock.value() as f64
    }

    #[wasm_bindgen(getter, js_name = nodeId)]
    pub fn node_id(&self) -> String {
        self.clock.node_id.to_string()
    }

    /// Advances for a local event and returns the value that event carries.
    #[wasm_bindgen(unchecked_return_type = "number")]
    pub fn tick(&mut self) -> Result<JsValue, JsValue> {
        self.method("tick", &[])
    }

    /// Merges a remote value: max(local, remote) + 1, returned.
    #[wasm_bindgen(unchecked_return_type = "number")]
    pub fn receive(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] remote: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.method("receive", &[remote])
    }

    /// The `clock.json` object: `{value, node_id, updated_at}`, `updated_at` from `nowMs` (default
    /// `Date.now()`). `JSON.stringify(clock)` calls it with a key, which counts as no time given.
    // `&mut self` because every method goes through the table's one `clock_method`.
    #[allow(clippy::wrong_self_convention)]
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "ClockJson")]
    pub fn to_json(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number | string")] now_ms: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        self.method("toJSON", &[or_undefined(now_ms)])
    }

    /// Reads `clock.json`, as its text or as the parsed object. A missing, empty or corrupt file is an
    /// error: the host then starts at 0 and says so.
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "ClockJson | string")] json: JsValue,
    ) -> Result<JsLamportClock, JsValue> {
        JsLamportClock::construct("LamportClock.fromJSON", &[json])
    }
}
