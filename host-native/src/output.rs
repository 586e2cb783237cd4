//! Writing to the terminal without ever failing the command.
//!
//! `println!` panics when stdout is a closed pipe (`spec-kitty sync queue | head -1`) or a full
//! device, and with `panic = "abort"` that is exit 134 after the action already happened: a caller
//! would retry and do the work twice. Here a write that cannot be made is dropped; the exit code
//! stays the action's own.

use std::fmt::Arguments;
use std::io::Write;

pub fn stdout_line(args: Arguments) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_fmt(args).and_then(|_| out.write_all(b"\n")).and_then(|_| out.flush());
}

pub fn stdout_text(args: Arguments) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_fmt(args).and_then(|_| out.flush());
}

pub fn stderr_line(args: Arguments) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|_| err.write_all(b"\n"));
}

/// `println!` that never panics.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::stdout_line(format_args!($($arg)*)) };
}

/// `print!` that never panics.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::stdout_text(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::stderr_line(format_args!($($arg)*)) };
}
