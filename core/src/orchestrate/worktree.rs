//! What a WP's worktree showed when an agent ended, and whether the try's work is where the run
//! expects it: committed on the WP's branch. An agent that exits 0 after switching the worktree to
//! another branch (its commits are not on the WP's branch), or an implementer that leaves changes to
//! tracked files uncommitted, has not delivered its work, whatever its exit code says; the review and
//! the dependents, which start from the WP's branch, would not see it.

use super::agents::Phase;
use serde::{Deserialize, Serialize};

/// The worktree as the host found it when the agent's process ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WorktreeFacts {
    /// Whether the worktree is still there (an agent may remove it; the work on its branch stays).
    pub present: bool,
    /// The branch checked out, `None` on a detached HEAD.
    pub branch: Option<String>,
    /// Tracked files changed and not committed (staged or not), as git names them.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub uncommitted: Vec<String>,
}

impl WorktreeFacts {
    /// Why the work of a try that exited 0 is not on `expected_branch`, or `None` when it is (or the
    /// worktree is gone, and its branch holds what was committed).
    pub fn problem(&self, phase: Phase, expected_branch: &str) -> Option<String> {
        if !self.present {
            return None;
        }
        match self.branch.as_deref() {
            Some(branch) if branch == expected_branch => {}
            Some(other) => {
                return Some(format!(
                    "left its worktree on branch `{other}`: the work must be committed on `{expected_branch}`"
                ));
            }
            None => {
                return Some(format!(
                    "left its worktree on a detached HEAD: the work must be committed on `{expected_branch}`"
                ));
            }
        }
        if phase == Phase::Implementation && !self.uncommitted.is_empty() {
            let shown: Vec<&str> = self.uncommitted.iter().take(5).map(String::as_str).collect();
            let more = self.uncommitted.len().saturating_sub(shown.len());
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            return Some(format!(
                "left changes to tracked files uncommitted ({}{more}): the work must be committed on `{expected_branch}`",
                shown.join(", ")
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(branch: Option<&str>, uncommitted: &[&str]) -> WorktreeFacts {
        WorktreeFacts {
            present: true,
            branch: branch.map(str::to_string),
            uncommitted: uncommitted.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_work_must_be_committed_on_the_wp_branch() {
        let expected = "028-x-WP01";
        assert_eq!(facts(Some(expected), &[]).problem(Phase::Implementation, expected), None);
        let elsewhere = facts(Some("rogue"), &[]).problem(Phase::Review, expected).expect("another branch");
        assert!(elsewhere.contains("branch `rogue`") && elsewhere.contains("`028-x-WP01`"), "{elsewhere}");
        assert!(facts(None, &[]).problem(Phase::Implementation, expected).expect("detached").contains("detached"));
        let dirty = facts(Some(expected), &["a.rs", "b.rs", "c", "d", "e", "f", "g"])
            .problem(Phase::Implementation, expected)
            .expect("uncommitted");
        assert!(dirty.contains("(a.rs, b.rs, c, d, e and 2 more)"), "{dirty}");
        // A reviewer's scratch changes do not undo the implementation under review.
        assert_eq!(facts(Some(expected), &["a.rs"]).problem(Phase::Review, expected), None);
        // Gone: what was committed is on the branch; the next try gets the worktree back.
        let gone = WorktreeFacts { present: false, ..facts(Some("rogue"), &["a.rs"]) };
        assert_eq!(gone.problem(Phase::Implementation, expected), None);
    }
}
