//! The REST half over real sockets: a model of its own (`Book`), the nine
//! generic handlers, querysets, lookups, hooks, validation, pagination,
//! filters and transactions, each test run on SQLite in memory, on a SQLite
//! file, and on PostgreSQL (`REST_CHANNELS_TEST_POSTGRES`, a fresh database
//! per test; see tests/common/pg.rs).

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::{Router, routing::get};
use common::pg::{PgDatabase, postgres_url, with_database};
use common::{Client, Server};
use rest_channels::axum::websocket;
use rest_channels::db::sea_query::{Expr, ExprTrait};
use rest_channels::db::{Migrations, select_all};
use rest_channels::generics::{Change, QuerySet};
use rest_channels::prelude::*;
use rest_channels::{TokenAuth, UserId};
use serde::Serialize;
use serde_json::{Value, json};

// ---------------------------------------------------------------- the app

/// A book: `{"id", "title", "pages", "published", "owner", "isbn"}`.
#[derive(Model, Serialize, Debug, Clone, PartialEq)]
#[model(table = "books")]
pub struct Book {
    #[model(primary_key)]
    pub id: i64,
    #[model(validate(length(chars, max = 20)))]
    pub title: String,
    #[model(validate(range(min = 1)))]
    pub pages: i32,
    #[model(default = false)]
    pub published: bool,
    #[model(read_only, owner)]
    pub owner: i64,
    pub isbn: Option<String>,
}

/// Text columns keep the database's default collation on purpose (the test
/// databases of Postgres use ICU's, not bytes): the filters must order and
/// fold case the same on both backends by themselves. `pages` is a 32-bit
/// column on Postgres.
fn migrations() -> Migrations {
    Migrations::new().add(
        1,
        "books",
        "CREATE TABLE books (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL,
            pages INTEGER NOT NULL,
            published BOOLEAN NOT NULL DEFAULT 0,
            owner INTEGER NOT NULL,
            isbn TEXT
        )",
        "CREATE TABLE books (
            id BIGSERIAL PRIMARY KEY,
            title TEXT NOT NULL,
            pages INTEGER NOT NULL,
            published BOOLEAN NOT NULL DEFAULT FALSE,
            owner BIGINT NOT NULL,
            isbn TEXT
        )",
    )
}

/// What `after_commit` saw, in order: `created:<id>:<what a fresh read of
/// the row found>`.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A title that makes `perform_create` and `perform_update` fail after
/// they wrote.
const EXPLODE: &str = "explode";

/// The user's books only.
fn only_mine(ctx: &Context<'_>, rows: &mut QuerySet) -> Result<(), Error> {
    rows.filter(Book::FIELDS.owner, ctx.user_id()?);
    Ok(())
}

/// The owner is the connected user; a book titled [`EXPLODE`] is refused
/// after its row was inserted (the transaction must roll it back).
async fn create_owned(ctx: &Context<'_>, tx: &mut Tx, mut values: Values) -> Result<Book, Error> {
    values.set(Book::FIELDS.owner, ctx.user_id()?);
    let book: Book = tx.insert(values).await?;
    if book.title == EXPLODE {
        return Err(Error::invalid("title", "Refused after the insert."));
    }
    Ok(book)
}

/// Records a committed change, with what a read outside the write's
/// transaction finds: the row as written (`stored`), none (`gone`), or
/// another version of it (`stale`: the hook ran before the commit, or a
/// concurrent write committed since).
async fn record(db: &Database, ctx: &Context<'_>, change: Change<'_, Book>) -> Result<(), Error> {
    let (kind, book) = match change {
        Change::Created(b) => ("created", b),
        Change::Updated(b) => ("updated", b),
        Change::Deleted(b) => ("deleted", b),
    };
    let mut select = select_all::<Book>();
    select.and_where(Expr::col("id").eq(book.id));
    let seen = match db.fetch_optional::<Book>(&select).await? {
        Some(row) if row == *book => "stored",
        Some(_) => "stale",
        None => "gone",
    };
    ctx.state::<Log>()?
        .0
        .lock()
        .unwrap()
        .push(format!("{kind}:{}:{seen}", book.id));
    Ok(())
}

/// Implements `ModelHandler` for a handler of `Book`s with the hooks above
/// and the given items.
macro_rules! book_handler {
    ($handler:ty { $($item:item)* }) => {
        impl ModelHandler for $handler {
            type Model = Book;
            $($item)*

            async fn perform_create(&self, ctx: &Context<'_>, tx: &mut Tx, values: Values) -> Result<Book, Error> {
                create_owned(ctx, tx, values).await
            }

            async fn perform_update(&self, _ctx: &Context<'_>, tx: &mut Tx, obj: &Book, values: Values) -> Result<Book, Error> {
                let book = tx.update::<Book>(obj.pk(), values).await?.ok_or_else(Error::not_found)?;
                if book.title == EXPLODE {
                    return Err(Error::invalid("title", "Refused after the update."));
                }
                Ok(book)
            }

            async fn after_commit(&self, ctx: &Context<'_>, change: Change<'_, Book>) -> Result<(), Error> {
                record(self.database(ctx)?, ctx, change).await
            }
        }
    };
}

/// `books/`: the user's books, pages of 3 (`?size=` up to 50); a user
/// action beside the generic ones.
#[derive(Default)]
pub struct BookList;

#[action_handler(permissions = [IsAuthenticated], generics = ListCreate, observe)]
impl BookList {
    /// How many books the user has, and how many changes were committed.
    #[async_action]
    async fn stats(&self, ctx: &Context<'_>) -> ActionResult {
        let UserId::Int(me) = ctx.user_id()? else {
            return Err(Error::permission_denied());
        };
        let mut select = select_all::<Book>();
        select.and_where(Expr::col("owner").eq(me));
        let mut tx = self.database(ctx)?.begin_read().await?;
        let mine = tx.count(&select).await?;
        tx.commit().await?;
        let changes = ctx.state::<Log>()?.entries().len();
        Ok(reply!({"mine": mine, "changes": changes}, 200))
    }
}

book_handler!(BookList {
    const PAGINATION: Option<Pagination> = Some(Pagination::page_number(3).page_size_param("size").max_page_size(50));
    const FILTER_FIELDS: &'static [Column] = &[Book::FIELDS.published, Book::FIELDS.pages];
    const SEARCH_FIELDS: &'static [Column] = &[Book::FIELDS.title, Book::FIELDS.isbn];
    const ORDERING_FIELDS: &'static [Column] = &[Book::FIELDS.id, Book::FIELDS.title, Book::FIELDS.pages];
    fn queryset(&self, ctx: &Context<'_>, rows: &mut QuerySet) -> Result<(), Error> {
        only_mine(ctx, rows)
    }
});

/// `books/<int:pk>/`: every book; only the owner writes.
#[derive(Default)]
pub struct BookDetail;

#[action_handler(permissions = [IsAuthenticated, IsOwnerOrReadOnly], generics = RetrieveUpdateDestroy, observe)]
impl BookDetail {}

book_handler!(BookDetail {});

/// `mine/<int:pk>/`: the user's books only.
#[derive(Default)]
pub struct MineRetrieve;

#[action_handler(permissions = [IsAuthenticated], generics = Retrieve)]
impl MineRetrieve {}

book_handler!(MineRetrieve {
    fn queryset(&self, ctx: &Context<'_>, rows: &mut QuerySet) -> Result<(), Error> {
        only_mine(ctx, rows)
    }
});

/// `new/`: create only.
#[derive(Default)]
pub struct NewBook;

#[action_handler(permissions = [IsAuthenticated], generics = Create)]
impl NewBook {}

book_handler!(NewBook {});

/// `window/`: every book, by limit and offset (2 by default, at most 3).
#[derive(Default)]
pub struct BookWindow;

#[action_handler(permissions = [IsAuthenticated], generics = List, observe)]
impl BookWindow {}

book_handler!(BookWindow {
    const PAGINATION: Option<Pagination> = Some(Pagination::limit_offset(2).max_limit(3));
    const ORDERING_FIELDS: &'static [Column] = &[Book::FIELDS.id];
});

/// `gone/<int:pk>/`: destroy only, the user's books.
#[derive(Default)]
pub struct GoneBook;

#[action_handler(permissions = [IsAuthenticated], generics = Destroy)]
impl GoneBook {}

book_handler!(GoneBook {
    fn queryset(&self, ctx: &Context<'_>, rows: &mut QuerySet) -> Result<(), Error> {
        only_mine(ctx, rows)
    }
});

/// `edit/<int:pk>/`: update only, the user's books.
#[derive(Default)]
pub struct EditBook;

#[action_handler(permissions = [IsAuthenticated], generics = Update)]
impl EditBook {}

book_handler!(EditBook {
    fn queryset(&self, ctx: &Context<'_>, rows: &mut QuerySet) -> Result<(), Error> {
        only_mine(ctx, rows)
    }
});

/// `isbn/<str:code>/`: the user's books, looked up by ISBN.
#[derive(Default)]
pub struct ByIsbn;

#[action_handler(permissions = [IsAuthenticated], generics = RetrieveUpdate)]
impl ByIsbn {}

book_handler!(ByIsbn {
    const LOOKUP_FIELD: Option<Column> = Some(Book::FIELDS.isbn);
    const LOOKUP_KWARG: &'static str = "code";
    fn queryset(&self, ctx: &Context<'_>, rows: &mut QuerySet) -> Result<(), Error> {
        only_mine(ctx, rows)
    }
});

/// `shelf/<int:pk>/`: retrieve and destroy, the user's books.
#[derive(Default)]
pub struct ShelfBook;

#[action_handler(permissions = [IsAuthenticated], generics = RetrieveDestroy)]
impl ShelfBook {}

book_handler!(ShelfBook {
    fn queryset(&self, ctx: &Context<'_>, rows: &mut QuerySet) -> Result<(), Error> {
        only_mine(ctx, rows)
    }
});

#[derive(Default)]
pub struct Api;

#[consumer(
    permissions = [AllowAny],
    routes = [
        path("books/<int:pk>/", BookDetail),
        path("books/", BookList),
        path("mine/<int:pk>/", MineRetrieve),
        path("new/", NewBook),
        path("window/", BookWindow),
        path("gone/<int:pk>/", GoneBook),
        path("edit/<int:pk>/", EditBook),
        path("isbn/<str:code>/", ByIsbn),
        path("shelf/<int:pk>/", ShelfBook),
    ],
)]
impl Api {
    #[async_action]
    async fn ping(&self) -> ActionResult {
        Ok(reply!("pong", 200))
    }
}

/// `/ws/shelf/`: a consumer that is itself a generic handler (its own
/// `list` and `create`, at the route `""`).
#[derive(Default)]
pub struct Shelf;

#[consumer(permissions = [IsAuthenticated], generics = ListCreate)]
impl Shelf {}

book_handler!(Shelf {
    fn queryset(&self, ctx: &Context<'_>, rows: &mut QuerySet) -> Result<(), Error> {
        only_mine(ctx, rows)
    }
});

async fn lookup(token: String) -> Option<Arc<dyn User>> {
    match token.as_str() {
        "alice-token" => Some(Arc::new(SimpleUser::new(1, "alice"))),
        "bob-token" => Some(Arc::new(SimpleUser::new(2, "bob"))),
        _ => None,
    }
}

// ---------------------------------------------------------------- fixtures

#[derive(Clone, Copy, Debug)]
enum Kind {
    SqliteMemory,
    SqliteFile,
    Postgres,
}

/// A SQLite file in the temp dir, removed (with its WAL files) on drop.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A server of the app on a fresh database of one kind.
struct Fixture {
    server: Server,
    log: Log,
    kind: Kind,
    // Dropped after the server: the database outlives its last use.
    _file: Option<TempFile>,
    _pg: Option<PgDatabase>,
}

impl Fixture {
    /// `None`: Postgres was asked for but is not configured (locally).
    async fn open(kind: Kind) -> Option<Fixture> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let (mut file, mut pg) = (None, None);
        let url = match kind {
            Kind::SqliteMemory => "sqlite::memory:".to_owned(),
            Kind::SqliteFile => {
                let name = format!(
                    "rest-channels-test-{}-{}.db",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                );
                let f = TempFile(std::env::temp_dir().join(name));
                let url = format!("sqlite://{}", f.0.display());
                file = Some(f);
                url
            }
            Kind::Postgres => {
                let db = PgDatabase::create(&postgres_url()?).await;
                let url = db.url.clone();
                pg = Some(db);
                url
            }
        };
        let db = Database::connect(&url).await.expect("connect");
        db.migrate(&migrations()).await.expect("migrate");
        let log = Log::default();
        let app = App::builder()
            .authenticator(TokenAuth::new(lookup))
            .database(db)
            .state(log.clone())
            .build();
        let router = Router::new()
            .route("/ws/", get(websocket::<Api>))
            .route("/ws/shelf/", get(websocket::<Shelf>))
            .with_state(app.clone());
        let server = Server::start(app, router).await;
        Some(Fixture {
            server,
            log,
            kind,
            _file: file,
            _pg: pg,
        })
    }

    async fn client(&self, token: Option<&str>) -> Client {
        Client::connect(&self.server.url("/ws/"), token)
            .await
            .expect("connect")
    }

    async fn alice(&self) -> Client {
        self.client(Some("alice-token")).await
    }

    async fn bob(&self) -> Client {
        self.client(Some("bob-token")).await
    }

    async fn stop(self) {
        let Fixture { server, .. } = self;
        let db = server.app.database().cloned();
        server.stop().await;
        if let Some(db) = db {
            db.close().await;
        }
    }
}

/// Sends one action and returns the reply; `data` is left out when `None`.
async fn call(c: &mut Client, action: &str, route: &str, data: Option<Value>) -> Value {
    let mut msg = json!({"action": action, "route": route});
    if let Some(d) = data {
        msg["data"] = d;
    }
    let reply = c.request(msg).await;
    assert_eq!(reply["action"], action, "{reply}");
    assert_eq!(reply["route"], route, "{reply}");
    reply
}

/// The reply's `data`, after checking it succeeded with `status`.
#[track_caller]
fn ok(reply: &Value, status: u16) -> Value {
    assert_eq!(reply["status"], status, "{reply}");
    assert_eq!(reply["errors"], json!([]), "{reply}");
    reply["data"].clone()
}

/// The reply's `errors`, after checking it failed with `status`.
#[track_caller]
fn fails(reply: &Value, status: u16) -> Value {
    assert_eq!(reply["status"], status, "{reply}");
    assert_eq!(reply["data"], Value::Null, "{reply}");
    reply["errors"].clone()
}

fn not_found() -> Value {
    json!([{"detail": "Not found."}])
}

fn denied() -> Value {
    json!(["You do not have permission to perform this action."])
}

/// Creates a book on `books/` (201) and returns it.
async fn create(c: &mut Client, data: Value) -> Value {
    ok(&call(c, "create", "books/", Some(data)).await, 201)
}

/// `s` percent-encoded, for a query string.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn titles(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {page}"))
        .iter()
        .map(|b| b["title"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect()
}

/// Runs each test on every backend: `sqlite_memory::name`,
/// `sqlite_file::name`, `postgres::name`.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        on_every_backend!(@mod sqlite_memory, SqliteMemory, $($test),*);
        on_every_backend!(@mod sqlite_file, SqliteFile, $($test),*);
        on_every_backend!(@mod postgres, Postgres, $($test),*);
    };
    (@mod $module:ident, $kind:ident, $($test:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(f) = super::Fixture::open(super::Kind::$kind).await {
                        super::$test(&f).await;
                        f.stop().await;
                    }
                }
            )*
        }
    };
}

on_every_backend!(
    create_retrieve_update_destroy,
    validation_reports_every_field_in_drf_words,
    data_that_is_not_an_object,
    not_found_for_unknown_foreign_and_out_of_range_keys,
    checks_run_404_then_403_then_400,
    page_numbers_keep_links_and_params,
    limit_offset_windows,
    equality_filters,
    search_is_literal_and_ascii_case_insensitive,
    ordering_ignores_unknown_fields_and_breaks_ties_by_pk,
    failed_writes_leave_nothing_and_run_no_hook,
    concurrent_creates_from_many_connections,
    concurrent_updates_of_one_row,
    custom_lookup_field_and_kwarg,
    each_generic_has_its_actions,
    user_action_beside_generic_ones,
    a_consumer_is_a_generic_handler_too,
    observers_get_one_push_per_committed_change,
    a_scoped_list_pushes_only_the_subscribers_rows,
);

// ---------------------------------------------------------------- tests

async fn create_retrieve_update_destroy(f: &Fixture) {
    let mut alice = f.alice().await;
    // read-only (`id`, `owner`) and unknown keys are ignored; defaults fill in
    let book = create(
        &mut alice,
        json!({"title": "Dune", "pages": 412, "isbn": "978-0441", "id": 5000, "owner": 2, "colour": "red"}),
    )
    .await;
    let id = book["id"].as_i64().expect("an id");
    assert_ne!(id, 5000);
    assert_eq!(
        book,
        json!({"id": id, "title": "Dune", "pages": 412, "published": false, "owner": 1, "isbn": "978-0441"})
    );
    let route = format!("books/{id}/");
    assert_eq!(
        ok(&call(&mut alice, "retrieve", &route, None).await, 200),
        book
    );
    let page = ok(&call(&mut alice, "list", "books/", None).await, 200);
    assert_eq!(
        page,
        json!({"count": 1, "next": null, "previous": null, "results": [book]})
    );

    // update: every required field; the others keep their value
    let updated = ok(
        &call(
            &mut alice,
            "update",
            &route,
            Some(json!({"title": "Dune Messiah", "pages": "256", "owner": 2})),
        )
        .await,
        200,
    );
    assert_eq!(
        updated,
        json!({"id": id, "title": "Dune Messiah", "pages": 256, "published": false, "owner": 1, "isbn": "978-0441"})
    );
    let errors = fails(
        &call(
            &mut alice,
            "update",
            &route,
            Some(json!({"title": "No pages"})),
        )
        .await,
        400,
    );
    assert_eq!(errors, json!([{"pages": ["This field is required."]}]));

    // partial_update: only what is given changes; null clears an Option
    let patched = ok(
        &call(
            &mut alice,
            "partial_update",
            &route,
            Some(json!({"published": true, "isbn": null})),
        )
        .await,
        200,
    );
    assert_eq!(
        patched,
        json!({"id": id, "title": "Dune Messiah", "pages": 256, "published": true, "owner": 1, "isbn": null})
    );
    assert_eq!(
        ok(&call(&mut alice, "retrieve", &route, None).await, 200),
        patched
    );

    // destroy: 204 with null data, then it is gone
    let reply = call(&mut alice, "destroy", &route, None).await;
    assert_eq!(ok(&reply, 204), Value::Null);
    assert_eq!(
        fails(&call(&mut alice, "retrieve", &route, None).await, 404),
        not_found()
    );
    assert_eq!(
        fails(&call(&mut alice, "destroy", &route, None).await, 404),
        not_found()
    );
    let page = ok(&call(&mut alice, "list", "books/", None).await, 200);
    assert_eq!(page["count"], 0);

    // the hook saw each committed write once, after its commit
    assert_eq!(
        f.log.entries(),
        [
            format!("created:{id}:stored"),
            format!("updated:{id}:stored"),
            format!("updated:{id}:stored"),
            format!("deleted:{id}:gone"),
        ]
    );
}

async fn validation_reports_every_field_in_drf_words(f: &Fixture) {
    let mut alice = f.alice().await;
    let errors = fails(
        &call(&mut alice, "create", "books/", Some(json!({}))).await,
        400,
    );
    assert_eq!(
        errors,
        json!([{"title": ["This field is required."], "pages": ["This field is required."]}])
    );
    // no `data` at all reads as `{}`
    let errors = fails(&call(&mut alice, "create", "books/", None).await, 400);
    assert_eq!(
        errors,
        json!([{"title": ["This field is required."], "pages": ["This field is required."]}])
    );
    let errors = fails(
        &call(
            &mut alice,
            "create",
            "books/",
            Some(
                json!({"title": "x".repeat(21), "pages": 0, "published": "maybe", "isbn": ["no"]}),
            ),
        )
        .await,
        400,
    );
    assert_eq!(
        errors,
        json!([{
            "title": ["Ensure this field has no more than 20 characters."],
            "pages": ["Ensure this value is greater than or equal to 1."],
            "published": ["Must be a valid boolean."],
            "isbn": ["Not a valid string."],
        }])
    );
    let errors = fails(
        &call(
            &mut alice,
            "create",
            "books/",
            Some(json!({"title": null, "pages": 1.5})),
        )
        .await,
        400,
    );
    assert_eq!(
        errors,
        json!([{"title": ["This field may not be null."], "pages": ["A valid integer is required."]}])
    );
    // the limits are characters, not bytes; edges are allowed
    let book = create(&mut alice, json!({"title": "é".repeat(20), "pages": 1})).await;
    assert_eq!(book["title"], "é".repeat(20));
    let route = format!("books/{}/", book["id"]);
    let errors = fails(
        &call(
            &mut alice,
            "partial_update",
            &route,
            Some(json!({"pages": -3})),
        )
        .await,
        400,
    );
    assert_eq!(
        errors,
        json!([{"pages": ["Ensure this value is greater than or equal to 1."]}])
    );
    // nothing invalid was stored, nothing was recorded but the create
    let page = ok(&call(&mut alice, "list", "books/", None).await, 200);
    assert_eq!(page["count"], 1);
    assert_eq!(page["results"][0], book);
    assert_eq!(f.log.entries().len(), 1);
}

async fn data_that_is_not_an_object(f: &Fixture) {
    let mut alice = f.alice().await;
    for (data, got) in [
        (json!([1, 2]), "list"),
        (json!("title"), "str"),
        (json!(3), "int"),
        (json!(1.5), "float"),
        (json!(true), "bool"),
        (Value::Null, "null"),
    ] {
        let errors = fails(&call(&mut alice, "create", "books/", Some(data)).await, 400);
        assert_eq!(
            errors,
            json!([{"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {got}.")]}])
        );
    }
    let book = create(&mut alice, json!({"title": "t", "pages": 1})).await;
    let route = format!("books/{}/", book["id"]);
    for action in ["update", "partial_update"] {
        let errors = fails(
            &call(&mut alice, action, &route, Some(json!(["x"]))).await,
            400,
        );
        assert_eq!(
            errors,
            json!([{"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}])
        );
    }
    assert_eq!(
        ok(&call(&mut alice, "retrieve", &route, None).await, 200),
        book
    );
    let page = ok(&call(&mut alice, "list", "books/", None).await, 200);
    assert_eq!(page["count"], 1);
}

async fn not_found_for_unknown_foreign_and_out_of_range_keys(f: &Fixture) {
    let (mut alice, mut bob) = (f.alice().await, f.bob().await);
    let bobs = create(&mut bob, json!({"title": "Bob's", "pages": 10})).await;
    let id = bobs["id"].as_i64().unwrap();
    // unknown, and out of i64's range (the route takes it, the lookup cannot)
    for route in [
        format!("books/{}/", id + 1000),
        "books/99999999999999999999/".to_owned(),
        "mine/99999999999999999999/".to_owned(),
    ] {
        assert_eq!(
            fails(&call(&mut alice, "retrieve", &route, None).await, 404),
            not_found(),
            "{route}"
        );
    }
    // outside the queryset: bob's book is not alice's, whatever the action
    assert_eq!(
        fails(
            &call(&mut alice, "retrieve", &format!("mine/{id}/"), None).await,
            404
        ),
        not_found()
    );
    assert_eq!(
        ok(
            &call(&mut bob, "retrieve", &format!("mine/{id}/"), None).await,
            200
        ),
        bobs
    );
    for (action, route, data) in [
        (
            "update",
            format!("edit/{id}/"),
            Some(json!({"title": "mine now", "pages": 1})),
        ),
        (
            "partial_update",
            format!("edit/{id}/"),
            Some(json!({"pages": 0})),
        ),
        ("destroy", format!("gone/{id}/"), None),
        ("retrieve", format!("shelf/{id}/"), None),
        ("destroy", format!("shelf/{id}/"), None),
    ] {
        assert_eq!(
            fails(&call(&mut alice, action, &route, data).await, 404),
            not_found(),
            "{action} {route}"
        );
    }
    // untouched
    assert_eq!(
        ok(
            &call(&mut bob, "retrieve", &format!("books/{id}/"), None).await,
            200
        ),
        bobs
    );
    assert_eq!(f.log.entries(), [format!("created:{id}:stored")]);
}

async fn checks_run_404_then_403_then_400(f: &Fixture) {
    let (mut alice, mut bob) = (f.alice().await, f.bob().await);
    let mut anon = f.client(None).await;
    let bobs = create(&mut bob, json!({"title": "Bob's", "pages": 10})).await;
    let id = bobs["id"].as_i64().unwrap();
    let mine = format!("books/{id}/");
    let unknown = format!("books/{}/", id + 1000);
    let bad = Some(json!({"title": "x".repeat(30), "pages": 0}));
    // the handler's permission comes first: an anonymous client gets 403 even for an unknown pk
    assert_eq!(
        fails(&call(&mut anon, "update", &unknown, bad.clone()).await, 403),
        denied()
    );
    // then existence
    assert_eq!(
        fails(
            &call(&mut alice, "update", &unknown, bad.clone()).await,
            404
        ),
        not_found()
    );
    assert_eq!(
        fails(&call(&mut alice, "destroy", &unknown, None).await, 404),
        not_found()
    );
    // then the object permission: everyone reads, only the owner writes
    assert_eq!(
        ok(&call(&mut alice, "retrieve", &mine, None).await, 200),
        bobs
    );
    for action in ["update", "partial_update"] {
        assert_eq!(
            fails(&call(&mut alice, action, &mine, bad.clone()).await, 403),
            denied()
        );
        assert_eq!(
            fails(
                &call(&mut alice, action, &mine, Some(json!([1]))).await,
                403
            ),
            denied()
        );
        let good = Some(json!({"title": "Alice's now", "pages": 3}));
        assert_eq!(
            fails(&call(&mut alice, action, &mine, good).await, 403),
            denied()
        );
    }
    assert_eq!(
        fails(&call(&mut alice, "destroy", &mine, None).await, 403),
        denied()
    );
    // then the data
    let errors = fails(&call(&mut bob, "update", &mine, bad.clone()).await, 400);
    assert_eq!(
        errors,
        json!([{
            "title": ["Ensure this field has no more than 20 characters."],
            "pages": ["Ensure this value is greater than or equal to 1."],
        }])
    );
    assert_eq!(
        ok(&call(&mut bob, "retrieve", &mine, None).await, 200),
        bobs
    );
    assert_eq!(f.log.entries(), [format!("created:{id}:stored")]);
}

async fn page_numbers_keep_links_and_params(f: &Fixture) {
    let (mut alice, mut bob) = (f.alice().await, f.bob().await);
    let mut created = Vec::new();
    for i in 1..=7 {
        created.push(create(&mut alice, json!({"title": format!("a{i}"), "pages": i})).await);
    }
    create(&mut bob, json!({"title": "b1", "pages": 1})).await;
    let page = ok(&call(&mut alice, "list", "books/", None).await, 200);
    assert_eq!(
        page,
        json!({"count": 7, "next": "books/?page=2", "previous": null, "results": created[0..3]})
    );
    let page = ok(&call(&mut alice, "list", "books/?page=2", None).await, 200);
    assert_eq!(page["next"], "books/?page=3");
    assert_eq!(page["previous"], "books/", "page 1's link drops `page`");
    assert_eq!(page["results"], json!(created[3..6]));
    let page = ok(
        &call(&mut alice, "list", "books/?page=last", None).await,
        200,
    );
    assert_eq!(
        page,
        json!({"count": 7, "next": null, "previous": "books/?page=2", "results": created[6..7]})
    );
    // other parameters are kept, in their place
    let page = ok(
        &call(
            &mut alice,
            "list",
            "books/?search=a&page=2&ordering=id",
            None,
        )
        .await,
        200,
    );
    assert_eq!(page["next"], "books/?search=a&page=3&ordering=id");
    assert_eq!(page["previous"], "books/?search=a&ordering=id");
    // page sizes: chosen, capped, and invalid ones ignored
    let page = ok(&call(&mut alice, "list", "books/?size=5", None).await, 200);
    assert_eq!(titles(&page), ["a1", "a2", "a3", "a4", "a5"]);
    assert_eq!(page["next"], "books/?size=5&page=2");
    for size in ["500", "50"] {
        let page = ok(
            &call(&mut alice, "list", &format!("books/?size={size}"), None).await,
            200,
        );
        assert_eq!(page["results"].as_array().unwrap().len(), 7);
        assert_eq!(page["next"], Value::Null);
    }
    for size in ["0", "-1", "x"] {
        let page = ok(
            &call(&mut alice, "list", &format!("books/?size={size}"), None).await,
            200,
        );
        assert_eq!(page["results"].as_array().unwrap().len(), 3, "size={size}");
    }
    for bad in ["0", "4", "-1", "x", "1.5", ""] {
        let errors = fails(
            &call(&mut alice, "list", &format!("books/?page={bad}"), None).await,
            404,
        );
        assert_eq!(errors, json!([{"detail": "Invalid page."}]), "page={bad}");
    }
    // the queryset is per user; an empty list still has page 1
    let page = ok(&call(&mut bob, "list", "books/", None).await, 200);
    assert_eq!(page["count"], 1);
    let page = ok(
        &call(&mut bob, "list", "books/?search=zzz", None).await,
        200,
    );
    assert_eq!(
        page,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
}

async fn limit_offset_windows(f: &Fixture) {
    let (mut alice, mut bob) = (f.alice().await, f.bob().await);
    let mut all = Vec::new();
    for i in 1..=3 {
        all.push(create(&mut alice, json!({"title": format!("a{i}"), "pages": i})).await);
        all.push(create(&mut bob, json!({"title": format!("b{i}"), "pages": i})).await);
    }
    // every user's books (no queryset), 2 by default
    let page = ok(&call(&mut alice, "list", "window/", None).await, 200);
    assert_eq!(
        page,
        json!({"count": 6, "next": "window/?limit=2&offset=2", "previous": null, "results": all[0..2]})
    );
    let page = ok(
        &call(&mut alice, "list", "window/?limit=2&offset=2", None).await,
        200,
    );
    assert_eq!(page["results"], json!(all[2..4]));
    assert_eq!(page["next"], "window/?limit=2&offset=4");
    assert_eq!(page["previous"], "window/?limit=2");
    let page = ok(
        &call(&mut alice, "list", "window/?offset=5&limit=2", None).await,
        200,
    );
    assert_eq!(page["results"], json!(all[5..6]));
    assert_eq!(page["next"], Value::Null);
    assert_eq!(page["previous"], "window/?offset=3&limit=2");
    // the limit is capped; other parameters are kept
    let page = ok(
        &call(&mut alice, "list", "window/?ordering=-id&limit=100", None).await,
        200,
    );
    assert_eq!(
        ids(&page["results"]),
        ids(&json!(all[3..6])).into_iter().rev().collect::<Vec<_>>()
    );
    assert_eq!(page["next"], "window/?ordering=-id&limit=3&offset=3");
    // past the end: an empty window, not an error
    let page = ok(
        &call(&mut alice, "list", "window/?offset=60", None).await,
        200,
    );
    assert_eq!(page["count"], 6);
    assert_eq!(page["results"], json!([]));
    assert_eq!(page["next"], Value::Null);
}

async fn equality_filters(f: &Fixture) {
    let mut alice = f.alice().await;
    create(&mut alice, json!({"title": "one", "pages": 10})).await;
    create(
        &mut alice,
        json!({"title": "two", "pages": 20, "published": true}),
    )
    .await;
    create(
        &mut alice,
        json!({"title": "three", "pages": 10, "published": "yes"}),
    )
    .await;
    let list = |q: &str| format!("books/?size=50&{q}");
    let page = ok(
        &call(&mut alice, "list", &list("published=true"), None).await,
        200,
    );
    assert_eq!(titles(&page), ["two", "three"]);
    let page = ok(
        &call(&mut alice, "list", &list("published=0&pages=10"), None).await,
        200,
    );
    assert_eq!(titles(&page), ["one"]);
    let page = ok(
        &call(&mut alice, "list", &list("pages=+10+"), None).await,
        200,
    );
    assert_eq!(titles(&page), ["one", "three"]);
    // an empty value filters nothing; a column that is not a filter field is ignored
    let page = ok(
        &call(&mut alice, "list", &list("pages=&title=one"), None).await,
        200,
    );
    assert_eq!(page["count"], 3);
    // a bad value: 400 naming the field, every bad one at once
    let errors = fails(
        &call(&mut alice, "list", &list("pages=ten"), None).await,
        400,
    );
    assert_eq!(errors, json!([{"pages": ["A valid integer is required."]}]));
    let errors = fails(
        &call(&mut alice, "list", &list("published=maybe&pages=1.5"), None).await,
        400,
    );
    assert_eq!(
        errors,
        json!([{"published": ["Must be a valid boolean."], "pages": ["A valid integer is required."]}])
    );
}

async fn search_is_literal_and_ascii_case_insensitive(f: &Fixture) {
    let mut alice = f.alice().await;
    for (title, isbn) in [
        ("100% Rust", None),
        ("1000 Rust", None),
        ("snake_case", None),
        ("snakeXcase", None),
        (r"back\slash", None),
        ("backslash", None),
        ("UPPER lower", Some("ISBN-42")),
        ("ÄRGER", None),
    ] {
        create(
            &mut alice,
            json!({"title": title, "pages": 1, "isbn": isbn}),
        )
        .await;
    }
    let mut search = async |terms: &str| -> Vec<String> {
        let route = format!("books/?size=50&search={}", enc(terms));
        titles(&ok(&call(&mut alice, "list", &route, None).await, 200))
    };
    // wildcards and the escape character are plain characters
    assert_eq!(search("%").await, ["100% Rust"]);
    assert_eq!(search("0%").await, ["100% Rust"]);
    assert_eq!(search("_").await, ["snake_case"]);
    assert_eq!(search("e_c").await, ["snake_case"]);
    assert_eq!(search(r"\").await, [r"back\slash"]);
    assert_eq!(search(r"k\s").await, [r"back\slash"]);
    // ASCII letters ignore case; other letters do not fold
    assert_eq!(search("rust").await, ["100% Rust", "1000 Rust"]);
    assert_eq!(search("upper LOWER").await, ["UPPER lower"]);
    assert_eq!(search("Ärger").await, ["ÄRGER"]);
    assert_eq!(search("RGER").await, ["ÄRGER"]);
    assert_eq!(search("ärger").await, Vec::<String>::new());
    // every term must occur in some search field (the ISBN is one; null is no match)
    assert_eq!(search("isbn-42,upper").await, ["UPPER lower"]);
    assert_eq!(search("isbn-42 rust").await, Vec::<String>::new());
    assert_eq!(search("case,snake  x").await, ["snakeXcase"]);
    // an empty search filters nothing
    assert_eq!(search("").await.len(), 8);
    assert_eq!(search(" , ").await.len(), 8);
}

async fn ordering_ignores_unknown_fields_and_breaks_ties_by_pk(f: &Fixture) {
    let mut alice = f.alice().await;
    // ids in this order; titles chosen so that byte order differs from a
    // human collation (ICU puts "b" before "C" and "Ä" before "B")
    for (title, pages) in [("b", 2), ("C", 1), ("a", 2), ("Ä", 1), ("B", 2), ("c", 1)] {
        create(&mut alice, json!({"title": title, "pages": pages})).await;
    }
    let mut order = async |ordering: &str| -> Vec<String> {
        let route = format!("books/?size=50&ordering={}", enc(ordering));
        titles(&ok(&call(&mut alice, "list", &route, None).await, 200))
    };
    assert_eq!(order("title").await, ["B", "C", "a", "b", "c", "Ä"]);
    assert_eq!(order("-title").await, ["Ä", "c", "b", "a", "C", "B"]);
    // ties by ascending pk, whichever the direction of the field
    assert_eq!(order("pages").await, ["C", "Ä", "c", "b", "a", "B"]);
    assert_eq!(order("-pages").await, ["b", "a", "B", "C", "Ä", "c"]);
    assert_eq!(order("-pages,title").await, ["B", "a", "b", "C", "c", "Ä"]);
    assert_eq!(order("-id").await, ["c", "B", "Ä", "a", "C", "b"]);
    // unknown fields, and fields not allowed, are ignored
    for ordering in ["nope", "owner", "-published", "", ",", "-"] {
        assert_eq!(
            order(ordering).await,
            ["b", "C", "a", "Ä", "B", "c"],
            "{ordering:?}"
        );
    }
    assert_eq!(
        order("nope,-pages, title").await,
        ["B", "a", "b", "C", "c", "Ä"]
    );
    // with filters and pages, the links keep the ordering
    let page = ok(
        &call(&mut alice, "list", "books/?ordering=-title&pages=1", None).await,
        200,
    );
    assert_eq!(titles(&page), ["Ä", "c", "C"]);
    let page = ok(
        &call(&mut alice, "list", "books/?ordering=-title&size=2", None).await,
        200,
    );
    assert_eq!(titles(&page), ["Ä", "c"]);
    assert_eq!(page["next"], "books/?ordering=-title&size=2&page=2");
    let page = ok(
        &call(
            &mut alice,
            "list",
            "books/?ordering=-title&size=2&page=2",
            None,
        )
        .await,
        200,
    );
    assert_eq!(titles(&page), ["b", "a"]);
}

async fn failed_writes_leave_nothing_and_run_no_hook(f: &Fixture) {
    let mut alice = f.alice().await;
    // perform_create inserted, then failed: rolled back
    let errors = fails(
        &call(
            &mut alice,
            "create",
            "books/",
            Some(json!({"title": EXPLODE, "pages": 1})),
        )
        .await,
        400,
    );
    assert_eq!(errors, json!([{"title": ["Refused after the insert."]}]));
    let errors = fails(
        &call(
            &mut alice,
            "create",
            "new/",
            Some(json!({"title": EXPLODE, "pages": 1})),
        )
        .await,
        400,
    );
    assert_eq!(errors, json!([{"title": ["Refused after the insert."]}]));
    let page = ok(&call(&mut alice, "list", "window/", None).await, 200);
    assert_eq!(page["count"], 0, "{page}");
    assert!(f.log.entries().is_empty(), "{:?}", f.log.entries());

    // perform_update wrote, then failed: the old values stay
    let book = create(&mut alice, json!({"title": "kept", "pages": 5})).await;
    let route = format!("books/{}/", book["id"]);
    let errors = fails(
        &call(
            &mut alice,
            "partial_update",
            &route,
            Some(json!({"title": EXPLODE, "pages": 9})),
        )
        .await,
        400,
    );
    assert_eq!(errors, json!([{"title": ["Refused after the update."]}]));
    let errors = fails(
        &call(
            &mut alice,
            "update",
            &format!("edit/{}/", book["id"]),
            Some(json!({"title": EXPLODE, "pages": 9})),
        )
        .await,
        400,
    );
    assert_eq!(errors, json!([{"title": ["Refused after the update."]}]));
    assert_eq!(
        ok(&call(&mut alice, "retrieve", &route, None).await, 200),
        book
    );

    // the connection and the database go on
    let next = create(&mut alice, json!({"title": "next", "pages": 1})).await;
    let page = ok(&call(&mut alice, "list", "books/", None).await, 200);
    assert_eq!(page["results"], json!([book, next]));
    assert_eq!(
        f.log.entries(),
        [
            format!("created:{}:stored", book["id"]),
            format!("created:{}:stored", next["id"])
        ]
    );
}

async fn concurrent_creates_from_many_connections(f: &Fixture) {
    const CLIENTS: usize = 6;
    const EACH: usize = 5;
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let token = if c % 2 == 0 {
            "alice-token"
        } else {
            "bob-token"
        };
        let mut client = f.client(Some(token)).await;
        tasks.push(tokio::spawn(async move {
            // every create sent at once, then every reply read
            for i in 0..EACH {
                let msg = json!({"action": "create", "route": "new/", "request_id": i, "data": {"title": format!("c{c}-{i}"), "pages": 1}});
                client.send_json(&msg).await;
            }
            let mut ids = Vec::new();
            for i in 0..EACH {
                let reply = client.recv().await;
                assert_eq!(reply["request_id"], i, "{reply}");
                let book = ok(&reply, 201);
                assert_eq!(book["title"], format!("c{c}-{i}"));
                ids.push(book["id"].as_i64().unwrap());
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("a client's creates"));
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), CLIENTS * EACH, "distinct ids ({:?})", f.kind);
    let mut alice = f.alice().await;
    let page = ok(&call(&mut alice, "list", "window/", None).await, 200);
    assert_eq!(page["count"], CLIENTS * EACH);
    let page = ok(&call(&mut alice, "list", "books/", None).await, 200);
    assert_eq!(page["count"], CLIENTS.div_ceil(2) * EACH);
    assert_eq!(f.log.entries().len(), CLIENTS * EACH);
}

/// Updates read the row, then write it: on SQLite two such transactions
/// begun together would both read, and the second writer would fail
/// (`BEGIN IMMEDIATE` takes the write lock first); on Postgres the row is
/// locked `FOR UPDATE`.
async fn concurrent_updates_of_one_row(f: &Fixture) {
    const CLIENTS: usize = 6;
    const EACH: usize = 5;
    let mut alice = f.alice().await;
    let book = create(&mut alice, json!({"title": "shared", "pages": 1})).await;
    let route = format!("books/{}/", book["id"]);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let mut client = f.alice().await;
        let route = route.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                let (action, data) = if i % 2 == 0 {
                    ("partial_update", json!({"pages": 100 * c + i + 1}))
                } else {
                    (
                        "update",
                        json!({"title": format!("t{c}-{i}"), "pages": 100 * c + i + 1}),
                    )
                };
                let msg = json!({"action": action, "route": route, "request_id": i, "data": data});
                client.send_json(&msg).await;
            }
            for i in 0..EACH {
                let reply = client.recv().await;
                assert_eq!(reply["request_id"], i, "{reply}");
                assert_eq!(ok(&reply, 200)["pages"], 100 * c + i + 1);
            }
        }));
    }
    for t in tasks {
        t.await.expect("a client's updates");
    }
    let page = ok(&call(&mut alice, "list", "books/", None).await, 200);
    assert_eq!(page["count"], 1);
    // (a hook may read a later update than its own: they run concurrently)
    let entries = f.log.entries();
    assert_eq!(entries.len(), 1 + CLIENTS * EACH, "{:?}", f.kind);
    assert!(
        entries[1..].iter().all(|e| e.starts_with("updated:")),
        "{entries:?}"
    );
}

async fn custom_lookup_field_and_kwarg(f: &Fixture) {
    let (mut alice, mut bob) = (f.alice().await, f.bob().await);
    let book = create(
        &mut alice,
        json!({"title": "Coded", "pages": 3, "isbn": "978-3-16"}),
    )
    .await;
    let other = create(
        &mut bob,
        json!({"title": "Bob's", "pages": 3, "isbn": "978-0-00"}),
    )
    .await;
    assert_eq!(
        ok(
            &call(&mut alice, "retrieve", "isbn/978-3-16/", None).await,
            200
        ),
        book
    );
    // a pk is not an ISBN; bob's ISBN is outside alice's queryset
    let pk = format!("isbn/{}/", book["id"]);
    assert_eq!(
        fails(&call(&mut alice, "retrieve", &pk, None).await, 404),
        not_found()
    );
    assert_eq!(
        fails(
            &call(&mut alice, "retrieve", "isbn/978-0-00/", None).await,
            404
        ),
        not_found()
    );
    assert_eq!(
        ok(
            &call(&mut bob, "retrieve", "isbn/978-0-00/", None).await,
            200
        ),
        other
    );
    let patched = ok(
        &call(
            &mut alice,
            "partial_update",
            "isbn/978-3-16/",
            Some(json!({"pages": 30})),
        )
        .await,
        200,
    );
    assert_eq!(patched["pages"], 30);
    assert_eq!(patched["id"], book["id"]);
    let errors = fails(
        &call(
            &mut alice,
            "update",
            "isbn/978-3-16/",
            Some(json!({"pages": 30})),
        )
        .await,
        400,
    );
    assert_eq!(errors, json!([{"title": ["This field is required."]}]));
    // the lookup value may change: the new ISBN finds it, the old one does not
    let moved = ok(
        &call(
            &mut alice,
            "update",
            "isbn/978-3-16/",
            Some(json!({"title": "Recoded", "pages": 31, "isbn": "979-1"})),
        )
        .await,
        200,
    );
    assert_eq!(moved["isbn"], "979-1");
    assert_eq!(
        ok(
            &call(&mut alice, "retrieve", "isbn/979-1/", None).await,
            200
        ),
        moved
    );
    assert_eq!(
        fails(
            &call(&mut alice, "retrieve", "isbn/978-3-16/", None).await,
            404
        ),
        not_found()
    );
}

async fn each_generic_has_its_actions(f: &Fixture) {
    let mut alice = f.alice().await;
    let mut anon = f.client(None).await;
    let created = ok(
        &call(
            &mut alice,
            "create",
            "new/",
            Some(json!({"title": "n", "pages": 2})),
        )
        .await,
        201,
    );
    assert_eq!(created["owner"], 1);
    let id = created["id"].as_i64().unwrap();
    let (edit, gone, shelf, mine, detail) = (
        format!("edit/{id}/"),
        format!("gone/{id}/"),
        format!("shelf/{id}/"),
        format!("mine/{id}/"),
        format!("books/{id}/"),
    );
    let provided: [(&str, &[&str]); 9] = [
        ("books/", &["list", "create"]),
        (
            &detail,
            &["retrieve", "update", "partial_update", "destroy"],
        ),
        (&mine, &["retrieve"]),
        ("new/", &["create"]),
        ("window/", &["list"]),
        (&gone, &["destroy"]),
        (&edit, &["update", "partial_update"]),
        ("isbn/x/", &["retrieve", "update", "partial_update"]),
        (&shelf, &["retrieve", "destroy"]),
    ];
    let all = [
        "list",
        "create",
        "retrieve",
        "update",
        "partial_update",
        "destroy",
    ];
    for (route, actions) in provided {
        for action in all.into_iter().filter(|a| !actions.contains(a)) {
            let errors = fails(&call(&mut alice, action, route, None).await, 405);
            assert_eq!(
                errors,
                json!([format!("Action \"{action}\" not allowed in message body.")]),
                "{action} {route}"
            );
        }
        // every handler checks its permission before anything else
        for action in actions {
            assert_eq!(
                fails(&call(&mut anon, action, route, None).await, 403),
                denied(),
                "{action} {route}"
            );
        }
    }
    assert_eq!(
        ok(&call(&mut alice, "retrieve", &mine, None).await, 200),
        created
    );
    assert_eq!(
        ok(&call(&mut alice, "retrieve", &shelf, None).await, 200),
        created
    );
    let edited = ok(
        &call(
            &mut alice,
            "update",
            &edit,
            Some(json!({"title": "e", "pages": 4})),
        )
        .await,
        200,
    );
    assert_eq!(
        (edited["title"].clone(), edited["pages"].clone()),
        (json!("e"), json!(4))
    );
    let edited = ok(
        &call(
            &mut alice,
            "partial_update",
            &edit,
            Some(json!({"pages": 5})),
        )
        .await,
        200,
    );
    assert_eq!(
        (edited["title"].clone(), edited["pages"].clone()),
        (json!("e"), json!(5))
    );
    assert_eq!(
        ok(&call(&mut alice, "destroy", &shelf, None).await, 204),
        Value::Null
    );
    assert_eq!(
        fails(&call(&mut alice, "destroy", &gone, None).await, 404),
        not_found()
    );
    let again = ok(
        &call(
            &mut alice,
            "create",
            "new/",
            Some(json!({"title": "m", "pages": 1})),
        )
        .await,
        201,
    );
    let gone = format!("gone/{}/", again["id"]);
    assert_eq!(
        ok(&call(&mut alice, "destroy", &gone, None).await, 204),
        Value::Null
    );
    let page = ok(&call(&mut alice, "list", "window/", None).await, 200);
    assert_eq!(page["count"], 0);
    assert_eq!(
        f.log.entries(),
        [
            format!("created:{id}:stored"),
            format!("updated:{id}:stored"),
            format!("updated:{id}:stored"),
            format!("deleted:{id}:gone"),
            format!("created:{}:stored", again["id"]),
            format!("deleted:{}:gone", again["id"]),
        ]
    );
}

async fn user_action_beside_generic_ones(f: &Fixture) {
    let (mut alice, mut bob) = (f.alice().await, f.bob().await);
    assert_eq!(
        ok(&call(&mut alice, "stats", "books/", None).await, 200),
        json!({"mine": 0, "changes": 0})
    );
    create(&mut alice, json!({"title": "1", "pages": 1})).await;
    create(&mut alice, json!({"title": "2", "pages": 1})).await;
    create(&mut bob, json!({"title": "3", "pages": 1})).await;
    assert_eq!(
        ok(&call(&mut alice, "stats", "books/", None).await, 200),
        json!({"mine": 2, "changes": 3})
    );
    assert_eq!(
        ok(&call(&mut bob, "stats", "books/", None).await, 200),
        json!({"mine": 1, "changes": 3})
    );
    // the handler's permission covers its own actions too
    let mut anon = f.client(None).await;
    assert_eq!(
        fails(&call(&mut anon, "stats", "books/", None).await, 403),
        denied()
    );
    let errors = fails(&call(&mut alice, "nope", "books/", None).await, 405);
    assert_eq!(
        errors,
        json!(["Action \"nope\" not allowed in message body."])
    );
    assert_eq!(ok(&call(&mut alice, "ping", "", None).await, 200), "pong");
}

async fn a_consumer_is_a_generic_handler_too(f: &Fixture) {
    let mut alice = Client::connect(&f.server.url("/ws/shelf/"), Some("alice-token"))
        .await
        .expect("connect");
    let created = ok(
        &call(
            &mut alice,
            "create",
            "",
            Some(json!({"title": "shelved", "pages": 2})),
        )
        .await,
        201,
    );
    assert_eq!(created["title"], "shelved");
    let mut bob = f.bob().await;
    create(&mut bob, json!({"title": "bob's", "pages": 1})).await;
    let listed = ok(&call(&mut alice, "list", "", None).await, 200);
    assert_eq!(listed, json!([created]));
    // a consumer with generics still refuses routes it does not have
    let errors = fails(&call(&mut alice, "list", "books/", None).await, 404);
    assert_eq!(errors, json!(["No route found: books/"]));
}

/// A push: its envelope echoes the subscribe; its data, the change.
#[track_caller]
fn push(msg: &Value, route: &str, request_id: Value, event: &str) -> Value {
    assert_eq!(msg["action"], "subscribe", "{msg}");
    assert_eq!(msg["route"], route, "{msg}");
    assert_eq!(msg["request_id"], request_id, "{msg}");
    assert_eq!(msg["status"], 200, "{msg}");
    assert_eq!(msg["data"]["event"], event, "{msg}");
    msg["data"]["book"].clone()
}

async fn observers_get_one_push_per_committed_change(f: &Fixture) {
    let (mut alice, mut watcher) = (f.alice().await, f.bob().await);
    let first = create(&mut alice, json!({"title": "watched", "pages": 1})).await;
    let detail = format!("books/{}/", first["id"]);
    // a list subscription (window/ lists every book), and one of an instance, twice
    let r = watcher
        .request(json!({"action": "subscribe", "route": "window/", "request_id": "L"}))
        .await;
    assert_eq!(ok(&r, 200), json!({"subscribed": true}));
    for _ in 0..2 {
        let r = watcher
            .request(json!({"action": "subscribe", "route": detail, "request_id": 9}))
            .await;
        assert_eq!(ok(&r, 200), json!({"subscribed": true}));
    }
    // unknown instances cannot be subscribed to
    let r = watcher
        .request(json!({"action": "subscribe", "route": "books/987654321/"}))
        .await;
    assert_eq!(fails(&r, 404), not_found());

    // a failed write pushes nothing
    let r = call(
        &mut alice,
        "partial_update",
        &detail,
        Some(json!({"pages": 0})),
    )
    .await;
    fails(&r, 400);
    assert!(
        watcher
            .silent_for(std::time::Duration::from_millis(200))
            .await
    );

    // an update: one push per subscription (list and instance), in either order
    call(
        &mut alice,
        "partial_update",
        &detail,
        Some(json!({"title": "changed"})),
    )
    .await;
    let (a, b) = (watcher.recv().await, watcher.recv().await);
    let (list_push, detail_push) = if a["route"] == "window/" {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(
        push(&list_push, "window/", json!("L"), "updated")["title"],
        "changed"
    );
    assert_eq!(
        push(&detail_push, &detail, json!(9), "updated")["id"],
        first["id"]
    );
    assert!(
        watcher
            .silent_for(std::time::Duration::from_millis(200))
            .await
    );

    // a create reaches the list subscription only, in commit order
    let second = create(&mut alice, json!({"title": "second", "pages": 1})).await;
    let third = create(&mut alice, json!({"title": "third", "pages": 1})).await;
    assert_eq!(
        push(&watcher.recv().await, "window/", json!("L"), "created"),
        second
    );
    assert_eq!(
        push(&watcher.recv().await, "window/", json!("L"), "created"),
        third
    );

    // unsubscribing the list leaves the instance's pushes; a delete is {"id": pk}
    let r = watcher
        .request(json!({"action": "unsubscribe", "route": "window/"}))
        .await;
    assert_eq!(ok(&r, 200), json!({"subscribed": false}));
    call(&mut alice, "destroy", &detail, None).await;
    let gone = push(&watcher.recv().await, &detail, json!(9), "deleted");
    assert_eq!(gone, json!({"id": first["id"]}));
    call(
        &mut alice,
        "destroy",
        &format!("books/{}/", second["id"]),
        None,
    )
    .await;
    assert!(
        watcher
            .silent_for(std::time::Duration::from_millis(200))
            .await
    );
    // unsubscribing from what is gone is fine
    let r = watcher
        .request(json!({"action": "unsubscribe", "route": detail}))
        .await;
    assert_eq!(ok(&r, 200), json!({"subscribed": false}));
}

async fn a_scoped_list_pushes_only_the_subscribers_rows(f: &Fixture) {
    // books/ lists the user's own books: its pushes too
    let (mut alice, mut bob) = (f.alice().await, f.bob().await);
    let r = bob
        .request(json!({"action": "subscribe", "route": "books/", "request_id": 1}))
        .await;
    assert_eq!(ok(&r, 200), json!({"subscribed": true}));
    let hers = create(&mut alice, json!({"title": "hers", "pages": 1})).await;
    call(
        &mut alice,
        "partial_update",
        &format!("books/{}/", hers["id"]),
        Some(json!({"title": "still hers"})),
    )
    .await;
    assert!(bob.silent_for(std::time::Duration::from_millis(300)).await);
    // a book of bob's, made on another of his connections, reaches him
    let mut bob_writes = f.bob().await;
    let his = create(&mut bob_writes, json!({"title": "his", "pages": 1})).await;
    assert_eq!(push(&bob.recv().await, "books/", json!(1), "created"), his);
    assert!(bob.silent_for(std::time::Duration::from_millis(200)).await);
}

#[test]
fn test_urls_keep_everything_but_the_database() {
    assert_eq!(
        with_database("postgres://u:p@127.0.0.1:5432/main", "t1"),
        "postgres://u:p@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgresql://u@h/main?sslmode=disable", "t1"),
        "postgresql://u@h/t1?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:1", "t1"), "postgres://h:1/t1");
}
