//! JS export: the board fold.

use super::call;
use wasm_bindgen::prelude::*;

/// Folds events (envelopes, in any order, duplicates allowed) into the board. Throws an `Error`
/// naming the first event that is not an envelope (`events[3].payload: ...`).
#[wasm_bindgen(js_name = foldBoard, unchecked_return_type = "Board")]
pub fn fold_board(#[wasm_bindgen(unchecked_param_type = "Envelope[]")] events: JsValue) -> Result<JsValue, JsValue> {
    call("foldBoard", &[events])
}
