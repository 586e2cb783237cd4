//! Ticking and unticking subtasks in tasks.md, changing nothing but the checkbox characters.

use serde::Serialize;

use super::{TasksError, parse_subtask_line, parse_tasks_md};
use crate::ids::WpId;
use crate::workflow::markdown;

/// What happened to one requested subtask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SubtaskChange {
    pub subtask: String,
    pub wp: WpId,
    /// Its state before; equal to the requested state when nothing had to change.
    pub was_done: bool,
}

/// Sets the checkboxes of `subtask_ids` to `done` (`[x]`) or not done (`[ ]`) and returns the new
/// text with one change per distinct requested id, in request order. Every other byte, including
/// the case of an already-ticked `[X]`, is left as it was. An id no WP section lists is an error,
/// and then nothing is changed.
pub fn set_subtask_done(
    source_label: &str,
    text: &str,
    subtask_ids: &[&str],
    done: bool,
) -> Result<(String, Vec<SubtaskChange>), TasksError> {
    let plan = parse_tasks_md(source_label, text)?;
    let mut changes: Vec<SubtaskChange> = Vec::new();
    let mut lines_to_flip = Vec::new();
    for &requested in subtask_ids {
        if changes.iter().any(|change| change.subtask == requested) {
            continue;
        }
        let (wp, subtask) = plan.subtask(requested).ok_or_else(|| TasksError::UnknownSubtask {
            file: source_label.to_string(),
            subtask: requested.to_string(),
        })?;
        // tasks.md may list an id twice (reading it is lenient); which one to tick is then unclear.
        let listed_again = plan.work_packages.iter().flat_map(|wp| &wp.subtasks).filter(|s| s.id == requested).nth(1);
        if let Some(again) = listed_again {
            return Err(TasksError::DuplicateSubtask {
                file: source_label.to_string(),
                line: again.line,
                subtask: requested.to_string(),
                first_line: subtask.line,
            });
        }
        if subtask.done != done {
            lines_to_flip.push(subtask.line);
        }
        changes.push(SubtaskChange { subtask: subtask.id.clone(), wp: wp.id.clone(), was_done: subtask.done });
    }

    let mut updated = text.to_string();
    let mark = if done { "x" } else { " " };
    for line in markdown::lines(text).filter(|line| lines_to_flip.contains(&line.number)) {
        // The parser found a subtask on this line, so the checkbox is there; the guard keeps this
        // total instead of trusting that.
        if let Some(subtask) = parse_subtask_line(line.content) {
            let at = line.start + subtask.checkbox_offset;
            updated.replace_range(at..at + 1, mark);
        }
    }
    Ok((updated, changes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PLAN: &str = "# Plan\r\n\r\n## Work Package WP01: One\r\n- [ ] T001 first\r\n  * [X] T002 [P] second\r\n\r\n## Work Package WP02: Two\r\n- [x] T003 third\r\n";

    #[test]
    fn only_checkbox_characters_change() {
        let (ticked, changes) =
            set_subtask_done("tasks.md", PLAN, &["T001", "T003", "T001"], true).expect("known subtasks");
        assert_eq!(ticked, PLAN.replace("- [ ] T001", "- [x] T001"));
        let wp01: WpId = "WP01".parse().expect("valid id");
        let wp02: WpId = "WP02".parse().expect("valid id");
        assert_eq!(
            changes,
            vec![
                SubtaskChange { subtask: "T001".into(), wp: wp01, was_done: false },
                SubtaskChange { subtask: "T003".into(), wp: wp02, was_done: true },
            ]
        );

        let (unticked, _) = set_subtask_done("tasks.md", PLAN, &["T002"], false).expect("known subtask");
        assert_eq!(unticked, PLAN.replace("[X] T002", "[ ] T002"));
    }

    #[test]
    fn an_unknown_subtask_is_an_error_naming_it() {
        let err = set_subtask_done("kitty-specs/028/tasks.md", PLAN, &["T001", "T999"], true)
            .expect_err("T999 is not listed");
        assert_eq!(err.to_string(), "kitty-specs/028/tasks.md: unknown subtask T999: no work package lists it");
    }

    #[test]
    fn a_subtask_listed_twice_is_refused_naming_both_lines() {
        let twice = "## Work Package WP01: A\n- [ ] T001 a\n## Work Package WP02: B\n- [x] T001 b\n- [ ] T002 c\n";
        let err = set_subtask_done("tasks.md", twice, &["T001"], true).expect_err("ambiguous");
        assert_eq!(err.to_string(), "tasks.md:4: subtask T001 is listed twice (first on line 2): tick it by hand");
        let (ticked, _) = set_subtask_done("tasks.md", twice, &["T002"], true).expect("T002 is listed once");
        assert!(ticked.ends_with("- [x] T002 c\n"));
    }

    fn plan_text(states: &[bool]) -> String {
        let mut text = String::from("# Generated\n\nIntro ✓ – text\n");
        for (index, done) in states.iter().enumerate() {
            if index % 3 == 0 {
                text.push_str(&format!("\n## Work Package WP{:02}: Part {index}\n\n", index / 3 + 1));
            }
            let mark = if *done { 'x' } else { ' ' };
            text.push_str(&format!("- [{mark}] T{:03} [P] do thing {index} – ünïcode\n", index + 1));
        }
        text
    }

    proptest! {
        #[test]
        fn ticking_then_unticking_unticked_subtasks_restores_the_text(
            states in prop::collection::vec(any::<bool>(), 1..20),
            picks in prop::collection::vec(any::<prop::sample::Index>(), 1..6),
        ) {
            let text = plan_text(&states);
            let unticked: Vec<String> = states.iter().enumerate()
                .filter(|(_, done)| !**done)
                .map(|(index, _)| format!("T{:03}", index + 1))
                .collect();
            prop_assume!(!unticked.is_empty());
            let chosen: Vec<&str> = picks.iter().map(|pick| pick.get(&unticked).as_str()).collect();

            let (ticked, _) = set_subtask_done("t.md", &text, &chosen, true).expect("known ids");
            let plan = parse_tasks_md("t.md", &ticked).expect("still parses");
            for id in &chosen {
                prop_assert!(plan.subtask(id).is_some_and(|(_, subtask)| subtask.done));
            }
            let (restored, _) = set_subtask_done("t.md", &ticked, &chosen, false).expect("known ids");
            prop_assert_eq!(restored, text);
        }

        #[test]
        fn setting_the_current_state_changes_nothing(states in prop::collection::vec(any::<bool>(), 1..20)) {
            let text = plan_text(&states);
            let done: Vec<String> = states.iter().enumerate()
                .filter(|(_, done)| **done)
                .map(|(index, _)| format!("T{:03}", index + 1))
                .collect();
            let ids: Vec<&str> = done.iter().map(String::as_str).collect();
            let (same, changes) = set_subtask_done("t.md", &text, &ids, true).expect("known ids");
            prop_assert_eq!(same, text);
            prop_assert!(changes.iter().all(|change| change.was_done));
        }
    }
}
