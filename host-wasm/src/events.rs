//! The event builders, validation, ULIDs and node ids, for any host ([`Arg`]).

use crate::args::{self, Arg, Error};
use serde_json::Value;
use spec_kitty_core::events::EventError;
use spec_kitty_core::validation::{ValidationIssue, validate_event};
use spec_kitty_core::{Event, EventFactory, EventType, Identity, LamportClock, Moment, NodeId, Payload, UlidGenerator};

/// The typed builders' names (`buildWpStatusChanged(context, payload)`) and the type each builds, from
/// the core's list of event types ([`spec_kitty_core::for_each_event_type`]). The JS exports are
/// generated from the same list (`js/events.rs`); the plain-ABI module finds them here.
macro_rules! builders {
    ($($(#[doc = $doc:literal])* $event_type:ident($payload:ident) $builder:ident $input:literal;)*) => {
        pub const BUILDERS: [(&str, EventType); EventType::ALL.len()] =
            [$((stringify!($builder), EventType::$event_type)),*];

        /// The keys a payload of `event_type` has (serde's field names for its struct).
        fn payload_keys(event_type: EventType) -> &'static [&'static str] {
            match event_type {
                $(EventType::$event_type => struct_fields::<spec_kitty_core::events::$payload>(),)*
            }
        }
    };
}
spec_kitty_core::for_each_event_type!(builders);

/// The builder of `name` (`buildWpCreated`), if there is one.
pub fn builder(name: &str) -> Option<EventType> {
    BUILDERS.iter().find(|(builder, _)| *builder == name).map(|(_, event_type)| *event_type)
}

/// Reads a payload of `event_type` from JSON; a failure names the field (`payload.new_status: ...`).
/// A key the payload does not have is refused rather than dropped: a misspelt optional key
/// (`feature_slg`) would otherwise vanish from the event without a word. (The schema admits more
/// keys in a payload from the wire, so validation does not refuse them: what others send may be
/// newer than this build.)
pub fn payload_from_json(event_type: EventType, value: Value) -> Result<Payload, String> {
    // serde reads a struct from an array too (`["WP01", "planned", "doing"]`, by field order): a
    // caller's array is a mistake, not a payload. (Other non-objects serde refuses itself.)
    if value.is_array() {
        return Err("payload: expected an object, got an array".to_string());
    }
    let unknown = value.as_object().and_then(|object| {
        let known = payload_keys(event_type);
        object.keys().find(|key| !known.contains(&key.as_str())).cloned()
    });
    let payload = Payload::from_value(event_type, value).map_err(|e| e.to_string())?;
    match unknown {
        Some(key) => Err(format!(
            "payload.{key}: unknown key; a {} payload has {}",
            event_type.as_str(),
            payload_keys(event_type).join(", ")
        )),
        None => Ok(payload),
    }
}

/// The field names serde's derive gives a struct: its `Deserialize` asks the deserializer for a
/// struct with these fields, which [`FieldNames`] answers with an error carrying them.
fn struct_fields<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(FieldNames) {
        Err(FieldNamesError(fields)) => fields,
        Ok(_) => &[],
    }
}

struct FieldNames;

#[derive(Debug)]
struct FieldNamesError(&'static [&'static str]);

impl std::fmt::Display for FieldNamesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a struct")
    }
}

impl std::error::Error for FieldNamesError {}

impl serde::de::Error for FieldNamesError {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        FieldNamesError(&[])
    }
}

impl<'de> serde::Deserializer<'de> for FieldNames {
    type Error = FieldNamesError;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, FieldNamesError> {
        Err(FieldNamesError(&[]))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, FieldNamesError> {
        Err(FieldNamesError(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

fn payload<A: Arg>(event_type: EventType, payload: &A) -> Result<Payload, Error> {
    payload_from_json(event_type, payload.to_json("payload")?).map_err(Error::new)
}

/// A refused build; an invalid event's issues go along.
fn build_error(err: EventError) -> Error {
    let issues = match &err {
        EventError::Invalid { issues, .. } => Some(issues.clone()),
        _ => None,
    };
    Error { issues, ..Error::from_display(err) }
}

pub fn event_type<A: Arg>(name: &A) -> Result<EventType, Error> {
    let name = args::string("eventType", name)?;
    EventType::parse(&name).ok_or_else(|| {
        let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        Error::field("eventType", format!("unknown event type `{name}`: expected one of {}", known.join(", ")))
    })
}

pub fn identity<A: Arg>(field: &str, object: &A) -> Result<Identity, Error> {
    if !object.is_object() {
        return Err(Error::field(field, "expected an object"));
    }
    let node_id = args::string(&format!("{field}.nodeId"), &object.prop(field, "nodeId")?)?;
    let node_id = node_id.parse::<NodeId>().map_err(|e| Error::field(&format!("{field}.nodeId"), e))?;
    let team_slug = args::string(&format!("{field}.teamSlug"), &object.prop(field, "teamSlug")?)?;
    let project = object.prop(field, "project")?;
    let project = if project.is_absent() { None } else { Some(args::from_arg(&format!("{field}.project"), &project)?) };
    Ok(Identity { node_id, team_slug, project })
}

/// When and with what entropy to build, and the optional cause: the parts of a build context other
/// than the identity and the clock.
pub struct BuildOptions {
    pub at: Moment,
    pub causation_id: Option<String>,
}

pub fn build_options<A: Arg>(field: &str, object: &A) -> Result<BuildOptions, Error> {
    let unix_ms = args::now_ms_or_host(&format!("{field}.nowMs"), &object.prop(field, "nowMs")?)?;
    let entropy = args::entropy_or_host(&format!("{field}.entropyHex"), &object.prop(field, "entropyHex")?)?;
    let causation_id = args::optional_string(&format!("{field}.causationId"), &object.prop(field, "causationId")?)?;
    Ok(BuildOptions { at: Moment { unix_ms, entropy }, causation_id })
}

/// The context's clock: a `LamportClock` (or any object with a numeric `value` and a `tick()`), which
/// the host ticks once the event is built, or a plain number, the current value.
enum ContextClock<A> {
    Object(A, LamportClock),
    Value(LamportClock),
}

fn context_clock<A: Arg>(value: A) -> Result<ContextClock<A>, Error> {
    const FIELD: &str = "context.lamportClock";
    if value.as_f64().is_some() {
        return Ok(ContextClock::Value(LamportClock::new(args::unsigned(FIELD, &value)?)));
    }
    if value.is_object() && value.prop(FIELD, "tick")?.is_function() {
        let current = args::unsigned(&format!("{FIELD}.value"), &value.prop(FIELD, "value")?)?;
        return Ok(ContextClock::Object(value, LamportClock::new(current)));
    }
    Err(Error::field(FIELD, "expected a LamportClock or a non-negative integer"))
}

/// Builds and validates one event from a whole context (identity, clock, time, entropy). A clock
/// object in the context (only a JS host has them) is ticked once the event is built and valid.
pub fn build<A: Arg>(event_type: EventType, context: &A, payload_arg: &A) -> Result<Event, Error> {
    let identity = identity("context", context)?;
    let clock = context_clock(context.prop("context", "lamportClock")?)?;
    let options = build_options("context", context)?;
    let payload = payload(event_type, payload_arg)?;
    let mut factory = EventFactory::new(identity);
    let (mut next, owner) = match clock {
        ContextClock::Object(owner, current) => (current, Some(owner)),
        ContextClock::Value(current) => (current, None),
    };
    let event = factory.build(&mut next, options.at, options.causation_id.as_deref(), payload).map_err(build_error)?;
    if let Some(owner) = owner {
        owner.call_method("context.lamportClock", "tick")?;
    }
    Ok(event)
}

/// Builds events for one identity, keeping the ULID generator between calls so that events built in
/// the same millisecond get increasing ids.
pub struct Factory {
    factory: EventFactory,
}

impl Factory {
    pub fn new<A: Arg>(identity_arg: &A) -> Result<Factory, Error> {
        Ok(Factory { factory: EventFactory::new(identity("identity", identity_arg)?) })
    }

    /// Builds and validates an event; ticks `clock` only when the event is valid.
    pub fn build<A: Arg>(
        &mut self,
        event_type_name: &A,
        clock: &mut LamportClock,
        payload_arg: &A,
        options: &A,
    ) -> Result<Event, Error> {
        let event_type = event_type(event_type_name)?;
        let options = build_options("options", options)?;
        let payload = payload(event_type, payload_arg)?;
        self.factory.build(clock, options.at, options.causation_id.as_deref(), payload).map_err(build_error)
    }

    /// A fresh ULID to link the events of one action (their `causation_id`).
    pub fn causation_id<A: Arg>(&mut self, now_ms: &A, entropy_hex: &A) -> Result<String, Error> {
        let unix_ms = args::now_ms_or_host("nowMs", now_ms)?;
        let entropy = args::entropy_or_host("entropyHex", entropy_hex)?;
        self.factory.causation_id(Moment { unix_ms, entropy }).map_err(build_error)
    }

    pub fn identity(&self) -> &Identity {
        self.factory.identity()
    }
}

/// Checks an event against the schema: every failed rule, `[]` when valid. Never fails: a value that
/// is not JSON is one issue.
pub fn validate<A: Arg>(event: &A) -> Vec<ValidationIssue> {
    match event.to_json("") {
        Ok(value) => validate_event(&value),
        // `to_json` words it `field: reason`; the issue's field is the whole event (""), so the reason alone.
        Err(err) => {
            vec![ValidationIssue { field: String::new(), message: err.message.trim_start_matches(": ").to_string() }]
        }
    }
}

/// A ULID for `nowMs` and `entropyHex` (the host's when absent).
pub fn ulid<A: Arg>(now_ms: &A, entropy_hex: &A) -> Result<String, Error> {
    let unix_ms = args::now_ms_or_host("nowMs", now_ms)?;
    let entropy = args::entropy_or_host("entropyHex", entropy_hex)?;
    UlidGenerator::new().next(unix_ms, entropy).map(|id| id.to_string()).map_err(Error::from_display)
}

/// The node id of a machine: the first 12 hex characters of sha256("{hostname}:{username}").
pub fn node_id<A: Arg>(hostname: &A, username: &A) -> Result<String, Error> {
    let hostname = args::string("hostname", hostname)?;
    let username = args::string("username", username)?;
    Ok(NodeId::from_host_and_user(&hostname, &username).to_string())
}
