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
    assert_eq!(ids, ["WP01", "WP02", "WP03"]);

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
    assert_eq!(second.dependencies, vec![wp("WP01"), wp("WP03")]);
    assert_eq!(second.subtasks.len(), 1, "the fenced T999 is not a subtask");
    assert!(second.subtasks[0].done && second.subtasks[0].parallel);
    assert_eq!(second.subtasks[0].description, "Build commands");

    let third = &plan.work_packages[2];
    assert_eq!(third.priority.as_deref(), Some("P2"));
    assert_eq!(third.dependencies, vec![wp("WP02"), wp("WP01")]);
    assert!(third.subtasks.is_empty(), "the summary section is not part of WP03");

    assert_eq!(plan.owner_of_subtask("T003"), Some(&wp("WP02")));
    assert_eq!(plan.owner_of_subtask("T100"), None);
}

#[test]
fn heading_forms() {
    let parse = |heading: &str| parse_wp_heading(heading);
    assert_eq!(
        parse("Work Package WP02: Title – with dash (Priority: P1)"),
        Ok(Some((wp("WP02"), "Title – with dash".to_string(), Some("P1".to_string()))))
    );
    assert_eq!(parse("WP04 - Short form"), Ok(Some((wp("WP04"), "Short form".to_string(), None))));
    assert_eq!(parse("Work Package WP05"), Ok(Some((wp("WP05"), String::new(), None))));
    assert_eq!(parse("Work Packages overview"), Ok(None));
    assert_eq!(parse("WPs and more"), Ok(None));
    assert_eq!(parse("Work Package 7: Seven"), Err("7".to_string()));
    assert_eq!(parse("Work Package WP1: X"), Err("WP1".to_string()));
    assert_eq!(parse("WP123: Too long"), Err("WP123".to_string()));
}

#[test]
fn a_malformed_wp_id_names_the_line() {
    let text = "# T\n\n## Work Package WP01: Fine\n\n## Work Package WP1: X\n";
    let err = parse_tasks_md("kitty-specs/029-x/tasks.md", text).expect_err("WP1 is malformed");
    assert_eq!(
        err,
        TasksError::MalformedWpHeading { file: "kitty-specs/029-x/tasks.md".into(), line: 5, found: "WP1".into() }
    );
    assert!(err.to_string().starts_with("kitty-specs/029-x/tasks.md:5: malformed work package id `WP1`"));
}

#[test]
fn a_malformed_dependency_names_the_line_and_wp() {
    let text = "## Work Package WP02: Two\nDepends on WP1\n";
    let err = parse_tasks_md("tasks.md", text).expect_err("WP1 is malformed");
    assert_eq!(
        err.to_string(),
        "tasks.md:2: malformed dependency `WP1` of WP02: expected WP followed by two digits, like WP01"
    );
}

#[test]
fn duplicates_name_both_lines() {
    let twice = "## Work Package WP01: A\n\n## Work Package WP01: B\n";
    assert_eq!(
        parse_tasks_md("tasks.md", twice).expect_err("duplicate WP").to_string(),
        "tasks.md:3: WP01 is declared twice (first on line 1)"
    );
    let subtask_twice = "## Work Package WP01: A\n- [ ] T001 a\n## Work Package WP02: B\n- [x] T001 b\n";
    assert_eq!(
        parse_tasks_md("tasks.md", subtask_twice).expect_err("duplicate subtask").to_string(),
        "tasks.md:4: subtask T001 of WP02 is listed twice (first on line 2)"
    );
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
