//! The modes that only look: `--status` (at any time, also during a run) and `--dry-run`.

use super::run_files::RunFiles;
use super::setup::{self, choice_of};
use super::view::{self, wp_summary};
use super::{ModeOutcome, manage::saved_run};
use crate::cli::OrchestrateArgs;
use crate::emitter::now_ms;
use crate::project::Project;
use anyhow::Result;
use serde_json::{Value, json};
use spec_kitty_core::WpId;
use spec_kitty_core::orchestrate::waves::waves;
use spec_kitty_core::orchestrate::{Phase, agent_identity};
use std::path::Path;

pub fn status(args: &OrchestrateArgs, cwd: &Path) -> Result<ModeOutcome> {
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
    Ok(ModeOutcome {
        human: lines.join("\n"),
        json: json!({
            "ok": true, "active": active, "feature": state.feature_slug, "run_id": state.run_id,
            "status": state.status, "work_packages": summary, "state": state,
        }),
        code: 0,
    })
}

pub fn dry_run(args: &OrchestrateArgs, cwd: &Path) -> Result<ModeOutcome> {
    let mut context = setup::open(cwd, args.feature.as_deref())?;
    let feature = context.feature()?;
    let roster = setup::load_roster(&context.files, &choice_of(args))?;
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
    Ok(ModeOutcome {
        human: lines.join("\n"),
        json: json!({"ok": true, "dry_run": true, "feature": context.slug, "max_parallel": max_parallel, "waves": waves_json}),
        code: 0,
    })
}
