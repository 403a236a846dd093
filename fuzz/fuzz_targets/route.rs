//! Route resolution with every converter (`int`, `str`, `slug`, `uuid`,
//! `path`, `re_path` groups): the first match wins, kwargs agree with a
//! plain matcher, and nested routing in a real `Context` reads them back
//! (see `tests/oracles/mod.rs`).
#![no_main]

#[path = "../../tests/oracles/mod.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    oracles::check_route(text);
    // A route's path never holds `?` (it starts the query string).
    let (path, query) = text.split_once('?').unwrap_or((text, ""));
    let version = data.first().copied().unwrap_or(0) as u64 * 1_000_003;
    oracles::check_nested(version, path, query);
});
