//! `spec-kitty orchestrate` (run, `--dry-run`, `--status`, `--resume`, `--abort [--cleanup]`,
//! `--skip WPxx`) and `spec-kitty agent config init`.
//!
//! Exit codes: 0 when the feature completed (or a mode other than a run did what it was asked), 1 when
//! WPs failed, the run stopped or the machine failed, 2 when what was asked cannot be done as asked
//! (a usage error: a missing or wrong agents.yaml, a missing agent program, a cycle, an unknown WP).

use crate::app::{App, FailureContext, Report, invalid};
use crate::cli::OrchestrateArgs;
use crate::emitter::{Draft, moment, now_ms};
use crate::orchestrate::agent_process::stop_leftover_group;
use crate::orchestrate::lanes::put_back_to_planned;
use crate::orchestrate::run::Runner;
use crate::orchestrate::setup::{self, RunContext};
use crate::orchestrate::view::{self, View};
use crate::orchestrate::{programs, run_files::RunFiles};
use crate::project::Project;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use spec_kitty_core::orchestrate::starter::{FoundAgent, starter_yaml};
use spec_kitty_core::orchestrate::waves::waves;
use spec_kitty_core::orchestrate::{
    AGENTS_FILE, Action, AgentChoice, Input, KNOWN_AGENTS, Orchestration, OrchestrationState, Phase, RunStatus,
    STATE_FILE, StartRun, WpStatus, agent_identity,
};
use spec_kitty_core::workflow::Lane;
use spec_kitty_core::{WpId, ids::UlidGenerator};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// What a mode did: words, the JSON document, and the exit code.
struct Done {
    human: String,
    json: Value,
    code: u8,
}

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

fn choice(args: &OrchestrateArgs) -> AgentChoice {
    AgentChoice { implementation: args.impl_agent.clone(), review: args.review_agent.clone() }
}

/// The saved run, which must be of the feature asked for (when one was).
fn saved_run(files: &RunFiles, feature: Option<&str>, what: &str) -> Result<OrchestrationState> {
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

fn active_run_error(state: Option<&OrchestrationState>) -> anyhow::Error {
    let who = state
        .map(|s| {
            format!(" (feature {}, pid {})", s.feature_slug, s.orchestrator_pid.map_or("?".into(), |p| p.to_string()))
        })
        .unwrap_or_default();
    anyhow::anyhow!(
        "an orchestration run is active in this repository{who}: wait for it, stop it with Ctrl-C, or --abort it"
    )
}

fn start(args: &OrchestrateArgs, cwd: &Path) -> Result<Done> {
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
    let roster = setup::load_roster(&context.files, &choice(args))?;
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
        agent_choice: choice(args),
        max_parallel: args.max_parallel,
        orchestrator_pid: Some(std::process::id()),
    };
    let (machine, actions) = Orchestration::start(now, start).map_err(|e| invalid(e.to_string()))?;
    drive(&context, machine, actions, args)
}

fn resume(args: &OrchestrateArgs, cwd: &Path) -> Result<Done> {
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
        choice(args)
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
fn drive(context: &RunContext, machine: Orchestration, actions: Vec<Action>, args: &OrchestrateArgs) -> Result<Done> {
    context.files.exclude_from_git();
    start_sync_daemon();
    let mut view = View::new(args.json);
    let app = App { cwd: context.root().to_path_buf(), json: args.json, feature: Some(context.slug.clone()) };
    let emitter = app.emitter(&context.project);
    let _stderr = if view.is_live() { quiet_stderr(context, &mut view) } else { None };
    let runner = Runner::new(context, machine, actions, emitter, &mut view)?;
    let (status, machine) = runner.run();
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

/// fd 2 pointed at a file until dropped.
struct StderrRedirect {
    saved: i32,
}

impl StderrRedirect {
    fn to(path: &Path) -> Option<StderrRedirect> {
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

/// With a login, the sync daemon sends the run's events as they come (when it is not running yet).
fn start_sync_daemon() {
    let state = crate::state::StateDir::locate();
    if crate::credentials::read_session(&state).is_some()
        && crate::daemon::running_pid(&state).is_none()
        && let Err(error) = crate::daemon::start()
    {
        crate::errln!("warning: the sync daemon did not start ({error:#}); events wait in the queue");
    }
}

fn wp_summary(state: &OrchestrationState) -> Vec<Value> {
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

fn report(context: &RunContext, state: &OrchestrationState, status: RunStatus, live: bool) -> Done {
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
    Done {
        human: lines.join("\n"),
        json: json!({
            "ok": status == RunStatus::Completed, "feature": state.feature_slug, "run_id": state.run_id,
            "status": status, "work_packages": wp_summary(state), "state_file": STATE_FILE, "logs": logs,
        }),
        code: if status == RunStatus::Completed { 0 } else { 1 },
    }
}

/// Emits what a finished run's outbox still holds (a crash between its save and its emission).
fn flush_outbox(context: &RunContext, state: OrchestrationState) {
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
fn carry_out_records(context: &RunContext, machine: &mut Orchestration, actions: Vec<Action>) {
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
fn stop_leftovers(context: &RunContext, state: &OrchestrationState) {
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

fn status(args: &OrchestrateArgs, cwd: &Path) -> Result<Done> {
    let project = Project::discover(cwd)?;
    let files = RunFiles::new(&project);
    let state = saved_run(&files, args.feature.as_deref(), "show")?;
    let active = files.run_is_active();
    let mut lines = view::table(&state, now_ms());
    if active {
        lines.push(format!("active (pid {})", state.orchestrator_pid.map_or("?".into(), |p| p.to_string())));
    } else if !state.status.is_finished() {
        lines.push(format!("not active: the run was killed; continue with --resume --feature {}", state.feature_slug));
    }
    let summary = wp_summary(&state);
    Ok(Done {
        human: lines.join("\n"),
        json: json!({
            "ok": true, "active": active, "feature": state.feature_slug, "run_id": state.run_id,
            "status": state.status, "work_packages": summary, "state": state,
        }),
        code: 0,
    })
}

fn dry_run(args: &OrchestrateArgs, cwd: &Path) -> Result<Done> {
    let mut context = setup::open(cwd, args.feature.as_deref())?;
    let feature = context.feature()?;
    let roster = setup::load_roster(&context.files, &choice(args))?;
    context.check_programs(&roster)?;
    setup::planned_work(&feature)?;
    let max_parallel = args.max_parallel.unwrap_or(roster.global_concurrency);
    let plan = waves(&feature.plan.graph, &feature.plan.lanes());
    let who = |wp: &WpId| {
        let implementer = roster.first_choice(Phase::Implementation, None).map(|a| a.id.clone());
        let own = implementer.as_deref().map(agent_identity);
        let reviewer = roster.first_choice(Phase::Review, own.as_deref()).map(|a| a.id.clone());
        (wp.clone(), implementer.unwrap_or_default(), reviewer.unwrap_or_default())
    };
    let planned: Vec<Vec<(WpId, String, String)>> = plan.iter().map(|wave| wave.iter().map(who).collect()).collect();
    let mut lines = vec![format!(
        "{}: {} wave(s), at most {max_parallel} work packages at once (dry run: nothing runs, no event is emitted)",
        context.slug,
        planned.len()
    )];
    for (index, wave) in planned.iter().enumerate() {
        let entries: Vec<String> = wave
            .iter()
            .map(|(wp, implementer, reviewer)| format!("{wp} (implement: {implementer}, review: {reviewer})"))
            .collect();
        lines.push(format!("wave {}: {}", index + 1, entries.join(", ")));
    }
    if planned.is_empty() {
        lines.push("every work package is done already".into());
    }
    let waves_json: Vec<Value> = planned
        .iter()
        .map(|wave| {
            Value::Array(
                wave.iter()
                    .map(|(wp, implementer, reviewer)| json!({"wp_id": wp, "implementation_agent": implementer, "review_agent": reviewer}))
                    .collect(),
            )
        })
        .collect();
    Ok(Done {
        human: lines.join("\n"),
        json: json!({"ok": true, "dry_run": true, "feature": context.slug, "max_parallel": max_parallel, "waves": waves_json}),
        code: 0,
    })
}

fn skip(args: &OrchestrateArgs, cwd: &Path, wp: &str) -> Result<Done> {
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
    Ok(Done {
        human: format!(
            "{wp} skipped: {unblocked}; continue with `spec-kitty orchestrate --resume --feature {}`",
            context.slug
        ),
        json: json!({"ok": true, "feature": context.slug, "skipped": wp, "dependents": dependents}),
        code: 0,
    })
}

fn abort(args: &OrchestrateArgs, cwd: &Path) -> Result<Done> {
    let project = Project::discover(cwd)?;
    let files = RunFiles::new(&project);
    let state = saved_run(&files, args.feature.as_deref(), "abort")?;
    let lock = match files.try_lock()? {
        Some(lock) => lock,
        None => stop_active_run(&files, &state)?,
    };
    // The stopped run saved its state last.
    let state = saved_run(&files, None, "abort")?;
    let context = setup::open(cwd, Some(&state.feature_slug))?;
    stop_leftovers(&context, &state);
    let run_id = state.run_id.clone();
    let wps: Vec<WpId> = state.work_packages.keys().cloned().collect();
    let mut machine = Orchestration::restore(state);
    let actions = machine.handle(moment(), Input::Abort).map_err(|e| invalid(e.to_string()))?;
    carry_out_records(&context, &mut machine, actions);
    let mut removed = Vec::new();
    if args.cleanup {
        let lanes = context.lanes()?;
        for wp in &wps {
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
                put_back_to_planned(&context, wp, "Put back to planned by orchestrate --abort --cleanup")?;
            }
        }
    }
    drop(lock);
    let cleaned = if args.cleanup {
        format!(
            "; worktrees removed: {} (their branches stay)",
            if removed.is_empty() { "none".to_string() } else { removed.join(", ") }
        )
    } else {
        String::new()
    };
    Ok(Done {
        human: format!("run {run_id} of {} aborted{cleaned}", context.slug),
        json: json!({"ok": true, "feature": context.slug, "run_id": run_id, "status": "aborted", "removed_worktrees": removed}),
        code: 0,
    })
}

/// Asks the active run to stop (SIGTERM: it stops its agents and saves) and waits for its lock.
fn stop_active_run(files: &RunFiles, state: &OrchestrationState) -> Result<crate::orchestrate::run_files::RunLock> {
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

/// `spec-kitty agent config init`: a commented starter agents.yaml listing the agent CLIs on PATH.
pub fn config_init(app: &App, force: bool) -> Result<Report> {
    let project = app.project()?;
    let path = project.root.join(AGENTS_FILE);
    if path.exists() && !force {
        return Err(invalid(format!("{AGENTS_FILE} exists already: edit it, or write a new starter with --force")));
    }
    let path_var = std::env::var_os("PATH");
    let found: Vec<FoundAgent> = KNOWN_AGENTS
        .iter()
        .filter_map(|known| {
            let program = programs::resolve(known.program, &project.root, path_var.as_deref())?;
            Some(FoundAgent { agent: *known, path: program.display().to_string() })
        })
        .collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::state::write_atomically(&path, starter_yaml(&found).as_bytes())?;
    let names: Vec<String> = found.iter().map(|f| format!("{} ({})", f.agent.program, f.path)).collect();
    Ok(Report {
        human: if found.is_empty() {
            format!("wrote {AGENTS_FILE}: no agent CLI found on PATH; enable one there and set its command")
        } else {
            format!("wrote {AGENTS_FILE} with {}: complete each agent's command (see the README)", names.join(", "))
        },
        json: json!({
            "ok": true, "path": AGENTS_FILE,
            "found": found.iter().map(|f| json!({"agent": f.agent.id, "program": f.agent.program, "path": f.path})).collect::<Vec<_>>(),
        }),
    })
}
