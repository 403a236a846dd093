//! The WebSocket transport of a served connection: tungstenite over the
//! upgraded HTTP connection.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage, Utf8Bytes};

use crate::connection::{Incoming, Transport, close};

/// How long a closing connection waits for its peer before dropping it.
const LINGER: Duration = Duration::from_secs(2);
/// How much a closing connection reads and discards at most.
const LINGER_BYTES: usize = 1 << 20;

pub(crate) struct Socket {
    ws: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
}

impl Socket {
    pub(crate) fn new(ws: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>) -> Self {
        Socket { ws }
    }
}

impl Transport for Socket {
    async fn recv(&mut self) -> Incoming {
        loop {
            return match self.ws.next().await {
                Some(Ok(WsMessage::Text(text))) => Incoming::Text(text),
                Some(Ok(WsMessage::Binary(_))) => Incoming::Binary,
                Some(Ok(WsMessage::Close(_))) | None => Incoming::Closed,
                Some(Ok(_)) => continue, // ping, pong: tungstenite answers pings itself
                Some(Err(tungstenite::Error::Capacity(e))) => {
                    tracing::debug!(error = %e, "frame over the size limit");
                    Incoming::TooLarge
                }
                Some(Err(tungstenite::Error::Utf8(e))) => {
                    tracing::debug!(error = %e, "text frame that is not UTF-8");
                    Incoming::Broken(close::INVALID_PAYLOAD)
                }
                Some(Err(tungstenite::Error::Protocol(e))) => {
                    tracing::debug!(error = %e, "WebSocket protocol error");
                    Incoming::Broken(close::PROTOCOL_ERROR)
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "WebSocket error");
                    Incoming::Closed
                }
            };
        }
    }

    async fn send(&mut self, text: Utf8Bytes) -> bool {
        self.ws.send(WsMessage::Text(text)).await.is_ok()
    }

    async fn close(mut self, code: Option<u16>, reason: &'static str) {
        let frame = code.map(|code| CloseFrame {
            code: code.into(),
            reason: reason.into(),
        });
        // With `None` this completes a close the client started.
        let _ = tokio::time::timeout(LINGER, self.ws.close(frame)).await;
        let io = self.ws.get_mut();
        let _ = io.shutdown().await;
        // Read until the client hangs up, so that the close frame is not
        // destroyed by a reset for unread data.
        let _ = tokio::time::timeout(LINGER, async {
            // On the heap: a buffer on the stack would be part of every
            // connection's future, idle or not.
            let mut buf = vec![0u8; 4096];
            let mut total = 0;
            while total < LINGER_BYTES {
                match io.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        })
        .await;
    }
}
