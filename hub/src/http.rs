//! The REST endpoints of contract §5.

use crate::auth::{TokenKind, decoy_hash, verify_password};
use crate::hub::{ApiError, Caller, Hub, bearer};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use spec_kitty_core::sync::wire::{
    BatchRequest, BatchResponse, EventsPage, MAX_BATCH_EVENTS, RefreshRequest, SeqEvent, TokenRequest, TokenResponse,
    WsTokenResponse,
};
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

type HubState = State<Arc<Hub>>;

/// How long a ws token lets a client open its WebSocket.
const WS_TOKEN_SECS: u64 = 60;

pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

pub async fn metrics(State(hub): HubState) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], hub.metrics.render()).into_response()
}

/// Reads a JSON body into `T`, answering 400 with the reason on one line.
fn json_body<T: DeserializeOwned>(body: &[u8], expected: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("expected {expected}: {e}")))
}

/// How long a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads the whole body, at most `limit` bytes (more is 413), within [`BODY_TIMEOUT`] (else 408).
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => {
            Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {limit} bytes")))
        }
        Err(_) => Err(ApiError::new(StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time")),
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)?
}

fn tokens(hub: &Hub, username: &str, team: &str, version: &str) -> Result<TokenResponse, ApiError> {
    let settings = &hub.settings;
    let (access, _) = hub
        .key
        .issue(username, team, version, TokenKind::Access, settings.access_ttl_secs)
        .map_err(ApiError::internal)?;
    let (refresh, claims) = hub
        .key
        .issue(username, team, version, TokenKind::Refresh, settings.refresh_ttl_secs)
        .map_err(ApiError::internal)?;
    hub.store.issue_refresh(&claims.jti, username, claims.exp).map_err(ApiError::internal)?;
    Ok(TokenResponse::new(
        access,
        refresh,
        settings.access_ttl_secs,
        settings.refresh_ttl_secs,
        team.to_string(),
        username.to_string(),
    ))
}

pub async fn token(State(hub): HubState, body: Body) -> Result<Json<TokenResponse>, ApiError> {
    let body = read_body(body, 64 * 1024).await?;
    let request: TokenRequest = json_body(&body, r#"{"username": ..., "password": ...}"#)?;
    let checks = Arc::clone(&hub);
    let permit = tokio::time::timeout(Duration::from_secs(10), checks.password_checks.acquire()).await;
    let Ok(Ok(_permit)) = permit else {
        let mut busy = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "too many logins at once; try again");
        busy.retry_after_secs = Some(1);
        return Err(busy);
    };
    blocking(move || {
        let user = hub.store.user(&request.username).map_err(ApiError::internal)?;
        // Verified against a decoy when the user is unknown, so timing does not reveal user names.
        let hash = user.as_ref().map_or(decoy_hash(), |u| u.password_hash.as_str());
        let password_ok = verify_password(&request.password, hash);
        match user {
            Some(user) if password_ok => {
                let version = crate::auth::account_version(&user.password_hash);
                tokens(&hub, &user.username, &user.team_slug, &version)
            }
            _ => Err(ApiError::new(StatusCode::UNAUTHORIZED, "Invalid credentials")),
        }
    })
    .await
    .map(Json)
}

pub async fn refresh(State(hub): HubState, body: Body) -> Result<Json<TokenResponse>, ApiError> {
    let body = read_body(body, 64 * 1024).await?;
    let request: RefreshRequest = json_body(&body, r#"{"refresh": ...}"#)?;
    blocking(move || {
        let claims = hub.key.verify(&request.refresh, TokenKind::Refresh).ok_or_else(ApiError::unauthorized)?;
        // Spent once: a replayed (stolen or stale) refresh token gets nothing.
        if !hub.store.spend_refresh(&claims.jti, &claims.sub).map_err(ApiError::internal)? {
            return Err(ApiError::unauthorized());
        }
        let caller = hub.caller(Some(&request.refresh), TokenKind::Refresh)?;
        tokens(&hub, &caller.username, &caller.team, &caller.version)
    })
    .await
    .map(Json)
}

pub async fn ws_token(State(hub): HubState, headers: HeaderMap) -> Result<Json<WsTokenResponse>, ApiError> {
    let caller = authenticated(&hub, &headers).await?;
    let (ws_token, _) = hub
        .key
        .issue(&caller.username, &caller.team, &caller.version, TokenKind::Ws, WS_TOKEN_SECS)
        .map_err(ApiError::internal)?;
    Ok(Json(WsTokenResponse { ws_token, expires_in: Some(WS_TOKEN_SECS) }))
}

async fn authenticated(hub: &Arc<Hub>, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = bearer(headers).map(str::to_string);
    let hub = Arc::clone(hub);
    blocking(move || hub.caller(token.as_deref(), TokenKind::Access)).await
}

/// Decompresses a gzip body (every member, as RFC 1952 allows; bytes after the last member are an
/// error), refusing to grow it past `limit` (a small body can be a gzip bomb).
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid gzip: {e}")))?;
    if out.len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body decompresses to more than {limit} bytes"),
        ));
    }
    Ok(out)
}

pub async fn batch(State(hub): HubState, headers: HeaderMap, body: Body) -> Result<Json<BatchResponse>, ApiError> {
    let started = Instant::now();
    let caller = authenticated(&hub, &headers).await?;
    if let Err(wait) = hub.rate_limit.check(&caller.username, Instant::now()) {
        let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too many batches; wait as Retry-After says");
        error.retry_after_secs = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        return Err(error);
    }
    // At most 2 uploads of one user at once (slow uploads of one user never hold up the others), and a
    // bounded number of batches being processed in memory; the others wait their turn.
    let Some(_upload) = hub.upload_slot(&caller.username) else {
        let mut busy = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "two uploads of this user are in progress; wait");
        busy.retry_after_secs = Some(1);
        return Err(busy);
    };
    let limit = hub.settings.max_body_bytes;
    let body = read_body(body, limit).await?;
    let _slot = hub.batches_in_flight.acquire().await.map_err(ApiError::internal)?;
    let encoding = match headers.get(header::CONTENT_ENCODING) {
        None => "identity".to_string(),
        Some(value) => String::from_utf8_lossy(value.as_bytes()).trim().to_ascii_lowercase(),
    };
    let hub_for_work = Arc::clone(&hub);
    let results = blocking(move || {
        let hub = hub_for_work;
        let plain = match encoding.as_str() {
            "gzip" | "x-gzip" => Bytes::from(gunzip(&body, limit)?),
            "identity" | "" => body,
            other => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("Content-Encoding `{other}` is not supported; send gzip or plain JSON"),
                ));
            }
        };
        let request: BatchRequest = json_body(&plain, r#"{"events": [...]}"#)?;
        if request.events.len() > MAX_BATCH_EVENTS {
            return Err(ApiError::bad_request(format!(
                "a batch holds at most {MAX_BATCH_EVENTS} events (got {})",
                request.events.len()
            )));
        }
        hub.ingest(&caller.team, request.events, 0)
    })
    .await?;
    hub.metrics.record_batch(started.elapsed());
    Ok(Json(BatchResponse { results }))
}

#[derive(Deserialize)]
pub struct PageQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

pub async fn events(
    State(hub): HubState,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EventsPage>, ApiError> {
    let caller = authenticated(&hub, &headers).await?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(format!("after and limit are numbers: {e}")))?;
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    blocking(move || {
        // One more than asked tells whether more follow.
        let mut rows = hub.store.events_after(&caller.team, after, limit + 1).map_err(ApiError::internal)?;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let next_after = rows.last().map_or(after, |row| row.seq);
        let events = rows
            .into_iter()
            .map(|row| SeqEvent { seq: row.seq, event: serde_json::from_str(&row.data).unwrap_or_default() })
            .collect();
        Ok(EventsPage { events, next_after, has_more })
    })
    .await
    .map(Json)
}

pub async fn board(State(hub): HubState, headers: HeaderMap) -> Result<Response, ApiError> {
    let caller = authenticated(&hub, &headers).await?;
    let board = blocking(move || hub.board(&caller.team)).await?;
    Ok(Json(&board.json).into_response())
}

/// Upstream's 2.x client also uploads mission-dossier artifact bodies; this hub keeps only events.
/// `namespace_not_found` is the answer that client reads as "this server has no place for them" and
/// stops retrying (any other 404 it retries with backoff, for nothing).
pub async fn no_dossier_store() -> Response {
    let body = serde_json::json!({"error": "namespace_not_found"});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "this endpoint does not take that method")
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}
