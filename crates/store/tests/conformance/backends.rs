//! Fresh stores for one test: a SQLite file in a temporary directory, or a PostgreSQL
//! database of its own.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;
use tweestap_store::{PgStore, SqliteStore};

pub async fn sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open SQLite");
    (store, dir)
}

/// A PostgreSQL database made for one test, dropped by [`Self::drop_database`].
pub struct Postgres {
    pub store: PgStore,
    server: String,
    name: String,
}

fn server() -> String {
    std::env::var("TWEESTAP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A store on a new, empty database named after `test`; `None` (with the reason printed) when
/// no PostgreSQL can be reached outside CI.
pub async fn postgres(test: &str) -> Option<Postgres> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = server();
    let mut admin = match sqlx::PgConnection::connect(&server).await {
        Ok(conn) => conn,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!(
                "skipped on PostgreSQL: cannot reach {server} ({e}); set TWEESTAP_TEST_POSTGRES"
            );
            return None;
        }
        Err(e) => panic!("CI needs PostgreSQL at {server}: {e}"),
    };
    let name = format!(
        "tweestap_t_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        test.chars().take(20).collect::<String>()
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a throw-away database");
    let _ = admin.close().await;
    let url = database_url(&server, &name);
    let store = PgStore::open(&url).await.expect("open PostgreSQL");
    Some(Postgres {
        store,
        server,
        name,
    })
}

/// `server` with its database replaced by `name`.
fn database_url(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

impl Postgres {
    pub async fn drop_database(self) {
        self.store.close().await;
        let mut admin = sqlx::PgConnection::connect(&self.server)
            .await
            .expect("reconnect to drop the database");
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .expect("drop the throw-away database");
    }
}
