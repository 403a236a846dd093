//! The board: a page people can use, on the generated TypeScript client.
//!
//!     cargo run --example board -- --addr 127.0.0.1:8000
//!
//! then open `http://127.0.0.1:8000/`. It serves the reference app's
//! WebSocket endpoints (the same consumers, `examples/reference.rs`) and one
//! page at `/`: sign in with a demo token, the notes (pages, search, create,
//! edit, delete, errors at their field, live updates from the observers) and
//! a chat room. The page's files are embedded in the binary; `client/` is
//! the generated client compiled to ES modules (`tools/e2e/build-client.sh`).
//! Same flags as the reference app (`--addr`, `--database-url`,
//! `--redis-url`, `--allowed-origin`).

#[path = "reference.rs"]
#[allow(dead_code)]
mod reference;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use rest_channels::App;

/// One embedded file: its route, content type and bytes.
const FILES: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("board/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("board/app.js"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_str!("board/style.css"),
    ),
    (
        "/client/reference.js",
        "text/javascript; charset=utf-8",
        include_str!("board/client/reference.js"),
    ),
    (
        "/client/runtime.js",
        "text/javascript; charset=utf-8",
        include_str!("board/client/runtime.js"),
    ),
];

/// The reference app's routes plus the page's files.
fn page(mut router: Router<App>) -> Router<App> {
    for &(path, content_type, body) in FILES {
        router = router.route(
            path,
            get(move || async move { ([(CONTENT_TYPE, content_type)], body) }),
        );
    }
    router
}

#[tokio::main]
async fn main() {
    reference::run("http", page).await;
}
