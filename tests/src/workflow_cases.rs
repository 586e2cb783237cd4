//! Parity cases for the workflow model: tasks.md, WP files and whole feature folders (the three
//! fixture features and generated ones, well-formed and broken), and dependency graphs.

use super::support::{Case, Rng, error_json, error_value, fixture_wp_files, instance, result_json, to_json};
use serde_json::{Value, json};
use spec_kitty_core::ids::WpId;
use spec_kitty_core::workflow::{DependencyGraph, Lane, WpFile, parse_tasks_md};
use spec_kitty_wasm::workflow::{FeatureFiles, NamedText, assemble as load_feature};
use std::collections::BTreeMap;
use std::path::Path;

const LANES: [&str; 4] = ["planned", "doing", "for_review", "done"];

pub fn cases(rng: &mut Rng, out: &mut Vec<Case>) {
    fixture_cases(out);
    for _ in 0..60 {
        let wps = rng.range(0, 9) as usize;
        let faults = rng.chance(50);
        let (text, _) = tasks_md(rng, wps, faults);
        out.push(tasks_case(&text, "tasks.md"));
    }
    for _ in 0..60 {
        let wp = format!("WP{:02}", rng.range(1, 20));
        let deps = vec![rng.wp_id(20)];
        let faults = rng.chance(50);
        let text = wp_file(rng, &wp, &deps, faults);
        out.push(wp_file_case(&text, &format!("tasks/{wp}-x.md")));
    }
    for _ in 0..50 {
        feature_case(rng, out);
    }
    for _ in 0..60 {
        graph_case(rng, out);
    }
}

fn tasks_case(text: &str, label: &str) -> Case {
    Case::new("parseTasksMd", json!([text, label]), result_json(parse_tasks_md(label, text)))
}

fn wp_file_case(text: &str, label: &str) -> Case {
    let expected = match WpFile::parse(label, text) {
        Ok(file) => to_json(&file),
        Err(err) => error_json(err),
    };
    Case::new("parseWpFile", json!([text, label]), expected)
}

fn feature_files_case(files: &FeatureFiles) -> Case {
    let expected = match load_feature(files) {
        Ok(plan) => to_json(&plan),
        Err(message) => error_json(message),
    };
    Case::new("loadFeature", json!([files]), expected)
}

/// The three real features of tests/fixtures/kitty-specs: tasks.md, every WP file, the folder.
fn fixture_cases(out: &mut Vec<Case>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("kitty-specs");
    let mut slugs: Vec<String> = std::fs::read_dir(&root)
        .expect("tests/fixtures/kitty-specs")
        .map(|entry| entry.expect("fixture entry").file_name().to_string_lossy().into_owned())
        .collect();
    slugs.sort();
    assert_eq!(slugs.len(), 3, "the three fixture features");
    for slug in slugs {
        let dir = root.join(&slug);
        let tasks_md = std::fs::read_to_string(dir.join("tasks.md")).expect("fixture tasks.md");
        out.push(tasks_case(&tasks_md, &format!("{slug}/tasks.md")));
        let mut wp_files = Vec::new();
        for (file_name, text) in fixture_wp_files(&dir) {
            out.push(wp_file_case(&text, &file_name));
            wp_files.push(NamedText { file_name, text });
        }
        out.push(feature_files_case(&FeatureFiles { slug, tasks_md, tasks_label: None, wp_files }));
    }
}

/// A tasks.md in the shapes upstream writes (and some it should not): WP sections with priorities,
/// subtask checkboxes, dependency lines of every recognised form, code fences, a summary section,
/// CRLF line ends; with `faults`, sometimes malformed or duplicate ids and unknown or later
/// dependencies. Returns the text and each WP's declared dependencies.
fn tasks_md(rng: &mut Rng, wps: usize, faults: bool) -> (String, Vec<(String, Vec<String>)>) {
    let fault = |rng: &mut Rng, percent: u64| faults && rng.chance(percent);
    let mut lines = vec![format!("# Work Packages: {}", rng.text(5)), String::new(), rng.text(12)];
    let mut declared = Vec::new();
    let mut subtask = 0;
    for n in 1..=wps {
        let id = if fault(rng, 6) { format!("WP{n}") } else { format!("WP{n:02}") };
        let id = if fault(rng, 6) && n > 1 { "WP01".to_string() } else { id };
        let priority = if rng.chance(70) { format!(" (Priority: P{})", rng.below(4)) } else { String::new() };
        let heading = if rng.chance(90) { "## Work Package" } else { "##" };
        lines.push(format!("{heading} {id}: {}{priority}", rng.nonempty_text(5).replace(['\n', '\r'], " ")));
        lines.push(String::new());
        for _ in 0..rng.range(0, 4) {
            subtask += if fault(rng, 6) { 0 } else { 1 };
            let mark = rng.pick(&[" ", "x", "X"]);
            let parallel = if rng.chance(30) { "[P] " } else { "" };
            lines.push(format!("- [{mark}] T{subtask:03} {parallel}{}", rng.text(6).replace(['\n', '\r'], " ")));
        }
        // Mostly earlier WPs (a DAG); sometimes a later or unknown one.
        let mut deps: Vec<String> = Vec::new();
        for _ in 0..rng.range(0, 3) {
            if n == 1 && !fault(rng, 50) {
                continue;
            }
            let dep =
                if n > 1 && !fault(rng, 30) { format!("WP{:02}", rng.range(1, n as u64 - 1)) } else { rng.wp_id(12) };
            if !deps.contains(&dep) {
                deps.push(dep);
            }
        }
        if !deps.is_empty() {
            let list = deps.join(", ");
            match rng.below(6) {
                0 => lines.push(format!("Depends on {list}")),
                1 => lines.push(format!("- Depends on {list} (needs WP99 first)")),
                2 => lines.push(format!("**Dependencies**: {list}")),
                3 => lines.push(format!("Dependencies: {list}")),
                4 => {
                    lines.push("### Dependencies".to_string());
                    lines.extend(deps.iter().map(|d| format!("- {d}")));
                }
                _ => lines.push(format!("depends on {}", if fault(rng, 30) { "WP1" } else { &list })),
            }
        }
        if rng.chance(20) {
            lines
                .extend(["```bash", "## Work Package WP77: not a heading", "Depends on WP66", "```"].map(String::from));
        }
        declared.push((id, deps));
        lines.push(String::new());
    }
    lines.push("## Dependency & Execution Summary".to_string());
    lines.push("- WP02 depends on WP01; WP09 is last".to_string());
    let eol = if rng.chance(20) { "\r\n" } else { "\n" };
    (lines.join(eol) + eol, declared)
}

/// A WP file like the upstream ones: frontmatter keys in the contract order, an unknown key, a
/// history list, the body with its activity log; with `faults`, sometimes broken.
fn wp_file(rng: &mut Rng, wp: &str, deps: &[String], faults: bool) -> String {
    let fault = |rng: &mut Rng, percent: u64| faults && rng.chance(percent);
    let clean = |text: String| if faults { text } else { text.replace(|c: char| c.is_control(), " ") };
    let quoted = |items: &[String]| items.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>().join(", ");
    let lane = if fault(rng, 15) {
        "review".to_string()
    } else if rng.chance(5) {
        String::new()
    } else {
        rng.pick(&LANES).to_string()
    };
    let mut yaml = vec![
        if rng.chance(50) { format!("work_package_id: \"{wp}\"") } else { format!("work_package_id: {wp}") },
        format!("title: {}", json!(clean(rng.text(5)))),
    ];
    if !lane.is_empty() {
        yaml.push(format!("lane: \"{lane}\""));
    }
    if rng.chance(50) {
        yaml.push(format!("dependencies: [{}]", quoted(deps)));
    } else {
        yaml.push("dependencies:".to_string());
        yaml.extend(deps.iter().map(|d| format!("  - \"{d}\"")));
    }
    yaml.push(format!("subtasks:\n  - \"T{:03}\"", rng.below(100)));
    yaml.push(format!("phase: \"Phase {}\"", rng.below(4)));
    yaml.push(format!("assignee: '{}'", rng.pick(&["", "claude"])));
    yaml.push(format!("agent: \"{}\"", rng.pick(&["codex", "claude", "system"])));
    yaml.push(format!(
        "shell_pid: {}",
        if rng.chance(50) { format!("\"{}\"", rng.below(99999)) } else { rng.below(99999).to_string() }
    ));
    yaml.push("review_status: \"\"".to_string());
    yaml.push(format!("custom_{}: {}", rng.word().replace('-', "_"), rng.below(9)));
    yaml.push(
        "history:\n  - timestamp: \"2026-02-04T10:46:03Z\"\n    lane: \"planned\"\n    agent: \"system\"".to_string(),
    );
    if fault(rng, 10) {
        yaml.push("broken: [unclosed".to_string());
    }
    if fault(rng, 10) {
        yaml.push("dependencies: [\"WP1\"]".to_string());
    }
    let body = format!(
        "# {wp}: {}\n\n{}\n\n## Activity Log\n\n- 2026-02-04T10:46:03Z – codex – shell_pid=1 – lane=doing – {}\n",
        rng.text(4),
        rng.text(20),
        rng.text(5).replace(['\n', '\r'], " ")
    );
    if fault(rng, 8) {
        format!("{}\n{body}", yaml.join("\n"))
    } else if fault(rng, 8) {
        format!("---\n{}\n{body}", yaml.join("\n"))
    } else {
        format!("---\n{}\n---\n{body}", yaml.join("\n"))
    }
}

fn feature_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let wps = rng.range(1, 8) as usize;
    let faults = rng.chance(25);
    let (tasks_md, declared) = tasks_md(rng, wps, faults);
    let mut wp_files = Vec::new();
    for (id, deps) in &declared {
        if rng.chance(70) {
            // Usually the same dependencies as tasks.md; sometimes fewer, or one more.
            let mut deps = deps.clone();
            match rng.below(8) {
                0 => deps.truncate(deps.len().saturating_sub(1)),
                1 if faults => deps.push(rng.wp_id(9)),
                _ => {}
            }
            let file_name = format!("tasks/{id}-{}.md", rng.word());
            let file_faults = faults && rng.chance(30);
            let text = wp_file(rng, id, &deps, file_faults);
            wp_files.push(NamedText { text, file_name });
        }
    }
    if faults && rng.chance(20) {
        let stray = rng.wp_id(30);
        wp_files
            .push(NamedText { text: wp_file(rng, &stray, &[], false), file_name: format!("tasks/{stray}-stray.md") });
    }
    let slug = format!("{:03}-{}", rng.below(1000), rng.word());
    let tasks_label = rng.chance(30).then(|| format!("kitty-specs/{slug}/tasks.md"));
    out.push(feature_files_case(&FeatureFiles { slug, tasks_md, tasks_label, wp_files }));
}

fn graph_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let n = rng.range(0, 12);
    let mut entries: Vec<(String, Vec<String>)> = Vec::new();
    for i in 1..=n {
        let mut deps = Vec::new();
        for _ in 0..rng.range(0, 3) {
            // Acyclic mostly; a later id (maybe a cycle) or an unknown one sometimes.
            let dep = match (i, rng.below(100)) {
                (_, 0..=4) => rng.wp_id(n + 2),
                (1, _) => continue,
                _ => format!("WP{:02}", rng.range(1, i - 1)),
            };
            deps.push(dep);
        }
        entries.push((format!("WP{i:02}"), deps));
    }
    // Entries in any order.
    for i in (1..entries.len()).rev() {
        let j = rng.index(i + 1);
        entries.swap(i, j);
    }
    let finished = rng.wp_id(n.max(1));
    let mut lanes: BTreeMap<String, &str> = BTreeMap::new();
    for i in 1..=n {
        if rng.chance(60) {
            lanes.insert(format!("WP{i:02}"), *rng.pick(&LANES));
        }
    }

    let wp = |s: &str| s.parse::<WpId>().expect("generated WP id");
    let typed_lanes: BTreeMap<WpId, Lane> =
        lanes.iter().map(|(k, v)| (wp(k), v.parse().expect("generated lane"))).collect();
    let graph = DependencyGraph::new(entries.iter().map(|(id, deps)| (wp(id), deps.iter().map(|d| wp(d)).collect())));
    let answers = match graph {
        Ok(graph) => vec![
            Value::Null,
            json!(graph),
            json!(graph.unblocked_by(&wp(&finished), &typed_lanes)),
            json!(graph.ready_to_start(&typed_lanes)),
            json!(graph.feature_complete(&typed_lanes)),
        ],
        Err(err) => vec![error_value(err)],
    };
    let js_entries: Vec<Value> = entries.iter().map(|(id, deps)| json!({"id": id, "dependencies": deps})).collect();
    let calls = vec![
        ("new DependencyGraph", json!([js_entries])),
        ("DependencyGraph.toJSON", json!([instance(0)])),
        ("DependencyGraph.unblockedBy", json!([instance(0), finished, lanes])),
        ("DependencyGraph.readyToStart", json!([instance(0), lanes])),
        ("DependencyGraph.featureComplete", json!([instance(0), lanes])),
    ];
    out.push(Case::script("graph", calls, answers));
}
