//! Authentication: who a connection's user is, found from its upgrade request.
//!
//! As in Django REST framework, an authenticator has three answers: a user;
//! no credentials (`Ok(None)`: the connection is anonymous, and permissions
//! decide what it may do); or credentials that are wrong
//! ([`AuthenticationFailed`]: the upgrade is refused with HTTP 403 and the
//! failure's message, as DRF's `TokenAuthentication` answers an unknown
//! token with `Invalid token.`).

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::scope::User;

/// Finds the user of a connection from its upgrade request.
///
/// `Ok(None)` is an anonymous connection; an [`AuthenticationFailed`]
/// refuses the upgrade with HTTP 403. A user put into the request's
/// extensions by the app's own middleware ([`CurrentUser`](crate::CurrentUser))
/// takes precedence, and the authenticator is not asked.
///
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use rest_channels::{AuthenticationFailed, Authenticator, SimpleUser, User};
///
/// /// `X-Api-Key: k1` is alice; another key is refused; no key is anonymous.
/// struct ApiKey;
///
/// #[async_trait]
/// impl Authenticator for ApiKey {
///     async fn authenticate(
///         &self,
///         request: &http::request::Parts,
///     ) -> Result<Option<Arc<dyn User>>, AuthenticationFailed> {
///         match request.headers.get("x-api-key") {
///             None => Ok(None),
///             Some(key) if key == "k1" => Ok(Some(Arc::new(SimpleUser::new(1, "alice")))),
///             Some(_) => Err(AuthenticationFailed::new("Invalid API key.")),
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The user; `Ok(None)` without credentials; an error for wrong ones.
    async fn authenticate(
        &self,
        request: &http::request::Parts,
    ) -> Result<Option<Arc<dyn User>>, AuthenticationFailed>;
}

/// Credentials that are wrong: the upgrade is refused with HTTP 403, and
/// the message is the response's body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AuthenticationFailed {
    message: Cow<'static, str>,
}

impl AuthenticationFailed {
    /// DRF's `TokenAuthentication` message for an unknown token.
    pub const INVALID_TOKEN: &'static str = "Invalid token.";

    /// A failure with this message.
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        AuthenticationFailed {
            message: message.into(),
        }
    }

    /// `Invalid token.`
    pub fn invalid_token() -> Self {
        AuthenticationFailed::new(Self::INVALID_TOKEN)
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Token authentication: the token comes from the header
/// `Authorization: Bearer <token>` or from the query parameter `?token=<token>`,
/// and `lookup` turns it into a user.
///
/// An unknown token (`lookup` gives `None`) connects as anonymous, unless
/// [`TokenAuth::refuse_unknown_tokens`] says to refuse it, as Django REST
/// framework does (HTTP 403, `Invalid token.`). No token is anonymous either way.
///
/// ```
/// use std::sync::Arc;
/// use rest_channels::{App, SimpleUser, TokenAuth, User};
///
/// let app = App::builder()
///     .authenticator(
///         TokenAuth::new(|token: String| async move {
///             (token == "alice-token").then(|| Arc::new(SimpleUser::new(1, "alice")) as Arc<dyn User>)
///         })
///         .refuse_unknown_tokens(),
///     )
///     .build();
/// ```
pub struct TokenAuth<F> {
    lookup: F,
    refuse_unknown: bool,
}

impl<F> TokenAuth<F> {
    /// Token authentication with a lookup function.
    pub fn new(lookup: F) -> Self {
        TokenAuth {
            lookup,
            refuse_unknown: false,
        }
    }

    /// Refuses the upgrade (HTTP 403, `Invalid token.`) when a token comes
    /// and `lookup` does not know it, instead of connecting as anonymous.
    pub fn refuse_unknown_tokens(mut self) -> Self {
        self.refuse_unknown = true;
        self
    }
}

impl<F> fmt::Debug for TokenAuth<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenAuth")
            .field("refuse_unknown", &self.refuse_unknown)
            .finish_non_exhaustive()
    }
}

/// The token of a request: `Authorization: Bearer T`, else `?token=T`.
pub fn request_token(request: &http::request::Parts) -> Option<String> {
    let header = request
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    header.or_else(|| {
        crate::scope::query_param(request.uri.query().unwrap_or(""), "token").map(Cow::into_owned)
    })
}

#[async_trait]
impl<F, Fut> Authenticator for TokenAuth<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Arc<dyn User>>> + Send,
{
    async fn authenticate(
        &self,
        request: &http::request::Parts,
    ) -> Result<Option<Arc<dyn User>>, AuthenticationFailed> {
        let Some(token) = request_token(request) else {
            return Ok(None);
        };
        match (self.lookup)(token).await {
            Some(user) => Ok(Some(user)),
            None if self.refuse_unknown => Err(AuthenticationFailed::invalid_token()),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::SimpleUser;

    fn parts(uri: &str, auth: Option<&str>) -> http::request::Parts {
        let mut b = http::Request::builder().uri(uri);
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn tokens_from_header_or_query() {
        assert_eq!(
            request_token(&parts("/ws/?token=abc", None)).as_deref(),
            Some("abc")
        );
        assert_eq!(
            request_token(&parts("/ws/?x=1&token=a%2Bb", None)).as_deref(),
            Some("a+b")
        );
        assert_eq!(
            request_token(&parts("/ws/", Some("Bearer xyz"))).as_deref(),
            Some("xyz")
        );
        assert_eq!(
            request_token(&parts("/ws/?token=q", Some("bearer h"))).as_deref(),
            Some("h")
        );
        assert_eq!(request_token(&parts("/ws/", Some("Basic xyz"))), None);
        assert_eq!(request_token(&parts("/ws/", None)), None);
    }

    async fn lookup(token: String) -> Option<Arc<dyn User>> {
        (token == "good").then(|| Arc::new(SimpleUser::new(1, "alice")) as Arc<dyn User>)
    }

    #[tokio::test]
    async fn unknown_tokens_are_anonymous_or_refused() {
        let lenient = TokenAuth::new(lookup);
        let strict = TokenAuth::new(lookup).refuse_unknown_tokens();
        for auth in [&lenient, &strict] {
            let user = auth.authenticate(&parts("/?token=good", None)).await;
            assert_eq!(user.unwrap().unwrap().username(), "alice");
            assert!(
                auth.authenticate(&parts("/", None))
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        let bad = parts("/?token=bad", None);
        assert!(lenient.authenticate(&bad).await.unwrap().is_none());
        let refused = strict.authenticate(&bad).await.unwrap_err();
        assert_eq!(refused.message(), "Invalid token.");
        assert_eq!(refused, AuthenticationFailed::invalid_token());
    }
}
