//! JS exports: the event builders, validation, ULIDs and node ids.

use super::clock::JsLamportClock;
use super::{js_error, or_undefined, to_js};
use crate::args::{Arg, Error};
use crate::events::{self, Factory};
use js_sys::Function;
use spec_kitty_core::{Event, EventType};
use wasm_bindgen::prelude::*;

fn build(event_type: EventType, context: &JsValue, payload: &JsValue) -> Result<JsValue, JsValue> {
    let (event, owner) = events::build(event_type, context, payload).map_err(js_error)?;
    // A LamportClock object in the context advances only once the event is built and valid.
    if let Some(owner) = owner {
        let tick = owner
            .prop("tick")
            .dyn_into::<Function>()
            .map_err(|_| js_error(Error::field("context.lamportClock", "tick is not a function")))?;
        tick.call0(&owner)?;
    }
    event_to_js(&event)
}

fn event_to_js(event: &Event) -> Result<JsValue, JsValue> {
    super::json_to_js(&event.to_json())
}

/// Builds and validates an event of any type; see the typed builders.
#[wasm_bindgen(js_name = buildEvent, unchecked_return_type = "Envelope")]
pub fn build_event(
    #[wasm_bindgen(js_name = eventType, unchecked_param_type = "EventType")] event_type_name: JsValue,
    #[wasm_bindgen(unchecked_param_type = "BuildContext")] context: JsValue,
    #[wasm_bindgen(unchecked_param_type = "AnyPayload")] payload: JsValue,
) -> Result<JsValue, JsValue> {
    build(events::event_type(&event_type_name).map_err(js_error)?, &context, &payload)
}

// One export per entry of `events::BUILDERS` (same names, same types).
macro_rules! builder {
    ($fn_name:ident, $js_name:literal, $event_type:ident, $payload_ty:literal, $doc:literal) => {
        #[doc = $doc]
        #[wasm_bindgen(js_name = $js_name, unchecked_return_type = "Envelope")]
        pub fn $fn_name(
            #[wasm_bindgen(unchecked_param_type = "BuildContext")] context: JsValue,
            #[wasm_bindgen(unchecked_param_type = $payload_ty)] payload: JsValue,
        ) -> Result<JsValue, JsValue> {
            build(EventType::$event_type, &context, &payload)
        }
    };
}

builder!(
    build_wp_status_changed,
    "buildWpStatusChanged",
    WPStatusChanged,
    "WpStatusChangedInput",
    "Builds and validates a WPStatusChanged event (a WP moved between lanes). Throws an `Error` naming the field when the input is wrong."
);
builder!(
    build_wp_created,
    "buildWpCreated",
    WPCreated,
    "WpCreatedInput",
    "Builds and validates a WPCreated event. Throws an `Error` naming the field when the input is wrong."
);
builder!(
    build_wp_assigned,
    "buildWpAssigned",
    WPAssigned,
    "WpAssignedInput",
    "Builds and validates a WPAssigned event (an agent took a WP for implementation or review). Throws an `Error` naming the field when the input is wrong."
);
builder!(
    build_feature_created,
    "buildFeatureCreated",
    FeatureCreated,
    "FeatureCreatedInput",
    "Builds and validates a FeatureCreated event. Throws an `Error` naming the field when the input is wrong."
);
builder!(
    build_feature_completed,
    "buildFeatureCompleted",
    FeatureCompleted,
    "FeatureCompletedInput",
    "Builds and validates a FeatureCompleted event. Throws an `Error` naming the field when the input is wrong."
);
builder!(
    build_history_added,
    "buildHistoryAdded",
    HistoryAdded,
    "HistoryAddedInput",
    "Builds and validates a HistoryAdded event (a note, review, error or comment on a WP). Throws an `Error` naming the field when the input is wrong."
);
builder!(
    build_error_logged,
    "buildErrorLogged",
    ErrorLogged,
    "ErrorLoggedInput",
    "Builds and validates an ErrorLogged event (aggregate: the WP, or the feature 'error' without one). Throws an `Error` naming the field when the input is wrong."
);
builder!(
    build_dependency_resolved,
    "buildDependencyResolved",
    DependencyResolved,
    "DependencyResolvedInput",
    "Builds and validates a DependencyResolved event (`wp_id` is the dependent it unblocks). Throws an `Error` naming the field when the input is wrong."
);

/// Builds events for one identity, keeping the ULID generator between calls so that events built in
/// the same millisecond get increasing ids.
#[wasm_bindgen(js_name = EventFactory)]
pub struct JsEventFactory {
    factory: Factory,
}

#[wasm_bindgen(js_class = EventFactory)]
impl JsEventFactory {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = identity, unchecked_param_type = "IdentityInput")] input: JsValue,
    ) -> Result<JsEventFactory, JsValue> {
        Ok(JsEventFactory { factory: Factory::new(&input).map_err(js_error)? })
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
        let event = self
            .factory
            .build(&event_type_name, &mut clock.core_mut().clock, &payload, &or_undefined(options))
            .map_err(js_error)?;
        event_to_js(&event)
    }

    /// A fresh ULID to link the events of one action (their `causation_id`).
    #[wasm_bindgen(js_name = causationId)]
    pub fn causation_id(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<JsValue>,
        #[wasm_bindgen(js_name = entropyHex, unchecked_optional_param_type = "string")] entropy_hex: Option<JsValue>,
    ) -> Result<String, JsValue> {
        self.factory.causation_id(&or_undefined(now_ms), &or_undefined(entropy_hex)).map_err(js_error)
    }

    /// The identity events are built for.
    #[wasm_bindgen(getter, unchecked_return_type = "Identity")]
    pub fn identity(&self) -> Result<JsValue, JsValue> {
        to_js(self.factory.identity())
    }
}

/// Checks an event against the schema. Returns every failed rule (`[]` when the event is valid); never throws.
#[wasm_bindgen(js_name = validateEvent, unchecked_return_type = "ValidationIssue[]")]
pub fn validate(#[wasm_bindgen(unchecked_param_type = "unknown")] event: JsValue) -> JsValue {
    to_js(&events::validate(&event)).unwrap_or_else(|_| js_sys::Array::new().into())
}

/// A ULID for `nowMs` (default `Date.now()`) and `entropyHex` (default 80 bits from `crypto.getRandomValues`).
#[wasm_bindgen]
pub fn ulid(
    #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<JsValue>,
    #[wasm_bindgen(js_name = entropyHex, unchecked_optional_param_type = "string")] entropy_hex: Option<JsValue>,
) -> Result<String, JsValue> {
    events::ulid(&or_undefined(now_ms), &or_undefined(entropy_hex)).map_err(js_error)
}

/// The node id of a machine: the first 12 hex characters of sha256("{hostname}:{username}").
#[wasm_bindgen(js_name = nodeId)]
pub fn node_id(
    #[wasm_bindgen(unchecked_param_type = "string")] hostname: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] username: JsValue,
) -> Result<String, JsValue> {
    events::node_id(&hostname, &username).map_err(js_error)
}
