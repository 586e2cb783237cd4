//! `sync status` and `sync queue`: what waits in the offline queue. Reads only; never creates state.

use crate::app::Report;
use crate::credentials;
use crate::hub_session::{HubSession, SystemClock};
use crate::queue::OfflineQueue;
use crate::state::StateDir;
use anyhow::{Result, bail};
use serde_json::{Value, json};
use spec_kitty_core::sync::drain::{DrainConfig, DrainProgress, DrainReport, DrainStop, drain};
use spec_kitty_core::sync::shown_state::{SyncFacts, shown_connection};
use spec_kitty_core::time::rfc3339_seconds;

pub fn status() -> Result<Report> {
    let state = StateDir::locate();
    let session = credentials::read_session(&state);
    let queue = OfflineQueue::open_for_reading(&state.queue_db())?;
    let summary = queue.as_ref().map(OfflineQueue::summary).transpose()?;
    // The daemon holds the live connection and reports its state; the core picks what to show.
    let connection =
        shown_connection(&SyncFacts { logged_in: session.is_some(), daemon: crate::daemon::reported_state(&state) });
    let server = credentials::read(&state).ok().flatten().map(|c| c.server.url);
    let seconds = |s: Option<i64>| s.map(|s| rfc3339_seconds(s.max(0) as u64 * 1000));
    let (len, held, dead, refused, oldest, last_sync, last_count) = match &summary {
        Some(s) => (
            s.len,
            s.held_for_login,
            s.dead_letters,
            s.refused_total,
            seconds(s.oldest_enqueued_at),
            seconds(s.last_sync_at),
            s.last_sync_count,
        ),
        None => (0, 0, 0, 0, None, None, None),
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
        format!(
            "Server:       {}",
            server.clone().unwrap_or_else(|| "none (log in with `spec-kitty auth login`)".into())
        ),
        format!(
            "Last sync:    {}",
            match (&last_sync, last_count) {
                (Some(at), Some(count)) => format!("{at} ({count} event(s))"),
                (Some(at), None) => at.clone(),
                _ => "never".into(),
            }
        ),
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
            "last_sync_count": last_count,
            "server": server,
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

/// Refuses more than one drain of a state folder at a time; waits a little for one that is ending.
fn sync_lock(state: &StateDir) -> Result<std::fs::File> {
    state.ensure()?;
    let path = state.root().join("sync.lock");
    let file = crate::file_lock::open(&path)?;
    let wait = crate::queue::busy_timeout();
    crate::file_lock::lock_until(&file, &path, std::time::Instant::now() + wait).map_err(|_| {
        anyhow::anyhow!("another sync of {} is running (the daemon or a `sync now`)", state.root().display())
    })?;
    Ok(file)
}

/// A progress bar on a terminal when the drain needs more than one batch.
fn progress_bar(total: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if total <= spec_kitty_core::sync::wire::MAX_BATCH_EVENTS || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events sent ({per_sec})") {
        bar.set_style(style);
    }
    Some(bar)
}

pub fn now() -> Result<Report> {
    let state = StateDir::locate();
    let mut session = HubSession::open(StateDir::locate())?;
    let _lock = sync_lock(&state)?;
    let mut queue = OfflineQueue::open(&state.queue_db(), crate::queue::busy_timeout())?;
    let total = spec_kitty_core::sync::drain::QueueStore::len(&mut queue).map_err(anyhow::Error::msg)?;
    let bar = progress_bar(total);
    let mut on_progress = |progress: DrainProgress| {
        if let Some(bar) = &bar {
            bar.set_length(progress.total_at_start.max(progress.done) as u64);
            bar.set_position(progress.done as u64);
        }
    };
    let config = DrainConfig::default();
    let report = drain(&mut queue, &mut session, &mut SystemClock, &config, &mut on_progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let acknowledged = report.accepted + report.duplicates;
    if acknowledged > 0 {
        let _ = queue.record_sync((crate::emitter::now_ms() / 1000) as i64, acknowledged);
    }
    let summary = summary_line(&report, &session.credentials.server.url);
    let json = json!({
        "ok": report.rejected == 0 && report.dead_lettered == 0 && report.stopped.is_none(),
        "server": session.credentials.server.url,
        "batches": report.batches, "sent": report.sent, "accepted": report.accepted,
        "duplicates": report.duplicates, "rejected": report.rejected, "dead_lettered": report.dead_lettered,
        "still_queued": report.remaining,
        "stopped": report.stopped.as_ref().map(stop_text),
    });
    // Exit 1 when the hub refused events, or nothing could be sent of a non-empty queue.
    let failed = report.rejected > 0 || report.dead_lettered > 0 || (report.stopped.is_some() && report.remaining > 0);
    if failed {
        return Err(crate::app::SyncFailed { summary, json }.into());
    }
    Ok(Report { human: summary, json })
}

fn stop_text(stop: &DrainStop) -> String {
    match stop {
        DrainStop::LoginRequired { reason } => format!("log in again: {reason}"),
        DrainStop::OtherTeam => "the queue holds events of another team: log in to that team to send them".into(),
        DrainStop::GaveUp { reason } => format!("gave up for now: {reason}"),
        DrainStop::Store { reason } => format!("the queue could not be updated: {reason}"),
    }
}

fn summary_line(report: &DrainReport, server: &str) -> String {
    let mut line = format!(
        "synced to {server}: {} sent in {} batch(es): {} accepted, {} duplicate(s), {} rejected, {} dead-lettered; {} still queued",
        report.sent,
        report.batches,
        report.accepted,
        report.duplicates,
        report.rejected,
        report.dead_lettered,
        report.remaining
    );
    if let Some(stop) = &report.stopped {
        line.push_str(&format!("; {}", stop_text(stop)));
    }
    line
}

pub fn dead_letters() -> Result<Report> {
    let state = StateDir::locate();
    let letters = match OfflineQueue::open_for_reading(&state.queue_db())? {
        Some(queue) => queue.dead_letters()?,
        None => Vec::new(),
    };
    let human = if letters.is_empty() {
        "no dead letters".to_string()
    } else {
        letters
            .iter()
            .map(|l| format!("{}  {:<18} tries {}  {}", l.event_id, l.event_type, l.retry_count, l.reason))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(Report { human, json: serde_json::to_value(&letters)? })
}

pub fn retry_dead() -> Result<Report> {
    let state = StateDir::locate();
    if !state.queue_db().exists() {
        bail!("no queue in {}", state.root().display());
    }
    let mut queue = OfflineQueue::open(&state.queue_db(), crate::queue::busy_timeout())?;
    let moved = queue.retry_dead_letters()?;
    Ok(Report {
        human: format!("{moved} dead letter(s) back in the queue; `spec-kitty sync now` sends them"),
        json: json!({"ok": true, "requeued": moved}),
    })
}

pub fn daemon() -> Result<Report> {
    crate::daemon::run_foreground()?;
    Ok(Report { human: String::new(), json: json!({"ok": true}) })
}

pub fn start() -> Result<Report> {
    let pid = crate::daemon::start()?;
    let log = crate::daemon::log_file(&StateDir::locate());
    Ok(Report {
        human: format!("sync daemon running (pid {pid}); log: {}", log.display()),
        json: json!({"ok": true, "pid": pid, "log": log}),
    })
}

pub fn stop() -> Result<Report> {
    let stopped = crate::daemon::stop()?;
    Ok(Report {
        human: match stopped {
            Some(pid) => format!("sync daemon stopped (pid {pid})"),
            None => "no sync daemon was running".into(),
        },
        json: json!({"ok": true, "stopped_pid": stopped}),
    })
}
