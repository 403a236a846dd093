//! Generic model handlers: Django REST framework's `ListCreateAPIView` and
//! its eight siblings, over a [`Model`] in a [`Database`].
//!
//! A handler names the generic actions it provides with
//! `generics = <Name>` in `#[action_handler]` (or `#[consumer]`), and says
//! which model it serves, and how, by implementing [`ModelHandler`]:
//!
//! | `generics =` | actions |
//! |---|---|
//! | `Create` | `create` |
//! | `List` | `list` |
//! | `Retrieve` | `retrieve` |
//! | `Update` | `update`, `partial_update` |
//! | `Destroy` | `destroy` |
//! | `ListCreate` | `list`, `create` |
//! | `RetrieveUpdate` | `retrieve`, `update`, `partial_update` |
//! | `RetrieveDestroy` | `retrieve`, `destroy` |
//! | `RetrieveUpdateDestroy` | `retrieve`, `update`, `partial_update`, `destroy` |
//!
//! ```
//! use rest_channels::prelude::*;
//! use serde::Serialize;
//!
//! #[derive(Model, Serialize)]
//! #[model(table = "notes")]
//! pub struct Note {
//!     #[model(primary_key)]
//!     pub id: i64,
//!     #[model(validate(length(chars, min = 1, max = 255)))]
//!     pub title: String,
//!     #[model(read_only, owner)]
//!     pub author: i64,
//! }
//!
//! #[derive(Default)]
//! pub struct NoteList;
//!
//! #[action_handler(permissions = [IsAuthenticatedOrReadOnly], generics = ListCreate)]
//! impl NoteList {}
//!
//! impl ModelHandler for NoteList {
//!     type Model = Note;
//!     const PAGINATION: Option<Pagination> = Some(Pagination::page_number(10));
//!     const FILTER_FIELDS: &'static [Column] = &[Note::FIELDS.author];
//!     const SEARCH_FIELDS: &'static [Column] = &[Note::FIELDS.title];
//!
//!     async fn perform_create(&self, ctx: &Context<'_>, tx: &mut Tx, mut values: Values) -> Result<Note, Error> {
//!         values.set(Note::FIELDS.author, ctx.user_id()?);
//!         tx.insert(values).await
//!     }
//! }
//! ```
//!
//! What a generic action does, in order (the consumer's and the handler's
//! permissions ran before it):
//!
//! - `list`: the [queryset](ModelHandler::queryset), the
//!   [`filters`], the ordering, then one page
//!   ([pagination](crate::pagination)), the count and the page read in one
//!   transaction.
//! - `retrieve`, `update`, `partial_update`, `destroy`: the object is looked
//!   up by the route's kwarg (`pk` by default) within the queryset: none is
//!   a 404 `[{"detail": "Not found."}]`; then the handler's object
//!   permissions (403); then, for writes, the message's `data` (400 with
//!   every invalid field). A write runs in one transaction (SQLite: `BEGIN
//!   IMMEDIATE`; Postgres: the looked-up row is locked `FOR UPDATE`), and
//!   [`ModelHandler::after_commit`] runs once it is committed.
//! - `create`: `data` (400), then [`ModelHandler::perform_create`] in a
//!   transaction; 201.

use std::future::Future;

use sea_query::{Expr, ExprTrait, SelectStatement};
use serde_json::{Map, Value as Json};

use crate::context::Context;
use crate::db::{self, Backend, Database, Tx};
use crate::envelope::write_reply;
use crate::error::{Error, FieldErrors};
use crate::filters;
use crate::handler::{Handler, Reply};
use crate::model::{Column, ColumnType, Model, Value, Values, WriteMode};
use crate::observer;
use crate::pagination::{Page, Pagination, QueryParams};
use crate::permissions::Permission;

/// How a handler serves its model: which model, which database, which rows
/// (the queryset), how lists are cut and filtered, and how writes are done.
/// Every item but [`ModelHandler::Model`] has a default.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a model handler",
    label = "`generics = ...` needs `impl ModelHandler for {Self}`",
    note = "implement `rest_channels::generics::ModelHandler for {Self}` and name its model: `type Model = YourModel;`"
)]
pub trait ModelHandler: Handler {
    /// The model this handler serves.
    type Model: Model;

    /// The column objects are looked up by (default: the primary key).
    const LOOKUP_FIELD: Option<Column> = None;
    /// The route kwarg that holds the lookup value.
    const LOOKUP_KWARG: &'static str = "pk";
    /// How `list` is paginated (`None`: the app's default, [`Settings::pagination`](crate::Settings::pagination)).
    const PAGINATION: Option<Pagination> = None;
    /// Columns a `list` can be filtered on by equality (`?author=1`).
    const FILTER_FIELDS: &'static [Column] = &[];
    /// Columns `?search=` looks in (text columns).
    const SEARCH_FIELDS: &'static [Column] = &[];
    /// Columns `?ordering=` may order by.
    const ORDERING_FIELDS: &'static [Column] = &[];

    /// The database (default: the [`Database`] in the app's state, see
    /// [`AppBuilder::database`](crate::AppBuilder::database)).
    fn database<'c>(&self, ctx: &Context<'c>) -> Result<&'c Database, Error> {
        ctx.app().database().ok_or_else(|| {
            Error::msg(
                "a generic handler ran, but the app has no database: App::builder().database(db)",
            )
        })
    }

    /// Narrows the rows every action sees: `list`, and every object lookup
    /// (an object outside it is a 404). Default: every row.
    ///
    /// ```
    /// # use rest_channels::prelude::*;
    /// # use rest_channels::generics::QuerySet;
    /// # #[derive(Model, serde::Serialize)] #[model(table = "notes")]
    /// # pub struct Note { #[model(primary_key)] pub id: i64, #[model(read_only, owner)] pub author: i64 }
    /// # #[derive(Default)] pub struct MyNotes;
    /// # #[action_handler(generics = List)] impl MyNotes {}
    /// impl ModelHandler for MyNotes {
    ///     type Model = Note;
    ///     fn queryset(&self, ctx: &Context<'_>, rows: &mut QuerySet) -> Result<(), Error> {
    ///         rows.filter(Note::FIELDS.author, ctx.user_id()?);
    ///         Ok(())
    ///     }
    /// }
    /// ```
    fn queryset(&self, ctx: &Context<'_>, rows: &mut QuerySet) -> Result<(), Error> {
        let _ = (ctx, rows);
        Ok(())
    }

    /// Stores a new object (default: inserts `values`).
    fn perform_create(
        &self,
        ctx: &Context<'_>,
        tx: &mut Tx,
        values: Values,
    ) -> impl Future<Output = Result<Self::Model, Error>> + Send {
        let _ = ctx;
        tx.insert(values)
    }

    /// Stores the changed fields of `obj` (default: updates them).
    fn perform_update(
        &self,
        ctx: &Context<'_>,
        tx: &mut Tx,
        obj: &Self::Model,
        values: Values,
    ) -> impl Future<Output = Result<Self::Model, Error>> + Send {
        let _ = ctx;
        let pk = obj.pk();
        async move { tx.update(pk, values).await?.ok_or_else(Error::not_found) }
    }

    /// Deletes `obj` (default: deletes its row).
    fn perform_destroy(
        &self,
        ctx: &Context<'_>,
        tx: &mut Tx,
        obj: &Self::Model,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = ctx;
        let pk = obj.pk();
        async move { tx.delete::<Self::Model>(pk).await.map(|_| ()) }
    }

    /// Runs after a write was committed (not when it failed or rolled
    /// back): where pushes and broadcasts of a change belong. Default: nothing.
    fn after_commit(
        &self,
        ctx: &Context<'_>,
        change: Change<'_, Self::Model>,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = (ctx, change);
        async { Ok(()) }
    }
}

/// A committed change, as [`ModelHandler::after_commit`] sees it.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a, M> {
    /// `create` stored this object.
    Created(&'a M),
    /// `update` or `partial_update` left the object so.
    Updated(&'a M),
    /// `destroy` deleted this object.
    Deleted(&'a M),
}

/// The rows a handler's actions see: a `SELECT` that
/// [`ModelHandler::queryset`] narrows.
pub struct QuerySet {
    select: SelectStatement,
    backend: Backend,
}

impl QuerySet {
    /// Keeps the rows whose `column` equals `value`.
    pub fn filter(&mut self, column: Column, value: impl Into<Value>) -> &mut Self {
        let v = db::to_sea(value.into(), column.ty());
        self.select
            .and_where(Expr::col(column.name()).eq(Expr::val(v)));
        self
    }

    /// Keeps the rows where `expr` holds (a [sea-query](crate::db::sea_query)
    /// expression; bind values with `Expr::val`).
    pub fn filter_expr(&mut self, expr: impl Into<sea_query::Expr>) -> &mut Self {
        self.select.and_where(expr.into());
        self
    }

    /// The database the rows are read from.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The statement, for what the methods above do not cover.
    pub fn statement(&mut self) -> &mut SelectStatement {
        &mut self.select
    }
}

/// The actions a generic handler can provide (the macro names them).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenericAction {
    /// `create`
    Create,
    /// `list`
    List,
    /// `retrieve`
    Retrieve,
    /// `update`
    Update,
    /// `partial_update`
    PartialUpdate,
    /// `destroy`
    Destroy,
    /// `subscribe` (observers)
    Subscribe,
    /// `unsubscribe` (observers)
    Unsubscribe,
}

/// Type-checks `generics = ...` at its span.
#[doc(hidden)]
#[inline(always)]
pub fn assert_model_handler<H: ModelHandler>() {}

/// Runs a generic action of `h`.
#[doc(hidden)]
pub async fn generic<H: ModelHandler>(
    h: &H,
    ctx: &mut Context<'_>,
    action: GenericAction,
) -> Result<Reply, Error> {
    let ctx: &Context<'_> = ctx;
    match action {
        GenericAction::List => list(h, ctx).await,
        GenericAction::Create => create(h, ctx).await,
        GenericAction::Retrieve => retrieve(h, ctx).await,
        GenericAction::Update => update(h, ctx, WriteMode::Update).await,
        GenericAction::PartialUpdate => update(h, ctx, WriteMode::Partial).await,
        GenericAction::Destroy => destroy(h, ctx).await,
        GenericAction::Subscribe => observe(h, ctx, true).await,
        GenericAction::Unsubscribe => observe(h, ctx, false).await,
    }
}

fn respond<T: serde::Serialize + ?Sized>(
    ctx: &Context<'_>,
    data: &T,
    status: u16,
) -> Result<Reply, Error> {
    write_reply(ctx.message().head(), data, status).map(|s| Reply(Some(s)))
}

/// The handler's rows: every column of its model, narrowed by its queryset.
fn queryset<H: ModelHandler>(
    h: &H,
    ctx: &Context<'_>,
    backend: Backend,
) -> Result<SelectStatement, Error> {
    let mut rows = QuerySet {
        select: db::select_all::<H::Model>(),
        backend,
    };
    h.queryset(ctx, &mut rows)?;
    Ok(rows.select)
}

async fn list<H: ModelHandler>(h: &H, ctx: &Context<'_>) -> Result<Reply, Error> {
    let db = h.database(ctx)?;
    let backend = db.backend();
    let query = QueryParams::parse(ctx.query());
    let mut select = queryset(h, ctx, backend)?;
    filters::equality(&mut select, &query, H::FILTER_FIELDS)?;
    filters::search(&mut select, &query, H::SEARCH_FIELDS, backend);
    filters::ordering(
        &mut select,
        &query,
        H::ORDERING_FIELDS,
        <H::Model as Model>::PRIMARY_KEY,
        backend,
    );
    let pagination = H::PAGINATION
        .or(ctx.app().settings().pagination)
        .unwrap_or(Pagination::Off);
    if pagination == Pagination::Off {
        let rows = db.fetch_all::<H::Model>(&select).await?;
        return respond(ctx, &rows, 200);
    }
    // The count and the page are read in one transaction: they agree.
    let mut tx = db.begin_read().await?;
    let count = u64::try_from(tx.count(&select).await?).unwrap_or(0);
    let window = pagination.window(&query, count)?;
    let results = match window.limit {
        Some(limit) => {
            tx.fetch_page::<H::Model>(&select, limit, window.offset)
                .await?
        }
        None => tx.fetch_all::<H::Model>(&select).await?,
    };
    tx.commit().await?;
    let path = ctx.route_path();
    let page = Page {
        count,
        next: window.next.map(|q| q.to_route(path)),
        previous: window.previous.map(|q| q.to_route(path)),
        results,
    };
    respond(ctx, &page, 200)
}

/// The lookup value from the route, typed by the lookup column; a value
/// that cannot be one (`<int:pk>` out of range, say) finds nothing: 404.
fn lookup_value<H: ModelHandler>(ctx: &Context<'_>) -> Result<(Column, Value), Error> {
    let column = H::LOOKUP_FIELD.unwrap_or(<H::Model as Model>::PRIMARY_KEY);
    let raw: &str = ctx.kwarg(H::LOOKUP_KWARG)?;
    let value = match column.ty() {
        ColumnType::Integer => Value::Integer(raw.parse().map_err(|_| Error::not_found())?),
        ColumnType::Real => Value::Real(raw.parse().map_err(|_| Error::not_found())?),
        ColumnType::Boolean => Value::Boolean(raw.parse().map_err(|_| Error::not_found())?),
        ColumnType::Text => Value::Text(raw.to_owned()),
    };
    Ok((column, value))
}

/// The object the route names, within the queryset (locked for update in a
/// write on Postgres), or a 404.
async fn get_object<H: ModelHandler>(
    h: &H,
    ctx: &Context<'_>,
    source: Source<'_>,
) -> Result<H::Model, Error> {
    let (column, value) = lookup_value::<H>(ctx)?;
    let backend = match &source {
        Source::Db(db) => db.backend(),
        Source::Tx(tx) => tx.backend(),
    };
    let mut select = queryset(h, ctx, backend)?;
    select.and_where(Expr::col(column.name()).eq(Expr::val(db::to_sea(value, column.ty()))));
    // No `LIMIT 1`: a bound LIMIT makes SQLite prepare the statement anew on
    // every run (it depends on the value), and `fetch_optional` reads one row.
    let found = match source {
        Source::Db(db) => db.fetch_optional::<H::Model>(&select).await?,
        Source::Tx(tx) => {
            if backend == Backend::Postgres {
                select.lock_exclusive();
            }
            tx.fetch_optional::<H::Model>(&select).await?
        }
    };
    let obj = found.ok_or_else(Error::not_found)?;
    if H::permission().has_object_permission(ctx, &obj).await {
        Ok(obj)
    } else {
        Err(Error::permission_denied())
    }
}

enum Source<'a> {
    Db(&'a Database),
    Tx(&'a mut Tx),
}

/// The message's `data` as an object: missing is `{}`; anything but an
/// object is a 400 as Django REST framework words it.
fn data_object(ctx: &Context<'_>) -> Result<Map<String, Json>, Error> {
    let Some(raw) = ctx.message().arg_raw("data") else {
        return Ok(Map::new());
    };
    match serde_json::from_str::<Json>(raw.get()).map_err(Error::internal)? {
        Json::Object(map) => Ok(map),
        other => {
            let got = match other {
                Json::Null => "null",
                Json::Bool(_) => "bool",
                Json::Number(n) if n.is_f64() => "float",
                Json::Number(_) => "int",
                Json::String(_) => "str",
                Json::Array(_) => "list",
                Json::Object(_) => unreachable!(),
            };
            let mut errors = FieldErrors::new();
            errors.add(
                "non_field_errors",
                format!("Invalid data. Expected a dictionary, but got {got}."),
            );
            Err(errors.into())
        }
    }
}

fn read_data<M: Model>(ctx: &Context<'_>, mode: WriteMode) -> Result<Values, Error> {
    let data = data_object(ctx)?;
    M::read_data(&data, mode).map_err(Error::from)
}

async fn create<H: ModelHandler>(h: &H, ctx: &Context<'_>) -> Result<Reply, Error> {
    let db = h.database(ctx)?;
    let values = read_data::<H::Model>(ctx, WriteMode::Create)?;
    let mut tx = db.begin_write().await?;
    let obj = h.perform_create(ctx, &mut tx, values).await?;
    observer::commit_and_publish(ctx, tx, Change::Created(&obj)).await?;
    h.after_commit(ctx, Change::Created(&obj)).await?;
    respond(ctx, &obj, 201)
}

async fn retrieve<H: ModelHandler>(h: &H, ctx: &Context<'_>) -> Result<Reply, Error> {
    let db = h.database(ctx)?;
    let obj = get_object(h, ctx, Source::Db(db)).await?;
    respond(ctx, &obj, 200)
}

async fn update<H: ModelHandler>(
    h: &H,
    ctx: &Context<'_>,
    mode: WriteMode,
) -> Result<Reply, Error> {
    let db = h.database(ctx)?;
    let mut tx = db.begin_write().await?;
    let obj = get_object(h, ctx, Source::Tx(&mut tx)).await?;
    let values = read_data::<H::Model>(ctx, mode)?;
    let obj = h.perform_update(ctx, &mut tx, &obj, values).await?;
    observer::commit_and_publish(ctx, tx, Change::Updated(&obj)).await?;
    h.after_commit(ctx, Change::Updated(&obj)).await?;
    respond(ctx, &obj, 200)
}

async fn destroy<H: ModelHandler>(h: &H, ctx: &Context<'_>) -> Result<Reply, Error> {
    let db = h.database(ctx)?;
    let mut tx = db.begin_write().await?;
    let obj = get_object(h, ctx, Source::Tx(&mut tx)).await?;
    h.perform_destroy(ctx, &mut tx, &obj).await?;
    observer::commit_and_publish(ctx, tx, Change::Deleted(&obj)).await?;
    h.after_commit(ctx, Change::Deleted(&obj)).await?;
    respond(ctx, &(), 204)
}

/// `subscribe` / `unsubscribe`: on a route with the lookup kwarg, one
/// instance (which must exist and pass the object permissions to be
/// subscribed to); else every instance of the model.
async fn observe<H: ModelHandler>(h: &H, ctx: &Context<'_>, on: bool) -> Result<Reply, Error> {
    let detail = ctx.kwarg::<&str>(H::LOOKUP_KWARG).is_ok();
    let group = if !detail {
        observer::list_group::<H::Model>()
    } else if on || H::LOOKUP_FIELD.is_some() {
        let db = h.database(ctx)?;
        match get_object(h, ctx, Source::Db(db)).await {
            Ok(obj) => observer::instance_group::<H::Model>(&obj.pk()),
            // Unsubscribing from what is gone (or was never there) is fine.
            Err(e) if !on && e.status() == 404 => {
                return respond(ctx, &Subscribed { subscribed: false }, 200);
            }
            Err(e) => return Err(e),
        }
    } else {
        // The primary key is in the route: no need to read the row.
        match lookup_value::<H>(ctx) {
            Ok((_, pk)) => observer::instance_group::<H::Model>(&pk),
            Err(_) => return respond(ctx, &Subscribed { subscribed: false }, 200),
        }
    };
    if on {
        // A list whose queryset narrows the rows checks each push against them.
        let visible = if detail {
            None
        } else {
            let db = h.database(ctx)?;
            let rows = queryset(h, ctx, db.backend())?;
            let everything = db::select_all::<H::Model>();
            let narrowed = match db.backend() {
                Backend::Sqlite => {
                    rows.to_string(sea_query::SqliteQueryBuilder)
                        != everything.to_string(sea_query::SqliteQueryBuilder)
                }
                Backend::Postgres => {
                    rows.to_string(sea_query::PostgresQueryBuilder)
                        != everything.to_string(sea_query::PostgresQueryBuilder)
                }
            };
            narrowed.then(|| observer::visible_in::<H::Model>(db.clone(), rows))
        };
        observer::subscribe(ctx, group, visible).await?;
    } else {
        observer::unsubscribe(ctx, &group).await?;
    }
    respond(ctx, &Subscribed { subscribed: on }, 200)
}

#[derive(serde::Serialize)]
struct Subscribed {
    subscribed: bool,
}
