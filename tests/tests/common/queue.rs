//! The offline queue, read from queue.db directly: every event a test reads is checked against the
//! reference schema, and its row's columns against its envelope.

use super::assertions::assert_valid_event;
use super::repo::TestRepo;
use super::run::Run;
use rusqlite::Connection;
use serde_json::Value;
use std::path::Path;

pub struct QueueRow {
    pub id: i64,
    pub event_id: String,
    pub event_type: String,
    pub data: String,
    pub timestamp: i64,
}

/// The rows of the `queue` table in insertion order.
pub fn queue_rows(db: &Path) -> Vec<QueueRow> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id, event_id, event_type, data, timestamp FROM queue ORDER BY id").unwrap();
    stmt.query_map([], |r| {
        Ok(QueueRow {
            id: r.get(0)?,
            event_id: r.get(1)?,
            event_type: r.get(2)?,
            data: r.get(3)?,
            timestamp: r.get(4)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

impl TestRepo {
    /// The queued events, in queue order, read from queue.db directly; each one is checked against
    /// the reference schema, and its row's `event_id`/`event_type` columns against the envelope.
    pub fn events(&self) -> Vec<Value> {
        if !self.queue_db().exists() {
            return Vec::new();
        }
        let rows = queue_rows(&self.queue_db());
        rows.into_iter()
            .map(|row| {
                let event: Value = serde_json::from_str(&row.data).expect("a queued envelope is JSON");
                assert_valid_event(&event);
                assert_eq!(event["event_id"], row.event_id.as_str(), "event_id column");
                assert_eq!(event["event_type"], row.event_type.as_str(), "event_type column");
                event
            })
            .collect()
    }

    /// Number of rows in the queue table (0 when there is no queue yet).
    pub fn queue_len(&self) -> usize {
        if !self.queue_db().exists() {
            return 0;
        }
        let conn = Connection::open(self.queue_db()).unwrap();
        conn.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get::<_, i64>(0)).unwrap() as usize
    }

    /// Runs the command and returns the events it added to the queue (validated).
    #[track_caller]
    pub fn new_events(&self, args: &[&str]) -> (Run, Vec<Value>) {
        let before = self.events().len();
        let run = self.run(args);
        let events = self.events();
        assert!(events.len() >= before, "the queue lost events during `spec-kitty {}`", args.join(" "));
        (run, events[before..].to_vec())
    }
}

/// The events queued since the queue held `before` of them.
pub fn events_since(repo: &TestRepo, before: usize) -> Vec<Value> {
    let events = repo.events();
    assert!(events.len() >= before, "the queue lost events");
    events[before..].to_vec()
}

/// A valid ULID made from a number (for rows a test writes into the queue directly).
pub fn ulid_from(n: u128) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    // 48 bits of time (2026) then 80 bits from `n`: sorts after the real ids of the same moment.
    let value: u128 = (0x019C_0000_0000u128 << 80) | (n & ((1u128 << 80) - 1));
    (0..26).rev().map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char).collect()
}
