//! The workflow commands' plans for any host ([`Arg`]): what implement, merge, accept, move-task,
//! mark-status, add-history and finalize-tasks will do, from a feature folder's texts and the facts
//! the host gathered, as `spec_kitty_core::workflow::plans` decides it for the CLI.
//!
//! Reading only: the feature's texts become the core's [`FeatureTexts`] (meta.json parsed by the core),
//! the facts and requests are the core's serde types, and the answer is the core's plan. A Node tool
//! or an editor extension previews a command with exactly the decisions the CLI will make.
//!
//! Every function takes `(feature, what is asked, facts)`; `facts` is one object for all of them,
//! [`PlanFacts`], of which each plan reads what it needs.

use crate::args::{self, Arg, Error};
use crate::workflow::NamedText;
use serde::{Deserialize, Serialize};
use spec_kitty_core::ids::WpId;
use spec_kitty_core::workflow::FeatureMeta;
use spec_kitty_core::workflow::plans::accept::{self, AcceptPlan};
use spec_kitty_core::workflow::plans::finalize_tasks::{self, FinalizePlan};
use spec_kitty_core::workflow::plans::implement::{self, ImplementPlan};
use spec_kitty_core::workflow::plans::layout::{self, feature_dir};
use spec_kitty_core::workflow::plans::mark_status::{self, MarkStatusPlan};
use spec_kitty_core::workflow::plans::merge::{self, MergeMoves, MergePlan};
use spec_kitty_core::workflow::plans::move_task::{self, MoveRequest, MoveTaskPlan};
use spec_kitty_core::workflow::plans::{
    Changes, FeatureFolder, FeatureTexts, Occasion, RepositoryFacts, add_history, check_slug,
};

/// A feature folder's texts as a host read them (`kitty-specs/{slug}/`): the shape `loadFeature`
/// takes, plus meta.json; tasks.md may be absent, as the CLI allows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureFolderFiles {
    pub slug: String,
    /// How messages name the folder; default `kitty-specs/{slug}`.
    #[serde(default)]
    pub dir_label: Option<String>,
    /// The text of meta.json; absent when the folder has none.
    #[serde(default)]
    pub meta_json: Option<String>,
    /// The text of tasks.md; absent when the folder has none.
    #[serde(default)]
    pub tasks_md: Option<String>,
    /// What messages name tasks.md as; default `{dirLabel}/tasks.md`.
    #[serde(default)]
    pub tasks_label: Option<String>,
    /// The `tasks/WP*.md` files, each with the name messages give it (its last component is the
    /// file's name in `tasks/`).
    #[serde(default)]
    pub wp_files: Vec<NamedText>,
}

/// What a host gathered from the world; each plan reads the facts it needs and refuses to go on
/// without them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFacts {
    /// Branches and tips, merges into the target, worktrees (implement, merge).
    #[serde(default)]
    pub repository: Option<RepositoryFacts>,
    /// The time and the shell's pid (every plan that writes a WP file or meta.json).
    #[serde(default)]
    pub occasion: Option<Occasion>,
    /// The WP file as the checked-out commit holds it (implement, move-task): a lane change written
    /// on disk but not in it was left by a run that died before its commit, and is finished.
    #[serde(default)]
    pub head_text: Option<String>,
}

/// `agent tasks mark-status`: which subtasks, ticked (`done`) or not (`pending`), by whom.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarkStatusRequest {
    pub subtasks: Vec<String>,
    pub status: SubtaskStatus,
    #[serde(default)]
    pub agent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubtaskStatus {
    Done,
    Pending,
}

/// `agent tasks add-history`: a note on a WP, by whom.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AddHistoryRequest {
    pub wp: WpId,
    pub note: String,
    #[serde(default)]
    pub agent: Option<String>,
}

/// A branch made by [`layout::branch_name`], read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BranchParts {
    pub slug: String,
    pub wp: WpId,
}

impl FeatureFolderFiles {
    /// The core's texts: labels defaulted, meta.json parsed (an error names the file and field).
    pub fn to_texts(&self) -> Result<FeatureTexts, Error> {
        check_slug(&self.slug).map_err(|e| Error::field("feature.slug", e))?;
        let dir_label = self.dir_label.clone().unwrap_or_else(|| feature_dir(&self.slug));
        let meta_label = format!("{dir_label}/meta.json");
        let meta = match &self.meta_json {
            Some(text) => Some(FeatureMeta::parse(&meta_label, text).map_err(Error::from_display)?),
            None => None,
        };
        let tasks_label = self.tasks_label.clone().unwrap_or_else(|| format!("{dir_label}/tasks.md"));
        Ok(FeatureTexts {
            slug: self.slug.clone(),
            meta,
            tasks: self.tasks_md.clone().map(|text| (tasks_label, text)),
            wp_files: self.wp_files.iter().map(|f| (f.file_name.clone(), f.text.clone())).collect(),
            dir_label,
        })
    }
}

fn texts<A: Arg>(feature: &A) -> Result<FeatureTexts, Error> {
    args::from_arg::<FeatureFolderFiles, A>("feature", feature)?.to_texts()
}

fn folder<A: Arg>(feature: &A) -> Result<FeatureFolder, Error> {
    FeatureFolder::from_texts(texts(feature)?).map_err(Error::from_display)
}

fn facts<A: Arg>(value: &A) -> Result<PlanFacts, Error> {
    if value.is_absent() { Ok(PlanFacts::default()) } else { args::from_arg("facts", value) }
}

fn required<T>(fact: Option<T>, field: &str, plan: &str) -> Result<T, Error> {
    fact.ok_or_else(|| Error::field(field, format!("required by {plan}")))
}

fn wp_id<A: Arg>(field: &str, value: &A) -> Result<WpId, Error> {
    args::string(field, value)?.parse().map_err(|e| Error::field(field, e))
}

/// `implement WP`: its branch and worktree, the branch it starts from, the move to doing.
/// Needs `facts.repository` and `facts.occasion`.
pub fn plan_implement<A: Arg>(feature: &A, wp: &A, plan_facts: &A) -> Result<ImplementPlan, Error> {
    let folder = folder(feature)?;
    let wp = wp_id("wp", wp)?;
    let facts = facts(plan_facts)?;
    let repository = required(facts.repository, "facts.repository", "implement")?;
    let occasion = required(facts.occasion, "facts.occasion", "implement")?;
    implement::plan(&folder, &wp, &repository, facts.head_text.as_deref(), &occasion).map_err(Error::from_display)
}

/// `merge`, its first step: the WP branches to merge into the target, in order. Needs
/// `facts.repository` (with `merged_into_target`).
pub fn plan_merge<A: Arg>(feature: &A, plan_facts: &A) -> Result<MergePlan, Error> {
    let folder = folder(feature)?;
    let repository = required(facts(plan_facts)?.repository, "facts.repository", "merge")?;
    merge::plan(&folder, &repository).map_err(Error::from_display)
}

/// `merge`, its second step: the WPs that move to for_review once the merges into `target` are
/// done, from `facts.repository` as gathered after them. Needs `facts.occasion` too.
pub fn plan_merge_moves<A: Arg>(feature: &A, target: &A, plan_facts: &A) -> Result<MergeMoves, Error> {
    let folder = folder(feature)?;
    let target = args::string("target", target)?;
    let facts = facts(plan_facts)?;
    let after = required(facts.repository, "facts.repository", "the merge's moves")?;
    let occasion = required(facts.occasion, "facts.occasion", "the merge's moves")?;
    merge::moves(&folder, &target, &after, &occasion).map_err(Error::from_display)
}

/// `accept`: the WPs in for_review move to done, and whether the feature completes. Needs
/// `facts.occasion`.
pub fn plan_accept<A: Arg>(feature: &A, plan_facts: &A) -> Result<AcceptPlan, Error> {
    let folder = folder(feature)?;
    let occasion = required(facts(plan_facts)?.occasion, "facts.occasion", "accept")?;
    accept::plan(&folder, &occasion).map_err(Error::from_display)
}

/// `agent tasks move-task`: `request` is `{wp, to, agent?, note?, force?}`. Needs `facts.occasion`.
pub fn plan_move_task<A: Arg>(feature: &A, request: &A, plan_facts: &A) -> Result<MoveTaskPlan, Error> {
    let folder = folder(feature)?;
    let request: MoveRequest = args::from_arg("request", request)?;
    let facts = facts(plan_facts)?;
    let occasion = required(facts.occasion, "facts.occasion", "move-task")?;
    move_task::plan(&folder, &request, facts.head_text.as_deref(), &occasion).map_err(Error::from_display)
}

/// `agent tasks mark-status`: `request` is `{subtasks, status: "done" | "pending", agent?}`.
pub fn plan_mark_status<A: Arg>(feature: &A, request: &A) -> Result<MarkStatusPlan, Error> {
    let folder = folder(feature)?;
    let request: MarkStatusRequest = args::from_arg("request", request)?;
    let subtasks: Vec<&str> = request.subtasks.iter().map(String::as_str).collect();
    let done = request.status == SubtaskStatus::Done;
    mark_status::plan(&folder, &subtasks, done, request.agent.as_deref()).map_err(Error::from_display)
}

/// `agent tasks add-history`: `request` is `{wp, note, agent?}`. Needs `facts.occasion`.
pub fn plan_add_history<A: Arg>(feature: &A, request: &A, plan_facts: &A) -> Result<Changes, Error> {
    let folder = folder(feature)?;
    let request: AddHistoryRequest = args::from_arg("request", request)?;
    let occasion = required(facts(plan_facts)?.occasion, "facts.occasion", "add-history")?;
    add_history::plan(&folder, &request.wp, &request.note, request.agent.as_deref(), &occasion)
        .map_err(Error::from_display)
}

/// `agent feature finalize-tasks`: dependencies written into the WP files, then FeatureCreated and
/// the WPCreated events. Reads the texts only (the folder need not be consistent yet).
pub fn plan_finalize_tasks<A: Arg>(feature: &A) -> Result<FinalizePlan, Error> {
    finalize_tasks::plan(&texts(feature)?).map_err(Error::from_display)
}

/// The branch a WP is implemented on: `{slug}-{wp}`.
pub fn branch_name<A: Arg>(slug: &A, wp: &A) -> Result<String, Error> {
    let slug = args::string("slug", slug)?;
    Ok(layout::branch_name(&slug, &wp_id("wp", wp)?))
}

/// The feature slug and WP a branch made by [`branch_name`] names; `None` for any other branch.
pub fn parse_branch_name<A: Arg>(branch: &A) -> Result<Option<BranchParts>, Error> {
    let branch = args::string("branch", branch)?;
    Ok(layout::parse_branch_name(&branch).map(|(slug, wp)| BranchParts { slug: slug.to_string(), wp }))
}
