//! Serving a consumer on axum: [`websocket`] is an axum handler.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use rest_channels::prelude::*;
//!
//! #[derive(Default)]
//! pub struct Api;
//!
//! #[consumer]
//! impl Api {
//!     #[async_action]
//!     async fn ping(&self) -> ActionResult {
//!         Ok(reply!("pong", 200))
//!     }
//! }
//!
//! # async fn run() {
//! let app = App::builder().build();
//! let router: Router = Router::new()
//!     .route("/ws/", get(rest_channels::axum::websocket::<Api>))
//!     .with_state(app.clone());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await.unwrap();
//! axum::serve(listener, router)
//!     .with_graceful_shutdown(async move {
//!         let _ = tokio::signal::ctrl_c().await;
//!         app.shutdown(); // open sockets close with 1001
//!     })
//!     .await
//!     .unwrap();
//! # }
//! ```
//!
//! It is a plain handler rather than a ready-made `MethodRouter`, so that it
//! composes with the app's own state (`App: FromRef<YourState>`), layers and
//! middleware like any other axum handler.
//!
//! The handler does the upgrade itself (rather than through axum's
//! `WebSocketUpgrade`) so that it can size the socket's buffers (4 KiB by
//! default: an idle connection costs a few KiB, not axum's 128 KiB), refuse
//! with HTTP 403 when the consumer's `can_connect` says no, and, when a
//! client sends a frame over the size limit, close with 1009 and drain what
//! the client still sends, so that the close frame is not lost to a TCP reset.

use axum::extract::{RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::app::App;
use crate::connection::{abandon, open, serve_opened};
use crate::handler::{Consumer, Handler};
use crate::permissions::Permission;
use crate::scope::Scope;
use crate::socket::Socket;

/// The axum handler that serves consumer `C` on a WebSocket route.
///
/// Authenticates the request ([`CurrentUser`](crate::CurrentUser) in its
/// extensions, else the app's [`Authenticator`](crate::Authenticator)),
/// runs the consumer's `can_connect` permissions (a refusal is HTTP 403),
/// and upgrades. The route's path parameters (`/ws/rooms/{group_id}/`) become
/// the scope's URL kwargs.
pub async fn websocket<C: Consumer>(
    State(app): State<App>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    request: Request,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    let key = match check_upgrade(&parts.method, &parts.headers) {
        Ok(key) => key,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            "this connection cannot be upgraded",
        )
            .into_response();
    };
    if app.tracker().is_closed() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let url_kwargs = match params {
        Ok(params) => params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        Err(e) => return e.into_response(),
    };
    let user = app.authenticate(&parts).await;
    let scope = Scope {
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: owned_headers(&parts.headers),
        url_kwargs,
        user,
        extensions: std::mem::take(&mut parts.extensions),
        app: app.clone(),
    };
    if !<C as Handler>::permission().can_connect(&scope).await {
        return (
            StatusCode::FORBIDDEN,
            "You do not have permission to connect.",
        )
            .into_response();
    }

    let settings = app.settings();
    let write_timeout = settings.write_timeout;
    let config = WebSocketConfig::default()
        .read_buffer_size(settings.read_buffer_size)
        .write_buffer_size(settings.write_buffer_size)
        .max_message_size(Some(settings.max_message_size))
        .max_frame_size(Some(settings.max_message_size));
    // In its group before the handshake is answered: an event sent once the
    // client sees the 101 reaches it (with Redis, the SUBSCRIBE is done too).
    // Joined in the connection's task, which gives everything back if the
    // client goes away meanwhile (then the upgrade fails).
    let (joined, is_joined) = tokio::sync::oneshot::channel();
    app.tracker().spawn(async move {
        let opened = open::<C>(scope).await;
        let _ = joined.send(());
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                serve_opened::<C, _>(opened, Socket::new(ws, write_timeout), None).await;
            }
            Err(e) => {
                tracing::debug!(error = %e, "upgrade failed");
                if let Ok(opened) = opened {
                    abandon(opened).await;
                }
            }
        }
    });

    let _ = is_joined.await;

    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, key);
    response
}

/// A copy of the headers that owns its bytes: hyper's header values point
/// into the connection's 16 KiB read buffer, and keeping them for the
/// connection's life would keep that buffer too.
fn owned_headers(headers: &HeaderMap) -> HeaderMap {
    let mut owned = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let mut copy =
            HeaderValue::from_bytes(value.as_bytes()).expect("a header value stays valid");
        copy.set_sensitive(value.is_sensitive());
        owned.append(name.clone(), copy);
    }
    owned
}

/// Checks the upgrade request (RFC 6455, 4.2.1) and computes the accept key.
fn check_upgrade(method: &Method, headers: &HeaderMap) -> Result<HeaderValue, &'static str> {
    fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
    if method != Method::GET {
        return Err("WebSocket upgrades use GET");
    }
    if !has_token(headers, header::CONNECTION, "upgrade")
        || !has_token(headers, header::UPGRADE, "websocket")
    {
        return Err("expected a WebSocket upgrade (Connection: upgrade, Upgrade: websocket)");
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v != "13")
    {
        return Err("unsupported Sec-WebSocket-Version (13 expected)");
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or("missing Sec-WebSocket-Key")?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    HeaderValue::from_str(&accept).map_err(|_| "bad Sec-WebSocket-Key")
}

/// A TCP listener for `axum::serve` whose accepted sockets have
/// `TCP_NODELAY` set.
///
/// Serve WebSockets with it: the connection loop already writes what is
/// ready together, so Nagle's algorithm only delays small replies and
/// events (by up to about 40 ms, while the kernel waits for the client's
/// acknowledgement of the previous segment).
///
/// ```no_run
/// # async fn run(router: axum::Router) -> std::io::Result<()> {
/// let listener = rest_channels::axum::bind("127.0.0.1:8000").await?;
/// axum::serve(listener, router).await?;
/// # Ok(())
/// # }
/// ```
pub async fn bind(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<NoDelayListener> {
    Ok(nodelay(tokio::net::TcpListener::bind(addr).await?))
}

/// The listener of [`bind`] and [`nodelay`].
pub type NoDelayListener =
    axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)>;

/// Sets `TCP_NODELAY` on every socket `listener` accepts (see [`bind`]).
pub fn nodelay(listener: tokio::net::TcpListener) -> NoDelayListener {
    use axum::serve::ListenerExt;
    fn set(tcp: &mut tokio::net::TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
    }
    listener.tap_io(set as fn(&mut tokio::net::TcpStream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_checks() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        h.insert(header::UPGRADE, "websocket".parse().unwrap());
        h.insert(header::SEC_WEBSOCKET_VERSION, "13".parse().unwrap());
        h.insert(
            header::SEC_WEBSOCKET_KEY,
            "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap(),
        );
        // RFC 6455's own example.
        assert_eq!(
            check_upgrade(&Method::GET, &h).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert!(check_upgrade(&Method::POST, &h).is_err());
        h.insert(header::SEC_WEBSOCKET_VERSION, "8".parse().unwrap());
        assert!(check_upgrade(&Method::GET, &h).is_err());
    }
}
