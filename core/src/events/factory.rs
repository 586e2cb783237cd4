//! Builders: domain values plus an explicit context in, a validated event or a typed error out.

use super::envelope::{Event, Payload};
use super::payload::*;
use crate::clock::{ClockError, LamportClock};
use crate::ids::{IdError, NodeId, UlidGenerator, parse_ulid};
use crate::time::rfc3339_millis;
use crate::validation::{ValidationIssue, validate_event};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("invalid {event_type} event: {}", issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid { event_type: &'static str, issues: Vec<ValidationIssue> },
    #[error("causation_id: {0}")]
    Causation(IdError),
    #[error("event_id: {0}")]
    Id(IdError),
    #[error("lamport_clock: {0}")]
    Clock(ClockError),
}

/// An event that does not validate names a field; a clock that cannot tick is the machine's state.
impl crate::error_kind::ErrorKind for EventError {
    fn kind(&self) -> crate::events::ErrorType {
        match self {
            EventError::Clock(error) => crate::error_kind::ErrorKind::kind(error),
            EventError::Causation(error) | EventError::Id(error) => crate::error_kind::ErrorKind::kind(error),
            EventError::Invalid { .. } => crate::events::ErrorType::Validation,
        }
    }
}

/// The project an event belongs to, from `.kittify/config.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProjectIdentity {
    pub uuid: String,
    pub slug: String,
}

/// What is wrong with a project identity, naming the config field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectIdentityError {
    #[error("project.uuid `{0}` is not a lowercase UUID v4 (like 3f2b8c1e-5d4a-4c9b-8e7f-1a2b3c4d5e6f)")]
    Uuid(String),
    #[error("project.slug is empty")]
    EmptySlug,
}

/// A value of `.kittify/config.yaml`.
impl crate::error_kind::ErrorKind for ProjectIdentityError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

impl ProjectIdentity {
    /// Checks the identity as the event schema will: a lowercase UUID v4 and a non-empty slug, so a bad
    /// `.kittify/config.yaml` is named once instead of making every event fail validation.
    pub fn checked(uuid: String, slug: String) -> Result<ProjectIdentity, ProjectIdentityError> {
        if !is_uuid_v4(&uuid) {
            return Err(ProjectIdentityError::Uuid(uuid));
        }
        if slug.is_empty() {
            return Err(ProjectIdentityError::EmptySlug);
        }
        Ok(ProjectIdentity { uuid, slug })
    }
}

/// `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, the schema's pattern.
fn is_uuid_v4(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            14 => b == b'4',
            19 => matches!(b, b'8' | b'9' | b'a' | b'b'),
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_schemas_uuid_v4_passes() {
        let good = "3f2b8c1e-5d4a-4c9b-8e7f-1a2b3c4d5e6f";
        assert!(ProjectIdentity::checked(good.into(), "demo".into()).is_ok());
        for bad in ["not-a-uuid", "3F2B8C1E-5D4A-4C9B-8E7F-1A2B3C4D5E6F", "3f2b8c1e-5d4a-1c9b-8e7f-1a2b3c4d5e6f", ""] {
            let err = ProjectIdentity::checked(bad.into(), "demo".into()).unwrap_err();
            assert!(err.to_string().starts_with("project.uuid"), "{err}");
        }
        assert_eq!(ProjectIdentity::checked(good.into(), String::new()), Err(ProjectIdentityError::EmptySlug));
    }
}

/// Who emits: the machine, the team (`local` before login) and the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Identity {
    pub node_id: NodeId,
    pub team_slug: String,
    #[serde(default)]
    pub project: Option<ProjectIdentity>,
}

/// A point in time and fresh entropy, both read by the host: Unix milliseconds and 80 random bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub unix_ms: u64,
    pub entropy: u128,
}

/// Builds events for one identity. Keeps the ULID generator, so ids made in one millisecond stay
/// in creation order.
#[derive(Debug, Clone)]
pub struct EventFactory {
    identity: Identity,
    ids: UlidGenerator,
}

impl EventFactory {
    pub fn new(identity: Identity) -> Self {
        Self { identity, ids: UlidGenerator::new() }
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// A fresh ULID to link the events of one action (e.g. one finalize-tasks run).
    pub fn causation_id(&mut self, at: Moment) -> Result<String, EventError> {
        Ok(self.ids.next(at.unix_ms, at.entropy).map_err(EventError::Id)?.to_string())
    }

    /// Builds and validates an event. The clock advances only when the event is valid, so a refused
    /// event leaves no gap and no duplicate behind.
    pub fn build(
        &mut self,
        clock: &mut LamportClock,
        at: Moment,
        causation_id: Option<&str>,
        payload: Payload,
    ) -> Result<Event, EventError> {
        if let Some(cause) = causation_id {
            parse_ulid(cause).map_err(EventError::Causation)?;
        }
        let mut next_clock = *clock;
        let lamport_clock = next_clock.tick().map_err(EventError::Clock)?;
        let mut ids = self.ids.clone();
        let event_id = ids.next(at.unix_ms, at.entropy).map_err(EventError::Id)?.to_string();
        let project = self.identity.project.as_ref();
        let event = Event {
            event_id,
            payload,
            node_id: self.identity.node_id.to_string(),
            lamport_clock,
            causation_id: causation_id.map(str::to_string),
            timestamp: rfc3339_millis(at.unix_ms),
            team_slug: self.identity.team_slug.clone(),
            project_uuid: project.map(|p| p.uuid.clone()),
            project_slug: project.map(|p| p.slug.clone()),
        };
        let mut issues = validate_event(&event.to_value());
        issues.extend(self_dependency(&event.payload));
        if !issues.is_empty() {
            return Err(EventError::Invalid { event_type: event.event_type().as_str(), issues });
        }
        self.ids = ids;
        *clock = next_clock;
        Ok(event)
    }
}

/// What the schema cannot say, checked after it: a WP that depends on itself could never start, so
/// its WPCreated is refused, naming the entry of `dependencies` that repeats `wp_id`.
fn self_dependency(payload: &Payload) -> Option<ValidationIssue> {
    let Payload::WpCreated(created) = payload else { return None };
    let index = created.dependencies.iter().position(|dependency| *dependency == created.wp_id)?;
    Some(ValidationIssue {
        field: format!("/payload/dependencies/{index}"),
        message: "a WP cannot depend on itself (this is its own wp_id)".to_string(),
    })
}

/// One builder per event type, each a typed front door to [`EventFactory::build`].
macro_rules! builders {
    ($($(#[$doc:meta])* $name:ident => $variant:ident($payload:ty);)*) => {
        impl EventFactory {
            $(
                $(#[$doc])*
                pub fn $name(
                    &mut self,
                    clock: &mut LamportClock,
                    at: Moment,
                    cause: Option<&str>,
                    payload: $payload,
                ) -> Result<Event, EventError> {
                    self.build(clock, at, cause, Payload::$variant(payload))
                }
            )*
        }
    };
}

builders! {
    /// A WP changed lane.
    wp_status_changed => WpStatusChanged(WpStatusChanged);
    /// A WP was planned (finalize-tasks).
    wp_created => WpCreated(WpCreated);
    /// An agent was put on a WP.
    wp_assigned => WpAssigned(WpAssigned);
    /// A feature's plan was finalized.
    feature_created => FeatureCreated(FeatureCreated);
    /// The last WP of a feature reached done.
    feature_completed => FeatureCompleted(FeatureCompleted);
    /// A note, review or comment on a WP.
    history_added => HistoryAdded(HistoryAdded);
    /// A command failed.
    error_logged => ErrorLogged(ErrorLogged);
    /// A finished WP unblocked a dependent.
    dependency_resolved => DependencyResolved(DependencyResolved);
}
