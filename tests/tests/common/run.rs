//! What one run of the binary did, and runs under a watchdog.

use std::process::Output;
use std::time::{Duration, Instant};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// A run made from the output of a command prepared by hand (other stdio, another user).
    pub fn from_process(args: &[&str], output: Output) -> Run {
        Run {
            args: args.iter().map(|a| a.to_string()).collect(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts exit code 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, Some(0), "`spec-kitty {}` failed:\n{self:#?}", self.args.join(" "));
        self
    }

    /// Asserts a non-zero exit code and returns self.
    #[track_caller]
    pub fn failed(self) -> Run {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "`spec-kitty {}` should have failed:\n{self:#?}",
            self.args.join(" ")
        );
        self
    }

    /// stdout parsed whole as exactly one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout of `spec-kitty {}` is not one JSON document ({e}):\n{self:#?}", self.args.join(" "))
        })
    }

    /// The `warning: ...` lines on stderr.
    pub fn warnings(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("warning:")).collect()
    }

    /// The `error: ...` lines on stderr.
    pub fn errors(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("error:")).collect()
    }

    /// stderr without the `[Offline]` indicator lines.
    pub fn stderr_lines_besides_offline(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| !l.starts_with("[Offline]")).collect()
    }
}

/// Waits for a spawned child, reading its piped stdout/stderr; a child still running after `limit`
/// is killed and the test fails (a bound on hanging, not a speed check).
pub fn wait_within(mut child: std::process::Child, limit: Duration, what: &str) -> Output {
    use std::io::Read;
    fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` was still running after {limit:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}

/// `command.output()` for an executable a test has just written or copied. A test thread that forks at
/// the moment of the write hands its child the file's write handle until that child execs, and exec
/// refuses a file open for writing ("text file busy"): such a run is tried again, for up to 2 s.
pub fn output_of_fresh_executable(command: &mut std::process::Command) -> Output {
    for _ in 0..100 {
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            result => return result.expect("cannot run the command"),
        }
    }
    panic!("{command:?} stayed busy (text file busy) for 2 s")
}

/// The command failed with exit code 1 and one error line that names each of `needles`.
#[track_caller]
pub fn assert_refused_naming(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, Some(1), "{run:#?}");
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "one error line: {run:#?}");
    for needle in needles {
        assert!(errors[0].contains(needle), "the error names `{needle}`: {run:#?}");
    }
}
