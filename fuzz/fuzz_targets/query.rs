//! Query strings: parameters as `Scope` and `Context` read them, page
//! routes that round-trip, pagination windows (page numbers and
//! limit/offset) whose next and previous links lead where they should, and
//! the filters' SQL with every value bound (see `tests/oracles/mod.rs`).
#![no_main]

#[path = "../../tests/oracles/mod.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The first 8 bytes pick the row count (small counts most of the time).
    let (head, rest) = data.split_at(data.len().min(8));
    let mut count = [0u8; 8];
    count[..head.len()].copy_from_slice(head);
    let count = u64::from_le_bytes(count);
    let count = if count % 4 == 0 { count } else { count % 1000 };
    if let Ok(query) = std::str::from_utf8(rest) {
        oracles::check_query(query, count);
    }
});
