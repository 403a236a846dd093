//! One connection's life: join, dispatch messages in order, forward events,
//! leave. Generic over the transport, so the axum socket and the in-process
//! test communicator run exactly the same code.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::context::{Connection, Context};
use crate::envelope::{self, Message};
use crate::error::{Error, ErrorKind};
use crate::handler::{Consumer, Handler, Reply};
use crate::layer::Event;
use crate::scope::Scope;
use tokio::sync::oneshot;

/// What a transport received.
pub(crate) enum Incoming {
    Text(Utf8Bytes),
    Binary,
    TooLarge,
    /// The peer broke the protocol: close with this code.
    Broken(u16),
    Closed,
}

/// Close codes used by the server.
pub(crate) mod close {
    pub(crate) const GOING_AWAY: u16 = 1001;
    pub(crate) const PROTOCOL_ERROR: u16 = 1002;
    pub(crate) const INVALID_PAYLOAD: u16 = 1007;
    pub(crate) const TOO_LARGE: u16 = 1009;
    pub(crate) const INTERNAL: u16 = 1011;
    pub(crate) const FORBIDDEN: u16 = 4003;
}

/// A message transport: a WebSocket, or the test communicator's channels.
pub(crate) trait Transport: Send {
    fn recv(&mut self) -> impl Future<Output = Incoming> + Send;
    /// `false` when the peer is gone.
    fn send(&mut self, text: Utf8Bytes) -> impl Future<Output = bool> + Send;
    /// Closes with `code`, or (`None`) completes a close the peer started.
    fn close(self, code: Option<u16>, reason: &'static str) -> impl Future<Output = ()> + Send;
}

const BINARY_FRAME: &str =
    "Binary frames are not supported: send each message as a JSON object in a text frame.";

/// Serves one connection until it closes. The scope's `can_connect` was
/// checked before the upgrade.
///
/// `ready` is told once the connection has joined its group and run
/// `on_connect` (`true`), or was refused (`false`).
pub(crate) async fn serve<C: Consumer, T: Transport>(
    scope: Scope,
    mut transport: T,
    ready: Option<oneshot::Sender<bool>>,
) {
    let ready = move |ok: bool| {
        if let Some(tx) = ready {
            let _ = tx.send(ok);
        }
    };
    let app = scope.app.clone();
    let capacity = app.settings().channel_capacity;
    let (channel, mut inbox) = match app.layer().new_channel(capacity).await {
        Ok(pair) => pair,
        Err(e) => {
            tracing::error!(error = %e, "channel layer: no channel for a new connection");
            ready(false);
            transport
                .close(Some(close::INTERNAL), "channel layer unavailable")
                .await;
            return;
        }
    };
    let group = C::GROUP_KWARG
        .and_then(|k| scope.url_kwarg(k))
        .map(str::to_owned);
    let conn = Connection::new(scope, channel, group.clone());
    let consumer = C::default();
    let empty = Message::default();

    let opened = async {
        if let Some(kwarg) = C::GROUP_KWARG {
            let group = group.as_deref().ok_or_else(|| {
                Error::msg(format_args!(
                    "the consumer's group kwarg `{kwarg}` is not in the URL route"
                ))
            })?;
            Context::new(&conn, &empty).group_add(group).await?;
        }
        consumer.on_connect(&Context::new(&conn, &empty)).await
    };
    let opened = match AssertUnwindSafe(opened).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => Err(Error::msg(format_args!(
            "on_connect panicked: {}",
            panic_message(&panic)
        ))),
    };
    if let Err(e) = opened {
        let code = if e.status() == 403 {
            close::FORBIDDEN
        } else {
            close::INTERNAL
        };
        tracing::warn!(error = %e, "connection refused after the upgrade");
        ready(false);
        leave(&conn).await;
        transport.close(Some(code), "refused").await;
        return;
    }

    ready(true);
    let shutdown = app.shutdown_token().clone();
    // What `on_connect` sent goes out first.
    let flushed = flush(&conn, &mut transport).await;
    // A layer may drop a channel's sender; then the inbox is done, not busy.
    let mut inbox_open = true;
    let close_code = if !flushed {
        None
    } else {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break Some(close::GOING_AWAY),
                event = inbox.recv(), if inbox_open => {
                    let Some(event) = event else {
                        inbox_open = false;
                        continue;
                    };
                    let result = AssertUnwindSafe(Box::pin(on_event(&consumer, &conn, &empty, &event))).catch_unwind().await;
                    match result {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::error!(kind = event.kind(), error = %e, "event handler failed"),
                        Err(panic) => tracing::error!(kind = event.kind(), panic = panic_message(&panic), "event handler panicked"),
                    }
                    if !flush(&conn, &mut transport).await {
                        break None;
                    }
                }
                incoming = transport.recv() => match incoming {
                    Incoming::Text(text) => {
                        // Boxed: the connection's own future stays small while idle.
                        let reply = Box::pin(dispatch(&consumer, &conn, &text)).await;
                        if !flush(&conn, &mut transport).await {
                            break None;
                        }
                        if let Some(reply) = reply
                            && !transport.send(reply.into()).await
                        {
                            break None;
                        }
                    }
                    Incoming::Binary => {
                        if !transport.send(envelope::write_undecodable(BINARY_FRAME).into()).await {
                            break None;
                        }
                    }
                    Incoming::TooLarge => break Some(close::TOO_LARGE),
                    Incoming::Broken(code) => break Some(code),
                    Incoming::Closed => break None,
                },
            }
        }
    };
    leave(&conn).await;
    let reason = match close_code {
        Some(close::TOO_LARGE) => "message too large",
        Some(close::INVALID_PAYLOAD) => "text frames must be UTF-8",
        Some(close::PROTOCOL_ERROR) => "protocol error",
        Some(_) => "server shutting down",
        None => "",
    };
    transport.close(close_code, reason).await;
    consumer.on_disconnect(&Context::new(&conn, &empty)).await;
}

async fn on_event<C: Consumer>(
    consumer: &C,
    conn: &Connection,
    empty: &Message<'_>,
    event: &Event,
) -> Result<(), Error> {
    consumer.on_event(&Context::new(conn, empty), event).await
}

/// Leaves every group and gives the channel back.
async fn leave(conn: &Connection) {
    let groups = std::mem::take(&mut *conn.groups.lock().unwrap_or_else(|e| e.into_inner()));
    let layer = conn.scope.app.layer();
    for group in groups {
        if let Err(e) = layer.group_discard(&group, &conn.channel).await {
            tracing::warn!(group, error = %e, "group_discard failed");
        }
    }
    layer.close_channel(&conn.channel).await;
}

/// Sends what actions and event handlers queued for this client.
async fn flush<T: Transport>(conn: &Connection, transport: &mut T) -> bool {
    for text in conn.take_outbox() {
        if !transport.send(text).await {
            return false;
        }
    }
    true
}

/// Decodes one text frame, runs it, and returns the reply (if any).
/// Nothing here can fail the connection: errors and panics become replies.
pub(crate) async fn dispatch<C: Handler>(
    consumer: &C,
    conn: &Connection,
    text: &str,
) -> Option<String> {
    let msg = match Message::decode(text) {
        Ok(msg) => msg,
        Err(e) => return Some(envelope::write_undecodable(&e.0)),
    };
    let app = &conn.scope.app;
    let result = if msg.action().is_none() {
        Err(Error::from_kind(ErrorKind::ActionMissing))
    } else if !msg.route_is_valid() {
        Err(Error::invalid("route", "Not a valid string."))
    } else {
        let mut ctx = Context::new(conn, &msg);
        match AssertUnwindSafe(consumer.handle(&mut ctx))
            .catch_unwind()
            .await
        {
            Ok(result) => result,
            Err(panic) => Err(Error::msg(format_args!(
                "the action panicked: {}",
                panic_message(&panic)
            ))),
        }
    };
    match result {
        Ok(Reply(reply)) => reply,
        Err(e) => {
            let e = app.map_error(e);
            Some(envelope::write_error(msg.head(), &e, app.settings().debug))
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
