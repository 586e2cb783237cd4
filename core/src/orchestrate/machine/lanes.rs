//! Lane moves and what follows them: the next phase, a WP done with the dependents it resolves and the
//! feature it may complete, a move that failed; and stopping the run.

use super::{Action, OrchestrateError, Orchestration, Outcome};
use crate::events::Moment;
use crate::ids::WpId;
use crate::orchestrate::agents::Phase;
use crate::orchestrate::state::{RunEvent, RunStatus, StopReason, WpStatus, WpStep};
use crate::workflow::Lane;

impl Orchestration {
    /// One DependencyResolved per dependent of `wp` not yet done or skipped.
    pub(super) fn announce_resolutions(
        &mut self,
        now: Moment,
        wp: &WpId,
        skipped: bool,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        for dependent in self.dependents(wp) {
            let open = self
                .state
                .work_packages
                .get(&dependent)
                .is_some_and(|run| !matches!(run.status, WpStatus::Done | WpStatus::Skipped));
            if open {
                let event = RunEvent::DependencyResolved { wp: dependent, dependency: wp.clone(), skipped };
                self.announce(now, event, outcome)?;
            }
        }
        Ok(())
    }

    /// The done (not skipped) dependencies of `wp`, in declaration order.
    pub(super) fn base_candidates(&self, wp: &WpId) -> Vec<WpId> {
        let Some(run) = self.state.work_packages.get(wp) else { return Vec::new() };
        run.dependencies
            .iter()
            .filter(|dependency| self.state.work_packages.get(*dependency).is_some_and(|d| d.status == WpStatus::Done))
            .cloned()
            .collect()
    }

    pub(super) fn lane_moved(
        &mut self,
        now: Moment,
        wp: &WpId,
        lane: Lane,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        let run = self.wp_mut(wp)?;
        match &run.step {
            Some(WpStep::MoveLane { to, .. }) if *to == lane => {
                run.step = None;
                self.lane_moved_to(now, wp, lane, outcome)
            }
            _ => Err(OrchestrateError::Unexpected(format!("{wp}: no move to {lane} was asked for"))),
        }
    }

    /// What follows a lane move the run asked for.
    pub(super) fn lane_moved_to(
        &mut self,
        now: Moment,
        wp: &WpId,
        lane: Lane,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        let run = self.wp_mut(wp)?;
        run.lane = lane;
        match lane {
            Lane::Doing => run.step = Some(WpStep::AwaitAgent { phase: Phase::Implementation }),
            Lane::ForReview => run.step = Some(WpStep::AwaitAgent { phase: Phase::Review }),
            Lane::Done => {
                run.step = None;
                run.status = WpStatus::Done;
                run.completed_at_ms = Some(now.unix_ms);
                self.announce_resolutions(now, wp, false, outcome)?;
                let all_done = self.state.work_packages.values().all(|run| run.status == WpStatus::Done);
                if all_done && !self.state.feature_completed_announced {
                    self.state.feature_completed_announced = true;
                    let event = RunEvent::FeatureCompleted {
                        total_wps: self.state.work_packages.len() as u32,
                        completed_at_ms: now.unix_ms,
                        duration_ms: now.unix_ms.saturating_sub(self.state.started_at_ms),
                    };
                    self.announce(now, event, outcome)?;
                }
            }
            Lane::Planned => run.step = None,
        }
        Ok(())
    }

    pub(super) fn lane_move_failed(
        &mut self,
        now: Moment,
        wp: &WpId,
        error: String,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        let run = self.wp_mut(wp)?;
        let Some(WpStep::MoveLane { to, .. }) = run.step.take() else {
            return Err(OrchestrateError::Unexpected(format!("{wp}: no lane move was under way")));
        };
        let message = format!("{wp}: moving the lane to {to} failed: {error}");
        run.status = WpStatus::Failed;
        run.last_error = Some(message.clone());
        self.announce(now, RunEvent::Error { wp: wp.clone(), agent: None, message }, outcome)
    }

    /// Stops taking up work and asks every running agent to stop.
    pub(super) fn stop(&mut self, reason: StopReason, outcome: &mut Outcome) {
        if self.state.status != RunStatus::Running {
            return;
        }
        self.state.status = RunStatus::Stopping;
        self.state.stop_reason = Some(reason);
        for (id, run) in self.state.work_packages.iter_mut() {
            if let Some(WpStep::Agent(agent)) = &mut run.step
                && agent.started_at_ms.is_some()
                && agent.stop.is_none()
            {
                agent.stop = Some(reason);
                outcome.effects.push(Action::StopAgent { wp: id.clone(), phase: agent.phase, attempt: agent.attempt });
            }
        }
    }
}
