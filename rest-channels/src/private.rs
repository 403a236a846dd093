//! What the macros' generated code names. Not a public API.
//!
//! Re-exports only (as thiserror's `__private`): the behaviour lives in the
//! module of its concept, mostly `dispatch`.

pub use serde_json;

pub use crate::detached::detach;
pub use crate::dispatch::{
    ActionArg, ArgError, action_not_allowed, arg, arg_errors, assert_arg, blocking, broadcast,
    check, default_event, event_result, handler, no_route_left, permission, respond, route, silent,
    throttle,
};
pub use crate::generics::{GenericAction, assert_model_handler, generic};
pub use crate::handler::Reply;
pub use crate::permissions::{And, Not, Or, SettingsDefault};
pub use crate::routing::{KwargKind, RouteSpec, RouteTable, Routes};
pub use crate::throttle::{Rate, Throttle};
