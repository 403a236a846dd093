//! What the macros' generated code names. Not a public API.
//!
//! Re-exports only (as thiserror's `__private`): the behaviour lives in the
//! module of its concept, mostly `dispatch`.

pub use serde_json;

pub use crate::describe::{
    ActionDescription, ActionMode, EventDescription, GenericsProbe, GenericsViaModelHandler,
    GenericsViaNothing, HandlerDescription, KwargDescription, ModelProbe, ModelViaAny,
    ModelViaSchema, ParamDescription, ParamProbe, ParamViaAny, ParamViaDeserialize, ParamViaSchema,
    ReplyProbe, ReplyViaAny, ReplyViaSchema, RouteDescription, describe_generics, describe_target,
};
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
pub use crate::socket::{Decoded, decode_chunks};
pub use crate::throttle::{Rate, Throttle};
pub use schemars::SchemaGenerator;

/// Entry points for the fuzz targets (`fuzz/`), the property tests
/// (`tests/properties.rs`) and the benches (`benches/`): thin wrappers over
/// crate-private functions, with no behaviour of their own. Not a public API.
pub mod probe {
    use std::borrow::Cow;

    use crate::context::{Connection, Context};
    use crate::db::Backend;
    use crate::envelope::Message;
    use crate::error::Error;
    use crate::model::Column;
    use crate::pagination::{Pagination, QueryParams};
    use crate::routing::{KwargKind, Routes};
    use crate::scope::Scope;

    /// One kwarg of a match: its name, its kind, and where its value lies
    /// in the path (`start..end`, offsets include the `base`).
    pub type ProbeKwarg = (&'static str, KwargKind, usize, usize);

    /// The first route of `routes` that matches a prefix of `path`: its
    /// index, where the match ends, and its kwargs (`Routes::resolve`).
    pub fn resolve(
        routes: &'static Routes,
        path: &str,
        base: usize,
    ) -> Option<(usize, usize, Vec<ProbeKwarg>)> {
        routes.resolve(path, base).map(|m| {
            let kwargs = m
                .kwargs
                .iter()
                .map(|k| (k.name, k.kind, k.start as usize, k.end as usize))
                .collect();
            (m.index, m.end, kwargs)
        })
    }

    /// [`resolve`] without collecting the kwargs: the index of the first
    /// route that matches and where the match ends (for benches).
    pub fn resolve_index(routes: &'static Routes, path: &str) -> Option<(usize, usize)> {
        routes.resolve(path, 0).map(|m| (m.index, m.end))
    }

    /// A query-string parameter as `Scope::query_param` and
    /// `Context::query_param` read it.
    pub fn query_param<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
        crate::scope::query_param(query, name)
    }

    /// A page of a `list`: offset, limit, and the routes of the next and
    /// previous pages.
    pub type ProbeWindow = (u64, Option<u64>, Option<String>, Option<String>);

    /// Where a page of a `list` lies (`Pagination::window`): offset, limit,
    /// and the routes of the next and previous pages under `path`; `Err`
    /// with the status of a page that does not exist.
    pub fn page_window(
        pagination: Pagination,
        query: &QueryParams,
        count: u64,
        path: &str,
    ) -> Result<ProbeWindow, u16> {
        let w = pagination.window(query, count).map_err(|e| e.status())?;
        Ok((
            w.offset,
            w.limit,
            w.next.map(|q| q.to_route(path)),
            w.previous.map(|q| q.to_route(path)),
        ))
    }

    /// The SQL of a `list` over table `t` with the filters of the query
    /// (equality on `filter`, search over `search`, ordering by `ordering`
    /// then `pk`), and its bound values (`Debug` of each).
    pub fn list_sql(
        query: &QueryParams,
        filter: &[Column],
        search: &[Column],
        ordering: &[Column],
        pk: Column,
        backend: Backend,
    ) -> Result<(String, Vec<String>), Error> {
        use sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};
        let mut select = Query::select();
        select.column(pk.name()).from("t");
        crate::filters::equality(&mut select, query, filter)?;
        crate::filters::search(&mut select, query, search, backend);
        crate::filters::ordering(&mut select, query, ordering, pk, backend);
        let (sql, values) = match backend {
            Backend::Sqlite => select.build(SqliteQueryBuilder),
            Backend::Postgres => select.build(PostgresQueryBuilder),
        };
        Ok((sql, values.iter().map(|v| format!("{v:?}")).collect()))
    }

    /// Runs `f` with the context of `msg` on a fresh connection of `scope`,
    /// as the connection's loop makes it for each message.
    pub fn with_context<R>(
        scope: Scope,
        msg: &Message<'_>,
        f: impl FnOnce(&mut Context<'_>) -> R,
    ) -> R {
        let conn = Connection::new(scope, "probe".to_owned(), None);
        let mut ctx = Context::new(&conn, msg);
        f(&mut ctx)
    }
}
