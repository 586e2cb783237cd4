//! JS exports: the workflow commands' plans, and the WP branch names.

use super::call;
use wasm_bindgen::prelude::*;

/// What `implement WP` will do: its branch and worktree, the branch it starts from, the git steps,
/// the WP file's move to doing and its event. Needs `facts.repository` and `facts.occasion`.
#[wasm_bindgen(js_name = planImplement, unchecked_return_type = "ImplementPlan")]
pub fn plan_implement(
    #[wasm_bindgen(unchecked_param_type = "FeatureFolderFiles")] feature: JsValue,
    #[wasm_bindgen(unchecked_param_type = "WpId")] wp: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PlanFacts")] facts: JsValue,
) -> Result<JsValue, JsValue> {
    call("planImplement", &[feature, wp, facts])
}

/// What `merge` merges into the feature's target branch, in order. Needs `facts.repository`.
#[wasm_bindgen(js_name = planMerge, unchecked_return_type = "MergePlan")]
pub fn plan_merge(
    #[wasm_bindgen(unchecked_param_type = "FeatureFolderFiles")] feature: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PlanFacts")] facts: JsValue,
) -> Result<JsValue, JsValue> {
    call("planMerge", &[feature, facts])
}

/// Which WPs `merge` moves to for_review once its merges into `target` are done, from the facts
/// gathered after them. Needs `facts.repository` and `facts.occasion`.
#[wasm_bindgen(js_name = planMergeMoves, unchecked_return_type = "MergeMoves")]
pub fn plan_merge_moves(
    #[wasm_bindgen(unchecked_param_type = "FeatureFolderFiles")] feature: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] target: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PlanFacts")] facts: JsValue,
) -> Result<JsValue, JsValue> {
    call("planMergeMoves", &[feature, target, facts])
}

/// What `accept` does: the WPs in for_review move to done; the feature completes with its last WP.
/// Needs `facts.occasion`.
#[wasm_bindgen(js_name = planAccept, unchecked_return_type = "AcceptPlan")]
pub fn plan_accept(
    #[wasm_bindgen(unchecked_param_type = "FeatureFolderFiles")] feature: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PlanFacts")] facts: JsValue,
) -> Result<JsValue, JsValue> {
    call("planAccept", &[feature, facts])
}

/// What `agent tasks move-task` does. Needs `facts.occasion`.
#[wasm_bindgen(js_name = planMoveTask, unchecked_return_type = "MoveTaskPlan")]
pub fn plan_move_task(
    #[wasm_bindgen(unchecked_param_type = "FeatureFolderFiles")] feature: JsValue,
    #[wasm_bindgen(unchecked_param_type = "MoveRequest")] request: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PlanFacts")] facts: JsValue,
) -> Result<JsValue, JsValue> {
    call("planMoveTask", &[feature, request, facts])
}

/// What `agent tasks mark-status` does to tasks.md, and the notes it announces.
#[wasm_bindgen(js_name = planMarkStatus, unchecked_return_type = "MarkStatusPlan")]
pub fn plan_mark_status(
    #[wasm_bindgen(unchecked_param_type = "FeatureFolderFiles")] feature: JsValue,
    #[wasm_bindgen(unchecked_param_type = "MarkStatusRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    call("planMarkStatus", &[feature, request])
}

/// What `agent tasks add-history` does: an activity line and a HistoryAdded. Needs `facts.occasion`.
#[wasm_bindgen(js_name = planAddHistory, unchecked_return_type = "Changes")]
pub fn plan_add_history(
    #[wasm_bindgen(unchecked_param_type = "FeatureFolderFiles")] feature: JsValue,
    #[wasm_bindgen(unchecked_param_type = "AddHistoryRequest")] request: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PlanFacts")] facts: JsValue,
) -> Result<JsValue, JsValue> {
    call("planAddHistory", &[feature, request, facts])
}

/// What `agent feature finalize-tasks` does: dependencies written into the WP files, then
/// FeatureCreated and one WPCreated per WP.
#[wasm_bindgen(js_name = planFinalizeTasks, unchecked_return_type = "FinalizePlan")]
pub fn plan_finalize_tasks(
    #[wasm_bindgen(unchecked_param_type = "FeatureFolderFiles")] feature: JsValue,
) -> Result<JsValue, JsValue> {
    call("planFinalizeTasks", &[feature])
}

/// The branch a WP is implemented on: `{slug}-{wp}`, like `028-cli-event-emission-sync-WP01`.
#[wasm_bindgen(js_name = branchName, unchecked_return_type = "string")]
pub fn branch_name(
    #[wasm_bindgen(unchecked_param_type = "string")] slug: JsValue,
    #[wasm_bindgen(unchecked_param_type = "WpId")] wp: JsValue,
) -> Result<JsValue, JsValue> {
    call("branchName", &[slug, wp])
}

/// The feature slug and WP a branch made by `branchName` names; `null` for any other branch.
#[wasm_bindgen(js_name = parseBranchName, unchecked_return_type = "BranchParts | null")]
pub fn parse_branch_name(#[wasm_bindgen(unchecked_param_type = "string")] branch: JsValue) -> Result<JsValue, JsValue> {
    call("parseBranchName", &[branch])
}
