//! `rest_channels::axum::serve` over real sockets: a client that trickles
//! its request headers (or sends none) is dropped after the handshake
//! timeout, WebSockets are served, and a shutdown closes them with 1001 and
//! ends `serve`.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{Client, TIMEOUT};
use rest_channels::prelude::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
pub struct Api;

#[consumer]
impl Api {
    #[async_action]
    async fn ping(&self) -> ActionResult {
        Ok(reply!("pong", 200))
    }
}

async fn start(
    app: App,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let router = Router::new()
        .route("/ws/", get(rest_channels::axum::websocket::<Api>))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = tokio::spawn(rest_channels::axum::serve(listener, router, app));
    (addr, served)
}

/// Reads until the server hangs up; `false` if it did not within `within`.
async fn hung_up(tcp: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_dropped() {
    let app = App::builder()
        .handshake_timeout(Duration::from_millis(300))
        .build();
    let (addr, served) = start(app.clone()).await;

    let mut trickler = tokio::net::TcpStream::connect(addr).await.unwrap();
    trickler
        .write_all(b"GET /ws/ HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();

    // Meanwhile a well-behaved client is served.
    let mut client = Client::connect(&format!("ws://{addr}/ws/"), None)
        .await
        .unwrap();
    let reply = client.request(json!({"action": "ping"})).await;
    assert_eq!(reply["data"], "pong");

    assert!(
        hung_up(&mut trickler, Duration::from_secs(3)).await,
        "the trickler is dropped"
    );
    assert!(
        hung_up(&mut silent, Duration::from_secs(3)).await,
        "the silent one too"
    );

    // An upgraded socket is not subject to it.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let reply = client.request(json!({"action": "ping"})).await;
    assert_eq!(reply["data"], "pong");

    app.shutdown();
    assert_eq!(client.close_code().await, Some(1001));
    tokio::time::timeout(TIMEOUT, served)
        .await
        .expect("serve ends after the shutdown")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn after_a_shutdown_no_connection_is_accepted() {
    let app = App::builder().build();
    let (addr, served) = start(app.clone()).await;
    app.shutdown();
    tokio::time::timeout(TIMEOUT, served)
        .await
        .expect("serve ends")
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
