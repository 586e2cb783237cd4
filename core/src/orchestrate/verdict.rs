//! What an agent's output says: a reviewer's verdict, and an error an agent reported in JSON.
//!
//! The verdict is read from the last non-empty line of the reviewer's output, in one of two forms:
//! `VERDICT: approved [note]` / `VERDICT: rejected <reason>`, or a JSON object with `"verdict":
//! "approved" | "rejected"` and a `"reason"` (or `"feedback"`). A JSON line that wraps the agent's
//! text (`{"type": "result", "result": "..."}`, as `claude -p --output-format json` prints) is read
//! through: the verdict is the last line of that text. Anything else is no verdict, which fails the
//! review try: never an approval (upstream searched the output for "approved", which "not approved"
//! matched).

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Approved { note: Option<String> },
    Rejected { reason: String },
}

/// The last non-empty line of an output, trimmed.
pub fn last_line(output: &str) -> Option<&str> {
    output.lines().map(str::trim).rev().find(|line| !line.is_empty())
}

/// The reviewer's verdict from its last output line, or why there is none.
pub fn read_verdict(last: Option<&str>) -> Result<Verdict, String> {
    let Some(line) = last else {
        return Err(
            "the reviewer printed nothing: its last line must be `VERDICT: approved` or `VERDICT: rejected <reason>`"
                .into(),
        );
    };
    if let Some(object) = json_object(line) {
        if let Some(verdict) = object.get("verdict") {
            return verdict_from_json(verdict, &object);
        }
        if let Some(text) = wrapped_text(&object) {
            return read_verdict(last_line(text));
        }
    } else if let Some(verdict) = verdict_line(line) {
        return verdict;
    }
    Err(format!(
        "no verdict: the reviewer's last line must be `VERDICT: approved` or `VERDICT: rejected <reason>`, not `{}`",
        shorten(line, 120)
    ))
}

/// An error the agent reported in a JSON last line (`"is_error": true`, or a non-empty `"error"`).
/// Plain text is never read as an error: the exit code says whether a plain agent failed.
pub fn reported_error(last: Option<&str>) -> Option<String> {
    let object = json_object(last?)?;
    let error = object.get("error").filter(|e| !e.is_null() && *e != &Value::Bool(false) && *e != "");
    if let Some(error) = error {
        let text = error.as_str().map(str::to_string).unwrap_or_else(|| error.to_string());
        return Some(shorten(&text, 300));
    }
    if object.get("is_error") == Some(&Value::Bool(true)) {
        let text = wrapped_text(&object).and_then(last_line).unwrap_or("the agent reported an error");
        return Some(shorten(text, 300));
    }
    None
}

fn json_object(line: &str) -> Option<serde_json::Map<String, Value>> {
    if !line.starts_with('{') {
        return None;
    }
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

/// The agent's own text inside a JSON result line.
fn wrapped_text(object: &serde_json::Map<String, Value>) -> Option<&str> {
    ["result", "response", "text", "output"].iter().find_map(|key| object.get(*key)?.as_str())
}

fn verdict_from_json(verdict: &Value, object: &serde_json::Map<String, Value>) -> Result<Verdict, String> {
    let reason = ["reason", "feedback", "note"]
        .iter()
        .find_map(|key| object.get(*key)?.as_str())
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_string);
    match verdict.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("approved") => Ok(Verdict::Approved { note: reason }),
        Some("rejected") => Ok(Verdict::Rejected { reason: reason.unwrap_or_else(no_reason) }),
        _ => Err(format!("no verdict: `\"verdict\": {verdict}` is neither \"approved\" nor \"rejected\"")),
    }
}

/// `VERDICT: approved [note]` or `VERDICT: rejected <reason>`; `None` when the line is not a verdict
/// line at all.
fn verdict_line(line: &str) -> Option<Result<Verdict, String>> {
    let head = line.get(..8)?;
    if !head.eq_ignore_ascii_case("verdict:") {
        return None;
    }
    let rest = line[8..].trim();
    let (word, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let tail = tail.trim().trim_start_matches(['-', ':', '–']).trim();
    let text = (!tail.is_empty()).then(|| tail.to_string());
    Some(match word.to_ascii_lowercase().as_str() {
        "approved" => Ok(Verdict::Approved { note: text }),
        "rejected" => Ok(Verdict::Rejected { reason: text.unwrap_or_else(no_reason) }),
        _ => Err(format!("no verdict: `{}` is neither approved nor rejected", shorten(line, 120))),
    })
}

fn no_reason() -> String {
    "the reviewer gave no reason".to_string()
}

/// At most `max` characters, on one line.
pub fn shorten(text: &str, max: usize) -> String {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(output: &str) -> Result<Verdict, String> {
        read_verdict(last_line(output))
    }

    #[test]
    fn the_last_line_decides() {
        assert_eq!(verdict("looked at it\nVERDICT: approved\n\n"), Ok(Verdict::Approved { note: None }));
        assert_eq!(
            verdict("VERDICT: rejected tests fail in parse()"),
            Ok(Verdict::Rejected { reason: "tests fail in parse()".into() })
        );
        assert_eq!(
            verdict("verdict: Rejected"),
            Ok(Verdict::Rejected { reason: "the reviewer gave no reason".into() })
        );
        assert_eq!(verdict("VERDICT: approved - nice"), Ok(Verdict::Approved { note: Some("nice".into()) }));
        // An approval that is not the last line is no verdict.
        assert!(verdict("VERDICT: approved\nthen more text").is_err());
    }

    #[test]
    fn never_an_approval_by_accident() {
        for output in
            ["not approved", "VERDICT: not approved", "approved", "", "VERDICT:", "APPROVED!", "{\"verdict\": true}"]
        {
            assert!(verdict(output).is_err(), "{output:?} must not be a verdict");
        }
        let err = verdict("I am not approved").expect_err("no verdict");
        assert!(err.contains("`I am not approved`"), "{err}");
    }

    #[test]
    fn json_verdicts_and_wrapped_results() {
        assert_eq!(
            verdict(r#"{"verdict": "rejected", "feedback": "add tests"}"#),
            Ok(Verdict::Rejected { reason: "add tests".into() })
        );
        assert_eq!(verdict(r#"{"verdict":"approved"}"#), Ok(Verdict::Approved { note: None }));
        let claude = r#"{"type":"result","is_error":false,"result":"Reviewed.\nVERDICT: approved"}"#;
        assert_eq!(verdict(claude), Ok(Verdict::Approved { note: None }));
        let wrapped_without = r#"{"type":"result","result":"It is approved"}"#;
        assert!(verdict(wrapped_without).is_err());
    }

    #[test]
    fn errors_reported_in_json() {
        assert_eq!(
            reported_error(Some(r#"{"is_error":true,"result":"rate limited"}"#)).as_deref(),
            Some("rate limited")
        );
        assert_eq!(reported_error(Some(r#"{"error":"auth failed"}"#)).as_deref(), Some("auth failed"));
        assert_eq!(reported_error(Some(r#"{"error":null,"is_error":false}"#)), None);
        assert_eq!(reported_error(Some("error: plain text is not read")), None);
        assert_eq!(reported_error(None), None);
    }
}
