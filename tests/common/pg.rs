//! PostgreSQL for tests: the server named by `REST_CHANNELS_TEST_POSTGRES`
//! (`.ci/run` starts one), and a fresh database per test on it.
//!
//! Without the variable a test runs on SQLite only and says so; under CI
//! (`CI` set) a missing variable fails the test instead: a test that needs a
//! service never skips there.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rest_channels::db::sqlx::{self, AssertSqlSafe, Connection, postgres::PgConnection};

/// The variable that names the test server, e.g.
/// `postgres://USER:PASS@127.0.0.1:5432/DB` (the role needs `CREATEDB`).
pub const ENV: &str = "REST_CHANNELS_TEST_POSTGRES";

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The test server's URL. `None` (after saying so) when it is not set
/// locally; a panic when it is not set under CI.
pub fn postgres_url() -> Option<String> {
    match std::env::var(ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if under_ci() => panic!(
            "{ENV} is not set, and CI is: the PostgreSQL tests must run under CI \
             (.ci/run starts a server and sets {ENV}=postgres://USER:PASS@HOST:PORT/DB)"
        ),
        _ => {
            eprintln!(
                "{ENV} is not set: skipping PostgreSQL, this test runs on SQLite only \
                 (set it to postgres://USER:PASS@HOST:PORT/DB, a role with CREATEDB, to test both)"
            );
            None
        }
    }
}

/// `url` with its database name replaced by `name` (user, host, port and
/// query parameters kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A database of its own for one test, made on the test server; dropped
/// (its connections ended) when this is dropped, even after a panic.
pub struct PgDatabase {
    /// Its URL.
    pub url: String,
    name: String,
    admin_url: String,
}

impl PgDatabase {
    /// Makes a uniquely named, empty database. Its default collation is
    /// ICU's root collation where the server has ICU (it orders "a" before
    /// "B", unlike bytes do), so what the tests see of text order and case
    /// comes from the code under test, not from the server's locale.
    pub async fn create(admin_url: &str) -> PgDatabase {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "rc_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {ENV} ({admin_url}): {e}"));
        let icu = format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' \
             LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C'"
        );
        if sqlx::query(AssertSqlSafe(icu))
            .execute(&mut admin)
            .await
            .is_err()
        {
            // A server without ICU (or older than 15): its default collation.
            let plain = format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'");
            sqlx::query(AssertSqlSafe(plain))
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        }
        let _ = admin.close().await;
        PgDatabase {
            url: with_database(admin_url, &name),
            name,
            admin_url: admin_url.to_owned(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (name, admin_url) = (self.name.clone(), self.admin_url.clone());
        // Its own thread and runtime: this may run inside (or after) the
        // test's runtime, and while unwinding.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let mut admin = PgConnection::connect(&admin_url).await?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(AssertSqlSafe(sql)).execute(&mut admin).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}
