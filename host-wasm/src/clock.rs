//! The Lamport clock as a JS class, with `clock.json` as its JSON form.

use crate::convert;
use spec_kitty_core::{ClockFile, LamportClock, NodeId};
use wasm_bindgen::prelude::*;

/// A node's Lamport clock: `tick()` for a local event, `receive(remote)` for a value seen elsewhere.
#[wasm_bindgen(js_name = LamportClock)]
pub struct JsLamportClock {
    clock: LamportClock,
    node_id: NodeId,
}

impl JsLamportClock {
    pub(crate) fn core_mut(&mut self) -> &mut LamportClock {
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
        let node_id = convert::string("nodeId", &node_id)?;
        let node_id = node_id.parse::<NodeId>().map_err(|e| convert::field_error("nodeId", e))?;
        let value = convert::optional_unsigned("value", &convert::or_undefined(value))?.unwrap_or(0);
        Ok(JsLamportClock { clock: LamportClock::new(value), node_id })
    }

    #[wasm_bindgen(getter)]
    pub fn value(&self) -> f64 {
        self.clock.value() as f64
    }

    #[wasm_bindgen(getter, js_name = nodeId)]
    pub fn node_id(&self) -> String {
        self.node_id.to_string()
    }

    /// Advances for a local event and returns the value that event carries.
    pub fn tick(&mut self) -> Result<f64, JsValue> {
        self.clock.tick().map(|v| v as f64).map_err(|e| convert::error(e.to_string()))
    }

    /// Merges a remote value: max(local, remote) + 1, returned.
    pub fn receive(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] remote: JsValue,
    ) -> Result<f64, JsValue> {
        let remote = convert::unsigned("remote", &remote)?;
        self.clock.receive(remote).map(|v| v as f64).map_err(|e| convert::error(e.to_string()))
    }

    /// The `clock.json` object: `{value, node_id, updated_at}`, `updated_at` from `nowMs` (default
    /// `Date.now()`). `JSON.stringify(clock)` calls it with a key, which counts as no time given.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "ClockJson")]
    pub fn to_json(
        &self,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number | string")] now_ms: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let now_ms = convert::or_undefined(now_ms);
        let now_ms =
            if now_ms.as_f64().is_some() { convert::unsigned("nowMs", &now_ms)? } else { convert::host_now_ms() };
        convert::to_js(&ClockFile::new(self.clock, self.node_id.clone(), now_ms))
    }

    /// Reads `clock.json`, as its text or as the parsed object. A missing, empty or corrupt file is an
    /// error: the host then starts at 0 and says so.
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "ClockJson | string")] json: JsValue,
    ) -> Result<JsLamportClock, JsValue> {
        let text = match json.as_string() {
            Some(text) => text,
            None => convert::from_js_json("clock.json", &json)?.to_string(),
        };
        let file = ClockFile::parse("clock.json", &text).map_err(|e| convert::error(e.to_string()))?;
        Ok(JsLamportClock { clock: file.clock(), node_id: file.node_id })
    }
}
