//! A real server on a real socket, and a WebSocket client for it.
#![allow(dead_code)]

pub mod pg;
pub mod redis;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rest_channels::App;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A server on 127.0.0.1 with a free port; stopped (with `App::shutdown`) on drop.
pub struct Server {
    pub addr: SocketAddr,
    pub app: App,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start(app: App, router: axum::Router) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let closing = app.clone();
        let listener = rest_channels::axum::nodelay(listener);
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { closing.shutdown_requested().await })
                .await
                .unwrap();
        });
        Server { addr, app, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    pub async fn connect(&self, path: &str) -> Client {
        Client::connect(&self.url(path), None)
            .await
            .expect("connect")
    }

    pub async fn stop(self) {
        self.app.shutdown();
        let _ = tokio::time::timeout(TIMEOUT, self.app.closed()).await;
        let _ = tokio::time::timeout(TIMEOUT, self.task).await;
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects; `Err(status)` when the upgrade is refused.
    pub async fn connect(url: &str, bearer: Option<&str>) -> Result<Client, u16> {
        let mut request = url.into_client_request().unwrap();
        if let Some(token) = bearer {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        match connect_async(request).await {
            Ok((ws, _)) => Ok(Client { ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("connect {url}: {e}"),
        }
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws.send(Message::text(text.into())).await.unwrap();
    }

    pub async fn send_json(&mut self, v: &Value) {
        self.send_text(v.to_string()).await;
    }

    pub async fn recv(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(TIMEOUT, self.ws.next())
                .await
                .expect("a message in time")
                .expect("connection open")
                .expect("no error");
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame: {other:?}"),
            }
        }
    }

    pub async fn request(&mut self, v: Value) -> Value {
        self.send_json(&v).await;
        self.recv().await
    }

    /// Nothing arrives within `d`.
    pub async fn silent_for(&mut self, d: Duration) -> bool {
        tokio::time::timeout(d, self.ws.next()).await.is_err()
    }

    /// Waits for the server's close frame; its code.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(TIMEOUT, self.ws.next())
                .await
                .expect("close in time")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}
