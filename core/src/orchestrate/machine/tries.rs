//! An agent try from its start to its outcome: success, verdict, failure (and the fallback), interruption.

use super::{Action, OrchestrateError, Orchestration, Outcome};
use crate::events::Moment;
use crate::ids::WpId;
use crate::orchestrate::agents::Phase;
use crate::orchestrate::prompt::Feedback;
use crate::orchestrate::state::{AgentRun, RunEvent, RunStatus, StopReason, TryOutcome, TryRecord, WpStatus, WpStep};
use crate::orchestrate::verdict::{Verdict, read_verdict, reported_error, shorten};
use crate::orchestrate::worktree::WorktreeFacts;
use crate::workflow::Lane;
use crate::workflow::plans::layout::branch_name;

/// How an agent's process ended, as the host saw it.
pub(super) struct Ended {
    pub(super) exit_code: Option<i32>,
    pub(super) last_line: Option<String>,
    /// `None` from a host that does not look at the worktree ([`super::Input::AgentExited`]).
    pub(super) worktree: Option<WorktreeFacts>,
}

pub(super) fn record(agent: &AgentRun, now_ms: u64, outcome: TryOutcome) -> TryRecord {
    TryRecord {
        phase: agent.phase,
        attempt: agent.attempt,
        agent: agent.agent.clone(),
        started_at_ms: agent.started_at_ms,
        ended_at_ms: now_ms,
        outcome,
        log_file: agent.log_file.clone(),
    }
}

impl Orchestration {
    /// The try under way on `wp`, when it is the one named.
    fn current_try(&mut self, wp: &WpId, phase: Phase, attempt: u32) -> Result<&mut AgentRun, OrchestrateError> {
        let run = self.wp_mut(wp)?;
        match &mut run.step {
            Some(WpStep::Agent(agent)) if agent.phase == phase && agent.attempt == attempt => Ok(agent),
            _ => Err(OrchestrateError::Unexpected(format!("{wp}: {phase} try {} is not under way", attempt + 1))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn agent_started(
        &mut self,
        now: Moment,
        wp: &WpId,
        phase: Phase,
        attempt: u32,
        pid: Option<u32>,
        log_file: String,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        let stopping = (self.state.status == RunStatus::Stopping).then_some(self.state.stop_reason).flatten();
        let roster_timeout = |agent: &str| self.state.roster.agent(agent).map(|a| a.timeout_ms);
        let agent_id = match self.state.work_packages.get(wp).and_then(|run| run.agent_run()) {
            Some(run) => run.agent.clone(),
            None => return Err(OrchestrateError::Unexpected(format!("{wp}: no {phase} try was asked for"))),
        };
        let timeout = roster_timeout(&agent_id);
        let agent = self.current_try(wp, phase, attempt)?;
        if agent.started_at_ms.is_some() {
            return Err(OrchestrateError::Unexpected(format!("{wp}: {phase} try {} started twice", attempt + 1)));
        }
        agent.started_at_ms = Some(now.unix_ms);
        agent.pid = pid;
        agent.log_file = Some(log_file);
        agent.deadline_ms = timeout.map(|ms| now.unix_ms.saturating_add(ms));
        if let Some(reason) = stopping {
            agent.stop = Some(reason);
            outcome.effects.push(Action::StopAgent { wp: wp.clone(), phase, attempt });
        }
        let event = RunEvent::Assigned { wp: wp.clone(), agent: agent_id, phase, retry_count: attempt };
        self.announce(now, event, outcome)
    }

    pub(super) fn agent_start_failed(
        &mut self,
        now: Moment,
        wp: &WpId,
        phase: Phase,
        attempt: u32,
        error: String,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        let agent = self.current_try(wp, phase, attempt)?.clone();
        let reason = format!("could not start: {error}");
        self.try_failed(now, wp, agent, reason, outcome)
    }

    pub(super) fn agent_exited(
        &mut self,
        now: Moment,
        wp: &WpId,
        phase: Phase,
        attempt: u32,
        ended: Ended,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        let Ended { exit_code, last_line, worktree } = ended;
        let agent = self.current_try(wp, phase, attempt)?.clone();
        match agent.stop {
            Some(StopReason::Timeout) => {
                let timeout = self.state.roster.agent(&agent.agent).map_or(0, |a| a.timeout_ms / 1000);
                return self.try_failed(now, wp, agent, format!("timed out after {timeout} s"), outcome);
            }
            Some(StopReason::Interrupted | StopReason::GlobalTimeout) => {
                let run = self.wp_mut(wp)?;
                run.tries.push(record(&agent, now.unix_ms, TryOutcome::Interrupted));
                run.step = Some(WpStep::AwaitAgent { phase });
                return Ok(());
            }
            None => {}
        }
        let last = last_line.as_deref();
        if exit_code != Some(0) {
            let reason = match exit_code {
                Some(code) => format!("exited with status {code}"),
                None => "ended by a signal".to_string(),
            };
            return self.try_failed(now, wp, agent, reason, outcome);
        }
        if let Some(error) = reported_error(last) {
            return self.try_failed(now, wp, agent, format!("reported an error: {error}"), outcome);
        }
        let branch = branch_name(&self.state.feature_slug, wp);
        if let Some(problem) = worktree.and_then(|facts| facts.problem(phase, &branch)) {
            return self.try_failed(now, wp, agent, format!("exited with status 0 but {problem}"), outcome);
        }
        let try_number = attempt + 1;
        let (from, to, record_outcome, note) = match phase {
            Phase::Implementation => (
                Lane::Doing,
                Lane::ForReview,
                TryOutcome::Succeeded,
                format!("Implemented by {} (try {try_number})", agent.agent),
            ),
            Phase::Review => match read_verdict(last) {
                Err(why) => return self.try_failed(now, wp, agent, why, outcome),
                Ok(Verdict::Approved { note }) => {
                    let said = note.as_deref().map(|n| format!(": {}", shorten(n, 200))).unwrap_or_default();
                    let text = format!("Approved by {}{said}", agent.agent);
                    (Lane::ForReview, Lane::Done, TryOutcome::Approved { note }, text)
                }
                Ok(Verdict::Rejected { reason }) => {
                    let reason = shorten(&reason, 500);
                    let max_retries = self.state.roster.max_retries;
                    let run = self.wp_mut(wp)?;
                    run.tries.push(record(&agent, now.unix_ms, TryOutcome::Rejected { reason: reason.clone() }));
                    run.rejections += 1;
                    if run.rejections > max_retries {
                        let message = format!(
                            "{wp}: review rejected {} times (max_retries {max_retries}); last by {}: {reason}",
                            run.rejections, agent.agent
                        );
                        self.fail_wp(wp, message.clone());
                        let event = RunEvent::Error { wp: wp.clone(), agent: Some(agent.agent.clone()), message };
                        return self.announce(now, event, outcome);
                    }
                    run.feedback = Some(Feedback {
                        reviewer: agent.agent.clone(),
                        reason: reason.clone(),
                        log_file: agent.log_file.clone(),
                    });
                    let note = format!("Review rejected by {}: {reason}", agent.agent);
                    return self.move_after_try(wp, Lane::ForReview, Lane::Doing, &agent.agent, note, outcome);
                }
            },
        };
        let run = self.wp_mut(wp)?;
        run.tries.push(record(&agent, now.unix_ms, record_outcome));
        if phase == Phase::Implementation {
            run.implemented_by = Some(agent.agent.clone());
        }
        self.move_after_try(wp, from, to, &agent.agent, note, outcome)
    }

    fn move_after_try(
        &mut self,
        wp: &WpId,
        from: Lane,
        to: Lane,
        agent: &str,
        note: String,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        let run = self.wp_mut(wp)?;
        let agent = Some(agent.to_string());
        run.step = Some(WpStep::MoveLane { from, to, agent: agent.clone(), note: note.clone() });
        outcome.effects.push(Action::MoveLane { wp: wp.clone(), from, to, agent, note, base_candidates: Vec::new() });
        Ok(())
    }

    /// A failed try: announced, counted; the next try goes to the fallback agent, or the WP fails
    /// when `max_retries` failures are used up.
    fn try_failed(
        &mut self,
        now: Moment,
        wp: &WpId,
        agent: AgentRun,
        reason: String,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        let max_retries = self.state.roster.max_retries;
        let log = agent.log_file.as_deref().map(|file| format!(" (log: {file})")).unwrap_or_default();
        let message = format!(
            "{wp}: {} try {} by {} failed: {}{log}",
            agent.phase,
            agent.attempt + 1,
            agent.agent,
            shorten(&reason, 500)
        );
        let run = self.wp_mut(wp)?;
        run.tries.push(record(&agent, now.unix_ms, TryOutcome::Failed { reason: shorten(&reason, 500) }));
        let counts = run.counts_mut(agent.phase);
        counts.failures += 1;
        let exhausted = counts.failures > max_retries;
        run.last_error = Some(message.clone());
        if exhausted {
            run.status = WpStatus::Failed;
            run.step = None;
        } else {
            run.step = Some(WpStep::AwaitAgent { phase: agent.phase });
        }
        let event = RunEvent::Error { wp: wp.clone(), agent: Some(agent.agent), message };
        self.announce(now, event, outcome)
    }
}
