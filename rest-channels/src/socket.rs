//! The WebSocket transport of a served connection: tungstenite over the
//! upgraded HTTP connection.
//!
//! Two things keep its cost per message down:
//!
//! - The socket is read only when it woke the connection. The connection's
//!   loop also wakes for events from the layer, for detached actions and
//!   timers; polling tungstenite then would cost a read attempt (and the
//!   zeroing of its read buffer) for nothing. A waker of its own tells the
//!   socket's wake-ups apart ([`ReadWake`]).
//! - Frames are queued ([`Transport::feed`]) and written together
//!   ([`Transport::flush`]): the loop flushes once nothing else is ready, so
//!   replies and events that are ready at the same time leave in one
//!   write(2), and a lone reply is not held back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::time::Instant;

use futures_util::task::AtomicWaker;
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

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

pub(crate) struct Socket {
    ws: Ws,
    /// Set when the socket woke the task (or may have more to give).
    wake: Arc<ReadWake>,
    /// A waker over `wake`, given to tungstenite for its reads.
    waker: Waker,
    write_timeout: Duration,
    last_seen: Instant,
}

/// The socket's own waker: it notes that the socket woke, then wakes the
/// connection's task.
struct ReadWake {
    woke: AtomicBool,
    task: AtomicWaker,
}

impl Wake for ReadWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woke.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl Socket {
    pub(crate) fn new(ws: Ws, write_timeout: Duration) -> Self {
        let wake = Arc::new(ReadWake {
            woke: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Socket {
            ws,
            waker: Waker::from(wake.clone()),
            wake,
            write_timeout,
            last_seen: Instant::now(),
        }
    }
}

/// `write` within the write timeout; `false` when it failed or the client
/// did not read in time.
async fn timed(
    timeout: Duration,
    write: impl Future<Output = Result<(), tungstenite::Error>>,
) -> bool {
    match tokio::time::timeout(timeout, write).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "write failed");
            false
        }
        Err(_) => {
            tracing::debug!(
                ?timeout,
                "write timeout: the client does not read; disconnecting it"
            );
            false
        }
    }
}

impl Transport for Socket {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Incoming> {
        self.wake.task.register(cx.waker());
        if !self.wake.woke.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let mut own = Context::from_waker(&self.waker);
        loop {
            let Poll::Ready(next) = self.ws.poll_next_unpin(&mut own) else {
                return Poll::Pending;
            };
            // Ready: there may be more where this came from.
            self.wake.woke.store(true, Ordering::Release);
            let incoming = match next {
                Some(Ok(WsMessage::Text(text))) => Incoming::Text(text),
                Some(Ok(WsMessage::Binary(_))) => Incoming::Binary,
                Some(Ok(WsMessage::Close(_))) | None => return Poll::Ready(Incoming::Closed),
                // Pings are answered by tungstenite; a pong only shows the
                // client is alive.
                Some(Ok(_)) => {
                    self.last_seen = Instant::now();
                    continue;
                }
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
            self.last_seen = Instant::now();
            return Poll::Ready(incoming);
        }
    }

    async fn feed(&mut self, text: Utf8Bytes) -> bool {
        timed(self.write_timeout, self.ws.feed(WsMessage::Text(text))).await
    }

    async fn flush(&mut self) -> bool {
        timed(self.write_timeout, self.ws.flush()).await
    }

    async fn ping(&mut self) -> bool {
        let ping = WsMessage::Ping(Default::default());
        timed(self.write_timeout, self.ws.send(ping)).await
    }

    fn last_seen(&self) -> Option<Instant> {
        Some(self.last_seen)
    }

    async fn close(mut self, code: Option<u16>, reason: &'static str) {
        let ws = &mut self.ws;
        let _ = tokio::time::timeout(LINGER, async {
            match code {
                Some(code) => {
                    let frame = CloseFrame {
                        code: code.into(),
                        reason: reason.into(),
                    };
                    ws.close(Some(frame)).await
                }
                // The client started the close: tungstenite queued the
                // answering close frame when it read the client's; write it.
                None => ws.flush().await,
            }
        })
        .await;
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
