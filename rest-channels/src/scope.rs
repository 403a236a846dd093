//! The scope of a connection: what the upgrade request said, and who is asking.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::HeaderMap;

use crate::app::App;
use crate::error::Error;

/// A user of the app, as an [`Authenticator`](crate::Authenticator) found it.
///
/// Anonymous connections have no user at all ([`Scope::user`] is `None`),
/// the way Django has `AnonymousUser`. Any type of the app can be a user;
/// [`Scope::user_as`] gives it back.
///
/// ```
/// use rest_channels::{User, UserId};
///
/// #[derive(Debug)]
/// struct Account { id: i64, name: String, admin: bool }
///
/// impl User for Account {
///     fn id(&self) -> UserId { self.id.into() }
///     fn username(&self) -> &str { &self.name }
///     fn is_staff(&self) -> bool { self.admin }
/// }
/// ```
pub trait User: Any + Send + Sync + fmt::Debug {
    /// The user's primary key.
    fn id(&self) -> UserId;
    /// The user's name.
    fn username(&self) -> &str;
    /// Whether the user is staff (Django's `is_staff`; [`IsAdminUser`](crate::IsAdminUser) checks it).
    fn is_staff(&self) -> bool {
        false
    }
    /// Whether the user is a superuser.
    fn is_superuser(&self) -> bool {
        false
    }
}

/// A user's primary key: an integer or a string (a UUID, say).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserId {
    /// An integer key.
    Int(i64),
    /// Any other key, as text.
    Str(String),
}

impl From<i64> for UserId {
    fn from(v: i64) -> Self {
        UserId::Int(v)
    }
}
impl From<String> for UserId {
    fn from(v: String) -> Self {
        UserId::Str(v)
    }
}
impl From<&str> for UserId {
    fn from(v: &str) -> Self {
        UserId::Str(v.to_owned())
    }
}
impl PartialEq<i64> for UserId {
    fn eq(&self, other: &i64) -> bool {
        matches!(self, UserId::Int(v) if v == other)
    }
}
impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserId::Int(v) => v.fmt(f),
            UserId::Str(v) => v.fmt(f),
        }
    }
}

/// A plain user record, for apps that need nothing more.
///
/// ```
/// use rest_channels::{SimpleUser, User};
/// let alice = SimpleUser::new(1, "alice");
/// assert!(!alice.is_staff());
/// let admin = SimpleUser::new(3, "admin").staff(true);
/// assert!(admin.is_staff());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleUser {
    /// The primary key.
    pub id: i64,
    /// The name.
    pub username: String,
    /// Django's `is_staff`.
    pub is_staff: bool,
    /// Django's `is_superuser`.
    pub is_superuser: bool,
}

impl SimpleUser {
    /// A user that is neither staff nor superuser.
    pub fn new(id: i64, username: impl Into<String>) -> Self {
        SimpleUser {
            id,
            username: username.into(),
            is_staff: false,
            is_superuser: false,
        }
    }
    /// Sets `is_staff`.
    pub fn staff(mut self, yes: bool) -> Self {
        self.is_staff = yes;
        self
    }
}

impl User for SimpleUser {
    fn id(&self) -> UserId {
        UserId::Int(self.id)
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn is_staff(&self) -> bool {
        self.is_staff
    }
    fn is_superuser(&self) -> bool {
        self.is_superuser
    }
}

/// The user an app's own axum middleware found, put into the request's
/// extensions; it takes precedence over the [`Authenticator`](crate::Authenticator).
///
/// ```
/// use std::sync::Arc;
/// use rest_channels::{CurrentUser, SimpleUser};
/// let mut req = http::Request::new(());
/// req.extensions_mut().insert(CurrentUser(Arc::new(SimpleUser::new(1, "alice"))));
/// ```
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Arc<dyn User>);

/// What a connection is: its request path and query, headers, cookies, the
/// URL's keyword arguments (from the axum route), the user, and the app.
///
/// One scope is made per connection, before the upgrade; every message's
/// [`Context`](crate::Context) refers to it.
pub struct Scope {
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) url_kwargs: Vec<(String, String)>,
    pub(crate) user: Option<Arc<dyn User>>,
    pub(crate) extensions: http::Extensions,
    pub(crate) app: App,
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("path", &self.path)
            .field("query", &self.query)
            .field("url_kwargs", &self.url_kwargs)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Scope {
    /// A scope for the given app, path and user: for tests and for
    /// transports other than axum.
    pub fn new(app: App, path: impl Into<String>, user: Option<Arc<dyn User>>) -> Self {
        Scope {
            path: path.into(),
            query: String::new(),
            headers: HeaderMap::new(),
            url_kwargs: Vec::new(),
            user,
            extensions: http::Extensions::new(),
            app,
        }
    }

    /// Adds a URL keyword argument (as the axum route would).
    pub fn with_url_kwarg(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.url_kwargs.push((name.into(), value.into()));
        self
    }

    /// Sets the raw query string of the connection's URL.
    pub fn with_query(mut self, query: impl Into<String>) -> Self {
        self.query = query.into();
        self
    }

    /// Sets the request headers.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// The path of the WebSocket URL (`/ws/rooms/lobby/`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw query string of the WebSocket URL (without `?`).
    pub fn query_string(&self) -> &str {
        &self.query
    }

    /// A parameter of the URL's query string, percent-decoded (the first, if repeated).
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        query_param(&self.query, name)
    }

    /// The upgrade request's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A cookie of the upgrade request.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == name)
            .map(|c| c.value().to_owned())
    }

    /// A keyword argument of the axum route (`{group_id}` in `/ws/rooms/{group_id}/`).
    pub fn url_kwarg(&self, name: &str) -> Option<&str> {
        self.url_kwargs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The user, or `None` for an anonymous connection.
    pub fn user(&self) -> Option<&dyn User> {
        self.user.as_deref()
    }

    /// The user as the app's own type.
    pub fn user_as<T: User>(&self) -> Option<&T> {
        let user: &dyn Any = self.user.as_deref()?;
        user.downcast_ref()
    }

    /// Whether a user is authenticated.
    pub fn is_authenticated(&self) -> bool {
        self.user.is_some()
    }

    /// The request's extensions, as the app's middleware left them.
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }

    /// The app this connection belongs to.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Typed app state, as given to [`AppBuilder::state`](crate::AppBuilder::state).
    ///
    /// A missing state is a bug of the app, so it is a 500.
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Result<&T, Error> {
        self.app.state::<T>().ok_or_else(|| {
            Error::msg(format_args!(
                "no app state of type `{}`: add it with AppBuilder::state",
                std::any::type_name::<T>()
            ))
        })
    }
}

pub(crate) fn query_param<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_query_and_kwargs() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::COOKIE, "a=1; session=xyz".parse().unwrap());
        let s = Scope::new(App::builder().build(), "/ws/", None)
            .with_headers(headers)
            .with_query("token=a%20b&x=1")
            .with_url_kwarg("group_id", "lobby");
        assert_eq!(s.cookie("session").as_deref(), Some("xyz"));
        assert_eq!(s.cookie("nope"), None);
        assert_eq!(s.query_param("token").as_deref(), Some("a b"));
        assert_eq!(s.url_kwarg("group_id"), Some("lobby"));
        assert!(!s.is_authenticated());
    }

    #[test]
    fn user_downcast() {
        let s = Scope::new(
            App::builder().build(),
            "/",
            Some(Arc::new(SimpleUser::new(1, "alice"))),
        );
        assert_eq!(s.user_as::<SimpleUser>().unwrap().username, "alice");
        assert_eq!(s.user().unwrap().id(), 1);
    }
}
