//! The reference app: serves the wire contract of `REFERENCE_APP.md`.
//!
//!     cargo run --release --example reference -- --addr 127.0.0.1:8000
//!
//! Endpoints: `/ws/` (echo, whoami, sync_echo, fail; routes items/, private/,
//! composed/, either/), `/ws/strict/` (authenticated clients only) and
//! `/ws/rooms/{group_id}/` (a broadcast group with the route chat/).
//! Tokens: `alice-token`, `bob-token`, `admin-token` (staff), by `?token=`
//! or `Authorization: Bearer`.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::{Router, routing::get};
use rest_channels::axum::websocket;
use rest_channels::prelude::*;
use rest_channels::{TokenAuth, User};
use serde_json::{Value, json};

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
}

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

fn parse_addr() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8000".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                addr = args
                    .next()
                    .ok_or("--addr needs a value, e.g. 127.0.0.1:8000")?
            }
            other if other.starts_with("--addr=") => addr = other["--addr=".len()..].to_owned(),
            "-h" | "--help" => return Err("usage: reference [--addr HOST:PORT]".into()),
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: reference [--addr HOST:PORT]"
                ));
            }
        }
    }
    addr.parse().map_err(|e| format!("--addr {addr:?}: {e}"))
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
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let addr = match parse_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };

    let app = App::builder()
        .authenticator(TokenAuth::new(lookup))
        .max_message_size(64 * 1024)
        .build();
    let router = Router::new()
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
        let _ = writeln!(out, "listening on ws://{local}");
        let _ = out.flush();
    }

    let closing = app.clone();
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            closing.shutdown();
        })
        .await;
    if let Err(e) = served {
        eprintln!("server error: {e}");
    }
    // The sockets were told to close with 1001; give them a moment to say so.
    let _ = tokio::time::timeout(Duration::from_secs(5), app.closed()).await;
}
