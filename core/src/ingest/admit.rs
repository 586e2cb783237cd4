//! [`admit_event`]: the hub's admission of one event, in the 028 or the 2.x dialect, under the team rule.

use super::{Admitted, Dialect, LOCAL_TEAM, Rejection, describe, one_line, upstream2x};
use crate::validation::{is_valid_event, validate_event};
use serde_json::Value;
use std::fmt;

/// Validates `event` in either dialect and applies the team rule for a caller of team `caller_team`.
pub fn admit_event(mut event: Value, caller_team: &str) -> Result<Admitted, Rejection> {
    let event_id = event.get("event_id").and_then(Value::as_str).map(str::to_string);
    let reject = |error: String| Rejection { event_id: event_id.clone(), error };

    let dialect = if is_valid_event(&event) {
        Dialect::Contract028
    } else if upstream2x::is_valid_event_2x(&event) {
        Dialect::Upstream2x
    } else {
        let issues =
            if upstream2x::looks_2x(&event) { upstream2x::validate_event_2x(&event) } else { validate_event(&event) };
        let first = issues.first().map_or_else(|| "(event): invalid event".to_string(), describe);
        return Err(reject(first));
    };

    // Both schemas require these as strings and lamport_clock as a non-negative integer.
    let Some(lamport_clock) = event["lamport_clock"].as_u64() else {
        let value = one_line(&event["lamport_clock"].to_string());
        return Err(reject(format!("/lamport_clock: {value} is not a whole number from 0 to {}", u64::MAX)));
    };
    let team = event["team_slug"].as_str().unwrap_or_default();
    if team == LOCAL_TEAM {
        event["team_slug"] = Value::String(caller_team.to_string());
    } else if team != caller_team {
        return Err(reject(format!(
            "team_slug: event of team {}, you are in team {}",
            Quoted(team),
            Quoted(caller_team)
        )));
    }
    let text = |key: &str| event[key].as_str().unwrap_or_default().to_string();
    Ok(Admitted {
        event_id: text("event_id"),
        event_type: text("event_type"),
        aggregate_id: text("aggregate_id"),
        node_id: text("node_id"),
        lamport_clock,
        dialect,
        event,
    })
}

/// A team slug in a message: JSON-quoted, so a slug with quotes or newlines cannot break the line.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = serde_json::to_string(self.0).map_err(|_| fmt::Error)?;
        f.write_str(&one_line(&quoted))
    }
}
