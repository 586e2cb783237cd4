//! The scheduler: a sans-IO machine that decides, from what happened, what the host does next.
//!
//! The host starts a run with [`Orchestration::start`] (or restores a saved state with
//! [`Orchestration::restore`] and feeds [`Input::Resume`]), then carries out the [`Action`]s in order
//! and feeds each outcome back as an [`Input`]. Time comes in as a [`Moment`] with every call (it also
//! seeds the ids of the events the run announces), and [`Orchestration::next_wakeup`] says when to
//! call again with [`Input::Tick`] if nothing else happens (an agent's timeout, the global timeout).
//!
//! Every call's actions begin with [`Action::SaveState`]: the state is written before anything it
//! asks for is done, so a crash at any point leaves a state that says what may be under way. Events
//! go through the state's outbox with their ids chosen in advance; a resume replays the outbox with
//! the same ids, which the queue and the hub keep once.
//!
//! The flow of one WP: its lane moves to doing (the host runs `implement`, which makes the worktree),
//! an implementer runs; on exit 0 the lane moves to for_review and a reviewer that is not the
//! implementer runs; its verdict moves the lane to done (and announces the dependents it resolves) or
//! back to doing with the feedback for the next implementation try. A failed try goes to the next
//! agent of the phase's list until `max_retries` failures; then the WP fails and its dependents wait.

mod lanes;
mod recovery;
mod schedule;
mod tries;

use super::agents::Phase;
use super::prompt::Feedback;
use super::roster::{AgentChoice, Roster};
use super::state::{
    Announcement, OrchestrationState, PhaseCounts, RunEvent, RunStatus, STATE_VERSION, WpRun, WpStatus,
};
use super::worktree::WorktreeFacts;
use crate::events::Moment;
use crate::ids::{UlidGenerator, WpId};
use crate::workflow::{DependencyGraph, GraphError, Lane};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A WP of the feature as the host read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlannedWork {
    pub wp: WpId,
    pub dependencies: Vec<WpId>,
    pub lane: Lane,
}

/// What a new run needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct StartRun {
    pub run_id: String,
    pub feature_slug: String,
    pub work_packages: Vec<PlannedWork>,
    pub roster: Roster,
    /// The choices the roster was made with (`--impl-agent`, `--review-agent`), kept for resumes.
    pub agent_choice: AgentChoice,
    /// WPs in progress at once; default the roster's global_concurrency.
    pub max_parallel: Option<u32>,
    pub orchestrator_pid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable, rename = "OrchestrationInput"))]
pub enum Input {
    /// Continue a saved run: `lanes` as the WP files say now; a fresh roster and max_parallel when the
    /// user gave them (agents.yaml may have been fixed in between).
    Resume {
        lanes: BTreeMap<WpId, Lane>,
        roster: Option<Roster>,
        max_parallel: Option<u32>,
        orchestrator_pid: Option<u32>,
    },
    /// `--skip WPxx`: the WP counts as resolved for its dependents, without being done.
    Skip {
        wp: WpId,
    },
    /// `--abort`: the run is abandoned.
    Abort,
    LaneMoved {
        wp: WpId,
        lane: Lane,
    },
    LaneMoveFailed {
        wp: WpId,
        error: String,
    },
    AgentStarted {
        wp: WpId,
        phase: Phase,
        attempt: u32,
        pid: Option<u32>,
        log_file: String,
    },
    AgentStartFailed {
        wp: WpId,
        phase: Phase,
        attempt: u32,
        error: String,
    },
    /// The agent's process ended (on its own, or after a [`Action::StopAgent`]); `exit_code` is
    /// `None` when a signal ended it; `last_line` is its output's last non-empty line.
    AgentExited {
        wp: WpId,
        phase: Phase,
        attempt: u32,
        exit_code: Option<i32>,
        last_line: Option<String>,
    },
    /// As [`Input::AgentExited`], from a host that also looked at the WP's worktree when the agent
    /// ended: a try that exits 0 but leaves the worktree on another branch, or an implementation that
    /// leaves tracked changes uncommitted, fails (see [`WorktreeFacts::problem`]).
    AgentExitedInWorktree {
        wp: WpId,
        phase: Phase,
        attempt: u32,
        exit_code: Option<i32>,
        last_line: Option<String>,
        worktree: WorktreeFacts,
    },
    /// These announcements are in the queue.
    Emitted {
        event_ids: Vec<String>,
    },
    /// The user asked to stop (Ctrl-C, SIGTERM).
    Interrupt,
    /// Time passed (see [`Orchestration::next_wakeup`]).
    Tick,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "OrchestrationAction"))]
pub enum Action {
    /// Write [`Orchestration::state`] (atomically) before doing what follows.
    SaveState,
    /// Move the WP's lane the way the workflow commands do (`to: doing` from planned is `implement`,
    /// which also makes the worktree; when the WP file already says `to`, only make sure of the
    /// worktree). `base_candidates`: its done dependencies, in declaration order, whose branches may
    /// hold work the new worktree needs.
    MoveLane { wp: WpId, from: Lane, to: Lane, agent: Option<String>, note: String, base_candidates: Vec<WpId> },
    /// Run the agent on the WP in its worktree; answer with AgentStarted or AgentStartFailed, then
    /// AgentExited.
    StartAgent {
        wp: WpId,
        phase: Phase,
        attempt: u32,
        agent: String,
        timeout_ms: u64,
        implementer: Option<String>,
        feedback: Option<Feedback>,
    },
    /// Stop the agent (SIGTERM, a grace period, SIGKILL), then answer with AgentExited.
    StopAgent { wp: WpId, phase: Phase, attempt: u32 },
    /// Emit these events with these ids, then answer with Emitted.
    Emit { events: Vec<Announcement> },
    /// The run is over; nothing more will be asked.
    Finish { status: RunStatus },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrchestrateError {
    #[error("feature {slug}: {error}")]
    Graph { slug: String, error: GraphError },
    #[error("feature {0} has no work packages")]
    NoWorkPackages(String),
    #[error("unknown work package {wp} (the run has {known})")]
    UnknownWp { wp: WpId, known: String },
    #[error("{wp} is already done; there is nothing to skip")]
    AlreadyDone { wp: WpId },
    #[error("the run is {status}, and {what} needs a run that is not")]
    WrongStatus { status: &'static str, what: &'static str },
    #[error("{0}")]
    Unexpected(String),
    #[error("no event id could be made: {0}")]
    Ids(String),
}

impl crate::error_kind::ErrorKind for OrchestrateError {
    /// What the user asked for or wrote is wrong (`validation`), except an input the machine did not
    /// expect or an id it could not make (`runtime`).
    fn kind(&self) -> crate::events::ErrorType {
        match self {
            OrchestrateError::Unexpected(_) | OrchestrateError::Ids(_) => crate::events::ErrorType::Runtime,
            _ => crate::events::ErrorType::Validation,
        }
    }
}

/// One orchestration run: its state, and the generator of its events' ids.
#[derive(Debug, Clone)]
pub struct Orchestration {
    state: OrchestrationState,
    ids: UlidGenerator,
}

/// What one call produced, before it is turned into actions.
#[derive(Default)]
struct Outcome {
    announced: Vec<Announcement>,
    effects: Vec<Action>,
}

impl Orchestration {
    /// A new run over the feature's WPs: checks the dependency graph, then takes up the WPs whose
    /// dependencies are done (WPs already done count as done; they are not run again).
    pub fn start(now: Moment, start: StartRun) -> Result<(Orchestration, Vec<Action>), OrchestrateError> {
        if start.work_packages.is_empty() {
            return Err(OrchestrateError::NoWorkPackages(start.feature_slug));
        }
        let edges = start.work_packages.iter().map(|w| (w.wp.clone(), w.dependencies.clone()));
        DependencyGraph::new(edges)
            .map_err(|error| OrchestrateError::Graph { slug: start.feature_slug.clone(), error })?;
        let work_packages = start
            .work_packages
            .into_iter()
            .map(|planned| {
                let done = planned.lane == Lane::Done;
                let run = WpRun {
                    dependencies: planned.dependencies,
                    lane: planned.lane,
                    status: if done { WpStatus::Done } else { WpStatus::Pending },
                    step: None,
                    implementation: PhaseCounts::default(),
                    review: PhaseCounts::default(),
                    rejections: 0,
                    implemented_by: None,
                    feedback: None,
                    last_error: None,
                    tries: Vec::new(),
                    started_at_ms: None,
                    completed_at_ms: None,
                };
                (planned.wp, run)
            })
            .collect::<BTreeMap<_, _>>();
        let all_done = work_packages.values().all(|wp| wp.status == WpStatus::Done);
        let state = OrchestrationState {
            version: STATE_VERSION,
            run_id: start.run_id,
            feature_slug: start.feature_slug,
            status: RunStatus::Running,
            stop_reason: None,
            started_at_ms: now.unix_ms,
            updated_at_ms: now.unix_ms,
            finished_at_ms: None,
            session_started_at_ms: now.unix_ms,
            orchestrator_pid: start.orchestrator_pid,
            max_parallel: start.max_parallel.unwrap_or(start.roster.global_concurrency).max(1),
            agent_choice: start.agent_choice,
            roster: start.roster,
            work_packages,
            outbox: Vec::new(),
            // Completed before this run: not this run's to announce.
            feature_completed_announced: all_done,
        };
        let mut machine = Orchestration { state, ids: UlidGenerator::new() };
        let mut outcome = Outcome::default();
        machine.advance(now, &mut outcome);
        let actions = machine.actions(outcome);
        Ok((machine, actions))
    }

    /// A saved run, to inspect or to continue with [`Input::Resume`] (or Skip, Abort).
    pub fn restore(state: OrchestrationState) -> Orchestration {
        Orchestration { state, ids: UlidGenerator::new() }
    }

    pub fn state(&self) -> &OrchestrationState {
        &self.state
    }

    /// When to call [`Input::Tick`] at the latest (Unix ms): the nearest agent deadline or the
    /// global timeout. `None` when the run is over.
    pub fn next_wakeup(&self) -> Option<u64> {
        if self.state.status.is_finished() {
            return None;
        }
        let agents =
            self.state.running_agents().filter(|(_, run)| run.stop.is_none()).filter_map(|(_, run)| run.deadline_ms);
        let global = (self.state.status == RunStatus::Running)
            .then(|| self.state.session_started_at_ms.saturating_add(self.state.roster.global_timeout_ms));
        agents.chain(global).min()
    }

    /// Takes in what happened and returns what to do next, beginning with SaveState.
    pub fn handle(&mut self, now: Moment, input: Input) -> Result<Vec<Action>, OrchestrateError> {
        self.state.updated_at_ms = self.state.updated_at_ms.max(now.unix_ms);
        let mut outcome = Outcome::default();
        match input {
            Input::Resume { lanes, roster, max_parallel, orchestrator_pid } => {
                self.resume(now, lanes, roster, max_parallel, orchestrator_pid, &mut outcome)?
            }
            Input::Skip { wp } => {
                self.skip(now, &wp, &mut outcome)?;
                // A skip only records; the next resume takes the run on.
                return Ok(self.actions(outcome));
            }
            Input::Abort => {
                match self.state.status {
                    // Over: an abort would rewrite a completed run as abandoned.
                    RunStatus::Completed => {
                        return Err(OrchestrateError::WrongStatus { status: "completed", what: "--abort" });
                    }
                    // Aborted already: kept as it is (when it was aborted included).
                    RunStatus::Aborted => {
                        outcome.effects.push(Action::Finish { status: RunStatus::Aborted });
                        return Ok(self.actions(outcome));
                    }
                    _ => {}
                }
                outcome.announced.extend(self.state.outbox.iter().cloned());
                self.state.status = RunStatus::Aborted;
                self.state.finished_at_ms = Some(now.unix_ms);
                outcome.effects.push(Action::Finish { status: RunStatus::Aborted });
                return Ok(self.actions(outcome));
            }
            Input::LaneMoved { wp, lane } => self.lane_moved(now, &wp, lane, &mut outcome)?,
            Input::LaneMoveFailed { wp, error } => self.lane_move_failed(now, &wp, error, &mut outcome)?,
            Input::AgentStarted { wp, phase, attempt, pid, log_file } => {
                self.agent_started(now, &wp, phase, attempt, pid, log_file, &mut outcome)?
            }
            Input::AgentStartFailed { wp, phase, attempt, error } => {
                self.agent_start_failed(now, &wp, phase, attempt, error, &mut outcome)?
            }
            Input::AgentExited { wp, phase, attempt, exit_code, last_line } => {
                let ended = tries::Ended { exit_code, last_line, worktree: None };
                self.agent_exited(now, &wp, phase, attempt, ended, &mut outcome)?
            }
            Input::AgentExitedInWorktree { wp, phase, attempt, exit_code, last_line, worktree } => {
                let ended = tries::Ended { exit_code, last_line, worktree: Some(worktree) };
                self.agent_exited(now, &wp, phase, attempt, ended, &mut outcome)?
            }
            Input::Emitted { event_ids } => {
                self.state.outbox.retain(|announcement| !event_ids.contains(&announcement.event_id));
            }
            Input::Interrupt => self.stop(super::state::StopReason::Interrupted, &mut outcome),
            Input::Tick => {}
        }
        self.advance(now, &mut outcome);
        Ok(self.actions(outcome))
    }

    /// SaveState, then the new announcements (they report what already happened), then the effects.
    fn actions(&mut self, outcome: Outcome) -> Vec<Action> {
        let mut actions = vec![Action::SaveState];
        if !outcome.announced.is_empty() {
            actions.push(Action::Emit { events: outcome.announced });
        }
        actions.extend(outcome.effects);
        actions
    }

    /// Records an event to announce, with its id, in the outbox.
    fn announce(&mut self, now: Moment, event: RunEvent, outcome: &mut Outcome) -> Result<(), OrchestrateError> {
        let id = self.ids.next(now.unix_ms, now.entropy).map_err(|e| OrchestrateError::Ids(e.to_string()))?;
        let announcement = Announcement { event_id: id.to_string(), event };
        self.state.outbox.push(announcement.clone());
        outcome.announced.push(announcement);
        Ok(())
    }

    fn wp_mut(&mut self, wp: &WpId) -> Result<&mut WpRun, OrchestrateError> {
        let known = self.known_wps();
        self.state.work_packages.get_mut(wp).ok_or_else(|| OrchestrateError::UnknownWp { wp: wp.clone(), known })
    }

    fn known_wps(&self) -> String {
        self.state.work_packages.keys().map(WpId::as_str).collect::<Vec<_>>().join(", ")
    }

    /// The WPs that depend on `wp` directly, in id order.
    fn dependents(&self, wp: &WpId) -> Vec<WpId> {
        self.state
            .work_packages
            .iter()
            .filter(|(_, run)| run.dependencies.contains(wp))
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;
