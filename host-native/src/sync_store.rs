//! The offline queue as the core's sync engine sees it ([`QueueStore`]), plus what `sync` commands
//! read and change beside draining: dead letters, the team of events held for a login, the last sync.

use crate::queue::{HELD_ROWS, OfflineQueue};
use rusqlite::params;
use spec_kitty_core::sync::EventFailure;
use spec_kitty_core::sync::drain::{QueueStore, QueuedEvent};
use spec_kitty_core::sync::queue_policy::{HELD_TEAM, TEAM_JSON_PATH};

/// A dead-lettered event with the hub's reason.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeadLetter {
    pub event_id: String,
    pub event_type: String,
    pub retry_count: u32,
    pub reason: String,
    pub failed_at: i64,
    pub event: serde_json::Value,
}

fn text(error: rusqlite::Error) -> String {
    error.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Why a queue row cannot be sent as an event, if it cannot.
fn unsendable(row: &QueuedEvent) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(&row.data) {
        Ok(serde_json::Value::Object(map)) => match map.get("event_id").and_then(|id| id.as_str()) {
            Some(id) if id == row.event_id => None,
            _ => Some("the row's envelope does not carry the row's event_id".into()),
        },
        Ok(_) | Err(_) => Some("the row is not a JSON event envelope".into()),
    }
}

impl OfflineQueue {
    fn read_oldest(&mut self, limit: usize) -> Result<Vec<QueuedEvent>, String> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT event_id, data, retry_count FROM queue ORDER BY timestamp, id LIMIT ?1")
            .map_err(text)?;
        let rows = stmt
            .query_map([limit as i64], |row| {
                let data = match row.get_ref(1)? {
                    rusqlite::types::ValueRef::Text(bytes) | rusqlite::types::ValueRef::Blob(bytes) => {
                        String::from_utf8_lossy(bytes).into_owned()
                    }
                    _ => String::new(),
                };
                Ok(QueuedEvent {
                    event_id: row.get(0)?,
                    data,
                    retry_count: row.get::<_, Option<i64>>(2)?.unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
                })
            })
            .map_err(text)?;
        rows.collect::<Result<_, _>>().map_err(text)
    }
}

impl QueueStore for OfflineQueue {
    /// Rows that cannot be an event (not a JSON object, or an envelope whose `event_id` is not the row's)
    /// go straight to the dead letter: put in a batch they would make the hub refuse the whole batch,
    /// and their answers could never be matched to them.
    fn oldest(&mut self, limit: usize) -> Result<Vec<QueuedEvent>, String> {
        loop {
            let rows = self.read_oldest(limit)?;
            let (good, bad): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| unsendable(row).is_none());
            if bad.is_empty() {
                return Ok(good);
            }
            let failures: Vec<EventFailure> = bad
                .iter()
                .map(|row| EventFailure { event_id: row.event_id.clone(), reason: unsendable(row).unwrap_or_default() })
                .collect();
            self.dead_letter(&failures)?;
        }
    }

    fn remove(&mut self, event_ids: &[String]) -> Result<(), String> {
        let tx = self.conn_mut().transaction().map_err(text)?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM queue WHERE event_id = ?1").map_err(text)?;
            for id in event_ids {
                delete.execute([id]).map_err(text)?;
            }
        }
        tx.commit().map_err(text)
    }

    fn record_failures(&mut self, failures: &[EventFailure]) -> Result<(), String> {
        let tx = self.conn_mut().transaction().map_err(text)?;
        {
            let mut update = tx
                .prepare_cached(
                    "UPDATE queue SET retry_count = COALESCE(retry_count, 0) + 1, last_error = ?2 WHERE event_id = ?1",
                )
                .map_err(text)?;
            for failure in failures {
                update.execute(params![failure.event_id, failure.reason]).map_err(text)?;
            }
        }
        tx.commit().map_err(text)
    }

    fn dead_letter(&mut self, failures: &[EventFailure]) -> Result<(), String> {
        let now = (crate::emitter::now_ms() / 1000) as i64;
        let tx = self.conn_mut().transaction().map_err(text)?;
        {
            let mut copy = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO dead_letter (event_id, event_type, data, timestamp, retry_count, reason, failed_at)
                     SELECT event_id, event_type, data, timestamp, COALESCE(retry_count, 0) + 1, ?2, ?3 FROM queue WHERE event_id = ?1",
                )
                .map_err(text)?;
            let mut delete = tx.prepare_cached("DELETE FROM queue WHERE event_id = ?1").map_err(text)?;
            for failure in failures {
                copy.execute(params![failure.event_id, failure.reason, now]).map_err(text)?;
                delete.execute([&failure.event_id]).map_err(text)?;
            }
        }
        tx.commit().map_err(text)
    }

    fn len(&mut self) -> Result<usize, String> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM queue", [], |row| row.get::<_, i64>(0))
            .map(|n| n as usize)
            .map_err(text)
    }
}

impl OfflineQueue {
    /// Events queued before the first login are held (the core's [`spec_kitty_core::sync::is_held`]);
    /// they go to the hub under the team of the login, and only that field changes (json_set edits the
    /// value in place, keeping key order).
    pub fn adopt_held_events(&mut self, team: &str) -> anyhow::Result<usize> {
        let changed = self.conn().execute(
            &format!("UPDATE queue SET data = json_set(data, ?1, ?3) WHERE {HELD_ROWS}"),
            params![TEAM_JSON_PATH, HELD_TEAM, team],
        )?;
        Ok(changed)
    }

    pub fn dead_letters(&self) -> anyhow::Result<Vec<DeadLetter>> {
        let mut stmt = self.conn().prepare(
            "SELECT event_id, event_type, retry_count, reason, failed_at, data FROM dead_letter ORDER BY failed_at, id",
        )?;
        let rows = stmt.query_map([], |row| {
            let data: String = row.get(5)?;
            Ok(DeadLetter {
                event_id: row.get(0)?,
                event_type: row.get(1)?,
                retry_count: row.get::<_, i64>(2)?.clamp(0, u32::MAX as i64) as u32,
                reason: row.get(3)?,
                failed_at: row.get(4)?,
                event: serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data)),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Puts every dead letter back in the queue with a fresh retry count; returns how many.
    pub fn retry_dead_letters(&mut self) -> anyhow::Result<usize> {
        let tx = self.conn_mut().transaction()?;
        let moved = tx.execute(
            "INSERT OR IGNORE INTO queue (event_id, event_type, data, timestamp, retry_count)
             SELECT event_id, event_type, data, timestamp, 0 FROM dead_letter",
            [],
        )?;
        tx.execute("DELETE FROM dead_letter", [])?;
        tx.commit()?;
        Ok(moved)
    }

    /// Records a sync that reached the hub: when, and how many events it acknowledged.
    pub fn record_sync(&mut self, at_secs: i64, acknowledged: usize) -> anyhow::Result<()> {
        let tx = self.conn_mut().transaction()?;
        for (key, value) in [("last_sync_at", at_secs), ("last_sync_count", acknowledged as i64)] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![key, value],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::queue::tests::{events, new_queue};
    use spec_kitty_core::LamportClock;
    use spec_kitty_core::sync::queue_policy::{HELD_TEAM, is_held};

    #[test]
    fn held_rows_are_the_ones_the_core_calls_held_and_a_login_adopts_only_those() {
        let (_dir, mut queue) = new_queue();
        let mut clock = LamportClock::default();
        let mut batch = events(HELD_TEAM, 3, &mut clock);
        batch.extend(events("acme", 2, &mut clock));
        queue.append(&batch, clock.value(), 1, 100).unwrap();
        queue
            .conn()
            .execute(
                "INSERT INTO queue (event_id, event_type, data, timestamp) VALUES ('odd', 'HistoryAdded', 'not json', 2)",
                [],
            )
            .unwrap();
        let held_by_core = |queue: &crate::queue::OfflineQueue| {
            let rows = queue.oldest_first(100).unwrap();
            rows.iter().filter_map(|row| serde_json::from_str(row).ok()).filter(is_held).count()
        };
        assert_eq!(held_by_core(&queue), 3);
        assert_eq!(queue.summary().unwrap().held_for_login, 3);

        assert_eq!(queue.adopt_held_events("beta").unwrap(), 3);
        assert_eq!(queue.summary().unwrap().held_for_login, 0);
        assert_eq!(held_by_core(&queue), 0);
        let rows = queue.oldest_first(100).unwrap();
        let teams: Vec<String> = rows[..5]
            .iter()
            .map(|row| serde_json::from_str::<serde_json::Value>(row).unwrap()["team_slug"].as_str().unwrap().into())
            .collect();
        assert_eq!(teams, ["beta", "beta", "beta", "acme", "acme"]);
        assert_eq!(rows[0], batch[0].to_json().replace("\"team_slug\":\"local\"", "\"team_slug\":\"beta\""));
        assert_eq!(rows[5], "not json");
    }
}
