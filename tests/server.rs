//! The framework over real sockets: dispatch, errors, permissions at connect,
//! groups, frame limits, shutdown.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::{Router, routing::get};
use common::{Client, Server};
use rest_channels::axum::websocket;
use rest_channels::prelude::*;
use rest_channels::{TokenAuth, User};
use serde_json::{Value, json};

#[derive(Default)]
pub struct Leaf;

#[action_handler(permissions = [IsAuthenticated])]
impl Leaf {
    #[async_action]
    async fn show(&self, ctx: &Context<'_>) -> ActionResult {
        let id: i64 = ctx.kwarg("id")?;
        let sub: &str = ctx.kwarg("sub")?;
        Ok(reply!({"id": id, "sub": sub, "page": ctx.query_param("page")}, 200))
    }
}

/// A handler with routes of its own.
#[derive(Default)]
pub struct Nested;

#[action_handler(routes = [path("<slug:sub>/", Leaf)])]
impl Nested {
    #[async_action]
    async fn top(&self, ctx: &Context<'_>) -> ActionResult {
        Ok(reply!({"id": ctx.kwarg::<i64>("id")?}, 200))
    }
}

/// Route kwargs fill the parameters named like them (`path("items/<int:pk>/")`).
#[derive(Default)]
pub struct ItemById;

#[action_handler]
impl ItemById {
    #[async_action]
    async fn show(&self, pk: i64, note: Option<String>) -> ActionResult {
        Ok(reply!({"pk": pk, "note": note}, 200))
    }

    /// Blocking, and a narrower type: 300 does not fit.
    #[async_action]
    fn small(&self, pk: u8) -> ActionResult {
        Ok(reply!({"pk": pk}, 200))
    }

    #[async_action]
    async fn as_text(&self, pk: String) -> ActionResult {
        Ok(reply!({"pk": pk}, 200))
    }
}

/// A `re_path` group is a string kwarg (`re_path(r"tags/(?P<name>[-\w]+)/$")`).
#[derive(Default)]
pub struct Tag;

#[action_handler]
impl Tag {
    #[async_action]
    async fn show(&self, name: String) -> ActionResult {
        Ok(reply!({"name": name}, 200))
    }

    #[async_action]
    async fn numeric(&self, name: i64) -> ActionResult {
        Ok(reply!({"name": name}, 200))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the widget is missing")]
struct WidgetMissing;

#[derive(Default)]
pub struct Api {
    calls: AtomicUsize,
}

#[consumer(routes = [
    path("things/<int:id>/", Nested),
    path("items/<int:pk>/", ItemById),
    re_path(r"tags/(?P<name>[-\w]+)/$", Tag),
])]
impl Api {
    #[async_action]
    async fn count(&self) -> ActionResult<usize> {
        Ok((self.calls.fetch_add(1, Ordering::Relaxed) + 1, 200))
    }

    #[async_action]
    async fn panics(&self) -> ActionResult {
        panic!("boom");
    }

    #[async_action]
    fn blocking_panics(&self) -> ActionResult {
        panic!("blocking boom");
    }

    #[async_action]
    async fn mapped(&self) -> ActionResult {
        Err(WidgetMissing)?
    }

    #[async_action]
    async fn args(&self, a: i64, b: String, c: Option<Vec<u8>>) -> ActionResult {
        Ok(reply!({"a": a, "b": b, "c": c}, 201))
    }

    #[async_action]
    async fn push_then_reply(&self, ctx: &Context<'_>) -> ActionResult {
        ctx.send_json(&json!({"progress": 1}))?;
        Ok(reply!("done", 200))
    }
}

#[derive(Default)]
pub struct Strict;

#[consumer(permissions = [IsAuthenticatedStrictly])]
impl Strict {
    #[async_action]
    async fn me(&self, ctx: &Context<'_>) -> ActionResult {
        Ok(reply!(ctx.user().map(|u| u.username()), 200))
    }
}

#[derive(Default)]
pub struct Room;

#[consumer(group = "room")]
impl Room {
    #[async_action(mode = "broadcast", broadcast_type = "room.said")]
    async fn say(&self, text: String) -> ActionResult {
        Ok(reply!({"text": text}, 200))
    }

    #[async_action(mode = "broadcast", send_response_in_broadcast = false)]
    async fn shout(&self, text: String) -> ActionResult {
        Ok(reply!({"text": text}, 200))
    }

    #[event("room.said")]
    async fn said(&self, ctx: &Context<'_>, event: &Event) -> Result<(), Error> {
        let mut body: Value = event.parse()?;
        body["seen_by"] = json!(ctx.channel_name().is_empty());
        ctx.send_json(&body)
    }
}

async fn lookup(token: String) -> Option<Arc<dyn User>> {
    (token == "alice-token").then(|| Arc::new(SimpleUser::new(1, "alice")) as Arc<dyn User>)
}

async fn server(debug: bool) -> Server {
    let app = App::builder()
        .authenticator(TokenAuth::new(lookup))
        .max_message_size(1024)
        .debug(debug)
        .map_error(|e| {
            e.downcast_ref::<WidgetMissing>()
                .map(|_| Error::not_found())
        })
        .build();
    let router = Router::new()
        .route("/ws/", get(websocket::<Api>))
        .route("/strict/", get(websocket::<Strict>))
        .route("/rooms/{room}/", get(websocket::<Room>))
        .with_state(app.clone());
    Server::start(app, router).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_state_is_per_connection_and_messages_run_in_order() {
    let s = server(false).await;
    let mut a = s.connect("/ws/").await;
    let mut b = s.connect("/ws/").await;
    for _ in 0..3 {
        a.send_json(&json!({"action": "count"})).await;
    }
    for expected in 1..=3 {
        assert_eq!(a.recv().await["data"], expected);
    }
    assert_eq!(b.request(json!({"action": "count"})).await["data"], 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_routes_carry_kwargs_query_and_permissions() {
    let s = server(false).await;
    let mut anon = s.connect("/ws/").await;
    let r = anon
        .request(json!({"action": "top", "route": "things/7/"}))
        .await;
    assert_eq!(
        (r["status"].clone(), r["data"].clone()),
        (json!(200), json!({"id": 7}))
    );
    // the leaf needs a user: the outer handlers let it through, the leaf refuses
    let r = anon
        .request(json!({"action": "show", "route": "things/7/x-1/"}))
        .await;
    assert_eq!(r["status"], 403);
    // a nested path that matches nothing is a 404 naming the whole route
    let r = anon
        .request(json!({"action": "top", "route": "things/7/!!/"}))
        .await;
    assert_eq!(r["status"], 404);
    assert_eq!(r["errors"], json!(["No route found: things/7/!!/"]));

    let mut alice = Client::connect(&s.url("/ws/?token=alice-token"), None)
        .await
        .unwrap();
    let r = alice
        .request(json!({"action": "show", "route": "things/7/x-1/more?page=2"}))
        .await;
    assert_eq!(r["data"], json!({"id": 7, "sub": "x-1", "page": "2"}));
    assert_eq!(r["route"], "things/7/x-1/more?page=2");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_kwargs_fill_the_parameters_named_like_them() {
    let s = server(false).await;
    let mut c = s.connect("/ws/").await;
    let show = |route: &str| json!({"action": "show", "route": route});
    let data = |r: Value| (r["status"].clone(), r["data"].clone());
    // an int kwarg into an i64 parameter; leading zeros are fine
    let r = c.request(show("items/42/")).await;
    assert_eq!(data(r), (json!(200), json!({"pk": 42, "note": null})));
    let r = c.request(show("items/007/")).await;
    assert_eq!(data(r), (json!(200), json!({"pk": 7, "note": null})));
    // the route wins over a message key of the same name; other keys still come from the message
    let r = c
        .request(json!({"action": "show", "route": "items/5/", "pk": 9, "note": "n"}))
        .await;
    assert_eq!(data(r), (json!(200), json!({"pk": 5, "note": "n"})));
    // out of the parameter's range: no such object
    let not_found = (json!(404), json!([{"detail": "Not found."}]));
    let r = c.request(show("items/99999999999999999999/")).await;
    assert_eq!((r["status"].clone(), r["errors"].clone()), not_found);
    let r = c
        .request(json!({"action": "small", "route": "items/300/"}))
        .await;
    assert_eq!((r["status"].clone(), r["errors"].clone()), not_found);
    let r = c
        .request(json!({"action": "small", "route": "items/255/"}))
        .await;
    assert_eq!(data(r), (json!(200), json!({"pk": 255})));
    // a String parameter takes the kwarg as written
    let r = c
        .request(json!({"action": "as_text", "route": "items/007/"}))
        .await;
    assert_eq!(data(r), (json!(200), json!({"pk": "007"})));
    // a re_path group is a string
    let r = c.request(show("tags/rust-1/")).await;
    assert_eq!(data(r), (json!(200), json!({"name": "rust-1"})));
    let r = c
        .request(json!({"action": "numeric", "route": "tags/12/"}))
        .await;
    assert_eq!(data(r), (json!(200), json!({"name": 12})));
    let r = c
        .request(json!({"action": "numeric", "route": "tags/rust-1/"}))
        .await;
    assert_eq!((r["status"].clone(), r["errors"].clone()), not_found);
    // a parameter no route names is still a message key
    let r = c.request(json!({"action": "args", "a": 1, "b": "x"})).await;
    assert_eq!(r["status"], 201);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_are_500_and_the_connection_goes_on() {
    let s = server(false).await;
    let mut c = s.connect("/ws/").await;
    for action in ["panics", "blocking_panics"] {
        let r = c
            .request(json!({"action": action, "request_id": action}))
            .await;
        assert_eq!(r["status"], 500, "{r}");
        assert_eq!(r["errors"], json!([{"detail": "A server error occurred."}]));
        assert_eq!(r["request_id"], action);
    }
    assert_eq!(c.request(json!({"action": "count"})).await["data"], 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_mode_shows_internal_errors_and_the_hook_maps_app_errors() {
    let s = server(true).await;
    let mut c = s.connect("/ws/").await;
    let r = c.request(json!({"action": "panics"})).await;
    assert_eq!(
        r["errors"],
        json!([{"detail": "the action panicked: boom"}])
    );
    let r = c.request(json!({"action": "mapped"})).await;
    assert_eq!(
        (r["status"].clone(), r["errors"].clone()),
        (json!(404), json!([{"detail": "Not found."}]))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_argument_is_reported_at_once() {
    let s = server(false).await;
    let mut c = s.connect("/ws/").await;
    let r = c
        .request(json!({"action": "args", "a": "x", "c": [1, 300]}))
        .await;
    assert_eq!(r["status"], 400);
    let errors = r["errors"][0].as_object().unwrap();
    let keys: Vec<_> = errors.keys().cloned().collect();
    assert_eq!(keys, ["a", "b", "c"], "{r}");
    assert_eq!(errors["b"], json!(["This field is required."]));
    let r = c
        .request(json!({"action": "args", "a": 1, "b": "x", "extra": true}))
        .await;
    assert_eq!(
        (r["status"].clone(), r["data"].clone()),
        (json!(201), json!({"a": 1, "b": "x", "c": null}))
    );
    // a route that is not a string
    let r = c.request(json!({"action": "count", "route": 5})).await;
    assert_eq!(
        (r["status"].clone(), r["errors"].clone()),
        (json!(400), json!([{"route": ["Not a valid string."]}]))
    );
    assert_eq!(r["route"], 5);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_during_an_action_come_before_its_reply() {
    let s = server(false).await;
    let mut c = s.connect("/ws/").await;
    c.send_json(&json!({"action": "push_then_reply"})).await;
    assert_eq!(c.recv().await, json!({"progress": 1}));
    assert_eq!(c.recv().await["data"], "done");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_connect_refuses_with_http_403() {
    let s = server(false).await;
    assert_eq!(
        Client::connect(&s.url("/strict/"), None).await.err(),
        Some(403)
    );
    assert_eq!(
        Client::connect(&s.url("/strict/"), Some("wrong"))
            .await
            .err(),
        Some(403)
    );
    let mut c = Client::connect(&s.url("/strict/"), Some("alice-token"))
        .await
        .unwrap();
    assert_eq!(c.request(json!({"action": "me"})).await["data"], "alice");
    // a consumer without routes: any route path is a 404
    let r = c.request(json!({"action": "me", "route": "x/"})).await;
    assert_eq!(r["errors"], json!(["No route found: x/"]));
    assert_eq!(
        c.request(json!({"action": "me", "route": "?q=1"})).await["status"],
        200
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_set_by_the_apps_own_middleware_wins() {
    use axum::extract::Request;
    use axum::middleware::{Next, from_fn};
    use rest_channels::CurrentUser;

    // The app's own auth middleware: a user from a header, into the extensions.
    async fn by_header(mut req: Request, next: Next) -> axum::response::Response {
        if let Some(name) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
            let user = SimpleUser::new(9, name);
            req.extensions_mut().insert(CurrentUser(Arc::new(user)));
        }
        next.run(req).await
    }
    let app = App::builder().authenticator(TokenAuth::new(lookup)).build();
    let router = Router::new()
        .route("/strict/", get(websocket::<Strict>))
        .layer(from_fn(by_header))
        .with_state(app.clone());
    let s = Server::start(app, router).await;
    let mut request = s
        .url("/strict/?token=alice-token")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("x-user", "carol".parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut c = Client { ws };
    assert_eq!(c.request(json!({"action": "me"})).await["data"], "carol");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_over_the_limit_close_with_1009_others_are_served() {
    let s = server(false).await;
    let mut big = s.connect("/ws/").await;
    let mut bystander = s.connect("/ws/").await;
    let ok = json!({"action": "args", "a": 1, "b": "x".repeat(900)});
    assert_eq!(big.request(ok).await["status"], 201);
    big.send_text(format!(
        r#"{{"action": "count", "pad": "{}"}}"#,
        "y".repeat(5000)
    ))
    .await;
    assert_eq!(big.close_code().await, Some(1009));
    assert_eq!(
        bystander.request(json!({"action": "count"})).await["data"],
        1
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_and_malformed_frames_get_400_and_the_connection_stays() {
    let s = server(false).await;
    let mut c = s.connect("/ws/").await;
    c.ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![
        1, 2, 3,
    ]))
    .await
    .unwrap();
    let r = c.recv().await;
    assert_eq!(
        (r["status"].clone(), r["action"].clone()),
        (json!(400), Value::Null)
    );
    for bad in ["{", "[1]", "7", r#"{"action": "count", "action": "count"}"#] {
        c.send_text(bad).await;
        let r = c.recv().await;
        assert_eq!(r["status"], 400, "{bad}: {r}");
        assert!(
            r["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .starts_with("Invalid message: "),
            "{r}"
        );
    }
    assert_eq!(c.request(json!({"action": "count"})).await["data"], 1);
    s.stop().await;
}

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_reach_the_group_only_and_event_handlers_shape_them() {
    let s = server(false).await;
    let mut a = s.connect("/rooms/r1/").await;
    let mut b = s.connect("/rooms/r1/").await;
    let mut other = s.connect("/rooms/r2/").await;
    let r = a
        .request(json!({"action": "say", "text": "hi", "request_id": 1}))
        .await;
    assert_eq!(
        (r["data"].clone(), r["request_id"].clone()),
        (json!({"text": "hi"}), json!(1))
    );
    let event =
        json!({"type": "room.said", "data": {"text": "hi"}, "status": 200, "seen_by": false});
    assert_eq!(a.recv().await, event);
    assert_eq!(b.recv().await, event);
    b.send_json(&json!({"action": "shout", "text": "HEY"}))
        .await;
    let general = json!({"data": {"text": "HEY"}, "status": 200});
    assert_eq!(b.recv().await, general);
    assert_eq!(a.recv().await, general);
    assert!(other.silent_for(Duration::from_millis(300)).await);
    // a member that left gets nothing, and the group goes on
    drop(b);
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.send_json(&json!({"action": "shout", "text": "still"}))
        .await;
    assert_eq!(a.recv().await["data"]["text"], "still");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_socket_with_1001() {
    let s = server(false).await;
    let mut a = s.connect("/ws/").await;
    let mut b = s.connect("/rooms/x/").await;
    assert_eq!(a.request(json!({"action": "count"})).await["data"], 1);
    assert_eq!(s.app.connections(), 2);
    s.app.shutdown();
    assert_eq!(a.close_code().await, Some(1001));
    assert_eq!(b.close_code().await, Some(1001));
    tokio::time::timeout(common::TIMEOUT, s.app.closed())
        .await
        .expect("every connection ended");
    assert_eq!(s.app.connections(), 0);
}

/// A hand-rolled client, for what a WebSocket library will not send.
async fn raw_frame_then_close_code(s: &Server, frame: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let handshake = format!(
        "GET /ws/ HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        s.addr
    );
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.unwrap());
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp.write_all(frame).await.unwrap();
    let mut reply = [0u8; 4];
    tokio::time::timeout(common::TIMEOUT, tcp.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply[0], 0x88, "a close frame");
    u16::from_be_bytes([reply[2], reply[3]])
}

/// A masked client frame (mask 0: the payload as is).
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    f.extend_from_slice(payload);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_frames_close_with_the_rfc_codes() {
    let s = server(false).await;
    // text that is not UTF-8: 1007
    assert_eq!(
        raw_frame_then_close_code(&s, &masked(0x81, b"{\"a\": \"\xff\"}")).await,
        1007
    );
    // reserved bits set: 1002
    assert_eq!(
        raw_frame_then_close_code(&s, &masked(0xC1, b"hi")).await,
        1002
    );
    s.stop().await;
}
