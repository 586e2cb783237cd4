//! Admission of an event a client sent to the hub: validation in either dialect, then the team rule.
//!
//! An event valid under the 028 schema (`schemas/events.schema.json`, what our CLI emits) is
//! [`Dialect::Contract028`]; otherwise one valid under the 2.x dialect of upstream's later clients
//! (`schemas/events-2x.schema.json`, see [`upstream2x`]) is [`Dialect::Upstream2x`]. An event that fails both
//! is rejected with the 028 schema's first issue, unless it clearly is 2.x ([`upstream2x::looks_2x`]): then
//! with the 2.x schema's first issue.
//!
//! Then the team: `team_slug` `local` (an event queued before login) becomes the caller's team; the caller's
//! own team passes; any other team is rejected. Nothing else in the event is changed.
//!
//! Every rejection is one line that names the field first, as a JSON pointer (`/payload/title: ...`,
//! `/event_id: ...`), or `team_slug: ...`.
//!
//! `admit_event` and the 2.x validator need `jsonschema`, so they are behind the core's `upstream2x` feature:
//! the hub enables it; the WASM builds leave it out of their dependency tree.

#[cfg(feature = "upstream2x")]
mod admit;
pub mod upstream2x;

#[cfg(feature = "upstream2x")]
pub use admit::admit_event;

use crate::validation::ValidationIssue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The team an event queued before login names.
pub const LOCAL_TEAM: &str = "local";
/// A rejection's text is cut to this many characters (a schema message quotes the offending value).
const MAX_ERROR_CHARS: usize = 300;

/// Which schema an admitted event is valid under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// `schemas/events.schema.json`: the contract's 028 events, as our CLI emits them.
    Contract028,
    /// `schemas/events-2x.schema.json`: upstream's 2.x clients (contract §7).
    Upstream2x,
}

/// An event the hub may store, with the fields a store indexes read out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Admitted {
    /// The event as sent, except `team_slug` `local` replaced by the caller's team.
    pub event: Value,
    pub event_id: String,
    pub event_type: String,
    pub aggregate_id: String,
    pub lamport_clock: u64,
    pub node_id: String,
    pub dialect: Dialect,
}

/// Why an event is refused: one line naming the field first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct Rejection {
    /// The event's `event_id` when it has a string there (even an invalid one), so the answer can name it.
    pub event_id: Option<String>,
    pub error: String,
}

/// An event refused by its field or its team.
impl crate::error_kind::ErrorKind for Rejection {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

/// One issue as `pointer: message` on one line. A missing property is named by its own pointer
/// (`/payload/title: required property missing`) rather than its parent's.
pub fn describe(issue: &ValidationIssue) -> String {
    let missing = issue
        .message
        .strip_suffix(" is a required property")
        .and_then(|quoted| serde_json::from_str::<String>(quoted).ok());
    let (field, message) = match missing {
        Some(name) => {
            let escaped = name.replace('~', "~0").replace('/', "~1");
            (format!("{}/{escaped}", issue.field), "required property missing".to_string())
        }
        None => (issue.field.clone(), issue.message.clone()),
    };
    let field = if field.is_empty() { "(event)".to_string() } else { field };
    one_line(&format!("{field}: {message}"))
}

/// Newlines folded into spaces and the text cut at [`MAX_ERROR_CHARS`] characters.
pub(crate) fn one_line(text: &str) -> String {
    let folded: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match folded.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}...", &folded[..cut]),
        None => folded,
    }
}

// The tests are of admission, which needs the 2.x validator: `cargo test -p spec-kitty-core --features upstream2x`.
#[cfg(all(test, feature = "upstream2x"))]
mod tests;
