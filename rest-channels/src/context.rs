//! The context of one message: the scope, the route's kwargs and query, and
//! the connection's ways to reach its client and its groups.

use std::borrow::Cow;
use std::sync::Mutex;

use serde::Serialize;
use smallvec::SmallVec;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::app::App;
use crate::envelope::Message;
use crate::error::Error;
use crate::handler::Handler;
use crate::layer::{ChannelLayer, Event};
use crate::permissions::{Object, Permission};
use crate::routing::{Kwarg, KwargKind};
use crate::scope::{Scope, User};

/// What a connection holds for its whole life.
pub(crate) struct Connection {
    pub(crate) scope: Scope,
    pub(crate) channel: String,
    pub(crate) groups: Mutex<Vec<String>>,
    pub(crate) broadcast_group: Option<String>,
    pub(crate) outbox: Mutex<Vec<Utf8Bytes>>,
    /// Told when a frame is queued: while detached actions run, the loop
    /// sends what they queue as they queue it, not at their reply.
    pub(crate) outbox_ready: tokio::sync::Notify,
    /// Its detached actions (see `detached`).
    pub(crate) detached: crate::detached::DetachState,
    /// The observer subscriptions (see `observer`).
    pub(crate) subscriptions: Mutex<Vec<crate::observer::Subscription>>,
}

impl Connection {
    pub(crate) fn new(scope: Scope, channel: String, broadcast_group: Option<String>) -> Self {
        Connection {
            scope,
            channel,
            groups: Mutex::new(Vec::new()),
            broadcast_group,
            outbox: Mutex::new(Vec::new()),
            outbox_ready: tokio::sync::Notify::new(),
            detached: Default::default(),
            subscriptions: Mutex::new(Vec::new()),
        }
    }

    /// Queues a frame for the client (sent after what was queued before).
    pub(crate) fn push(&self, text: Utf8Bytes) {
        self.outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(text);
        self.outbox_ready.notify_one();
    }

    pub(crate) fn take_outbox(&self) -> Vec<Utf8Bytes> {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The context of one message (or one event): what an action, a permission
/// or an event handler may ask about the request, and how it reaches the
/// client and the groups.
///
/// ```
/// use rest_channels::prelude::*;
///
/// #[derive(Default)]
/// pub struct Items;
///
/// #[action_handler]
/// impl Items {
///     /// `{"action": "touch", "route": "items/abc-1/?verbose=1"}`
///     #[async_action]
///     async fn touch(&self, ctx: &Context<'_>) -> ActionResult {
///         let pk: &str = ctx.kwarg("pk")?;
///         let verbose = ctx.query_param("verbose").is_some();
///         Ok(reply!({"model_id": pk, "verbose": verbose, "user": ctx.user().map(|u| u.username())}, 200))
///     }
/// }
/// ```
pub struct Context<'m> {
    pub(crate) conn: &'m Connection,
    pub(crate) msg: &'m Message<'m>,
    path: &'m str,
    query: &'m str,
    pub(crate) offset: usize,
    pub(crate) kwargs: SmallVec<[Kwarg; 2]>,
}

impl<'m> Context<'m> {
    pub(crate) fn new(conn: &'m Connection, msg: &'m Message<'m>) -> Self {
        let route = msg.route();
        let (path, query) = route.split_once('?').unwrap_or((route, ""));
        Context {
            conn,
            msg,
            path,
            query,
            offset: 0,
            kwargs: SmallVec::new(),
        }
    }

    /// The connection's scope.
    pub fn scope(&self) -> &'m Scope {
        &self.conn.scope
    }

    /// The app.
    pub fn app(&self) -> &'m App {
        &self.conn.scope.app
    }

    /// The user, or `None` for an anonymous connection.
    pub fn user(&self) -> Option<&'m dyn User> {
        self.conn.scope.user()
    }

    /// The user's id; an anonymous connection is refused (403).
    pub fn user_id(&self) -> Result<crate::scope::UserId, Error> {
        self.user()
            .map(|u| u.id())
            .ok_or_else(Error::permission_denied)
    }

    /// Whether the connection's user is authenticated.
    pub fn is_authenticated(&self) -> bool {
        self.conn.scope.is_authenticated()
    }

    /// Typed app state (see [`Scope::state`]).
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Result<&'m T, Error> {
        self.conn.scope.state()
    }

    /// The action's name (`""` in an event handler or a hook).
    pub fn action(&self) -> &'m str {
        self.msg.action().unwrap_or("")
    }

    /// The route as sent, query string included.
    pub fn route(&self) -> &'m str {
        self.msg.route()
    }

    /// The route's path, without the query string.
    pub fn route_path(&self) -> &'m str {
        self.path
    }

    /// The part of the route's path that routing has not consumed yet.
    pub(crate) fn remaining_path(&self) -> &'m str {
        &self.path[self.offset..]
    }

    /// The route's query string (after `?`), raw.
    pub fn query(&self) -> &'m str {
        self.query
    }

    /// A parameter of the route's query string, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<Cow<'m, str>> {
        crate::scope::query_param(self.query, name)
    }

    /// The whole message.
    pub fn message(&self) -> &'m Message<'m> {
        self.msg
    }

    /// A keyword argument: from the route (`<int:pk>`, `(?P<pk>...)`; the
    /// innermost route wins), else from the WebSocket URL's axum route.
    ///
    /// `T` is `&str`, `String`, or a number. A name that no route defines is
    /// a bug of the app (500); a value that does not parse as `T` is a 404.
    pub fn kwarg<T: FromKwarg<'m>>(&self, name: &str) -> Result<T, Error> {
        let raw = self
            .route_kwarg(name)
            .map(|(_, raw)| raw)
            .or_else(|| self.conn.scope.url_kwarg(name))
            .ok_or_else(|| Error::msg(format_args!("no URL keyword argument named `{name}`")))?;
        T::from_kwarg(raw).ok_or_else(Error::not_found)
    }

    /// A keyword argument of the routes matched for this message (the
    /// innermost route wins): its kind and its raw value.
    pub(crate) fn route_kwarg(&self, name: &str) -> Option<(KwargKind, &'m str)> {
        self.kwargs
            .iter()
            .rev()
            .find(|k| k.name == name)
            .map(|k| (k.kind, &self.path[k.start as usize..k.end as usize]))
    }

    /// Sends a JSON message to this client (after what was sent before, and
    /// before the action's reply).
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Error> {
        let text = serde_json::to_string(value).map_err(Error::internal)?;
        self.push(text.into());
        Ok(())
    }

    /// Sends an event to this client as it is (its JSON, `type` included
    /// when it has one). The event's bytes are shared, not copied.
    pub fn forward(&self, event: &Event) {
        self.push(event.frame());
    }

    fn push(&self, text: Utf8Bytes) {
        self.conn.push(text);
    }

    /// The channel layer.
    pub fn layer(&self) -> &'m dyn ChannelLayer {
        self.app().layer()
    }

    /// This connection's channel name in the layer.
    pub fn channel_name(&self) -> &'m str {
        &self.conn.channel
    }

    /// The group that broadcast actions send to (the consumer's `group` kwarg).
    pub fn broadcast_group(&self) -> Option<&'m str> {
        self.conn.broadcast_group.as_deref()
    }

    /// Joins a group; the connection leaves it when it closes.
    pub async fn group_add(&self, group: &str) -> Result<(), Error> {
        self.layer()
            .group_add(group, &self.conn.channel)
            .await
            .map_err(Error::internal)?;
        let mut groups = self.conn.groups.lock().unwrap_or_else(|e| e.into_inner());
        if !groups.iter().any(|g| g == group) {
            groups.push(group.to_owned());
        }
        Ok(())
    }

    /// Leaves a group.
    pub async fn group_discard(&self, group: &str) -> Result<(), Error> {
        self.layer()
            .group_discard(group, &self.conn.channel)
            .await
            .map_err(Error::internal)?;
        self.conn
            .groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|g| g != group);
        Ok(())
    }

    /// Sends an event to every member of a group (this connection included, if it is one).
    pub async fn group_send(&self, group: &str, event: Event) -> Result<(), Error> {
        self.layer()
            .group_send(group, event)
            .await
            .map_err(Error::internal)
    }

    /// Checks the object permissions of handler `H` (and of nothing else) on `obj`;
    /// a refusal is a 403.
    pub async fn check_object_permission<H: Handler>(&self, obj: &dyn Object) -> Result<(), Error> {
        if H::permission().has_object_permission(self, obj).await {
            Ok(())
        } else {
            Err(Error::permission_denied())
        }
    }
}

/// A type a URL keyword argument can be read as (see [`Context::kwarg`]).
pub trait FromKwarg<'a>: Sized {
    /// Parses the raw value; `None` when it does not fit.
    fn from_kwarg(raw: &'a str) -> Option<Self>;
}

impl<'a> FromKwarg<'a> for &'a str {
    fn from_kwarg(raw: &'a str) -> Option<Self> {
        Some(raw)
    }
}

impl<'a> FromKwarg<'a> for String {
    fn from_kwarg(raw: &'a str) -> Option<Self> {
        Some(raw.to_owned())
    }
}

macro_rules! from_kwarg_parse {
    ($($t:ty),*) => {$(
        impl<'a> FromKwarg<'a> for $t {
            fn from_kwarg(raw: &'a str) -> Option<Self> {
                raw.parse().ok()
            }
        }
    )*};
}
from_kwarg_parse!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, bool, char
);
