//! JS exports: tasks.md, WP files, whole feature folders and the dependency graph.

use super::{answer, call, js_error, or_undefined};
use crate::ops::{self, Object};
use crate::workflow::Graph;
use wasm_bindgen::prelude::*;

/// Parses tasks.md, leniently (a heading it does not understand is no error); dependencies by
/// upstream's finalize-tasks rule. `sourceLabel` (default `tasks.md`) is what errors name as the file.
#[wasm_bindgen(js_name = parseTasksMd, unchecked_return_type = "TasksPlan")]
pub fn parse_tasks(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    #[wasm_bindgen(js_name = sourceLabel, unchecked_optional_param_type = "string")] source_label: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("parseTasksMd", &[text, or_undefined(source_label)])
}

/// Parses a WP file (`tasks/WP01-some-title.md`): YAML frontmatter, then the Markdown body.
/// `sourceLabel` (default `WP.md`) is what errors name as the file.
#[wasm_bindgen(js_name = parseWpFile, unchecked_return_type = "WpFileView")]
pub fn parse_wp_file(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    #[wasm_bindgen(js_name = sourceLabel, unchecked_optional_param_type = "string")] source_label: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    call("parseWpFile", &[text, or_undefined(source_label)])
}

/// Checks a feature folder as a whole: tasks.md with the WP files (unknown or duplicate files,
/// dependency refs, cycles) and answers with its plan, graph and state.
#[wasm_bindgen(js_name = loadFeature, unchecked_return_type = "FeaturePlan")]
pub fn load_feature(#[wasm_bindgen(unchecked_param_type = "FeatureFiles")] files: JsValue) -> Result<JsValue, JsValue> {
    call("loadFeature", &[files])
}

/// The dependency graph of a feature's work packages, checked on construction (every dependency is a
/// WP of the graph, no cycles).
#[wasm_bindgen(js_name = DependencyGraph)]
pub struct JsDependencyGraph {
    graph: Graph,
}

impl JsDependencyGraph {
    fn method(&self, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        answer(ops::graph_method(&self.graph, method, args))
    }
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
        match ops::construct("new DependencyGraph", &[work_packages]).map_err(js_error)? {
            Object::DependencyGraph(graph) => Ok(JsDependencyGraph { graph }),
            _ => unreachable!("`new DependencyGraph` makes a DependencyGraph"),
        }
    }

    /// Every WP, sorted by id.
    #[wasm_bindgen(js_name = workPackages, unchecked_return_type = "WpId[]")]
    pub fn work_packages(&self) -> Result<JsValue, JsValue> {
        self.method("workPackages", &[])
    }

    /// Direct dependencies in declaration order; `[]` for a WP not in the graph.
    #[wasm_bindgen(js_name = dependenciesOf, unchecked_return_type = "WpId[]")]
    pub fn dependencies_of(
        &self,
        #[wasm_bindgen(unchecked_param_type = "WpId")] wp: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.method("dependenciesOf", &[wp])
    }

    /// The WPs that directly depend on `wp`, sorted by id.
    #[wasm_bindgen(js_name = dependentsOf, unchecked_return_type = "WpId[]")]
    pub fn dependents_of(
        &self,
        #[wasm_bindgen(unchecked_param_type = "WpId")] wp: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.method("dependentsOf", &[wp])
    }

    /// Every WP after all of its dependencies; among WPs free at the same time, lower ids first.
    #[wasm_bindgen(js_name = topologicalOrder, unchecked_return_type = "WpId[]")]
    pub fn topological_order(&self) -> Result<JsValue, JsValue> {
        self.method("topologicalOrder", &[])
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
        self.method("unblockedBy", &[finished, or_undefined(lanes_by_wp)])
    }

    /// Planned WPs whose dependencies are all done, sorted by id.
    #[wasm_bindgen(js_name = readyToStart, unchecked_return_type = "WpId[]")]
    pub fn ready_to_start(
        &self,
        #[wasm_bindgen(js_name = lanes, unchecked_optional_param_type = "Partial<Record<WpId, Lane>>")]
        lanes_by_wp: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        self.method("readyToStart", &[or_undefined(lanes_by_wp)])
    }

    /// Whether the graph has at least one WP and every WP is done.
    #[wasm_bindgen(js_name = featureComplete, unchecked_return_type = "boolean")]
    pub fn feature_complete(
        &self,
        #[wasm_bindgen(js_name = lanes, unchecked_optional_param_type = "Partial<Record<WpId, Lane>>")]
        lanes_by_wp: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        self.method("featureComplete", &[or_undefined(lanes_by_wp)])
    }

    /// `{work_packages, dependencies, dependents, topological_order}`.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "GraphView")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        self.method("toJSON", &[])
    }
}
