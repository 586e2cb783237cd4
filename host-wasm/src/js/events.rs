//! JS exports: the event builders, validation, ULIDs and node ids.

use super::clock::JsLamportClock;
use super::{answer, call, or_undefined};
use crate::events::Factory;
use crate::ops;
use wasm_bindgen::prelude::*;

/// Builds and validates an event of any type; see the typed builders.
#[wasm_bindgen(js_name = buildEvent, unchecked_return_type = "Envelope")]
pub fn build_event(
    #[wasm_bindgen(js_name = eventType, unchecked_param_type = "EventType")] event_type_name: JsValue,
    #[wasm_bindgen(unchecked_param_type = "BuildContext")] context: JsValue,
    #[wasm_bindgen(unchecked_param_type = "AnyPayload")] payload: JsValue,
) -> Result<JsValue, JsValue> {
    call("buildEvent", &[event_type_name, context, payload])
}

/// One export per event type of the core's list (`spec_kitty_core::for_each_event_type`), named and
/// documented there.
macro_rules! builders {
    ($($(#[doc = $doc:literal])* $event_type:ident($payload:ident) $builder:ident $input:literal;)*) => {$(
        $(#[doc = $doc])*
        /// Throws an `Error` naming the field when the input is wrong.
        #[wasm_bindgen(js_name = $builder, unchecked_return_type = "Envelope")]
        #[allow(non_snake_case)]
        pub fn $builder(
            #[wasm_bindgen(unchecked_param_type = "BuildContext")] context: JsValue,
            #[wasm_bindgen(unchecked_param_type = $input)] payload: JsValue,
        ) -> Result<JsValue, JsValue> {
            call(stringify!($builder), &[context, payload])
        }
    )*};
}
spec_kitty_core::for_each_event_type!(builders);

/// Builds events for one identity, keeping the ULID generator between calls so that events built in
/// the same millisecond get increasing ids.
#[wasm_bindgen(js_name = EventFactory)]
pub struct JsEventFactory {
    factory: Factory,
}

impl JsEventFactory {
    fn method(&mut self, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        answer(ops::factory_method(&mut self.factory, None, method, args))
    }
}

#[wasm_bindgen(js_class = EventFactory)]
impl JsEventFactory {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = identity, unchecked_param_type = "IdentityInput")] input: JsValue,
    ) -> Result<JsEventFactory, JsValue> {
        match ops::construct("new EventFactory", &[input]).map_err(super::js_error)? {
            ops::Object::EventFactory(factory) => Ok(JsEventFactory { factory }),
            _ => unreachable!("`new EventFactory` makes an EventFactory"),
        }
    }

    /// Builds and validates an event; ticks `clock` only when the event is valid.
    #[wasm_bindgen(unchecked_return_type = "Envelope")]
    pub fn build(
        &mut self,
        #[wasm_bindgen(js_name = eventType, unchecked_param_type = "EventType")] event_type_name: JsValue,
        clock: &mut JsLamportClock,
        #[wasm_bindgen(unchecked_param_type = "AnyPayload")] payload: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "BuildOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let args = [event_type_name, JsValue::UNDEFINED, payload, or_undefined(options)];
        answer(ops::factory_method(&mut self.factory, Some(clock.core_mut()), "build", &args))
    }

    /// A fresh ULID to link the events of one action (their `causation_id`).
    #[wasm_bindgen(js_name = causationId, unchecked_return_type = "string")]
    pub fn causation_id(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<JsValue>,
        #[wasm_bindgen(js_name = entropyHex, unchecked_optional_param_type = "string")] entropy_hex: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        self.method("causationId", &[or_undefined(now_ms), or_undefined(entropy_hex)])
    }

    /// The identity events are built for.
    #[wasm_bindgen(getter, unchecked_return_type = "Identity")]
    pub fn identity(&self) -> Result<JsValue, JsValue> {
        answer(ops::to_json_text(self.factory.identity()))
    }
}

/// Checks an event against the schema. Returns every failed rule (`[]` when the event is valid); never throws.
#[wasm_bindgen(js_name = validateEvent, unchecked_return_type = "ValidationIssue[]")]
pub fn validate(#[wasm_bindgen(unchecked_param_type = "unknown")] event: JsValue) -> JsValue {
    call("validateEvent", &[event]).unwrap_or_else(|_| js_sys::Array::new().into())
}

/// A ULID for `nowMs` (default `Date.now()`) and `entropyHex` (default 80 bits from `crypto.getRandomValues`).
#[wasm_bindgen(unchecked_return_type = "string")]
pub fn ulid(
    #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<JsValue>,
    #[wasm_bindgen(js_name = entropyHex, unchecked_optional_param_type = "string")] entropy_hex: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("ulid", &[or_undefined(now_ms), or_undefined(entropy_hex)])
}

/// The node id of a machine: the first 12 hex characters of sha256("{hostname}:{username}").
#[wasm_bindgen(js_name = nodeId, unchecked_return_type = "string")]
pub fn node_id(
    #[wasm_bindgen(unchecked_param_type = "string")] hostname: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] username: JsValue,
) -> Result<JsValue, JsValue> {
    call("nodeId", &[hostname, username])
}
