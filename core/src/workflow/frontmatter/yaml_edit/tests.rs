use super::*;
use proptest::prelude::*;

const YAML: &str = "\
work_package_id: WP02
title: Workflow Command Integration
lane: \"doing\"   # moved by codex
dependencies: [WP01]
subtasks:
- T008

- T009
# between entries
phase: 'Phase 2'
history:
  - timestamp: '2026-02-03T18:58:09Z'
    lane: planned
";

#[test]
fn entries_cover_their_continuation_lines() {
    let entries = key_entries(YAML);
    let keys: Vec<&str> = entries.iter().map(|entry| entry.key.as_str()).collect();
    assert_eq!(keys, ["work_package_id", "title", "lane", "dependencies", "subtasks", "phase", "history"]);
    let subtasks = &entries[4];
    assert_eq!(&YAML[subtasks.start..subtasks.end], "subtasks:\n- T008\n\n- T009\n");
    assert_eq!(subtasks.line_index, 4);
    let history = &entries[6];
    assert_eq!(&YAML[history.start..history.end], &YAML[YAML.find("history:").unwrap_or(0)..]);
}

#[test]
fn a_scalar_keeps_its_quoting_and_comment() {
    let edited = with_scalar(YAML, "lane", "for_review", "\n");
    assert_eq!(edited, YAML.replace("lane: \"doing\"   # moved", "lane: \"for_review\"   # moved"));
    let edited = with_scalar(YAML, "phase", "It's phase 3", "\n");
    assert_eq!(edited, YAML.replace("phase: 'Phase 2'", "phase: 'It''s phase 3'"));
    let edited = with_scalar(YAML, "title", "Plain: no more", "\n");
    assert_eq!(edited, YAML.replace("title: Workflow Command Integration", "title: \"Plain: no more\""));
    let edited = with_scalar(YAML, "work_package_id", "WP03", "\n");
    assert_eq!(edited, YAML.replace("WP02", "WP03"));
}

#[test]
fn a_list_replaces_every_line_of_the_entry() {
    let edited = with_list(YAML, "subtasks", &["T008", "T009", "T010"], "\n");
    let expected =
        YAML.replace("subtasks:\n- T008\n\n- T009\n", "subtasks:\n  - \"T008\"\n  - \"T009\"\n  - \"T010\"\n");
    assert_eq!(edited, expected);
    let emptied = with_list(YAML, "dependencies", &[] as &[&str], "\n");
    assert_eq!(emptied, YAML.replace("dependencies: [WP01]", "dependencies: []"));
    let commented = with_list("deps: [a] # keep\nnext: 1\n", "deps", &["b"], "\n");
    assert_eq!(commented, "deps: # keep\n  - \"b\"\nnext: 1\n");
}

#[test]
fn missing_keys_go_to_their_contract_position() {
    let yaml = "work_package_id: WP01\nlane: planned\nagent: codex\ncustom: x\n";
    assert_eq!(
        with_scalar(yaml, "title", "T", "\n"),
        "work_package_id: WP01\ntitle: \"T\"\nlane: planned\nagent: codex\ncustom: x\n"
    );
    assert_eq!(
        with_scalar(yaml, "shell_pid", "42", "\n"),
        "work_package_id: WP01\nlane: planned\nagent: codex\nshell_pid: \"42\"\ncustom: x\n"
    );
    assert_eq!(
        with_list("title: T\n", "dependencies", &["WP01"], "\r\n"),
        "title: T\ndependencies:\r\n  - \"WP01\"\r\n"
    );
    assert_eq!(with_scalar("custom: x\n", "other key", "v", "\n"), "custom: x\nother key: \"v\"\n");
    assert_eq!(with_scalar("", "lane", "done", "\n"), "lane: \"done\"\n");
    assert_eq!(
        with_scalar("agent: a\nz: 1\n", "work_package_id", "WP01", "\n"),
        "work_package_id: \"WP01\"\nagent: a\nz: 1\n"
    );
}

#[test]
fn comments_after_an_empty_value_keep_their_space() {
    assert_eq!(with_scalar("agent: # who\n", "agent", "codex", "\n"), "agent: \"codex\" # who\n");
    assert_eq!(with_scalar("agent:\n", "agent", "codex", "\n"), "agent: \"codex\"\n");
}

#[test]
fn inline_comments_respect_quotes() {
    assert_eq!(split_inline_comment("\"a # b\" # c"), ("\"a # b\"", " # c"));
    assert_eq!(split_inline_comment("it's #1"), ("it's", " #1"));
    assert_eq!(split_inline_comment("a#b"), ("a#b", ""));
    assert_eq!(split_inline_comment("'x''y' #z"), ("'x''y'", " #z"));
    assert_eq!(split_inline_comment("\"esc \\\" # still\""), ("\"esc \\\" # still\"", ""));
}

#[test]
fn plain_style_falls_back_when_the_value_would_change_type() {
    for risky in ["123", "true", "null", "~", "", " padded", "a: b", "a #b", "- x", "[x]", "2026-01-01", "0x1F"] {
        let formatted = format_scalar(risky, QuoteStyle::Plain);
        let parsed: Value = serde_yaml::from_str(&format!("k: {formatted}")).expect("valid YAML");
        assert_eq!(parsed.get("k"), Some(&Value::String(risky.to_string())), "{risky:?} as {formatted}");
    }
    assert_eq!(format_scalar("codex", QuoteStyle::Plain), "codex");
}

fn style() -> impl Strategy<Value = QuoteStyle> {
    prop_oneof![Just(QuoteStyle::Plain), Just(QuoteStyle::Single), Just(QuoteStyle::Double)]
}

proptest! {
    #[test]
    fn every_formatted_scalar_reads_back_as_the_same_string(value in any::<String>(), style in style()) {
        let formatted = format_scalar(&value, style);
        let parsed: Value = serde_yaml::from_str(&format!("k: {formatted}\n")).expect("valid YAML");
        prop_assert_eq!(parsed.get("k"), Some(&Value::String(value)));
    }

    #[test]
    fn setting_a_key_leaves_every_other_entry_byte_identical(
        key in prop::sample::select(vec!["title", "lane", "dependencies", "subtasks", "phase", "history"]),
        value in "[ -~]{0,30}",
    ) {
        let edited = with_scalar(YAML, key, &value, "\n");
        let before: Vec<String> = key_entries(YAML).iter().filter(|e| e.key != key).map(|e| YAML[e.start..e.end].to_string()).collect();
        let after: Vec<String> = key_entries(&edited).iter().filter(|e| e.key != key).map(|e| edited[e.start..e.end].to_string()).collect();
        prop_assert_eq!(before, after);
        let parsed: Value = serde_yaml::from_str(&edited).expect("edit keeps YAML valid");
        prop_assert_eq!(parsed.get(key), Some(&Value::String(value)));
    }
}
