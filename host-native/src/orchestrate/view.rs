//! What a run shows: on a terminal, a table of the WPs (lane, what happens, agent, try, elapsed)
//! redrawn in place with the latest messages under it; otherwise one plain line per thing that happens.

use serde_json::{Value, json};
use spec_kitty_core::WpId;
use spec_kitty_core::orchestrate::state::{OrchestrationState, WpStatus, WpStep};
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// One WP as the table and `--status` show it.
pub struct Row {
    pub wp: WpId,
    pub lane: String,
    pub doing: String,
    pub agent: String,
    pub try_number: String,
    pub elapsed: String,
}

pub struct View {
    live: bool,
    /// Plain lines go to stderr when stdout is reserved for the JSON document.
    lines_to_stderr: bool,
    drawn: usize,
    last_draw: Option<Instant>,
    messages: VecDeque<String>,
    footer: Option<String>,
}

impl View {
    pub fn new(json: bool) -> View {
        let terminal = std::io::stdout().is_terminal() && std::env::var_os("TERM").is_some_and(|term| term != "dumb");
        View {
            live: terminal && !json,
            lines_to_stderr: json,
            drawn: 0,
            last_draw: None,
            messages: VecDeque::new(),
            footer: None,
        }
    }

    pub fn is_live(&self) -> bool {
        self.live
    }

    /// A line under the live table (where the run's other messages go).
    pub fn set_footer(&mut self, footer: String) {
        self.footer = Some(footer);
    }

    /// Something that happened: a plain line, or one of the latest messages under the table.
    pub fn say(&mut self, line: impl Into<String>) {
        let line = line.into();
        if self.live {
            self.messages.push_back(line);
            while self.messages.len() > 5 {
                self.messages.pop_front();
            }
            self.last_draw = None;
        } else if self.lines_to_stderr {
            crate::errln!("{line}");
        } else {
            crate::outln!("{line}");
        }
    }

    /// Redraws the table (at most 4 times a second unless something was said).
    pub fn refresh(&mut self, state: &OrchestrationState, now_ms: u64) {
        if !self.live || self.last_draw.is_some_and(|at| at.elapsed() < Duration::from_millis(250)) {
            return;
        }
        self.last_draw = Some(Instant::now());
        let mut text = String::new();
        if self.drawn > 0 {
            text.push_str(&format!("\x1b[{}A\x1b[J", self.drawn));
        }
        let mut lines = table(state, now_ms);
        lines.extend(self.messages.iter().map(|m| format!("  {m}")));
        if let Some(footer) = &self.footer {
            lines.push(format!("  {footer}"));
        }
        // A line wider than the terminal would wrap, and the redraw would miss its second row.
        let width = terminal_width().saturating_sub(1).max(20);
        for line in &lines {
            text.extend(line.chars().take(width));
            text.push('\n');
        }
        self.drawn = lines.len();
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    }

    /// The last drawing, forced, so the final table stays on screen.
    pub fn finish(&mut self, state: &OrchestrationState, now_ms: u64) {
        self.last_draw = None;
        self.refresh(state, now_ms);
    }
}

/// The terminal's columns (80 when it cannot say).
fn terminal_width() -> usize {
    #[cfg(unix)]
    {
        let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCGWINSZ writes a winsize into the struct given, which lives across the call.
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
        if ok && size.ws_col > 0 {
            return usize::from(size.ws_col);
        }
    }
    80
}

/// The table's lines: a heading, then one row per WP.
pub fn table(state: &OrchestrationState, now_ms: u64) -> Vec<String> {
    let done = state.count(WpStatus::Done);
    let mut lines = vec![format!(
        "{} (run {}): {}, {done}/{} done, {}",
        state.feature_slug,
        state.run_id,
        state.status.as_str(),
        state.work_packages.len(),
        elapsed(state.finished_at_ms.unwrap_or(now_ms).saturating_sub(state.started_at_ms))
    )];
    lines.push(format!("{:<5} {:<11} {:<34} {:<16} {:<4} {}", "WP", "LANE", "NOW", "AGENT", "TRY", "ELAPSED"));
    for row in rows(state, now_ms) {
        lines.push(format!(
            "{:<5} {:<11} {:<34} {:<16} {:<4} {}",
            row.wp.as_str(),
            row.lane,
            row.doing,
            row.agent,
            row.try_number,
            row.elapsed
        ));
    }
    lines
}

pub fn rows(state: &OrchestrationState, now_ms: u64) -> Vec<Row> {
    state
        .work_packages
        .iter()
        .map(|(wp, run)| {
            let agent = run.agent_run();
            let doing = match (run.status, &run.step) {
                (WpStatus::Done, _) => "done".to_string(),
                (WpStatus::Failed, _) => "failed".to_string(),
                (WpStatus::Skipped, _) => "skipped".to_string(),
                (WpStatus::Pending, _) if state.blocked_by_failure(wp) => "blocked by a failed dependency".to_string(),
                (WpStatus::Pending, _) => {
                    let waiting = run.dependencies.iter().any(|d| {
                        state
                            .work_packages
                            .get(d)
                            .is_some_and(|d| !matches!(d.status, WpStatus::Done | WpStatus::Skipped))
                    });
                    if waiting { "waiting for dependencies".to_string() } else { "ready".to_string() }
                }
                (WpStatus::InProgress, Some(WpStep::MoveLane { to, .. })) => format!("moving to {to}"),
                (WpStatus::InProgress, Some(WpStep::AwaitAgent { phase })) => {
                    format!("{phase}: waiting for an agent")
                }
                (WpStatus::InProgress, Some(WpStep::Agent(agent))) if agent.stop.is_some() => "stopping".to_string(),
                (WpStatus::InProgress, Some(WpStep::Agent(agent))) => match agent.phase {
                    spec_kitty_core::orchestrate::Phase::Implementation => "implementing".to_string(),
                    spec_kitty_core::orchestrate::Phase::Review => "reviewing".to_string(),
                },
                (WpStatus::InProgress, None) => "in progress".to_string(),
            };
            let since = match (run.status, agent) {
                (WpStatus::InProgress, Some(agent)) => agent.started_at_ms.map(|at| now_ms.saturating_sub(at)),
                (WpStatus::Done, _) => {
                    run.completed_at_ms.zip(run.started_at_ms).map(|(end, start)| end.saturating_sub(start))
                }
                (WpStatus::InProgress, None) => run.started_at_ms.map(|at| now_ms.saturating_sub(at)),
                _ => None,
            };
            Row {
                wp: wp.clone(),
                lane: run.lane.to_string(),
                doing,
                agent: agent
                    .map(|a| a.agent.clone())
                    .or_else(|| run.implemented_by.clone())
                    .unwrap_or_else(|| "-".into()),
                try_number: agent.map(|a| (a.attempt + 1).to_string()).unwrap_or_else(|| "-".into()),
                elapsed: since.map(elapsed).unwrap_or_else(|| "-".into()),
            }
        })
        .collect()
}

/// Each WP's outcome, for the JSON documents.
pub fn wp_summary(state: &OrchestrationState) -> Vec<Value> {
    state
        .work_packages
        .iter()
        .map(|(wp, run)| {
            json!({
                "wp_id": wp, "status": run.status, "lane": run.lane,
                "implementation_tries": run.implementation.tries, "review_tries": run.review.tries,
                "implemented_by": run.implemented_by, "last_error": run.last_error,
                "blocked": run.status == WpStatus::Pending && state.blocked_by_failure(wp),
            })
        })
        .collect()
}

/// `42s`, `3m 05s`, `1h 02m`.
pub fn elapsed(ms: u64) -> String {
    let seconds = ms / 1000;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

/// fd 2 pointed at a file until dropped.
pub struct StderrRedirect {
    saved: i32,
}

impl StderrRedirect {
    pub fn to(path: &Path) -> Option<StderrRedirect> {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::options().create(true).append(true).open(path).ok()?;
        // SAFETY: dup/dup2 on descriptors this process owns; the saved one is restored on drop.
        unsafe {
            let saved = libc::dup(2);
            if saved < 0 || libc::dup2(file.as_raw_fd(), 2) < 0 {
                return None;
            }
            Some(StderrRedirect { saved })
        }
    }
}

impl Drop for StderrRedirect {
    fn drop(&mut self) {
        // SAFETY: restores the descriptor saved in `to` and closes the copy.
        unsafe {
            libc::dup2(self.saved, 2);
            libc::close(self.saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::elapsed;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(elapsed(42_900), "42s");
        assert_eq!(elapsed(185_000), "3m 05s");
        assert_eq!(elapsed(3_720_000), "1h 02m");
    }
}
