//! Expression compile + evaluate over arbitrary facts. Input: the expression, a NUL
//! byte, then bytes from which the facts are built (any JSON shape, under the names
//! probes use). See `judge.rs` for what is checked.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

#[path = "judge.rs"]
mod judge;

fuzz_target!(|data: &[u8]| {
    let (src, rest) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(src) = std::str::from_utf8(src) else {
        return;
    };
    let facts = judge::facts(&mut Unstructured::new(rest));
    judge::check(src, &facts);
});
