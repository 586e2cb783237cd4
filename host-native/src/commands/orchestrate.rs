//! `spec-kitty orchestrate` (run, `--dry-run`, `--status`, `--resume`, `--abort [--cleanup]`,
//! `--skip WPxx`) and `spec-kitty agent config init`.
//!
//! Exit codes: 0 when the feature completed (or a mode other than a run did what it was asked), 1 when
//! WPs failed, the run stopped or the machine failed, 2 when what was asked cannot be done as asked
//! (a usage error: a missing or wrong agents.yaml, a missing agent program, a cycle, an unknown WP).

use crate::app::{App, FailureContext, invalid};
use crate::cli::OrchestrateArgs;
use crate::emitter::{moment, now_ms};
use crate::orchestrate::ModeOutcome;
use crate::orchestrate::inspect::{dry_run, status};
use crate::orchestrate::manage::{abort, active_run_error, flush_outbox, saved_run, skip, stop_leftovers};
use crate::orchestrate::run::Runner;
use crate::orchestrate::run_files::RunFiles;
use crate::orchestrate::setup::{self, RunContext, choice_of};
use crate::orchestrate::view::{self, StderrRedirect, View, wp_summary};
use crate::project::Project;
use anyhow::Result;
use serde_json::json;
use spec_kitty_core::ids::UlidGenerator;
use spec_kitty_core::orchestrate::{
    Action, Input, Orchestration, OrchestrationState, RunStatus, STATE_FILE, StartRun, WpStatus,
};
use std::path::Path;
use std::process::ExitCode;

pub use crate::orchestrate::config_init::config_init;

/// Runs the mode the arguments ask for and prints its outcome; returns the exit code.
pub fn main(args: &OrchestrateArgs, cwd: &Path) -> ExitCode {
    let result = if args.status {
        status(args, cwd)
    } else if args.dry_run {
        dry_run(args, cwd)
    } else if args.abort {
        abort(args, cwd)
    } else if let Some(wp) = &args.skip {
        skip(args, cwd, wp)
    } else if args.resume {
        resume(args, cwd)
    } else {
        start(args, cwd)
    };
    match result {
        Ok(done) => {
            if args.json {
                crate::outln!("{}", serde_json::to_string_pretty(&done.json).unwrap_or_default());
            } else if !done.human.is_empty() {
                crate::outln!("{}", done.human);
            }
            ExitCode::from(done.code)
        }
        Err(error) => {
            let message = format!("{error:#}").replace(['\r', '\n'], " ");
            if args.json {
                crate::outln!("{}", json!({"ok": false, "error": message}));
            }
            crate::errln!("error: {message}");
            let usage = crate::app::error_type(&error) == spec_kitty_core::events::ErrorType::Validation;
            if !args.status && !args.dry_run {
                let app = App { cwd: cwd.to_path_buf(), json: args.json, feature: args.feature.clone() };
                app.log_failure(&error, &FailureContext::default());
            }
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn start(args: &OrchestrateArgs, cwd: &Path) -> Result<ModeOutcome> {
    let mut context = setup::open(cwd, args.feature.as_deref())?;
    context.project.require_branch("orchestrate")?;
    context.project.require_no_merge_in_progress("orchestrate")?;
    let Some(_lock) = context.files.try_lock()? else {
        return Err(active_run_error(context.files.read_state().ok().flatten().as_ref()));
    };
    if let Some(previous) = context.files.read_state()? {
        if previous.status.can_resume() {
            let feature = &previous.feature_slug;
            return Err(invalid(format!(
                "an unfinished run of feature {feature} ({}) exists: continue it with `spec-kitty orchestrate --resume --feature {feature}`, or drop it with `--abort`",
                previous.status.as_str()
            )));
        }
        flush_outbox(&context, previous);
    }
    let feature = context.feature()?;
    let roster = setup::load_roster(&context.files, &choice_of(args))?;
    context.check_programs(&roster)?;
    let work = setup::planned_work(&feature)?;
    let mut ids = UlidGenerator::new();
    let now = moment();
    let run_id =
        ids.next(now.unix_ms, now.entropy).map(|id| id.to_string()).unwrap_or_else(|_| now.unix_ms.to_string());
    let start = StartRun {
        run_id,
        feature_slug: context.slug.clone(),
        work_packages: work,
        roster,
        agent_choice: choice_of(args),
        max_parallel: args.max_parallel,
        orchestrator_pid: Some(std::process::id()),
    };
    let (machine, actions) = Orchestration::start(now, start).map_err(|e| invalid(e.to_string()))?;
    drive(&context, machine, actions, args)
}

fn resume(args: &OrchestrateArgs, cwd: &Path) -> Result<ModeOutcome> {
    let project = Project::discover(cwd)?;
    let files = RunFiles::new(&project);
    let Some(_lock) = files.try_lock()? else {
        return Err(active_run_error(files.read_state().ok().flatten().as_ref()));
    };
    let state = saved_run(&files, args.feature.as_deref(), "resume")?;
    if state.status == RunStatus::Aborted {
        return Err(invalid(format!("run {} was aborted: start a new one (without --resume)", state.run_id)));
    }
    let mut context = setup::open(cwd, Some(&state.feature_slug))?;
    context.project.require_branch("orchestrate")?;
    context.project.require_no_merge_in_progress("orchestrate")?;
    let agent_choice = if args.impl_agent.is_some() || args.review_agent.is_some() {
        choice_of(args)
    } else {
        state.agent_choice.clone()
    };
    let roster = setup::load_roster(&context.files, &agent_choice)?;
    context.check_programs(&roster)?;
    stop_leftovers(&context, &state);
    crate::orchestrate::lanes::finish_uncommitted_moves(&context)?;
    let lanes = context.lanes()?;
    let mut machine = Orchestration::restore(state);
    let input = Input::Resume {
        lanes,
        roster: Some(roster),
        max_parallel: args.max_parallel,
        orchestrator_pid: Some(std::process::id()),
    };
    let actions = machine.handle(moment(), input).map_err(|e| invalid(e.to_string()))?;
    drive(&context, machine, actions, args)
}

/// Runs the machine to its end and reports.
fn drive(
    context: &RunContext,
    machine: Orchestration,
    actions: Vec<Action>,
    args: &OrchestrateArgs,
) -> Result<ModeOutcome> {
    context.files.exclude_from_git();
    // With a login and no daemon, the run carries the sync service itself (the daemon's loop on a thread):
    // its events go as they come, and what is left goes within the flush time when it ends.
    let sync = crate::daemon::InProcessSync::start_if_no_daemon();
    let mut view = View::new(args.json);
    let app = App { cwd: context.root().to_path_buf(), json: args.json, feature: Some(context.slug.clone()) };
    let emitter = app.emitter(&context.project);
    let _stderr = if view.is_live() { quiet_stderr(context, &mut view) } else { None };
    let runner = Runner::new(context, machine, actions, emitter, &mut view)?;
    let (status, machine) = runner.run();
    if let Some(sync) = sync {
        sync.finish();
    }
    drop(_stderr);
    Ok(report(context, machine.state(), status, view.is_live()))
}

/// While the live table is drawn, what the workflow commands print on stderr goes to the run's log.
fn quiet_stderr(context: &RunContext, view: &mut View) -> Option<StderrRedirect> {
    let dir = context.files.logs_dir(&context.slug);
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("orchestrate.log");
    let redirect = StderrRedirect::to(&path)?;
    view.set_footer(format!("other messages: {}", context.files.relative(&path)));
    Some(redirect)
}

fn report(context: &RunContext, state: &OrchestrationState, status: RunStatus, live: bool) -> ModeOutcome {
    let mut lines = Vec::new();
    if !live {
        lines.extend(view::table(state, now_ms()));
    }
    let done = state.count(WpStatus::Done);
    let total = state.work_packages.len();
    lines.push(match status {
        RunStatus::Completed => format!("{}: completed, {done}/{total} work packages done", state.feature_slug),
        RunStatus::Stopped => format!(
            "{}: stopped ({done}/{total} done); continue with `spec-kitty orchestrate --resume --feature {}`",
            state.feature_slug, state.feature_slug
        ),
        other => format!("{}: {} ({done}/{total} done)", state.feature_slug, other.as_str()),
    });
    for (wp, run) in &state.work_packages {
        match run.status {
            WpStatus::Failed => {
                lines.push(format!("  {wp} failed: {}", run.last_error.as_deref().unwrap_or("unknown error")))
            }
            WpStatus::Pending if state.blocked_by_failure(wp) => {
                lines.push(format!("  {wp} blocked by a failed dependency"))
            }
            WpStatus::Skipped => lines.push(format!("  {wp} skipped")),
            _ => {}
        }
    }
    if matches!(status, RunStatus::Failed | RunStatus::Incomplete) {
        lines.push(format!(
            "  fix and `spec-kitty orchestrate --resume --feature {}`, or `--skip WPxx` what cannot be done",
            state.feature_slug
        ));
    }
    let logs = context.files.relative(&context.files.logs_dir(&context.slug));
    lines.push(format!("  state: {STATE_FILE}; logs: {logs}/"));
    ModeOutcome {
        human: lines.join("\n"),
        json: json!({
            "ok": status == RunStatus::Completed, "feature": state.feature_slug, "run_id": state.run_id,
            "status": status, "work_packages": wp_summary(state), "state_file": STATE_FILE, "logs": logs,
        }),
        code: if status == RunStatus::Completed { 0 } else { 1 },
    }
}
