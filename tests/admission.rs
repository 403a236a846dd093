//! Admission over real sockets: origins, the connection limit, the
//! handshake timeout, authentication that refuses, and the count of
//! connections on every path (refused, upgrade failed, closed). The test
//! communicator admits through the same code: its refusals are checked here
//! beside the socket's.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::routing::get;
use futures_util::StreamExt;
use rest_channels::axum::websocket;
use rest_channels::layer::{ChannelLayer, InMemoryChannelLayer, Inbox, LayerError};
use rest_channels::prelude::*;
use rest_channels::testing::{Communicator, TestError};
use rest_channels::{AuthenticationFailed, Authenticator, CurrentUser, TokenAuth, User};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use common::{Client, Server, TIMEOUT};

#[derive(Default)]
pub struct Api;

#[consumer(permissions = [AllowAny])]
impl Api {
    #[async_action]
    async fn whoami(&self, ctx: &Context<'_>) -> ActionResult {
        Ok(reply!({"username": ctx.user().map(|u| u.username())}, 200))
    }
}

#[derive(Default)]
pub struct Strict;

#[consumer(permissions = [IsAuthenticatedStrictly])]
impl Strict {}

#[derive(Default)]
pub struct Room;

#[consumer(group = "room")]
impl Room {}

/// Says hello after `?ms=` milliseconds.
#[derive(Default)]
pub struct SlowHello;

#[consumer(group = "room")]
impl SlowHello {
    #[on_connect]
    async fn hello(&self, ctx: &Context<'_>) -> Result<(), Error> {
        let ms: u64 = ctx
            .scope()
            .query_param("ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ctx.send_json(&json!({"hello": ms}))
    }
}

async fn lookup(token: String) -> Option<Arc<dyn User>> {
    (token == "alice-token").then(|| Arc::new(SimpleUser::new(1, "alice")) as Arc<dyn User>)
}

fn router(app: &App) -> Router {
    Router::new()
        .route("/ws/", get(websocket::<Api>))
        .route("/strict/", get(websocket::<Strict>))
        .route("/rooms/{room}/", get(websocket::<Room>))
        .route("/slow/{room}/", get(websocket::<SlowHello>))
        .with_state(app.clone())
}

/// What the upgrade was answered with, when it was refused.
#[derive(Debug)]
struct Refused {
    status: u16,
    body: String,
    retry_after: Option<String>,
}

/// Opens `url` with these extra request headers; the refusal, if refused.
async fn open(url: &str, headers: &[(&str, &str)]) -> Result<Client, Refused> {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        let name = axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        if name == "host" {
            // in place of the client's own
            request.headers_mut().insert(name, value.parse().unwrap());
        } else {
            request.headers_mut().append(name, value.parse().unwrap());
        }
    }
    match tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(request))
        .await
        .expect("an answer in time")
    {
        Ok((ws, _)) => Ok(Client { ws }),
        Err(tungstenite::Error::Http(response)) => Err(Refused {
            status: response.status().as_u16(),
            body: String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned(),
            retry_after: response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned()),
        }),
        Err(e) => panic!("connect {url}: {e}"),
    }
}

/// Opens `url` and expects a refusal.
async fn refused(url: &str, headers: &[(&str, &str)]) -> Refused {
    match open(url, headers).await {
        Ok(_) => panic!("{url} {headers:?}: the upgrade was accepted"),
        Err(r) => r,
    }
}

async fn whoami(c: &mut Client) -> serde_json::Value {
    c.request(json!({"action": "whoami"})).await["data"]["username"].clone()
}

/// Waits until the app counts `n` connections.
async fn connections_become(app: &App, n: usize) {
    tokio::time::timeout(TIMEOUT, async {
        while app.connections() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} connections, not {n}", app.connections()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origins_are_checked_before_the_upgrade() {
    let app = App::builder()
        .allowed_origins(["https://app.example:8443", "http://good.example"])
        .unwrap()
        .authenticator(TokenAuth::new(lookup))
        .build();
    let s = Server::start(app.clone(), router(&app)).await;
    let url = s.url("/ws/?token=alice-token");
    let own = format!("http://{}", s.addr);
    for origin in [
        None,
        Some(own.as_str()),
        Some("https://app.example:8443"),
        Some("HTTP://GOOD.example:80"),
    ] {
        let headers: Vec<(&str, &str)> = origin.map(|o| ("origin", o)).into_iter().collect();
        let mut c = open(&url, &headers).await.expect("allowed");
        assert_eq!(whoami(&mut c).await, "alice", "{origin:?}");
    }
    let port = s.addr.port();
    for origin in [
        "http://evil.example".to_owned(),
        "null".to_owned(),
        format!("https://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{}", port + 1),
        format!("http://127.0.0.1:{port}/"),
        "https://app.example".to_owned(),
        "http://good.example:8080".to_owned(),
    ] {
        // a valid token changes nothing, on every endpoint
        for path in ["/ws/", "/strict/", "/rooms/r/"] {
            let url = s.url(&format!("{path}?token=alice-token"));
            let r = refused(&url, &[("origin", &origin)]).await;
            assert_eq!(r.status, 403, "{origin} {path}");
            assert_eq!(r.body, format!("Origin not allowed: {origin:?}."));
        }
    }
    // two Origin headers are one too many, even if both are allowed
    let r = refused(&url, &[("origin", &own), ("origin", &own)]).await;
    assert_eq!(r.status, 403);
    // the own origin is the Host header's
    let r = refused(&url, &[("host", "example.com"), ("origin", &own)]).await;
    assert_eq!(r.status, 403);
    open(
        &url,
        &[("host", "Example.com:80"), ("origin", "http://example.com")],
    )
    .await
    .expect("own origin of the Host header");
    connections_become(&app, 0).await;
    s.stop().await;
}

#[tokio::test]
async fn invalid_configured_origins_are_errors() {
    for (origin, reason) in [
        ("*", "no scheme://"),
        ("app.example", "no scheme://"),
        ("https://app.example/", "a path after the host"),
        ("https://app.example:99999", "not a valid port"),
        ("null", "an opaque origin"),
        ("file:///x", "the scheme is not http, https, ws or wss"),
    ] {
        let e = App::builder()
            .allowed_origins(["http://fine.example", origin])
            .err()
            .expect("an error");
        assert_eq!((e.origin.as_str(), e.reason), (origin, reason));
        assert!(
            e.to_string()
                .starts_with(&format!("{origin:?} is not an origin"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_limit_refuses_with_503_and_counts_every_path() {
    let app = App::builder()
        .max_connections(2)
        .authenticator(TokenAuth::new(lookup).refuse_unknown_tokens())
        .build();
    let s = Server::start(app.clone(), router(&app)).await;
    // refusals before the limit take no place
    for _ in 0..5 {
        assert_eq!(refused(&s.url("/strict/"), &[]).await.status, 403);
        let r = refused(&s.url("/ws/"), &[("origin", "http://evil.example")]).await;
        assert_eq!(r.status, 403);
        let r = refused(&s.url("/ws/?token=nope"), &[]).await;
        assert_eq!((r.status, r.body.as_str()), (403, "Invalid token."));
    }
    assert_eq!(app.connections(), 0);

    let mut a = s.connect("/ws/").await;
    let mut b = s.connect("/ws/?token=alice-token").await;
    assert_eq!(app.connections(), 2);
    for path in ["/ws/", "/strict/?token=alice-token", "/rooms/r/"] {
        let r = refused(&s.url(path), &[]).await;
        assert_eq!(r.status, 503, "{path}");
        assert_eq!(r.retry_after.as_deref(), Some("5"));
        assert_eq!(r.body, "Too many connections: try again later.");
    }
    // the communicator is refused alike: the same admission, the same count
    match Communicator::builder::<Api>(app.clone()).connect().await {
        Err(TestError::Refused { status: 503, .. }) => {}
        other => panic!("not refused with 503: {other:?}"),
    }
    // the two are unharmed
    assert_eq!(whoami(&mut a).await, serde_json::Value::Null);
    assert_eq!(whoami(&mut b).await, "alice");

    // a closed connection gives its place back
    a.ws.close(None).await.unwrap();
    connections_become(&app, 1).await;
    let mut c = s.connect("/ws/").await;
    assert_eq!(whoami(&mut c).await, serde_json::Value::Null);
    assert_eq!(app.connections(), 2);

    // a communicator's connection takes a place while it lives
    drop(c);
    connections_become(&app, 1).await;
    let comm = Communicator::builder::<Api>(app.clone())
        .connect()
        .await
        .unwrap();
    assert_eq!(app.connections(), 2);
    assert_eq!(refused(&s.url("/ws/"), &[]).await.status, 503);
    comm.disconnect().await;
    connections_become(&app, 1).await;

    // a client that asks for the upgrade and goes away gives it back too
    for _ in 0..3 {
        let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        tcp.write_all(
            b"GET /rooms/gone/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await
        .unwrap();
        drop(tcp);
    }
    connections_become(&app, 1).await;
    drop(b);
    connections_become(&app, 0).await;
    s.stop().await;
}

/// An authenticator that takes its time.
struct Slow(Duration);

#[async_trait]
impl Authenticator for Slow {
    async fn authenticate(
        &self,
        _: &axum::http::request::Parts,
    ) -> Result<Option<Arc<dyn User>>, AuthenticationFailed> {
        tokio::time::sleep(self.0).await;
        Ok(None)
    }
}

/// The in-memory layer, with a slow `group_add` and a count of open channels.
#[derive(Default)]
struct SlowJoin {
    inner: InMemoryChannelLayer,
    open_channels: Arc<AtomicUsize>,
    delay: Duration,
}

#[async_trait]
impl ChannelLayer for SlowJoin {
    async fn new_channel(&self, capacity: usize) -> Result<(String, Inbox), LayerError> {
        let made = self.inner.new_channel(capacity).await?;
        self.open_channels.fetch_add(1, Ordering::SeqCst);
        Ok(made)
    }
    async fn close_channel(&self, channel: &str) {
        self.inner.close_channel(channel).await;
        self.open_channels.fetch_sub(1, Ordering::SeqCst);
    }
    async fn send(&self, channel: &str, event: Event) -> Result<(), LayerError> {
        self.inner.send(channel, event).await
    }
    async fn group_add(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        tokio::time::sleep(self.delay).await;
        self.inner.group_add(group, channel).await
    }
    async fn group_discard(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        self.inner.group_discard(group, channel).await
    }
    async fn group_send(&self, group: &str, event: Event) -> Result<(), LayerError> {
        self.inner.group_send(group, event).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_timeout_gives_everything_back() {
    // authentication that takes too long
    let app = App::builder()
        .handshake_timeout(Duration::from_millis(200))
        .authenticator(Slow(Duration::from_secs(3)))
        .build();
    let s = Server::start(app.clone(), router(&app)).await;
    let started = std::time::Instant::now();
    let r = refused(&s.url("/ws/"), &[]).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body, "The connection could not be set up in time.");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(app.connections(), 0);
    s.stop().await;

    // joining the group takes too long: refused, then the channel and the
    // membership are given back once the join is done
    let open_channels = Arc::new(AtomicUsize::new(0));
    let app = App::builder()
        .handshake_timeout(Duration::from_millis(200))
        .channel_layer(SlowJoin {
            open_channels: open_channels.clone(),
            delay: Duration::from_millis(600),
            ..SlowJoin::default()
        })
        .build();
    let s = Server::start(app.clone(), router(&app)).await;
    let r = refused(&s.url("/rooms/slow/"), &[]).await;
    assert_eq!(r.status, 503);
    connections_become(&app, 0).await;
    assert_eq!(open_channels.load(Ordering::SeqCst), 0);
    // nothing of it is left in the group
    let mut member = Communicator::builder::<Room>(app.clone())
        .url_kwarg("room", "other")
        .connect()
        .await
        .unwrap();
    app.layer()
        .group_send("slow", Event::new("x", &json!(1)).unwrap())
        .await
        .unwrap();
    assert!(member.receive_nothing(Duration::from_millis(50)).await);
    // within the timeout, the same layer serves
    s.stop().await;
    let app = App::builder()
        .handshake_timeout(Duration::from_secs(5))
        .channel_layer(SlowJoin {
            delay: Duration::from_millis(100),
            ..SlowJoin::default()
        })
        .build();
    let s = Server::start(app.clone(), router(&app)).await;
    let c = open(&s.url("/rooms/fine/"), &[]).await;
    assert!(c.is_ok());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_connect_has_the_handshake_timeout() {
    let app = App::builder()
        .handshake_timeout(Duration::from_millis(300))
        .build();
    let s = Server::start(app.clone(), router(&app)).await;
    let mut fine = s.connect("/slow/a/?ms=10").await;
    assert_eq!(fine.recv().await, json!({"hello": 10}));
    let started = std::time::Instant::now();
    let mut slow = s.connect("/slow/a/?ms=3000").await;
    assert_eq!(slow.close_code().await, Some(1011));
    assert!(started.elapsed() < Duration::from_secs(2));
    connections_become(&app, 1).await;
    // the refused one left the group: an event reaches the one member once
    app.layer()
        .group_send(
            "a",
            Event::new("general.broadcast", &json!({"n": 1})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(fine.recv().await, json!({"n": 1}));
    assert!(fine.silent_for(Duration::from_millis(100)).await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tokens_are_anonymous_unless_the_app_refuses_them() {
    let lenient = App::builder().authenticator(TokenAuth::new(lookup)).build();
    let s = Server::start(lenient.clone(), router(&lenient)).await;
    let mut c = s.connect("/ws/?token=nope").await;
    assert_eq!(whoami(&mut c).await, serde_json::Value::Null);
    s.stop().await;

    let strict = App::builder()
        .authenticator(TokenAuth::new(lookup).refuse_unknown_tokens())
        .build();
    let s = Server::start(strict.clone(), router(&strict)).await;
    for path in ["/ws/?token=nope", "/strict/?token=nope"] {
        let r = refused(&s.url(path), &[]).await;
        assert_eq!((r.status, r.body.as_str()), (403, "Invalid token."));
    }
    let r = refused(&s.url("/ws/"), &[("authorization", "Bearer nope")]).await;
    assert_eq!((r.status, r.body.as_str()), (403, "Invalid token."));
    // no token: anonymous; a known one: the user
    let mut anon = s.connect("/ws/").await;
    assert_eq!(whoami(&mut anon).await, serde_json::Value::Null);
    let mut alice = open(&s.url("/ws/"), &[("authorization", "Bearer alice-token")])
        .await
        .unwrap();
    assert_eq!(whoami(&mut alice).await, "alice");

    // the communicator authenticates through the same code
    match Communicator::builder::<Api>(strict.clone())
        .query("token=nope")
        .connect()
        .await
    {
        Err(TestError::Refused { status, body }) => {
            assert_eq!((status, body.as_str()), (403, "Invalid token."));
        }
        other => panic!("not refused: {other:?}"),
    }
    let mut c = Communicator::builder::<Api>(strict.clone())
        .query("token=alice-token")
        .connect()
        .await
        .unwrap();
    c.send_json(&json!({"action": "whoami"})).await;
    assert_eq!(c.receive_json().await.unwrap()["data"]["username"], "alice");
    // a user the test gives (as middleware would) comes before the authenticator
    let mut c = Communicator::builder::<Api>(strict.clone())
        .user(SimpleUser::new(9, "mallory"))
        .query("token=nope")
        .connect()
        .await
        .unwrap();
    c.send_json(&json!({"action": "whoami"})).await;
    assert_eq!(
        c.receive_json().await.unwrap()["data"]["username"],
        "mallory"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_users_come_before_the_authenticator_on_sockets() {
    let app = App::builder()
        .authenticator(TokenAuth::new(lookup).refuse_unknown_tokens())
        .build();
    let router = router(&app).layer(axum::middleware::from_fn(
        |mut req: axum::extract::Request, next: axum::middleware::Next| async move {
            req.extensions_mut()
                .insert(CurrentUser(Arc::new(SimpleUser::new(7, "bob"))));
            next.run(req).await
        },
    ));
    let s = Server::start(app.clone(), router).await;
    let mut c = s.connect("/ws/?token=nope").await;
    assert_eq!(whoami(&mut c).await, "bob");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_communicator_checks_origins_and_shutdown_as_sockets_do() {
    let app = App::builder()
        .allowed_origins(["https://app.example"])
        .unwrap()
        .build();
    let headers = |pairs: &[(&'static str, &str)]| {
        let mut h = axum::http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    };
    for (pairs, ok) in [
        (&[][..], true),
        (&[("origin", "https://app.example")][..], true),
        (
            &[("host", "a.test:81"), ("origin", "http://a.test:81")][..],
            true,
        ),
        (&[("origin", "https://evil.example")][..], false),
        (&[("origin", "null")][..], false),
    ] {
        let connected = Communicator::builder::<Api>(app.clone())
            .headers(headers(pairs))
            .connect()
            .await;
        match connected {
            Ok(c) => {
                assert!(ok, "{pairs:?} admitted");
                c.disconnect().await;
            }
            Err(TestError::Refused { status, .. }) => {
                assert!(!ok, "{pairs:?} refused");
                assert_eq!(status, 403);
            }
            Err(e) => panic!("{e}"),
        }
    }
    // the communicator's connections are the app's: shutdown closes them
    // and refuses new ones
    let mut c = Communicator::builder::<Api>(app.clone())
        .connect()
        .await
        .unwrap();
    assert_eq!(app.connections(), 1);
    app.shutdown();
    assert_eq!(c.receive_close().await.unwrap(), Some(1001));
    tokio::time::timeout(TIMEOUT, app.closed()).await.unwrap();
    assert_eq!(app.connections(), 0);
    match Communicator::builder::<Api>(app.clone()).connect().await {
        Err(TestError::Refused { status: 503, body }) => {
            assert_eq!(body, "The server is shutting down.");
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_refusals_leave_the_server_serving() {
    let app = App::builder().max_connections(1).build();
    let s = Server::start(app.clone(), router(&app)).await;
    let mut c = s.connect("/ws/").await;
    let refusals = (0..50).map(|i| {
        let url = s.url("/ws/");
        async move {
            let origin = if i % 2 == 0 {
                "http://evil.example"
            } else {
                ""
            };
            let headers: Vec<(&str, &str)> = if origin.is_empty() {
                vec![]
            } else {
                vec![("origin", origin)]
            };
            refused(&url, &headers).await.status
        }
    });
    let statuses = futures_util::future::join_all(refusals).await;
    assert!(
        statuses.iter().all(|s| *s == 403 || *s == 503),
        "{statuses:?}"
    );
    assert_eq!(whoami(&mut c).await, serde_json::Value::Null);
    assert_eq!(app.connections(), 1);
    c.ws.close(None).await.unwrap();
    while let Some(Ok(m)) = c.ws.next().await {
        assert!(matches!(m, Message::Close(_)), "{m:?}");
    }
    connections_become(&app, 0).await;
    s.stop().await;
}
