//! The Redis channel layer over real sockets, against a `redis-server` of
//! each test's own (a free port, a temp dir, no persistence): two servers
//! (each its own layer, as two processes have) sharing one Redis, Redis
//! killed and restarted mid-traffic, a slow subscriber, and no subscription
//! left once every member has gone.
//!
//! Without `redis-server` on PATH (or `REST_CHANNELS_REDIS_SERVER`) the
//! tests say so and pass, except under CI (`CI` set), where they fail.

mod common;

use std::time::{Duration, Instant};

use axum::{Router, routing::get};
use common::redis::{Redis, Reference};
use common::{Client, Server};
use futures_util::StreamExt;
use rest_channels::App;
use rest_channels::axum::websocket;
use rest_channels::layer::redis::{RedisChannelLayer, RedisOptions};
use rest_channels::layer::{ChannelLayer, LayerHealth};
use rest_channels::prelude::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

// ---------------------------------------------------------------- the app

/// `/rooms/{room}/`: every connection joins the group `room`.
#[derive(Default)]
pub struct Room;

#[consumer(group = "room")]
impl Room {
    /// Replies, then every member gets a `said` event.
    #[async_action(mode = "broadcast", broadcast_type = "said")]
    async fn say(&self, text: String) -> ActionResult {
        Ok(reply!({"text": text}, 200))
    }

    /// Sends `n` events of `size` bytes to the group, one after another.
    #[async_action]
    async fn burst(&self, ctx: &Context<'_>, n: usize, size: usize) -> ActionResult {
        let group = ctx.broadcast_group().unwrap_or_default();
        let filler = "x".repeat(size);
        for i in 0..n {
            ctx.group_send(group, Event::new("said", &json!({"i": i, "f": filler}))?)
                .await?;
        }
        Ok(reply!({"sent": n}, 200))
    }

    /// This connection's channel name.
    #[async_action]
    async fn channel(&self, ctx: &Context<'_>) -> ActionResult {
        Ok(reply!({"channel": ctx.channel_name()}, 200))
    }

    /// Sends a `poked` event to one channel, of any process.
    #[async_action]
    async fn poke(&self, ctx: &Context<'_>, channel: String) -> ActionResult {
        ctx.layer()
            .send(&channel, Event::new("poked", &json!({"poked": true}))?)
            .await
            .map_err(Error::internal)?;
        Ok(reply!({"ok": true}, 200))
    }

    #[async_action]
    async fn ping(&self) -> ActionResult {
        Ok(reply!("pong", 200))
    }

    #[event("said")]
    async fn said(&self, ctx: &Context<'_>, event: &Event) {
        ctx.forward(event);
    }

    #[event("poked")]
    async fn poked(&self, ctx: &Context<'_>, event: &Event) {
        ctx.forward(event);
    }

    /// The layer's notice after a reconnect, shown to the client here (by
    /// default it is not).
    #[event("layer.reconnected")]
    async fn reconnected(&self, ctx: &Context<'_>, event: &Event) -> Result<(), Error> {
        ctx.send_json(&json!({"reconnected": event.parse::<Value>()?}))
    }
}

async fn server(redis: &Redis, capacity: usize) -> Server {
    let mut options = RedisOptions::default();
    options.send_timeout = Duration::from_millis(300);
    let layer = RedisChannelLayer::connect_with(&redis.url(), options)
        .await
        .expect("connect to Redis");
    let app = App::builder()
        .channel_layer(layer)
        .channel_capacity(capacity)
        .build();
    let router = Router::new()
        .route("/rooms/{room}/", get(websocket::<Room>))
        .with_state(app.clone());
    Server::start(app, router).await
}

fn room(group: &str) -> String {
    let mut path = String::from("/rooms/");
    for b in group.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            path.push(b as char);
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    path + "/"
}

fn health(server: &Server) -> LayerHealth {
    server.app.layer().health()
}

async fn say(sender: &mut Client, text: &str) {
    let reply = sender.request(json!({"action": "say", "text": text})).await;
    assert_eq!(reply["status"], 200, "{reply}");
}

fn said(text: &str) -> Value {
    json!({"type": "said", "data": {"text": text}, "status": 200})
}

/// Polls `f` every 20 ms for up to `within`.
async fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_groups_and_channels() {
    let Some(redis) = Redis::start() else { return };
    let a = server(&redis, 100).await;
    let b = server(&redis, 100).await;
    // a group id that no Channels name would take: ids of any shape
    let group = format!("Grüße~{}", "ж".repeat(150));
    let other = format!("{group}!");

    // In the group as soon as the handshake is done, on either process.
    let mut on_a = a.connect(&room(&group)).await;
    let mut on_b = b.connect(&room(&group)).await;
    let mut other_b = b.connect(&room(&other)).await;
    say(&mut on_a, "one").await;
    assert_eq!(on_a.recv().await, said("one"));
    assert_eq!(on_b.recv().await, said("one"));
    say(&mut on_b, "two").await;
    assert_eq!(on_b.recv().await, said("two"));
    assert_eq!(on_a.recv().await, said("two"));
    // a late member on B gets what A sends right after its handshake
    let mut late_b = b.connect(&room(&group)).await;
    say(&mut on_a, "three").await;
    for c in [&mut on_a, &mut on_b, &mut late_b] {
        assert_eq!(c.recv().await, said("three"));
    }
    assert!(other_b.silent_for(Duration::from_millis(300)).await);
    for c in [&mut on_a, &mut on_b, &mut late_b] {
        assert!(
            c.silent_for(Duration::from_millis(50)).await,
            "exactly once"
        );
    }

    // A direct send to a channel of the other process.
    let reply = on_b.request(json!({"action": "channel"})).await;
    let channel = reply["data"]["channel"].as_str().unwrap().to_owned();
    let reply = on_a
        .request(json!({"action": "poke", "channel": channel}))
        .await;
    assert_eq!(reply["status"], 200, "{reply}");
    assert_eq!(on_b.recv().await, json!({"poked": true}));
    assert!(on_a.silent_for(Duration::from_millis(100)).await);

    for s in [&a, &b] {
        let h = health(s);
        assert!(h.connected && h.backend == "redis", "{h:?}");
        assert_eq!(h.dropped_backend_down + h.dropped_inbox_full, 0, "{h:?}");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_mid_traffic() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let a = server(&redis, 100).await;
    let b = server(&redis, 100).await;
    let mut on_a = a.connect(&room("r")).await;
    let mut on_b = b.connect(&room("r")).await;
    say(&mut on_a, "before").await;
    assert_eq!(on_a.recv().await, said("before"));
    assert_eq!(on_b.recv().await, said("before"));

    redis.kill();
    assert!(
        eventually(Duration::from_secs(5), || !health(&a).connected
            && !health(&b).connected)
        .await,
        "both layers see the loss"
    );
    // Sockets stay open; sends return within their bound and are counted.
    let started = Instant::now();
    say(&mut on_a, "lost").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        on_b.request(json!({"action": "ping"})).await["data"],
        "pong"
    );
    let h = health(&a);
    assert!(h.disconnects >= 1 && h.dropped_backend_down >= 1, "{h:?}");
    // A member joins while Redis is down: its connection is not held up,
    // and the reconnect subscribes its group.
    let started = Instant::now();
    let mut joined_b = b.connect(&room("joined-while-down")).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    let mut joined_a = a.connect(&room("joined-while-down")).await;

    redis.spawn();
    // Delivery resumes: retry until B gets a say of A's.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got_b = Vec::new();
    let mut got_a = Vec::new();
    'retry: loop {
        assert!(
            Instant::now() < deadline,
            "no delivery within 5 s of the restart; B got {got_b:?}"
        );
        let text = format!("again-{}", got_b.len() + got_a.len());
        say(&mut on_a, &text).await;
        while let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_millis(300), on_b.ws.next()).await
        {
            let v: Value = serde_json::from_str(&t).unwrap();
            let reached = v == said(&text);
            got_b.push(v);
            if reached {
                break 'retry;
            }
        }
        while let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_millis(10), on_a.ws.next()).await
        {
            got_a.push(serde_json::from_str::<Value>(&t).unwrap());
        }
    }
    // The reconnect was reported to the consumers of both processes (here
    // they show it to their clients), with what was dropped meanwhile.
    let notices = |got: &[Value]| {
        got.iter()
            .filter(|v| v.get("reconnected").is_some())
            .count()
    };
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(300), on_a.ws.next()).await
    {
        got_a.push(serde_json::from_str::<Value>(&t).unwrap());
    }
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(300), on_b.ws.next()).await
    {
        got_b.push(serde_json::from_str::<Value>(&t).unwrap());
    }
    assert_eq!(notices(&got_b), 1, "{got_b:?}");
    assert_eq!(notices(&got_a), 1, "{got_a:?}");
    for s in [&a, &b] {
        let h = health(s);
        assert!(h.connected && h.reconnects >= 1, "{h:?}");
    }
    // Everyone, old or new, gets each event once.
    let mut late_a = a.connect(&room("r")).await;
    say(&mut on_b, "after").await;
    for c in [&mut on_a, &mut on_b, &mut late_a] {
        assert_eq!(c.recv().await, said("after"));
        assert!(c.silent_for(Duration::from_millis(100)).await);
    }
    // The room joined while Redis was down works across processes: after
    // the notice of the reconnect, each gets each event once.
    for c in [&mut joined_a, &mut joined_b] {
        assert!(c.recv().await.get("reconnected").is_some());
    }
    say(&mut joined_a, "joined").await;
    for c in [&mut joined_a, &mut joined_b] {
        assert_eq!(c.recv().await, said("joined"));
        assert!(c.silent_for(Duration::from_millis(100)).await);
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_loses_its_own_events_only() {
    let Some(redis) = Redis::start() else { return };
    let a = server(&redis, 64).await;
    let b = server(&redis, 64).await;
    // The slow client never reads: its socket buffers fill, then its inbox,
    // then its events are dropped (for it alone), counted.
    let mut slow = b.connect(&room("busy")).await;
    let fast = b.connect(&room("busy")).await;
    let mut sender = a.connect(&room("busy")).await;
    let (n, size) = (1500usize, 16 * 1024);
    let reader = tokio::spawn(async move {
        let mut fast = fast;
        let mut seen = 0usize;
        while seen < n {
            let msg = tokio::time::timeout(Duration::from_secs(10), fast.ws.next())
                .await
                .expect("the fast member keeps getting events")
                .unwrap()
                .unwrap();
            let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
            assert_eq!(v["i"], seen, "in order, none lost");
            seen += 1;
        }
        fast
    });
    // The sender is a member too: while its action runs, its own inbox
    // fills and drops on its process; it does not slow the others.
    let reply = tokio::time::timeout(
        Duration::from_secs(60),
        sender.request(json!({"action": "burst", "n": n, "size": size})),
    )
    .await
    .expect("the burst completes");
    assert_eq!(reply["data"]["sent"], n, "{reply}");
    let mut fast = reader.await.expect("the fast member got every event");
    let h = health(&b);
    assert!(
        h.dropped_inbox_full > 0,
        "the slow member's events were dropped: {h:?}"
    );
    assert_eq!(health(&a).dropped_backend_down, 0);
    // Both are still connected; the slow one catches up with what it kept.
    assert_eq!(
        fast.request(json!({"action": "ping"})).await["data"],
        "pong"
    );
    let mut kept = 0;
    while let Ok(Some(Ok(_))) =
        tokio::time::timeout(Duration::from_millis(500), slow.ws.next()).await
    {
        kept += 1;
    }
    assert!(kept < n, "the slow member kept {kept} of {n}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_subscription_is_left_once_every_member_left() {
    let Some(redis) = Redis::start() else { return };
    let a = server(&redis, 100).await;
    let b = server(&redis, 100).await;
    let mut members = Vec::new();
    for (i, group) in ["one", "two", "two", "tw~o"].iter().enumerate() {
        let s = if i % 2 == 0 { &a } else { &b };
        members.push(s.connect(&room(group)).await);
    }
    let mut channels = redis.group_channels();
    channels.sort();
    assert_eq!(
        channels,
        [
            "rest-channels:g:one",
            "rest-channels:g:two",
            "rest-channels:g:tw~o"
        ]
    );
    assert_eq!(
        redis.command(&["PUBSUB", "NUMSUB", "rest-channels:g:two"]),
        Some(vec!["rest-channels:g:two".into(), "2".into()]),
        "one subscription per process"
    );
    members.truncate(1);
    assert!(
        eventually(Duration::from_secs(5), || redis.group_channels()
            == ["rest-channels:g:one"])
        .await,
        "{:?}",
        redis.group_channels()
    );
    drop(members);
    assert!(
        eventually(Duration::from_secs(5), || redis.group_channels().is_empty()).await,
        "{:?}",
        redis.group_channels()
    );
    for s in [&a, &b] {
        assert!(
            eventually(Duration::from_secs(5), || health(s).groups == 0).await,
            "{:?}",
            health(s)
        );
    }
    a.stop().await;
    b.stop().await;
}

/// The reference example as a process of its own, on the test's Redis: this
/// process's layer and that one share its rooms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_process_shares_its_rooms_with_this_one() {
    let Some(redis) = Redis::start() else { return };
    let Some(reference) = Reference::start(&redis).await else {
        return;
    };
    let base = &reference.base;

    let layer = RedisChannelLayer::connect(&redis.url()).await.unwrap();
    let (mine, mut inbox) = layer.new_channel(8).await.unwrap();
    layer.group_add("lobby~ü", &mine).await.unwrap();
    let url = format!(
        "{base}{}?token=alice-token",
        room("lobby~ü").replace("/rooms/", "/ws/rooms/")
    );
    let mut alice = Client::connect(&url, None).await.unwrap();

    // Their say reaches this process's member...
    let reply = alice
        .request(json!({"action": "say", "route": "chat/", "text": "hi"}))
        .await;
    assert_eq!(reply["status"], 200, "{reply}");
    let event = tokio::time::timeout(Duration::from_secs(5), inbox.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.kind(), "chat.message");
    assert_eq!(
        event.parse::<Value>().unwrap(),
        json!({"type": "chat.message", "data": {"text": "hi", "username": "alice"}, "status": 200})
    );
    // ...and this process's general broadcast reaches theirs.
    let body = json!({"data": {"text": "from the test"}, "status": 200});
    layer
        .group_send("lobby~ü", Event::new("general.broadcast", &body).unwrap())
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.last() != Some(&body) {
        got.push(alice.recv().await);
        assert!(got.len() < 5, "{got:?}");
    }
    assert_eq!(
        got.first(),
        Some(
            &json!({"type": "chat.message", "data": {"text": "hi", "username": "alice"}, "status": 200})
        )
    );
    drop(alice);
    drop(reference);
}
