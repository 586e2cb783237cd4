//! The WebSocket `/ws/v1/events/`: the team's board first, then events both ways.

use crate::auth::TokenKind;
use crate::hub::{ApiError, Caller, Fanout, Hub, bearer};
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use spec_kitty_core::sync::wire::{AckStatus, BatchStatus, ClientFrame, ServerFrame};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// A client that does not take a frame within this time is dropped (it does not read).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn upgrade(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    query: Result<Query<TokenQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    // The header, or `?token=` for browsers, which cannot set headers on a WebSocket.
    let query = query.map(|Query(q)| q.token).unwrap_or_default();
    let token = bearer(&headers).map(str::to_string).or(query);
    let checker = Arc::clone(&hub);
    let caller = tokio::task::spawn_blocking(move || checker.caller(token.as_deref(), TokenKind::Ws))
        .await
        .map_err(ApiError::internal)??;
    let upgrade = upgrade.map_err(|e| ApiError::bad_request(format!("not a WebSocket upgrade: {e}")))?;
    // One message is at most one batch body; larger is refused by the protocol (close 1009).
    let cap = hub.settings.max_body_bytes;
    // Small buffers: most connections idle, and 1,000 of them at the 128 KiB default cost 130 MiB.
    let upgrade =
        upgrade.max_message_size(cap).max_frame_size(cap).read_buffer_size(8 * 1024).write_buffer_size(8 * 1024);
    Ok(upgrade.on_upgrade(move |socket| async move {
        hub.metrics.websockets_open.fetch_add(1, Ordering::Relaxed);
        let team = caller.team.clone();
        if let Err(reason) = connection(&hub, caller, socket).await {
            tracing::info!(team = %team, "websocket closed: {reason}");
        }
        hub.metrics.websockets_open.fetch_sub(1, Ordering::Relaxed);
    }))
}

async fn send(socket: &mut WebSocket, text: impl Into<Utf8Bytes>) -> Result<(), String> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("send failed: {e}")),
        Err(_) => Err("the client does not read".into()),
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

async fn connection(hub: &Arc<Hub>, caller: Caller, mut socket: WebSocket) -> Result<(), String> {
    let me = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    // Subscribed before the snapshot is read, so no event falls between the two.
    let mut fanout = hub.team_channel(&caller.team).subscribe();
    let snapshot = {
        let (hub, team) = (Arc::clone(hub), caller.team.clone());
        tokio::task::spawn_blocking(move || hub.board(&team)).await.map_err(|e| e.to_string())?
    };
    let snapshot = snapshot.map_err(|error| error.message)?;
    send(&mut socket, snapshot.snapshot_frame.clone()).await?;

    let mut stopping = hub.stopping.clone();
    let period = Duration::from_secs(hub.settings.ping_interval_secs.max(1));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = answer(hub, &caller, me, text.as_str()).await {
                        send(&mut socket, reply).await?;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    send(&mut socket, ServerFrame::error(None, "frames are JSON text").to_text()).await?;
                }
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Ok(_)) => {} // WebSocket-level ping/pong: answered by the library
                Some(Err(e)) => return Err(format!("receive failed: {e}")),
            },
            event = fanout.recv() => match event {
                Ok(Fanout { from_connection, frame }) if from_connection != me => send(&mut socket, frame.to_string()).await?,
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    close(&mut socket, 1008, "too many events waiting: reconnect and catch up by batch").await;
                    return Err("dropped: it did not keep up".into());
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = ping.tick() => {
                let frame = ServerFrame::Ping { timestamp: crate::auth::now_ms() };
                send(&mut socket, frame.to_text()).await?;
            }
            _ = stopping.changed() => {
                close(&mut socket, 1001, "the hub is stopping").await;
                return Ok(());
            }
        }
    }
}

/// The answer to one text frame from the client (none to a pong).
async fn answer(hub: &Arc<Hub>, caller: &Caller, me: u64, text: &str) -> Option<String> {
    let event = match ClientFrame::parse(text) {
        Ok(ClientFrame::Event(event)) => event,
        Ok(ClientFrame::Ping { timestamp }) => return Some(ServerFrame::Pong { timestamp }.to_text()),
        Ok(ClientFrame::Pong { .. }) => return None,
        Err(error) => return Some(ServerFrame::error(None, error.to_string()).to_text()),
    };
    if hub.ws_rate_limit.check(&caller.username, std::time::Instant::now()).is_err() {
        let id = event.get("event_id").and_then(|v| v.as_str()).map(str::to_string);
        return Some(
            ServerFrame::Error { event_id: id, error: "too many events; slow down".into(), retryable: true }.to_text(),
        );
    }
    let (hub, team, username) = (Arc::clone(hub), caller.team.clone(), caller.username.clone());
    let version = caller.version.clone();
    let result = tokio::task::spawn_blocking(move || {
        // The user may have been removed (or given a new password) since the socket opened.
        match hub.store.user(&username) {
            Ok(Some(user))
                if user.team_slug == team && crate::auth::account_version(&user.password_hash) == version => {}
            Ok(_) => return Err(ApiError::unauthorized()),
            Err(e) => return Err(ApiError::internal(e)),
        }
        hub.ingest(&team, vec![event], me)
    })
    .await;
    let frame = match result {
        Ok(Ok(mut results)) => match results.pop() {
            Some(result) => match result.status {
                BatchStatus::Success => ServerFrame::Ack { event_id: result.event_id, status: AckStatus::Accepted },
                BatchStatus::Duplicate => ServerFrame::Ack { event_id: result.event_id, status: AckStatus::Duplicate },
                BatchStatus::Rejected => {
                    let id = Some(result.event_id).filter(|id| !id.is_empty());
                    ServerFrame::error(id, result.error.unwrap_or_default())
                }
            },
            None => ServerFrame::error(None, "no answer"),
        },
        Ok(Err(error)) if error.status == axum::http::StatusCode::UNAUTHORIZED => {
            ServerFrame::Error { event_id: None, error: error.message, retryable: false }
        }
        Ok(Err(error)) => ServerFrame::Error { event_id: None, error: error.message, retryable: true },
        Err(error) => ServerFrame::Error { event_id: None, error: error.to_string(), retryable: true },
    };
    Some(frame.to_text())
}
