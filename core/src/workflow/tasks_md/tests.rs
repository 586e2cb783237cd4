use super::*;

fn wp(id: &str) -> WpId {
    id.parse().expect("valid WP id in test")
}

const SAMPLE: &str = "\
# Work Packages: Sample

**Prompt Files**: see `/tasks/WP09-not-a-dependency.md`.

## Work Package WP01: Foundation (Priority: P0)

**Prompt**: `/tasks/WP01-foundation.md`

### Included Subtasks
- [x] T001 Create the package
- [ ] T002 [P] Write the config loader

### Dependencies
- None (foundation package)

## Work Package WP02: Invokers

**Dependencies**: WP01
- [X] T003 [P]   Build commands  

### Dependencies
- Depends on WP01 (needs config)
- WP03 (shared types)

```text
## Work Package WP99: inside a code block
- [ ] T999 not a subtask
```

## Work Package WP03: Scheduler (priority: P2)
Depends on WP02, WP01 (order kept)

## Dependency & Execution Summary

Depends on WP03
- [ ] T100 a checklist item outside any WP
";

#[test]
fn sections_subtasks_and_dependencies() {
    let plan = parse_tasks_md("tasks.md", SAMPLE).expect("sample parses");
    assert_eq!(plan.title.as_deref(), Some("Work Packages: Sample"));
    let ids: Vec<&str> = plan.work_packages.iter().map(|wp| wp.id.as_str()).collect();
    // Upstream's split does not know code blocks: the fenced WP99 is a (structure-less) WP too.
    assert_eq!(ids, ["WP01", "WP02", "WP03", "WP99"]);
    assert!(plan.work_packages[3].title.is_empty() && plan.work_packages[3].subtasks.is_empty());

    let first = &plan.work_packages[0];
    assert_eq!(first.title, "Foundation");
    assert_eq!(first.priority.as_deref(), Some("P0"));
    assert_eq!(first.line, 5);
    assert!(first.dependencies.is_empty());
    assert_eq!(
        first.subtasks,
        vec![
            Subtask {
                id: "T001".into(),
                done: true,
                parallel: false,
                description: "Create the package".into(),
                line: 10
            },
            Subtask {
                id: "T002".into(),
                done: false,
                parallel: true,
                description: "Write the config loader".into(),
                line: 11
            },
        ]
    );

    let second = &plan.work_packages[1];
    assert_eq!((second.title.as_str(), second.priority.as_deref()), ("Invokers", None));
    // The compatibility rule: `**Dependencies**:` and a `### Dependencies` list are not read; the
    // `Depends on WP01` phrase is. (WP03 is in parentheses-free prose of that list: not read.)
    assert_eq!(second.dependencies, vec![wp("WP01")]);
    assert_eq!(second.subtasks.len(), 1, "the fenced T999 is not a subtask");
    assert!(second.subtasks[0].done && second.subtasks[0].parallel);
    assert_eq!(second.subtasks[0].description, "Build commands");

    let third = &plan.work_packages[2];
    assert_eq!(third.priority.as_deref(), Some("P2"));
    // Sorted, and the rule's section runs to the end of the file: the summary's
    // `Depends on WP03` is WP03's own, a self-dependency that `check` refuses.
    assert_eq!(third.dependencies, vec![wp("WP01"), wp("WP02"), wp("WP03")]);
    assert!(third.subtasks.is_empty(), "the summary section is not part of WP03's structure");

    assert_eq!(plan.owner_of_subtask("T003"), Some(&wp("WP02")));
    assert_eq!(plan.owner_of_subtask("T100"), None);
}

#[test]
fn heading_forms() {
    let parse = |heading: &str| parse_wp_heading(heading);
    assert_eq!(
        parse("Work Package WP02: Title – with dash (Priority: P1)"),
        Some((wp("WP02"), "Title – with dash".to_string(), Some("P1".to_string())))
    );
    assert_eq!(parse("WP04 - Short form"), Some((wp("WP04"), "Short form".to_string(), None)));
    assert_eq!(
        parse("WP01: Foundation Layer [Priority: P1]"),
        Some((wp("WP01"), "Foundation Layer".to_string(), Some("P1".to_string())))
    );
    assert_eq!(parse("Work Package WP05"), Some((wp("WP05"), String::new(), None)));
    assert_eq!(parse("Work Packages overview"), None);
    assert_eq!(parse("Work Package Summary"), None);
    assert_eq!(parse("WPs and more"), None);
    assert_eq!(parse("Work Package WP1: X"), None);
    assert_eq!(parse("WP123: Too long"), None);
}

#[test]
fn unknown_headings_and_other_heading_depths_are_no_errors() {
    let text = "# Plan\n\n## Work Package Summary\n\n## Phase 1\n\n#### WP01: Foundation Layer [Priority: P1]\n\
                - [ ] T001 one\n##### Notes\n- [ ] T002 two\n#### WP02: Next\nDepends on WP01\n- [x] T003 three\n\
                ### Phase 2\n- [ ] T004 outside\n## Work Package WP1: malformed\n";
    let plan = parse_tasks_md("tasks.md", text).expect("lenient");
    let ids: Vec<&str> = plan.work_packages.iter().map(|wp| wp.id.as_str()).collect();
    assert_eq!(ids, ["WP01", "WP02"]);
    assert_eq!(plan.work_packages[0].title, "Foundation Layer");
    assert_eq!(plan.work_packages[0].subtasks.len(), 2, "a deeper heading stays inside the section");
    assert_eq!(plan.work_packages[1].subtasks.len(), 1, "a higher heading closes it");
    // No `## Work Package WPxx` split: the rule reads no dependencies, whatever the prose says.
    assert!(plan.work_packages.iter().all(|wp| wp.dependencies.is_empty()));
}

#[test]
fn a_repeated_heading_continues_the_first_section() {
    let twice =
        "## Work Package WP01: A\n- [ ] T001 a\n## Work Package WP02: B\n## Work Package WP01: again\n- [ ] T002 b\n";
    let plan = parse_tasks_md("tasks.md", twice).expect("parses");
    assert_eq!(plan.work_packages.len(), 2);
    assert_eq!(plan.work_packages[0].title, "A");
    assert_eq!(plan.work_packages[0].subtasks.len(), 2);
}

#[test]
fn checklist_items_without_an_id_are_not_subtasks() {
    assert!(parse_subtask_line("- [ ] Review the docs").is_none());
    assert!(parse_subtask_line("- [ ]T001 glued").is_none());
    assert!(parse_subtask_line("- [~] T001 odd box").is_none());
    let line = parse_subtask_line("  - [ ] T010").expect("subtask without description");
    assert_eq!((line.checkbox_offset, line.id, line.description), (5, "T010", ""));
}

#[test]
fn empty_and_plan_without_wps() {
    assert_eq!(parse_tasks_md("tasks.md", ""), Ok(TasksPlan { title: None, work_packages: vec![] }));
    let plan = parse_tasks_md("tasks.md", "# Only a title\n- [ ] T001 loose\n").expect("parses");
    assert!(plan.work_packages.is_empty());
}
