//! The traits the macros implement: [`Handler`] and [`Consumer`], and what an
//! action may return.

use std::future::Future;

use serde::Serialize;

use crate::context::Context;
use crate::error::Error;
use crate::layer::Event;
use crate::permissions::Permission;

/// The reply of a dispatched message: a serialized envelope, or nothing
/// (mode `none`, or a broadcast without a response).
#[doc(hidden)]
#[derive(Debug)]
pub struct Reply(pub(crate) Option<String>);

/// A set of actions (and, optionally, routes to further handlers).
///
/// Implemented by `#[action_handler]` and `#[consumer]` on an `impl` block;
/// a route target must implement it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an action handler",
    label = "not an action handler",
    note = "annotate an `impl {Self} {{ ... }}` block with `#[action_handler]` (or `#[consumer]`) to make it one"
)]
pub trait Handler: Send + Sync + 'static {
    /// The handler's permissions, combined into one value.
    fn permission() -> impl Permission;

    /// The handler's static description: its actions, routes, permissions
    /// and events, with the JSON Schemas of arguments and replies (see
    /// [`crate::describe`]). `#[action_handler]` and `#[consumer]`
    /// implement it; it is built on demand, never on the message path.
    fn describe(generator: &mut schemars::SchemaGenerator) -> crate::describe::HandlerDescription {
        let _ = generator;
        crate::describe::HandlerDescription::new(std::any::type_name::<Self>())
    }

    /// Checks permissions, resolves nested routes, looks the action up,
    /// deserializes its arguments and runs it.
    #[doc(hidden)]
    fn handle<'a>(
        &'a self,
        ctx: &'a mut Context<'_>,
    ) -> impl Future<Output = Result<Reply, Error>> + Send;
}

/// An endpoint: a [`Handler`] that a WebSocket route serves, one instance per
/// connection (made with [`Default`]).
///
/// Implemented by `#[consumer]`, which also wires the hooks written in its
/// `impl` block: `#[on_connect]`, `#[on_disconnect]` and `#[event("type")]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a consumer",
    label = "not a consumer",
    note = "an endpoint is an `impl {Self} {{ ... }}` block annotated with `#[consumer]`; `#[action_handler]` types are route targets, reached through a consumer's `routes`"
)]
pub trait Consumer: Handler + Default {
    /// The URL keyword argument that names the group every connection joins
    /// (`#[consumer(group = "group_id")]`), and that broadcasts go to.
    const GROUP_KWARG: Option<&'static str> = None;

    /// After the upgrade, before the first message. An error closes the
    /// connection (code 4003 for a permission error, 1011 otherwise).
    fn on_connect(&self, ctx: &Context<'_>) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// After the connection closed and left its groups.
    fn on_disconnect(&self, ctx: &Context<'_>) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// An event from the channel layer. The default forwards the general
    /// broadcast (no `type`) to the client as it is and drops other types
    /// with a warning; `#[event("type")]` methods handle the rest.
    fn on_event(
        &self,
        ctx: &Context<'_>,
        event: &Event,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        async move { crate::dispatch::default_event(ctx, event) }
    }
}

/// What an action may return: `(data, status)`, or a `Result` of it.
///
/// ```
/// use rest_channels::{ActionResult, reply};
///
/// fn typed() -> ActionResult<Vec<i32>> {
///     Ok((vec![1, 2], 200))
/// }
/// fn untyped() -> ActionResult {
///     Ok(reply!({"message": "touched"}, 200))
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by an action",
    label = "not an action result",
    note = "return `(data, status)` with `data: Serialize` and `status: u16`, or a `Result` of it, such as `rest_channels::ActionResult`"
)]
pub trait ActionReturn {
    /// The reply's data.
    type Data: Serialize;
    /// The data and status, or the error to reply with.
    fn into_reply(self) -> Result<(Self::Data, u16), Error>;
}

impl<T: Serialize> ActionReturn for (T, u16) {
    type Data = T;
    fn into_reply(self) -> Result<(T, u16), Error> {
        Ok(self)
    }
}

impl<R: ActionReturn, E: Into<Error>> ActionReturn for Result<R, E> {
    type Data = R::Data;
    fn into_reply(self) -> Result<(R::Data, u16), Error> {
        self.map_err(Into::into).and_then(R::into_reply)
    }
}

/// The usual return type of an action: data (untyped JSON by default) and a status.
pub type ActionResult<T = serde_json::Value> = Result<(T, u16), Error>;

/// What an `#[event]` method or a hook may return: `()` or `Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by an event handler",
    note = "return `()` or `Result<(), rest_channels::Error>`"
)]
pub trait EventReturn {
    /// `Ok(())` or the error.
    fn into_result(self) -> Result<(), Error>;
}

impl EventReturn for () {
    fn into_result(self) -> Result<(), Error> {
        Ok(())
    }
}

impl<E: Into<Error>> EventReturn for Result<(), E> {
    fn into_result(self) -> Result<(), Error> {
        self.map_err(Into::into)
    }
}

/// `(serde_json::json!(data), status)`: the reply of an action, as the
/// ancestor's `return {...}, 200`.
///
/// ```
/// let pk = "abc";
/// let (data, status) = rest_channels::reply!({"message": "touched", "model_id": pk}, 200);
/// assert_eq!(data["model_id"], "abc");
/// assert_eq!(status, 200);
/// ```
#[macro_export]
macro_rules! reply {
    ($data:tt, $status:expr $(,)?) => {
        ($crate::__private::serde_json::json!($data), $status)
    };
    ($data:expr, $status:expr $(,)?) => {
        ($crate::__private::serde_json::json!($data), $status)
    };
}
