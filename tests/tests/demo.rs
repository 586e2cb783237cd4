//! The README's first command: `spec-kitty demo` runs the whole loop (workflow, a hub on loopback,
//! login, live and batch sync, the team's board) and says how many events reached the hub.

mod common;
mod hub_support;

use std::process::Command;

#[test]
fn the_demo_runs_the_whole_loop_through_a_hub() {
    let hub = hub_support::binary();
    let temp = tempfile::tempdir().unwrap();
    let mut command = Command::new(common::binary());
    command.arg("demo").env("SPEC_KITTY_HUB_BIN", hub).env("TMPDIR", temp.path());
    common::isolate(&mut command, temp.path());
    let output = command.output().expect("cannot run spec-kitty demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    // "demo finished: 15 events made, 15 on the team's hub, ..."
    let numbers: Vec<usize> = last.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    assert!(last.starts_with("demo finished:") && numbers.len() >= 2, "{last}");
    assert!(numbers[0] > 10, "the workflow made events: {last}");
    assert_eq!(numbers[0], numbers[1], "every event the demo made is on the hub: {last}");
    assert!(stdout.contains("The team's board, as the hub folds it"), "{stdout}");
    let board = stdout.split("as the hub folds it").nth(1).unwrap_or_default();
    assert!(
        board.lines().any(|l| l.starts_with("WP01") && l.contains("done")),
        "WP01 done on the hub's board:\n{board}"
    );
    assert!(!stdout.contains("--password-stdin\n") || stdout.contains("echo ********"), "the password is masked");
    // The demo cleans up after itself: nothing left in its temp folder.
    let left: Vec<_> = std::fs::read_dir(temp.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().starts_with("spec-kitty-demo-")), "left behind: {left:?}");
}
