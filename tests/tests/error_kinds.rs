//! Issue 11 item 3: every error type of the core knows its `ErrorLogged` error_type, and the one
//! registry (`spec_kitty_core::error_kind`) names them all, so none is silently logged as `runtime`.
//!
//! The core's sources are read from its module tree (from `core/src/lib.rs`, through each `mod`):
//! every type deriving `thiserror::Error` or implementing `std::error::Error` must be registered.

use spec_kitty_core::error_kind::{REGISTERED, error_type_in_chain, error_type_of};
use spec_kitty_core::events::ErrorType;
use spec_kitty_core::workflow::plans::PlanError;
use spec_kitty_core::workflow::{LaneError, TasksError};
use std::path::{Path, PathBuf};

fn core_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src")
}

/// The files of the core's module tree: `lib.rs` and every file a `mod name;` leads to.
fn module_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![(core_src().join("lib.rs"), core_src())];
    while let Some((file, children_dir)) = pending.pop() {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for line in text.lines() {
            let line = line.trim();
            let declared = line.strip_prefix("pub ").unwrap_or(line);
            let declared = declared.strip_prefix("pub(crate) ").unwrap_or(declared);
            let Some(name) = declared.strip_prefix("mod ").and_then(|rest| rest.strip_suffix(';')) else { continue };
            let as_file = children_dir.join(format!("{name}.rs"));
            let (child, grandchildren) = if as_file.exists() {
                (as_file, children_dir.join(name))
            } else {
                (children_dir.join(name).join("mod.rs"), children_dir.join(name))
            };
            assert!(child.exists(), "{} declares mod {name}, found at neither place", file.display());
            pending.push((child, grandchildren));
        }
        files.push(file);
    }
    files
}

/// The error types a source file defines: `#[derive(.. thiserror::Error ..)]` on a `pub enum|struct`,
/// and `impl std::error::Error for X`.
fn error_types(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut derives_error = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("#[derive(") && line.contains("thiserror::Error") {
            derives_error = true;
            continue;
        }
        if derives_error && !line.starts_with("#[") && !line.starts_with("///") {
            let rest = line.trim_start_matches("pub ").trim_start_matches("pub(crate) ");
            let name = rest.strip_prefix("enum ").or_else(|| rest.strip_prefix("struct "));
            if let Some(name) = name {
                found.push(name.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap().to_string());
            }
            derives_error = false;
        }
        if let Some(rest) =
            line.strip_prefix("impl std::error::Error for ").or_else(|| line.strip_prefix("impl Error for "))
        {
            found.push(rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap().to_string());
        }
    }
    found
}

#[test]
fn every_error_type_of_the_core_is_registered_with_its_kind() {
    let registered: Vec<String> =
        REGISTERED.iter().map(|path| path.replace(' ', "").rsplit("::").next().unwrap().to_string()).collect();
    let files = module_files();
    assert!(files.len() > 20, "the module tree was read: {files:?}");
    let mut missing = Vec::new();
    let mut seen = 0;
    for file in files {
        for name in error_types(&std::fs::read_to_string(&file).unwrap()) {
            seen += 1;
            if !registered.contains(&name) {
                missing.push(format!("{name} ({})", file.display()));
            }
        }
    }
    assert!(seen >= 15, "the scan finds the core's error types ({seen})");
    assert!(
        missing.is_empty(),
        "core error types without a place in spec_kitty_core::error_kind's core_errors! list (implement ErrorKind and add them): {missing:?}"
    );
}

#[test]
fn the_scan_finds_derived_and_hand_written_error_types() {
    let text = "#[derive(Debug, thiserror::Error)]\n/// doc\n#[error(\"x\")]\npub struct SomeError {\n}\nimpl std::error::Error for Other {}\n";
    assert_eq!(error_types(text), ["SomeError", "Other"]);
}

#[test]
fn kinds_are_found_along_a_chain_of_causes() {
    let illegal = LaneError::IllegalMove { from: spec_kitty_core::Lane::Done, to: spec_kitty_core::Lane::Planned };
    assert_eq!(error_type_of(&illegal), Some(ErrorType::Validation));
    let plan = PlanError::IllegalMove { wp: "WP01".parse().unwrap(), error: illegal };
    assert_eq!(error_type_of(&plan), Some(ErrorType::Validation));
    let runtime = PlanError::NoWpFile { wp: "WP01".parse().unwrap(), dir: "kitty-specs/x".into() };
    assert_eq!(error_type_of(&runtime), Some(ErrorType::Runtime));
    assert_eq!(error_type_of(&std::io::Error::other("disk")), None, "not the core's");

    // Under a host's own wrapper, the core error is its source.
    #[derive(Debug)]
    struct Context(TasksError);
    impl std::fmt::Display for Context {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("reading tasks.md")
        }
    }
    impl std::error::Error for Context {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let wrapped = Context(TasksError::UnknownSubtask { file: "tasks.md".into(), subtask: "T999".into() });
    assert_eq!(error_type_of(&wrapped), None);
    assert_eq!(error_type_in_chain(&wrapped), Some(ErrorType::Validation));
}
