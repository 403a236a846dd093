//! Detached actions (`#[async_action(detached)]`) over real sockets and the
//! test communicator: they run beside the connection's other messages,
//! which keep their order; at most `max_detached_actions` at a time per
//! connection (then 429); cancelled when the connection closes.
//!
//! A detached `gate` waits for a permit that the in-order `open` hands
//! out, so that no test depends on timing.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::{Router, routing::get};
use common::{Client, Server, TIMEOUT};
use rest_channels::axum::websocket;
use rest_channels::prelude::*;
use rest_channels::testing::Communicator;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// What the actions share with the test, in the app's state.
#[derive(Clone)]
struct Probe(Arc<ProbeInner>);

struct ProbeInner {
    /// `gate` waits for a permit of this; `open` adds some.
    gate: Semaphore,
    /// How many gates are waiting now.
    waiting: AtomicUsize,
}

impl Probe {
    fn new() -> Probe {
        Probe(Arc::new(ProbeInner {
            gate: Semaphore::new(0),
            waiting: AtomicUsize::new(0),
        }))
    }

    fn waiting(&self) -> usize {
        self.0.waiting.load(Ordering::SeqCst)
    }

    /// Waits for a permit; counted in `waiting` until it gets one or is dropped.
    async fn pass(&self) -> Result<(), Error> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.0.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.0.waiting);
        self.0
            .gate
            .acquire()
            .await
            .map_err(Error::internal)?
            .forget();
        Ok(())
    }
}

/// A routed handler with a detached action of its own.
#[derive(Default)]
pub struct Inner;

#[action_handler]
impl Inner {
    #[async_action(detached)]
    async fn gate(&self, ctx: &Context<'_>, n: u32) -> ActionResult {
        ctx.state::<Probe>()?.pass().await?;
        Ok(reply!({"inner_gate": n}, 200))
    }
}

#[derive(Default)]
pub struct Api;

#[consumer(routes = [path("inner/", Inner)])]
impl Api {
    /// Detached: replies once `open` lets it through.
    #[async_action(detached)]
    async fn gate(&self, ctx: &Context<'_>, n: u32) -> ActionResult {
        ctx.state::<Probe>()?.pass().await?;
        Ok(reply!({"gate": n}, 200))
    }

    /// In order: lets `n` gates through.
    #[async_action]
    async fn open(&self, ctx: &Context<'_>, n: usize) -> ActionResult {
        ctx.state::<Probe>()?.0.gate.add_permits(n);
        Ok(reply!({"opened": n}, 200))
    }

    #[async_action]
    async fn echo(&self, data: Option<Value>) -> ActionResult {
        Ok((data.unwrap_or_default(), 200))
    }

    #[async_action]
    fn blocking_echo(&self, data: Value) -> ActionResult {
        Ok((data, 200))
    }

    #[async_action(detached)]
    async fn push_then_reply(&self, ctx: &Context<'_>) -> ActionResult {
        ctx.send_json(&json!({"progress": 1}))?;
        tokio::task::yield_now().await;
        Ok(reply!("done", 200))
    }

    /// Sends its progress while it waits at the gate.
    #[async_action(detached)]
    async fn progress(&self, ctx: &Context<'_>) -> ActionResult {
        ctx.send_json(&json!({"progress": "waiting"}))?;
        ctx.state::<Probe>()?.pass().await?;
        Ok(reply!("passed", 200))
    }

    #[async_action(detached)]
    async fn panics(&self) -> ActionResult {
        tokio::task::yield_now().await;
        panic!("detached boom");
    }

    #[async_action(detached, mode = "none")]
    async fn quiet(&self) -> ActionResult {
        Ok(reply!(null, 200))
    }
}

fn app(probe: &Probe, max_detached: Option<usize>) -> App {
    let builder = App::builder().state(probe.clone());
    match max_detached {
        Some(n) => builder.max_detached_actions(n),
        None => builder,
    }
    .build()
}

async fn server(probe: &Probe, max_detached: Option<usize>) -> Server {
    let app = app(probe, max_detached);
    let router = Router::new()
        .route("/ws/", get(websocket::<Api>))
        .with_state(app.clone());
    Server::start(app, router).await
}

/// Waits until `probe` has `n` gates waiting.
async fn until_waiting(probe: &Probe, n: usize) {
    tokio::time::timeout(TIMEOUT, async {
        while probe.waiting() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} gates waiting, not {n}", probe.waiting()));
}

/// The next `n` replies, by `request_id`.
async fn replies(c: &mut Client, n: usize) -> HashMap<String, Value> {
    let mut by_id = HashMap::new();
    for _ in 0..n {
        let r = c.recv().await;
        by_id.insert(r["request_id"].to_string(), r);
    }
    by_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_messages_are_answered_first_and_keep_their_order() {
    let probe = Probe::new();
    let s = server(&probe, None).await;
    let mut c = s.connect("/ws/").await;
    c.send_json(&json!({"action": "gate", "n": 1, "request_id": "g1"}))
        .await;
    c.send_json(&json!({"action": "gate", "n": 2, "request_id": "g2", "route": "inner/"}))
        .await;
    for (i, action) in ["echo", "blocking_echo", "echo", "blocking_echo"]
        .iter()
        .enumerate()
    {
        c.send_json(&json!({"action": action, "data": i, "request_id": i}))
            .await;
    }
    for i in 0..4 {
        let r = c.recv().await;
        assert_eq!(
            (r["data"].clone(), r["request_id"].clone()),
            (json!(i), json!(i)),
            "{r}"
        );
    }
    until_waiting(&probe, 2).await;
    assert_eq!(
        c.request(json!({"action": "open", "n": 2, "request_id": "o"}))
            .await["data"],
        json!({"opened": 2})
    );
    let got = replies(&mut c, 2).await;
    let g1 = &got["\"g1\""];
    assert_eq!(
        (
            g1["status"].clone(),
            g1["data"].clone(),
            g1["action"].clone()
        ),
        (json!(200), json!({"gate": 1}), json!("gate"))
    );
    let g2 = &got["\"g2\""];
    assert_eq!(
        (g2["data"].clone(), g2["route"].clone()),
        (json!({"inner_gate": 2}), json!("inner/"))
    );
    assert_eq!(probe.waiting(), 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_limit_is_429_and_the_limit_is_per_connection() {
    let probe = Probe::new();
    let s = server(&probe, Some(2)).await;
    let mut c = s.connect("/ws/").await;
    for n in 1..=3 {
        c.send_json(&json!({"action": "gate", "n": n, "request_id": n}))
            .await;
    }
    let r = c.recv().await;
    assert_eq!(
        (
            r["status"].clone(),
            r["request_id"].clone(),
            r["data"].clone()
        ),
        (json!(429), json!(3), Value::Null),
        "{r}"
    );
    assert_eq!(
        r["errors"],
        json!([{"detail": "Too many detached actions on this connection: at most 2 run at a time."}])
    );
    // Bad arguments are refused in order, and count for nothing.
    let r = c
        .request(json!({"action": "gate", "n": "x", "request_id": "bad"}))
        .await;
    assert_eq!(r["status"], 400, "{r}");
    assert!(r["errors"][0]["n"].is_array(), "{r}");
    // Another connection has a limit of its own.
    let mut other = s.connect("/ws/").await;
    other
        .send_json(&json!({"action": "gate", "n": 4, "request_id": 4}))
        .await;
    until_waiting(&probe, 3).await;
    assert_eq!(
        c.request(json!({"action": "open", "n": 3, "request_id": "o"}))
            .await["data"],
        json!({"opened": 3})
    );
    let got = replies(&mut c, 2).await;
    assert_eq!(got["1"]["data"], json!({"gate": 1}));
    assert_eq!(got["2"]["data"], json!({"gate": 2}));
    assert_eq!(other.recv().await["data"], json!({"gate": 4}));
    // Room again once they are done.
    c.send_json(&json!({"action": "gate", "n": 5, "request_id": 5}))
        .await;
    until_waiting(&probe, 1).await;
    c.send_json(&json!({"action": "open", "n": 1, "request_id": "o2"}))
        .await;
    let got = replies(&mut c, 2).await;
    assert_eq!(got["5"]["data"], json!({"gate": 5}));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_connection_cancels_its_detached_actions() {
    let probe = Probe::new();
    let s = server(&probe, None).await;
    let mut c = s.connect("/ws/").await;
    for n in 0..5 {
        c.send_json(&json!({"action": "gate", "n": n})).await;
    }
    until_waiting(&probe, 5).await;
    assert_eq!(
        c.request(json!({"action": "echo", "data": "alive"})).await["data"],
        "alive"
    );
    drop(c);
    // Every gate is dropped, none let through.
    until_waiting(&probe, 0).await;
    tokio::time::timeout(TIMEOUT, async {
        while s.app.connections() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the connection ends");
    assert_eq!(probe.0.gate.available_permits(), 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_pushes_and_silence_of_detached_actions() {
    let probe = Probe::new();
    let s = server(&probe, None).await;
    let mut c = s.connect("/ws/").await;
    let r = c
        .request(json!({"action": "panics", "request_id": "p"}))
        .await;
    assert_eq!(
        (
            r["status"].clone(),
            r["errors"].clone(),
            r["request_id"].clone()
        ),
        (
            json!(500),
            json!([{"detail": "A server error occurred."}]),
            json!("p")
        )
    );
    c.send_json(&json!({"action": "push_then_reply", "request_id": "r"}))
        .await;
    assert_eq!(c.recv().await, json!({"progress": 1}));
    assert_eq!(c.recv().await["data"], "done");
    // What it sends while it runs goes out as it is sent.
    c.send_json(&json!({"action": "progress", "request_id": "pr"}))
        .await;
    assert_eq!(c.recv().await, json!({"progress": "waiting"}));
    until_waiting(&probe, 1).await;
    assert!(c.silent_for(Duration::from_millis(50)).await);
    c.send_json(&json!({"action": "open", "n": 1, "request_id": "o"}))
        .await;
    let got = replies(&mut c, 2).await;
    assert_eq!(got["\"pr\""]["data"], "passed");
    c.send_json(&json!({"action": "quiet"})).await;
    assert_eq!(
        c.request(json!({"action": "echo", "data": "next"})).await["data"],
        "next"
    );
    assert!(c.silent_for(Duration::from_millis(100)).await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_communicator_runs_them_beside_and_cancels_them_at_disconnect() {
    let probe = Probe::new();
    let mut c = Communicator::builder::<Api>(app(&probe, None))
        .connect()
        .await
        .unwrap();
    c.send_json(&json!({"action": "gate", "n": 1, "request_id": "g"}))
        .await;
    c.send_json(&json!({"action": "echo", "data": "first", "request_id": "e"}))
        .await;
    let r = c.receive_json().await.unwrap();
    assert_eq!(
        (r["data"].clone(), r["request_id"].clone()),
        (json!("first"), json!("e"))
    );
    c.send_json(&json!({"action": "open", "n": 1})).await;
    let mut got: Vec<Value> = Vec::new();
    for _ in 0..2 {
        got.push(c.receive_json().await.unwrap());
    }
    assert!(got.contains(&json!({"errors": [], "data": {"opened": 1}, "action": "open", "route": "", "status": 200})), "{got:?}");
    assert!(
        got.iter()
            .any(|r| r["data"] == json!({"gate": 1}) && r["request_id"] == "g"),
        "{got:?}"
    );

    for n in 0..3 {
        c.send_json(&json!({"action": "gate", "n": n})).await;
    }
    c.send_json(&json!({"action": "echo"})).await;
    c.receive_json().await.unwrap();
    until_waiting(&probe, 3).await;
    // `disconnect` returns once the connection has ended: nothing of it runs.
    c.disconnect().await;
    assert_eq!(probe.waiting(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_current_thread_runtime_runs_them_too() {
    let probe = Probe::new();
    let mut c = Communicator::builder::<Api>(app(&probe, Some(1)))
        .connect()
        .await
        .unwrap();
    c.send_json(&json!({"action": "gate", "n": 1, "request_id": 1}))
        .await;
    c.send_json(&json!({"action": "gate", "n": 2, "request_id": 2}))
        .await;
    assert_eq!(c.receive_json().await.unwrap()["status"], 429);
    c.send_json(&json!({"action": "open", "n": 1})).await;
    let mut got: Vec<Value> = Vec::new();
    for _ in 0..2 {
        got.push(c.receive_json().await.unwrap());
    }
    assert!(
        got.iter().any(|r| r["data"] == json!({"gate": 1})),
        "{got:?}"
    );
    c.disconnect().await;
}
