//! The connection loop against real sockets: the close handshake, pings
//! and the idle timeout, the write timeout for a client that does not read,
//! the message rate, graceful shutdown, and replies written together.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{Client, Server, TIMEOUT};
use futures_util::{SinkExt, StreamExt};
use rest_channels::prelude::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[derive(Default)]
pub struct Api;

#[consumer]
impl Api {
    #[async_action]
    async fn echo(&self, data: Option<Value>) -> ActionResult {
        Ok((data.unwrap_or(Value::Null), 200))
    }

    /// A reply of `n` bytes.
    #[async_action]
    async fn big(&self, n: usize) -> ActionResult {
        Ok((Value::String("x".repeat(n)), 200))
    }

    #[async_action(detached)]
    async fn wait(&self, ms: u64) -> ActionResult {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(reply!({"waited": ms}, 200))
    }

    /// Not detached: holds the connection's queue.
    #[async_action]
    async fn hold(&self, ms: u64) -> ActionResult {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(reply!({"held": ms}, 200))
    }
}

async fn start(app: App) -> Server {
    let router = Router::new()
        .route("/ws/", get(rest_channels::axum::websocket::<Api>))
        .with_state(app.clone());
    Server::start(app, router).await
}

/// Waits until the app serves `n` connections.
async fn connections_become(app: &App, n: usize, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while app.connections() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} connections after {within:?}, expected {n}",
            app.connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_close_from_the_client_is_answered_with_a_close_frame() {
    let server = start(App::builder().build()).await;
    let mut client = server.connect("/ws/").await;
    let reply = client.request(json!({"action": "echo", "data": 1})).await;
    assert_eq!(reply["status"], 200);
    client
        .ws
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        })))
        .await
        .unwrap();
    // RFC 6455 5.5.1: the server answers with a close frame (echoing the code).
    let answer = tokio::time::timeout(TIMEOUT, client.ws.next())
        .await
        .expect("an answer in time");
    match answer {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the server's close frame, got {other:?}"),
    }
    connections_become(&server.app, 0, TIMEOUT).await;
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_is_pinged_then_closed() {
    let app = App::builder()
        .idle_timeout(Some(Duration::from_millis(600)))
        .build();
    let server = start(app).await;
    let mut client = server.connect("/ws/").await;
    // Not reading: the client's library cannot answer the ping.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let mut pinged = false;
    let code = loop {
        match tokio::time::timeout(TIMEOUT, client.ws.next())
            .await
            .expect("a frame in time")
        {
            Some(Ok(Message::Ping(_))) => pinged = true,
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            Some(Err(_)) | None => break None,
        }
    };
    assert!(pinged, "the server pings before it gives up");
    assert_eq!(code, Some(1001));
    connections_become(&server.app, 0, TIMEOUT).await;
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_answers_pings_stays() {
    let app = App::builder()
        .idle_timeout(Some(Duration::from_millis(400)))
        .build();
    let server = start(app).await;
    let client = server.connect("/ws/").await;
    let (mut tx, mut rx) = client.ws.split();
    // Reading answers the server's pings (tungstenite queues the pong and
    // writes it with the next read or write).
    let reader = tokio::spawn(async move {
        let mut pings = 0;
        while let Some(Ok(frame)) = rx.next().await {
            match frame {
                Message::Ping(_) => pings += 1,
                Message::Text(text) => return (pings, Some(text.to_string())),
                _ => break,
            }
        }
        (pings, None)
    });
    // Five timeouts of silence from the application, pongs only.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        tx.flush().await.unwrap(); // writes the queued pongs
    }
    tx.send(Message::text(r#"{"action":"echo","data":"still here"}"#))
        .await
        .unwrap();
    let (pings, reply) = tokio::time::timeout(TIMEOUT, reader)
        .await
        .unwrap()
        .unwrap();
    assert!(pings >= 2, "pinged {pings} times");
    let reply: Value = serde_json::from_str(&reply.expect("the reply")).unwrap();
    assert_eq!(reply["data"], "still here");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_does_not_read_is_disconnected_and_others_are_served() {
    let app = App::builder()
        .write_timeout(Duration::from_millis(300))
        .build();
    let server = start(app).await;
    let slow = server.connect("/ws/").await;
    let (mut slow_tx, _slow_rx_never_read) = slow.ws.split();
    // Replies of 60 KB, far more than the sockets' buffers hold.
    let flood = tokio::spawn(async move {
        for _ in 0..2000 {
            if slow_tx
                .send(Message::text(r#"{"action":"big","n":60000}"#))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    // Meanwhile a neighbour is served at once.
    let mut other = server.connect("/ws/").await;
    for i in 0..20 {
        let reply = other.request(json!({"action": "echo", "data": i})).await;
        assert_eq!(reply["data"], i);
    }
    // The slow reader is gone well before it could have read its replies.
    connections_become(&server.app, 1, Duration::from_secs(10)).await;
    let reply = other
        .request(json!({"action": "echo", "data": "after"}))
        .await;
    assert_eq!(reply["data"], "after");
    flood.abort();
    server.stop().await;
}

#[tokio::test]
async fn a_client_over_the_message_rate_is_closed_with_1008() {
    let app = App::builder().max_message_rate(Some(20)).build();
    let server = start(app).await;

    // At the rate: served.
    let mut polite = server.connect("/ws/").await;
    for i in 0..10 {
        let reply = polite.request(json!({"action": "echo", "data": i})).await;
        assert_eq!(reply["data"], i);
    }

    let mut flooder = server.connect("/ws/").await;
    for i in 0..200 {
        let text = json!({"action": "echo", "data": i}).to_string();
        if flooder.ws.send(Message::text(text)).await.is_err() {
            break;
        }
    }
    // The first burst is answered, then the close.
    let mut answered = 0;
    let code = loop {
        match tokio::time::timeout(TIMEOUT, flooder.ws.next())
            .await
            .expect("a frame in time")
        {
            Some(Ok(Message::Text(_))) => answered += 1,
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    assert_eq!(code, Some(1008));
    assert!(
        (20..200).contains(&answered),
        "{answered} answered before the close"
    );
    // The polite client is not affected.
    let reply = polite
        .request(json!({"action": "echo", "data": "ok"}))
        .await;
    assert_eq!(reply["data"], "ok");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_running_actions_reply_then_closes_with_1001() {
    let app = App::builder()
        .shutdown_grace(Duration::from_secs(3))
        .build();
    let server = start(app).await;
    let mut detached = server.connect("/ws/").await;
    let mut in_order = server.connect("/ws/").await;
    detached
        .send_json(&json!({"action": "wait", "ms": 400, "request_id": 1}))
        .await;
    in_order
        .send_json(&json!({"action": "hold", "ms": 400, "request_id": 2}))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.app.shutdown();
    let reply = detached.recv().await;
    assert_eq!(reply["data"]["waited"], 400);
    assert_eq!(detached.close_code().await, Some(1001));
    let reply = in_order.recv().await;
    assert_eq!(reply["data"]["held"], 400);
    assert_eq!(in_order.close_code().await, Some(1001));
    server.stop().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_past_the_grace_period() {
    let app = App::builder()
        .shutdown_grace(Duration::from_millis(200))
        .build();
    let server = start(app).await;
    let mut client = server.connect("/ws/").await;
    client
        .send_json(&json!({"action": "wait", "ms": 60000}))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.app.shutdown();
    // Closed after the grace period, not after the minute.
    assert_eq!(client.close_code().await, Some(1001));
    server.stop().await;
}

#[tokio::test]
async fn pipelined_requests_are_all_answered_in_order() {
    let server = start(App::builder().build()).await;
    let mut client: Client = server.connect("/ws/").await;
    // Many in flight at once: the replies that are ready together are
    // written together; every one arrives, in order, complete.
    for i in 0..500 {
        let text = json!({"action": "echo", "data": i, "request_id": i}).to_string();
        client.ws.feed(Message::text(text)).await.unwrap();
    }
    client.ws.flush().await.unwrap();
    for i in 0..500 {
        let reply = client.recv().await;
        assert_eq!(reply["request_id"], i);
        assert_eq!(reply["data"], i);
    }
    // And a lone request afterwards is not held back.
    let reply = client
        .request(json!({"action": "echo", "data": "lone"}))
        .await;
    assert_eq!(reply["data"], "lone");
    server.stop().await;
}
