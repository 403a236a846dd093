//! Envelope decoding: any frame either decodes to what serde_json reads in
//! it, and re-encodes (as a reply) to an envelope that decodes to the same
//! head, or is a clear decode error (see `tests/oracles/mod.rs`).
#![no_main]

#[path = "../../tests/oracles/mod.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        oracles::check_envelope(text);
    }
});
