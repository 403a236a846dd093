//! The channel layer: per-connection channels, groups, and events between them.
//!
//! Every connection gets a channel (a bounded inbox) when it opens; groups
//! are sets of channels. [`ChannelLayer::group_send`] delivers one [`Event`]
//! to every member: the event's JSON is serialized once and its bytes are
//! shared by every delivery (and every WebSocket frame it becomes).
//!
//! # When an inbox is full
//!
//! As the Channels spec has it, sends never block and never wait: when a
//! member's inbox is full (it holds [`Settings::channel_capacity`](crate::Settings::channel_capacity)
//! events, 100 by default, because its client reads slower than the group
//! talks), the event is dropped for that member only, and a warning is
//! logged. Other members are not slowed down.
//!
//! [`InMemoryChannelLayer`] is the default and serves one process.
//! `redis::RedisChannelLayer` (cargo feature `redis`)
//! serves many processes that share one Redis. Either reports its state
//! with [`ChannelLayer::health`].

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use async_trait::async_trait;
use futures_util::task::AtomicWaker;
use tokio_tungstenite::tungstenite::Utf8Bytes;

#[cfg(feature = "redis")]
pub mod redis;

/// The type of the general broadcast event (sent without a `type` key).
pub const GENERAL_BROADCAST: &str = "general.broadcast";

/// The type of the event that a layer delivers to every channel of its
/// process once its backend is back after a loss: events sent meanwhile may
/// have been lost, so a consumer that keeps state from events resyncs
/// (`#[event("layer.reconnected")]`). Its JSON is
/// `{"backend": ..., "dropped": <sends dropped while it was down>}`.
/// It is not forwarded to clients unless a consumer does so.
pub const LAYER_RECONNECTED: &str = "layer.reconnected";

/// An event sent through the layer: a type (routing key for `#[event]`
/// handlers) and the JSON the client sees, shared between receivers.
///
/// ```
/// use rest_channels::Event;
/// let e = Event::new("chat.message", &serde_json::json!({"text": "hi"})).unwrap();
/// assert_eq!(e.kind(), "chat.message");
/// assert_eq!(e.json(), r#"{"text":"hi"}"#);
/// ```
///
/// One pointer wide: a delivery clones one `Arc`, and a connection's inbox
/// (a channel that allocates its slots up front) stays small.
#[derive(Clone, Debug)]
pub struct Event(std::sync::Arc<EventInner>);

#[derive(Debug)]
struct EventInner {
    kind: std::sync::Arc<str>,
    json: Utf8Bytes,
}

impl Event {
    /// An event of type `kind` whose JSON is `body`, serialized now.
    pub fn new<T: serde::Serialize + ?Sized>(
        kind: &str,
        body: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(Event::from_json(kind, serde_json::to_string(body)?))
    }

    /// An event from already serialized JSON.
    pub fn from_json(kind: &str, json: String) -> Self {
        Event::from_parts(kind.into(), json.into())
    }

    /// The event's type.
    pub fn kind(&self) -> &str {
        &self.0.kind
    }

    /// The event's JSON.
    pub fn json(&self) -> &str {
        self.0.json.as_str()
    }

    /// The event's JSON, parsed.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.json())
    }

    pub(crate) fn frame(&self) -> Utf8Bytes {
        self.0.json.clone()
    }

    /// An event from its parts, the JSON not copied.
    pub(crate) fn from_parts(kind: std::sync::Arc<str>, json: Utf8Bytes) -> Self {
        Event(std::sync::Arc::new(EventInner { kind, json }))
    }
}

/// A layer's state, for a health endpoint or metrics: whether its backend
/// is reachable, and what it lost, by cause. Counters count since the layer
/// was made.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LayerHealth {
    /// `"in-memory"` or `"redis"`.
    pub backend: &'static str,
    /// Whether the backend is reachable now (always for the in-memory layer).
    pub connected: bool,
    /// How many times the connection to the backend was lost.
    pub disconnects: u64,
    /// How many times it came back (each time, every group was subscribed again).
    pub reconnects: u64,
    /// Sends dropped because the backend was unreachable for longer than the send bound.
    pub dropped_backend_down: u64,
    /// Sends dropped because the queue of sends waiting for the backend was full.
    pub dropped_queue_full: u64,
    /// Sends dropped because the backend answered with an error.
    pub dropped_backend_error: u64,
    /// Deliveries dropped because a member's inbox was full (a slow client).
    pub dropped_inbox_full: u64,
    /// Groups with members in this process.
    pub groups: usize,
    /// Channels (connections) of this process.
    pub channels: usize,
}

/// Why a layer operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// A group or channel name is empty (every other string is a name).
    #[error("invalid {what} name {name:?}: a name is a non-empty string")]
    InvalidName {
        /// "group" or "channel".
        what: &'static str,
        /// The name.
        name: String,
    },
    /// The layer's backend failed.
    #[error("channel layer backend: {0}")]
    Backend(#[from] Box<dyn std::error::Error + Send + Sync>),
}

/// Whether a string names a group or a channel: any non-empty string does.
///
/// Unlike Django Channels (ASCII letters, digits, `-`, `_` and `.`, under
/// 100 bytes), any id a URL kwarg can carry names a group: letters of any
/// script, `~`, 200 characters. Names that differ in any way are different
/// groups. A backend with rules of its own (length, characters) hashes or
/// escapes names internally; callers never see that.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
}

fn check_name(what: &'static str, name: &str) -> Result<(), LayerError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(LayerError::InvalidName {
            what,
            name: name.to_owned(),
        })
    }
}

/// The receiving end of a connection's channel.
///
/// A bounded queue of its own rather than a tokio channel: a connection
/// holds one for its life, and a tokio channel costs about 2 KiB (its
/// first block of slots is allocated up front); this one holds nothing
/// while empty.
#[derive(Debug)]
pub struct Inbox {
    shared: Arc<InboxShared>,
}

/// The sending end of a connection's channel: what a layer keeps, per
/// channel, to put events into its connection's [`Inbox`]. Cheap to clone.
#[derive(Debug)]
pub struct InboxSender {
    shared: Arc<InboxShared>,
}

#[derive(Debug)]
struct InboxShared {
    queue: Mutex<InboxQueue>,
    waker: AtomicWaker,
    capacity: usize,
}

#[derive(Debug)]
struct InboxQueue {
    events: VecDeque<Event>,
    senders: usize,
    /// The receiver is there.
    open: bool,
    /// The layer closed the channel: no more events, whoever holds a sender.
    ended: bool,
}

impl InboxShared {
    fn queue(&self) -> std::sync::MutexGuard<'_, InboxQueue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why an event was not put into an inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The inbox holds its capacity already: the event is dropped (a
    /// connection that does not keep up loses events, not memory).
    #[error("the inbox is full")]
    Full,
    /// The connection is gone.
    #[error("the inbox is closed")]
    Closed,
}

impl InboxSender {
    /// Puts an event into the inbox without waiting.
    pub fn try_send(&self, event: Event) -> Result<(), InboxError> {
        {
            let mut queue = self.shared.queue();
            if !queue.open || queue.ended {
                return Err(InboxError::Closed);
            }
            if queue.events.len() >= self.shared.capacity {
                return Err(InboxError::Full);
            }
            queue.events.push_back(event);
        }
        self.shared.waker.wake();
        Ok(())
    }

    /// Whether the inbox is gone (its connection closed).
    pub fn is_closed(&self) -> bool {
        let queue = self.shared.queue();
        !queue.open || queue.ended
    }

    /// Ends the channel for every sender: the inbox gets what it holds,
    /// then `None` (a layer's `close_channel`).
    pub fn close(&self) {
        self.shared.queue().ended = true;
        self.shared.waker.wake();
    }
}

impl Clone for InboxSender {
    fn clone(&self) -> Self {
        self.shared.queue().senders += 1;
        InboxSender {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for InboxSender {
    fn drop(&mut self) {
        let last = {
            let mut queue = self.shared.queue();
            queue.senders -= 1;
            queue.senders == 0
        };
        if last {
            self.shared.waker.wake();
        }
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut queue = self.shared.queue();
        queue.open = false;
        queue.events = VecDeque::new();
    }
}

impl Inbox {
    /// A bounded inbox (at least one event) and the sender that feeds it.
    ///
    /// ```
    /// use rest_channels::layer::{Event, Inbox, InboxError};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, mut inbox) = Inbox::bounded(1);
    /// tx.try_send(Event::new("a", &1).unwrap()).unwrap();
    /// assert_eq!(tx.try_send(Event::new("b", &2).unwrap()), Err(InboxError::Full));
    /// assert_eq!(inbox.recv().await.unwrap().kind(), "a");
    /// drop(inbox);
    /// assert_eq!(tx.try_send(Event::new("c", &3).unwrap()), Err(InboxError::Closed));
    /// # });
    /// ```
    pub fn bounded(capacity: usize) -> (InboxSender, Inbox) {
        let shared = Arc::new(InboxShared {
            queue: Mutex::new(InboxQueue {
                events: VecDeque::new(),
                senders: 1,
                open: true,
                ended: false,
            }),
            waker: AtomicWaker::new(),
            capacity: capacity.max(1),
        });
        (
            InboxSender {
                shared: shared.clone(),
            },
            Inbox { shared },
        )
    }

    /// The next event; `None` when every sender is gone and the inbox is
    /// empty.
    pub async fn recv(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| {
            if let Some(next) = self.try_next() {
                return Poll::Ready(next);
            }
            self.shared.waker.register(cx.waker());
            // Again: a send between the first look and the registration
            // woke no one.
            match self.try_next() {
                Some(next) => Poll::Ready(next),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// The next event if one is there.
    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Result<Event, ()> {
        self.try_next().flatten().ok_or(())
    }

    /// `Some(Some(event))`, `Some(None)` when done, `None` when empty.
    fn try_next(&self) -> Option<Option<Event>> {
        let mut queue = self.shared.queue();
        match queue.events.pop_front() {
            Some(event) => {
                // A burst's room is given back once it is read.
                if queue.events.is_empty() && queue.events.capacity() > 16 {
                    queue.events = VecDeque::new();
                }
                Some(Some(event))
            }
            None if queue.senders == 0 || queue.ended => Some(None),
            None => None,
        }
    }
}

/// Channels and groups (Django Channels' channel layer).
#[async_trait]
pub trait ChannelLayer: Send + Sync + 'static {
    /// A new channel for a connection, and its inbox.
    async fn new_channel(&self, capacity: usize) -> Result<(String, Inbox), LayerError>;
    /// Forgets a channel (its connection closed).
    async fn close_channel(&self, channel: &str);
    /// Sends an event to one channel (dropped when its inbox is full).
    async fn send(&self, channel: &str, event: Event) -> Result<(), LayerError>;
    /// Adds a channel to a group.
    async fn group_add(&self, group: &str, channel: &str) -> Result<(), LayerError>;
    /// Removes a channel from a group.
    async fn group_discard(&self, group: &str, channel: &str) -> Result<(), LayerError>;
    /// Sends an event to every channel of a group.
    async fn group_send(&self, group: &str, event: Event) -> Result<(), LayerError>;
    /// The layer's state and counters.
    fn health(&self) -> LayerHealth {
        LayerHealth {
            backend: "unknown",
            connected: true,
            ..LayerHealth::default()
        }
    }
}

/// The in-process channel layer (the default).
#[derive(Debug, Default)]
pub struct InMemoryChannelLayer {
    state: Mutex<State>,
    next: AtomicU64,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    channels: HashMap<String, InboxSender>,
    /// Each group's members, with their senders: a group send looks up
    /// nothing per member.
    groups: HashMap<String, HashMap<String, InboxSender>>,
}

impl InMemoryChannelLayer {
    /// An empty layer.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Puts an event into a channel's inbox without waiting; counts it in
/// `dropped` when the inbox is full.
pub(crate) fn deliver(channel: &str, tx: &InboxSender, event: Event, dropped: &AtomicU64) {
    match tx.try_send(event) {
        Ok(()) | Err(InboxError::Closed) => {}
        Err(InboxError::Full) => {
            dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(channel, "channel inbox full; event dropped for this member")
        }
    }
}

#[async_trait]
impl ChannelLayer for InMemoryChannelLayer {
    async fn new_channel(&self, capacity: usize) -> Result<(String, Inbox), LayerError> {
        let name = format!("inmemory!{}", self.next.fetch_add(1, Ordering::Relaxed));
        let (tx, inbox) = Inbox::bounded(capacity);
        self.state().channels.insert(name.clone(), tx);
        Ok((name, inbox))
    }

    async fn close_channel(&self, channel: &str) {
        // The connection discards its groups first; a membership left behind
        // by other code is skipped by `group_send` and goes with `group_discard`.
        if let Some(tx) = self.state().channels.remove(channel) {
            tx.close();
        }
    }

    async fn send(&self, channel: &str, event: Event) -> Result<(), LayerError> {
        check_name("channel", channel)?;
        if let Some(tx) = self.state().channels.get(channel) {
            deliver(channel, tx, event, &self.dropped);
        }
        Ok(())
    }

    async fn group_add(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        check_name("group", group)?;
        check_name("channel", channel)?;
        let mut state = self.state();
        // A channel that is gone (or never was) has nothing to receive with.
        let Some(tx) = state.channels.get(channel).cloned() else {
            return Ok(());
        };
        state
            .groups
            .entry(group.to_owned())
            .or_default()
            .insert(channel.to_owned(), tx);
        Ok(())
    }

    async fn group_discard(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        check_name("group", group)?;
        let mut state = self.state();
        if let Some(members) = state.groups.get_mut(group) {
            members.remove(channel);
            if members.is_empty() {
                state.groups.remove(group);
            }
        }
        Ok(())
    }

    async fn group_send(&self, group: &str, event: Event) -> Result<(), LayerError> {
        check_name("group", group)?;
        let state = self.state();
        if let Some(members) = state.groups.get(group) {
            for (channel, tx) in members {
                deliver(channel, tx, event.clone(), &self.dropped);
            }
        }
        Ok(())
    }

    fn health(&self) -> LayerHealth {
        let state = self.state();
        LayerHealth {
            backend: "in-memory",
            connected: true,
            dropped_inbox_full: self.dropped.load(Ordering::Relaxed),
            groups: state.groups.len(),
            channels: state.channels.len(),
            ..LayerHealth::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> Event {
        Event::new("n", &n).unwrap()
    }

    #[tokio::test]
    async fn an_inbox_wakes_its_reader_and_ends_when_its_senders_are_gone() {
        let (tx, mut inbox) = Inbox::bounded(2);
        let tx2 = tx.clone();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(e) = inbox.recv().await {
                got.push(e.parse::<u32>().unwrap());
            }
            got
        });
        for n in 0..50 {
            // The reader empties it as it goes: wait for room.
            let sender = if n % 2 == 0 { &tx } else { &tx2 };
            while sender.try_send(event(n)) == Err(InboxError::Full) {
                tokio::task::yield_now().await;
            }
        }
        drop(tx);
        drop(tx2);
        let got = reader.await.unwrap();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn an_inbox_gives_back_a_bursts_room() {
        let (tx, mut inbox) = Inbox::bounded(100);
        for n in 0..100 {
            tx.try_send(event(n)).unwrap();
        }
        assert_eq!(tx.try_send(event(100)), Err(InboxError::Full));
        assert!(inbox.shared.queue().events.capacity() >= 100);
        for n in 0..100 {
            assert_eq!(inbox.recv().await.unwrap().parse::<u32>().unwrap(), n);
        }
        assert_eq!(inbox.shared.queue().events.capacity(), 0);
        assert!(!tx.is_closed());
        drop(inbox);
        assert!(tx.is_closed());
        assert_eq!(tx.try_send(event(0)), Err(InboxError::Closed));
    }

    #[tokio::test]
    async fn group_send_reaches_members_only_and_shares_bytes() {
        let layer = InMemoryChannelLayer::new();
        let (a, mut ia) = layer.new_channel(4).await.unwrap();
        let (b, mut ib) = layer.new_channel(4).await.unwrap();
        let (_c, mut ic) = layer.new_channel(4).await.unwrap();
        layer.group_add("g", &a).await.unwrap();
        layer.group_add("g", &b).await.unwrap();
        layer
            .group_send("g", Event::from_json("t", "{}".into()))
            .await
            .unwrap();
        let ea = ia.recv().await.unwrap();
        let eb = ib.recv().await.unwrap();
        assert_eq!(
            ea.json().as_ptr(),
            eb.json().as_ptr(),
            "one serialization, shared"
        );
        assert!(ic.try_recv().is_err());
        layer.group_discard("g", &b).await.unwrap();
        layer
            .group_send("g", Event::from_json("t", "1".into()))
            .await
            .unwrap();
        assert_eq!(ia.recv().await.unwrap().json(), "1");
        assert!(ib.try_recv().is_err());
    }

    #[tokio::test]
    async fn group_names_of_any_shape_are_distinct_groups() {
        let layer = InMemoryChannelLayer::new();
        let long = "ж".repeat(200);
        let names = [
            "v1.2~a.x~y".to_owned(),
            "Grüße-会議室".to_owned(),
            "room".to_owned(),
            "Room".to_owned(),
            "with space/slash".to_owned(),
            format!("{long}a"),
            format!("{long}b"),
        ];
        let mut inboxes = Vec::new();
        for name in &names {
            let (ch, inbox) = layer.new_channel(4).await.unwrap();
            layer.group_add(name, &ch).await.unwrap();
            inboxes.push(inbox);
        }
        for (i, name) in names.iter().enumerate() {
            layer
                .group_send(name, Event::from_json("t", i.to_string()))
                .await
                .unwrap();
        }
        for (i, inbox) in inboxes.iter_mut().enumerate() {
            assert_eq!(inbox.recv().await.unwrap().json(), i.to_string());
            assert!(inbox.try_recv().is_err(), "{}", names[i]);
        }
    }

    #[tokio::test]
    async fn full_inbox_drops_without_blocking() {
        let layer = InMemoryChannelLayer::new();
        let (a, mut ia) = layer.new_channel(2).await.unwrap();
        layer.group_add("g", &a).await.unwrap();
        for i in 0..5 {
            layer
                .group_send("g", Event::from_json("t", i.to_string()))
                .await
                .unwrap();
        }
        assert_eq!(ia.recv().await.unwrap().json(), "0");
        assert_eq!(ia.recv().await.unwrap().json(), "1");
        assert!(ia.try_recv().is_err());
        assert_eq!(layer.health().dropped_inbox_full, 3);
    }

    #[tokio::test]
    async fn names_are_checked_and_closed_channels_get_nothing() {
        let layer = InMemoryChannelLayer::new();
        assert!(layer.group_add("", "x").await.is_err());
        let (a, mut ia) = layer.new_channel(2).await.unwrap();
        layer.group_add("g", &a).await.unwrap();
        layer.close_channel(&a).await;
        layer
            .group_send("g", Event::from_json("t", "1".into()))
            .await
            .unwrap();
        assert!(ia.recv().await.is_none());
    }
}
