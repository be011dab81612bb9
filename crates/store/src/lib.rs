//! tweestap's storage: the parts of `tweestap-core`'s `Store` port implemented on SQLite (the
//! default: one file, WAL mode) and on PostgreSQL (several nodes sharing one database). Each
//! backend is a folder with one file per part and its own migrations, embedded in the binary;
//! turning rows into domain types is shared (`records`). SQL stays in this crate; callers see
//! domain types only.

mod migrations;
mod postgres;
mod records;
mod sqlite;
mod tally;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use std::path::PathBuf;
use std::sync::Arc;

/// Where tweestap keeps its state: one SQLite file (the default), or a PostgreSQL database
/// that several nodes share.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

/// Like `Display`: the password never shows, not even in a test failure.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({self})")
    }
}

impl std::fmt::Display for Database {
    /// Where, without a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => f.write_str(&postgres::redacted(url)),
        }
    }
}

/// Opens the database (creating an SQLite file if needed) and brings its schema up to date.
pub async fn open(database: &Database) -> Result<Arc<dyn tweestap_core::ports::Store>, OpenError> {
    Ok(match database {
        Database::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
        Database::Postgres(url) => Arc::new(PgStore::open(url).await?),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the database at {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot open the database: {0}")]
    Store(tweestap_core::ports::StoreError),
}
