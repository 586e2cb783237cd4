//! What every generator of parity cases shares: the case itself and a seeded random source.

use serde_json::{Value, json};

/// One input for the WASM package, and the native core's answer as JSON text: a call of one operation
/// of the package's table (`spec_kitty_wasm::ops`, by its JS name), or a script of calls on instances.
pub struct Case {
    /// The operation (`buildWpCreated`, `foldBoard`, `parseTasksMd`, ...), or the script's name.
    pub op: &'static str,
    /// The operation's arguments, as the JS side receives them; for a script, its `[op, args]` calls.
    pub args: Value,
    /// What the native core gives: the JSON of the result, or `{"error": message}`; for a script,
    /// the array of its calls' answers.
    pub expected: String,
    pub script: bool,
}

impl Case {
    pub fn new(op: &'static str, args: Value, expected: String) -> Case {
        Case { op, args, expected, script: false }
    }

    /// Calls run in order: a constructor (`new LamportClock`, `LamportClock.fromJSON`...) answers
    /// `null` and its instance is [`instance`]`(its index)` in later calls' arguments; a method is
    /// `Class.method` with the instance first. Each call answers in place (`{"error": ...}` when
    /// refused) and the script stops after a constructor that fails.
    pub fn script(name: &'static str, calls: Vec<(&str, Value)>, answers: Vec<Value>) -> Case {
        let calls: Vec<Value> = calls.into_iter().map(|(op, args)| json!([op, args])).collect();
        Case { op: name, args: Value::Array(calls), expected: Value::Array(answers).to_string(), script: true }
    }

    /// The case as the runners read it: `{op, args}` or `{script: [[op, args], ...]}`.
    pub fn input(&self) -> Value {
        if self.script { json!({ "script": self.args }) } else { json!({ "op": self.op, "args": self.args }) }
    }
}

/// In a script's arguments, the instance that call `index` made.
pub fn instance(index: usize) -> Value {
    json!({ "$instance": index })
}

/// The message as the package words it (one line, long values cut).
pub fn message(message: impl std::fmt::Display) -> String {
    spec_kitty_wasm::args::one_line(&message.to_string())
}

/// The JSON both sides write for a thrown error.
pub fn error_json(text: impl std::fmt::Display) -> String {
    error_value(text).to_string()
}

/// [`error_json`] as a value, for a script's answers.
pub fn error_value(text: impl std::fmt::Display) -> Value {
    json!({ "error": message(text) })
}

pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("native results serialise")
}

/// The result, or the error as the JS side reports it.
pub fn result_json<T: serde::Serialize, E: std::fmt::Display>(result: Result<T, E>) -> String {
    match result {
        Ok(value) => to_json(&value),
        Err(err) => error_json(err),
    }
}

/// splitmix64: small, fast, and the same sequence everywhere for a seed.
pub struct Rng(u64);

/// Integers JS numbers hold exactly are below 2^53; generated values stay well inside.
pub const SAFE: u64 = 1 << 52;

const TEXT_PIECES: &[&str] = &[
    "a",
    "b",
    "z",
    "Q",
    "0",
    "7",
    " ",
    " ",
    "-",
    "_",
    ".",
    ",",
    ":",
    "#",
    "*",
    "`",
    "\"",
    "'",
    "\\",
    "/",
    "\n",
    "\t",
    "\r\n",
    "é",
    "ß",
    "Ω",
    "ж",
    "中",
    "文",
    "🐈",
    "🚀",
    "\u{1F600}",
    "\u{7}",
    "\u{1b}",
    "\u{2028}",
    "\u{7f}",
    "{",
    "}",
    "[",
    "]",
    "WP01",
    "T001",
    "–",
    "lane",
    "null",
    "&",
    "<",
    ">",
    "%",
    "$",
];

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// In `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// 1 to `max_digits` hex digits, in either case.
    pub fn hex(&mut self, max_digits: usize) -> String {
        let len = self.range(1, max_digits as u64) as usize;
        (0..len).map(|_| *self.pick(&['0', '3', '7', '9', 'a', 'B', 'c', 'D', 'e', 'F', 'f', '1'])).collect()
    }

    /// Exactly 16 hex digits: a full random `u64` as the JS side passes it.
    pub fn hex_u64(&mut self) -> (String, u64) {
        let value = match self.below(10) {
            0 => 0,
            1 => u64::MAX,
            _ => self.next_u64(),
        };
        (format!("{value:016x}"), value)
    }

    /// Text of up to `max_pieces` pieces: ASCII, punctuation that JSON escapes, control characters,
    /// non-BMP characters.
    pub fn text(&mut self, max_pieces: u64) -> String {
        let pieces = self.range(0, max_pieces);
        (0..pieces).map(|_| *self.pick(TEXT_PIECES)).collect()
    }

    /// Non-empty text.
    pub fn nonempty_text(&mut self, max_pieces: u64) -> String {
        let text = self.text(max_pieces);
        if text.is_empty() { "x".to_string() } else { text }
    }

    /// A lowercase word `[a-z0-9-]`, like a slug part.
    pub fn word(&mut self) -> String {
        let len = self.range(1, 12) as usize;
        (0..len).map(|_| *self.pick(&['a', 'b', 'c', 'k', 'x', 'y', '0', '4', '9', '-', 'm', 's'])).collect()
    }

    pub fn wp_id(&mut self, max: u64) -> String {
        format!("WP{:02}", self.range(1, max))
    }

    /// A Unix time in milliseconds: mostly today's, sometimes the edges (0, the ULID's 48 bits, beyond).
    pub fn unix_ms(&mut self) -> u64 {
        match self.below(20) {
            0 => 0,
            1 => self.below(1000),
            2 => (1 << 48) - 1,
            3 => self.range(1 << 48, SAFE),
            4 => 253_402_300_799_999,
            _ => 1_700_000_000_000 + self.below(200_000_000_000),
        }
    }
}

/// A fixture feature folder's `tasks/` files as (`tasks/{name}`, text), sorted by name; none when the
/// folder has no `tasks/` (a real case among the fixtures).
pub fn fixture_wp_files(dir: &std::path::Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir.join("tasks")) else { return Vec::new() };
    let mut names: Vec<String> =
        entries.map(|e| e.expect("fixture entry").file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join("tasks").join(&name)).expect("fixture WP file");
            (format!("tasks/{name}"), text)
        })
        .collect()
}
