//! `sync status` and `sync queue`: what waits in the offline queue. Reads only; never creates state.

use crate::app::Report;
use crate::credentials;
use crate::queue::OfflineQueue;
use crate::state::StateDir;
use anyhow::Result;
use serde_json::{Value, json};
use spec_kitty_core::sync::connection::ConnectionState;
use spec_kitty_core::time::rfc3339_seconds;

pub fn status() -> Result<Report> {
    let state = StateDir::locate();
    let session = credentials::read_session(&state);
    let queue = OfflineQueue::open_for_reading(&state.queue_db())?;
    let summary = queue.as_ref().map(OfflineQueue::summary).transpose()?;
    // This build queues only; sync to a server is not wired yet, so the connection is Offline.
    let connection = ConnectionState::Offline;
    let seconds = |s: Option<i64>| s.map(|s| rfc3339_seconds(s.max(0) as u64 * 1000));
    let (len, held, dead, refused, oldest, last_sync) = match &summary {
        Some(s) => (
            s.len,
            s.held_for_login,
            s.dead_letters,
            s.refused_total,
            seconds(s.oldest_enqueued_at),
            seconds(s.last_sync_at),
        ),
        None => (0, 0, 0, 0, None, None),
    };
    let auth = match &session {
        Some(s) => format!("logged in as {} to team {}", s.username.as_deref().unwrap_or("?"), s.team_slug),
        None => "not logged in".to_string(),
    };
    let mut lines = vec![
        format!("Connection:   {connection}"),
        format!("Auth:         {auth}"),
        format!(
            "Queue:        {len} event(s) waiting{}",
            oldest.as_ref().map(|o| format!(", oldest queued {o}")).unwrap_or_default()
        ),
        format!("Last sync:    {}", last_sync.clone().unwrap_or_else(|| "never".into())),
        format!("State folder: {}", state.root().display()),
    ];
    if held > 0 {
        lines.push(format!("Held:         {held} event(s) wait for a login (`team_slug` is local until then)"));
    }
    if refused > 0 {
        lines.push(format!("Refused:      {refused} event(s) were refused because the queue was full"));
    }
    if dead > 0 {
        lines.push(format!("Dead letters: {dead} event(s) the server rejected for good"));
    }
    Ok(Report {
        human: lines.join("\n"),
        json: json!({
            "connection": connection.to_string(),
            "authenticated": session.is_some(),
            "team_slug": session.as_ref().map(|s| s.team_slug.clone()),
            "queue_size": len,
            "held_for_login": held,
            "refused_total": refused,
            "dead_letters": dead,
            "oldest_queued_at": oldest,
            "last_sync_at": last_sync,
            "state_dir": state.root(),
        }),
    })
}

pub fn queue() -> Result<Report> {
    let state = StateDir::locate();
    let rows = match OfflineQueue::open_for_reading(&state.queue_db())? {
        Some(queue) => queue.oldest_first(usize::MAX >> 1)?,
        None => Vec::new(),
    };
    let events: Vec<Value> = rows.iter().filter_map(|row| serde_json::from_str(row).ok()).collect();
    if events.len() < rows.len() {
        crate::errln!(
            "warning: {} row(s) of {} are not JSON envelopes; they are not shown",
            rows.len() - events.len(),
            state.queue_db().display()
        );
    }
    let human = if events.is_empty() {
        "the queue is empty".to_string()
    } else {
        events
            .iter()
            .map(|e| {
                let text = |k: &str| e[k].as_str().unwrap_or("").to_string();
                format!(
                    "{:>6}  {}  {:<18} {:<10} {}",
                    e["lamport_clock"],
                    text("event_id"),
                    text("event_type"),
                    text("aggregate_id"),
                    text("timestamp")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(Report { human, json: Value::Array(events) })
}
