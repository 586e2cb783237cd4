//! The event builders, validation, ULIDs and node ids.

use crate::clock::JsLamportClock;
use crate::convert::{self, field_error, get};
use js_sys::{Function, Reflect};
use serde_json::Value;
use spec_kitty_core::events::{
    DependencyResolved, ErrorLogged, EventError, FeatureCompleted, FeatureCreated, HistoryAdded, WpAssigned, WpCreated,
    WpStatusChanged,
};
use spec_kitty_core::validation::validate_event;
use spec_kitty_core::{Event, EventFactory, EventType, Identity, LamportClock, Moment, NodeId, Payload, UlidGenerator};
use wasm_bindgen::prelude::*;

/// Reads a payload of `event_type` from JSON; a failure names the field (`payload.new_status: ...`).
pub fn payload_from_json(event_type: EventType, value: Value) -> Result<Payload, String> {
    use convert::from_json as read;
    const FIELD: &str = "payload";
    Ok(match event_type {
        EventType::WPStatusChanged => Payload::WpStatusChanged(read::<WpStatusChanged>(FIELD, value)?),
        EventType::WPCreated => Payload::WpCreated(read::<WpCreated>(FIELD, value)?),
        EventType::WPAssigned => Payload::WpAssigned(read::<WpAssigned>(FIELD, value)?),
        EventType::FeatureCreated => Payload::FeatureCreated(read::<FeatureCreated>(FIELD, value)?),
        EventType::FeatureCompleted => Payload::FeatureCompleted(read::<FeatureCompleted>(FIELD, value)?),
        EventType::HistoryAdded => Payload::HistoryAdded(read::<HistoryAdded>(FIELD, value)?),
        EventType::ErrorLogged => Payload::ErrorLogged(read::<ErrorLogged>(FIELD, value)?),
        EventType::DependencyResolved => Payload::DependencyResolved(read::<DependencyResolved>(FIELD, value)?),
    })
}

/// The JS error for a refused build; an invalid event's issues also go on the error as `issues`.
fn build_error(err: EventError) -> JsValue {
    let js = convert::error(err.to_string());
    if let EventError::Invalid { issues, .. } = &err
        && let Ok(list) = convert::to_js(issues)
    {
        let _ = Reflect::set(&js, &JsValue::from_str("issues"), &list);
    }
    js
}

fn event_type(name: &JsValue) -> Result<EventType, JsValue> {
    let name = convert::string("eventType", name)?;
    EventType::parse(&name).ok_or_else(|| {
        let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        field_error("eventType", format!("unknown event type `{name}`: expected one of {}", known.join(", ")))
    })
}

fn identity(field: &str, object: &JsValue) -> Result<Identity, JsValue> {
    if !object.is_object() {
        return Err(field_error(field, "expected an object"));
    }
    let node_id = convert::string(&format!("{field}.nodeId"), &get(object, "nodeId"))?;
    let node_id = node_id.parse::<NodeId>().map_err(|e| field_error(&format!("{field}.nodeId"), e))?;
    let team_slug = convert::string(&format!("{field}.teamSlug"), &get(object, "teamSlug"))?;
    let project = get(object, "project");
    let project = if convert::is_absent(&project) {
        None
    } else {
        Some(convert::from_js(&format!("{field}.project"), &project)?)
    };
    Ok(Identity { node_id, team_slug, project })
}

/// When and with what entropy to build, and the optional cause: the parts of a build context other
/// than the identity and the clock.
struct BuildOptions {
    at: Moment,
    causation_id: Option<String>,
}

fn build_options(field: &str, object: &JsValue) -> Result<BuildOptions, JsValue> {
    let unix_ms = convert::now_ms_or_host(&format!("{field}.nowMs"), &get(object, "nowMs"))?;
    let entropy = convert::entropy_or_host(&format!("{field}.entropyHex"), &get(object, "entropyHex"))?;
    let causation_id = convert::optional_string(&format!("{field}.causationId"), &get(object, "causationId"))?;
    Ok(BuildOptions { at: Moment { unix_ms, entropy }, causation_id })
}

/// The context's clock: a `LamportClock` (or any object with a numeric `value` and a `tick()`), which is
/// ticked when the event is built, or a plain number, the current value.
enum ContextClock {
    Object(JsValue, LamportClock),
    Value(LamportClock),
}

fn context_clock(value: JsValue) -> Result<ContextClock, JsValue> {
    const FIELD: &str = "context.lamportClock";
    if value.as_f64().is_some() {
        return Ok(ContextClock::Value(LamportClock::new(convert::unsigned(FIELD, &value)?)));
    }
    if value.is_object() && get(&value, "tick").is_function() {
        let current = convert::unsigned(&format!("{FIELD}.value"), &get(&value, "value"))?;
        return Ok(ContextClock::Object(value, LamportClock::new(current)));
    }
    Err(field_error(FIELD, "expected a LamportClock or a non-negative integer"))
}

fn build(event_type: EventType, context: &JsValue, payload: &JsValue) -> Result<JsValue, JsValue> {
    let identity = identity("context", context)?;
    let clock = context_clock(get(context, "lamportClock"))?;
    let options = build_options("context", context)?;
    let payload = payload_from_json(event_type, convert::from_js_json("payload", payload)?).map_err(convert::error)?;
    let mut factory = EventFactory::new(identity);
    let (mut next, owner) = match clock {
        ContextClock::Object(owner, current) => (current, Some(owner)),
        ContextClock::Value(current) => (current, None),
    };
    let event = factory.build(&mut next, options.at, options.causation_id.as_deref(), payload).map_err(build_error)?;
    if let Some(owner) = owner {
        let tick = get(&owner, "tick")
            .dyn_into::<Function>()
            .map_err(|_| field_error("context.lamportClock", "tick is not a function"))?;
        tick.call0(&owner)?;
    }
    event_to_js(&event)
}

fn event_to_js(event: &Event) -> Result<JsValue, JsValue> {
    convert::json_to_js(&event.to_json())
}

/// Builds and validates an event of any type; see the typed builders.
#[wasm_bindgen(js_name = buildEvent, unchecked_return_type = "Envelope")]
pub fn build_event(
    #[wasm_bindgen(js_name = eventType, unchecked_param_type = "EventType")] event_type_name: JsValue,
    #[wasm_bindgen(unchecked_param_type = "BuildContext")] context: JsValue,
    #[wasm_bindgen(unchecked_param_type = "AnyPayload")] payload: JsValue,
) -> Result<JsValue, JsValue> {
    build(event_type(&event_type_name)?, &context, &payload)
}

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
    factory: EventFactory,
}

#[wasm_bindgen(js_class = EventFactory)]
impl JsEventFactory {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = identity, unchecked_param_type = "IdentityInput")] input: JsValue,
    ) -> Result<JsEventFactory, JsValue> {
        Ok(JsEventFactory { factory: EventFactory::new(identity("identity", &input)?) })
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
        let event_type = event_type(&event_type_name)?;
        let options = build_options("options", &convert::or_undefined(options))?;
        let payload =
            payload_from_json(event_type, convert::from_js_json("payload", &payload)?).map_err(convert::error)?;
        let event = self
            .factory
            .build(clock.core_mut(), options.at, options.causation_id.as_deref(), payload)
            .map_err(build_error)?;
        event_to_js(&event)
    }

    /// A fresh ULID to link the events of one action (their `causation_id`).
    #[wasm_bindgen(js_name = causationId)]
    pub fn causation_id(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<JsValue>,
        #[wasm_bindgen(js_name = entropyHex, unchecked_optional_param_type = "string")] entropy_hex: Option<JsValue>,
    ) -> Result<String, JsValue> {
        let unix_ms = convert::now_ms_or_host("nowMs", &convert::or_undefined(now_ms))?;
        let entropy = convert::entropy_or_host("entropyHex", &convert::or_undefined(entropy_hex))?;
        self.factory.causation_id(Moment { unix_ms, entropy }).map_err(build_error)
    }

    /// The identity events are built for.
    #[wasm_bindgen(getter, unchecked_return_type = "Identity")]
    pub fn identity(&self) -> Result<JsValue, JsValue> {
        convert::to_js(self.factory.identity())
    }
}

/// Checks an event against the schema. Returns every failed rule (`[]` when the event is valid); never throws.
#[wasm_bindgen(js_name = validateEvent, unchecked_return_type = "ValidationIssue[]")]
pub fn validate(#[wasm_bindgen(unchecked_param_type = "unknown")] event: JsValue) -> JsValue {
    let issues = match convert::from_js_json("", &event) {
        Ok(value) => validate_event(&value),
        Err(err) => vec![spec_kitty_core::validation::ValidationIssue {
            field: String::new(),
            message: convert::js_message(&err),
        }],
    };
    convert::to_js(&issues).unwrap_or_else(|_| js_sys::Array::new().into())
}

/// A ULID for `nowMs` (default `Date.now()`) and `entropyHex` (default 80 bits from `crypto.getRandomValues`).
#[wasm_bindgen]
pub fn ulid(
    #[wasm_bindgen(js_name = nowMs, unchecked_optional_param_type = "number")] now_ms: Option<JsValue>,
    #[wasm_bindgen(js_name = entropyHex, unchecked_optional_param_type = "string")] entropy_hex: Option<JsValue>,
) -> Result<String, JsValue> {
    let unix_ms = convert::now_ms_or_host("nowMs", &convert::or_undefined(now_ms))?;
    let entropy = convert::entropy_or_host("entropyHex", &convert::or_undefined(entropy_hex))?;
    UlidGenerator::new().next(unix_ms, entropy).map(|id| id.to_string()).map_err(|e| convert::error(e.to_string()))
}

/// The node id of a machine: the first 12 hex characters of sha256("{hostname}:{username}").
#[wasm_bindgen(js_name = nodeId)]
pub fn node_id(
    #[wasm_bindgen(unchecked_param_type = "string")] hostname: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] username: JsValue,
) -> Result<String, JsValue> {
    let hostname = convert::string("hostname", &hostname)?;
    let username = convert::string("username", &username)?;
    Ok(NodeId::from_host_and_user(&hostname, &username).to_string())
}
