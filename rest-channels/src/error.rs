//! The one error type of actions, and how it maps to the contract's statuses.
//!
//! An action returns `Result<_, Error>`. Framework errors (no route, permission
//! denied, ...) and user errors share this type, so that every failure becomes
//! one reply envelope with a status and an `errors` list:
//!
//! | constructor | status | `errors` |
//! |---|---|---|
//! | [`Error::bad_request`] | 400 | `[{"detail": "..."}]` |
//! | [`Error::invalid`] / [`FieldErrors`] | 400 | `[{"<field>": ["..."]}]` |
//! | [`Error::permission_denied`] | 403 | `["You do not have permission to perform this action."]` |
//! | [`Error::not_found`] | 404 | `[{"detail": "Not found."}]` |
//! | [`Error::new`] | any | any JSON list |
//! | anything else (`?` on a std error) | 500 | `[{"detail": "A server error occurred."}]` |
//!
//! Like `anyhow::Error`, [`Error`] converts from every `std::error::Error`, so
//! `?` works on database and I/O errors inside an action; such errors become
//! a 500 unless the app's error hook ([`AppBuilder::map_error`](crate::AppBuilder::map_error))
//! maps them to something else. For the same reason `Error` itself does not
//! implement `std::error::Error`.

use std::borrow::Cow;
use std::fmt;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A boxed error, as kept by [`Error`] for internal failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The message of a permission refusal, word for word as Django REST framework has it.
pub const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";
/// The message of a 500 reply in production mode.
pub const SERVER_ERROR: &str = "A server error occurred.";

/// An error of an action or of the dispatch that leads to it.
///
/// ```
/// use rest_channels::Error;
///
/// let e = Error::not_found();
/// assert_eq!(e.status(), 404);
/// let e = Error::invalid("title", "This field is required.");
/// assert_eq!(e.status(), 400);
/// ```
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong; [`Error::kind`] gives it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The message had no `action` key, or it was not a string (404).
    #[error("Unable to find action in message body.")]
    ActionMissing,
    /// The route's path matched no route (404).
    #[error("No route found: {0}")]
    NoRoute(String),
    /// The handler has no action of that name (405).
    #[error("Action \"{0}\" not allowed in message body.")]
    ActionNotAllowed(String),
    /// A permission refused the action (403).
    #[error("You do not have permission to perform this action.")]
    PermissionDenied,
    /// The object does not exist (404).
    #[error("Not found.")]
    NotFound,
    /// The request could not be understood (400, `[{"detail": ...}]`).
    #[error("{0}")]
    BadRequest(Cow<'static, str>),
    /// Some fields or arguments are invalid (400, `[{"<field>": [...]}]`).
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    /// An error with a status and an `errors` list of the app's choosing.
    #[error("error {status}: {errors}")]
    Custom {
        /// The reply's status.
        status: u16,
        /// The reply's `errors` list.
        errors: serde_json::Value,
    },
    /// A failure inside the server (500); its text is shown only in debug mode.
    #[error("{0}")]
    Internal(BoxError),
}

impl Error {
    /// An error with any status and `errors` list (a JSON array; another
    /// value is wrapped in one).
    pub fn new(status: u16, errors: serde_json::Value) -> Self {
        let errors = match errors {
            serde_json::Value::Array(_) => errors,
            other => serde_json::Value::Array(vec![other]),
        };
        Error::from_kind(ErrorKind::Custom { status, errors })
    }
    /// 400 with `[{"detail": detail}]`.
    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Error::from_kind(ErrorKind::BadRequest(detail.into()))
    }
    /// 400 with `[{field: [message]}]`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut f = FieldErrors::new();
        f.add(field, message);
        f.into()
    }
    /// 403 with the standard refusal.
    pub fn permission_denied() -> Self {
        Error::from_kind(ErrorKind::PermissionDenied)
    }
    /// 404 with `[{"detail": "Not found."}]`.
    pub fn not_found() -> Self {
        Error::from_kind(ErrorKind::NotFound)
    }
    /// 500; `error` is logged, and shown to the client only in debug mode.
    pub fn internal(error: impl Into<BoxError>) -> Self {
        Error::from_kind(ErrorKind::Internal(error.into()))
    }
    /// 500 from a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self::internal(message.to_string())
    }
    pub(crate) fn no_route(route: &str) -> Self {
        Error::from_kind(ErrorKind::NoRoute(route.to_owned()))
    }
    pub(crate) fn action_not_allowed(action: &str) -> Self {
        Error::from_kind(ErrorKind::ActionNotAllowed(action.to_owned()))
    }

    /// An error of the given kind.
    pub fn from_kind(kind: ErrorKind) -> Self {
        Error { kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The status of the reply this error becomes.
    pub fn status(&self) -> u16 {
        match &self.kind {
            ErrorKind::ActionMissing | ErrorKind::NoRoute(_) | ErrorKind::NotFound => 404,
            ErrorKind::ActionNotAllowed(_) => 405,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::BadRequest(_) | ErrorKind::Invalid(_) => 400,
            ErrorKind::Custom { status, .. } => *status,
            ErrorKind::Internal(_) => 500,
        }
    }

    /// Whether this is a failure of the server (500) rather than of the request.
    pub fn is_internal(&self) -> bool {
        matches!(self.kind, ErrorKind::Internal(_))
    }

    /// The `errors` list of the reply, as it is serialized; internals are
    /// shown only when `debug` is true.
    pub fn errors(&self, debug: bool) -> ErrorList<'_> {
        ErrorList { error: self, debug }
    }

    /// The boxed internal error, for the app's error hook to inspect.
    pub(crate) fn take_internal(self) -> Result<BoxError, Self> {
        match self.kind {
            ErrorKind::Internal(e) => Ok(e),
            kind => Err(Error { kind }),
        }
    }
}

impl From<FieldErrors> for Error {
    fn from(f: FieldErrors) -> Self {
        Error::from_kind(ErrorKind::Invalid(f))
    }
}

/// `?` on any standard error inside an action: a 500, unless the app's
/// error hook maps it.
impl<E> From<E> for Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(e: E) -> Self {
        let boxed: BoxError = Box::new(e);
        // An `ErrorKind` that went through `?` keeps its meaning.
        match boxed.downcast::<ErrorKind>() {
            Ok(kind) => Error { kind: *kind },
            Err(boxed) => Error::from_kind(ErrorKind::Internal(boxed)),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.kind, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

/// The serialized `errors` list of an [`Error`] (see [`Error::errors`]).
pub struct ErrorList<'a> {
    error: &'a Error,
    debug: bool,
}

struct Detail<'a, T: fmt::Display + ?Sized>(&'a T);

impl<T: fmt::Display + ?Sized> Serialize for Detail<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Text<'a, T: ?Sized>(&'a T);
        impl<T: fmt::Display + ?Sized> Serialize for Text<'_, T> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self.0)
            }
        }
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("detail", &Text(self.0))?;
        m.end()
    }
}

impl Serialize for ErrorList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.error.kind {
            ErrorKind::Custom { errors, .. } => errors.serialize(s),
            kind => {
                let mut seq = s.serialize_seq(Some(1))?;
                match kind {
                    ErrorKind::ActionMissing
                    | ErrorKind::NoRoute(_)
                    | ErrorKind::ActionNotAllowed(_)
                    | ErrorKind::PermissionDenied => {
                        seq.serialize_element(&format_args!("{kind}"))?
                    }
                    ErrorKind::NotFound | ErrorKind::BadRequest(_) => {
                        seq.serialize_element(&Detail(kind))?
                    }
                    ErrorKind::Invalid(fields) => seq.serialize_element(fields)?,
                    ErrorKind::Internal(e) if self.debug => seq.serialize_element(&Detail(e))?,
                    ErrorKind::Internal(_) => seq.serialize_element(&Detail(SERVER_ERROR))?,
                    ErrorKind::Custom { .. } => unreachable!("handled above"),
                }
                seq.end()
            }
        }
    }
}

/// Errors by field: `{"<field>": ["<message>", ...], ...}`, in the order the
/// fields were first added.
///
/// ```
/// use rest_channels::FieldErrors;
///
/// let mut errors = FieldErrors::new();
/// errors.add("title", "This field is required.");
/// errors.add("title", "Ensure this field has no more than 255 characters.");
/// assert_eq!(errors.len(), 1);
/// let e: rest_channels::Error = errors.into();
/// assert_eq!(e.status(), 400);
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors {
    fields: Vec<(String, Vec<String>)>,
}

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a message to a field.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let field = field.into();
        match self.fields.iter_mut().find(|(f, _)| *f == field) {
            Some((_, msgs)) => msgs.push(message.into()),
            None => self.fields.push((field, vec![message.into()])),
        }
    }
    /// Whether no field has an error.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
    /// How many fields have errors.
    pub fn len(&self) -> usize {
        self.fields.len()
    }
    /// The fields and their messages.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.fields.iter().map(|(f, m)| (f.as_str(), m.as_slice()))
    }
    /// `Ok(())` when empty, else the 400 error.
    pub fn into_result(self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.into())
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (field, msgs)) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field}: {}", msgs.join(" "))?;
        }
        Ok(())
    }
}

impl Serialize for FieldErrors {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.fields.len()))?;
        for (field, msgs) in &self.fields {
            m.serialize_entry(field, msgs)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(e: &Error, debug: bool) -> String {
        serde_json::to_string(&e.errors(debug)).unwrap()
    }

    #[test]
    fn lists_match_the_contract() {
        assert_eq!(
            json(&Error::from_kind(ErrorKind::ActionMissing), false),
            r#"["Unable to find action in message body."]"#
        );
        assert_eq!(
            json(&Error::no_route("a/\"b"), false),
            r#"["No route found: a/\"b"]"#
        );
        assert_eq!(
            json(&Error::action_not_allowed("x"), false),
            r#"["Action \"x\" not allowed in message body."]"#
        );
        assert_eq!(
            json(&Error::permission_denied(), false),
            r#"["You do not have permission to perform this action."]"#
        );
        assert_eq!(
            json(&Error::not_found(), false),
            r#"[{"detail":"Not found."}]"#
        );
        assert_eq!(
            json(&Error::invalid("pk", "bad"), false),
            r#"[{"pk":["bad"]}]"#
        );
        assert_eq!(
            json(&Error::new(418, serde_json::json!("tea")), false),
            r#"["tea"]"#
        );
    }

    #[test]
    fn internals_are_hidden_unless_debug() {
        let e = Error::msg("db is on fire");
        assert_eq!(e.status(), 500);
        assert_eq!(
            json(&e, false),
            r#"[{"detail":"A server error occurred."}]"#
        );
        assert_eq!(json(&e, true), r#"[{"detail":"db is on fire"}]"#);
    }

    #[test]
    fn question_mark_on_std_errors_is_internal_but_keeps_error_kinds() {
        fn parse() -> Result<i32, Error> {
            Ok("x".parse::<i32>()?)
        }
        assert!(parse().unwrap_err().is_internal());
        fn kind() -> Result<(), Error> {
            Err(ErrorKind::NotFound)?
        }
        assert_eq!(kind().unwrap_err().status(), 404);
    }
}
