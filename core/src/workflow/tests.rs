//! The workflow model against real feature folders from upstream spec-kitty, copied into the
//! repository's shared test corpus (`tests/fixtures/kitty-specs`). The core reads no files, so
//! they are compiled in.

use std::collections::BTreeMap;

use super::*;
use crate::ids::WpId;

macro_rules! fixture {
    ($path:literal) => {
        ($path, include_str!(concat!("../../../tests/fixtures/kitty-specs/", $path)))
    };
}

const F028_META: (&str, &str) = fixture!("028-cli-event-emission-sync/meta.json");
const F028_TASKS: (&str, &str) = fixture!("028-cli-event-emission-sync/tasks.md");
const F028_WP_FILES: [(&str, &str); 7] = [
    fixture!("028-cli-event-emission-sync/tasks/WP01-event-factory.md"),
    fixture!("028-cli-event-emission-sync/tasks/WP02-workflow-commands.md"),
    fixture!("028-cli-event-emission-sync/tasks/WP03-task-commands.md"),
    fixture!("028-cli-event-emission-sync/tasks/WP04-finalize-tasks.md"),
    fixture!("028-cli-event-emission-sync/tasks/WP05-orchestrate.md"),
    fixture!("028-cli-event-emission-sync/tasks/WP06-background-sync.md"),
    fixture!("028-cli-event-emission-sync/tasks/WP07-tests.md"),
];

const F020_META: (&str, &str) = fixture!("020-autonomous-multi-agent-orchestrator/meta.json");
const F020_TASKS: (&str, &str) = fixture!("020-autonomous-multi-agent-orchestrator/tasks.md");
const F020_WP_FILES: [(&str, &str); 9] = [
    fixture!("020-autonomous-multi-agent-orchestrator/tasks/WP01-foundation-and-config.md"),
    fixture!("020-autonomous-multi-agent-orchestrator/tasks/WP02-agent-invokers-core.md"),
    fixture!("020-autonomous-multi-agent-orchestrator/tasks/WP03-agent-invokers-additional.md"),
    fixture!("020-autonomous-multi-agent-orchestrator/tasks/WP04-state-management.md"),
    fixture!("020-autonomous-multi-agent-orchestrator/tasks/WP05-scheduler.md"),
    fixture!("020-autonomous-multi-agent-orchestrator/tasks/WP06-executor.md"),
    fixture!("020-autonomous-multi-agent-orchestrator/tasks/WP07-monitor.md"),
    fixture!("020-autonomous-multi-agent-orchestrator/tasks/WP08-cli-commands.md"),
    fixture!("020-autonomous-multi-agent-orchestrator/tasks/WP09-integration-and-polish.md"),
];

const F027_META: (&str, &str) = fixture!("027-cli-authentication-module-commands/meta.json");
const F027_TASKS: (&str, &str) = fixture!("027-cli-authentication-module-commands/tasks.md");

fn wp(id: &str) -> WpId {
    id.parse().expect("valid WP id in test")
}

fn wps(ids: &[&str]) -> Vec<WpId> {
    ids.iter().map(|id| wp(id)).collect()
}

fn tasks((label, text): (&str, &str)) -> TasksPlan {
    parse_tasks_md(label, text).unwrap_or_else(|err| panic!("{err}"))
}

fn wp_files(files: &[(&str, &str)]) -> Vec<(String, WpFile)> {
    files
        .iter()
        .map(|(label, text)| {
            let file = WpFile::parse(label, text).unwrap_or_else(|err| panic!("{err}"));
            (label.to_string(), file)
        })
        .collect()
}

fn dependencies_by_wp(plan: &TasksPlan) -> BTreeMap<&str, Vec<WpId>> {
    plan.work_packages.iter().map(|wp| (wp.id.as_str(), wp.dependencies.clone())).collect()
}

#[test]
fn feature_028_tasks() {
    let plan = tasks(F028_TASKS);
    assert_eq!(plan.title.as_deref(), Some("Work Packages: CLI Event Emission + Sync"));
    let titles: Vec<(&str, &str)> = plan.work_packages.iter().map(|wp| (wp.id.as_str(), wp.title.as_str())).collect();
    assert_eq!(
        titles,
        [
            ("WP01", "Event Factory Module"),
            ("WP02", "Workflow Command Integration"),
            ("WP03", "Task Command Integration"),
            ("WP04", "Finalize-Tasks Integration"),
            ("WP05", "Orchestrate Integration"),
            ("WP06", "Background Sync Service"),
            ("WP07", "Test Suite"),
        ]
    );

    let first = &plan.work_packages[0];
    assert_eq!(first.priority.as_deref(), Some("P0"));
    let subtask_ids: Vec<&str> = first.subtasks.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(subtask_ids, ["T001", "T002", "T003", "T004", "T005", "T006", "T007"]);
    assert!(first.subtasks.iter().all(|subtask| subtask.done));
    assert!(first.subtasks[2].parallel && !first.subtasks[0].parallel);
    assert_eq!(plan.work_packages.iter().map(|wp| wp.subtasks.len()).sum::<usize>(), 43);

    let dependencies = dependencies_by_wp(&plan);
    assert!(dependencies["WP01"].is_empty());
    for dependent in ["WP02", "WP03", "WP04", "WP05"] {
        assert_eq!(dependencies[dependent], wps(&["WP01"]), "{dependent}");
    }
    assert_eq!(dependencies["WP06"], wps(&["WP05"]));
    assert_eq!(dependencies["WP07"], wps(&["WP06"]));
    assert_eq!(plan.owner_of_subtask("T028"), Some(&wp("WP05")));
}

#[test]
fn feature_028_assembled() {
    let feature = FeaturePlan::assemble("028-cli-event-emission-sync", tasks(F028_TASKS), wp_files(&F028_WP_FILES))
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(feature.missing_wp_files.is_empty());
    assert!(feature.dependency_mismatches().is_empty());
    assert!(feature.is_complete(), "every 028 WP file is in lane done");
    assert_eq!(feature.graph.topological_order(), wps(&["WP01", "WP02", "WP03", "WP04", "WP05", "WP06", "WP07"]));
    let mut lanes = feature.lanes();
    lanes.insert(wp("WP05"), Lane::ForReview);
    lanes.insert(wp("WP06"), Lane::Planned);
    assert_eq!(feature.graph.unblocked_by(&wp("WP05"), &lanes), wps(&["WP06"]));

    let (label, text) = F028_META;
    let meta = FeatureMeta::parse(label, text).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!((meta.feature_number.as_deref(), meta.target_branch.as_deref()), (Some("028"), Some("2.x")));
    assert_eq!(meta.slug.as_deref(), Some(feature.slug.as_str()));
    assert_eq!(meta.to_json_pretty(), text, "an untouched meta.json is written back unchanged");
}

#[test]
fn feature_020_dependencies_agree_between_tasks_md_and_frontmatter() {
    let plan = tasks(F020_TASKS);
    assert_eq!(plan.work_packages.len(), 9);
    let dependencies = dependencies_by_wp(&plan);
    let expected: [(&str, &[&str]); 9] = [
        ("WP01", &[]),
        ("WP02", &["WP01"]),
        ("WP03", &["WP01", "WP02"]),
        ("WP04", &["WP01"]),
        ("WP05", &["WP01", "WP04"]),
        ("WP06", &["WP02", "WP03", "WP04"]),
        ("WP07", &["WP06"]),
        ("WP08", &["WP05", "WP06", "WP07"]),
        ("WP09", &["WP08"]),
    ];
    for (id, deps) in expected {
        assert_eq!(dependencies[id], wps(deps), "{id}");
    }

    let files = wp_files(&F020_WP_FILES);
    for (_, file) in &files {
        let id = file.work_package_id().as_str();
        assert_eq!(file.dependencies(), dependencies[id].as_slice(), "{id}");
    }
    let feature = FeaturePlan::assemble("020-autonomous-multi-agent-orchestrator", plan, files)
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(feature.dependency_mismatches().is_empty());
    assert!(feature.missing_wp_files.is_empty());
    assert_eq!(feature.graph.dependents_of(&wp("WP04")), wps(&["WP05", "WP06"]).as_slice());

    let (label, text) = F020_META;
    let meta = FeatureMeta::parse(label, text).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(meta.friendly_name.as_deref(), Some("Autonomous Multi-Agent Orchestrator"));
    assert_eq!(meta.to_json_pretty(), text);
}

#[test]
fn feature_027_has_tasks_md_but_no_wp_files() {
    let plan = tasks(F027_TASKS);
    assert_eq!(plan.work_packages.len(), 5);
    assert_eq!(plan.work_packages[1].subtasks.len(), 9, "WP02 lists T005..T011, T023, T024");
    let feature = FeaturePlan::assemble("027-cli-authentication-module-commands", plan, Vec::new())
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(feature.missing_wp_files, wps(&["WP01", "WP02", "WP03", "WP04", "WP05"]));
    assert_eq!(feature.graph.ready_to_start(&feature.lanes()), wps(&["WP01"]));
    assert_eq!(feature.graph.dependencies_of(&wp("WP05")), wps(&["WP01", "WP02", "WP03"]).as_slice());
    assert!(!feature.is_complete());

    let (label, text) = F027_META;
    let meta = FeatureMeta::parse(label, text).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(meta.target_branch, None, "027 has no target_branch; the caller defaults to main");
}

#[test]
fn real_wp_files_survive_edits_byte_for_byte() {
    for (label, text) in F028_WP_FILES.iter().chain(F020_WP_FILES.iter()) {
        let mut file = WpFile::parse(label, text).unwrap_or_else(|err| panic!("{err}"));
        let lane = file.lane();
        file.set_lane(Lane::Doing).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(file.lane(), Lane::Doing);
        assert_eq!(file.body(), &text[text.len() - file.body().len()..], "{label}: body untouched");
        file.set_lane(lane).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(file.to_text(), *text, "{label}: lane round trip");

        let line = activity_line("2026-02-05T09:00:00Z", "codex", Some("1234"), Lane::Doing, "Started");
        file.append_activity(&line);
        assert_eq!(file.to_text(), format!("{text}{line}\n"), "{label}: the log runs to the end of the file");
    }
}

#[test]
fn ticking_subtasks_in_a_real_tasks_md() {
    let (label, text) = F028_TASKS;
    let (unticked, changes) =
        set_subtask_done(label, text, &["T008", "T043"], false).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(changes.iter().map(|c| c.wp.as_str()).collect::<Vec<_>>(), ["WP02", "WP07"]);
    assert_eq!(unticked.len(), text.len());
    assert_eq!(unticked, text.replace("- [x] T008", "- [ ] T008").replace("- [x] T043", "- [ ] T043"));
    let plan = tasks((label, &unticked));
    assert!(!plan.subtask("T008").is_some_and(|(_, subtask)| subtask.done));
    let (ticked, _) = set_subtask_done(label, &unticked, &["T008", "T043"], true).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(ticked, text);
}
