//! What the hub keeps: users, spent refresh tokens and each team's events, behind one small trait so
//! another database can follow the embedded SQLite default.

mod sqlite;

pub use sqlite::SqliteStore;

/// One event as admitted by the core, ready to store.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: String,
    pub event_type: String,
    pub lamport_clock: u64,
    pub node_id: String,
    /// The envelope as JSON text, exactly as it will be served back.
    pub data: String,
}

/// What storing one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// New: it has this arrival number in its team.
    New { seq: u64 },
    /// The team already had an event with this id.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    pub team_slug: String,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: u64,
    pub data: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("user `{0}` already exists")]
    UserExists(String),
    #[error("no user `{0}`")]
    NoSuchUser(String),
    #[error("{0}")]
    Database(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The hub's storage. Every write is committed durably before it returns: an answer the hub gives
/// after a call is never lost to a crash.
pub trait EventStore: Send + Sync + 'static {
    fn add_user(&self, user: &User) -> StoreResult<()>;
    fn remove_user(&self, username: &str) -> StoreResult<()>;
    fn users(&self) -> StoreResult<Vec<User>>;
    fn user(&self, username: &str) -> StoreResult<Option<User>>;

    /// Records a refresh token as issued.
    fn issue_refresh(&self, token_id: &str, username: &str, expires_at: u64) -> StoreResult<()>;
    /// Spends a refresh token: true the first time, false when it is unknown or already spent.
    fn spend_refresh(&self, token_id: &str, username: &str) -> StoreResult<bool>;

    /// Stores a team's events in one transaction, deduplicated by (team, event_id); one answer each,
    /// in order.
    fn append(&self, team: &str, events: &[NewEvent], received_at_ms: u64) -> StoreResult<Vec<Stored>>;
    /// The team's events after arrival number `after`, at most `limit`, oldest first.
    fn events_after(&self, team: &str, after: u64, limit: usize) -> StoreResult<Vec<StoredEvent>>;
    /// Every event of the team (for its board), oldest first.
    fn all_events(&self, team: &str) -> StoreResult<Vec<String>>;
    /// The team's highest arrival number (0: no events): what a cached board is checked against.
    fn latest_seq(&self, team: &str) -> StoreResult<u64>;
}
