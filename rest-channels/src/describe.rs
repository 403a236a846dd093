//! Static descriptions of handlers and consumers, as the macros know them
//! when the crate compiles: actions (wire name, mode, detached, throttle,
//! parameters and reply with their JSON Schema), routes (pattern, kwargs,
//! nested handlers), permissions, events, generic actions with the model's
//! schema, doc comments.
//!
//! `#[action_handler]` and `#[consumer]` implement [`Handler::describe`]
//! (and [`crate::Consumer`]'s events go into the same description). It is
//! built on demand, never on the message path: [`crate::asyncapi`] turns
//! the descriptions of an app's endpoints into an AsyncAPI document, and a
//! client generator can read them the same way.
//!
//! Schemas come from [`schemars`] (re-exported as `rest_channels::schemars`):
//! a parameter or reply type that implements [`JsonSchema`] is described by
//! its schema; any other type (and the untyped `serde_json::Value`) is
//! "any" (the schema `true`), so that adding a description never makes an
//! app stop compiling. Derive `JsonSchema` on the types of your parameters,
//! replies and models to have them described:
//!
//! ```
//! use rest_channels::prelude::*;
//! use rest_channels::schemars::JsonSchema;
//! use rest_channels::Handler;
//! use rest_channels::describe::{self, ActionMode};
//!
//! #[derive(serde::Deserialize, serde::Serialize, JsonSchema)]
//! #[schemars(crate = "rest_channels::schemars")]
//! pub struct Point { x: i32, y: i32 }
//!
//! #[derive(Default)]
//! pub struct Geo;
//!
//! #[action_handler(permissions = [AllowAny])]
//! impl Geo {
//!     /// Mirrors a point.
//!     #[async_action]
//!     async fn mirror(&self, p: Point, scale: Option<i32>) -> ActionResult<Point> {
//!         let s = scale.unwrap_or(1);
//!         Ok((Point { x: -p.x * s, y: -p.y * s }, 200))
//!     }
//! }
//!
//! let mut generator = describe::generator();
//! let d = <Geo as Handler>::describe(&mut generator);
//! let mirror = &d.actions[0];
//! assert_eq!(mirror.name, "mirror");
//! assert_eq!(mirror.doc, "Mirrors a point.");
//! assert_eq!(mirror.mode, ActionMode::Response);
//! assert_eq!(mirror.params[0].name, "p");
//! assert!(mirror.params[0].required);
//! assert!(!mirror.params[1].required);
//! assert_eq!(mirror.reply.get("$ref").unwrap(), "#/components/schemas/Point");
//! ```

use std::marker::PhantomData;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::DeserializeOwned;

use crate::envelope::Missing;
use crate::generics::{GenericAction, ModelHandler};
use crate::handler::{ActionReturn, Handler};
use crate::pagination::Pagination;

/// The schema generator the descriptions are built with: JSON Schema draft
/// 7 (the schema dialect of AsyncAPI 3.0), named types as references into
/// `#/components/schemas/` (take them with
/// [`SchemaGenerator::take_definitions`]).
pub fn generator() -> SchemaGenerator {
    let mut settings = SchemaSettings::draft07();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    SchemaGenerator::new(settings)
}

/// What a handler (or consumer) is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HandlerDescription {
    /// The type, as written in the `impl` block.
    pub type_name: &'static str,
    /// The doc comment of the `impl` block.
    pub doc: &'static str,
    /// The permissions, as written (`"IsAuthenticated & !IsAdminUser"`);
    /// `None` when the app's settings decide.
    pub permissions: Option<&'static str>,
    /// The URL kwarg that names the consumer's broadcast group.
    pub group: Option<&'static str>,
    /// The block's throttle rate (`"5/10s"`).
    pub throttle: Option<&'static str>,
    /// The handler's own actions, then the generic ones.
    pub actions: Vec<ActionDescription>,
    /// The nested routes, in order.
    pub routes: Vec<RouteDescription>,
    /// The event types a consumer handles with `#[event("type")]`.
    pub events: Vec<EventDescription>,
    /// The model of `generics = ...`: its schema.
    pub model: Option<Schema>,
}

impl HandlerDescription {
    /// An empty description (the macros fill it in).
    pub fn new(type_name: &'static str) -> Self {
        HandlerDescription {
            type_name,
            doc: "",
            permissions: None,
            group: None,
            throttle: None,
            actions: Vec::new(),
            routes: Vec::new(),
            events: Vec::new(),
            model: None,
        }
    }
}

/// How an action answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionMode {
    /// A reply to the sender.
    Response,
    /// Nothing on success (errors are still replied).
    None,
    /// An event to the connection's group, and the reply unless `send_response` is false.
    Broadcast {
        /// The event's `type`; `None` for the general broadcast (no `type` key).
        event_type: Option<&'static str>,
        /// Whether the sender also gets the reply.
        send_response: bool,
    },
}

/// One action.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ActionDescription {
    /// The wire name (`"partial_update"`).
    pub name: &'static str,
    /// The method's doc comment.
    pub doc: &'static str,
    /// How it answers.
    pub mode: ActionMode,
    /// Runs beside the connection's other messages.
    pub detached: bool,
    /// A blocking (non-async) method.
    pub blocking: bool,
    /// Its own throttle rate (`"5/10s"`).
    pub throttle: Option<&'static str>,
    /// Its arguments: message keys, or the route's kwargs of the same name.
    pub params: Vec<ParamDescription>,
    /// The schema of the reply's `data`.
    pub reply: Schema,
    /// The status of a successful reply, when it is known (generic actions).
    pub status: Option<u16>,
    /// The `data` of the pushes that follow (`subscribe` of `observe`).
    pub pushes: Option<Schema>,
    /// The query parameters of the route it reads (`list`: pages, filters).
    pub query: Vec<&'static str>,
    /// One of the actions of `generics = ...`.
    pub generic: bool,
}

impl ActionDescription {
    /// An action answering with a reply of any data (the macros fill it in).
    pub fn new(name: &'static str) -> Self {
        ActionDescription {
            name,
            doc: "",
            mode: ActionMode::Response,
            detached: false,
            blocking: false,
            throttle: None,
            params: Vec::new(),
            reply: any(),
            status: None,
            pushes: None,
            query: Vec::new(),
            generic: false,
        }
    }
}

/// One argument of an action.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ParamDescription {
    /// The key it is read by.
    pub name: &'static str,
    /// Its schema (`true`, "any", for types without `JsonSchema`).
    pub schema: Schema,
    /// A missing key is a 400 (false for `Option<T>` and the like).
    pub required: bool,
}

impl ParamDescription {
    /// A required parameter.
    pub fn new(name: &'static str, schema: Schema) -> Self {
        ParamDescription {
            name,
            schema,
            required: true,
        }
    }
}

/// One route of a handler.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RouteDescription {
    /// The pattern as written (`"notes/<int:pk>/"`).
    pub pattern: &'static str,
    /// The anchored regex it matches with; `None` for a literal prefix.
    pub regex: Option<&'static str>,
    /// Its kwargs, in order.
    pub kwargs: Vec<KwargDescription>,
    /// The handler it leads to.
    pub handler: HandlerDescription,
}

impl RouteDescription {
    /// A route to `handler`.
    pub fn new(
        pattern: &'static str,
        regex: Option<&'static str>,
        kwargs: Vec<KwargDescription>,
        handler: HandlerDescription,
    ) -> Self {
        RouteDescription {
            pattern,
            regex,
            kwargs,
            handler,
        }
    }
}

/// A URL keyword argument of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KwargDescription {
    /// Its name.
    pub name: &'static str,
    /// A number (`int` converter) rather than a string.
    pub integer: bool,
}

/// An event type a consumer handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventDescription {
    /// The event's `type` (`"chat.message"`).
    pub event_type: &'static str,
    /// The method's doc comment.
    pub doc: &'static str,
}

/// The schema `true`: any JSON value.
pub fn any() -> Schema {
    Schema::from(true)
}

// Parameter and reply schemas, by autoref specialization: the macros call
// `(&&&ParamProbe::<T>::new()).describe_param(..)` with the parameter's
// type; the first impl whose bounds hold is taken.

/// The type of a parameter, for its description.
#[doc(hidden)]
pub struct ParamProbe<T>(PhantomData<fn() -> T>);

impl<T> ParamProbe<T> {
    /// A probe.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ParamProbe(PhantomData)
    }
}

/// A parameter whose type has a schema.
#[doc(hidden)]
pub trait ParamViaSchema {
    /// Its schema and whether it is required.
    fn describe_param(&self, generator: &mut SchemaGenerator) -> (Schema, bool);
}
impl<T: JsonSchema + DeserializeOwned> ParamViaSchema for &&ParamProbe<T> {
    fn describe_param(&self, generator: &mut SchemaGenerator) -> (Schema, bool) {
        (generator.subschema_for::<T>(), required::<T>())
    }
}

/// A parameter without a schema: any.
#[doc(hidden)]
pub trait ParamViaDeserialize {
    /// "Any", and whether it is required.
    fn describe_param(&self, generator: &mut SchemaGenerator) -> (Schema, bool);
}
impl<T: DeserializeOwned> ParamViaDeserialize for &ParamProbe<T> {
    fn describe_param(&self, _: &mut SchemaGenerator) -> (Schema, bool) {
        (any(), required::<T>())
    }
}

/// A parameter the macros refuse anyway (its error is elsewhere).
#[doc(hidden)]
pub trait ParamViaAny {
    /// "Any", required.
    fn describe_param(&self, generator: &mut SchemaGenerator) -> (Schema, bool);
}
impl<T> ParamViaAny for ParamProbe<T> {
    fn describe_param(&self, _: &mut SchemaGenerator) -> (Schema, bool) {
        (any(), true)
    }
}

/// Whether a missing key is an error for `T` (as `dispatch::arg` reads it).
fn required<T: DeserializeOwned>() -> bool {
    T::deserialize(Missing).is_err()
}

/// The return type of an action, for the schema of its reply.
#[doc(hidden)]
pub struct ReplyProbe<R>(PhantomData<fn() -> R>);

impl<R> ReplyProbe<R> {
    /// A probe.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ReplyProbe(PhantomData)
    }
}

/// A reply whose data has a schema.
#[doc(hidden)]
pub trait ReplyViaSchema {
    /// The schema of the reply's data.
    fn describe_reply(&self, generator: &mut SchemaGenerator) -> Schema;
}
impl<R: ActionReturn> ReplyViaSchema for &ReplyProbe<R>
where
    R::Data: JsonSchema,
{
    fn describe_reply(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<R::Data>()
    }
}

/// Any other reply: any.
#[doc(hidden)]
pub trait ReplyViaAny {
    /// "Any".
    fn describe_reply(&self, generator: &mut SchemaGenerator) -> Schema;
}
impl<R> ReplyViaAny for ReplyProbe<R> {
    fn describe_reply(&self, _: &mut SchemaGenerator) -> Schema {
        any()
    }
}

/// The type of a model, for its schema.
#[doc(hidden)]
pub struct ModelProbe<M>(PhantomData<fn() -> M>);

impl<M> ModelProbe<M> {
    /// A probe.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ModelProbe(PhantomData)
    }
}

/// A model with a schema.
#[doc(hidden)]
pub trait ModelViaSchema {
    /// Its schema.
    fn describe_model(&self, generator: &mut SchemaGenerator) -> Schema;
}
impl<M: JsonSchema> ModelViaSchema for &ModelProbe<M> {
    fn describe_model(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<M>()
    }
}

/// A model without a schema: an object.
#[doc(hidden)]
pub trait ModelViaAny {
    /// `{"type": "object"}`.
    fn describe_model(&self, generator: &mut SchemaGenerator) -> Schema;
}
impl<M> ModelViaAny for ModelProbe<M> {
    fn describe_model(&self, _: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "object"})
    }
}

/// The description of a route's target (a value of a `Handler` type).
#[doc(hidden)]
pub fn describe_target<H: Handler>(_: &H, generator: &mut SchemaGenerator) -> HandlerDescription {
    H::describe(generator)
}

/// A handler with `generics = ...`, for its generic actions. A probe, so
/// that a handler without `impl ModelHandler` gets its one error from the
/// dispatch, not a second one from its description.
#[doc(hidden)]
pub struct GenericsProbe<H>(PhantomData<fn() -> H>);

impl<H> GenericsProbe<H> {
    /// A probe.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        GenericsProbe(PhantomData)
    }
}

/// A model handler: its generic actions.
#[doc(hidden)]
pub trait GenericsViaModelHandler {
    /// Adds the generic actions `actions`.
    fn describe_generics(
        &self,
        description: &mut HandlerDescription,
        generator: &mut SchemaGenerator,
        actions: &[GenericAction],
    );
}
impl<H: ModelHandler> GenericsViaModelHandler for &GenericsProbe<H> {
    fn describe_generics(
        &self,
        description: &mut HandlerDescription,
        generator: &mut SchemaGenerator,
        actions: &[GenericAction],
    ) {
        describe_generics::<H>(description, generator, actions);
    }
}

/// Not a model handler (a compile error elsewhere): nothing.
#[doc(hidden)]
pub trait GenericsViaNothing {
    /// Nothing.
    fn describe_generics(
        &self,
        description: &mut HandlerDescription,
        generator: &mut SchemaGenerator,
        actions: &[GenericAction],
    );
}
impl<H> GenericsViaNothing for GenericsProbe<H> {
    fn describe_generics(
        &self,
        _: &mut HandlerDescription,
        _: &mut SchemaGenerator,
        _: &[GenericAction],
    ) {
    }
}

/// Adds the generic actions of `H` (`generics = ...`, `observe`), with the
/// model's schema `model`.
#[doc(hidden)]
pub fn describe_generics<H: ModelHandler>(
    description: &mut HandlerDescription,
    generator: &mut SchemaGenerator,
    actions: &[GenericAction],
) {
    let model = <H::Model as crate::model::Model>::json_schema(generator);
    let pk = || ParamDescription {
        name: H::LOOKUP_KWARG,
        schema: json_schema!({"type": ["integer", "string"], "description": "the route's kwarg of this name, else the message key"}),
        required: true,
    };
    let mut data = |partial: bool| ParamDescription {
        name: "data",
        schema: {
            let mut schema = <H::Model as crate::model::Model>::data_schema(generator, partial);
            schema.insert(
                "description".into(),
                if partial {
                    "some of the model's writable fields; only those change"
                } else {
                    "the model's writable fields (read-only and unknown keys are ignored)"
                }
                .into(),
            );
            schema
        },
        required: true,
    };
    for &action in actions {
        let (name, params, reply, status) = match action {
            GenericAction::List => {
                let results = json_schema!({"type": "array", "items": model.clone()});
                let reply = match H::PAGINATION {
                    Some(Pagination::Off) | None => results,
                    Some(_) => json_schema!({
                        "type": "object",
                        "properties": {
                            "count": {"type": "integer"},
                            "next": {"type": ["string", "null"], "description": "the route of the next page"},
                            "previous": {"type": ["string", "null"], "description": "the route of the previous page"},
                            "results": results,
                        },
                        "required": ["count", "next", "previous", "results"],
                    }),
                };
                ("list", vec![], reply, 200)
            }
            GenericAction::Create => ("create", vec![data(false)], model.clone(), 201),
            GenericAction::Retrieve => ("retrieve", vec![pk()], model.clone(), 200),
            GenericAction::Update => ("update", vec![pk(), data(false)], model.clone(), 200),
            GenericAction::PartialUpdate => {
                ("partial_update", vec![pk(), data(true)], model.clone(), 200)
            }
            GenericAction::Destroy => ("destroy", vec![pk()], json_schema!({"type": "null"}), 204),
            GenericAction::Subscribe => (
                "subscribe",
                vec![],
                json_schema!({"type": "object", "properties": {"subscribed": {"const": true}}, "required": ["subscribed"]}),
                200,
            ),
            GenericAction::Unsubscribe => (
                "unsubscribe",
                vec![],
                json_schema!({"type": "object", "properties": {"subscribed": {"const": false}}, "required": ["subscribed"]}),
                200,
            ),
        };
        let mut a = ActionDescription::new(name);
        a.generic = true;
        a.params = params;
        a.reply = reply;
        a.status = Some(status);
        if action == GenericAction::List {
            a.query = list_query::<H>();
        }
        if action == GenericAction::Subscribe {
            a.pushes = Some(json_schema!({
                "type": "object",
                "properties": {
                    "event": {"enum": ["created", "updated", "deleted"]},
                    "note": {"description": "the object after the change (deleted: its primary key only)", "anyOf": [model.clone(), {"type": "object"}]},
                },
                "required": ["event", "note"],
            }));
        }
        description.actions.push(a);
    }
    description.model = Some(model);
}

/// The query parameters `list` reads.
fn list_query<H: ModelHandler>() -> Vec<&'static str> {
    let mut query = Vec::new();
    match H::PAGINATION {
        Some(Pagination::PageNumber {
            page_size_param, ..
        }) => {
            query.push("page");
            query.extend(page_size_param);
        }
        Some(Pagination::LimitOffset { .. }) => query.extend(["limit", "offset"]),
        Some(Pagination::Off) | None => {}
    }
    query.extend(H::FILTER_FIELDS.iter().map(|c| c.name()));
    if !H::SEARCH_FIELDS.is_empty() {
        query.push("search");
    }
    if !H::ORDERING_FIELDS.is_empty() {
        query.push("ordering");
    }
    query
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the probes' autoref is the point
mod tests {
    use super::*;

    #[test]
    fn parameters_are_required_unless_optional() {
        let mut g = generator();
        #[allow(unused_imports)]
        use super::{ParamViaAny as _, ParamViaDeserialize as _, ParamViaSchema as _};
        let (schema, required) = (&&&ParamProbe::<i64>::new()).describe_param(&mut g);
        assert!(required);
        assert_eq!(schema.get("type").unwrap(), "integer");
        let (_, required) = (&&&ParamProbe::<Option<String>>::new()).describe_param(&mut g);
        assert!(!required);
    }

    #[test]
    fn types_without_a_schema_are_any() {
        #[derive(serde::Deserialize)]
        struct NoSchema {
            #[allow(dead_code)]
            x: i32,
        }
        let mut g = generator();
        #[allow(unused_imports)]
        use super::{ParamViaAny as _, ParamViaDeserialize as _, ParamViaSchema as _};
        let (schema, required) = (&&&ParamProbe::<NoSchema>::new()).describe_param(&mut g);
        assert_eq!(schema, any());
        assert!(required);
        #[allow(unused_imports)]
        use super::{ReplyViaAny as _, ReplyViaSchema as _};
        let reply = (&&ReplyProbe::<crate::ActionResult>::new()).describe_reply(&mut g);
        assert_eq!(reply, any(), "untyped Value is any");
        let reply = (&&ReplyProbe::<crate::ActionResult<u8>>::new()).describe_reply(&mut g);
        assert_eq!(reply.get("type").unwrap(), "integer");
    }
}
