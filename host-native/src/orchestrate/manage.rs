//! The modes that change a saved run without running agents: `--skip`, `--abort [--cleanup]`; and
//! what every mode needs of a saved run (reading it, its outbox, the processes a crash left).

use super::ModeOutcome;
use super::agent_process::stop_leftover_group;
use super::lanes::put_back_to_planned;
use super::run_files::{RunFiles, RunLock};
use super::setup::{self, RunContext};
use crate::app::{App, invalid};
use crate::cli::OrchestrateArgs;
use crate::emitter::{Draft, moment};
use crate::project::Project;
use anyhow::{Context, Result};
use serde_json::json;
use spec_kitty_core::WpId;
use spec_kitty_core::orchestrate::{Action, Input, Orchestration, OrchestrationState, RunStatus, STATE_FILE};
use spec_kitty_core::workflow::Lane;
use std::path::Path;
use std::time::{Duration, Instant};

/// The saved run, which must be of the feature asked for (when one was).
pub fn saved_run(files: &RunFiles, feature: Option<&str>, what: &str) -> Result<OrchestrationState> {
    let Some(state) = files.read_state()? else {
        return Err(invalid(format!("no orchestration run to {what}: {STATE_FILE} does not exist")));
    };
    if let Some(feature) = feature
        && feature != state.feature_slug
    {
        return Err(invalid(format!(
            "the saved run is of feature {}, not {feature} ({STATE_FILE})",
            state.feature_slug
        )));
    }
    Ok(state)
}

pub fn active_run_error(state: Option<&OrchestrationState>) -> anyhow::Error {
    let who = state
        .map(|s| {
            format!(" (feature {}, pid {})", s.feature_slug, s.orchestrator_pid.map_or("?".into(), |p| p.to_string()))
        })
        .unwrap_or_default();
    anyhow::anyhow!(
        "an orchestration run is active in this repository{who}: wait for it, stop it with Ctrl-C, or --abort it"
    )
}

/// Emits what a finished run's outbox still holds (a crash between its save and its emission).
pub fn flush_outbox(context: &RunContext, state: OrchestrationState) {
    if state.outbox.is_empty() {
        return;
    }
    let mut machine = Orchestration::restore(state);
    let Ok(actions) = machine.handle(
        moment(),
        Input::Resume { lanes: Default::default(), roster: None, max_parallel: None, orchestrator_pid: None },
    ) else {
        return;
    };
    carry_out_records(context, &mut machine, actions);
}

/// Carries out what a mode without agents gets from the machine: saves and emissions (nothing else is
/// asked of it).
pub fn carry_out_records(context: &RunContext, machine: &mut Orchestration, actions: Vec<Action>) {
    let app = App { cwd: context.root().to_path_buf(), json: false, feature: Some(context.slug.clone()) };
    let mut emitter = app.emitter(&context.project);
    let mut pending: std::collections::VecDeque<Action> = actions.into();
    while let Some(action) = pending.pop_front() {
        match action {
            Action::SaveState => {
                if let Err(error) = context.files.write_state(machine.state()) {
                    crate::errln!("warning: {error:#}");
                }
            }
            Action::Emit { events } => {
                let slug = machine.state().feature_slug.clone();
                let ids: Vec<String> = events.iter().map(|a| a.event_id.clone()).collect();
                let drafts = events.iter().map(|a| (a.event_id.clone(), Draft::new(a.event.payload(&slug)))).collect();
                let _report = emitter.emit_with_ids(drafts);
                if let Ok(more) = machine.handle(moment(), Input::Emitted { event_ids: ids }) {
                    pending.extend(more);
                }
            }
            _ => {}
        }
    }
}

/// Stops the agent process groups a crashed run left working in their worktrees.
pub fn stop_leftovers(context: &RunContext, state: &OrchestrationState) {
    for (wp, agent) in state.running_agents() {
        if let Some(pid) = agent.pid
            && stop_leftover_group(pid, &context.worktree(wp))
        {
            crate::errln!(
                "note: stopped {wp}'s {} agent {} (pid {pid}) that a crashed run left running",
                agent.phase,
                agent.agent
            );
        }
    }
}

pub fn skip(args: &OrchestrateArgs, cwd: &Path, wp: &str) -> Result<ModeOutcome> {
    let wp: WpId = wp.parse().map_err(|e: spec_kitty_core::IdError| invalid(format!("--skip: {e}")))?;
    let project = Project::discover(cwd)?;
    let files = RunFiles::new(&project);
    let Some(_lock) = files.try_lock()? else {
        return Err(active_run_error(files.read_state().ok().flatten().as_ref()));
    };
    let state = saved_run(&files, args.feature.as_deref(), "skip a work package of")?;
    if !state.status.can_resume() {
        return Err(invalid(format!("run {} is {}: there is nothing to skip", state.run_id, state.status.as_str())));
    }
    let context = setup::open(cwd, Some(&state.feature_slug))?;
    let dependents: Vec<WpId> = state
        .work_packages
        .iter()
        .filter(|(_, run)| run.dependencies.contains(&wp))
        .map(|(id, _)| id.clone())
        .collect();
    let mut machine = Orchestration::restore(state);
    let actions =
        machine.handle(moment(), Input::Skip { wp: wp.clone() }).map_err(|e| invalid(format!("--skip {wp}: {e}")))?;
    carry_out_records(&context, &mut machine, actions);
    let unblocked = if dependents.is_empty() {
        "no work package depends on it".to_string()
    } else {
        format!("{} no longer wait(s) for it", dependents.iter().map(WpId::as_str).collect::<Vec<_>>().join(", "))
    };
    Ok(ModeOutcome {
        human: format!(
            "{wp} skipped: {unblocked}; continue with `spec-kitty orchestrate --resume --feature {}`",
            context.slug
        ),
        json: json!({"ok": true, "feature": context.slug, "skipped": wp, "dependents": dependents}),
        code: 0,
    })
}

pub fn abort(args: &OrchestrateArgs, cwd: &Path) -> Result<ModeOutcome> {
    let project = Project::discover(cwd)?;
    let files = RunFiles::new(&project);
    if let Err(error) = files.read_state() {
        // Unreadable (truncated or edited by hand): nothing can continue it, so aborting sets it aside.
        return abort_unreadable(args, cwd, &files, &error);
    }
    let state = saved_run(&files, args.feature.as_deref(), "abort")?;
    if state.status == RunStatus::Completed {
        return Err(invalid(format!(
            "run {} of {} is completed: there is nothing to abort",
            state.run_id, state.feature_slug
        )));
    }
    let lock = match files.try_lock()? {
        Some(lock) => lock,
        None => stop_active_run(&files, &state)?,
    };
    // The stopped run saved its state last.
    let state = saved_run(&files, None, "abort")?;
    let context = setup::open(cwd, Some(&state.feature_slug))?;
    let run_id = state.run_id.clone();
    let already = state.status == RunStatus::Aborted;
    let wps: Vec<WpId> = state.work_packages.keys().cloned().collect();
    if !already {
        stop_leftovers(&context, &state);
        let mut machine = Orchestration::restore(state);
        let actions = machine.handle(moment(), Input::Abort).map_err(|e| invalid(e.to_string()))?;
        carry_out_records(&context, &mut machine, actions);
    }
    let removed = if args.cleanup { clean_up(&context, &wps)? } else { Vec::new() };
    drop(lock);
    let what = if already { "was aborted already" } else { "aborted" };
    Ok(ModeOutcome {
        human: format!("run {run_id} of {} {what}{}", context.slug, cleaned(args.cleanup, &removed)),
        json: json!({"ok": true, "feature": context.slug, "run_id": run_id, "status": "aborted", "already_aborted": already, "removed_worktrees": removed}),
        code: 0,
    })
}

/// `--abort` of a state that cannot be read: set aside (kept for a look) so a new run can start;
/// `--cleanup` then works on the feature's WPs that are not done.
fn abort_unreadable(
    args: &OrchestrateArgs,
    cwd: &Path,
    files: &RunFiles,
    error: &anyhow::Error,
) -> Result<ModeOutcome> {
    let Some(lock) = files.try_lock()? else { return Err(active_run_error(None)) };
    let aside = files.set_state_aside()?;
    crate::errln!("warning: {}", format!("{error:#}").replace(['\r', '\n'], " "));
    let aside = files.relative(&aside);
    let (slug, removed) = if args.cleanup {
        let context = setup::open(cwd, args.feature.as_deref())?;
        let wps: Vec<WpId> = context.lanes()?.into_keys().collect();
        let removed = clean_up(&context, &wps)?;
        (Some(context.slug.clone()), removed)
    } else {
        (args.feature.clone(), Vec::new())
    };
    drop(lock);
    Ok(ModeOutcome {
        human: format!("the unreadable run state was set aside as {aside}{}", cleaned(args.cleanup, &removed)),
        json: json!({"ok": true, "feature": slug, "status": "aborted", "state_set_aside": aside, "removed_worktrees": removed}),
        code: 0,
    })
}

/// `--cleanup`: removes the worktrees of the WPs not done and puts those in progress back to planned.
fn clean_up(context: &RunContext, wps: &[WpId]) -> Result<Vec<String>> {
    let lanes = context.lanes()?;
    let mut removed = Vec::new();
    for wp in wps {
        let lane = lanes.get(wp).copied().unwrap_or(Lane::Planned);
        if lane == Lane::Done {
            continue;
        }
        let worktree = context.worktree(wp);
        if worktree.is_dir() {
            let path = worktree.display().to_string();
            crate::git::run(context.root(), &["worktree", "remove", "--force", &path])
                .with_context(|| format!("removing the worktree of {wp}"))?;
            removed.push(context.files.relative(&worktree));
        }
        // Without its worktree it is not in progress: planned again, its branch keeps the work.
        if matches!(lane, Lane::Doing | Lane::ForReview) {
            put_back_to_planned(context, wp, "Put back to planned by orchestrate --abort --cleanup")?;
        }
    }
    Ok(removed)
}

fn cleaned(cleanup: bool, removed: &[String]) -> String {
    if !cleanup {
        return String::new();
    }
    let list = if removed.is_empty() { "none".to_string() } else { removed.join(", ") };
    format!("; worktrees removed: {list} (their branches stay)")
}

/// Asks the active run to stop (SIGTERM: it stops its agents and saves) and waits for its lock.
pub fn stop_active_run(files: &RunFiles, state: &OrchestrationState) -> Result<RunLock> {
    let Some(pid) = state.orchestrator_pid else { return Err(active_run_error(Some(state))) };
    #[cfg(unix)]
    // SAFETY: kill only sends SIGTERM to the run's process, recorded in its state.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if let Some(lock) = files.try_lock()? {
            return Ok(lock);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(anyhow::anyhow!("the active run (pid {pid}) did not stop within 60 s"))
}
