//! Taking up work: which WPs start, which waiting tries get an agent, deadlines, and the end of the run.

use super::{Action, Orchestration, Outcome};
use crate::events::Moment;
use crate::ids::WpId;
use crate::orchestrate::agents::{Phase, agent_identity};
use crate::orchestrate::state::{AgentRun, RunStatus, StopReason, TryOutcome, WpRun, WpStatus, WpStep};
use crate::workflow::Lane;
use std::collections::BTreeMap;

/// The first step of a WP taken up (or taken up again) from its lane: a review when it is in
/// for_review with work not yet judged, else (re)entering doing, which makes sure of the worktree.
pub(super) fn first_step(wp: &WpId, run: &WpRun) -> WpStep {
    let last_review_rejected = run
        .tries
        .iter()
        .rev()
        .find(|record| record.phase == Phase::Review)
        .is_some_and(|record| matches!(record.outcome, TryOutcome::Rejected { .. }));
    match run.lane {
        Lane::ForReview if !last_review_rejected => WpStep::AwaitAgent { phase: Phase::Review },
        Lane::ForReview => WpStep::MoveLane {
            from: Lane::ForReview,
            to: Lane::Doing,
            agent: None,
            note: format!("Rework of {wp} after its rejected review (orchestrate)"),
        },
        lane => WpStep::MoveLane {
            from: lane,
            to: Lane::Doing,
            agent: None,
            note: "Started implementation (orchestrate)".to_string(),
        },
    }
}

impl Orchestration {
    /// Decides what to start now, and whether the run is over.
    pub(super) fn advance(&mut self, now: Moment, outcome: &mut Outcome) {
        if self.state.status.is_finished() {
            return;
        }
        self.enforce_deadlines(now, outcome);
        if self.state.status == RunStatus::Stopping {
            if !self.anything_under_way() {
                self.finish(now, outcome);
            }
            return;
        }
        self.take_up_ready_wps(now, outcome);
        self.assign_waiting_tries(now, outcome);
        let in_progress = self.state.work_packages.values().any(|run| run.status == WpStatus::InProgress);
        if !in_progress && self.ready_wps().is_empty() {
            self.finish(now, outcome);
        }
    }

    /// An agent past its timeout is stopped (its try then fails); past the global timeout, the run stops.
    fn enforce_deadlines(&mut self, now: Moment, outcome: &mut Outcome) {
        for (id, run) in self.state.work_packages.iter_mut() {
            if let Some(WpStep::Agent(agent)) = &mut run.step
                && agent.stop.is_none()
                && agent.deadline_ms.is_some_and(|deadline| now.unix_ms >= deadline)
            {
                agent.stop = Some(StopReason::Timeout);
                outcome.effects.push(Action::StopAgent { wp: id.clone(), phase: agent.phase, attempt: agent.attempt });
            }
        }
        let global_deadline = self.state.session_started_at_ms.saturating_add(self.state.roster.global_timeout_ms);
        if self.state.status == RunStatus::Running && now.unix_ms >= global_deadline {
            self.stop(StopReason::GlobalTimeout, outcome);
        }
    }

    /// A lane move or an agent the host is carrying out.
    fn anything_under_way(&self) -> bool {
        self.state
            .work_packages
            .values()
            .any(|run| matches!(run.step, Some(WpStep::MoveLane { .. }) | Some(WpStep::Agent(_))))
    }

    /// Pending WPs whose dependencies are all done or skipped, in id order.
    pub(super) fn ready_wps(&self) -> Vec<WpId> {
        let settled = |id: &WpId| {
            self.state.work_packages.get(id).is_some_and(|run| matches!(run.status, WpStatus::Done | WpStatus::Skipped))
        };
        self.state
            .work_packages
            .iter()
            .filter(|(_, run)| run.status == WpStatus::Pending && run.dependencies.iter().all(settled))
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn take_up_ready_wps(&mut self, now: Moment, outcome: &mut Outcome) {
        let max = self.state.max_parallel as usize;
        for wp in self.ready_wps() {
            if self.state.work_packages.values().filter(|run| run.status == WpStatus::InProgress).count() >= max {
                break;
            }
            let base_candidates = self.base_candidates(&wp);
            let Some(run) = self.state.work_packages.get_mut(&wp) else { continue };
            run.status = WpStatus::InProgress;
            run.started_at_ms.get_or_insert(now.unix_ms);
            let step = first_step(&wp, run);
            run.step = Some(step.clone());
            if let WpStep::MoveLane { from, to, agent, note } = step {
                outcome.effects.push(Action::MoveLane { wp, from, to, agent, note, base_candidates });
            }
        }
    }

    /// Gives each try that waits an agent with a free place, in WP order.
    fn assign_waiting_tries(&mut self, now: Moment, outcome: &mut Outcome) {
        let mut running: BTreeMap<String, u32> = BTreeMap::new();
        for run in self.state.work_packages.values() {
            if let Some(agent) = run.agent_run() {
                *running.entry(agent.agent.clone()).or_default() += 1;
            }
        }
        let waiting: Vec<(WpId, Phase)> = self
            .state
            .work_packages
            .iter()
            .filter_map(|(id, run)| match run.step {
                Some(WpStep::AwaitAgent { phase }) => Some((id.clone(), phase)),
                _ => None,
            })
            .collect();
        for (wp, phase) in waiting {
            let Some(run) = self.state.work_packages.get(&wp) else { continue };
            let own = match phase {
                Phase::Review => run.implemented_by.as_deref().map(agent_identity),
                Phase::Implementation => None,
            };
            let failures = run.counts(phase).failures;
            let roster = &self.state.roster;
            let Some(agent) = roster.choose(phase, failures, own.as_deref(), &running) else {
                if roster.choose(phase, failures, own.as_deref(), &BTreeMap::new()).is_none() {
                    // Nobody may take it even when all are free (the roster changed on a resume).
                    let reason = format!("no {phase} agent other than the implementer is configured");
                    self.fail_wp(&wp, reason);
                }
                continue;
            };
            let (agent_id, timeout_ms) = (agent.id.clone(), agent.timeout_ms);
            *running.entry(agent_id.clone()).or_default() += 1;
            let Some(run) = self.state.work_packages.get_mut(&wp) else { continue };
            let counts = run.counts_mut(phase);
            let attempt = counts.tries;
            counts.tries += 1;
            run.step = Some(WpStep::Agent(AgentRun {
                phase,
                attempt,
                agent: agent_id.clone(),
                requested_at_ms: now.unix_ms,
                started_at_ms: None,
                pid: None,
                log_file: None,
                deadline_ms: None,
                stop: None,
            }));
            let (implementer, feedback) = match phase {
                Phase::Review => (run.implemented_by.clone(), None),
                Phase::Implementation => (None, run.feedback.clone()),
            };
            outcome.effects.push(Action::StartAgent {
                wp,
                phase,
                attempt,
                agent: agent_id,
                timeout_ms,
                implementer,
                feedback,
            });
        }
    }

    pub(super) fn fail_wp(&mut self, wp: &WpId, reason: String) {
        if let Some(run) = self.state.work_packages.get_mut(wp) {
            run.status = WpStatus::Failed;
            run.step = None;
            run.last_error = Some(reason);
        }
    }

    /// Ends the run with the status its WPs give it.
    fn finish(&mut self, now: Moment, outcome: &mut Outcome) {
        let runs = self.state.work_packages.values();
        let all_done = runs.clone().all(|run| run.status == WpStatus::Done);
        let status = if all_done {
            RunStatus::Completed
        } else if self.state.status == RunStatus::Stopping {
            RunStatus::Stopped
        } else if runs.clone().any(|run| run.status == WpStatus::Failed) {
            RunStatus::Failed
        } else if runs.clone().any(|run| run.status == WpStatus::Skipped) {
            RunStatus::Incomplete
        } else {
            RunStatus::Failed
        };
        self.state.status = status;
        self.state.finished_at_ms = Some(now.unix_ms);
        outcome.effects.push(Action::Finish { status });
    }
}
