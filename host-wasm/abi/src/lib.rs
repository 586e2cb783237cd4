//! `spec_kitty_wasm_abi.wasm`: spec-kitty's core as a plain WebAssembly module, for runtimes that have
//! no JS (wasmtime, wasmer, WAMR...). wasm-bindgen's output cannot be loaded there: it imports its JS
//! glue. This module imports nothing and exports a C ABI over linear memory, JSON text in and out:
//!
//! - `alloc(len) -> ptr`: `len` bytes for the host to write an input into (0 when out of memory);
//! - `dealloc(ptr, len)`: frees what `alloc` or `call` gave, with the same `len`;
//! - `call(op_ptr, op_len, args_ptr, args_len) -> u64`: runs operation `op` (UTF-8) on `args` (UTF-8
//!   JSON, an array of arguments) and answers `ptr << 32 | len` of the UTF-8 JSON result, which the
//!   host reads then frees with `dealloc`. The inputs stay the host's, to free after the call. A
//!   refused input answers `{"error": message}`; 0 means the answer could not be allocated.
//!
//! The operations are the npm package's, by the names its JS API gives them (`buildWpCreated`,
//! `validateEvent`, `LamportClock.tick`...), from the one table both serve (`spec_kitty_wasm::ops`);
//! class instances are handles ([`ops`]). This module has no clock and no random source: time and
//! entropy must be passed
//! (`nowMs`, `entropyHex`, `random`); leaving them out is an error.
//!
//! Build (scripts/build-wasm.sh does):
//! `cargo build -p spec-kitty-wasm-abi --target wasm32-unknown-unknown --profile wasm-release
//!  --target-dir target/wasm-abi --config 'target.wasm32-unknown-unknown.rustflags=["--cfg","getrandom_backend=\"custom\""]'`

mod ops;

use std::alloc::Layout;

/// Every buffer is bytes; a zero-length one still gets a real (1-byte) allocation so that `ptr` is
/// never dangling and `dealloc` needs no special case.
fn layout(len: usize) -> Option<Layout> {
    Layout::from_size_align(len.max(1), 1).ok()
}

/// `len` bytes for the host to write into; 0 when they cannot be had.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    match layout(len) {
        // SAFETY: the layout has a non-zero size.
        Some(layout) => unsafe { std::alloc::alloc(layout) },
        None => std::ptr::null_mut(),
    }
}

/// Frees a buffer from `alloc` or `call`.
///
/// # Safety
/// `ptr` comes from `alloc(len)` or is the pointer of a `call` answer of length `len`, and is freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    if let (false, Some(layout)) = (ptr.is_null(), layout(len)) {
        // SAFETY: the caller's contract: allocated here with this very layout.
        unsafe { std::alloc::dealloc(ptr, layout) }
    }
}

/// Runs one operation; see the crate documentation.
///
/// # Safety
/// `op_ptr..op_ptr+op_len` and `args_ptr..args_ptr+args_len` are readable memory of this module
/// (buffers from `alloc`), or their length is 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn call(op_ptr: *const u8, op_len: usize, args_ptr: *const u8, args_len: usize) -> u64 {
    // SAFETY: the caller's contract.
    let (op, args) = unsafe { (bytes(op_ptr, op_len), bytes(args_ptr, args_len)) };
    let answer = match (std::str::from_utf8(op), std::str::from_utf8(args)) {
        (Ok(op), Ok(args)) => ops::call(op, args),
        _ => ops::error_json("op and args must be UTF-8"),
    };
    let ptr = alloc(answer.len());
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: `ptr` has room for `answer.len()` bytes and does not overlap `answer`.
    unsafe { std::ptr::copy_nonoverlapping(answer.as_ptr(), ptr, answer.len()) };
    // wasm32 pointers and lengths are 32 bits: both fit in one u64, so one return value suffices
    // (multi-value returns are not in every runtime's default features).
    ((ptr as usize as u64) << 32) | answer.len() as u64
}

/// # Safety
/// As for `call`.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// getrandom's entropy, which only seeds hash maps here (ahash's, inside jsonschema): nothing this
/// module answers depends on it (ULIDs and backoff jitter take their entropy from the caller), and
/// hash-map order does not reach any output (the native build, seeded for real, gives the same bytes).
/// A counter through splitmix64 gives distinct, deterministic seeds without a host import.
#[cfg(getrandom_backend = "custom")]
#[unsafe(no_mangle)]
unsafe extern "Rust" fn __getrandom_v03_custom(dest: *mut u8, len: usize) -> Result<(), getrandom::Error> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0x5EC_C177);
    for i in 0..len {
        let mut z = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        // SAFETY: getrandom passes `len` writable bytes at `dest`.
        unsafe { dest.add(i).write((z ^ (z >> 31)) as u8) };
    }
    Ok(())
}
