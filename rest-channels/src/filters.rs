//! Filters of `list`, per handler, read from the route's query string:
//!
//! - **equality** on the columns of [`ModelHandler::FILTER_FIELDS`]
//!   (`?author=1`): an empty value filters nothing, a value of the wrong
//!   type is a 400 naming the field;
//! - **search** over [`ModelHandler::SEARCH_FIELDS`] (`?search=a b,c`):
//!   terms are split on spaces and commas, and every term must occur in
//!   some field, ignoring ASCII letter case, on SQLite and Postgres alike;
//!   `%`, `_` and `\` are plain characters;
//! - **ordering** over [`ModelHandler::ORDERING_FIELDS`]
//!   (`?ordering=-title,id`): unknown fields are ignored, and the primary
//!   key (ascending) breaks every tie.
//!
//! Identifiers come only from those static lists; every value is bound.
//!
//! [`ModelHandler::FILTER_FIELDS`]: crate::generics::ModelHandler::FILTER_FIELDS
//! [`ModelHandler::SEARCH_FIELDS`]: crate::generics::ModelHandler::SEARCH_FIELDS
//! [`ModelHandler::ORDERING_FIELDS`]: crate::generics::ModelHandler::ORDERING_FIELDS

use sea_query::{Cond, Expr, ExprTrait, LikeExpr, Order, SelectStatement};

use crate::db::{Backend, to_sea};
use crate::error::{Error, FieldErrors};
use crate::model::{Column, ColumnType, FieldType, Value, parse_integer};
use crate::pagination::QueryParams;

/// The query parameter of search terms.
pub const SEARCH_PARAM: &str = "search";
/// The query parameter of ordering.
pub const ORDERING_PARAM: &str = "ordering";

/// Adds `column = value` for every filter field given a non-empty value;
/// all bad values are reported together.
pub(crate) fn equality(
    select: &mut SelectStatement,
    query: &QueryParams,
    fields: &[Column],
) -> Result<(), Error> {
    let mut errors = FieldErrors::new();
    for column in fields {
        let Some(raw) = query.get(column.name()) else {
            continue;
        };
        if raw.is_empty() {
            continue;
        }
        match parse_value(raw, column.ty()) {
            Ok(v) => {
                select.and_where(Expr::col(column.name()).eq(Expr::val(to_sea(v, column.ty()))));
            }
            Err(message) => errors.add(column.name(), message),
        }
    }
    errors.into_result()
}

/// A query-string value as a column's type.
fn parse_value(raw: &str, ty: ColumnType) -> Result<Value, &'static str> {
    match ty {
        ColumnType::Integer => parse_integer(raw)
            .map(Value::Integer)
            .ok_or("A valid integer is required."),
        ColumnType::Real => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::Real)
            .ok_or("A valid number is required."),
        ColumnType::Boolean => {
            <bool as FieldType>::from_json(&serde_json::Value::String(raw.into()))
                .map(Value::Boolean)
                .map_err(|_| "Must be a valid boolean.")
        }
        ColumnType::Text => Ok(Value::Text(raw.to_owned())),
    }
}

/// The terms of a search: split on whitespace and commas, empty ones dropped.
pub(crate) fn terms(search: &str) -> impl Iterator<Item = &str> {
    search
        .split(|c: char| c.is_whitespace() || c == ',' || c == '\0')
        .filter(|t| !t.is_empty())
}

/// `term` as a LIKE pattern matching it anywhere, with `\` as the escape.
fn contains_pattern(term: &str) -> String {
    let mut p = String::with_capacity(term.len() + 2);
    p.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c.to_ascii_lowercase());
    }
    p.push('%');
    p
}

/// A column folded to ASCII lower case. SQLite's `lower()` folds ASCII
/// only; Postgres's folds by the column's collation, so it is asked for the
/// "C" collation, which folds ASCII only too.
fn lowered(column: &Column, backend: Backend) -> Expr {
    let ident = quote_ident(column.name());
    match backend {
        Backend::Sqlite => Expr::cust(format!("lower({ident})")),
        Backend::Postgres => Expr::cust(format!("lower({ident} COLLATE \"C\")")),
    }
}

/// A static identifier, double-quoted (`"` doubled), as both backends quote.
fn quote_ident(name: &'static str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every term must occur in one of `fields`.
pub(crate) fn search(
    select: &mut SelectStatement,
    query: &QueryParams,
    fields: &[Column],
    backend: Backend,
) {
    if fields.is_empty() {
        return;
    }
    let Some(search) = query.get(SEARCH_PARAM) else {
        return;
    };
    for term in terms(search) {
        let pattern = contains_pattern(term);
        let mut any = Cond::any();
        for column in fields {
            any =
                any.add(lowered(column, backend).like(LikeExpr::new(pattern.clone()).escape('\\')));
        }
        select.cond_where(any);
    }
}

/// `ORDER BY` the allowed fields the client named (`-` for descending),
/// then the primary key ascending.
pub(crate) fn ordering(
    select: &mut SelectStatement,
    query: &QueryParams,
    fields: &[Column],
    primary_key: Column,
    backend: Backend,
) {
    let mut used: Vec<&'static str> = Vec::new();
    if let Some(ordering) = query.get(ORDERING_PARAM) {
        for part in ordering.split(',').map(str::trim) {
            let (name, order) = match part.strip_prefix('-') {
                Some(name) => (name, Order::Desc),
                None => (part, Order::Asc),
            };
            let Some(column) = fields.iter().find(|c| c.name() == name) else {
                continue;
            };
            if used.contains(&column.name()) {
                continue;
            }
            used.push(column.name());
            order_by(select, column, order, backend);
        }
    }
    if !used.contains(&primary_key.name()) {
        order_by(select, &primary_key, Order::Asc, backend);
    }
}

/// Text orders by bytes on both backends (Postgres's "C" collation is
/// SQLite's BINARY), so a list comes in the same order on either.
fn order_by(select: &mut SelectStatement, column: &Column, order: Order, backend: Backend) {
    match (column.ty(), backend) {
        (ColumnType::Text, Backend::Postgres) => {
            let expr = Expr::cust(format!("{} COLLATE \"C\"", quote_ident(column.name())));
            select.order_by_expr(expr, order);
        }
        _ => {
            select.order_by(column.name(), order);
        }
    }
}

#[cfg(test)]
mod tests {
    use sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};

    use super::*;

    const ID: Column = Column::new("id", ColumnType::Integer);
    const TITLE: Column = Column::new("title", ColumnType::Text);
    const AUTHOR: Column = Column::new("author", ColumnType::Integer);

    fn render(query: &str, backend: Backend) -> Result<(String, Vec<String>), Error> {
        let q = QueryParams::parse(query);
        let mut s = Query::select();
        s.column("id").from("notes");
        equality(&mut s, &q, &[AUTHOR])?;
        search(&mut s, &q, &[TITLE], backend);
        ordering(&mut s, &q, &[ID, TITLE], ID, backend);
        let (sql, values) = match backend {
            Backend::Sqlite => s.build(SqliteQueryBuilder),
            Backend::Postgres => s.build(PostgresQueryBuilder),
        };
        Ok((sql, values.iter().map(|v| format!("{v:?}")).collect()))
    }

    #[test]
    fn terms_split_on_spaces_and_commas() {
        assert_eq!(terms(" a,,b  c , ").collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(terms(" , ").count(), 0);
    }

    #[test]
    fn patterns_escape_wildcards_and_fold_ascii_only() {
        assert_eq!(contains_pattern("100%"), r"%100\%%");
        assert_eq!(contains_pattern(r"a_b\c"), r"%a\_b\\c%");
        assert_eq!(contains_pattern("ÄRGER"), "%Ärger%");
    }

    #[test]
    fn values_are_bound_and_identifiers_quoted() {
        let (sql, values) = render(
            "author=2&search=x%27y+z&ordering=-title,nope",
            Backend::Sqlite,
        )
        .unwrap();
        assert_eq!(
            sql,
            r#"SELECT "id" FROM "notes" WHERE "author" = ? AND (lower("title")) LIKE ? ESCAPE '\' AND (lower("title")) LIKE ? ESCAPE '\' ORDER BY "title" DESC, "id" ASC"#
        );
        assert_eq!(values.len(), 3);
        assert!(values[1].contains("%x'y%"), "{values:?}");
        let (sql, _) = render("search=a&ordering=title", Backend::Postgres).unwrap();
        assert_eq!(
            sql,
            r#"SELECT "id" FROM "notes" WHERE (lower("title" COLLATE "C")) LIKE $1 ESCAPE E'\\' ORDER BY "title" COLLATE "C" ASC, "id" ASC"#
        );
    }

    #[test]
    fn bad_filter_values_name_the_field() {
        for v in ["abc", "1.5", "1a", "true"] {
            let e = render(&format!("author={v}"), Backend::Sqlite).unwrap_err();
            assert_eq!(e.status(), 400);
            assert!(e.to_string().contains("author"), "{e}");
        }
        let (sql, values) = render("author=", Backend::Sqlite).unwrap();
        assert!(values.is_empty() && !sql.contains("author"), "{sql}");
    }
}
