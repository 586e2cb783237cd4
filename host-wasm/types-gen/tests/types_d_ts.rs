//! The committed `host-wasm/src/types.d.ts` is what the Rust types generate (see the crate's docs).

use spec_kitty_wasm_types::{MARKER, with_generated_part};
use std::path::PathBuf;

fn types_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../src/types.d.ts")
}

#[test]
fn committed_declarations_are_the_generated_ones() {
    let path = types_file();
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let expected = with_generated_part(&committed).unwrap_or_else(|| panic!("{}: no line `{MARKER}`", path.display()));
    if committed == expected {
        return;
    }
    if std::env::var_os("SPEC_KITTY_BLESS_TYPES").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let line = committed
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .map_or_else(|| committed.lines().count().min(expected.lines().count()) + 1, |n| n + 1);
    panic!(
        "{}:{line}: differs from what the Rust types generate (a type changed in the core?); rewrite it with \
         SPEC_KITTY_BLESS_TYPES=1 cargo test -p spec-kitty-wasm-types, check the diff and commit it",
        path.display()
    );
}

#[test]
fn the_generated_part_replaces_only_what_follows_the_marker() {
    let hand_written = "// the binding's own\nexport interface Context { nowMs?: number }\n";
    let stale = format!("{hand_written}{MARKER}\nexport type Lane = \"gone\";\n");
    let fresh = with_generated_part(&stale).expect("the marker is there");
    assert!(fresh.starts_with(&format!("{hand_written}{MARKER}\n")), "{fresh}");
    assert!(!fresh.contains("\"gone\""), "{fresh}");
    assert!(fresh.contains("export type Lane = "), "{fresh}");
    assert_eq!(with_generated_part(hand_written), None);
}

/// `Serialize for Event` is written by hand; the envelope's declaration must name every key it writes.
#[test]
fn the_envelope_declares_every_key_the_core_writes() {
    let text = r#"{"event_id":"01JBZ8J4F3R5T0K2M8Q6W1Y9XA","event_type":"WPStatusChanged","aggregate_id":"WP01",
        "aggregate_type":"WorkPackage","payload":{"wp_id":"WP01","previous_status":"planned","new_status":"doing"},
        "node_id":"0123456789ab","lamport_clock":7,"causation_id":null,"timestamp":"2026-12-01T10:00:00.000Z",
        "team_slug":"local","project_uuid":"00000000-0000-4000-8000-000000000000","project_slug":"demo"}"#;
    let event: spec_kitty_core::Event = serde_json::from_str(text).expect("a valid envelope");
    let written = event.to_value();
    let keys: Vec<&String> = written.as_object().expect("an object").keys().collect();
    assert_eq!(keys.len(), 12, "{written}");
    let declarations = spec_kitty_core::typescript::declarations();
    let start = declarations.find("export type Envelope = ").expect("Envelope is declared");
    let envelope = &declarations[start..start + declarations[start..].find(";\n").expect("its end")];
    for key in keys {
        let declared = [format!(" {key}: "), format!(" {key}?: "), format!("\n{key}: "), format!("\"{key}\": ")]
            .iter()
            .any(|form| envelope.contains(form.as_str()));
        assert!(declared, "`{key}` is written by Serialize for Event but not declared in {envelope}");
    }
}
