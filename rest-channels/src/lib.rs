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
//! Modules: [`envelope`] (the wire format), [`permissions`],
//! [`scope`], [`error`], [`layer`] (groups and broadcast), [`axum`] (serving),
//! [`origin`] (which pages may connect), [`throttle`] (how often a client may call),
//! [`testing`] (an in-process communicator); the REST half: [`model`]
//! (`#[derive(Model)]`), [`db`] (SQLite and Postgres), [`generics`] (the
//! generic handlers), [`pagination`], [`filters`].
#![warn(missing_docs)]

// The macros name the runtime `::rest_channels`; this lets the crate use them too.
extern crate self as rest_channels;

mod admission;
mod app;
pub mod asyncapi;
mod auth;
pub mod axum;
mod connection;
mod context;
pub mod db;
pub mod describe;
mod detached;
mod dispatch;
pub mod envelope;
pub mod error;
pub mod filters;
mod gate;
pub mod generics;
mod handler;
pub mod layer;
pub mod model;
pub mod observer;
pub mod origin;
pub mod pagination;
pub mod permissions;
mod routing;
pub mod scope;
mod socket;
pub mod testing;
pub mod throttle;
pub mod typescript;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// JSON Schema, for [`describe`]: derive `schemars::JsonSchema` (with
/// `#[schemars(crate = "rest_channels::schemars")]`) on parameter, reply
/// and model types to have them described.
pub use schemars;

pub use app::{App, AppBuilder, Settings};
pub use auth::{AuthenticationFailed, Authenticator, TokenAuth, request_token};
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

/// Makes an inherent `impl Type { ... }` block an action handler: the
/// actions a route leads to. Implements [`Handler`] for `Type`.
///
/// ```
/// use rest_channels::prelude::*;
///
/// #[derive(Default)]
/// pub struct Items;
///
/// #[action_handler(permissions = [IsAuthenticated & !IsStaff])]
/// impl Items {
///     /// `{"action": "rename", "route": "items/7/", "name": "Seven"}`:
///     /// `pk` is the route's, `name` the message's.
///     #[async_action]
///     async fn rename(&self, pk: i64, name: String) -> ActionResult {
///         Ok(reply!({"pk": pk, "name": name}, 200))
///     }
///
///     /// A plain `fn` is a blocking action: it runs off the async workers.
///     #[async_action(name = "peek")]
///     fn peek_now(&self, ctx: &Context<'_>, pk: i64) -> ActionResult {
///         Ok(reply!({"pk": pk, "user": ctx.user().map(|u| u.username())}, 200))
///     }
/// }
///
/// #[derive(Default)]
/// pub struct Api;
///
/// #[consumer(routes = [path("items/<int:pk>/", Items)])]
/// impl Api {}
/// ```
///
/// # Options
///
/// All optional:
///
/// - `permissions = [A, B & !C, D | (E & F)]`: the handler's permission,
///   the conjunction of the list, checked in order. Each item combines
///   permission values with `&`, `|`, `!` and parentheses (`&&` and `||` are
///   errors); anything else in an item (a path such as `IsAuthenticated`, a
///   call, a struct literal) is a value that must implement [`Permission`].
///   `[]` allows everything; without the option the app's default
///   permissions apply.
/// - `routes = [path("...", Handler), re_path(r"...", Handler), ...]`: where
///   the rest of the message's `route` leads. `path` takes Django's
///   converters (`<int:pk>`, `<slug:s>`, `<str:name>` or `<name>`,
///   `<uuid:id>`, `<path:rest>`); `re_path` a regex with named groups. Both
///   match a prefix of the route, anchored at its start, and are checked
///   when the crate compiles: an unknown converter or an invalid regex is an
///   error at the pattern. The target is an expression (usually a unit
///   struct) evaluated per message, whose type implements [`Handler`].
///
///   | pattern | matched as |
///   |---|---|
///   | `path("notes/")` | the literal prefix `notes/` |
///   | `path("notes/<int:pk>/")` | the regex `^notes/(?P<pk>[0-9]+)/` |
///   | `re_path(r"items/(?P<pk>[-\w]+)/$")` | the regex `^(?:items/(?P<pk>[-\w]+)/$)` |
///
///   Converters: `str` (`[^/]+`), `int` (`[0-9]+`), `slug`
///   (`[-a-zA-Z0-9_]+`), `uuid` (lower-case hex, 8-4-4-4-12), `path`
///   (`.+`). What a route leaves over goes to the target's own routes when
///   it has some; the query string is never part of the match. Routes are
///   tried in order and the first match wins.
/// - `generics = ListCreate`: the handler also has the actions of one of
///   Django REST framework's generic handlers, run over its model by the
///   runtime ([`generics`]); the type implements [`ModelHandler`], which
///   names the model.
///
///   | `generics =` | actions |
///   |---|---|
///   | `Create` | `create` |
///   | `List` | `list` |
///   | `Retrieve` | `retrieve` |
///   | `Update` | `update`, `partial_update` |
///   | `Destroy` | `destroy` |
///   | `ListCreate` | `list`, `create` |
///   | `RetrieveUpdate` | `retrieve`, `update`, `partial_update` |
///   | `RetrieveDestroy` | `retrieve`, `destroy` |
///   | `RetrieveUpdateDestroy` | `retrieve`, `update`, `partial_update`, `destroy` |
///
///   The block's own actions sit beside them, under other names.
/// - `observe` (a flag, with `generics = ...` only): the handler also has
///   the actions `subscribe` and `unsubscribe`, which follow the committed
///   changes of its model, pushed to the client as they happen: on a list
///   route every instance, on a route with the lookup kwarg
///   (`notes/<int:pk>/`) that one ([`observer`] tells how). The handler's
///   permissions apply to subscribing; `subscribe` and `unsubscribe` are
///   read-only actions ([`Settings::read_only_actions`]). The block's own
///   actions cannot be named `subscribe` or `unsubscribe`.
/// - `throttle = "100/min"`: one budget, per user (or per anonymous
///   connection), for all the block's own actions, the generic ones
///   included (not for those its routes lead to); over it, a 429. With
///   `throttle_scope = "name"`, the budget is the scope's, shared by every
///   action and block that names it. See [`throttle`] for rates and the
///   order of checks.
/// - `crate = "path"`: where this crate is, when it is not
///   `::rest_channels` (a renamed dependency, a re-export).
///
/// # Actions
///
/// The block's [`#[async_action]`](macro@async_action) methods: an
/// `async fn` or a plain (blocking) `fn` taking `&self` and:
///
/// - optionally `&Context<'_>` (any path ending in `Context`, by shared
///   reference): the [`Context`];
/// - named parameters, each read by its name with serde: from the route's
///   keyword argument of that name when the routes matched for the message
///   have one (the innermost route wins, and the route wins over a message
///   key of the same name), else from the message key. An `<int:...>`
///   kwarg is a number (`"007"` is 7), the other converters and `re_path`
///   groups are strings (a number type parses them); a kwarg that does not
///   fit the parameter's type (out of range, not a number) is a 404, as
///   [`Context::kwarg`]. A missing key is `None` for an `Option` and an
///   error otherwise; every bad key is reported, together, as a 400.
///   Parameters are owned types (`String`, not `&str`); `action`, `route`
///   and `request_id` are the envelope's own keys.
///
/// The return type implements [`ActionReturn`]: `(data, status)` or a
/// `Result` of it, such as [`ActionResult`].
///
/// # Errors
///
/// Mistakes are compile errors at the offending token, all of them at once:
/// an unknown or repeated option, an unknown mode, converter or generic
/// handler, an invalid regex, an option that needs `mode = "broadcast"`, a
/// broadcast in a `#[consumer]` without `group`, `detached` on a blocking
/// `fn`, `observe` without `generics`, a duplicate action name (with a
/// pointer to the first), an action named like one that `generics` or
/// `observe` provides, a receiver other than `&self`, a reserved or repeated message
/// key, a borrowed parameter, a parameter pattern that is not a name,
/// `#[event]` and the hooks in an `#[action_handler]`, a generic or trait
/// impl, and the method attributes outside an annotated block. Type errors
/// are worded by this crate's traits and placed at the user's tokens: a
/// permission that is not a [`Permission`], a route target that is not a
/// [`Handler`], a parameter type serde cannot read, a return type that is
/// not an action result, a `generics` handler without `impl ModelHandler`.
/// On an error the block is still emitted, with stub impls, so that one
/// mistake does not cascade into errors wherever the type is used.
pub use rest_channels_macros::action_handler;
/// Marks a method of an [`#[action_handler]`](macro@action_handler) or
/// [`#[consumer]`](macro@consumer) block as an action (see
/// [`action_handler`](macro@action_handler) for what it takes and returns).
///
/// Options, all optional:
///
/// - `name = "wire_name"`: the action's name in messages (default: the
///   method's name, without `r#`).
/// - `mode = "response" | "broadcast" | "none"`: reply to the sender (the
///   default); or also send the result as an event to the connection's
///   group (a `#[consumer]` needs `group = "..."` for it; an action handler
///   broadcasts to the group of the consumer that routed to it); or send
///   nothing on success (errors are still replied).
/// - `broadcast_type = "chat.message"` (`mode = "broadcast"` only): the
///   event's type; without it, the general broadcast, which consumers
///   forward to their clients as it is.
/// - `send_response_in_broadcast = false` (`mode = "broadcast"` only): do
///   not reply to the sender.
/// - `detached` (a flag, on an `async fn` only): the action runs beside the
///   connection's other messages instead of in their queue. Messages are
///   otherwise handled one at a time, in arrival order; a detached action
///   leaves the queue once its arguments are read, so the messages after
///   it are answered without waiting for it, several detached actions run
///   at the same time, and each reply carries its own `request_id` (replies
///   of other actions keep their order); what it sends meanwhile with
///   [`Context::send_json`] goes out as it sends it. Checks that fail
///   before it leaves (permissions, a bad argument) are replied in order as
///   usual. Detached
///   actions run on the connection's own task, concurrently rather than in
///   parallel (hence no blocking `fn`), and are cancelled when the
///   connection closes: nothing of them outlives it. At most
///   [`Settings::max_detached_actions`] run at a time per connection
///   (default 16, [`AppBuilder::max_detached_actions`]); one more is not
///   run, and gets a 429 with
///   `[{"detail": "Too many detached actions on this connection: at most 16 run at a time."}]`.
/// - `throttle = "5/10s"` (and optionally `throttle_scope = "name"`): this
///   action is allowed 5 calls per 10 seconds per user (per connection for
///   anonymous clients), after the block's own throttle if it has one; the
///   sixth gets a 429 with `[{"detail": "Request was throttled. Expected
///   available in N seconds."}]` and does not run. A bad rate is a compile
///   error at its literal. See [`throttle`].
///
/// ```
/// use rest_channels::prelude::*;
///
/// #[derive(Default)]
/// pub struct Api;
///
/// #[consumer]
/// impl Api {
///     /// `{"action": "wait", "ms": 250, "request_id": 1}`: the reply comes
///     /// after 250 ms; messages sent meanwhile are answered meanwhile.
///     #[async_action(detached)]
///     async fn wait(&self, ms: u64) -> ActionResult {
///         tokio::time::sleep(std::time::Duration::from_millis(ms.min(5000))).await;
///         Ok(reply!({"waited": ms}, 200))
///     }
/// }
/// ```
pub use rest_channels_macros::async_action;
/// Makes an inherent `impl Type { ... }` block a consumer: an endpoint,
/// served with [`axum::websocket`] one value per connection (made with
/// `Default`, which the type implements). Implements [`Handler`] and
/// [`Consumer`] for `Type`.
///
/// ```
/// use rest_channels::prelude::*;
///
/// #[derive(Default)]
/// pub struct Room;
///
/// #[consumer(permissions = [IsAuthenticated], group = "room_id")]
/// impl Room {
///     /// Replies, and sends a `chat.message` event to the room's group.
///     #[async_action(mode = "broadcast", broadcast_type = "chat.message")]
///     async fn say(&self, ctx: &Context<'_>, text: String) -> ActionResult {
///         Ok(reply!({"text": text, "user": ctx.user().map(|u| u.username())}, 200))
///     }
///
///     #[event("chat.message")]
///     async fn chat_message(&self, ctx: &Context<'_>, event: &Event) {
///         ctx.forward(event);
///     }
///
///     #[on_connect]
///     async fn connected(&self, ctx: &Context<'_>) -> Result<(), Error> {
///         ctx.send_json(&serde_json::json!({"hello": ctx.channel_name()}))
///     }
/// }
/// ```
///
/// Options: those of [`action_handler`](macro@action_handler), and
/// `group = "url_kwarg"`: every connection joins the group named by this
/// URL keyword argument (of the axum route, `/ws/rooms/{room_id}/`), and
/// broadcasts go there.
///
/// Besides actions, the block may have [`#[event("type")]`](macro@event)
/// methods, and one [`#[on_connect]`](macro@on_connect) and one
/// [`#[on_disconnect]`](macro@on_disconnect).
pub use rest_channels_macros::consumer;
/// Marks a method of a [`#[consumer]`](macro@consumer) block as the handler
/// of the channel-layer events of one type: `#[event("chat.message")]`.
///
/// The method takes `&self` and, optionally, `&Context<'_>` and `&Event`,
/// may be `async` or not, and returns `()` or `Result<(), E>`. Events
/// without a method of their own: the general broadcast is forwarded to the
/// client, other types are dropped with a warning.
pub use rest_channels_macros::event;
/// Marks the method of a [`#[consumer]`](macro@consumer) block that runs
/// after the upgrade, before the first message: an `async fn` taking
/// `&self` and, optionally, `&Context<'_>`, returning `()` or
/// `Result<(), E>` (an error closes the connection: code 4003 for a
/// permission error, 1011 otherwise).
pub use rest_channels_macros::on_connect;
/// Marks the method of a [`#[consumer]`](macro@consumer) block that runs
/// after the connection closed and left its groups: an `async fn` taking
/// `&self` and, optionally, `&Context<'_>`, returning `()`.
pub use rest_channels_macros::on_disconnect;

/// Maps a struct to a table: implements [`Model`] and
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
/// fn no_spaces(s: &str) -> Result<(), String> {
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
/// | `custom(path::to::check)` | `fn check(value: &T) -> Result<(), String>`, `T` the field's type (inside its `Option`; `&str` will do for a `String`); the error is the message |
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
    pub use crate::Model;
    pub use crate::db::{Database, Tx};
    pub use crate::generics::ModelHandler;
    pub use crate::model::{Column, Values};
    pub use crate::pagination::Pagination;
    pub use crate::reply;
    pub use crate::{
        ActionResult, AllowAny, App, Context, Error, Event, IsAdminUser, IsAuthenticated,
        IsAuthenticatedOrReadOnly, IsAuthenticatedStrictly, IsOwner, IsOwnerOrReadOnly, IsStaff,
        Permission, Scope, SimpleUser, User, action_handler, async_action, consumer, event,
        on_connect, on_disconnect,
    };
}
