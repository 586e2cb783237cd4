//! The envelope every event travels in, serialised with keys in the contract's order.

use super::payload::*;
use crate::ids::WpId;
use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum EventType {
    WPStatusChanged,
    WPCreated,
    WPAssigned,
    FeatureCreated,
    FeatureCompleted,
    HistoryAdded,
    ErrorLogged,
    DependencyResolved,
}

/// `EventType::ALL`, `as_str`, and the one-arm-per-type methods of `Payload`, generated from the list
/// in `event_types.rs` (a type missing from the list or from an enum does not compile).
macro_rules! event_type_methods {
    ($($(#[doc = $doc:literal])* $event_type:ident($payload:ident) $builder:ident $input:literal;)*) => {
        impl EventType {
            pub const ALL: [EventType; [$(EventType::$event_type),*].len()] = [$(EventType::$event_type),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$event_type => stringify!($event_type),)*
                }
            }
        }

        impl Payload {
            pub fn event_type(&self) -> EventType {
                match self {
                    $(Payload::$payload(_) => EventType::$event_type,)*
                }
            }

            /// Reads a payload of the given type from JSON (e.g. a plain JS object); a failure names the
            /// field inside the payload (`payload.wp_id: ...`).
            pub fn from_value(event_type: EventType, value: Value) -> Result<Payload, PayloadError> {
                fn read<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, PayloadError> {
                    serde_path_to_error::deserialize(value).map_err(|e| PayloadError::new(e.path(), e.inner()))
                }
                Ok(match event_type {
                    $(EventType::$event_type => Payload::$payload(read(value)?),)*
                })
            }
        }

        impl Serialize for Payload {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Payload::$payload(p) => p.serialize(s),)*
                }
            }
        }
    };
}

crate::for_each_event_type!(event_type_methods);

impl EventType {
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AggregateType {
    WorkPackage,
    Feature,
}

/// One of the eight payloads; the variant decides the envelope's `event_type`.
/// In TypeScript, the envelope's `event_type` and `payload` keys, a union on `event_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(tag = "event_type", content = "payload", rename = "EventPayload"))]
pub enum Payload {
    #[cfg_attr(feature = "ts", ts(rename = "WPStatusChanged"))]
    WpStatusChanged(WpStatusChanged),
    #[cfg_attr(feature = "ts", ts(rename = "WPCreated"))]
    WpCreated(WpCreated),
    #[cfg_attr(feature = "ts", ts(rename = "WPAssigned"))]
    WpAssigned(WpAssigned),
    FeatureCreated(FeatureCreated),
    FeatureCompleted(FeatureCompleted),
    HistoryAdded(HistoryAdded),
    ErrorLogged(ErrorLogged),
    DependencyResolved(DependencyResolved),
}

impl Payload {
    /// The aggregate the event is about: the WP, the feature, or `"error"` for an ErrorLogged without WP.
    pub fn aggregate(&self) -> (String, AggregateType) {
        let wp = |id: &WpId| (id.to_string(), AggregateType::WorkPackage);
        match self {
            Payload::WpStatusChanged(p) => wp(&p.wp_id),
            Payload::WpCreated(p) => wp(&p.wp_id),
            Payload::WpAssigned(p) => wp(&p.wp_id),
            Payload::HistoryAdded(p) => wp(&p.wp_id),
            Payload::DependencyResolved(p) => wp(&p.wp_id),
            Payload::FeatureCreated(p) => (p.feature_slug.clone(), AggregateType::Feature),
            Payload::FeatureCompleted(p) => (p.feature_slug.clone(), AggregateType::Feature),
            Payload::ErrorLogged(p) => match &p.wp_id {
                Some(id) => wp(id),
                None => ("error".to_string(), AggregateType::Feature),
            },
        }
    }
}

/// A payload that does not read as its type: where (`payload.wp_id`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PayloadError {
    pub field: String,
    pub message: String,
}

/// A payload field.
impl crate::error_kind::ErrorKind for PayloadError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

impl PayloadError {
    fn new(path: &serde_path_to_error::Path, inner: &serde_json::Error) -> PayloadError {
        let path = path.to_string();
        let field = match path.as_str() {
            "" | "." => "payload".to_string(),
            p if p.starts_with('[') => format!("payload{p}"),
            p => format!("payload.{p}"),
        };
        PayloadError { field, message: inner.to_string() }
    }
}

/// An event envelope. `event_type`, `aggregate_id` and `aggregate_type` follow from the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event_id: String,
    pub payload: Payload,
    pub node_id: String,
    pub lamport_clock: u64,
    pub causation_id: Option<String>,
    pub timestamp: String,
    pub team_slug: String,
    pub project_uuid: Option<String>,
    pub project_slug: Option<String>,
}

impl Event {
    pub fn event_type(&self) -> EventType {
        self.payload.event_type()
    }

    pub fn aggregate_id(&self) -> String {
        self.payload.aggregate().0
    }

    pub fn to_json(&self) -> String {
        // The envelope holds only strings, integers and typed enums: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (aggregate_id, aggregate_type) = self.payload.aggregate();
        let optional = self.project_uuid.is_some() as usize + self.project_slug.is_some() as usize;
        let mut st = s.serialize_struct("Event", 10 + optional)?;
        st.serialize_field("event_id", &self.event_id)?;
        st.serialize_field("event_type", &self.event_type())?;
        st.serialize_field("aggregate_id", &aggregate_id)?;
        st.serialize_field("aggregate_type", &aggregate_type)?;
        st.serialize_field("payload", &self.payload)?;
        st.serialize_field("node_id", &self.node_id)?;
        st.serialize_field("lamport_clock", &self.lamport_clock)?;
        st.serialize_field("causation_id", &self.causation_id)?;
        st.serialize_field("timestamp", &self.timestamp)?;
        st.serialize_field("team_slug", &self.team_slug)?;
        if let Some(uuid) = &self.project_uuid {
            st.serialize_field("project_uuid", uuid)?;
        }
        if let Some(slug) = &self.project_slug {
            st.serialize_field("project_slug", slug)?;
        }
        st.end()
    }
}

/// An event as JSON carries it (`Serialize for Event` writes these keys, in the contract's order): a union
/// on `event_type`, so `if (e.event_type === "WPStatusChanged")` gives `e.payload` its type. Only for the
/// TypeScript declarations; a test checks each key the serialiser writes is declared here.
#[cfg(feature = "ts")]
#[derive(ts_rs::TS)]
#[ts(rename = "Envelope")]
pub struct EnvelopeDeclaration {
    /// ULID: 26 Crockford base32 characters.
    pub event_id: String,
    #[ts(flatten)]
    pub payload: Payload,
    /// The WP id, the feature slug, or `"error"` for an ErrorLogged without WP.
    pub aggregate_id: String,
    pub aggregate_type: AggregateType,
    /// 12 lowercase hex characters.
    pub node_id: String,
    pub lamport_clock: u64,
    pub causation_id: Option<String>,
    /// RFC 3339 UTC with milliseconds; informational only.
    pub timestamp: String,
    pub team_slug: String,
    #[ts(optional)]
    pub project_uuid: Option<String>,
    #[ts(optional)]
    pub project_slug: Option<String>,
}

#[derive(Deserialize)]
struct WireEvent {
    event_id: String,
    event_type: String,
    aggregate_id: String,
    payload: Value,
    node_id: String,
    lamport_clock: u64,
    #[serde(default)]
    causation_id: Option<String>,
    timestamp: String,
    team_slug: String,
    #[serde(default)]
    project_uuid: Option<String>,
    #[serde(default)]
    project_slug: Option<String>,
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = WireEvent::deserialize(d)?;
        let event_type = EventType::parse(&wire.event_type)
            .ok_or_else(|| D::Error::custom(format!("event_type: unknown event type `{}`", wire.event_type)))?;
        let payload = Payload::from_value(event_type, wire.payload).map_err(D::Error::custom)?;
        if payload.aggregate().0 != wire.aggregate_id {
            return Err(D::Error::custom(format!(
                "aggregate_id: `{}` does not match the payload's `{}`",
                wire.aggregate_id,
                payload.aggregate().0
            )));
        }
        Ok(Event {
            event_id: wire.event_id,
            payload,
            node_id: wire.node_id,
            lamport_clock: wire.lamport_clock,
            causation_id: wire.causation_id,
            timestamp: wire.timestamp,
            team_slug: wire.team_slug,
            project_uuid: wire.project_uuid,
            project_slug: wire.project_slug,
        })
    }
}
