//! Dispatch: what a handler does with one message once the macros have
//! matched its action, and with one event. The macros' generated code calls
//! these through `__private` (which only re-exports them):
//!
//! - type checks placed at the user's tokens ([`permission`], [`handler`],
//!   [`assert_arg`]), each worded by a `#[diagnostic::on_unimplemented]`;
//! - the permission [`check`], and the [`throttle`] check;
//! - route application: [`route`] takes what it can of the rest of the
//!   route's path, [`no_route_left`] refuses a path nobody routes;
//! - reading the action's arguments, from the route's kwargs or the
//!   message's keys ([`arg`], [`arg_errors`]);
//! - running a blocking action off the async workers ([`blocking`]);
//! - the reply modes: [`respond`], [`silent`], [`broadcast`];
//! - events: [`event_result`], [`default_event`].

use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::envelope::{Missing, message_of, write_event, write_reply};
use crate::error::{Error, FieldErrors};
use crate::handler::{ActionReturn, EventReturn, Handler, Reply};
use crate::layer::{Event, GENERAL_BROADCAST, LAYER_RECONNECTED};
use crate::permissions::Permission;
use crate::routing::{KwargDeserializer, RouteTable};
use crate::throttle::Throttle;

/// Type-checks a permission leaf at its span.
#[inline(always)]
pub fn permission<P: Permission>(p: P) -> P {
    p
}

/// Type-checks a route target at its span.
#[inline(always)]
pub fn handler<H: Handler>(h: H) -> H {
    h
}

/// A type that can be an action parameter: anything `serde` can deserialize.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an action parameter: it must implement `serde::de::DeserializeOwned`",
    label = "not an owned, deserializable type",
    note = "action parameters are read from the message with serde: use an owned type (`String`, not `&str`) that derives `serde::Deserialize`, or take `&Context<'_>` for the context"
)]
pub trait ActionArg: DeserializeOwned {}
impl<T: DeserializeOwned> ActionArg for T {}

/// Type-checks a parameter type at its span.
#[inline(always)]
pub fn assert_arg<T: ActionArg>() {}

/// Runs `permission.has_permission`; a refusal is a 403.
#[inline]
pub async fn check<P: Permission>(permission: P, ctx: &Context<'_>) -> Result<(), Error> {
    if permission.has_permission(ctx).await {
        Ok(())
    } else {
        Err(Error::permission_denied())
    }
}

/// Counts the call against a throttle (`throttle = "..."`); over its rate,
/// a 429 (see [`crate::throttle`]).
#[inline]
pub async fn throttle(ctx: &Context<'_>, throttle: &'static Throttle) -> Result<(), Error> {
    throttle.check(ctx).await
}

/// Resolves the rest of the route's path against a handler's routes.
///
/// `None`: nothing is left of the path; the handler's own actions run.
/// `Some(Ok(i))`: route `i` matched; its kwargs are in the context.
/// `Some(Err(_))`: something is left and no route takes it (404).
#[inline]
pub fn route(ctx: &mut Context<'_>, table: &'static RouteTable) -> Option<Result<usize, Error>> {
    let rest = ctx.remaining_path();
    if rest.is_empty() {
        return None;
    }
    Some(match table.resolve(rest, ctx.offset) {
        Some(m) => {
            ctx.offset = m.end;
            ctx.kwargs.extend(m.kwargs);
            Ok(m.index)
        }
        None => Err(Error::no_route(ctx.route())),
    })
}

/// For a consumer without routes: a route path is a 404.
#[inline]
pub fn no_route_left(ctx: &Context<'_>) -> Result<(), Error> {
    if ctx.remaining_path().is_empty() {
        Ok(())
    } else {
        Err(Error::no_route(ctx.route()))
    }
}

/// A 405 for the context's action.
#[cold]
pub fn action_not_allowed(ctx: &Context<'_>) -> Error {
    Error::action_not_allowed(ctx.action())
}

/// One parameter that could not be read.
#[derive(Debug)]
pub struct ArgError(ArgErrorKind);

#[derive(Debug)]
enum ArgErrorKind {
    /// A route kwarg that does not fit the parameter's type: no such object.
    Kwarg,
    /// A message key that is missing or ill-typed: its name and why.
    Key(&'static str, String),
}

/// Reads the parameter `name` as `T`: the route kwarg of that name when the
/// routes matched for this message have one (the innermost wins; a value
/// that does not fit `T` is a 404), else the message key (a missing key is
/// `None` for an `Option`; a bad one is a 400 naming it).
#[inline]
pub fn arg<T: ActionArg>(ctx: &Context<'_>, name: &'static str) -> Result<T, ArgError> {
    if let Some((kind, raw)) = ctx.route_kwarg(name) {
        return T::deserialize(KwargDeserializer::new(kind, raw))
            .map_err(|_| ArgError(ArgErrorKind::Kwarg));
    }
    match ctx.message().arg_raw(name) {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|e| ArgError(ArgErrorKind::Key(name, message_of(&e)))),
        None => {
            T::deserialize(Missing).map_err(|e| ArgError(ArgErrorKind::Key(name, e.to_string())))
        }
    }
}

/// The error for the parameters that could not be read: a 404 when a route
/// kwarg did not fit (the route names nothing, as with
/// [`Context::kwarg`]), else the 400 naming every bad key.
#[cold]
pub fn arg_errors<const N: usize>(errors: [Option<ArgError>; N]) -> Error {
    let errors = errors.into_iter().flatten();
    let mut fields = FieldErrors::new();
    for ArgError(kind) in errors {
        match kind {
            ArgErrorKind::Kwarg => return Error::not_found(),
            ArgErrorKind::Key(key, message) => fields.add(key, message),
        }
    }
    fields.into()
}

/// Runs a blocking (non-async) action off the async workers.
///
/// On a multi-threaded runtime the worker hands its other tasks over to a
/// new thread first ([`tokio::task::block_in_place`]); on a current-thread
/// runtime (a `#[tokio::test]`, say) there is no thread to hand over to, and
/// the action runs in place.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Mode `response`: the reply envelope.
#[inline]
pub fn respond<R: ActionReturn>(ctx: &Context<'_>, result: R) -> Result<Reply, Error> {
    let (data, status) = result.into_reply()?;
    write_reply(ctx.message().head(), &data, status).map(|s| Reply(Some(s)))
}

/// Mode `none`: nothing on success (errors are still replied).
#[inline]
pub fn silent<R: ActionReturn>(result: R) -> Result<Reply, Error> {
    result.into_reply().map(|_| Reply(None))
}

/// Mode `broadcast`: the reply (unless `send_response` is false), then one
/// event to the connection's broadcast group, serialized once.
/// `event_type` is the event's `type`, `None` for the general broadcast.
pub async fn broadcast<R: ActionReturn>(
    ctx: &Context<'_>,
    result: R,
    event_type: Option<&'static str>,
    send_response: bool,
) -> Result<Reply, Error> {
    let (data, status) = result.into_reply()?;
    let group = ctx.broadcast_group().ok_or_else(|| {
        Error::msg(format_args!(
            "action `{}` broadcasts, but the connection has no broadcast group: set `group = \"<url kwarg>\"` on the #[consumer]",
            ctx.action()
        ))
    })?;
    let body = write_event(event_type, &data, status)?;
    let reply = if send_response {
        Some(write_reply(ctx.message().head(), &data, status)?)
    } else {
        None
    };
    let event = Event::from_json(event_type.unwrap_or(GENERAL_BROADCAST), body);
    ctx.group_send(group, event).await?;
    Ok(Reply(reply))
}

/// Converts what an event handler or hook returned.
#[inline]
pub fn event_result<R: EventReturn>(r: R) -> Result<(), Error> {
    r.into_result()
}

/// Events with no `#[event]` method: the general broadcast goes to the
/// client as it is; the layer's reconnect notice is for consumers that
/// resync, never for clients; other types are dropped with a warning.
pub fn default_event(ctx: &Context<'_>, event: &Event) -> Result<(), Error> {
    if event.kind() == GENERAL_BROADCAST {
        ctx.forward(event);
    } else if event.kind() != LAYER_RECONNECTED {
        tracing::warn!(
            kind = event.kind(),
            "no #[event] handler for this event type; dropped"
        );
    }
    Ok(())
}
