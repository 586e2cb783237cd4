//! The embedded store: SQLite in WAL mode with `synchronous=FULL`, one writer connection and one
//! reader connection (WAL lets reads go on while a batch commits).

use super::{EventStore, NewEvent, StoreError, StoreResult, Stored, StoredEvent, User};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    team_slug TEXT NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    spent INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    team_slug TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    lamport_clock INTEGER NOT NULL,
    node_id TEXT NOT NULL,
    data TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (team_slug, event_id)
);
CREATE INDEX IF NOT EXISTS events_by_team ON events(team_slug, seq);
";

pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// The folder of `hub.db`, synced once after the first write (see [`SqliteStore::write`]).
    folder: std::path::PathBuf,
    folder_synced: std::sync::atomic::AtomicBool,
}

fn database(error: rusqlite::Error) -> StoreError {
    StoreError::Database(error.to_string().split_whitespace().collect::<Vec<_>>().join(" "))
}

fn open_connection(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(|e| StoreError::Database(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(database)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(database)?;
    // FULL: an answered `success` is on disk before the answer leaves.
    conn.pragma_update(None, "synchronous", "FULL").map_err(database)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) `hub.db` at `path`.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let writer = open_connection(path)?;
        writer.execute_batch(SCHEMA).map_err(database)?;
        let reader = open_connection(path)?;
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            folder,
            folder_synced: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn write<T>(&self, work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = work(&mut conn).map_err(database)?;
        // SQLite is built without its own folder syncs (SQLITE_DISABLE_DIRSYNC, for the CLI's sake): the
        // entries of `hub.db` and its WAL reach the disk with the first write, before any answer says
        // `success`. The WAL stays while the hub runs.
        if !self.folder_synced.swap(true, std::sync::atomic::Ordering::Relaxed) {
            let folder = if self.folder.as_os_str().is_empty() { Path::new(".") } else { &self.folder };
            std::fs::File::open(folder)
                .and_then(|dir| dir.sync_all())
                .map_err(|e| StoreError::Database(format!("cannot sync {}: {e}", folder.display())))?;
        }
        Ok(result)
    }

    fn read<T>(&self, work: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let conn = self.reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&conn).map_err(database)
    }
}

fn user_from_row(row: &rusqlite::Row) -> rusqlite::Result<User> {
    Ok(User { username: row.get(0)?, team_slug: row.get(1)?, password_hash: row.get(2)? })
}

impl EventStore for SqliteStore {
    fn add_user(&self, user: &User) -> StoreResult<()> {
        let result = self.write(|conn| {
            conn.execute(
                "INSERT INTO users (username, team_slug, password_hash) VALUES (?1, ?2, ?3)",
                params![user.username, user.team_slug, user.password_hash],
            )
        });
        match result {
            Err(StoreError::Database(message)) if message.contains("UNIQUE") => {
                Err(StoreError::UserExists(user.username.clone()))
            }
            other => other.map(|_| ()),
        }
    }

    fn remove_user(&self, username: &str) -> StoreResult<()> {
        let removed = self.write(|conn| {
            let tx = conn.transaction()?;
            let removed = tx.execute("DELETE FROM users WHERE username = ?1", [username])?;
            tx.execute("DELETE FROM refresh_tokens WHERE username = ?1", [username])?;
            tx.commit()?;
            Ok(removed)
        })?;
        if removed == 0 { Err(StoreError::NoSuchUser(username.to_string())) } else { Ok(()) }
    }

    fn users(&self) -> StoreResult<Vec<User>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare("SELECT username, team_slug, password_hash FROM users ORDER BY team_slug, username")?;
            stmt.query_map([], user_from_row)?.collect()
        })
    }

    fn user(&self, username: &str) -> StoreResult<Option<User>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT username, team_slug, password_hash FROM users WHERE username = ?1")?
                .query_row([username], user_from_row)
                .optional()
        })
    }

    fn issue_refresh(&self, token_id: &str, username: &str, expires_at: u64) -> StoreResult<()> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            // Spent and expired tokens are no longer needed to refuse a replay: their signature check fails first.
            tx.execute("DELETE FROM refresh_tokens WHERE expires_at < ?1", [crate::auth::now_secs() as i64])?;
            tx.execute(
                "INSERT INTO refresh_tokens (token_id, username, expires_at) VALUES (?1, ?2, ?3)",
                params![token_id, username, expires_at as i64],
            )?;
            tx.commit()
        })
    }

    fn spend_refresh(&self, token_id: &str, username: &str) -> StoreResult<bool> {
        self.write(|conn| {
            conn.execute(
                "UPDATE refresh_tokens SET spent = 1 WHERE token_id = ?1 AND username = ?2 AND spent = 0",
                params![token_id, username],
            )
            .map(|changed| changed == 1)
        })
    }

    fn append(&self, team: &str, events: &[NewEvent], received_at_ms: u64) -> StoreResult<Vec<Stored>> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            let mut answers = Vec::with_capacity(events.len());
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO events (team_slug, event_id, event_type, lamport_clock, node_id, data, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (team_slug, event_id) DO NOTHING",
                )?;
                for event in events {
                    let changed = insert.execute(params![
                        team,
                        event.event_id,
                        event.event_type,
                        event.lamport_clock.min(i64::MAX as u64) as i64,
                        event.node_id,
                        event.data,
                        received_at_ms as i64
                    ])?;
                    answers.push(if changed == 1 {
                        Stored::New { seq: tx.last_insert_rowid() as u64 }
                    } else {
                        Stored::Duplicate
                    });
                }
            }
            tx.commit()?;
            Ok(answers)
        })
    }

    fn events_after(&self, team: &str, after: u64, limit: usize) -> StoreResult<Vec<StoredEvent>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, data FROM events WHERE team_slug = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            stmt.query_map(params![team, after.min(i64::MAX as u64) as i64, limit as i64], |row| {
                Ok(StoredEvent { seq: row.get::<_, i64>(0)? as u64, data: row.get(1)? })
            })?
            .collect()
        })
    }

    fn latest_seq(&self, team: &str) -> StoreResult<u64> {
        self.read(|conn| {
            conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events WHERE team_slug = ?1")?
                .query_row([team], |row| row.get::<_, i64>(0))
                .map(|seq| seq.max(0) as u64)
        })
    }

    fn all_events(&self, team: &str) -> StoreResult<Vec<String>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT data FROM events WHERE team_slug = ?1 ORDER BY seq")?;
            stmt.query_map([team], |row| row.get(0))?.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> NewEvent {
        NewEvent {
            event_id: id.into(),
            event_type: "WPCreated".into(),
            lamport_clock: 1,
            node_id: "d036a097a835".into(),
            data: format!("{{\"event_id\":\"{id}\"}}"),
        }
    }

    #[test]
    fn events_are_deduplicated_per_team_by_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("hub.db")).unwrap();
        let first = store.append("alpha", &[event("A"), event("B"), event("A")], 1).unwrap();
        assert!(matches!(first[..], [Stored::New { seq: 1 }, Stored::New { seq: 2 }, Stored::Duplicate]));
        assert_eq!(store.append("alpha", &[event("B")], 2).unwrap(), vec![Stored::Duplicate]);
        assert!(matches!(store.append("beta", &[event("B")], 3).unwrap()[..], [Stored::New { .. }]));
        assert_eq!(store.events_after("alpha", 0, 10).unwrap().len(), 2);
        assert_eq!(store.events_after("alpha", 1, 10).unwrap()[0].seq, 2);
        assert_eq!(store.all_events("beta").unwrap().len(), 1);
    }

    #[test]
    fn a_refresh_token_is_spent_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("hub.db")).unwrap();
        store.issue_refresh("t1", "ana", u64::MAX / 4).unwrap();
        assert!(store.spend_refresh("t1", "ana").unwrap());
        assert!(!store.spend_refresh("t1", "ana").unwrap());
        assert!(!store.spend_refresh("unknown", "ana").unwrap());
    }
}
