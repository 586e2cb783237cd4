//! The running hub's shared state, and what its handlers have in common: who is calling, errors as
//! one-line JSON, and storing a team's events with the core's admission rules.

use crate::auth::{SigningKey, TokenKind};
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::store::{EventStore, NewEvent, Stored};
use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use spec_kitty_core::ingest::admit_event;
use spec_kitty_core::sync::wire::{BatchResult, ErrorBody};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};

/// Limits and lifetimes, from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_body_bytes: usize,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub ping_interval_secs: u64,
}

/// An accepted event on its way to the team's other WebSocket connections.
#[derive(Clone)]
pub struct Fanout {
    /// The connection it came from (0: from the batch endpoint), which does not get it back.
    pub from_connection: u64,
    pub frame: Arc<str>,
}

/// The largest event the hub stores: real events are under a few KiB; one huge event would be in every
/// board fold and snapshot from then on.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// How many fan-out frames may wait for one connection before it is dropped as not reading.
pub const FANOUT_BACKLOG: usize = 1000;

pub struct Hub {
    pub store: Arc<dyn EventStore>,
    pub key: SigningKey,
    pub settings: Settings,
    pub metrics: Metrics,
    pub rate_limit: RateLimiter,
    teams: Mutex<HashMap<String, broadcast::Sender<Fanout>>>,
    boards: Mutex<HashMap<String, BoardSlot>>,
    /// Password checks at once: each argon2 check takes ~19 MiB, so a flood of logins must queue.
    pub password_checks: tokio::sync::Semaphore,
    /// Batches being validated and stored at once (after their body arrived): each holds up to a few
    /// times the body cap in memory.
    pub batches_in_flight: tokio::sync::Semaphore,
    /// Uploads in progress per user: a user's slow uploads cannot take the slots of everyone else.
    uploads: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
    /// WebSocket events per second per user (the batch limit is per request).
    pub ws_rate_limit: RateLimiter,
    /// Turns true when the hub stops: WebSockets close with 1001.
    pub stopping: watch::Receiver<bool>,
}

/// A team's board as of arrival number `seq`, as JSON and as the WebSocket's first frame.
pub struct BoardSnapshot {
    pub seq: u64,
    pub json: serde_json::Value,
    pub snapshot_frame: String,
}

/// A team's cached board; its own lock makes concurrent requests share one fold.
type BoardSlot = Arc<Mutex<Option<Arc<BoardSnapshot>>>>;

/// The caller of an authenticated request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub username: String,
    pub team: String,
    /// [`crate::auth::account_version`] of the account now.
    pub version: String,
}

/// An error answer: a status and a one-line JSON body `{"error": ...}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), retry_after_secs: None }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "Token expired or invalid")
    }

    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {error}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the hub's log")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let one_line = self.message.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut response = (self.status, Json(ErrorBody::new(one_line))).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl Hub {
    pub fn new(
        store: Arc<dyn EventStore>,
        key: SigningKey,
        settings: Settings,
        rate_per_second: u32,
        stopping: watch::Receiver<bool>,
    ) -> Hub {
        Hub {
            store,
            key,
            settings,
            metrics: Metrics::default(),
            rate_limit: RateLimiter::new(rate_per_second),
            teams: Mutex::new(HashMap::new()),
            boards: Mutex::new(HashMap::new()),
            password_checks: tokio::sync::Semaphore::new(4),
            batches_in_flight: tokio::sync::Semaphore::new(8),
            uploads: Mutex::new(HashMap::new()),
            ws_rate_limit: RateLimiter::new(rate_per_second.saturating_mul(50)),
            stopping,
        }
    }

    /// Checks a token of `kind`: our signature, not expired, and its user still exists in its team.
    pub fn caller(&self, token: Option<&str>, kind: TokenKind) -> Result<Caller, ApiError> {
        let claims = token.and_then(|t| self.key.verify(t, kind)).ok_or_else(ApiError::unauthorized)?;
        match self.store.user(&claims.sub).map_err(ApiError::internal)? {
            Some(user)
                if user.team_slug == claims.team && crate::auth::account_version(&user.password_hash) == claims.ver =>
            {
                let version = claims.ver;
                Ok(Caller { username: user.username, team: user.team_slug, version })
            }
            _ => Err(ApiError::unauthorized()),
        }
    }

    /// One of the user's upload slots (2 at once), or `None` when both are busy.
    pub fn upload_slot(&self, user: &str) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let semaphore = {
            let mut uploads = self.uploads.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(uploads.entry(user.to_string()).or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(2))))
        };
        semaphore.try_acquire_owned().ok()
    }

    /// The team's fan-out channel, created on first use.
    pub fn team_channel(&self, team: &str) -> broadcast::Sender<Fanout> {
        let mut teams = self.teams.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        teams.entry(team.to_string()).or_insert_with(|| broadcast::channel(FANOUT_BACKLOG).0).clone()
    }

    /// Admits the events with the core's rules and stores the admitted ones in one transaction;
    /// one result per event, in order. Blocking: call it off the async threads. New events are fanned
    /// out to the team's WebSockets (but the one they came from).
    pub fn ingest(
        &self,
        team: &str,
        events: Vec<serde_json::Value>,
        from_connection: u64,
    ) -> Result<Vec<BatchResult>, ApiError> {
        let mut results: Vec<Option<BatchResult>> = Vec::with_capacity(events.len());
        let mut admitted = Vec::new();
        let mut slots = Vec::new();
        for (index, event) in events.into_iter().enumerate() {
            match admit_event(event, team) {
                Ok(ok) => {
                    let data = ok.event.to_string();
                    if data.len() > MAX_EVENT_BYTES {
                        let error = format!("(event): {} bytes; an event holds at most {MAX_EVENT_BYTES}", data.len());
                        results.push(Some(BatchResult::rejected(ok.event_id, error)));
                        continue;
                    }
                    slots.push(index);
                    admitted.push((ok, data));
                    results.push(None);
                }
                Err(rejection) => {
                    let id = rejection.event_id.unwrap_or_default();
                    results.push(Some(BatchResult::rejected(id, rejection.error)));
                }
            }
        }
        let rows: Vec<NewEvent> = admitted
            .iter()
            .map(|(a, data)| NewEvent {
                event_id: a.event_id.clone(),
                event_type: a.event_type.clone(),
                lamport_clock: a.lamport_clock,
                node_id: a.node_id.clone(),
                data: data.clone(),
            })
            .collect();
        let stored = if rows.is_empty() {
            Vec::new()
        } else {
            self.store.append(team, &rows, crate::auth::now_ms()).map_err(ApiError::internal)?
        };
        let channel = self.team_channel(team);
        // The fan-out frame is built only when a connection of the team listens.
        let listening = channel.receiver_count() > 0;
        let (mut new, mut duplicates) = (0, 0);
        for ((slot, outcome), (admitted, _)) in slots.into_iter().zip(stored).zip(admitted) {
            results[slot] = Some(match outcome {
                Stored::New { .. } => {
                    new += 1;
                    if listening {
                        let frame = spec_kitty_core::sync::wire::ServerFrame::event(admitted.event).to_text();
                        // A send fails only when everyone left meanwhile: nobody to tell.
                        let _ = channel.send(Fanout { from_connection, frame: frame.into() });
                    }
                    BatchResult::success(admitted.event_id)
                }
                Stored::Duplicate => {
                    duplicates += 1;
                    BatchResult::duplicate(admitted.event_id)
                }
            });
        }
        let results: Vec<BatchResult> = results.into_iter().flatten().collect();
        let rejected = results.len() as u64 - new - duplicates;
        self.metrics.count(&self.metrics.events_accepted, new);
        self.metrics.count(&self.metrics.events_duplicate, duplicates);
        self.metrics.count(&self.metrics.events_rejected, rejected);
        Ok(results)
    }

    /// The team's board, folded by the core from every event the team has. Folded once per change of
    /// the team's events and shared: a reconnect storm (every client after a restart) folds once, the
    /// others wait for that fold and reuse it. Blocking: call it off the async threads.
    pub fn board(&self, team: &str) -> Result<Arc<BoardSnapshot>, ApiError> {
        let slot = {
            let mut boards = self.boards.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(boards.entry(team.to_string()).or_default())
        };
        let mut cached = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let latest = self.store.latest_seq(team).map_err(ApiError::internal)?;
        if let Some(board) = cached.as_ref().filter(|board| board.seq == latest) {
            return Ok(Arc::clone(board));
        }
        let texts = self.store.all_events(team).map_err(ApiError::internal)?;
        let events: Vec<serde_json::Value> = texts.iter().filter_map(|t| serde_json::from_str(t).ok()).collect();
        drop(texts);
        let board = spec_kitty_core::team_board::TeamBoard::from_events(&events);
        drop(events);
        let json = serde_json::to_value(&board).map_err(ApiError::internal)?;
        let work_packages = json.get("work_packages").cloned().unwrap_or_default();
        let snapshot_frame = format!("{{\"type\":\"snapshot\",\"work_packages\":{work_packages}}}");
        let snapshot = Arc::new(BoardSnapshot { seq: latest, json, snapshot_frame });
        *cached = Some(Arc::clone(&snapshot));
        Ok(snapshot)
    }
}
