//! The plans' laws, as properties over generated features and repositories: a plan never moves a
//! WP illegally, never merges a branch twice (nor one already merged), and accept completes the
//! feature exactly when its last WP is done.

use super::implement::Start;
use super::layout::{branch_name, check_branch_name, parse_branch_name, slugs_named_by};
use super::move_task::MoveRequest;
use super::*;
use crate::events::Payload;
use crate::ids::WpId;
use crate::workflow::{Lane, WpFile};
use proptest::prelude::*;
use std::collections::BTreeMap;

const SLUG: &str = "028-plans";

/// One generated WP: its lane, the earlier WPs it depends on, its branch (when it has one: whether
/// it has work of its own and whether that is merged), and whether its worktree folder exists.
#[derive(Debug, Clone)]
struct WpWorld {
    lane: Lane,
    dependencies: Vec<usize>,
    branch: Option<(bool, bool)>,
    worktree: bool,
}

fn id(index: usize) -> WpId {
    format!("WP{:02}", index + 1).parse().expect("a WP id")
}

fn lane() -> impl Strategy<Value = Lane> {
    prop::sample::select(Lane::ALL.to_vec())
}

fn world() -> impl Strategy<Value = Vec<WpWorld>> {
    (1usize..=6).prop_flat_map(|count| {
        let wps: Vec<_> = (0..count)
            .map(|index| {
                let dependencies = prop::collection::vec(any::<bool>(), index)
                    .prop_map(|picks| picks.iter().enumerate().filter(|(_, p)| **p).map(|(i, _)| i).collect());
                (lane(), dependencies, prop::option::of((any::<bool>(), any::<bool>())), any::<bool>())
                    .prop_map(|(lane, dependencies, branch, worktree)| WpWorld { lane, dependencies, branch, worktree })
            })
            .collect();
        wps
    })
}

/// The WP file texts of a world, labelled by their path under the root.
fn wp_files(world: &[WpWorld]) -> BTreeMap<String, String> {
    world
        .iter()
        .enumerate()
        .map(|(index, wp)| {
            let dependencies: Vec<String> = wp.dependencies.iter().map(|d| id(*d).to_string()).collect();
            let text = format!(
                "---\nwork_package_id: {}\nlane: {}\ndependencies: [{}]\nbase_commit: base-{}\n---\nBody\n",
                id(index),
                wp.lane,
                dependencies.join(", "),
                id(index)
            );
            (format!("kitty-specs/{SLUG}/tasks/{}-x.md", id(index)), text)
        })
        .collect()
}

fn texts_of(files: &BTreeMap<String, String>) -> FeatureTexts {
    FeatureTexts {
        slug: SLUG.into(),
        dir_label: format!("kitty-specs/{SLUG}"),
        meta: None,
        tasks: None,
        wp_files: files.iter().map(|(label, text)| (label.clone(), text.clone())).collect(),
    }
}

fn feature_of(files: &BTreeMap<String, String>) -> FeatureFolder {
    FeatureFolder::from_texts(texts_of(files)).expect("a generated feature is consistent")
}

fn repository(world: &[WpWorld]) -> RepositoryFacts {
    let mut facts = RepositoryFacts { root_label: "/repo".into(), current_branch: "main".into(), ..Default::default() };
    facts.branch_tips.insert("main".into(), "main-tip".into());
    for (index, wp) in world.iter().enumerate() {
        let branch = branch_name(SLUG, &id(index));
        if let Some((has_work, merged)) = wp.branch {
            let tip = if has_work { format!("work-{}", id(index)) } else { format!("base-{}", id(index)) };
            facts.branch_tips.insert(branch.clone(), tip);
            if merged {
                facts.merged_into_target.insert(branch.clone());
            }
        }
        if wp.worktree {
            facts.worktrees.insert(branch, true);
        }
    }
    facts
}

fn occasion() -> Occasion {
    Occasion { now_ms: 1_780_000_000_000, shell_pid: "4242".into() }
}

/// Every status change of a plan, as (wp, from, to).
fn moves_of(changes: &Changes) -> Vec<(WpId, Lane, Lane)> {
    changes
        .events
        .iter()
        .filter_map(|draft| match &draft.payload {
            Payload::WpStatusChanged(change) => Some((change.wp_id.clone(), change.previous_status, change.new_status)),
            _ => None,
        })
        .collect()
}

/// The lane each edit writes into a WP file.
fn edited_lanes(changes: &Changes) -> BTreeMap<String, Lane> {
    changes
        .edits
        .iter()
        .filter(|edit| edit.path.contains("/tasks/"))
        .map(|edit| (edit.path.clone(), WpFile::parse(&edit.path, &edit.text).expect("an edit parses").lane()))
        .collect()
}

/// Each announced move is one the workflow allows from the lane the WP is in, and its file says
/// the new lane.
fn assert_legal(feature: &FeatureFolder, changes: &Changes) -> Result<(), TestCaseError> {
    let lanes = feature.plan.lanes();
    let edited = edited_lanes(changes);
    for (wp, from, to) in moves_of(changes) {
        prop_assert_eq!(lanes[&wp], from, "{} moves from the lane it is in", wp);
        prop_assert!(from.can_move_to(to), "{}: {} -> {} is not allowed", wp, from, to);
        let (path, _) = feature.wp_file(&wp).expect("a WP with a file");
        prop_assert_eq!(edited.get(&path), Some(&to), "{}'s file says {}", wp, to);
    }
    prop_assert_eq!(edited.len(), moves_of(changes).len(), "one edit per move");
    Ok(())
}

proptest! {
    #[test]
    fn implement_starts_only_planned_wps_from_the_target_or_an_existing_dependency_branch(world in world()) {
        let files = wp_files(&world);
        let feature = feature_of(&files);
        let facts = repository(&world);
        for (index, wp) in world.iter().enumerate() {
            let result = implement::plan(&feature, &id(index), &facts, None, &occasion());
            match (wp.lane, wp.worktree) {
                (Lane::Doing, true) => {
                    let plan = result.expect("already started");
                    prop_assert_eq!(plan.start, Start::AlreadyStarted);
                    prop_assert!(plan.changes.is_empty(), "nothing to finish without a committed lane");
                }
                (Lane::Planned, _) => {
                    let plan = result.expect("a planned WP starts");
                    assert_legal(&feature, &plan.changes)?;
                    prop_assert_eq!(moves_of(&plan.changes).len(), 1);
                    let Start::From { base } = &plan.start else { panic!("started") };
                    let from_dependency = parse_branch_name(base).map(|(_, dependency)| dependency);
                    match from_dependency {
                        Some(dependency) => {
                            prop_assert!(facts.has_branch(base));
                            prop_assert!(feature.plan.graph.dependencies_of(&id(index)).contains(&dependency));
                        }
                        None => prop_assert_eq!(base, "main"),
                    }
                    let creates = plan.changes.git_steps.iter().any(|step| matches!(step, GitStep::AddWorktree { create_from: Some(_), .. }));
                    prop_assert_eq!(creates, wp.branch.is_none() && !wp.worktree, "the branch is created only when missing");
                }
                (lane, _) => {
                    let is_not_planned = matches!(result, Err(PlanError::NotPlanned { lane: refused, .. }) if refused == lane);
                    prop_assert!(is_not_planned);
                }
            }
        }
    }

    #[test]
    fn move_task_moves_only_as_the_workflow_allows_unless_forced(world in world(), to in lane(), force in any::<bool>()) {
        let feature = feature_of(&wp_files(&world));
        for (index, wp) in world.iter().enumerate() {
            let request = MoveRequest { wp: id(index), to, agent: None, note: None, force };
            let result = move_task::plan(&feature, &request, None, &occasion());
            prop_assert_eq!(result.is_ok(), wp.lane.check_move(to, force).is_ok());
            if let Ok(plan) = result {
                prop_assert_eq!(moves_of(&plan.changes), vec![(id(index), wp.lane, to)]);
                if !force {
                    assert_legal(&feature, &plan.changes)?;
                }
            }
        }
    }

    #[test]
    fn a_task_command_reading_one_wp_plans_what_it_plans_reading_the_whole_feature(
        world in world(),
        to in lane(),
        force in any::<bool>(),
    ) {
        let files = wp_files(&world);
        let whole = feature_of(&files);
        for index in 0..world.len() {
            let reading = FeatureReading::OneWp(id(index));
            let selected = reading.select(&texts_of(&files));
            prop_assert_eq!(selected.wp_files.len(), 1, "one file parsed of {}", files.len());
            let one = FeatureFolder::from_texts_read(selected, &reading).expect("one WP read");
            prop_assert!(!reading.must_read_whole(&one));
            let request = MoveRequest { wp: id(index), to, agent: Some("a".into()), note: None, force };
            prop_assert_eq!(
                move_task::plan(&one, &request, None, &occasion()),
                move_task::plan(&whole, &request, None, &occasion())
            );
            prop_assert_eq!(
                add_history::plan(&one, &id(index), "n", None, &occasion()),
                add_history::plan(&whole, &id(index), "n", None, &occasion())
            );
        }
    }

    #[test]
    fn merge_merges_each_branch_with_missing_work_once_and_moves_only_doing_wps(world in world()) {
        let feature = feature_of(&wp_files(&world));
        let before = repository(&world);
        let plan = merge::plan(&feature, &before).expect("main is the target");
        let mut branches: Vec<&str> = plan.merges.iter().map(|m| m.branch.as_str()).collect();
        let listed = branches.len();
        branches.sort_unstable();
        branches.dedup();
        prop_assert_eq!(branches.len(), listed, "a branch merged twice: {:?}", plan.merges);
        for (index, wp) in world.iter().enumerate() {
            let expected = wp.lane != Lane::Planned && matches!(wp.branch, Some((_, false)));
            let listed = plan.merges.iter().any(|m| m.wp == id(index));
            prop_assert_eq!(listed, expected, "{} ({:?})", id(index), wp);
        }
        // Every merge succeeds: each merged branch is in the target afterwards.
        let mut after = before.clone();
        after.merged_into_target.extend(plan.merges.iter().map(|m| m.branch.clone()));
        let moves = merge::moves(&feature, &plan.target, &after, &occasion()).expect("moves");
        assert_legal(&feature, &moves.changes)?;
        for (index, wp) in world.iter().enumerate() {
            let expected = wp.lane == Lane::Doing && matches!(wp.branch, Some((true, _)));
            prop_assert_eq!(moves.moved.contains(&id(index)), expected, "{} ({:?})", id(index), wp);
        }
        // Run again after the merges: nothing is merged twice.
        let again = merge::plan(&feature, &after).expect("main is the target");
        prop_assert!(again.merges.iter().all(|m| !after.merged_into_target.contains(&m.branch)));
        prop_assert!(again.merges.iter().all(|m| !plan.merges.contains(m)));
    }

    #[test]
    fn accept_completes_the_feature_exactly_when_the_last_wp_is_done(world in world()) {
        let feature = feature_of(&wp_files(&world));
        let plan = accept::plan(&feature, &occasion()).expect("accept plans");
        assert_legal(&feature, &plan.changes)?;
        let all_done_after = world.iter().all(|wp| matches!(wp.lane, Lane::ForReview | Lane::Done));
        let accepted_any = world.iter().any(|wp| wp.lane == Lane::ForReview);
        let completed = plan.changes.events.iter().filter(|d| matches!(d.payload, Payload::FeatureCompleted(_))).count();
        prop_assert_eq!(plan.feature_complete, all_done_after);
        prop_assert_eq!(completed, usize::from(all_done_after && accepted_any), "FeatureCompleted once, with the last WP");
        if let (Some(last), 1) = (plan.changes.events.last(), completed) {
            prop_assert!(matches!(last.payload, Payload::FeatureCompleted(_)), "after the status changes");
        }
    }

    /// A whole life: random moves (to any lane but done) and accepts, each plan's edits written back;
    /// FeatureCompleted is announced once, by the accept that leaves every WP done, and no move is
    /// ever illegal.
    #[test]
    fn over_a_feature_s_life_the_feature_completes_once_with_its_last_wp(
        world in world(),
        steps in prop::collection::vec((0usize..6, lane(), any::<bool>()), 1..40),
    ) {
        let mut files = wp_files(&world);
        let mut completions = 0;
        for (pick, to, accept_now) in steps {
            let feature = feature_of(&files);
            let changes = if accept_now {
                let plan = accept::plan(&feature, &occasion()).expect("accept plans");
                let done_before = feature.plan.is_complete();
                let completed = plan.changes.events.iter().any(|d| matches!(d.payload, Payload::FeatureCompleted(_)));
                prop_assert_eq!(completed, !done_before && plan.feature_complete);
                completions += usize::from(completed);
                plan.changes
            } else if to == Lane::Done {
                // Done is reached by accept (a move-task to done announces no FeatureCompleted,
                // as upstream's does not).
                continue;
            } else {
                let index = pick % world.len();
                let request = MoveRequest { wp: id(index), to, agent: None, note: None, force: false };
                match move_task::plan(&feature, &request, None, &occasion()) {
                    Ok(plan) => plan.changes,
                    Err(_) => continue,
                }
            };
            assert_legal(&feature, &changes)?;
            for edit in changes.edits {
                if edit.path.contains("/tasks/") {
                    files.insert(edit.path, edit.text);
                }
            }
        }
        let feature = feature_of(&files);
        let started_complete = world.iter().all(|wp| wp.lane == Lane::Done);
        prop_assert!(completions <= 1);
        prop_assert_eq!(completions == 1, feature.plan.is_complete() && !started_complete);
    }
}

#[test]
fn a_branch_name_parses_back_to_its_feature_and_wp() {
    let wp = id(6);
    let branch = branch_name("028-cli-event-emission-sync", &wp);
    assert_eq!(branch, "028-cli-event-emission-sync-WP07");
    assert_eq!(parse_branch_name(&branch), Some(("028-cli-event-emission-sync", wp)));
    for other in ["main", "028-x-WP1", "-WP01", "028-x-wp01", "028-x-WP01-fix"] {
        assert_eq!(parse_branch_name(other), None, "{other}");
    }
}

#[test]
fn a_branch_name_git_would_refuse_or_read_as_an_option_is_refused() {
    for good in ["028-cli-event-emission-sync-WP01", "main", "feature/x.y-WP01", "x.lock-WP01", "a@b"] {
        assert_eq!(check_branch_name(good), Ok(()), "{good}");
    }
    for bad in [
        "",
        "-b-WP01",
        "--help-WP01",
        "HEAD",
        "@",
        "my feature-WP01",
        "a..b-WP01",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "a\tb",
        "a@{1}",
        "/a",
        "a/",
        "a//b",
        "a.",
        ".a",
        "a/.b",
        "a.lock",
        "a/b.lock/c",
    ] {
        assert!(matches!(check_branch_name(bad), Err(PlanError::BadBranchName { .. })), "{bad:?}");
    }
}

/// A one-WP feature in `lane` whose folder is named `slug`.
fn feature_named(slug: &str, lane: Lane) -> FeatureFolder {
    let world = [WpWorld { lane, dependencies: vec![], branch: None, worktree: false }];
    let texts = FeatureTexts {
        slug: slug.into(),
        dir_label: format!("kitty-specs/{slug}"),
        meta: None,
        tasks: None,
        wp_files: wp_files(&world).into_iter().collect(),
    };
    FeatureFolder::from_texts(texts).expect("a feature")
}

#[test]
fn implement_and_merge_never_hand_git_a_branch_it_would_read_as_an_option() {
    let is_refused = |result: Result<(), PlanError>| matches!(result, Err(PlanError::BadBranchName { ref branch, .. }) if branch == "-b-WP01");
    let mut facts = repository(&[]);
    let started = implement::plan(&feature_named("-b", Lane::Planned), &id(0), &facts, None, &occasion());
    assert!(is_refused(started.map(drop)));

    // Such a branch exists only when made with plumbing; merge does not hand it to git either.
    facts.branch_tips.insert("-b-WP01".into(), "work".into());
    assert!(is_refused(merge::plan(&feature_named("-b", Lane::Doing), &facts).map(drop)));
}

#[test]
fn the_feature_is_named_by_its_branch_or_folder_only_as_a_whole_component() {
    let slugs = vec!["028-x".to_string(), "028-x-y".to_string()];
    assert_eq!(slugs_named_by(&slugs, "028-x-WP02", "/r"), vec![&slugs[0]]);
    assert_eq!(slugs_named_by(&slugs, "main", "/r/.worktrees/028-x-y-WP01/src"), vec![&slugs[1]]);
    assert_eq!(slugs_named_by(&slugs, "main", "/r/kitty-specs/028-x-y/tasks"), vec![&slugs[1]]);
    assert!(slugs_named_by(&slugs, "main", "/r/kitty-specs").is_empty());
}

#[test]
fn a_slug_that_is_not_one_folder_name_is_refused_by_name() {
    for bad in ["../x", "..", ".", "", "a/b", "a\\b", "x\n"] {
        let error = check_slug(bad).expect_err(bad);
        assert!(error.to_string().starts_with(&format!("--feature `{bad}`")), "{error}");
    }
    assert!(check_slug("028-cli-event-emission-sync").is_ok());
    let available = vec!["028-a".to_string()];
    let choice =
        FeatureChoice { available: &available, requested: Some("../028-a"), branch: "", folder: "/", specs_label: "k" };
    assert!(matches!(choose_feature(choice), Err(PlanError::BadSlug(_))));
}

#[test]
fn a_start_interrupted_before_its_commit_is_finished_not_repeated() {
    let world = vec![WpWorld { lane: Lane::Doing, dependencies: vec![], branch: Some((false, false)), worktree: true }];
    let files = wp_files(&world);
    let feature = feature_of(&files);
    let committed = files.values().next().expect("one file").replace("lane: doing", "lane: planned");
    let plan = implement::plan(&feature, &id(0), &repository(&world), Some(&committed), &occasion()).expect("plans");
    assert_eq!(plan.start, Start::AlreadyStarted);
    assert_eq!(moves_of(&plan.changes), vec![(id(0), Lane::Planned, Lane::Doing)]);
    assert!(
        matches!(&plan.changes.git_steps[..], [GitStep::CommitPaths { message, .. }] if message == "WP01: planned -> doing")
    );
    assert!(plan.changes.edits.is_empty());
}

/// The serde forms a host without Rust uses: facts read with every repository fact optional and
/// unknown keys refused; a plan written with tagged git steps and starts, and each event draft
/// saying its type.
#[test]
fn facts_and_plans_have_the_serde_forms_other_hosts_use() {
    let bare: RepositoryFacts =
        serde_json::from_str(r#"{"current_branch": "main"}"#).expect("every other repository fact may be left out");
    assert_eq!(bare, RepositoryFacts { current_branch: "main".into(), ..RepositoryFacts::default() });
    let none = serde_json::from_str::<RepositoryFacts>("{}").expect_err("the current branch is required");
    assert!(none.to_string().contains("missing field `current_branch`"), "{none}");
    let typo = serde_json::from_str::<RepositoryFacts>(r#"{"current_branch": "main", "branchTips": {}}"#)
        .expect_err("an unknown key");
    assert!(typo.to_string().contains("unknown field `branchTips`"), "{typo}");
    assert!(serde_json::from_str::<Occasion>(r#"{"now_ms": 1}"#).is_err(), "shell_pid is required");
    let request: MoveRequest = serde_json::from_str(r#"{"wp": "WP01", "to": "doing"}"#).expect("wp and to suffice");
    assert_eq!(request, MoveRequest { wp: id(0), to: Lane::Doing, agent: None, note: None, force: false });

    let world = vec![WpWorld { lane: Lane::Planned, dependencies: vec![], branch: None, worktree: false }];
    let facts = repository(&world);
    let read_back: RepositoryFacts =
        serde_json::from_value(serde_json::to_value(&facts).expect("facts serialise")).expect("and read back");
    assert_eq!(read_back, facts);
    let plan = implement::plan(&feature_of(&wp_files(&world)), &id(0), &facts, None, &occasion()).expect("plans");
    let json = serde_json::to_value(&plan).expect("a plan serialises");
    assert_eq!(json["start"], serde_json::json!({"kind": "from", "base": "main"}));
    assert_eq!(
        json["changes"]["git_steps"][0],
        serde_json::json!({"kind": "exclude_locally", "pattern": ".worktrees/"})
    );
    assert_eq!(json["changes"]["git_steps"][1]["kind"], "add_worktree");
    assert_eq!(json["changes"]["git_steps"][1]["create_from"], "main");
    let event = &json["changes"]["events"][0];
    assert_eq!(event["event_type"], "WPStatusChanged");
    assert_eq!(event["payload"]["new_status"], "doing");
    assert_eq!(event["causation"], "alone");
}

#[test]
fn a_one_wp_reading_takes_its_own_file_and_those_whose_name_names_no_wp_only() {
    let reading = FeatureReading::OneWp(id(1));
    assert!(reading.reads_wp_file("kitty-specs/x/tasks/WP02-title.md"));
    assert!(reading.reads_wp_file("WP02.md"));
    assert!(reading.reads_wp_file("WPx-no-number.md"), "its frontmatter may name WP02");
    assert!(!reading.reads_wp_file("kitty-specs/x/tasks/WP01-title.md"));
    assert!(!reading.reads_wp_file("WP12-title.md"));
    assert!(!reading.reads_tasks_md());
    assert!(!FeatureReading::TasksOnly.reads_wp_file("WP02.md"));
    assert!(FeatureReading::TasksOnly.reads_tasks_md());
    assert!(FeatureReading::Whole.reads_wp_file("WP02.md"));
}

#[test]
fn a_one_wp_reading_that_misses_its_wp_is_redone_whole() {
    let world = vec![WpWorld { lane: Lane::Planned, dependencies: vec![], branch: None, worktree: false }];
    let only_wp01 = feature_of(&wp_files(&world));
    assert!(FeatureReading::OneWp(id(1)).must_read_whole(&only_wp01));
    assert!(!FeatureReading::OneWp(id(0)).must_read_whole(&only_wp01));
    assert!(!FeatureReading::Whole.must_read_whole(&only_wp01));
}
