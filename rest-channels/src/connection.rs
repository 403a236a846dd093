//! One connection's life: join, dispatch messages in order, forward events,
//! leave. Generic over the transport, so the axum socket and the in-process
//! test communicator run exactly the same code.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::context::{Connection, Context};
use crate::detached::{Detached, Dispatch, InOrder, Step};
use crate::envelope::{self, Message};
use crate::error::{Error, ErrorKind};
use crate::handler::{Consumer, Handler, Reply};
use crate::layer::{Event, Inbox};
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
    transport: T,
    ready: Option<oneshot::Sender<bool>>,
) {
    let opened = open::<C>(scope).await;
    serve_opened::<C, T>(opened, transport, ready).await;
}

/// A connection with its channel, in its consumer's group.
pub(crate) struct Opened {
    conn: Connection,
    inbox: Inbox,
}

/// Why a connection could not be opened: the close code and reason that
/// refuse it once upgraded.
pub(crate) type Refused = (u16, &'static str);

/// Makes the connection's channel and joins the consumer's group. The axum
/// handler runs this before it answers the handshake (as a Channels consumer
/// adds itself to its group before it accepts), so that an event sent once
/// the handshake is done reaches the client.
pub(crate) async fn open<C: Consumer>(scope: Scope) -> Result<Opened, Refused> {
    let Some((conn, inbox)) = setup::<C>(scope).await else {
        return Err((close::INTERNAL, "channel layer unavailable"));
    };
    if let Err(e) = join_group::<C>(&conn).await {
        tracing::warn!(error = %e, "connection refused: it could not join its group");
        leave(&conn).await;
        return Err((close::INTERNAL, "refused"));
    }
    Ok(Opened { conn, inbox })
}

/// Gives back what [`open`] took, for a connection whose upgrade failed.
pub(crate) async fn abandon(opened: Opened) {
    leave(&opened.conn).await;
}

/// Serves an opened connection (or closes a refused one) until it closes.
pub(crate) async fn serve_opened<C: Consumer, T: Transport>(
    opened: Result<Opened, Refused>,
    mut transport: T,
    ready: Option<oneshot::Sender<bool>>,
) {
    let ready = move |ok: bool| {
        if let Some(tx) = ready {
            let _ = tx.send(ok);
        }
    };
    let Opened { conn, inbox } = match opened {
        Ok(opened) => opened,
        Err((code, reason)) => {
            ready(false);
            transport.close(Some(code), reason).await;
            return;
        }
    };
    let consumer = C::default();
    if let Err(code) = join(&consumer, &conn).await {
        ready(false);
        leave(&conn).await;
        transport.close(Some(code), "refused").await;
        return;
    }
    ready(true);
    let close_code = run(&consumer, &conn, inbox, &mut transport).await;
    finish(&consumer, &conn, transport, close_code).await;
}

/// The connection's channel in the layer, and what the connection holds
/// for its life; `None` when the layer has no channel for it.
async fn setup<C: Consumer>(scope: Scope) -> Option<(Connection, Inbox)> {
    let capacity = scope.app.settings().channel_capacity;
    let (channel, inbox) = match scope.app.layer().new_channel(capacity).await {
        Ok(pair) => pair,
        Err(e) => {
            tracing::error!(error = %e, "channel layer: no channel for a new connection");
            return None;
        }
    };
    let group = C::GROUP_KWARG
        .and_then(|k| scope.url_kwarg(k))
        .map(str::to_owned);
    Some((Connection::new(scope, channel, group), inbox))
}

/// Joins the consumer's group (its `group` kwarg), if it has one.
async fn join_group<C: Consumer>(conn: &Connection) -> Result<(), Error> {
    if let Some(kwarg) = C::GROUP_KWARG {
        let group = conn.broadcast_group.as_deref().ok_or_else(|| {
            Error::msg(format_args!(
                "the consumer's group kwarg `{kwarg}` is not in the URL route"
            ))
        })?;
        let empty = Message::default();
        Context::new(conn, &empty).group_add(group).await?;
    }
    Ok(())
}

/// Runs `on_connect`; on an error or a panic, the close code that refuses
/// the connection.
async fn join<C: Consumer>(consumer: &C, conn: &Connection) -> Result<(), u16> {
    let joined = match AssertUnwindSafe(on_connect(consumer, conn))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => Err(Error::msg(format_args!(
            "on_connect panicked: {}",
            panic_message(&panic)
        ))),
    };
    joined.map_err(|e| {
        tracing::warn!(error = %e, "connection refused after the upgrade");
        if e.status() == 403 {
            close::FORBIDDEN
        } else {
            close::INTERNAL
        }
    })
}

/// The `on_connect` hook.
async fn on_connect<C: Consumer>(consumer: &C, conn: &Connection) -> Result<(), Error> {
    let empty = Message::default();
    consumer.on_connect(&Context::new(conn, &empty)).await
}

/// The `on_disconnect` hook.
async fn on_disconnect<C: Consumer>(consumer: &C, conn: &Connection) {
    let empty = Message::default();
    consumer.on_disconnect(&Context::new(conn, &empty)).await;
}

/// An event from the layer, to the consumer's `on_event`; a failure or a
/// panic is logged, and the connection goes on.
async fn on_event<C: Consumer>(consumer: &C, conn: &Connection, event: &Event) {
    // Observer pushes go to the connection's subscriptions, not to the consumer.
    if crate::observer::deliver(conn, event).await {
        return;
    }
    let empty = Message::default();
    let ctx = Context::new(conn, &empty);
    match AssertUnwindSafe(consumer.on_event(&ctx, event))
        .catch_unwind()
        .await
    {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(kind = event.kind(), error = %e, "event handler failed"),
        Err(panic) => tracing::error!(
            kind = event.kind(),
            panic = panic_message(&panic),
            "event handler panicked"
        ),
    }
}

/// The loop: messages from the client and events from the layer, one at a
/// time, until the client goes, a frame breaks the rules, or the server
/// shuts down. Returns the close code to send (`None`: no close frame of
/// our own, the peer is gone or started the close).
///
/// Detached actions run beside it (see `detached`): a message whose action
/// detaches leaves the queue, and the loop goes on with the next one while
/// the set of detached actions, owned here, runs it to its reply. Their
/// replies go out as they come, between the in-order ones, and what they
/// queue for the client (`Context::send_json`) as they queue it; when the
/// loop ends, dropping the set cancels what still runs.
async fn run<'a, C: Consumer, T: Transport>(
    consumer: &'a C,
    conn: &'a Connection,
    mut inbox: Inbox,
    transport: &mut T,
) -> Option<u16> {
    // What `on_connect` sent goes out first.
    if !flush(conn, transport).await {
        return None;
    }
    let shutdown = conn.scope.app.shutdown_token().clone();
    let mut detached = Detached::new(&conn.detached);
    // A layer may drop a channel's sender; then the inbox is done, not busy.
    let mut inbox_open = true;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Some(close::GOING_AWAY),
            reply = detached.next() => {
                if !reply_with(conn, transport, reply).await {
                    return None;
                }
            }
            () = conn.outbox_ready.notified(), if !detached.is_empty() => {
                if !flush(conn, transport).await {
                    return None;
                }
            }
            event = inbox.recv(), if inbox_open => {
                let Some(event) = event else {
                    inbox_open = false;
                    continue;
                };
                // Boxed, as `dispatch` below.
                let handled = Box::pin(on_event(consumer, conn, &event));
                if beside(handled, &mut detached, conn, transport).await.is_none()
                    || !flush(conn, transport).await
                {
                    return None;
                }
            }
            incoming = transport.recv() => match incoming {
                Incoming::Text(text) => {
                    // Boxed: the connection's own future stays small while
                    // idle, and a detached action's rest can move to the set.
                    let dispatch: Dispatch<'a> =
                        Box::pin(async move { dispatch(consumer, conn, &text).await });
                    let in_order = InOrder::new(dispatch, &conn.detached);
                    let reply = match beside(in_order, &mut detached, conn, transport).await {
                        None => return None,
                        Some(Step::Replied(reply)) => reply,
                        Some(Step::Detached(rest)) => {
                            detached.push(rest);
                            None
                        }
                    };
                    if !reply_with(conn, transport, reply).await {
                        return None;
                    }
                }
                Incoming::Binary => {
                    if !transport.send(envelope::write_undecodable(BINARY_FRAME).into()).await {
                        return None;
                    }
                }
                Incoming::TooLarge => return Some(close::TOO_LARGE),
                Incoming::Broken(code) => return Some(code),
                Incoming::Closed => return None,
            },
        }
    }
}

/// Awaits `fut` while the detached actions run, sending their replies as
/// they come; `None` when the client is gone. (No detached action can
/// start meanwhile: only the message dispatched in order detaches.)
async fn beside<F: Future + Unpin, T: Transport>(
    mut fut: F,
    detached: &mut Detached<'_>,
    conn: &Connection,
    transport: &mut T,
) -> Option<F::Output> {
    if detached.is_empty() {
        return Some(fut.await);
    }
    loop {
        tokio::select! {
            out = &mut fut => return Some(out),
            reply = detached.next() => {
                if !reply_with(conn, transport, reply).await {
                    return None;
                }
            }
            () = conn.outbox_ready.notified() => {
                if !flush(conn, transport).await {
                    return None;
                }
            }
        }
    }
}

/// Sends what the action queued for the client, then its reply (if any);
/// `false` when the client is gone.
async fn reply_with<T: Transport>(
    conn: &Connection,
    transport: &mut T,
    reply: Option<String>,
) -> bool {
    if !flush(conn, transport).await {
        return false;
    }
    match reply {
        Some(reply) => transport.send(reply.into()).await,
        None => true,
    }
}

/// Leaves the groups, closes the transport, then runs `on_disconnect`.
async fn finish<C: Consumer, T: Transport>(
    consumer: &C,
    conn: &Connection,
    transport: T,
    close_code: Option<u16>,
) {
    leave(conn).await;
    let reason = match close_code {
        Some(close::TOO_LARGE) => "message too large",
        Some(close::INVALID_PAYLOAD) => "text frames must be UTF-8",
        Some(close::PROTOCOL_ERROR) => "protocol error",
        Some(_) => "server shutting down",
        None => "",
    };
    transport.close(close_code, reason).await;
    on_disconnect(consumer, conn).await;
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
