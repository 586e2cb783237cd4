//! Parity cases for the workflow commands' plans (`planImplement` ... `planFinalizeTasks`,
//! `branchName`, `parseBranchName`): the six fixture features of tests/fixtures/kitty-specs and
//! kitty-specs-compat, each case with its WP files' lanes and base commits varied, sometimes a file,
//! tasks.md or meta.json left out, and generated repository facts, requests and times.
//!
//! The native answer is the core's own (`spec_kitty_core::workflow::plans`, as the CLI calls it),
//! from texts assembled here by the package's documented rules (`dirLabel` defaults to
//! `kitty-specs/{slug}`, tasks.md's label to `{dirLabel}/tasks.md`), so a binding that read its
//! arguments differently would differ. Refused arguments (missing facts, unknown keys, junk) are
//! answered natively by the binding's own readers, which the package runs compiled to WASM.

use super::support::{Case, Rng, error_json, fixture_wp_files, result_json};
use serde_json::{Value, json};
use spec_kitty_core::ids::WpId;
use spec_kitty_core::workflow::plans::layout::{branch_name, feature_dir, parse_branch_name};
use spec_kitty_core::workflow::plans::move_task::MoveRequest;
use spec_kitty_core::workflow::plans::{
    FeatureFolder, FeatureTexts, Occasion, PlanError, RepositoryFacts, accept, add_history, finalize_tasks, implement,
    mark_status, merge, move_task,
};
use spec_kitty_core::workflow::{FeatureMeta, Lane, WpFile, parse_tasks_md};
use spec_kitty_wasm::plans::{self as binding, FeatureFolderFiles};
use spec_kitty_wasm::workflow::NamedText;
use std::collections::BTreeMap;
use std::path::Path;

/// One fixture feature folder as read from disk.
struct Fixture {
    slug: String,
    meta_json: Option<String>,
    tasks_md: Option<String>,
    /// (`tasks/{name}`, text), sorted by name.
    wp_files: Vec<(String, String)>,
    /// Every subtask id tasks.md lists.
    subtasks: Vec<String>,
}

/// A fixture with its lanes varied: the package's argument, and what the generators need to know.
struct Variant {
    files: FeatureFolderFiles,
    /// Each readable WP file's id, with the text it had before the variation (the "committed" one).
    wps: Vec<(WpId, String)>,
    /// The lane each readable WP file now says.
    lanes: BTreeMap<WpId, Lane>,
    /// The base_commit each varied WP file now records.
    base_commits: BTreeMap<WpId, String>,
    target_branch: Option<String>,
    subtasks: Vec<String>,
}

pub fn cases(rng: &mut Rng, out: &mut Vec<Case>) {
    let fixtures = fixtures();
    // Each fixture in turn, so every one is covered whatever the seed.
    for round in 0..42 {
        let variant = variant(rng, &fixtures[round % fixtures.len()]);
        implement_case(rng, &variant, out);
        merge_cases(rng, &variant, out);
        accept_case(rng, &variant, out);
        move_task_case(rng, &variant, out);
        mark_status_case(rng, &variant, out);
        add_history_case(rng, &variant, out);
        finalize_case(&variant, out);
    }
    branch_cases(rng, out);
    refused_argument_cases(&fixtures, out);
}

fn read_folder(dir: &Path) -> Fixture {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let wp_files = fixture_wp_files(dir);
    let tasks_md = read("tasks.md");
    let subtasks = tasks_md
        .as_deref()
        .and_then(|text| parse_tasks_md("tasks.md", text).ok())
        .map(|plan| plan.work_packages.iter().flat_map(|wp| wp.subtasks.iter().map(|s| s.id.clone())).collect())
        .unwrap_or_default();
    let slug = dir.file_name().expect("a folder name").to_string_lossy().into_owned();
    Fixture { slug, meta_json: read("meta.json"), tasks_md, wp_files, subtasks }
}

/// The six fixture features, in a fixed order.
fn fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut fixtures = Vec::new();
    for set in ["kitty-specs", "kitty-specs-compat"] {
        let mut dirs: Vec<_> = std::fs::read_dir(root.join(set))
            .expect("a fixture folder")
            .map(|entry| entry.expect("fixture entry").path())
            .filter(|path| path.is_dir())
            .collect();
        dirs.sort();
        fixtures.extend(dirs.iter().map(|dir| read_folder(dir)));
    }
    assert_eq!(fixtures.len(), 6, "the six fixture features");
    fixtures
}

fn lane(rng: &mut Rng) -> Lane {
    *rng.pick(&Lane::ALL)
}

/// The fixture with most WP files in another lane, some recording a base commit, and now and then
/// a WP file, tasks.md or meta.json left out or the labels given.
fn variant(rng: &mut Rng, fixture: &Fixture) -> Variant {
    let mut wps = Vec::new();
    let mut base_commits = BTreeMap::new();
    let mut lanes = BTreeMap::new();
    let mut wp_files = Vec::new();
    // Now and then a feature near its end, so that an accept can complete it.
    let finishing = rng.chance(25);
    for (index, (file_name, text)) in fixture.wp_files.iter().enumerate() {
        if rng.chance(5) {
            continue;
        }
        let mut varied = text.clone();
        if let Ok(mut file) = WpFile::parse(file_name, text) {
            let id = file.work_package_id().clone();
            let varied_lane = match finishing {
                true => *rng.pick(&[Lane::Done, Lane::Done, Lane::ForReview]),
                false => lane(rng),
            };
            if finishing || rng.chance(75) {
                file.set_lane(varied_lane).expect("a fixture WP file takes a lane");
            }
            if rng.chance(50) {
                let base = format!("base{index}");
                file.set_scalar("base_commit", &base).expect("a fixture WP file takes a base commit");
                base_commits.insert(id.clone(), base);
            }
            varied = file.to_text();
            lanes.insert(id.clone(), file.lane());
            wps.push((id, text.clone()));
        }
        wp_files.push(NamedText { file_name: file_name.clone(), text: varied });
    }
    let meta_json = fixture.meta_json.clone().filter(|_| !rng.chance(5));
    let target_branch =
        meta_json.as_deref().and_then(|text| FeatureMeta::parse("meta.json", text).ok()).and_then(|m| m.target_branch);
    let files = FeatureFolderFiles {
        slug: fixture.slug.clone(),
        dir_label: rng.chance(20).then(|| format!("/work/repo/kitty-specs/{}", fixture.slug)),
        meta_json,
        tasks_md: fixture.tasks_md.clone().filter(|_| !rng.chance(5)),
        tasks_label: rng.chance(10).then(|| "TASKS".to_string()),
        wp_files,
    };
    Variant { files, wps, lanes, base_commits, target_branch, subtasks: fixture.subtasks.clone() }
}

/// The core's texts by the package's documented rules (see the module docs).
fn texts(files: &FeatureFolderFiles) -> Result<FeatureTexts, String> {
    let dir_label = files.dir_label.clone().unwrap_or_else(|| feature_dir(&files.slug));
    let meta = match &files.meta_json {
        Some(text) => Some(FeatureMeta::parse(&format!("{dir_label}/meta.json"), text).map_err(|e| e.to_string())?),
        None => None,
    };
    let tasks_label = files.tasks_label.clone().unwrap_or_else(|| format!("{dir_label}/tasks.md"));
    Ok(FeatureTexts {
        slug: files.slug.clone(),
        meta,
        tasks: files.tasks_md.clone().map(|text| (tasks_label, text)),
        wp_files: files.wp_files.iter().map(|f| (f.file_name.clone(), f.text.clone())).collect(),
        dir_label,
    })
}

/// The plan `run` makes from the checked folder, or the error either step gives, as JSON text.
fn planned<T: serde::Serialize>(
    files: &FeatureFolderFiles,
    run: impl FnOnce(&FeatureFolder) -> Result<T, PlanError>,
) -> String {
    let folder = texts(files).and_then(|texts| FeatureFolder::from_texts(texts).map_err(|e| e.to_string()));
    match folder {
        Ok(folder) => result_json(run(&folder)),
        Err(message) => error_json(message),
    }
}

fn occasion(rng: &mut Rng) -> Occasion {
    Occasion { now_ms: rng.unix_ms(), shell_pid: rng.below(99_999).to_string() }
}

/// The repository around a variant: the target (mostly) and other branches with tips, WP branches
/// with work of their own or none, some merged into the target, worktree folders with or without a
/// checkout; mostly on the target branch.
fn repository(rng: &mut Rng, variant: &Variant) -> RepositoryFacts {
    let slug = &variant.files.slug;
    let target = variant.target_branch.clone().unwrap_or_else(|| "main".to_string());
    let mut facts = RepositoryFacts {
        root_label: if rng.chance(80) { "/work/repo".to_string() } else { rng.text(4) },
        current_branch: if rng.chance(75) { target.clone() } else { rng.pick(&["main", "2.x", "feature"]).to_string() },
        ..RepositoryFacts::default()
    };
    for branch in [target.as_str(), "main"] {
        if rng.chance(85) {
            facts.branch_tips.insert(branch.to_string(), format!("tip-{branch}"));
        }
    }
    for (wp, _) in &variant.wps {
        let branch = branch_name(slug, wp);
        if rng.chance(75) {
            let tip = match variant.base_commits.get(wp) {
                Some(base) if rng.chance(35) => base.clone(),
                _ => format!("work-{wp}-{}", rng.below(1000)),
            };
            facts.branch_tips.insert(branch.clone(), tip);
            if rng.chance(50) {
                facts.merged_into_target.insert(branch.clone());
            }
        }
        if rng.chance(40) {
            facts.worktrees.insert(branch, rng.chance(70));
        }
    }
    facts
}

/// A WP of the variant (mostly one with a file; in `lane` when there is one and a coin says so),
/// or one it does not have.
fn wp(rng: &mut Rng, variant: &Variant, lane: Option<Lane>) -> WpId {
    if variant.wps.is_empty() || rng.chance(8) {
        return rng.wp_id(12).parse().expect("a generated WP id");
    }
    let in_lane: Vec<&WpId> = variant.lanes.iter().filter(|(_, l)| Some(**l) == lane).map(|(wp, _)| wp).collect();
    if !in_lane.is_empty() && rng.chance(70) {
        return (*rng.pick(&in_lane)).clone();
    }
    variant.wps[rng.index(variant.wps.len())].0.clone()
}

/// The WP file as the checked-out commit holds it: none, the fixture's own (whose lane the variant
/// may have changed: an uncommitted move), or the one on disk.
fn head_text(rng: &mut Rng, variant: &Variant, wp: &WpId) -> Option<String> {
    let committed = variant.wps.iter().find(|(id, _)| id == wp).map(|(_, text)| text.clone());
    match rng.below(3) {
        0 => None,
        1 => committed,
        _ => {
            let on_disk = variant.files.wp_files.iter().find(|f| f.file_name.contains(wp.as_str()));
            on_disk.map(|f| f.text.clone())
        }
    }
}

fn facts_json(repository: Option<&RepositoryFacts>, occasion: Option<&Occasion>, head_text: Option<&str>) -> Value {
    let mut facts = serde_json::Map::new();
    if let Some(repository) = repository {
        facts.insert("repository".into(), json!(repository));
    }
    if let Some(occasion) = occasion {
        facts.insert("occasion".into(), json!(occasion));
    }
    if let Some(text) = head_text {
        facts.insert("head_text".into(), json!(text));
    }
    Value::Object(facts)
}

fn implement_case(rng: &mut Rng, variant: &Variant, out: &mut Vec<Case>) {
    let wanted = *rng.pick(&[Lane::Planned, Lane::Planned, Lane::Doing]);
    let wp = wp(rng, variant, Some(wanted));
    let repository = repository(rng, variant);
    let occasion = occasion(rng);
    let head = head_text(rng, variant, &wp);
    let expected =
        planned(&variant.files, |folder| implement::plan(folder, &wp, &repository, head.as_deref(), &occasion));
    let facts = facts_json(Some(&repository), Some(&occasion), head.as_deref());
    out.push(Case::new("planImplement", json!([variant.files, wp, facts]), expected));
}

/// Both steps of a merge: the merges, then the moves from the facts as after the merges (those
/// planned merged, or another generated repository).
fn merge_cases(rng: &mut Rng, variant: &Variant, out: &mut Vec<Case>) {
    let before = repository(rng, variant);
    let expected = planned(&variant.files, |folder| merge::plan(folder, &before));
    out.push(Case::new("planMerge", json!([variant.files, facts_json(Some(&before), None, None)]), expected));

    let texts = texts(&variant.files).ok();
    let folder = texts.and_then(|texts| FeatureFolder::from_texts(texts).ok());
    let merges = folder.as_ref().and_then(|folder| merge::plan(folder, &before).ok());
    let (target, after) = match merges {
        Some(plan) if rng.chance(70) => {
            let mut after = before.clone();
            after.merged_into_target.extend(plan.merges.into_iter().map(|m| m.branch));
            (plan.target, after)
        }
        _ => (before.current_branch.clone(), repository(rng, variant)),
    };
    let occasion = occasion(rng);
    let expected = planned(&variant.files, |folder| merge::moves(folder, &target, &after, &occasion));
    let facts = facts_json(Some(&after), Some(&occasion), None);
    out.push(Case::new("planMergeMoves", json!([variant.files, target, facts]), expected));
}

fn accept_case(rng: &mut Rng, variant: &Variant, out: &mut Vec<Case>) {
    let occasion = occasion(rng);
    let expected = planned(&variant.files, |folder| accept::plan(folder, &occasion));
    out.push(Case::new("planAccept", json!([variant.files, facts_json(None, Some(&occasion), None)]), expected));
}

fn move_task_case(rng: &mut Rng, variant: &Variant, out: &mut Vec<Case>) {
    let wp = wp(rng, variant, None);
    // Mostly a move the workflow allows from the WP's lane.
    let from = variant.lanes.get(&wp).copied();
    let allowed: Vec<Lane> =
        Lane::ALL.into_iter().filter(|to| from.is_some_and(|from| from.can_move_to(*to))).collect();
    let to = if !allowed.is_empty() && rng.chance(60) { *rng.pick(&allowed) } else { lane(rng) };
    let request = MoveRequest {
        wp,
        to,
        agent: rng.chance(40).then(|| rng.pick(&["codex", "claude", "agent 7"]).to_string()),
        note: rng.chance(30).then(|| rng.text(5)),
        force: rng.chance(20),
    };
    let occasion = occasion(rng);
    let head = head_text(rng, variant, &request.wp);
    let expected = planned(&variant.files, |folder| move_task::plan(folder, &request, head.as_deref(), &occasion));
    let facts = facts_json(None, Some(&occasion), head.as_deref());
    out.push(Case::new("planMoveTask", json!([variant.files, request, facts]), expected));
}

fn mark_status_case(rng: &mut Rng, variant: &Variant, out: &mut Vec<Case>) {
    let mut subtasks: Vec<String> = Vec::new();
    for _ in 0..rng.range(1, 4) {
        subtasks.push(match variant.subtasks.is_empty() || rng.chance(8) {
            true => format!("T{:03}", rng.range(90, 999)),
            false => rng.pick(&variant.subtasks).clone(),
        });
    }
    let done = rng.chance(50);
    let agent = rng.chance(40).then(|| "codex".to_string());
    let ids: Vec<&str> = subtasks.iter().map(String::as_str).collect();
    let expected = planned(&variant.files, |folder| mark_status::plan(folder, &ids, done, agent.as_deref()));
    let status = if done { "done" } else { "pending" };
    let mut request = json!({ "subtasks": subtasks, "status": status });
    if let Some(agent) = &agent {
        request["agent"] = json!(agent);
    }
    out.push(Case::new("planMarkStatus", json!([variant.files, request]), expected));
}

fn add_history_case(rng: &mut Rng, variant: &Variant, out: &mut Vec<Case>) {
    let wp = wp(rng, variant, None);
    let note = if rng.chance(10) { rng.pick(&["", " \n\t"]).to_string() } else { rng.nonempty_text(6) };
    let agent = rng.chance(40).then(|| "claude".to_string());
    let occasion = occasion(rng);
    let expected = planned(&variant.files, |folder| add_history::plan(folder, &wp, &note, agent.as_deref(), &occasion));
    let mut request = json!({ "wp": wp, "note": note });
    if let Some(agent) = &agent {
        request["agent"] = json!(agent);
    }
    let facts = facts_json(None, Some(&occasion), None);
    out.push(Case::new("planAddHistory", json!([variant.files, request, facts]), expected));
}

fn finalize_case(variant: &Variant, out: &mut Vec<Case>) {
    let expected = match texts(&variant.files) {
        Ok(texts) => result_json(finalize_tasks::plan(&texts)),
        Err(message) => error_json(message),
    };
    out.push(Case::new("planFinalizeTasks", json!([variant.files]), expected));
}

/// Branch names made and read back, and branches that are no WP's.
fn branch_cases(rng: &mut Rng, out: &mut Vec<Case>) {
    for _ in 0..20 {
        let slug = format!("{:03}-{}", rng.below(1000), rng.word());
        let wp: WpId = rng.wp_id(99).parse().expect("a generated WP id");
        let branch = branch_name(&slug, &wp);
        out.push(Case::new("branchName", json!([slug, wp]), json!(branch).to_string()));
        let other = rng.pick(&["main", "2.x", "028-x-WP1", "-WP01", "028-x-wp01", "028-x-WP01-fix"]).to_string();
        for name in [branch, other] {
            let parts = parse_branch_name(&name).map(|(slug, wp)| json!({ "slug": slug, "wp": wp }));
            out.push(Case::new("parseBranchName", json!([name]), json!(parts).to_string()));
        }
    }
}

/// Arguments the package refuses before the core sees them; the answer is the binding's reading of
/// them, natively.
fn refused_argument_cases(fixtures: &[Fixture], out: &mut Vec<Case>) {
    let fixture = &fixtures[0];
    let feature = json!({
        "slug": fixture.slug,
        "metaJson": fixture.meta_json,
        "tasksMd": fixture.tasks_md,
        "wpFiles": fixture.wp_files.iter().map(|(f, t)| json!({ "fileName": f, "text": t })).collect::<Vec<_>>(),
    });
    let occasion = json!({ "now_ms": 1_770_000_000_000u64, "shell_pid": "42" });
    let junk: [(&'static str, Value); 17] = [
        ("planImplement", json!([feature, "WP01", {}])),
        ("planImplement", json!([feature, "WP1", { "occasion": occasion, "repository": {} }])),
        ("planImplement", json!([feature, "WP01", { "occasion": occasion, "repository": { "branchTips": {} } }])),
        ("planMerge", json!([feature])),
        ("planMerge", json!([feature, { "repository": { "branch_tips": {} } }])),
        ("planMerge", json!([{ "slug": "../x" }, { "repository": {} }])),
        ("planMergeMoves", json!([feature, 7, { "repository": {}, "occasion": occasion }])),
        ("planAccept", json!([feature, { "occasion": { "now_ms": -1, "shell_pid": "1" } }])),
        ("planAccept", json!([{ "slug": fixture.slug, "metaJson": "{" }, { "occasion": occasion }])),
        ("planAccept", json!([feature, { "occasion": occasion, "headText": "x" }])),
        ("planMoveTask", json!([feature, { "wp": "WP01", "to": "review" }, { "occasion": occasion }])),
        ("planMoveTask", json!([feature, { "wp": "WP01" }, { "occasion": occasion }])),
        ("planMarkStatus", json!([feature, { "subtasks": ["T001"], "status": "finished" }])),
        ("planAddHistory", json!([feature, { "wp": "WP01", "note": "n", "by": "x" }, { "occasion": occasion }])),
        ("planFinalizeTasks", json!([null])),
        ("branchName", json!(["028-x", "wp01"])),
        ("parseBranchName", json!([12])),
    ];
    for (op, args) in junk {
        let expected = binding_answer(op, &args);
        assert!(expected.starts_with(r#"{"error":"#), "{op} {args}: refused, got {expected}");
        out.push(Case::new(op, args, expected));
    }
}

/// What the binding answers a JSON host, natively.
fn binding_answer(op: &str, args: &Value) -> String {
    let null = Value::Null;
    let arg = |i: usize| args.get(i).unwrap_or(&null);
    let answer = match op {
        "planImplement" => binding::plan_implement(&arg(0), &arg(1), &arg(2)).map(|p| json!(p)),
        "planMerge" => binding::plan_merge(&arg(0), &arg(1)).map(|p| json!(p)),
        "planMergeMoves" => binding::plan_merge_moves(&arg(0), &arg(1), &arg(2)).map(|p| json!(p)),
        "planAccept" => binding::plan_accept(&arg(0), &arg(1)).map(|p| json!(p)),
        "planMoveTask" => binding::plan_move_task(&arg(0), &arg(1), &arg(2)).map(|p| json!(p)),
        "planMarkStatus" => binding::plan_mark_status(&arg(0), &arg(1)).map(|p| json!(p)),
        "planAddHistory" => binding::plan_add_history(&arg(0), &arg(1), &arg(2)).map(|p| json!(p)),
        "planFinalizeTasks" => binding::plan_finalize_tasks(&arg(0)).map(|p| json!(p)),
        "branchName" => binding::branch_name(&arg(0), &arg(1)).map(|p| json!(p)),
        "parseBranchName" => binding::parse_branch_name(&arg(0)).map(|p| json!(p)),
        _ => panic!("no such op {op}"),
    };
    match answer {
        Ok(value) => value.to_string(),
        Err(err) => error_json(err.message),
    }
}
