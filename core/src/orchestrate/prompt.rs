//! The prompt an agent gets (on stdin and as `{prompt_file}`): what to do, where, and the WP's own
//! prompt file; for a rework, the reviewer's feedback first.

use super::agents::Phase;
use serde::{Deserialize, Serialize};

/// A reviewer's rejection, carried to the next implementation try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Feedback {
    pub reviewer: String,
    pub reason: String,
    /// The review's log, relative to the repository root, where the whole review is.
    pub log_file: Option<String>,
}

/// What one prompt is about.
#[derive(Debug, Clone, Copy)]
pub struct PromptRequest<'a> {
    pub phase: Phase,
    pub feature_slug: &'a str,
    pub wp: &'a str,
    pub title: &'a str,
    /// The WP's prompt file (`tasks/WPxx-*.md`) as it is.
    pub wp_prompt: &'a str,
    pub worktree: &'a str,
    pub branch: &'a str,
    /// 1 for the first try of the phase.
    pub try_number: u32,
    /// For a review: who implemented the work under review.
    pub implementer: Option<&'a str>,
    /// For an implementation after a rejection.
    pub feedback: Option<&'a Feedback>,
}

/// The whole prompt text.
pub fn compose(request: &PromptRequest) -> String {
    let PromptRequest { feature_slug, wp, title, worktree, branch, try_number, .. } = *request;
    let mut text = String::new();
    match request.phase {
        Phase::Implementation => {
            text.push_str(&format!("# Implement {wp} ({title}) of feature {feature_slug}\n\n"));
            text.push_str(&format!(
                "You work in the git worktree `{worktree}`, on branch `{branch}`. Do the work package below there, \
                 and commit your work on that branch before you finish. Do not change the work package's lane: \
                 spec-kitty moves it when you are done. Exit with status 0 when the work is done and committed, \
                 any other status when you could not do it.\n"
            ));
            if try_number > 1 {
                text.push_str(&format!("\nThis is try {try_number} of this work package.\n"));
            }
            if let Some(feedback) = request.feedback {
                text.push_str(&format!(
                    "\n## Review feedback to address first\n\nThe previous implementation was rejected by {}:\n\n> {}\n",
                    feedback.reviewer,
                    feedback.reason.replace('\n', "\n> ")
                ));
                if let Some(log) = &feedback.log_file {
                    text.push_str(&format!("\nThe whole review is in `{log}` (in the main repository).\n"));
                }
                text.push_str("\nFix what it says, keep what was right, and commit.\n");
            }
        }
        Phase::Review => {
            text.push_str(&format!("# Review {wp} ({title}) of feature {feature_slug}\n\n"));
            let by = request.implementer.map(|agent| format!(" (implemented by {agent})")).unwrap_or_default();
            text.push_str(&format!(
                "Review the work on branch `{branch}` in the git worktree `{worktree}`{by} against the work package \
                 below: does it do what the work package asks, and do its tests pass? Do not change the work \
                 package's lane: spec-kitty moves it by your verdict.\n\n\
                 End your output with exactly one verdict line, as the very last line:\n\n\
                 VERDICT: approved\n\nor\n\nVERDICT: rejected <what must change, in one line>\n\n\
                 Output without such a last line counts as a failed review, never as an approval.\n"
            ));
        }
    }
    text.push_str("\n---\n\n");
    text.push_str(request.wp_prompt);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(phase: Phase) -> PromptRequest<'static> {
        PromptRequest {
            phase,
            feature_slug: "028-x",
            wp: "WP02",
            title: "Queue",
            wp_prompt: "---\nlane: doing\n---\n# Work Package Prompt: WP02\n",
            worktree: "/r/.worktrees/028-x-WP02",
            branch: "028-x-WP02",
            try_number: 1,
            implementer: Some("claude"),
            feedback: None,
        }
    }

    #[test]
    fn implementation_prompts_put_the_feedback_before_the_work_package() {
        let feedback =
            Feedback { reviewer: "codex".into(), reason: "add tests".into(), log_file: Some("l.log".into()) };
        let text =
            compose(&PromptRequest { try_number: 2, feedback: Some(&feedback), ..request(Phase::Implementation) });
        let feedback_at = text.find("> add tests").expect("the reason");
        assert!(feedback_at < text.find("# Work Package Prompt").expect("the WP prompt"));
        assert!(text.contains("rejected by codex") && text.contains("try 2") && text.contains("`l.log`"));
        assert!(text.ends_with("# Work Package Prompt: WP02\n"));
        assert!(!compose(&request(Phase::Implementation)).contains("Review feedback"));
    }

    #[test]
    fn review_prompts_ask_for_the_verdict_line() {
        let text = compose(&request(Phase::Review));
        assert!(text.contains("VERDICT: approved") && text.contains("VERDICT: rejected"));
        assert!(text.contains("implemented by claude"));
        assert!(text.contains("branch `028-x-WP02`"));
    }
}
