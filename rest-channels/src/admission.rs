//! Admission: whether an upgrade request becomes a connection. The axum
//! handler and the test communicator both admit through [`admit`], so that
//! a test sees the refusals a socket would.
//!
//! The checks run in this order, and the first that fails answers:
//!
//! 1. the app is not shutting down (else 503);
//! 2. the `Origin` header ([`crate::origin`]; else 403): before anything
//!    that costs, and whatever the credentials;
//! 3. a place under [`Settings::max_connections`](crate::Settings::max_connections)
//!    (else 503 with `Retry-After`);
//! 4. authentication: a [`CurrentUser`](crate::CurrentUser) in the request's
//!    extensions, else the app's [`Authenticator`](crate::Authenticator)
//!    (wrong credentials: 403 with its message);
//! 5. the consumer's `can_connect` (else 403).
//!
//! Steps 4 and 5 must be done before the handshake deadline (else 503).

use std::borrow::Cow;

use http::{HeaderMap, HeaderValue, StatusCode, header};
use tokio::time::Instant;

use crate::app::{App, Slot};
use crate::handler::{Consumer, Handler};
use crate::permissions::Permission;
use crate::scope::Scope;

/// The `Retry-After` of a refusal for too many connections, in seconds.
const RETRY_AFTER_SECS: u32 = 5;

/// An admitted connection: its scope, and its place among the app's
/// connections (given back when dropped).
pub(crate) struct Admitted {
    pub(crate) scope: Scope,
    pub(crate) slot: Slot,
}

/// Why a connection was not admitted: the HTTP response that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) body: Cow<'static, str>,
    /// Seconds, for the `Retry-After` header.
    pub(crate) retry_after: Option<u32>,
}

impl Refusal {
    fn new(status: StatusCode, body: impl Into<Cow<'static, str>>) -> Self {
        Refusal {
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    pub(crate) fn handshake_timeout() -> Self {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The connection could not be set up in time.",
        )
    }
}

impl axum::response::IntoResponse for Refusal {
    fn into_response(self) -> axum::response::Response {
        let mut response = (self.status, self.body.into_owned()).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Admits the upgrade request `parts` (its path's kwargs `url_kwargs`) to
/// consumer `C`, or says why not. Takes the request's extensions into the
/// scope.
pub(crate) async fn admit<C: Consumer>(
    app: &App,
    parts: &mut http::request::Parts,
    url_kwargs: Vec<(String, String)>,
    deadline: Instant,
) -> Result<Admitted, Refusal> {
    if app.tracker().is_closed() {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is shutting down.",
        ));
    }
    check_origin(app, parts)?;
    let Some(slot) = app.take_slot() else {
        tracing::warn!(
            max_connections = app.settings().max_connections,
            "connection refused: too many connections"
        );
        return Err(Refusal {
            retry_after: Some(RETRY_AFTER_SECS),
            ..Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many connections: try again later.",
            )
        });
    };
    let checked = tokio::time::timeout_at(deadline, async {
        let user = app.authenticate(parts).await.map_err(|e| {
            tracing::debug!(error = %e, "connection refused: authentication failed");
            Refusal::new(StatusCode::FORBIDDEN, e.message().to_owned())
        })?;
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
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "You do not have permission to connect.",
            ));
        }
        Ok(scope)
    })
    .await;
    match checked {
        Ok(Ok(scope)) => Ok(Admitted { scope, slot }),
        Ok(Err(refusal)) => Err(refusal),
        Err(_) => {
            tracing::warn!("connection refused: authentication and can_connect took too long");
            Err(Refusal::handshake_timeout())
        }
    }
}

/// The origin check ([`crate::origin::is_allowed`]) of a request: its
/// `Origin` header (several are refused), its `Host` header or, without
/// one, its URI's authority (HTTP/2).
fn check_origin(app: &App, parts: &http::request::Parts) -> Result<(), Refusal> {
    let mut origins = parts.headers.get_all(header::ORIGIN).iter();
    let origin = origins.next();
    let host = parts
        .headers
        .get(header::HOST)
        .map(HeaderValue::as_bytes)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().as_bytes()));
    let allowed = origins.next().is_none()
        && crate::origin::is_allowed(
            origin.map(HeaderValue::as_bytes),
            host,
            &app.settings().allowed_origins,
        );
    if allowed {
        return Ok(());
    }
    let shown = origin.map_or(Cow::Borrowed(""), |o| String::from_utf8_lossy(o.as_bytes()));
    tracing::debug!(origin = %shown, "connection refused: origin not allowed");
    Err(Refusal::new(
        StatusCode::FORBIDDEN,
        format!("Origin not allowed: {shown:?}."),
    ))
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
