//! # rest-channels
//!
//! JSON-over-WebSocket APIs in the style of Django REST framework and Django
//! Channels (`rest_framework_channels`), served on axum.
//!
//! A client opens one WebSocket and sends `{"action": ..., "route": ..., ...}`
//! messages. A **consumer** (one per endpoint) resolves the `route` to an
//! **action handler**, checks **permissions**, runs the **action** with its
//! typed arguments, and replies with an envelope
//! `{"errors": [], "data": ..., "action": ..., "route": ..., "status": ...}`.
//!
//! The attribute macros build each handler's dispatch table as a `match` on
//! the action name, compile route patterns and permission expressions when
//! the crate compiles, and report mistakes at their span:
//!
//! ```
//! use rest_channels::prelude::*;
//!
//! #[derive(Default)]
//! pub struct Items;
//!
//! #[action_handler(permissions = [AllowAny])]
//! impl Items {
//!     /// `{"action": "touch", "route": "items/abc-1/"}`
//!     #[async_action]
//!     async fn touch(&self, ctx: &Context<'_>) -> ActionResult {
//!         let pk: &str = ctx.kwarg("pk")?;
//!         Ok(reply!({"message": "touched", "model_id": pk}, 200))
//!     }
//! }
//!
//! #[derive(Default)]
//! pub struct Api;
//!
//! #[consumer(permissions = [AllowAny], routes = [re_path(r"items/(?P<pk>[-\w]+)/$", Items)])]
//! impl Api {
//!     /// Named parameters are message keys, deserialized with serde.
//!     #[async_action]
//!     async fn echo(&self, data: Option<serde_json::Value>) -> ActionResult {
//!         Ok((data.unwrap_or_default(), 200))
//!     }
//!
//!     /// A plain `fn` is a blocking action: it runs off the async workers.
//!     #[async_action]
//!     fn sync_echo(&self, pk: i64) -> ActionResult {
//!         Ok(reply!({"pk": pk, "sync": true}, 200))
//!     }
//! }
//!
//! // axum: one line per endpoint
//! let router: axum::Router = axum::Router::new()
//!     .route("/ws/", axum::routing::get(rest_channels::axum::websocket::<Api>))
//!     .with_state(App::default());
//! ```
//!
//! Modules: [`envelope`] (the wire format), [`routing`], [`permissions`],
//! [`scope`], [`error`], [`layer`] (groups and broadcast), [`axum`] (serving),
//! [`testing`] (an in-process communicator).
#![warn(missing_docs)]

// The macros name the runtime `::rest_channels`; this lets the crate use them too.
extern crate self as rest_channels;

mod app;
pub mod axum;
mod connection;
mod context;
mod dispatch;
pub mod envelope;
pub mod error;
mod handler;
pub mod layer;
pub mod permissions;
pub mod routing;
pub mod scope;
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use app::{App, AppBuilder, Authenticator, Settings, TokenAuth, request_token};
pub use context::{Context, FromKwarg};
pub use error::{Error, ErrorKind, FieldErrors};
pub use handler::{ActionResult, ActionReturn, Consumer, EventReturn, Handler};
pub use layer::{ChannelLayer, Event, InMemoryChannelLayer};
pub use permissions::{
    AllowAny, And, IsAdminUser, IsAuthenticated, IsAuthenticatedOrReadOnly,
    IsAuthenticatedStrictly, IsOwner, IsOwnerOrReadOnly, Not, Object, Or, Permission,
};
pub use scope::{CurrentUser, Scope, SimpleUser, User, UserId};

/// Makes an `impl` block an action handler (a route target): `permissions = [...]`, `routes = [...]`.
pub use rest_channels_macros::action_handler;
/// Marks a method of an `#[action_handler]` or `#[consumer]` impl as an action.
///
/// Options: `name = "wire_name"`, `mode = "response" | "broadcast" | "none"`,
/// `broadcast_type = "chat.message"`, `send_response_in_broadcast = false`.
pub use rest_channels_macros::async_action;
/// Makes an `impl` block a consumer (an endpoint): `permissions = [...]`, `routes = [...]`, `group = "url_kwarg"`.
pub use rest_channels_macros::consumer;
/// Marks a consumer method as the handler of channel-layer events of one type: `#[event("chat.message")]`.
pub use rest_channels_macros::event;
/// Marks a consumer method to run when a connection opens.
pub use rest_channels_macros::on_connect;
/// Marks a consumer method to run when a connection closes.
pub use rest_channels_macros::on_disconnect;

/// `IsAdminUser` under the name the design sketches use.
pub use permissions::IsAdminUser as IsStaff;

/// Everything an app needs, in one `use`.
pub mod prelude {
    pub use crate::reply;
    pub use crate::{
        ActionResult, AllowAny, App, Context, Error, Event, IsAdminUser, IsAuthenticated,
        IsAuthenticatedOrReadOnly, IsAuthenticatedStrictly, IsOwner, IsOwnerOrReadOnly, IsStaff,
        Permission, Scope, SimpleUser, User, action_handler, async_action, consumer, event,
        on_connect, on_disconnect,
    };
}
