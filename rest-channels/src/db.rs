//! The database: SQLite (bundled, the embedded default) or PostgreSQL
//! (feature `postgres`, on by default) through the same code.
//!
//! [`Database`] is an enum over sqlx's concrete pools, not sqlx's `Any`
//! driver (which cannot decode booleans on SQLite, refuses timestamps on
//! Postgres, and gives each connection of a `sqlite::memory:` pool its own
//! empty database). Dynamic SQL (filters, ordering, pages, writes) is built
//! with [sea-query](sea_query): every value is bound, identifiers are quoted
//! and come only from a model's static column lists.
//!
//! ```
//! use rest_channels::db::{Database, Migrations};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), rest_channels::db::DbError> {
//! let db = Database::connect("sqlite::memory:").await?;
//! db.migrate(&Migrations::new().add(
//!     1,
//!     "notes",
//!     "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL)",
//!     "CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL)",
//! ))
//! .await?;
//! assert_eq!(db.backend(), rest_channels::db::Backend::Sqlite);
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

pub use sea_query;
pub use sqlx;

#[cfg(feature = "postgres")]
use sea_query::PostgresQueryBuilder;
use sea_query::{
    Alias, Asterisk, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, Query,
    QueryStatementWriter, SelectStatement, SqliteQueryBuilder, UpdateStatement,
};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row as _, SqlStr};

use crate::error::Error;
use crate::model::{ColumnType, Model, Value, Values};

#[cfg(feature = "postgres")]
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

/// Binds sea-query's values to a sqlx query.
macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for v in $values {
            q = match v {
                sea_query::Value::Bool(v) => q.bind(v),
                sea_query::Value::TinyInt(v) => q.bind(v.map(i64::from)),
                sea_query::Value::SmallInt(v) => q.bind(v.map(i64::from)),
                sea_query::Value::Int(v) => q.bind(v.map(i64::from)),
                sea_query::Value::BigInt(v) => q.bind(v),
                sea_query::Value::TinyUnsigned(v) => q.bind(v.map(i64::from)),
                sea_query::Value::SmallUnsigned(v) => q.bind(v.map(i64::from)),
                sea_query::Value::Unsigned(v) => q.bind(v.map(i64::from)),
                sea_query::Value::BigUnsigned(v) => {
                    q.bind(v.map(|v| i64::try_from(v).unwrap_or(i64::MAX)))
                }
                sea_query::Value::Float(v) => q.bind(v.map(f64::from)),
                sea_query::Value::Double(v) => q.bind(v),
                sea_query::Value::String(v) => q.bind(v),
                sea_query::Value::Char(v) => q.bind(v.map(String::from)),
                sea_query::Value::Bytes(v) => q.bind(v),
                other => {
                    return Err(Error::msg(format_args!(
                        "rest-channels cannot bind the SQL value {other:?}"
                    )));
                }
            };
        }
        q
    }};
}

/// Which database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A pool of connections to one database.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Database {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
}

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The URL names no supported database.
    #[error(
        "unsupported database URL {0:?}: expected `sqlite::memory:`, `sqlite://PATH` or `postgres://...`"
    )]
    Url(String),
    /// The driver failed.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Database {
    /// Opens a pool: `sqlite::memory:` (one database in memory, kept for the
    /// pool's life), `sqlite://PATH` or `sqlite:PATH` (the file is created
    /// when missing; WAL journal), or `postgres://...`.
    ///
    /// The in-memory database lives in the pool's one connection: a
    /// transaction holds it, so code that holds a [`Tx`] must use that
    /// transaction, not the pool (which would wait for its acquire timeout).
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        if matches!(url, "sqlite::memory:" | "sqlite://:memory:" | "sqlite:") {
            // One connection that is never reaped: an in-memory database
            // lives exactly as long as its connection.
            let options = SqliteConnectOptions::new().in_memory(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            return Ok(Database::Sqlite(pool));
        }
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            return Ok(Database::Sqlite(pool));
        }
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .connect(url)
                .await?;
            return Ok(Database::Postgres(pool));
        }
        Err(DbError::Url(url.to_owned()))
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self {
            Database::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations not applied yet (each in its own transaction),
    /// with the SQL written for this backend.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<(), DbError> {
        let steps = migrations
            .steps
            .iter()
            .map(|s| {
                let sql = match self.backend() {
                    Backend::Sqlite => s.sqlite,
                    Backend::Postgres => s.postgres,
                };
                Migration::new(
                    s.version,
                    Cow::Borrowed(s.description),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    false,
                )
            })
            .collect();
        let migrator = Migrator::with_migrations(steps);
        match self {
            Database::Sqlite(pool) => migrator.run(pool).await?,
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => migrator.run(pool).await?,
        }
        Ok(())
    }

    // The `begin` futures of sqlx are large (8 KiB and more): boxed, they do
    // not grow the future of every action that awaits them (which the
    // connection loop boxes and moves per message).

    /// A read transaction: what it reads is one snapshot (a page and its count agree).
    pub async fn begin_read(&self) -> Result<Tx, Error> {
        let inner = match self {
            Database::Sqlite(pool) => {
                TxInner::Sqlite(Box::pin(pool.begin()).await.map_err(Error::internal)?)
            }
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => TxInner::Postgres(
                Box::pin(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
                    .await
                    .map_err(Error::internal)?,
            ),
        };
        Ok(Tx { inner })
    }

    /// A write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers never deadlock on an upgrade; on
    /// Postgres the generic handlers lock the row they look up (`FOR UPDATE`).
    pub async fn begin_write(&self) -> Result<Tx, Error> {
        let inner = match self {
            Database::Sqlite(pool) => TxInner::Sqlite(
                Box::pin(pool.begin_with("BEGIN IMMEDIATE"))
                    .await
                    .map_err(Error::internal)?,
            ),
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => {
                TxInner::Postgres(Box::pin(pool.begin()).await.map_err(Error::internal)?)
            }
        };
        Ok(Tx { inner })
    }

    /// The models a `SELECT` of every column of `M` returns, read outside
    /// any transaction.
    pub async fn fetch_all<M: Model>(&self, select: &SelectStatement) -> Result<Vec<M>, Error> {
        macro_rules! run {
            ($pool:expr, $builder:expr) => {{
                let (sql, values) = select.build($builder);
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), values);
                q.fetch_all($pool)
                    .await
                    .map_err(Error::internal)?
                    .iter()
                    .map(|r| decode::<M>(&row_of(r)))
                    .collect()
            }};
        }
        match self {
            Database::Sqlite(pool) => run!(pool, SqliteQueryBuilder),
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => run!(pool, PostgresQueryBuilder),
        }
    }

    /// The first model a `SELECT` returns, if any, read outside any transaction.
    pub async fn fetch_optional<M: Model>(
        &self,
        select: &SelectStatement,
    ) -> Result<Option<M>, Error> {
        macro_rules! run {
            ($pool:expr, $builder:expr) => {{
                let (sql, values) = select.build($builder);
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), values);
                match q.fetch_optional($pool).await.map_err(Error::internal)? {
                    Some(r) => decode::<M>(&row_of(&r)).map(Some),
                    None => Ok(None),
                }
            }};
        }
        match self {
            Database::Sqlite(pool) => run!(pool, SqliteQueryBuilder),
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => run!(pool, PostgresQueryBuilder),
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Database::Sqlite(pool) => pool.close().await,
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => pool.close().await,
        }
    }
}

/// Schema migrations, with the SQL of each step for each backend.
#[derive(Debug, Clone, Default)]
pub struct Migrations {
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
struct Step {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

impl Migrations {
    /// No steps.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a step: its version (applied in increasing order, each once), a
    /// description, and its SQL for SQLite and for Postgres.
    pub fn add(
        mut self,
        version: i64,
        description: &'static str,
        sqlite: &'static str,
        postgres: &'static str,
    ) -> Self {
        self.steps.push(Step {
            version,
            description,
            sqlite,
            postgres,
        });
        self
    }
}

/// One row of a result, whichever the backend. Models read it in
/// [`Model::from_row`].
pub enum Row<'r> {
    /// A SQLite row.
    Sqlite(&'r SqliteRow),
    /// A Postgres row.
    #[cfg(feature = "postgres")]
    Postgres(&'r PgRow),
}

macro_rules! getter {
    ($($name:ident -> $t:ty),* $(,)?) => {$(
        #[doc = concat!("The column `name` as `", stringify!($t), "`.")]
        pub fn $name(&self, name: &str) -> Result<$t, sqlx::Error> {
            match self {
                Row::Sqlite(r) => r.try_get(name),
                #[cfg(feature = "postgres")]
                Row::Postgres(r) => r.try_get(name),
            }
        }
    )*};
}

impl Row<'_> {
    getter!(get_i64 -> i64, get_i32 -> i32, get_f64 -> f64, get_bool -> bool, get_string -> String);

    /// Whether the column `name` is NULL.
    pub fn is_null(&self, name: &str) -> Result<bool, sqlx::Error> {
        use sqlx::ValueRef;
        match self {
            Row::Sqlite(r) => Ok(r.try_get_raw(name)?.is_null()),
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => Ok(r.try_get_raw(name)?.is_null()),
        }
    }
}

/// A transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: TxInner,
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$q` the built query of `$stmt` for this transaction's backend.
macro_rules! with_query {
    ($self:ident, $stmt:expr, |$conn:ident, $q:ident| $body:expr) => {
        match &mut $self.inner {
            TxInner::Sqlite(tx) => {
                let (sql, values) = $stmt.build(SqliteQueryBuilder);
                let $q = bind_all!(sqlx::query(AssertSqlSafe(sql)), values);
                let $conn = &mut **tx;
                $body
            }
            #[cfg(feature = "postgres")]
            TxInner::Postgres(tx) => {
                let (sql, values) = $stmt.build(PostgresQueryBuilder);
                let $q = bind_all!(sqlx::query(AssertSqlSafe(sql)), values);
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// Runs `$body` with `$row` a [`Row`] over a fetched database row.
macro_rules! rows {
    ($self:ident, $stmt:expr, fetch_all, |$row:ident| $body:expr) => {
        with_query!($self, $stmt, |conn, q| {
            q.fetch_all(conn)
                .await
                .map_err(Error::internal)?
                .iter()
                .map(|r| {
                    let $row = row_of(r);
                    $body
                })
                .collect::<Result<Vec<_>, _>>()
        })
    };
}

trait RowOf {
    fn row(&self) -> Row<'_>;
}
impl RowOf for SqliteRow {
    fn row(&self) -> Row<'_> {
        Row::Sqlite(self)
    }
}
#[cfg(feature = "postgres")]
impl RowOf for PgRow {
    fn row(&self) -> Row<'_> {
        Row::Postgres(self)
    }
}
fn row_of<R: RowOf>(r: &R) -> Row<'_> {
    r.row()
}

fn decode<M: Model>(row: &Row<'_>) -> Result<M, Error> {
    M::from_row(row).map_err(Error::internal)
}

impl Tx {
    /// Which database the transaction runs on.
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// The models a `SELECT` of every column of `M` returns.
    pub async fn fetch_all<M: Model>(&mut self, select: &SelectStatement) -> Result<Vec<M>, Error> {
        rows!(self, select, fetch_all, |row| decode::<M>(&row))
    }

    /// One page of what `select` returns: `limit` rows after `offset`.
    ///
    /// On SQLite the limit is written into the SQL as a number, and only the
    /// offset is bound: a bound LIMIT makes SQLite prepare the statement anew
    /// on every run (the plan depends on it), which costs more than the rest
    /// of a page of ten. `select` must not have a LIMIT of its own.
    pub async fn fetch_page<M: Model>(
        &mut self,
        select: &SelectStatement,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<M>, Error> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => {
                let (mut sql, mut values) = select.build(SqliteQueryBuilder);
                // A u64, formatted: digits only.
                sql.push_str(&format!(" LIMIT {limit} OFFSET ?"));
                values.0.push(sea_query::Value::BigInt(Some(
                    i64::try_from(offset).unwrap_or(i64::MAX),
                )));
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), values);
                q.fetch_all(&mut **tx)
                    .await
                    .map_err(Error::internal)?
                    .iter()
                    .map(|r| decode::<M>(&row_of(r)))
                    .collect()
            }
            #[cfg(feature = "postgres")]
            TxInner::Postgres(_) => {
                let mut select = select.clone();
                select.limit(limit).offset(offset);
                self.fetch_all(&select).await
            }
        }
    }

    /// The first model a `SELECT` returns, if any.
    pub async fn fetch_optional<M: Model>(
        &mut self,
        select: &SelectStatement,
    ) -> Result<Option<M>, Error> {
        with_query!(self, select, |conn, q| {
            match q.fetch_optional(conn).await.map_err(Error::internal)? {
                Some(r) => decode::<M>(&row_of(&r)).map(Some),
                None => Ok(None),
            }
        })
    }

    /// How many rows `select` would return.
    pub async fn count(&mut self, select: &SelectStatement) -> Result<i64, Error> {
        let mut counting = select.clone();
        counting.clear_order_by();
        let mut outer = Query::select();
        outer
            .expr(Func::count(Expr::col(Asterisk)))
            .from_subquery(counting, Alias::new("counted"));
        with_query!(self, outer, |conn, q| {
            let r = q.fetch_one(conn).await.map_err(Error::internal)?;
            r.try_get::<i64, _>(0).map_err(Error::internal)
        })
    }

    /// Runs any statement; returns the number of rows it touched.
    pub async fn execute<S: QueryStatementWriter>(&mut self, statement: &S) -> Result<u64, Error> {
        with_query!(self, statement, |conn, q| {
            q.execute(conn)
                .await
                .map(|r| r.rows_affected())
                .map_err(Error::internal)
        })
    }

    /// Inserts a row of `M` and returns it as stored (defaults and the
    /// primary key filled in by the database).
    pub async fn insert<M: Model>(&mut self, values: Values) -> Result<M, Error> {
        let mut insert = InsertStatement::new();
        insert.into_table(M::TABLE);
        let (columns, row): (Vec<_>, Vec<_>) = values
            .into_entries()
            .into_iter()
            .map(|(name, v)| (name, Expr::val(sea_value::<M>(name, v))))
            .unzip();
        if columns.is_empty() {
            insert.or_default_values();
        } else {
            insert.columns(columns);
            insert.values(row).map_err(Error::internal)?;
        }
        insert.returning(Query::returning().columns(M::COLUMNS.iter().map(|c| c.name())));
        with_query!(self, insert, |conn, q| {
            let r = q.fetch_one(conn).await.map_err(Error::internal)?;
            decode::<M>(&row_of(&r))
        })
    }

    /// Updates the row of `M` whose primary key is `pk` and returns it as
    /// stored; `None` when there is no such row.
    pub async fn update<M: Model>(
        &mut self,
        pk: Value,
        values: Values,
    ) -> Result<Option<M>, Error> {
        if values.is_empty() {
            return self.fetch_optional(&select_by_pk::<M>(pk)).await;
        }
        let mut update = UpdateStatement::new();
        update.table(M::TABLE);
        for (name, v) in values.into_entries() {
            update.value(name, Expr::val(sea_value::<M>(name, v)));
        }
        update
            .and_where(
                Expr::col(M::PRIMARY_KEY.name())
                    .eq(Expr::val(sea_value::<M>(M::PRIMARY_KEY.name(), pk))),
            )
            .returning(Query::returning().columns(M::COLUMNS.iter().map(|c| c.name())));
        with_query!(self, update, |conn, q| {
            match q.fetch_optional(conn).await.map_err(Error::internal)? {
                Some(r) => decode::<M>(&row_of(&r)).map(Some),
                None => Ok(None),
            }
        })
    }

    /// Deletes the row of `M` whose primary key is `pk`; whether there was one.
    pub async fn delete<M: Model>(&mut self, pk: Value) -> Result<bool, Error> {
        let mut delete = DeleteStatement::new();
        delete.from_table(M::TABLE).and_where(
            Expr::col(M::PRIMARY_KEY.name())
                .eq(Expr::val(sea_value::<M>(M::PRIMARY_KEY.name(), pk))),
        );
        Ok(self.execute(&delete).await? > 0)
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), Error> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await,
            #[cfg(feature = "postgres")]
            TxInner::Postgres(tx) => tx.commit().await,
        }
        .map_err(Error::internal)
    }
}

/// `SELECT <every column of M> FROM <M's table>`.
pub fn select_all<M: Model>() -> SelectStatement {
    let mut select = Query::select();
    select
        .columns(M::COLUMNS.iter().map(|c| c.name()))
        .from(M::TABLE);
    select
}

fn select_by_pk<M: Model>(pk: Value) -> SelectStatement {
    let mut select = select_all::<M>();
    select.and_where(
        Expr::col(M::PRIMARY_KEY.name()).eq(Expr::val(sea_value::<M>(M::PRIMARY_KEY.name(), pk))),
    );
    select
}

/// Our value as sea-query's, typed by the column it goes to (a NULL is
/// typed too: Postgres refuses a text NULL in an integer column).
pub(crate) fn sea_value<M: Model>(column: &str, v: Value) -> sea_query::Value {
    let ty = M::COLUMNS
        .iter()
        .find(|c| c.name() == column)
        .map_or(ColumnType::Text, |c| c.ty());
    to_sea(v, ty)
}

/// Our value as sea-query's, a NULL typed as `ty`.
pub(crate) fn to_sea(v: Value, ty: ColumnType) -> sea_query::Value {
    match v {
        Value::Integer(i) => i.into(),
        Value::Real(f) => f.into(),
        Value::Text(s) => s.into(),
        Value::Boolean(b) => b.into(),
        Value::Null => match ty {
            ColumnType::Integer => sea_query::Value::BigInt(None),
            ColumnType::Real => sea_query::Value::Double(None),
            ColumnType::Text => sea_query::Value::String(None),
            ColumnType::Boolean => sea_query::Value::Bool(None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_memory_database_survives_idle_time_and_many_tasks() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        db.migrate(&Migrations::new().add(
            1,
            "t",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)",
            "",
        ))
        .await
        .unwrap();
        let Database::Sqlite(pool) = &db else {
            panic!()
        };
        sqlx::query("INSERT INTO t (v) VALUES ('a')")
            .execute(pool)
            .await
            .unwrap();
        // Idle reaping would drop the only connection, and the database with it.
        assert_eq!(pool.options().get_idle_timeout(), None);
        assert_eq!(pool.options().get_max_lifetime(), None);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    sqlx::query("SELECT COUNT(*) FROM t")
                        .fetch_one(&pool)
                        .await
                        .unwrap()
                        .get::<i64, _>(0)
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), 1);
        }
    }

    #[tokio::test]
    async fn unknown_urls_are_refused() {
        let e = Database::connect("mysql://x").await.unwrap_err();
        assert!(matches!(e, DbError::Url(_)), "{e}");
    }

    #[tokio::test]
    async fn migrations_run_once() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let m = Migrations::new().add(1, "t", "CREATE TABLE t (id INTEGER PRIMARY KEY)", "");
        db.migrate(&m).await.unwrap();
        db.migrate(&m).await.unwrap();
        let m = m.add(2, "u", "ALTER TABLE t ADD COLUMN u TEXT", "");
        db.migrate(&m).await.unwrap();
    }
}
