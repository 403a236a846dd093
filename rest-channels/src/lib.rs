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
//! [`testing`] (an in-process communicator); the REST half: [`model`]
//! (`#[derive(Model)]`), [`db`] (SQLite and Postgres), [`generics`] (the
//! generic handlers), [`pagination`], [`filters`].
#![warn(missing_docs)]

// The macros name the runtime `::rest_channels`; this lets the crate use them too.
extern crate self as rest_channels;

mod app;
pub mod axum;
mod connection;
mod context;
pub mod db;
mod dispatch;
pub mod envelope;
pub mod error;
pub mod filters;
pub mod generics;
mod handler;
pub mod layer;
pub mod model;
pub mod pagination;
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

pub use db::Database;
pub use generics::ModelHandler;
pub use model::Model;

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

/// Maps a struct to a table: implements [`Model`](model::Model) and
/// [`Object`] for it, and defines `<Name>Fields`, the type of its
/// [`FIELDS`](model::Model::FIELDS) constant (`Note::FIELDS.title`; a
/// misspelt column is a compile error).
///
/// The struct has named fields, no generics, and derives
/// `serde::Serialize` too (the derive does not do it for you: a reply is
/// the serialized struct). Each field is a column named after it, of a
/// [`FieldType`](model::FieldType): `i64`, `i32`, `f64`, `bool`, `String`,
/// or an `Option` of one (nullable, and never required).
///
/// ```
/// use rest_channels::prelude::*;
/// use rest_channels::model::WriteMode;
/// use serde::Serialize;
///
/// fn no_spaces(s: &String) -> Result<(), String> {
///     if s.contains(' ') { Err("No spaces, please.".into()) } else { Ok(()) }
/// }
///
/// #[derive(Model, Serialize)]
/// #[model(table = "notes")]
/// pub struct Note {
///     #[model(primary_key)]
///     pub id: i64,
///     #[model(validate(length(chars, min = 1, max = 255)))]
///     pub title: String,
///     #[model(default = "", validate(length(chars, max = 1024)))]
///     pub content: String,
///     #[model(validate(range(min = 1, max = 5)))]
///     pub stars: Option<i32>,
///     #[model(default, validate(custom(no_spaces)))]
///     pub tag: String,
///     #[model(read_only, owner)]
///     pub author: i64,
/// }
///
/// assert_eq!(Note::TABLE, "notes");
/// assert_eq!(Note::PRIMARY_KEY, Note::FIELDS.id);
/// assert_eq!(Note::COLUMNS.len(), 6);
/// assert_eq!(Note::FIELDS.author.name(), "author");
///
/// // A create reads the writable fields, fills the defaults and reports
/// // every invalid field at once (the id and the author are not read).
/// let data = serde_json::json!({"title": "", "stars": 9, "tag": "a b", "author": 7});
/// let errors = Note::read_data(data.as_object().unwrap(), WriteMode::Create).unwrap_err();
/// let errors: Vec<(&str, &[String])> = errors.iter().collect();
/// assert_eq!(errors, [
///     ("title", &["This field may not be blank.".to_string()][..]),
///     ("stars", &["Ensure this value is less than or equal to 5.".to_string()][..]),
///     ("tag", &["No spaces, please.".to_string()][..]),
/// ]);
/// let data = serde_json::json!({"title": "Hello"});
/// let values = Note::read_data(data.as_object().unwrap(), WriteMode::Create).unwrap();
/// assert_eq!(values.iter().map(|(c, _)| c).collect::<Vec<_>>(), ["title", "content", "tag"]);
/// ```
///
/// # Options
///
/// On the struct, `#[model(...)]`:
///
/// | option | meaning |
/// |---|---|
/// | `table = "notes"` | the table's name (required) |
/// | `crate = "path"` | where this crate is, when not `::rest_channels` (a renamed dependency, a re-export) |
///
/// On a field, `#[model(...)]` (several attributes on one field add up):
///
/// | option | meaning |
/// |---|---|
/// | `primary_key` | the primary key: exactly one field; assigned by the database, so read-only |
/// | `read_only` | never read from a client's `data` (the server sets it) |
/// | `owner` | the user id that [`IsOwner`] and [`IsOwnerOrReadOnly`] compare ([`Object::owner`]): an `i64` or `String` field, or an `Option` of one; at most one field |
/// | `default = <literal>` | the value a `create` uses when the client leaves the field out: a string, integer, float or boolean literal, converted with `Into::into` (for an `Option` field, the value inside) |
/// | `default` | the same with `Default::default()` |
/// | `validate(rule, ...)` | checks of the value, every failing one reported (see below) |
///
/// A writable field without a default, and not an `Option`, is required by
/// `create` and `update`. A read-only field (or the primary key) with
/// `default` or `validate` is an error: it is never read from a client.
///
/// The rules of `validate(...)`, worded as Django REST framework words them
/// (see [`model::validate`]); on an `Option` field they check the value
/// inside, when there is one:
///
/// | rule | checks |
/// |---|---|
/// | `length(chars, min = 1, max = 255)` | a `String`'s length in characters (`chars` is the default; at least one of `min`, `max`) |
/// | `length(bytes, max = 255)` | a `String`'s length in UTF-8 bytes |
/// | `range(min = 0, max = 10)` | a number's value; the bounds are literals of the field's type (`0.5` for an `f64`) |
/// | `email` | a `String` is an e-mail address |
/// | `custom(path::to::check)` | `fn check(value: &T) -> Result<(), String>`, `T` the field's type (inside its `Option`); the error is the message |
///
/// Mistakes are compile errors at their token, all at once: an unknown or
/// repeated option or rule, a missing table or primary key, two primary
/// keys or owners, a rule that does not fit the field's type, an enum, a
/// tuple or generic struct. A field type that is not a model field type is
/// an error at the type.
pub use rest_channels_macros::Model;

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
    pub use crate::db::{Database, Tx};
    pub use crate::generics::ModelHandler;
    pub use crate::model::{Column, Values};
    pub use crate::Model;
    pub use crate::pagination::Pagination;
}
