//! The emitter: the native host of the core's event builders.
//!
//! Builds and validates each event with the core, ticks the Lamport clock under a file lock and
//! commits the events to the offline queue in one transaction. It never fails the user's command:
//! every problem becomes one warning line on stderr that says what was not queued.

use crate::clock_store::LockedClock;
use crate::queue::{self, OfflineQueue};
use crate::state::StateDir;
use crate::{credentials, file_lock};
use anyhow::Result;
use spec_kitty_core::sync::queue_policy::{Admission, QUEUE_CAP};
use spec_kitty_core::sync::routing::team_for_new_events;
use spec_kitty_core::sync::shown_state::{SyncFacts, queued_notice};
use spec_kitty_core::{Event, EventFactory, Identity, Moment, NodeId, Payload, ProjectIdentity};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// An event to emit: its payload, and the action it belongs to.
pub struct Draft {
    pub payload: Payload,
    pub causation_id: Option<String>,
}

impl Draft {
    pub fn new(payload: Payload) -> Draft {
        Draft { payload, causation_id: None }
    }
}

pub struct Emitter {
    state: StateDir,
    factory: EventFactory,
    /// Where `sync status` and the [Offline] line come from; no network is touched here.
    logged_in: bool,
    /// Opened on first use and kept: opening SQLite costs more than a whole emission.
    queue: Option<OfflineQueue>,
    clock_lock: Option<std::fs::File>,
    pub quiet: bool,
    /// The ids [`Emitter::emit_with_ids`] was given, one per draft, for the emission under way.
    fixed_ids: Vec<String>,
}

#[must_use = "the report says which events were queued and what was lost"]
#[derive(Debug, Default)]
pub struct EmitReport {
    pub queued: Vec<Event>,
    pub warnings: Vec<String>,
}

static COMMAND_START: OnceLock<Instant> = OnceLock::new();

/// Marks when the command started (called first thing by `main`): the emission's wait is counted
/// from there.
pub fn mark_command_start() {
    let _ = COMMAND_START.set(Instant::now());
}

/// When the emission gives up waiting for the clock lock and the queue: `wait` after the command
/// started, so commands queued behind one stuck emission (they wait for the project lock, then the
/// clock lock) all give up after about the same bound instead of one bound each; but never less
/// than half the bound (at most 2 s) from now, so a command that reached its emission late (a long
/// merge) still rides out a queue that is busy for a moment.
/// When another emission gave up within the last `wait` (the clock lock or the queue is stuck), there
/// is no such grace: this one tries once and gives up too, so N waiters do not add N graces.
fn emission_deadline(wait: Duration, recently_stuck: bool) -> Instant {
    let now = Instant::now();
    let from_start = COMMAND_START.get().copied().unwrap_or(now) + wait;
    let grace = if recently_stuck { Duration::ZERO } else { (wait / 2).min(Duration::from_secs(2)) };
    from_start.max(now + grace)
}

/// Whether the marker that an emission gave up waiting is younger than `wait`.
fn recently_stuck(marker: &std::path::Path, wait: Duration) -> bool {
    std::fs::metadata(marker).and_then(|meta| meta.modified()).is_ok_and(|at| at.elapsed().is_ok_and(|age| age < wait))
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn moment() -> Moment {
    let mut bytes = [0u8; 16];
    // Without entropy, ids still differ by the monotonic generator within this process.
    let _ = getrandom::fill(&mut bytes);
    Moment { unix_ms: now_ms(), entropy: u128::from_le_bytes(bytes) }
}

pub fn local_node_id() -> NodeId {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    NodeId::from_host_and_user(&host, &login_name())
}

/// The user name as upstream's Python (`getpass.getuser()`) reads it, so both tools give this machine
/// the same node id: $LOGNAME, $USER, $LNAME, $USERNAME, then the password database.
fn login_name() -> String {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .or_else(|| crate::state::password_entry().map(|entry| entry.name))
        .unwrap_or_else(|| "unknown".into())
}

impl Emitter {
    pub fn new(state: StateDir, project: Option<ProjectIdentity>) -> Emitter {
        let session = credentials::read_session(&state);
        let team_slug = team_for_new_events(session.as_ref().map(|s| s.team_slug.as_str())).to_string();
        let factory = EventFactory::new(Identity { node_id: local_node_id(), team_slug, project });
        Emitter {
            state,
            factory,
            logged_in: session.is_some(),
            queue: None,
            clock_lock: None,
            quiet: false,
            fixed_ids: Vec::new(),
        }
    }

    pub fn causation_id(&mut self) -> Option<String> {
        self.factory.causation_id(moment()).ok()
    }

    /// Emits the drafts as one unit: all queued in one transaction, or a warning for each loss.
    /// The whole emission (the clock lock, then the queue's write lock) waits at most
    /// [`queue::busy_timeout`], however many processes wait with it.
    pub fn emit(&mut self, drafts: Vec<Draft>) -> EmitReport {
        let mut report = EmitReport::default();
        if drafts.is_empty() {
            return report;
        }
        let count = drafts.len();
        match self.try_emit(drafts, &mut report) {
            Ok(admission) => report.warnings.extend(admission.and_then(|a| a.warning())),
            Err(e) => {
                report.queued.clear();
                report.warnings.push(format!("{count} event(s) not queued: {e:#}"));
            }
        }
        for warning in &report.warnings {
            crate::errln!("warning: {warning}");
        }
        if !report.queued.is_empty() {
            // A running daemon sends them now; the command does not wait for the network.
            crate::daemon::nudge(&self.state);
            if !self.quiet {
                self.print_offline_indicator(report.queued.len());
            }
        }
        report
    }

    /// As [`Emitter::emit`], each event with the id the caller chose: orchestrate saves its events'
    /// ids before it emits them, so an event replayed after a crash keeps its id, and the queue (and
    /// the hub) keep only the first of an id.
    pub fn emit_with_ids(&mut self, drafts: Vec<(String, Draft)>) -> EmitReport {
        let (ids, drafts): (Vec<String>, Vec<Draft>) = drafts.into_iter().unzip();
        self.fixed_ids = ids;
        let report = self.emit(drafts);
        self.fixed_ids.clear();
        report
    }

    fn try_emit(&mut self, drafts: Vec<Draft>, report: &mut EmitReport) -> Result<Option<Admission>> {
        let wait = queue::busy_timeout();
        let marker = self.state.stuck_marker();
        let deadline = emission_deadline(wait, recently_stuck(&marker, wait));
        let result = self.emit_until(deadline, drafts, report);
        match &result {
            // Gave up waiting: the next emissions need not wait for the same stuck lock.
            Err(_) if Instant::now() >= deadline => {
                let _ = std::fs::write(&marker, b"");
            }
            Ok(Some(_)) => {
                let _ = std::fs::remove_file(&marker);
            }
            _ => {}
        }
        result
    }

    fn emit_until(
        &mut self,
        deadline: Instant,
        drafts: Vec<Draft>,
        report: &mut EmitReport,
    ) -> Result<Option<Admission>> {
        self.state.ensure()?;
        let lock = match &mut self.clock_lock {
            Some(lock) => lock,
            empty => empty.insert(file_lock::open(&self.state.clock_lock())?),
        };
        let mut locked = LockedClock::acquire(&self.state, lock, deadline)?;
        let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let queue = match &mut self.queue {
            Some(queue) => {
                queue.set_wait(remaining)?;
                queue
            }
            empty => empty.insert(OfflineQueue::open(&self.state.queue_db(), remaining)?),
        };
        report.warnings.extend(locked.stored.warning());
        // The queue keeps its own record of the highest value, so a lost clock.json never repeats one.
        let recovered = locked.recover(queue.clock_high_water()?);
        report.warnings.extend(recovered.warning(&self.state.clock_file().display().to_string()));
        let mut fixed_ids = std::mem::take(&mut self.fixed_ids).into_iter();
        for draft in drafts {
            let event_type = draft.payload.event_type().as_str();
            let fixed_id = fixed_ids.next();
            match self.factory.build(&mut locked.clock, moment(), draft.causation_id.as_deref(), draft.payload) {
                Ok(mut event) => {
                    if let Some(id) = fixed_id {
                        event.event_id = id;
                    }
                    report.queued.push(event)
                }
                Err(e) => report.warnings.push(format!("{event_type} event not queued: {e}")),
            }
        }
        if report.queued.is_empty() {
            return Ok(None);
        }
        let now = now_ms();
        let admission = queue.append(&report.queued, locked.clock.value(), (now / 1000) as i64, QUEUE_CAP)?;
        report.queued.truncate(admission.accepted);
        // The events are safe from here on: a clock file that cannot be written is only a warning,
        // since the queue's record of the clock covers it.
        if let Err(e) = locked.save(&self.state, &self.factory.identity().node_id, now) {
            report.warnings.push(format!(
                "{} event(s) queued, but the clock file was not updated ({e:#}); the next command continues from the queue's record",
                admission.accepted
            ));
        }
        Ok(Some(admission))
    }

    fn print_offline_indicator(&self, queued: usize) {
        let facts = SyncFacts { logged_in: self.logged_in, daemon: crate::daemon::reported_state(&self.state) };
        crate::errln!("{}", queued_notice(queued, &facts));
    }
}
