//! Throttles over real sockets: per user across connections, per anonymous
//! connection, scoped budgets shared by actions of different handlers, a
//! block's budget shared by its actions, the order of checks, the window
//! sliding, concurrent hits (never more than the rate), and the Redis store
//! shared by two apps (as two processes) and by two reference processes,
//! against a `redis-server` of the test's own (without one, the Redis tests
//! say so and pass, except under CI, where they fail).

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::{Router, routing::get};
use common::redis::{Redis, Reference};
use common::{Client, Server};
use rest_channels::axum::websocket;
use rest_channels::prelude::*;
use rest_channels::throttle::redis::RedisThrottleStore;
use rest_channels::throttle::{Decision, MemoryThrottleStore, Rate, ThrottleStore};
use rest_channels::{TokenAuth, User};
use serde_json::{Value, json};

// ---------------------------------------------------------------- the app

/// A routed handler: one budget (2 per 10 s) for both its actions, and one
/// action of the scope `shared` as well.
#[derive(Default)]
pub struct Block;

#[action_handler(throttle = "2/10s")]
impl Block {
    #[async_action]
    async fn first(&self) -> ActionResult {
        Ok(reply!({"block": "first"}, 200))
    }

    #[async_action]
    async fn second(&self, n: u32) -> ActionResult {
        Ok(reply!({"block": "second", "n": n}, 200))
    }
}

/// A routed handler without a throttle, with an action in the scope `shared`.
#[derive(Default)]
pub struct Other;

#[action_handler(permissions = [IsAuthenticated])]
impl Other {
    #[async_action(throttle = "3/10s", throttle_scope = "shared")]
    async fn also_shared(&self) -> ActionResult {
        Ok(reply!({"other": true}, 200))
    }

    #[async_action]
    async fn free(&self) -> ActionResult {
        Ok(reply!({"free": true}, 200))
    }
}

#[derive(Default)]
pub struct Api;

#[consumer(routes = [path("block/", Block), path("other/", Other)])]
impl Api {
    /// 3 per 10 s per user (per connection for anonymous ones).
    #[async_action(throttle = "3/10s")]
    async fn limited(&self) -> ActionResult {
        Ok(reply!({"ok": true}, 200))
    }

    /// The scope `shared`, with `Other::also_shared`.
    #[async_action(throttle = "3/10s", throttle_scope = "shared")]
    async fn shared(&self) -> ActionResult {
        Ok(reply!({"shared": true}, 200))
    }

    /// 2 per second: the window slides within a test.
    #[async_action(throttle = "2/1s")]
    async fn quick(&self) -> ActionResult {
        Ok(reply!({"quick": true}, 200))
    }

    /// Not throttled.
    #[async_action]
    async fn echo(&self, data: Value) -> ActionResult {
        Ok((data, 200))
    }
}

async fn lookup(token: String) -> Option<Arc<dyn User>> {
    match token.as_str() {
        "alice" => Some(Arc::new(SimpleUser::new(1, "alice"))),
        "bob" => Some(Arc::new(SimpleUser::new(2, "bob"))),
        _ => None,
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/ws/", get(websocket::<Api>))
        .with_state(app)
}

async fn server() -> Server {
    server_with(App::builder()).await
}

async fn server_with(builder: rest_channels::AppBuilder) -> Server {
    let app = builder.authenticator(TokenAuth::new(lookup)).build();
    Server::start(app.clone(), router(app)).await
}

async fn connect(server: &Server, token: Option<&str>) -> Client {
    Client::connect(&server.url("/ws/"), token).await.unwrap()
}

async fn call(client: &mut Client, action: &str, route: &str) -> Value {
    client
        .request(json!({"action": action, "route": route}))
        .await
}

/// The wait of a 429 reply, checked against DRF's message.
fn throttled(reply: &Value) -> u64 {
    assert_eq!(reply["status"], 429, "{reply}");
    let errors = reply["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{reply}");
    let detail = errors[0]["detail"].as_str().expect("a detail");
    let n = detail
        .strip_prefix("Request was throttled. Expected available in ")
        .and_then(|rest| rest.strip_suffix(" seconds."))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("unexpected detail: {detail:?}"));
    assert!(n >= 1, "{detail}");
    assert_eq!(reply["data"], Value::Null, "{reply}");
    n
}

fn ok(reply: &Value) {
    assert_eq!(reply["status"], 200, "{reply}");
}

// ---------------------------------------------------------------- in process

#[tokio::test]
async fn a_user_has_one_budget_across_connections() {
    let server = server().await;
    let mut first = connect(&server, Some("alice")).await;
    let mut second = connect(&server, Some("alice")).await;
    ok(&call(&mut first, "limited", "").await);
    ok(&call(&mut second, "limited", "").await);
    ok(&call(&mut first, "limited", "").await);
    let wait = throttled(&call(&mut second, "limited", "").await);
    assert!((5..=10).contains(&wait), "{wait}");
    throttled(&call(&mut first, "limited", "").await);
    // Another user, and an anonymous connection, have budgets of their own.
    let mut bob = connect(&server, Some("bob")).await;
    ok(&call(&mut bob, "limited", "").await);
    let mut anonymous = connect(&server, None).await;
    ok(&call(&mut anonymous, "limited", "").await);
    // The refused connections stay open, and other actions run.
    let echo = first
        .request(json!({"action": "echo", "data": [1], "request_id": 7}))
        .await;
    assert_eq!(
        (echo["status"].clone(), echo["data"].clone()),
        (json!(200), json!([1]))
    );
    assert_eq!(echo["request_id"], 7);
    server.stop().await;
}

#[tokio::test]
async fn each_anonymous_connection_has_its_own_budget() {
    let server = server().await;
    let mut first = connect(&server, None).await;
    for _ in 0..3 {
        ok(&call(&mut first, "limited", "").await);
    }
    throttled(&call(&mut first, "limited", "").await);
    let mut second = connect(&server, None).await;
    for _ in 0..3 {
        ok(&call(&mut second, "limited", "").await);
    }
    throttled(&call(&mut second, "limited", "").await);
    throttled(&call(&mut first, "limited", "").await);
    server.stop().await;
}

#[tokio::test]
async fn a_scope_is_shared_by_actions_of_different_handlers() {
    let server = server().await;
    let mut alice = connect(&server, Some("alice")).await;
    ok(&call(&mut alice, "shared", "").await);
    ok(&call(&mut alice, "also_shared", "other/").await);
    ok(&call(&mut alice, "shared", "").await);
    throttled(&call(&mut alice, "also_shared", "other/").await);
    throttled(&call(&mut alice, "shared", "").await);
    // Neither the unthrottled action of the same handler nor another
    // throttle's budget is touched.
    for _ in 0..5 {
        ok(&call(&mut alice, "free", "other/").await);
    }
    ok(&call(&mut alice, "limited", "").await);
    server.stop().await;
}

#[tokio::test]
async fn a_blocks_throttle_is_one_budget_for_its_actions() {
    let server = server().await;
    let mut alice = connect(&server, Some("alice")).await;
    ok(&call(&mut alice, "first", "block/").await);
    let reply = alice
        .request(json!({"action": "second", "route": "block/", "n": 4}))
        .await;
    assert_eq!(reply["data"], json!({"block": "second", "n": 4}));
    throttled(&call(&mut alice, "first", "block/").await);
    throttled(
        &alice
            .request(json!({"action": "second", "route": "block/", "n": 5}))
            .await,
    );
    // The consumer's own actions are not the routed block's.
    ok(&call(&mut alice, "limited", "").await);
    server.stop().await;
}

/// Permissions (403), routes (404) and actions (405) are checked before the
/// throttle and use no budget; bad arguments (400) come after it and do.
#[tokio::test]
async fn the_throttle_comes_after_permissions_and_before_arguments() {
    let server = server().await;
    let mut anonymous = connect(&server, None).await;
    for _ in 0..5 {
        // `other/` is for authenticated users only.
        let reply = call(&mut anonymous, "also_shared", "other/").await;
        assert_eq!(reply["status"], 403, "{reply}");
        let reply = call(&mut anonymous, "nothing", "block/").await;
        assert_eq!(reply["status"], 405, "{reply}");
        let reply = call(&mut anonymous, "first", "nowhere/").await;
        assert_eq!(reply["status"], 404, "{reply}");
    }
    // Two bad arguments use the block's two places...
    for _ in 0..2 {
        let reply = call(&mut anonymous, "second", "block/").await;
        assert_eq!(reply["status"], 400, "{reply}");
    }
    // ...and the third call is throttled before its arguments are read.
    throttled(&call(&mut anonymous, "second", "block/").await);
    // The scope `shared` was never used by the refused calls.
    for _ in 0..3 {
        ok(&call(&mut anonymous, "shared", "").await);
    }
    server.stop().await;
}

#[tokio::test]
async fn pipelined_calls_are_answered_in_order() {
    let server = server().await;
    let mut client = connect(&server, None).await;
    for i in 0..5 {
        client
            .send_json(&json!({"action": "limited", "request_id": i}))
            .await;
    }
    for i in 0..5 {
        let reply = client.recv().await;
        assert_eq!(reply["request_id"], i, "{reply}");
        if i < 3 {
            ok(&reply);
        } else {
            throttled(&reply);
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn the_window_slides() {
    let server = server().await;
    let mut client = connect(&server, None).await;
    ok(&call(&mut client, "quick", "").await);
    ok(&call(&mut client, "quick", "").await);
    assert_eq!(throttled(&call(&mut client, "quick", "").await), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ok(&call(&mut client, "quick", "").await);
    ok(&call(&mut client, "quick", "").await);
    throttled(&call(&mut client, "quick", "").await);
    server.stop().await;
}

// ---------------------------------------------------------------- Redis

async fn redis_server(redis: &Redis) -> Server {
    let store = RedisThrottleStore::connect(&redis.url()).await.unwrap();
    server_with(App::builder().throttle_store(store)).await
}

/// Two apps, each with its own connection to Redis (as two processes have):
/// a user's budget is one; an anonymous connection's is its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_apps_on_one_redis_share_budgets() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (redis_server(&redis).await, redis_server(&redis).await);
    let mut on_a = connect(&a, Some("alice")).await;
    let mut on_b = connect(&b, Some("alice")).await;
    ok(&call(&mut on_a, "limited", "").await);
    ok(&call(&mut on_b, "limited", "").await);
    ok(&call(&mut on_a, "limited", "").await);
    let wait = throttled(&call(&mut on_b, "limited", "").await);
    assert!((5..=10).contains(&wait), "{wait}");
    throttled(&call(&mut on_a, "limited", "").await);

    // Anonymous connections of either app count one by one.
    let mut anon_a = connect(&a, None).await;
    let mut anon_b = connect(&b, None).await;
    for _ in 0..3 {
        ok(&call(&mut anon_a, "limited", "").await);
        ok(&call(&mut anon_b, "limited", "").await);
    }
    throttled(&call(&mut anon_a, "limited", "").await);
    throttled(&call(&mut anon_b, "limited", "").await);

    // Keys expire in Redis one period after their last call.
    let keys = redis
        .command(&["KEYS", "rest-channels:throttle:*"])
        .unwrap();
    assert!(keys.len() >= 3, "{keys:?}");
    for key in &keys {
        let ttl: i64 = redis.command(&["PTTL", key]).unwrap()[0].parse().unwrap();
        assert!((1..=10_000).contains(&ttl), "{key}: {ttl}");
    }

    // The window slides on Redis's clock too.
    ok(&call(&mut on_a, "quick", "").await);
    ok(&call(&mut on_b, "quick", "").await);
    throttled(&call(&mut on_a, "quick", "").await);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ok(&call(&mut on_b, "quick", "").await);
    a.stop().await;
    b.stop().await;
}

/// Many calls at once, from two stores on one Redis: exactly the rate's
/// number is allowed (the script is atomic), and each refusal says when.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hits_never_exceed_the_rate() {
    let Some(redis) = Redis::start() else { return };
    let stores = [
        Arc::new(RedisThrottleStore::connect(&redis.url()).await.unwrap()),
        Arc::new(RedisThrottleStore::connect(&redis.url()).await.unwrap()),
    ];
    let rate = Rate::per_seconds(10, 60);
    let hits = (0..100).map(|i| {
        let store = stores[i % 2].clone();
        tokio::spawn(async move { store.hit("race", rate).await.unwrap() })
    });
    let decisions = futures_util::future::join_all(hits).await;
    let allowed = decisions
        .iter()
        .filter(|d| matches!(d.as_ref().unwrap(), Decision::Allowed))
        .count();
    assert_eq!(allowed, 10);
    for decision in decisions {
        if let Decision::Throttled { wait } = decision.unwrap() {
            assert!(
                wait > Duration::from_secs(30) && wait <= Duration::from_secs(60),
                "{wait:?}"
            );
        }
    }
    let log = redis
        .command(&["LLEN", "rest-channels:throttle:race"])
        .unwrap();
    assert_eq!(log, ["10"]);
}

/// The in-process store holds to the same rule across tasks and threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hits_in_memory_never_exceed_the_rate() {
    let rate = Rate::per_seconds(10, 60);
    let memory = Arc::new(MemoryThrottleStore::new());
    let hits = (0..100).map(|_| {
        let store = memory.clone();
        tokio::spawn(async move { store.hit("race", rate).await.unwrap() })
    });
    let allowed = futures_util::future::join_all(hits)
        .await
        .into_iter()
        .filter(|d| matches!(d.as_ref().unwrap(), Decision::Allowed))
        .count();
    assert_eq!(allowed, 10);
}

/// Without Redis, throttled actions still run (and the store's failure is
/// logged): the throttle does not take them down with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_fails_lets_calls_through() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let server = redis_server(&redis).await;
    let mut client = connect(&server, None).await;
    for _ in 0..3 {
        ok(&call(&mut client, "limited", "").await);
    }
    throttled(&call(&mut client, "limited", "").await);
    redis.kill();
    for _ in 0..4 {
        ok(&call(&mut client, "limited", "").await);
    }
    // Back, with a fresh (empty) Redis: the script is sent again, and the
    // calls count from zero until the fourth is refused.
    redis.spawn();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "Redis never counted again"
        );
        let reply = call(&mut client, "limited", "").await;
        if reply["status"] == 429 {
            break;
        }
        ok(&reply);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

/// Two reference processes on one Redis: alice's `throttled` budget (5 per
/// 10 s) is one for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reference_processes_share_a_users_budget() {
    let Some(redis) = Redis::start() else { return };
    let Some(first) = Reference::start(&redis).await else {
        return;
    };
    let second = Reference::start(&redis).await.unwrap();
    let url = |r: &Reference| format!("{}/ws/?token=alice-token", r.base);
    let mut on_first = Client::connect(&url(&first), None).await.unwrap();
    let mut on_second = Client::connect(&url(&second), None).await.unwrap();
    for i in 0..5 {
        let client = if i % 2 == 0 {
            &mut on_first
        } else {
            &mut on_second
        };
        ok(&call(client, "throttled", "").await);
    }
    throttled(&call(&mut on_first, "throttled", "").await);
    throttled(&call(&mut on_second, "throttled", "").await);
    // bob is someone else.
    let bob = format!("{}/ws/?token=bob-token", second.base);
    let mut bob = Client::connect(&bob, None).await.unwrap();
    ok(&call(&mut bob, "throttled", "").await);
}
