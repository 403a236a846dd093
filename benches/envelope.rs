//! Envelope decode and encode (`rest_channels::envelope`), small and
//! typical messages, each beside serde_json doing the plainest equivalent
//! (parsing into a `serde_json::Value`, writing a `Value`) in the same run.
//!
//! `cargo bench --bench envelope -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rest_channels::envelope::{Message, reply};
use serde::Serialize;

const SMALL: &str = r#"{"action":"echo","data":1}"#;
const TYPICAL: &str = r#"{"action":"update","route":"notes/42/?fields=title","request_id":"c0ffee-17","data":{"title":"Groceries for the week","body":"Milk, eggs, bread, coffee beans, and something for dinner on Friday.","tags":["home","weekly"],"done":false},"partial":true}"#;

#[derive(Serialize)]
struct Note<'a> {
    id: i64,
    title: &'a str,
    body: &'a str,
    author: i64,
    tags: [&'a str; 2],
    done: bool,
}

const NOTE: Note<'static> = Note {
    id: 42,
    title: "Groceries for the week",
    body: "Milk, eggs, bread, coffee beans, and something for dinner on Friday.",
    author: 1,
    tags: ["home", "weekly"],
    done: false,
};

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (name, text) in [("small", SMALL), ("typical", TYPICAL)] {
        g.bench_function(format!("{name}/envelope"), |b| {
            b.iter(|| Message::decode(black_box(text)).unwrap())
        });
        g.bench_function(format!("{name}/serde_json_value"), |b| {
            b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(text)).unwrap())
        });
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let small = Message::decode(SMALL).unwrap();
    g.bench_function("small/reply", |b| {
        b.iter(|| reply(black_box(&small), black_box(&1), 200))
    });
    let small_value =
        serde_json::json!({"errors": [], "data": 1, "action": "echo", "route": "", "status": 200});
    g.bench_function("small/serde_json_value", |b| {
        b.iter(|| serde_json::to_string(black_box(&small_value)).unwrap())
    });
    let typical = Message::decode(TYPICAL).unwrap();
    g.bench_function("typical/reply", |b| {
        b.iter(|| reply(black_box(&typical), black_box(&NOTE), 200))
    });
    let typical_value = serde_json::json!({
        "errors": [], "data": NOTE, "action": "update",
        "route": "notes/42/?fields=title", "status": 200, "request_id": "c0ffee-17",
    });
    g.bench_function("typical/serde_json_value", |b| {
        b.iter(|| serde_json::to_string(black_box(&typical_value)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
