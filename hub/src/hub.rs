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

/// How many fan-out frames may wait for one connection before it is dropped as not reading.
pub const FANOUT_BACKLOG: usize = 1000;

pub struct Hub {
    pub store: Arc<dyn EventStore>,
    pub key: SigningKey,
    pub settings: Settings,
    pub metrics: Metrics,
    pub rate_limit: RateLimiter,
    teams: Mutex<HashMap<String, broadcast::Sender<Fanout>>>,
    /// Turns true when the hub stops: WebSockets close with 1001.
    pub stopping: watch::Receiver<bool>,
}

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
                    slots.push(index);
                    admitted.push(ok);
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
            .map(|a| NewEvent {
                event_id: a.event_id.clone(),
                event_type: a.event_type.clone(),
                lamport_clock: a.lamport_clock,
                node_id: a.node_id.clone(),
                data: a.event.to_string(),
            })
            .collect();
        let stored = if rows.is_empty() {
            Vec::new()
        } else {
            self.store.append(team, &rows, crate::auth::now_ms()).map_err(ApiError::internal)?
        };
        let channel = self.team_channel(team);
        let (mut new, mut duplicates) = (0, 0);
        for ((slot, outcome), admitted) in slots.into_iter().zip(stored).zip(admitted) {
            results[slot] = Some(match outcome {
                Stored::New { .. } => {
                    new += 1;
                    let frame = spec_kitty_core::sync::wire::ServerFrame::event(admitted.event).to_text();
                    // No receiver is not an error: nobody of the team is connected.
                    let _ = channel.send(Fanout { from_connection, frame: frame.into() });
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

    /// The team's board, folded by the core from every event the team has.
    pub fn board(&self, team: &str) -> Result<serde_json::Value, ApiError> {
        let texts = self.store.all_events(team).map_err(ApiError::internal)?;
        let events: Vec<serde_json::Value> = texts.iter().filter_map(|t| serde_json::from_str(t).ok()).collect();
        let board = spec_kitty_core::team_board::TeamBoard::from_events(&events);
        serde_json::to_value(&board).map_err(ApiError::internal)
    }
}
