//! One connection's life: join, dispatch messages in order, forward events,
//! leave. Generic over the transport, so the axum socket and the in-process
//! test communicator run exactly the same code.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::WaitForCancellationFutureOwned;

use futures_util::FutureExt;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::context::{Connection, Context};
use crate::detached::{Detached, Dispatch, InOrder, Step};
use crate::envelope::{self, Message};
use crate::error::{Error, ErrorKind};
use crate::gate::Gate;
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
    pub(crate) const POLICY: u16 = 1008;
    pub(crate) const TOO_LARGE: u16 = 1009;
    pub(crate) const INTERNAL: u16 = 1011;
    pub(crate) const FORBIDDEN: u16 = 4003;
}

/// A message transport: a WebSocket, or the test communicator's channels.
pub(crate) trait Transport: Send {
    /// The next frame from the peer.
    fn poll_recv(&mut self, cx: &mut TaskContext<'_>) -> Poll<Incoming>;
    /// Queues a text frame for the peer (written by [`flush`](Self::flush),
    /// or sooner once the queue passes the write buffer's size); `false`
    /// when the peer is gone or does not read.
    fn feed(&mut self, text: Utf8Bytes) -> impl Future<Output = bool> + Send;
    /// Writes out what was queued; `false` when the peer is gone or does
    /// not read.
    fn flush(&mut self) -> impl Future<Output = bool> + Send;
    /// Whether something waits for [`flush`](Self::flush).
    fn has_queued(&self) -> bool;
    /// Pings the peer (and flushes).
    fn ping(&mut self) -> impl Future<Output = bool> + Send;
    /// When the peer last sent a frame; `None`: the transport cannot tell
    /// (then it is never idle).
    fn last_seen(&self) -> Option<Instant>;
    /// Closes with `code`, or (`None`) completes a close the peer started.
    fn close(self, code: Option<u16>, reason: &'static str) -> impl Future<Output = ()> + Send;
}

/// The next frame from the transport.
fn recv<T: Transport>(transport: &mut T) -> impl Future<Output = Incoming> + Send + '_ {
    std::future::poll_fn(move |cx| transport.poll_recv(cx))
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
            Box::pin(transport.close(Some(code), reason)).await;
            return;
        }
    };
    let consumer = C::default();
    // Boxed, as every rare step below: a future is as large as its
    // largest state, and the connection's lives as long as it does.
    if let Err(code) = Box::pin(join(&consumer, &conn)).await {
        ready(false);
        leave(&conn).await;
        Box::pin(transport.close(Some(code), "refused")).await;
        return;
    }
    ready(true);
    let end = run(&consumer, &conn, inbox, &mut transport).await;
    Box::pin(finish(&consumer, &conn, transport, end)).await;
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
/// `on_connect` has the app's handshake timeout: past it, it is dropped and
/// the connection refused (1011), its group left.
async fn join<C: Consumer>(consumer: &C, conn: &Connection) -> Result<(), u16> {
    let limit = conn.scope.app.settings().handshake_timeout;
    let hook = AssertUnwindSafe(on_connect(consumer, conn)).catch_unwind();
    let joined = match tokio::time::timeout(limit, hook).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(Error::msg(format_args!(
            "on_connect panicked: {}",
            panic_message(&panic)
        ))),
        Err(_) => Err(Error::msg(format_args!(
            "on_connect did not finish within the handshake timeout ({limit:?})"
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

/// Why the loop ended: the close code and reason to send, or `None` when
/// the peer is gone or started the close (no close frame of our own).
type End = Option<(u16, &'static str)>;

const SHUTTING_DOWN: End = Some((close::GOING_AWAY, "server shutting down"));

/// The shutdown signal, kept across the loop's turns (a new one each turn
/// would register and unregister with the token every time), and polled
/// only when it fired: a poll of the token takes a lock that every
/// connection shares.
struct Shutdown {
    signal: Pin<Box<WaitForCancellationFutureOwned>>,
    gate: Gate,
}

impl Shutdown {
    fn new(app: &crate::App) -> Self {
        Shutdown {
            signal: Box::pin(app.shutdown_token().clone().cancelled_owned()),
            gate: Gate::new(),
        }
    }

    /// Resolves once the app shuts down.
    async fn wait(&mut self) {
        let Shutdown { signal, gate } = self;
        std::future::poll_fn(|cx| gate.poll(cx, |own| signal.as_mut().poll(own))).await
    }
}

/// What woke the loop.
enum Next {
    Shutdown,
    Detached(Option<String>),
    Outbox,
    Event(Option<Event>),
    Incoming(Incoming),
    Tick,
}

/// The loop: messages from the client and events from the layer, one at a
/// time, until the client goes, a frame breaks the rules, the client goes
/// silent, or the server shuts down.
///
/// Writes are queued and go out together: once nothing else is ready, the
/// loop flushes before it waits. Replies and events that are ready at the
/// same time thus leave in one write, and a lone reply is not held back.
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
) -> End {
    let settings = conn.scope.app.settings();
    let grace = settings.shutdown_grace;
    let mut shutdown = Shutdown::new(&conn.scope.app);
    let mut detached = Detached::new(&conn.detached);
    let mut rate = settings.max_message_rate.map(Bucket::new);
    let mut idle = match (settings.idle_timeout, transport.last_seen()) {
        (Some(timeout), Some(last)) => Some(Idle::new(timeout, last)),
        _ => None,
    };
    // A layer may drop a channel's sender; then the inbox is done, not busy.
    let mut inbox_open = true;
    // What `on_connect` sent goes out first.
    if !queue_outbox(conn, transport).await {
        return None;
    }
    loop {
        let queued = transport.has_queued();
        let step = {
            let mut ready = std::pin::pin!(next(
                &mut shutdown,
                &mut detached,
                conn,
                &mut inbox,
                inbox_open,
                transport,
                idle.as_mut(),
            ));
            if queued {
                // Only what is ready now joins the queued writes. Polled
                // with the task's own waker: a noop one would be
                // registered, then replaced, at every source on every turn.
                match futures_util::poll!(ready.as_mut()) {
                    Poll::Ready(step) => Some(step),
                    Poll::Pending => None,
                }
            } else {
                Some(ready.await)
            }
        };
        let Some(step) = step else {
            // Nothing else is ready: what is queued goes out.
            if !transport.flush().await {
                return None;
            }
            continue;
        };
        match step {
            Next::Shutdown => {
                return Box::pin(graceful(&mut detached, conn, transport, grace)).await;
            }
            Next::Detached(reply) => {
                if !reply_with(conn, transport, reply).await {
                    return None;
                }
            }
            Next::Outbox => {
                if !queue_outbox(conn, transport).await {
                    return None;
                }
            }
            Next::Event(None) => inbox_open = false,
            Next::Event(Some(event)) => {
                // Boxed, as `dispatch` below.
                let handled = Box::pin(on_event(consumer, conn, &event));
                let mut beside = Beside {
                    detached: &mut detached,
                    conn,
                    transport: &mut *transport,
                    shutdown: &mut shutdown,
                    grace,
                };
                if let Err(end) = beside.run(handled).await {
                    return end;
                }
                if !queue_outbox(conn, transport).await {
                    return None;
                }
            }
            Next::Incoming(Incoming::Text(text)) => {
                if let Some(rate) = &mut rate {
                    let now = transport.last_seen().unwrap_or_else(Instant::now);
                    if !rate.allow(now) {
                        tracing::debug!(
                            per_second = rate.per_second,
                            "a client sent messages too fast; closing it"
                        );
                        return Some((close::POLICY, "message rate exceeded"));
                    }
                }
                // Boxed: the connection's own future stays small while
                // idle, and a detached action's rest can move to the set.
                let dispatch: Dispatch<'a> =
                    Box::pin(async move { dispatch(consumer, conn, &text).await });
                let in_order = InOrder::new(dispatch, &conn.detached);
                let mut beside = Beside {
                    detached: &mut detached,
                    conn,
                    transport: &mut *transport,
                    shutdown: &mut shutdown,
                    grace,
                };
                let reply = match beside.run(in_order).await {
                    Err(end) => return end,
                    Ok(Step::Replied(reply)) => reply,
                    Ok(Step::Detached(rest)) => {
                        detached.push(rest);
                        None
                    }
                };
                if !reply_with(conn, transport, reply).await {
                    return None;
                }
            }
            Next::Incoming(Incoming::Binary) => {
                if !transport
                    .feed(envelope::write_undecodable(BINARY_FRAME).into())
                    .await
                {
                    return None;
                }
            }
            Next::Incoming(Incoming::TooLarge) => {
                return Some((close::TOO_LARGE, "message too large"));
            }
            Next::Incoming(Incoming::Broken(code)) => {
                let reason = match code {
                    close::INVALID_PAYLOAD => "text frames must be UTF-8",
                    _ => "protocol error",
                };
                return Some((code, reason));
            }
            Next::Incoming(Incoming::Closed) => return None,
            Next::Tick => {
                let Some(idle) = idle.as_mut() else {
                    continue;
                };
                let now = Instant::now();
                match idle.check(now, transport.last_seen().unwrap_or(now)) {
                    Liveness::Alive => {}
                    Liveness::Ping => {
                        if !transport.ping().await {
                            return None;
                        }
                    }
                    Liveness::Gone => {
                        tracing::debug!(timeout = ?idle.timeout, "a client went silent; closing it");
                        return Some((close::GOING_AWAY, "idle timeout"));
                    }
                }
            }
        }
    }
}

/// Waits for whatever comes first.
async fn next<T: Transport>(
    shutdown: &mut Shutdown,
    detached: &mut Detached<'_>,
    conn: &Connection,
    inbox: &mut Inbox,
    inbox_open: bool,
    transport: &mut T,
    idle: Option<&mut Idle>,
) -> Next {
    tokio::select! {
        () = shutdown.wait() => Next::Shutdown,
        reply = detached.next() => Next::Detached(reply),
        () = conn.outbox_ready.notified(), if !detached.is_empty() => Next::Outbox,
        event = inbox.recv(), if inbox_open => Next::Event(event),
        incoming = recv(transport) => Next::Incoming(incoming),
        () = tick(idle) => Next::Tick,
    }
}

/// The idle timer's next tick; never without one.
async fn tick(idle: Option<&mut Idle>) {
    match idle {
        Some(idle) => idle.tick.as_mut().await,
        None => std::future::pending().await,
    }
}

/// After a shutdown: the detached actions may finish (and send their
/// replies) within the grace period; then the connection closes with 1001.
async fn graceful<T: Transport>(
    detached: &mut Detached<'_>,
    conn: &Connection,
    transport: &mut T,
    grace: Duration,
) -> End {
    let finished = tokio::time::timeout(grace, async {
        while !detached.is_empty() {
            let reply = detached.next().await;
            if !reply_with(conn, transport, reply).await || !transport.flush().await {
                return false;
            }
        }
        true
    })
    .await;
    match finished {
        Ok(false) => None,
        Ok(true) | Err(_) => SHUTTING_DOWN,
    }
}

/// What runs beside an in-order dispatch or an event handler: the detached
/// actions, the writes, the shutdown signal.
struct Beside<'b, 'a, T> {
    detached: &'b mut Detached<'a>,
    conn: &'b Connection,
    transport: &'b mut T,
    shutdown: &'b mut Shutdown,
    grace: Duration,
}

impl<T: Transport> Beside<'_, '_, T> {
    /// Awaits `fut`, sending the detached actions' replies as they come.
    /// `Err` ends the connection: the client is gone, or the server shuts
    /// down and `fut` did not finish within the grace period. (No detached
    /// action can start meanwhile: only the message dispatched in order
    /// detaches.)
    async fn run<F: Future + Unpin>(&mut self, mut fut: F) -> Result<F::Output, End> {
        // Most actions are done at once: their replies join the queued writes.
        if let Poll::Ready(out) = futures_util::poll!(&mut fut) {
            return Ok(out);
        }
        // This one waits: what is queued goes out meanwhile.
        if self.transport.has_queued() && !self.transport.flush().await {
            return Err(None);
        }
        loop {
            tokio::select! {
                out = &mut fut => return Ok(out),
                reply = self.detached.next() => {
                    if !reply_with(self.conn, self.transport, reply).await
                        || !self.transport.flush().await
                    {
                        return Err(None);
                    }
                }
                () = self.conn.outbox_ready.notified(), if !self.detached.is_empty() => {
                    if !queue_outbox(self.conn, self.transport).await
                        || !self.transport.flush().await
                    {
                        return Err(None);
                    }
                }
                () = self.shutdown.wait() => {
                    return match Box::pin(tokio::time::timeout(self.grace, fut)).await {
                        Ok(out) => Ok(out),
                        Err(_) => Err(SHUTTING_DOWN),
                    };
                }
            }
        }
    }
}

/// Queues what the action queued for the client, then its reply (if any);
/// `false` when the client is gone.
async fn reply_with<T: Transport>(
    conn: &Connection,
    transport: &mut T,
    reply: Option<String>,
) -> bool {
    if !queue_outbox(conn, transport).await {
        return false;
    }
    match reply {
        Some(reply) => transport.feed(reply.into()).await,
        None => true,
    }
}

/// Leaves the groups, closes the transport, then runs `on_disconnect`.
async fn finish<C: Consumer, T: Transport>(
    consumer: &C,
    conn: &Connection,
    transport: T,
    end: End,
) {
    leave(conn).await;
    match end {
        Some((code, reason)) => transport.close(Some(code), reason).await,
        None => transport.close(None, "").await,
    }
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

/// Queues what actions and event handlers queued for this client.
async fn queue_outbox<T: Transport>(conn: &Connection, transport: &mut T) -> bool {
    for text in conn.take_outbox() {
        if !transport.feed(text).await {
            return false;
        }
    }
    true
}

/// A connection's message budget: a token bucket that holds a second's
/// worth of messages and refills at the same rate.
struct Bucket {
    per_second: u32,
    tokens: f64,
    at: Option<Instant>,
}

impl Bucket {
    fn new(per_second: u32) -> Self {
        Bucket {
            per_second,
            tokens: f64::from(per_second),
            at: None,
        }
    }

    /// Takes one message's token; `false` when the bucket is empty.
    fn allow(&mut self, now: Instant) -> bool {
        let full = f64::from(self.per_second);
        if let Some(at) = self.at {
            let refill = now.saturating_duration_since(at).as_secs_f64() * full;
            self.tokens = (self.tokens + refill).min(full);
        }
        self.at = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The idle timer: a tick at half the timeout after the client's last
/// frame (then a ping), and at the whole of it (then the end).
struct Idle {
    timeout: Duration,
    tick: Pin<Box<tokio::time::Sleep>>,
}

/// What the idle timer found.
#[derive(Debug, PartialEq, Eq)]
enum Liveness {
    Alive,
    Ping,
    Gone,
}

impl Idle {
    fn new(timeout: Duration, last_seen: Instant) -> Self {
        Idle {
            timeout,
            tick: Box::pin(tokio::time::sleep_until(last_seen + timeout / 2)),
        }
    }

    /// Called when the timer fires (`now`); sets its next tick.
    fn check(&mut self, now: Instant, last_seen: Instant) -> Liveness {
        let silent = now.saturating_duration_since(last_seen);
        let (liveness, next) = if silent >= self.timeout {
            (Liveness::Gone, last_seen + self.timeout)
        } else if silent >= self.timeout / 2 {
            (Liveness::Ping, last_seen + self.timeout)
        } else {
            (Liveness::Alive, last_seen + self.timeout / 2)
        };
        self.tick.as_mut().reset(next);
        liveness
    }
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
            let e = app.map_error(e, msg.action(), msg.route());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(10);
        for _ in 0..10 {
            assert!(bucket.allow(start));
        }
        assert!(
            !bucket.allow(start),
            "the eleventh message of the same instant"
        );
        // A tenth of a second refills one message, no more.
        let later = start + Duration::from_millis(100);
        assert!(bucket.allow(later));
        assert!(!bucket.allow(later));
        // A long pause refills a burst, not more.
        let much_later = later + Duration::from_secs(60);
        for _ in 0..10 {
            assert!(bucket.allow(much_later));
        }
        assert!(!bucket.allow(much_later));
    }

    #[tokio::test]
    async fn silence_gets_a_ping_at_half_the_timeout_then_the_end() {
        let timeout = Duration::from_secs(60);
        let last = Instant::now();
        let at = |secs| last + Duration::from_secs(secs);
        let mut idle = Idle::new(timeout, last);
        assert_eq!(idle.tick.deadline(), at(30));

        // Woken early (say the timer was reset): nothing to do yet.
        assert_eq!(idle.check(at(10), last), Liveness::Alive);
        assert_eq!(idle.tick.deadline(), at(30));

        assert_eq!(idle.check(at(30), last), Liveness::Ping);
        assert_eq!(idle.tick.deadline(), at(60));

        // The pong came at 40: alive, the next tick half a timeout after it.
        let pong = at(40);
        assert_eq!(idle.check(at(60), pong), Liveness::Alive);
        assert_eq!(idle.tick.deadline(), at(70));

        // No pong this time.
        assert_eq!(idle.check(at(70), pong), Liveness::Ping);
        assert_eq!(idle.tick.deadline(), at(100));
        assert_eq!(idle.check(at(99), pong), Liveness::Ping, "not quite");
        assert_eq!(idle.check(at(100), pong), Liveness::Gone);
    }
}
