//! finalize-tasks (and the commands after it) on feature folders in the shapes upstream spec-kitty
//! reads (`tests/fixtures/kitty-specs-compat/`): the same dependencies as upstream's finalize-tasks
//! (the expected values below are what its 2.x rule gives for these files), notes for what it does
//! not read, both meta.json formats, and refusals only for a cycle, a self-dependency or an
//! undefined WP. Every queued event is checked against the reference schema (by `TestRepo::events`)
//! and against the core's own validator here.

mod common;

use common::{TestRepo, of_type};
use serde_json::{Value, json};
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::write(&target, std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}

/// A test repository holding only the fixture feature `slug`, committed.
fn repo_with(slug: &str) -> TestRepo {
    let repo = TestRepo::new();
    std::fs::remove_dir_all(repo.feature_dir()).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kitty-specs-compat").join(slug);
    copy_dir(&fixture, &repo.root.join("kitty-specs").join(slug));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "--quiet", "-m", "Only the fixture feature"]);
    repo
}

fn feature_dir(repo: &TestRepo, slug: &str) -> std::path::PathBuf {
    repo.root.join("kitty-specs").join(slug)
}

/// Panics unless the core's validator (the schema every host validates with) accepts each event.
fn assert_core_valid(events: &[Value]) {
    for event in events {
        let issues = spec_kitty_core::validation::validate_event(event);
        assert!(issues.is_empty(), "the core's validator refuses {event:#}: {issues:?}");
    }
}

/// (wp_id, dependencies) of each WPCreated, in queue order.
fn created_dependencies(events: &[Value]) -> Vec<(String, Value)> {
    of_type(events, "WPCreated")
        .iter()
        .map(|e| (e["payload"]["wp_id"].as_str().unwrap().to_string(), e["payload"]["dependencies"].clone()))
        .collect()
}

fn notes(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("note: ")).collect()
}

#[test]
fn the_issue_examples_give_upstreams_dependencies_and_notes_for_what_it_does_not_read() {
    let slug = "042-upstream-shapes";
    let repo = repo_with(slug);
    let (run, events) = repo.new_events(&["agent", "feature", "finalize-tasks", "--json"]);
    let run = run.ok();
    assert_core_valid(&events);
    assert_eq!(run.json()["feature_created"], true);

    let created = of_type(&events, "FeatureCreated");
    assert_eq!(created.len(), 1, "{events:#?}");
    assert_eq!(created[0]["payload"]["feature_number"], "042");
    assert_eq!(created[0]["payload"]["wp_count"], 6, "the WPs are the six WP files");
    // Upstream's results for these files: prose after the list, a range, `**Dependencies**:` and a
    // `### Dependencies` list are not read; `###`/`####` Work Package headings split; a trailing
    // `Dependencies:` takes the next non-empty line; WP06 has no section, so none.
    let expected = [
        ("WP01", json!([])),
        ("WP02", json!([])),
        ("WP03", json!(["WP01"])),
        ("WP04", json!([])),
        ("WP05", json!(["WP03", "WP04"])),
        ("WP06", json!([])),
    ];
    let expected: Vec<(String, Value)> = expected.into_iter().map(|(wp, deps)| (wp.to_string(), deps)).collect();
    assert_eq!(created_dependencies(&events), expected);
    let titles: Vec<&str> =
        of_type(&events, "WPCreated").iter().map(|e| e["payload"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Validator", "Metadata Updates", "Report", "Documentation", "Release", "Cleanup"]);
    let cause = &events[0]["causation_id"];
    assert!(events.iter().all(|e| &e["causation_id"] == cause), "one causation_id");

    let notes = notes(&run.stderr);
    let about = |prefix: &str| notes.iter().filter(|n| n.starts_with(prefix)).copied().collect::<Vec<_>>();
    let wp03 = about("note: WP03: tasks.md line");
    assert_eq!(wp03.len(), 1, "one note per WP: {notes:#?}");
    assert!(
        wp03[0].contains("mentions WP02, not read") && wp03[0].contains("\"Depends on WP01, WP02\""),
        "{}",
        wp03[0]
    );
    let wp04 = about("note: WP04: tasks.md line");
    assert_eq!(wp04.len(), 1, "{notes:#?}");
    assert!(wp04[0].contains("WP01, WP02, WP03") && wp04[0].contains("\"Depends on WP01, WP02, WP03\""), "{}", wp04[0]);
    assert_eq!(about("note: WP02: tasks.md line").len(), 1, "the bold form is noted: {notes:#?}");
    assert!(about("note: WP05: tasks.md").is_empty() && about("note: WP01: tasks.md").is_empty(), "{notes:#?}");
    // Dependencies replaced in the frontmatter are named, old -> new.
    let replaced = about("note: WP03: dependencies in");
    assert!(
        replaced.len() == 1 && replaced[0].ends_with("replaced: [WP01, WP02] -> [WP01] (from tasks.md)"),
        "{notes:#?}"
    );
    assert!(about("note: WP02: dependencies in")[0].ends_with("[WP01] -> [] (from tasks.md)"), "{notes:#?}");
    assert!(notes.iter().any(|n| n.contains("tasks.md lists WP07 with no WP file")), "{notes:#?}");
    assert!(notes.iter().any(|n| n.contains("WP06 has no `## Work Package WPxx` section")), "{notes:#?}");
    assert!(run.warnings().is_empty(), "{run:#?}");

    // The files carry upstream's dependencies, committed.
    let wp05 = std::fs::read_to_string(feature_dir(&repo, slug).join("tasks/WP05-release.md")).unwrap();
    let frontmatter = wp05.split("\n---").next().unwrap();
    assert!(frontmatter.contains("WP03") && frontmatter.contains("WP04"), "{frontmatter}");
    let wp03 = std::fs::read_to_string(feature_dir(&repo, slug).join("tasks/WP03-report.md")).unwrap();
    assert!(!wp03.split("\n---").next().unwrap().contains("WP02"), "WP02 dropped from WP03:\n{wp03}");
    assert_eq!(repo.git(&["status", "--porcelain", "--", "kitty-specs"]), "");

    // Run again: nothing left to change, the same events.
    let (again, events_again) = repo.new_events(&["agent", "feature", "finalize-tasks"]);
    assert!(!again.ok().stderr.contains("dependencies in"), "nothing replaced the second time");
    assert_eq!(created_dependencies(&events_again), expected);
}

#[test]
fn a_mission_without_a_number_finalizes_without_feature_created_and_the_other_commands_work() {
    let slug = "cascade-org-inert-01M07E9P";
    let repo = repo_with(slug);
    let meta_before = std::fs::read_to_string(feature_dir(&repo, slug).join("meta.json")).unwrap();
    let (run, events) = repo.new_events(&["agent", "feature", "finalize-tasks", "--json"]);
    let run = run.ok();
    assert_core_valid(&events);
    assert_eq!(run.json()["feature_created"], false);
    assert!(of_type(&events, "FeatureCreated").is_empty(), "no valid FeatureCreated exists: {events:#?}");
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 1, "warned once: {run:#?}");
    assert!(warnings[0].contains("no FeatureCreated") && warnings[0].contains("no feature_number nor mission_number"));
    assert_eq!(
        created_dependencies(&events),
        [("WP01".to_string(), json!([])), ("WP02".to_string(), json!([])), ("WP03".to_string(), json!(["WP02"]))]
    );
    assert!(of_type(&events, "WPCreated").iter().all(|e| e["payload"]["feature_slug"] == slug));
    // "- None on WP01/WP03" is a `none` line: no note for it.
    assert!(!run.stderr.contains("note: WP02: tasks.md"), "{run:#?}");
    assert_eq!(std::fs::read_to_string(feature_dir(&repo, slug).join("meta.json")).unwrap(), meta_before);

    // The commands after finalize-tasks accept the mission format too.
    let (run, events) = repo.new_events(&["implement", "WP02"]);
    run.ok();
    assert_core_valid(&events);
    let status = of_type(&events, "WPStatusChanged");
    assert_eq!(status.len(), 1);
    assert_eq!(status[0]["payload"]["feature_slug"], slug);
    let (run, events) = repo.new_events(&["agent", "tasks", "mark-status", "T003", "--status", "done"]);
    run.ok();
    assert_eq!(of_type(&events, "HistoryAdded")[0]["payload"]["wp_id"], "WP02");
}

#[test]
fn a_numbered_mission_emits_feature_created_with_the_number_zero_padded() {
    let slug = "043-numbered-mission";
    let repo = repo_with(slug);
    let (run, events) = repo.new_events(&["agent", "feature", "finalize-tasks"]);
    let run = run.ok();
    assert_core_valid(&events);
    let created = of_type(&events, "FeatureCreated");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["payload"]["feature_number"], "043");
    assert_eq!(created[0]["payload"]["feature_slug"], slug);
    assert_eq!(created[0]["payload"]["wp_count"], 2);
    // `#### WP01: Foundation Layer [Priority: P1]` is no `## Work Package WPxx` split: upstream reads
    // no dependencies (not even WP02's "Depends on WP01"), refuses nothing; we say so.
    assert_eq!(created_dependencies(&events), [("WP01".to_string(), json!([])), ("WP02".to_string(), json!([]))]);
    assert!(run.warnings().is_empty(), "{run:#?}");
    assert!(
        notes(&run.stderr).iter().any(|n| n.contains("WP01, WP02 have no `## Work Package WPxx` section")),
        "{run:#?}"
    );

    // A mission number that is present and a slug without a number prefix: no FeatureCreated either.
    let meta_path = feature_dir(&repo, slug).join("meta.json");
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    let renamed = repo.root.join("kitty-specs/numbered-mission-01KRK2JZ");
    std::fs::rename(feature_dir(&repo, slug), &renamed).unwrap();
    let (run, events) = repo.new_events(&["agent", "feature", "finalize-tasks"]);
    let warnings = run.ok().warnings().join("\n");
    assert!(warnings.contains("numbered-mission-01KRK2JZ") && warnings.contains("NNN-lowercase-words"), "{warnings}");
    assert!(of_type(&events, "FeatureCreated").is_empty());
    assert_eq!(of_type(&events, "WPCreated").len(), 2);
    assert_eq!(std::fs::read_to_string(renamed.join("meta.json")).unwrap(), meta);
}

#[test]
fn refusals_are_only_a_cycle_a_self_dependency_or_an_undefined_wp_and_name_them() {
    let slug = "042-upstream-shapes";
    let cases = [
        ("- [ ] T006 Tag the release", "- [ ] T006 Tag the release\nDepends on WP05", "WP05 depends on itself"),
        ("- [ ] T001 Write the validator", "- [ ] T001 Write the validator\nDepends on WP03", "WP01 -> WP03 -> WP01"),
        (
            "- [ ] T007 Collect feedback",
            "- [ ] T007 Collect feedback\nDepends on WP06",
            "WP07 depends on WP06, which no `## Work Package WP06` section of tasks.md defines",
        ),
    ];
    for (find, replace, message) in cases {
        let repo = repo_with(slug);
        let tasks_path = feature_dir(&repo, slug).join("tasks.md");
        let tasks = std::fs::read_to_string(&tasks_path).unwrap();
        std::fs::write(&tasks_path, tasks.replacen(find, replace, 1)).unwrap();
        let head = repo.git(&["rev-parse", "HEAD"]);
        let (run, events) = repo.new_events(&["agent", "feature", "finalize-tasks"]);
        let run = run.failed();
        assert_eq!(run.code, Some(1));
        let errors = run.errors();
        assert!(errors.len() == 1 && errors[0].contains("tasks.md: ") && errors[0].contains(message), "{run:#?}");
        assert!(of_type(&events, "WPCreated").is_empty() && of_type(&events, "FeatureCreated").is_empty());
        assert_eq!(repo.git(&["rev-parse", "HEAD"]), head, "nothing committed");
    }
}

#[test]
fn an_invalid_meta_json_value_fails_finalize_naming_the_file_and_field_but_absent_fields_only_warn() {
    // Issue 7, item 7: a present but invalid value is an error (exit 1), not a dropped event.
    let slug = "042-upstream-shapes";
    let cases = [
        ("\"feature_number\": \"042\"", "\"feature_number\": \"42\"", "`feature_number`: expected three digits"),
        (
            "\"feature_number\": \"042\"",
            "\"feature_number\": 42",
            "`feature_number`: expected a string, found the number 42",
        ),
        ("\"target_branch\": \"main\"", "\"target_branch\": 7", "`target_branch`: expected a string"),
        (
            "\"feature_number\": \"042\"",
            "\"mission_number\": \"42\"",
            "`mission_number`: expected a whole number or null",
        ),
    ];
    for (find, replace, message) in cases {
        let repo = repo_with(slug);
        let meta_path = feature_dir(&repo, slug).join("meta.json");
        let meta = std::fs::read_to_string(&meta_path).unwrap();
        std::fs::write(&meta_path, meta.replacen(find, replace, 1)).unwrap();
        let (run, events) = repo.new_events(&["agent", "feature", "finalize-tasks"]);
        let run = run.failed();
        assert_eq!(run.code, Some(1));
        let errors = run.errors();
        assert_eq!(errors.len(), 1, "{run:#?}");
        assert!(errors[0].contains("meta.json") && errors[0].contains(message), "{}", errors[0]);
        assert_eq!(of_type(&events, "ErrorLogged").len(), 1);
        assert!(of_type(&events, "WPCreated").is_empty());
    }

    // Absent fields, or no meta.json at all: one warning, and the WPCreated events go on.
    for meta in [Some("{\"friendly_name\": \"Upstream Shapes\"}"), None] {
        let repo = repo_with(slug);
        let meta_path = feature_dir(&repo, slug).join("meta.json");
        match meta {
            Some(text) => std::fs::write(&meta_path, text).unwrap(),
            None => std::fs::remove_file(&meta_path).unwrap(),
        }
        let (run, events) = repo.new_events(&["agent", "feature", "finalize-tasks"]);
        let run = run.ok();
        assert_core_valid(&events);
        let warnings = run.warnings();
        assert!(warnings.len() == 1 && warnings[0].contains("no FeatureCreated"), "{run:#?}");
        assert!(warnings[0].contains(if meta.is_some() { "no feature_number" } else { "is missing" }), "{run:#?}");
        assert!(of_type(&events, "FeatureCreated").is_empty());
        assert_eq!(of_type(&events, "WPCreated").len(), 6);
    }
}

#[test]
fn without_tasks_md_every_wp_is_created_with_no_dependencies() {
    let slug = "042-upstream-shapes";
    let repo = repo_with(slug);
    std::fs::remove_file(feature_dir(&repo, slug).join("tasks.md")).unwrap();
    let (run, events) = repo.new_events(&["agent", "feature", "finalize-tasks"]);
    let run = run.ok();
    assert_core_valid(&events);
    let created = created_dependencies(&events);
    assert_eq!(created.len(), 6);
    assert!(created.iter().all(|(_, deps)| deps == &json!([])), "{created:?}");
    assert!(notes(&run.stderr).iter().any(|n| n.contains("there is no tasks.md")), "{run:#?}");
}
