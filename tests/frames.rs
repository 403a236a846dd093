//! Property tests of the server's WebSocket framing (`rest-channels`'s
//! `socket` module), through its whole decoding path
//! (`__private::decode_chunks`): messages fragmented at random, masked with
//! random masks, with pings and pongs between the fragments, cut into random
//! chunks as TCP may deliver them, come out whole and in order; any bytes at
//! all end in a message or a close code, never a panic.

use proptest::prelude::*;
use rest_channels::__private::{Decoded, decode_chunks};

const MAX: usize = 64 * 1024;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A client frame (masked).
fn frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len < 65536 {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// A message, how to cut it into fragments, and what to put between them.
#[derive(Debug, Clone)]
struct Planned {
    text: String,
    /// Where the fragments end (byte offsets, sorted, may split characters).
    cuts: Vec<usize>,
    /// A ping (payload length) or a pong before each fragment, or nothing.
    controls: Vec<Option<(bool, usize)>>,
    mask: [u8; 4],
}

fn planned() -> impl Strategy<Value = Planned> {
    let text = prop_oneof![
        "[a-z0-9 {}\":,é€😀]{0,40}",
        "[a-zé]{100,400}",
        Just("x".repeat(MAX)),
    ];
    (
        text,
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        prop::collection::vec(prop::option::of((any::<bool>(), 0usize..126)), 0..5),
        any::<[u8; 4]>(),
    )
        .prop_map(|(text, cuts, controls, mask)| {
            let len = text.len();
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
            cuts.sort_unstable();
            cuts.dedup();
            Planned {
                text,
                cuts,
                controls,
                mask,
            }
        })
}

/// The bytes of the planned messages, and how many bytes of pongs the
/// server owes for their pings.
fn encode(messages: &[Planned]) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut pongs = 0;
    for m in messages {
        let bytes = m.text.as_bytes();
        let mut ends = m.cuts.clone();
        ends.retain(|&c| c < bytes.len());
        ends.push(bytes.len());
        let mut start = 0;
        for (i, &end) in ends.iter().enumerate() {
            if let Some(Some((ping, len))) = m.controls.get(i) {
                let payload = vec![b'p'; *len];
                let opcode = if *ping {
                    pongs += 2 + len;
                    0x9
                } else {
                    0xA
                };
                out.extend(frame(true, opcode, &payload, m.mask));
            }
            let opcode = if i == 0 { 0x1 } else { 0x0 };
            let last = i + 1 == ends.len();
            out.extend(frame(last, opcode, &bytes[start..end], m.mask));
            start = end;
        }
    }
    (out, pongs)
}

/// `bytes` cut at the given points.
fn chunked(bytes: &[u8], cuts: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    at.push(bytes.len());
    let mut chunks = Vec::new();
    let mut start = 0;
    for end in at {
        if end > start {
            chunks.push(bytes[start..end].to_vec());
            start = end;
        }
    }
    chunks
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fragmented_masked_chunked_messages_come_out_whole_and_in_order(
        messages in prop::collection::vec(planned(), 1..5),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let (bytes, pongs) = encode(&messages);
        let chunks = chunked(&bytes, &cuts);
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let (decoded, queued) = decode_chunks(&refs, MAX);
        let mut expected: Vec<Decoded> =
            messages.iter().map(|m| Decoded::Text(m.text.clone())).collect();
        expected.push(Decoded::Closed); // the client hung up after its last write
        prop_assert_eq!(decoded, expected);
        // Each ping was answered with a pong of its payload.
        prop_assert_eq!(queued, pongs);
    }

    #[test]
    fn any_bytes_end_in_messages_then_at_most_one_end(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        max in 0usize..300,
    ) {
        let chunks = chunked(&bytes, &cuts);
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let (decoded, _) = decode_chunks(&refs, max);
        let ends = decoded
            .iter()
            .filter(|d| !matches!(d, Decoded::Text(_) | Decoded::Binary))
            .count();
        prop_assert_eq!(ends, 1, "exactly one end, the last: {:?}", decoded);
        prop_assert!(!matches!(decoded.last(), Some(Decoded::Text(_) | Decoded::Binary)));
        for d in &decoded {
            if let Decoded::Text(t) = d {
                prop_assert!(t.len() <= max);
            }
            if let Decoded::Broken(code) = d {
                prop_assert!([1002, 1007].contains(code), "close code {}", code);
            }
        }
    }

    #[test]
    fn a_message_over_the_limit_is_refused_from_its_header(
        len in (MAX + 1)..(4 * MAX),
        mask in any::<[u8; 4]>(),
    ) {
        // Only the header and the mask are sent: the refusal does not wait
        // for (or buffer) the payload.
        let f = frame(true, 0x1, &vec![b'a'; len], mask);
        let header_len = if len < 65536 { 8 } else { 14 };
        let (decoded, _) = decode_chunks(&[&f[..header_len]], MAX);
        prop_assert_eq!(decoded, vec![Decoded::TooLarge]);
    }
}
