//! Differential property test of the tasks.md compatibility rule
//! (`spec_kitty_core::workflow::tasks_md::dependency_rule`): generated tasks.md texts in the shapes
//! real folders have (heading depths, prose and ranges on dependency lines, bold and heading forms,
//! missing sections, CRLF, unicode, odd whitespace) are read by the core and by a small reference
//! implementation of upstream's rule written here, independently, from its description:
//!
//! 1. Sections split at `##`, one or more whitespace characters, `Work Package `, `WP` and two
//!    digits, anywhere in the text; a section runs to the next split. A WP split twice keeps its
//!    last section.
//! 2. In a section, every `Depends on` / `Depend on` (any case, whitespace between the words)
//!    followed by a comma-separated list of ids: the upper-case `WPdd` of that list.
//! 3. The first `Dependencies:` (exact case) in the section: every upper-case `WPdd` on the rest of
//!    its line, after any whitespace (line breaks included).
//! 4. Sorted, without duplicates. Refused: a self-dependency, an undefined WP, a cycle.
//!
//! Whitespace is Python's (`str.isspace`), and `ſ` matches `s` case-insensitively, as upstream's
//! Python regular expressions do. The reference works on characters, the core on bytes.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use spec_kitty_core::workflow::tasks_md::read_dependencies;

fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `WPdd` (upper case unless `any_case`) at `i`, as its upper-case id.
fn id_at(chars: &[char], i: usize, any_case: bool) -> Option<String> {
    let w = *chars.get(i)?;
    let p = *chars.get(i + 1)?;
    let (d1, d2) = (*chars.get(i + 2)?, *chars.get(i + 3)?);
    let letters =
        if any_case { w.eq_ignore_ascii_case(&'W') && p.eq_ignore_ascii_case(&'P') } else { w == 'W' && p == 'P' };
    (letters && d1.is_ascii_digit() && d2.is_ascii_digit()).then(|| format!("WP{d1}{d2}"))
}

fn upper_ids(chars: &[char]) -> Vec<String> {
    let mut ids = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match id_at(chars, i, false) {
            Some(id) => {
                ids.push(id);
                i += 4;
            }
            None => i += 1,
        }
    }
    ids
}

fn skip_space(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| is_space(*c)) {
        i += 1;
    }
    i
}

fn literal(chars: &[char], i: usize, text: &str) -> Option<usize> {
    let wanted: Vec<char> = text.chars().collect();
    (chars.get(i..i + wanted.len())? == wanted.as_slice()).then_some(i + wanted.len())
}

/// Case-folded as Python's IGNORECASE does for these letters.
fn fold(c: char) -> char {
    if c == 'ſ' { 's' } else { c.to_ascii_lowercase() }
}

fn folded_literal(chars: &[char], i: usize, text: &str) -> Option<usize> {
    let mut at = i;
    for wanted in text.chars() {
        if fold(*chars.get(at)?) != wanted {
            return None;
        }
        at += 1;
    }
    Some(at)
}

fn reference_section(chars: &[char]) -> Vec<String> {
    let mut ids = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let matched = (|| {
            let mut at = folded_literal(chars, i, "depend")?;
            if chars.get(at).is_some_and(|c| fold(*c) == 's') {
                at += 1;
            }
            let after = skip_space(chars, at);
            if after == at {
                return None;
            }
            at = folded_literal(chars, after, "on")?;
            let after = skip_space(chars, at);
            if after == at {
                return None;
            }
            id_at(chars, after, true)?;
            let start = after;
            at = after + 4;
            loop {
                let comma = skip_space(chars, at);
                if chars.get(comma) != Some(&',') {
                    break;
                }
                let next = skip_space(chars, comma + 1);
                if id_at(chars, next, true).is_none() {
                    break;
                }
                at = next + 4;
            }
            Some((start, at))
        })();
        match matched {
            Some((start, end)) => {
                ids.extend(upper_ids(&chars[start..end]));
                i = end;
            }
            None => i += 1,
        }
    }
    let keyword: Vec<char> = "Dependencies:".chars().collect();
    if let Some(found) = chars.windows(keyword.len()).position(|w| w == keyword.as_slice()) {
        let start = skip_space(chars, found + keyword.len());
        let end = chars[start..].iter().position(|c| *c == '\n').map_or(chars.len(), |n| start + n);
        ids.extend(upper_ids(&chars[start..end]));
    }
    ids.sort();
    ids.dedup();
    ids
}

/// Each defined WP (first-appearance order) with its last section's dependencies.
fn reference(text: &str) -> Vec<(String, Vec<String>)> {
    let chars: Vec<char> = text.chars().collect();
    let mut splits: Vec<(usize, usize, String)> = Vec::new(); // (start, body start, id)
    let mut i = 0;
    while i + 1 < chars.len() {
        let split = (|| {
            let at = literal(&chars, i, "##")?;
            let after = skip_space(&chars, at);
            if after == at {
                return None;
            }
            let at = literal(&chars, after, "Work Package ")?;
            let id = id_at(&chars, at, false)?;
            Some((i, at + 4, id))
        })();
        match split {
            Some(found) => {
                i = found.1;
                splits.push(found);
            }
            None => i += 1,
        }
    }
    let mut order: Vec<String> = Vec::new();
    let mut dependencies: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, (_, body, id)) in splits.iter().enumerate() {
        let end = splits.get(n + 1).map_or(chars.len(), |next| next.0);
        if !order.contains(id) {
            order.push(id.clone());
        }
        dependencies.insert(id.clone(), reference_section(&chars[*body..end]));
    }
    order.into_iter().map(|id| (id.clone(), dependencies[&id].clone())).collect()
}

/// Whether upstream refuses: a self-dependency, an undefined WP, or a cycle.
fn reference_refuses(graph: &[(String, Vec<String>)]) -> bool {
    let map: BTreeMap<&str, &Vec<String>> = graph.iter().map(|(id, deps)| (id.as_str(), deps)).collect();
    if graph.iter().any(|(id, deps)| deps.iter().any(|d| d == id || !map.contains_key(d.as_str()))) {
        return true;
    }
    // Repeatedly remove WPs whose dependencies are all removed; a cycle leaves some behind.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    loop {
        let ready: Vec<&str> = map
            .iter()
            .filter(|(id, deps)| !done.contains(**id) && deps.iter().all(|d| done.contains(d.as_str())))
            .map(|(id, _)| *id)
            .collect();
        if ready.is_empty() {
            return done.len() != map.len();
        }
        done.extend(ready);
    }
}

fn id() -> impl Strategy<Value = String> {
    (1u8..=9).prop_map(|n| format!("WP{n:02}"))
}

fn any_case_id() -> impl Strategy<Value = String> {
    prop_oneof![4 => id(), 1 => id().prop_map(|id| id.to_lowercase()), 1 => id().prop_map(|id| format!("Wp{}", &id[2..]))]
}

fn list() -> impl Strategy<Value = String> {
    (prop::collection::vec(any_case_id(), 1..4), prop::sample::select(vec![", ", ",", " , ", ",\n", ", and "]))
        .prop_map(|(ids, sep)| ids.join(sep))
}

fn space() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![" ", " ", "  ", "\t", "\u{a0}", "\u{1c}", "\u{3000}", "\n"])
}

fn prose() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "Plain prose – ünïcode ✓ 日本語",
        "See WP03 and WP04 for context.",
        "- [ ] T001 [P] Build it (needs WP02)",
        "- [x] T002 Done already",
        "**Prompt**: `tasks/WP09-x.md`",
        "```text\n## Work Package WP08: in a fence\n```",
        "| WP01 | WP02 |",
        "",
        "#hashtag ## not a heading",
        "Dependencies",
        "dependencies: WP05",
    ])
    .prop_map(str::to_string)
}

fn dependency_line() -> impl Strategy<Value = String> {
    prop_oneof![
        (list(), space(), space()).prop_map(|(l, a, b)| format!("- Depends{a}on{b}{l}")),
        (list(), id())
            .prop_map(|(l, extra)| format!("Depends on {l} (validator), and benefits from updates in {extra}")),
        (list(), prop::sample::select(vec!["depend ON", "DEPENDS on", "Dependſ on", "Depends upon", "Dependss on"]))
            .prop_map(|(l, lead)| format!("{lead} {l}")),
        (id(), id()).prop_map(|(a, b)| format!("- Depends on outputs of {a}–{b} to build it")),
        list().prop_map(|l| format!("**Dependencies**: {l}")),
        list().prop_map(|l| format!("Dependencies: {l}")),
        (list(), space()).prop_map(|(l, s)| format!("Dependencies:{s}\n\n  {l}")),
        list().prop_map(|l| format!("### Dependencies\n- {l}")),
        (id(), id()).prop_map(|(a, b)| format!("This also depends on {a}; Dependencies:{b}X")),
        Just("Dependencies:   ".to_string()),
        Just("- None (foundation package)".to_string()),
    ]
}

fn heading(id: String) -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "## Work Package {}: Title (Priority: P1)",
        "### Work Package {}",
        "#### Work Package {}: Release – ✓",
        "##\tWork Package {}",
        "##\u{a0}Work Package {} trailing",
        "#### {}: Foundation Layer [Priority: P1]",
        "## {} - Short",
        "## Work  Package {}",
        "## work package {}",
        "see ## Work Package {} mid-line",
        "## Work Package Summary",
    ])
    .prop_map(move |form| form.replace("{}", &id))
}

fn section() -> impl Strategy<Value = Vec<String>> {
    (id().prop_flat_map(heading), prop::collection::vec(prop_oneof![2 => dependency_line(), 1 => prose()], 0..5))
        .prop_map(|(heading, body)| std::iter::once(heading).chain(body).collect())
}

fn tasks_md() -> impl Strategy<Value = String> {
    (prop::collection::vec(prose(), 0..3), prop::collection::vec(section(), 0..7), any::<bool>(), any::<bool>())
        .prop_map(|(intro, sections, crlf, trailing_newline)| {
            let lines: Vec<String> = intro.into_iter().chain(sections.into_iter().flatten()).collect();
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = lines.join("\n").replace('\n', eol);
            if trailing_newline {
                text.push_str(eol);
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_core_reads_tasks_md_as_the_reference_rule_does(text in tasks_md()) {
        let reading = read_dependencies(&text);
        let core: Vec<(String, Vec<String>)> = reading
            .work_packages()
            .into_iter()
            .map(|(wp, deps)| (wp.to_string(), deps.iter().map(ToString::to_string).collect()))
            .collect();
        let expected = reference(&text);
        prop_assert_eq!(&core, &expected, "text:\n{}", text);
        prop_assert_eq!(reading.check("tasks.md").is_err(), reference_refuses(&expected), "text:\n{}", text);
    }
}

#[test]
fn the_reference_itself_gives_the_issue_examples() {
    let text = "## Work Package WP01\n## Work Package WP02\n## Work Package WP03\n\
                - Depends on WP01 (validator), and benefits from metadata updates in WP02\n\
                ## Work Package WP04\n- Depends on outputs of WP01–WP03 to build it\n\
                #### Work Package WP05\nDependencies:\n\n WP03, WP04\n**Dependencies**: WP02\n";
    let expected: Vec<(String, Vec<String>)> =
        [("WP01", vec![]), ("WP02", vec![]), ("WP03", vec!["WP01"]), ("WP04", vec![]), ("WP05", vec!["WP03", "WP04"])]
            .into_iter()
            .map(|(id, deps)| (id.to_string(), deps.into_iter().map(str::to_string).collect()))
            .collect();
    assert_eq!(reference(text), expected);
    assert!(!reference_refuses(&expected));
    assert!(reference_refuses(&[("WP01".into(), vec!["WP01".into()])]));
    assert!(reference_refuses(&[("WP01".into(), vec!["WP02".into()]), ("WP02".into(), vec!["WP01".into()])]));
}
