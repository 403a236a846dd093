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
//! `WebSocketUpgrade`) and frames the socket itself, so that an idle
//! connection holds no buffer (reads go into a buffer of the worker
//! thread, writes are queued only until flushed; axum's socket keeps
//! 128 KiB per connection), refuse
//! before the upgrade (a foreign origin, too many connections, wrong
//! credentials, `can_connect`: see [`websocket`]), and, when a
//! client sends a frame over the size limit, close with 1009 and drain what
//! the client still sends, so that the close frame is not lost to a TCP reset.

use std::time::Duration;

use axum::extract::{RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite;

use tokio::time::Instant;

use crate::admission::{Admitted, Refusal, admit};
use crate::app::App;
use crate::connection::{abandon, open, serve_opened};
use crate::handler::Consumer;
use crate::socket::{Limits, Socket};

/// The axum handler that serves consumer `C` on a WebSocket route.
///
/// Admits the request before it upgrades, the first failing check
/// answering: the app is shutting down (HTTP 503); the `Origin` header is
/// not allowed ([`origin`](crate::origin), 403); the app serves
/// [`max_connections`](crate::Settings::max_connections) already (503, with
/// `Retry-After`); the credentials are wrong (an
/// [`AuthenticationFailed`](crate::AuthenticationFailed), 403); the
/// consumer's `can_connect` says no (403). The user is a
/// [`CurrentUser`](crate::CurrentUser) in the request's extensions, else
/// the app's [`Authenticator`](crate::Authenticator)'s. The route's path
/// parameters (`/ws/rooms/{group_id}/`) become the scope's URL kwargs.
///
/// From the request's arrival to an upgraded socket (admission, joining its
/// group, the upgrade) at most
/// [`handshake_timeout`](crate::Settings::handshake_timeout) passes: past
/// it the request is answered with 503, or the upgraded connection is
/// dropped, and what it took is given back. The consumer's `on_connect`
/// then has as long again (past it: closed with 1011, its group left).
pub async fn websocket<C: Consumer>(
    State(app): State<App>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    request: Request,
) -> Response {
    let deadline = Instant::now() + app.settings().handshake_timeout;
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
    let url_kwargs = match params {
        Ok(params) => params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        Err(e) => return e.into_response(),
    };
    let Admitted { scope, slot } = match admit::<C>(&app, &mut parts, url_kwargs, deadline).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal.into_response(),
    };

    let settings = app.settings();
    let limits = Limits {
        max_message_size: settings.max_message_size,
        read_size: settings.read_buffer_size,
        write_high_water: settings.write_buffer_size,
        write_timeout: settings.write_timeout,
    };
    // In its group before the handshake is answered: an event sent once the
    // client sees the 101 reaches it (with Redis, the SUBSCRIBE is done too).
    // Joined in the connection's task, which gives everything back if the
    // handler gave up meanwhile (the deadline; the client went away) or the
    // upgrade fails.
    let (joined, is_joined) = tokio::sync::oneshot::channel();
    app.tracker().spawn(async move {
        let _slot = slot;
        let opened = Box::pin(open::<C>(scope)).await;
        if joined.send(()).is_err() {
            tracing::debug!("the handshake was given up while the connection joined its group");
            if let Ok(opened) = opened {
                Box::pin(abandon(opened)).await;
            }
            return;
        }
        match tokio::time::timeout_at(deadline, on_upgrade).await {
            Ok(Ok(upgraded)) => {
                let socket = Socket::new(TokioIo::new(upgraded), limits);
                serve_opened::<C, _>(opened, socket, None).await;
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "upgrade failed");
                if let Ok(opened) = opened {
                    Box::pin(abandon(opened)).await;
                }
            }
            Err(_) => {
                tracing::debug!("the upgrade was not done before the handshake timeout");
                if let Ok(opened) = opened {
                    Box::pin(abandon(opened)).await;
                }
            }
        }
    });

    if tokio::time::timeout_at(deadline, is_joined).await.is_err() {
        tracing::warn!("connection refused: it did not join its group in time");
        return Refusal::handshake_timeout().into_response();
    }

    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, key);
    response
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

/// Serves `router` on `listener` until [`App::shutdown`], as `axum::serve`
/// does, with what a server facing the internet needs and `axum::serve`
/// does not set:
///
/// - a client has [`handshake_timeout`](crate::Settings::handshake_timeout)
///   to send a request's headers (`axum::serve` sets no timer, so a client
///   that trickles its headers, or sends none, holds its socket forever);
/// - `TCP_NODELAY` on every accepted socket (see [`bind`]);
/// - an accept error (out of file descriptors) pauses accepting for a
///   moment instead of spinning;
/// - on [`App::shutdown`]: no new connections, open WebSockets close with
///   1001 once their running actions are done (within
///   [`shutdown_grace`](crate::Settings::shutdown_grace)), HTTP connections
///   finish their request; it returns once all are closed (or a few
///   seconds after the grace period, with a warning).
///
/// HTTP/1.1 only (WebSockets upgrade from HTTP/1.1).
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use rest_channels::prelude::*;
///
/// #[derive(Default)]
/// pub struct Api;
///
/// #[consumer]
/// impl Api {
///     #[async_action]
///     async fn ping(&self) -> ActionResult {
///         Ok(reply!("pong", 200))
///     }
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let app = App::builder().build();
/// let router = Router::new()
///     .route("/ws/", get(rest_channels::axum::websocket::<Api>))
///     .with_state(app.clone());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// let stopping = app.clone();
/// tokio::spawn(async move {
///     let _ = tokio::signal::ctrl_c().await;
///     stopping.shutdown();
/// });
/// rest_channels::axum::serve(listener, router, app).await
/// # }
/// ```
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    app: App,
) -> std::io::Result<()> {
    use hyper_util::rt::TokioTimer;
    use hyper_util::service::TowerToHyperService;

    let header_timeout = app.settings().handshake_timeout;
    let token = app.shutdown_token().clone();
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = token.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // EMFILE and the like: wait for sockets to close.
                tracing::warn!(error = %e, "accept failed; pausing");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(router.clone()))
            .with_upgrades();
        let token = token.clone();
        connections.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let served = tokio::select! {
                served = conn.as_mut() => served,
                () = token.cancelled() => {
                    // Finish the request being served, take no other.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.close();
    // WebSockets are the app's (closed with 1001 by the shutdown); HTTP
    // connections finish what they serve.
    connections.wait().await;
    // Bounded: a socket's closing handshake lingers at most a few seconds.
    let linger = app.settings().shutdown_grace + Duration::from_secs(5);
    if tokio::time::timeout(linger, app.closed()).await.is_err() {
        tracing::warn!(
            open = app.connections(),
            "connections still open after the grace period"
        );
    }
    Ok(())
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
