//! The workflow model: tasks.md, WP files, whole feature folders and the dependency graph.

use crate::convert::{self, field_error};
use crate::views::{FeatureFiles, FeaturePlanView, GraphView, WpFileView, load_feature as assemble};
use serde::Deserialize;
use spec_kitty_core::ids::WpId;
use spec_kitty_core::workflow::{DependencyGraph, Lane, WpFile, parse_tasks_md};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

/// The text to parse, and the label errors give it (`default` when none is passed).
fn text_and_label(text: &JsValue, label: Option<JsValue>, default: &str) -> Result<(String, String), JsValue> {
    let text = convert::string("text", text)?;
    let label = convert::optional_string("sourceLabel", &convert::or_undefined(label))?;
    Ok((text, label.unwrap_or_else(|| default.to_string())))
}

/// Parses tasks.md. `sourceLabel` (default `tasks.md`) is what errors name as the file; they also
/// give the line (`tasks.md:12: malformed dependency ...`).
#[wasm_bindgen(js_name = parseTasksMd, unchecked_return_type = "TasksPlan")]
pub fn parse_tasks(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    #[wasm_bindgen(js_name = sourceLabel, unchecked_optional_param_type = "string")] source_label: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let (text, label) = text_and_label(&text, source_label, "tasks.md")?;
    let plan = parse_tasks_md(&label, &text).map_err(|e| convert::error(e.to_string()))?;
    convert::to_js(&plan)
}

/// Parses a WP file (`tasks/WP01-some-title.md`): YAML frontmatter, then the Markdown body.
/// `sourceLabel` (default `WP.md`) is what errors name as the file.
#[wasm_bindgen(js_name = parseWpFile, unchecked_return_type = "WpFileView")]
pub fn parse_wp_file(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    #[wasm_bindgen(js_name = sourceLabel, unchecked_optional_param_type = "string")] source_label: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let (text, label) = text_and_label(&text, source_label, "WP.md")?;
    let file = WpFile::parse(&label, &text).map_err(|e| convert::error(e.to_string()))?;
    convert::to_js(&WpFileView::new(&file))
}

/// Checks a feature folder as a whole: tasks.md with the WP files (unknown or duplicate files,
/// dependency refs, cycles) and answers with its plan, graph and state.
#[wasm_bindgen(js_name = loadFeature, unchecked_return_type = "FeaturePlan")]
pub fn load_feature(#[wasm_bindgen(unchecked_param_type = "FeatureFiles")] files: JsValue) -> Result<JsValue, JsValue> {
    let files: FeatureFiles = convert::from_js("files", &files)?;
    let plan = assemble(&files).map_err(convert::error)?;
    convert::to_js(&FeaturePlanView::new(&plan))
}

/// One WP and its dependencies, as in a `TasksPlan` or `FeaturePlan` entry.
#[derive(Deserialize)]
struct GraphEntry {
    id: WpId,
    #[serde(default)]
    dependencies: Vec<WpId>,
}

/// The dependency graph of a feature's work packages, checked on construction (every dependency is a
/// WP of the graph, no cycles).
#[wasm_bindgen(js_name = DependencyGraph)]
pub struct JsDependencyGraph {
    graph: DependencyGraph,
}

fn wp_id(field: &str, value: &JsValue) -> Result<WpId, JsValue> {
    convert::string(field, value)?.parse().map_err(|e| field_error(field, e))
}

fn lanes(value: Option<JsValue>) -> Result<BTreeMap<WpId, Lane>, JsValue> {
    match value {
        None => Ok(BTreeMap::new()),
        Some(value) => convert::from_js("lanes", &value),
    }
}

fn ids_to_js(ids: &[WpId]) -> Result<JsValue, JsValue> {
    convert::to_js(&ids)
}

#[wasm_bindgen(js_class = DependencyGraph)]
impl JsDependencyGraph {
    /// Builds the graph from `[{id, dependencies}]` (the `work_packages` of a `TasksPlan` or
    /// `FeaturePlan` fit). Throws on an unknown dependency or a cycle, naming them.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = workPackages, unchecked_param_type = "Array<{ id: WpId; dependencies?: WpId[] }>")]
        work_packages: JsValue,
    ) -> Result<JsDependencyGraph, JsValue> {
        let entries: Vec<GraphEntry> = convert::from_js("workPackages", &work_packages)?;
        let graph = DependencyGraph::new(entries.into_iter().map(|e| (e.id, e.dependencies)))
            .map_err(|e| convert::error(e.to_string()))?;
        Ok(JsDependencyGraph { graph })
    }

    /// Every WP, sorted by id.
    #[wasm_bindgen(js_name = workPackages, unchecked_return_type = "WpId[]")]
    pub fn work_packages(&self) -> Result<JsValue, JsValue> {
        convert::to_js(&self.graph.work_packages().collect::<Vec<_>>())
    }

    /// Direct dependencies in declaration order; `[]` for a WP not in the graph.
    #[wasm_bindgen(js_name = dependenciesOf, unchecked_return_type = "WpId[]")]
    pub fn dependencies_of(
        &self,
        #[wasm_bindgen(unchecked_param_type = "WpId")] wp: JsValue,
    ) -> Result<JsValue, JsValue> {
        ids_to_js(self.graph.dependencies_of(&wp_id("wp", &wp)?))
    }

    /// The WPs that directly depend on `wp`, sorted by id.
    #[wasm_bindgen(js_name = dependentsOf, unchecked_return_type = "WpId[]")]
    pub fn dependents_of(
        &self,
        #[wasm_bindgen(unchecked_param_type = "WpId")] wp: JsValue,
    ) -> Result<JsValue, JsValue> {
        ids_to_js(self.graph.dependents_of(&wp_id("wp", &wp)?))
    }

    /// Every WP after all of its dependencies; among WPs free at the same time, lower ids first.
    #[wasm_bindgen(js_name = topologicalOrder, unchecked_return_type = "WpId[]")]
    pub fn topological_order(&self) -> Result<JsValue, JsValue> {
        ids_to_js(&self.graph.topological_order())
    }

    /// The dependents of `finished` whose every dependency is now done (`finished` counts as done
    /// whatever `lanes` says). A WP missing from `lanes` is planned.
    #[wasm_bindgen(js_name = unblockedBy, unchecked_return_type = "WpId[]")]
    pub fn unblocked_by(
        &self,
        #[wasm_bindgen(unchecked_param_type = "WpId")] finished: JsValue,
        #[wasm_bindgen(js_name = lanes, unchecked_optional_param_type = "Partial<Record<WpId, Lane>>")]
        lanes_by_wp: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        ids_to_js(&self.graph.unblocked_by(&wp_id("finished", &finished)?, &lanes(lanes_by_wp)?))
    }

    /// Planned WPs whose dependencies are all done, sorted by id.
    #[wasm_bindgen(js_name = readyToStart, unchecked_return_type = "WpId[]")]
    pub fn ready_to_start(
        &self,
        #[wasm_bindgen(js_name = lanes, unchecked_optional_param_type = "Partial<Record<WpId, Lane>>")]
        lanes_by_wp: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        ids_to_js(&self.graph.ready_to_start(&lanes(lanes_by_wp)?))
    }

    /// Whether the graph has at least one WP and every WP is done.
    #[wasm_bindgen(js_name = featureComplete)]
    pub fn feature_complete(
        &self,
        #[wasm_bindgen(js_name = lanes, unchecked_optional_param_type = "Partial<Record<WpId, Lane>>")]
        lanes_by_wp: Option<JsValue>,
    ) -> Result<bool, JsValue> {
        Ok(self.graph.feature_complete(&lanes(lanes_by_wp)?))
    }

    /// `{work_packages, dependencies, dependents, topological_order}`.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "GraphView")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        convert::to_js(&GraphView::new(&self.graph))
    }
}
