//! A channel layer over Redis pub/sub, for many processes (cargo feature `redis`).
//!
//! ```no_run
//! # async fn run() -> Result<(), rest_channels::layer::LayerError> {
//! use rest_channels::App;
//! use rest_channels::layer::redis::RedisChannelLayer;
//!
//! let layer = RedisChannelLayer::connect("redis://127.0.0.1:6379/").await?;
//! let app = App::builder().channel_layer(layer).build();
//! # Ok(()) }
//! ```
//!
//! Every process that serves the app connects to the same Redis.
//!
//! - **Groups** are Redis pub/sub channels (`<prefix>g:<group>`: Redis
//!   channel names are binary-safe, so any group name maps to its own
//!   channel, whatever its length or script). A process subscribes once per
//!   group, when its first local member joins (`group_add` returns once the
//!   SUBSCRIBE is confirmed), and unsubscribes when its last member leaves.
//!   Memberships live in the process that holds the connections: a process
//!   that dies leaves nothing behind in Redis.
//! - A message is decoded once when it arrives, and its bytes are shared by
//!   every local member (and every WebSocket frame it becomes).
//! - **Sends** (`group_send`, and `send` to a channel of another process,
//!   through that process's own Redis channel `<prefix>p:<process>`) return
//!   once Redis has taken the PUBLISH, so what an action sends is on Redis
//!   before its reply goes out, and changes that a client makes one after
//!   another, on any processes, reach every subscriber in that order. Every
//!   delivery goes through Redis, local members included: one order for all.
//! - A send never hangs: it waits at most [`RedisOptions::send_timeout`] (for
//!   a slot in the bounded queue of sends in flight, and for Redis), then is
//!   dropped and counted ([`LayerHealth`]).
//! - When the connection is lost, the layer warns, counts it, drops sends
//!   after the bound, and reconnects with exponential backoff and jitter;
//!   once back it subscribes every group of the process again and delivers a
//!   [`LAYER_RECONNECTED`] event to every local channel (not forwarded to
//!   clients by default), because what was published meanwhile is lost.
//! - A member whose inbox is full (a slow client) loses that event alone,
//!   counted; nothing queues without bound.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::{Notify, Semaphore};
use tokio::time::{Instant, timeout_at};
use tokio_tungstenite::tungstenite::{Bytes, Utf8Bytes};

use super::{
    ChannelLayer, Event, Inbox, InboxSender, LAYER_RECONNECTED, LayerError, LayerHealth, deliver,
};

/// Settings of a [`RedisChannelLayer`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Prefix of every Redis channel the layer uses; apps sharing one Redis
    /// use different prefixes. Default `"rest-channels:"`.
    pub prefix: String,
    /// How long a send waits at most (for a queue slot and for Redis)
    /// before it is dropped and counted. Default 500 ms.
    pub send_timeout: Duration,
    /// How many sends may wait for Redis at once; more are dropped.
    /// Default 10,000.
    pub max_pending_sends: usize,
    /// The first delay between reconnection attempts (doubled up to
    /// `max_reconnect_delay`, with jitter). Default 50 ms.
    pub min_reconnect_delay: Duration,
    /// The longest delay between reconnection attempts. Default 1 s.
    pub max_reconnect_delay: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "rest-channels:".into(),
            send_timeout: Duration::from_millis(500),
            max_pending_sends: 10_000,
            min_reconnect_delay: Duration::from_millis(50),
            max_reconnect_delay: Duration::from_secs(1),
        }
    }
}

/// The channel layer over Redis pub/sub. See the [module docs](self).
pub struct RedisChannelLayer {
    shared: Arc<Shared>,
    manager: ConnectionManager,
    pending: Semaphore,
    /// Serializes SUBSCRIBE and UNSUBSCRIBE (and the resubscription after a
    /// reconnect), so that Redis's subscriptions follow the local groups.
    subscriptions: tokio::sync::Mutex<()>,
    supervisor: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RedisChannelLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisChannelLayer")
            .field("process", &self.shared.process)
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

impl Drop for RedisChannelLayer {
    fn drop(&mut self) {
        self.supervisor.abort();
    }
}

/// What the layer and the reader of Redis's pushes share.
struct Shared {
    options: RedisOptions,
    /// This process's id: the first part of its channel names.
    process: String,
    next: AtomicU64,
    local: Mutex<Local>,
    connected: AtomicBool,
    /// Counts lost connections: a resubscription that a loss overtook is redone.
    losses: AtomicU64,
    lost: Notify,
    counters: Counters,
}

#[derive(Default)]
struct Local {
    channels: HashMap<String, InboxSender>,
    groups: HashMap<String, Group>,
}

#[derive(Default)]
struct Group {
    members: HashSet<String>,
    subscribed: bool,
}

#[derive(Default)]
struct Counters {
    disconnects: AtomicU64,
    reconnects: AtomicU64,
    down: AtomicU64,
    queue_full: AtomicU64,
    error: AtomicU64,
    inbox_full: AtomicU64,
    /// Sends dropped since the last reconnect (reported by its event).
    since_reconnect: AtomicU64,
}

/// Why a send was dropped.
#[derive(Clone, Copy, Debug)]
enum Dropped {
    Down,
    QueueFull,
    Error,
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> LayerError {
    LayerError::Backend(Box::new(e))
}

impl RedisChannelLayer {
    /// Connects with the default [`RedisOptions`].
    pub async fn connect(url: &str) -> Result<Self, LayerError> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Connects to the Redis at `url` (`redis://HOST:PORT/DB`); fails when
    /// Redis cannot be reached now. Later losses are survived.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, LayerError> {
        let info = url.into_connection_info().map_err(backend)?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings)).map_err(backend)?;
        let shared = Arc::new(Shared {
            process: process_id(),
            next: AtomicU64::new(0),
            local: Mutex::new(Local::default()),
            connected: AtomicBool::new(true),
            losses: AtomicU64::new(0),
            lost: Notify::new(),
            counters: Counters::default(),
            options,
        });
        let reader = Arc::downgrade(&shared);
        let config = ConnectionManagerConfig::new()
            .set_push_sender(move |push: PushInfo| {
                if let Some(shared) = reader.upgrade() {
                    shared.on_push(push);
                }
                Ok::<(), ()>(())
            })
            .set_min_delay(shared.options.min_reconnect_delay)
            .set_max_delay(shared.options.max_reconnect_delay)
            .set_exponent_base(2.0)
            .set_number_of_retries(3)
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_pipeline_buffer_size(1024);
        let mut manager = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(backend)?;
        manager
            .subscribe(shared.process_key())
            .await
            .map_err(backend)?;
        let supervisor = tokio::spawn(supervise(shared.clone(), manager.clone()));
        Ok(RedisChannelLayer {
            pending: Semaphore::new(shared.options.max_pending_sends.max(1)),
            shared,
            manager,
            subscriptions: tokio::sync::Mutex::new(()),
            supervisor,
        })
    }

    /// The id of this process in channel names.
    pub fn process_id(&self) -> &str {
        &self.shared.process
    }

    /// The layer's connection to Redis (shared by the throttle store's `from_layer`).
    pub(crate) fn manager(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// Publishes `payload` to the Redis channel `key`, waiting at most the
    /// send bound; a send that cannot be made is dropped and counted.
    async fn publish(&self, key: Vec<u8>, payload: Vec<u8>) {
        let deadline = Instant::now() + self.shared.options.send_timeout;
        let Ok(permit) = self.pending.try_acquire() else {
            self.shared.dropped(Dropped::QueueFull);
            return;
        };
        let mut manager = self.manager.clone();
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(key).arg(payload);
        let result = timeout_at(deadline, cmd.query_async::<i64>(&mut manager)).await;
        drop(permit);
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(e)) if e.is_io_error() || e.is_unrecoverable_error() || e.is_timeout() => {
                tracing::debug!(error = %e, "Redis channel layer: PUBLISH failed");
                self.shared.dropped(Dropped::Down);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Redis channel layer: PUBLISH refused; send dropped");
                self.shared.dropped(Dropped::Error);
            }
            Err(_elapsed) => self.shared.dropped(Dropped::Down),
        }
    }

    /// SUBSCRIBE or UNSUBSCRIBE, within the send bound.
    async fn change_subscription(&self, subscribe: bool, keys: &[Vec<u8>]) -> bool {
        let deadline = Instant::now() + self.shared.options.send_timeout;
        let mut manager = self.manager.clone();
        let result = if subscribe {
            timeout_at(deadline, manager.subscribe(keys)).await
        } else {
            timeout_at(deadline, manager.unsubscribe(keys)).await
        };
        match result {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, subscribe, "Redis channel layer: (UN)SUBSCRIBE failed");
                false
            }
            Err(_elapsed) => false,
        }
    }
}

/// A process id unique across processes and hosts: the pid, the time and
/// the process's random hash seed.
fn process_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("{:x}.{:x}.{:x}", std::process::id(), nanos as u64, random)
}

/// The wire form of a message: `[u32 length][target channel][u32 length][kind][json]`,
/// big-endian lengths; the target is empty for a group.
fn encode(target: &str, event: &Event) -> Vec<u8> {
    let json = event.json().as_bytes();
    let mut out = Vec::with_capacity(8 + target.len() + event.kind().len() + json.len());
    for part in [target, event.kind()] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(json);
    out
}

/// The target channel and the event of a message; `None` when it is not
/// one of ours. The JSON's bytes are not copied.
fn decode(payload: Vec<u8>) -> Option<(String, Event)> {
    let bytes = Bytes::from(payload);
    let mut at = 0;
    let mut part = || -> Option<String> {
        let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let text = std::str::from_utf8(bytes.get(at + 4..at + 4 + len)?).ok()?;
        at += 4 + len;
        Some(text.to_owned())
    };
    let target = part()?;
    let kind = part()?;
    let json = Utf8Bytes::try_from(bytes.slice(at..)).ok()?;
    Some((target, Event::from_parts(kind.into(), json)))
}

impl Shared {
    fn local(&self) -> MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn group_key(&self, group: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.options.prefix.len() + 2 + group.len());
        key.extend_from_slice(self.options.prefix.as_bytes());
        key.extend_from_slice(b"g:");
        key.extend_from_slice(group.as_bytes());
        key
    }

    fn process_key(&self) -> Vec<u8> {
        self.process_key_of(&self.process)
    }

    fn process_key_of(&self, process: &str) -> Vec<u8> {
        format!("{}p:{process}", self.options.prefix).into_bytes()
    }

    fn dropped(&self, why: Dropped) {
        let counter = match why {
            Dropped::Down => &self.counters.down,
            Dropped::QueueFull => &self.counters.queue_full,
            Dropped::Error => &self.counters.error,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.counters
            .since_reconnect
            .fetch_add(1, Ordering::Relaxed);
        tracing::debug!(cause = ?why, "Redis channel layer: send dropped");
    }

    /// A push from Redis, on the connection's reader: a message is decoded
    /// once and put into the inboxes of its local members; a lost
    /// connection wakes the supervisor.
    fn on_push(&self, push: PushInfo) {
        match push.kind {
            PushKind::Message => {
                let mut data = push.data.into_iter();
                let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
                    (data.next(), data.next())
                else {
                    return;
                };
                let Some((target, event)) = decode(payload) else {
                    tracing::warn!("Redis channel layer: a message that is not ours; ignored");
                    return;
                };
                self.fan_out(&channel, &target, event);
            }
            PushKind::Disconnection => {
                self.losses.fetch_add(1, Ordering::SeqCst);
                if self.connected.swap(false, Ordering::SeqCst) {
                    self.counters.disconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        "Redis channel layer: connection to Redis lost; sends are dropped (and \
                         counted) until it is back, events published meanwhile are lost"
                    );
                }
                self.lost.notify_one();
            }
            _ => {}
        }
    }

    fn fan_out(&self, channel: &[u8], target: &str, event: Event) {
        let local = self.local();
        if target.is_empty() {
            let group = channel
                .strip_prefix(self.options.prefix.as_bytes())
                .and_then(|rest| rest.strip_prefix(b"g:"))
                .and_then(|g| std::str::from_utf8(g).ok());
            let Some(members) = group.and_then(|g| local.groups.get(g)) else {
                return;
            };
            for member in &members.members {
                if let Some(tx) = local.channels.get(member) {
                    deliver(member, tx, event.clone(), &self.counters.inbox_full);
                }
            }
        } else if let Some(tx) = local.channels.get(target) {
            deliver(target, tx, event, &self.counters.inbox_full);
        }
    }
}

/// Waits for lost connections; brings each back: probes Redis with backoff
/// and jitter until it answers, subscribes every local group and this
/// process's channel again, and tells every local channel. The layer aborts
/// it when dropped.
async fn supervise(shared: Arc<Shared>, mut manager: ConnectionManager) {
    let (min, max) = (
        shared.options.min_reconnect_delay,
        shared.options.max_reconnect_delay,
    );
    // The losses seen so far that a resubscription has made good.
    let mut handled = 0;
    loop {
        shared.lost.notified().await;
        let mut delay = min;
        loop {
            let losses = shared.losses.load(Ordering::SeqCst);
            if losses == handled {
                break;
            }
            shared.connected.store(false, Ordering::SeqCst);
            tokio::time::sleep(jitter(delay)).await;
            delay = (delay * 2).min(max);
            let probe = tokio::time::timeout(
                Duration::from_secs(1),
                redis::cmd("PING").query_async::<String>(&mut manager),
            )
            .await;
            if matches!(probe, Ok(Ok(_))) && resubscribe(&shared, &mut manager, losses).await {
                handled = losses;
            }
        }
    }
}

/// Subscribes every local group with members, and the process's channel, on
/// a new connection; then reports the reconnect.
async fn resubscribe(shared: &Shared, manager: &mut ConnectionManager, losses: u64) -> bool {
    let mut keys = vec![shared.process_key()];
    {
        let mut local = shared.local();
        local.groups.retain(|_, g| !g.members.is_empty());
        keys.extend(local.groups.keys().map(|g| shared.group_key(g)));
    }
    let subscribed = tokio::time::timeout(Duration::from_secs(2), manager.subscribe(&keys)).await;
    if !matches!(subscribed, Ok(Ok(()))) {
        return false;
    }
    let channels: Vec<(String, InboxSender)> = {
        let mut local = shared.local();
        for group in local.groups.values_mut() {
            group.subscribed = true;
        }
        local
            .channels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    // Lost again meanwhile: the subscriptions went with that connection.
    if shared.losses.load(Ordering::SeqCst) != losses {
        return false;
    }
    shared.connected.store(true, Ordering::SeqCst);
    shared.counters.reconnects.fetch_add(1, Ordering::Relaxed);
    let dropped = shared.counters.since_reconnect.swap(0, Ordering::Relaxed);
    tracing::warn!(
        groups = keys.len() - 1,
        dropped,
        "Redis channel layer: reconnected to Redis and subscribed every group again; \
         events published while it was down are lost"
    );
    let event = Event::new(
        LAYER_RECONNECTED,
        &serde_json::json!({"backend": "redis", "dropped": dropped}),
    )
    .expect("a JSON object serializes");
    for (name, tx) in &channels {
        deliver(name, tx, event.clone(), &shared.counters.inbox_full);
    }
    true
}

/// `delay`, between half of it and all of it at random.
fn jitter(delay: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let half = delay / 2;
    half + half.mul_f64((random % 1024) as f64 / 1024.0)
}

#[async_trait]
impl ChannelLayer for RedisChannelLayer {
    async fn new_channel(&self, capacity: usize) -> Result<(String, Inbox), LayerError> {
        let n = self.shared.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}!{n}", self.shared.process);
        let (tx, inbox) = Inbox::bounded(capacity);
        self.shared.local().channels.insert(name.clone(), tx);
        Ok((name, inbox))
    }

    async fn close_channel(&self, channel: &str) {
        self.shared.local().channels.remove(channel);
    }

    async fn send(&self, channel: &str, event: Event) -> Result<(), LayerError> {
        super::check_name("channel", channel)?;
        let Some((process, _)) = channel.rsplit_once('!') else {
            return Ok(()); // not a channel of this layer: nobody to reach
        };
        let key = self.shared.process_key_of(process);
        self.publish(key, encode(channel, &event)).await;
        Ok(())
    }

    async fn group_add(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        super::check_name("group", group)?;
        super::check_name("channel", channel)?;
        let subscribed = {
            let mut local = self.shared.local();
            let entry = local.groups.entry(group.to_owned()).or_default();
            entry.members.insert(channel.to_owned());
            entry.subscribed
        };
        if subscribed {
            return Ok(());
        }
        let _serial = self.subscriptions.lock().await;
        let needed = self
            .shared
            .local()
            .groups
            .get(group)
            .is_some_and(|g| !g.members.is_empty() && !g.subscribed);
        // While Redis is down the membership stands, and the reconnect
        // subscribes it: joining does not wait for Redis to come back.
        if needed
            && self.shared.connected.load(Ordering::SeqCst)
            && self
                .change_subscription(true, &[self.shared.group_key(group)])
                .await
            && let Some(g) = self.shared.local().groups.get_mut(group)
        {
            g.subscribed = true;
        }
        Ok(())
    }

    async fn group_discard(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        super::check_name("group", group)?;
        let last = {
            let mut local = self.shared.local();
            let Some(entry) = local.groups.get_mut(group) else {
                return Ok(());
            };
            entry.members.remove(channel);
            entry.members.is_empty()
        };
        if !last {
            return Ok(());
        }
        let _serial = self.subscriptions.lock().await;
        let subscribed = {
            let mut local = self.shared.local();
            match local.groups.get(group) {
                Some(g) if g.members.is_empty() => {
                    let subscribed = g.subscribed;
                    local.groups.remove(group);
                    subscribed
                }
                _ => false,
            }
        };
        // While Redis is down there is nothing to undo: the connection that
        // held the subscription is gone, and the next one will not have it.
        if subscribed && self.shared.connected.load(Ordering::SeqCst) {
            // On a failure the connection is gone, and its subscriptions with it.
            self.change_subscription(false, &[self.shared.group_key(group)])
                .await;
        }
        Ok(())
    }

    async fn group_send(&self, group: &str, event: Event) -> Result<(), LayerError> {
        super::check_name("group", group)?;
        self.publish(self.shared.group_key(group), encode("", &event))
            .await;
        Ok(())
    }

    fn health(&self) -> LayerHealth {
        let c = &self.shared.counters;
        let local = self.shared.local();
        LayerHealth {
            backend: "redis",
            connected: self.shared.connected.load(Ordering::SeqCst),
            disconnects: c.disconnects.load(Ordering::Relaxed),
            reconnects: c.reconnects.load(Ordering::Relaxed),
            dropped_backend_down: c.down.load(Ordering::Relaxed),
            dropped_queue_full: c.queue_full.load(Ordering::Relaxed),
            dropped_backend_error: c.error.load(Ordering::Relaxed),
            dropped_inbox_full: c.inbox_full.load(Ordering::Relaxed),
            groups: local.groups.len(),
            channels: local.channels.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_share_their_bytes() {
        let event = Event::from_json("chat.message", r#"{"text":"hé"}"#.into());
        let wire = encode("p!1", &event);
        let (target, back) = decode(wire).unwrap();
        assert_eq!(target, "p!1");
        assert_eq!(back.kind(), "chat.message");
        assert_eq!(back.json(), r#"{"text":"hé"}"#);
        let (target, back) = decode(encode("", &event)).unwrap();
        assert_eq!((target.as_str(), back.json()), ("", event.json()));
        assert!(decode(b"garbage".to_vec()).is_none());
        assert!(decode(vec![0, 0, 0, 9]).is_none());
    }

    #[test]
    fn jitter_stays_within_the_delay() {
        for _ in 0..100 {
            let d = jitter(Duration::from_millis(100));
            assert!(d >= Duration::from_millis(50) && d <= Duration::from_millis(100));
        }
    }

    #[test]
    fn process_ids_differ() {
        assert_ne!(process_id(), process_id());
    }
}
