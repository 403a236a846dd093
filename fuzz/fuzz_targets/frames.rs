//! The server's WebSocket framing (`rest-channels`'s `socket` module) over
//! any bytes a client may send, cut into chunks as TCP may deliver them:
//! the first byte picks the message size limit, the second how the rest is
//! cut. Whatever comes in ends in messages, then exactly one end (a close
//! code, or the client's close or hang-up); no text over the limit; no
//! panic. The same check runs under `cargo test` in `tests/frames.rs`.
#![no_main]

use rest_channels::__private::{Decoded, decode_chunks};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [limit, cut, rest @ ..] = data else {
        return;
    };
    let max = usize::from(*limit) * 4;
    let step = usize::from(*cut).max(1);
    let chunks: Vec<&[u8]> = rest.chunks(step).collect();
    let (decoded, _queued) = decode_chunks(&chunks, max);
    let ends = decoded
        .iter()
        .filter(|d| !matches!(d, Decoded::Text(_) | Decoded::Binary))
        .count();
    assert_eq!(ends, 1, "exactly one end, the last: {decoded:?}");
    assert!(!matches!(
        decoded.last(),
        Some(Decoded::Text(_) | Decoded::Binary)
    ));
    for d in &decoded {
        match d {
            Decoded::Text(t) => assert!(t.len() <= max),
            Decoded::Broken(code) => assert!([1002, 1007].contains(code), "code {code}"),
            _ => {}
        }
    }
});
