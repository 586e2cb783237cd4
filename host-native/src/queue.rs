//! The offline queue: SQLite in WAL mode, the contract's `queue` table plus a dead-letter table.

use anyhow::{Context, Result, anyhow};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use spec_kitty_core::Event;
use spec_kitty_core::sync::queue_policy::{Admission, HELD_TEAM, TEAM_JSON_PATH, admit};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT UNIQUE NOT NULL,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    retry_count INTEGER DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_queue_fifo ON queue(timestamp, id);
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT UNIQUE NOT NULL,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    retry_count INTEGER NOT NULL,
    reason TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

/// How long a writer waits for another process's transaction before giving up: 10 s, or the
/// milliseconds in the environment variable `SPEC_KITTY_QUEUE_BUSY_TIMEOUT_MS` (used by the tests
/// of a locked queue, so that they do not wait 10 s).
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
pub const BUSY_TIMEOUT_ENV: &str = "SPEC_KITTY_QUEUE_BUSY_TIMEOUT_MS";

/// The longest one emission waits, for the clock lock and the queue's write lock together.
pub fn busy_timeout() -> Duration {
    crate::file_lock::wait_from_env(BUSY_TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT)
}

/// The rows whose envelope waits for a login, as the core's [`spec_kitty_core::sync::is_held`] decides:
/// its team at `?1` ([`TEAM_JSON_PATH`]) is `?2` ([`HELD_TEAM`]).
pub(crate) const HELD_ROWS: &str = "json_valid(data) AND json_extract(data, ?1) = ?2";

/// The columns of the contract's `queue` table, which a file of ours always has.
const QUEUE_COLUMNS: [&str; 6] = ["id", "event_id", "event_type", "data", "timestamp", "retry_count"];
const OUR_TABLES: [&str; 4] = ["queue", "dead_letter", "meta", "sqlite_sequence"];

pub struct OfflineQueue {
    conn: Connection,
    path: PathBuf,
    /// The WAL file did not exist when the queue was opened: the first commit creates it, and its
    /// directory entry must reach the disk with it (see [`OfflineQueue::append`]).
    wal_is_new: bool,
}

pub struct QueueSummary {
    pub len: usize,
    pub held_for_login: usize,
    pub dead_letters: usize,
    pub refused_total: u64,
    pub oldest_enqueued_at: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub last_sync_count: Option<i64>,
}

impl OfflineQueue {
    /// Opens the queue for writing, creating it if missing. `wait` bounds how long a write waits for
    /// another process's transaction. A file that holds tables of someone else is left untouched
    /// (not even switched to WAL mode).
    pub fn open(path: &Path, wait: Duration) -> Result<OfflineQueue> {
        let label = path.display();
        let wal_is_new = !wal_path(path).exists();
        let conn = Connection::open(path).with_context(|| format!("cannot open {label}"))?;
        conn.busy_timeout(wait).with_context(|| format!("cannot configure {label}"))?;
        let stamp: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(|e| describe(path, e))?;
        if stamp != OUR_SCHEMA_STAMP {
            bring_up_to_date(&conn, path, wait)?;
        }
        // Commits are durable because SQLite's default `synchronous` is FULL in WAL mode too: a
        // commit is on disk before the command reports success, the command's one fsync (a unit test
        // pins that default instead of a pragma on every connection).
        //
        // No checkpoint when the last connection closes: every command is a short process, and
        // checkpointing at each exit cost two more fsyncs, then one more for the directory and one for
        // the WAL's header when the next command made the WAL anew. But the next process, finding no
        // other user of the WAL, rebuilds its index by reading every frame, so the WAL is checkpointed
        // and emptied once it passes WAL_CHECKPOINT_PAGES (`truncate_long_wal`): a command reads at
        // most that much, and one in about 30 pays the checkpoint's fsyncs. A committed transaction is
        // durable in the WAL either way.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).map_err(|e| describe(path, e))?;
        Ok(OfflineQueue { conn, path: path.to_path_buf(), wal_is_new })
    }

    /// Opens an existing queue read-only; `None` when there is none yet. Works on a read-only state
    /// folder: when SQLite cannot make the WAL's shared-memory file there, the file is read as it
    /// stands on disk (`immutable`).
    pub fn open_for_reading(path: &Path) -> Result<Option<OfflineQueue>> {
        if !path.exists() {
            return Ok(None);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let probe = |uri: &str| -> rusqlite::Result<Connection> {
            let conn = Connection::open_with_flags(uri, flags)?;
            conn.busy_timeout(busy_timeout())?;
            conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get::<_, i64>(0))?;
            Ok(conn)
        };
        let uri = file_uri(path);
        let conn = match probe(&uri) {
            Ok(conn) => conn,
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
                ) =>
            {
                probe(&format!("{uri}?immutable=1")).map_err(|e| describe(path, e))?
            }
            Err(e) => return Err(describe(path, e)),
        };
        let tables = refuse_foreign(&conn, path)?;
        // An empty file (or one whose first command died before creating the table) holds no events.
        if !tables.iter().any(|t| t == "queue") {
            return Ok(None);
        }
        Ok(Some(OfflineQueue { conn, path: path.to_path_buf(), wal_is_new: false }))
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Bounds the next write's wait for the lock (the rest of the emission's time).
    pub fn set_wait(&self, wait: Duration) -> Result<()> {
        self.conn.busy_timeout(wait).with_context(|| format!("cannot configure {}", self.path.display()))
    }

    pub fn meta(&self, key: &str) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0))
            .optional()
            .map_err(|e| describe(&self.path, e))
    }

    /// The highest Lamport value ever queued here: a second record of the clock, so a lost or
    /// corrupt clock.json never hands out a value twice.
    pub fn clock_high_water(&self) -> Result<u64> {
        Ok(self.meta("lamport_clock")?.unwrap_or(0).max(0) as u64)
    }

    /// Appends events oldest first in one transaction, as many as the core admits under `cap` given
    /// the queue's length inside that transaction; the rest are refused and counted.
    pub fn append(&mut self, events: &[Event], clock_value: u64, enqueued_at: i64, cap: usize) -> Result<Admission> {
        let path = self.path.clone();
        let admission =
            self.append_in_transaction(events, clock_value, enqueued_at, cap).map_err(|e| describe(&path, e))?;
        // SQLite is built without its own directory syncs (`SQLITE_DISABLE_DIRSYNC`, .cargo/config.toml): it
        // would sync the folder at the first commit of every process. The WAL is kept between commands, so
        // only a commit that created it needs its directory entry synced, once.
        // The events are committed either way: a folder that cannot be synced is not a reason to say otherwise.
        if std::mem::take(&mut self.wal_is_new)
            && let Some(dir) = path.parent()
        {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        self.truncate_long_wal();
        Ok(admission)
    }

    /// Checkpoints a WAL past [`WAL_CHECKPOINT_PAGES`] and empties it. SQLite's own automatic checkpoint
    /// does not serve short processes: a new process rebuilds the WAL's index and with it forgets what
    /// was checkpointed, so the WAL would never restart and every commit past the threshold would
    /// checkpoint it all again. Only a wait of a moment: when other processes keep it busy, a later
    /// command does it. The events are committed before, whatever happens here.
    fn truncate_long_wal(&self) {
        let long = std::fs::metadata(wal_path(&self.path)).is_ok_and(|wal| wal.len() > WAL_CHECKPOINT_PAGES * 4096);
        if long && self.conn.busy_timeout(CHECKPOINT_WAIT).is_ok() {
            let _ = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }

    fn append_in_transaction(
        &mut self,
        events: &[Event],
        clock_value: u64,
        enqueued_at: i64,
        cap: usize,
    ) -> rusqlite::Result<Admission> {
        // IMMEDIATE: take the write lock first, waiting up to the busy timeout. A deferred
        // transaction that reads and then writes gets SQLITE_BUSY at once, without waiting, when
        // another connection holds the write lock.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let len: i64 = tx.query_row("SELECT COUNT(*) FROM queue", [], |row| row.get(0))?;
        let admission = admit(len.max(0) as usize, events.len(), cap);
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO queue (event_id, event_type, data, timestamp) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for event in &events[..admission.accepted] {
                insert.execute(params![event.event_id, event.event_type().as_str(), event.to_json(), enqueued_at])?;
            }
        }
        upsert_max(&tx, "lamport_clock", clock_value as i64)?;
        if admission.refused > 0 {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('refused_total', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = value + ?1",
                [admission.refused as i64],
            )?;
        }
        tx.commit()?;
        Ok(admission)
    }

    /// The queued envelopes, oldest first, exactly as they will be sent.
    /// The queued envelopes' text, oldest first. A row stored as bytes is read as (lossy) text, so one
    /// odd row never hides the others; the caller decides what to do with text that is not JSON.
    pub fn oldest_first(&self, limit: usize) -> Result<Vec<String>> {
        let read = || -> rusqlite::Result<Vec<String>> {
            let mut stmt = self.conn.prepare("SELECT data FROM queue ORDER BY timestamp, id LIMIT ?1")?;
            let rows = stmt.query_map([limit as i64], |row| {
                Ok(match row.get_ref(0)? {
                    rusqlite::types::ValueRef::Text(bytes) | rusqlite::types::ValueRef::Blob(bytes) => {
                        String::from_utf8_lossy(bytes).into_owned()
                    }
                    _ => String::new(),
                })
            })?;
            rows.collect()
        };
        read().map_err(|e| describe(&self.path, e))
    }

    pub fn summary(&self) -> Result<QueueSummary> {
        let count_where = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Result<usize> {
            let value =
                self.conn.query_row(sql, params, |row| row.get::<_, i64>(0)).map_err(|e| describe(&self.path, e))?;
            Ok(value as usize)
        };
        let count = |sql: &str| count_where(sql, &[]);
        Ok(QueueSummary {
            len: count("SELECT COUNT(*) FROM queue")?,
            // A row that is not JSON (written by hand or by another tool) is counted, not fatal.
            held_for_login: count_where(
                &format!("SELECT COUNT(*) FROM queue WHERE {HELD_ROWS}"),
                &[&TEAM_JSON_PATH, &HELD_TEAM],
            )?,
            dead_letters: count("SELECT COUNT(*) FROM dead_letter")?,
            refused_total: self.meta("refused_total")?.unwrap_or(0).max(0) as u64,
            oldest_enqueued_at: self
                .conn
                .query_row("SELECT MIN(timestamp) FROM queue", [], |row| row.get(0))
                .map_err(|e| describe(&self.path, e))?,
            last_sync_at: self.meta("last_sync_at")?,
            last_sync_count: self.meta("last_sync_count")?,
        })
    }
}

fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// `PRAGMA user_version` of a queue file this build made or brought up to date: "SK" and the schema's
/// version (2: `queue.last_error`). It is in the file's header: a command that finds it skips what an
/// unknown file needs (the check for foreign tables, WAL mode, the schema, the added column), one
/// statement instead of five.
const OUR_SCHEMA_STAMP: i64 = 0x534B_0002;

/// WAL pages (4 KiB each; a command adds about four) after which a commit checkpoints and empties it.
const WAL_CHECKPOINT_PAGES: u64 = 128;

/// How long that checkpoint waits for other processes' transactions before it leaves the work to a
/// later command.
const CHECKPOINT_WAIT: Duration = Duration::from_millis(100);

/// Makes a file with no stamp of ours a queue of the current schema, or refuses it untouched when it
/// is someone else's: WAL mode (kept by the file), the tables, the added column, then the stamp.
///
/// Processes that find the file unstamped at once (a command's emission beside a `sync now` or the
/// daemon: only emissions share the clock lock) check and make the schema in turn, each in one write
/// transaction: the second finds the tables and the column made, instead of failing on a duplicate
/// column. WAL mode is set after, since SQLite cannot change the journal inside a transaction.
fn bring_up_to_date(conn: &Connection, path: &Path, wait: Duration) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| describe(path, e))?;
    let made = make_schema(conn, path);
    let ended = conn.execute_batch(if made.is_ok() { "COMMIT" } else { "ROLLBACK" });
    made?;
    ended.map_err(|e| describe(path, e))?;
    switch_to_wal(conn, path, wait)?;
    conn.pragma_update(None, "user_version", OUR_SCHEMA_STAMP).map_err(|e| describe(path, e))
}

/// WAL mode, unless another process set it already. SQLite answers SQLITE_BUSY at once, without
/// its busy handler, while another connection holds the file open in the old mode: so it is tried
/// again for at most `wait`.
fn switch_to_wal(conn: &Connection, path: &Path, wait: Duration) -> Result<()> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let switched = conn.query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0)).and_then(|mode| {
            if mode.eq_ignore_ascii_case("wal") { Ok(()) } else { conn.pragma_update(None, "journal_mode", "WAL") }
        });
        match switched {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            other => return other.map_err(|e| describe(path, e)),
        }
    }
}

/// The tables and the added column, inside the caller's transaction; a foreign file is refused unchanged.
fn make_schema(conn: &Connection, path: &Path) -> Result<()> {
    let tables = refuse_foreign(conn, path)?;
    if !["queue", "dead_letter", "meta"].iter().all(|ours| tables.iter().any(|t| t == ours)) {
        conn.execute_batch(SCHEMA).map_err(|e| describe(path, e))?;
    }
    add_last_error_column(conn).map_err(|e| describe(path, e))
}

/// The hub's last reason for refusing an event, kept beside the contract's columns (a queue made by an
/// older build gets the column on first use).
fn add_last_error_column(conn: &Connection) -> rusqlite::Result<()> {
    let has: bool =
        conn.query_row("SELECT COUNT(*) FROM pragma_table_info('queue') WHERE name = 'last_error'", [], |row| {
            row.get::<_, i64>(0).map(|n| n > 0)
        })?;
    if !has {
        conn.execute("ALTER TABLE queue ADD COLUMN last_error TEXT", [])?;
    }
    Ok(())
}

/// Refuses a database that is not a queue of ours: a `queue` table of another shape, or other tables
/// and none of ours. Nothing is written to such a file.
fn refuse_foreign(conn: &Connection, path: &Path) -> Result<Vec<String>> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .map_err(|e| describe(path, e))?;
    let label = path.display();
    if tables.iter().any(|t| t == "queue") {
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('queue')")
            .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
            .map_err(|e| describe(path, e))?;
        if !QUEUE_COLUMNS.iter().all(|wanted| columns.iter().any(|c| c == wanted)) {
            anyhow::bail!(
                "{label} holds a `queue` table that spec-kitty did not create (columns: {}); it was left untouched: move it aside or set SPEC_KITTY_HOME to another folder",
                columns.join(", ")
            );
        }
    } else if let Some(other) = tables.iter().find(|t| !OUR_TABLES.contains(&t.as_str())) {
        anyhow::bail!(
            "{label} is a database spec-kitty did not create (it holds a table `{other}`); it was left untouched: move it aside or set SPEC_KITTY_HOME to another folder"
        );
    }
    Ok(tables)
}

/// `file:` URI of a path: the characters URIs reserve and every non-ASCII byte percent-encoded (SQLite
/// decodes them back to the path's bytes).
fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file:");
    for &byte in path.as_os_str().as_bytes() {
        match byte {
            b'?' | b'#' | b'%' => uri.push_str(&format!("%{byte:02X}")),
            _ if !byte.is_ascii() || byte.is_ascii_control() => uri.push_str(&format!("%{byte:02X}")),
            _ => uri.push(byte as char),
        }
    }
    uri
}

fn upsert_max(conn: &Connection, key: &str, value: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = MAX(value, ?2)",
        params![key, value],
    )
}

/// Turns SQLite's terse codes into a line that says which file and what to do.
fn describe(path: &Path, error: rusqlite::Error) -> anyhow::Error {
    use rusqlite::ErrorCode::*;
    let label = path.display();
    match error.sqlite_error_code() {
        Some(NotADatabase) | Some(DatabaseCorrupt) => anyhow!(
            "{label} is not a readable queue (corrupt or not SQLite); it was left untouched: move it aside to start a new queue"
        ),
        Some(DatabaseBusy) | Some(DatabaseLocked) => {
            anyhow!(
                "{label} is locked by another process (gave up within {} ms; {BUSY_TIMEOUT_ENV} sets the wait)",
                busy_timeout().as_millis()
            )
        }
        Some(ReadOnly) | Some(CannotOpen) | Some(PermissionDenied) => {
            anyhow!("{label} cannot be written: {}", one_line(&error))
        }
        _ => anyhow!("{label}: {}", one_line(&error)),
    }
}

/// SQLite's messages can quote a whole statement over several lines; a warning is one line.
fn one_line(error: &rusqlite::Error) -> String {
    error.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use spec_kitty_core::{EventFactory, Identity, LamportClock, Moment, NodeId, Payload, WpId};

    /// `count` valid events of `team`, with clock values after `clock`.
    pub(crate) fn events(team: &str, count: usize, clock: &mut LamportClock) -> Vec<Event> {
        let mut factory = EventFactory::new(Identity {
            node_id: NodeId::from_host_and_user("host", "user"),
            team_slug: team.into(),
            project: None,
        });
        (0..count)
            .map(|i| {
                let wp: WpId = "WP01".parse().unwrap();
                let payload = Payload::HistoryAdded(spec_kitty_core::events::HistoryAdded::note(wp, format!("n{i}")));
                // A millisecond per clock value: events of separate calls never share an id.
                let at = Moment { unix_ms: 1_770_202_123_456 + clock.value(), entropy: i as u128 };
                factory.build(clock, at, None, payload).unwrap()
            })
            .collect()
    }

    pub(crate) fn new_queue() -> (tempfile::TempDir, OfflineQueue) {
        let dir = tempfile::tempdir().unwrap();
        let queue = OfflineQueue::open(&dir.path().join("queue.db"), Duration::from_secs(1)).unwrap();
        (dir, queue)
    }

    #[test]
    fn an_append_fills_the_queue_to_its_cap_and_counts_the_rest_as_refused() {
        let (_dir, mut queue) = new_queue();
        let mut clock = LamportClock::default();
        let first = queue.append(&events("acme", 2, &mut clock), clock.value(), 1, 3).unwrap();
        assert_eq!((first.accepted, first.refused), (2, 0));
        let batch = events("acme", 3, &mut clock);
        let second = queue.append(&batch, clock.value(), 2, 3).unwrap();
        assert_eq!((second.accepted, second.refused), (1, 2), "the cap's last place taken, the rest refused");
        let summary = queue.summary().unwrap();
        assert_eq!((summary.len, summary.refused_total), (3, 2));
        let stored = queue.oldest_first(10).unwrap();
        assert!(stored[2].contains(&batch[0].event_id), "the oldest of the emission went in: {stored:?}");
        assert_eq!(queue.clock_high_water().unwrap(), clock.value(), "refused events still advance the record");
    }

    #[test]
    fn a_read_only_queue_opens_under_a_path_with_non_ascii_and_reserved_characters() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("slug_042-é ?#%");
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("queue.db");
        drop(OfflineQueue::open(&path, Duration::from_secs(1)).unwrap());
        assert!(file_uri(&path).is_ascii());
        let queue = OfflineQueue::open_for_reading(&path).unwrap().expect("the queue exists");
        assert_eq!(queue.summary().unwrap().len, 0);
    }

    #[test]
    fn a_commit_is_synced_by_sqlite_s_default_so_no_connection_sets_it() {
        let (_dir, queue) = new_queue();
        let synchronous: i64 = queue.conn.query_row("PRAGMA synchronous", [], |row| row.get(0)).unwrap();
        assert_eq!(synchronous, 2, "FULL: each commit reaches the disk before the command reports success");
        let mode: String = queue.conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_queue_of_an_older_build_is_brought_up_to_date_then_opened_by_its_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.db");
        {
            // What builds before the stamp and the last_error column made.
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.execute_batch(SCHEMA).unwrap();
        }
        let mut queue = OfflineQueue::open(&path, Duration::from_secs(1)).unwrap();
        let mut clock = LamportClock::default();
        queue.append(&events("acme", 1, &mut clock), clock.value(), 1, 10).unwrap();
        let stamp: i64 = queue.conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(stamp, OUR_SCHEMA_STAMP);
        assert!(
            queue.conn.prepare("SELECT last_error FROM queue").is_ok(),
            "the column an older queue lacked was added"
        );
        drop(queue);
        let queue = OfflineQueue::open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(queue.summary().unwrap().len, 1);
    }

    #[test]
    fn a_foreign_database_is_refused_untouched_and_not_stamped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.db");
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE notes (body TEXT)").unwrap();
        let error = OfflineQueue::open(&path, Duration::from_secs(1)).err().expect("refused").to_string();
        assert!(error.contains("did not create"), "{error}");
        let conn = Connection::open(&path).unwrap();
        let stamp: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
        assert_eq!((stamp, mode.as_str()), (0, "delete"));
    }

    #[test]
    fn the_wal_a_command_must_read_back_stays_bounded() {
        // One connection per commit, as one process per command: each rebuilds the WAL's index.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.db");
        let mut clock = LamportClock::default();
        let mut longest = 0;
        for at in 0..400 {
            let mut queue = OfflineQueue::open(&path, Duration::from_secs(1)).unwrap();
            queue.append(&events("acme", 1, &mut clock), clock.value(), at, 100_000).unwrap();
            longest = longest.max(std::fs::metadata(wal_path(&path)).unwrap().len());
        }
        let bound = (WAL_CHECKPOINT_PAGES + 16) * 4096;
        assert!(longest <= bound, "the WAL reached {longest} bytes in 400 commits; checkpoints keep it under {bound}");
        let queue = OfflineQueue::open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(queue.summary().unwrap().len, 400);
    }

    #[test]
    fn a_new_queue_opened_by_several_processes_at_once_is_made_once() {
        // Each thread's connection locks the file as another process would. Before the schema was made
        // in one write transaction, the later ones failed on a duplicate column or a busy journal switch.
        let mut failures = Vec::new();
        for _ in 0..25 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("queue.db");
            let start = std::sync::Arc::new(std::sync::Barrier::new(8));
            let opens: Vec<_> = (0..8)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        OfflineQueue::open(&path, Duration::from_secs(5)).map(drop).map_err(|e| format!("{e:#}"))
                    })
                })
                .collect();
            failures.extend(opens.into_iter().filter_map(|open| open.join().unwrap().err()));
            let queue = OfflineQueue::open(&path, Duration::from_secs(5)).unwrap();
            let stamp: i64 = queue.conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
            let mode: String = queue.conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
            assert_eq!((stamp, mode.as_str()), (OUR_SCHEMA_STAMP, "wal"));
        }
        assert!(failures.is_empty(), "opening a new queue at once failed: {failures:?}");
    }
}
