//! Taking a saved run up again: a resume after a stop, a failure or a crash, and `--skip`.

use super::{Action, OrchestrateError, Orchestration, Outcome, schedule, tries};
use crate::events::Moment;
use crate::ids::WpId;
use crate::orchestrate::roster::Roster;
use crate::orchestrate::state::{RunStatus, TryOutcome, WpStatus, WpStep};
use crate::workflow::Lane;
use std::collections::BTreeMap;

impl Orchestration {
    pub(super) fn skip(&mut self, now: Moment, wp: &WpId, outcome: &mut Outcome) -> Result<(), OrchestrateError> {
        let run = self.wp_mut(wp)?;
        match run.status {
            WpStatus::Done => return Err(OrchestrateError::AlreadyDone { wp: wp.clone() }),
            WpStatus::Skipped => return Ok(()),
            _ => {}
        }
        if let Some(WpStep::Agent(agent)) = run.step.take() {
            run.tries.push(tries::record(&agent, now.unix_ms, TryOutcome::Interrupted));
        }
        run.status = WpStatus::Skipped;
        self.announce_resolutions(now, wp, true, outcome)
    }

    pub(super) fn resume(
        &mut self,
        now: Moment,
        lanes: BTreeMap<WpId, Lane>,
        roster: Option<Roster>,
        max_parallel: Option<u32>,
        orchestrator_pid: Option<u32>,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        if !self.state.status.can_resume() {
            // Over already; only what a crash left in the outbox is still to go out.
            outcome.announced.extend(self.state.outbox.iter().cloned());
            outcome.effects.push(Action::Finish { status: self.state.status });
            return Ok(());
        }
        if let Some(roster) = roster {
            self.state.roster = roster;
        }
        if let Some(max_parallel) = max_parallel {
            self.state.max_parallel = max_parallel.max(1);
        }
        self.state.status = RunStatus::Running;
        self.state.stop_reason = None;
        self.state.finished_at_ms = None;
        self.state.session_started_at_ms = now.unix_ms;
        self.state.orchestrator_pid = orchestrator_pid;
        // Announcements a crash left unconfirmed go out again, with their ids.
        outcome.announced.extend(self.state.outbox.iter().cloned());
        let ids: Vec<WpId> = self.state.work_packages.keys().cloned().collect();
        for wp in ids {
            let Some(on_disk) = lanes.get(&wp).copied() else { continue };
            self.reconcile(now, &wp, on_disk, outcome)?;
        }
        Ok(())
    }

    /// Brings one WP in line with its lane on disk after a crash or a stop: a lane move that happened
    /// is taken as done, a try under way counts as interrupted, a failed WP gets new tries.
    pub(super) fn reconcile(
        &mut self,
        now: Moment,
        wp: &WpId,
        on_disk: Lane,
        outcome: &mut Outcome,
    ) -> Result<(), OrchestrateError> {
        let run = self.wp_mut(wp)?;
        if matches!(run.status, WpStatus::Done | WpStatus::Skipped) {
            return Ok(());
        }
        let was_failed = run.status == WpStatus::Failed;
        if was_failed {
            run.status = WpStatus::Pending;
            run.implementation.failures = 0;
            run.review.failures = 0;
            run.rejections = 0;
        }
        match run.step.take() {
            Some(WpStep::MoveLane { to, .. }) if on_disk == to => {
                return self.lane_moved_to(now, wp, to, outcome);
            }
            Some(WpStep::Agent(agent)) => {
                run.tries.push(tries::record(&agent, now.unix_ms, TryOutcome::Interrupted));
            }
            _ => {}
        }
        run.lane = on_disk;
        if on_disk == Lane::Done {
            // Done outside this run: nothing of it is this run's to announce.
            run.status = WpStatus::Done;
            return Ok(());
        }
        if run.status == WpStatus::InProgress {
            let step = schedule::first_step(wp, run);
            run.step = Some(step.clone());
            if let WpStep::MoveLane { from, to, agent, note } = step {
                let base_candidates = self.base_candidates(wp);
                outcome.effects.push(Action::MoveLane { wp: wp.clone(), from, to, agent, note, base_candidates });
            }
        }
        Ok(())
    }
}
