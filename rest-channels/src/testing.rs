//! Testing consumers without a socket: an in-process communicator, as the
//! ancestor's `WebsocketCommunicator`.
//!
//! The communicator runs the very connection loop that serves real sockets,
//! over in-memory channels.
//!
//! ```
//! use rest_channels::prelude::*;
//! use rest_channels::testing::Communicator;
//!
//! #[derive(Default)]
//! pub struct Api;
//!
//! #[consumer]
//! impl Api {
//!     #[async_action]
//!     async fn whoami(&self, ctx: &Context<'_>) -> ActionResult {
//!         Ok(reply!({"username": ctx.user().map(|u| u.username())}, 200))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut c = Communicator::builder::<Api>(App::default())
//!     .user(SimpleUser::new(1, "alice"))
//!     .connect()
//!     .await
//!     .unwrap();
//! c.send_json(&serde_json::json!({"action": "whoami", "request_id": 1})).await;
//! let reply = c.receive_json().await.unwrap();
//! assert_eq!(reply["data"]["username"], "alice");
//! assert_eq!(reply["request_id"], 1);
//! c.disconnect().await;
//! # }
//! ```

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::admission::{Admitted, admit};
use crate::app::App;
use crate::connection::{Incoming, Transport, serve};
use crate::handler::Consumer;
use crate::scope::{CurrentUser, User};

/// Why a test step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestError {
    /// The connection was not admitted: the HTTP status and body a socket's
    /// upgrade would have been refused with (403 for a foreign origin,
    /// wrong credentials or `can_connect`; 503 when shutting down or over
    /// the connection limit).
    #[error("the connection was refused with HTTP {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The response's body.
        body: String,
    },
    /// The builder's path or query do not make a request URI.
    #[error("not a request URI: {0}")]
    BadUri(String),
    /// Nothing arrived in time.
    #[error("nothing received within {0:?}")]
    Timeout(Duration),
    /// The server closed the connection (with this close code, if any).
    #[error("the connection was closed (code {0:?})")]
    Closed(Option<u16>),
    /// A message was not JSON.
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
}

enum Out {
    Text(Utf8Bytes),
    Close(Option<u16>),
}

struct Pipe {
    rx: mpsc::Receiver<Incoming>,
    tx: mpsc::UnboundedSender<Out>,
}

impl Transport for Pipe {
    fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Incoming> {
        self.rx
            .poll_recv(cx)
            .map(|incoming| incoming.unwrap_or(Incoming::Closed))
    }
    async fn feed(&mut self, text: Utf8Bytes) -> bool {
        self.tx.send(Out::Text(text)).is_ok()
    }
    async fn flush(&mut self) -> bool {
        true
    }
    fn has_queued(&self) -> bool {
        false
    }
    async fn ping(&mut self) -> bool {
        true
    }
    fn last_seen(&self) -> Option<tokio::time::Instant> {
        None
    }
    async fn close(self, code: Option<u16>, _reason: &'static str) {
        let _ = self.tx.send(Out::Close(code));
    }
}

/// Builds a [`Communicator`] for consumer `C`: the upgrade request it
/// stands for, admitted as the axum handler admits a socket's.
pub struct CommunicatorBuilder<C> {
    app: App,
    path: String,
    query: String,
    headers: http::HeaderMap,
    extensions: http::Extensions,
    url_kwargs: Vec<(String, String)>,
    timeout: Duration,
    consumer: PhantomData<fn() -> C>,
}

impl<C: Consumer> CommunicatorBuilder<C> {
    /// Connects as this user (default: what the app's authenticator finds
    /// in the request, else anonymous), as an app's middleware would with
    /// [`CurrentUser`].
    pub fn user(mut self, user: impl User) -> Self {
        self.extensions.insert(CurrentUser(Arc::new(user)));
        self
    }
    /// Adds a URL kwarg, as the axum route's `{name}` would.
    pub fn url_kwarg(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.url_kwargs.push((name.into(), value.into()));
        self
    }
    /// Sets the URL's path (default `/ws/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
    /// Sets the URL's query string (`token=alice-token`).
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = query.into();
        self
    }
    /// Sets the upgrade request's headers (`Origin`, `Host`, `Authorization`, ...).
    pub fn headers(mut self, headers: http::HeaderMap) -> Self {
        self.headers = headers;
        self
    }
    /// How long the `receive_*` methods wait (default 1 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Admits the request as a socket's upgrade would be (shutdown, origin,
    /// connection limit, authentication, `can_connect`: a refusal is
    /// [`TestError::Refused`]), then runs the connection.
    pub async fn connect(self) -> Result<Communicator, TestError> {
        let uri = if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        };
        let mut request = http::Request::builder()
            .uri(&uri)
            .body(())
            .map_err(|e| TestError::BadUri(format!("{uri:?}: {e}")))?;
        *request.headers_mut() = self.headers;
        *request.extensions_mut() = self.extensions;
        let (mut parts, ()) = request.into_parts();
        let deadline = tokio::time::Instant::now() + self.app.settings().handshake_timeout;
        let Admitted { scope, slot } = admit::<C>(&self.app, &mut parts, self.url_kwargs, deadline)
            .await
            .map_err(|refusal| TestError::Refused {
                status: refusal.status.as_u16(),
                body: refusal.body.into_owned(),
            })?;
        let max = self.app.settings().max_message_size;
        let (in_tx, in_rx) = mpsc::channel(16);
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let pipe = Pipe {
            rx: in_rx,
            tx: out_tx,
        };
        let task = self.app.tracker().spawn(async move {
            let _slot = slot;
            serve::<C, _>(scope, pipe, Some(ready_tx)).await;
        });
        // Joined its group and ran `on_connect` (or closed at once).
        let _ = ready_rx.await;
        Ok(Communicator {
            tx: Some(in_tx),
            rx: out_rx,
            task,
            timeout: self.timeout,
            max,
            closed: None,
        })
    }
}

/// A connection to a consumer, in process.
pub struct Communicator {
    tx: Option<mpsc::Sender<Incoming>>,
    rx: mpsc::UnboundedReceiver<Out>,
    task: JoinHandle<()>,
    timeout: Duration,
    max: usize,
    closed: Option<Option<u16>>,
}

impl std::fmt::Debug for Communicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Communicator")
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Communicator {
    /// A builder for a connection to consumer `C` of `app`.
    pub fn builder<C: Consumer>(app: App) -> CommunicatorBuilder<C> {
        CommunicatorBuilder {
            app,
            path: "/ws/".to_owned(),
            query: String::new(),
            headers: http::HeaderMap::new(),
            extensions: http::Extensions::new(),
            url_kwargs: Vec::new(),
            timeout: Duration::from_secs(1),
            consumer: PhantomData,
        }
    }

    async fn push(&mut self, incoming: Incoming) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(incoming).await;
        }
    }

    /// Sends a text frame (over the app's size limit, it closes the connection with 1009).
    pub async fn send_text(&mut self, text: impl Into<String>) {
        let text: String = text.into();
        let incoming = if text.len() > self.max {
            Incoming::TooLarge
        } else {
            Incoming::Text(text.into())
        };
        self.push(incoming).await;
    }

    /// Sends a value as JSON.
    pub async fn send_json<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        self.send_text(serde_json::to_string(value).expect("test message serializes"))
            .await;
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self) {
        self.push(Incoming::Binary).await;
    }

    /// The next text message.
    pub async fn receive_text(&mut self) -> Result<String, TestError> {
        if let Some(code) = self.closed {
            return Err(TestError::Closed(code));
        }
        match tokio::time::timeout(self.timeout, self.rx.recv()).await {
            Err(_) => Err(TestError::Timeout(self.timeout)),
            Ok(Some(Out::Text(t))) => Ok(t.as_str().to_owned()),
            Ok(Some(Out::Close(code))) => {
                self.closed = Some(code);
                Err(TestError::Closed(code))
            }
            Ok(None) => {
                self.closed = Some(None);
                Err(TestError::Closed(None))
            }
        }
    }

    /// The next message, parsed as JSON.
    pub async fn receive_json(&mut self) -> Result<serde_json::Value, TestError> {
        Ok(serde_json::from_str(&self.receive_text().await?)?)
    }

    /// Whether nothing arrives within `within`.
    pub async fn receive_nothing(&mut self, within: Duration) -> bool {
        tokio::time::timeout(within, self.rx.recv()).await.is_err()
    }

    /// Waits for the server to close; its close code.
    pub async fn receive_close(&mut self) -> Result<Option<u16>, TestError> {
        loop {
            match self.receive_text().await {
                Ok(_) => continue,
                Err(TestError::Closed(code)) => return Ok(code),
                Err(e) => return Err(e),
            }
        }
    }

    /// Closes from the client side and waits for the connection to end
    /// (groups left, `on_disconnect` run).
    pub async fn disconnect(mut self) {
        self.push(Incoming::Closed).await;
        self.tx = None;
        let _ = (&mut self.task).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use serde_json::json;

    #[derive(Default)]
    pub struct Private;

    #[action_handler(permissions = [IsAuthenticated])]
    impl Private {
        #[async_action]
        async fn secret(&self, ctx: &Context<'_>) -> ActionResult {
            Ok(
                reply!({"user": ctx.user().map(|u| u.username()), "group": ctx.kwarg::<&str>("group_id")?}, 200),
            )
        }
    }

    #[derive(Default)]
    pub struct Api;

    #[consumer(permissions = [AllowAny], group = "group_id", routes = [path("private/", Private)])]
    impl Api {
        #[async_action]
        async fn echo(&self, data: Option<serde_json::Value>) -> ActionResult {
            Ok((data.unwrap_or_default(), 200))
        }

        #[async_action(mode = "broadcast")]
        async fn announce(&self, text: String) -> ActionResult {
            Ok(reply!({"text": text}, 200))
        }
    }

    #[derive(Default)]
    pub struct Strict;

    #[consumer(permissions = [IsAuthenticatedStrictly])]
    impl Strict {}

    fn connect(app: &App) -> CommunicatorBuilder<Api> {
        Communicator::builder::<Api>(app.clone()).url_kwarg("group_id", "lobby")
    }

    #[tokio::test]
    async fn dispatches_and_checks_route_permissions() {
        let app = App::default();
        let mut anon = connect(&app).connect().await.unwrap();
        anon.send_json(&json!({"action": "echo", "data": [1], "request_id": "r"}))
            .await;
        assert_eq!(
            anon.receive_json().await.unwrap(),
            json!({"errors": [], "data": [1], "action": "echo", "route": "", "status": 200, "request_id": "r"})
        );
        anon.send_json(&json!({"action": "nope", "route": "private/"}))
            .await;
        assert_eq!(anon.receive_json().await.unwrap()["status"], 403);

        let mut alice = connect(&app)
            .user(SimpleUser::new(1, "alice"))
            .connect()
            .await
            .unwrap();
        alice
            .send_json(&json!({"action": "secret", "route": "private/"}))
            .await;
        assert_eq!(
            alice.receive_json().await.unwrap()["data"],
            json!({"user": "alice", "group": "lobby"})
        );
        alice
            .send_json(&json!({"action": "nope", "route": "private/"}))
            .await;
        assert_eq!(alice.receive_json().await.unwrap()["status"], 405);
        anon.disconnect().await;
        alice.disconnect().await;
    }

    #[tokio::test]
    async fn broadcasts_reach_the_url_group_and_leaving_stops_them() {
        let app = App::default();
        let mut a = connect(&app).connect().await.unwrap();
        let mut b = connect(&app).connect().await.unwrap();
        let mut elsewhere = Communicator::builder::<Api>(app.clone())
            .url_kwarg("group_id", "other")
            .connect()
            .await
            .unwrap();
        a.send_json(&json!({"action": "announce", "text": "hi"}))
            .await;
        assert_eq!(
            a.receive_json().await.unwrap()["data"],
            json!({"text": "hi"})
        );
        let event = json!({"data": {"text": "hi"}, "status": 200});
        assert_eq!(a.receive_json().await.unwrap(), event);
        assert_eq!(b.receive_json().await.unwrap(), event);
        assert!(elsewhere.receive_nothing(Duration::from_millis(100)).await);
        b.disconnect().await;
        a.send_json(&json!({"action": "announce", "text": "again"}))
            .await;
        assert_eq!(a.receive_json().await.unwrap()["status"], 200);
        assert_eq!(
            a.receive_json().await.unwrap(),
            json!({"data": {"text": "again"}, "status": 200})
        );
    }

    #[tokio::test]
    async fn strict_consumers_refuse_anonymous_connections() {
        let app = App::default();
        match Communicator::builder::<Strict>(app.clone()).connect().await {
            Err(TestError::Refused { status, body }) => {
                assert_eq!(
                    (status, body.as_str()),
                    (403, "You do not have permission to connect.")
                );
            }
            other => panic!("not refused: {other:?}"),
        }
        let c = Communicator::builder::<Strict>(app)
            .user(SimpleUser::new(1, "a"))
            .connect()
            .await
            .unwrap();
        c.disconnect().await;
    }

    #[tokio::test]
    async fn a_path_that_makes_no_uri_is_an_error() {
        let connected = Communicator::builder::<Api>(App::default())
            .path("/ws/ with spaces")
            .connect()
            .await;
        match connected {
            Err(e @ TestError::BadUri(_)) => {
                assert!(e.to_string().contains("/ws/ with spaces"), "{e}");
            }
            other => panic!("not a BadUri: {other:?}"),
        }
    }

    #[tokio::test]
    async fn too_large_messages_close_with_1009() {
        let app = App::builder().max_message_size(16).build();
        let mut c = connect(&app).connect().await.unwrap();
        c.send_text("x".repeat(17)).await;
        assert_eq!(c.receive_close().await.unwrap(), Some(1009));
    }
}

#[cfg(test)]
mod hook_tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::prelude::*;
    use serde_json::json;

    #[derive(Clone, Default)]
    struct Counters {
        disconnected: Arc<AtomicUsize>,
    }

    #[derive(Default)]
    pub struct Hooked;

    #[consumer(group = "room")]
    impl Hooked {
        #[on_connect]
        async fn hello(&self, ctx: &Context<'_>) -> Result<(), Error> {
            if ctx.scope().query_param("refuse").is_some() {
                return Err(Error::permission_denied());
            }
            ctx.send_json(&json!({"hello": ctx.broadcast_group()}))
        }

        #[on_disconnect]
        async fn bye(&self, ctx: &Context<'_>) {
            if let Ok(c) = ctx.state::<Counters>() {
                c.disconnected.fetch_add(1, Ordering::SeqCst);
            }
        }

        #[async_action]
        async fn poke(&self, ctx: &Context<'_>) -> ActionResult {
            ctx.group_send("room1", Event::new("poke", &json!({"poked": true}))?)
                .await?;
            ctx.group_send("room1", Event::new("bad", &json!(1))?)
                .await?;
            Ok(reply!(null, 204))
        }

        #[event("poke")]
        fn poked(&self, ctx: &Context<'_>, event: &Event) -> Result<(), Error> {
            let v: serde_json::Value = event.parse()?;
            ctx.send_json(&json!({"event": v}))
        }

        #[event("bad")]
        async fn bad(&self) {
            panic!("event handler bug");
        }
    }

    #[tokio::test]
    async fn hooks_events_and_a_panicking_event_handler() {
        let counters = Counters::default();
        let app = App::builder().state(counters.clone()).build();
        let mut c = Communicator::builder::<Hooked>(app.clone())
            .url_kwarg("room", "room1")
            .connect()
            .await
            .unwrap();
        assert_eq!(c.receive_json().await.unwrap(), json!({"hello": "room1"}));
        c.send_json(&json!({"action": "poke"})).await;
        assert_eq!(c.receive_json().await.unwrap()["status"], 204);
        assert_eq!(
            c.receive_json().await.unwrap(),
            json!({"event": {"poked": true}})
        );
        // the panicking event handler did not take the connection down
        c.send_json(&json!({"action": "poke"})).await;
        assert_eq!(c.receive_json().await.unwrap()["status"], 204);
        c.disconnect().await;
        assert_eq!(counters.disconnected.load(Ordering::SeqCst), 1);

        let mut refused = Communicator::builder::<Hooked>(app)
            .url_kwarg("room", "room1")
            .query("refuse=1")
            .connect()
            .await
            .unwrap();
        assert_eq!(refused.receive_close().await.unwrap(), Some(4003));
    }
}
