//! The Lamport clock and its persisted form (`clock.json`).

use crate::ids::NodeId;
use crate::time::rfc3339_seconds;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("{source_label}: the clock file is empty")]
    Empty { source_label: String },
    #[error("{source_label}: corrupt clock file: {reason}")]
    Corrupt { source_label: String, reason: String },
    #[error("Lamport clock exhausted at {0}")]
    Overflow(u64),
}

/// The clock file or the clock itself failed: the machine's state, not the input.
impl crate::error_kind::ErrorKind for ClockError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Runtime
    }
}

/// A Lamport clock: `tick` for a local event, `receive` when a remote clock value is seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LamportClock {
    value: u64,
}

impl LamportClock {
    /// The highest value handed out: `i64::MAX`, what SQLite (the queue's record of the clock) and
    /// every JSON reader with 64-bit signed integers can store. Beyond it the clock is exhausted,
    /// rather than repeat or wrap a value.
    pub const MAX: u64 = i64::MAX as u64;

    pub fn new(value: u64) -> Self {
        Self { value }
    }

    pub fn value(&self) -> u64 {
        self.value
    }

    /// Advances for a local event and returns the value that event carries.
    pub fn tick(&mut self) -> Result<u64, ClockError> {
        if self.value >= Self::MAX {
            return Err(ClockError::Overflow(self.value));
        }
        self.value += 1;
        Ok(self.value)
    }

    /// Merges a remote value: max(local, remote) + 1.
    pub fn receive(&mut self, remote: u64) -> Result<u64, ClockError> {
        let high = self.value.max(remote);
        if high >= Self::MAX {
            return Err(ClockError::Overflow(high));
        }
        self.value = high + 1;
        Ok(self.value)
    }
}

/// What the host found where the clock is kept (`clock.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoredClock {
    /// The file holds this value.
    Value { value: u64 },
    /// There is no file: a new state folder, or one someone deleted.
    Missing,
    /// The file is there but cannot be used; `problem` is one line naming the file (a [`ClockError`],
    /// or why it cannot be read).
    Unreadable { problem: String },
}

impl StoredClock {
    /// The value the file gives: 0 when it gives none.
    pub fn value(&self) -> u64 {
        match self {
            StoredClock::Value { value } => *value,
            StoredClock::Missing | StoredClock::Unreadable { .. } => 0,
        }
    }

    /// The warning an unusable file deserves as soon as it is read, before the queue is asked.
    pub fn warning(&self) -> Option<String> {
        match self {
            StoredClock::Unreadable { problem } => {
                Some(format!("{problem}; starting again from the queue's highest value"))
            }
            StoredClock::Value { .. } | StoredClock::Missing => None,
        }
    }
}

/// The clock an emission continues from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveredClock {
    pub clock: LamportClock,
    /// The file was missing but the queue shows values were handed out: the user hears of it, since a
    /// missing clock file usually means someone deleted part of the state folder.
    pub file_missing_after_use: bool,
}

impl RecoveredClock {
    /// The warning for a missing file, naming it by `file_label`; `None` when there is nothing to say.
    pub fn warning(&self, file_label: &str) -> Option<String> {
        self.file_missing_after_use.then(|| {
            format!("{file_label} is missing; continuing from the queue's highest Lamport value {}", self.clock.value())
        })
    }
}

/// The clock to continue from: the higher of what the clock file says and the highest value the queue
/// ever stored (`queue_max`).
///
/// Two records, because either can be lost or behind. The queue records its highest value in the same
/// transaction as the events, so it is never behind an event stored; but clock.json is written after the
/// commit (a failed write leaves it behind), can be deleted or corrupted, or restored from an old backup.
/// The queue's record in turn is gone when the queue file is moved aside, and then only clock.json
/// remembers the values already synced. Taking the higher of the two never hands out a value twice, as
/// long as either record survives; an unusable file counts as 0 and its warning comes from
/// [`StoredClock::warning`].
pub fn recover_clock(stored: &StoredClock, queue_max: u64) -> RecoveredClock {
    RecoveredClock {
        clock: LamportClock::new(stored.value().max(queue_max)),
        file_missing_after_use: *stored == StoredClock::Missing && queue_max > 0,
    }
}

/// The clock as `clock.json` holds it: `{"value": 42, "node_id": "d036a097a835", "updated_at": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ClockJson"))]
pub struct ClockFile {
    pub value: u64,
    pub node_id: NodeId,
    pub updated_at: String,
}

impl ClockFile {
    pub fn new(clock: LamportClock, node_id: NodeId, now_ms: u64) -> Self {
        Self { value: clock.value(), node_id, updated_at: rfc3339_seconds(now_ms) }
    }

    /// Parses the file's text; `source_label` (usually its path) goes into any error.
    pub fn parse(source_label: &str, text: &str) -> Result<ClockFile, ClockError> {
        if text.trim().is_empty() {
            return Err(ClockError::Empty { source_label: source_label.to_string() });
        }
        serde_json::from_str(text)
            .map_err(|e| ClockError::Corrupt { source_label: source_label.to_string(), reason: e.to_string() })
    }

    pub fn clock(&self) -> LamportClock {
        LamportClock::new(self.value)
    }

    pub fn to_json(&self) -> String {
        // Serialising a struct of plain strings and an integer cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn receive_takes_the_max_plus_one() {
        let mut clock = LamportClock::new(5);
        assert_eq!(clock.receive(9).unwrap(), 10);
        assert_eq!(clock.receive(3).unwrap(), 11);
        assert_eq!(clock.tick().unwrap(), 12);
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let mut clock = LamportClock::new(u64::MAX);
        assert_eq!(clock.tick(), Err(ClockError::Overflow(u64::MAX)));
        assert_eq!(clock.value(), u64::MAX);
    }

    #[test]
    fn the_clock_stops_at_what_sqlite_can_store() {
        let mut clock = LamportClock::new(LamportClock::MAX - 1);
        assert_eq!(clock.tick().unwrap(), i64::MAX as u64);
        assert_eq!(clock.tick(), Err(ClockError::Overflow(LamportClock::MAX)));
        assert_eq!(clock.receive(3), Err(ClockError::Overflow(LamportClock::MAX)));
        let mut behind = LamportClock::new(5);
        assert_eq!(behind.receive(LamportClock::MAX), Err(ClockError::Overflow(LamportClock::MAX)));
        assert_eq!(behind.value(), 5, "a refused receive leaves the clock as it was");
    }

    #[test]
    fn clock_file_round_trips() {
        let node: NodeId = "d036a097a835".parse().unwrap();
        let file = ClockFile::new(LamportClock::new(42), node, 1_770_202_123_000);
        let text = file.to_json();
        assert!(text.find("\"value\"") < text.find("\"node_id\""));
        assert_eq!(ClockFile::parse("clock.json", &text).unwrap(), file);
    }

    #[test]
    fn empty_and_corrupt_files_name_the_source() {
        let err = ClockFile::parse("/h/clock.json", "  \n").unwrap_err();
        assert_eq!(err.to_string(), "/h/clock.json: the clock file is empty");
        for bad in [
            "{",
            r#"{"value": -1, "node_id": "d036a097a835", "updated_at": ""}"#,
            r#"{"value": 1}"#,
            r#"{"value": 1, "node_id": "XYZ", "updated_at": ""}"#,
        ] {
            let err = ClockFile::parse("/h/clock.json", bad).unwrap_err();
            assert!(matches!(err, ClockError::Corrupt { .. }), "{bad}");
            assert!(err.to_string().starts_with("/h/clock.json: corrupt clock file"), "{err}");
        }
    }

    #[test]
    fn recovery_takes_the_higher_of_the_file_and_the_queue() {
        let file = |value| StoredClock::Value { value };
        assert_eq!(recover_clock(&file(7), 5).clock.value(), 7, "the queue was moved aside");
        assert_eq!(recover_clock(&file(5), 7).clock.value(), 7, "clock.json was left behind");
        assert_eq!(recover_clock(&file(7), 7).clock.value(), 7);
        let unreadable = StoredClock::Unreadable { problem: "/h/clock.json: the clock file is empty".into() };
        assert_eq!(recover_clock(&unreadable, 9).clock.value(), 9);
        assert_eq!(recover_clock(&StoredClock::Missing, 0).clock.value(), 0);
    }

    #[test]
    fn a_missing_file_is_reported_only_when_the_queue_shows_values_were_handed_out() {
        let after_use = recover_clock(&StoredClock::Missing, 12);
        assert_eq!(
            after_use.warning("/h/clock.json").as_deref(),
            Some("/h/clock.json is missing; continuing from the queue's highest Lamport value 12")
        );
        assert_eq!(recover_clock(&StoredClock::Missing, 0).warning("/h/clock.json"), None);
        assert_eq!(recover_clock(&StoredClock::Value { value: 0 }, 12).warning("/h/clock.json"), None);
        let unreadable = StoredClock::Unreadable { problem: "cannot read /h/clock.json: denied".into() };
        assert_eq!(recover_clock(&unreadable, 12).warning("/h/clock.json"), None, "said once, by the read");
    }

    #[test]
    fn only_an_unreadable_file_is_reported_on_reading() {
        let unreadable = StoredClock::Unreadable { problem: "cannot read /h/clock.json: denied".into() };
        assert_eq!(
            unreadable.warning().as_deref(),
            Some("cannot read /h/clock.json: denied; starting again from the queue's highest value")
        );
        assert_eq!(StoredClock::Missing.warning(), None);
        assert_eq!(StoredClock::Value { value: 3 }.warning(), None);
    }

    proptest! {
        #[test]
        fn recovery_never_goes_below_either_record(file in 0u64..1_000, queue in 0u64..1_000) {
            let clock = recover_clock(&StoredClock::Value { value: file }, queue).clock.value();
            prop_assert!(clock >= file && clock >= queue);
            prop_assert!(clock == file || clock == queue);
        }

        #[test]
        fn clock_never_repeats_or_goes_back(start in 0u64..1_000_000, ops in prop::collection::vec(prop::option::of(0u64..2_000_000), 1..200)) {
            let mut clock = LamportClock::new(start);
            let mut seen = std::collections::BTreeSet::new();
            let mut last = start;
            for op in ops {
                let value = match op { None => clock.tick().unwrap(), Some(remote) => clock.receive(remote).unwrap() };
                prop_assert!(value > last);
                prop_assert!(seen.insert(value));
                if let Some(remote) = op { prop_assert!(value > remote); }
                last = value;
            }
        }
    }
}
