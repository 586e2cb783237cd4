//! The state of an orchestration run, as `.kittify/orchestration-state.json` holds it: enough to
//! resume after a crash without repeating a completed WP or any event, and to show `--status`.

use super::agents::Phase;
use super::prompt::Feedback;
use super::roster::{AgentChoice, Roster};
use crate::events::{
    DependencyResolved, ErrorLogged, ErrorType, FeatureCompleted, Payload, ResolutionType, WpAssigned,
};
use crate::ids::WpId;
use crate::time::{duration_text, rfc3339_seconds};
use crate::workflow::Lane;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the state lives, relative to the repository root.
pub const STATE_FILE: &str = ".kittify/orchestration-state.json";
/// The layout of the state file; a newer one is refused rather than misread.
pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum RunStatus {
    /// Agents are being run (or the run was killed while they were: `--resume` picks it up).
    Running,
    /// Stopping after an interrupt or the global timeout: no new work, waiting for agents to end.
    Stopping,
    /// Every WP is done.
    Completed,
    /// A WP failed (its agents exhausted), so it and the WPs that depend on it are not done.
    Failed,
    /// Everything not skipped is done, but a skipped WP is not: the feature is not complete.
    Incomplete,
    /// Stopped by the user or the global timeout; `--resume` continues it.
    Stopped,
    /// Abandoned with `--abort`.
    Aborted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Stopping => "stopping",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Incomplete => "incomplete",
            RunStatus::Stopped => "stopped",
            RunStatus::Aborted => "aborted",
        }
    }

    /// Whether the run has ended (the process that ran it is done with it).
    pub fn is_finished(self) -> bool {
        !matches!(self, RunStatus::Running | RunStatus::Stopping)
    }

    /// Whether `--resume` can continue it.
    pub fn can_resume(self) -> bool {
        !matches!(self, RunStatus::Completed | RunStatus::Aborted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum WpStatus {
    /// Not started by this run (waiting for its dependencies or a free place).
    Pending,
    /// Taken up: its lane is being moved, or an agent works or waits to work on it.
    InProgress,
    Done,
    /// Its agents were exhausted; its dependents wait.
    Failed,
    /// Skipped with `--skip`: its dependents go on without it.
    Skipped,
}

/// Why the run asked an agent to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum StopReason {
    /// The agent's own `timeout_seconds` passed: the try fails.
    Timeout,
    /// The user interrupted the run: the try is taken up again on `--resume`.
    Interrupted,
    /// The run's `global_timeout` passed: as an interrupt.
    GlobalTimeout,
}

/// An agent try the run asked for, then saw start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentRun {
    pub phase: Phase,
    /// Earlier tries of this WP and phase: the event's retry_count.
    pub attempt: u32,
    pub agent: String,
    pub requested_at_ms: u64,
    pub started_at_ms: Option<u64>,
    /// The process (and process group) the host started, so a resume can stop what a crash left.
    pub pid: Option<u32>,
    /// Relative to the repository root.
    pub log_file: Option<String>,
    pub deadline_ms: Option<u64>,
    pub stop: Option<StopReason>,
}

/// What a WP waits for while it is in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum WpStep {
    /// A lane change the host is asked to make.
    MoveLane {
        from: Lane,
        to: Lane,
        agent: Option<String>,
        note: String,
    },
    /// A try that waits for a free agent.
    AwaitAgent {
        phase: Phase,
    },
    Agent(AgentRun),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PhaseCounts {
    /// Tries asked for (the next try's retry_count).
    pub tries: u32,
    /// Failed tries since the run (or its last resume of a failed WP) began: limited by max_retries.
    pub failures: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum TryOutcome {
    /// An implementation that exited 0.
    Succeeded,
    Approved {
        note: Option<String>,
    },
    Rejected {
        reason: String,
    },
    Failed {
        reason: String,
    },
    /// Stopped by an interrupt or a crash of the run: not the agent's failure.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TryRecord {
    pub phase: Phase,
    pub attempt: u32,
    pub agent: String,
    pub started_at_ms: Option<u64>,
    pub ended_at_ms: u64,
    #[serde(flatten)]
    pub outcome: TryOutcome,
    pub log_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WpRun {
    pub dependencies: Vec<WpId>,
    /// The lane as the run last saw it move.
    pub lane: Lane,
    pub status: WpStatus,
    pub step: Option<WpStep>,
    pub implementation: PhaseCounts,
    pub review: PhaseCounts,
    pub rejections: u32,
    /// The agent whose implementation is (or was last) under review: never its reviewer.
    pub implemented_by: Option<String>,
    /// The last rejection, for the next implementation's prompt.
    pub feedback: Option<Feedback>,
    pub last_error: Option<String>,
    pub tries: Vec<TryRecord>,
    pub started_at_ms: Option<u64>,
    pub completed_at_ms: Option<u64>,
}

impl WpRun {
    pub fn counts(&self, phase: Phase) -> &PhaseCounts {
        match phase {
            Phase::Implementation => &self.implementation,
            Phase::Review => &self.review,
        }
    }

    pub fn counts_mut(&mut self, phase: Phase) -> &mut PhaseCounts {
        match phase {
            Phase::Implementation => &mut self.implementation,
            Phase::Review => &mut self.review,
        }
    }

    /// The agent try under way, if any.
    pub fn agent_run(&self) -> Option<&AgentRun> {
        match &self.step {
            Some(WpStep::Agent(run)) => Some(run),
            _ => None,
        }
    }
}

/// An event the run announces, with the id chosen before it is emitted: replayed after a crash, it
/// carries the same id, and the queue and the hub keep only the first of an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Announcement {
    pub event_id: String,
    pub event: RunEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum RunEvent {
    /// An agent started on a WP (after its process started).
    Assigned { wp: WpId, agent: String, phase: Phase, retry_count: u32 },
    /// A WP this run finished (or skipped) resolved one dependency of `wp`. One per dependency edge,
    /// also while other dependencies of `wp` are still open.
    DependencyResolved { wp: WpId, dependency: WpId, skipped: bool },
    /// The run moved the last WP to done.
    FeatureCompleted { total_wps: u32, completed_at_ms: u64, duration_ms: u64 },
    /// An agent's try failed, or the run could not carry out a step.
    Error { wp: WpId, agent: Option<String>, message: String },
}

impl RunEvent {
    pub fn payload(&self, feature_slug: &str) -> Payload {
        match self {
            RunEvent::Assigned { wp, agent, phase, retry_count } => Payload::WpAssigned(WpAssigned {
                wp_id: wp.clone(),
                agent_id: agent.clone(),
                phase: phase.assignment(),
                retry_count: *retry_count,
                feature_slug: Some(feature_slug.to_string()),
            }),
            RunEvent::DependencyResolved { wp, dependency, skipped } => {
                Payload::DependencyResolved(DependencyResolved {
                    wp_id: wp.clone(),
                    dependency_wp_id: dependency.clone(),
                    resolution_type: if *skipped { ResolutionType::Skipped } else { ResolutionType::Completed },
                    feature_slug: Some(feature_slug.to_string()),
                })
            }
            RunEvent::FeatureCompleted { total_wps, completed_at_ms, duration_ms } => {
                Payload::FeatureCompleted(FeatureCompleted {
                    feature_slug: feature_slug.to_string(),
                    total_wps: *total_wps,
                    completed_at: Some(rfc3339_seconds(*completed_at_ms)),
                    total_duration: Some(duration_text(*duration_ms)),
                })
            }
            RunEvent::Error { wp, agent, message } => Payload::ErrorLogged(ErrorLogged {
                wp_id: Some(wp.clone()),
                error_type: ErrorType::Runtime,
                error_message: message.clone(),
                stack_trace: None,
                agent_id: agent.clone(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OrchestrationState {
    pub version: u32,
    pub run_id: String,
    pub feature_slug: String,
    pub status: RunStatus,
    pub stop_reason: Option<StopReason>,
    pub started_at_ms: u64,
    pub updated_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    /// When this invocation (the start, or the last resume) began: the global timeout counts from it.
    pub session_started_at_ms: u64,
    /// The process running it, when the host says.
    pub orchestrator_pid: Option<u32>,
    pub max_parallel: u32,
    /// The agents the user chose on the command line; a resume rebuilds the roster with them.
    #[serde(default)]
    pub agent_choice: AgentChoice,
    pub roster: Roster,
    pub work_packages: BTreeMap<WpId, WpRun>,
    /// Announced but not yet confirmed emitted; replayed (same ids) by a resume.
    pub outbox: Vec<Announcement>,
    pub feature_completed_announced: bool,
}

impl OrchestrationState {
    /// Parses a saved state, naming the file; a state from a newer spec-kitty is refused.
    pub fn from_json(file: &str, text: &str) -> Result<OrchestrationState, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("{file}: not a saved orchestration run: {e}"))?;
        let version = value.get("version").and_then(serde_json::Value::as_u64).unwrap_or(0);
        if version != u64::from(STATE_VERSION) {
            return Err(format!("{file}: state version {version}; this spec-kitty reads version {STATE_VERSION}"));
        }
        serde_path_to_error::deserialize(value).map_err(|e| format!("{file}: {}: {}", e.path(), e.inner()))
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// WPs by status, for summaries.
    pub fn count(&self, status: WpStatus) -> usize {
        self.work_packages.values().filter(|wp| wp.status == status).count()
    }

    /// Agent processes running now (started, not yet seen to end).
    pub fn running_agents(&self) -> impl Iterator<Item = (&WpId, &AgentRun)> {
        self.work_packages
            .iter()
            .filter_map(|(id, wp)| wp.agent_run().filter(|run| run.started_at_ms.is_some()).map(|run| (id, run)))
    }

    /// The WPs waiting on `wp`'s failure, directly or through others (they cannot start).
    pub fn blocked_by_failure(&self, wp: &WpId) -> bool {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = vec![wp];
        while let Some(current) = stack.pop() {
            let Some(run) = self.work_packages.get(current) else { continue };
            for dependency in &run.dependencies {
                if !seen.insert(dependency) {
                    continue;
                }
                match self.work_packages.get(dependency).map(|d| d.status) {
                    Some(WpStatus::Failed) => return true,
                    Some(WpStatus::Done | WpStatus::Skipped) | None => {}
                    Some(_) => stack.push(dependency),
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wp(id: &str) -> WpId {
        id.parse().expect("a WP id")
    }

    #[test]
    fn assignments_and_resolutions_name_the_runs_feature() {
        let assigned =
            RunEvent::Assigned { wp: wp("WP02"), agent: "codex".into(), phase: Phase::Review, retry_count: 1 };
        let Payload::WpAssigned(payload) = assigned.payload("028-x") else { panic!("a WPAssigned") };
        assert_eq!(payload.feature_slug.as_deref(), Some("028-x"));
        assert_eq!(payload.retry_count, 1);
        for skipped in [false, true] {
            let resolved = RunEvent::DependencyResolved { wp: wp("WP02"), dependency: wp("WP01"), skipped };
            let Payload::DependencyResolved(payload) = resolved.payload("028-x") else {
                panic!("a DependencyResolved")
            };
            assert_eq!(payload.feature_slug.as_deref(), Some("028-x"));
            let expected = if skipped { ResolutionType::Skipped } else { ResolutionType::Completed };
            assert_eq!(
                (payload.wp_id, payload.dependency_wp_id, payload.resolution_type),
                (wp("WP02"), wp("WP01"), expected)
            );
        }
    }
}
