//! The reference app: serves the wire contract of `REFERENCE_APP.md`.
//!
//!     cargo run --release --example reference -- --addr 127.0.0.1:8000
//!
//! Endpoints: `/ws/` (echo, whoami, sync_echo, fail, wait, throttled; routes notes/<int:pk>/,
//! notes/, items/, private/, composed/, either/), `/ws/strict/` (authenticated clients only) and
//! `/ws/rooms/{group_id}/` (a broadcast group with the route chat/).
//! Tokens: `alice-token`, `bob-token`, `admin-token` (staff), by `?token=`
//! or `Authorization: Bearer`.
//!
//! `--database-url URL` (`sqlite://PATH` or `postgres://...`) keeps the
//! notes in that database; without it every start has a fresh, empty SQLite
//! database in a temporary file, removed when the server stops.
//!
//! `--redis-url URL` (`redis://HOST:PORT/`): groups and note pushes go
//! through that Redis, and the `throttled` action counts there, so several
//! processes started with the same `--redis-url` and `--database-url` serve
//! one app.
//!
//! `--allowed-origin ORIGIN` (repeatable): a browser origin allowed to open
//! sockets besides the server's own (`http://` and the request's `Host`);
//! other origins are refused with HTTP 403 before the upgrade.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::{Router, routing::get};
use rest_channels::axum::websocket;
use rest_channels::db::Migrations;
use rest_channels::layer::redis::RedisChannelLayer;
use rest_channels::prelude::*;
use rest_channels::schemars::JsonSchema;
use rest_channels::throttle::redis::RedisThrottleStore;
use rest_channels::{TokenAuth, User};
use serde::Serialize;
use serde_json::{Value, json};

/// A note: `{"id": int, "title": str, "content": str, "author": int}`.
#[derive(Model, Serialize, JsonSchema, Debug)]
#[schemars(crate = "rest_channels::schemars")]
#[model(table = "notes")]
pub struct Note {
    #[model(primary_key)]
    pub id: i64,
    #[model(validate(length(chars, min = 1, max = 255)))]
    pub title: String,
    #[model(default = "", validate(length(chars, max = 1024)))]
    pub content: String,
    #[model(read_only, owner)]
    pub author: i64,
}

fn migrations() -> Migrations {
    // Text columns of Postgres use the "C" collation: byte order and ASCII
    // case folding, as SQLite has them.
    Migrations::new().add(
        1,
        "notes",
        "CREATE TABLE notes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL,
            content TEXT NOT NULL DEFAULT '',
            author INTEGER NOT NULL
        )",
        r#"CREATE TABLE notes (
            id BIGSERIAL PRIMARY KEY,
            title TEXT COLLATE "C" NOT NULL,
            content TEXT COLLATE "C" NOT NULL DEFAULT '',
            author BIGINT NOT NULL
        )"#,
    )
}

/// Pages of 10, `?page_size=` up to 100.
const PAGES: Pagination = Pagination::page_number(10)
    .page_size_param("page_size")
    .max_page_size(100);

/// `notes/`: anyone lists and follows changes (subscribe), authenticated users create.
#[derive(Default)]
pub struct NoteList;

#[action_handler(permissions = [IsAuthenticatedOrReadOnly], generics = ListCreate, observe)]
impl NoteList {}

impl ModelHandler for NoteList {
    type Model = Note;
    const PAGINATION: Option<Pagination> = Some(PAGES);
    const FILTER_FIELDS: &'static [Column] = &[Note::FIELDS.author];
    const SEARCH_FIELDS: &'static [Column] = &[Note::FIELDS.title, Note::FIELDS.content];
    const ORDERING_FIELDS: &'static [Column] = &[Note::FIELDS.id, Note::FIELDS.title];

    /// The author is the connected user, never the client's `data`.
    async fn perform_create(
        &self,
        ctx: &Context<'_>,
        tx: &mut Tx,
        mut values: Values,
    ) -> Result<Note, Error> {
        values.set(Note::FIELDS.author, ctx.user_id()?);
        tx.insert(values).await
    }
}

/// `notes/<int:pk>/`: anyone reads and follows the note; only the author writes.
#[derive(Default)]
pub struct NoteDetail;

#[action_handler(
    permissions = [IsAuthenticatedOrReadOnly, IsOwnerOrReadOnly],
    generics = RetrieveUpdateDestroy,
    observe,
)]
impl NoteDetail {}

impl ModelHandler for NoteDetail {
    type Model = Note;
}

fn whoami_data(ctx: &Context<'_>) -> Value {
    json!({"username": ctx.user().map(|u| u.username()), "authenticated": ctx.is_authenticated()})
}

/// `items/<pk>/`: allow any.
#[derive(Default)]
pub struct Items;

#[action_handler(permissions = [AllowAny])]
impl Items {
    #[async_action]
    async fn touch(&self, ctx: &Context<'_>) -> ActionResult {
        let pk: &str = ctx.kwarg("pk")?;
        Ok(reply!({"message": "touched", "model_id": pk}, 200))
    }
}

/// `private/`: authenticated users only.
#[derive(Default)]
pub struct Private;

#[action_handler(permissions = [IsAuthenticated])]
impl Private {
    #[async_action]
    async fn secret(&self, ctx: &Context<'_>) -> ActionResult {
        Ok(reply!({"secret": 42, "username": ctx.user().map(|u| u.username())}, 200))
    }
}

/// `composed/`: authenticated and not staff.
#[derive(Default)]
pub struct Composed;

#[action_handler(permissions = [IsAuthenticated & !IsAdminUser])]
impl Composed {
    #[async_action]
    async fn check(&self) -> ActionResult {
        Ok(reply!({"ok": true}, 200))
    }
}

/// `either/`: staff, or not authenticated.
#[derive(Default)]
pub struct Either;

#[action_handler(permissions = [IsAdminUser | !IsAuthenticated])]
impl Either {
    #[async_action]
    async fn check(&self) -> ActionResult {
        Ok(reply!({"ok": true}, 200))
    }
}

/// `/ws/`.
#[derive(Default)]
pub struct Api;

#[consumer(
    permissions = [AllowAny],
    routes = [
        path("notes/<int:pk>/", NoteDetail),
        path("notes/", NoteList),
        re_path(r"items/(?P<pk>[-\w]+)/$", Items),
        path("private/", Private),
        path("composed/", Composed),
        path("either/", Either),
    ],
)]
impl Api {
    /// Sends back its `data`.
    #[async_action]
    async fn echo(&self, data: Option<Value>) -> ActionResult {
        Ok((data.unwrap_or(Value::Null), 200))
    }

    /// Who the connection is.
    #[async_action]
    async fn whoami(&self, ctx: &Context<'_>) -> ActionResult {
        Ok((whoami_data(ctx), 200))
    }

    /// A blocking action: runs off the async workers.
    #[async_action]
    fn sync_echo(&self, pk: i64) -> ActionResult {
        Ok(reply!({"pk": pk, "sync": true}, 200))
    }

    /// Fails on purpose: a 500, and the connection goes on.
    #[async_action]
    async fn fail(&self) -> ActionResult {
        Err(Error::msg("this action fails on purpose"))
    }

    /// Sleeps `ms` milliseconds (0 to 5000), beside the connection's other
    /// messages: detached.
    #[async_action(detached)]
    async fn wait(&self, ms: u64) -> ActionResult {
        if ms > MAX_WAIT_MS {
            return Err(Error::invalid(
                "ms",
                format!("Ensure this value is less than or equal to {MAX_WAIT_MS}."),
            ));
        }
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(reply!({"waited": ms}, 200))
    }

    /// 5 calls per 10 seconds per user (anonymous clients: per connection);
    /// the sixth within the window gets 429.
    #[async_action(throttle = "5/10s")]
    async fn throttled(&self) -> ActionResult {
        Ok(reply!({"ok": true}, 200))
    }
}

/// The longest `wait`, in milliseconds.
const MAX_WAIT_MS: u64 = 5000;

/// `/ws/strict/`: anonymous clients cannot connect.
#[derive(Default)]
pub struct Strict;

#[consumer(permissions = [IsAuthenticatedStrictly])]
impl Strict {
    #[async_action]
    async fn whoami(&self, ctx: &Context<'_>) -> ActionResult {
        Ok((whoami_data(ctx), 200))
    }
}

/// `chat/` in a room: authenticated users talk.
#[derive(Default)]
pub struct Chat;

#[action_handler(permissions = [IsAuthenticated])]
impl Chat {
    /// Replies, then every member gets a `chat.message` event.
    #[async_action(mode = "broadcast", broadcast_type = "chat.message")]
    async fn say(&self, ctx: &Context<'_>, text: String) -> ActionResult {
        Ok(reply!({"text": text, "username": ctx.user().map(|u| u.username())}, 200))
    }

    /// No reply; every member gets the general broadcast (no `type`).
    #[async_action(mode = "broadcast", send_response_in_broadcast = false)]
    async fn announce(&self, ctx: &Context<'_>, text: String) -> ActionResult {
        Ok(reply!({"text": text, "username": ctx.user().map(|u| u.username())}, 200))
    }

    /// Nothing is sent to anyone.
    #[async_action(mode = "none")]
    async fn quiet(&self) -> ActionResult {
        Ok((Value::Null, 200))
    }
}

/// `/ws/rooms/{group_id}/`: every connection joins the group `group_id`.
#[derive(Default)]
pub struct Room;

#[consumer(permissions = [AllowAny], group = "group_id", routes = [path("chat/", Chat)])]
impl Room {
    /// Chat messages go to the client as they are, `type` included.
    #[event("chat.message")]
    async fn chat_message(&self, ctx: &Context<'_>, event: &Event) {
        ctx.forward(event);
    }
}

/// The app's AsyncAPI 3.0 document (`GET /asyncapi.json`), built from the
/// consumers' descriptions.
pub fn asyncapi() -> Value {
    rest_channels::asyncapi::Document::builder()
        .title("rest-channels reference app")
        .version(env!("CARGO_PKG_VERSION"))
        .description("The wire contract of REFERENCE_APP.md: JSON envelopes over WebSockets.")
        .endpoint::<Api>("/ws/")
        .endpoint::<Strict>("/ws/strict/")
        .endpoint::<Room>("/ws/rooms/{group_id}/")
        .build()
}

fn user(id: i64, name: &str, staff: bool) -> Arc<dyn User> {
    Arc::new(SimpleUser::new(id, name).staff(staff))
}

async fn lookup(token: String) -> Option<Arc<dyn User>> {
    match token.as_str() {
        "alice-token" => Some(user(1, "alice", false)),
        "bob-token" => Some(user(2, "bob", false)),
        "admin-token" => Some(user(3, "admin", true)),
        _ => None,
    }
}

const USAGE: &str = "usage: reference [--addr HOST:PORT] [--database-url sqlite://PATH|postgres://...] [--redis-url redis://HOST:PORT/] [--allowed-origin ORIGIN]...";

struct Args {
    addr: SocketAddr,
    database_url: Option<String>,
    redis_url: Option<String>,
    /// Browser origins allowed besides the server's own (`--allowed-origin`, repeatable).
    allowed_origins: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8000".to_owned();
    let mut database_url = None;
    let mut redis_url = None;
    let mut allowed_origins = Vec::new();
    while let Some(arg) = args.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{key} needs a value, e.g. {what}"))
        };
        match key.as_str() {
            "--addr" => addr = value("127.0.0.1:8000")?,
            "--database-url" => database_url = Some(value("sqlite:///tmp/notes.db")?),
            "--redis-url" => redis_url = Some(value("redis://127.0.0.1:6379/")?),
            "--allowed-origin" => allowed_origins.push(value("https://app.example")?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    let addr = addr.parse().map_err(|e| format!("--addr {addr:?}: {e}"))?;
    Ok(Args {
        addr,
        database_url,
        redis_url,
        allowed_origins,
    })
}

/// A fresh SQLite file in the temp dir, removed (with its WAL files) on drop.
struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("rest-channels-reference-{}-{nanos}.db", std::process::id());
        TempDb(std::env::temp_dir().join(name))
    }
    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[tokio::main]
async fn main() {
    run("ws", |router| router).await;
}

/// Serves the reference app's endpoints; `extra` adds routes (the `board`
/// example adds its page), `scheme` is the one printed in `listening on`.
pub async fn run(scheme: &str, extra: fn(Router<App>) -> Router<App>) {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let addr = args.addr;

    // Without --database-url, every start has a fresh database.
    let temp = args.database_url.is_none().then(TempDb::new);
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| temp.as_ref().map(TempDb::url).unwrap_or_default());
    let db = match Database::connect(&url).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("cannot open the database {url:?}: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = db.migrate(&migrations()).await {
        eprintln!("cannot migrate the database {url:?}: {e}");
        std::process::exit(1);
    }

    // With --redis-url, groups and pushes reach every process on that Redis,
    // and throttles count there (one budget for all the processes).
    let mut builder = App::builder();
    if let Some(url) = &args.redis_url {
        let connected = match RedisChannelLayer::connect(url).await {
            Ok(layer) => RedisThrottleStore::from_layer(&layer)
                .await
                .map(|store| (layer, store))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match connected {
            Ok((layer, store)) => builder = builder.channel_layer(layer).throttle_store(store),
            Err(e) => {
                eprintln!("cannot connect to Redis at {url:?}: {e}");
                std::process::exit(1);
            }
        }
    }
    builder = match builder.allowed_origins(&args.allowed_origins) {
        Ok(builder) => builder,
        Err(e) => {
            eprintln!("--allowed-origin: {e}");
            std::process::exit(2);
        }
    };
    let app = builder
        .authenticator(TokenAuth::new(lookup))
        .database(db.clone())
        .max_message_size(64 * 1024)
        .build();
    // Built once: every request gets the same bytes.
    let schema = serde_json::to_string(&asyncapi()).expect("the document serializes");
    let schema = move || {
        let body = schema.clone();
        async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        }
    };
    let router = extra(Router::new())
        .route("/asyncapi.json", get(schema))
        .route("/ws/", get(websocket::<Api>))
        .route("/ws/strict/", get(websocket::<Strict>))
        .route("/ws/rooms/{group_id}/", get(websocket::<Room>))
        .with_state(app.clone());

    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().expect("bound address");
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {scheme}://{local}");
        let _ = out.flush();
    }

    let closing = app.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        closing.shutdown();
    });
    // TCP_NODELAY, a deadline for request headers; on shutdown, sockets
    // close with 1001 once their running actions are done.
    if let Err(e) = rest_channels::axum::serve(listener, router, app.clone()).await {
        eprintln!("server error: {e}");
    }
    db.close().await;
    drop(temp);
}
