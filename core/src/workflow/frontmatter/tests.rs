use super::*;
use proptest::prelude::*;

const WP_FILE: &str = "---
work_package_id: WP02
title: Workflow Command Integration
lane: \"doing\"
dependencies: [WP01]
subtasks:
- T008
- T009
custom_key: 'kept'   # a comment
assignee: ''
agent: \"codex\"
shell_pid: 40826
history:
- timestamp: '2026-02-03T18:58:09Z'
  lane: planned
---
# Work Package Prompt: WP02

---

## Activity Log

- 2026-02-03T18:58:09Z – system – lane=planned – Prompt created.
";

fn parse(text: &str) -> WpFile {
    WpFile::parse("tasks/WP02-workflow-commands.md", text).expect("test file parses")
}

fn wp(id: &str) -> WpId {
    id.parse().expect("valid WP id in test")
}

#[test]
fn typed_fields() {
    let file = parse(WP_FILE);
    assert_eq!(file.work_package_id(), &wp("WP02"));
    assert_eq!(file.title().as_deref(), Some("Workflow Command Integration"));
    assert_eq!(file.lane(), Lane::Doing);
    assert_eq!(file.dependencies(), [wp("WP01")]);
    assert_eq!(file.subtasks(), ["T008", "T009"]);
    assert_eq!(file.assignee(), None, "an empty string is unset");
    assert_eq!(file.agent().as_deref(), Some("codex"));
    assert_eq!(file.shell_pid().as_deref(), Some("40826"), "numbers read as text");
    assert_eq!(file.scalar("custom_key").as_deref(), Some("kept"));
    assert!(matches!(file.value("history"), Some(Value::Sequence(items)) if items.len() == 1));
    let keys: Vec<&str> = file.keys().collect();
    assert_eq!(keys[..3], ["work_package_id", "title", "lane"]);
    assert!(file.body().starts_with("# Work Package Prompt: WP02\n\n---\n"));
    assert_eq!(file.to_text(), WP_FILE);
}

#[test]
fn edits_touch_only_their_key() {
    let mut file = parse(WP_FILE);
    file.set_lane(Lane::ForReview).expect("valid lane");
    file.set_scalar("shell_pid", "63964").expect("edit");
    file.set_dependencies(&[wp("WP01"), wp("WP03")]).expect("edit");
    file.set_scalar("review_status", "approved").expect("edit");
    let expected = WP_FILE
        .replace("lane: \"doing\"", "lane: \"for_review\"")
        .replace("shell_pid: 40826", "shell_pid: \"63964\"")
        .replace("dependencies: [WP01]", "dependencies:\n  - \"WP01\"\n  - \"WP03\"")
        .replace("shell_pid: \"63964\"\n", "shell_pid: \"63964\"\nreview_status: \"approved\"\n");
    assert_eq!(file.to_text(), expected);
    assert_eq!(file.lane(), Lane::ForReview);
    assert_eq!(file.dependencies(), [wp("WP01"), wp("WP03")]);
}

#[test]
fn an_edit_that_breaks_a_field_is_refused_and_changes_nothing() {
    let mut file = parse(WP_FILE);
    let err = file.set_scalar("lane", "review").expect_err("not a lane");
    assert!(err.to_string().contains("field `lane`: unknown lane `review`"), "{err}");
    assert_eq!(file.to_text(), WP_FILE);
}

#[test]
fn activity_lines_are_appended_to_the_log() {
    let mut file = parse(WP_FILE);
    let line = activity_line("2026-02-04T10:46:03Z", "codex", Some("63964"), Lane::ForReview, "Ready");
    file.append_activity(&line);
    assert_eq!(file.to_text(), format!("{WP_FILE}{line}\n"));
}

#[test]
fn a_bad_lane_names_file_line_and_field() {
    let err = WpFile::parse("tasks/WP02.md", &WP_FILE.replace("lane: \"doing\"", "lane: \"review\""))
        .expect_err("review is not a lane");
    assert_eq!(
        err,
        FrontmatterError::InvalidField {
            file: "tasks/WP02.md".into(),
            line: 4,
            field: "lane".into(),
            problem: "unknown lane `review`: expected one of planned, doing, for_review, done".into(),
        }
    );
    assert!(err.to_string().starts_with("tasks/WP02.md:4: frontmatter field `lane`: unknown lane `review`"));
}

#[test]
fn broken_yaml_names_the_line_in_the_file() {
    // Line 5 of the file (line 4 of the YAML) has an unclosed flow list.
    let broken = WP_FILE.replace("dependencies: [WP01]", "dependencies: [WP01\nsubtasks_again: x: y");
    let err = WpFile::parse("tasks/WP02.md", &broken).expect_err("broken YAML");
    let FrontmatterError::BrokenYaml { file, line, .. } = &err else {
        panic!("expected BrokenYaml, got {err:?}");
    };
    assert_eq!((file.as_str(), *line), ("tasks/WP02.md", 6));
    assert!(err.to_string().starts_with("tasks/WP02.md:6:"), "{err}");
    assert!(!err.to_string().contains(" at line "), "no YAML-relative line numbers: {err}");

    let twice = "---\nwork_package_id: WP01\nlane: done\nlane: doing\n---\n";
    assert_eq!(
        WpFile::parse("w.md", twice).expect_err("duplicate key").to_string(),
        "w.md:4:1: broken YAML frontmatter: duplicate entry with key \"lane\""
    );

    let tab = "---\nwork_package_id: WP01\nlane:\tdone\n  bad: [\n---\n";
    let err = WpFile::parse("w.md", tab).expect_err("broken YAML");
    assert!(matches!(err, FrontmatterError::BrokenYaml { line: 4 | 5, .. }), "{err}");
}

#[test]
fn missing_or_unclosed_frontmatter() {
    assert_eq!(
        WpFile::parse("w.md", "# No frontmatter\n").expect_err("missing").to_string(),
        "w.md: no YAML frontmatter: the first line must be `---`"
    );
    assert_eq!(
        WpFile::parse("w.md", "---\nwork_package_id: WP01\n").expect_err("unclosed"),
        FrontmatterError::Unclosed { file: "w.md".into() }
    );
    assert_eq!(
        WpFile::parse("w.md", "---\n---\nbody\n").expect_err("no id"),
        FrontmatterError::MissingField { file: "w.md".into(), field: "work_package_id".into() }
    );
    assert!(matches!(WpFile::parse("w.md", "---\n- a\n---\n"), Err(FrontmatterError::NotAMapping { .. })));
}

#[test]
fn without_an_id_key_the_file_name_gives_the_id() {
    let file = WpFile::parse("kitty-specs/x/tasks/WP03-title.md", "---\nlane: doing\n---\n").expect("id from name");
    assert_eq!(file.work_package_id().as_str(), "WP03");
    for unnamed in ["tasks/WP123-x.md", "tasks/notes.md", "tasks/WP03-x.txt"] {
        assert!(
            matches!(WpFile::parse(unnamed, "---\n---\n"), Err(FrontmatterError::MissingField { .. })),
            "{unnamed}"
        );
    }
}

#[test]
fn malformed_ids_name_their_field() {
    let err = WpFile::parse("w.md", "---\nwork_package_id: WP1\n---\n").expect_err("malformed id");
    assert_eq!(
        err.to_string(),
        "w.md:2: frontmatter field `work_package_id`: malformed work package id `WP1`: expected WP followed by two digits, like WP01"
    );
    let err = WpFile::parse("w.md", "---\nwork_package_id: WP01\n\ndependencies:\n  - WP2\n---\n")
        .expect_err("bad dependency");
    assert!(
        err.to_string().starts_with("w.md:4: frontmatter field `dependencies`: malformed work package id `WP2`"),
        "{err}"
    );
}

#[test]
fn defaults_and_crlf() {
    let text = "---\r\nwork_package_id: WP01\r\n---\r\nBody\r\n";
    let mut file = WpFile::parse("w.md", text).expect("parses");
    assert_eq!(file.lane(), Lane::Planned);
    assert!(file.dependencies().is_empty());
    file.set_lane(Lane::Doing).expect("edit");
    file.append_activity("- entry");
    assert_eq!(
        file.to_text(),
        "---\r\nwork_package_id: WP01\r\nlane: \"doing\"\r\n---\r\nBody\r\n\r\n## Activity Log\r\n\r\n- entry\r\n"
    );
}

proptest! {
    #[test]
    fn rewriting_a_scalar_with_its_own_value_changes_nothing(
        key in prop::sample::select(vec!["work_package_id", "title", "lane", "custom_key", "agent"]),
    ) {
        let mut file = parse(WP_FILE);
        let current = file.scalar(key).expect("set in the sample");
        file.set_scalar(key, &current).expect("same value");
        prop_assert_eq!(file.to_text(), WP_FILE);
    }

    #[test]
    fn setting_one_key_keeps_the_body_and_other_values(value in "[ -~]{0,40}") {
        let mut file = parse(WP_FILE);
        file.set_scalar("title", &value).expect("any text is a valid title");
        let original = parse(WP_FILE);
        prop_assert_eq!(file.body(), original.body());
        prop_assert_eq!(file.scalar("title"), Some(value).filter(|v| !v.is_empty()));
        for key in original.keys().filter(|key| *key != "title") {
            prop_assert_eq!(file.value(key), original.value(key));
        }
    }
}
