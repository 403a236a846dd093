//! The app: settings, authentication, the channel layer, typed state, and
//! the connections it serves.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::{AuthenticationFailed, Authenticator};
use crate::error::{BoxError, Error};
use crate::layer::{ChannelLayer, InMemoryChannelLayer};
use crate::origin::{InvalidOrigin, Origin};
use crate::permissions::{AllowAny, DynPermission, Permission};
use crate::scope::User;
use crate::throttle::{AppThrottles, MemoryThrottleStore, ThrottleStore};

/// The app's settings.
#[non_exhaustive]
pub struct Settings {
    /// Show internal errors to clients (500 replies carry the error's text).
    /// Off by default: production replies say only "A server error occurred.".
    pub debug: bool,
    /// The largest message a client may send, in bytes; a larger frame closes
    /// the connection with code 1009. Default 64 KiB.
    pub max_message_size: usize,
    /// The most one read from a socket takes, in bytes (at most 64 KiB).
    /// Reads go into a buffer of the worker thread: a connection keeps bytes
    /// only while a frame is incomplete, so an idle connection holds no read
    /// buffer at all. Default 16 KiB.
    pub read_buffer_size: usize,
    /// How many bytes of replies and events may wait for the next flush
    /// before they are written anyway. What is ready together is written
    /// together, in one write; the buffer is given back once written.
    /// Default 64 KiB.
    pub write_buffer_size: usize,
    /// How many events a connection's inbox holds before group sends to it
    /// are dropped. Default 100.
    pub channel_capacity: usize,
    /// How many connections the app serves at a time; one more is refused
    /// before its upgrade with HTTP 503 and a `Retry-After` header. Default 10,000.
    pub max_connections: usize,
    /// How long a connection may take from the upgrade request reaching the
    /// handler to a socket ready to serve (authentication, `can_connect`,
    /// joining its group, the upgrade itself). Past it the request is
    /// answered with HTTP 503 (or, once upgraded, the connection is
    /// dropped), and what it took is given back. Once upgraded, the
    /// consumer's `on_connect` has as long again; past it the socket is
    /// closed with 1011 and its group left. Default 10 s.
    pub handshake_timeout: Duration,
    /// The browser origins allowed to open a socket besides the server's own
    /// (see [`origin`](crate::origin)). Default: none.
    pub allowed_origins: Vec<Origin>,
    /// How many [detached actions](macro@crate::async_action) may run at a
    /// time on one connection; one more is refused with a 429 (and does not
    /// run). Default 16.
    pub max_detached_actions: usize,
    /// The permissions of handlers that name none. Default: allow any.
    pub default_permissions: Arc<dyn DynPermission>,
    /// The actions that [`IsAuthenticatedOrReadOnly`](crate::IsAuthenticatedOrReadOnly)
    /// and [`IsOwnerOrReadOnly`](crate::IsOwnerOrReadOnly) treat as read-only.
    /// Default `list` and `retrieve`, and the observers' `subscribe` and
    /// `unsubscribe` (reading changes is reading).
    pub read_only_actions: Vec<Cow<'static, str>>,
    /// How the generic `list` of handlers that set none is paginated.
    /// Default: not at all (a plain array), as in Django REST framework.
    pub pagination: Option<crate::pagination::Pagination>,
    /// How long a client may stay silent. After half of it without a frame
    /// from the client, the server pings; when the whole of it passes without
    /// one (no pong either), the connection is closed (code 1001) and its
    /// resources freed. `None`: never. Default 60 s.
    pub idle_timeout: Option<std::time::Duration>,
    /// How long one write to a client may wait for the client to read. A
    /// client that reads nothing for this long is disconnected; what waits
    /// for it is bounded (the socket's buffers, one reply, the inbox's
    /// `channel_capacity` events). Default 30 s.
    pub write_timeout: std::time::Duration,
    /// The most messages a connection may send per second, on average over
    /// bursts of as many; a client that sends faster is closed with code 1008
    /// (policy violation). `None`: no limit. Default 10,000 per second.
    pub max_message_rate: Option<u32>,
    /// After [`App::shutdown`], how long running actions (detached ones
    /// included) may take to finish and send their replies before their
    /// connections close with 1001. Default 5 s.
    pub shutdown_grace: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            debug: false,
            max_message_size: 64 * 1024,
            read_buffer_size: 16 * 1024,
            write_buffer_size: 64 * 1024,
            channel_capacity: 100,
            max_connections: 10_000,
            handshake_timeout: Duration::from_secs(10),
            allowed_origins: Vec::new(),
            max_detached_actions: 16,
            default_permissions: Arc::new(AllowAny),
            read_only_actions: vec![
                "list".into(),
                "retrieve".into(),
                "subscribe".into(),
                "unsubscribe".into(),
            ],
            pagination: None,
            idle_timeout: Some(std::time::Duration::from_secs(60)),
            write_timeout: std::time::Duration::from_secs(30),
            max_message_rate: Some(10_000),
            shutdown_grace: std::time::Duration::from_secs(5),
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("debug", &self.debug)
            .field("max_message_size", &self.max_message_size)
            .field("read_buffer_size", &self.read_buffer_size)
            .field("write_buffer_size", &self.write_buffer_size)
            .field("channel_capacity", &self.channel_capacity)
            .field("max_connections", &self.max_connections)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("allowed_origins", &self.allowed_origins)
            .field("max_detached_actions", &self.max_detached_actions)
            .field("read_only_actions", &self.read_only_actions)
            .field("pagination", &self.pagination)
            .field("idle_timeout", &self.idle_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("max_message_rate", &self.max_message_rate)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish_non_exhaustive()
    }
}

type ErrorHook = Box<dyn Fn(&BoxError) -> Option<Error> + Send + Sync>;

/// An app: what every connection of every consumer shares. Cheap to clone.
///
/// ```
/// use rest_channels::App;
/// let app = App::builder().debug(true).max_message_size(1 << 20).state(42u32).build();
/// assert_eq!(app.state::<u32>(), Some(&42));
/// ```
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    authenticator: Option<Box<dyn Authenticator>>,
    layer: Arc<dyn ChannelLayer>,
    throttles: AppThrottles,
    state: http::Extensions,
    error_hook: Option<ErrorHook>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    /// Connections admitted and not yet gone ([`Slot`]s).
    connections: AtomicUsize,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Default for App {
    fn default() -> Self {
        App::builder().build()
    }
}

impl App {
    /// A builder with the default settings.
    pub fn builder() -> AppBuilder {
        AppBuilder::default()
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The channel layer.
    pub fn layer(&self) -> &dyn ChannelLayer {
        &*self.inner.layer
    }

    /// Where [throttles](crate::throttle) count calls.
    pub fn throttle_store(&self) -> &dyn ThrottleStore {
        &*self.inner.throttles.store
    }

    pub(crate) fn throttles(&self) -> &AppThrottles {
        &self.inner.throttles
    }

    /// The database set with [`AppBuilder::database`].
    pub fn database(&self) -> Option<&crate::db::Database> {
        self.state()
    }

    /// Typed state given to [`AppBuilder::state`].
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.state.get::<T>()
    }

    /// The user of an upgrade request: a [`CurrentUser`](crate::CurrentUser)
    /// in its extensions, else the authenticator's answer.
    pub(crate) async fn authenticate(
        &self,
        request: &http::request::Parts,
    ) -> Result<Option<Arc<dyn User>>, AuthenticationFailed> {
        if let Some(crate::CurrentUser(user)) = request.extensions.get() {
            return Ok(Some(user.clone()));
        }
        match &self.inner.authenticator {
            Some(auth) => auth.authenticate(request).await,
            None => Ok(None),
        }
    }

    /// A place for one more connection, or `None` when
    /// [`Settings::max_connections`] are open. Dropping it gives it back.
    pub(crate) fn take_slot(&self) -> Option<Slot> {
        let max = self.inner.settings.max_connections;
        self.inner
            .connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot { app: self.clone() })
    }

    /// Maps an internal error through the app's hook; logs what stays
    /// internal, with the message's action and route.
    pub(crate) fn map_error(&self, error: Error, action: Option<&str>, route: &str) -> Error {
        match error.take_internal() {
            Ok(internal) => {
                if let Some(mapped) = self
                    .inner
                    .error_hook
                    .as_ref()
                    .and_then(|hook| hook(&internal))
                {
                    return mapped;
                }
                tracing::error!(action, route, error = %internal, "action failed");
                Error::internal(internal)
            }
            Err(error) => error,
        }
    }

    /// Asks every connection to close (code 1001, "going away"); new ones are refused.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.tracker.close();
    }

    /// Resolves once [`App::shutdown`] was called: a graceful-shutdown signal
    /// for `axum::serve`.
    pub async fn shutdown_requested(&self) {
        self.inner.shutdown.cancelled().await;
    }

    /// Waits until every connection has closed (after [`App::shutdown`]).
    pub async fn closed(&self) {
        self.inner.tracker.wait().await;
    }

    /// How many connections are open (admitted, and not yet gone: their
    /// handshake, their life, and their goodbye).
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::Acquire)
    }

    pub(crate) fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    pub(crate) fn tracker(&self) -> &TaskTracker {
        &self.inner.tracker
    }
}

/// One admitted connection, counted in [`App::connections`] while it lives.
pub(crate) struct Slot {
    app: App,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.app.inner.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Builds an [`App`].
#[derive(Default)]
pub struct AppBuilder {
    settings: Settings,
    authenticator: Option<Box<dyn Authenticator>>,
    layer: Option<Arc<dyn ChannelLayer>>,
    throttle_store: Option<Arc<dyn ThrottleStore>>,
    state: http::Extensions,
    error_hook: Option<ErrorHook>,
}

impl AppBuilder {
    /// Shows internal errors to clients; never in production.
    pub fn debug(mut self, yes: bool) -> Self {
        self.settings.debug = yes;
        self
    }
    /// The largest message a client may send (frames over it close with 1009).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.settings.max_message_size = bytes;
        self
    }
    /// Sets [`Settings::read_buffer_size`] and [`Settings::write_buffer_size`].
    pub fn buffer_sizes(mut self, read: usize, write: usize) -> Self {
        self.settings.read_buffer_size = read;
        self.settings.write_buffer_size = write;
        self
    }
    /// How many events a connection's inbox holds.
    pub fn channel_capacity(mut self, events: usize) -> Self {
        self.settings.channel_capacity = events;
        self
    }
    /// Sets [`Settings::max_connections`] (one more is refused with HTTP 503).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.settings.max_connections = connections;
        self
    }
    /// Sets [`Settings::handshake_timeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.settings.handshake_timeout = timeout;
        self
    }
    /// Allows these browser origins to open sockets, besides the server's
    /// own ([`origin`](crate::origin)); an error names the first value that
    /// is not an origin (`scheme://host` or `scheme://host:port`).
    ///
    /// ```
    /// use rest_channels::App;
    ///
    /// let app = App::builder()
    ///     .allowed_origins(["https://app.example", "http://localhost:3000"])?
    ///     .build();
    /// assert_eq!(app.settings().allowed_origins.len(), 2);
    ///
    /// let e = App::builder().allowed_origins(["https://app.example/"]).err().unwrap();
    /// assert_eq!(e.reason, "a path after the host");
    /// # Ok::<(), rest_channels::origin::InvalidOrigin>(())
    /// ```
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Result<Self, InvalidOrigin>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for origin in origins {
            let origin = Origin::parse(origin.as_ref())?;
            if !self.settings.allowed_origins.contains(&origin) {
                self.settings.allowed_origins.push(origin);
            }
        }
        Ok(self)
    }
    /// How many detached actions may run at a time on one connection.
    pub fn max_detached_actions(mut self, actions: usize) -> Self {
        self.settings.max_detached_actions = actions;
        self
    }
    /// Sets [`Settings::idle_timeout`] (`None`: connections may stay silent forever).
    pub fn idle_timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
        self.settings.idle_timeout = timeout;
        self
    }
    /// Sets [`Settings::write_timeout`].
    pub fn write_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.settings.write_timeout = timeout;
        self
    }
    /// Sets [`Settings::max_message_rate`] (`None`: no limit).
    pub fn max_message_rate(mut self, per_second: Option<u32>) -> Self {
        self.settings.max_message_rate = per_second;
        self
    }
    /// Sets [`Settings::shutdown_grace`].
    pub fn shutdown_grace(mut self, grace: std::time::Duration) -> Self {
        self.settings.shutdown_grace = grace;
        self
    }
    /// The permissions of handlers that name none.
    pub fn default_permissions(mut self, permission: impl Permission + 'static) -> Self {
        self.settings.default_permissions = Arc::new(permission);
        self
    }
    /// The database of the generic handlers (kept in the app's state).
    pub fn database(self, db: crate::db::Database) -> Self {
        self.state(db)
    }
    /// How the generic `list` of handlers that set none is paginated.
    pub fn pagination(mut self, pagination: crate::pagination::Pagination) -> Self {
        self.settings.pagination = Some(pagination);
        self
    }
    /// The actions that the read-only permissions let everyone run.
    pub fn read_only_actions<I, S>(mut self, actions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        self.settings.read_only_actions = actions.into_iter().map(Into::into).collect();
        self
    }
    /// How connections find their user.
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Some(Box::new(authenticator));
        self
    }
    /// The channel layer (default: [`InMemoryChannelLayer`]).
    pub fn channel_layer(mut self, layer: impl ChannelLayer) -> Self {
        self.layer = Some(Arc::new(layer));
        self
    }
    /// Where [throttles](crate::throttle) count calls (default:
    /// [`MemoryThrottleStore`], one process); with several processes, a
    /// store they share, such as the Redis one (cargo feature `redis`).
    pub fn throttle_store(mut self, store: impl ThrottleStore) -> Self {
        self.throttle_store = Some(Arc::new(store));
        self
    }
    /// Typed state that actions reach with [`Context::state`](crate::Context::state).
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }
    /// Maps the app's own errors (those that reached an action's `?` as
    /// internal errors) to replies; return `None` to keep the 500.
    ///
    /// ```
    /// use rest_channels::{App, Error};
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("no such row")]
    /// struct RowNotFound;
    ///
    /// let app = App::builder()
    ///     .map_error(|e| e.downcast_ref::<RowNotFound>().map(|_| Error::not_found()))
    ///     .build();
    /// ```
    pub fn map_error(
        mut self,
        hook: impl Fn(&BoxError) -> Option<Error> + Send + Sync + 'static,
    ) -> Self {
        self.error_hook = Some(Box::new(hook));
        self
    }
    /// The app.
    pub fn build(self) -> App {
        App {
            inner: Arc::new(Inner {
                settings: self.settings,
                authenticator: self.authenticator,
                layer: self
                    .layer
                    .unwrap_or_else(|| Arc::new(InMemoryChannelLayer::new())),
                throttles: AppThrottles::new(
                    self.throttle_store
                        .unwrap_or_else(|| Arc::new(MemoryThrottleStore::new())),
                ),
                state: self.state,
                error_hook: self.error_hook,
                shutdown: CancellationToken::new(),
                tracker: TaskTracker::new(),
                connections: AtomicUsize::new(0),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_hook_maps_internal_errors() {
        let app = App::builder()
            .map_error(|e| {
                e.downcast_ref::<std::num::ParseIntError>()
                    .map(|_| Error::bad_request("not a number"))
            })
            .build();
        let e: Error = "x".parse::<i32>().unwrap_err().into();
        assert_eq!(app.map_error(e, Some("a"), "r/").status(), 400);
        assert_eq!(app.map_error(Error::msg("other"), None, "").status(), 500);
        assert_eq!(app.map_error(Error::not_found(), None, "").status(), 404);
    }
}
