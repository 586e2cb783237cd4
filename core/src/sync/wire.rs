//! The wire of contract §5 as serde types, shared by the hub and the CLI's sync so the two cannot disagree.
//!
//! Serialising any type here gives exactly the keys, in the order, that `hub/API.md` shows. Deserialising is
//! lenient where upstream's servers and clients differ from us: a token answer may carry `access_lifetime` or
//! `expires_in` (as a number or a numeric string) and may leave out `team_slug` and `username`; a WebSocket
//! client may send `{"type":"event", ...envelope}` or the bare envelope, and echoes a ping's timestamp
//! whatever its JSON type, with extra keys (upstream's later clients add `build_id` to a pong).
//!
//! Tokens and passwords are secrets: the `Debug` output of every type holding one redacts it.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Access-token lifetime a client assumes when the server names none (15 minutes).
pub const DEFAULT_ACCESS_LIFETIME_SECS: u64 = 900;
/// Refresh-token lifetime a client assumes when the server names none (7 days).
pub const DEFAULT_REFRESH_LIFETIME_SECS: u64 = 604_800;
/// The most events one batch request may hold.
pub const MAX_BATCH_EVENTS: usize = 1000;

const REDACTED: &str = "<redacted>";

/// `POST /api/v1/token/` body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest").field("username", &self.username).field("password", &REDACTED).finish()
    }
}

/// `POST /api/v1/token/refresh/` body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRequest {
    pub refresh: String,
}

impl fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshRequest").field("refresh", &REDACTED).finish()
    }
}

/// The answer of `token/` and `token/refresh/`.
///
/// Our hub fills both spellings of each lifetime (see [`TokenResponse::new`]); a client reads them through
/// [`TokenResponse::access_lifetime_secs`] and [`TokenResponse::refresh_lifetime_secs`], which follow
/// upstream's client: the first of the two spellings that is present and not zero, a numeric string counting
/// as its number, anything unreadable as absent, else the default.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access: String,
    pub refresh: String,
    #[serde(default, deserialize_with = "lenient_seconds", skip_serializing_if = "Option::is_none")]
    pub access_lifetime: Option<u64>,
    #[serde(default, deserialize_with = "lenient_seconds", skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(default, deserialize_with = "lenient_seconds", skip_serializing_if = "Option::is_none")]
    pub refresh_lifetime: Option<u64>,
    #[serde(default, deserialize_with = "lenient_seconds", skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<u64>,
    /// Upstream's servers may leave it out (upstream's client then keeps the team it knew).
    #[serde(default, deserialize_with = "lenient_string", skip_serializing_if = "Option::is_none")]
    pub team_slug: Option<String>,
    #[serde(default, deserialize_with = "lenient_string", skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl TokenResponse {
    /// The hub's answer: both spellings of each lifetime, the team and the user.
    pub fn new(
        access: String,
        refresh: String,
        access_secs: u64,
        refresh_secs: u64,
        team_slug: String,
        username: String,
    ) -> TokenResponse {
        TokenResponse {
            access,
            refresh,
            access_lifetime: Some(access_secs),
            expires_in: Some(access_secs),
            refresh_lifetime: Some(refresh_secs),
            refresh_expires_in: Some(refresh_secs),
            team_slug: Some(team_slug),
            username: Some(username),
        }
    }

    /// `access_lifetime`, else `expires_in`, else 900.
    pub fn access_lifetime_secs(&self) -> u64 {
        first_nonzero(self.access_lifetime, self.expires_in).unwrap_or(DEFAULT_ACCESS_LIFETIME_SECS)
    }

    /// `refresh_lifetime`, else `refresh_expires_in`, else 604800.
    pub fn refresh_lifetime_secs(&self) -> u64 {
        first_nonzero(self.refresh_lifetime, self.refresh_expires_in).unwrap_or(DEFAULT_REFRESH_LIFETIME_SECS)
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access", &REDACTED)
            .field("refresh", &REDACTED)
            .field("access_lifetime", &self.access_lifetime)
            .field("expires_in", &self.expires_in)
            .field("refresh_lifetime", &self.refresh_lifetime)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("team_slug", &self.team_slug)
            .field("username", &self.username)
            .finish()
    }
}

fn first_nonzero(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.filter(|&s| s > 0).or(b.filter(|&s| s > 0))
}

/// A lifetime in seconds as a number or a numeric string; anything else (null, a negative or fractional
/// string, an object) reads as absent rather than failing the whole answer.
fn lenient_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.is_finite()).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A string, or absent for null (upstream's servers write `null` for a missing team).
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    })
}

/// `POST /api/v1/ws-token/` answer. Upstream's servers may send only `ws_token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsTokenResponse {
    pub ws_token: String,
    #[serde(default, deserialize_with = "lenient_seconds", skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

impl fmt::Debug for WsTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsTokenResponse").field("ws_token", &REDACTED).field("expires_in", &self.expires_in).finish()
    }
}

/// `POST /api/v1/events/batch/` body: events oldest first, each kept as the JSON it came as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRequest {
    pub events: Vec<Value>,
}

/// What the hub did with one event of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchStatus {
    Success,
    Duplicate,
    Rejected,
}

/// One entry of a batch answer's `results`, in the order the events were sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    pub event_id: String,
    pub status: BatchStatus,
    /// Why it was rejected, naming the field first (`/payload/title: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl BatchResult {
    pub fn success(event_id: impl Into<String>) -> BatchResult {
        BatchResult { event_id: event_id.into(), status: BatchStatus::Success, error: None }
    }

    pub fn duplicate(event_id: impl Into<String>) -> BatchResult {
        BatchResult { event_id: event_id.into(), status: BatchStatus::Duplicate, error: None }
    }

    pub fn rejected(event_id: impl Into<String>, error: impl Into<String>) -> BatchResult {
        BatchResult { event_id: event_id.into(), status: BatchStatus::Rejected, error: Some(error.into()) }
    }
}

/// `POST /api/v1/events/batch/` 200 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    pub results: Vec<BatchResult>,
}

/// One entry of a 400 answer's `details`: the same type the client's answer reader uses.
pub type ErrorDetail = super::answer::EventError;

/// Every error body: `{"error":"..."}`, with `details` on a 400 that names events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
}

impl ErrorBody {
    pub fn new(error: impl Into<String>) -> ErrorBody {
        ErrorBody { error: error.into(), details: None }
    }
}

/// One stored event and its arrival number in the team's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeqEvent {
    pub seq: u64,
    pub event: Value,
}

/// `GET /api/v1/events/?after=SEQ&limit=N` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<SeqEvent>,
    /// The cursor for the next page: the last `seq` given, or the request's `after` when none.
    pub next_after: u64,
    pub has_more: bool,
}

/// The status of a WebSocket `ack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckStatus {
    Accepted,
    Duplicate,
}

/// A frame the server sends on the WebSocket, tagged by `"type"`.
///
/// `work_packages` and the event envelope are JSON values: the hub fills them from the core's
/// [`crate::team_board`] cards and admitted events, and a client reading another server's frames takes what comes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame {
    /// First frame of every connection: the team's board.
    Snapshot {
        work_packages: Vec<Value>,
    },
    /// Another connection's accepted event: `{"type":"event", ...envelope}`.
    Event(Map<String, Value>),
    Ack {
        event_id: String,
        status: AckStatus,
    },
    /// `event_id` is written as `null` when the frame did not name one (e.g. text that is not JSON).
    Error {
        event_id: Option<String>,
        error: String,
        retryable: bool,
    },
    /// Every ping interval; Unix milliseconds.
    Ping {
        timestamp: u64,
    },
    /// The answer to a client's ping, echoing its timestamp exactly as it came.
    Pong {
        timestamp: Value,
    },
}

impl ServerFrame {
    /// `{"type":"event", ...envelope}`. An envelope that is not a JSON object (never admitted) is wrapped
    /// as no keys at all rather than panicking.
    pub fn event(envelope: Value) -> ServerFrame {
        match envelope {
            Value::Object(map) => ServerFrame::Event(map),
            _ => ServerFrame::Event(Map::new()),
        }
    }

    /// A non-retryable error frame.
    pub fn error(event_id: Option<String>, error: impl Into<String>) -> ServerFrame {
        ServerFrame::Error { event_id, error: error.into(), retryable: false }
    }

    /// The frame as one line of JSON text.
    pub fn to_text(&self) -> String {
        // Every variant is a map of strings, numbers, booleans and JSON values: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A frame a client sends on the WebSocket.
///
/// Read with [`ClientFrame::parse`] (or serde): `{"type":"event", ...envelope}`; a bare envelope (an object
/// with `event_id` and no `type`), as older clients send; `{"type":"ping"|"pong","timestamp":t}` with `t` of
/// any JSON type (missing reads as `null`) and extra keys ignored. Written, an event is always the tagged form.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    /// The envelope, without the `type` key.
    Event(Value),
    Ping {
        timestamp: Value,
    },
    Pong {
        timestamp: Value,
    },
}

/// Why a client's text is not a frame; the message is one line for the error frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame is not JSON: {0}")]
    NotJson(String),
    #[error("frame is not a JSON object")]
    NotObject,
    #[error("type: unknown frame type {0:?} (expected event, ping or pong)")]
    UnknownType(String),
    #[error("type: must be a string")]
    TypeNotString,
    #[error("frame has neither a type nor an event_id")]
    Untyped,
}

/// A client's frame.
impl crate::error_kind::ErrorKind for FrameError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

impl ClientFrame {
    /// Reads one text frame.
    pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
        let value: Value = serde_json::from_str(text).map_err(|e| FrameError::NotJson(e.to_string()))?;
        ClientFrame::from_value(value)
    }

    /// Reads one frame already parsed as JSON.
    pub fn from_value(value: Value) -> Result<ClientFrame, FrameError> {
        let Value::Object(mut map) = value else {
            return Err(FrameError::NotObject);
        };
        let kind = match map.get("type") {
            None => None,
            Some(Value::String(kind)) => Some(kind.clone()),
            Some(_) => return Err(FrameError::TypeNotString),
        };
        match kind.as_deref() {
            Some("event") => {
                map.shift_remove("type");
                Ok(ClientFrame::Event(Value::Object(map)))
            }
            Some("ping") => Ok(ClientFrame::Ping { timestamp: map.remove("timestamp").unwrap_or(Value::Null) }),
            Some("pong") => Ok(ClientFrame::Pong { timestamp: map.remove("timestamp").unwrap_or(Value::Null) }),
            Some(other) => Err(FrameError::UnknownType(other.to_string())),
            None if map.contains_key("event_id") => Ok(ClientFrame::Event(Value::Object(map))),
            None => Err(FrameError::Untyped),
        }
    }

    /// The frame as one line of JSON text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for ClientFrame {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            ClientFrame::Event(envelope) => {
                let fields = envelope.as_object();
                let mut map = serializer.serialize_map(Some(1 + fields.map_or(0, Map::len)))?;
                map.serialize_entry("type", "event")?;
                for (key, value) in fields.into_iter().flatten().filter(|(k, _)| k.as_str() != "type") {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            ClientFrame::Ping { timestamp } | ClientFrame::Pong { timestamp } => {
                let kind = if matches!(self, ClientFrame::Ping { .. }) { "ping" } else { "pong" };
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", kind)?;
                map.serialize_entry("timestamp", timestamp)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ClientFrame {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ClientFrame, D::Error> {
        ClientFrame::from_value(Value::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
