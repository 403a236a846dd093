//! The Origin check before the upgrade: any `Origin` and `Host` header
//! bytes (split at the first newline) are allowed or refused, never an
//! error, and agree with the parsed origins (see `tests/oracles/mod.rs`).
#![no_main]

#[path = "../../tests/oracles/mod.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (origin, host) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"127.0.0.1:8000"[..]),
    };
    oracles::check_origin(origin, host);
});
