//! Models: a Rust struct mapped to a table, declared once with
//! `#[derive(Model)]`, that the generic handlers read and write.
//!
//! ```
//! use rest_channels::prelude::*;
//! use serde::Serialize;
//!
//! #[derive(Model, Serialize)]
//! #[model(table = "notes")]
//! pub struct Note {
//!     #[model(primary_key)]
//!     pub id: i64,
//!     #[model(validate(length(chars, min = 1, max = 255)))]
//!     pub title: String,
//!     #[model(default = "", validate(length(chars, max = 1024)))]
//!     pub content: String,
//!     #[model(read_only, owner)]
//!     pub author: i64,
//! }
//!
//! assert_eq!(Note::TABLE, "notes");
//! assert_eq!(Note::FIELDS.author.name(), "author");
//! assert_eq!(Note::PRIMARY_KEY.name(), "id");
//! ```
//!
//! The derive reads these options:
//!
//! - on the struct: `#[model(table = "name")]` (required);
//! - on a field: `primary_key` (exactly one field; assigned by the database,
//!   so read-only), `read_only` (never taken from a client), `owner` (the
//!   user id that [`IsOwner`](crate::IsOwner) compares; implies nothing
//!   else), `default = <literal>` or `default` (`Default::default()`): the
//!   value a `create` uses when the client leaves the field out, and
//!   `validate(...)` with the rules of [`validate`].
//!
//! A write reads the message's `data` object field by field, reports every
//! invalid field at once in Django REST framework's words, and ignores
//! read-only and unknown keys.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::error::FieldErrors;
use crate::permissions::Object;

/// The SQL type family of a column, as the query builder binds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A 64-bit (or smaller) integer.
    Integer,
    /// A floating-point number.
    Real,
    /// Text.
    Text,
    /// A boolean.
    Boolean,
}

/// One column of a model: its name and its type. The derive makes one per
/// field; `Note::FIELDS.title` names one in a filter list, and a field that
/// does not exist is a compile error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    name: &'static str,
    ty: ColumnType,
}

impl Column {
    /// A column. (The derive makes these; apps rarely need to.)
    pub const fn new(name: &'static str, ty: ColumnType) -> Self {
        Column { name, ty }
    }
    /// The column's name in the table (and the field's key in JSON).
    pub const fn name(&self) -> &'static str {
        self.name
    }
    /// The column's type.
    pub const fn ty(&self) -> ColumnType {
        self.ty
    }
}

/// A value bound into SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `NULL`.
    Null,
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// A boolean.
    Boolean(bool),
}

macro_rules! value_from {
    ($($t:ty => $v:ident),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$v(v.into())
            }
        }
    )*};
}
value_from!(i64 => Integer, i32 => Integer, i16 => Integer, u32 => Integer, f64 => Real, f32 => Real, bool => Boolean, String => Text);

impl From<crate::scope::UserId> for Value {
    fn from(v: crate::scope::UserId) -> Self {
        match v {
            crate::scope::UserId::Int(i) => Value::Integer(i),
            crate::scope::UserId::Str(s) => Value::Text(s),
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The validated column values of one write (what `perform_create` and
/// `perform_update` store), in field order.
///
/// ```
/// use rest_channels::model::{Value, Values};
///
/// let mut values = Values::new();
/// values.set("title", "hello");
/// values.set("author", 1_i64);
/// values.set("title", "again");
/// assert_eq!(values.get("title"), Some(&Value::Text("again".into())));
/// assert_eq!(values.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Values {
    entries: Vec<(&'static str, Value)>,
}

impl Values {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets a column's value (replacing an earlier one).
    pub fn set(&mut self, column: impl Into<ColumnName>, value: impl Into<Value>) {
        let name = column.into().0;
        let value = value.into();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.entries.push((name, value)),
        }
    }
    /// A column's value, if set.
    pub fn get(&self, column: impl Into<ColumnName>) -> Option<&Value> {
        let name = column.into().0;
        self.entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
    /// Removes a column's value.
    pub fn remove(&mut self, column: impl Into<ColumnName>) -> Option<Value> {
        let name = column.into().0;
        let i = self.entries.iter().position(|(n, _)| *n == name)?;
        Some(self.entries.remove(i).1)
    }
    /// How many columns are set.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether no column is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// The columns and their values.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.entries.iter().map(|(n, v)| (*n, v))
    }
    pub(crate) fn into_entries(self) -> Vec<(&'static str, Value)> {
        self.entries
    }
}

/// A column's name: a [`Column`] or a `&'static str`.
#[derive(Debug, Clone, Copy)]
pub struct ColumnName(pub &'static str);

impl From<Column> for ColumnName {
    fn from(c: Column) -> Self {
        ColumnName(c.name)
    }
}
impl From<&'static str> for ColumnName {
    fn from(s: &'static str) -> Self {
        ColumnName(s)
    }
}

/// Which write a `data` object is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `create`: required fields must be there; defaults fill the others.
    Create,
    /// `update`: required fields must be there; the others keep their value when left out.
    Update,
    /// `partial_update`: only the fields given change.
    Partial,
}

/// A type a model field may have: how it reads from JSON, from a query
/// string, from a row, and binds into SQL.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a model field",
    label = "not a model field type",
    note = "model fields are `i64`, `i32`, `f64`, `bool`, `String`, or an `Option` of one"
)]
pub trait FieldType: Sized + Send + Sync + 'static {
    /// The column type.
    const TYPE: ColumnType;
    /// Whether `null` is a value of this type (`Option<T>`).
    const NULLABLE: bool = false;
    /// Reads a JSON value; the error is Django REST framework's message.
    fn from_json(v: &Json) -> Result<Self, Cow<'static, str>>;
    /// The value to bind.
    fn to_value(&self) -> Value;
    /// Reads the column `name` of a row.
    fn decode(row: &crate::db::Row<'_>, name: &str) -> Result<Self, sqlx::Error>;

    /// [`read_field`] for this type (what the derive calls: a method of
    /// this trait, so an unsupported type is one error at the field's type).
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    fn read(
        data: &Map<String, Json>,
        name: &'static str,
        mode: WriteMode,
        required: bool,
        default: Option<fn() -> Self>,
        validate: impl FnOnce(&Self, &mut Vec<Cow<'static, str>>),
        values: &mut Values,
        errors: &mut FieldErrors,
    ) {
        read_field(
            data, name, mode, required, default, validate, values, errors,
        )
    }
}

const NOT_NULL: &str = "This field may not be null.";

impl FieldType for i64 {
    const TYPE: ColumnType = ColumnType::Integer;
    fn from_json(v: &Json) -> Result<Self, Cow<'static, str>> {
        json_integer(v)
    }
    fn to_value(&self) -> Value {
        Value::Integer(*self)
    }
    fn decode(row: &crate::db::Row<'_>, name: &str) -> Result<Self, sqlx::Error> {
        row.get_i64(name)
    }
}

impl FieldType for i32 {
    const TYPE: ColumnType = ColumnType::Integer;
    fn from_json(v: &Json) -> Result<Self, Cow<'static, str>> {
        let n = json_integer(v)?;
        i32::try_from(n).map_err(|_| range_message(n, i32::MIN.into(), i32::MAX.into()))
    }
    fn to_value(&self) -> Value {
        Value::Integer((*self).into())
    }
    fn decode(row: &crate::db::Row<'_>, name: &str) -> Result<Self, sqlx::Error> {
        row.get_i32(name)
    }
}

impl FieldType for f64 {
    const TYPE: ColumnType = ColumnType::Real;
    fn from_json(v: &Json) -> Result<Self, Cow<'static, str>> {
        match v {
            Json::Number(n) => n
                .as_f64()
                .ok_or_else(|| "A valid number is required.".into()),
            Json::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| "A valid number is required.".into()),
            Json::Null => Err(NOT_NULL.into()),
            _ => Err("A valid number is required.".into()),
        }
    }
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
    fn decode(row: &crate::db::Row<'_>, name: &str) -> Result<Self, sqlx::Error> {
        row.get_f64(name)
    }
}

impl FieldType for bool {
    const TYPE: ColumnType = ColumnType::Boolean;
    fn from_json(v: &Json) -> Result<Self, Cow<'static, str>> {
        // Django REST framework's BooleanField accepts these spellings.
        match v {
            Json::Bool(b) => Ok(*b),
            Json::Number(n) if n.as_i64() == Some(1) => Ok(true),
            Json::Number(n) if n.as_i64() == Some(0) => Ok(false),
            Json::String(s) => match s.as_str() {
                "true" | "True" | "TRUE" | "on" | "On" | "ON" | "1" | "yes" | "Yes" | "YES"
                | "y" | "Y" | "t" | "T" => Ok(true),
                "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | "0" | "no" | "No" | "NO"
                | "n" | "N" | "f" | "F" => Ok(false),
                _ => Err("Must be a valid boolean.".into()),
            },
            Json::Null => Err(NOT_NULL.into()),
            _ => Err("Must be a valid boolean.".into()),
        }
    }
    fn to_value(&self) -> Value {
        Value::Boolean(*self)
    }
    fn decode(row: &crate::db::Row<'_>, name: &str) -> Result<Self, sqlx::Error> {
        row.get_bool(name)
    }
}

impl FieldType for String {
    const TYPE: ColumnType = ColumnType::Text;
    fn from_json(v: &Json) -> Result<Self, Cow<'static, str>> {
        // Django REST framework's CharField takes strings and numbers (as
        // text), and refuses booleans, lists and objects.
        match v {
            Json::String(s) => Ok(s.clone()),
            Json::Number(n) => Ok(n.to_string()),
            Json::Null => Err(NOT_NULL.into()),
            _ => Err("Not a valid string.".into()),
        }
    }
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn decode(row: &crate::db::Row<'_>, name: &str) -> Result<Self, sqlx::Error> {
        row.get_string(name)
    }
}

impl<T: FieldType> FieldType for Option<T> {
    const TYPE: ColumnType = T::TYPE;
    const NULLABLE: bool = true;
    fn from_json(v: &Json) -> Result<Self, Cow<'static, str>> {
        match v {
            Json::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
    fn decode(row: &crate::db::Row<'_>, name: &str) -> Result<Self, sqlx::Error> {
        if row.is_null(name)? {
            Ok(None)
        } else {
            T::decode(row, name).map(Some)
        }
    }
}

fn json_integer(v: &Json) -> Result<i64, Cow<'static, str>> {
    const MSG: &str = "A valid integer is required.";
    match v {
        Json::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            // 1.0 is an integer to Django REST framework; 1.5 is not.
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
                _ if n.is_u64() => {
                    Err("Ensure this value is less than or equal to 9223372036854775807.".into())
                }
                _ => Err(MSG.into()),
            },
        },
        Json::String(s) => parse_integer(s).ok_or_else(|| MSG.into()),
        Json::Null => Err(NOT_NULL.into()),
        _ => Err(MSG.into()),
    }
}

/// Parses an integer as Django REST framework's IntegerField does with text:
/// surrounding spaces are ignored, a `.0` fraction is allowed.
pub(crate) fn parse_integer(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_suffix(".0").unwrap_or(s);
    s.parse().ok()
}

fn range_message(n: i64, min: i64, max: i64) -> Cow<'static, str> {
    if n < min {
        format!("Ensure this value is greater than or equal to {min}.").into()
    } else {
        format!("Ensure this value is less than or equal to {max}.").into()
    }
}

/// A model: a struct mapped to a table. Implemented by `#[derive(Model)]`
/// (see the [module docs](self)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a model",
    label = "not a model",
    note = "derive it: `#[derive(rest_channels::Model, serde::Serialize)]` with `#[model(table = \"...\")]` and one `#[model(primary_key)]` field"
)]
pub trait Model: Serialize + Object + Sized + Send + Sync + Unpin + 'static {
    /// The table's name.
    const TABLE: &'static str;
    /// What a change pushed to observers calls an instance (`{"event":
    /// "created", "note": {...}}`): `#[model(name = "...")]`, by default the
    /// struct's name in snake case.
    const NAME: &'static str;
    /// Every column, in the order of the struct's fields.
    const COLUMNS: &'static [Column];
    /// The primary key's column.
    const PRIMARY_KEY: Column;
    /// A struct with one [`Column`] field per model field.
    type Fields: Copy + fmt::Debug + 'static;
    /// The columns by name: `Note::FIELDS.title`.
    const FIELDS: Self::Fields;

    /// Reads a row (every column of [`Model::COLUMNS`]).
    fn from_row(row: &crate::db::Row<'_>) -> Result<Self, sqlx::Error>;

    /// The primary key's value.
    fn pk(&self) -> Value;

    /// Reads and validates the writable fields of a `data` object; every
    /// invalid field is reported. Read-only and unknown keys are ignored.
    fn read_data(data: &Map<String, Json>, mode: WriteMode) -> Result<Values, FieldErrors>;

    /// The model's JSON Schema, for descriptions ([`crate::describe`]):
    /// the derive gives the type's `schemars::JsonSchema` schema when it
    /// has one, else `{"type": "object"}`.
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let _ = generator;
        schemars::json_schema!({"type": "object"})
    }

    /// The JSON Schema of the `data` that [`Model::read_data`] reads: the
    /// writable fields, those without a default required unless `partial`.
    /// The derive describes each field by its type's `schemars::JsonSchema`
    /// when it has one, else as "any".
    fn data_schema(generator: &mut schemars::SchemaGenerator, partial: bool) -> schemars::Schema {
        let _ = (generator, partial);
        schemars::json_schema!({"type": "object"})
    }
}

/// What the derive generates for each writable field: reads it from
/// `data`, applies the default or reports it missing, validates it.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn read_field<T: FieldType>(
    data: &Map<String, Json>,
    name: &'static str,
    mode: WriteMode,
    required: bool,
    default: Option<fn() -> T>,
    validate: impl FnOnce(&T, &mut Vec<Cow<'static, str>>),
    values: &mut Values,
    errors: &mut FieldErrors,
) {
    match data.get(name) {
        Some(json) => match T::from_json(json) {
            Ok(v) => {
                let mut problems = Vec::new();
                validate(&v, &mut problems);
                if problems.is_empty() {
                    values.set(name, v.to_value());
                } else {
                    for p in problems {
                        errors.add(name, p);
                    }
                }
            }
            Err(message) => errors.add(name, message),
        },
        None => match mode {
            WriteMode::Partial => {}
            WriteMode::Create => match default {
                Some(f) => values.set(name, f().to_value()),
                None if required => errors.add(name, "This field is required."),
                None => {}
            },
            WriteMode::Update => {
                if required && default.is_none() {
                    errors.add(name, "This field is required.");
                }
            }
        },
    }
}

/// Validation rules for `#[model(validate(...))]`, run by [garde] and worded
/// as Django REST framework words them.
///
/// | rule | checks | message |
/// |---|---|---|
/// | `length(chars, min = a, max = b)` | characters (Unicode scalar values) | "Ensure this field has no more than b characters." / "at least a characters." |
/// | `length(bytes, min = a, max = b)` | UTF-8 bytes | the same words |
/// | `range(min = a, max = b)` | a number's value | "Ensure this value is less than or equal to b." / "greater than or equal to a." |
/// | `email` | an e-mail address | "Enter a valid email address." |
/// | `custom(path::to::fn)` | `fn(&T) -> Result<(), String>` | the function's message |
///
/// A `String` field with `min = 1` refuses `""` with "This field may not be blank.".
pub mod validate {
    use std::borrow::Cow;

    /// `length(chars, ...)`.
    pub fn length_chars(
        v: &str,
        min: Option<usize>,
        max: Option<usize>,
        problems: &mut Vec<Cow<'static, str>>,
    ) {
        let (lo, hi) = (min.unwrap_or(0), max.unwrap_or(usize::MAX));
        if garde::rules::length::chars::apply(&v, (lo, hi)).is_err() {
            length_message(v.chars().count(), v.is_empty(), lo, hi, problems);
        }
    }

    /// `length(bytes, ...)`.
    pub fn length_bytes(
        v: &str,
        min: Option<usize>,
        max: Option<usize>,
        problems: &mut Vec<Cow<'static, str>>,
    ) {
        let (lo, hi) = (min.unwrap_or(0), max.unwrap_or(usize::MAX));
        if garde::rules::length::bytes::apply(&v, (lo, hi)).is_err() {
            length_message(v.len(), v.is_empty(), lo, hi, problems);
        }
    }

    fn length_message(
        n: usize,
        empty: bool,
        lo: usize,
        hi: usize,
        problems: &mut Vec<Cow<'static, str>>,
    ) {
        if empty && lo > 0 {
            problems.push("This field may not be blank.".into());
        } else if n > hi {
            problems.push(format!("Ensure this field has no more than {hi} characters.").into());
        } else {
            problems.push(format!("Ensure this field has at least {lo} characters.").into());
        }
    }

    /// `range(min = ..., max = ...)`.
    pub fn range<T>(v: &T, min: Option<T>, max: Option<T>, problems: &mut Vec<Cow<'static, str>>)
    where
        T: PartialOrd + Copy + std::fmt::Display + garde::rules::range::Bounds<Size = T>,
    {
        let lo = min.unwrap_or(<T as garde::rules::range::Bounds>::MIN);
        let hi = max.unwrap_or(<T as garde::rules::range::Bounds>::MAX);
        if garde::rules::range::apply(v, (Some(lo), Some(hi))).is_err() {
            if *v < lo {
                problems
                    .push(format!("Ensure this value is greater than or equal to {lo}.").into());
            } else {
                problems.push(format!("Ensure this value is less than or equal to {hi}.").into());
            }
        }
    }

    /// `email`.
    pub fn email(v: &str, problems: &mut Vec<Cow<'static, str>>) {
        if garde::rules::email::apply(&v, ()).is_err() {
            problems.push("Enter a valid email address.".into());
        }
    }

    /// `custom(f)`.
    pub fn custom<T: ?Sized>(
        v: &T,
        f: impl FnOnce(&T) -> Result<(), String>,
        problems: &mut Vec<Cow<'static, str>>,
    ) {
        if let Err(message) = f(v) {
            problems.push(message.into());
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn run(f: impl FnOnce(&mut Vec<Cow<'static, str>>)) -> Vec<String> {
            let mut p = Vec::new();
            f(&mut p);
            p.into_iter().map(Cow::into_owned).collect()
        }

        #[test]
        fn lengths_count_characters_not_bytes() {
            assert!(run(|p| length_chars(&"é".repeat(255), Some(1), Some(255), p)).is_empty());
            assert_eq!(
                run(|p| length_chars(&"é".repeat(256), Some(1), Some(255), p)),
                ["Ensure this field has no more than 255 characters."]
            );
            assert_eq!(
                run(|p| length_bytes(&"é".repeat(128), None, Some(255), p)),
                ["Ensure this field has no more than 255 characters."]
            );
            assert_eq!(
                run(|p| length_chars("", Some(1), None, p)),
                ["This field may not be blank."]
            );
            assert_eq!(
                run(|p| length_chars("ab", Some(3), None, p)),
                ["Ensure this field has at least 3 characters."]
            );
        }

        #[test]
        fn ranges_and_emails() {
            assert_eq!(
                run(|p| range(&11_i64, Some(1), Some(10), p)),
                ["Ensure this value is less than or equal to 10."]
            );
            assert_eq!(
                run(|p| range(&0_i64, Some(1), None, p)),
                ["Ensure this value is greater than or equal to 1."]
            );
            assert!(run(|p| range(&5.5_f64, Some(1.0), Some(10.0), p)).is_empty());
            assert!(run(|p| email("a@example.com", p)).is_empty());
            assert_eq!(run(|p| email("nope", p)), ["Enter a valid email address."]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read<T: FieldType>(
        data: Json,
        mode: WriteMode,
        required: bool,
        default: Option<fn() -> T>,
    ) -> (Values, FieldErrors) {
        let (mut values, mut errors) = (Values::new(), FieldErrors::new());
        let Json::Object(map) = data else { panic!() };
        read_field::<T>(
            &map,
            "f",
            mode,
            required,
            default,
            |_, _| {},
            &mut values,
            &mut errors,
        );
        (values, errors)
    }

    fn messages(errors: &FieldErrors) -> Vec<String> {
        errors.iter().flat_map(|(_, m)| m.to_vec()).collect()
    }

    #[test]
    fn required_defaults_and_modes() {
        let (_, e) = read::<String>(json!({}), WriteMode::Create, true, None);
        assert_eq!(messages(&e), ["This field is required."]);
        let (v, e) = read::<String>(json!({}), WriteMode::Create, false, Some(String::new));
        assert!(e.is_empty());
        assert_eq!(v.get("f"), Some(&Value::Text(String::new())));
        let (v, e) = read::<String>(json!({}), WriteMode::Update, false, Some(String::new));
        assert!(e.is_empty() && v.is_empty());
        let (v, e) = read::<String>(json!({}), WriteMode::Partial, true, None);
        assert!(e.is_empty() && v.is_empty());
        let (_, e) = read::<String>(json!({}), WriteMode::Update, true, None);
        assert_eq!(messages(&e), ["This field is required."]);
    }

    #[test]
    fn json_types_in_drf_words() {
        let (_, e) = read::<String>(
            json!({"f": {"nested": true}}),
            WriteMode::Create,
            true,
            None,
        );
        assert_eq!(messages(&e), ["Not a valid string."]);
        let (_, e) = read::<String>(json!({"f": null}), WriteMode::Create, true, None);
        assert_eq!(messages(&e), ["This field may not be null."]);
        let (v, _) = read::<Option<String>>(json!({"f": null}), WriteMode::Create, true, None);
        assert_eq!(v.get("f"), Some(&Value::Null));
        let (_, e) = read::<i64>(json!({"f": "x"}), WriteMode::Create, true, None);
        assert_eq!(messages(&e), ["A valid integer is required."]);
        let (v, _) = read::<i64>(json!({"f": " 12 "}), WriteMode::Create, true, None);
        assert_eq!(v.get("f"), Some(&Value::Integer(12)));
        let (_, e) = read::<i64>(json!({"f": 1.5}), WriteMode::Create, true, None);
        assert_eq!(messages(&e), ["A valid integer is required."]);
        let (_, e) = read::<i32>(json!({"f": 1_i64 << 40}), WriteMode::Create, true, None);
        assert_eq!(
            messages(&e),
            ["Ensure this value is less than or equal to 2147483647."]
        );
        let (v, _) = read::<bool>(json!({"f": "yes"}), WriteMode::Create, true, None);
        assert_eq!(v.get("f"), Some(&Value::Boolean(true)));
        let (_, e) = read::<bool>(json!({"f": "maybe"}), WriteMode::Create, true, None);
        assert_eq!(messages(&e), ["Must be a valid boolean."]);
    }
}
