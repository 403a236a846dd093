//! A hand-written axum WebSocket server for the notes of the `reference`
//! example: the baseline that `examples/load.rs` measures the framework's
//! generic `retrieve` and `list` against (server CPU per message).
//!
//!     cargo run --release --example raw_notes -- --addr 127.0.0.1:8002 --database-url sqlite:///tmp/notes.db
//!
//! It serves the same SQLite file the `reference` server created and filled
//! (start `reference` with the same `--database-url` first: this server does
//! not create the table), on `/ws/`, upgraded by axum's own
//! `WebSocketUpgrade` with 4 KiB read and write buffers (as the rest-channels
//! runtime has them) and a 64 KiB message limit. The pool is opened the way
//! `rest_channels::db::Database::connect` opens a SQLite file (WAL journal,
//! `synchronous = NORMAL`, at most 8 connections).
//!
//! Each text frame is one JSON request, answered in order with the
//! envelope `reference` replies, byte for byte:
//!
//! - `retrieve` on `notes/<pk>/`: `SELECT id, title, content, author FROM
//!   notes WHERE id = ?`; 200 with the note, or 404 `[{"detail": "Not found."}]`.
//! - `list` on `notes/` (optionally `?page=N`): `SELECT COUNT(*) FROM notes`
//!   and one page of 10 (`ORDER BY id LIMIT 10 OFFSET ?`) in one read
//!   transaction; 200 with `{"count", "next", "previous", "results"}`, or
//!   404 `[{"detail": "Invalid page."}]`.
//!
//! Anything else gets a 404 (or a 400 for a frame that is not a JSON object
//! with a string `action`): the baseline serves only what is measured.

use std::borrow::Cow;
use std::io::Write;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use rest_channels::db::sqlx;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

const USAGE: &str = "usage: raw_notes --database-url sqlite://PATH [--addr HOST:PORT]";

const PAGE_SIZE: i64 = 10;

const RETRIEVE: &str = "SELECT id, title, content, author FROM notes WHERE id = ?";
const COUNT: &str = "SELECT COUNT(*) FROM notes";
const PAGE: &str = "SELECT id, title, content, author FROM notes ORDER BY id LIMIT 10 OFFSET ?";

struct Args {
    addr: SocketAddr,
    database_url: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8002".to_owned();
    let mut database_url = None;
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
            "--addr" => addr = value("127.0.0.1:8002")?,
            "--database-url" => database_url = Some(value("sqlite:///tmp/notes.db")?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    let addr = addr.parse().map_err(|e| format!("--addr {addr:?}: {e}"))?;
    let database_url =
        database_url.ok_or_else(|| format!("--database-url is required; {USAGE}"))?;
    Ok(Args { addr, database_url })
}

/// The request envelope; other keys are ignored. `action`, `route` and
/// `request_id` are kept raw: they are echoed as sent.
#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    action: Option<&'a RawValue>,
    #[serde(borrow)]
    route: Option<&'a RawValue>,
    #[serde(borrow)]
    request_id: Option<&'a RawValue>,
}

/// The reply envelope, keys in the order `reference` writes them.
#[derive(Serialize)]
struct Reply<'a, D> {
    errors: &'a [Detail<'a>],
    data: Option<D>,
    action: Option<&'a RawValue>,
    #[serde(serialize_with = "route_echo")]
    route: Option<&'a RawValue>,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct Detail<'a> {
    detail: &'a str,
}

#[derive(Serialize)]
struct Note {
    id: i64,
    title: String,
    content: String,
    author: i64,
}

impl From<(i64, String, String, i64)> for Note {
    fn from((id, title, content, author): (i64, String, String, i64)) -> Self {
        Note {
            id,
            title,
            content,
            author,
        }
    }
}

#[derive(Serialize)]
struct Page {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<Note>,
}

/// What an action answers: data and a status, or an error and a status.
enum Outcome<D> {
    Ok(D, u16),
    Err(&'static str, u16),
}

/// A JSON string's text, borrowed unless it has escapes; `None` for any
/// other JSON value.
fn json_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    match serde_json::from_str::<&str>(raw.get()) {
        Ok(s) => Some(Cow::Borrowed(s)),
        Err(_) => serde_json::from_str::<String>(raw.get())
            .ok()
            .map(Cow::Owned),
    }
}

/// `route` as sent; `""` when the request had none.
fn route_echo<S: serde::Serializer>(route: &Option<&RawValue>, s: S) -> Result<S::Ok, S::Error> {
    match route {
        Some(raw) => raw.serialize(s),
        None => s.serialize_str(""),
    }
}

fn envelope<D: Serialize>(req: &Request<'_>, outcome: Outcome<D>) -> String {
    let (errors, data, status) = match outcome {
        Outcome::Ok(data, status) => (Vec::new(), Some(data), status),
        Outcome::Err(detail, status) => (vec![Detail { detail }], None, status),
    };
    serde_json::to_string(&Reply {
        errors: &errors,
        data,
        action: req.action,
        route: req.route,
        status,
        request_id: req.request_id,
    })
    .expect("replies serialize")
}

async fn retrieve(pool: &SqlitePool, pk: &str) -> Result<Outcome<Note>, sqlx::Error> {
    let Ok(pk) = pk.parse::<i64>() else {
        return Ok(Outcome::Err("Not found.", 404));
    };
    let row: Option<(i64, String, String, i64)> = sqlx::query_as(RETRIEVE)
        .bind(pk)
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        Some(row) => Outcome::Ok(Note::from(row), 200),
        None => Outcome::Err("Not found.", 404),
    })
}

/// `page` from a query string (`page=3&...`); 1 when absent.
fn page_number(query: &str) -> Option<i64> {
    match query.split('&').find_map(|kv| kv.strip_prefix("page=")) {
        None => Some(1),
        Some(n) => n.parse().ok().filter(|&n| n >= 1),
    }
}

fn page_route(page: i64) -> String {
    if page == 1 {
        "notes/".to_owned()
    } else {
        format!("notes/?page={page}")
    }
}

async fn list(pool: &SqlitePool, query: &str) -> Result<Outcome<Page>, sqlx::Error> {
    let Some(page) = page_number(query) else {
        return Ok(Outcome::Err("Invalid page.", 404));
    };
    let mut tx = pool.begin().await?;
    let (count,): (i64,) = sqlx::query_as(COUNT).fetch_one(&mut *tx).await?;
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    if page > 1 && offset >= count {
        return Ok(Outcome::Err("Invalid page.", 404));
    }
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(PAGE)
        .bind(offset)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Outcome::Ok(
        Page {
            count,
            next: (offset + PAGE_SIZE < count).then(|| page_route(page + 1)),
            previous: (page > 1).then(|| page_route(page - 1)),
            results: rows.into_iter().map(Note::from).collect(),
        },
        200,
    ))
}

/// The reply to one text frame.
async fn handle(pool: &SqlitePool, text: &str) -> String {
    let Ok(req) = serde_json::from_str::<Request<'_>>(text) else {
        let req = Request {
            action: None,
            route: None,
            request_id: None,
        };
        return envelope::<()>(&req, Outcome::Err("Invalid message.", 400));
    };
    let action = req.action.and_then(json_str);
    let route = req.route.and_then(json_str).unwrap_or_default();
    let (path, query) = route.split_once('?').unwrap_or((&route, ""));
    let result = match (action.as_deref(), path.strip_prefix("notes/")) {
        (Some("list"), Some("")) => list(pool, query).await.map(|o| envelope(&req, o)),
        (Some("retrieve"), Some(rest)) => match rest.split_once('/') {
            Some((pk, _)) if !pk.is_empty() && pk.bytes().all(|b| b.is_ascii_digit()) => {
                retrieve(pool, pk).await.map(|o| envelope(&req, o))
            }
            _ => Ok(envelope::<()>(&req, Outcome::Err("Not found.", 404))),
        },
        _ => Ok(envelope::<()>(&req, Outcome::Err("Not found.", 404))),
    };
    result.unwrap_or_else(|e| {
        eprintln!("database error: {e}");
        envelope::<()>(&req, Outcome::Err("A server error occurred.", 500))
    })
}

/// Answers text frames in order until the client closes or the socket fails.
async fn serve(mut socket: WebSocket, pool: SqlitePool) {
    while let Some(Ok(msg)) = socket.recv().await {
        match msg {
            Message::Text(text) => {
                let reply = handle(&pool, text.as_str()).await;
                if socket.send(Message::Text(reply.into())).await.is_err() {
                    return;
                }
            }
            Message::Close(_) => return,
            // tungstenite answers pings by itself.
            Message::Binary(_) | Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

async fn upgrade(ws: WebSocketUpgrade, State(pool): State<SqlitePool>) -> axum::response::Response {
    ws.read_buffer_size(4096)
        .write_buffer_size(4096)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| serve(socket, pool))
}

async fn open(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    // Fail at start, not on the first request, when the table is missing.
    sqlx::query(COUNT).fetch_one(&pool).await?;
    Ok(pool)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let pool = match open(&args.database_url).await {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!(
                "cannot open the notes of {:?} (start `reference` with this --database-url first): {e}",
                args.database_url
            );
            std::process::exit(1);
        }
    };
    let router = Router::new().route("/ws/", get(upgrade)).with_state(pool);

    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.addr);
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().expect("bound address");
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on ws://{local}");
        let _ = out.flush();
    }
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("server error: {e}");
    }
}
