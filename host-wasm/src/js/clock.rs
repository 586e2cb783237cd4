//! JS export: the Lamport clock as a class, with `clock.json` as its JSON form.

use super::{js_error, or_undefined, to_js};
use crate::clock::Clock;
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
}

#[wasm_bindgen(js_class = LamportClock)]
impl JsLamportClock {
    /// A clock for `nodeId` (12 lowercase hex characters) at `value` (default 0).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = nodeId, unchecked_param_type = "string")] node_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] value: Option<JsValue>,
    ) -> Result<JsLamportClock, JsValue> {
        Ok(JsLamportClock { clock: Clock::new(&node_id, &or_undefined(value)).map_err(js_error)? })
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
    pub fn tick(&mut self) -> Result<f64, JsValue> {
        self.clock.tick().map(|v| v as f64).map_err(js_error)
    }

    /// Merges a remote value: max(local, remote) + 1, returned.
    pub fn receive(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] remote: JsValue,
    ) -> Result<f64, JsValue> {
        self.clock.receive(&remote).map(|v| v as f64).map_err(js_error)
    }

    /// The `clock.json` object: `{value, node_id, updated_at}`, `updated_at` from `nowMs` (default
    /// `Date.now()`). `JSON.stringify(clock)` calls it with a key, which counts as no time given.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "ClockJson")]
    pub fn to_json(
        &self,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number | string")] now_ms: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.clock.to_file(&or_undefined(now_ms)).map_err(js_error)?)
    }

    /// Reads `clock.json`, as its text or as the parsed object. A missing, empty or corrupt file is an
    /// error: the host then starts at 0 and says so.
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "ClockJson | string")] json: JsValue,
    ) -> Result<JsLamportClock, JsValue> {
        Ok(JsLamportClock { clock: Clock::from_file(&json).map_err(js_error)? })
    }
}
